/**
 * `pyr optimize`: parameter sweeps (full grid or seeded random sample) and walk-forward analysis.
 *
 * The candles are read once, copied into one SharedArrayBuffer and mapped by every worker thread; each
 * worker loads the strategy once and runs the simulator + metrics for the combinations it is handed
 * (the same wiring as `pyr backtest`, see lib/sweep/worker.ts). Results are stored by the combination's
 * position in the plan, so the rows, and their order after ranking (ties by combination index), are the
 * same whatever the number of workers.
 */
import os from 'node:os';
import { Command } from 'commander';
import { ConfigError, DAY_MS, StrategyError, intervalLabel, intervalMs, type CandleSeries, type RunRecord } from '../core/index.ts';
import { OPTIMIZE_METRICS, parseMetric, planWalkForward, rankedRows, type GridAxis, type GridValue, type OptimizeMetric } from '../engine/optimize.ts';
import type { Metrics } from '../report/metrics.ts';
import { createProgress, useColor } from '../report/console.ts';
import { relPath } from '../report/format.ts';
import { sweepOutDir, sweepSettings, writeSweepFiles, writeWalkForwardFiles } from '../report/sweep-files.ts';
import { loadStrategy } from '../strategy/index.ts';
import type { CliIo } from './backtest.ts';
import { dayString, paramLayersOf, resolveRunSpec, wholeNumberFlag, type RunFlags } from '../config/index.ts';
import { addRunOptions, runTargetOf } from './config.ts';
import { openRunData, readRulesSnapshot } from '../data/index.ts';
import { runRange } from '../engine/index.ts';
import type { Job, RunContext } from '../sweep/worker.ts';
import { backtestArgs, sweepLines, sweepWhat, walkForwardLines, walkForwardWhat, type OptimizeRow, type RowMetrics, type SweepHead, type WalkForwardWindowResult } from '../report/optimize.ts';
import { checkQueueFlags, runJobs, whereRun, type RunFailure } from '../sweep/run.ts';
import { planSweep } from '../sweep/plan.ts';
import { checkWindows, inSampleJobs, walkForwardResult, walkForwardSpans, type WalkForwardSpans } from '../sweep/walk-forward.ts';

export { jsonWithRows, rowsCsv, type OptimizeRow, type WalkForwardWindowResult } from '../report/optimize.ts';

export interface OptimizeFlags extends RunFlags {
  grid?: string[];
  metric?: string;
  workers?: string;
  random?: string;
  seed?: string;
  top?: string;
  out?: string;
  json?: boolean;
  walkForward?: boolean;
  inSample?: string;
  outOfSample?: string;
  step?: string;
  queue?: string;
  chunkSize?: string;
}

export interface OptimizeOutcome {
  readonly dir: string;
  readonly files: Record<string, string>;
  /** Every row, ranked. */
  readonly rows: readonly OptimizeRow[];
  readonly summary: Record<string, unknown>;
  readonly walkForward?: {
    readonly windows: readonly WalkForwardWindowResult[];
    readonly oos: Metrics;
    readonly oosRecord: RunRecord;
  };
}

// ---------------------------------------------------------------------------------------------------
// The command

interface Prepared {
  ctx: RunContext;
  series: CandleSeries;
  from: number;
  toExclusive: number;
  /** The first and last UTC days traded. */
  days: { from: string; to: string };
  axes: GridAxis[];
  indices: number[];
  combos: Record<string, GridValue>[];
  total: number;
  seed?: number;
  metric: OptimizeMetric;
  workers: number;
  top: number;
  strategyName: string;
  baseParams: Record<string, unknown>;
  notices: string[];
  /** --queue: combinations whose strategy threw (their rows are missing). */
  failed: RunFailure[];
}

