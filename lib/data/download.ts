/**
 * Downloads Bybit candles, funding history and the instruments snapshot into pyr's data store, fetching
 * only what the store does not hold yet. The only module of lib/data that talks to the exchange (through
 * the Bybit adapter's REST client, `BybitRest`, public endpoints, no key).
 *
 * Candles (`GET /v5/market/kline`) go to `<dataDir>/bybit/<category>/<SYMBOL>/<interval>.csv`:
 *
 * 1. The existing file is read and validated (a corrupt file stops everything with the file, line and
 *    field, and nothing is written). The candle times of the requested range that are neither in the
 *    file nor known exchange gaps (below) are grouped into runs of consecutive candles.
 * 2. Nothing missing: no request at all. Otherwise one probe asks for the exchange's newest candle. Bybit
 *    always includes the still-open candle, so the newest candle is open and every candle before it is
 *    closed; the envelope `time` (the server clock) bounds it too: a candle counts as closed when it
 *    opens before the newest candle and its open time + interval <= the server time. The local clock is
 *    never used. Missing candles from there on are not fetched: the range is cut (and the summary says so).
 * 3. The runs are fetched in windows of at most `pageSize` (1000) candles, `start` and `end` both set, so a
 *    window is always answered whole, whichever end the exchange would cut. Answers are newest first:
 *    they are sorted, validated, and kept only inside the window.
 * 4. Every `saveEvery` pages (and every `saveEveryMs`), and on any failure or interrupt, the fetched
 *    candles are merged into the file, which is replaced atomically (writeFileAtomic: temp file +
 *    rename). A crash leaves the last complete version; the next run computes what is still missing and
 *    finishes the job. The merge splices the new candles' lines between slices of the file's own bytes
 *    (lines in writeCandleFileAtomic's layout), so a checkpoint of a year of 1-minute candles is a copy,
 *    not a reformat of half a million rows (writeCandleFileAtomic takes seconds for that).
 *
 * Real exchange gaps: candle times inside a fetched window (all closed) that the exchange did not return
 * do not exist on the exchange. They are never invented; they are remembered in a sidecar beside the CSV,
 * `<interval>.gaps.json`: `{"version":1,"symbol","category","interval","ranges":[{"from","to","candles","utc"}]}`
 * with `from`/`to` the first and last missing open time (epoch ms, inclusive). Later runs do not ask for
 * them again, and the summary reports them. Delete the sidecar to have them asked for again.
 *
 * Turnover: pyr's files keep it empty when the source did not keep it. Bybit never reports a turnover of
 * 0 for a candle with volume (the sandbox answers "0" for a file without turnover), so "0" with a
 * non-zero volume is stored as empty (unknown); "0" with zero volume is kept.
 *
 * Funding (`GET /v5/market/funding/history`, linear and inverse) goes to `funding.csv` beside the
 * candles (`timestamp,fundingRate`, the rate's exact text as the exchange sent it), the same way: the
 * settlement slots of the range (every `fundingInterval` minutes of the instrument, default 480) missing
 * from the file are fetched in windows of at most 200, up to the newest settlement the exchange has;
 * slots the exchange confirms empty go to `funding.gaps.json`.
 *
 * The instruments snapshot (`GET /v5/market/instruments-info`) is saved to
 * `<dataDir>/bybit/<category>/instruments.json` as `{category, list}`, merged by symbol: fetched when the
 * snapshot lacks the symbol, and refreshed whenever the run talks to the exchange anyway.
 *
 * Requests go through the one Bybit REST client, `BybitRest` (lib/brokers/bybit/client.ts, public
 * endpoints, no key): retried on network errors, time-outs, HTTP 5xx/429 and Bybit's server-side and
 * rate-limit retCodes with exponential backoff, never on HTTP 403 (an IP ban: the download fails at once
 * and says so); spaced by its client-side limiter (10 requests/s by default, far below Bybit's 600 per
 * 5 s per IP), at most `concurrency` in flight.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { BybitRest, DEFAULT_RETRY, type Envelope, type RestClientV5, type RetryPolicy } from '../brokers/bybit/client.ts';
import { type CandleSeries, type Interval, intervalMs, intervalStart, nextIntervalStart } from '../core/candle.ts';
import { ConfigError, DataError, ExchangeError, InterruptedError, MissingDataError } from '../core/errors.ts';
import { CANDLE_HEADER, readCandleFile } from './csv.ts';
import { candlePath, findCandleFile, fundingPath, instrumentsPath, readFundingFile, readInstrumentsDoc, writeFileAtomic } from './store.ts';

export type DownloadCategory = 'linear' | 'inverse' | 'spot';
export const DOWNLOAD_CATEGORIES: readonly DownloadCategory[] = ['linear', 'inverse', 'spot'];

/** A run of consecutive missing candle (or settlement) times; `from`/`to` are inclusive open times. */
export interface GapRange {
  readonly from: number;
  readonly to: number;
  /** Candles (or settlements) in the run. */
  readonly candles: number;
}

export interface DownloadLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface DownloadOptions {
  readonly dataDir: string;
  readonly category?: DownloadCategory;
  readonly symbol: string;
  readonly interval: Interval;
  /** Epoch ms: the first candle opening at or after `from`... */
  readonly from: number;
  /** ...up to the last candle opening before `to` (exclusive). */
  readonly to: number;
  /** REST base URL (a mirror or the local exchange); default the SDK's mainnet or testnet host. */
  readonly restUrl?: string;
  readonly testnet?: boolean;
  /** Download candles (default true); false: only funding and the instruments snapshot (the candle file is still read for the summary). */
  readonly candles?: boolean;
  /** Also download funding history (default true; never for spot). */
  readonly funding?: boolean;
  /** Save the instruments snapshot (default true). */
  readonly instruments?: boolean;
  /** Tries after the first (default 3). */
  readonly retries?: number;
  /** Backoff factor in seconds (default 0.5): waits factor × 2^attempt. */
  readonly backoff?: number;
  /** Per-request time-out in ms (the SDK's axios `timeout`; default 10 000). */
  readonly timeoutMs?: number;
  /** Client-side limit on request starts per second (default 10). */
  readonly requestsPerSecond?: number;
  /** Candles per kline request, 1..1000 (default 1000). */
  readonly pageSize?: number;
  /** Requests in flight at once (default 4). */
  readonly concurrency?: number;
  /** Merge and write the file after this many pages (default 100)... */
  readonly saveEvery?: number;
  /** ...or this many ms since the last write (default 10 000), whichever comes first. */
  readonly saveEveryMs?: number;
  readonly logger?: DownloadLogger;
  /** Candles fetched so far (window sizes, gaps included) of the total to fetch. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Aborting stops after the requests in flight, saves what was fetched and throws InterruptedError. */
  readonly signal?: AbortSignal;
}

