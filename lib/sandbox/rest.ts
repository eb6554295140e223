/**
 * The sandbox's REST API: Bybit V5's envelope, auth, rate-limit headers and error conventions over node:http.
 *
 * - Every answer is `{retCode, retMsg, result, retExtInfo, time}`; business errors are HTTP 200 with a
 *   non-zero retCode (the SDK resolves them), unknown paths HTTP 404.
 * - Signed endpoints check the signature over the raw query string / raw body, and carry the
 *   `X-Bapi-Limit*` headers of a real per-key, per-endpoint 1-second window.
 * - Faults (delay, refusal, 5xx, 10006, order rejection) are applied before routing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkRestSignature } from './auth.ts';
import { EngineError, type MatchingEngine } from './engine.ts';
import type { Faults } from './faults.ts';
import type { SandboxInstrument } from './instrument.ts';
import type { MarketReplay } from './market.ts';
import { instrumentView, klineRow, tickerView } from './views.ts';

type Obj = Record<string, unknown>;

export interface RestContext {
  readonly market: MarketReplay;
  readonly engine: MatchingEngine;
  readonly faults: Faults;
  readonly instrument: SandboxInstrument;
  readonly category: string;
  readonly interval: string;
  readonly keys: ReadonlyMap<string, string>;
  /** The server's wall clock (with any injected skew): auth and the envelope `time`. */
  wallNow(): number;
  /** Per-endpoint limits enforced (true by default). */
  readonly rateLimits: boolean;
  /** The windows requests are counted in (the sandbox reads them to tell a test how much room is left). */
  readonly windows?: RateWindows;
  /** Told of every REST request as it arrives (before faults): benchmarks and tests count and time them. */
  readonly onRequest?: (r: RestRequestInfo) => void;
}

/** A REST request as it arrived. */
export interface RestRequestInfo {
  readonly method: string;
  readonly path: string;
  /** It carried an API key (`X-BAPI-API-KEY`): a signed request. */
  readonly keyed: boolean;
  /** Wall clock at arrival (ms, no skew) and the replay clock then. */
  readonly wallMs: number;
  readonly replayMs: number;
  /** The POST body or the GET query, parsed. */
  readonly params: Readonly<Record<string, unknown>>;
}

/** Requests per second per key of a signed endpoint, or undefined for a public or unknown path. */
export function rateLimitOf(path: string): number | undefined {
  const r = routes[path];
  return r?.signed ? r.limit : undefined;
}

interface Request {
  readonly query: URLSearchParams;
  readonly body: Obj;
}

type Handler = (ctx: RestContext, r: Request) => Obj;

interface Route {
  readonly method: 'GET' | 'POST';
  readonly signed: boolean;
  /** Requests per second per key (signed endpoints). */
  readonly limit: number;
  readonly handler: Handler;
}

const DAY = 86_400_000;

/** Throws Bybit's parameter error. */
function bad(msg: string): never {
  throw new EngineError(10001, msg);
}

function str(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  return v === null || v === '' ? undefined : v;
}

function int(q: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const v = str(q, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) bad(`params error: ${name} invalid`);
  return Math.min(n, max);
}

function time(q: URLSearchParams, name: string): number | undefined {
  const v = str(q, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) bad(`params error: ${name} invalid`);
  return n;
}

function checkCategory(ctx: RestContext, category: unknown, required = true): void {
  if (category === undefined || category === '') {
    if (required) bad('params error: category is required');
    return;
  }
  if (category !== ctx.category) bad(`params error: category ${String(category)} is not served by this sandbox (${ctx.category} only)`);
}

function checkSymbol(ctx: RestContext, symbol: unknown, required = true): boolean {
  if (symbol === undefined || symbol === '') {
    if (required) bad('params error: symbol is required');
    return false;
  }
  if (symbol !== ctx.instrument.symbol) bad('params error: Not supported symbols');
  return true;
}

