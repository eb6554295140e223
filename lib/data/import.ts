/**
 * Converts other people's candle files into pyr's layout (`pyr import`).
 *
 * Inputs:
 * - Binance's public kline files (data.binance.vision): 12 columns, `open_time, open, high, low, close,
 *   volume, close_time, quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore`, with no
 *   header (older files) or that header (newer ones). Times are epoch milliseconds, and microseconds in
 *   spot files from 2025 on: the unit is told by magnitude. `quote_volume` becomes pyr's `turnover`, and
 *   `close_time` is checked against the interval (open + interval - 1 in the file's unit), which
 *   catches a wrong `--interval` on the first row.
 * - Any CSV with a header, its columns found by common names (timestamp/time/date/open_time, open/o, …)
 *   or given with a mapping (`timestamp=open_time,open=o`), times in ms, s, µs or ISO 8601 (a time
 *   without a zone is UTC). Parsed with csv-parse, so quoted fields work and line numbers are real.
 * - Either one plain, gzip-compressed, or inside a ZIP archive (the monthly/daily Binance downloads):
 *   the archive's `.csv` entries are read in name order (stored or deflated entries, read with
 *   node:zlib; see `readZipEntries`).
 *
 * Every row is validated like readCandleFile does (numbers, prices > 0, volume >= 0, high/low around
 * open and close), plus: open time on the interval's grid (Bybit's alignment), strictly ascending, and
 * the file's step equal to the interval. Up to 20 errors are collected, each with its line and field,
 * and then one DataError lists them: nothing is written from an invalid file.
 *
 * Output: pyr's layout, written atomically (temp file + rename). An existing target is never replaced
 * silently: `merge` unions the two by open time (identical candles once; a candle present in both with
 * different values is an error naming its time, and nothing is written; a turnover missing on one
 * side is taken from the other), `force` replaces it, and without either the import stops and says so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parse as csvParse } from 'csv-parse/sync';
import { intervalMs, nextIntervalStart, seriesFromCandles, type Candle, type CandleSeries, type Interval } from '../core/candle.ts';
import { ConfigError, DataError } from '../core/errors.ts';
import { readCandleFile } from './csv.ts';
import { writeCandleFileAtomic } from './store.ts';
import { isAlignedTo } from './resample.ts';
import { findGaps } from './check.ts';

export type ImportFormat = 'auto' | 'binance' | 'generic';
export type TimeUnit = 'auto' | 'ms' | 's' | 'us' | 'iso';
export const IMPORT_FIELDS = ['timestamp', 'open', 'high', 'low', 'close', 'volume', 'turnover'] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];
export type ColumnMap = Partial<Record<ImportField, string>>;

export const BINANCE_COLUMNS = [
  'open_time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'close_time',
  'quote_volume',
  'count',
  'taker_buy_volume',
  'taker_buy_quote_volume',
  'ignore',
] as const;

/** Header names tried for each field when no mapping names it (compared lower-case, trimmed). */
const ALIASES: Record<ImportField, readonly string[]> = {
  timestamp: ['timestamp', 'time', 'open_time', 'opentime', 'open time', 'date', 'datetime', 'ts', 'start', 'start_time', 'starttime', 'time_open'],
  open: ['open', 'o', 'open_price'],
  high: ['high', 'h', 'high_price'],
  low: ['low', 'l', 'low_price'],
  close: ['close', 'c', 'close_price'],
  volume: ['volume', 'vol', 'v', 'base_volume', 'volume_base'],
  turnover: ['turnover', 'quote_volume', 'quote_asset_volume', 'quotevolume', 'volume_quote', 'quote_volume_usdt'],
};

export const MAX_IMPORT_ERRORS = 20;

export interface ImportIssue {
  file: string;
  line?: number;
  field?: string;
  message: string;
}

/** The input (or the merge) is invalid: `issues` lists what was found (at most MAX_IMPORT_ERRORS). */
export class ImportDataError extends DataError {
  readonly issues: ImportIssue[];
  constructor(message: string, issues: ImportIssue[], file: string) {
    super(message, { file });
    this.issues = issues;
  }
}

