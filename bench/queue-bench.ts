/**
 * `npm run bench:queue` (issue 14 §3): sweeps on a Redis queue with one and with two `pyr worker
 * --concurrency 1` processes on this machine, and the same sweep run locally, printing rows per second.
 *
 * Starts Debian's redis-server on a free port with no persistence, then for each round and each worker
 * count: starts the workers (each with its own empty store, so the candles come from Redis), waits for
 * their "serving the sweeps" line, runs `pyr optimize ... --queue URL --json` and reads the summary's
 * `seconds` (from queueing to the last result: the upload of the candles and the workers' set-up
 * included). The rows of every queued sweep must equal the local run's. Everything it starts is
 * stopped by pid. The sweep: the seed over the 15-minute file, 2024-01-01 to 2025-08-31, on issue 14's
 * 432-combination grid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin/pyr');
const CANDLES = path.resolve(REPO, '../shared/data/BTCUSDT-15m.csv');
const SWEEP = ['--candles', CANDLES, '--from', '2024-01-01', '--to', '2025-08-31', '--grid', 'oversold=5:30:5', '--grid', 'overbought=70:95:5', '--grid', 'stopLossPct=0.003,0.005,0.01,0.02', '--grid', 'takeProfitPct=0.005,0.01,0.02'];
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CANDLE_COUNT = 58_464;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A child that resolves `ready` when its output matches. */
function start(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; ready: Promise<void>; out: () => string } {
  const child = spawn(cmd, args, { cwd: REPO, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const readyP = new Promise<void>((resolve, reject) => {
    const on = (b: Buffer) => {
      out += b.toString();
      if (ready.test(out)) resolve();
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited (${code}) before it was ready:\n${out.slice(-2000)}`)));
  });
  return { child, ready: readyP, out: () => out };
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b.toString()));
    child.stderr.on('data', (b) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pyr-bench-queue-'));
  const port = await freePort();
  const redis = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp], /Ready to accept connections/);
  const started: ChildProcess[] = [redis.child];
  try {
    await redis.ready;
    console.log(`pyr queue benchmark: ${SWEEP.filter((a) => a.includes('=')).join(' ')} (432 combinations, ${CANDLE_COUNT.toLocaleString('en-US')} candles)`);
    console.log(`${os.cpus().length} CPUs, Node ${process.version}, load average at start ${os.loadavg()[0]!.toFixed(2)}; redis-server on port ${port}; best of ${ROUNDS} round(s)\n`);
    const local = await run(['optimize', ...SWEEP, '--workers', '2', '--out', path.join(tmp, 'local'), '--json']);
    if (local.code !== 0) throw new Error(`the local sweep failed: ${local.stderr}`);
    const localRows = readFileSync(path.join(tmp, 'local', 'optimize.csv'), 'utf8');
    const localSeconds = (JSON.parse(local.stdout) as { seconds: number }).seconds;
    const best = new Map<number, number>();
    let db = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of [1, 2]) {
        db++;
        const url = `redis://127.0.0.1:${port}/${db}`;
        const workers = Array.from({ length: n }, (_, k) =>
          start(process.execPath, [BIN, 'worker', '--queue', url, '--concurrency', '1', '--data-dir', path.join(tmp, `store-${db}-${k}`)], /serving the sweeps/, { XDG_CACHE_HOME: path.join(tmp, `cache-${db}-${k}`) }),
        );
        started.push(...workers.map((w) => w.child));
        await Promise.all(workers.map((w) => w.ready));
        const out = path.join(tmp, `queued-${db}`);
        const r = await run(['optimize', ...SWEEP, '--queue', url, '--out', out, '--json']);
        await Promise.all(workers.map((w) => stop(w.child)));
        if (r.code !== 0) throw new Error(`the queued sweep failed: ${r.stderr}`);
        const seconds = (JSON.parse(r.stdout) as { seconds: number }).seconds;
        const same = readFileSync(path.join(out, 'optimize.csv'), 'utf8') === localRows;
        if (!same) throw new Error(`the rows of the sweep on ${n} worker process(es) differ from the local run's`);
        console.log(`  round ${round + 1}, ${n} worker process${n === 1 ? '' : 'es'}: ${seconds.toFixed(1)} s, ${(432 / seconds).toFixed(1)} rows/s, ${((432 * CANDLE_COUNT) / seconds / 1e6).toFixed(2)} M candle-combinations/s; rows equal the local run's`);
        best.set(n, Math.min(best.get(n) ?? Infinity, seconds));
      }
    }
    console.log('');
    for (const [n, s] of best) console.log(`best, ${n} worker process${n === 1 ? '' : 'es'}: ${s.toFixed(1)} s, ${(432 / s).toFixed(1)} rows/s, ${((432 * CANDLE_COUNT) / s / 1e6).toFixed(2)} M candle-combinations/s`);
    console.log(`local, --workers 2 (for comparison): ${localSeconds.toFixed(1)} s, ${(432 / localSeconds).toFixed(1)} rows/s`);
    console.log(`2 worker processes / 1: ${(best.get(1)! / best.get(2)!).toFixed(2)}x; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await Promise.all(started.map(stop));
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
