/**
 * `startSandbox`: a local Bybit V5 exchange on 127.0.0.1 that replays candles as its market. It wires the
 * market replay, the matching engine, the REST router, the WebSocket hub and the fault switches together,
 * and drives the replay clock (manually, or at a speed factor of wall time).
 */
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CandleSeries, Interval } from '../core/candle.ts';
import { ConfigError } from '../core/errors.ts';
import { type Dec, dec } from '../core/money.ts';
import { MatchingEngine } from './engine.ts';
import { Faults } from './faults.ts';
import { type InstrumentOverrides, makeInstrument } from './instrument.ts';
import { type Bar, type FundingRow, type MarketEvent, MarketReplay, fundingRows } from './market.ts';
import { RateWindows, createRestHandler, rateLimitOf, type RestRequestInfo } from './rest.ts';
import { klineItem, tickerView } from './views.ts';
import { WsHub } from './ws.ts';

export type ClockMode = 'manual' | 'realtime' | { readonly speed: number };

export interface SandboxOptions {
  readonly series: CandleSeries;
  readonly interval: Interval;
  readonly symbol?: string;
  readonly category?: 'linear';
  /** 'manual' (tests call advanceTo/step), 'realtime' (speed 1), or { speed } market ms per wall ms. */
  readonly clock?: ClockMode;
  /** Where the replay starts (epoch ms); default the first candle. Candles before it are history. */
  readonly startTime?: number;
  /** Starting wallet balance in the quote coin (default 10000). */
  readonly balance?: number | string;
  readonly apiKey?: string;
  readonly apiSecret?: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Funding settlements to serve and settle: rows, or lib/data's `readFundingFile` columns. */
  readonly funding?: readonly FundingRow[] | { readonly times: ArrayLike<number>; readonly rates: readonly string[] };
  readonly instrument?: InstrumentOverrides;
  /** Default TAKER_FEE of lib/config (0.00055, 0.055 %). */
  readonly takerFeeRate?: number | string;
  /** Default MAKER_FEE of lib/config (0.0002, 0.02 %). */
  readonly makerFeeRate?: number | string;
  /** Default leverage (10). */
  readonly leverage?: number | string;
  /** When a resting limit fills: 'touch' (the path reaches its price; default) or 'through' (trades beyond it). */
  readonly limitFill?: 'touch' | 'through';
  /** Enforce Bybit's per-endpoint request limits (default true). */
  readonly rateLimits?: boolean;
  /** How often (wall ms) a running clock advances the replay (default 50). */
  readonly tickMs?: number;
  /** Told of every REST request as it arrives (see RestRequestInfo): count signed requests, time orders. */
  readonly onRequest?: (r: RestRequestInfo) => void;
}

/** A plain snapshot of the exchange, for tests and the CLI. */
export interface SandboxState {
  readonly now: number;
  readonly price: number;
  readonly candle: Bar;
  readonly finished: boolean;
  readonly balance: Dec;
  readonly equity: Dec;
  readonly available: Dec;
  readonly leverage: Dec;
  readonly position: {
    readonly side: 'Buy' | 'Sell' | ''; readonly size: Dec; readonly entryPrice: Dec; readonly takeProfit: Dec; readonly stopLoss: Dec;
    readonly trailingStop: Dec; readonly activePrice: Dec;
  };
  readonly openOrders: number;
  readonly executions: number;
  readonly connections: number;
}

