import { DataError, type Candle } from '../core/index.ts';
import { nonNegativeFinite, positiveInt } from './args.ts';

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
 * @see https://www.tradingview.com/pine-script-reference/v5/#fun_ta.pivothigh (same idea; Pine's tie rules differ)
 */
export class SwingPivots {
  readonly leftBars: number;
  readonly rightBars: number;
  readonly tolerancePct: number;
  readonly maxLevels: number;

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
  /** Sorted copies handed out by resistances()/supports(), rebuilt only when a level changes. */
  #resSorted: readonly number[] = Object.freeze([]);
  #supSorted: readonly number[] = Object.freeze([]);
  #lastHigh: SwingPoint | undefined = undefined;
  #lastLow: SwingPoint | undefined = undefined;

  constructor({ leftBars = 2, rightBars = 2, tolerancePct = 0.0005, maxLevels = 10 }: SwingPivotsOptions = {}) {
    this.leftBars = positiveInt('SwingPivots', 'leftBars', leftBars);
    this.rightBars = positiveInt('SwingPivots', 'rightBars', rightBars);
    this.tolerancePct = nonNegativeFinite('SwingPivots', 'tolerancePct', tolerancePct);
    this.maxLevels = positiveInt('SwingPivots', 'maxLevels', maxLevels);
    this.#span = leftBars + rightBars + 1;
    this.#highs = new Float64Array(this.#span);
    this.#lows = new Float64Array(this.#span);
    this.#times = new Float64Array(this.#span);
  }

  /** The latest confirmed pivot high, if any. */
  get lastPivotHigh(): SwingPoint | undefined {
    return this.#lastHigh;
  }

  /** The latest confirmed pivot low, if any. */
  get lastPivotLow(): SwingPoint | undefined {
    return this.#lastLow;
  }

  /** Resistance levels (from pivot highs), ascending. The same array until a level changes. */
  resistances(): readonly number[] {
    return this.#resSorted;
  }

  /** Support levels (from pivot lows), descending. The same array until a level changes. */
  supports(): readonly number[] {
    return this.#supSorted;
  }

  /** Adds one closed candle; true when it confirmed a pivot (high or low) `rightBars` bars back. */
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
    if (isHigh) {
      this.#lastHigh = { price: h, openTime: this.#times[j]!, confirmedAt: candle.openTime };
      this.#addLevel(this.#res, h);
      this.#resSorted = Object.freeze([...this.#res].sort((a, b) => a - b));
    }
    if (isLow) {
      this.#lastLow = { price: l, openTime: this.#times[j]!, confirmedAt: candle.openTime };
      this.#addLevel(this.#sup, l);
      this.#supSorted = Object.freeze([...this.#sup].sort((a, b) => b - a));
    }
    return isHigh || isLow;
  }

  reset(): void {
    this.#next = 0;
    this.#count = 0;
    this.#res.length = 0;
    this.#sup.length = 0;
    this.#resSorted = Object.freeze([]);
    this.#supSorted = Object.freeze([]);
    this.#lastHigh = undefined;
    this.#lastLow = undefined;
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
