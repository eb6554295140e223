/**
 * `pyr optimize`: parameter sweeps (full grid or seeded random sample) and walk-forward analysis.
 *
 * The candles are read once, copied into one SharedArrayBuffer and mapped by every worker thread; each
 * worker loads the strategy once and runs the simulator + metrics for the combinations it is handed
 * (the same wiring as `pyr backtest`, see lib/sweep/worker.ts). Results are stored by the combination's
 * position in the plan, so the rows, and their order after ranking (ties by combination index), are the
 * same whatever the number of workers.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { Command } from 'commander';
import {
  ConfigError,
  DAY_MS,
  StrategyError,
  MissingDataError,
  intervalLabel,
  intervalMs,
  lowerBound,
  type CandleSeries,
  type RunRecord,
} from '../core/index.ts';
import {
  MAX_GRID,
  OPTIMIZE_METRICS,
  combinationAt,
  gridSize,
  lowerIsBetter,
  metricValue,
  parseGrid,
  parseMetric,
  parseSpan,
  planWalkForward,
  rankRows,
  sampleIndices,
  stitchRuns,
  type GridAxis,
  type GridValue,
  type OptimizeMetric,
} from '../engine/optimize.ts';
import { computeMetrics, type Metrics } from '../report/metrics.ts';
import { colorize, createProgress, useColor } from '../report/console.ts';
import { tradesCsv, writeFileAtomic } from '../report/files.ts';
import { loadStrategy, type ParamSchema } from '../strategy/index.ts';
import type { CliIo } from './backtest.ts';
import { RUN_PARAMS, dayString, paramLayersOf, resolveAllParams, resolveRunSpec, type RunFlags } from '../config/index.ts';
import { addRunOptions, runTargetOf } from './config.ts';
import { openRunData, readRulesSnapshot } from '../data/index.ts';
import { runRange } from '../engine/index.ts';
import { createRunner, rowMetrics, serializeError, type Job, type RunContext } from '../sweep/worker.ts';
import { METRIC_FORMAT, fixed, jsonWithRows, rowsCsv, rowsTable, table, windowsCsv, type OptimizeRow, type WalkForwardWindowResult } from '../report/optimize.ts';

export { jsonWithRows, rowsCsv, type OptimizeRow, type WalkForwardWindowResult } from '../report/optimize.ts';
import { errorFrom, formatParams } from '../sweep/pool.ts';
import { checkQueueFlags, runJobs, whereRun, type RunFailure } from '../sweep/run.ts';
import type { RowMetrics } from '../report/optimize.ts';

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
// Flags

function intFlag(text: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const t = String(text).trim();
  if (!/^\d+$/.test(t)) throw new ConfigError(`${flag}: expected a whole number, got "${text}"`);
  const n = Number(t);
  if (n < min || n > max) throw new ConfigError(`${flag}: must be between ${min} and ${max}, got ${t}`);
  return n;
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** The strategy's and the run's parameters; a strategy key wins over a run key of the same name (as in `--param`). */
function sweepSchema(strategy: ParamSchema): ParamSchema {
  return { ...(RUN_PARAMS as ParamSchema), ...strategy };
}

async function chooseOutDir(flags: OptimizeFlags, io: CliIo): Promise<string> {
  if (flags.out) return path.resolve(io.cwd, flags.out);
  const base = path.resolve(io.cwd, 'backtests', `optimize-${stamp()}`);
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  return dir;
}

function relOrAbs(io: CliIo, dir: string): string {
  const rel = path.relative(io.cwd, dir);
  return rel && !rel.startsWith('..') ? rel : dir;
}

// ---------------------------------------------------------------------------------------------------
// The command

interface Prepared {
  ctx: RunContext;
  series: CandleSeries;
  from: number;
  toExclusive: number;
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
  const workers = intFlag(flags.workers, '--workers', 1, 1024) ?? os.availableParallelism();
  const top = intFlag(flags.top, '--top', 1) ?? 10;
  const random = intFlag(flags.random, '--random', 1, 10_000_000);
  const seedFlag = intFlag(flags.seed, '--seed', 0, 2 ** 32 - 1);
  if (seedFlag !== undefined && random === undefined) throw new ConfigError('--seed: only used with --random N');