export interface FundingResult {
  readonly file: string;
  readonly added: number;
  /** Settlements in the (cut) range now in the file. */
  readonly rows: number;
  /** Settlement slots of the range (every fundingInterval minutes). */
  readonly expected: number;
  /** Slots the exchange has no settlement for. */
  readonly gaps: GapRange[];
  /** Slots from here on are after the newest settlement: not available yet. */
  readonly cutAt?: number;
  readonly fundingIntervalMin: number;
}

export interface DownloadResult {
  readonly symbol: string;
  readonly category: DownloadCategory;
  readonly interval: Interval;
  readonly file: string;
  /** The requested range [from, to). */
  readonly from: number;
  readonly to: number;
  /** Set when the range reached past the last closed candle: candles from here on are not available yet. */
  readonly cutAt?: number;
  /** Candle times in the (cut) range. */
  readonly expected: number;
  /** Of those, candles now in the file. */
  readonly present: number;
  /** Candles added to the file by this run. */
  readonly added: number;
  /** The whole file after the run. */
  readonly rows: number;
  readonly first?: number;
  readonly last?: number;
  /** Runs of the range the exchange has no candles for (remembered in the sidecar). */
  readonly gaps: GapRange[];
  readonly gapsFile: string;
  /** Requests sent (retries included). */
  readonly requests: number;
  readonly funding?: FundingResult;
  readonly instruments?: { readonly file: string; readonly updated: boolean };
  readonly notices: string[];
}

const KLINE_PATH = '/v5/market/kline';
const FUNDING_PATH = '/v5/market/funding/history';
const FUNDING_PAGE = 200;
const DEFAULT_FUNDING_INTERVAL_MIN = 480;
const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

// ---------------------------------------------------------------------------------------------------
// time grid

/** Open time of the candle holding `t` (Bybit's alignment: weeks on Monday, months on the 1st). */
export const candleOpenAt = intervalStart;

/** First candle open time at or after `t`. */
export function candleOpenAtOrAfter(interval: Interval, t: number): number {
  const o = candleOpenAt(interval, t);
  return o === t ? t : nextIntervalStart(interval, o);
}

/** UTC "YYYY-MM-DD HH:MM" for messages. */
export function fmtTime(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

function fmtRange(from: number, to: number): string {
  return from === to ? `${fmtTime(from)} UTC` : `${fmtTime(from)} → ${fmtTime(to)} UTC`;
}

/** Membership over a sorted list of times, walked forward only. */
class SortedCursor {
  private i = 0;
  constructor(private readonly times: ArrayLike<number>) {}
  has(t: number): boolean {
    const a = this.times;
    while (this.i < a.length && a[this.i]! < t) this.i++;
    return this.i < a.length && a[this.i] === t;
  }
}

/** Membership over sorted, non-overlapping inclusive ranges, walked forward only. */
class RangeCursor {
  private i = 0;
  constructor(private readonly ranges: readonly GapRange[]) {}
  has(t: number): boolean {
    const r = this.ranges;
    while (this.i < r.length && r[this.i]!.to < t) this.i++;
    return this.i < r.length && r[this.i]!.from <= t;
  }
}

/** Walks the grid [from, to) (from on the grid) and groups the times `wanted` accepts into runs. */
function runsOf(from: number, to: number, next: (t: number) => number, wanted: (t: number) => boolean): { runs: GapRange[]; count: number; total: number } {
  const runs: GapRange[] = [];
  let count = 0;
  let total = 0;
  let cur: { from: number; to: number; candles: number } | undefined;
  for (let t = from; t < to; t = next(t)) {
    total++;
    if (wanted(t)) {
      count++;
      if (cur) {
        cur.to = t;
        cur.candles++;
      } else cur = { from: t, to: t, candles: 1 };
    } else if (cur) {
      runs.push(cur);
      cur = undefined;
    }
  }
  if (cur) runs.push(cur);
  return { runs, count, total };
}

/** Splits runs into windows of at most `size` grid times. */
function windowsOf(runs: readonly GapRange[], size: number, next: (t: number) => number): GapRange[] {
  const out: GapRange[] = [];
  for (const r of runs) {
    let start = r.from;
    let left = r.candles;
    while (left > 0) {
      const n = Math.min(size, left);
      let end = start;
      for (let k = 1; k < n; k++) end = next(end);
      out.push({ from: start, to: end, candles: n });
      left -= n;
      start = next(end);
    }
  }
  return out;
}

/** Sorted union of ranges; ranges that touch on the grid (`next(a.to) === b.from`) are joined. */
function mergeRanges(ranges: readonly GapRange[], next: (t: number) => number): GapRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: { from: number; to: number; candles: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && (r.from <= last.to || next(last.to) === r.from)) {
      if (r.to > last.to) {
        // count only the part beyond the current end
        let extra = 0;
        for (let t = next(last.to); t <= r.to; t = next(t)) extra++;
        last.to = r.to;
        last.candles += extra;
      }
    } else out.push({ ...r });
  }
  return out;
}

