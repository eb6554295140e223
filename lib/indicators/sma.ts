import { positiveInt } from './args.ts';
import type { Indicator } from './indicator.ts';

/**
 * Simple moving average: the plain mean of the last `period` inputs, undefined until `period` inputs have
 * arrived (`warmup` is `period`). Inputs are not checked: a NaN in gives NaN out while it is in the window.
 *
 * Each value is the window's sum, added oldest to newest, divided by `period`, recomputed on every update
 * instead of carried as a running sum: a running sum drifts by float rounding (a window of 100, 100, 100 could
 * average 99.99999999999999), and equal windows must give bit-equal averages so that two equal lines never
 * fake a crossover. That makes an update O(period), which is what StochRSI's 3-wide smoothing wants.
 *
 * @see https://www.tradingview.com/pine-script-reference/v5/#fun_ta.sma
 */
export class Sma implements Indicator<number, number> {
  readonly period: number;
  /** Inputs needed before the first value: `period`. */
  readonly warmup: number;
  /**
   * Each input is written twice, at `i` and `i + period`, so the window is always the contiguous slice
   * [next, next + period), oldest first, and the sum is one loop with no wrap-around.
   */
  readonly #buf: Float64Array;
  #next = 0;
  #count = 0;
  /** The latest average; NaN until it exists (kept a double: `value` turns that into undefined). */
  #value = NaN;

  constructor({ period }: { period: number }) {
    this.period = positiveInt('Sma', 'period', period);
    this.warmup = period;
    this.#buf = new Float64Array(2 * period);
  }

  /** The latest average, undefined until it exists. */
  get value(): number | undefined {
    return this.#count === this.period ? this.#value : undefined;
  }

  /** True once the average exists (after `warmup` inputs). */
  get isReady(): boolean {
    return this.#count === this.period;
  }

  /** Adds one input; true once the average exists (isReady). */
  update(x: number): boolean {
    const n = this.period;
    const buf = this.#buf;
    let p = this.#next;
    buf[p] = x;
    buf[p + n] = x;
    p = p + 1 === n ? 0 : p + 1;
    this.#next = p;
    if (this.#count < n) {
      this.#count++;
      if (this.#count < n) return false;
    }
    let s = 0;
    for (let i = p, end = p + n; i < end; i++) s += buf[i]!;
    this.#value = s / n;
    return true;
  }

  reset(): void {
    this.#next = 0;
    this.#count = 0;
    this.#value = NaN;
  }
}
