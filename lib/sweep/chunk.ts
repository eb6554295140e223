/**
 * One chunk of a sweep: the combinations a worker is handed at once, run one after the other with the
 * same runner. The local worker threads (lib/sweep/worker.ts) and `pyr worker` on the queue
 * (lib/sweep/queue.ts) both call `runChunk`/`runChunkAsync`, which call `runOne`: a row is computed by
 * the same code wherever it runs.
 *
 * A combination that throws gives an error result naming it (its parameters travel with the error); the
 * others in the chunk still run unless the caller asks to stop at the first error (the local pool does:
 * a local sweep stops on the first failure, as it always has).
 */
import { PyrError } from '../core/index.ts';
import type { GridValue } from '../engine/optimize.ts';
import type { RowMetrics } from '../report/optimize.ts';
import type { Job, Runner } from './worker.ts';

export interface SerializedError {
  readonly message: string;
  readonly exitCode: number;
  readonly pyr: boolean;
  readonly stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof PyrError) return { message: err.message, exitCode: err.exitCode, pyr: true, stack: err.stack };
  if (err instanceof Error) return { message: err.message, exitCode: 1, pyr: false, stack: err.stack };
  return { message: String(err), exitCode: 1, pyr: false };
}

export type ChunkResult =
  | { readonly id: number; readonly metrics: RowMetrics }
  | { readonly id: number; readonly error: SerializedError; readonly params: Readonly<Record<string, GridValue>> };

export function isFailure(r: ChunkResult): r is Extract<ChunkResult, { error: SerializedError }> {
  return 'error' in r;
}

/** One combination: its row metrics, or the error it threw with its parameters. */
export function runOne(runner: Runner, job: Job): ChunkResult {
  try {
    return { id: job.id, metrics: runner.runRow(job) };
  } catch (err) {
    return { id: job.id, error: serializeError(err), params: job.params };
  }
}

/** The chunk's results in job order; with `stopOnError`, up to and including the first failure. */
export function runChunk(runner: Runner, jobs: readonly Job[], opts: { stopOnError?: boolean } = {}): ChunkResult[] {
  const out: ChunkResult[] = [];
  for (const job of jobs) {
    const r = runOne(runner, job);
    out.push(r);
    if (opts.stopOnError && isFailure(r)) break;
  }
  return out;
}

/**
 * runChunk that lets the event loop turn between combinations, so a process that runs chunks on its main
 * thread (`pyr worker`) keeps renewing its job lock and answering Redis while it works.
 */
export async function runChunkAsync(runner: Runner, jobs: readonly Job[], onEach?: (done: number) => void): Promise<ChunkResult[]> {
  const out: ChunkResult[] = [];
  for (const job of jobs) {
    out.push(runOne(runner, job));
    onEach?.(out.length);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Results as text (what a queued chunk returns): JSON, with the numbers JSON cannot hold kept exact.

const SPECIAL = '$num';

/** JSON of `value` where NaN, ±Infinity and -0 survive the trip (as {"$num": "..."}). */
export function encodeExact(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { [SPECIAL]: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  });
}

export function decodeExact<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === SPECIAL) {
        const s = (v as Record<string, string>)[SPECIAL]!;
        return s === '-0' ? -0 : Number(s);
      }
    }
    return v;
  }) as T;
}