function issueText(i: ImportIssue, withFile: boolean): string {
  const loc = [withFile ? i.file : undefined, i.line !== undefined ? `line ${i.line}` : undefined, i.field !== undefined ? `field "${i.field}"` : undefined]
    .filter(Boolean)
    .join(', ');
  return loc ? `${loc}: ${i.message}` : i.message;
}

// ---------------------------------------------------------------------------------------------------
// ZIP

export interface ZipEntry {
  name: string;
  data: Buffer;
}

/**
 * Reads every file entry of a ZIP archive (stored or deflated), checking sizes and CRC-32. Clear
 * DataErrors for what it does not read: encryption, ZIP64, other compression methods, a damaged archive.
 */
export function readZipEntries(buf: Buffer, file: string): ZipEntry[] {
  // End of central directory: 22 bytes + a comment of up to 65,535 bytes, found from the end.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new DataError('not a readable ZIP archive: no end-of-central-directory record (truncated download?)', { file });
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new DataError('ZIP64 archives are not supported; unzip it and import the .csv', { file });
  }
  if (cdOffset + cdSize > eocd) throw new DataError('damaged ZIP archive: the central directory lies outside the file', { file });
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw new DataError(`damaged ZIP archive: central directory entry ${k + 1} is broken`, { file });
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) continue; // a folder
    const where = `${file} (${name})`;
    if (flags & 0x1) throw new DataError('the entry is encrypted; decrypt the archive first', { file: where });
    if (csize === 0xffffffff || usize === 0xffffffff || local === 0xffffffff) throw new DataError('ZIP64 entries are not supported; unzip it and import the .csv', { file: where });
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw new DataError('damaged ZIP archive: no local header where the directory says', { file: where });
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + csize > buf.length) throw new DataError('damaged ZIP archive: the entry runs past the end of the file (truncated download?)', { file: where });
    const raw = buf.subarray(start, start + csize);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) {
      try {
        data = zlib.inflateRawSync(raw);
      } catch (err) {
        throw new DataError(`cannot inflate the entry: ${(err as Error).message}`, { file: where }, { cause: err });
      }
    } else {
      throw new DataError(`unsupported compression method ${method} (${method === 12 ? 'bzip2' : method === 14 ? 'LZMA' : method === 93 ? 'zstd' : 'unknown'}); only stored (0) and deflate (8) are read`, { file: where });
    }
    if (data.length !== usize) throw new DataError(`damaged ZIP entry: ${data.length} bytes inflated, the directory says ${usize}`, { file: where });
    if (zlib.crc32(data) >>> 0 !== crc) throw new DataError('damaged ZIP entry: CRC-32 mismatch', { file: where });
    entries.push({ name, data });
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------
// reading the input

interface InputPart {
  /** For messages: the file, or "archive.zip (entry.csv)". */
  where: string;
  text: string;
}

