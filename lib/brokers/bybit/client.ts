/**
 * The only place pyr talks to Bybit: bybit-api's RestClientV5 and WebsocketClient, wrapped so that every
 * REST call of the live broker, the candle feed, the instruments lookup and the downloader goes through
 * one client (`BybitRest`) with one policy, and no error that leaves this module can carry the API key or
 * secret (the SDK's rejected requests hold both in `requestOptions`; Bybit's sign errors echo the key).
 *
 * The policy of `BybitRest.call(what, fn, opts)`:
 *
 * - **Rate limits.** The SDK parses Bybit's `X-Bapi-Limit`, `X-Bapi-Limit-Status` and
 *   `X-Bapi-Limit-Reset-Timestamp` (`parseAPIRateLimits`). When an answer says the window of its endpoint
 *   is spent (status 0), or is a 10006 "Too many visits!", the next request to that endpoint waits until the
 *   reset timestamp (measured from the answer's own server `time`, plus a few ms; a status 0 whose reset is
 *   "now" waits one 1-second window), at most `maxRateLimitWaitMs` (10 s). Other endpoints go on. Such
 *   waits do not use up the retries (the exchange did nothing), up to `maxRateLimitWaits` (10) per call. A
 *   10006 without the headers (public endpoints) falls back to the backoff.
 * - **Priorities.** Requests waiting to be sent (a spent window, a pause, the spacing limiter) leave in
 *   order: orders first (order/create, order/cancel, order/cancel-all, order/amend, position/trading-stop),
 *   then account reads (position, execution, wallet...), then market data (kline, tickers,
 *   instruments-info, funding...), first come first served within one class.
 * - **HTTP 403** (Bybit's IP ban, at least 10 minutes, or a blocked region) is not retried: the call throws
 *   `ExchangeBannedError`, `onAlert` is told, and every request of this client waits until the pause ends
 *   (`banPauseMs`, default 10 minutes), then goes on. With `pausedRequests: 'fail'` (the downloader, a
 *   one-shot command) requests during the pause throw `ExchangeBannedError` instead of waiting.
 * - **Authentication and permission errors** (retCodes 10003, 10004, 10005, 10007, 10010, 33004; HTTP
 *   401) are never retried: `ExchangeAuthError` (`isAuthError(err)`); the live command stops on it.
 * - **10002** (timestamp outside recv_window): the clock offset is measured from `/v5/market/time`
 *   (`syncTime()`, which the live command also calls at start) and set on the SDK, then the request is
 *   retried once. The SDK's `enable_time_sync` is never used: its interval keeps Node alive.
 * - **Backoff.** Network errors, time-outs, HTTP 5xx/429 and retCodes 10000, 10006 (no headers), 10016,
 *   10018, 10429, 170146 are retried up to `policy.retries` times, waiting `backoffFactor x 2^n` s. With
 *   `retry: false` these are not retried (the caller reconciles: the exchange may have acted); the waits
 *   above, where the exchange certainly did not act, still are. Anything else (10001, 110xxx order
 *   rejections, HTTP 404...) throws at once.
 * - **Each try** calls `fn(client, attempt)` afresh (attempt 0, 1, ...), so a retried order can be priced
 *   again; before each retry `stillValid()` is asked, and when it says no the call throws an ExchangeError
 *   saying the decision no longer stands. An `AbortSignal` ends any wait with `InterruptedError` (exit
 *   130). `requestsPerSecond` spaces request starts (the downloader's 10/s). `onRequest` sees every try,
 *   `onRetry` every wait before a retry, `onAlert` a ban, `onTimeSync` a new clock offset. `close()` ends
 *   the requests still waiting (InterruptedError), so a stopping session is not held by a 10-minute pause.
 *
 * Failures throw `ExchangeError` (`retCode` when the exchange answered one) with a message scrubbed of the
 * key and secret (`scrubSecrets`).
 */
import { RestClientV5, WS_KEY_MAP, WebsocketClient } from 'bybit-api';

export type { RestClientV5 } from 'bybit-api';
import { ExchangeAuthError, ExchangeBannedError, ExchangeError, InterruptedError, PyrError } from '../../core/index.ts';

export { ExchangeAuthError, ExchangeBannedError, InterruptedError, isAuthError } from '../../core/index.ts';

