/**
 * `npm run bench`: the seed strategy over one year of 1-minute candles (the first 525,600 rows of
 * ../shared/data/BTCUSDT-1m.csv.gz, 2023-12-01 to 2024-11-29, exactly 365 days).
 * The year is decompressed once to a temp file, so the figures measure pyr, not gunzip. Prints:
 *  - loading: candles/s parsing the CSV (cold, no cache) and reading the binary cache (warm);
 *  - indicators + engine + simulator: candles/s (best of several runs, data already in memory);
 *  - the whole `pyr backtest` command: wall time and peak memory, cold (first run on the CSV, no cache)
 *    and warm (repeated run).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { D, type InstrumentRules } from '../lib/core/index.ts';
import { candleCachePath, readCandleFile } from '../lib/data/csv.ts';
import { SimBroker } from '../lib/brokers/sim/index.ts';
import { runBacktest } from '../lib/engine/index.ts';
import { defaultsOf } from '../lib/strategy/index.ts';
import seed from '../strategies/stochrsi-scalper.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.resolve(REPO, '../shared/data/BTCUSDT-1m.csv.gz');
const ROWS = 525_600;
const FROM = '2023-12-01';
const TO = '2024-11-29';

async function yearCsv(): Promise<string> {
  const file = path.join(os.tmpdir(), 'pyr-bench-BTCUSDT-1m-365d.csv');
  if (existsSync(file) && statSync(file).size > 1e6) return file;
  const lines: string[] = [];
  const rl = createInterface({ input: createReadStream(SOURCE).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of rl) {
    lines.push(line);
    if (lines.length === ROWS + 1) break;
  }
  rl.close();
  writeFileSync(`${file}.tmp`, `${lines.join('\n')}\n`);
  const { renameSync } = await import('node:fs');
  renameSync(`${file}.tmp`, file);
  return file;
}

function dropCache(file: string): void {
  rmSync(candleCachePath(file), { force: true });
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}

function timeCommand(args: string[]): { wall: number; peakMb: number; code: number; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(REPO, 'bin/pyr'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const wall = (performance.now() - t0) / 1000;
  const lines = (r.stderr ?? '').trim().split('\n');
  const peakKb = Number(lines[lines.length - 1]);
  return { wall, peakMb: peakKb / 1024, code: r.status ?? 1, stderr: r.stderr };
}

async function main(): Promise<void> {
  if (!existsSync(SOURCE)) throw new Error(`benchmark data not found: ${SOURCE}`);
  const csv = await yearCsv();
  console.log(`pyr benchmark: seed strategy, ${ROWS.toLocaleString('en')} 1-minute candles (${FROM} to ${TO}), ${os.cpus().length} cores, Node ${process.version}`);
  console.log(`data: ${csv} (${(statSync(csv).size / 1e6).toFixed(1)} MB)\n`);

  // Loading
  dropCache(csv);
  let t = performance.now();
  const cold = await readCandleFile(csv, { cache: false });
  const coldS = (performance.now() - t) / 1000;
  await readCandleFile(csv); // writes the cache
  t = performance.now();
  const warm = await readCandleFile(csv);
  const warmS = (performance.now() - t) / 1000;
  if (!warm.report.fromCache) throw new Error('the second read did not come from the cache');
  console.log(`loading, CSV parse (cold):       ${coldS.toFixed(3)} s   ${fmt(cold.series.length / coldS)} candles/s`);
  console.log(`loading, binary cache (warm):    ${warmS.toFixed(3)} s   ${fmt(warm.series.length / warmS)} candles/s`);

  // Indicators + engine + simulator
  const rules: InstrumentRules = { symbol: 'BTCUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.001'), minQty: new D('0.001'), minNotional: new D(5), source: 'built-in' };
  const fillModel = { slippageBps: 0, takerFee: 0.00055, makerFee: 0.0002, minQtyPolicy: 'raise' } as const;
  const series = warm.series;
  const engineRun = (params: ReturnType<typeof defaultsOf<typeof seed.params>>): { best: number; trades: number } => {
    let best = Infinity;
    let trades = 0;
    for (let rep = 0; rep < 7; rep++) {
      const broker = new SimBroker({ rules, fillModel, initialBalance: 1000 });
      const t0 = performance.now();
      const { record } = runBacktest({
        definition: seed, params, series, broker, from: series.openTime[0]!, to: series.openTime[series.length - 1]! + 60_000, warmup: 0,
        meta: { runId: 'bench', strategy: seed.name, symbol: 'BTCUSDT', category: 'linear', interval: '1', params, rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '5', source: 'built-in' }, fillModel, initialBalance: 1000, funding: { charged: false, detail: '' }, source: csv },
      });
      best = Math.min(best, (performance.now() - t0) / 1000);
      trades = record.trades.length;
    }
    return { best, trades };
  };
  const withTrades = engineRun(defaultsOf(seed.params));
  console.log(`indicators + engine + simulator: ${withTrades.best.toFixed(3)} s   ${fmt(series.length / withTrades.best)} candles/s   (${withTrades.trades} trades; best of 7)`);
  // The same loop with levels no candle reaches: what the per-candle path costs without the trades' decimal work.
  const noTrades = engineRun({ ...defaultsOf(seed.params), oversold: 0, overbought: 100 });
  console.log(`  the same, no signals:          ${noTrades.best.toFixed(3)} s   ${fmt(series.length / noTrades.best)} candles/s   (${noTrades.trades} trades)`);

  // The whole command
  const out = mkdtempSync(path.join(os.tmpdir(), 'pyr-bench-out-'));
  const args = ['backtest', '--candles', csv, '--interval', '1', '--from', FROM, '--to', TO, '--out', out, '--json'];
  dropCache(csv);
  const c = timeCommand(args);
  if (c.code !== 0) throw new Error(`pyr backtest failed:\n${c.stderr}`);
  const w1 = timeCommand(args);
  const w2 = timeCommand(args);
  const w = w1.wall < w2.wall ? w1 : w2;
  rmSync(out, { recursive: true, force: true });
  console.log(`pyr backtest, cold (no cache):   ${c.wall.toFixed(3)} s   peak ${c.peakMb.toFixed(0)} MB`);
  console.log(`pyr backtest, warm (repeat):     ${w.wall.toFixed(3)} s   peak ${w.peakMb.toFixed(0)} MB   (best of 2)`);
  console.log(`\ntargets: warm < 0.5 s, cold < 2.5 s, peak < 300 MB, indicators + engine + simulator > 5 M candles/s`);
}

await main();
