/**
 * `pyr backtest`: wires the candle store, the strategy, the simulator and the report together.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import {
  ConfigError,
  DataError,
  DAY_MS,
  MissingDataError,
  intervalMs,
  type Dec as Decimal,
  type Interval,
  type RunRecord,
} from '../core/index.ts';
import { findCandleFile, candlePath, findFundingFile, readFundingFile, instrumentsPath, readInstrumentsSnapshot } from '../data/index.ts';
import { readCandleFile } from '../data/csv.ts';
import { SimBroker } from '../brokers/sim/index.ts';
import { runBacktest } from '../engine/index.ts';
import { loadStrategy, warmupOf, type StrategyDefinition } from '../strategy/index.ts';
import { computeMetrics, createProgress, formatReport, summaryObject, toJson, useColor, writeRunFiles, writeWarning } from '../report/index.ts';
import { intervalOfStep } from '../data/check.ts';
import { addRunOptions, dayString, fillModelOf, guardsOf, parseDay, resolveRunTarget, parseParamFlags, resolveAllParams, resolveRules, type RunFlags } from './config.ts';

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

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Funding in words, without a double negative: "net 0.72 USDT paid" or "net 0.72 USDT received". */
export function fundingNet(paid: Decimal): string {
  if (paid.isZero()) return 'net 0 USDT';
  return `net ${paid.abs().toFixed()} USDT ${paid.isNegative() ? 'received' : 'paid'}`;
}

function runId(def: StrategyDefinition, symbol: string, interval: Interval): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const rand = Math.random().toString(36).slice(2, 6);
  return `${stamp}-${def.name}-${symbol}-${interval}-${rand}`;
}