export type BybitEnv = 'testnet' | 'demo' | 'mainnet';

/** Bybit's own domains (mainnet, testnet and demo hosts live under them, as do the regional ones). */
export const BYBIT_DOMAINS: readonly string[] = ['bybit.com', 'bytick.com', 'bybit.nl', 'bybit-tr.com', 'bybit.kz', 'bybitglobal.com'];

/** A URL whose host is one of `domains` or a subdomain of one. */
export function isHostOn(url: string, domains: readonly string[]): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return domains.some((d) => host === d || host.endsWith(`.${d}`));
}

/** A URL on one of Bybit's domains (the host itself or a subdomain of it). */
export function isBybitHost(url: string): boolean {
  return isHostOn(url, BYBIT_DOMAINS);
}

export interface BybitConnection {
  readonly env: BybitEnv;
  /** API key and secret; none for public market data (the downloader). */
  readonly key?: string;
  readonly secret?: string;
  /** Overrides the REST host (a mirror or the local exchange). */
  readonly restUrl?: string;
  /** Overrides the WebSocket URL (every socket goes there). */
  readonly wsUrl?: string;
  /** REST time-out in ms (default 10 s). */
  readonly timeoutMs?: number;
  /** Bybit's recv_window of signed requests in ms (default 5000). */
  readonly recvWindowMs?: number;
}

export interface RetryPolicy {
  /** Retries after the first try (the seed's API_REQUEST_RETRIES, 3). */
  readonly retries: number;
  /** Backoff factor in seconds: waits factor x 2^n before retry n + 1 (the seed's API_BACKOFF_FACTOR, 0.5). */
  readonly backoffFactor: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, backoffFactor: 0.5 };

/** Which requests leave first when several wait: orders, then account reads, then market data. */
export type RequestPriority = 'order' | 'account' | 'market';

export interface BybitRestOptions {
  /** Client-side spacing of request starts: at most this many per second (default: none). */
  readonly requestsPerSecond?: number;
  /** How long an HTTP 403 pauses every request of the client (default 600 000 ms: Bybit's 10-minute ban). */
  readonly banPauseMs?: number;
  /** Requests made during a pause wait for its end (default) or throw ExchangeBannedError at once. */
  readonly pausedRequests?: 'wait' | 'fail';
  /** The longest wait for a rate-limit reset (default 10 000 ms). */
  readonly maxRateLimitWaitMs?: number;
  /** Rate-limit waits allowed per call, on top of the retries (default 10). */
  readonly maxRateLimitWaits?: number;
  readonly onAlert?: (message: string) => void;
  readonly onRequest?: (what: string, attempt: number) => void;
  readonly onRetry?: (what: string, attempt: number, reason: string, waitMs: number) => void;
  readonly onTimeSync?: (offsetMs: number) => void;
}

export interface CallOptions {
  /** false: failures whose outcome is unknown (network, time-out, 5xx) are not retried (default true). */
  readonly retry?: boolean;
  /** Overrides `policy.retries` for this call. */
  readonly retries?: number;
  /** The endpoint, for its rate-limit window (default: read from `what`, e.g. "order/create", "GET /v5/market/kline ..."). */
  readonly path?: string;
  /** Default: from the path (orders, account reads, market data). */
  readonly priority?: RequestPriority;
  /** Asked before each retry: false stops retrying (the decision behind the request no longer stands). */
  readonly stillValid?: () => boolean;
  /** Aborting ends any wait of this call with InterruptedError (a request in flight is let finish). */
  readonly signal?: AbortSignal;
}

/** The Bybit V5 envelope every REST answer comes in. */
export interface Envelope<T> {
  readonly retCode: number;
  readonly retMsg: string;
  readonly result: T;
  readonly time?: number;
}

/** What the SDK makes of the X-Bapi-Limit* headers (`parseAPIRateLimits`). */
interface RateLimitApi {
  readonly remainingRequests: number;
  readonly maxRequests: number;
  readonly resetAtTimestamp: number;
}

/** The last known rate-limit window of one endpoint. */
export interface EndpointLimit {
  readonly limit?: number;
  readonly remaining?: number;
  /** Server ms, as Bybit sent it. */
  readonly resetAt?: number;
  /** Local epoch ms before which no request to the endpoint is sent. */
  readonly blockedUntil: number;
}