function rangesWithin(ranges: readonly GapRange[], from: number, toExclusive: number, next: (t: number) => number): GapRange[] {
  const out: GapRange[] = [];
  for (const r of ranges) {
    if (r.to < from || r.from >= toExclusive) continue;
    let a = r.from;
    while (a < from) a = next(a);
    let b = a;
    let n = 1;
    for (let t = next(a); t <= r.to && t < toExclusive; t = next(t)) {
      b = t;
      n++;
    }
    out.push({ from: a, to: b, candles: n });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// gap sidecars

function gapsPathFor(dataFile: string): string {
  return dataFile.replace(/\.csv(\.gz)?$/, '.gaps.json');
}

function readGapsFile(file: string): GapRange[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new DataError(`cannot read the gaps file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file }, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataError(`not valid JSON: ${(err as Error).message} (delete it to have the gaps asked for again)`, { file }, { cause: err });
  }
  const ranges = (json as { ranges?: unknown })?.ranges;
  if (!Array.isArray(ranges)) throw new DataError('expected {"ranges": [{"from", "to", "candles"}]}', { file, field: 'ranges' });
  return ranges.map((r, i) => {
    const x = r as { from?: unknown; to?: unknown; candles?: unknown };
    if (!Number.isSafeInteger(x?.from) || !Number.isSafeInteger(x?.to) || (x.to as number) < (x.from as number) || !Number.isSafeInteger(x?.candles) || (x.candles as number) < 1) {
      throw new DataError('each range needs integer "from" <= "to" (epoch ms) and "candles" >= 1', { file, field: `ranges[${i}]` });
    }
    return { from: x.from as number, to: x.to as number, candles: x.candles as number };
  });
}

function writeGapsFile(file: string, head: Record<string, string>, ranges: readonly GapRange[]): void {
  const body = {
    version: 1,
    ...head,
    note: 'Times the exchange confirmed it has no data for (from/to: first and last missing open time, epoch ms, inclusive). pyr download does not ask for them again; delete this file to have them asked for again.',
    ranges: ranges.map((r) => ({ from: r.from, to: r.to, candles: r.candles, utc: fmtRange(r.from, r.to) })),
  };
  writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------------
// instruments snapshot

interface SnapshotDoc {
  category?: string;
  list: Record<string, unknown>[];
}

/** The saved snapshot (lib/data/store's reader), with every item checked to name its symbol. */
function readSnapshotDoc(file: string): SnapshotDoc | undefined {
  const doc = readInstrumentsDoc(file);
  if (!doc) return undefined;
  if (doc.list.some((x) => !x || typeof x !== 'object' || typeof (x as { symbol?: unknown }).symbol !== 'string')) {
    throw new DataError('expected an instruments-info result: { list: [ { symbol, ... } ] }', { file, field: 'list' });
  }
  return { category: doc.category, list: doc.list as Record<string, unknown>[] };
}

function fundingIntervalOf(item: Record<string, unknown> | undefined): number | undefined {
  const v = Number(item?.fundingInterval);
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

// ---------------------------------------------------------------------------------------------------
// candle pages

/** A validated candle: its open time and its line in pyr's layout (with the `\n`). */
interface KlineRow {
  readonly t: number;
  readonly line: string;
}

function num(text: unknown, what: string): number {
  if (typeof text !== 'string' || !DECIMAL_RE.test(text)) throw new ExchangeError(`${what} is not a number: ${JSON.stringify(text)}`);
  const v = Number(text);
  if (!Number.isFinite(v)) throw new ExchangeError(`${what} is not a finite number: ${JSON.stringify(text)}`);
  return v;
}

const CANONICAL_RE = /^(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/**
 * The text pyr writes for a value: `String(Number(text))`, the shortest round-trip form (what
 * writeCandleFileAtomic writes). A plain decimal without superfluous zeros, with at most 15 significant
 * digits and between 1e-6 and 1e21, is already that form (two such decimals never share a double), so it
 * is kept as sent, which spares formatting half a million floats for a year of 1-minute candles.
 */
function valueText(text: string, v: number): string {
  if (CANONICAL_RE.test(text) && (v === 0 || (v >= 1e-6 && v < 1e21))) {
    const digits = text.replace('.', '').replace(/^0+/, '').length;
    if (digits <= 15) return text;
  }
  return String(v);
}

/** One kline list item → a validated row. Throws ExchangeError naming the candle. */
function parseKline(item: unknown, where: string): KlineRow {
  if (!Array.isArray(item) || item.length < 6) throw new ExchangeError(`${where}: a kline item is not [startTime, open, high, low, close, volume, turnover]: ${JSON.stringify(item)}`);
  const t = num(item[0], `${where}: startTime`);
  if (!Number.isSafeInteger(t) || t < 0) throw new ExchangeError(`${where}: startTime ${item[0]} is not epoch ms`);
  const at = `${where}: candle ${fmtTime(t)} UTC`;
  const o = num(item[1], `${at}: open`);
  const h = num(item[2], `${at}: high`);
  const l = num(item[3], `${at}: low`);
  const c = num(item[4], `${at}: close`);
  const v = num(item[5], `${at}: volume`);
  const rawTv = item[6];
  let tv = rawTv === undefined || rawTv === '' ? NaN : num(rawTv, `${at}: turnover`);
  if (tv === 0 && v > 0) tv = NaN; // "0" with volume: the source kept no turnover (see the header)
  if (!(o > 0 && h > 0 && l > 0 && c > 0)) throw new ExchangeError(`${at}: prices must be > 0`);
  if (!(v >= 0) || tv < 0) throw new ExchangeError(`${at}: volume and turnover must be >= 0`);
  if (h < o || h < c || l > o || l > c) throw new ExchangeError(`${at}: high/low do not bound open/close (${item.slice(1, 5).join(', ')})`);
  const x = item as string[];
  const line = `${t},${valueText(x[1]!, o)},${valueText(x[2]!, h)},${valueText(x[3]!, l)},${valueText(x[4]!, c)},${valueText(x[5]!, v)},${Number.isNaN(tv) ? '' : valueText(x[6]!, tv)}\n`;
  return { t, line };
}

/**
 * The candle file as bytes: the header, then one `\n`-terminated line per candle, ascending, with
 * `times` their open times. New candles are merged in by splicing their lines between slices of the
 * existing bytes, so a checkpoint costs a copy, not a reformat of every row.
 */
interface CandleBytes {
  buf: Buffer;
  times: Float64Array;
}

function formatSeriesLines(s: CandleSeries): Buffer {
  const parts: string[] = [`${CANDLE_HEADER}\n`];
  for (let i = 0; i < s.length; i++) {
    const tv = s.turnover[i]!;
    parts.push(`${s.openTime[i]},${s.open[i]},${s.high[i]},${s.low[i]},${s.close[i]},${s.volume[i]},${Number.isNaN(tv) ? '' : tv}\n`);
  }
  return Buffer.from(parts.join(''), 'latin1');
}

/** Line start offsets of the rows of `b` (plus the end); undefined when `b` is not one clean line per row. */
function rowOffsets(b: CandleBytes): Float64Array | undefined {
  const { buf, times } = b;
  const off = new Float64Array(times.length + 1);
  let pos = buf.indexOf(10) + 1;
  if (pos <= 0) return undefined;
  for (let i = 0; i < times.length; i++) {
    off[i] = pos;
    const nl = buf.indexOf(10, pos);
    if (nl < 0) return undefined;
    const comma = buf.indexOf(44, pos);
    if (comma < 0 || comma > nl || Number(buf.toString('latin1', pos, comma)) !== times[i]) return undefined;
    pos = nl + 1;
  }
  off[times.length] = pos;
  return pos === buf.length ? off : undefined;
}

/** The existing file's bytes when they are pyr's layout line for line, else the series formatted in it. */
function candleBytesOf(file: string, series: CandleSeries): CandleBytes {
  const times = series.openTime;
  if (series.length === 0) return { buf: Buffer.from(`${CANDLE_HEADER}\n`, 'latin1'), times };
  let raw = fs.readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) raw = zlib.gunzipSync(raw);
  const headerOk = raw.toString('latin1', 0, CANDLE_HEADER.length + 1) === `${CANDLE_HEADER}\n`;
  if (headerOk && raw.indexOf(13) < 0 && raw.indexOf(34) < 0) {
    const b = { buf: raw, times };
    if (rowOffsets(b)) return b;
  }
  return { buf: formatSeriesLines(series), times };
}

/** Merges `rows` (any order; times not already present) into `b`. */
function mergeCandleBytes(b: CandleBytes, rows: KlineRow[]): CandleBytes {
  rows.sort((x, y) => x.t - y.t);
  const off = rowOffsets(b);
  if (!off) throw new Error('download: candle bytes out of step with their times'); // cannot happen: built by candleBytesOf/mergeCandleBytes
  const { buf, times } = b;
  const n = times.length;
  const parts: Buffer[] = [buf.subarray(0, off[0])];
  const merged = new Float64Array(n + rows.length);
  let k = 0;
  let i = 0;
  let j = 0;
  while (i < n || j < rows.length) {
    if (j >= rows.length || (i < n && times[i]! < rows[j]!.t)) {
      // the old rows before the next new one, as one slice
      const start = i;
      while (i < n && (j >= rows.length || times[i]! < rows[j]!.t)) merged[k++] = times[i++]!;
      parts.push(buf.subarray(off[start], off[i]));
    } else {
      let text = '';
      while (j < rows.length && (i >= n || rows[j]!.t < times[i]!)) {
        if (k === 0 || merged[k - 1] !== rows[j]!.t) {
          merged[k++] = rows[j]!.t;
          text += rows[j]!.line;
        }
        j++;
      }
      if (j < rows.length && i < n && rows[j]!.t === times[i]) j++; // already in the file: keep the file's
      parts.push(Buffer.from(text, 'latin1'));
    }
  }
  return { buf: Buffer.concat(parts), times: merged.subarray(0, k) };
}

// ---------------------------------------------------------------------------------------------------
// the download

function checkOptions(o: DownloadOptions): void {
  if (!/^[A-Z0-9]{2,30}$/.test(o.symbol)) throw new ConfigError(`--symbol: "${o.symbol}" is not a symbol such as BTCUSDT`);
  if (o.category !== undefined && !DOWNLOAD_CATEGORIES.includes(o.category)) throw new ConfigError(`--category: "${String(o.category)}" is not one of ${DOWNLOAD_CATEGORIES.join(', ')}`);
  if (!Number.isSafeInteger(o.from) || !Number.isSafeInteger(o.to) || o.from < 0) throw new ConfigError('download: from and to must be epoch ms');
  if (o.from >= o.to) throw new ConfigError(`download: the range ${fmtTime(o.from)} → ${fmtTime(o.to)} UTC is empty`);
  const intOpt = (v: number | undefined, name: string, min: number, max: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) throw new ConfigError(`${name}: must be a whole number from ${min} to ${max}, got ${v}`);
  };
  intOpt(o.retries, '--retries', 0, 20);
  intOpt(o.pageSize, '--page-size', 1, 1000);
  intOpt(o.concurrency, 'concurrency', 1, 16);
  intOpt(o.saveEvery, '--save-every', 1, 1_000_000);
  if (o.backoff !== undefined && !(o.backoff >= 0 && o.backoff <= 60)) throw new ConfigError(`--backoff: must be 0 to 60 seconds, got ${o.backoff}`);
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0)) throw new ConfigError(`--timeout: must be above 0, got ${o.timeoutMs / 1000}`);
  if (o.requestsPerSecond !== undefined && !(o.requestsPerSecond > 0 && o.requestsPerSecond <= 100)) {
    throw new ConfigError(`--rps: must be above 0 and at most 100 (Bybit bans an IP above 600 requests per 5 s), got ${o.requestsPerSecond}`);
  }
  if (o.restUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(o.restUrl)) throw new ConfigError(`--rest-url: "${o.restUrl}" is not an http(s) URL`);
}

/** Downloads what the store lacks of candles (and funding, and the instruments snapshot) in [from, to). */
export async function downloadCandles(options: DownloadOptions): Promise<DownloadResult> {
  const opts: DownloadOptions = { ...options, restUrl: options.restUrl?.trim() || undefined }; // '' = not set
  checkOptions(opts);
  const symbol = opts.symbol;
  const category: DownloadCategory = opts.category ?? 'linear';
  const interval = opts.interval;
  const next = (t: number): number => nextIntervalStart(interval, t);
  const log = opts.logger;
  const notices: string[] = [];
  const notice = (m: string): void => {
    notices.push(m);
    log?.info(m);
  };

  // -- what the store holds (read and validate everything before any request or write)
  const file = findCandleFile(opts.dataDir, category, symbol, interval) ?? candlePath(opts.dataDir, category, symbol, interval);
  const gapsFile = gapsPathFor(file);
  let series: CandleSeries | undefined;
  let times: Float64Array = new Float64Array(0);
  if (fs.existsSync(file)) {
    const { series: s, report } = await readCandleFile(file);
    const step = intervalMs(interval);
    if (report.rows >= 2 && interval !== 'M' && report.intervalMs !== step) {
      throw new DataError(`holds ${report.intervalMs / 60000}-minute candles, not ${interval} (${step / 60000}-minute) ones; move it away or pick its interval`, { file });
    }
    for (let i = 0; i < s.length; i++) {
      if (candleOpenAt(interval, s.openTime[i]!) !== s.openTime[i]) {
        throw new DataError(`timestamp ${s.openTime[i]} is not the open time of a ${interval} candle`, { file, line: i + 2, field: 'timestamp' });
      }
    }
    series = s;
    times = s.openTime;
  }
  let bytes: CandleBytes | undefined; // the file's bytes, built when the first fetched page is saved
  let knownGaps = readGapsFile(gapsFile);
  const gapsHead = { symbol, category, interval };

  const wantFunding = opts.funding !== false && category !== 'spot';
  const fFile = fundingPath(opts.dataDir, category, symbol);
  const fGapsFile = gapsPathFor(fFile);
  let fTimes: number[] = [];
  let fRates: string[] = [];
  let fKnownGaps: GapRange[] = [];
  if (wantFunding) {
    if (fs.existsSync(fFile)) {
      const f = await readFundingFile(fFile);
      fTimes = Array.from(f.times);
      fRates = f.rates;
    }
    fKnownGaps = readGapsFile(fGapsFile);
  }
  const wantInstruments = opts.instruments !== false;
  const iFile = instrumentsPath(opts.dataDir, category);
  const snapshot = wantInstruments || wantFunding ? readSnapshotDoc(iFile) : undefined;
  const snapItem = snapshot?.list.find((x) => x.symbol === symbol);
  let fundingIntervalMin = fundingIntervalOf(snapItem) ?? DEFAULT_FUNDING_INTERVAL_MIN;

  const first = candleOpenAtOrAfter(interval, opts.from);
  const candleMissing = (cutoff: number) => {
    const inFile = new SortedCursor(times);
    const inGaps = new RangeCursor(knownGaps);
    return runsOf(first, Math.min(opts.to, cutoff), next, (t) => !inFile.has(t) && !inGaps.has(t));
  };
  const fundingGrid = () => {
    const step = fundingIntervalMin * 60_000;
    return { step, first: Math.ceil(opts.from / step) * step, next: (t: number) => t + step };
  };
  const fundingMissing = (cutoff: number) => {
    const g = fundingGrid();
    const inFile = new SortedCursor(fTimes);
    const inGaps = new RangeCursor(fKnownGaps);
    return runsOf(g.first, Math.min(opts.to, cutoff + 1), g.next, (t) => !inFile.has(t) && !inGaps.has(t));
  };

  const none = { runs: [] as GapRange[], count: 0, total: 0 };
  let missing = opts.candles === false ? none : candleMissing(Infinity);
  const needNetwork = missing.count > 0 || (wantFunding && fundingMissing(Infinity).count > 0) || (wantInstruments && !snapItem);

  let requests = 0;
  let added = 0;
  let cutAt: number | undefined;
  let fundingResult: FundingResult | undefined;
  let instrumentsResult: { file: string; updated: boolean } | undefined = wantInstruments ? { file: iFile, updated: false } : undefined;

  if (needNetwork) {
    // The one Bybit REST client (lib/brokers/bybit/client.ts), public endpoints, no key: its retries,
    // rate-limit waits and HTTP 403 handling; spaced to `requestsPerSecond`. A 403 (an IP ban) fails the
    // download at once rather than waiting out the ban silently.
    const policy: RetryPolicy = { retries: opts.retries ?? DEFAULT_RETRY.retries, backoffFactor: opts.backoff ?? DEFAULT_RETRY.backoffFactor };
    const rest = new BybitRest({ env: opts.testnet && !opts.restUrl ? 'testnet' : 'mainnet', restUrl: opts.restUrl, timeoutMs: opts.timeoutMs ?? 10_000 }, policy, {
      requestsPerSecond: opts.requestsPerSecond ?? 10,
      pausedRequests: 'fail',
      onRequest: () => void requests++,
      onRetry: (what, attempt, reason, wait) => log?.warn(`${what}: ${reason}; try ${attempt + 1} of ${policy.retries + 1} in ${(wait / 1000).toFixed(wait < 1000 ? 2 : 1)} s`),
      onAlert: (m) => log?.warn(m),
    });
    const client = rest.client;
    const call = <T>(what: string, fn: () => Promise<Envelope<T>>): Promise<Envelope<T>> =>
      rest.call(what, fn, { signal: opts.signal }).then((r) => ({ retCode: 0, retMsg: 'OK', result: r.result, time: r.time }));
    const host = opts.restUrl ?? (opts.testnet ? 'Bybit testnet' : 'Bybit');

    // -- instruments snapshot (also gives the funding interval)
    if (wantInstruments || (wantFunding && !snapItem)) {
      const r = await call(`GET /v5/market/instruments-info ${category} ${symbol} (${host})`, () =>
        client.getInstrumentsInfo({ category, symbol } as Parameters<RestClientV5['getInstrumentsInfo']>[0]) as unknown as Promise<Envelope<{ list?: unknown[] }>>,
      );
      const item = (r.result?.list ?? []).find((x) => (x as { symbol?: unknown })?.symbol === symbol) as Record<string, unknown> | undefined;
      if (!item) {
        log?.warn(`${symbol} is not listed as trading in ${category} instruments-info; the snapshot was not updated`);
      } else {
        fundingIntervalMin = fundingIntervalOf(item) ?? fundingIntervalMin;
        if (wantInstruments) {
          const list = (snapshot?.list ?? []).filter((x) => x.symbol !== symbol);
          list.push(item);
          list.sort((a, b) => String(a.symbol).localeCompare(String(b.symbol)));
          writeFileAtomic(iFile, `${JSON.stringify({ category, list }, null, 2)}\n`);
          instrumentsResult = { file: iFile, updated: true };
        }
      }
    }

    // -- candles
    if (missing.count > 0) {
      const probe = await call(`GET ${KLINE_PATH} ${symbol} ${interval} newest candle (${host})`, () =>
        client.getKline({ category, symbol, interval, limit: 1 }) as unknown as Promise<Envelope<{ list?: unknown[] }>>,
      );
      const newest = probe.result?.list?.[0];
      const serverTime = Number(probe.time);
      let cutoff = Number.isFinite(serverTime) ? candleOpenAt(interval, serverTime) : Infinity; // candles opening before it closed by the server clock
      if (newest !== undefined) cutoff = Math.min(cutoff, parseKline(newest, `${KLINE_PATH} newest candle`).t);
      else cutoff = Math.min(cutoff, first); // the exchange has no candles at all for it
      if (opts.to > cutoff && missing.runs.some((r) => r.to >= cutoff)) {
        cutAt = Math.max(cutoff, first);
        notice(
          cutoff <= first
            ? `the range starts at or after the exchange's open candle (${fmtTime(cutoff)} UTC): nothing to download yet`
            : `the range reaches past the last closed candle: cut at ${fmtTime(cutoff)} UTC (the candle opening then is still open)`,
        );
      }
      missing = candleMissing(cutoff);
      const windows = windowsOf(missing.runs, opts.pageSize ?? 1000, next);
      added = await fetchCandles({
        windows, total: missing.count, call, client, category, symbol, interval, host, opts, file,
        getBytes: () => (bytes ??= series ? candleBytesOf(file, series) : { buf: Buffer.from(`${CANDLE_HEADER}\n`, 'latin1'), times }),
        setBytes: (b) => {
          bytes = b;
          times = b.times;
        },
        addGaps: (g) => {
          knownGaps = mergeRanges([...knownGaps, ...g], next);
        },
        writeGaps: () => {
          if (knownGaps.length > 0) writeGapsFile(gapsFile, gapsHead, knownGaps);
        },
      });
    }

    // -- funding
    if (wantFunding) {
      fundingResult = await fetchFunding({
        call, client, category, symbol, host, opts, file: fFile, gapsFile: fGapsFile,
        fundingIntervalMin, fundingGrid, fundingMissing,
        state: { get times() { return fTimes; }, get rates() { return fRates; }, set: (t, r) => { fTimes = t; fRates = r; } },
        gaps: { get: () => fKnownGaps, set: (g) => (fKnownGaps = g) },
      });
    }
  } else if (wantFunding) {
    fundingResult = summarizeFunding(fFile, fundingGrid, fTimes, fKnownGaps, opts.to, undefined, 0, fundingIntervalMin);
  }

  // -- summary of the range
  const end = Math.min(opts.to, cutAt ?? Infinity);
  const inFile = new SortedCursor(times);
  const { count: present, total: expected } = runsOf(first, end, next, (t) => inFile.has(t));
  const gaps = rangesWithin(knownGaps, first, end, next);
  return {
    symbol, category, interval, file, from: opts.from, to: opts.to,
    ...(cutAt !== undefined ? { cutAt } : {}),
    expected, present, added,
    rows: times.length,
    ...(times.length > 0 ? { first: times[0]!, last: times[times.length - 1]! } : {}),
    gaps, gapsFile, requests,
    ...(fundingResult ? { funding: fundingResult } : {}),
    ...(instrumentsResult ? { instruments: instrumentsResult } : {}),
    notices,
  };
}