/** Offset-based pagination with an opaque cursor. */
function paginate(rows: Obj[], limit: number, cursor: string | undefined): { list: Obj[]; nextPageCursor: string } {
  let offset = 0;
  if (cursor !== undefined) {
    const m = /^page=(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
    if (!m) bad('params error: cursor invalid');
    offset = Number(m[1]);
  }
  const list = rows.slice(offset, offset + limit);
  const next = offset + limit < rows.length ? Buffer.from(`page=${offset + limit}`).toString('base64url') : '';
  return { list, nextPageCursor: next };
}

/** Bybit's 7-day rule for execution and closed-PnL queries (relative to the replay clock). */
function sevenDays(ctx: RestContext, q: URLSearchParams): { startTime: number; endTime: number } {
  const s = time(q, 'startTime');
  const e = time(q, 'endTime');
  if (s !== undefined && e !== undefined) {
    if (e < s) bad('params error: endTime must be after startTime');
    if (e - s > 7 * DAY) bad('params error: the time range must not exceed 7 days');
    return { startTime: s, endTime: e };
  }
  if (s !== undefined) return { startTime: s, endTime: s + 7 * DAY };
  if (e !== undefined) return { startTime: e - 7 * DAY, endTime: e };
  const now = ctx.market.now();
  return { startTime: now - 7 * DAY, endTime: now };
}

const routes: Record<string, Route> = {
  '/v5/market/time': {
    method: 'GET', signed: false, limit: 0,
    handler: (ctx) => {
      const t = ctx.wallNow();
      return { timeSecond: String(Math.floor(t / 1000)), timeNano: `${t}000000` };
    },
  },
  '/v5/market/kline': {
    method: 'GET', signed: false, limit: 0,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category') ?? 'linear');
      checkSymbol(ctx, str(q, 'symbol'));
      const interval = str(q, 'interval');
      if (interval === undefined) bad('params error: interval is required');
      if (interval !== ctx.interval) bad(`params error: interval ${interval} is not served by this sandbox (interval ${ctx.interval} only)`);
      const limit = int(q, 'limit', 200, 1, 1000);
      const bars = ctx.market.klines({ start: time(q, 'start'), end: time(q, 'end'), limit });
      const qd = ctx.instrument.qtyStep.decimalPlaces();
      return { symbol: ctx.instrument.symbol, category: ctx.category, list: bars.map((b) => klineRow(b, qd)) };
    },
  },
  '/v5/market/instruments-info': {
    method: 'GET', signed: false, limit: 0,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category'));
      const symbol = str(q, 'symbol');
      const status = str(q, 'status');
      const base = str(q, 'baseCoin');
      const match = (symbol === undefined || symbol === ctx.instrument.symbol) && (status === undefined || status === 'Trading') && (base === undefined || base === ctx.instrument.baseCoin);
      return { category: ctx.category, list: match ? [instrumentView(ctx.instrument, ctx.market.series.openTime[0]!)] : [], nextPageCursor: '' };
    },
  },
  '/v5/market/tickers': {
    method: 'GET', signed: false, limit: 0,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category'));
      const symbol = str(q, 'symbol');
      if (symbol !== undefined) checkSymbol(ctx, symbol);
      const base = str(q, 'baseCoin');
      const match = base === undefined || base === ctx.instrument.baseCoin;
      return { category: ctx.category, list: match ? [tickerView(ctx.market, ctx.instrument, ctx.instrument.qtyStep.decimalPlaces())] : [] };
    },
  },
  '/v5/market/funding/history': {
    method: 'GET', signed: false, limit: 0,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category'));
      checkSymbol(ctx, str(q, 'symbol'));
      const limit = int(q, 'limit', 200, 1, 200);
      const rows = ctx.market.fundingHistory({ start: time(q, 'startTime'), end: time(q, 'endTime'), limit });
      return {
        category: ctx.category,
        list: rows.map((r) => ({ symbol: ctx.instrument.symbol, fundingRate: r.rate, fundingRateTimestamp: String(r.time) })),
      };
    },
  },
  '/v5/position/list': {
    method: 'GET', signed: true, limit: 50,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category'));
      const symbol = str(q, 'symbol');
      const settleCoin = str(q, 'settleCoin');
      if (symbol === undefined && settleCoin === undefined) bad('params error: symbol or settleCoin is required');
      let rows: Obj[] = [];
      if (symbol !== undefined) {
        if (symbol === ctx.instrument.symbol) rows = [ctx.engine.positionView()];
      } else if (settleCoin === ctx.instrument.quoteCoin) {
        const row = ctx.engine.positionView();
        if (row.size !== '0') rows = [row];
      }
      return { category: ctx.category, ...paginate(rows, int(q, 'limit', 20, 1, 200), str(q, 'cursor')) };
    },
  },
  '/v5/order/realtime': {
    method: 'GET', signed: true, limit: 50,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category'));
      const orderId = str(q, 'orderId');
      const orderLinkId = str(q, 'orderLinkId');
      const symbol = str(q, 'symbol');
      const settleCoin = str(q, 'settleCoin');
      const baseCoin = str(q, 'baseCoin');
      if ([orderId, orderLinkId, symbol, settleCoin, baseCoin].every((x) => x === undefined)) bad('params error: symbol, baseCoin or settleCoin is required');
      const mine = (symbol === undefined || symbol === ctx.instrument.symbol) && (settleCoin === undefined || settleCoin === ctx.instrument.quoteCoin) && (baseCoin === undefined || baseCoin === ctx.instrument.baseCoin);
      // openOnly 0 (default): open orders (New, Untriggered); 1 or 2: recent closed ones; ignored by orderId/orderLinkId.
      const openOnly = int(q, 'openOnly', 0, 0, 2);
      const rows = mine ? ctx.engine.orderViews({ orderId, orderLinkId, openOnly: openOnly === 0, orderFilter: str(q, 'orderFilter') }).slice(0, 500) : [];
      return { category: ctx.category, ...paginate(rows, int(q, 'limit', 20, 1, 50), str(q, 'cursor')) };
    },
  },
  '/v5/order/history': {
    method: 'GET', signed: true, limit: 50,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category'));
      const symbol = str(q, 'symbol');
      const settleCoin = str(q, 'settleCoin');
      const baseCoin = str(q, 'baseCoin');
      const mine = (symbol === undefined || symbol === ctx.instrument.symbol) && (settleCoin === undefined || settleCoin === ctx.instrument.quoteCoin) && (baseCoin === undefined || baseCoin === ctx.instrument.baseCoin);
      const range = sevenDays(ctx, q);
      const rows = mine
        ? ctx.engine.orderHistoryViews({ orderId: str(q, 'orderId'), orderLinkId: str(q, 'orderLinkId'), orderFilter: str(q, 'orderFilter'), orderStatus: str(q, 'orderStatus'), ...range })
        : [];
      return { category: ctx.category, ...paginate(rows, int(q, 'limit', 20, 1, 50), str(q, 'cursor')) };
    },
  },
  '/v5/execution/list': {
    method: 'GET', signed: true, limit: 50,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category'));
      const symbol = str(q, 'symbol');
      const range = sevenDays(ctx, q);
      const rows = symbol !== undefined && symbol !== ctx.instrument.symbol
        ? []
        : ctx.engine.executionViews({ orderId: str(q, 'orderId'), orderLinkId: str(q, 'orderLinkId'), execType: str(q, 'execType'), ...range });
      return { category: ctx.category, ...paginate(rows, int(q, 'limit', 50, 1, 100), str(q, 'cursor')) };
    },
  },
  '/v5/position/closed-pnl': {
    method: 'GET', signed: true, limit: 50,
    handler: (ctx, { query: q }) => {
      checkCategory(ctx, str(q, 'category'));
      const symbol = str(q, 'symbol');
      const range = sevenDays(ctx, q);
      const rows = symbol !== undefined && symbol !== ctx.instrument.symbol ? [] : ctx.engine.closedPnlViews(range);
      return { category: ctx.category, ...paginate(rows, int(q, 'limit', 50, 1, 100), str(q, 'cursor')) };
    },
  },
  '/v5/account/wallet-balance': {
    method: 'GET', signed: true, limit: 50,
    handler: (ctx, { query: q }) => {
      const accountType = str(q, 'accountType');
      if (accountType === undefined) bad('params error: accountType is required');
      if (accountType !== 'UNIFIED') bad('accountType only support UNIFIED');
      const coin = str(q, 'coin');
      return { list: [ctx.engine.walletView(coin?.split(','))] };
    },
  },
  '/v5/order/create': {
    method: 'POST', signed: true, limit: 10,
    handler: (ctx, { body }) => {
      checkCategory(ctx, body.category);
      checkSymbol(ctx, body.symbol);
      const rejection = ctx.faults.takeOrderRejection();
      if (rejection) throw new EngineError(rejection.retCode, rejection.retMsg);
      return ctx.engine.placeOrder(body);
    },
  },
  '/v5/order/amend': {
    method: 'POST', signed: true, limit: 10,
    handler: (ctx, { body }) => {
      checkCategory(ctx, body.category);
      checkSymbol(ctx, body.symbol);
      return ctx.engine.amendOrder(body);
    },
  },
  '/v5/order/cancel-all': {
    method: 'POST', signed: true, limit: 10,
    handler: (ctx, { body }) => {
      checkCategory(ctx, body.category);
      const { symbol, baseCoin, settleCoin } = body;
      if (symbol === undefined && baseCoin === undefined && settleCoin === undefined) bad('params error: symbol, baseCoin or settleCoin is required');
      const mine = symbol !== undefined ? symbol === ctx.instrument.symbol : baseCoin !== undefined ? baseCoin === ctx.instrument.baseCoin : settleCoin === ctx.instrument.quoteCoin;
      const list = mine ? ctx.engine.cancelAll(body.orderFilter === undefined ? undefined : String(body.orderFilter)) : [];
      return { list, success: '1' };
    },
  },
  '/v5/order/cancel': {
    method: 'POST', signed: true, limit: 10,
    handler: (ctx, { body }) => {
      checkCategory(ctx, body.category);
      checkSymbol(ctx, body.symbol);
      return ctx.engine.cancelOrder({ orderId: body.orderId, orderLinkId: body.orderLinkId });
    },
  },
  '/v5/position/trading-stop': {
    method: 'POST', signed: true, limit: 10,
    handler: (ctx, { body }) => {
      checkCategory(ctx, body.category);
      checkSymbol(ctx, body.symbol);
      ctx.engine.setTradingStop(body);
      return {};
    },
  },
  '/v5/position/set-leverage': {
    method: 'POST', signed: true, limit: 10,
    handler: (ctx, { body }) => {
      checkCategory(ctx, body.category);
      checkSymbol(ctx, body.symbol);
      ctx.engine.setLeverage(body.buyLeverage, body.sellLeverage);
      return {};
    },
  },
};

