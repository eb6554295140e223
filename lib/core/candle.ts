import { ConfigError } from './errors.ts';

/**
 * One closed candle. Prices are plain numbers (indicators work in float64); money is converted to
 * Decimal where it becomes a fill. `openTime` is the candle's open time in epoch ms, UTC.
 */
export interface Candle {
  readonly openTime: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  /** Quote volume; NaN when the source did not keep it. */
  readonly turnover: number;
}

/**
 * Candles in columns: what loaders return and what the backtest loop walks. Columns avoid one object
 * per candle (a year of 1-minute candles is 525,600 rows).
 */
export interface CandleSeries {
  readonly length: number;
  readonly openTime: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  /** NaN where empty. */
  readonly turnover: Float64Array;
  /** Where the candles came from (a file path), for messages. */
  readonly source: string;
}

export function candleAt(s: CandleSeries, i: number): Candle {
  return {
    openTime: s.openTime[i]!,
    open: s.open[i]!,
    high: s.high[i]!,
    low: s.low[i]!,
    close: s.close[i]!,
    volume: s.volume[i]!,
    turnover: s.turnover[i]!,
  };
}

/** Builds a series from candle objects (tests, small hand-made tables, REST pages). */
export function seriesFromCandles(candles: readonly Candle[], source = 'memory'): CandleSeries {
  const n = candles.length;
  const s = {
    length: n,
    openTime: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
    turnover: new Float64Array(n),
    source,
  };
  candles.forEach((c, i) => {
    s.openTime[i] = c.openTime;
    s.open[i] = c.open;
    s.high[i] = c.high;
    s.low[i] = c.low;
    s.close[i] = c.close;
    s.volume[i] = c.volume;
    s.turnover[i] = c.turnover ?? NaN;
  });
  return s;
}

/** A view of rows [from, to) of a series, sharing its memory. */
export function sliceSeries(s: CandleSeries, from: number, to: number): CandleSeries {
  return {
    length: Math.max(0, to - from),
    openTime: s.openTime.subarray(from, to),
    open: s.open.subarray(from, to),
    high: s.high.subarray(from, to),
    low: s.low.subarray(from, to),
    close: s.close.subarray(from, to),
    volume: s.volume.subarray(from, to),
    turnover: s.turnover.subarray(from, to),
    source: s.source,
  };
}

/** First index whose openTime >= t (binary search; series is ascending). */
export function lowerBound(s: CandleSeries, t: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s.openTime[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bybit's kline interval names. */
export const INTERVALS = ['1', '3', '5', '15', '30', '60', '120', '240', '360', '720', 'D', 'W', 'M'] as const;
export type Interval = (typeof INTERVALS)[number];

const MINUTE = 60_000;
export const DAY_MS = 86_400_000;

/**
 * Length of an interval in ms. 'M' (a calendar month) has no fixed length: it returns 31 days, an
 * upper bound, and callers that align or step months use `nextIntervalStart`.
 */
export function intervalMs(interval: Interval): number {
  switch (interval) {
    case 'D':
      return DAY_MS;
    case 'W':
      return 7 * DAY_MS;
    case 'M':
      return 31 * DAY_MS;
    default:
      return Number(interval) * MINUTE;
  }
}

/** Monday 1970-01-05 00:00 UTC: Bybit's weekly candles open on Mondays. */
const WEEK_OFFSET = 4 * DAY_MS;

/** Open time of the `interval` candle that holds the instant `t`, with Bybit's alignment. */
export function intervalStart(interval: Interval, t: number): number {
  if (interval === 'M') {
    const d = new Date(t);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  const step = intervalMs(interval);
  const off = interval === 'W' ? WEEK_OFFSET : 0;
  return Math.floor((t - off) / step) * step + off;
}

/** Start of the candle after the one that opens at `t` (calendar months for 'M'). */
export function nextIntervalStart(interval: Interval, t: number): number {
  if (interval !== 'M') return t + intervalMs(interval);
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Parses a user's interval: Bybit's names, plus common aliases like 15m, 1h, 4h, 1d. */
export function parseInterval(text: string, flag = '--interval'): Interval {
  const t = String(text).trim();
  if ((INTERVALS as readonly string[]).includes(t)) return t as Interval;
  const aliases: Record<string, Interval> = {
    '1m': '1', '3m': '3', '5m': '5', '15m': '15', '30m': '30', '1h': '60', '2h': '120', '4h': '240',
    '6h': '360', '12h': '720', '1d': 'D', '1w': 'W', '1M': 'M', d: 'D', w: 'W',
  };
  const hit = aliases[t] ?? aliases[t.toLowerCase()];
  if (hit) return hit;
  throw new ConfigError(`${flag}: unknown interval "${text}"; use one of ${INTERVALS.join(', ')}`);
}

/** "15m", "1h", "1d": a short label for file names and messages. */
export function intervalLabel(interval: Interval): string {
  switch (interval) {
    case 'D':
      return '1d';
    case 'W':
      return '1w';
    case 'M':
      return '1M';
    default: {
      const m = Number(interval);
      return m % 60 === 0 ? `${m / 60}h` : `${m}m`;
    }
  }
}
