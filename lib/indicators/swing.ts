import { DataError, type Candle } from '../core/index.ts';
import { nonNegativeFinite, positiveInt } from './args.ts';
import type { Indicator } from './indicator.ts';

export interface SwingPivotsOptions {
  /** Bars before a pivot that it must strictly exceed. Default 2. */
  leftBars?: number;
  /** Bars after a pivot that it must match or exceed; also the confirmation delay. Default 2. */
  rightBars?: number;
  /** Relative distance within which a new level replaces an existing one (0.0005 = 0.05 %). Default 0.0005. */
  tolerancePct?: number;
  /** How many resistance levels, and separately how many support levels, to keep. Default 10. */
  maxLevels?: number;
}

/** One confirmed swing pivot. */
export interface SwingPoint {
  readonly price: number;
  /** openTime of the pivot bar itself. */
  readonly openTime: number;
  /** openTime of the bar whose close confirmed it, `rightBars` bars later: the earliest moment it was known. */
  readonly confirmedAt: number;
}

/** SwingPivots' value: the levels and the latest pivots known after the latest candle. */
export interface SwingLevels {
  /** Resistance levels (from pivot highs), ascending; empty before the first pivot high. */
  readonly resistances: readonly number[];
  /** Support levels (from pivot lows), descending; empty before the first pivot low. */
  readonly supports: readonly number[];
  /** The latest confirmed pivot high, if any. */
  readonly lastPivotHigh: SwingPoint | undefined;
  /** The latest confirmed pivot low, if any. */
  readonly lastPivotLow: SwingPoint | undefined;
}

const NO_LEVELS: readonly number[] = Object.freeze([]);

/**
 * Swing highs and lows ("fractals") as support and resistance levels.
 *
 * Rules, for bar j:
 * - pivot high: high[j] >  high[j-i] for i = 1..leftBars and high[j] >= high[j+i] for i = 1..rightBars;
 * - pivot low:  low[j]  <  low[j-i]  for i = 1..leftBars and low[j]  <= low[j+i]  for i = 1..rightBars.
 * Strict on the left and non-strict on the right, so a flat top of equal highs yields exactly one pivot,
 * at its first bar, rather than none (both strict) or one per bar (both non-strict).
 *
 * No look-ahead: a pivot at bar j needs bar j + rightBars, so it is reported on that bar's update and never
 * earlier; later candles never change a pivot or a level already known.
 *
 * Levels: pivot highs become resistances, pivot lows supports (by origin, not by where price is now). A new
 * level replaces every stored level of its kind within `tolerancePct` of it (|new − old| <= tolerancePct × old):
 * the most recent touch of a zone is its best estimate, and the zone counts as fresh again. The `maxLevels`
 * most recent levels of each kind are kept. `resistances()` is ascending (nearest above a low price first),
 * `supports()` descending.
 *
 * Warm-up: a bar can be judged once `leftBars + rightBars + 1` bars are in (`warmup`): from that candle on,
 * `isReady` is true and `value` holds what is known, {@link SwingLevels} (its lists empty until a pivot of
 * that kind is confirmed). `value` is one object, updated in place; its level arrays are frozen and replaced
 * (not changed) when a level changes, so an array can be kept. `confirmed` tells whether the latest update
 * confirmed a pivot.
 *
 * @see https://www.tradingview.com/pine-script-reference/v5/#fun_ta.pivothigh (same idea; Pine's tie rules differ)
 */
export class SwingPivots implements Indicator<Candle, SwingLevels> {
  readonly leftBars: number;
  readonly rightBars: number;
  readonly tolerancePct: number;
  readonly maxLevels: number;
  /** Candles needed before the first bar can be judged: leftBars + rightBars + 1. */
  readonly warmup: number;

