/**
 * Walk-forward analysis once the in-sample runs are done: each window's in-sample rows ranked, its best
 * combination run out of sample (in this thread: one run per window), the out-of-sample runs stitched
 * into one record, and the totals both ways.
 */
import { ConfigError, DAY_MS, MissingDataError, StrategyError, lowerBound, type CandleSeries, type RunRecord } from '../core/index.ts';
import { dayString } from '../config/index.ts';
import { metricValue, parseSpan, rankedRows, stitchRuns, type GridValue, type OptimizeMetric, type WalkWindow } from '../engine/optimize.ts';
import { computeMetrics, type Metrics } from '../report/metrics.ts';
import { rowMetrics, type OptimizeRow, type RowMetrics, type WalkForwardWindowResult } from '../report/optimize.ts';
import { errorFrom } from './pool.ts';
import { createRunner, serializeError, type Job, type RunContext } from './worker.ts';

export interface WalkForwardTotals {
  readonly inSample: { readonly meanMetric: number | null; readonly trades: number; readonly netPnl: number };
  readonly outOfSample: RowMetrics & { readonly meanMetric: number | null; readonly metric: number | null; readonly from: string; readonly to: string };
}

export interface WalkForwardResult {
  /** Every in-sample row, ranked within its window. */
  readonly rows: OptimizeRow[];
  readonly windows: WalkForwardWindowResult[];
  readonly oosRecord: RunRecord;
  readonly oos: Metrics;
  readonly totals: WalkForwardTotals;
}

const span = (from: number, toExclusive: number): { from: string; to: string } => ({ from: dayString(from), to: dayString(toExclusive - DAY_MS) });

/** Walk-forward spans in days (the step defaults to the out-of-sample span). */
export interface WalkForwardSpans {
  readonly is: number;
  readonly oos: number;
  readonly step?: number;
}

/**
 * The walk-forward spans from the flags (`--in-sample` 90d, `--out-of-sample` 30d, `--step`), or undefined
 * without `--walk-forward`; a span flag without it is refused. Checked before anything slow happens.
 */
export function walkForwardSpans(f: { readonly walkForward?: boolean; readonly inSample?: string; readonly outOfSample?: string; readonly step?: string }): WalkForwardSpans | undefined {
  if (!f.walkForward) {
    const stray = f.inSample !== undefined ? '--in-sample' : f.outOfSample !== undefined ? '--out-of-sample' : f.step !== undefined ? '--step' : undefined;
    if (stray) throw new ConfigError(`${stray}: only used with --walk-forward`);
    return undefined;
  }
  return {
    is: parseSpan(f.inSample ?? '90d', '--in-sample'),
    oos: parseSpan(f.outOfSample ?? '30d', '--out-of-sample'),
    step: f.step !== undefined ? parseSpan(f.step, '--step') : undefined,
  };
}

/** Refuses a window whose in-sample or out-of-sample span has no candles. */
export function checkWindows(series: CandleSeries, windows: readonly WalkWindow[]): void {
  const has = (a: number, b: number): boolean => lowerBound(series, b) > lowerBound(series, a);
  for (const w of windows) {
    if (!has(w.isFrom, w.isTo)) throw new MissingDataError(`--walk-forward: window ${w.n}'s in-sample span ${dayString(w.isFrom)} to ${dayString(w.isTo - DAY_MS)} has no candles`);
    if (!has(w.oosFrom, w.oosTo)) throw new MissingDataError(`--walk-forward: window ${w.n}'s out-of-sample span ${dayString(w.oosFrom)} to ${dayString(w.oosTo - DAY_MS)} has no candles`);
  }
}

/** The in-sample jobs: every combination in every window, `id` = window × combinations + combination. */
export function inSampleJobs(windows: readonly WalkWindow[], combos: readonly Record<string, GridValue>[]): Job[] {
  const jobs: Job[] = [];
  for (const [wi, w] of windows.entries()) for (const [ci, params] of combos.entries()) jobs.push({ id: wi * combos.length + ci, from: w.isFrom, to: w.isTo, params });
  return jobs;
}

/** From the in-sample metrics by job id (undefined: the run failed), the windows' choices and the out-of-sample result. */
export async function walkForwardResult(o: {
  readonly ctx: RunContext;
  readonly series: CandleSeries;
  readonly windows: readonly WalkWindow[];
  readonly indices: readonly number[];
  readonly combos: readonly Record<string, GridValue>[];
  readonly metric: OptimizeMetric;
  readonly metrics: readonly (RowMetrics | undefined)[];
}): Promise<WalkForwardResult> {
  const perWindow = o.combos.length;
  const runner = await createRunner(o.ctx, o.series);
  const rows: OptimizeRow[] = [];
  const results: WalkForwardWindowResult[] = [];
  const oosRecords: RunRecord[] = [];
  for (const [wi, w] of o.windows.entries()) {
    const ranked = rankedRows(o.indices, o.combos, (ci) => o.metrics[wi * perWindow + ci], o.metric, w.n);
    rows.push(...ranked);
    const best = ranked[0];
    if (!best) throw new StrategyError(`--walk-forward: every run of window ${w.n} failed (each named above)`);
    let oos;
    try {
      oos = runner.run({ id: -1, from: w.oosFrom, to: w.oosTo, params: best.params });
    } catch (err) {
      throw errorFrom(serializeError(err), best.params);
    }
    oosRecords.push(oos.record);
    const oosRow = rowMetrics(oos.metrics);
    results.push({
      window: w.n,
      inSample: span(w.isFrom, w.isTo),
      outOfSample: span(w.oosFrom, w.oosTo),
      index: best.index,
      params: best.params,
      isMetric: metricValue(best.metrics, o.metric),
      oosMetric: metricValue(oosRow, o.metric),
      isMetrics: best.metrics,
      oosMetrics: oosRow,
    });
  }
  const oosRecord = stitchRuns(oosRecords, { runId: 'walk-forward-oos', from: dayString(o.windows[0]!.oosFrom), params: {} });
  const oos = computeMetrics(oosRecord);
  const mean = (xs: readonly (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  const totals: WalkForwardTotals = {
    inSample: {
      meanMetric: mean(results.map((r) => r.isMetric)),
      trades: results.reduce((n, r) => n + r.isMetrics.trades, 0),
      netPnl: results.reduce((n, r) => n + r.isMetrics.netPnl, 0),
    },
    outOfSample: {
      meanMetric: mean(results.map((r) => r.oosMetric)),
      metric: metricValue(oos, o.metric),
      from: dayString(o.windows[0]!.oosFrom),
      to: dayString(o.windows[o.windows.length - 1]!.oosTo - DAY_MS),
      ...rowMetrics(oos),
    },
  };
  return { rows, windows: results, oosRecord, oos, totals };
}
