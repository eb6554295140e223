/**
 * Files the sandbox reads besides candles: the funding-rate history (`timestamp,fundingRate`, one row per
 * settlement, ascending; see ../shared/data/README.md for the layout).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../core/errors.ts';
import type { FundingRow } from './market.ts';

/** Reads a funding CSV (optionally .gz). Rows must be strictly ascending. */
export async function readFundingFile(file: string): Promise<FundingRow[]> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new DataError(`cannot read funding file: ${(e as Error).message}`, { file }, { cause: e });
  }
  const text = (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
  const lines = text.split('\n');
  const header = lines[0]?.trim().replace(/^\uFEFF/, '');
  if (header !== 'timestamp,fundingRate') throw new DataError('expected the header "timestamp,fundingRate"', { file, line: 1 });
  const rows: FundingRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const [ts, rate] = line.split(',');
    const time = Number(ts);
    if (!Number.isSafeInteger(time) || time <= 0) throw new DataError(`bad timestamp "${ts}"`, { file, line: i + 1, field: 'timestamp' });
    if (rate === undefined || !/^-?\d+(\.\d+)?$/.test(rate)) throw new DataError(`bad rate "${rate}"`, { file, line: i + 1, field: 'fundingRate' });
    const prev = rows[rows.length - 1];
    if (prev && time <= prev.time) throw new DataError('timestamps must be strictly ascending', { file, line: i + 1, field: 'timestamp' });
    rows.push({ time, rate });
  }
  return rows;
}
