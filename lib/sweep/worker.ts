/**
 * One optimizer run, and the worker thread that does many of them.
 *
 * `createRunner` turns a run context (strategy file, instrument, base parameter layers, candles, rules
 * snapshot, funding) into a function from one combination to its backtest: the same wiring as
 * `pyr backtest` (resolveAllParams, resolveRules, SimBroker, runBacktest, computeMetrics), so a row of
 * `pyr optimize` is what `pyr backtest --param ...` gives for those parameters.
 *
 * As a worker (started by lib/sweep/pool.ts with `workerData.kind === 'pyr-optimize'`) it maps the
 * candles the main thread put in a SharedArrayBuffer (no copy), loads the strategy once, then answers
 * `run` messages with the key metrics of each job.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DAY_MS, PyrError, type Candle, type CandleSeries, type Interval, type RunRecord } from '../core/index.ts';
import { SimDecimalCache, simBrokerFor } from '../brokers/sim/index.ts';
import { dayString, resolveRunSpec } from '../config/index.ts';
import { hasCandles, runSpec, type RunData } from '../engine/index.ts';
import type { GridValue } from '../engine/optimize.ts';
import { loadStrategy, type StrategyDefinition } from '../strategy/index.ts';
import { createIndicatorCache, type IndicatorCache } from '../indicators/index.ts';
import { computeMetrics, computeRowMetrics, type Metrics } from '../report/metrics.ts';
import type { RowMetrics } from '../report/optimize.ts';
import { isFailure, runChunk, serializeError, type SerializedError } from './chunk.ts';

export { ROW_METRICS, rowMetrics, type RowMetrics } from '../report/optimize.ts';
export { serializeError, type SerializedError } from './chunk.ts';

/** Everything a run needs besides the candles and the combination; structured-clonable. */
export interface RunContext {
  readonly strategySpec: string;
  readonly cwd: string;
  readonly symbol: string;
  readonly category: string;
  readonly interval: Interval;
  /** Parameter layers before the grid's: the config file's, then `--param`'s. */
  readonly baseLayers: readonly { readonly where: string; readonly values: Readonly<Record<string, unknown>> }[];
  /** The saved instruments snapshot for the symbol, when there is one. */
  readonly snapshot?: { readonly file: string; readonly rules?: { tickSize: string; qtyStep: string; minQty: string; minNotional: string; maxQty?: string } };
  readonly funding?: { readonly times: Float64Array; readonly rates: string[] };
  /** The funding file charged, or why none is. */
  readonly fundingFile?: string;
  readonly fundingNone?: string;
  readonly candleFile: string;
}

export interface Job {
  /** Position in the plan (results are stored by it). */
  readonly id: number;
  /** First candle open time traded (inclusive) and the end (exclusive), epoch ms. */
  readonly from: number;
  readonly to: number;
  readonly params: Readonly<Record<string, GridValue>>;
}

export interface Runner {
  readonly definition: StrategyDefinition;
  readonly strategyFile: string;
  /** The worker's indicator cache (what it holds, how often it replayed). */
  readonly indicators: IndicatorCache;
  /** Runs one combination over [from, to) of the series. */
  run(job: Job): { record: RunRecord; metrics: Metrics };
  /** Runs one combination and computes only its row's metrics (the sweep's hot path; the same values). */
  runRow(job: Job): RowMetrics;
}

