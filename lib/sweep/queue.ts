/**
 * Sweeps across machines on BullMQ (Redis): the coordinator side of `pyr optimize --queue` and the loop
 * of `pyr worker`. pyr does not implement a queue: BullMQ hands out the chunks, holds their locks,
 * gives a chunk whose worker died (its lock expired: the stalled-job check) to another worker, and keeps
 * every result until the coordinator has read it.
 *
 * A sweep has an id derived from everything its rows depend on (the strategy file's sha256, the jobs:
 * parameters and ranges, the candles' sha256, the run context: base parameters, instrument rules,
 * funding, and the chunk size), so running the same sweep again, or restarting its coordinator, finds
 * the same BullMQ queue (`pyr-sweep-<id>`) and the results already there. Keys besides BullMQ's own:
 *
 *   pyr:sweeps                the ids of the sweeps in progress (a set: what workers serve)
 *   pyr:sweep:<id>            the sweep's description (JSON): strategy, run context, candles (CandleRef)
 *   pyr:sweep:<id>:problems   lines from workers that cannot serve the sweep (the coordinator prints them)
 *   pyr:candles:<sha256>      the candle bytes (lib/sweep/candles.ts)
 *
 * Chunk jobs are `c<k>` (k from 0) holding consecutive jobs of the plan; each returns its results as
 * text (encodeExact). Results are stored by job id, so the rows are the same whatever ran them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, DataError, PyrError, type CandleSeries } from '../core/index.ts';
import type { GridValue } from '../engine/optimize.ts';
import type { RowMetrics } from '../report/optimize.ts';
import { resolveStrategyFile } from '../strategy/index.ts';
import { candleRef, findCandles, publishCandles, type CandleRef } from './candles.ts';
import { decodeExact, encodeExact, isFailure, runChunkAsync, type ChunkResult, type SerializedError } from './chunk.ts';
import { connect, loadQueueModules, shownUrl, type Connections, type RedisClient } from './redis.ts';
import { createRunner, type Job, type RunContext, type Runner } from './worker.ts';

const SWEEPS_KEY = 'pyr:sweeps';
const sweepKey = (id: string): string => `pyr:sweep:${id}`;
const problemsKey = (id: string): string => `pyr:sweep:${id}:problems`;
export const queueName = (id: string): string => `pyr-sweep-${id}`;

/** Milliseconds from the environment (tests shorten the lock and the stalled check). */
function envMs(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** The worker's BullMQ settings: the lock a chunk holds, how often stalled chunks are looked for, how often one may stall. */
export function workerSettings(): { lockDuration: number; stalledInterval: number; maxStalledCount: number; pollMs: number } {
  return {
    lockDuration: envMs('PYR_QUEUE_LOCK_MS', 30_000),
    stalledInterval: envMs('PYR_QUEUE_STALLED_MS', 30_000),
    maxStalledCount: envMs('PYR_QUEUE_MAX_STALLED', 5),
    pollMs: envMs('PYR_QUEUE_POLL_MS', 1_000),
  };
}

/** What a worker needs to run a sweep's chunks, as stored at pyr:sweep:<id>. */
interface SweepDoc {
  readonly v: 1;
  readonly id: string;
  readonly queue: string;
  readonly chunks: number;
  readonly combinations: number;
  readonly strategy: { readonly file: string; readonly sha256: string; readonly cwd: string };
  readonly ctx: Omit<RunContext, 'strategySpec' | 'cwd' | 'funding'> & { readonly funding?: { readonly times: number[]; readonly rates: string[] } };
  readonly candles: CandleRef;
}

interface ChunkData {
  readonly sweep: string;
  readonly chunk: number;
  /** The candles the jobs run on, by content (the bytes are at pyr:candles:<sha256>). */
  readonly candles: Pick<CandleRef, 'symbol' | 'category' | 'interval' | 'first' | 'last' | 'length' | 'sha256'>;
  readonly jobs: readonly Job[];
}

const fileSha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The default chunk size: about 256 chunks (each a round trip to Redis), at most 32 combinations per
 * chunk, so that the cores of many machines each get several chunks and the last ones even out.
 */
export function defaultChunkSize(jobs: number): number {
  return Math.max(1, Math.min(32, Math.ceil(jobs / 256)));
}

export interface QueuedSweep {
  readonly url: string;
  readonly ctx: RunContext;
  readonly series: CandleSeries;
  readonly jobs: readonly Job[];
  readonly chunkSize?: number;
}

export interface QueuedOutcome {
  readonly sweepId: string;
  readonly queue: string;
  /** Row metrics by job id; undefined where the combination failed. */
  readonly metrics: (RowMetrics | undefined)[];
  readonly failures: { readonly id: number; readonly params: Readonly<Record<string, GridValue>>; readonly error: SerializedError }[];
  /** Chunks whose results were already in Redis when this coordinator started. */
  readonly resumed: number;
  readonly chunks: number;
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Float64Array) return Array.from(x);
    if (x && typeof x === 'object' && !Array.isArray(x)) return Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return x;
  });
}