type Call = <T>(what: string, fn: () => Promise<Envelope<T>>) => Promise<Envelope<T>>;

async function fetchCandles(a: {
  windows: GapRange[];
  total: number;
  call: Call;
  client: RestClientV5;
  category: DownloadCategory;
  symbol: string;
  interval: Interval;
  host: string;
  opts: DownloadOptions;
  file: string;
  getBytes(): CandleBytes;
  setBytes(b: CandleBytes): void;
  addGaps(g: GapRange[]): void;
  writeGaps(): void;
}): Promise<number> {
  const { windows, opts, symbol, interval, category } = a;
  const next = (t: number): number => nextIntervalStart(interval, t);
  const saveEvery = opts.saveEvery ?? 100;
  const saveEveryMs = opts.saveEveryMs ?? 10_000;
  const concurrency = opts.concurrency ?? 4;
  let pending: KlineRow[] = [];
  let pendingGaps: GapRange[] = [];
  let pagesSinceSave = 0;
  let lastSave = Date.now();
  let added = 0;
  let done = 0;
  let failure: unknown;
  const failedWindows: GapRange[] = [];
  opts.onProgress?.(0, a.total);

  const save = (): void => {
    if (pending.length === 0 && pendingGaps.length === 0) return;
    if (pending.length > 0) {
      const before = a.getBytes();
      const merged = mergeCandleBytes(before, pending);
      writeFileAtomic(a.file, a.file.endsWith('.gz') ? zlib.gzipSync(merged.buf) : merged.buf);
      a.setBytes(merged);
      added += merged.times.length - before.times.length;
    }
    if (pendingGaps.length > 0) {
      a.addGaps(pendingGaps);
      a.writeGaps();
    }
    pending = [];
    pendingGaps = [];
    pagesSinceSave = 0;
    lastSave = Date.now();
  };

  let cursor = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && cursor < windows.length) {
      const w = windows[cursor++]!;
      const what = `GET ${KLINE_PATH} ${symbol} ${interval} ${fmtRange(w.from, w.to)} (${a.host})`;
      let list: unknown[];
      try {
        const r = await a.call(what, () =>
          a.client.getKline({ category, symbol, interval, start: w.from, end: w.to, limit: Math.min(1000, Math.max(w.candles, 1)) }) as unknown as Promise<Envelope<{ list?: unknown[] }>>,
        );
        if (!Array.isArray(r.result?.list)) throw new ExchangeError(`${what}: the answer has no result.list`);
        list = r.result.list;
      } catch (err) {
        failedWindows.push(w);
        failure ??= err;
        return;
      }
      const got = new Map<number, KlineRow>();
      try {
        for (const item of list) {
          const row = parseKline(item, what);
          if (row.t < w.from || row.t > w.to) continue; // outside the window: not asked for
          if (candleOpenAt(interval, row.t) !== row.t) throw new ExchangeError(`${what}: startTime ${row.t} is not on the ${interval} grid`);
          got.set(row.t, row);
        }
      } catch (err) {
        failedWindows.push(w);
        failure ??= err;
        return;
      }
      // Every time of the window is closed: what the exchange did not return does not exist there.
      const absent = runsOf(w.from, next(w.to), next, (t) => !got.has(t)).runs;
      for (const row of got.values()) pending.push(row);
      pendingGaps.push(...absent);
      done += w.candles;
      pagesSinceSave++;
      opts.onProgress?.(done, a.total);
      if (pagesSinceSave >= saveEvery || Date.now() - lastSave >= saveEveryMs) save();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, windows.length) }, () => worker()));
  const fetchedBefore = added + pending.length;
  save();
  if (failure !== undefined) {
    const rest = [...failedWindows, ...windows.slice(cursor)].sort((x, y) => x.from - y.from);
    const restRanges = mergeRanges(rest, next);
    const restCount = rest.reduce((s, w) => s + w.candles, 0);
    const kept = fetchedBefore > 0 ? `the ${fetchedBefore} candles fetched were saved to ${a.file}` : `${a.file} was left as it was`;
    if (failure instanceof InterruptedError) {
      throw new InterruptedError(`interrupted: ${kept}; ${restCount} candles not fetched (${fmtRange(restRanges[0]!.from, restRanges[restRanges.length - 1]!.to)}); run the same command again to fetch the rest`);
    }
    const reason = failure instanceof Error ? failure.message : String(failure);
    const more = restRanges.length > 1 ? ` and ${restRanges.length - 1} more range${restRanges.length > 2 ? 's' : ''}` : '';
    throw new ExchangeError(
      `could not fetch ${symbol} ${interval} candles ${fmtRange(restRanges[0]!.from, restRanges[0]!.to)}${more} (${restCount} candles not fetched): ${reason}. ${kept[0]!.toUpperCase()}${kept.slice(1)}; run the same command again to fetch the rest`,
      { retCode: failure instanceof ExchangeError ? failure.retCode : undefined, retryable: failure instanceof ExchangeError ? failure.retryable : false, cause: failure },
    );
  }
  return added;
}

