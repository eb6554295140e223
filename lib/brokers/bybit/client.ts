/**
 * The only place pyr's live mode talks to Bybit: bybit-api's RestClientV5 and WebsocketClient, wrapped so
 * that every REST call goes through one retry policy and no error that leaves this module can carry the
 * API key or secret (the SDK's rejected requests hold both in `requestOptions`).
 */
import { RestClientV5, WebsocketClient } from 'bybit-api';
import { ExchangeError } from '../../core/index.ts';

export type BybitEnv = 'testnet' | 'demo' | 'mainnet';

/** Bybit's own domains (mainnet, testnet and demo hosts live under them, as do the regional ones). */
export const BYBIT_DOMAINS: readonly string[] = ['bybit.com', 'bytick.com', 'bybit.nl', 'bybit-tr.com', 'bybit.kz', 'bybitglobal.com'];

/** A URL on one of Bybit's domains (the host itself or a subdomain of it). */
export function isBybitHost(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return BYBIT_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`));
}

export interface BybitConnection {
  readonly env: BybitEnv;
  readonly key: string;
  readonly secret: string;
  /** Overrides the REST host (a mirror or the local exchange). */
  readonly restUrl?: string;
  /** Overrides the WebSocket URL (every socket goes there). */
  readonly wsUrl?: string;
  /** REST time-out in ms (default 10 s). */
  readonly timeoutMs?: number;
}

export interface RetryPolicy {
  /** Retries after the first try (the seed's API_REQUEST_RETRIES, 3). */
  readonly retries: number;
  /** Backoff factor in seconds: waits factor x 2^attempt (the seed's API_BACKOFF_FACTOR, 0.5). */
  readonly backoffFactor: number;
}

/** retCodes worth retrying: rate limits and server-side errors. Order rejections are not. */
const RETRYABLE_CODES = new Set([10000, 10006, 10016, 10018, 10429, 170146]);

interface Envelope<T> {
  retCode: number;
  retMsg: string;
  result: T;
  time?: number;
}

/** A one-line description of an SDK rejection, with nothing secret in it. */
export function describeSdkError(err: unknown): { message: string; retryable: boolean; status?: number } {
  if (typeof err === 'string') return { message: err, retryable: true };
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; body?: unknown };
    const status = typeof e.code === 'number' ? e.code : undefined;
    if (status !== undefined && status >= 100 && status < 600) {
      const retryable = status >= 500 || status === 429 || status === 403;
      return { message: `HTTP ${status}${typeof e.message === 'string' && e.message ? ` ${e.message}` : ''}`, retryable, status };
    }
    const msg = typeof e.message === 'string' ? e.message : typeof e.code === 'string' ? e.code : 'request failed';
    // Network errors and time-outs (ECONNREFUSED, ECONNRESET, ETIMEDOUT, "timeout of 10000ms exceeded", socket hang up).
    return { message: msg, retryable: true };
  }
  return { message: String(err), retryable: true };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

/** REST with the retry policy. `call` resolves with `result`, or throws an ExchangeError. */
export class BybitRest {
  readonly client: RestClientV5;
  readonly policy: RetryPolicy;
  readonly #credentials: { readonly key?: string; readonly secret?: string };
  /** Called before each retry (for the console and the journal). */
  onRetry?: (what: string, attempt: number, reason: string, waitMs: number) => void;
  /** Requests made, for summaries. */
  requests = 0;

  constructor(conn: BybitConnection, policy: RetryPolicy) {
    this.policy = policy;
    this.#credentials = { key: conn.key, secret: conn.secret };
    this.client = new RestClientV5(
      {
        key: conn.key || undefined,
        secret: conn.secret || undefined,
        testnet: conn.env === 'testnet' && !conn.restUrl,
        demoTrading: conn.env === 'demo' && !conn.restUrl,
        baseUrl: conn.restUrl,
        recv_window: 5000,
      },
      { timeout: conn.timeoutMs ?? 10_000 },
    );
  }

  /**
   * Calls `fn` with retries on network errors, time-outs, HTTP 5xx and rate limits (backoff
   * factor x 2^attempt s). With `retry: false` (orders), only failures before the exchange could have
   * acted are retried: none; the caller reconciles instead.
   */
  async call<T>(what: string, fn: (c: RestClientV5) => Promise<Envelope<T>>, opts: { retry?: boolean } = {}): Promise<{ result: T; time?: number }> {
    const retry = opts.retry ?? true;
    for (let attempt = 0; ; attempt++) {
      let reason: string;
      let retryable: boolean;
      let retCode: number | undefined;
      try {
        this.requests++;
        const r = await fn(this.client);
        if (r.retCode === 0) return { result: r.result, time: r.time };
        retCode = r.retCode;
        reason = scrubSecrets(`retCode ${r.retCode}: ${r.retMsg}`, this.#credentials);
        retryable = RETRYABLE_CODES.has(r.retCode);
      } catch (err) {
        const d = describeSdkError(err);
        reason = scrubSecrets(d.message, this.#credentials);
        retryable = d.retryable;
      }
      if (!retry || !retryable || attempt >= this.policy.retries) {
        throw new ExchangeError(`${what} failed: ${reason}${retryable && retry ? ` (after ${attempt + 1} tries)` : ''}`, { retCode, retryable });
      }
      const wait = this.policy.backoffFactor * 1000 * 2 ** attempt;
      this.onRetry?.(what, attempt + 1, reason, wait);
      await sleep(wait);
    }
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
  return new WebsocketClient(
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
}
