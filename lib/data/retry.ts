/**
 * Retries and a client-side rate limiter for pyr's REST downloads.
 *
 * - `withRetry` runs one request with the seed's policy: up to `retries` more tries after the first,
 *   waiting `backoffFactor × 2^attempt` seconds before try `attempt + 1` (0.5 s, 1 s, 2 s with the seed's
 *   factor 0.5). Only failures that trying again can fix are retried: network errors, time-outs, HTTP
 *   5xx and 429, and Bybit's retCode 10006 (too many visits) and 10016 (server error). Everything else
 *   (10001 bad parameters, HTTP 403 IP ban or region block, 404) fails at once.
 * - `RateLimiter` spaces request starts so that no more than `perSecond` start in any second. Bybit's
 *   public market endpoints are limited per IP (600 requests per 5 s, then HTTP 403 and a ~10 minute ban);
 *   the default 10/s stays far below that.
 *
 * Errors are described without the SDK's `requestOptions` (which may hold API keys).
 */
import { ExchangeError, PyrError } from '../core/errors.ts';

export interface RetryPolicy {
  /** Tries after the first (the seed's apiRequestRetries, 3). */
  readonly retries: number;
  /** Seconds; waits factor × 2^attempt before the next try (the seed's apiBackoffFactor, 0.5). */
  readonly backoffFactor: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, backoffFactor: 0.5 };

/** retCodes worth another try: rate limit and Bybit-side errors. */
export const RETRYABLE_RET_CODES: ReadonlySet<number> = new Set([10006, 10016]);

/** The Bybit V5 envelope every REST answer comes in. */
export interface Envelope<T> {
  readonly retCode: number;
  readonly retMsg: string;
  readonly result: T;
  readonly time?: number;
}

/** One failed try, classified. */
export interface Failure {
  readonly message: string;
  readonly retryable: boolean;
  readonly retCode?: number;
  readonly status?: number;
}

/** Describes a rejection of the bybit-api SDK (axios underneath) in one line, nothing secret in it. */
export function describeRequestError(err: unknown): Failure {
  if (typeof err === 'string') return { message: err, retryable: true };
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; body?: unknown };
    if (typeof e.code === 'number' && e.code >= 100 && e.code < 600) {
      const status = e.code;
      const text = typeof e.message === 'string' && e.message ? ` ${e.message}` : '';
      const hint = status === 403 ? ' (Bybit answers 403 to an IP over its rate limit, banned for ~10 minutes, or in a blocked region)' : '';
      return { message: `HTTP ${status}${text}${hint}`, retryable: status >= 500 || status === 429, status };
    }
    // axios errors: ECONNREFUSED, ECONNRESET ("socket hang up"), ETIMEDOUT, ECONNABORTED ("timeout of N ms exceeded")
    const code = typeof e.code === 'string' ? e.code : undefined;
    const msg = typeof e.message === 'string' && e.message ? e.message : code ?? 'request failed';
    return { message: code && !msg.includes(code) ? `${msg} (${code})` : msg, retryable: true };
  }
  return { message: String(err), retryable: true };
}

/** Thrown when the caller's AbortSignal fires (Ctrl-C): exit code 130, as a shell reports SIGINT. */
export class InterruptedError extends PyrError {
  override readonly exitCode: number = 130;
}

/** Resolves after `ms`, or rejects with InterruptedError when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError('interrupted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new InterruptedError('interrupted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Spaces request starts at least 1000/perSecond ms apart (shared by concurrent workers). */
export class RateLimiter {
  private next = 0;
  private readonly spacingMs: number;

  constructor(readonly perSecond: number, private readonly now: () => number = Date.now) {
    if (!(perSecond > 0)) throw new RangeError('RateLimiter: perSecond must be above 0');
    this.spacingMs = 1000 / perSecond;
  }

  /** Waits for the next free slot and takes it. */
  async take(signal?: AbortSignal): Promise<void> {
    const t = this.now();
    const at = Math.max(t, this.next);
    this.next = at + this.spacingMs;
    if (at > t) await sleep(at - t, signal);
  }
}

export interface RetryContext {
  readonly policy: RetryPolicy;
  readonly limiter?: RateLimiter;
  readonly signal?: AbortSignal;
  /** Counts every try sent (for summaries). */
  onRequest?: () => void;
  /** Called before each wait: which try failed, why, and how long until the next. */
  onRetry?: (attempt: number, failure: Failure, waitMs: number) => void;
}

/**
 * Sends `call` until it answers retCode 0, retrying what can be retried; resolves with the envelope.
 * Throws an ExchangeError `"<what>: <reason> (after N tries)"` when it gives up.
 */
export async function withRetry<T>(what: string, ctx: RetryContext, call: () => Promise<Envelope<T>>): Promise<Envelope<T>> {
  for (let attempt = 0; ; attempt++) {
    if (ctx.signal?.aborted) throw new InterruptedError('interrupted');
    await ctx.limiter?.take(ctx.signal);
    let failure: Failure;
    try {
      ctx.onRequest?.();
      const r = await call();
      if (r && typeof r === 'object' && r.retCode === 0) return r;
      if (!r || typeof r !== 'object' || typeof r.retCode !== 'number') {
        failure = { message: 'the answer is not a Bybit V5 envelope', retryable: false };
      } else {
        failure = { message: `retCode ${r.retCode}: ${r.retMsg}`, retryable: RETRYABLE_RET_CODES.has(r.retCode), retCode: r.retCode };
      }
    } catch (err) {
      if (err instanceof PyrError) throw err;
      failure = describeRequestError(err);
    }
    if (ctx.signal?.aborted) throw new InterruptedError('interrupted');
    if (!failure.retryable || attempt >= ctx.policy.retries) {
      const tries = attempt + 1;
      throw new ExchangeError(`${what}: ${failure.message}${failure.retryable ? ` (gave up after ${tries} ${tries === 1 ? 'try' : 'tries'})` : ''}`, {
        retCode: failure.retCode,
        retryable: failure.retryable,
      });
    }
    const wait = ctx.policy.backoffFactor * 1000 * 2 ** attempt;
    ctx.onRetry?.(attempt + 1, failure, wait);
    await sleep(wait, ctx.signal);
  }
}