function summarizeFunding(
  file: string,
  grid: () => { step: number; first: number; next: (t: number) => number },
  times: readonly number[],
  knownGaps: readonly GapRange[],
  to: number,
  cutAt: number | undefined,
  added: number,
  fundingIntervalMin: number,
): FundingResult {
  const g = grid();
  const end = Math.min(to, cutAt ?? Infinity);
  const { total: expected } = runsOf(g.first, end, g.next, () => true);
  let rows = 0;
  for (const t of times) if (t >= g.first && t < end) rows++;
  return { file, added, rows, expected, gaps: rangesWithin(knownGaps, g.first, end, g.next), ...(cutAt !== undefined ? { cutAt } : {}), fundingIntervalMin };
}

async function fetchFunding(a: {
  call: Call;
  client: RestClientV5;
  category: DownloadCategory;
  symbol: string;
  host: string;
  opts: DownloadOptions;
  file: string;
  gapsFile: string;
  fundingIntervalMin: number;
  fundingGrid: () => { step: number; first: number; next: (t: number) => number };
  fundingMissing: (cutoff: number) => { runs: GapRange[]; count: number; total: number };
  state: { readonly times: number[]; readonly rates: string[]; set(t: number[], r: string[]): void };
  gaps: { get(): GapRange[]; set(g: GapRange[]): void };
}): Promise<FundingResult> {
  const { opts, symbol } = a;
  const g = a.fundingGrid();
  if (a.fundingMissing(Infinity).count === 0) return summarizeFunding(a.file, a.fundingGrid, a.state.times, a.gaps.get(), opts.to, undefined, 0, a.fundingIntervalMin);
  const category = a.category as 'linear' | 'inverse';
  type FundingList = { list?: Array<{ fundingRate?: unknown; fundingRateTimestamp?: unknown }> };
  const parse = (items: FundingList['list'], what: string): Array<[number, string]> =>
    (items ?? []).map((x) => {
      const t = Number(x?.fundingRateTimestamp);
      if (!Number.isSafeInteger(t) || t < 0) throw new ExchangeError(`${what}: fundingRateTimestamp ${JSON.stringify(x?.fundingRateTimestamp)} is not epoch ms`);
      if (typeof x.fundingRate !== 'string' || !DECIMAL_RE.test(x.fundingRate)) throw new ExchangeError(`${what}: fundingRate at ${fmtTime(t)} UTC is not a decimal: ${JSON.stringify(x.fundingRate)}`);
      return [t, x.fundingRate];
    });

  // The newest settlement the exchange has: slots after it are not available yet.
  const probeWhat = `GET ${FUNDING_PATH} ${symbol} newest settlement (${a.host})`;
  const probe = await a.call(probeWhat, () => a.client.getFundingRateHistory({ category, symbol, limit: 1 }) as unknown as Promise<Envelope<FundingList>>);
  const newest = parse(probe.result?.list, probeWhat)[0]?.[0];
  const serverTime = Number(probe.time);
  const cutoff = Math.min(newest ?? -1, Number.isFinite(serverTime) ? serverTime : Infinity);
  let cutAt: number | undefined;
  const missing = a.fundingMissing(cutoff);
  const slotAfter = newest === undefined ? g.first : Math.max(g.first, Math.floor(cutoff / g.step) * g.step + g.step);
  if (opts.to > slotAfter && a.fundingMissing(Infinity).runs.some((r) => r.to >= slotAfter)) {
    cutAt = slotAfter;
    a.opts.logger?.info(`funding: the range reaches past the newest settlement${newest !== undefined ? ` (${fmtTime(newest)} UTC)` : ''}: cut at ${fmtTime(slotAfter)} UTC`);
  }
  const windows = windowsOf(missing.runs, FUNDING_PAGE, g.next);
  const got = new Map<number, string>();
  const newGaps: GapRange[] = [];
  let failure: unknown;
  const saveEvery = opts.saveEvery ?? 100;
  let pages = 0;
  const save = (): number => {
    if (got.size === 0 && newGaps.length === 0) return 0;
    const byTime = new Map<number, string>();
    a.state.times.forEach((t, i) => byTime.set(t, a.state.rates[i]!));
    let n = 0;
    for (const [t, r] of got) {
      if (!byTime.has(t)) n++;
      byTime.set(t, r);
    }
    const times = [...byTime.keys()].sort((x, y) => x - y);
    const rates = times.map((t) => byTime.get(t)!);
    if (times.length > 0) writeFileAtomic(a.file, `timestamp,fundingRate\n${times.map((t, i) => `${t},${rates[i]}\n`).join('')}`);
    a.state.set(times, rates);
    got.clear();
    if (newGaps.length > 0) {
      const merged = mergeRanges([...a.gaps.get(), ...newGaps], g.next);
      a.gaps.set(merged);
      writeGapsFile(a.gapsFile, { symbol, category, fundingIntervalMinutes: String(a.fundingIntervalMin) }, merged);
      newGaps.length = 0;
    }
    return n;
  };
  let added = 0;
  let wi = 0;
  for (; wi < windows.length; wi++) {
    const w = windows[wi]!;
    const what = `GET ${FUNDING_PATH} ${symbol} ${fmtRange(w.from, w.to)} (${a.host})`;
    try {
      const seen = new Set<number>();
      let end = w.to;
      for (;;) {
        const r = await a.call(what, () => a.client.getFundingRateHistory({ category, symbol, startTime: w.from, endTime: end, limit: FUNDING_PAGE }) as unknown as Promise<Envelope<FundingList>>);
        if (!Array.isArray(r.result?.list)) throw new ExchangeError(`${what}: the answer has no result.list`);
        const rows = parse(r.result.list, what);
        for (const [t, rate] of rows) {
          if (t < w.from || t > w.to) continue;
          got.set(t, rate);
          seen.add(t);
        }
        // A full page may have been cut (more settlements than slots): ask for the older rest.
        if (rows.length < FUNDING_PAGE) break;
        const oldest = Math.min(...rows.map(([t]) => t));
        if (oldest <= w.from) break;
        end = oldest - 1;
      }
      newGaps.push(...runsOf(w.from, g.next(w.to), g.next, (t) => !seen.has(t)).runs);
    } catch (err) {
      failure = err;
      break;
    }
    if (++pages % saveEvery === 0) added += save();
  }
  added += save();
  if (failure !== undefined) {
    if (failure instanceof InterruptedError) throw failure;
    const left = windows.slice(wi);
    const reason = failure instanceof Error ? failure.message : String(failure);
    throw new ExchangeError(
      `could not fetch ${symbol} funding ${fmtRange(left[0]!.from, left[left.length - 1]!.to)}: ${reason}. ${added > 0 ? `The ${added} settlements fetched were saved to ${a.file}` : `${a.file} was left as it was`}; run the same command again to fetch the rest`,
      { retCode: failure instanceof ExchangeError ? failure.retCode : undefined, retryable: failure instanceof ExchangeError ? failure.retryable : false, cause: failure },
    );
  }
  return summarizeFunding(a.file, a.fundingGrid, a.state.times, a.gaps.get(), opts.to, cutAt, added, a.fundingIntervalMin);
}

