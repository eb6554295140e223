/**
 * The engine: one per run, the same for backtest and live. For each closed candle it lets the broker
 * see it (the simulator fills and checks stops there), cancels orders whose `expiresAfter` ran out,
 * asks the strategy, turns the intents into requests through the one pure function, and hands them to
 * the broker (orders, cancels, amendments). It never knows which broker it drives.
 *
 * Expiry is the engine's, so it is the same for every broker: an order with `expiresAfter: N` decided
 * on candle i may fill during candles i+1..i+N; after candle i+N has been observed, if no fill, cancel
 * or rejection of it was reported, the engine sends a cancel (reason "expired after N candles") before
 * the strategy decides on that candle.
 */
import {
  StrategyError,
  intervalMs as intervalLength,
  minQtyWarning,
  netPnlNumber,
  perTradeAmount,
  sizeQty,
  type MinQtyPolicy,
  type Broker,
  type BrokerEvent,
  type Candle,
  type Intent,
  type Guards,
  type Interval,
  type PendingOrder,
  type Position,
  type Trade,
} from '../core/index.ts';
import type { OrderView, Strategy, StrategyContext, StrategyDefinition } from '../strategy/index.ts';
import { IntentError, checkOutput, intentToOrder, requested, type IntentOutcome } from './intents.ts';

export interface Decision {
  /** Open time of the candle whose close decided. */
  readonly time: number;
  readonly intents: readonly Intent[];
  readonly outcomes: readonly IntentOutcome[];
  /** Live: what the strategy returned when it was not a valid intent (refused: no order). */
  readonly refused?: unknown;
}

export interface EngineOptions {
  /** Risk guards, the same in backtest and live. */
  readonly guards?: Guards;
  /** Trades closed before this run (a restarted live session): they count for the guards. */
  readonly history?: readonly Trade[];
  /** Called when a guard refuses an entry (once per reason and day). */
  readonly onGuard?: (reason: string) => void;
  /**
   * The broker's minimum-qty policy: the `maxPositionNotional` guard sizes an entry as the broker will
   * (`sizeQty` with `broker.rules()` at the deciding close), so it needs the policy. Default 'raise'.
   */
  readonly minQtyPolicy?: MinQtyPolicy;
  /**
   * For a strategy without a `usdtAmountPerTrade` parameter: warn once, on its first entry intent, when
   * the instrument's minimum qty makes that entry more than `ratio` times its size at the deciding close
   * (the text of `minQtyWarning`). A strategy with the parameter is warned at start by the caller.
   */
  readonly minQtyWarning?: { readonly ratio: number; readonly onWarning: (text: string) => void };
  readonly definition: StrategyDefinition;
  /** The strategy's file, named in errors about its output. */
  readonly strategyFile?: string;
  /**
   * Live mode: a strategy output that is not a valid intent is refused and passed here, and the run goes
   * on. Without it (a backtest) the IntentError is thrown and ends the run.
   */
  readonly onInvalidIntent?: (err: IntentError) => void;
  readonly params: Readonly<Record<string, unknown>>;
  readonly broker: Broker;
  readonly symbol: string;
  readonly interval: Interval;
  /** Candles opening before this time only warm the strategy up; what it wants then is discarded. */
  readonly tradeFrom?: number;
  /** Passed to the strategy (display-only values); never changes decisions. Default 'backtest'. */
  readonly mode?: 'backtest' | 'live';
  /** The run records the strategy's declared plots (told to the strategy as `env.plots`). */
  readonly plots?: boolean;
  /** Prefix of client order ids; make it unique per live session. */
  readonly orderIdPrefix?: string;
  /**
   * Client order ids from the deciding candle and the order's place in that decision (live: derived from
   * the strategy and symbol too, so a decision made again after a restart gets the same id). Overrides
   * `orderIdPrefix`.
   */
  readonly orderIdOf?: (signalTime: number, index: number) => string;
  /** Called for every candle on which the strategy returned intents (the decision journal). */
  readonly onDecision?: (d: Decision) => void;
  /** Called for every broker event after the engine has handled it. */
  readonly onEvent?: (e: BrokerEvent) => void;
}