  const { definition, file: strategyFile } = await loadStrategy(target.strategySpec, io.cwd);
  const baseLayers = paramLayersOf(definition, { file: target.configFile, config: target.config }, flags.param);
  const snapshot = await readRulesSnapshot(target);
  // The base spec fails now on a bad parameter or missing instrument rules, not in every worker.
  const base = resolveRunSpec({ definition, strategyFile, instrument: target.instrument, interval: target.interval, layers: baseLayers, snapshot });

  // The grid: every value checked against the schema, then each value once more with the run's own checks.
  const axes = parseGrid(flags.grid ?? [], sweepSchema(definition.params));
  for (const a of axes) {
    for (const v of a.values) {
      try {
        resolveAllParams(definition.params, [...baseLayers, { where: '--grid', values: { [a.key]: v } }]);
      } catch (err) {
        // the instrument overrides' own checks speak of --param
        if (err instanceof ConfigError) throw new ConfigError(err.message.replace(/^--param: /, '--grid: '));
        throw err;
      }
    }
  }
  const total = gridSize(axes);
  const notices: string[] = [];
  let indices: number[];
  let seed: number | undefined;
  if (random !== undefined) {
    seed = seedFlag ?? randomInt(0, 2 ** 31);
    if (random >= total) notices.push(`--random ${random} is not less than the grid's ${total} combinations: the whole grid was run`);
    indices = sampleIndices(total, random, seed);
  } else {
    if (total > MAX_GRID) {
      throw new ConfigError(
        `--grid: ${total.toLocaleString('en')} combinations is more than ${MAX_GRID.toLocaleString('en')}; sample some with --random N (e.g. --random 1000 --seed 1), or use fewer values`,
      );
    }
    indices = Array.from({ length: total }, (_, i) => i);
  }
  const combos = indices.map((i) => combinationAt(axes, i));

  // Candles and funding, as pyr backtest finds them (no download: a sweep runs on the data there is).
  const data = await openRunData(target, {
    warmup: base.strategy.warmup, download: false, cwd: io.cwd,
    onLoad: () => {
      const b = flags.json ? undefined : createProgress({ stream: io.stderr, label: 'loading candles', total: 1 });
      return { update: (f) => b?.update(f), done: (failed) => (failed ? b?.stop() : b?.done()) };
    },
  });
  notices.push(...data.notices);
  const { series } = data;
  const interval = data.interval;
  const { from, to: toExclusive } = runRange(series, target.range, base.strategy.warmup, intervalMs(interval), data.file);
  const { symbol, category } = target.instrument;
  const candleFile = data.file;
  const funding = data.funding?.history;
  const strategyName = base.strategy.label;
  return {
    ctx: { strategySpec: strategyFile, cwd: io.cwd, symbol, category, interval, baseLayers, snapshot: snapshot && { file: snapshot.file, rules: snapshot.rules && { ...snapshot.rules } }, funding, fundingFile: data.funding?.file, fundingNone: data.fundingNone, candleFile },
    series,
    from,
    toExclusive,
    axes,
    indices,
    combos,
    total,
    seed,
    metric,
    workers,
    top,
    strategyName,
    baseParams: { ...base.shownParams },
    notices,
    failed: [],
  };
}

function settingsOf(p: Prepared, mode: string): Record<string, unknown> {
  return {
    command: mode,
    strategy: p.strategyName,
    symbol: p.ctx.symbol,
    category: p.ctx.category,
    interval: p.ctx.interval,
    from: dayString(p.from),
    to: dayString(p.toExclusive - DAY_MS),
    metric: p.metric,
    metricOrder: lowerIsBetter(p.metric) ? 'lower is better' : 'higher is better',
    grid: Object.fromEntries(p.axes.map((a) => [a.key, a.values])),
    gridCombinations: p.total,
    sampling: p.seed !== undefined ? { kind: 'random', samples: p.indices.length, seed: p.seed } : { kind: 'grid' },
    combinations: p.indices.length,
    baseParams: p.baseParams,
    candles: p.ctx.candleFile,
    funding: p.ctx.funding ? 'charged' : 'none',
    notices: p.notices,
  };
}