function readInputParts(file: string): { parts: InputPart[]; entries: string[] } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new DataError(`cannot read the input: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file }, { cause: err });
  }
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) {
    const all = readZipEntries(buf, file).filter((e) => !e.name.startsWith('__MACOSX/'));
    const csv = all.filter((e) => /\.csv$/i.test(e.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (csv.length === 0) {
      throw new DataError(`no .csv file in the archive (it holds: ${all.map((e) => e.name).join(', ') || 'nothing'})`, { file });
    }
    return { parts: csv.map((e) => ({ where: `${file} (${e.name})`, text: e.data.toString('utf8') })), entries: csv.map((e) => e.name) };
  }
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x06054b50) throw new DataError('the ZIP archive is empty', { file });
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (err) {
      throw new DataError(`cannot decompress gzip: ${(err as Error).message}`, { file }, { cause: err });
    }
  }
  return { parts: [{ where: file, text: buf.toString('utf8') }], entries: [path.basename(file)] };
}

// ---------------------------------------------------------------------------------------------------
// values

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;
/** Accepted open times: 1970 .. 2100 (a wrong unit lands far outside). */
const MAX_TIME = Date.UTC(2100, 0, 1);

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

function parseNumber(text: string): Parsed<number> {
  if (text === '') return { ok: false, message: 'empty value' };
  if (!NUMBER_RE.test(text)) return { ok: false, message: `not a number: "${text}"` };
  const v = Number(text);
  if (!Number.isFinite(v)) return { ok: false, message: `not a finite number: "${text}"` };
  return { ok: true, value: v };
}

/** Unit of a numeric epoch timestamp by magnitude: s below 1e11, ms below 1e14, µs below 1e17. */
export function unitByMagnitude(v: number): 's' | 'ms' | 'us' | undefined {
  if (v < 1e11) return 's';
  if (v < 1e14) return 'ms';
  if (v < 1e17) return 'us';
  return undefined;
}

const UNIT_FACTOR = { s: 1000, ms: 1, us: 0.001 } as const;

/** Parses an open time in `unit` (auto: numbers by magnitude, else ISO 8601) to epoch ms. */
export function parseTimestamp(text: string, unit: TimeUnit): Parsed<{ ms: number; unit: 's' | 'ms' | 'us' | 'iso' }> {
  if (text === '') return { ok: false, message: 'empty value' };
  if (unit === 'iso' || (unit === 'auto' && !/^\d+(?:\.\d+)?$/.test(text))) {
    const m = ISO_RE.exec(text);
    if (!m) {
      return { ok: false, message: unit === 'iso' ? `not an ISO 8601 time: "${text}"` : `not a timestamp: "${text}" (expected epoch ms, s or µs, or ISO 8601 like 2024-01-31T23:59:00Z)` };
    }
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = ''] = m;
    const Y = Number(y), M = Number(mo), D = Number(d), H = Number(h), MI = Number(mi), S = Number(s);
    const daysInMonth = M >= 1 && M <= 12 ? new Date(Date.UTC(Y, M, 0)).getUTCDate() : 0;
    if (M < 1 || M > 12 || D < 1 || D > daysInMonth || H > 23 || MI > 59 || S > 59) return { ok: false, message: `not a valid date and time: "${text}"` };
    let ms = Date.UTC(Y, M - 1, D, H, MI, S);
    if (frac !== '') {
      const f = Number(`0.${frac}`) * 1000;
      if (!Number.isInteger(Math.round(f * 1e6) / 1e6)) return { ok: false, message: `"${text}" is not a whole millisecond` };
      ms += Math.round(f);
    }
    if (zone !== '' && !/^(z|utc)$/i.test(zone)) {
      const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
      const off = (Number(zm[2]) * 60 + Number(zm[3] ?? '0')) * 60_000;
      ms -= zm[1] === '+' ? off : -off;
    }
    return { ok: true, value: { ms, unit: 'iso' } };
  }
  if (!/^\d+(?:\.\d+)?$/.test(text)) return { ok: false, message: `not an epoch timestamp in ${unit}: "${text}"` };
  const v = Number(text);
  const u = unit === 'auto' ? unitByMagnitude(v) : unit;
  if (u === undefined) return { ok: false, message: `timestamp ${text} is too large for s, ms or µs (nanoseconds?); pass --time-unit` };
  const ms = u === 'us' ? v / 1000 : v * UNIT_FACTOR[u];
  if (!Number.isInteger(ms)) return { ok: false, message: `timestamp ${text} (${u === 'us' ? 'µs' : u}) is not a whole millisecond` };
  if (ms < 0 || ms >= MAX_TIME) return { ok: false, message: `timestamp ${text} read as ${u === 'us' ? 'µs' : u} is outside 1970..2100; wrong --time-unit?` };
  return { ok: true, value: { ms, unit: u } };
}

/** Parses `--map` text: `timestamp=open_time,open=o` (several flags are joined with commas). */
export function parseColumnMap(text: string | readonly string[] | undefined): ColumnMap {
  const map: ColumnMap = {};
  if (text === undefined) return map;
  const items = (Array.isArray(text) ? text : [text]).flatMap((t: string) => t.split(','));
  for (const raw of items) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new ConfigError(`--map: expected field=column, got "${item}"`);
    const key = item.slice(0, eq).trim().toLowerCase();
    const col = item.slice(eq + 1).trim();
    if (!(IMPORT_FIELDS as readonly string[]).includes(key)) throw new ConfigError(`--map: "${key}" is not one of ${IMPORT_FIELDS.join(', ')}`);
    if (map[key as ImportField] !== undefined) throw new ConfigError(`--map: "${key}" is mapped twice`);
    map[key as ImportField] = col;
  }
  return map;
}

// ---------------------------------------------------------------------------------------------------
// parsing

export interface ParseOptions {
  interval: Interval;
  format?: ImportFormat;
  map?: ColumnMap;
  timeUnit?: TimeUnit;
  maxErrors?: number;
}

export interface ParsedCandles {
  candles: Candle[];
  format: 'binance' | 'generic';
  /** Timestamp units seen (ms, us, s, iso). */
  units: string[];
}

class Collector {
  readonly issues: ImportIssue[] = [];
  more = false;
  constructor(private readonly max: number) {}
  add(i: ImportIssue): void {
    if (this.issues.length < this.max) this.issues.push(i);
    else this.more = true;
  }
}

function isNumericCell(s: string): boolean {
  return /^-?\d+(?:\.\d+)?$/.test(s);
}

/**
 * Parses and validates the candles of one or more input texts (parts of one input, in order). Throws an
 * ImportDataError listing up to `maxErrors` problems; ConfigError for a mapping that does not fit.
 */
export function parseCandleInput(parts: { where: string; text: string }[], opts: ParseOptions): ParsedCandles {
  const interval = opts.interval;
  const col = new Collector(opts.maxErrors ?? MAX_IMPORT_ERRORS);
  const candles: Candle[] = [];
  const units = new Set<string>();
  let format: 'binance' | 'generic' | undefined;
  let prevT = -Infinity;
  let prevWhere = '';

  for (const part of parts) {
    const file = part.where;
    let records: { record: string[]; info: { lines: number } }[];
    try {
      records = csvParse(part.text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as unknown as {
        record: string[];
        info: { lines: number };
      }[];
    } catch (err) {
      throw new DataError(`malformed CSV: ${(err as Error).message}`, { file, line: (err as { lines?: number }).lines }, { cause: err });
    }
    if (records.length === 0) throw new DataError('empty file', { file, line: 1 });
    const first = records[0]!.record;
    const hasHeader = !isNumericCell(first[0] ?? '');
    const header = hasHeader ? first.map((h) => h.trim().toLowerCase()) : undefined;
    let partFormat: 'binance' | 'generic';
    if (opts.format === 'binance') partFormat = 'binance';
    else if (opts.format === 'generic') partFormat = 'generic';
    else if (!header) {
      if (first.length === BINANCE_COLUMNS.length) partFormat = 'binance';
      else {
        throw new DataError(
          `no header row and ${first.length} columns: a Binance kline file has ${BINANCE_COLUMNS.length} (--format binance); any other file needs a header naming its columns (see --map)`,
          { file, line: records[0]!.info.lines },
        );
      }
    } else partFormat = header.join(',') === BINANCE_COLUMNS.join(',') ? 'binance' : 'generic'; // other headers: by column names
    if (format !== undefined && format !== partFormat) throw new DataError(`the archive mixes Binance and other CSV layouts`, { file });
    format = partFormat;

    // column indexes
    let idx: Record<ImportField, number>;
    let closeIdx = -1;
    if (partFormat === 'binance') {
      if (opts.map && Object.keys(opts.map).length > 0) throw new ConfigError('--map: Binance kline files have fixed columns; use --format generic with a header to map columns');
      idx = { timestamp: 0, open: 1, high: 2, low: 3, close: 4, volume: 5, turnover: 7 };
      closeIdx = 6;
      if (header && header.join(',') !== BINANCE_COLUMNS.join(',')) {
        throw new DataError(`expected no header or Binance's "${BINANCE_COLUMNS.join(',')}", found "${first.join(',')}"`, { file, line: records[0]!.info.lines });
      }
    } else {
      if (!header) throw new DataError('no header row: a generic CSV needs a header naming its columns (or use --format binance)', { file, line: records[0]!.info.lines });
      idx = {} as Record<ImportField, number>;
      for (const f of IMPORT_FIELDS) {
        const mapped = opts.map?.[f];
        if (mapped !== undefined) {
          const k = header.indexOf(mapped.trim().toLowerCase());
          if (k < 0) throw new ConfigError(`--map: column "${mapped}" (for ${f}) is not in the header of ${file}: ${first.join(',')}`);
          idx[f] = k;
        } else {
          idx[f] = header.findIndex((h) => ALIASES[f].includes(h));
        }
      }
      const missing = IMPORT_FIELDS.filter((f) => f !== 'turnover' && idx[f] < 0);
      if (missing.length > 0) {
        throw new DataError(
          `no column for ${missing.join(', ')} in the header "${first.join(',')}"; name them with --map, e.g. --map ${missing.map((m) => `${m}=<column>`).join(',')}`,
          { file, line: records[0]!.info.lines, field: missing[0] },
        );
      }
    }
    const want = partFormat === 'binance' ? BINANCE_COLUMNS.length : header!.length;

    for (let r = hasHeader ? 1 : 0; r < records.length; r++) {
      if (col.more) break; // the limit is reached and one more error was seen: enough
      const { record, info } = records[r]!;
      const line = info.lines;
      const bad = (field: string | undefined, message: string) => col.add({ file, line, field, message });
      if (record.length !== want) {
        bad(undefined, `expected ${want} columns${partFormat === 'binance' ? ' (Binance kline)' : ' like the header'}, found ${record.length}`);
        continue;
      }
      const ts = parseTimestamp(record[idx.timestamp]!, opts.timeUnit ?? 'auto');
      const fieldName = (f: ImportField) => (partFormat === 'binance' ? BINANCE_COLUMNS[idx[f]]! : f === 'timestamp' ? header![idx[f]]! : f);
      if (!ts.ok) {
        bad(fieldName('timestamp'), ts.message);
        continue;
      }
      const t = ts.value.ms;
      units.add(ts.value.unit);
      const vals: Partial<Record<ImportField, number>> = {};
      let rowOk = true;
      for (const f of ['open', 'high', 'low', 'close', 'volume', 'turnover'] as const) {
        if (idx[f] < 0) {
          vals[f] = NaN;
          continue;
        }
        const text = record[idx[f]]!;
        if (f === 'turnover' && text === '') {
          vals[f] = NaN;
          continue;
        }
        const p = parseNumber(text);
        if (!p.ok) {
          bad(fieldName(f), p.message);
          rowOk = false;
          break;
        }
        vals[f] = p.value;
      }
      if (!rowOk) continue;
      const { open: o, high: h, low: l, close: c, volume: v, turnover: tv } = vals as Record<ImportField, number>;
      const problem = ((): [ImportField, string] | undefined => {
        if (!(o > 0)) return ['open', `price must be > 0, got ${o}`];
        if (!(h > 0)) return ['high', `price must be > 0, got ${h}`];
        if (!(l > 0)) return ['low', `price must be > 0, got ${l}`];
        if (!(c > 0)) return ['close', `price must be > 0, got ${c}`];
        if (!(v >= 0)) return ['volume', `volume must be >= 0, got ${v}`];
        if (tv < 0) return ['turnover', `turnover must be >= 0, got ${tv}`];
        if (h < o || h < c) return ['high', `high ${h} is below ${h < o ? `open ${o}` : `close ${c}`}`];
        if (l > o || l > c) return ['low', `low ${l} is above ${l > o ? `open ${o}` : `close ${c}`}`];
        return undefined;
      })();
      if (problem) {
        bad(fieldName(problem[0]), problem[1]);
        continue;
      }
      if (!isAlignedTo(interval, t)) {
        bad(fieldName('timestamp'), `open time ${new Date(t).toISOString()} (${record[idx.timestamp]}) is not on the ${interval} grid (wrong --interval?)`);
        continue;
      }
      if (closeIdx >= 0 && (ts.value.unit === 'ms' || ts.value.unit === 'us')) {
        const raw = Number(record[idx.timestamp]);
        const k = ts.value.unit === 'us' ? 1000 : 1;
        const expected = raw + (nextIntervalStart(interval, t) - t) * k - 1;
        if (record[closeIdx] !== String(expected)) {
          bad('close_time', `close_time ${record[closeIdx]} does not close a ${interval} candle opening at ${record[idx.timestamp]} (expected ${expected}); is --interval right?`);
          continue;
        }
      }
      if (t <= prevT) {
        bad(
          fieldName('timestamp'),
          t === prevT
            ? `duplicate open time ${new Date(t).toISOString()}`
            : `open time ${new Date(t).toISOString()} is before the previous row's ${new Date(prevT).toISOString()}${prevWhere !== file ? ` (in ${prevWhere})` : ''}: rows must be ascending`,
        );
        continue;
      }
      prevT = t;
      prevWhere = file;
      candles.push({ openTime: t, open: o, high: h, low: l, close: c, volume: v, turnover: tv });
    }
    if (col.more) break;
  }

  if (col.issues.length > 0) throw importError(col, parts.length > 1 ? 'the input' : parts[0]!.where, parts.length > 1);
  if (candles.length === 0) throw new DataError('no candles in the input', { file: parts[0]!.where });

  // the step: most common distance between open times
  if (candles.length >= 3 && interval !== 'M') {
    const counts = new Map<number, number>();
    for (let i = 1; i < candles.length; i++) {
      const d = candles[i]!.openTime - candles[i - 1]!.openTime;
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    let step = 0;
    let best = 0;
    for (const [d, c] of counts) if (c > best || (c === best && d < step)) [best, step] = [c, d];
    if (step !== intervalMs(interval)) {
      throw new DataError(`the candles are ${step / 60_000} minutes apart, not ${intervalMs(interval) / 60_000} (--interval ${interval})`, { file: parts[0]!.where });
    }
  }
  return { candles, format: format!, units: [...units] };
}