/** Loads the strategy and returns the run function. */
export async function createRunner(ctx: RunContext, series: CandleSeries): Promise<Runner> {
  const { definition: loaded, file: strategyFile } = await loadStrategy(ctx.strategySpec, ctx.cwd);
  // Indicators computed once per worker: every run's strategy gets the same caching factory in its env
  // (lib/indicators/cache.ts), which replays an indicator's recorded outputs bit for bit.
  const indicators = createIndicatorCache();
  // The simulator's prices and fees of whole ticks, kept across the worker's runs (the same decimals).
  const decimals = new SimDecimalCache();
  // The candles as objects made once for all the worker's runs (frozen; made as first fed).
  const candles: Candle[] = new Array(series.length);
  const definition: StrategyDefinition = { ...loaded, create: (p, env) => loaded.create(p, { ...env, indicators }) };
  const instrument = { exchange: 'bybit', category: ctx.category, symbol: ctx.symbol } as const;
  const data: RunData = { series, source: ctx.candleFile, funding: ctx.fundingFile ? { file: ctx.fundingFile } : { none: ctx.fundingNone ?? 'no funding history' } };
  const runRecord = (job: Job, lazyTrades = false): RunRecord => {
    const spec = resolveRunSpec({ definition, strategyFile, instrument, interval: ctx.interval, layers: [...ctx.baseLayers, { where: '--grid', values: job.params }], snapshot: ctx.snapshot });
    if (!hasCandles(series, job.from, job.to)) throw new PyrError(`no candles from ${dayString(job.from)} to ${dayString(job.to - DAY_MS)} in ${ctx.candleFile}`);
    return runSpec(spec, data, simBrokerFor(spec, ctx.funding, { lazyTrades, decimals }), { runId: `optimize-${job.id}`, from: job.from, to: job.to, candles }).record;
  };
  return {
    definition,
    strategyFile,
    indicators,
    run(job: Job) {
      const record = runRecord(job);
      return { record, metrics: computeMetrics(record) };
    },
    runRow(job: Job) {
      // Trades whose decimals are made only if read: the row adds up their exact integers.
      return computeRowMetrics(runRecord(job, true));
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Candles in shared memory

const COLUMNS = ['openTime', 'open', 'high', 'low', 'close', 'volume', 'turnover'] as const;

export interface SharedSeries {
  readonly buffer: SharedArrayBuffer;
  readonly length: number;
  readonly source: string;
}

/** Copies the series' columns once into one SharedArrayBuffer that every worker maps. */
export function shareSeries(s: CandleSeries): SharedSeries {
  const n = s.length;
  const buffer = new SharedArrayBuffer(COLUMNS.length * n * 8);
  COLUMNS.forEach((c, k) => new Float64Array(buffer, k * n * 8, n).set(s[c].subarray(0, n)));
  return { buffer, length: n, source: s.source };
}

/** The series over a SharedArrayBuffer made by shareSeries (views, no copy). */
export function seriesFromShared(shared: SharedSeries): CandleSeries {
  const n = shared.length;
  const col = (k: number): Float64Array => new Float64Array(shared.buffer, k * n * 8, n);
  return { length: n, openTime: col(0), open: col(1), high: col(2), low: col(3), close: col(4), volume: col(5), turnover: col(6), source: shared.source };
}

// ---------------------------------------------------------------------------------------------------
// Worker protocol

export interface WorkerInit {
  readonly kind: 'pyr-optimize';
  readonly ctx: RunContext;
  readonly shared: SharedSeries;
}

export type ToWorker = { readonly type: 'run'; readonly jobs: readonly Job[] } | { readonly type: 'exit' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'results'; readonly results: readonly { readonly id: number; readonly metrics: RowMetrics }[] }
  | { readonly type: 'error'; readonly error: SerializedError; readonly params?: Readonly<Record<string, GridValue>> };

async function workerMain(init: WorkerInit): Promise<void> {
  const port = parentPort!;
  const post = (m: FromWorker): void => port.postMessage(m);
  let runner: Runner;
  try {
    runner = await createRunner(init.ctx, seriesFromShared(init.shared));
  } catch (err) {
    post({ type: 'error', error: serializeError(err) });
    return;
  }
  port.on('message', (m: ToWorker) => {
    if (m.type === 'exit') {
      port.close();
      return;
    }
    // The chunk function `pyr worker` runs too (lib/sweep/chunk.ts); a local sweep stops at the first failure.
    const results: { id: number; metrics: RowMetrics }[] = [];
    for (const r of runChunk(runner, m.jobs, { stopOnError: true })) {
      if (isFailure(r)) {
        post({ type: 'error', error: r.error, params: r.params });
        return;
      }
      results.push(r);
    }
    post({ type: 'results', results });
  });
  post({ type: 'ready' });
}

const init = workerData as WorkerInit | undefined;
if (!isMainThread && parentPort && init?.kind === 'pyr-optimize') void workerMain(init);
