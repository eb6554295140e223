/**
 * The user API. A strategy sees closed candles only, keeps its own indicator state, and answers each
 * candle with intents (enter, exit, cancel, amend) from a synchronous call: no clock, no I/O, no broker. The engine
 * builds a fresh instance per run, so no state leaks between runs.
 */
import { StrategyError, type Candle, type Intent, type Interval, type PositionSide } from '../core/index.ts';
import type { ParamSchema, ParamValues } from './params.ts';
import type { IndicatorFactory } from '../indicators/cache.ts';

/**
 * An order resting at the broker as a strategy sees it (`ctx.orders`): the pending entry, resting
 * exits, and the position's stop loss, trailing stop and take-profit targets. Prices and quantities are
 * numbers (undefined when not known yet: an entry is sized at its fill, a trailing stop before activation).
 */
export interface OrderView {
  readonly id: string;
  readonly role: 'entry' | 'exit' | 'stop_loss' | 'trailing_stop' | 'take_profit';
  readonly type: 'market' | 'limit' | 'stop';
  readonly side: 'Buy' | 'Sell';
  readonly positionSide: PositionSide;
  readonly price?: number;
  readonly trigger?: number;
  readonly qty?: number;
  readonly postOnly?: boolean;
  /** Open time of the candle whose close decided it. */
  readonly signalTime: number;
  readonly expiresAfter?: number;
  readonly reason: string;
}

/** What a strategy may know besides the candle: its own position and orders, as the broker reports them. */
export interface StrategyContext {
  readonly position: { readonly side: PositionSide | 'flat'; readonly qty: number; readonly entryPrice: number };
  /** Orders resting at the broker now (empty when none, and in the test kit's fixed-position mode). */
  readonly orders: readonly OrderView[];
  readonly symbol: string;
  readonly interval: Interval;
}

/** Values a strategy shows on the console in live mode (and in reports): indicators and levels. */
export interface StrategyStatus {
  readonly indicators?: Readonly<Record<string, number>>;
  readonly supports?: readonly { readonly price: number; readonly label: string }[];
  readonly resistances?: readonly { readonly price: number; readonly label: string }[];
}

export type StrategyOutput = Intent | readonly Intent[] | null | undefined | void;

export interface Strategy {
  /** Called once per closed candle, in order. Returns what it wants done after this candle's close. */
  onCandle(candle: Candle, ctx: StrategyContext): StrategyOutput;
  /** Current indicator values and levels, for display. */
  status?(): StrategyStatus;
  /**
   * The values of the series the definition's `plots` declares, in that order, after the latest candle
   * (undefined or NaN where there is none yet). The engine records them on every candle for the report,
   * and the live console prints them; nothing else reads them, so they never change a decision.
   */
  plot?(): readonly (number | undefined)[];
}

/** One series a strategy draws: over the candles (`pane` 'price', the default) or in a pane of its own. */
export interface PlotSeries {
  readonly name: string;
  /** 'price' (over the candles), or the title of a pane below them, e.g. 'StochRSI'. */
  readonly pane?: string;
  /** A CSS colour. */
  readonly color?: string;
  /** 'line' (default), or 'step' for levels that hold until they change (pivots). */
  readonly style?: 'line' | 'step';
  /** Decimals the live console writes it with (default 2). */
  readonly decimals?: number;
  /** Written on the live console (default true; false for levels the console lists otherwise). */
  readonly console?: boolean;
}

/** What a strategy draws: its series, and horizontal guides (e.g. oversold 20) in a pane. */
export interface PlotDeclaration {
  readonly series: readonly PlotSeries[];
  readonly guides?: readonly { readonly pane: string; readonly value: number; readonly label: string }[];
}

export interface StrategyEnv {
  readonly symbol: string;
  readonly interval: Interval;
  readonly intervalMs: number;
  /** 'live' when a person watches the console: worth computing display-only values such as levels. */
  readonly mode: 'backtest' | 'live';
  /** The run records the declared plots (a report): worth computing what `plot()` returns. */
  readonly plots?: boolean;
  /**
   * Where to create indicators (`indicatorsOf(env).stochRsi({...})`): in a sweep, a factory that computes
   * each indicator once per worker and replays it bit for bit to the other combinations (lib/indicators/
   * cache.ts); absent otherwise (indicatorsOf then gives plain ones). Indicators constructed directly
   * work the same, uncached.
   */
  readonly indicators?: IndicatorFactory;
}

export interface StrategyDefinition<S extends ParamSchema = ParamSchema> {
  readonly name: string;
  readonly description: string;
  readonly params: S;
  /** Closed candles to feed before decisions count (indicator warm-up). */
  warmup(params: ParamValues<S>): number;
  /** A fresh strategy with fresh state. */
  create(params: ParamValues<S>, env: StrategyEnv): Strategy;
  /** The series the strategy's `plot()` returns, for the report and the live console (optional). */
  plots?(params: ParamValues<S>): PlotDeclaration;
}

/**
 * The warm-up a strategy declares for `params`, checked: a whole number of candles, 0 or more. Anything
 * else (a fraction, NaN, a negative number, a string, a throw) is refused at start with a StrategyError.
 */
export function warmupOf(definition: StrategyDefinition, params: Readonly<Record<string, unknown>>, file?: string): number {
  const who = `strategy "${definition.name}"${file ? ` (${file})` : ''}`;
  let w: unknown;
  try {
    w = definition.warmup(params as never);
  } catch (err) {
    throw new StrategyError(`${who}: warmup() failed: ${(err as Error).message}`, { cause: err, exitCode: 2 });
  }
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 0) {
    throw new StrategyError(`${who}: warmup() must return a whole number of candles, 0 or more, got ${typeof w === 'number' ? String(w) : JSON.stringify(w) ?? String(w)}`, { exitCode: 2 });
  }
  return w;
}

/** Declares a strategy; returns it unchanged, typed. A strategy file's default export. */
export function defineStrategy<S extends ParamSchema>(def: StrategyDefinition<S>): StrategyDefinition<S> {
  return def;
}

/** a crossed above b between the previous and this candle. */
export function crossedAbove(prevA: number, prevB: number, a: number, b: number): boolean {
  return prevA <= prevB && a > b;
}

/** a crossed below b between the previous and this candle. */
export function crossedBelow(prevA: number, prevB: number, a: number, b: number): boolean {
  return prevA >= prevB && a < b;
}
