/**
 * The strategy test kit: feed a strategy a small table of hand-made candles and see what it wanted on
 * each one. No files, no network, no CLI: candles are written in the test, times are generated from a
 * start time and an interval, and the run takes milliseconds.
 *
 * Two ways to decide what the strategy sees as its position (`ctx.position`):
 *
 * - by default (`position` omitted) the kit runs the real engine with the real simulator on the
 *   candles, exactly as `pyr backtest` does: an intent decided on candle i becomes an order that fills
 *   at the open of candle i+1, stops and targets fire inside later candles, an entry is only acted on
 *   when flat and an exit only in a position. `trades` and `decisions` (with each intent's outcome)
 *   show what happened, so a test can check both the strategy's wishes and their effect;
 * - with a fixed `position` ('flat', 'long', 'short', or `{ side, qty, entryPrice }`) there is no
 *   broker at all: every candle sees that position, which is what a unit test of exit rules wants
 *   ("when long, does it exit here?").
 *
 * @example
 * ```ts
 * import { closes, runStrategy } from '../lib/testkit/index.ts';
 * import myStrategy from '../strategies/my-strategy.ts';
 *
 * const run = runStrategy(myStrategy, {
 *   params: { rsiPeriod: 2 },               // checked against the strategy's schema; the rest are defaults
 *   start: '2024-01-01T00:00:00Z',           // open time of the first candle (default)
 *   interval: '15',                          // candle interval (default 15 minutes)
 *   candles: [
 *     //  open   high   low  close
 *     [100, 101, 99, 100],
 *     [100, 100, 96, 97],
 *     { open: 97, high: 99, low: 96, close: 98, volume: 5 }, // objects work too
 *   ],
 * });
 * // Say the strategy bought on the third candle:
 * run.intents;   // [{ index: 2, time: Date.parse('2024-01-01T00:30:00Z'), intents: [{ kind: 'enter', ... }] }]: only candles that said something
 * run.byCandle;  // [[], [], [{ kind: 'enter', ... }]]: one entry per input row
 * run.trades;    // round trips the simulator made of them (engine mode)
 *
 * // A unit test of an exit rule: the strategy believes it is long on every candle.
 * runStrategy(myStrategy, { position: 'long', candles: closes([100, 104, 108]) }).byCandle.at(-1);
 * ```
 */
import { simBrokerFor } from '../brokers/sim/index.ts';
import { D, ConfigError, intervalMs, seriesFromCandles, type Candle, type FillModel, type Intent, type Interval, type PositionSide, type Trade } from '../core/index.ts';
import { MAKER_FEE, TAKER_FEE, resolveRunSpec } from '../config/index.ts';
import { checkOutput, runSpec, type Decision } from '../engine/index.ts';
import { resolveParams, type ParamSchema, type ParamValues, type StrategyContext, type StrategyDefinition } from '../strategy/index.ts';

/** One row of a candle table: `[open, high, low, close]`, `[open, high, low, close, volume]`, or an object. */
export type CandleRow =
  | readonly [open: number, high: number, low: number, close: number]
  | readonly [open: number, high: number, low: number, close: number, volume: number]
  | { readonly open: number; readonly high: number; readonly low: number; readonly close: number; readonly volume?: number };

/** A position held fixed for every candle (no broker): a side, or a side with its quantity and entry price. */
export type FixedPosition =
  | 'flat'
  | PositionSide
  | { readonly side: PositionSide | 'flat'; readonly qty?: number; readonly entryPrice?: number };

export interface RunStrategyOptions<S extends ParamSchema> {
  /** The candle table, oldest first. Open times are `start + i × interval`. */
  readonly candles: readonly CandleRow[];
  /** Parameter overrides, validated against the strategy's schema (unknown keys throw). The rest are defaults. */
  readonly params?: Partial<ParamValues<S>>;
  /** Open time of the first candle: epoch ms or an ISO date. Default 2024-01-01T00:00:00Z (a Monday). */
  readonly start?: number | string;
  /** Bybit interval of the candles. Default '15'. */
  readonly interval?: Interval;
  /** Symbol the strategy is told. Default 'BTCUSDT'. */
  readonly symbol?: string;
  /** Passed to the strategy as `env.mode`. Default 'backtest'. */
  readonly mode?: 'backtest' | 'live';
  /**
   * The first `warmup` candles only warm the strategy up: what it wants on them is discarded (not in
   * `intents`, not acted on), as in a backtest's warm-up. Default 0: every candle counts.
   */
  readonly warmup?: number;
  /** Hold this position on every candle instead of running the simulator. Default: run the simulator. */
  readonly position?: FixedPosition;
  /** Simulator only: instrument rules as decimal text. Default tick 0.01, qty step 0.001, min qty 0.001, no min notional. */
  readonly rules?: { readonly tickSize?: string; readonly qtyStep?: string; readonly minQty?: string; readonly minNotional?: string };
  /** Simulator only: fill model. Default `pyr backtest`'s: no slippage, taker 0.055%, maker 0.02%, min qty raised. */
  readonly fillModel?: Partial<FillModel>;
  /** Simulator only: starting balance (USDT). Default 1000. */
  readonly initialBalance?: number;
}