/** Runs `pyr optimize` from flags; returns what it computed and wrote. Throws PyrErrors for bad input. */
export async function optimize(flags: OptimizeFlags, io: CliIo): Promise<OptimizeOutcome> {
  if (!flags.walkForward && (flags.inSample !== undefined || flags.outOfSample !== undefined || flags.step !== undefined)) {
    throw new ConfigError(`${flags.inSample !== undefined ? '--in-sample' : flags.outOfSample !== undefined ? '--out-of-sample' : '--step'}: only used with --walk-forward`);
  }
  // Walk-forward spans are checked before anything slow happens.
  const spans = flags.walkForward
    ? {
        is: parseSpan(flags.inSample ?? '90d', '--in-sample'),
        oos: parseSpan(flags.outOfSample ?? '30d', '--out-of-sample'),
        step: flags.step !== undefined ? parseSpan(flags.step, '--step') : undefined,
      }
    : undefined;
  await checkQueueFlags(flags);
  const p = await prepare(flags, io);
  return spans ? walkForward(p, spans, flags, io) : sweep(p, flags, io);
}

/** The runs, on local threads or (--queue) on a Redis queue's workers; failed combinations (queue only) are kept in p.failed. */
async function runWithProgress(p: Prepared, flags: OptimizeFlags, io: CliIo, label: string, jobs: Job[], workers: number): Promise<(RowMetrics | undefined)[]> {
  const chunkSize = intFlag(flags.chunkSize, '--chunk-size', 1, 100_000);
  const r = await runJobs({ ctx: p.ctx, series: p.series, jobs, workers, queue: flags.queue, chunkSize, label, stderr: io.stderr, env: io.env, quiet: flags.json });
  p.failed.push(...r.failures);
  return r.metrics;
}

/** --queue: after the files are written, the combinations that failed make the command fail. */
function failIfAny(p: Prepared, runs: number, dir: string, io: CliIo): void {
  if (p.failed.length > 0) throw new StrategyError(`${p.failed.length} of ${runs} runs failed (each named above); the other rows are in ${relOrAbs(io, dir)}`);
}

async function sweep(p: Prepared, flags: OptimizeFlags, io: CliIo): Promise<OptimizeOutcome> {
  const jobs: Job[] = p.combos.map((params, id) => ({ id, from: p.from, to: p.toExclusive, params }));
  const workers = Math.min(p.workers, jobs.length);
  const t0 = performance.now();
  const metrics = await runWithProgress(p, flags, io, 'optimize', jobs, workers);
  const seconds = (performance.now() - t0) / 1000;

  const rows: OptimizeRow[] = rankRows(
    p.indices.map((index, id) => ({ rank: 0, index, params: p.combos[id]!, metrics: metrics[id]! })).filter((r) => r.metrics),
    p.metric,
  );
  rows.forEach((r, i) => (r.rank = i + 1));

  const dir = await chooseOutDir(flags, io);
  await mkdir(dir, { recursive: true });
  const files = { csv: path.join(dir, 'optimize.csv'), json: path.join(dir, 'optimize.json') };
  const settings = { ...settingsOf(p, 'optimize'), ...(p.failed.length ? { failed: p.failed } : {}) };
  await writeFileAtomic(files.csv, rowsCsv(rows, p.axes, false));
  await writeFileAtomic(files.json, jsonWithRows(settings, rows));

  const topRows = rows.slice(0, p.top);
  const summary = { ...settings, workers, seconds, best: rows[0], top: topRows, outDir: dir, files };
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    const color = useColor(io.stdout, io.env);
    const sampling = p.seed !== undefined ? `${p.indices.length} of ${p.total.toLocaleString('en')} combinations drawn at random (--seed ${p.seed})` : `${p.indices.length} combinations`;
    io.stdout.write(
      `${colorize('pyr optimize', 'bold', color)}: ${p.strategyName} on ${p.ctx.symbol} ${intervalLabel(p.ctx.interval)}, ${dayString(p.from)} to ${dayString(p.toExclusive - DAY_MS)}\n` +
        `${sampling} on ${whereRun(flags.queue, workers)} in ${seconds.toFixed(1)} s; ranked by ${p.metric} (${lowerIsBetter(p.metric) ? 'lower' : 'higher'} is better)\n`,
    );
    for (const n of p.notices) io.stdout.write(`${colorize('notice', 'yellow', color)}: ${n}\n`);
    io.stdout.write(`\nTop ${topRows.length} of ${rows.length}:\n${rowsTable(topRows, p.axes, p.metric)}\n`);
    const best = rows[0]!;
    io.stdout.write(`\n${colorize('Best', 'green', color)}: ${formatParams(best.params)} (${p.metric} ${METRIC_FORMAT[p.metric](best.metrics)}); run it with \`pyr backtest ${backtestArgs(p, flags, best.params)}\`\n`);
    io.stdout.write(`Wrote optimize.csv and optimize.json (${rows.length} rows) to ${relOrAbs(io, dir)}\n`);
  }
  failIfAny(p, jobs.length, dir, io);
  return { dir, files, rows, summary };
}

