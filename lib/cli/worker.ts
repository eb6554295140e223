/**
 * `pyr worker --queue redis://host:port/db`: runs the chunks of every sweep that `pyr optimize --queue`
 * puts on that Redis, on this machine, until stopped (Ctrl-C or SIGTERM: the chunk in hand is finished
 * first). `--concurrency N` (default: the available CPUs) runs N worker processes, each serving the
 * queue on its own; they stop with this one (each also stops when its parent is gone, even by SIGKILL:
 * its chunk then goes to another worker through BullMQ's stalled-job check).
 *
 * The work itself is lib/sweep/queue.ts's serveQueue, which runs each chunk with the chunk function of
 * the local worker threads (lib/sweep/chunk.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ConfigError, PyrError } from '../core/index.ts';
import type { CliIo } from './io.ts';

interface WorkerFlags {
  queue?: string;
  concurrency?: string;
  dataDir?: string;
  verbose?: boolean;
}

/** bin/pyr of this installation (from lib/cli or dist/lib/cli). */
function pyrBin(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const f = path.join(dir, 'bin', 'pyr');
    if (existsSync(f) && existsSync(path.join(dir, 'package.json'))) return f;
    dir = path.dirname(dir);
  }
  throw new PyrError('cannot find bin/pyr to start the worker processes');
}

function stopSignal(): { stop: Promise<void>; dispose: () => void } {
  let resolve!: () => void;
  const stop = new Promise<void>((r) => (resolve = r));
  const on = (): void => resolve();
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return { stop, dispose: () => (process.off('SIGINT', on), process.off('SIGTERM', on)) };
}

async function serveOne(flags: WorkerFlags, url: string, io: CliIo): Promise<void> {
  const { serveQueue } = await import('../sweep/queue.ts');
  const { stop, dispose } = stopSignal();
  // A child of `--concurrency N` stops at once when its parent is gone (even by SIGKILL), and lets go of
  // the channel to its parent when it is done (or it would never exit).
  const child = !!process.send && !!io.env.PYR_WORKER_CHILD;
  const parentGone = (): never => process.exit(1);
  if (child) process.on('disconnect', parentGone);
  try {
    await serveQueue({ url, cwd: io.cwd, dataDir: flags.dataDir ?? 'data', verbose: flags.verbose, stop, log: (line) => io.stderr.write(`${line}\n`) });
  } finally {
    dispose();
    if (child) {
      process.off('disconnect', parentGone);
      process.disconnect?.();
    }
  }
}

/** N child processes, each `pyr worker --concurrency 1`; resolves when all have stopped, rejects if one failed. */
async function serveMany(n: number, flags: WorkerFlags, url: string, io: CliIo): Promise<void> {
  // Fail here, once, when Redis is not there (rather than N times).
  const { connect } = await import('../sweep/redis.ts');
  await (await connect(url)).closeAll();
  const args = [pyrBin(), 'worker', '--queue', url, '--concurrency', '1', ...(flags.dataDir ? ['--data-dir', flags.dataDir] : []), ...(flags.verbose ? ['--verbose'] : [])];
  io.stderr.write(`pyr worker: ${n} worker processes on ${url.replace(/\/\/[^@/]*@/, '//')}\n`);
  const children: ChildProcess[] = [];
  const { stop, dispose } = stopSignal();
  void stop.then(() => children.forEach((c) => c.kill('SIGTERM')));
  try {
    const codes = await Promise.all(
      Array.from({ length: n }, () => {
        const c = spawn(process.execPath, args, { cwd: io.cwd, env: { ...io.env, PYR_WORKER_CHILD: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        children.push(c);
        return new Promise<number>((resolve) => {
          c.on('exit', (code, signal) => {
            // One failed (Redis lost, say): the others stop too.
            if (code !== 0) children.forEach((o) => o !== c && o.kill('SIGTERM'));
            resolve(code ?? (signal ? 1 : 0));
          });
          c.on('error', () => resolve(1));
        });
      }),
    );
    const bad = codes.find((c) => c !== 0);
    if (bad !== undefined) throw new PyrError(`a worker process stopped with exit code ${bad} (its error is above)`);
  } finally {
    dispose();
  }
}

export function workerCommand(io: CliIo): Command {
  return new Command('worker')
    .description('Run the chunks of the sweeps that `pyr optimize --queue` puts on a Redis queue, on this machine')
    .option('--queue <url>', 'the Redis the sweeps are on: redis://host:port/db (required)')
    .option('--concurrency <n>', `worker processes (default ${os.availableParallelism()}: the available CPUs)`)
    .option('--data-dir <dir>', "this machine's candle store, used when its candles are the sweep's (same sha256); default data")
    .option('--verbose', 'log each chunk started and done')
    .action(async (flags: WorkerFlags) => {
      if (flags.queue === undefined) throw new ConfigError('--queue: required: the Redis URL the sweeps are on, e.g. --queue redis://127.0.0.1:6379/0');
      const { parseQueueUrl } = await import('../sweep/redis.ts');
      const url = parseQueueUrl(flags.queue);
      let n = os.availableParallelism();
      if (flags.concurrency !== undefined) {
        const t = String(flags.concurrency).trim();
        if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 1024) throw new ConfigError(`--concurrency: expected a whole number from 1 to 1024, got "${flags.concurrency}"`);
        n = Number(t);
      }
      if (n === 1) await serveOne(flags, url, io);
      else await serveMany(n, flags, url, io);
    });
}
