/**
 * `npm run bench:optimize`: a 100-combination sweep (oversold 10..28 step 2 x stopLossPct 0.003..0.012
 * step 0.001) of the seed strategy over one year of 15-minute candles (../shared/data/BTCUSDT-15m.csv,
 * 2024-01-01 to 2024-12-31), through `pyr optimize` with 1 and with 2 worker threads. Prints the wall
 * time of each (the whole command: loading the candles, starting the workers, the runs, ranking and
 * writing the files), and, for reference, the same 100 runs one after another in this thread. Each is
 * measured ROUNDS times (default 3, alternating), best and median shown: on a shared machine the best is
 * the least disturbed figure. A control then runs the same 100 runs in 1 process and split over 2
 * processes at once, without the optimizer: what the machine itself allows in parallel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { optimize, type OptimizeOutcome } from '../lib/cli/optimize.ts';
import { createRunner } from '../lib/sweep/worker.ts';
import type { CandleSeries } from '../lib/core/index.ts';
import { readCandleFile } from '../lib/data/csv.ts';
import { combinationAt, parseGrid } from '../lib/engine/optimize.ts';
import { RUN_PARAMS } from '../lib/config/index.ts';
import type { ParamSchema } from '../lib/strategy/index.ts';
import seed from '../strategies/stochrsi-scalper.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CANDLES = path.resolve(REPO, '../shared/data/BTCUSDT-15m.csv');
const FROM = '2024-01-01';
const TO = '2024-12-31';
const GRID = ['oversold=10:28:2', 'stopLossPct=0.003:0.012:0.001'];
const ROUNDS = Number(process.env.ROUNDS ?? 3);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

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

/** The 100 runs [a, b) one after another in this thread; seconds. */
async function serialRuns(series: CandleSeries, a: number, b: number): Promise<number> {
  const axes = parseGrid(GRID, { ...(RUN_PARAMS as ParamSchema), ...seed.params });
  const runner = await createRunner(
    { strategySpec: 'stochrsi-scalper', cwd: REPO, symbol: 'BTCUSDT', category: 'linear', interval: '15', baseLayers: [], candleFile: CANDLES },
    series,
  );
  const from = Date.parse(`${FROM}T00:00:00Z`);
  const to = Date.parse(`${TO}T00:00:00Z`) + 86_400_000;
  const t = performance.now();
  for (let i = a; i < b; i++) runner.run({ id: i, from, to, params: combinationAt(axes, i) });
  return (performance.now() - t) / 1000;
}

/** This file in a child process running runs [a, b) in its main thread; resolves with its seconds. */
function childRuns(a: number, b: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serial', String(a), String(b)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`child exited with ${code}`))));
  });
}

/**
 * The machine's own limit, without the optimizer: 100 runs in one process, then the same 100 split over
 * two processes at once (the slower one's run time). On two free cores the pair finishes in about half the time; on a machine whose
 * cores are busy (or whose memory system is the bottleneck) it does not, and no worker pool can do better.
 */
async function processControl(): Promise<{ one: number; two: number }> {
  const one = await childRuns(0, 100);
  const two = Math.max(...(await Promise.all([childRuns(0, 50), childRuns(50, 100)])));
  return { one, two };
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg()[0]!;
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
    const serial: number[] = [];
    for (let round = 0; round < ROUNDS; round++) serial.push(await serialRuns(series, 0, 100));

    // The command, alternating 1 and 2 workers so both see the same machine.
    const times: Record<1 | 2, number[]> = { 1: [], 2: [] };
    const rows: Record<1 | 2, OptimizeOutcome['rows'] | undefined> = { 1: undefined, 2: undefined };
    for (let round = 0; round < ROUNDS; round++) {
      for (const w of [1, 2] as const) {
        const r = await sweep(w, path.join(tmp, `w${w}-${round}`));
        times[w].push(r.seconds);
        rows[w] ??= r.outcome.rows;
      }
    }
    const control = await processControl();
    const line = (label: string, xs: number[]): string => `${label.padEnd(42)} best ${Math.min(...xs).toFixed(2)} s   median ${median(xs).toFixed(2)} s`;
    console.log(`best and median of ${ROUNDS} rounds (load average at start ${loadAtStart.toFixed(2)})`);
    console.log(`${line('in this thread, one run after another:', serial)}   (${((Math.min(...serial) / 100) * 1000).toFixed(0)} ms per run)`);
    console.log(line('pyr optimize --workers 1 (wall time):', times[1]));
    console.log(`${line('pyr optimize --workers 2 (wall time):', times[2])}   (best-to-best ${(Math.min(...times[1]) / Math.min(...times[2])).toFixed(2)}x the 1-worker speed)`);
    console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(
      `control without the optimizer: the 100 runs in 1 process ${control.one.toFixed(2)} s, split over 2 processes at once ${control.two.toFixed(2)} s ` +
        `(${(control.one / control.two).toFixed(2)}x; 2.00 would be two free cores; run time only, as each process measures it)`,
    );

    const same = JSON.stringify(rows[1]) === JSON.stringify(rows[2]);
    console.log(`\nrows identical with 1 and 2 workers: ${same ? 'yes' : 'NO'}; ${rows[1]!.length} rows`);
    const best = rows[1]![0]!;
    console.log(`best by sharpe: ${Object.entries(best.params).map(([k, v]) => `${k}=${v}`).join(' ')} (sharpe ${best.metrics.sharpe?.toFixed(2)}, net ${best.metrics.netPnl.toFixed(2)} USDT, ${best.metrics.trades} trades)`);
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serial') {
  const { series } = await readCandleFile(CANDLES);
  console.log(await serialRuns(series, Number(process.argv[3]), Number(process.argv[4])));
} else {
  await main();
}
