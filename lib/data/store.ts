/**
 * The on-disk data store and its small side files.
 *
 * Layout (dataDir defaults to `data`):
 *   <dataDir>/bybit/<category>/<SYMBOL>/<interval>.csv[.gz]   candles, interval = Bybit's name (1, 5, 15, 60, D…)
 *   <dataDir>/bybit/<category>/<SYMBOL>/funding.csv           funding settlements: timestamp,fundingRate
 *   <dataDir>/bybit/<category>/instruments.json               a saved `instruments-info` result
 *
 * Candle files are plain CSV in one fixed layout so they stay greppable, diffable and readable by
 * any tool; speed comes from the reader's byte parser and binary cache (see csv.ts), not from a binary
 * store format. Writes go through a temp file + rename, so a crash never leaves a half-written file
 * that a later run would trust. Numbers are written in their shortest round-trip form (`String(x)`), so
 * reading a file and writing it back reproduces it byte for byte.
 *
 * Funding rates are returned as their exact text: they are multiplied into money with decimal.js, and a
 * float would already have rounded them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { parse as csvParse } from 'csv-parse/sync';
import { DataError } from '../core/errors.ts';
import { INTERVALS, type CandleSeries, type Interval } from '../core/candle.ts';
import { CANDLE_HEADER } from './csv.ts';

export const EXCHANGE = 'bybit';
export const DEFAULT_DATA_DIR = 'data';

// ---------------------------------------------------------------------------------------------------
// paths

function symbolDir(dataDir: string, category: string, symbol: string): string {
  return path.join(dataDir, EXCHANGE, category, symbol.toUpperCase());
}

/** `<dataDir>/bybit/<category>/<SYMBOL>/<interval>.csv` (the uncompressed name; see findCandleFile). */
export function candlePath(dataDir: string, category: string, symbol: string, interval: Interval): string {
  return path.join(symbolDir(dataDir, category, symbol), `${interval}.csv`);
}

/** The candle file for this symbol and interval, `.csv` preferred over `.csv.gz`; undefined when neither exists. */
export function findCandleFile(dataDir: string, category: string, symbol: string, interval: Interval): string | undefined {
  const base = candlePath(dataDir, category, symbol, interval);
  for (const f of [base, `${base}.gz`]) if (isFile(f)) return f;
  return undefined;
}

export interface CandleFileEntry {
  exchange: string;
  category: string;
  symbol: string;
  interval: Interval;
  file: string;
  compressed: boolean;
  bytes: number;
}

/**
 * Every candle file in the store, sorted by category, symbol and interval (Bybit's order: 1 … 720, D,
 * W, M). Files that do not follow the layout are skipped. An absent store gives an empty list.
 */
export function listCandleFiles(dataDir: string = DEFAULT_DATA_DIR): CandleFileEntry[] {
  const out: CandleFileEntry[] = [];
  const root = path.join(dataDir, EXCHANGE);
  for (const category of subdirs(root)) {
    for (const symbol of subdirs(path.join(root, category))) {
      const dir = path.join(root, category, symbol);
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const m = /^(.+)\.csv(\.gz)?$/.exec(name);
        if (!m || !(INTERVALS as readonly string[]).includes(m[1]!)) continue;
        const file = path.join(dir, name);
        let st: fs.Stats;
        try {
          st = fs.statSync(file);
        } catch {
          continue;
        }
        if (!st.isFile()) continue;
        out.push({ exchange: EXCHANGE, category, symbol, interval: m[1] as Interval, file, compressed: m[2] !== undefined, bytes: st.size });
      }
    }
  }
  const order = (i: Interval) => INTERVALS.indexOf(i);
  return out.sort(
    (a, b) =>
      a.category.localeCompare(b.category) ||
      a.symbol.localeCompare(b.symbol) ||
      order(a.interval) - order(b.interval) ||
      Number(a.compressed) - Number(b.compressed),
  );
}

/** `<dataDir>/bybit/<category>/<SYMBOL>/funding.csv` */
export function fundingPath(dataDir: string, category: string, symbol: string): string {
  return path.join(symbolDir(dataDir, category, symbol), 'funding.csv');
}

/**
 * The funding file for a symbol: the store path, else a `funding.csv` directly in `dir` (so a candle
 * file given by path can keep its funding history next to it). Undefined when neither exists.
 */
export function findFundingFile(dir: string, category: string, symbol: string): string | undefined {
  for (const f of [fundingPath(dir, category, symbol), path.join(dir, 'funding.csv')]) if (isFile(f)) return f;
  return undefined;
}

/** `<dataDir>/bybit/<category>/instruments.json` */
export function instrumentsPath(dataDir: string, category: string): string {
  return path.join(dataDir, EXCHANGE, category, 'instruments.json');
}

