/**
 * `npm run bench:optimize` (issue 14 §2): the seed strategy over the 15-minute file
 * (../shared/data/BTCUSDT-15m.csv), 2024-01-01 to 2025-08-31, through `pyr optimize` (the whole command:
 * loading the candles, starting the workers, the runs, ranking, writing the files), printing in one run:
 * - the 432-combination grid (oversold x overbought x stopLossPct x takeProfitPct: none changes StochRSI,
 *   so the indicator cache replays it) with 1 and with 2 worker threads: wall time, throughput in
 *   candle-combinations per second, and the 2-worker/1-worker factor;
 * - a second grid that changes rsiPeriod (so the cache is mostly missed), 2 workers;
 * - the peak memory (the process's maximum resident set, worker threads included);
 * - that the rows are identical with 1 and 2 workers, and to plain `pyr backtest --param` runs of a
 *   sample of the combinations (every metric of the row, exactly).
 * Each sweep is measured ROUNDS times (default 1, alternating 1 and 2 workers), best shown. With
 * `--control`, it also runs the older control: runs in 1 process and split over 2 processes at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { optimize, type OptimizeOutcome } from '../lib/cli/optimize.ts';
import { backtest } from '../lib/cli/backtest.ts';
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
// The control's runs (--control): the 100-combination 2024 grid of the earlier benchmark.
const CONTROL_GRID = ['oversold=10:28:2', 'stopLossPct=0.003:0.012:0.001'];
const CONTROL_TO = '2024-12-31';
const TO = '2025-08-31';
const GRID = ['oversold=5:30:5', 'overbought=70:95:5', 'stopLossPct=0.003,0.005,0.01,0.02', 'takeProfitPct=0.005,0.01,0.02'];
/** The cache mostly missed: 12 RSI lengths, each shared by 24 combinations only. */
const GRID_RSI = ['rsiPeriod=6:28:2', 'oversold=10:30:10', 'stopLossPct=0.003,0.005,0.01,0.02', 'takeProfitPct=0.01,0.02'];
const ROUNDS = Number(process.env.ROUNDS ?? 1);
/** Rows checked against plain backtests (evenly spread over the grid). */
const CHECKED = Number(process.env.CHECKED ?? 8);

class Sink extends Writable {
  override _write(_c: unknown, _e: BufferEncoding, cb: () => void): void {
    cb();
  }
}

async function sweep(workers: number, out: string, grid: string[] = GRID): Promise<{ seconds: number; outcome: OptimizeOutcome }> {
  const io = { stdout: new Sink(), stderr: new Sink(), cwd: REPO, env: { NO_COLOR: '1' } };
  const t0 = performance.now();
  const outcome = await optimize({ candles: CANDLES, from: FROM, to: TO, grid, workers: String(workers), out, json: true }, io);
  return { seconds: (performance.now() - t0) / 1000, outcome };
}