/** retCodes worth retrying with backoff: rate limits and server-side errors. Order rejections are not. */
export const RETRYABLE_RET_CODES: ReadonlySet<number> = new Set([10000, 10006, 10016, 10018, 10429, 170146]);
/** Authentication and permission errors: never retried. */
export const AUTH_RET_CODES: ReadonlySet<number> = new Set([10003, 10004, 10005, 10007, 10010, 33004]);

const ORDER_PATHS = new Set(['order/create', 'order/cancel', 'order/cancel-all', 'order/amend', 'order/create-batch', 'order/cancel-batch', 'position/trading-stop']);
const RANK: Record<RequestPriority, number> = { order: 0, account: 1, market: 2 };
/** A spent window whose reset Bybit reports as "now" ends within one second. */
const WINDOW_MS = 1000;
/** Sent this long after the reset, against timer and clock granularity. */
const RESET_MARGIN_MS = 5;

/** The endpoint named in `what`: "order/create", "GET /v5/market/kline BTCUSDT ..." → "market/kline". */
export function endpointOf(what: string): string {
  const m = /(?:\/v5\/|^)([a-z-]+\/[a-z-]+(?:\/[a-z-]+)?)/i.exec(what);
  return m ? m[1]! : what;
}

export function priorityOf(path: string): RequestPriority {
  if (ORDER_PATHS.has(path)) return 'order';
  if (path.startsWith('market/')) return 'market';
  return 'account';
}

/** A one-line description of an SDK rejection, with nothing secret in it. */
export function describeSdkError(err: unknown): { message: string; retryable: boolean; status?: number } {
  if (typeof err === 'string') return { message: err, retryable: !/require api and private keys/i.test(err) };
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown };
    if (typeof e.code === 'number' && e.code >= 100 && e.code < 600) {
      const status = e.code;
      const text = typeof e.message === 'string' && e.message ? ` ${e.message}` : '';
      const hint = status === 403 ? ' (Bybit answers 403 to an IP over its rate limit, banned for at least 10 minutes, or in a blocked region)' : '';
      return { message: `HTTP ${status}${text}${hint}`, retryable: status >= 500 || status === 429, status };
    }
    // axios errors: ECONNREFUSED, ECONNRESET ("socket hang up"), ETIMEDOUT, ECONNABORTED ("timeout of N ms exceeded")
    const code = typeof e.code === 'string' ? e.code : undefined;
    const msg = typeof e.message === 'string' && e.message ? e.message : code ?? 'request failed';
    return { message: code && !msg.includes(code) ? `${msg} (${code})` : msg, retryable: true };
  }
  return { message: String(err), retryable: true };
}

/** Resolves after `ms`, or rejects with InterruptedError when `signal` aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError('interrupted'));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new InterruptedError('interrupted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A message with the credentials taken out: Bybit's sign errors echo the signed text (`origin_string[...]`,
 * which starts with the timestamp and the API key), and nothing pyr prints or journals may hold the key
 * or the secret.
 */
export function scrubSecrets(text: string, conn: { readonly key?: string; readonly secret?: string }): string {
  let out = text.replace(/origin_string\[[^\]]*\]/g, 'origin_string[…]');
  for (const s of [conn.secret, conn.key]) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}

interface Waiter {
  readonly rank: number;
  readonly seq: number;
  readonly path: string;
  readonly what: string;
  readonly grant: () => void;
  readonly fail: (err: unknown) => void;
  readonly signal?: AbortSignal;
  onAbort?: () => void;
}

type Outcome =
  | { readonly kind: 'auth' | 'ban' | 'fatal' | 'clock' | 'backoff'; readonly reason: string; readonly retCode?: number }
  | { readonly kind: 'rate'; readonly reason: string; readonly retCode: number; readonly waited: boolean };

const utc = (t: number): string => `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const minutes = (ms: number): string => (ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${+(ms / 1000).toFixed(1)} s`);

