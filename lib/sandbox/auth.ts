/**
 * Bybit V5 request authentication, checked the way Bybit checks it.
 *
 * REST: `X-BAPI-SIGN` = hex HMAC-SHA256(secret, timestamp + apiKey + recvWindow + payload), where payload
 * is the raw query string (GET) or the raw body text (POST), exactly as sent. The timestamp must satisfy
 * `server_time - recv_window <= timestamp < server_time + 1000`, on the server's wall clock (not the
 * replay clock: clients sign with their own clock).
 *
 * WebSocket: `{"op":"auth","args":[apiKey, expires, signature]}` with signature = hex HMAC-SHA256(secret,
 * "GET/realtime" + expires) and `expires` in the future.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface AuthFailure {
  readonly retCode: number;
  readonly retMsg: string;
}

export type AuthResult = { readonly ok: true; readonly apiKey: string } | ({ readonly ok: false } & AuthFailure);

export function hmacHex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Checks a signed REST request. `payload` is the raw query string (GET) or body text (POST). */
export function checkRestSignature(
  headers: Record<string, string | string[] | undefined>,
  payload: string,
  keys: ReadonlyMap<string, string>,
  serverTime: number,
): AuthResult {
  const apiKey = header(headers, 'X-BAPI-API-KEY');
  const ts = header(headers, 'X-BAPI-TIMESTAMP');
  const sign = header(headers, 'X-BAPI-SIGN');
  const recv = header(headers, 'X-BAPI-RECV-WINDOW') ?? '5000';
  if (!apiKey || !ts || !sign) return { ok: false, retCode: 10003, retMsg: 'API key is invalid.' };
  const timestamp = Number(ts);
  const recvWindow = Number(recv);
  if (!Number.isFinite(timestamp) || !Number.isFinite(recvWindow) || !(serverTime - recvWindow <= timestamp && timestamp < serverTime + 1000)) {
    return {
      ok: false,
      retCode: 10002,
      retMsg: `invalid request, please check your server timestamp or recv_window param. req_timestamp[${ts}],server_timestamp[${serverTime}],recv_window[${recv}]`,
    };
  }
  const secret = keys.get(apiKey);
  if (secret === undefined) return { ok: false, retCode: 10003, retMsg: 'API key is invalid.' };
  const origin = ts + apiKey + recv + payload;
  if (!sameHex(sign, hmacHex(secret, origin))) {
    return { ok: false, retCode: 10004, retMsg: `error sign! origin_string[${origin}]` };
  }
  return { ok: true, apiKey };
}

/** Checks a WebSocket `auth` request's args. */
export function checkWsAuth(args: unknown, keys: ReadonlyMap<string, string>, serverTime: number): AuthResult {
  if (!Array.isArray(args) || args.length !== 3) return { ok: false, retCode: 10001, retMsg: 'Params Error' };
  const [apiKey, expires, signature] = args as unknown[];
  if (typeof apiKey !== 'string' || typeof signature !== 'string' || (typeof expires !== 'number' && typeof expires !== 'string')) {
    return { ok: false, retCode: 10001, retMsg: 'Params Error' };
  }
  const exp = Number(expires);
  if (!Number.isFinite(exp) || exp <= serverTime) return { ok: false, retCode: 10002, retMsg: 'Params Error: request expired' };
  const secret = keys.get(apiKey);
  if (secret === undefined) return { ok: false, retCode: 10003, retMsg: 'Invalid apikey' };
  if (!sameHex(signature, hmacHex(secret, `GET/realtime${expires}`))) return { ok: false, retCode: 10004, retMsg: 'Invalid sign' };
  return { ok: true, apiKey };
}
