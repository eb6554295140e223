/**
 * Builds coarser candles from finer ones (1-minute → 15, 60, D, W, M…), aligned the way Bybit aligns
 * its klines, and the store helper the backtest calls when the wanted interval is missing.
 *
 * Alignment (Bybit's): minute and hour candles open at whole multiples of the interval since the epoch
 * (a 4-hour candle opens at 00:00, 04:00, … UTC), daily candles at 00:00 UTC, weekly candles on Monday
 * 00:00 UTC (1970-01-05 was a Monday), monthly candles on the 1st at 00:00 UTC.
 *
 * Aggregation: open = first open, high = max, low = min, close = last close, volume = sum, turnover =
 * sum (NaN when any source turnover is NaN).
 *
 * Sums are decimal-exact: exchange volumes are decimals (0.001 BTC steps), and adding their float64
 * values in order rounds after each addition: on the real Bybit files, the in-order float sum of three
 * 5-minute volumes differs from Bybit's own 15-minute volume in about 28% of the candles (by one ulp).
 * So each value is read back as the shortest decimal with at most 12 places that parses to it, the
 * decimals are added as integers (exact), and the total is divided once by the power of ten: the result
 * is exactly `Number(<the exact decimal sum>)`, which is what a file holding the exchange's coarser
 * candle gives. Values that are not such decimals fall back to the in-order float sum.
 *
 * Incomplete buckets: a coarse candle is only emitted when every source candle inside it is present
 * (a 15-minute candle from 1-minute candles needs all 15). A bucket with a hole, whether a gap in the
 * download, a real exchange outage, or the last bucket that has not finished yet, would be a candle the
 * exchange never showed (a high or low missed, a wrong open or close), so by default it is dropped and
 * counted in `incomplete`. `{ allowPartial: true }` keeps such buckets (built from the candles that are
 * there) and lists their open times in `partial`.
 */
import * as path from 'node:path';
import { DAY_MS, INTERVALS, intervalMs, intervalStart, nextIntervalStart, type CandleSeries, type Interval } from '../core/candle.ts';
import { ConfigError, DataError } from '../core/errors.ts';
import { readCandleFile } from './csv.ts';
import { candlePath, findCandleFile, writeCandleFileAtomic } from './store.ts';

export { intervalStart };

/** True when `t` is the open time of an `interval` candle. */
export function isAlignedTo(interval: Interval, t: number): boolean {
  return intervalStart(interval, t) === t;
}

export interface ResampleOptions {
  /** Keep buckets with missing source candles instead of dropping them (default false). */
  allowPartial?: boolean;
}

export interface ResampleResult {
  series: CandleSeries;
  /** Buckets with missing source candles: dropped (default) or kept and listed in `partial`. */
  incomplete: number;
  /** With allowPartial: the open times of the kept incomplete buckets, ascending. Empty otherwise. */
  partial: number[];
}

const POW10: number[] = Array.from({ length: 13 }, (_, i) => Number(`1e${i}`));

/** Fewest decimal places (0..12) of a decimal that parses to `v`, or -1 when there is none. */
function decimalsOf(v: number): number {
  for (let d = 0; d < POW10.length; d++) {
    const r = Math.round(v * POW10[d]!);
    if (Math.abs(r) > Number.MAX_SAFE_INTEGER) return -1;
    if (r / POW10[d]! === v) return d;
  }
  return -1;
}

/**
 * Sum of `a[from..to)` as the float closest to the exact decimal sum of the values' shortest decimal
 * forms (see the file comment). NaN if any value is NaN.
 */
export function decimalSum(a: ArrayLike<number>, from: number, to: number): number {
  let d = 0;
  for (let k = from; k < to; k++) {
    const v = a[k]!;
    if (Number.isNaN(v)) return NaN;
    const dk = decimalsOf(v);
    if (dk < 0) return floatSum(a, from, to);
    if (dk > d) d = dk;
  }
  const p = POW10[d]!;
  let s = 0;
  for (let k = from; k < to; k++) {
    s += Math.round(a[k]! * p);
    if (Math.abs(s) > Number.MAX_SAFE_INTEGER) return floatSum(a, from, to);
  }
  return s / p;
}

function floatSum(a: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let k = from; k < to; k++) s += a[k]!;
  return s;
}