/** Bybit REST with the policy above. `call` resolves with `{ result, time }`, or throws an ExchangeError. */
export class BybitRest {
  readonly client: RestClientV5;
  readonly policy: RetryPolicy;
  /** Called before each retry (for the console and the journal): the retry's number (1, 2...), why, the wait. */
  onRetry?: (what: string, attempt: number, reason: string, waitMs: number) => void;
  /** Called as each try is sent (attempt 0 is the first). */
  onRequest?: (what: string, attempt: number) => void;
  /** Called once when an HTTP 403 pauses the client. */
  onAlert?: (message: string) => void;
  /** Called when a time sync sets a new clock offset (server − local, ms): e.g. for the WebSocket client. */
  onTimeSync?: (offsetMs: number) => void;
  /** Requests made, for summaries. */
  requests = 0;
  readonly #credentials: { readonly key?: string; readonly secret?: string };
  readonly #spacingMs: number;
  readonly #banPauseMs: number;
  readonly #pausedRequests: 'wait' | 'fail';
  readonly #maxRateWaitMs: number;
  readonly #maxRateWaits: number;
  #queue: Waiter[] = [];
  #seq = 0;
  #nextSlot = 0;
  #timer: NodeJS.Timeout | undefined;
  #pausedUntil = 0;
  #pauseCause = '';
  readonly #limits = new Map<string, EndpointLimit>();
  #offsetMs = 0;
  #syncing: Promise<number> | undefined;
  #closed = false;

  constructor(conn: BybitConnection, policy: RetryPolicy = DEFAULT_RETRY, options: BybitRestOptions = {}) {
    this.policy = policy;
    this.#credentials = { key: conn.key, secret: conn.secret };
    const rps = options.requestsPerSecond;
    if (rps !== undefined && !(rps > 0)) throw new RangeError('BybitRest: requestsPerSecond must be above 0');
    this.#spacingMs = rps ? 1000 / rps : 0;
    this.#banPauseMs = options.banPauseMs ?? 600_000;
    this.#pausedRequests = options.pausedRequests ?? 'wait';
    this.#maxRateWaitMs = options.maxRateLimitWaitMs ?? 10_000;
    this.#maxRateWaits = options.maxRateLimitWaits ?? 10;
    this.onAlert = options.onAlert;
    this.onRequest = options.onRequest;
    this.onRetry = options.onRetry;
    this.onTimeSync = options.onTimeSync;
    this.client = new RestClientV5(
      {
        key: conn.key || undefined,
        secret: conn.secret || undefined,
        testnet: conn.env === 'testnet' && !conn.restUrl,
        demoTrading: conn.env === 'demo' && !conn.restUrl,
        baseUrl: conn.restUrl?.replace(/\/+$/, '') || undefined,
        recv_window: conn.recvWindowMs ?? 5000,
        parseAPIRateLimits: true,
      },
      { timeout: conn.timeoutMs ?? 10_000 },
    );
    this.#setOffset(0, false);
  }

  /** The clock offset the signatures use (server − local, ms). */
  get timeOffsetMs(): number {
    return this.#offsetMs;
  }

