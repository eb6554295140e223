/**
 * The engine: one per run, the same for backtest and live. For each closed candle it lets the broker
 * see it (the simulator fills and checks stops there), asks the strategy, turns the intents into orders
 * through the one pure function, and hands them to the broker. It never knows which broker it drives.
 */
import {
  StrategyError,
  intervalMs as intervalLength,
  type Broker,
  type BrokerEvent,
  type Candle,
  type Intent,
  type Interval,
  type Position,
  type Trade,
} from '../core/index.ts';
import type { Strategy, StrategyContext, StrategyDefinition } from '../strategy/index.ts';
import { intentToOrder, type IntentOutcome } from './intents.ts';

export interface Decision {
  /** Open time of the candle whose close decided. */
  readonly time: number;
  readonly intents: readonly Intent[];
  readonly outcomes: readonly IntentOutcome[];
}

export interface EngineOptions {
  readonly definition: StrategyDefinition;
  readonly params: Readonly<Record<string, unknown>>;
  readonly broker: Broker;
  readonly symbol: string;
  readonly interval: Interval;
  /** Candles opening before this time only warm the strategy up; what it wants then is discarded. */
  readonly tradeFrom?: number;
  /** Passed to the strategy (display-only values); never changes decisions. Default 'backtest'. */
  readonly mode?: 'backtest' | 'live';
  /** Prefix of client order ids; make it unique per live session. */
  readonly orderIdPrefix?: string;
  /** Called for every candle on which the strategy returned intents (the decision journal). */
  readonly onDecision?: (d: Decision) => void;
  /** Called for every broker event after the engine has handled it. */
  readonly onEvent?: (e: BrokerEvent) => void;
}

const NO_INTENTS: readonly Intent[] = Object.freeze([]);

export class Engine {
  readonly strategy: Strategy;
  readonly trades: Trade[] = [];
  /** Why intents were not acted on, with counts. */
  readonly skipped = new Map<string, number>();
  /** Candles the strategy has seen. */
  candles = 0;

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
  #orderSeq = 0;
  #unsubscribe: () => void;

  constructor(opts: EngineOptions) {
    this.#opts = opts;
    this.#broker = opts.broker;
    this.#tradeFrom = opts.tradeFrom ?? -Infinity;
    this.#intervalMs = intervalLength(opts.interval);
    this.#prefix = opts.orderIdPrefix ?? 'pyr';
    this.#ctx = { position: this.#ctxPosition, symbol: opts.symbol, interval: opts.interval };
    try {
      this.strategy = opts.definition.create(opts.params as never, { symbol: opts.symbol, interval: opts.interval, intervalMs: this.#intervalMs, mode: opts.mode ?? 'backtest' });
    } catch (err) {
      throw new StrategyError(`strategy "${opts.definition.name}" failed to start: ${(err as Error).message}`, { cause: err });
    }
    this.#syncPosition(this.#broker.position());
    this.#unsubscribe = this.#broker.subscribe((e) => this.#onEvent(e));
  }

  #syncPosition(p: Position): void {
    this.#position = p;
    this.#ctxPosition.side = p.side;
    this.#qty = NaN;
    this.#entryPrice = NaN;
  }

  #onEvent(e: BrokerEvent): void {
    if (e.type === 'position') this.#syncPosition(e.position);
    else if (e.type === 'rejected') {
      const key = `order rejected${e.code !== undefined ? ` (${e.code})` : ''}: ${e.reason}`;
      this.skipped.set(key, (this.skipped.get(key) ?? 0) + 1);
    }
    else if (e.type === 'trade') {
      this.trades.push(e.trade);
      if (e.trade.exitReason === 'stop_loss' || e.trade.exitReason === 'take_profit') {
        this.#lastStopExit = Math.max(this.#lastStopExit, e.trade.exitTime);
      }
    }
    this.#opts.onEvent?.(e);
  }

  /** Feeds one closed candle. */
  onCandle(candle: Candle): void {
    const broker = this.#broker;
    broker.observe?.(candle);
    this.candles++;
    let out;
    try {
      out = this.strategy.onCandle(candle, this.#ctx);
    } catch (err) {
      throw new StrategyError(`strategy "${this.#opts.definition.name}" failed on the candle at ${new Date(candle.openTime).toISOString()}: ${(err as Error).message}`, { cause: err });
    }
    if (out === undefined || out === null) return;
    if (candle.openTime < this.#tradeFrom) return;
    const intents: readonly Intent[] = Array.isArray(out) ? (out as readonly Intent[]) : out ? [out as Intent] : NO_INTENTS;
    if (intents.length === 0) return;
    const outcomes: IntentOutcome[] = [];
    for (const intent of intents) {
      const outcome = intentToOrder(intent, {
        position: broker.position(),
        orderInFlight: broker.hasOrderInFlight(),
        stoppedThisCandle: this.#lastStopExit >= candle.openTime,
        signalTime: candle.openTime,
        orderId: `${this.#prefix}-${++this.#orderSeq}`,
      });
      outcomes.push(outcome);
      if ('order' in outcome) broker.submit(outcome.order);
      else this.skipped.set(outcome.skipped, (this.skipped.get(outcome.skipped) ?? 0) + 1);
    }
    this.#opts.onDecision?.({ time: candle.openTime, intents, outcomes });
  }

  /** Detaches from the broker. */
  close(): void {
    this.#unsubscribe();
  }
}