/** A source interval in ms, from an Interval name or a number of ms. */
function sourceStepMs(from: Interval | number): number {
  if (typeof from === 'number') {
    if (!Number.isInteger(from) || from <= 0 || from % 60_000 !== 0) {
      throw new ConfigError(`source interval must be a positive whole number of minutes in ms, got ${from}`);
    }
    return from;
  }
  if (from === 'M') return NaN; // only M → M
  return intervalMs(from);
}

/** Why `to` cannot be built from candles of `fromMs`, or undefined when it can. */
function incompatibility(fromMs: number, fromName: string, to: Interval): string | undefined {
  const toMs = to === 'M' ? NaN : intervalMs(to);
  if (Number.isNaN(fromMs)) return to === 'M' ? undefined : `monthly candles cannot be split into ${to}`;
  if (to === 'M') return DAY_MS % fromMs === 0 ? undefined : `a month is not a whole number of ${fromName} candles`;
  if (toMs < fromMs) return `${to} is finer than ${fromName}`;
  if (toMs % fromMs !== 0) return `${to} is not a whole number of ${fromName} candles`;
  // a week is 7 whole days, but a week of W-aligned candles needs the source grid to divide a day too
  if (to === 'W' && DAY_MS % fromMs !== 0 && fromMs !== toMs) return `a week is not a whole number of ${fromName} candles`;
  return undefined;
}

function stepName(from: Interval | number): string {
  return typeof from === 'number' ? `${from / 60_000}-minute` : from;
}

/**
 * Resamples `series` (candles of the interval `from`: an Interval name or its length in ms) into `to`
 * candles. The source must be strictly ascending with every open time on the `from` grid; `to` must be
 * a whole multiple of `from`. Throws ConfigError for an impossible pair and DataError for a source
 * candle off its grid.
 */
export function resampleSeries(series: CandleSeries, from: Interval | number, to: Interval, opts: ResampleOptions = {}): ResampleResult {
  const fromMs = sourceStepMs(from);
  const why = incompatibility(fromMs, stepName(from), to);
  if (why !== undefined) throw new ConfigError(`cannot resample ${stepName(from)} candles into ${to}: ${why}`);
  const fromInterval: Interval | undefined = typeof from === 'number' ? INTERVALS.find((i) => i !== 'M' && intervalMs(i) === from) : from;
  const n = series.length;
  const T = series.openTime;
  // source grid check
  for (let i = 0; i < n; i++) {
    const t = T[i]!;
    const aligned = fromInterval !== undefined ? isAlignedTo(fromInterval, t) : t % fromMs === 0;
    if (!aligned) {
      throw new DataError(`candle at ${new Date(t).toISOString()} (${t}) is not on the ${stepName(from)} grid`, { file: series.source, field: 'timestamp' });
    }
    if (i > 0 && t <= T[i - 1]!) throw new DataError(`open times must be strictly ascending (at ${t})`, { file: series.source, field: 'timestamp' });
  }

  // never more buckets than source candles, nor than the span holds
  const span = n === 0 ? 0 : to === 'M' ? Math.ceil((T[n - 1]! - T[0]!) / (28 * DAY_MS)) + 1 : Math.floor((T[n - 1]! - T[0]!) / intervalMs(to)) + 2;
  const cap = Math.min(n, span);
  const out = {
    openTime: new Float64Array(cap),
    open: new Float64Array(cap),
    high: new Float64Array(cap),
    low: new Float64Array(cap),
    close: new Float64Array(cap),
    volume: new Float64Array(cap),
    turnover: new Float64Array(cap),
  };
  let m = 0;
  let incomplete = 0;
  const partial: number[] = [];
  let i = 0;
  while (i < n) {
    const start = intervalStart(to, T[i]!);
    const end = nextIntervalStart(to, start);
    let j = i + 1;
    while (j < n && T[j]! < end) j++;
    const expected = Number.isNaN(fromMs) ? 1 : (end - start) / fromMs;
    const complete = j - i === expected;
    if (!complete) incomplete++;
    if (complete || opts.allowPartial) {
      if (!complete) partial.push(start);
      let hi = -Infinity;
      let lo = Infinity;
      for (let k = i; k < j; k++) {
        if (series.high[k]! > hi) hi = series.high[k]!;
        if (series.low[k]! < lo) lo = series.low[k]!;
      }
      out.openTime[m] = start;
      out.open[m] = series.open[i]!;
      out.high[m] = hi;
      out.low[m] = lo;
      out.close[m] = series.close[j - 1]!;
      out.volume[m] = decimalSum(series.volume, i, j);
      out.turnover[m] = decimalSum(series.turnover, i, j);
      m++;
    }
    i = j;
  }
  const cut = (a: Float64Array) => a.slice(0, m);
  return {
    series: {
      length: m,
      openTime: cut(out.openTime),
      open: cut(out.open),
      high: cut(out.high),
      low: cut(out.low),
      close: cut(out.close),
      volume: cut(out.volume),
      turnover: cut(out.turnover),
      source: `${series.source} (resampled to ${to})`,
    },
    incomplete,
    partial,
  };
}