  /** Until when (epoch ms) an HTTP 403 pauses every request; 0 or past when not paused. */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /**
   * Ends the client: requests waiting to be sent (behind a pause, a spent window or the spacing limiter)
   * and any later call throw InterruptedError, and no timer is left. Requests in flight finish.
   */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const all = this.#queue;
    this.#queue = [];
    for (const w of all) this.#release(w, new InterruptedError(`${w.what}: not sent: the REST client was closed`));
  }

  /** The last known rate-limit window of an endpoint ("order/create"). */
  limitOf(path: string): EndpointLimit | undefined {
    return this.#limits.get(path);
  }

  /**
   * Measures the clock offset from `/v5/market/time` (server − local, at the middle of the round trip),
   * sets it on the SDK (signatures use it) and returns it. Concurrent calls share one request.
   */
  syncTime(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.#syncing ??= (async () => {
      try {
        let t0 = 0;
        let t1 = 0;
        const { time } = await this.call(
          'market/time',
          async (c) => {
            t0 = Date.now();
            const r = await c.getServerTime();
            t1 = Date.now();
            return r as unknown as Envelope<unknown>;
          },
          { priority: 'order', signal: opts.signal },
        );
        const server = Number(time);
        if (!Number.isFinite(server) || server <= 0) throw new ExchangeError('market/time failed: the answer carries no server time');
        const offset = Math.round(server - (t0 + t1) / 2);
        this.#setOffset(offset, true);
        return offset;
      } finally {
        this.#syncing = undefined;
      }
    })();
    return this.#syncing;
  }

  #setOffset(ms: number, notify: boolean): void {
    this.#offsetMs = ms;
    // The SDK keeps it in a private field; setting it (never null) also stops its own "sync", which only sets 0.
    (this.client as unknown as { timeOffset: number | null }).timeOffset = ms;
    if (notify) this.onTimeSync?.(ms);
  }

  /**
   * Calls `fn(client, attempt)` under the policy of the header comment. `what` names the request in
   * messages and, unless `opts.path` is given, its endpoint.
   */
  async call<T>(what: string, fn: (c: RestClientV5, attempt: number) => Promise<Envelope<T>>, opts: CallOptions = {}): Promise<{ result: T; time?: number }> {
    const path = opts.path ?? endpointOf(what);
    const rank = RANK[opts.priority ?? priorityOf(path)];
    const retries = opts.retries ?? this.policy.retries;
    const retryUnknown = opts.retry ?? true;
    const signal = opts.signal;
    let backoffs = 0;
    let rateWaits = 0;
    let synced = false;
    let last: Outcome | undefined;
    const stale = (o: Outcome): ExchangeError =>
      new ExchangeError(`${what} failed: ${o.reason}; not retried: the decision behind it no longer stands`, { retCode: o.retCode, retryable: false });
    for (let attempt = 0; ; attempt++) {
      await this.#acquire(what, path, rank, signal);
      if (attempt > 0 && opts.stillValid && !opts.stillValid()) throw stale(last!);
      let outcome: Outcome;
      try {
        this.requests++;
        this.onRequest?.(what, attempt);
        const r = await fn(this.client, attempt);
        const received = Date.now();
        if (!r || typeof r !== 'object' || typeof r.retCode !== 'number') {
          outcome = { kind: 'fatal', reason: 'the answer is not a Bybit V5 envelope' };
        } else {
          const waited = this.#noteLimits(path, r as Envelope<T> & { rateLimitApi?: RateLimitApi }, received);
          if (r.retCode === 0) return { result: r.result, time: r.time };
          const reason = this.#scrub(`retCode ${r.retCode}: ${r.retMsg}`);
          if (AUTH_RET_CODES.has(r.retCode)) outcome = { kind: 'auth', reason, retCode: r.retCode };
          else if (r.retCode === 10002) outcome = { kind: 'clock', reason, retCode: r.retCode };
          else if (r.retCode === 10006) outcome = { kind: 'rate', reason, retCode: r.retCode, waited };
          else if (RETRYABLE_RET_CODES.has(r.retCode)) outcome = { kind: 'backoff', reason, retCode: r.retCode };
          else outcome = { kind: 'fatal', reason, retCode: r.retCode };
        }
      } catch (err) {
        if (err instanceof PyrError) throw err;
        const d = describeSdkError(err);
        const reason = this.#scrub(d.message);
        outcome = d.status === 403 ? { kind: 'ban', reason } : d.status === 401 ? { kind: 'auth', reason } : { kind: d.retryable ? 'backoff' : 'fatal', reason };
      }
      last = outcome;
      const { reason, retCode } = outcome;
      switch (outcome.kind) {
        case 'auth':
          throw new ExchangeAuthError(`${what} failed: ${reason} (an authentication or permission error: not retried)`, { retCode, retryable: false });
        case 'ban':
          throw this.#ban(what, reason);
        case 'fatal':
          throw new ExchangeError(`${what} failed: ${reason}`, { retCode, retryable: false });
      }
      if (signal?.aborted) throw new InterruptedError('interrupted');
      if (opts.stillValid && !opts.stillValid()) throw stale(outcome);
      const tries = attempt + 1;
      const gaveUp = (why = ''): ExchangeError =>
        new ExchangeError(`${what} failed: ${reason}${why} (gave up after ${tries} ${tries === 1 ? 'try' : 'tries'})`, { retCode, retryable: true });
      if (outcome.kind === 'clock') {
        // Rejected before the exchange acted: sync the clock, then one more try.
        if (synced) throw new ExchangeError(`${what} failed: ${reason} (also after a time sync)`, { retCode, retryable: false });
        synced = true;
        let offset: number;
        try {
          offset = await this.syncTime({ signal });
        } catch (err) {
          if (err instanceof InterruptedError) throw err;
          throw new ExchangeError(`${what} failed: ${reason}; the time sync failed: ${(err as Error).message}`, { retCode, retryable: false, cause: err });
        }
        this.onRetry?.(what, tries, `${reason} (clock offset now ${offset} ms)`, 0);
        continue;
      }
      if (outcome.kind === 'rate' && outcome.waited) {
        // The window is known: the path waits for its reset (see #noteLimits); that uses up no retry.
        if (++rateWaits > this.#maxRateWaits) throw gaveUp();
        this.onRetry?.(what, tries, reason, Math.max(0, (this.#limits.get(path)?.blockedUntil ?? 0) - Date.now()));
        continue;
      }
      // Backoff: unknown outcomes (network, time-out, 5xx) only when the caller allows it.
      if (outcome.kind === 'backoff' && !retryUnknown) throw new ExchangeError(`${what} failed: ${reason}`, { retCode, retryable: true });
      if (backoffs >= retries) throw gaveUp();
      const wait = this.policy.backoffFactor * 1000 * 2 ** backoffs;
      backoffs++;
      this.onRetry?.(what, tries, reason, wait);
      await sleep(wait, signal);
    }
  }

  #scrub(text: string): string {
    return scrubSecrets(text, this.#credentials);
  }

  /**
   * Reads the answer's rate-limit window. A spent window (status 0) or a 10006 blocks the path until the
   * reset; true when the answer carried the headers (the wait is known).
   */
  #noteLimits(path: string, r: { retCode: number; time?: number; rateLimitApi?: RateLimitApi }, received: number): boolean {
    const rl = r.rateLimitApi;
    if (!rl || ![rl.remainingRequests, rl.maxRequests, rl.resetAtTimestamp].every(Number.isFinite)) return false;
    const prev = this.#limits.get(path);
    let blockedUntil = prev?.blockedUntil ?? 0;
    if (rl.remainingRequests <= 0 || r.retCode === 10006) {
      const serverNow = typeof r.time === 'number' && Number.isFinite(r.time) ? r.time : received + this.#offsetMs;
      const untilReset = rl.resetAtTimestamp > serverNow ? rl.resetAtTimestamp - serverNow : WINDOW_MS;
      blockedUntil = Math.max(blockedUntil, received + Math.min(untilReset + RESET_MARGIN_MS, this.#maxRateWaitMs));
    }
    this.#limits.set(path, { limit: rl.maxRequests, remaining: rl.remainingRequests, resetAt: rl.resetAtTimestamp, blockedUntil });
    return true;
  }

  /** An HTTP 403: pause every request, alert once, and the error the call throws. */
  #ban(what: string, reason: string): ExchangeBannedError {
    const now = Date.now();
    const fresh = this.#pausedUntil <= now;
    this.#pausedUntil = Math.max(this.#pausedUntil, now + this.#banPauseMs);
    const until = this.#pausedUntil;
    if (fresh) {
      this.#pauseCause = what;
      this.onAlert?.(this.#scrub(`Bybit answered HTTP 403 to ${what}: an IP ban (at least 10 minutes) or a blocked region; every request is paused for ${minutes(this.#banPauseMs)}, until ${utc(until)}`));
    }
    this.#pump();
    return new ExchangeBannedError(`${what} failed: ${reason}; not retried: requests to Bybit are paused until ${utc(until)}`, { pausedUntil: until });
  }

  #pausedError(what: string): ExchangeBannedError {
    return new ExchangeBannedError(`${what}: not sent: requests to Bybit are paused until ${utc(this.#pausedUntil)} after HTTP 403 to ${this.#pauseCause}`, { pausedUntil: this.#pausedUntil });
  }

  /** Waits until this request may be sent: no pause, its endpoint's window open, a spacing slot free, nothing of higher priority waiting. */
  #acquire(what: string, path: string, rank: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new InterruptedError('interrupted'));
    if (this.#closed) return Promise.reject(new InterruptedError(`${what}: not sent: the REST client was closed`));
    if (this.#pausedRequests === 'fail' && this.#pausedUntil > Date.now()) return Promise.reject(this.#pausedError(what));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { rank, seq: this.#seq++, path, what, grant: resolve, fail: reject, signal };
      if (signal) {
        w.onAbort = () => {
          this.#queue = this.#queue.filter((x) => x !== w);
          reject(new InterruptedError('interrupted'));
          this.#pump();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      let i = this.#queue.length;
      while (i > 0 && this.#queue[i - 1]!.rank > rank) i--;
      this.#queue.splice(i, 0, w);
      this.#pump();
    });
  }

  /** Sends what may be sent now, in priority order, and sets a timer for the next change. */
  #pump(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    const now = Date.now();
    let wakeAt = Infinity;
    if (now < this.#pausedUntil) {
      if (this.#pausedRequests === 'fail') {
        const all = this.#queue;
        this.#queue = [];
        for (const w of all) this.#release(w, this.#pausedError(w.what));
        return;
      }
      wakeAt = this.#pausedUntil;
    } else {
      for (let i = 0; i < this.#queue.length; ) {
        const w = this.#queue[i]!;
        const blocked = this.#limits.get(w.path)?.blockedUntil ?? 0;
        if (blocked > now) {
          wakeAt = Math.min(wakeAt, blocked);
          i++;
          continue;
        }
        if (this.#spacingMs > 0 && this.#nextSlot > now) {
          wakeAt = Math.min(wakeAt, this.#nextSlot);
          break;
        }
        this.#queue.splice(i, 1);
        if (this.#spacingMs > 0) this.#nextSlot = now + this.#spacingMs;
        this.#release(w);
      }
    }
    if (wakeAt < Infinity) this.#timer = setTimeout(() => this.#pump(), Math.max(1, wakeAt - now));
  }

  #release(w: Waiter, err?: unknown): void {
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    if (err === undefined) w.grant();
    else w.fail(err);
  }
}

/** A quiet logger for the SDK: nothing it logs reaches the console raw (it may hold request options). */
export function sdkLogger(sink: (level: 'info' | 'error', message: string) => void, conn: { readonly key?: string; readonly secret?: string } = {}): { trace: () => void; info: (...a: unknown[]) => void; error: (...a: unknown[]) => void } {
  const text = (a: unknown[]) =>
    a
      .map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' && 'message' in x ? String((x as { message: unknown }).message) : ''))
      .filter(Boolean)
      .join(' ');
  return { trace: () => {}, info: (...a) => sink('info', scrubSecrets(text(a), conn)), error: (...a) => sink('error', scrubSecrets(text(a), conn)) };
}

export function createWebsocket(conn: BybitConnection, sink: (level: 'info' | 'error', message: string) => void): WebsocketClient {
  const ws = new WebsocketClient(
    {
      key: conn.key,
      secret: conn.secret,
      market: 'v5',
      testnet: conn.env === 'testnet' && !conn.wsUrl,
      demoTrading: conn.env === 'demo' && !conn.wsUrl,
      wsUrl: conn.wsUrl,
    },
    sdkLogger(sink, conn) as never,
  );
  forgetStaleAuthOnClose(ws);
  return ws;
}


/**
 * bybit-api (4.7.7) keeps its "authentication in progress" promise when a connection closes before the
 * exchange answered the `auth` request: the next connection then awaits that promise, which nothing will
 * ever settle, and never authenticates nor subscribes to the private topics. The stream looks connected
 * and carries nothing, for the rest of the process. Dropping the promise at every unplanned close lets
 * the next connection authenticate afresh. (The old connection's pending chain is left unsettled rather
 * than rejected: the SDK does not catch that rejection.)
 */
export function forgetStaleAuthOnClose(ws: WebsocketClient): void {
  ws.on('reconnect', (e: { wsKey?: unknown }) => {
    if (typeof e?.wsKey !== 'string') return;
    try {
      ws.getWsStore().removeAuthenticationInProgressPromise(e.wsKey as never);
    } catch {
      // Nothing stored for that key: nothing to forget.
    }
  });
}

/**
 * Closes the private connection from the client side, so that the SDK reconnects, authenticates and
 * subscribes again: the way out of a subscription that was never confirmed. False when none is open
 * (one still connecting is left to the SDK).
 */
export function reconnectPrivate(ws: WebsocketClient): boolean {
  const socket = ws.getWsStore().getWs(WS_KEY_MAP.v5Private);
  if (!socket || socket.readyState !== socket.OPEN) return false;
  socket.terminate();
  return true;
}