function isFile(f: string): boolean {
  try {
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------------
// writing

/**
 * Writes `data` to `file` through a temp file in the same folder and a rename, creating the folder.
 * On failure the temp file is removed and the old file, if any, is untouched.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes a candle series in pyr's layout (header, `\n` endings, shortest number form, empty turnover
 * for NaN), atomically. A name ending in `.gz` is gzip-compressed.
 */
export function writeCandleFileAtomic(file: string, series: CandleSeries): void {
  const { openTime, open, high, low, close, volume, turnover } = series;
  const chunks: string[] = [CANDLE_HEADER + '\n'];
  const CHUNK = 8192;
  for (let from = 0; from < series.length; from += CHUNK) {
    let s = '';
    const to = Math.min(series.length, from + CHUNK);
    for (let i = from; i < to; i++) {
      const tv = turnover[i]!;
      s += `${openTime[i]},${open[i]},${high[i]},${low[i]},${close[i]},${volume[i]},${Number.isNaN(tv) ? '' : tv}\n`;
    }
    chunks.push(s);
  }
  const text = Buffer.from(chunks.join(''), 'latin1');
  writeFileAtomic(file, file.endsWith('.gz') ? zlib.gzipSync(text) : text);
}

// ---------------------------------------------------------------------------------------------------
// funding

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FUNDING_HEADER = 'timestamp,fundingRate';

/**
 * Reads a funding file (`timestamp,fundingRate`): settlement times in epoch ms, strictly ascending,
 * and the rates as their exact text for decimal.js. Errors name the file, line and field. A header
 * naming the same two columns in another order or case, or with quotes, goes through csv-parse.
 */
export async function readFundingFile(file: string): Promise<{ times: Float64Array; rates: string[] }> {
  let text: string;
  try {
    let buf = await fs.promises.readFile(file);
    if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
    text = buf.toString('utf8');
  } catch (err) {
    throw new DataError(`cannot read funding file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file }, { cause: err });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new DataError(`empty file: expected the header "${FUNDING_HEADER}"`, { file, line: 1 });

  const rows: { line: number; t: string; r: string }[] = [];
  const nl = text.indexOf('\n');
  const header = (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
  if (header === FUNDING_HEADER) {
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
      if (l === '') continue;
      const cells = l.split(',');
      if (cells.length !== 2 || l.includes('"')) {
        if (l.includes('"')) return finishFunding(file, fundingViaCsvParse(text, file));
        throw new DataError(`expected 2 columns, found ${cells.length}`, { file, line: i + 1, field: cells.length < 2 ? 'fundingRate' : undefined });
      }
      rows.push({ line: i + 1, t: cells[0]!, r: cells[1]! });
    }
  } else {
    rows.push(...fundingViaCsvParse(text, file));
  }
  return finishFunding(file, rows);
}

function fundingViaCsvParse(text: string, file: string): { line: number; t: string; r: string }[] {
  let header: string[] = [];
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = csvParse(text, {
      columns: (h: string[]) => (header = h.map((x) => String(x).trim().toLowerCase())),
      info: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as { record: Record<string, string>; info: { lines: number } }[];
  } catch (err) {
    throw new DataError(`malformed CSV: ${(err as Error).message}`, { file, line: (err as { lines?: number }).lines }, { cause: err });
  }
  for (const need of ['timestamp', 'fundingrate']) {
    if (!header.includes(need)) {
      throw new DataError(`header must be "${FUNDING_HEADER}"; found "${header.join(',')}"`, { file, line: 1, field: need === 'fundingrate' ? 'fundingRate' : need });
    }
  }
  return records.map(({ record, info }) => ({ line: info.lines, t: record.timestamp ?? '', r: record.fundingrate ?? '' }));
}

function finishFunding(file: string, rows: { line: number; t: string; r: string }[]): { times: Float64Array; rates: string[] } {
  if (rows.length === 0) throw new DataError('no funding rows after the header', { file, line: 2 });
  const times = new Float64Array(rows.length);
  const rates: string[] = new Array(rows.length);
  let prev = -Infinity;
  rows.forEach(({ line, t: tText, r }, i) => {
    if (!/^\d+$/.test(tText)) throw new DataError(tText === '' ? 'empty value' : `timestamp must be a non-negative integer (epoch ms), got "${tText}"`, { file, line, field: 'timestamp' });
    const t = Number(tText);
    if (!Number.isSafeInteger(t)) throw new DataError(`timestamp out of range: ${tText}`, { file, line, field: 'timestamp' });
    if (t <= prev) {
      throw new DataError(t === prev ? `duplicate timestamp ${t}` : `timestamp ${t} is before the previous row's ${prev} (rows must be strictly ascending)`, { file, line, field: 'timestamp' });
    }
    if (r === '') throw new DataError('empty value', { file, line, field: 'fundingRate' });
    if (!DECIMAL_RE.test(r) || !Number.isFinite(Number(r))) throw new DataError(`not a decimal number: "${r}"`, { file, line, field: 'fundingRate' });
    times[i] = t;
    rates[i] = r;
    prev = t;
  });
  return { times, rates };
}

// ---------------------------------------------------------------------------------------------------
// instruments snapshot

export interface InstrumentSnapshotEntry {
  tickSize: string;
  qtyStep: string;
  minQty: string;
  minNotional: string;
  maxQty?: string;
}

/**
 * The raw instruments snapshot: Bybit's `instruments-info` result (`{ category, list }`), the whole API
 * answer (`{ result: { list } }`) or a bare list; undefined when the file does not exist. Shared by the
 * rules reader below and the downloader, which merges new symbols into it.
 */
export function readInstrumentsDoc(file: string): { category?: string; list: unknown[] } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataError(`cannot read instruments snapshot: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file }, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataError(`not valid JSON: ${(err as Error).message}`, { file }, { cause: err });
  }
  const obj = json as { list?: unknown; result?: { list?: unknown }; category?: unknown } | unknown[] | null;
  const list = Array.isArray(obj) ? obj : (obj?.list ?? obj?.result?.list);
  if (!Array.isArray(list)) throw new DataError('expected an instruments-info result: { list: [ { symbol, priceFilter, lotSizeFilter } ] }', { file, field: 'list' });
  const category = !Array.isArray(obj) && typeof obj?.category === 'string' ? obj.category : undefined;
  return { category, list };
}

/**
 * Reads a saved Bybit `instruments-info` result: `{ list: [...] }`, the whole API response
 * (`{ retCode, result: { list } }`) or a bare list. Returns the trading rules by symbol, as exact
 * decimal strings, or undefined when the file does not exist. Linear contracts give `qtyStep` and
 * `minNotionalValue`; spot gives `basePrecision` and `minOrderAmt`, used in their place.
 */
export async function readInstrumentsSnapshot(file: string): Promise<Record<string, InstrumentSnapshotEntry> | undefined> {
  const doc = readInstrumentsDoc(file);
  if (!doc) return undefined;
  const list = doc.list;
  const out: Record<string, InstrumentSnapshotEntry> = {};
  list.forEach((raw, i) => {
    const it = raw as { symbol?: unknown; priceFilter?: Record<string, unknown>; lotSizeFilter?: Record<string, unknown> };
    const where = `list[${i}]`;
    if (typeof it?.symbol !== 'string' || it.symbol === '') throw new DataError('missing symbol', { file, field: `${where}.symbol` });
    const pf = it.priceFilter ?? {};
    const lf = it.lotSizeFilter ?? {};
    const dec = (v: unknown, field: string, opts: { positive?: boolean; optional?: boolean } = {}): string | undefined => {
      if (v === undefined || v === null || v === '') {
        if (opts.optional) return undefined;
        throw new DataError(`${it.symbol}: missing`, { file, field: `${where}.${field}` });
      }
      const s = typeof v === 'number' ? String(v) : v;
      if (typeof s !== 'string' || !DECIMAL_RE.test(s) || !(Number(s) >= 0) || (opts.positive && !(Number(s) > 0))) {
        throw new DataError(`${it.symbol}: not a ${opts.positive ? 'positive ' : ''}decimal: ${JSON.stringify(v)}`, { file, field: `${where}.${field}` });
      }
      return s;
    };
    const entry: InstrumentSnapshotEntry = {
      tickSize: dec(pf.tickSize, 'priceFilter.tickSize', { positive: true })!,
      qtyStep: lf.qtyStep !== undefined ? dec(lf.qtyStep, 'lotSizeFilter.qtyStep', { positive: true })! : dec(lf.basePrecision, 'lotSizeFilter.qtyStep', { positive: true })!,
      minQty: dec(lf.minOrderQty, 'lotSizeFilter.minOrderQty')!,
      minNotional: dec(lf.minNotionalValue ?? lf.minOrderAmt, 'lotSizeFilter.minNotionalValue', { optional: true }) ?? '0',
    };
    const maxQty = dec(lf.maxMktOrderQty ?? lf.maxOrderQty, 'lotSizeFilter.maxMktOrderQty', { optional: true, positive: true });
    if (maxQty !== undefined) entry.maxQty = maxQty;
    out[it.symbol] = entry;
  });
  return out;
}