/** What the strategy wanted on one candle. */
export interface CandleIntents {
  /** Row of the candle in the table. */
  readonly index: number;
  /** Open time of the candle (epoch ms). */
  readonly time: number;
  readonly intents: readonly Intent[];
}

export interface StrategyRun {
  /** The candles as the strategy saw them (times filled in, volume 0 unless given, turnover NaN). */
  readonly candles: readonly Candle[];
  /** Candles on which the strategy returned at least one intent, in order (warm-up candles left out). */
  readonly intents: readonly CandleIntents[];
  /** One entry per input row: what the strategy returned on it (empty when nothing, or in the warm-up). */
  readonly byCandle: readonly (readonly Intent[])[];
  /** Simulator mode: the engine's decisions with each intent's outcome (an order, or why it was skipped). Empty with a fixed position. */
  readonly decisions: readonly Decision[];
  /** Simulator mode: closed round trips, including one closed at the last close (`end_of_data`) if a position was still open. */
  readonly trades: readonly Trade[];
  /** Simulator mode: intents not acted on, by reason, with counts (e.g. "entry ignored: a long position is open"). */
  readonly skipped: ReadonlyMap<string, number>;
  /** The position side the strategy saw on each candle (in simulator mode: after that candle's fills and stops). */
  readonly positions: readonly (PositionSide | 'flat')[];
}

const DEFAULT_START = Date.UTC(2024, 0, 1);
const NO_ORDERS: StrategyContext['orders'] = Object.freeze([]);
const DEFAULT_RULES = { tickSize: '0.01', qtyStep: '0.001', minQty: '0.001', minNotional: '0' } as const;
const DEFAULT_FILL_MODEL: FillModel = { slippageBps: 0, takerFee: TAKER_FEE, makerFee: MAKER_FEE, minQtyPolicy: 'raise' };

function startTime(start: number | string | undefined): number {
  if (start === undefined) return DEFAULT_START;
  const t = typeof start === 'number' ? start : Date.parse(start);
  if (!Number.isFinite(t)) throw new ConfigError(`runStrategy: start must be epoch ms or an ISO date, got ${JSON.stringify(start)}`);
  return t;
}

/** Turns a table into candles with open times `start + i × interval`; checks each row is a sane candle. */
export function makeCandles(rows: readonly CandleRow[], opts: { start?: number | string; interval?: Interval } = {}): Candle[] {
  const t0 = startTime(opts.start);
  const step = intervalMs(opts.interval ?? '15');
  return rows.map((row, i) => {
    const [open, high, low, close, volume] = Array.isArray(row)
      ? (row as readonly number[])
      : [(row as { open: number }).open, (row as { high: number }).high, (row as { low: number }).low, (row as { close: number }).close, (row as { volume?: number }).volume];
    for (const [k, v] of [['open', open], ['high', high], ['low', low], ['close', close]] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`candle row ${i}: ${k} must be a finite number, got ${JSON.stringify(v)}`);
    }
    if (high! < Math.max(open!, close!, low!) || low! > Math.min(open!, close!)) {
      throw new ConfigError(`candle row ${i}: high ${high} and low ${low} must contain open ${open} and close ${close}`);
    }
    return { openTime: t0 + i * step, open: open!, high: high!, low: low!, close: close!, volume: volume ?? 0, turnover: NaN };
  });
}

/**
 * Candle rows from closes alone, for strategies that only read closes: each candle opens at the previous
 * close (the first at its own close), and its high and low are the larger and smaller of open and close.
 */
export function closes(values: readonly number[]): CandleRow[] {
  return values.map((c, i) => {
    const o = i === 0 ? c : values[i - 1]!;
    return [o, Math.max(o, c), Math.min(o, c), c] as const;
  });
}


/**
 * Runs a strategy definition over a hand-made candle table and returns what it wanted on each candle
 * (see the module documentation for the two position modes and an example). Synchronous and pure: the
 * same table gives the same result.
 */