/** The 100 runs [a, b) one after another in this thread; seconds. */
async function serialRuns(series: CandleSeries, a: number, b: number): Promise<number> {
  const axes = parseGrid(CONTROL_GRID, { ...(RUN_PARAMS as ParamSchema), ...seed.params });
  const runner = await createRunner(
    { strategySpec: 'stochrsi-scalper', cwd: REPO, symbol: 'BTCUSDT', category: 'linear', interval: '15', baseLayers: [], candleFile: CANDLES },
    series,
  );
  const from = Date.parse(`${FROM}T00:00:00Z`);
  const to = Date.parse(`${CONTROL_TO}T00:00:00Z`) + 86_400_000;
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

/** The rows' metrics against plain `pyr backtest --param ...` runs of CHECKED combinations; the mismatches. */
async function checkAgainstBacktests(rows: OptimizeOutcome['rows'], tmp: string): Promise<string[]> {
  const byIndex = [...rows].sort((a, b) => a.index - b.index);
  const picks = new Set<number>();
  for (let k = 0; k < CHECKED; k++) picks.add(Math.round((k * (byIndex.length - 1)) / Math.max(1, CHECKED - 1)));
  const bad: string[] = [];
  for (const i of picks) {
    const row = byIndex[i]!;
    const io = { stdout: new Sink(), stderr: new Sink(), cwd: REPO, env: { NO_COLOR: '1' } };
    const param = Object.entries(row.params).map(([k, v]) => `${k}=${String(v)}`);
    const bt = await backtest({ candles: CANDLES, from: FROM, to: TO, param, out: path.join(tmp, `bt-${i}`), json: true }, io);
    const m = bt.metrics as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(row.metrics)) if (!Object.is(v, m[k]) && JSON.stringify(v) !== JSON.stringify(m[k])) bad.push(`row ${row.index} ${k}: ${String(v)} vs backtest ${String(m[k])}`);
  }
  return bad;
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
    const combos = GRID.map((g) => g.split('=')[1]!).reduce((n, v) => n * (v.includes(':') ? Math.floor((Number(v.split(':')[1]) - Number(v.split(':')[0])) / Number(v.split(':')[2]) + 1e-9) + 1 : v.split(',').length), 1);
    console.log(`pyr optimize benchmark: seed strategy, ${candles.toLocaleString('en')} 15-minute candles (${FROM} to ${TO}),`);
    console.log(`${os.availableParallelism()} CPUs, Node ${process.version}, load average at start ${loadAtStart.toFixed(2)}; best of ${ROUNDS} round(s)\n`);

    const times: Record<1 | 2, number[]> = { 1: [], 2: [] };
    const rows: Record<1 | 2, OptimizeOutcome['rows'] | undefined> = { 1: undefined, 2: undefined };
    for (let round = 0; round < ROUNDS; round++) {
      for (const w of [1, 2] as const) {
        const r = await sweep(w, path.join(tmp, `w${w}-${round}`));
        times[w].push(r.seconds);
        rows[w] ??= r.outcome.rows;
      }
    }
    const n = rows[1]!.length;
    const rate = (s: number, k: number): string => `${((candles * k) / s / 1e6).toFixed(1)} M candle-combinations/s`;
    const t1 = Math.min(...times[1]);
    const t2 = Math.min(...times[2]);
    console.log(`grid 1 (${n} combinations: --grid ${GRID.join(' --grid ')}), cache replays StochRSI:`);
    console.log(`  --workers 1: ${t1.toFixed(2)} s wall, ${rate(t1, n)}`);
    console.log(`  --workers 2: ${t2.toFixed(2)} s wall, ${rate(t2, n)}   (${(t1 / t2).toFixed(2)}x the 1-worker speed)`);
    if (n !== combos) console.log(`  (expected ${combos} rows)`);

    const rsiTimes: number[] = [];
    let rsiRows = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const r = await sweep(2, path.join(tmp, `rsi-${round}`), GRID_RSI);
      rsiTimes.push(r.seconds);
      rsiRows = r.outcome.rows.length;
    }
    const tr = Math.min(...rsiTimes);
    console.log(`grid 2 (${rsiRows} combinations: --grid ${GRID_RSI.join(' --grid ')}), cache mostly missed:`);
    console.log(`  --workers 2: ${tr.toFixed(2)} s wall, ${rate(tr, rsiRows)}`);
    console.log(`peak memory (max resident set of this process, worker threads included): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
    console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

    if (process.argv.includes('--control')) {
      const control = await processControl();
      console.log(
        `control without the optimizer: 100 runs of the 2024 grid in 1 process ${control.one.toFixed(2)} s, split over 2 processes at once ${control.two.toFixed(2)} s ` +
          `(${(control.one / control.two).toFixed(2)}x; 2.00 would be two free cores)`,
      );
    }

    const same = JSON.stringify(rows[1]) === JSON.stringify(rows[2]);
    console.log(`\nrows identical with 1 and 2 workers: ${same ? 'yes' : 'NO'}; ${n} rows`);
    const bad = await checkAgainstBacktests(rows[1]!, tmp);
    console.log(`rows identical to plain pyr backtest --param runs (${Math.min(CHECKED, n)} combinations spread over the grid, every row metric): ${bad.length === 0 ? 'yes' : `NO\n  ${bad.slice(0, 10).join('\n  ')}`}`);
    const best = rows[1]![0]!;
    console.log(`best by sharpe: ${Object.entries(best.params).map(([k, v]) => `${k}=${v}`).join(' ')} (sharpe ${best.metrics.sharpe?.toFixed(2)}, net ${best.metrics.netPnl.toFixed(2)} USDT, ${best.metrics.trades} trades)`);
    if (!same || bad.length > 0) process.exitCode = 1;
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
