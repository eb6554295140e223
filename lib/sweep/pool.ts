/**
 * The sweep's worker pool: worker threads that each load the strategy once and run the combinations they
 * are handed (lib/sweep/worker.ts), over candles shared in memory. Results come back by job id, so a
 * sweep's rows are the same whatever the number of workers.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError, PyrError, StrategyError } from '../core/index.ts';
import type { GridValue } from '../engine/optimize.ts';
import type { FromWorker, Job, RowMetrics, SerializedError, ToWorker, WorkerInit } from './worker.ts';
import { formatParams } from '../report/optimize.ts';

/** `--import tsx` (and friends) removed: the worker registers tsx itself, exactly once. */
function withoutTsx(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (/^(--import|--loader|--experimental-loader|--require|-r)$/.test(a) && /tsx/.test(argv[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader|experimental-loader|require)=.*tsx/.test(a)) continue;
    out.push(a);
  }
  return out;
}

/** The URL of one of tsx's register APIs (`tsx/esm/api`, `tsx/cjs/api`), its "import" export. */
function tsxApi(self: string, sub: 'esm/api' | 'cjs/api'): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve(`tsx/${sub}`);
  // A test runner may load this file as CommonJS, without import.meta.resolve: read tsx's exports map.
  const pkgFile = createRequire(self).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import?: string | { default?: string } }> };
  const entry = pkg.exports[`./${sub}`]?.import;
  const target = typeof entry === 'string' ? entry : entry?.default;
  if (!target) throw new PyrError(`cannot locate tsx/${sub} to start the optimizer workers`);
  return pathToFileURL(path.join(path.dirname(pkgFile), target)).href;
}

function startWorker(init: WorkerInit): Worker {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    // Running from the TypeScript sources: the worker registers tsx, then imports the worker module.
    const url = new URL('./worker.ts', self).href;
    // Both of tsx's loaders, as `node --import tsx` has them: a .ts strategy file outside a "type": "module"
    // package is CommonJS to Node.
    const [esm, cjs] = [tsxApi(self, 'esm/api'), tsxApi(self, 'cjs/api')].map((u) => JSON.stringify(u));
    const boot = `Promise.all([import(${esm}), import(${cjs})]).then(([e, c]) => { e.register(); c.register(); return import(${JSON.stringify(url)}); });`;
    return new Worker(boot, { eval: true, workerData: init, execArgv: withoutTsx(process.execArgv) });
  }
  return new Worker(new URL('./worker.js', self), { workerData: init });
}

/** A worker's error as a PyrError naming the combination that failed. */
export function errorFrom(e: SerializedError, params?: Readonly<Record<string, GridValue>>): PyrError {
  const where = params ? ` (with ${formatParams(params)})` : '';
  if (e.exitCode === 2) return new ConfigError(`${e.message}${where}`);
  if (e.pyr) return new StrategyError(`${e.message}${where}`);
  const err = new StrategyError(`a run failed${where}: ${e.message}`);
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * Runs `jobs` on `count` worker threads; resolves with each job's metrics at the job's id. Jobs are
 * handed out in batches as workers finish, in id order, each batch a quarter of the remaining jobs'
 * share per worker (at most 16, at least 1: guided self-scheduling), so both cores stay busy to the end
 * instead of one waiting on the other's last big batch; each worker has its next batch queued while it
 * runs the current one (two in flight), and results come back batch by batch as they are done.
 */
export async function runPool(jobs: readonly Job[], count: number, init: WorkerInit, onDone?: (done: number) => void): Promise<RowMetrics[]> {
  const results: RowMetrics[] = new Array(jobs.length);
  if (jobs.length === 0) return results;
  const n = Math.max(1, Math.min(count, jobs.length));
  const batchSize = (): number => Math.max(1, Math.min(16, Math.floor((jobs.length - next) / (n * 4))));
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      const feed = (w: Worker): void => {
        if (next >= jobs.length) return; // stays idle until every batch is back
        const slice = jobs.slice(next, next + batchSize());
        next += slice.length;
        w.postMessage({ type: 'run', jobs: slice } satisfies ToWorker);
      };
      for (let i = 0; i < n; i++) {
        const w = startWorker(init);
        workers.push(w);
        w.on('message', (m: FromWorker) => {
          if (settled) return;
          if (m.type === 'ready') {
            // Two batches in flight: the next is already there when the worker finishes one.
            feed(w);
            feed(w);
          }
          else if (m.type === 'results') {
            for (const r of m.results) results[r.id] = r.metrics;
            done += m.results.length;
            onDone?.(done);
            if (done === jobs.length) {
              settled = true;
              resolve();
            } else feed(w);
          } else fail(errorFrom(m.error, m.params));
        });
        w.on('error', (err) => fail(new PyrError(`an optimizer worker failed: ${err.message}`, { cause: err })));
        w.on('exit', (code) => {
          if (!settled) fail(new PyrError(`an optimizer worker stopped (exit code ${code}) before the sweep finished`));
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