export function runStrategy<S extends ParamSchema>(definition: StrategyDefinition<S>, opts: RunStrategyOptions<S>): StrategyRun {
  const interval = opts.interval ?? '15';
  const symbol = opts.symbol ?? 'BTCUSDT';
  const candles = makeCandles(opts.candles, { start: opts.start, interval });
  const params = resolveParams(definition.params, [{ where: 'runStrategy params', values: (opts.params ?? {}) as Record<string, unknown> }]);
  const warmup = opts.warmup ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0) throw new ConfigError(`runStrategy: warmup must be a whole number >= 0, got ${warmup}`);
  const byCandle: (readonly Intent[])[] = candles.map(() => []);
  const positions: (PositionSide | 'flat')[] = [];

  if (opts.position !== undefined) {
    const fixed = typeof opts.position === 'string' ? { side: opts.position } : opts.position;
    const side = fixed.side;
    const qty = side === 'flat' ? 0 : (fixed as { qty?: number }).qty ?? 1;
    const entryPrice = side === 'flat' ? NaN : (fixed as { entryPrice?: number }).entryPrice ?? candles[0]?.open ?? NaN;
    const ctx: StrategyContext = { position: Object.freeze({ side, qty, entryPrice }), orders: NO_ORDERS, symbol, interval };
    const strategy = definition.create(params, { symbol, interval, intervalMs: intervalMs(interval), mode: opts.mode ?? 'backtest' });
    candles.forEach((c, i) => {
      positions.push(side);
      // Checked as the engine checks them: a bad intent throws an IntentError naming the field.
      const got = checkOutput(strategy.onCandle(c, ctx), { strategy: definition.name, time: c.openTime, close: c.close });
      if (i >= warmup) byCandle[i] = got;
    });
    return { candles, byCandle, intents: collect(byCandle, candles), decisions: [], trades: [], skipped: new Map(), positions };
  }

  const r = { ...DEFAULT_RULES, ...opts.rules };
  const decisions: Decision[] = [];
  // The same definition, with a window on the position each candle's decision saw.
  const watched: StrategyDefinition = {
    ...(definition as unknown as StrategyDefinition),
    create(p, env) {
      const inner = definition.create(p as ParamValues<S>, env);
      return {
        onCandle(c, ctx) {
          positions.push(ctx.position.side);
          return inner.onCandle(c, ctx);
        },
        status: inner.status ? () => inner.status!() : undefined,
      };
    },
  };
  if (warmup >= candles.length) {
    // Nothing left to trade: the strategy still sees every candle, and nothing is acted on.
    const strategy = watched.create(params, { symbol, interval, intervalMs: intervalMs(interval), mode: opts.mode ?? 'backtest' });
    const ctx: StrategyContext = { position: Object.freeze({ side: 'flat', qty: 0, entryPrice: NaN }), orders: NO_ORDERS, symbol, interval };
    for (const c of candles) strategy.onCandle(c, ctx);
    return { candles, byCandle, intents: [], decisions: [], trades: [], skipped: new Map(), positions };
  }
  // A run as pyr backtest makes it (runSpec), with the kit's rules and fill model: warm-up candles first.
  const fm = { ...DEFAULT_FILL_MODEL, ...opts.fillModel };
  const resolved = resolveRunSpec({
    definition: watched,
    strategyFile: 'runStrategy',
    instrument: { exchange: 'bybit', category: 'linear', symbol },
    interval,
    layers: [{ where: 'runStrategy params', values: (opts.params ?? {}) as Record<string, unknown> }],
    snapshot: { file: 'runStrategy', rules: { tickSize: r.tickSize, qtyStep: r.qtyStep, minQty: r.minQty, minNotional: r.minNotional } },
  });
  const spec = {
    ...resolved,
    strategy: { ...resolved.strategy, warmup },
    rules: { symbol, category: 'linear', tickSize: new D(r.tickSize), qtyStep: new D(r.qtyStep), minQty: new D(r.minQty), minNotional: new D(r.minNotional), source: 'runStrategy' },
    fillModel: fm,
    guards: {},
    initialBalance: opts.initialBalance ?? 1000,
  };
  const step = intervalMs(interval);
  const { engine } = runSpec(spec, { series: seriesFromCandles(candles, 'runStrategy'), source: 'runStrategy', funding: { none: 'none' } }, simBrokerFor(spec), {
    runId: 'runStrategy',
    from: candles[warmup]!.openTime,
    to: candles[candles.length - 1]!.openTime + step,
    onDecision: (d) => decisions.push(d),
  });
  const index = new Map(candles.map((c, i) => [c.openTime, i]));
  for (const d of decisions) byCandle[index.get(d.time)!] = d.intents;
  return { candles, byCandle, intents: collect(byCandle, candles), decisions, trades: engine.trades, skipped: engine.skipped, positions };
}

function collect(byCandle: readonly (readonly Intent[])[], candles: readonly Candle[]): CandleIntents[] {
  const out: CandleIntents[] = [];
  byCandle.forEach((intents, index) => {
    if (intents.length > 0) out.push({ index, time: candles[index]!.openTime, intents });
  });
  return out;
}
