/**
 * The live loop (the seed's, made exact), for any exchange that has a broker and a candle feed: start the
 * broker (it reads the open position), warm the strategy up on the feed's closed candles, then decide on
 * every closed candle the feed hands over until the signal aborts; then settle what is in flight, close
 * the position if asked, and stop. Every candle, decision, fill, position and trade is journaled. What a
 * person reads on the console comes from `view` (lib/report's live console): the loop only calls it.
 */
import { intervalMs, minQtyWarning, perTradeAmount, type Broker, type BrokerEvent, type Candle, type CandleFeed, type Trade } from '../core/index.ts';
import type { RunSpec } from '../config/index.ts';
import { Engine, type Decision } from './engine.ts';
import { intentToOrder } from './intents.ts';
import { journalJson, tradeToJson, type JournalInput } from './journal.ts';
import type { IntentError } from './intents.ts';

/**
 * Client order ids derived from the strategy, the symbol and the deciding candle (and the order's place
 * in that decision): `pyr<hash>-<candle open, base 36 seconds>-<n>`, at most 36 characters (Bybit's
 * limit). A decision made again after a restart gets the same orderLinkId, and the exchange refuses a
 * second order (110072) instead of opening a second position.
 */
export function orderIdsFor(strategy: string, symbol: string, interval: string): (signalTime: number, index: number) => string {
  let h = 0x811c9dc5;
  for (const ch of `${strategy}|${symbol}|${interval}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const base = `pyr${h.toString(36)}`;
  return (signalTime, index) => `${base}-${Math.floor(signalTime / 1000).toString(36)}-${index}`;
}

/** How long a candle's decision waits for a closed trade that is still being completed over REST. */
const TRADES_WAIT_MS = 5000;

/** Waits for the broker's closed trades to be emitted, at most `ms` (the exchange may not answer). */
async function tradesDone(broker: LiveBroker, ms: number): Promise<void> {
  if (!broker.tradesDone) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([broker.tradesDone(), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** A broker that trades on an exchange: it starts (reads the position), settles and stops. */
export interface LiveBroker extends Broker {
  /** Subscribes to the private streams and reads the open position (a restart picks it up). */
  start(): Promise<void>;
  /** Waits until nothing is in flight, or `ms` passes. */
  settle(ms: number): Promise<void>;
  /**
   * Resolves once every trade whose position has closed is emitted (one may wait on the exchange for
   * its missing fills and funding). A candle is decided after that, so a strategy sees the trade (its
   * guards, `stoppedThisCandle`) as the backtest's would.
   */
  tradesDone?(): Promise<void>;
  stop(): void;
}

/** What the live console shows; every call is optional. `lastClose` is the newest closed candle's close. */
export interface LiveView {
  warmedUp?(candles: number, wanted: number): void;
  trading?(): void;
  candle?(c: Candle, engine: Engine): void;
  decision?(d: Decision, lastClose: number): void;
  event?(e: BrokerEvent, lastClose: number, trades: readonly Trade[]): void;
  guard?(reason: string): void;
  /** Something the trader should know before it costs money (e.g. sizing far above the configured amount). */
  warning?(text: string): void;
  /** Something the loop did that a person reading the console should know. */
  notice?(text: string): void;
  invalidIntent?(err: IntentError): void;
  stopping?(): void;
  closingOnExit?(): void;
  stopped?(openPosition: ReturnType<Broker['position']>, trades: readonly Trade[]): void;
}

export interface RunLiveOptions {
  readonly spec: RunSpec;
  readonly broker: LiveBroker;
  readonly feed: CandleFeed;
  /** Appends a journal record. */
  readonly journal: (r: JournalInput) => void;
  /** Aborting stops the loop (SIGINT, SIGTERM). */
  readonly signal: AbortSignal;
  /** Unique per session (the close-on-exit order's id). */
  readonly sessionId: string;
  /**
   * Client order ids from the deciding candle (and the order's place in the decision): derived from the
   * strategy and symbol, so a decision made again after a restart sends the same orderLinkId and the
   * exchange refuses a second order. Default: the session id and a counter.
   */
  readonly orderIdOf?: (signalTime: number, index: number) => string;
  /**
   * A restart: the open times of the candles earlier sessions acted on. The last closed candle is then
   * decided (not only warmed up on) if no session acted on it and it closed less than one interval ago
   * (the feed's `openingTime` is the next candle).
   */
  readonly decided?: ReadonlySet<number>;
  /**
   * Paper trading's restart: the simulator's state (balance, open position, pending orders) and the
   * strategy's are rebuilt by feeding the journal's candles again, warm-up first, deciding from
   * `decideFrom`, exactly as they went; nothing of it is journaled or counted again. Candles the feed
   * then has after the last of them are handed on per catchUp.
   */
  readonly replay?: { readonly candles: readonly Candle[]; readonly decideFrom: number };
  /** Trades of earlier sessions (from the journal): they count for the guards and the statistics. */
  readonly history?: readonly Trade[];
  /** Close the open position when stopping. */
  readonly closeOnExit?: boolean;
  readonly view?: LiveView;
}

/** Runs until `signal` aborts; resolves once stopped (the journal's last record is `stop`). */
export async function runLive(o: RunLiveOptions): Promise<void> {
  const { spec, broker, feed, journal, signal, view } = o;
  const trades: Trade[] = [...(o.history ?? [])];
  const settleMs = Math.max(5000, spec.live.reconcileSeconds * 1000 + 1000);
  let lastClose = NaN;
  let lastCandle = NaN;
  const onAbort = () => feed.close?.();
  signal.addEventListener('abort', onAbort, { once: true });
  let replaying = false;
  const onEvent = (e: BrokerEvent) => {
    if (replaying) return;
    if (e.type === 'fill') journal({ t: 'fill', fill: JSON.parse(journalJson(e.fill)) });
    else if (e.type === 'position') journal({ t: 'position', source: 'ws', position: JSON.parse(journalJson(e.position)) });
    else if (e.type === 'trade') {
      trades.push(e.trade);
      journal({ t: 'trade', trade: tradeToJson(e.trade) });
    } else if (e.type === 'rejected') journal({ t: 'rejected', orderId: e.order.id, reason: e.reason, code: e.code });
    else if (e.type === 'cancelled') journal({ t: 'note', level: 'info', message: `order ${e.orderId} cancelled: ${e.reason}` });
    else if (e.type === 'amend-rejected') journal({ t: 'note', level: 'warn', message: `amendment ${e.amend.id} rejected${e.code !== undefined ? ` (${e.code})` : ''}: ${e.reason}` });
    else if (e.type === 'notice') journal({ t: 'note', level: 'info', message: e.message });
    view?.event?.(e, lastClose, trades);
  };
  // Events from the start on are journaled and counted: the broker's start-up catch-up may record a
  // trade that closed while pyr was not running, before the engine exists.
  let early: (() => void) | undefined = broker.subscribe(onEvent);
  try {
    await broker.start();
    const warmup = spec.strategy.warmup;
    const history = await feed.history(warmup);
    view?.warmedUp?.(history.length, warmup);
    const step = intervalMs(spec.interval);
    const catchUp = spec.run.catchUp;
    const last = history[history.length - 1];
    // A restart decides at most the last closed candle: if no session acted on it and (catchUp 'latest')
    // it closed less than one interval ago, or always with catchUp 'all'; never with 'none'.
    const fresh = last !== undefined && feed.openingTime === last.openTime + step;
    const redecide = o.decided !== undefined && last !== undefined && !o.decided.has(last.openTime) && (spec.run.catchUp === 'all' || (spec.run.catchUp === 'latest' && fresh));
    early();
    early = undefined;
    // Sizing as configured: a minimum qty far above the per-trade amount is said before any order.
    const policy = spec.fillModel.minQtyPolicy;
    const ratio = spec.run.minQtyWarnRatio;
    const amount = perTradeAmount(spec.strategy.params);
    const sizeWarning = (text: string) => {
      journal({ t: 'note', level: 'warn', message: text });
      view?.warning?.(text);
    };
    if (ratio > 0 && amount !== undefined && last) {
      const w = minQtyWarning(broker.rules(), amount, last.close, ratio, { policy });
      if (w !== undefined) sizeWarning(w);
    }
    const engine = new Engine({
      definition: spec.strategy.definition,
      strategyFile: spec.strategy.file,
      params: spec.strategy.params,
      broker,
      symbol: spec.instrument.symbol,
      interval: spec.interval,
      mode: 'live',
      tradeFrom: o.replay ? o.replay.decideFrom : last ? (redecide ? last.openTime : last.openTime + 1) : -Infinity,
      orderIdPrefix: o.sessionId,
      orderIdOf: o.orderIdOf,
      guards: spec.guards,
      minQtyPolicy: policy,
      minQtyWarning: ratio > 0 && amount === undefined ? { ratio, onWarning: sizeWarning } : undefined,
      history: o.replay ? [] : [...trades],
      // A bad intent is refused (no order is sent), journaled and shown; the bot goes on.
      onInvalidIntent: (err) => {
        journal({ t: 'note', level: 'error', message: err.message });
        view?.invalidIntent?.(err);
      },
      onGuard: (reason) => {
        journal({ t: 'guard', reason });
        view?.guard?.(reason);
      },
      onEvent,
      onDecision: (d) => {
        journal({ t: 'decision', time: d.time, intents: d.intents, outcomes: d.outcomes });
        view?.decision?.(d, lastClose);
      },
    });
    if (redecide) {
      const text = `the last closed candle (${new Date(last!.openTime).toISOString()}) was not acted on before the restart and closed less than one interval ago: deciding it now`;
      journal({ t: 'note', level: 'info', message: text });
      view?.notice?.(text);
    }
    if (o.replay) {
      replaying = true;
      try {
        for (const c of o.replay.candles) engine.onCandle(c);
      } finally {
        replaying = false;
      }
      const upTo = o.replay.candles.length ? o.replay.candles[o.replay.candles.length - 1]!.openTime : -Infinity;
      const after = history.filter((c) => c.openTime > upTo);
      for (const c of after) {
        // Closed while the paper session was away: decided per catchUp (the newest, if less than one interval old).
        const decide = spec.run.catchUp === 'all' || (spec.run.catchUp === 'latest' && c === last && fresh);
        engine.onCandle(c, { decide });
        journal({ t: 'candle', live: decide, candle: c });
      }
    } else {
      for (const c of history) {
        engine.onCandle(c);
        journal({ t: 'candle', live: redecide && c === last, candle: c });
      }
    }
    if (history.length) {
      lastClose = history[history.length - 1]!.close;
      lastCandle = history[history.length - 1]!.openTime;
    }
    view?.trading?.();
    while (!signal.aborted) {
      const c = await feed.next();
      if (c === undefined || signal.aborted) break;
      lastClose = c.close;
      lastCandle = c.openTime;
      // A candle caught up after an outage (not the newest closed one when it arrived) is decided per catchUp.
      const current = feed.isCurrent?.(c) ?? true;
      const decide = catchUp === 'all' || (catchUp === 'latest' && current);
      await tradesDone(broker, TRADES_WAIT_MS);
      engine.onCandle(c, { decide });
      journal({ t: 'candle', live: decide, candle: c });
      view?.candle?.(c, engine);
    }

    // Stopping: no new decisions; finish what is in flight; optionally close the position.
    view?.stopping?.();
    await broker.settle(settleMs);
    if (o.closeOnExit && broker.position().side !== 'flat') {
      const signalTime = Number.isFinite(lastCandle) ? lastCandle : Math.floor(Date.now() / intervalMs(spec.interval)) * intervalMs(spec.interval);
      const out = intentToOrder({ kind: 'exit', reason: 'close on exit' }, { position: broker.position(), orderInFlight: false, stoppedThisCandle: false, signalTime, orderId: `${o.sessionId}-exit` });
      if ('order' in out) {
        view?.closingOnExit?.();
        broker.submit(out.order);
        await broker.settle(settleMs);
      }
    }
    engine.close();
  } finally {
    early?.();
    signal.removeEventListener('abort', onAbort);
    feed.close?.();
    broker.stop();
    view?.stopped?.(broker.position(), trades);
    journal({ t: 'stop', reason: signal.aborted ? 'signal' : 'error' });
  }
}
