/**
 * `pyr report <run-dir>`: rebuilds report.html in a run folder and prints its path. `--open` also opens
 * it in the default browser.
 *
 * The page needs what the run folder does not hold: the candles, re-read from the run's candle file
 * (summary.json's `meta.source`), and what the strategy drew, recorded by re-running the strategy
 * (`meta.strategyFile`) with the run's parameters, instrument rules, range and warm-up on those candles
 * through the simulator. The re-run counts only when it reproduces the run (the same number of trades and
 * the same exact net PnL); otherwise, or when the strategy file is gone, the page is drawn without the
 * strategy's plots and a note on it (and a warning here) says why.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { D, DAY_MS, type CandleSeries, type RecordedPlots } from '../core/index.ts';
import { resolveRunSpec } from '../config/index.ts';
import { readCandleFile, readFundingFile } from '../data/index.ts';
import { simBrokerFor } from '../brokers/sim/index.ts';
import { hasCandles, runSpec } from '../engine/index.ts';
import { loadStrategy } from '../strategy/index.ts';
import { writeWarning } from '../report/console.ts';
import { computeMetrics } from '../report/metrics.ts';
import { readRunSummary, writeReportHtml, type RunSummary } from '../report/html.ts';
import type { CliIo } from './backtest.ts';

/**
 * Opens `file` in the desktop's default browser (xdg-open, open, or start; `opener` replaces it, for
 * tests), without waiting for it. Resolves false, after a warning saying where the file is, when there
 * is no opener.
 */
export function openInBrowser(file: string, io: Pick<CliIo, 'stderr'> & { env?: NodeJS.ProcessEnv }, opener?: string): Promise<boolean> {
  const [cmd, args] =
    opener !== undefined
      ? [opener, [file]]
      : process.platform === 'darwin' ? ['open', [file]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', file]] : ['xdg-open', [file]];
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, why?: string): void => {
      if (settled) return;
      settled = true;
      if (!ok) writeWarning(io.stderr, `could not open a browser (${why}); open ${file} yourself`, io.env);
      resolve(ok);
    };
    try {
      const child = spawn(cmd as string, args as string[], { detached: true, stdio: 'ignore' });
      child.once('error', (err) => done(false, `${cmd}: ${err.message}`));
      child.once('spawn', () => {
        child.unref();
        done(true);
      });
    } catch (err) {
      done(false, err instanceof Error ? err.message : String(err));
    }
  });
}