/**
 * Runs the jobs on whatever `pyr worker`s serve the queue at `url`: enqueues the chunks not done yet,
 * reports progress (combinations done, over all workers), and resolves with every job's result. A
 * combination whose strategy threw is in `failures` (its row is missing); the sweep goes on. A chunk
 * BullMQ gave up on (it stalled more than PYR_QUEUE_MAX_STALLED times) or a lost Redis ends it with an
 * error.
 */
export async function runQueued(sweep: QueuedSweep, hooks: { onProgress?: (done: number) => void; onNotice?: (line: string) => void; onWarning?: (line: string) => void } = {}): Promise<QueuedOutcome> {
  const conns = await connect(sweep.url);
  try {
    return await Promise.race([coordinate(conns, sweep, hooks), conns.lost.then((e) => Promise.reject(e))]);
  } finally {
    await conns.closeAll();
  }
}

async function coordinate(conns: Connections, sweep: QueuedSweep, hooks: { onProgress?: (done: number) => void; onNotice?: (line: string) => void; onWarning?: (line: string) => void }): Promise<QueuedOutcome> {
  const { bullmq } = await loadQueueModules();
  const { ctx, series, jobs } = sweep;
  const size = sweep.chunkSize ?? defaultChunkSize(jobs.length);
  const chunks: Job[][] = [];
  for (let i = 0; i < jobs.length; i += size) chunks.push(jobs.slice(i, i + size));
  const { ref, bytes } = candleRef(series, { symbol: ctx.symbol, category: ctx.category, interval: ctx.interval, source: ctx.candleFile });
  const strategySha = fileSha(ctx.strategySpec);
  const { strategySpec: _s, cwd: _c, funding, ...rest } = ctx;
  const docCtx: SweepDoc['ctx'] = { ...rest, ...(funding ? { funding: { times: Array.from(funding.times), rates: [...funding.rates] } } : {}) };
  const id = createHash('sha256')
    .update(canonical({ v: 1, strategy: strategySha, ctx: { ...docCtx, candleFile: undefined, fundingFile: undefined, fundingNone: undefined }, candles: ref.sha256, size, jobs: jobs.map((j) => [j.id, j.from, j.to, j.params]) }))
    .digest('hex')
    .slice(0, 16);
  const name = queueName(id);
  const doc: SweepDoc = { v: 1, id, queue: name, chunks: chunks.length, combinations: jobs.length, strategy: { file: ctx.strategySpec, sha256: strategySha, cwd: ctx.cwd }, ctx: docCtx, candles: ref };

  const redis = conns.client();
  await publishCandles(redis, ref, bytes);
  await redis.set(sweepKey(id), JSON.stringify(doc));
  const queue = new bullmq.Queue<ChunkData, string>(name, { connection: conns.client() });
  const events = new bullmq.QueueEvents(name, { connection: conns.client() });
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  await events.waitUntilReady();

  const metrics: (RowMetrics | undefined)[] = new Array(jobs.length);
  const failures: QueuedOutcome['failures'][number][] = [];
  const seen = new Set<number>();
  let done = 0;
  const record = (jobId: string | undefined, value: unknown): void => {
    const k = Number(/^c(\d+)$/.exec(jobId ?? '')?.[1] ?? NaN);
    if (!Number.isInteger(k) || k < 0 || k >= chunks.length || seen.has(k) || typeof value !== 'string') return;
    const results = decodeExact<ChunkResult[]>(value);
    seen.add(k);
    for (const r of results) {
      if (isFailure(r)) failures.push({ id: r.id, params: r.params, error: r.error });
      else metrics[r.id] = r.metrics;
    }
    done += results.length;
    hooks.onProgress?.(done);
  };
  let wake: () => void = () => undefined;
  events.on('completed', ({ jobId, returnvalue }) => {
    record(jobId, returnvalue);
    wake();
  });
  const reconcile = async (): Promise<void> => {
    for (let start = 0; ; start += 1000) {
      const got = await queue.getJobs(['completed'], start, start + 999, true);
      for (const j of got) record(j.id, j.returnvalue);
      if (got.length < 1000) break;
    }
  };
  await reconcile();
  const resumed = seen.size;
  if (resumed > 0) hooks.onNotice?.(`sweep ${id}: ${resumed} of ${chunks.length} chunks were already done (their results are kept in Redis); running the rest`);
  const missing = chunks.map((c, k) => ({ c, k })).filter(({ k }) => !seen.has(k));
  const candles: ChunkData['candles'] = { symbol: ref.symbol, category: ref.category, interval: ref.interval, first: ref.first, last: ref.last, length: ref.length, sha256: ref.sha256 };
  for (let i = 0; i < missing.length; i += 500) {
    // Existing job ids (waiting, active, done) are left as they are: adding again is harmless.
    await queue.addBulk(missing.slice(i, i + 500).map(({ c, k }) => ({ name: 'chunk', data: { sweep: id, chunk: k, candles, jobs: c }, opts: { jobId: `c${k}`, attempts: 1, removeOnComplete: false, removeOnFail: false } })));
  }
  await redis.sadd(SWEEPS_KEY, id);
  hooks.onNotice?.(`sweep ${id}: ${jobs.length} runs in ${chunks.length} chunks of up to ${size} on queue ${name} at ${shownUrl(sweep.url)}; workers: pyr worker --queue ${shownUrl(sweep.url)}`);

  let problemsSeen = 0;
  while (seen.size < chunks.length) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 500);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    wake = () => undefined;
    if (seen.size >= chunks.length) break;
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.completed ?? 0) > seen.size) await reconcile();
    if ((counts.failed ?? 0) > 0) {
      const [bad] = await queue.getJobs(['failed'], 0, 0, true);
      const what = bad ? `chunk ${bad.id} (${(bad.data as ChunkData).jobs.length} runs) failed on a worker: ${bad.failedReason}` : 'a chunk failed on a worker';
      throw new PyrError(`sweep ${id}: ${what}; the results so far stay in Redis: run the same command again to retry the rest`);
    }
    const problems = await redis.lrange(problemsKey(id), problemsSeen, -1);
    problemsSeen += problems.length;
    for (const p of problems) hooks.onWarning?.(p);
  }

  // Done: the sweep leaves Redis (the candles expire by themselves; another sweep may share them).
  await events.close();
  await redis.srem(SWEEPS_KEY, id);
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await redis.del(sweepKey(id), problemsKey(id));
  failures.sort((a, b) => a.id - b.id);
  return { sweepId: id, queue: name, metrics, failures, resumed, chunks: chunks.length };
}