async function prepare(flags: OptimizeFlags, io: CliIo): Promise<Prepared> {
  const target = runTargetOf(flags, io.cwd);
  if (target.range.from === undefined) throw new ConfigError('--from: required: the first UTC day of the sweep (YYYY-MM-DD)');
  if (target.range.to === undefined) throw new ConfigError('--to: required: the last UTC day of the sweep (YYYY-MM-DD)');

  const metric = parseMetric(flags.metric ?? 'sharpe');
  const workers = wholeNumberFlag(flags.workers, '--workers', 1, 1024) ?? os.availableParallelism();
  const top = wholeNumberFlag(flags.top, '--top', 1) ?? 10;
  const random = wholeNumberFlag(flags.random, '--random', 1, 10_000_000);
  const seedFlag = wholeNumberFlag(flags.seed, '--seed', 0, 2 ** 32 - 1);
  if (seedFlag !== undefined && random === undefined) throw new ConfigError('--seed: only used with --random N');

  const { definition, file: strategyFile } = await loadStrategy(target.strategySpec, io.cwd);
  const baseLayers = paramLayersOf(definition, { file: target.configFile, config: target.config }, flags.param);
  const snapshot = await readRulesSnapshot(target);
  // The base spec fails now on a bad parameter or missing instrument rules, not in every worker.
  const base = resolveRunSpec({ definition, strategyFile, instrument: target.instrument, interval: target.interval, layers: baseLayers, snapshot });

  const plan = planSweep({ params: definition.params, baseLayers, grid: flags.grid ?? [], random, seed: seedFlag });
  const { axes, total, indices, combos, seed } = plan;
  const notices = [...plan.notices];

  // Candles and funding, as pyr backtest finds them (no download: a sweep runs on the data there is).
  const data = await openRunData(target, {
    warmup: base.strategy.warmup, download: false, cwd: io.cwd,
    onLoad: () => {
      const b = flags.json ? undefined : createProgress({ stream: io.stderr, label: 'loading candles', total: 1 });
      return { update: (f) => b?.update(f), done: (failed) => (failed ? b?.stop() : b?.done()) };
    },
  });
  notices.push(...data.notices);
  const { series, interval } = data;
  const { from, to: toExclusive } = runRange(series, target.range, base.strategy.warmup, intervalMs(interval), data.file);
  const { symbol, category } = target.instrument;
  const ctx: RunContext = { strategySpec: strategyFile, cwd: io.cwd, symbol, category, interval, baseLayers, snapshot: snapshot && { file: snapshot.file, rules: snapshot.rules && { ...snapshot.rules } }, funding: data.funding?.history, fundingFile: data.funding?.file, fundingNone: data.fundingNone, candleFile: data.file };
  const days = { from: dayString(from), to: dayString(toExclusive - DAY_MS) };
  return { ctx, series, from, toExclusive, days, axes, indices, combos, total, seed, metric, workers, top, strategyName: base.strategy.label, baseParams: { ...base.shownParams }, notices, failed: [] };
}

function settingsOf(p: Prepared, command: string): Record<string, unknown> {
  const c = p.ctx;
  return sweepSettings(command, { ...p, strategy: p.strategyName, symbol: c.symbol, category: c.category, interval: c.interval, ...p.days, candleFile: c.candleFile, fundingCharged: c.funding !== undefined });
}

function headOf(p: Prepared, title: string, what: string): SweepHead {
  return { title, strategy: p.strategyName, symbol: p.ctx.symbol, interval: intervalLabel(p.ctx.interval), ...p.days, what, notices: p.notices };
}

/** Runs `pyr optimize` from flags; returns what it computed and wrote. Throws PyrErrors for bad input. */
export async function optimize(flags: OptimizeFlags, io: CliIo): Promise<OptimizeOutcome> {
  const spans = walkForwardSpans(flags);
  await checkQueueFlags(flags);
  const p = await prepare(flags, io);
  return spans ? walkForward(p, spans, flags, io) : sweep(p, flags, io);
}

/** The runs, on local threads or (--queue) on a Redis queue's workers; failed combinations (queue only) are kept in p.failed. */
async function runWithProgress(p: Prepared, flags: OptimizeFlags, io: CliIo, label: string, jobs: Job[], workers: number): Promise<(RowMetrics | undefined)[]> {
  const chunkSize = wholeNumberFlag(flags.chunkSize, '--chunk-size', 1, 100_000);
  const r = await runJobs({ ctx: p.ctx, series: p.series, jobs, workers, queue: flags.queue, chunkSize, label, stderr: io.stderr, env: io.env, quiet: flags.json });
  p.failed.push(...r.failures);
  return r.metrics;
}

/** --queue: after the files are written, the combinations that failed make the command fail. */
function failIfAny(p: Prepared, runs: number, dir: string, io: CliIo): void {
  if (p.failed.length > 0) throw new StrategyError(`${p.failed.length} of ${runs} runs failed (each named above); the other rows are in ${relPath(io.cwd, dir)}`);
}

