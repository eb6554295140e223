/**
 * The one shape every indicator in lib/indicators has. Streaming: one input at a time, in order, each a
 * closed candle (or its close); the value after an input depends only on the inputs so far (no look-ahead).
 *
 * - `update(input)` adds one input and returns `isReady` after it, so `if (!ind.update(x)) return;` skips the
 *   warm-up.
 * - `value` is the latest value, `undefined` until the first exists (never NaN, never a placeholder). It is
 *   read, not copied: an object value may be reused and updated in place by later updates (the indicators
 *   are on the hot path and allocate nothing per update), so copy what must be kept.
 * - `isReady` is `value !== undefined`. It never goes back to false, except on `reset()`.
 * - `warmup` is a plain number fixed at construction: how many inputs it takes to get the first value.
 *   After n inputs, `isReady === (n >= warmup)`: false after each of the first `warmup - 1` inputs, true
 *   from input number `warmup` on. An indicator whose first value depends on the data rather than on a
 *   count (FibonacciPivots: the first candle of a later period) documents it; its `warmup` is then the
 *   fewest inputs that can give a value, and isReady may come later, never sooner.
 * - `reset()` returns to the freshly constructed state: the same inputs then give the same numbers, bit for
 *   bit, as a new instance with the same options.
 *
 * The contract test (test/indicators/contract.test.ts) checks all of this on every indicator.
 *
 * @typeParam In  what one update takes: a close (`number`) or a closed `Candle`.
 * @typeParam Out the value: a `number`, or an object for indicators with several outputs.
 */
export interface Indicator<In, Out> {
  /** Adds one input (in order; each a closed candle's); returns `isReady` after it. */
  update(input: In): boolean;
  /** The latest value; undefined until it exists. An object value may be reused by later updates. */
  readonly value: Out | undefined;
  /** True once `value` exists. */
  readonly isReady: boolean;
  /** Inputs needed for the first value (the fewest, where that depends on the data). */
  readonly warmup: number;
  /** Back to the freshly constructed state. */
  reset(): void;
}