// ---------------------------------------------------------------------------------------------------
// The worker

export interface ServeOptions {
  readonly url: string;
  readonly cwd: string;
  readonly dataDir: string;
  /** One line for the log (stderr). */
  readonly log: (line: string) => void;
  /** Also log each chunk started and done. */
  readonly verbose?: boolean;
  /** Resolves when the worker should stop (SIGINT/SIGTERM): the chunk in hand is finished first. */
  readonly stop: Promise<void>;
}

interface Served {
  readonly worker?: { close(force?: boolean): Promise<void> };
  readonly runner?: Runner;
}

/** The strategy file on this machine with the sha256 the sweep names, or a ConfigError saying what differs. */
function localStrategy(doc: SweepDoc, cwd: string): string {
  const s = doc.strategy;
  const candidates: string[] = [s.file];
  const rel = path.relative(s.cwd, s.file);
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) candidates.push(path.resolve(cwd, rel));
  try {
    candidates.push(resolveStrategyFile(path.basename(s.file).replace(/\.(ts|js|mjs)$/, ''), cwd));
  } catch {
    // not a built-in or local name here
  }
  const tried: string[] = [];
  for (const f of [...new Set(candidates)]) {
    let sha: string;
    try {
      sha = fileSha(f);
    } catch {
      tried.push(`${f} (absent)`);
      continue;
    }
    if (sha === s.sha256) return f;
    tried.push(`${f} (different: sha256 ${sha.slice(0, 12)})`);
  }
  throw new ConfigError(`the sweep's strategy ${path.basename(s.file)} (sha256 ${s.sha256.slice(0, 12)}) is not on this machine: tried ${tried.join(', ')}; install the same pyr version, or put the same file there`);
}

/**
 * `pyr worker`'s loop, in one process: serves every sweep listed in Redis (one BullMQ worker with
 * concurrency 1 per sweep), running each chunk with the chunk function the local worker threads use,
 * until `stop` resolves or Redis is lost (then it rejects with the error naming the URL).
 */
