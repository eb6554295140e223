/**
 * `npm run bench:optimize`: a 100-combination sweep (oversold 10..28 step 2 x stopLossPct 0.003..0.012
 * step 0.001) of the seed strategy over one year of 15-minute candles (../shared/data/BTCUSDT-15m.csv,
 * 2024-01-01 to 2024-12-31), through `pyr optimize` with 1 and with 2 worker threads. Prints the wall
 * time of each (the whole command: loading the candles, starting the workers, the runs, ranking and
 * writing the files), and, for reference, the same 100 runs one after another in this thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { optimize, type OptimizeOutcome } from '../lib/cli/optimize.ts';
import { createRunner } from '../lib/cli/optimize-worker.ts';
import { readCandleFile } from '../lib/data/csv.ts';
import { combinationAt, parseGrid } from '../lib/engine/optimize.ts';
import { RUN_PARAMS } from '../lib/cli/config.ts';
import type { ParamSchema } from '../lib/strategy/index.ts';
import seed from '../strategies/stochrsi-scalper.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CANDLES = path.resolve(REPO, '../shared/data/BTCUSDT-15m.csv');
const FROM = '2024-01-01';
const TO = '2024-12-31';
const GRID = ['oversold=10:28:2', 'stopLossPct=0.003:0.012:0.001'];

class Sink extends Writable {
  override _write(_c: unknown, _e: BufferEncoding, cb: () => void): void {
    cb();
  }
}

async function sweep(workers: number, out: string): Promise<{ seconds: number; outcome: OptimizeOutcome }> {
  const io = { stdout: new Sink(), stderr: new Sink(), cwd: REPO, env: { NO_COLOR: '1' } };
  const t0 = performance.now();
  const outcome = await optimize({ candles: CANDLES, from: FROM, to: TO, grid: GRID, workers: String(workers), out, json: true }, io);
  return { seconds: (performance.now() - t0) / 1000, outcome };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pyr-optimize-bench-'));
  try {
    const { series } = await readCandleFile(CANDLES); // warms the binary cache, as a second `pyr` run would find it
    const from = Date.parse(`${FROM}T00:00:00Z`);
    const to = Date.parse(`${TO}T00:00:00Z`) + 86_400_000;
    let candles = 0;
    for (let i = 0; i < series.length; i++) if (series.openTime[i]! >= from && series.openTime[i]! < to) candles++;
    console.log(`pyr optimize benchmark: seed strategy, 100 combinations (--grid ${GRID.join(' --grid ')}),`);
    console.log(`${candles.toLocaleString('en')} 15-minute candles (${FROM} to ${TO}), ${os.availableParallelism()} CPUs, Node ${process.version}\n`);

    // Reference: the same runs in this thread, one after another (no workers).
    const axes = parseGrid(GRID, { ...(RUN_PARAMS as ParamSchema), ...seed.params });
    const runner = await createRunner(
      { strategySpec: 'stochrsi-scalper', cwd: REPO, symbol: 'BTCUSDT', category: 'linear', interval: '15', baseLayers: [], candleFile: CANDLES },
      series,
    );
    let t = performance.now();
    for (let i = 0; i < 100; i++) runner.run({ id: i, from, to, params: combinationAt(axes, i) });
    const serial = (performance.now() - t) / 1000;
    console.log(`in this thread, one run after another:   ${serial.toFixed(2)} s   (${((serial / 100) * 1000).toFixed(0)} ms per run)`);

    const one = await sweep(1, path.join(tmp, 'w1'));
    console.log(`pyr optimize --workers 1 (wall time):     ${one.seconds.toFixed(2)} s`);
    const two = await sweep(2, path.join(tmp, 'w2'));
    console.log(`pyr optimize --workers 2 (wall time):     ${two.seconds.toFixed(2)} s   (${(one.seconds / two.seconds).toFixed(2)}x the 1-worker speed)`);

    const same = JSON.stringify(one.outcome.rows) === JSON.stringify(two.outcome.rows);
    console.log(`\nrows identical with 1 and 2 workers: ${same ? 'yes' : 'NO'}; ${one.outcome.rows.length} rows`);
    const best = one.outcome.rows[0]!;
    console.log(`best by sharpe: ${Object.entries(best.params).map(([k, v]) => `${k}=${v}`).join(' ')} (sharpe ${best.metrics.sharpe?.toFixed(2)}, net ${best.metrics.netPnl.toFixed(2)} USDT, ${best.metrics.trades} trades)`);
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
