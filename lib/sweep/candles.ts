/**
 * A sweep's candles, named by content. The coordinator describes its series as a `CandleRef` (symbol,
 * interval, first and last open time, count, and the sha256 of the candle bytes) and puts the bytes in
 * Redis once. A worker takes the candles from its own store when the same slice of its file has the same
 * sha256; otherwise from its cache of earlier fetches, otherwise from Redis (then cached). Every source
 * is checked against the sha256: a mismatch is never used.
 *
 * The bytes are the series' seven columns (openTime, open, high, low, close, volume, turnover) as
 * little-endian float64, one column after the other: exactly what the simulator reads.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DataError, type CandleSeries, type Interval } from '../core/index.ts';
import { findCandleFile, readCandleFile, userCacheDir } from '../data/index.ts';
import type { RedisClient } from './redis.ts';

const COLUMNS = ['openTime', 'open', 'high', 'low', 'close', 'volume', 'turnover'] as const;

export interface CandleRef {
  readonly symbol: string;
  readonly category: string;
  readonly interval: Interval;
  /** Open times of the first and last candle, epoch ms. */
  readonly first: number;
  readonly last: number;
  readonly length: number;
  readonly sha256: string;
  /** Where the coordinator read them (for messages). */
  readonly source: string;
}

export function candleBytes(s: CandleSeries): Buffer {
  const n = s.length;
  const buf = Buffer.alloc(COLUMNS.length * n * 8);
  const view = new Float64Array(buf.buffer, buf.byteOffset, COLUMNS.length * n);
  COLUMNS.forEach((c, k) => view.set(s[c].subarray(0, n), k * n));
  if (!littleEndian()) for (let i = 0; i < view.length; i++) buf.writeDoubleLE(view[i]!, i * 8);
  return buf;
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** The series from candleBytes' layout (a copy: the buffer may be reused). */
export function seriesFromBytes(buf: Buffer, source: string): CandleSeries {
  const n = buf.length / (COLUMNS.length * 8);
  if (!Number.isInteger(n)) throw new DataError(`candle bytes of a wrong length (${buf.length})`);
  const all = new Float64Array(COLUMNS.length * n);
  for (let i = 0; i < all.length; i++) all[i] = buf.readDoubleLE(i * 8);
  const col = (k: number): Float64Array => all.subarray(k * n, (k + 1) * n);
  return { length: n, openTime: col(0), open: col(1), high: col(2), low: col(3), close: col(4), volume: col(5), turnover: col(6), source };
}

export function candleRef(series: CandleSeries, meta: { symbol: string; category: string; interval: Interval; source: string }): { ref: CandleRef; bytes: Buffer } {
  const bytes = candleBytes(series);
  const n = series.length;
  return {
    bytes,
    ref: { ...meta, first: n ? series.openTime[0]! : 0, last: n ? series.openTime[n - 1]! : 0, length: n, sha256: sha256(bytes) },
  };
}

export const candleKey = (sha: string): string => `pyr:candles:${sha}`;
/** Candles stay in Redis this long after the last sweep that put them there (s). */
const CANDLE_TTL_S = 7 * 24 * 3600;

/** Puts the bytes in Redis unless they are there already (then only refreshes their expiry). */
export async function publishCandles(redis: RedisClient, ref: CandleRef, bytes: Buffer): Promise<void> {
  const key = candleKey(ref.sha256);
  if ((await redis.expire(key, CANDLE_TTL_S)) === 1) return;
  await redis.set(key, bytes, 'EX', CANDLE_TTL_S);
}

/** The slice [first, last] of a series, by open time (views). */
function slice(s: CandleSeries, first: number, last: number): CandleSeries | undefined {
  let a = 0;
  while (a < s.length && s.openTime[a]! < first) a++;
  let b = a;
  while (b < s.length && s.openTime[b]! <= last) b++;
  if (b === a) return undefined;
  const cut = (c: Float64Array): Float64Array => c.subarray(a, b);
  return { length: b - a, openTime: cut(s.openTime), open: cut(s.open), high: cut(s.high), low: cut(s.low), close: cut(s.close), volume: cut(s.volume), turnover: cut(s.turnover), source: s.source };
}

export interface FoundCandles {
  readonly series: CandleSeries;
  /** Where they came from, for the worker's log: `store <file>`, `cache <file>`, `redis`. */
  readonly from: string;
  /** Why the store's candles were not used, when there is a store file. */
  readonly storeMismatch?: string;
}

function cachePath(sha: string): string {
  return path.join(userCacheDir(), 'sweep-candles', `${sha}.f64`);
}

/**
 * The candles `ref` names, from the worker's store (`dataDir`), its cache, or Redis, in that order;
 * each checked against the sha256. Throws a DataError when Redis does not have them either (the sweep's
 * coordinator is gone and its candles expired) or what Redis has does not match.
 */
export async function findCandles(ref: CandleRef, dataDir: string, redis: RedisClient): Promise<FoundCandles> {
  let storeMismatch: string | undefined;
  const file = findCandleFile(dataDir, ref.category, ref.symbol, ref.interval);
  if (file) {
    try {
      const { series } = await readCandleFile(file);
      const part = slice(series, ref.first, ref.last);
      const bytes = part && candleBytes(part);
      if (bytes && part!.length === ref.length && sha256(bytes) === ref.sha256) return { series: seriesFromBytes(bytes, ref.source), from: `store ${file}` };
      storeMismatch = part ? `${file} holds different candles for ${new Date(ref.first).toISOString()}..${new Date(ref.last).toISOString()} (${part.length} candles, sha256 ${sha256(bytes!).slice(0, 12)}, wanted ${ref.length} with ${ref.sha256.slice(0, 12)})` : `${file} has no candles in the sweep's range`;
    } catch (err) {
      storeMismatch = `${file} could not be read: ${(err as Error).message}`;
    }
  }
  const cached = cachePath(ref.sha256);
  if (existsSync(cached)) {
    const bytes = await readFile(cached).catch(() => undefined);
    if (bytes && sha256(bytes) === ref.sha256) return { series: seriesFromBytes(bytes, ref.source), from: `cache ${cached}`, storeMismatch };
  }
  const bytes = await redis.getBuffer(candleKey(ref.sha256));
  if (!bytes) throw new DataError(`the sweep's candles (sha256 ${ref.sha256.slice(0, 12)}) are not in Redis any more; run the sweep again`);
  const got = sha256(bytes);
  if (got !== ref.sha256) throw new DataError(`the candles in Redis do not match their name (sha256 ${got.slice(0, 12)}, wanted ${ref.sha256.slice(0, 12)}); not used`);
  await mkdir(path.dirname(cached), { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, cached);
  return { series: seriesFromBytes(bytes, ref.source), from: `redis (${bytes.length.toLocaleString('en')} bytes, cached at ${cached})`, storeMismatch };
}