function backtestArgs(p: Prepared, flags: OptimizeFlags, params: Readonly<Record<string, GridValue>>): string {
  const parts: string[] = [];
  if (flags.strategy) parts.push(`--strategy ${flags.strategy}`);
  if (flags.sample) parts.push('--sample');
  for (const [flag, v] of [['--symbol', flags.symbol], ['--interval', flags.interval], ['--candles', flags.candles], ['--data-dir', flags.dataDir], ['--config', flags.config], ['--funding', flags.funding]] as const) {
    if (v !== undefined) parts.push(`${flag} ${v}`);
  }
  parts.push(`--from ${dayString(p.from)} --to ${dayString(p.toExclusive - DAY_MS)} --param ${[...(flags.param ?? []), formatParams(params)].join(' ')}`);
  return parts.join(' ');
}

async function walkForward(
  p: Prepared,
  spans: { is: number; oos: number; step?: number },
  flags: OptimizeFlags,
  io: CliIo,
): Promise<OptimizeOutcome> {
  const windows = planWalkForward(p.from, p.toExclusive, spans.is, spans.oos, spans.step);
  const has = (a: number, b: number): boolean => lowerBound(p.series, b) > lowerBound(p.series, a);
  for (const w of windows) {
    if (!has(w.isFrom, w.isTo)) throw new MissingDataError(`--walk-forward: window ${w.n}'s in-sample span ${dayString(w.isFrom)} to ${dayString(w.isTo - DAY_MS)} has no candles`);
    if (!has(w.oosFrom, w.oosTo)) throw new MissingDataError(`--walk-forward: window ${w.n}'s out-of-sample span ${dayString(w.oosFrom)} to ${dayString(w.oosTo - DAY_MS)} has no candles`);
  }
  const perWindow = p.combos.length;
  const jobs: Job[] = [];
  for (const [wi, w] of windows.entries()) {
    for (const [ci, params] of p.combos.entries()) jobs.push({ id: wi * perWindow + ci, from: w.isFrom, to: w.isTo, params });
  }
  const workers = Math.min(p.workers, jobs.length);
  const t0 = performance.now();
  const metrics = await runWithProgress(p, flags, io, 'in-sample', jobs, workers);

  // In-sample winners, then their out-of-sample runs (in this thread: one run per window).
  const runner = await createRunner(p.ctx, p.series);
  const allRows: OptimizeRow[] = [];
  const results: WalkForwardWindowResult[] = [];
  const oosRecords: RunRecord[] = [];
  for (const [wi, w] of windows.entries()) {
    const ranked = rankRows(
      p.indices.map((index, ci) => ({ rank: 0, index, window: w.n, params: p.combos[ci]!, metrics: metrics[wi * perWindow + ci]! })).filter((r) => r.metrics),
      p.metric,
    );
    ranked.forEach((r, i) => (r.rank = i + 1));
    allRows.push(...ranked);
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
      isMetric: metricValue(best.metrics, p.metric),
      oosMetric: metricValue(oosRow, p.metric),
      isMetrics: best.metrics,
      oosMetrics: oosRow,
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const oosRecord = stitchRuns(oosRecords, { runId: 'walk-forward-oos', from: dayString(windows[0]!.oosFrom), params: {} });
  const oos = computeMetrics(oosRecord);
  const isValues = results.map((r) => r.isMetric).filter((v): v is number => v !== null);
  const oosValues = results.map((r) => r.oosMetric).filter((v): v is number => v !== null);
  const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const totals = {
    inSample: {
      meanMetric: mean(isValues),
      trades: results.reduce((n, r) => n + r.isMetrics.trades, 0),
      netPnl: results.reduce((n, r) => n + r.isMetrics.netPnl, 0),
    },
    outOfSample: {
      meanMetric: mean(oosValues),
      metric: metricValue(oos, p.metric),
      from: dayString(windows[0]!.oosFrom),
      to: dayString(windows[windows.length - 1]!.oosTo - DAY_MS),
      ...rowMetrics(oos),
    },
  };

  const dir = await chooseOutDir(flags, io);
  await mkdir(dir, { recursive: true });
  const files = {
    csv: path.join(dir, 'optimize.csv'),
    json: path.join(dir, 'optimize.json'),
    windowsCsv: path.join(dir, 'walk-forward.csv'),
    walkForward: path.join(dir, 'walk-forward.json'),
    oosTrades: path.join(dir, 'oos-trades.csv'),
  };
  const settings = {
    ...settingsOf(p, 'optimize --walk-forward'),
    walkForward: { inSampleDays: spans.is, outOfSampleDays: spans.oos, stepDays: spans.step ?? spans.oos, windows: windows.length },
    ...(p.failed.length ? { failed: p.failed } : {}),
  };
  await writeFileAtomic(files.csv, rowsCsv(allRows, p.axes, true));
  await writeFileAtomic(files.json, jsonWithRows(settings, allRows));
  await writeFileAtomic(files.windowsCsv, windowsCsv(results, p.axes, p.metric));
  await writeFileAtomic(files.oosTrades, tradesCsv(oosRecord));
  const wf = { ...settings, windows: results, totals, oosMetrics: oos };
  await writeFileAtomic(files.walkForward, `${JSON.stringify(wf, null, 2)}\n`);

  const summary = { ...wf, workers, seconds, outDir: dir, files };
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    const color = useColor(io.stdout, io.env);
    io.stdout.write(
      `${colorize('pyr optimize --walk-forward', 'bold', color)}: ${p.strategyName} on ${p.ctx.symbol} ${intervalLabel(p.ctx.interval)}, ${dayString(p.from)} to ${dayString(p.toExclusive - DAY_MS)}\n` +
        `${windows.length} windows (in-sample ${spans.is}d, out-of-sample ${spans.oos}d, step ${spans.step ?? spans.oos}d) x ${p.combos.length} combinations on ${whereRun(flags.queue, workers)} in ${seconds.toFixed(1)} s; best in-sample ${p.metric} (${lowerIsBetter(p.metric) ? 'lower' : 'higher'} is better)\n`,
    );
    for (const n of p.notices) io.stdout.write(`${colorize('notice', 'yellow', color)}: ${n}\n`);
    const header = ['#', 'in-sample', 'out-of-sample', 'chosen', `IS ${p.metric}`, `OOS ${p.metric}`, 'IS trades', 'OOS trades', 'IS netPnl', 'OOS netPnl'];
    const body = results.map((r) => [
      String(r.window),
      `${r.inSample.from}..${r.inSample.to}`,
      `${r.outOfSample.from}..${r.outOfSample.to}`,
      formatParams(r.params),
      METRIC_FORMAT[p.metric](r.isMetrics),
      METRIC_FORMAT[p.metric](r.oosMetrics),
      String(r.isMetrics.trades),
      String(r.oosMetrics.trades),
      fixed(r.isMetrics.netPnl, 2),
      fixed(r.oosMetrics.netPnl, 2),
    ]);
    io.stdout.write(`\n${table(header, body, 4)}\n`);
    io.stdout.write(
      `\nIn-sample (each window's best): mean ${p.metric} ${fixed(totals.inSample.meanMetric, 3)}, ${totals.inSample.trades} trades, net ${fixed(totals.inSample.netPnl, 2)} USDT\n` +
        `${colorize('Out-of-sample', 'cyan', color)} (stitched, ${totals.outOfSample.from} to ${totals.outOfSample.to}): ${p.metric} ${METRIC_FORMAT[p.metric](oos)}, ${oos.trades} trades, net ${fixed(oos.netPnl, 2)} USDT, win rate ${fixed(oos.winRate, 1, '%')}, profit factor ${fixed(oos.profitFactor, 2)}, max drawdown ${fixed(oos.maxDrawdown, 2)} (${fixed(oos.maxDrawdownPct, 2, '%')}), Sharpe ${fixed(oos.sharpe, 2)}\n`,
    );
    io.stdout.write(`Wrote walk-forward.json, walk-forward.csv, oos-trades.csv, optimize.csv and optimize.json to ${relOrAbs(io, dir)}\n`);
  }
  failIfAny(p, jobs.length, dir, io);
  return { dir, files, rows: allRows, summary, walkForward: { windows: results, oos, oosRecord } };
}

function span(from: number, toExclusive: number): { from: string; to: string } {
  return { from: dayString(from), to: dayString(toExclusive - DAY_MS) };
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