/** True when `to` candles can be built from `from` candles (a whole number of them, on the same grid). */
export function canResample(from: Interval, to: Interval): boolean {
  return from !== to && incompatibility(sourceStepMs(from), from, to) === undefined;
}

export interface StoreResampleResult {
  /** The file written. */
  file: string;
  /** The source file read. */
  source: string;
  sourceInterval: Interval;
  rows: number;
  /** Incomplete buckets dropped. */
  dropped: number;
}

/**
 * When the store has no `interval` file for the symbol but has a finer one that divides it, builds the
 * `interval` file from it (the coarsest such source, e.g. 5 before 1 for 15) and saves it atomically at
 * the store path. Incomplete buckets are dropped. Undefined when nothing was built: the file already
 * exists, or no finer file can make it.
 */
export async function resampleFromStore(
  dataDir: string,
  category: string,
  symbol: string,
  interval: Interval,
): Promise<StoreResampleResult | undefined> {
  if (findCandleFile(dataDir, category, symbol, interval)) return undefined;
  const candidates = [...INTERVALS].reverse().filter((src) => canResample(src, interval));
  for (const src of candidates) {
    const file = findCandleFile(dataDir, category, symbol, src);
    if (!file) continue;
    const { series, report } = await readCandleFile(file);
    if (src !== 'M' && report.rows >= 2 && report.intervalMs !== intervalMs(src)) {
      throw new DataError(`holds candles ${report.intervalMs / 60_000} minutes apart, not ${intervalMs(src) / 60_000} as its name says; cannot build ${interval} candles from it`, { file });
    }
    const r = resampleSeries(series, src, interval);
    if (r.series.length === 0) {
      throw new DataError(`cannot build ${interval} candles: no complete ${interval} candle in the ${src} file (${series.length} rows)`, { file });
    }
    const target = candlePath(dataDir, category, symbol, interval);
    writeCandleFileAtomic(target, r.series);
    return { file: target, source: file, sourceInterval: src, rows: r.series.length, dropped: r.incomplete };
  }
  return undefined;
}

/** The interval of a store file from its name (`15.csv`, `D.csv.gz`), or undefined. */
export function intervalFromFileName(file: string): Interval | undefined {
  const m = /^(.+?)\.csv(?:\.gz)?$/.exec(path.basename(file));
  return m && (INTERVALS as readonly string[]).includes(m[1]!) ? (m[1] as Interval) : undefined;
}

/**
 * Builds the `to` candles of the `from` candle file `source` and writes them to `target` atomically
 * (`pyr data resample`). Incomplete buckets are dropped unless `allowPartial`; none buildable is a DataError.
 */
export async function resampleFile(source: string, target: string, from: Interval, to: Interval, allowPartial: boolean): Promise<{ r: ReturnType<typeof resampleSeries>; sourceRows: number }> {
  const { series, report } = await readCandleFile(source);
  if (from !== 'M' && report.rows >= 2 && report.intervalMs !== intervalMs(from)) {
    throw new ConfigError(`--from-interval ${from}: ${source} holds candles ${report.intervalMs / 60_000} minutes apart, not ${intervalMs(from) / 60_000}`);
  }
  const r = resampleSeries(series, from, to, { allowPartial: allowPartial });
  if (r.series.length === 0) {
    throw new DataError(`no complete ${to} candle can be built from the ${report.rows} ${from} candles (${r.incomplete} incomplete); --allow-partial keeps incomplete ones`, { file: source });
  }
  writeCandleFileAtomic(target, r.series);
  return { r, sourceRows: series.length };
}
