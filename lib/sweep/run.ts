/**
 * Runs a sweep's jobs with a progress bar: on local worker threads (lib/sweep/pool.ts), or with a queue
 * URL on the `pyr worker`s of a Redis queue (lib/sweep/queue.ts, loaded only then, with bullmq). Either
 * way the result is the metrics by job id. On the queue, a combination whose strategy threw is written as
 * a warning naming its parameters and leaves a hole; the sweep goes on, and the caller writes the other
 * rows and then fails. Locally the first failure ends the sweep, as it always has.
 */
import { ConfigError, type CandleSeries } from '../core/index.ts';
import type { GridValue } from '../engine/optimize.ts';
import { createProgress, writeWarning, type OutStream } from '../report/console.ts';
import type { RowMetrics } from '../report/optimize.ts';
import { errorFrom, runPool } from './pool.ts';
import { parseQueueUrl, shownUrl } from './redis.ts';
import { shareSeries, type Job, type RunContext } from './worker.ts';

export interface RunFailure {
  /** The job's id in the plan. */
  readonly id: number;
  readonly params: Readonly<Record<string, GridValue>>;
  /** One line: what the strategy threw, naming the parameters. */
  readonly message: string;
}

export interface RunJobsOptions {
  readonly ctx: RunContext;
  readonly series: CandleSeries;
  readonly jobs: readonly Job[];
  /** Local worker threads (without `queue`). */
  readonly workers: number;
  /** A Redis URL: run on its workers instead. */
  readonly queue?: string;
  readonly chunkSize?: number;
  /** The bar's label. */
  readonly label: string;
  readonly stderr: OutStream;
  readonly env: NodeJS.ProcessEnv;
  /** No bar and no notices (--json). */
  readonly quiet?: boolean;
}

/** `--queue` and the flags that go with it, checked (and Redis reached) before anything slow happens. */
export async function checkQueueFlags(flags: { queue?: string; workers?: string; chunkSize?: string }): Promise<void> {
  if (flags.queue === undefined) {
    if (flags.chunkSize !== undefined) throw new ConfigError('--chunk-size: only used with --queue');
    return;
  }
  parseQueueUrl(flags.queue);
  if (flags.workers !== undefined) throw new ConfigError('--workers: not used with --queue: each `pyr worker` has its own --concurrency');
  const { connect } = await import('./redis.ts');
  await (await connect(flags.queue)).closeAll();
}

/** "N workers" or "the workers of redis://...", for the summary line. */
export function whereRun(queue: string | undefined, workers: number): string {
  return queue ? `the workers of ${shownUrl(queue)}` : `${workers} worker${workers === 1 ? '' : 's'}`;
}

/** The bar over the runs; a failure stops it where it was (no jump to 100%). */
export async function runJobs(opts: RunJobsOptions): Promise<{ metrics: (RowMetrics | undefined)[]; failures: RunFailure[] }> {
  const bar = opts.quiet ? undefined : createProgress({ stream: opts.stderr, label: opts.label, total: opts.jobs.length, unit: 'runs' });
  try {
    const out = opts.queue
      ? await onQueue(opts.queue, opts, (n) => bar?.update(n), () => bar?.clear())
      : { metrics: await runPool(opts.jobs, opts.workers, { kind: 'pyr-optimize', ctx: opts.ctx, shared: shareSeries(opts.series) }, (n) => bar?.update(n)), failures: [] };
    bar?.done();
    return out;
  } catch (err) {
    bar?.stop();
    throw err;
  }
}

async function onQueue(url: string, opts: RunJobsOptions, onProgress: (done: number) => void, clear: () => void): Promise<{ metrics: (RowMetrics | undefined)[]; failures: RunFailure[] }> {
  const { runQueued } = await import('./queue.ts');
  const warn = (line: string): void => {
    clear();
    writeWarning(opts.stderr, line, opts.env);
  };
  const out = await runQueued(
    { url, ctx: opts.ctx, series: opts.series, jobs: opts.jobs, chunkSize: opts.chunkSize },
    {
      onProgress,
      onNotice: (line) => {
        if (opts.quiet) return;
        clear();
        opts.stderr.write(`pyr optimize: ${line}\n`);
      },
      onWarning: warn,
    },
  );
  const failures = out.failures.map((f) => ({ id: f.id, params: f.params, message: errorFrom(f.error, f.params).message }));
  for (const f of failures) warn(f.message);
  return { metrics: out.metrics, failures };
}
