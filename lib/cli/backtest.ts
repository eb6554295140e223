/**
 * `pyr backtest`: flags → run target → strategy and run spec → candles and funding → the simulator →
 * runSpec → run files and the report. The wiring of a run is lib's; this only parses and prints.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { DAY_MS, intervalMs, type RunRecord } from '../core/index.ts';
import { instrumentId, paramLayersOf, resolveRunSpec, type RunFlags, type RunSpec } from '../config/index.ts';
import { openRunData, readRulesSnapshot } from '../data/index.ts';
import { simBrokerFor } from '../brokers/sim/index.ts';
import { runRange, runSpec } from '../engine/index.ts';
import { loadStrategy } from '../strategy/index.ts';
import { computeMetrics, createProgress, formatReport, summaryObject, toJson, useColor, writeRunFiles, writeWarning } from '../report/index.ts';
import type { CliIo } from './io.ts';
import { addRunOptions, runTargetOf } from './config.ts';

export type { CliIo } from './io.ts';

export interface BacktestFlags extends RunFlags {
  out?: string;
  json?: boolean;
  /** Write report.html into the run folder. */
  report?: boolean;
  /** Write report.html and open it (or say where it is). */
  open?: boolean;
  /** false with --no-download. */
  download?: boolean;
  restUrl?: string;
}

export interface BacktestOutcome {
  record: RunRecord;
  metrics: ReturnType<typeof computeMetrics>;
  dir: string;
  files: { summary: string; trades: string; equity: string };
}

function runId(spec: RunSpec): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const rand = Math.random().toString(36).slice(2, 6);
  return `${stamp}-${spec.strategy.definition.name}-${spec.instrument.symbol}-${spec.interval}-${rand}`;
}

/** Runs a backtest from flags; returns what it wrote. Throws PyrErrors for bad input. */
export async function backtest(flags: BacktestFlags, io: CliIo): Promise<BacktestOutcome> {
  const target = runTargetOf(flags, io.cwd);
  const { definition, file } = await loadStrategy(target.strategySpec, io.cwd);
  let spec = resolveRunSpec({
    definition, strategyFile: file, instrument: target.instrument, interval: target.interval,
    layers: paramLayersOf(definition, { file: target.configFile, config: target.config }, flags.param), snapshot: await readRulesSnapshot(target), target,
  });
  const bar = (label: string) => (flags.json ? undefined : createProgress({ stream: io.stderr, label, total: 1 }));
  const data = await openRunData(target, {
    warmup: spec.strategy.warmup, download: flags.download, cwd: io.cwd,
    restUrl: flags.restUrl ?? io.env.PYR_BYBIT_REST_URL ?? target.config.restUrl, retries: spec.run.apiRequestRetries, backoff: spec.run.apiBackoffFactor,
    logger: { info: (m) => io.stderr.write(`${m}\n`), warn: (m) => writeWarning(io.stderr, m, io.env) },
    onLoad: () => {
      const b = bar('loading candles');
      return { update: (f) => b?.update(f), done: (failed) => (failed ? b?.stop() : b?.done()) };
    },
  });
  if (data.interval !== spec.interval) spec = { ...spec, interval: data.interval };
  // From the store, an offline range names the download that fetches it.
  const { from: fromDay, to: toDay } = target.range;
  const step = intervalMs(spec.interval);
  const fetchHint =
    target.data.kind === 'store' && fromDay !== undefined
      ? `; fetch it with \`${(await import('../data/download.ts')).downloadCommandFor({ symbol: spec.instrument.symbol, interval: spec.interval, category: spec.instrument.category, from: fromDay - spec.strategy.warmup * step, to: (toDay ?? fromDay) + DAY_MS })}\``
      : '';
  const range = runRange(data.series, target.range, spec.strategy.warmup, step, data.file, fetchHint);

  const progress = bar('backtest');
  let record: RunRecord;
  try {
    ({ record } = runSpec(spec, { series: data.series, source: data.file, funding: data.funding ? { file: data.funding.file } : { none: data.fundingNone! }, notices: data.notices }, simBrokerFor(spec, data.funding?.history), {
      runId: runId(spec), ...range, onProgress: progress ? (f) => progress.update(f) : undefined, recordPlots: flags.report || flags.open,
    }));
  } catch (err) {
    progress?.stop(); // a strategy error ends the run: the bar stops before the error line
    throw err;
  }
  progress?.done();
  const metrics = computeMetrics(record);
  const dir = path.resolve(io.cwd, flags.out ?? path.join('backtests', record.meta.runId));
  const files = await writeRunFiles(dir, record, metrics);
  let reportFile: string | undefined;
  if (flags.report || flags.open) {
    // The page module (and its charting library) loads only when a page is asked for.
    reportFile = await (await import('../report/html.ts')).writeReportHtml(dir, { candles: data.series, plots: record.plots });
  } else {
    // A report.html left in --out by an earlier run would describe another run: it goes.
    await rm(path.join(dir, 'report.html'), { force: true });
  }
  if (flags.json) {
    // Exactly the summary.json document, plus where the files are.
    io.stdout.write(`${toJson({ ...summaryObject(record, metrics), output: { dir, ...files, ...(reportFile ? { report: reportFile } : {}) } })}\n`);
  } else {
    io.stdout.write(formatReport(record, metrics, { color: useColor(io.stdout, io.env) }));
    const rel = path.relative(io.cwd, dir);
    io.stdout.write(`\nWrote summary.json, trades.csv, equity.csv${reportFile ? ' and report.html' : ''} to ${rel && !rel.startsWith('..') ? rel : dir} (${instrumentId(spec.instrument)})\n`);
  }
  if (flags.open && reportFile) await (await import('./report.ts')).openInBrowser(reportFile, io);
  return { record, metrics, dir, files };
}

export function backtestCommand(io: CliIo): Command {
  return addRunOptions(
    new Command('backtest').description('Backtest a strategy on downloaded candles with realistic fills, fees and funding'),
    { from: 'default: the first day after warm-up', to: 'default: the last day of the data' },
  )
    .option('--out <dir>', 'write the run files here (default backtests/<run-id>)')
    .option('--no-download', 'never download missing candles (by default the store is completed from Bybit when it can be reached)')
    .option('--rest-url <url>', 'Bybit REST base URL for downloads (also PYR_BYBIT_REST_URL, config restUrl)')
    .option('--json', 'print the summary.json document (plus "output": the files written) on stdout and nothing else')
    .option('--report', 'also write report.html (candles, trades, the strategy\'s plots, equity, metrics) into the run folder')
    .option('--open', 'write report.html and open it in a browser (or say where it is)')
    .action(async (opts: BacktestFlags) => {
      await backtest(opts, io);
    });
}
