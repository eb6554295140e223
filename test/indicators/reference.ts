/**
 * Independent implementations of the indicators, for the tests: whole-series functions over plain arrays,
 * written from the definitions in the indicators' documentation, sharing no code with lib/indicators.
 * Each returns, per input, what the indicator's `value` should be after that input: undefined before the
 * first value. Where the definition fixes the order of the floating-point operations (Pine's `ta.rsi`, the
 * SMA's oldest-to-newest sum, the pivot formulas), the arithmetic here follows it, so the results are
 * expected to be bit-identical; `textbookRsi` is the same RSI with a different (algebraically equal)
 * arithmetic, a few ulps apart.
 */
import type { Candle } from '../../lib/core/index.ts';

/**
 * Wilder's RSI as rsi.ts documents it (Pine's `ta.rsi`): the first value at close index `period`, from
 * the plain means of the first `period` gains and losses; after that each average is Wilder's moving
 * average in Pine's operation order `alpha * x + (1 - alpha) * prev` with alpha = 1 / period; RSI is 100
 * when the average loss is 0 (0/0 included), else 100 - 100 / (1 + gain / loss).
 */
export function wilderRsi(closes: readonly number[], period: number): (number | undefined)[] {
  const out: (number | undefined)[] = Array<number | undefined>(closes.length).fill(undefined);
  const alpha = 1 / period;
  let gain = 0;
  let loss = 0;
  for (let i = period; i < closes.length; i++) {
    if (i === period) {
      for (let m = 1; m <= period; m++) {
        gain += Math.max(closes[m]! - closes[m - 1]!, 0);
        loss += Math.max(closes[m - 1]! - closes[m]!, 0);
      }
      gain /= period;
      loss /= period;
    } else {
      gain = alpha * Math.max(closes[i]! - closes[i - 1]!, 0) + (1 - alpha) * gain;
      loss = alpha * Math.max(closes[i - 1]! - closes[i]!, 0) + (1 - alpha) * loss;
    }
    out[i] = loss === 0 ? 100 : 100 - 100 / (1 + gain / loss);
  }
  return out;
}

/**
 * The same RSI in the textbook's arithmetic: averages (prev × (n − 1) + x) / n, RSI = 100 × gain / (gain +
 * loss). Algebraically equal to {@link wilderRsi}, numerically a few ulps apart.
 */
export function textbookRsi(closes: readonly number[], period: number): (number | undefined)[] {
  const out: (number | undefined)[] = Array<number | undefined>(closes.length).fill(undefined);
  const moves = closes.slice(1).map((c, i) => c - closes[i]!);
  let gain = 0;
  let loss = 0;
  moves.forEach((m, i) => {
    const g = m > 0 ? m : 0;
    const l = m < 0 ? -m : 0;
    if (i < period) {
      gain += g / period;
      loss += l / period;
      if (i < period - 1) return;
    } else {
      gain = (gain * (period - 1) + g) / period;
      loss = (loss * (period - 1) + l) / period;
    }
    out[i + 1] = loss === 0 ? 100 : (100 * gain) / (gain + loss);
  });
  return out;
}

/** Simple moving average: the window's sum, oldest to newest, divided by `period`. */
export function plainSma(xs: readonly number[], period: number): (number | undefined)[] {
  return xs.map((_, i) => {
    if (i < period - 1) return undefined;
    let s = 0;
    for (let j = i - period + 1; j <= i; j++) s += xs[j]!;
    return s / period;
  });
}

const DAY = 86_400_000;

/** Start of the period holding `t`: a UTC day, a week from Monday 00:00 UTC, a calendar month, or a fixed length from the epoch. */
export function periodStartOf(period: 'D' | 'W' | 'M' | number): (t: number) => number {
  if (period === 'D') return (t) => t - (((t % DAY) + DAY) % DAY);
  if (period === 'W') {
    return (t) => {
      const day = t - (((t % DAY) + DAY) % DAY);
      return day - ((new Date(day).getUTCDay() + 6) % 7) * DAY; // Sunday is 0: six days after Monday
    };
  }
  if (period === 'M') {
    return (t) => {
      const d = new Date(t);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    };
  }
  return (t) => t - (t % period);
}

