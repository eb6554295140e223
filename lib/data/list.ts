/** The candle store's inventory (`pyr data list`): every candle and funding file with its range, rows and gaps. */
import * as fs from 'node:fs';
import path from 'node:path';
import { readCandleFile } from './csv.ts';
import { EXCHANGE, listCandleFiles, readFundingFile } from './store.ts';
import type { DataListEntry } from '../core/store.ts';

export type { DataListEntry } from '../core/store.ts';

function fundingFiles(dataDir: string): { category: string; symbol: string; file: string }[] {
  const out: { category: string; symbol: string; file: string }[] = [];
  const root = path.join(dataDir, EXCHANGE);
  const dirs = (d: string) => {
    try {
      return fs
        .readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  };
  for (const category of dirs(root)) {
    for (const symbol of dirs(path.join(root, category))) {
      const file = path.join(root, category, symbol, 'funding.csv');
      if (fs.existsSync(file)) out.push({ category, symbol, file });
    }
  }
  return out;
}

/** Collects the store's files with their statistics (reads each file, through the binary cache). */
export async function collectDataList(dataDir: string): Promise<DataListEntry[]> {
  const entries: DataListEntry[] = [];
  for (const f of listCandleFiles(dataDir)) {
    const e: DataListEntry = { kind: 'candles', symbol: f.symbol, category: f.category, interval: f.interval, file: f.file, bytes: f.bytes };
    try {
      const { report } = await readCandleFile(f.file);
      Object.assign(e, { rows: report.rows, first: report.firstTime, last: report.lastTime, gaps: report.gaps.count, largestGapMs: report.gaps.largestMs });
    } catch (err) {
      e.error = (err as Error).message;
    }
    entries.push(e);
  }
  for (const f of fundingFiles(dataDir)) {
    const e: DataListEntry = { kind: 'funding', symbol: f.symbol, category: f.category, interval: 'funding', file: f.file, bytes: fs.statSync(f.file).size };
    try {
      const { times } = await readFundingFile(f.file);
      const n = times.length;
      // the most common step is the settlement interval
      const counts = new Map<number, number>();
      for (let i = 1; i < n; i++) counts.set(times[i]! - times[i - 1]!, (counts.get(times[i]! - times[i - 1]!) ?? 0) + 1);
      let step = 0;
      let best = 0;
      for (const [d, c] of counts) if (c > best || (c === best && d < step)) [best, step] = [c, d];
      let gaps = 0;
      let largest = 0;
      for (let i = 1; i < n && step > 0; i++) {
        const d = times[i]! - times[i - 1]!;
        if (d > step) {
          gaps += Math.ceil(d / step) - 1;
          largest = Math.max(largest, d - step);
        }
      }
      Object.assign(e, { rows: n, first: times[0], last: times[n - 1], gaps, largestGapMs: largest });
    } catch (err) {
      e.error = (err as Error).message;
    }
    entries.push(e);
  }
  const kindOrder = (e: DataListEntry) => (e.kind === 'candles' ? 0 : 1);
  // candles first in store order, then funding; stable within each
  return entries.sort((a, b) => a.category.localeCompare(b.category) || a.symbol.localeCompare(b.symbol) || kindOrder(a) - kindOrder(b));
}