function importError(col: Collector, file: string, withFile: boolean): ImportDataError {
  const n = col.issues.length;
  const head = `nothing written: ${n}${col.more ? '+' : ''} invalid row${n === 1 && !col.more ? '' : 's'}${col.more ? ` (the first ${n} shown)` : ''}`;
  const body = n === 1 && !col.more ? `: ${issueText(col.issues[0]!, withFile)}` : `:\n${col.issues.map((i) => `  ${issueText(i, withFile)}`).join('\n')}`;
  return new ImportDataError(head + body, col.issues, file);
}

// ---------------------------------------------------------------------------------------------------
// merge

export interface MergeResult {
  series: CandleSeries;
  /** Candles of `incoming` not in `existing`. */
  added: number;
  /** Candles of `incoming` already in `existing` with the same values. */
  identical: number;
}

function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Union of two ascending candle lists by open time. A time present in both must hold the same open,
 * high, low, close and volume (a turnover missing on one side is taken from the other); otherwise an
 * ImportDataError names the conflicting times (up to MAX_IMPORT_ERRORS) and nothing is merged.
 */
export function mergeCandles(existing: CandleSeries, incoming: readonly Candle[], file: string): MergeResult {
  const out: Candle[] = [];
  const col = new Collector(MAX_IMPORT_ERRORS);
  let i = 0;
  let j = 0;
  let added = 0;
  let identical = 0;
  const E = existing;
  const at = (k: number): Candle => ({ openTime: E.openTime[k]!, open: E.open[k]!, high: E.high[k]!, low: E.low[k]!, close: E.close[k]!, volume: E.volume[k]!, turnover: E.turnover[k]! });
  while (i < E.length || j < incoming.length) {
    if (j >= incoming.length || (i < E.length && E.openTime[i]! < incoming[j]!.openTime)) {
      out.push(at(i++));
    } else if (i >= E.length || incoming[j]!.openTime < E.openTime[i]!) {
      out.push(incoming[j++]!);
      added++;
    } else {
      const a = at(i++);
      const b = incoming[j++]!;
      const diffs = (['open', 'high', 'low', 'close', 'volume'] as const).filter((f) => !sameNumber(a[f], b[f]));
      if (!Number.isNaN(a.turnover) && !Number.isNaN(b.turnover) && a.turnover !== b.turnover) diffs.push('turnover' as never);
      if (diffs.length > 0) {
        const f = diffs[0] as keyof Candle;
        col.add({ file, message: `conflict at ${new Date(a.openTime).toISOString()} (${a.openTime}): ${diffs.join(', ')} differ (${f} ${a[f]} in the file, ${b[f]} in the input)` });
        out.push(a);
      } else {
        identical++;
        out.push(Number.isNaN(a.turnover) ? { ...a, turnover: b.turnover } : a);
      }
    }
  }
  if (col.issues.length > 0) {
    const n = col.issues.length;
    const list = col.issues.map((x) => `  ${x.message}`).join('\n');
    throw new ImportDataError(`nothing written: ${n}${col.more ? '+' : ''} candle${n === 1 && !col.more ? '' : 's'} in both with different values (use --force to replace the file):\n${list}`, col.issues, file);
  }
  return { series: seriesFromCandles(out, file), added, identical };
}

