import { ConfigError, DAY_MS, DataError, type Candle } from '../core/index.ts';
import type { Indicator } from './indicator.ts';

/** Fibonacci pivot levels derived from one completed period, valid for the period starting at `period`. */
export interface PivotLevels {
  /** Start (epoch ms, UTC) of the period these levels apply to: the one after the period they came from. */
  readonly period: number;
  readonly p: number;
  readonly r1: number;
  readonly r2: number;
  readonly r3: number;
  readonly s1: number;
  readonly s2: number;
  readonly s3: number;
}

export interface FibonacciPivotsOptions {
  /** Fixed-length periods aligned to the epoch, UTC (floor(openTime / periodMs) * periodMs). Default one day. */
  periodMs?: number;
  /** Calendar periods: 'D' a UTC day, 'W' a week starting Monday 00:00 UTC (as Bybit's weekly candles), 'M' a calendar month. */
  period?: 'D' | 'W' | 'M';
}

const WEEK_MS = 7 * DAY_MS;
/** 1970-01-01 was a Thursday; the first Monday, 1970-01-05, anchors the weekly grid. */
const MONDAY_OFFSET_MS = 4 * DAY_MS;

/**
 * Fibonacci pivot points: support and resistance levels for the current period, drawn from the previous
 * period's high H, low L and close C.
 *
 * P = (H + L + C) / 3; R1/R2/R3 = P + 0.382/0.618/1.000 × (H − L); S1/S2/S3 = P − the same.
 * Reading them: P is the period's balance point; price holding above P leans bullish, and R1-R3 / S1-S3 are
 * the levels where moves tend to stall or turn.
 *
 * The indicator accumulates the running period's H, L and last close and rolls the levels over only when a
 * candle of a later period arrives; the partial current period never leaks into them, so there is no
 * look-ahead. A period with missing candles still completes on the next candle of a later period; if whole
 * periods are missing, the levels come from the last period that had candles and are stamped with the
 * period of the candle that rolled them over.
 *
 * `value` is the current period's {@link PivotLevels}, undefined until one period has completed: the warm-up
 * depends on the data, not on a count. The first levels come with the first candle of a period later than the
 * first candle's (the first candle of the second UTC day, with daily periods), so `isReady` is false for every
 * candle of the first period, however many there are; `warmup` is 2, the fewest candles that can give levels
 * (one candle of a period, then one of a later period). A new levels object is made once per period and
 * never changed, so it can be kept.
 *
 * @see https://www.tradingview.com/support/solutions/43000521824-pivot-points-standard/
 */
export class FibonacciPivots implements Indicator<Candle, PivotLevels> {
  /** The fixed period length, or undefined for calendar weeks/months. */
  readonly periodMs: number | undefined;
  readonly period: 'D' | 'W' | 'M' | undefined;
  /**
   * 2: the fewest candles that can give levels. The first levels actually come with the first candle of a
   * period after the first candle's period (data-dependent; see the class description).
   */
  readonly warmup: number = 2;
  #levels: PivotLevels | undefined = undefined;
  /** [start, end) of the period being accumulated; NaN before the first candle. */
  #start = NaN;
  #end = NaN;
  #high = -Infinity;
  #low = Infinity;
  #close = NaN;

  constructor({ periodMs, period }: FibonacciPivotsOptions = {}) {
    if (periodMs !== undefined && period !== undefined) {
      throw new ConfigError('FibonacciPivots: give either periodMs or period, not both');
    }
    if (period !== undefined && period !== 'D' && period !== 'W' && period !== 'M') {
      throw new ConfigError(`FibonacciPivots: period must be 'D', 'W' or 'M', got ${String(period)}`);
    }
    if (periodMs !== undefined && (!Number.isInteger(periodMs) || periodMs < 1)) {
      throw new ConfigError(`FibonacciPivots: periodMs must be a positive integer (ms), got ${String(periodMs)}`);
    }
    this.period = period;
    this.periodMs = period === 'D' ? DAY_MS : period === 'W' ? WEEK_MS : period === 'M' ? undefined : (periodMs ?? DAY_MS);
  }

  /** The levels for the current period; undefined until one period has completed. */
  get value(): PivotLevels | undefined {
    return this.#levels;
  }

  /** True once one period has completed (levels exist). */
  get isReady(): boolean {
    return this.#levels !== undefined;
  }

  /** S1, S2, S3 (descending), or empty before the first levels. */
  supports(): number[] {
    const l = this.#levels;
    return l ? [l.s1, l.s2, l.s3] : [];
  }

  /** R1, R2, R3 (ascending), or empty before the first levels. */
  resistances(): number[] {
    const l = this.#levels;
    return l ? [l.r1, l.r2, l.r3] : [];
  }

  /** Adds one closed candle; true when levels exist (isReady). Candles must arrive in ascending openTime order. */
  update(candle: Candle): boolean {
    const t = candle.openTime;
    if (!Number.isFinite(candle.high) || !Number.isFinite(candle.low) || !Number.isFinite(candle.close)) {
      throw new DataError(`FibonacciPivots: candle at ${t} has a non-finite high, low or close`);
    }
    if (!(t >= this.#start && t < this.#end)) {
      if (!Number.isFinite(t)) throw new DataError(`FibonacciPivots: candle openTime must be finite, got ${String(t)}`);
      if (t < this.#start) {
        throw new DataError(`FibonacciPivots: candle at ${t} is older than the current period starting ${this.#start}`);
      }
      const start = this.#periodStart(t);
      if (this.#start === this.#start) this.#rollOver(start);
      this.#start = start;
      this.#end = this.#periodEnd(start);
      this.#high = candle.high;
      this.#low = candle.low;
    } else {
      if (candle.high > this.#high) this.#high = candle.high;
      if (candle.low < this.#low) this.#low = candle.low;
    }
    this.#close = candle.close;
    return this.#levels !== undefined;
  }

  reset(): void {
    this.#levels = undefined;
    this.#start = NaN;
    this.#end = NaN;
    this.#high = -Infinity;
    this.#low = Infinity;
    this.#close = NaN;
  }

  #rollOver(nextPeriod: number): void {
    const h = this.#high;
    const l = this.#low;
    const p = (h + l + this.#close) / 3;
    const range = h - l;
    this.#levels = {
      period: nextPeriod,
      p,
      r1: p + 0.382 * range,
      r2: p + 0.618 * range,
      r3: p + range,
      s1: p - 0.382 * range,
      s2: p - 0.618 * range,
      s3: p - range,
    };
  }

  #periodStart(t: number): number {
    if (this.period === 'M') {
      const d = new Date(t);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
    if (this.period === 'W') return Math.floor((t - MONDAY_OFFSET_MS) / WEEK_MS) * WEEK_MS + MONDAY_OFFSET_MS;
    const ms = this.periodMs!;
    return Math.floor(t / ms) * ms;
  }

  #periodEnd(start: number): number {
    if (this.period === 'M') {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
    return start + this.periodMs!;
  }
}