export interface RefPivotLevels {
  period: number;
  p: number;
  r1: number;
  r2: number;
  r3: number;
  s1: number;
  s2: number;
  s3: number;
}

/**
 * Fibonacci pivots: after each candle, the levels from the last completed period (its high, low and last
 * close), stamped with the start of the period of the candle that completed it; undefined during the first
 * period. P = (H + L + C) / 3, R/S = P ± 0.382, 0.618, 1 × (H − L).
 */
export function fibonacciPivotsRef(candles: readonly Candle[], period: 'D' | 'W' | 'M' | number): (RefPivotLevels | undefined)[] {
  const startOf = periodStartOf(period);
  const out: (RefPivotLevels | undefined)[] = [];
  let levels: RefPivotLevels | undefined;
  let current = NaN;
  let h = -Infinity;
  let l = Infinity;
  let c = NaN;
  for (const k of candles) {
    const start = startOf(k.openTime);
    if (start !== current) {
      if (current === current) {
        const p = (h + l + c) / 3;
        const range = h - l;
        levels = { period: start, p, r1: p + 0.382 * range, r2: p + 0.618 * range, r3: p + range, s1: p - 0.382 * range, s2: p - 0.618 * range, s3: p - range };
      }
      current = start;
      h = -Infinity;
      l = Infinity;
    }
    h = Math.max(h, k.high);
    l = Math.min(l, k.low);
    c = k.close;
    out.push(levels);
  }
  return out;
}

/** Index of the first candle of a period later than the first candle's: where the first pivot levels appear (-1: never). */
export function firstOfSecondPeriod(candles: readonly Candle[], period: 'D' | 'W' | 'M' | number): number {
  const startOf = periodStartOf(period);
  const first = startOf(candles[0]!.openTime);
  return candles.findIndex((k) => startOf(k.openTime) !== first);
}

export interface RefSwingPoint {
  price: number;
  openTime: number;
  confirmedAt: number;
}

export interface RefSwingLevels {
  resistances: number[];
  supports: number[];
  lastPivotHigh: RefSwingPoint | undefined;
  lastPivotLow: RefSwingPoint | undefined;
}

/**
 * Swing pivots from their definition, evaluated with the whole series in view: bar j is a pivot high when its
 * high is above each of the `left` highs before it and at least each of the `right` highs after it (a low
 * mirrored); it is known at bar j + right. A new level removes the stored levels of its kind within `tol`
 * of them (|new − old| <= tol × old), is appended, and the oldest beyond `maxLevels` goes. After each bar
 * from bar left + right on: the levels (resistances ascending, supports descending) and the latest pivots;
 * undefined before.
 */
export function swingPivotsRef(candles: readonly Candle[], left: number, right: number, tol: number, maxLevels: number): (RefSwingLevels | undefined)[] {
  const out: (RefSwingLevels | undefined)[] = [];
  let res: number[] = [];
  let sup: number[] = [];
  let lastPivotHigh: RefSwingPoint | undefined;
  let lastPivotLow: RefSwingPoint | undefined;
  const add = (levels: number[], price: number): number[] => {
    const kept = levels.filter((lv) => !(Math.abs(price - lv) <= tol * lv));
    kept.push(price);
    return kept.length > maxLevels ? kept.slice(kept.length - maxLevels) : kept;
  };
  for (let t = 0; t < candles.length; t++) {
    const j = t - right;
    if (j - left < 0) {
      out.push(undefined);
      continue;
    }
    const bar = candles[j]!;
    const before = candles.slice(j - left, j);
    const after = candles.slice(j + 1, t + 1);
    if (before.every((b) => bar.high > b.high) && after.every((a) => bar.high >= a.high)) {
      lastPivotHigh = { price: bar.high, openTime: bar.openTime, confirmedAt: candles[t]!.openTime };
      res = add(res, bar.high);
    }
    if (before.every((b) => bar.low < b.low) && after.every((a) => bar.low <= a.low)) {
      lastPivotLow = { price: bar.low, openTime: bar.openTime, confirmedAt: candles[t]!.openTime };
      sup = add(sup, bar.low);
    }
    out.push({ resistances: [...res].sort((a, b) => a - b), supports: [...sup].sort((a, b) => b - a), lastPivotHigh, lastPivotLow });
  }
  return out;
}