/** What a run folder's page is drawn from besides its files (writeReportHtml's input). */
export interface ReportInputs {
  readonly candles?: CandleSeries;
  readonly plots?: RecordedPlots;
  /** Why the candles or the plots are missing, for the page. */
  readonly notes: string[];
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The candles of a run, re-read from its candle file; or the note saying why there are none. */
async function runCandles(summary: RunSummary): Promise<CandleSeries | string> {
  const source = summary.meta.source;
  const fillsOnly = 'the chart shows the trades’ fill prices only';
  if (typeof source !== 'string' || !source) return `Candles missing: summary.json names no candle file; ${fillsOnly}.`;
  if (!existsSync(source)) return `Candles missing: the run’s candle file ${source} is gone; ${fillsOnly}.`;
  try {
    return (await readCandleFile(source)).series;
  } catch (err) {
    return `Candles missing: ${source} could not be read (${message(err)}); ${fillsOnly}.`;
  }
}

/**
 * Re-runs the run's strategy on `candles` to record its plots. Returns them (undefined when the strategy
 * declares none), or the note saying why they are not drawn.
 */
async function rerunPlots(summary: RunSummary, candles: CandleSeries, io: CliIo, notes: string[]): Promise<RecordedPlots | undefined | string> {
  const { meta, metrics } = summary;
  const not = 'The strategy’s plots are not drawn:';
  const file = meta.strategyFile;
  if (typeof file !== 'string' || !file) return `${not} summary.json names no strategy file to re-run (a run of an older pyr).`;
  if (!existsSync(file)) return `${not} the strategy file ${file} is gone, so it cannot be re-run to record them.`;
  if (!meta.from || !meta.to) return `${not} summary.json gives no range to re-run the strategy on.`;
  const from = Date.parse(`${meta.from}T00:00:00Z`);
  const to = Date.parse(`${meta.to}T00:00:00Z`) + DAY_MS;
  // No candles in the range: the page says so (and there is nothing to re-run on).
  if (!hasCandles(candles, from, to)) return undefined;
  let definition;
  try {
    ({ definition } = await loadStrategy(file, io.cwd));
  } catch (err) {
    return `${not} the strategy file ${file} no longer loads (${message(err)}).`;
  }
  if (!definition.plots) return undefined;
  if (meta.strategy !== definition.name && !meta.strategy.startsWith(`${definition.name} (`)) return `${not} ${file} now holds the strategy "${definition.name}", the run was "${meta.strategy}".`;
  try {
    const resolved = resolveRunSpec({
      definition,
      strategyFile: file,
      instrument: { exchange: 'bybit', category: meta.category, symbol: meta.symbol },
      interval: meta.interval,
      layers: [{ where: 'summary.json', values: meta.params ?? {} }],
      snapshot: { file: meta.rules.source, rules: meta.rules },
    });
    // The re-run trades with the run's own instrument rules, as the run did.
    const r = meta.rules;
    const spec = {
      ...resolved,
      rules: { symbol: meta.symbol, category: meta.category, tickSize: new D(r.tickSize), qtyStep: new D(r.qtyStep), minQty: new D(r.minQty), minNotional: new D(r.minNotional), source: r.source },
    };
    // Funding, from the file the run charged it from.
    let funding: { file: string; history: Awaited<ReturnType<typeof readFundingFile>> } | undefined;
    if (meta.funding?.charged) {
      const fundingFile = /^charged from (.+?): \d+ settlements/.exec(meta.funding.detail ?? '')?.[1];
      if (fundingFile && existsSync(fundingFile)) funding = { file: fundingFile, history: await readFundingFile(fundingFile) };
      else notes.push(`The run charged funding ${fundingFile ? `from ${fundingFile}, which is gone` : 'from a file summary.json does not name'}: the re-run that records the strategy’s plots charges none.`);
    }
    const { record } = runSpec(
      spec,
      { series: candles, source: meta.source, funding: funding ? { file: funding.file } : { none: 'not charged' } },
      simBrokerFor(spec, funding?.history),
      { runId: meta.runId, from, to, warmup: typeof meta.warmupCandles === 'number' ? meta.warmupCandles : undefined, recordPlots: true },
    );
    const net = computeMetrics(record).netPnlExact;
    if (record.trades.length !== metrics.trades || !new D(net).eq(new D(metrics.netPnlExact))) {
      return `${not} re-running ${file} on the run’s candles gave ${record.trades.length} trades and a net PnL of ${net}, the run had ${metrics.trades} and ${metrics.netPnlExact} (the strategy, its parameters or the candles changed since).`;
    }
    if (!record.plots) return `${not} the strategy declares plots but returns none (it has no plot()).`;
    return record.plots;
  } catch (err) {
    return `${not} re-running ${file} failed: ${message(err)}.`;
  }
}

/**
 * What `pyr report` draws a run folder's page from: its candles and, re-run, its strategy's plots, with
 * notes saying what is missing and why. Throws for a folder that is not a run folder.
 */
export async function reportInputs(runDir: string, io: CliIo): Promise<ReportInputs> {
  const summary = await readRunSummary(runDir);
  const notes: string[] = [];
  const candles = await runCandles(summary);
  if (typeof candles === 'string') return { notes: [candles] };
  const plots = await rerunPlots(summary, candles, io, notes);
  if (typeof plots === 'string') {
    notes.push(plots);
    return { candles, notes };
  }
  return { candles, plots, notes };
}

/** Rebuilds report.html in `runDir`; returns its path. Notes about missing plots also go to stderr. */
export async function rebuildReport(runDir: string, io: CliIo): Promise<string> {
  const inputs = await reportInputs(runDir, io);
  for (const n of inputs.notes) if (!n.startsWith('Candles missing')) writeWarning(io.stderr, n, io.env);
  return writeReportHtml(runDir, inputs);
}

export function reportCommand(io: CliIo): Command {
  return new Command('report')
    .description("Rebuild a run folder's report.html (candles, trades, the strategy's plots, equity, metrics) and print its path")
    .argument('<run-dir>', 'a run folder written by pyr backtest (backtests/<run-id> or --out)')
    .option('--open', 'open the page in the default browser')
    .action(async (runDir: string, opts: { open?: boolean }) => {
      const file = await rebuildReport(path.resolve(io.cwd, runDir), io);
      io.stdout.write(`${file}\n`);
      if (opts.open) await openInBrowser(file, io);
    });
}
