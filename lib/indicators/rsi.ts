import { DataError } from '../core/index.ts';
import { positiveInt } from './args.ts';
import type { Indicator } from './indicator.ts';

/**
 * RSI from Wilder's average gain and loss, Pine's `ta.rsi` expression: 100 when the average loss is 0
 * (including 0/0, a flat series), else 100 - 100 / (1 + gain / loss). Shared by {@link Rsi} and StochRsi so
 * both give the same bits.
 */
export function rsiFromAverages(avgGain: number, avgLoss: number): number {
  return avgLoss === 0 ? 100 : 100 - 100 / (1 + avgGain / avgLoss);
}

/**
 * One step of Wilder's moving average (Pine's `ta.rma`, an EMA with alpha = 1/period), in Pine's operation
 * order `alpha * x + (1 - alpha) * prev`: the reference file matches this form bit for bit, while the
 * algebraically equal `(prev * (period - 1) + x) / period` differs in the last bits.
 */
export function rmaStep(prev: number, x: number, alpha: number): number {
  return alpha * x + (1 - alpha) * prev;
}

/**
 * Relative Strength Index on a 0-100 scale, Wilder's smoothing as TradingView's `ta.rsi` computes it.
 *
 * Reading it: above 70 the recent moves were mostly up, below 30 mostly down; 50 means gains and losses
 * balanced. The first value needs `period` price moves, i.e. `period + 1` closes (index 14 for period 14):
 * `warmup` is `period + 1`, and `value` is undefined before.
 *
 * - The average gain and loss are seeded with the plain mean of the first `period` moves, then smoothed with
 *   Wilder's moving average ({@link rmaStep}).
 * - RSI = 100 - 100 / (1 + avgGain / avgLoss); 100 when the average loss is 0. That includes the 0/0 case
 *   (a flat series: no gain and no loss), which is also 100, as in Pine's `ta.rsi` (`down == 0 ? 100 : ...`)
 *   and in the reference implementation's rule "RSI = 100 when the average loss is 0" (the reference file
 *   itself never reaches either case: its RSI stays strictly between 0 and 100).
 *
 * @see https://www.tradingview.com/pine-script-reference/v5/#fun_ta.rsi
 * @see J. Welles Wilder, New Concepts in Technical Trading Systems (1978)
 */
export class Rsi implements Indicator<number, number> {
  readonly period: number;
  /** Closes needed before the first value: `period + 1`. */
  readonly warmup: number;
  readonly #alpha: number;
  #prevClose = NaN;
  /** Price moves seen so far (closes - 1), capped once the seed is done. */
  #moves = -1;
  #avgGain = 0;
  #avgLoss = 0;
  /** The latest RSI; NaN until it exists (kept a double: `value` turns that into undefined). */
  #value = NaN;

  constructor({ period = 14 }: { period?: number } = {}) {
    this.period = positiveInt('Rsi', 'period', period);
    this.warmup = period + 1;
    this.#alpha = 1 / period;
  }

  /** The latest RSI (0-100), undefined until it exists. */
  get value(): number | undefined {
    return this.#moves >= this.period ? this.#value : undefined;
  }

  /** True once the RSI exists (after `warmup` closes). */
  get isReady(): boolean {
    return this.#moves >= this.period;
  }

  /** Adds one close; true once the RSI exists (isReady). Throws a DataError on a non-finite close, which would poison every later value. */
  update(close: number): boolean {
    if (!Number.isFinite(close)) throw new DataError(`RSI input must be a finite number, got ${String(close)}`);
    const change = close - this.#prevClose;
    this.#prevClose = close;
    const n = this.period;
    const moves = this.#moves;
    if (moves < n) {
      this.#moves = moves + 1;
      if (moves < 0) return false; // first close: no move yet
      if (change > 0) this.#avgGain += change;
      else this.#avgLoss -= change;
      if (moves + 1 < n) return false;
      this.#avgGain /= n;
      this.#avgLoss /= n;
    } else {
      // Branch-free split of the move (exact: doubling and halving a double lose nothing); a data-dependent
      // branch here mispredicts half the time and costs more than the arithmetic.
      const abs = Math.abs(change);
      const gain = (change + abs) * 0.5;
      const loss = (abs - change) * 0.5;
      this.#avgGain = rmaStep(this.#avgGain, gain, this.#alpha);
      this.#avgLoss = rmaStep(this.#avgLoss, loss, this.#alpha);
    }
    this.#value = rsiFromAverages(this.#avgGain, this.#avgLoss);
    return true;
  }

  reset(): void {
    this.#prevClose = NaN;
    this.#moves = -1;
    this.#avgGain = 0;
    this.#avgLoss = 0;
    this.#value = NaN;
  }
}
