/**
 * `pyr download`: fetches Bybit candles (and funding history, and the instruments snapshot) into the data
 * store, only what is missing. See lib/data/download.ts for how it decides what to fetch, the gap
 * sidecar, retries and the rate limiter.
 */
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, DAY_MS, intervalLabel, parseInterval } from '../core/index.ts';
// bybit-api is loaded only when the command runs (CLI start-up stays fast for the other commands).
import type { DownloadCategory, DownloadResult, GapRange } from '../data/download.ts';
import { createProgress, writeWarning } from '../report/index.ts';
import type { CliIo } from './backtest.ts';
import { dayString, parseDay } from '../config/index.ts';
import { readConfigFile } from './config.ts';

const CATEGORIES: readonly DownloadCategory[] = ['linear', 'inverse', 'spot'];

/** UTC "YYYY-MM-DD HH:MM". */
function fmtTime(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

export interface DownloadFlags {
  symbol?: string;
  interval?: string;
  from?: string;
  to?: string;
  category?: string;
  testnet?: boolean;
  dataDir?: string;
  restUrl?: string;
  funding?: boolean;
  json?: boolean;
  config?: string;
  retries?: string;
  backoff?: string;
  timeout?: string;
  rps?: string;
  pageSize?: string;
  saveEvery?: string;
}

function numberFlag(text: string | undefined, flag: string, opts: { integer?: boolean; min: number; max: number }): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v)) || v < opts.min || v > opts.max) {
    throw new ConfigError(`${flag}: expected ${opts.integer ? 'a whole number' : 'a number'} from ${opts.min} to ${opts.max}, got "${text}"`);
  }
  return v;
}

function gapText(gaps: readonly GapRange[]): string {
  if (gaps.length === 0) return 'no gaps';
  const n = gaps.reduce((s, g) => s + g.candles, 0);
  const largest = gaps.reduce((a, b) => (b.candles > a.candles ? b : a));
  return `${n} missing on the exchange in ${gaps.length} gap${gaps.length === 1 ? '' : 's'} (largest ${largest.candles} from ${fmtTime(largest.from)} UTC)`;
}

/** The `--json` object. */
export function downloadSummaryJson(r: DownloadResult): Record<string, unknown> {
  const gap = (g: GapRange) => ({ from: new Date(g.from).toISOString(), to: new Date(g.to).toISOString(), candles: g.candles });
  return {
    symbol: r.symbol,
    category: r.category,
    interval: r.interval,
    file: r.file,
    from: new Date(r.from).toISOString(),
    to: new Date(r.to).toISOString(),
    cutAt: r.cutAt !== undefined ? new Date(r.cutAt).toISOString() : null,
    added: r.added,
    expected: r.expected,
    present: r.present,
    rows: r.rows,
    first: r.first !== undefined ? new Date(r.first).toISOString() : null,
    last: r.last !== undefined ? new Date(r.last).toISOString() : null,
    gaps: r.gaps.map(gap),
    missingOnExchange: r.gaps.reduce((s, g) => s + g.candles, 0),
    requests: r.requests,
    funding: r.funding
      ? {
          file: r.funding.file,
          added: r.funding.added,
          rows: r.funding.rows,
          expected: r.funding.expected,
          gaps: r.funding.gaps.map(gap),
          cutAt: r.funding.cutAt !== undefined ? new Date(r.funding.cutAt).toISOString() : null,
          fundingIntervalMinutes: r.funding.fundingIntervalMin,
        }
      : null,
    instruments: r.instruments ?? null,
    notices: r.notices,
  };
}

