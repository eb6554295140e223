/**
 * A real Redis for the queue tests: Debian's `redis-server` (`.ci/run` installs it when missing),
 * started on a free port with no persistence and stopped after. When it cannot be started: under CI the
 * hook fails with a clear message; elsewhere one `skipped:` line is printed and the tests are skipped
 * (the pattern of requireShared in helpers.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { onCi } from './helpers.ts';

export interface TestRedis {
  readonly port: number;
  /** redis://127.0.0.1:<port>/<db>. */
  url(db?: number): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts redis-server and resolves once it accepts connections (it says so on stdout). */
async function launch(): Promise<{ child: ChildProcess; port: number; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pyr-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (/Ready to accept connections/.test(out)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (e) => reject(new Error(`redis-server could not be started: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is not installed (apt-get install redis-server)' : e.message}`)));
    child.on('exit', (code) => reject(new Error(`redis-server exited (code ${code}) before accepting connections: ${out.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  return { child, port, dir };
}

/**
 * Call in a `before(async function () { redis = await startRedis(this) })`; `after(() => redis?.stop())`.
 */
export async function startRedis(ctx: Mocha.Context): Promise<TestRedis> {
  let got: Awaited<ReturnType<typeof launch>>;
  try {
    got = await launch();
  } catch (err) {
    const runnable = ctx.test as (Mocha.Runnable & { type?: string }) | undefined;
    const title = (runnable?.type === 'hook' ? runnable.parent?.fullTitle() : runnable?.fullTitle()) || 'a test';
    if (onCi()) throw new Error(`"${title}" needs a Redis server and none could be started: ${(err as Error).message}; CI must have redis-server (.ci/run installs it)`);
    process.stderr.write(`  skipped: "${title}" needs redis-server: ${(err as Error).message}\n`);
    ctx.skip();
  }
  const { child, port, dir } = got!;
  return {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