export class Engine {
  readonly strategy: Strategy;
  readonly trades: Trade[] = [];
  /** Why intents were not acted on, with counts. */
  readonly skipped = new Map<string, number>();
  /**
   * For a key of `skipped` whose figures were replaced by N (a guard's): the first full reason, with its
   * figures, and whether later ones had other figures.
   */
  readonly skippedFirst = new Map<string, { readonly text: string; varies: boolean }>();

  readonly #opts: EngineOptions;
  readonly #broker: Broker;
  // The strategy's view of the position; qty and entry price become numbers only when read.
  #position!: Position;
  #qty = NaN;
  #entryPrice = NaN;
  readonly #ctxPosition: { side: Position['side']; readonly qty: number; readonly entryPrice: number } = (() => {
    const self = this;
    return {
      side: 'flat' as Position['side'],
      get qty(): number {
        if (self.#qty !== self.#qty) self.#qty = self.#position.side === 'flat' ? 0 : self.#position.qty.toNumber();
        return self.#qty;
      },
      get entryPrice(): number {
        if (self.#entryPrice !== self.#entryPrice && self.#position.side !== 'flat') self.#entryPrice = self.#position.entryPrice.toNumber();
        return self.#entryPrice;
      },
    };
  })();
  readonly #ctx: StrategyContext;
  readonly #tradeFrom: number;
  readonly #intervalMs: number;
  readonly #prefix: string;
  #lastStopExit = -Infinity;
  // Guard state: the UTC day of the last closed trade, its net PnL sum, and the current loss streak.
  #guardDay = -1;
  #dayPnl = 0;
  #lossStreak = 0;
  #guardSaid = new Set<string>();
  #orderSeq = 0;
  #sizeWarned = false;
  /** Orders with an expiry: candles left, and how many were given. */
  readonly #expiring = new Map<string, { left: number; readonly given: number }>();
  /**
   * Orders with an expiry this engine did not decide (found resting at the broker when it started: a
   * restarted live session), by the open time of the candle whose close ends them (decision + N candles).
   */
  readonly #expiringAt = new Map<string, { readonly at: number; readonly given: number }>();
  #adopted = false;
  #orders: readonly OrderView[] | undefined;
  #unsubscribe: () => void;

  constructor(opts: EngineOptions) {
    this.#opts = opts;
    this.#broker = opts.broker;
    this.#tradeFrom = opts.tradeFrom ?? -Infinity;
    this.#intervalMs = intervalLength(opts.interval);
    this.#prefix = opts.orderIdPrefix ?? 'pyr';
    const self = this;
    this.#ctx = {
      position: this.#ctxPosition,
      get orders(): readonly OrderView[] {
        return (self.#orders ??= orderViews(self.#broker.orders?.()));
      },
      symbol: opts.symbol,
      interval: opts.interval,
    };
    try {
      this.strategy = opts.definition.create(opts.params as never, { symbol: opts.symbol, interval: opts.interval, intervalMs: this.#intervalMs, mode: opts.mode ?? 'backtest', plots: opts.plots ?? false });
    } catch (err) {
      throw new StrategyError(`strategy "${opts.definition.name}" failed to start: ${(err as Error).message}`, { cause: err });
    }
    this.#syncPosition(this.#broker.position());
    for (const t of opts.history ?? []) this.#countTrade(t);
    this.#unsubscribe = this.#broker.subscribe((e) => this.#onEvent(e));
  }

  #syncPosition(p: Position): void {
    this.#position = p;
    this.#ctxPosition.side = p.side;
    this.#qty = NaN;
    this.#entryPrice = NaN;
  }

  #onEvent(e: BrokerEvent): void {
    this.#orders = undefined;
    if (e.type === 'position') this.#syncPosition(e.position);
    else if (e.type === 'rejected') {
      const key = `order rejected${e.code !== undefined ? ` (${e.code})` : ''}: ${e.reason}`;
      this.skipped.set(key, (this.skipped.get(key) ?? 0) + 1);
      this.#noExpiry(e.order.id);
    } else if (e.type === 'amend-rejected') {
      const key = `amendment rejected${e.code !== undefined ? ` (${e.code})` : ''}: ${e.reason}`;
      this.skipped.set(key, (this.skipped.get(key) ?? 0) + 1);
    } else if (e.type === 'fill') this.#noExpiry(e.fill.orderId);
    else if (e.type === 'cancelled') this.#noExpiry(e.orderId);
    else if (e.type === 'trade') {
      this.trades.push(e.trade);
      this.#countTrade(e.trade);
      const r = e.trade.exitReason;
      if (r === 'stop_loss' || r === 'take_profit' || r === 'trailing_stop') {
        this.#lastStopExit = Math.max(this.#lastStopExit, e.trade.exitTime);
      }
    }
    this.#opts.onEvent?.(e);
  }