// ---------------------------------------------------------------------------------------------------
// for the backtest

export interface EnsureCandlesOptions extends Omit<DownloadOptions, 'category'> {
  readonly category?: string;
}

export interface EnsureCandlesResult {
  readonly file: string;
  readonly added: number;
  readonly requests: number;
  /** Runs of the range the exchange has no candles for. */
  readonly gaps: GapRange[];
  /** Set when the range reaches past the last closed candle. */
  readonly cutAt?: number;
  readonly result: DownloadResult;
}

/** The `pyr download` command that fetches [from, to) (UTC days, inclusive). */
export function downloadCommandFor(o: { symbol: string; interval: Interval; category?: string; from: number; to: number }): string {
  const day = (t: number): string => new Date(t).toISOString().slice(0, 10);
  const cat = o.category && o.category !== 'linear' ? ` --category ${o.category}` : '';
  return `pyr download --symbol ${o.symbol} --interval ${o.interval}${cat} --from ${day(o.from)} --to ${day(Math.max(o.from, o.to - 1))}`;
}

/**
 * Makes sure the store holds the candles of [from, to) (ms, `to` exclusive), downloading what is missing
 * (and the funding history and instruments snapshot, unless turned off). No request when nothing is
 * missing. When the exchange cannot be reached (or refuses), throws a MissingDataError saying what is
 * missing and which `pyr download` command fetches it; a corrupt store file throws its DataError.
 */