async function sweep(p: Prepared, flags: OptimizeFlags, io: CliIo): Promise<OptimizeOutcome> {
  const jobs: Job[] = p.combos.map((params, id) => ({ id, from: p.from, to: p.toExclusive, params }));
  const workers = Math.min(p.workers, jobs.length);
  const t0 = performance.now();
  const metrics = await runWithProgress(p, flags, io, 'optimize', jobs, workers);
  const seconds = (performance.now() - t0) / 1000;

  const rows: OptimizeRow[] = rankedRows(p.indices, p.combos, (id) => metrics[id], p.metric);

  const dir = await sweepOutDir(io.cwd, flags.out);
  const settings = { ...settingsOf(p, 'optimize'), ...(p.failed.length ? { failed: p.failed } : {}) };
  const files = await writeSweepFiles(dir, settings, rows, p.axes);

  const topRows = rows.slice(0, p.top);
  const summary = { ...settings, workers, seconds, best: rows[0], top: topRows, outDir: dir, files };
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    const what = sweepWhat({ runs: p.indices.length, total: p.total, seed: p.seed, where: whereRun(flags.queue, workers), seconds, metric: p.metric });
    const lines = sweepLines(headOf(p, 'pyr optimize', what), { rows, top: p.top, axes: p.axes, metric: p.metric, backtest: (params) => backtestArgs(flags, p.days, params), dir: relPath(io.cwd, dir) }, useColor(io.stdout, io.env));
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  failIfAny(p, jobs.length, dir, io);
  return { dir, files, rows, summary };
}

async function walkForward(p: Prepared, spans: WalkForwardSpans, flags: OptimizeFlags, io: CliIo): Promise<OptimizeOutcome> {
  const windows = planWalkForward(p.from, p.toExclusive, spans.is, spans.oos, spans.step);
  checkWindows(p.series, windows);
  const jobs = inSampleJobs(windows, p.combos);
  const workers = Math.min(p.workers, jobs.length);
  const t0 = performance.now();
  const metrics = await runWithProgress(p, flags, io, 'in-sample', jobs, workers);
  const { rows: allRows, windows: results, oosRecord, oos, totals } = await walkForwardResult({ ctx: p.ctx, series: p.series, windows, indices: p.indices, combos: p.combos, metric: p.metric, metrics });
  const seconds = (performance.now() - t0) / 1000;

  const dir = await sweepOutDir(io.cwd, flags.out);
  const settings = {
    ...settingsOf(p, 'optimize --walk-forward'),
    walkForward: { inSampleDays: spans.is, outOfSampleDays: spans.oos, stepDays: spans.step ?? spans.oos, windows: windows.length },
    ...(p.failed.length ? { failed: p.failed } : {}),
  };
  const { files, walkForward: wf } = await writeWalkForwardFiles(dir, settings, { rows: allRows, windows: results, totals, oos, oosRecord }, p.axes, p.metric);

  const summary = { ...wf, workers, seconds, outDir: dir, files };
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    const what = walkForwardWhat({ windows: windows.length, spans, combinations: p.combos.length, where: whereRun(flags.queue, workers), seconds, metric: p.metric });
    const lines = walkForwardLines(headOf(p, 'pyr optimize --walk-forward', what), { windows: results, metric: p.metric, oos, totals, dir: relPath(io.cwd, dir) }, useColor(io.stdout, io.env));
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  failIfAny(p, jobs.length, dir, io);
  return { dir, files, rows: allRows, summary, walkForward: { windows: results, oos, oosRecord } };
}

export function optimizeCommand(io: CliIo): Command {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  return addRunOptions(
    new Command('optimize').description('Sweep strategy parameters over a grid (or a random sample of it) on worker threads, or walk forward'),
    { from: 'required', to: 'required' },
    'fix a strategy or run parameter for every run (repeatable)',
  )
    .option('--grid <key=a:b:step|key=v1,v2...>', 'sweep a parameter: an inclusive range a:b:step or a list (repeatable; several per flag)', collect)
    .option('--metric <name>', `rank by ${OPTIMIZE_METRICS.join(', ')} (default sharpe; maxDrawdown: lower is better)`)
    .option('--workers <n>', `worker threads (default ${os.availableParallelism()}: the available CPUs)`)
    .option('--random <n>', 'run n combinations drawn at random from the grid, without repeats')
    .option('--seed <s>', 'seed of --random (default: a random one, printed)')
    .option('--top <n>', 'rows to print (default 10; the files hold all)')
    .option('--out <dir>', 'write optimize.csv and optimize.json here (default backtests/optimize-<timestamp>)')
    .option('--json', 'print the summary as JSON on stdout and nothing else')
    .option('--walk-forward', 'choose the best in-sample parameters in rolling windows and run them out of sample')
    .option('--in-sample <span>', 'walk-forward in-sample span, e.g. 90d or 12w (default 90d)')
    .option('--out-of-sample <span>', 'walk-forward out-of-sample span (default 30d)')
    .option('--step <span>', 'walk-forward step between windows (default: the out-of-sample span)')
    .option('--queue <url>', 'run the sweep on the `pyr worker`s of this Redis (redis://host:port/db) instead of local threads')
    .option('--chunk-size <n>', 'with --queue: combinations per queued job (default: 1/256 of the sweep, rounded up, at most 32)')
    .action(async (opts: OptimizeFlags) => {
      await optimize(opts, io);
    });
}
