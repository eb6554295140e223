/**
 * `pyr data check`'s engine: everything readCandleFile validates (numbers, OHLC consistency, strictly
 * ascending times: it throws at the first broken row with its line and field), plus the checks that
 * need to know the interval: every open time on the interval's grid (Bybit's alignment, see
 * resample.ts), the file's step being that interval, and the list of gaps. Warnings do not fail a
 * check: candles with zero volume, and "repeated" candles (open, high, low, close and volume all equal
 * to the previous candle's, the usual trace of forward-filled data).
 */
import * as fs from 'node:fs';
import { INTERVALS, intervalMs, nextIntervalStart, type CandleSeries, type Interval } from '../core/candle.ts';
import { DataError } from '../core/errors.ts';
import { readCandleFile } from './csv.ts';
import { intervalFromFileName, isAlignedTo } from './resample.ts';
import type { CandleGap, CheckReport } from '../core/store.ts';

export type { CandleGap, CheckReport } from '../core/store.ts';

const MAX_LISTED = 20;

function utc(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

function describeMs(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY}-day`;
  return `${ms / 60_000}-minute`;
}
const DAY = 86_400_000;

/** The Interval whose fixed length is `ms`, if any ('M' when the step is 28..31 days). */
export function intervalOfStep(ms: number): Interval | undefined {
  const hit = INTERVALS.find((i) => i !== 'M' && intervalMs(i) === ms);
  if (hit) return hit;
  if (ms >= 28 * DAY && ms <= 31 * DAY && ms % DAY === 0) return 'M';
  return undefined;
}

/** Gaps of an ascending series on the `interval` grid (open times assumed aligned). */
export function findGaps(series: CandleSeries, interval: Interval): CandleGap[] {
  const gaps: CandleGap[] = [];
  const T = series.openTime;
  for (let i = 1; i < series.length; i++) {
    const expect = nextIntervalStart(interval, T[i - 1]!);
    if (T[i]! > expect) {
      let candles = 0;
      let last = expect;
      if (interval === 'M') {
        for (let t = expect; t < T[i]!; t = nextIntervalStart('M', t)) {
          candles++;
          last = t;
        }
      } else {
        const step = intervalMs(interval);
        candles = Math.round((T[i]! - expect) / step);
        last = T[i]! - step;
      }
      gaps.push({ from: expect, to: last, candles });
    }
  }
  return gaps;
}

/**
 * Checks a candle file. Hard errors of the rows themselves are thrown by readCandleFile (one
 * DataError with the line and field); the interval checks are collected in `errors` (empty = OK).
 * The interval is `opts.interval`, else the store file name's (`15.csv`), else the file's most common step.
 */
export async function checkCandleFile(file: string, opts: { interval?: Interval } = {}): Promise<CheckReport> {
  const { series, report } = await readCandleFile(file, { cache: false });
  let interval: Interval | undefined = opts.interval;
  let intervalFrom: CheckReport['intervalFrom'] = 'flag';
  if (!interval) {
    interval = intervalFromFileName(file);
    intervalFrom = 'file name';
  }
  if (!interval) {
    interval = intervalOfStep(report.intervalMs);
    intervalFrom = 'inferred';
    if (!interval) {
      throw new DataError(
        report.rows < 2
          ? 'cannot tell the interval of a file with one candle; pass --interval'
          : `the most common step between candles (${describeMs(report.intervalMs)}) is not a Bybit interval; pass --interval`,
        { file },
      );
    }
  }
  const errors: string[] = [];
  const warnings: string[] = [];
  const T = series.openTime;
  const n = series.length;

  const misaligned = { count: 0, first: [] as number[] };
  for (let i = 0; i < n; i++) {
    if (!isAlignedTo(interval, T[i]!)) {
      misaligned.count++;
      if (misaligned.first.length < MAX_LISTED) misaligned.first.push(T[i]!);
    }
  }
  if (misaligned.count > 0) {
    errors.push(
      `${misaligned.count} candle${misaligned.count === 1 ? '' : 's'} not aligned to the ${interval} grid (Bybit opens ${interval} candles at ${alignmentRule(interval)}); first at ${utc(misaligned.first[0]!)} UTC (${misaligned.first[0]})`,
    );
  }
  // (with misaligned candles the step is noise: that error says enough)
  if (misaligned.count === 0 && n >= 2 && interval !== 'M' && report.intervalMs !== intervalMs(interval)) {
    errors.push(`the file's candles are ${describeMs(report.intervalMs)} apart, not ${interval} (${describeMs(intervalMs(interval))})`);
  }

  const gaps = misaligned.count === 0 ? findGaps(series, interval) : [];
  const missing = gaps.reduce((s, g) => s + g.candles, 0);
  const largestGap = gaps.reduce<CandleGap | undefined>((a, g) => (a === undefined || g.candles > a.candles ? g : a), undefined);

  let zeroVolume = 0;
  let repeated = 0;
  for (let i = 0; i < n; i++) {
    if (series.volume[i] === 0) zeroVolume++;
    if (
      i > 0 &&
      series.open[i] === series.open[i - 1] &&
      series.high[i] === series.high[i - 1] &&
      series.low[i] === series.low[i - 1] &&
      series.close[i] === series.close[i - 1] &&
      series.volume[i] === series.volume[i - 1]
    ) {
      repeated++;
    }
  }
  if (zeroVolume > 0) warnings.push(`${zeroVolume} candle${zeroVolume === 1 ? '' : 's'} with zero volume`);
  if (repeated > 0) warnings.push(`${repeated} candle${repeated === 1 ? '' : 's'} identical to the previous one (open, high, low, close, volume): forward-filled data?`);

  return {
    file,
    bytes: fs.statSync(file).size,
    rows: n,
    first: T[0]!,
    last: T[n - 1]!,
    interval,
    intervalFrom,
    gaps,
    missing,
    largestGap,
    misaligned,
    zeroVolume,
    repeated,
    errors,
    warnings,
  };
}

function alignmentRule(interval: Interval): string {
  switch (interval) {
    case 'D':
      return '00:00 UTC';
    case 'W':
      return 'Monday 00:00 UTC';
    case 'M':
      return '00:00 UTC on the 1st';
    default:
      return `multiples of ${interval} minutes since the epoch`;
  }
}