/** Runs a backtest from flags; returns what it wrote. Throws PyrErrors for bad input. */
export async function backtest(flags: BacktestFlags, io: CliIo): Promise<BacktestOutcome> {
  const target = resolveRunTarget(flags, io.cwd);
  const { configFile, config, strategySpec, symbol, category, dataDir, fromText, toText } = target;
  let interval = target.interval;
  const fromDay = fromText !== undefined ? parseDay(fromText, '--from') : undefined;
  const toDay = toText !== undefined ? parseDay(toText, '--to') : undefined;
  if (fromDay !== undefined && toDay !== undefined && fromDay > toDay) throw new ConfigError(`--from ${fromText} is after --to ${toText}`);

  const { definition, file: strategyFile } = await loadStrategy(strategySpec, io.cwd);
  const layers = [];
  if (config.params) layers.push({ where: configFile ?? 'pyr.config.json', values: config.params });
  if (flags.param?.length) layers.push({ where: '--param', values: parseParamFlags(flags.param, definition.params) });
  const params = resolveAllParams(definition.params, layers);

  // Candles: one file (--candles, --sample), or the store. The store is completed first when it can be:
  // resampled from a finer interval already there, else downloaded for the range plus warm-up (unless --no-download).
  const warmupCandles = warmupOf(definition, params.strategy, strategyFile);
  const wantedFor = (iv: Interval) => (fromDay !== undefined ? { from: fromDay - warmupCandles * intervalMs(iv), to: Math.min((toDay ?? Date.now()) + DAY_MS, Date.now()) } : undefined);
  const wanted = wantedFor(interval);
  const load = async (file: string) => {
    const progress = flags.json ? undefined : createProgress({ stream: io.stderr, label: 'loading candles', total: 1 });
    try {
      const r = await readCandleFile(file, { onProgress: (f) => progress?.update(f) });
      progress?.done();
      return r;
    } catch (err) {
      progress?.stop();
      throw err;
    }
  };
  const notices: string[] = [];
  let candleFile: string;
  let loaded: Awaited<ReturnType<typeof readCandleFile>> | undefined;
  if (target.candles) {
    candleFile = target.candles;
    if (!existsSync(candleFile)) throw new MissingDataError(`${flags.sample ? '--sample' : '--candles'}: file not found: ${candleFile}`);
  } else {
    let found = findCandleFile(dataDir, category, symbol, interval);
    if (!found) {
      const { resampleFromStore } = await import('../data/resample.ts');
      const made = await resampleFromStore(dataDir, category, symbol, interval);
      if (made) {
        found = made.file;
        notices.push(`built ${path.relative(io.cwd, made.file) || made.file} from finer candles in the store (${made.rows} candles${made.dropped ? `, ${made.dropped} incomplete buckets left out` : ''})`);
      }
    }
    if (found) loaded = await load(found);
    const covered = (l: typeof loaded) =>
      !!l && !!wanted && l.series.length > 0 && l.series.openTime[0]! <= Math.max(wanted.from, 0) && l.series.openTime[l.series.length - 1]! >= wanted.to - 2 * intervalMs(interval) && l.report.gaps.count === 0;
    if (!covered(loaded) && wanted && flags.download !== false) {
      const { ensureCandles } = await import('../data/download.ts');
      const got = await ensureCandles({
        dataDir,
        category,
        symbol,
        interval,
        from: wanted.from,
        to: wanted.to,
        restUrl: flags.restUrl ?? io.env.PYR_BYBIT_REST_URL ?? config.restUrl,
        retries: params.run.apiRequestRetries,
        backoff: params.run.apiBackoffFactor,
        logger: { info: (m) => io.stderr.write(`${m}\n`), warn: (m) => writeWarning(io.stderr, m, io.env) },
      });
      if (got.added > 0) notices.push(`downloaded ${got.added} missing candles (${got.requests} requests) into ${path.relative(io.cwd, got.file) || got.file}`);
      if (got.added > 0 || !loaded) loaded = await load(got.file);
      found = got.file;
    }
    if (!found) {
      const range = fromText && toText ? ` --from ${fromText} --to ${toText}` : ' --from YYYY-MM-DD --to YYYY-MM-DD';
      throw new MissingDataError(
        `no ${symbol} ${interval} candles in ${candlePath(dataDir, category, symbol, interval)}; get them with \`pyr download --symbol ${symbol} --interval ${interval}${range}\`, or pass --candles <file>`,
      );
    }
    candleFile = found;
  }
  const { series, report: loadedReport } = loaded ?? (await load(candleFile));
  if (target.candles && !target.intervalGiven && loadedReport.rows >= 2) {
    // One file and no --interval: the file says what it holds.
    const inferred = intervalOfStep(loadedReport.intervalMs);
    if (!inferred) throw new DataError(`the candles are ${loadedReport.intervalMs / 60000} minutes apart, not a Bybit interval; pass --interval`, { file: candleFile });
    interval = inferred;
  }
  const step = intervalMs(interval);
  if (loadedReport.rows >= 2 && interval !== 'M' && loadedReport.intervalMs !== step) {
    throw new ConfigError(`--interval ${interval}: ${candleFile} holds ${loadedReport.intervalMs / 60000}-minute candles, not ${step / 60000}-minute ones`);
  }

  // Range: inclusive UTC days; by default the whole file after the strategy's warm-up.
  const first = series.openTime[0]!;
  const last = series.openTime[series.length - 1]!;
  const warmup = warmupCandles;
  // From the store (no --candles), say which download fetches the range asked for.
  const fetchHint =
    !target.candles && fromDay !== undefined
      ? `; fetch it with \`${(await import('../data/download.ts')).downloadCommandFor({ symbol, interval, category, from: fromDay - warmupCandles * step, to: (toDay ?? fromDay) + DAY_MS })}\``
      : '';
  const coverage = `the data covers ${new Date(first).toISOString().slice(0, 16).replace('T', ' ')} to ${new Date(last).toISOString().slice(0, 16).replace('T', ' ')} UTC (${candleFile})${fetchHint}`;
  let from = fromDay;
  if (from === undefined) {
    const afterWarmup = series.openTime[Math.min(series.length - 1, warmup)]!;
    from = Math.ceil(afterWarmup / DAY_MS) * DAY_MS;
    if (from > last) from = Math.floor(first / DAY_MS) * DAY_MS;
  }
  const toExclusive = (toDay ?? Math.floor(last / DAY_MS) * DAY_MS) + DAY_MS;
  if (from > last || toExclusive <= first) throw new MissingDataError(`the range ${dayString(from)} to ${dayString(toExclusive - DAY_MS)} is outside the data: ${coverage}`);
  if (fromDay !== undefined && from + step <= first && first - from >= step) {
    throw new MissingDataError(`--from ${fromText} is before the first candle: ${coverage}`);
  }
  if (toDay !== undefined && last + step < toExclusive) throw new MissingDataError(`--to ${toText} is after the last candle: ${coverage}`);

  // Instrument rules and funding
  const snapshotFile = instrumentsPath(dataDir, category);
  const snapshot = existsSync(snapshotFile) ? await readInstrumentsSnapshot(snapshotFile) : undefined;
  const rules = resolveRules(symbol, category, snapshot ? { file: snapshotFile, rules: snapshot[symbol] } : undefined, params.run);
  const fundingFile = target.funding ?? findFundingFile(target.candles ? path.dirname(candleFile) : dataDir, category, symbol);
  if (target.funding && !existsSync(target.funding)) throw new MissingDataError(`${flags.sample ? '--sample' : '--funding'}: file not found: ${target.funding}`);
  const funding = fundingFile ? await readFundingFile(fundingFile) : undefined;

  const broker = new SimBroker({ rules, fillModel: fillModelOf(params.run), initialBalance: params.run.initialBalance, funding });
  const id = runId(definition, symbol, interval);
  if (loadedReport.gaps.count > 0) {
    notices.push(`the candle file has ${loadedReport.gaps.count} missing candles; the largest gap is ${(loadedReport.gaps.largestMs / 60000).toFixed(0)} minutes${loadedReport.gaps.largestAt !== undefined ? ` from ${new Date(loadedReport.gaps.largestAt).toISOString()}` : ''}`);
  }
  const bar = flags.json ? undefined : createProgress({ stream: io.stderr, label: 'backtest', total: 1 });
  const run = (input: Parameters<typeof runBacktest>[0]) => {
    try {
      return runBacktest(input);
    } catch (err) {
      // A strategy error ends the run: the bar stops where it got to, before the error line.
      bar?.stop();
      throw err;
    }
  };
  const { record } = run({
    definition,
    strategyFile,
    params: params.strategy,
    series,
    broker,
    from,
    to: toExclusive,
    warmup,
    guards: guardsOf(params.run),
    onProgress: bar ? (f) => bar.update(f) : undefined,
    meta: {
      runId: id,
      strategy: definition.name === path.basename(strategyFile).replace(/\.(ts|js|mjs)$/, '') ? definition.name : `${definition.name} (${strategyFile})`,
      symbol,
      category,
      interval,
      from: dayString(from),
      to: dayString(toExclusive - DAY_MS),
      params: { ...params.strategy, ...Object.fromEntries(Object.entries(params.run).filter(([, v]) => v !== '')) },
      rules: { tickSize: rules.tickSize.toString(), qtyStep: rules.qtyStep.toString(), minQty: rules.minQty.toString(), minNotional: rules.minNotional.toString(), source: rules.source },
      fillModel: fillModelOf(params.run),
      initialBalance: params.run.initialBalance,
      // With a funding file the detail is written after the run, when the totals are known.
      funding: funding
        ? { charged: true, detail: '' }
        : { charged: false, detail: `no funding history ${target.candles ? `next to ${candleFile} (funding.csv) or given with --funding` : `at ${path.join(path.dirname(candlePath(dataDir, category, symbol, interval)), 'funding.csv')}`}` },
      notices,
      source: candleFile,
    },
  });
  bar?.done();
  if (broker.droppedAtEnd > 0) (record.meta.notices as string[]).push(`${broker.droppedAtEnd} order decided on the last candle was not filled: the data ended`);
  // The funding line is only final after the run.
  if (funding) {
    (record.meta as { funding: RunRecord['meta']['funding'] }).funding = {
      charged: true,
      detail: `charged from ${fundingFile}: ${broker.fundingSettlements} settlements while a position was open, ${fundingNet(broker.fundingPaid)}`,
    };
  }
  const metrics = computeMetrics(record);
  const dir = flags.out ? path.resolve(io.cwd, flags.out) : path.resolve(io.cwd, 'backtests', id);
  const files = await writeRunFiles(dir, record, metrics);
  let reportFile: string | undefined;
  if (flags.report || flags.open) {
    // The page module (and its charting library) loads only when a page is asked for.
    const { writeReportHtml } = await import('../report/html.ts');
    reportFile = await writeReportHtml(dir);
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
    io.stdout.write(`\nWrote summary.json, trades.csv, equity.csv${reportFile ? ' and report.html' : ''} to ${rel && !rel.startsWith('..') ? rel : dir}\n`);
  }
  if (flags.open && reportFile) {
    const { openInBrowser } = await import('./report.ts');
    await openInBrowser(reportFile, io);
  }
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
    .option('--json', 'print the summary as JSON on stdout and nothing else')
    .option('--report', 'also write report.html (candles, trades, StochRSI, pivots, equity, metrics) into the run folder')
    .option('--open', 'write report.html and open it in a browser (or say where it is)')
    .action(async (opts: BacktestFlags) => {
      await backtest(opts, io);
    });
}