  #countTrade(t: Trade): void {
    const day = Math.floor(t.exitTime / 86_400_000);
    if (day !== this.#guardDay) {
      this.#guardDay = day;
      this.#dayPnl = 0;
      this.#lossStreak = 0;
    }
    const net = netPnlNumber(t);
    this.#dayPnl += net;
    this.#lossStreak = net > 0 ? 0 : this.#lossStreak + 1;
  }

  /** Why a guard refuses an entry decided on `candle`, or undefined. */
  #guardVeto(intent: Intent, candle: Candle): string | undefined {
    const g = this.#opts.guards;
    if (!g || intent.kind !== 'enter') return undefined;
    const sameDay = Math.floor(candle.openTime / 86_400_000) === this.#guardDay;
    if (g.maxDailyLoss !== undefined && sameDay && this.#dayPnl <= -g.maxDailyLoss) {
      return `guard: daily loss ${this.#dayPnl.toFixed(2)} reached maxDailyLoss ${g.maxDailyLoss}; no entries until 00:00 UTC`;
    }
    if (g.maxConsecutiveLosses !== undefined && sameDay && this.#lossStreak >= g.maxConsecutiveLosses) {
      return `guard: ${this.#lossStreak} losing trades in a row reached maxConsecutiveLosses ${g.maxConsecutiveLosses}; no entries until 00:00 UTC`;
    }
    if (g.maxPositionNotional !== undefined) {
      // The order as the broker will size it (rounded down to the step, raised to the minimum), at the
      // deciding close; the broker checks again at its own price with the same function.
      const sized = sizeQty(intent.size, candle.close, this.#broker.rules(), this.#opts.minQtyPolicy ?? 'raise', { maxNotional: g.maxPositionNotional });
      if (!sized.ok && sized.guard === 'maxPositionNotional') return sized.reason;
    }
    return undefined;
  }

  /**
   * Feeds one closed candle. With `decide: false` (live: a candle caught up after an outage, per the
   * loop's catchUp setting) the strategy sees it but what it wants is discarded, as in the warm-up.
   */
  onCandle(candle: Candle, opts?: { readonly decide?: boolean }): void {
    const broker = this.#broker;
    broker.observe?.(candle);
    if (!this.#adopted) this.#adoptExpiries();
    if (this.#expiring.size > 0 || this.#expiringAt.size > 0) this.#expire(candle);
    this.#orders = undefined;
    let out;
    try {
      out = this.strategy.onCandle(candle, this.#ctx);
    } catch (err) {
      throw new StrategyError(`strategy "${this.#opts.definition.name}" failed on the candle at ${new Date(candle.openTime).toISOString()}: ${(err as Error).message}`, { cause: err });
    }
    if (out === undefined || out === null) return;
    if (candle.openTime < this.#tradeFrom || opts?.decide === false) return;
    let intents: readonly Intent[];
    try {
      intents = checkOutput(out, {
        strategy: this.#opts.definition.name,
        file: this.#opts.strategyFile,
        time: candle.openTime,
        close: candle.close,
        rules: broker.rules(),
        minQtyPolicy: this.#opts.minQtyPolicy,
        position: this.#ctxPosition,
      });
    } catch (err) {
      if (!(err instanceof IntentError) || !this.#opts.onInvalidIntent) throw err;
      // Live: the bad output is refused (no order) and reported; the run goes on.
      const why = `intent refused: ${err.message}`;
      this.skipped.set(`intent refused: ${err.field}`, (this.skipped.get(`intent refused: ${err.field}`) ?? 0) + 1);
      this.#opts.onInvalidIntent(err);
      this.#opts.onDecision?.({ time: candle.openTime, intents: [], outcomes: [{ skipped: why }], refused: out });
      return;
    }
    if (intents.length === 0) return;
    if (!this.#sizeWarned && this.#opts.minQtyWarning) this.#warnSize(intents, candle);
    const outcomes: IntentOutcome[] = [];
    // An exit decided in this list goes first; an entry after it waits for it (a reversal).
    let afterExit: string | undefined;
    for (const intent of intents) {
      const veto = this.#guardVeto(intent, candle);
      if (veto !== undefined) {
        const key = reasonKey(veto);
        this.skipped.set(key, (this.skipped.get(key) ?? 0) + 1);
        const first = this.skippedFirst.get(key);
        if (!first) this.skippedFirst.set(key, { text: veto, varies: false });
        else if (first.text !== veto) first.varies = true;
        const said = `${Math.floor(candle.openTime / 86_400_000)}:${key}`;
        if (!this.#guardSaid.has(said)) {
          this.#guardSaid.add(said);
          this.#opts.onGuard?.(veto);
        }
        outcomes.push({ skipped: veto });
        continue;
      }
      const pending = intent.kind === 'enter' || intent.kind === 'cancel' ? broker.orders?.().find((o) => o.role === 'entry') : undefined;
      const outcome = intentToOrder(intent, {
        position: broker.position(),
        orderInFlight: broker.hasOrderInFlight(),
        stoppedThisCandle: this.#lastStopExit >= candle.openTime,
        signalTime: candle.openTime,
        orderId: this.#opts.orderIdOf ? this.#opts.orderIdOf(candle.openTime, outcomes.length) : `${this.#prefix}-${this.#orderSeq + 1}`,
        afterExit,
        close: candle.close,
        rules: broker.rules(),
        pendingEntry: pending?.id,
        features: broker.features,
        broker: broker.name,
      });
      outcomes.push(outcome);
      if ('order' in outcome) {
        this.#orderSeq++;
        const o = outcome.order;
        if (o.purpose === 'exit') afterExit = o.id;
        const expires = o.order?.type === 'limit' ? o.order.expiresAfter : undefined;
        if (expires !== undefined) this.#expiring.set(o.id, { left: expires, given: expires });
        broker.submit(o);
      } else if ('cancel' in outcome) {
        this.#expiring.delete(outcome.cancel.orderId);
        broker.cancel?.(outcome.cancel);
      } else if ('amend' in outcome) {
        this.#orderSeq++;
        broker.amend?.(outcome.amend);
      } else this.skipped.set(outcome.skipped, (this.skipped.get(outcome.skipped) ?? 0) + 1);
      this.#orders = undefined;
    }
    this.#opts.onDecision?.({ time: candle.openTime, intents, outcomes });
  }

  /**
   * Once, before the first candle: resting orders with an expiry that this engine did not decide (a live
   * session restarted while its limit rested) keep their expiry, counted from their deciding candle.
   */
  #adoptExpiries(): void {
    this.#adopted = true;
    for (const o of this.#broker.orders?.() ?? []) {
      if ((o.role !== 'entry' && o.role !== 'exit') || o.expiresAfter === undefined || !(o.signalTime > 0) || this.#expiring.has(o.id)) continue;
      this.#expiringAt.set(o.id, { at: o.signalTime + o.expiresAfter * this.#intervalMs, given: o.expiresAfter });
    }
  }

  /** The order is done (filled, cancelled, refused): nothing to expire. */
  #noExpiry(id: string): void {
    this.#expiring.delete(id);
    this.#expiringAt.delete(id);
  }

  /** Counts one closed candle off every expiring order; cancels those whose candles ran out. */
  #expire(candle: Candle): void {
    for (const [id, e] of this.#expiringAt) {
      if (candle.openTime < e.at) continue;
      this.#expiringAt.delete(id);
      this.#expiring.set(id, { left: 1, given: e.given });
    }
    for (const [id, e] of this.#expiring) {
      if (--e.left > 0) continue;
      this.#expiring.delete(id);
      const reason = `expired after ${e.given} candle${e.given === 1 ? '' : 's'}`;
      if (!this.#broker.cancel) continue;
      const cancel = { kind: 'cancel', orderId: id, reason, signalTime: candle.openTime } as const;
      this.#broker.cancel(cancel);
      // The engine decided it (no intent asked): a decision with the cancel as its outcome, so a live
      // journal says when and why the order was cancelled, as it does for a strategy's cancel.
      this.#opts.onDecision?.({ time: candle.openTime, intents: [], outcomes: [requested({ cancel })] });
    }
  }

  /** The start warning for a strategy sized by its intents (no `usdtAmountPerTrade`): once, on its first entry. */
  #warnSize(intents: readonly Intent[], candle: Candle): void {
    const w = this.#opts.minQtyWarning!;
    if (perTradeAmount(this.#opts.params) !== undefined) {
      this.#sizeWarned = true; // the caller warned at start
      return;
    }
    const entry = intents.find((i) => i.kind === 'enter');
    if (!entry || entry.kind !== 'enter') return;
    this.#sizeWarned = true;
    const amount = entry.size.unit === 'quote' ? entry.size.amount : entry.size.qty * candle.close;
    const text = minQtyWarning(this.#broker.rules(), amount, candle.close, w.ratio, { policy: this.#opts.minQtyPolicy, amountName: "the first entry's size" });
    if (text !== undefined) w.onWarning(text);
  }

  /** Detaches from the broker. */
  close(): void {
    this.#unsubscribe();
  }
}

const NO_ORDERS: readonly OrderView[] = Object.freeze([]);

/** The broker's resting orders as the strategy sees them: numbers, not decimals. */
function orderViews(orders: readonly PendingOrder[] | undefined): readonly OrderView[] {
  if (orders === undefined || orders.length === 0) return NO_ORDERS;
  return Object.freeze(
    orders.map((o) =>
      Object.freeze({
        id: o.id,
        role: o.role,
        type: o.type,
        side: o.side,
        positionSide: o.positionSide,
        ...(o.price !== undefined ? { price: o.price.toNumber() } : {}),
        ...(o.trigger !== undefined ? { trigger: o.trigger.toNumber() } : {}),
        ...(o.qty !== undefined ? { qty: o.qty.toNumber() } : {}),
        ...(o.postOnly !== undefined ? { postOnly: o.postOnly } : {}),
        signalTime: o.signalTime,
        ...(o.expiresAfter !== undefined ? { expiresAfter: o.expiresAfter } : {}),
        reason: o.reason,
      }),
    ),
  );
}

/**
 * A reason with its figures replaced by N ("guard: sized notional N USDT (qty N at N) is above
 * maxPositionNotional N"): one count, and one guard report a day, for every refusal of the same kind.
 */
export function reasonKey(reason: string): string {
  return reason.replace(/(?<=[\s(])-?\d+(\.\d+)?(?=[\s;,)]|$)/g, 'N');
}