export async function ensureCandles(opts: EnsureCandlesOptions): Promise<EnsureCandlesResult> {
  const category = (opts.category ?? 'linear') as DownloadCategory;
  const symbol = opts.symbol.toUpperCase();
  let result: DownloadResult;
  try {
    result = await downloadCandles({ ...opts, symbol, category, funding: false });
  } catch (err) {
    if (!(err instanceof ExchangeError)) throw err;
    const file = findCandleFile(opts.dataDir, category, symbol, opts.interval) ?? candlePath(opts.dataDir, category, symbol, opts.interval);
    throw new MissingDataError(
      `does not hold all ${symbol} ${opts.interval} candles ${fmtRange(candleOpenAtOrAfter(opts.interval, opts.from), candleOpenAt(opts.interval, opts.to - 1))}, and downloading them failed: ${err.message}. Fetch them with \`${downloadCommandFor({ symbol, interval: opts.interval, category, from: opts.from, to: opts.to })}\`, or run with --no-download on the data you have`,
      { file },
      { cause: err },
    );
  }
  let requests = result.requests;
  // Funding is worth having but not worth failing the run for: a failure is a warning.
  if (opts.funding !== false && category !== 'spot') {
    try {
      const f = await downloadCandles({ ...opts, symbol, category, candles: false, instruments: false });
      requests += f.requests;
      result = { ...result, requests, ...(f.funding ? { funding: f.funding } : {}) };
    } catch (err) {
      if (!(err instanceof ExchangeError)) throw err;
      opts.logger?.warn(`funding history not updated: ${err.message}`);
    }
  }
  return { file: result.file, added: result.added, requests, gaps: result.gaps, ...(result.cutAt !== undefined ? { cutAt: result.cutAt } : {}), result };
}

/** The sidecar of a candle or funding file (`15.csv` → `15.gaps.json`). */
export { gapsPathFor };