export interface Sandbox {
  /** `http://127.0.0.1:PORT` */
  readonly restUrl: string;
  /** `ws://127.0.0.1:PORT/v5/private`: serves public and (after auth) private topics. */
  readonly wsUrl: string;
  /** `ws://127.0.0.1:PORT/v5/public/linear`: the same service, with the public pong shape. */
  readonly publicWsUrl: string;
  readonly port: number;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly faults: Faults;
  readonly market: MarketReplay;
  readonly engine: MatchingEngine;
  /** Moves the replay clock to `t` (epoch ms), processing every price point on the way. */
  advanceTo(t: number): void;
  /** Moves to the next price point, candle close or funding settlement; returns the new time (undefined at the end). */
  step(): number | undefined;
  /** The replay clock. */
  now(): number;
  state(): SandboxState;
  /**
   * Resolves once the sandbox's own key has room for `n` more requests to the signed endpoint `path` in
   * its current 1-second rate window (at once when it has; else when the window ends). A test that drives
   * a bot faster than real time waits on this, so that its pacing stays inside the exchange's real limits.
   */
  rateRoom(path: string, n?: number): Promise<void>;
  /** Stops the servers and starts them again on the same port, keeping all state. */
  restart(): Promise<void>;
  /** Stops everything (servers, connections, timers). */
  stop(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const symbol = (opts.symbol ?? 'BTCUSDT').toUpperCase();
  const category = opts.category ?? 'linear';
  if (category !== 'linear') throw new ConfigError(`--category: the sandbox serves linear only, not "${String(category)}"`);
  if (opts.limitFill !== undefined && opts.limitFill !== 'touch' && opts.limitFill !== 'through') {
    throw new ConfigError(`limitFill: "${String(opts.limitFill)}" is neither "touch" nor "through"`);
  }
  const instrument = makeInstrument(symbol, opts.instrument);
  const funding = opts.funding === undefined ? undefined : 'times' in opts.funding ? fundingRows(opts.funding) : opts.funding;
  const market = new MarketReplay({ series: opts.series, interval: opts.interval, startTime: opts.startTime, funding, tickSize: Number(instrument.tickSize.toString()) });
  const engine = new MatchingEngine(market, {
    instrument,
    category,
    balance: dec(opts.balance ?? 10000),
    takerFeeRate: opts.takerFeeRate === undefined ? undefined : dec(opts.takerFeeRate),
    makerFeeRate: opts.makerFeeRate === undefined ? undefined : dec(opts.makerFeeRate),
    leverage: opts.leverage === undefined ? undefined : dec(opts.leverage),
    limitFill: opts.limitFill,
  });
  const apiKey = opts.apiKey ?? randomBytes(9).toString('hex').toUpperCase();
  const apiSecret = opts.apiSecret ?? randomBytes(18).toString('hex');
  const keys = new Map([[apiKey, apiSecret]]);
  const qtyDecimals = instrument.qtyStep.decimalPlaces();

  let hub: WsHub | undefined;
  const faults = new Faults({ dropWebSockets: () => hub?.dropAll() ?? 0 });
  const wallNow = (): number => Date.now() + faults.clockSkewMs;
  const currentKline = (): Record<string, unknown> | undefined => {
    const b = market.openBar();
    return b && klineItem(b, opts.interval, market.now(), qtyDecimals);
  };
  hub = new WsHub({
    symbol, interval: opts.interval, category, keys, wallNow,
    replayNow: () => market.now(),
    currentKline,
    ticker: () => tickerView(market, instrument, qtyDecimals),
    takeAuthDrop: () => faults.takeAuthDrop(),
    takeAuthIgnore: () => faults.takeAuthIgnore(),
  });
  const wsHub = hub;
  engine.onMessage((topic, data) => {
    if (!faults.takePrivateLoss()) wsHub.publishPrivate(topic, data);
  });

  const onMarket = (e: MarketEvent): void => {
    switch (e.type) {
      case 'price':
        wsHub.publishTicker();
        wsHub.publishKline(klineItem(market.bar(e.point.candle), opts.interval, e.point.time, qtyDecimals));
        engine.onPriceMove(e.from, e.point, e.gap);
        return;
      case 'candleClosed':
        wsHub.publishKline(klineItem(e.bar, opts.interval, e.bar.end + 1, qtyDecimals));
        return;
      case 'funding':
        engine.settleFunding(dec(e.row.rate), e.row.time, e.price);
        return;
    }
  };
  const advance = (t: number): void => market.advanceTo(t, onMarket);

  // The clock: manual, or anchored to the wall clock at a speed factor.
  const clock = opts.clock ?? 'manual';
  const speed = clock === 'manual' ? 0 : clock === 'realtime' ? 1 : clock.speed;
  if (clock !== 'manual' && !(speed > 0)) throw new ConfigError('--speed: must be a number above 0');
  let anchor = { wall: Date.now(), replay: market.now() };
  let timer: NodeJS.Timeout | undefined;
  if (speed > 0) {
    timer = setInterval(() => {
      advance(anchor.replay + (Date.now() - anchor.wall) * speed);
      if (market.finished() && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    }, opts.tickMs ?? 50);
  }

  const windows = new RateWindows();
  const server = createServer(createRestHandler({
    market, engine, faults, instrument, category, interval: opts.interval, keys, wallNow, rateLimits: opts.rateLimits ?? true, windows, onRequest: opts.onRequest,
  }));
  server.on('upgrade', (req, socket, head) => wsHub.handleUpgrade(req, socket, head));
  server.on('clientError', (_err, socket) => socket.destroy());
  const port = await listen(server, opts.port ?? 0);
  let stopped = false;

  const sandbox: Sandbox = {
    restUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/v5/private`,
    publicWsUrl: `ws://127.0.0.1:${port}/v5/public/${category}`,
    port,
    apiKey,
    apiSecret,
    faults,
    market,
    engine,
    advanceTo(t) {
      advance(t);
      anchor = { wall: Date.now(), replay: market.now() };
    },
    step() {
      const t = market.nextEventTime();
      if (t === undefined) return undefined;
      sandbox.advanceTo(t);
      return t;
    },
    now: () => market.now(),
    async rateRoom(path, n = 1) {
      const limit = rateLimitOf(path);
      if (limit === undefined) throw new Error(`sandbox: ${path} is not a rate-limited endpoint`);
      if (n > limit) throw new Error(`sandbox: ${n} requests never fit in ${path}'s window of ${limit}`);
      for (;;) {
        const now = wallNow();
        const w = windows.used(`${apiKey} ${path}`, now);
        if (w.count + n <= limit) return;
        await new Promise((r) => setTimeout(r, w.resetAt - now + 1));
      }
    },
    state() {
      const s = engine.summary();
      return {
        now: market.now(), price: market.price(), candle: market.currentBar(), finished: market.finished(),
        balance: s.balance, equity: s.equity, available: s.available, leverage: s.leverage, position: s.position,
        openOrders: s.openOrders, executions: s.executions, connections: wsHub.connectionCount(),
      };
    },
    async restart() {
      if (stopped) throw new Error('sandbox: restart after stop');
      wsHub.terminateAll();
      await closeServer(server);
      await listen(server, port);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      faults.dispose();
      await wsHub.close();
      await closeServer(server);
    },
  };
  return sandbox;
}