/** The one-line summary. */
export function downloadSummaryLine(r: DownloadResult, cwd: string): string {
  const rel = (f: string): string => {
    const p = path.relative(cwd, f);
    return p && !p.startsWith('..') ? p : f;
  };
  const covered = r.rows > 0 ? `file now ${r.rows} candles ${fmtTime(r.first!)} → ${fmtTime(r.last!)} UTC` : 'file empty';
  const parts = [
    `${r.symbol} ${intervalLabel(r.interval)} (${r.category}): +${r.added} candles`,
    `${r.present}/${r.expected} of the range in ${rel(r.file)}${r.cutAt !== undefined ? ` (cut at ${fmtTime(r.cutAt)} UTC: not closed yet)` : ''}`,
    covered,
    gapText(r.gaps),
  ];
  if (r.funding) parts.push(`funding +${r.funding.added} (${r.funding.rows}/${r.funding.expected} settlements${r.funding.gaps.length ? `, ${r.funding.gaps.reduce((s, g) => s + g.candles, 0)} absent on the exchange` : ''})`);
  if (r.instruments?.updated) parts.push(`instruments saved to ${rel(r.instruments.file)}`);
  parts.push(`${r.requests} request${r.requests === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** Runs `pyr download` from flags; returns the result. Throws PyrErrors for bad input and failures. */
export async function download(flags: DownloadFlags, io: CliIo): Promise<DownloadResult> {
  const { config } = readConfigFile(flags.config, io.cwd);
  const symbol = (flags.symbol ?? config.symbol ?? 'BTCUSDT').toUpperCase();
  if (!/^[A-Z0-9]{2,30}$/.test(symbol)) throw new ConfigError(`--symbol: "${symbol}" is not a symbol such as BTCUSDT`);
  const interval = parseInterval(flags.interval ?? config.interval ?? '15');
  const category = (flags.category ?? config.category ?? 'linear') as DownloadCategory;
  if (!CATEGORIES.includes(category)) throw new ConfigError(`--category: "${category}" is not one of ${CATEGORIES.join(', ')}`);
  const fromText = flags.from ?? config.from;
  if (fromText === undefined) throw new ConfigError('--from: required (the first UTC day, YYYY-MM-DD)');
  const from = parseDay(fromText, '--from');
  const toText = flags.to ?? config.to;
  const toDay = toText !== undefined ? parseDay(toText, '--to') : Math.floor(Date.now() / DAY_MS) * DAY_MS;
  if (from > toDay) throw new ConfigError(`--from ${fromText} is after --to ${toText ?? dayString(toDay)}`);
  const dataDir = path.resolve(io.cwd, flags.dataDir ?? config.dataDir ?? 'data');
  const restUrl = flags.restUrl ?? (io.env.PYR_BYBIT_REST_URL || undefined) ?? config.restUrl;
  if (restUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(restUrl)) {
    const where = flags.restUrl !== undefined ? '--rest-url' : io.env.PYR_BYBIT_REST_URL ? 'PYR_BYBIT_REST_URL' : 'restUrl (config)';
    throw new ConfigError(`${where}: "${restUrl}" is not an http(s) URL`);
  }
  const retries = numberFlag(flags.retries, '--retries', { integer: true, min: 0, max: 20 });
  const backoff = numberFlag(flags.backoff, '--backoff', { min: 0, max: 60 });
  const timeout = numberFlag(flags.timeout, '--timeout', { min: 0.001, max: 600 });
  const rps = numberFlag(flags.rps, '--rps', { min: 0.01, max: 100 });
  const pageSize = numberFlag(flags.pageSize, '--page-size', { integer: true, min: 1, max: 1000 });
  const saveEvery = numberFlag(flags.saveEvery, '--save-every', { integer: true, min: 1, max: 1_000_000 });

  const { downloadCandles } = await import('../data/download.ts');
  let bar: ReturnType<typeof createProgress> | undefined;
  // Messages on stderr: plain lines, and warnings as every command writes them (`warning: ...`).
  // The bar's line is erased first; the next update redraws it under the message.
  const say = (m: string): void => {
    bar?.clear();
    io.stderr.write(`${m}\n`);
  };
  const warn = (m: string): void => {
    bar?.clear();
    writeWarning(io.stderr, m, io.env);
  };
  const label = `${symbol} ${intervalLabel(interval)}`;

  // Ctrl-C: stop after the requests in flight and save what was fetched (a second Ctrl-C kills).
  const abort = new AbortController();
  const onSigint = (): void => {
    process.off('SIGINT', onSigint);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  let result: DownloadResult;
  try {
    result = await downloadCandles({
      dataDir, category, symbol, interval, from, to: toDay + DAY_MS,
      restUrl, testnet: flags.testnet === true, funding: flags.funding !== false,
      retries, backoff, timeoutMs: timeout === undefined ? undefined : timeout * 1000, requestsPerSecond: rps, pageSize, saveEvery,
      logger: { info: (m) => say(m), warn: (m) => warn(m) },
      onProgress: (done, total) => {
        if (!io.stderr.isTTY || flags.json) return;
        bar ??= createProgress({ stream: io.stderr, label, total, unit: 'candles' });
        bar.update(done);
      },
      signal: abort.signal,
    });
    bar?.done();
  } catch (err) {
    // Interrupted (Ctrl-C) or failed: the bar stays where it got to, then main prints what was not fetched.
    bar?.stop();
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (result.gaps.length > 0 && !flags.json) {
    for (const g of result.gaps.slice(0, 10)) warn(`the exchange has no ${label} candles ${fmtTime(g.from)} → ${fmtTime(g.to)} UTC (${g.candles}); remembered in ${path.relative(io.cwd, result.gapsFile) || result.gapsFile}`);
    if (result.gaps.length > 10) warn(`... and ${result.gaps.length - 10} more gaps`);
  }
  if (flags.json) io.stdout.write(`${JSON.stringify(downloadSummaryJson(result), null, 2)}\n`);
  else io.stdout.write(`${downloadSummaryLine(result, io.cwd)}\n`);
  return result;
}

export function downloadCommand(io: CliIo): Command {
  return new Command('download')
    .description('Download Bybit candles, funding history and the instruments snapshot into the data store (only what is missing)')
    .option('--symbol <symbol>', 'symbol, e.g. BTCUSDT (default BTCUSDT)')
    .option('--interval <interval>', 'Bybit interval: 1 3 5 15 30 60 120 240 360 720 D W M (default 15)')
    .option('--from <YYYY-MM-DD>', 'first UTC day, inclusive (required)')
    .option('--to <YYYY-MM-DD>', 'last UTC day, inclusive (default today; cut at the last closed candle)')
    .option('--category <category>', 'linear, inverse or spot (default linear)')
    .option('--testnet', 'use Bybit testnet (ignored with a REST URL)')
    .option('--data-dir <dir>', 'data store folder (default data)')
    .option('--rest-url <url>', 'REST base URL (a mirror or the local exchange); default env PYR_BYBIT_REST_URL, then config restUrl, then Bybit')
    .option('--no-funding', 'skip the funding-rate history')
    .option('--json', 'print the summary as JSON')
    .option('--config <file>', 'config file (default: pyr.config.json when present)')
    .option('--retries <n>', 'retries of a failed request (default 3)')
    .option('--backoff <seconds>', 'backoff factor: waits factor x 2^attempt seconds between tries (default 0.5)')
    .option('--timeout <seconds>', 'time-out of one request (default 10)')
    .option('--rps <n>', 'at most this many requests per second (default 10; Bybit allows 600 per 5 s per IP)')
    .option('--page-size <n>', 'candles per request, 1-1000 (default 1000)')
    .option('--save-every <pages>', 'merge and write the file every N pages (default 100, and every 10 s)')
    .action(async (flags: DownloadFlags) => {
      await download(flags, io);
    });
}