export async function serveQueue(opts: ServeOptions): Promise<{ chunks: number }> {
  const conns = await connect(opts.url);
  const { bullmq } = await loadQueueModules();
  const settings = workerSettings();
  const redis = conns.client();
  const served = new Map<string, Served>();
  const host = `${os.hostname()} pid ${process.pid}`;
  let chunksDone = 0;
  let stopping = false;
  let fatal: Error | undefined;

  const setUp = async (id: string): Promise<Served> => {
    const text = await redis.get(sweepKey(id));
    if (!text) return {};
    const doc = JSON.parse(text) as SweepDoc;
    const strategyFile = localStrategy(doc, opts.cwd);
    const found = await findCandles(doc.candles, path.resolve(opts.cwd, opts.dataDir), redis);
    if (found.storeMismatch) opts.log(`sweep ${id}: not using the store's candles: ${found.storeMismatch}`);
    const { funding, ...ctxRest } = doc.ctx;
    const ctx: RunContext = { ...ctxRest, strategySpec: strategyFile, cwd: opts.cwd, ...(funding ? { funding: { times: Float64Array.from(funding.times), rates: funding.rates } } : {}) };
    const runner = await createRunner(ctx, found.series);
    opts.log(`sweep ${id}: ${doc.combinations} runs in ${doc.chunks} chunks; strategy ${strategyFile}; candles from ${found.from}`);
    const worker = new bullmq.Worker<ChunkData, string>(
      doc.queue,
      async (job) => {
        if (opts.verbose) opts.log(`sweep ${id}: chunk ${job.id} started (${job.data.jobs.length} runs)`);
        // The candles this worker holds are the ones the chunk names (checked by sha256 when loaded).
        if (job.data.candles.sha256 !== doc.candles.sha256) throw new DataError(`chunk ${job.id} names candles ${job.data.candles.sha256.slice(0, 12)}, this worker holds ${doc.candles.sha256.slice(0, 12)}; not run`);
        const results = await runChunkAsync(runner, job.data.jobs);
        for (const r of results) if (isFailure(r)) opts.log(`warning: sweep ${id}: run ${r.id} failed: ${r.error.message}`);
        return encodeExact(results);
      },
      { connection: conns.client(), concurrency: 1, lockDuration: settings.lockDuration, stalledInterval: settings.stalledInterval, maxStalledCount: settings.maxStalledCount },
    );
    worker.on('completed', (job) => {
      chunksDone++;
      if (opts.verbose) opts.log(`sweep ${id}: chunk ${job.id} done`);
    });
    worker.on('error', (err) => {
      if (!stopping) opts.log(`warning: sweep ${id}: ${err.message}`);
    });
    return { worker, runner };
  };

  const refresh = async (): Promise<void> => {
    const ids = new Set(await redis.smembers(SWEEPS_KEY));
    for (const [id, s] of served) {
      if (!ids.has(id)) {
        served.delete(id);
        await s.worker?.close(true).catch(() => undefined);
        if (s.worker) opts.log(`sweep ${id}: finished`);
      }
    }
    for (const id of ids) {
      if (served.has(id)) continue;
      try {
        served.set(id, await setUp(id));
      } catch (err) {
        // This machine cannot serve the sweep: say so here and to the coordinator, and leave it to others.
        const msg = `worker ${host} cannot serve sweep ${id}: ${(err as Error).message}`;
        opts.log(`warning: ${msg}`);
        served.set(id, {});
        await redis.rpush(problemsKey(id), msg).catch(() => undefined);
        await redis.expire(problemsKey(id), 7 * 24 * 3600).catch(() => undefined);
      }
    }
  };

  opts.log(`pyr worker: serving the sweeps at ${shownUrl(opts.url)} (pid ${process.pid})`);
  void conns.lost.then((e) => {
    fatal = e;
  });
  let stopped = false;
  void opts.stop.then(() => (stopped = true));
  try {
    while (!stopped && !fatal) {
      await refresh();
      await Promise.race([new Promise((r) => setTimeout(r, settings.pollMs)), opts.stop, conns.lost]);
    }
  } catch (err) {
    if (!fatal) throw err;
  } finally {
    stopping = true;
    // A graceful stop lets the chunk in hand finish; a lost Redis cannot.
    await Promise.all([...served.values()].map((s) => s.worker?.close(!!fatal).catch(() => undefined)));
    await conns.closeAll();
  }
  if (fatal) throw fatal;
  return { chunks: chunksDone };
}

export type { RedisClient };
