/**
 * `pyr optimize --queue`'s hand-off: the sweep's jobs go to the workers of a Redis queue
 * (lib/sweep/queue.ts) instead of local threads. What comes back has the local pool's shape (metrics by
 * job id), plus the combinations whose strategy threw: those are written as warnings naming their
 * parameters, and their rows are missing; the caller writes the other rows and then fails.
 */
import { writeWarning, type OutStream } from '../report/console.ts';
import type { RowMetrics } from '../report/optimize.ts';
import type { GridValue } from '../engine/optimize.ts';
import { errorFrom } from './pool.ts';
import type { Job, RunContext } from './worker.ts';
import { ConfigError, type CandleSeries } from '../core/index.ts';
import { parseQueueUrl } from './redis.ts';

export interface RemoteFailure {
  /** The job's id in the plan. */
  readonly id: number;
  readonly params: Readonly<Record<string, GridValue>>;
  /** One line: what the strategy threw, naming the parameters. */
  readonly message: string;
}

export async function runOnQueue(opts: {
  readonly url: string;
  readonly ctx: RunContext;
  readonly series: CandleSeries;
  readonly jobs: readonly Job[];
  readonly chunkSize?: number;
  readonly stderr: OutStream;
  readonly env: NodeJS.ProcessEnv;
  /** Notices are not printed (--json). */
  readonly quiet?: boolean;
  readonly onProgress?: (done: number) => void;
  /** Erases the progress bar before a line is written. */
  readonly clear?: () => void;
}): Promise<{ metrics: (RowMetrics | undefined)[]; failures: RemoteFailure[] }> {
  const { runQueued } = await import('./queue.ts');
  const say = (line: string): void => {
    opts.clear?.();
    opts.stderr.write(`${line}\n`);
  };
  const out = await runQueued(
    { url: opts.url, ctx: opts.ctx, series: opts.series, jobs: opts.jobs, chunkSize: opts.chunkSize },
    {
      onProgress: opts.onProgress,
      onNotice: (line) => (opts.quiet ? undefined : say(`pyr optimize: ${line}`)),
      onWarning: (line) => {
        opts.clear?.();
        writeWarning(opts.stderr, line, opts.env);
      },
    },
  );
  const failures = out.failures.map((f) => ({ id: f.id, params: f.params, message: errorFrom(f.error, f.params).message }));
  for (const f of failures) {
    opts.clear?.();
    writeWarning(opts.stderr, f.message, opts.env);
  }
  return { metrics: out.metrics, failures };
}

/** `--queue` and the flags that go with it, checked before anything slow happens. */
export function checkQueueFlags(flags: { queue?: string; workers?: string }): void {
  parseQueueUrl(flags.queue ?? '');
  if (flags.workers !== undefined) throw new ConfigError('--workers: not used with --queue: each `pyr worker` has its own --concurrency');
}