/** Per (key, path) fixed 1-second windows, as the X-Bapi-Limit* headers describe them. */
export class RateWindows {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** Requests counted in the window of `key` that is current at `now`, and when that window ends. */
  used(key: string, now: number): { count: number; resetAt: number } {
    const w = this.windows.get(key);
    if (!w || now >= w.start + 1000) return { count: 0, resetAt: now };
    return { count: w.count, resetAt: w.start + 1000 };
  }

  hit(key: string, limit: number, now: number): { remaining: number; resetAt: number; exceeded: boolean } {
    let w = this.windows.get(key);
    if (!w || now >= w.start + 1000) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    const exceeded = w.count > limit;
    return { remaining: Math.max(0, limit - w.count), resetAt: exceeded ? w.start + 1000 : now, exceeded };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The request listener for node:http. */
export function createRestHandler(ctx: RestContext): (req: IncomingMessage, res: ServerResponse) => void {
  const windows = ctx.windows ?? new RateWindows();
  const send = (res: ServerResponse, status: number, body: Obj | string, headers: Record<string, string> = {}): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
    res.end(text);
  };
  const envelope = (retCode: number, retMsg: string, result: Obj): Obj => ({ retCode, retMsg, result, retExtInfo: {}, time: ctx.wallNow() });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const path = qi < 0 ? url : url.slice(0, qi);
    const rawQuery = qi < 0 ? '' : url.slice(qi + 1);
    const rawBody = req.method === 'POST' ? await readBody(req) : '';
    if (ctx.onRequest) {
      let params: Record<string, unknown> = {};
      try {
        params = req.method === 'POST' ? (rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : {}) : Object.fromEntries(new URLSearchParams(rawQuery));
      } catch {
        params = {};
      }
      ctx.onRequest({ method: req.method ?? 'GET', path, keyed: req.headers['x-bapi-api-key'] !== undefined, wallMs: Date.now(), replayMs: ctx.market.now(), params });
    }

    if (ctx.faults.restDelayMs > 0) await sleep(ctx.faults.restDelayMs);
    const fault = ctx.faults.takeRestFault(path);
    if (fault?.kind === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      send(res, fault.status, fault.text ?? `${fault.status} sandbox fault injection`);
      return;
    }

    const route = routes[path];
    if (!route || route.method !== req.method) {
      send(res, 404, '404 page not found');
      return;
    }
    const headers: Record<string, string> = {};
    let rateLimited = fault?.kind === 'rateLimit';
    if (route.signed) {
      const auth = checkRestSignature(req.headers, req.method === 'GET' ? rawQuery : rawBody, ctx.keys, ctx.wallNow());
      if (!auth.ok) {
        send(res, 200, envelope(auth.retCode, auth.retMsg, {}));
        return;
      }
      const now = ctx.wallNow();
      const w = windows.hit(`${auth.apiKey} ${path}`, route.limit, now);
      if (ctx.rateLimits && w.exceeded) rateLimited = true;
      headers['X-Bapi-Limit'] = String(route.limit);
      headers['X-Bapi-Limit-Status'] = String(rateLimited ? 0 : w.remaining);
      const injectedReset = fault?.kind === 'rateLimit' && fault.resetInMs !== undefined ? now + fault.resetInMs : undefined;
      headers['X-Bapi-Limit-Reset-Timestamp'] = String(injectedReset ?? (rateLimited ? Math.max(w.resetAt, now + 1) : w.resetAt));
    }
    if (rateLimited) {
      send(res, 200, envelope(10006, 'Too many visits!', {}), headers);
      return;
    }

    let body: Obj = {};
    if (req.method === 'POST') {
      try {
        const parsed: unknown = rawBody === '' ? {} : JSON.parse(rawBody);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Obj;
      } catch {
        send(res, 200, envelope(10001, 'params error: request body is not a JSON object', {}), headers);
        return;
      }
    }
    try {
      const result = route.handler(ctx, { query: new URLSearchParams(rawQuery), body });
      send(res, 200, envelope(0, 'OK', result), headers);
    } catch (e) {
      if (e instanceof EngineError) {
        send(res, 200, envelope(e.retCode, e.retMsg, {}), headers);
        return;
      }
      throw e;
    }
  };

  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 200, envelope(10016, `Internal server error: ${e instanceof Error ? e.message : String(e)}`, {}));
      else res.destroy();
    });
  };
}

/** The endpoints served, for the README and the CLI banner. */
export const REST_ENDPOINTS: ReadonlyArray<{ method: string; path: string; signed: boolean }> = Object.entries(routes).map(([path, r]) => ({
  method: r.method,
  path,
  signed: r.signed,
}));