// ---------------------------------------------------------------------------------------------------
// import

export interface ImportOptions extends ParseOptions {
  /** The file to import (.csv, .csv.gz, .zip). */
  input: string;
  /** Where to write (pyr's layout; `.gz` compresses). */
  target: string;
  /** What to do when the target exists: refuse (default), merge, or replace. */
  existing?: 'refuse' | 'merge' | 'replace';
}

export interface ImportResult {
  input: string;
  file: string;
  format: 'binance' | 'generic';
  /** The input's CSV files (ZIP entries, or the file's name). */
  entries: string[];
  units: string[];
  /** Candles read from the input. */
  imported: number;
  /** Rows in the written file. */
  rows: number;
  /** Candles new to the file (all of them unless merged). */
  added: number;
  /** Input candles already in the file with the same values (merge). */
  identical: number;
  merged: boolean;
  replaced: boolean;
  first: number;
  last: number;
  /** Missing candles in the written file, at the interval. */
  missing: number;
  gaps: number;
}

/** Imports a candle file into pyr's layout; see the file comment. Nothing is written on any error. */
export async function importCandleFile(opts: ImportOptions): Promise<ImportResult> {
  const target = opts.target;
  const exists = fs.existsSync(target);
  const mode = opts.existing ?? 'refuse';
  if (exists && mode === 'refuse') throw new ConfigError(`${target} already exists; pass --merge to add these candles to it, or --force to replace it`);
  if (path.resolve(target) === path.resolve(opts.input)) throw new ConfigError(`--out: ${target} is the input file`);
  const { parts, entries } = readInputParts(opts.input);
  const parsed = parseCandleInput(parts, opts);

  let series: CandleSeries;
  let added = parsed.candles.length;
  let identical = 0;
  const merged = exists && mode === 'merge';
  if (merged) {
    const { series: old } = await readCandleFile(target, { cache: false });
    for (let k = 0; k < old.length; k++) {
      if (!isAlignedTo(opts.interval, old.openTime[k]!)) {
        throw new DataError(`the existing file is not a ${opts.interval} file: ${new Date(old.openTime[k]!).toISOString()} is off the ${opts.interval} grid`, { file: target });
      }
    }
    const m = mergeCandles(old, parsed.candles, target);
    series = m.series;
    added = m.added;
    identical = m.identical;
  } else {
    series = seriesFromCandles(parsed.candles, target);
  }
  writeCandleFileAtomic(target, series);
  const gaps = findGaps(series, opts.interval);
  return {
    input: opts.input,
    file: target,
    format: parsed.format,
    entries,
    units: parsed.units,
    imported: parsed.candles.length,
    rows: series.length,
    added,
    identical,
    merged,
    replaced: exists && mode === 'replace',
    first: series.openTime[0]!,
    last: series.openTime[series.length - 1]!,
    missing: gaps.reduce((s, g) => s + g.candles, 0),
    gaps: gaps.length,
  };
}
