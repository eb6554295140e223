/**
 * The candles, funding history and instrument snapshot a run reads, found from a run target: one file
 * (`--candles`, `--sample`) or the store, which is completed first when it can be (resampled from a finer
 * interval already there, else downloaded for the range plus the warm-up, unless downloads are off).
 * Used by `pyr backtest` and `pyr optimize`, so both read data the same way.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, DAY_MS, DataError, MissingDataError, intervalMs, type CandleSeries, type Interval } from '../core/index.ts';
import type { RulesSnapshot, RunTarget } from '../config/index.ts';
import { intervalOfStep } from './check.ts';
import { readCandleFile, type LoadReport } from './csv.ts';
import { candlePath, findCandleFile, findFundingFile, instrumentsPath, readFundingFile, readInstrumentsSnapshot } from './store.ts';

/** The instrument rules the store's saved snapshot holds for the target's symbol (undefined: no snapshot). */
export async function readRulesSnapshot(target: Pick<RunTarget, 'dataDir' | 'instrument'>): Promise<RulesSnapshot | undefined> {
  const file = instrumentsPath(target.dataDir, target.instrument.category);
  if (!existsSync(file)) return undefined;
  const all = await readInstrumentsSnapshot(file);
  return all ? { file, rules: all[target.instrument.symbol] } : undefined;
}

export interface OpenRunDataOptions {
  /** Candles the strategy needs before the range (the store is completed for them too). */
  readonly warmup: number;
  /** Complete the store from Bybit when it lacks candles (default true). */
  readonly download?: boolean;
  /** Downloads: REST base URL, retries and backoff (the run parameters), and where to say what happens. */
  readonly restUrl?: string;
  readonly retries?: number;
  readonly backoff?: number;
  readonly logger?: { info(m: string): void; warn(m: string): void };
  /** Called around each candle file read, with a progress callback (0..1); `done(failed)` after. */
  readonly onLoad?: (file: string) => { update(fraction: number): void; done(failed: boolean): void };
  /** Relative paths in notices are relative to this folder. */
  readonly cwd?: string;
}

export interface RunDataFiles {
  readonly series: CandleSeries;
  readonly report: LoadReport;
  readonly file: string;
  /** The interval the candles are: the target's, or the file's when the target gave none. */
  readonly interval: Interval;
  readonly funding?: { readonly file: string; readonly history: { readonly times: Float64Array; readonly rates: string[] } };
  /** Why no funding is charged, when none is. */
  readonly fundingNone?: string;
  readonly notices: string[];
}

/** Finds, completes and reads the candles and the funding history of a run target. */
export async function openRunData(target: RunTarget, opts: OpenRunDataOptions): Promise<RunDataFiles> {
  const { instrument, data } = target;
  const { symbol, category } = instrument;
  let interval = target.interval;
  const notices: string[] = [];
  const rel = (f: string) => (opts.cwd ? path.relative(opts.cwd, f) || f : f);
  const load = async (file: string) => {
    const progress = opts.onLoad?.(file);
    try {
      const r = await readCandleFile(file, { onProgress: (f) => progress?.update(f) });
      progress?.done(false);
      return r;
    } catch (err) {
      progress?.done(true);
      throw err;
    }
  };

  let file: string;
  let loaded: Awaited<ReturnType<typeof readCandleFile>> | undefined;
  if (data.kind === 'file') {
    file = data.file;
    if (!existsSync(file)) throw new MissingDataError(`${data.sample ? '--sample' : '--candles'}: file not found: ${file}`);
    loaded = await load(file);
    if (!target.intervalGiven && loaded.report.rows >= 2) {
      // One file and no --interval: the file says what it holds.
      const inferred = intervalOfStep(loaded.report.intervalMs);
      if (!inferred) throw new DataError(`the candles are ${loaded.report.intervalMs / 60000} minutes apart, not a Bybit interval; pass --interval`, { file });
      interval = inferred;
    }
  } else {
    const step = intervalMs(interval);
    const from = target.range.from;
    const wanted = from !== undefined ? { from: from - opts.warmup * step, to: Math.min((target.range.to ?? Date.now()) + DAY_MS, Date.now()) } : undefined;
    let found = findCandleFile(data.dataDir, category, symbol, interval);
    if (!found) {
      const { resampleFromStore } = await import('./resample.ts');
      const made = await resampleFromStore(data.dataDir, category, symbol, interval);
      if (made) {
        found = made.file;
        notices.push(`built ${rel(made.file)} from finer candles in the store (${made.rows} candles${made.dropped ? `, ${made.dropped} incomplete buckets left out` : ''})`);
      }
    }
    if (found) loaded = await load(found);
    const covered = (l: typeof loaded) =>
      !!l && !!wanted && l.series.length > 0 && l.series.openTime[0]! <= Math.max(wanted.from, 0) && l.series.openTime[l.series.length - 1]! >= wanted.to - 2 * step && l.report.gaps.count === 0;
    if (!covered(loaded) && wanted && opts.download !== false) {
      const { ensureCandles } = await import('./download.ts');
      const got = await ensureCandles({ dataDir: data.dataDir, category, symbol, interval, from: wanted.from, to: wanted.to, restUrl: opts.restUrl, retries: opts.retries, backoff: opts.backoff, logger: opts.logger });
      if (got.added > 0) notices.push(`downloaded ${got.added} missing candles (${got.requests} requests) into ${rel(got.file)}`);
      if (got.added > 0 || !loaded) loaded = await load(got.file);
      found = got.file;
    }
    if (!found || !loaded) {
      const { fromText, toText } = target.range;
      const range = fromText && toText ? ` --from ${fromText} --to ${toText}` : ' --from YYYY-MM-DD --to YYYY-MM-DD';
      throw new MissingDataError(`no ${symbol} ${interval} candles in ${candlePath(data.dataDir, category, symbol, interval)}; get them with \`pyr download --symbol ${symbol} --interval ${interval}${range}\`, or pass --candles <file>`);
    }
    file = found;
  }
  const { series, report } = loaded;
  const step = intervalMs(interval);
  if (report.rows >= 2 && interval !== 'M' && report.intervalMs !== step) {
    throw new ConfigError(`--interval ${interval}: ${file} holds ${report.intervalMs / 60000}-minute candles, not ${step / 60000}-minute ones`);
  }
  if (report.gaps.count > 0) {
    notices.push(`the candle file has ${report.gaps.count} missing candles; the largest gap is ${(report.gaps.largestMs / 60000).toFixed(0)} minutes${report.gaps.largestAt !== undefined ? ` from ${new Date(report.gaps.largestAt).toISOString()}` : ''}`);
  }

  // Funding: the given file, else funding.csv beside the candles (in the store, or next to --candles).
  const fundingFile = data.funding ?? findFundingFile(data.kind === 'file' ? path.dirname(file) : data.dataDir, category, symbol);
  if (data.funding && !existsSync(data.funding)) throw new MissingDataError(`${data.kind === 'file' && data.sample ? '--sample' : '--funding'}: file not found: ${data.funding}`);
  const funding = fundingFile ? { file: fundingFile, history: await readFundingFile(fundingFile) } : undefined;
  const fundingNone = funding
    ? undefined
    : `no funding history ${data.kind === 'file' ? `next to ${file} (funding.csv) or given with --funding` : `at ${path.join(path.dirname(candlePath(data.dataDir, category, symbol, interval)), 'funding.csv')}`}`;
  return { series, report, file, interval, funding, fundingNone, notices };
}