  /** Ring of the last leftBars + rightBars + 1 bars. */
  readonly #span: number;
  readonly #highs: Float64Array;
  readonly #lows: Float64Array;
  readonly #times: Float64Array;
  #next = 0;
  #count = 0;
  /** Levels in the order they were added, oldest first. */
  readonly #res: number[] = [];
  readonly #sup: number[] = [];
  /**
   * What `value` hands out: the sorted level copies (also given by resistances()/supports(), rebuilt only
   * when a level changes) and the latest pivots.
   */
  readonly #out: { -readonly [K in keyof SwingLevels]: SwingLevels[K] } = {
    resistances: NO_LEVELS,
    supports: NO_LEVELS,
    lastPivotHigh: undefined,
    lastPivotLow: undefined,
  };
  #confirmed = false;

  constructor({ leftBars = 2, rightBars = 2, tolerancePct = 0.0005, maxLevels = 10 }: SwingPivotsOptions = {}) {
    this.leftBars = positiveInt('SwingPivots', 'leftBars', leftBars);
    this.rightBars = positiveInt('SwingPivots', 'rightBars', rightBars);
    this.tolerancePct = nonNegativeFinite('SwingPivots', 'tolerancePct', tolerancePct);
    this.maxLevels = positiveInt('SwingPivots', 'maxLevels', maxLevels);
    this.#span = leftBars + rightBars + 1;
    this.warmup = this.#span;
    this.#highs = new Float64Array(this.#span);
    this.#lows = new Float64Array(this.#span);
    this.#times = new Float64Array(this.#span);
  }

  /** The levels and latest pivots once `warmup` candles are in, else undefined; the same object every update. */
  get value(): SwingLevels | undefined {
    return this.#count === this.#span ? this.#out : undefined;
  }

  /** True once `warmup` candles are in (the first bar has been judged). */
  get isReady(): boolean {
    return this.#count === this.#span;
  }

  /** True when the latest update confirmed a pivot (high or low) `rightBars` bars back. */
  get confirmed(): boolean {
    return this.#confirmed;
  }

  /** The latest confirmed pivot high, if any. */
  get lastPivotHigh(): SwingPoint | undefined {
    return this.#out.lastPivotHigh;
  }

  /** The latest confirmed pivot low, if any. */
  get lastPivotLow(): SwingPoint | undefined {
    return this.#out.lastPivotLow;
  }

  /** Resistance levels (from pivot highs), ascending; empty before any. The same array until a level changes. */
  resistances(): readonly number[] {
    return this.#out.resistances;
  }

  /** Support levels (from pivot lows), descending; empty before any. The same array until a level changes. */
  supports(): readonly number[] {
    return this.#out.supports;
  }

  /**
   * Adds one closed candle; true once `warmup` candles are in (isReady). Whether it confirmed a pivot is
   * `confirmed`.
   */
  update(candle: Candle): boolean {
    if (!Number.isFinite(candle.high) || !Number.isFinite(candle.low)) {
      throw new DataError(`SwingPivots: candle at ${candle.openTime} has a non-finite high or low (${candle.high}, ${candle.low})`);
    }
    const span = this.#span;
    const at = this.#next;
    this.#highs[at] = candle.high;
    this.#lows[at] = candle.low;
    this.#times[at] = candle.openTime;
    this.#next = at + 1 === span ? 0 : at + 1;
    this.#confirmed = false;
    if (this.#count < span && ++this.#count < span) return false;

    // The candidate is the bar `rightBars` before this one; `age` counts bars back from this candle (age 0).
    const j = (at - this.rightBars + span) % span;
    const h = this.#highs[j]!;
    const l = this.#lows[j]!;
    let isHigh = true;
    let isLow = true;
    for (let age = 0; age < span; age++) {
      if (age === this.rightBars) continue;
      const s = (at - age + span) % span;
      const after = age < this.rightBars;
      const oh = this.#highs[s]!;
      const ol = this.#lows[s]!;
      if (after ? oh > h : oh >= h) isHigh = false;
      if (after ? ol < l : ol <= l) isLow = false;
    }
    const out = this.#out;
    if (isHigh) {
      out.lastPivotHigh = { price: h, openTime: this.#times[j]!, confirmedAt: candle.openTime };
      this.#addLevel(this.#res, h);
      out.resistances = Object.freeze([...this.#res].sort((a, b) => a - b));
    }
    if (isLow) {
      out.lastPivotLow = { price: l, openTime: this.#times[j]!, confirmedAt: candle.openTime };
      this.#addLevel(this.#sup, l);
      out.supports = Object.freeze([...this.#sup].sort((a, b) => b - a));
    }
    this.#confirmed = isHigh || isLow;
    return true;
  }

  reset(): void {
    this.#next = 0;
    this.#count = 0;
    this.#res.length = 0;
    this.#sup.length = 0;
    this.#confirmed = false;
    const out = this.#out;
    out.resistances = NO_LEVELS;
    out.supports = NO_LEVELS;
    out.lastPivotHigh = undefined;
    out.lastPivotLow = undefined;
  }

  #addLevel(levels: number[], price: number): void {
    const tol = this.tolerancePct;
    for (let i = levels.length - 1; i >= 0; i--) {
      if (Math.abs(price - levels[i]!) <= tol * levels[i]!) levels.splice(i, 1);
    }
    levels.push(price);
    if (levels.length > this.maxLevels) levels.shift();
  }
}

/**
 * The level nearest to `price` among those within `tolerancePct` of it (|price − level| <= tolerancePct × level),
 * or undefined when none is; ties go to the earlier level in `levels`. Used to ask "is price at a
 * support/resistance?".
 */
export function nearLevel(price: number, levels: readonly number[], tolerancePct: number): number | undefined {
  let best: number | undefined;
  let bestDist = Infinity;
  for (const level of levels) {
    const dist = Math.abs(price - level);
    if (dist <= tolerancePct * level && dist < bestDist) {
      best = level;
      bestDist = dist;
    }
  }
  return best;
}
