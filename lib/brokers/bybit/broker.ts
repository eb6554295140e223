/**
 * The live Bybit broker. The exchange's private WebSocket position stream is the single source of truth
 * for the open position: `position()` changes only on position messages, and on REST reads (at start,
 * after a reconnect, after an order whose outcome is unknown, after a rejection that says the position is
 * not what pyr thinks, and every `positionCheckMs`). Orders are market orders with the take profit and stop
 * loss attached (tpslMode Full, one-way mode), sized with the same rules as the simulator.
 *
 * Trust under faults (each is tested against the local exchange, test/live/):
 * - start: subscribe, then catch up on the exchange's executions since the journal's last record (a
 *   trade closed while pyr was away is recorded with its real fees), then read the position. Messages
 *   arriving meanwhile wait; executions among them are deduplicated.
 * - while the position is not known (a resync that has not succeeded; an order whose outcome is unknown;
 *   a foreign position) no order is sent, and the refusal says why. A failed resync never ends the
 *   process: it is tried again with backoff and has a time-out. Without a private stream for longer than
 *   `streamTimeoutMs` no entry is taken (exits still go, confirmed over REST); pyr says why every minute.
 * - a retried order is priced again: a retry goes without its stop and target, which are set from the
 *   fill price with trading-stop once the position shows; retries stop once the next candle closes.
 * - authentication and permission errors end the session (`onFatal`) after the position is reported.
 */
import type { WebsocketClient } from 'bybit-api';
import {
  ConfigError,
  D,
  ExchangeError,
  ZERO,
  sizeQty,
  stopPrice,
  targetPrice,
  BrokerListeners,
  type AmendRequest,
  type CancelRequest,
  type OrderFeature,
  type PendingOrder,
  type Broker,
  type BrokerEvent,
  type BrokerListener,
  type Candle,
  type Dec,
  type InstrumentRules,
  type MinQtyPolicy,
  type OrderRequest,
  type Position,
} from '../../core/index.ts';
import { isAuthError, reconnectPrivate, type BybitRest } from './client.ts';
import { wireExecution, wirePosition, type Execution, type WireExecution, type WirePosition } from './mapping.ts';
import { catchUp, closeTrade, executionKey, fillOf, isExit, openQty, partTrade, type BrokerRestore, type OpenTrade } from './trades.ts';
import { PendingOrders, exitQty, placementParams, rests, sizingPrice, type WireOrder } from './orders.ts';
import { LevelSetter } from './levels.ts';

export type { BrokerRestore } from './trades.ts';

/** What pyr does with a position on its symbol that it did not open. */
export type ForeignPositions = 'adopt' | 'ignore' | 'stop';

type Level = 'info' | 'success' | 'warn' | 'error';

export interface BybitBrokerOptions {
  readonly rest: BybitRest;
  readonly ws: WebsocketClient;
  readonly symbol: string;
  readonly category: 'linear';
  readonly rules: InstrumentRules;
  readonly intervalMs: number;
  /** Bybit's interval code (e.g. "15"), for the market's time at start. */
  readonly interval: string;
  readonly minQtyPolicy: MinQtyPolicy;
  /** The maxPositionNotional guard on the sized qty x price (USDT; undefined: none). */
  readonly maxNotional?: number;
  /** How long to wait for a position message after an order before reconciling over REST (ms). */
  readonly reconcileMs: number;
  /** The position is read over REST this often (ms; 0 = never). Default 30 s. */
  readonly positionCheckMs?: number;
  /** No private stream for longer than this (ms): no new entries. Default 30 s. */
  readonly streamTimeoutMs?: number;
  /** A resync running longer than this (ms) is abandoned and started again. Default 60 s. */
  readonly resyncTimeoutMs?: number;
  /** Blocked states are said again this often (ms). Default 60 s. */
  readonly noticeMs?: number;
  /** A position pyr did not open: 'stop' (default; refuse to trade the symbol), 'ignore' (leave it alone, wait) or 'adopt'. */
  readonly foreignPositions?: ForeignPositions;
  /** The strategy's stop and target (fractions of the entry price), attached to an adopted position that has none. */
  readonly protect?: { readonly stopLoss?: number; readonly takeProfit?: number };
  /** Trade ids continue from here (a restarted session keeps numbering). */
  readonly firstTradeId?: number;
  /** The journal of earlier sessions: what to catch up on at start. */
  readonly restore?: BrokerRestore;
  /** An error that ends the session (authentication, permissions): the caller stops. */
  readonly onFatal?: (err: Error) => void;
  /** Wall clock (ms). */
  readonly now?: () => number;
  /** What to say (never secrets). */
  readonly log: (level: Level, message: string) => void;
  /** Records for the journal: orders as sent and their results. */
  readonly record?: (rec: { t: 'order'; order: OrderRequest; qty: string; refPrice: string; stopLoss?: string; takeProfit?: string } | { t: 'order-result'; orderId: string; ok: boolean; retCode?: number; retMsg?: string } | { t: 'note'; level: 'info' | 'warn' | 'error'; message: string }) => void;
}

const FLAT: Position = Object.freeze({ side: 'flat', qty: ZERO, entryPrice: ZERO });
/** Why the resync after a lost private connection runs (it is named so in its notes). */
const RECONNECT = 'after a WebSocket reconnect';

/** Authentication and permission errors (the key is wrong, expired, or lacks a permission) end a live session. */
const isAuthFailure = (err: unknown): boolean => isAuthError(err);

interface InFlight {
  readonly order: OrderRequest;
  readonly sentAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

/** What the live broker supports beyond market orders with one stop and one target (issue 12). */
export const BYBIT_FEATURES: readonly OrderFeature[] = ['limit', 'postOnly', 'stop', 'trailingStop', 'partialTargets', 'partialExit', 'limitExit', 'cancel', 'amend'];

export class BybitBroker implements Broker {
  readonly name = 'bybit';
  readonly features = BYBIT_FEATURES;
  /** Orders resting at the exchange (limit and stop entries, limit exits, the position's levels). */
  readonly #pending: PendingOrders;
  readonly #levels: LevelSetter;
  readonly #o: BybitBrokerOptions;
  readonly #now: () => number;
  readonly #listeners = new BrokerListeners();
  #position: Position = FLAT;
  #inFlight: InFlight | undefined;
  /** An entry waiting for the exit in flight (a reversal decided on one candle). */
  #queued: OrderRequest | undefined;
  /** An order held until a resync has read the position. */
  #deferred: OrderRequest | undefined;
  /** A resync that has not succeeded yet: no order goes while it runs. */
  #resync: { since: number; why: string; gen: number; done: Promise<void> } | undefined;
  #resyncGen = 0;
  /** An order sent whose outcome could not be learnt: no entry until it is. */
  #unknown: OrderRequest | undefined;
  /** A position pyr did not open and does not manage (foreignPositions 'stop' or 'ignore'). */
  #foreign: string | undefined;
  /** Since when there is no confirmed private stream (undefined: it is up). */
  #streamDownSince: number | undefined;
  #fatal: Error | undefined;
  #lastPrice = NaN;
  #newestCandle = -Infinity;
  #open: OpenTrade | undefined;
  /** The trade being closed while its missing fills are read over REST. */
  #closing: OpenTrade | undefined;
  /** Trades are emitted one after another, in the order they closed (see #closeTrade). */
  #closeChain: Promise<void> = Promise.resolve();
  #closesPending = 0;
  readonly #seenExec = new Set<string>();
  /** Client order ids of exit and entry orders (this session's and, from the journal, earlier ones'). */
  readonly #exitOrders = new Map<string, OrderRequest>();
  readonly #entryOrders = new Map<string, OrderRequest>();
  #tradeSeq: number;
  #stopped = false;
  /** Start-up: stream messages wait until the catch-up and the first position read are done. */
  #starting = true;
  #buffered: { msg: { topic?: string; data?: unknown }; afterRead: boolean }[] = [];
  #readAnswered = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking = false;
  #lastCheck = 0;
  readonly #said = new Map<string, number>();
  #subscribed: (() => void)[] = [];
  /** Private subscriptions confirmed, and connections made (the first and every reconnect), so far. */
  #confirmations = 0;
  #connections = 0;
  /** The reconnect resync running now has had its subscription (or given up waiting for it). */
  #reconnectSubscribed = false;
  /** A private connection was made (at start, or a reconnect) since the last loss started a resync. */
  #connectedSinceResync = true;
  #caughtUp = false;
  /** The resting entry whose execution arrived before the position message. */
  #filledEntry: OrderRequest | undefined;

  constructor(o: BybitBrokerOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#tradeSeq = o.firstTradeId ?? 0;
    this.#streamDownSince = this.#now();
    for (const [id, order] of o.restore?.orders ?? []) (order.purpose === 'exit' ? this.#exitOrders : this.#entryOrders).set(id, order);
    this.#pending = new PendingOrders({
      emit: (e) => this.#emit(e),
      known: (id) => this.#entryOrders.get(id) ?? this.#exitOrders.get(id),
      say: (level, message) => {
        this.#o.log(level, message);
        this.#o.record?.({ t: 'note', level, message });
      },
    });
    this.#levels = new LevelSetter({ rest: o.rest, category: o.category, symbol: o.symbol, rules: o.rules, log: o.log, record: (m) => o.record?.({ t: 'note', level: 'info', message: m }), emit: (e) => this.#emit(e), position: () => this.#position });
  }

  orders(): readonly PendingOrder[] {
    return this.#pending.shown();
  }

  /** Cancels a resting order by its orderLinkId (/v5/order/cancel); `cancelled` follows, a notice when it is no longer open. */
  cancel(req: CancelRequest): void {
    if (!this.#pending.has(req.orderId)) {
      queueMicrotask(() => this.#emit({ type: 'notice', key: 'cancel of an order not open', message: `cancel of ${req.orderId}: the order is no longer open` }));
      return;
    }
    this.#pending.cancelling(req.orderId, req.reason);
    void (async () => {
      try {
        await this.#o.rest.call('order/cancel', (c) => c.cancelOrder({ category: this.#o.category, symbol: this.#o.symbol, orderLinkId: req.orderId }) as never);
        // The `cancelled` event is journaled (lib/engine/live.ts); the stream may have reported it first.
        this.#pending.cancelled(req.orderId, req.reason);
      } catch (err) {
        const e = err as ExchangeError;
        if (e instanceof ExchangeError && e.retCode === 110001) {
          // Filled or gone meanwhile: the order and execution streams (or the next REST read) say which.
          this.#emit({ type: 'notice', key: 'cancel of an order not open', message: `cancel of ${req.orderId}: ${e.message} (filled or cancelled already)` });
          void this.#readOrders('after a cancel of an order no longer open');
          return;
        }
        this.#o.log('warn', `could not cancel order ${req.orderId}: ${e.message}; reading the open orders`);
        this.#o.record?.({ t: 'note', level: 'warn', message: `could not cancel order ${req.orderId}: ${e.message}; reading the open orders` });
        void this.#readOrders('after a failed cancel');
      }
    })();
  }

  /** Moves the open position's levels (trading-stop); refused (`amend-rejected`) when Bybit refuses. */
  amend(req: AmendRequest): void {
    if (this.#position.side !== req.positionSide) {
      queueMicrotask(() => this.#emit({ type: 'amend-rejected', amend: req, reason: `no ${req.positionSide} position is open` }));
      return;
    }
    void this.#levels.amend(req, this.#pending.list(), this.#pending.partialTargets());
  }

  /** The open orders over REST (/v5/order/realtime): at start, after a reconnect, when an answer is missing. */
  async #readOrders(why: string): Promise<void> {
    try {
      const { result } = await this.#o.rest.call('order/realtime', (c) => c.getActiveOrders({ category: this.#o.category, symbol: this.#o.symbol, openOnly: 0, limit: 50 }) as never);
      const rows = ((result as { list?: WireOrder[] }).list ?? []).filter((r) => r.symbol === undefined || r.symbol === this.#o.symbol);
      this.#pending.reconcile(rows, this.#position.side);
      if (why !== 'periodic check') this.#o.record?.({ t: 'note', level: 'info', message: `open orders read over REST ${why}: ${rows.length}` });
    } catch (err) {
      if (isAuthFailure(err)) throw err;
      this.#o.log('warn', `could not read the open orders over REST (${why}): ${(err as Error).message}`);
    }
  }

  rules(): InstrumentRules {
    return this.#o.rules;
  }
  position(): Position {
    return this.#position;
  }
  hasOrderInFlight(): boolean {
    return this.#inFlight !== undefined || this.#queued !== undefined || this.#deferred !== undefined;
  }
  subscribe(listener: BrokerListener): () => void {
    return this.#listeners.subscribe(listener);
  }
  #emit(e: BrokerEvent): void {
    this.#listeners.emit(e);
  }
  observe(candle: Candle): void {
    this.#lastPrice = candle.close;
    this.#newestCandle = Math.max(this.#newestCandle, candle.openTime);
    const d = this.#deferred;
    if (d && candle.openTime > d.signalTime) {
      this.#deferred = undefined;
      this.#emit({ type: 'rejected', order: d, reason: `the position was still not known when the next candle closed (${this.blocked(d.purpose) ?? 'resync'}); the decision no longer stands` });
    }
  }

  /** An order held while the position is being read (a resync): sent once it is known, if its decision still stands. */
  #releaseDeferred(): void {
    const d = this.#deferred;
    if (!d || this.#resync) return;
    this.#deferred = undefined;
    if (this.#stillStands(d)) this.submit(d);
    else this.#emit({ type: 'rejected', order: d, reason: `the decision no longer stands once the position is known (${this.#position.side})` });
  }

  /** Why no order of this purpose may go now, or undefined. */
  blocked(purpose: 'entry' | 'exit'): string | undefined {
    if (this.#fatal) return `the session is ending: ${this.#fatal.message}`;
    if (this.#resync) return `the position is not known (resync ${this.#resync.why} not done yet)`;
    if (this.#unknown) return `the outcome of order ${this.#unknown.id} is not known yet`;
    if (this.#foreign) return this.#foreign;
    if (purpose === 'entry' && this.#streamDownSince !== undefined) {
      const down = this.#now() - this.#streamDownSince;
      const limit = this.#o.streamTimeoutMs ?? 30_000;
      if (down > limit) return `no private stream for ${Math.round(down / 1000)} s (more than ${limit / 1000} s): no new entries until it is back`;
    }
    return undefined;
  }

  #say(key: string, level: Level, message: string): void {
    const last = this.#said.get(key);
    const now = this.#now();
    if (last !== undefined && now - last < (this.#o.noticeMs ?? 60_000)) return;
    this.#said.set(key, now);
    this.#o.log(level, message);
    this.#o.record?.({ t: 'note', level: level === 'success' ? 'info' : level, message });
  }

  #fail(err: Error): void {
    if (this.#fatal) return;
    this.#fatal = err;
    const p = this.#position;
    const message = `${err.message}; stopping. Position ${p.side}${p.side !== 'flat' ? ` ${p.qty.toFixed()} at ${p.entryPrice.toFixed()} (it stays on the exchange with its stop and target)` : ''}`;
    this.#o.log('error', message);
    this.#o.record?.({ t: 'note', level: 'error', message });
    this.#o.onFatal?.(err);
  }

  /** Resolves at the next confirmed private subscription, or after `ms`, saying so. */
  #nextSubscription(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#subscribed = this.#subscribed.filter((f) => f !== done);
        this.#say('no-subscription', 'warn', `no private subscription confirmed within ${ms / 1000} s; reading the position over REST anyway`);
        resolve();
      }, ms);
      t.unref?.();
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.#subscribed.push(done);
    });
  }

  /** How long a (re)connected private stream may take to confirm its subscription. */
  #subscriptionWaitMs(): number {
    return Math.min(10_000, Math.max(1_000, this.#o.streamTimeoutMs ?? 30_000));
  }

  /**
   * A connection that never confirms its subscription carries no fills, and would stay that way (a lost
   * auth answer; bybit-api does not retry it). When the connection made now (`#connections` counts them)
   * has confirmed nothing within `ms`, it is closed from this side, so that the SDK connects,
   * authenticates and subscribes afresh.
   */
  #watchSubscription(ms: number): void {
    const connection = ++this.#connections;
    const confirmed = this.#confirmations;
    const t = setTimeout(() => {
      if (this.#stopped || connection !== this.#connections || confirmed !== this.#confirmations) return;
      let again = false;
      try {
        again = reconnectPrivate(this.#o.ws);
      } catch {
        // A client without a store (tests' stand-ins): nothing to reconnect.
      }
      if (again) this.#say('resubscribe', 'warn', `the private stream connected but confirmed no subscription within ${ms / 1000} s: reconnecting it`);
    }, ms);
    t.unref?.();
  }

  /**
   * The private connection was lost: no order goes until the next connection's subscription is confirmed
   * (or its wait is over) and the position and open orders are read over REST again. A resync already
   * waiting for a subscription covers this loss too; any other is replaced, so that the reads come after
   * the new subscription.
   */
  #onStreamLost(): void {
    if (this.#streamDownSince === undefined) this.#streamDownSince = this.#now();
    this.#o.log('warn', 'WebSocket connection lost; reconnecting');
    if (this.#starting || this.#stopped || this.#fatal) return;
    // A failed attempt to connect (no connection was made since the last resync) changes nothing: the
    // resync of this outage stands, and for a long one the stream time-out rules entries.
    if (!this.#connectedSinceResync) return;
    this.#connectedSinceResync = false;
    if (this.#resync?.why === RECONNECT && !this.#reconnectSubscribed) return;
    this.#resync = undefined;
    this.#reconnectSubscribed = false;
    const subscribed = this.#nextSubscription(this.#subscriptionWaitMs());
    void this.#resyncUntilKnown(RECONNECT, async () => {
      await subscribed;
      this.#reconnectSubscribed = true;
      await this.#readPosition(RECONNECT);
      await this.#readOrders(RECONNECT);
    });
  }

  /**
   * Subscribes to the private topics and waits until the exchange confirms; catches up on the executions
   * since the journal's last record; then reads the open position over REST. In that order nothing falls
   * between: a change before the subscription is in the REST answers, a change after it on the stream.
   * The exchange being unreachable is waited out (with backoff, said each time); a wrong key ends it.
   */
  async start(): Promise<void> {
    // A wrong key or a missing permission is known at once, not after the subscription's time-out.
    try {
      await this.#o.rest.call('position/list', (c) => c.getPositionInfo({ category: this.#o.category, symbol: this.#o.symbol }) as never);
    } catch (err) {
      if (isAuthFailure(err)) throw err;
    }
    const ws = this.#o.ws;
    ws.on('update', (msg: unknown) => {
      const m = msg as { topic?: string; data?: unknown };
      if (this.#starting) this.#buffered.push({ msg: m, afterRead: this.#readAnswered });
      else this.#onUpdate(m);
    });
    ws.on('response', (msg: unknown) => {
      const m = msg as { op?: string; success?: boolean; req_id?: string; wsKey?: string };
      if (m.op === 'subscribe' && m.success !== false && (String(m.wsKey).includes('Private') || String(m.req_id ?? '').includes('position'))) {
        this.#confirmations++;
        this.#streamUp();
        const waiting = this.#subscribed;
        this.#subscribed = [];
        for (const f of waiting) f();
      }
    });
    // The stream counts as up again once its subscription is confirmed (the 'response' above), not when
    // it reconnects: a connection that never subscribes carries nothing.
    ws.on('reconnected', () => {
      this.#connectedSinceResync = true;
      this.#o.log('warn', 'WebSocket reconnected: resyncing the position over REST before acting again');
      this.#watchSubscription(this.#subscriptionWaitMs());
    });
    ws.on('reconnect', () => this.#onStreamLost());
    ws.on('close', () => {
      if (this.#streamDownSince === undefined) this.#streamDownSince = this.#now();
    });
    // Up to 15 s for the exchange to confirm (less when the stream time-out is shorter): then REST anyway.
    const startWait = Math.min(15_000, this.#o.streamTimeoutMs ?? 30_000);
    const subscribed = this.#nextSubscription(startWait);
    this.#watchSubscription(startWait);
    void Promise.resolve(ws.subscribeV5(['position', 'order', 'execution', 'wallet'], this.#o.category)).catch((err: unknown) => this.#o.log('warn', `WebSocket subscribe: ${(err as Error)?.message ?? String(err)}`));
    await subscribed;
    try {
      await this.#resyncUntilKnown('at start', async () => {
        await this.#catchUp();
        await this.#readPosition('at start');
        await this.#readOrders('at start');
      });
      if (this.#fatal) throw this.#fatal;
    } finally {
      this.#starting = false;
    }
    // Messages that came during start-up: executions (deduplicated); positions only if newer than the read.
    const buffered = this.#buffered;
    this.#buffered = [];
    for (const b of buffered) if (b.afterRead || !String(b.msg.topic).startsWith('position')) this.#onUpdate(b.msg);
    const every = this.#o.positionCheckMs ?? 30_000;
    this.#lastCheck = this.#now();
    this.#timer = setInterval(() => void this.#tick(), Math.max(20, Math.min(every > 0 ? every : 5000, 5000)));
    this.#timer.unref?.();
  }

  #streamUp(): void {
    if (this.#streamDownSince !== undefined && this.#now() - this.#streamDownSince > (this.#o.streamTimeoutMs ?? 30_000)) {
      this.#o.log('info', 'private stream back: entries allowed again');
    }
    this.#streamDownSince = undefined;
  }

  /**
   * The executions since the journal's last record, replayed into fills and trades (see catchUp): a
   * trade that closed while pyr was not running is recorded with its real fills and fees, and the open
   * trade gets its entry fills by order id.
   */
  async #catchUp(): Promise<void> {
    const since = this.#o.restore?.since;
    if (since === undefined || !this.#o.restore || this.#caughtUp) return;
    const execs = await this.#executionsSince(since);
    this.#caughtUp = true; // from here on nothing awaits: a retried start does not replay it twice
    const r = catchUp(execs, this.#o.restore, { firstId: this.#tradeSeq, intervalMs: this.#o.intervalMs, exitOrder: (id) => this.#exitOrders.get(id) });
    for (const e of execs) if (e.id) this.#seenExec.add(e.id);
    for (const fill of r.fills) this.#emit({ type: 'fill', fill });
    for (const trade of r.trades) {
      this.#tradeSeq = trade.id;
      const message = `trade ${trade.id} (${trade.side}) closed while pyr was not running: ${trade.exitReason}, net ${trade.netPnl.toFixed()} USDT (fees ${trade.fees.toFixed()})`;
      this.#o.log('warn', message);
      this.#o.record?.({ t: 'note', level: 'warn', message });
      this.#emit({ type: 'trade', trade });
    }
    this.#open = r.open;
    if (r.strays > 0) this.#o.log('warn', `${r.strays} exit executions since the journal's last record match no open trade`);
    if (r.open) this.#position = { side: r.open.side, qty: r.net.abs(), entryPrice: r.open.entryFills[0]?.price ?? ZERO };
  }

  /** Every execution of the symbol from `since` (market time) to the newest, oldest first (7-day windows, paged). */
  async #executionsSince(since: number): Promise<Execution[]> {
    const { result } = await this.#o.rest.call('market/kline', (c) => c.getKline({ category: this.#o.category, symbol: this.#o.symbol, interval: this.#o.interval as never, limit: 1 }) as never);
    const newest = Number(((result as { list?: unknown[][] }).list ?? [])[0]?.[0] ?? this.#now());
    const out: Execution[] = [];
    const WEEK = 7 * 86_400_000;
    for (let start = since; start <= newest + 60_000; start += WEEK) {
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const { result: r } = await this.#o.rest.call('execution/list', (c) =>
          c.getExecutionList({ category: this.#o.category, symbol: this.#o.symbol, startTime: start, endTime: start + WEEK - 1, limit: 100, ...(cursor ? { cursor } : {}) }) as never,
        );
        const res = r as { list?: WireExecution[]; nextPageCursor?: string };
        out.push(...(res.list ?? []).map(wireExecution));
        cursor = res.nextPageCursor || undefined;
        if (!cursor || (res.list ?? []).length === 0) break;
      }
    }
    const unique = new Map(out.map((e) => [e.id || executionKey(e), e]));
    return [...unique.values()].sort((a, b) => a.time - b.time);
  }

  /**
   * Runs `step` (by default: read the position) until it succeeds, blocking every order meanwhile. A
   * failure never ends the process: it says so and tries again with backoff (the REST retry policy's
   * factor × 2^attempt, at most 30 s). An authentication error ends the session instead. A second call
   * while one runs joins it.
   */
  #resyncUntilKnown(why: string, step: () => Promise<void> = () => this.#readPosition(why)): Promise<void> {
    if (this.#resync) return this.#resync.done;
    const gen = ++this.#resyncGen;
    const run = async () => {
      for (let attempt = 0; !this.#stopped && gen === this.#resyncGen; attempt++) {
        try {
          await step();
          if (attempt > 0) this.#o.log('info', `position resynced over REST ${why} after ${attempt + 1} attempts; entries allowed again`);
          return;
        } catch (err) {
          if (isAuthFailure(err) || err instanceof ConfigError) {
            if (this.#starting) throw err; // start() fails with it: the command reports it
            this.#fail(err as Error);
            return;
          }
          const wait = Math.min(30_000, Math.max(10, this.#o.rest.policy.backoffFactor * 1000 * 2 ** attempt));
          const message = `could not resync the position ${why} (${(err as Error).message}); no new orders until the position is known; trying again in ${(wait / 1000).toFixed(2)} s`;
          this.#o.log('warn', message);
          this.#o.record?.({ t: 'note', level: 'warn', message });
          await sleep(wait);
        }
      }
    };
    const done = run().finally(() => {
      if (this.#resync?.gen === gen) this.#resync = undefined;
      queueMicrotask(() => this.#releaseDeferred());
    });
    this.#resync = { since: this.#now(), why, gen, done };
    return done;
  }

  /** Reads the position over REST and adopts it. Throws when the exchange does not answer. */
  async #readPosition(why: string): Promise<void> {
    const { result } = await this.#o.rest.call('position/list', (c) => c.getPositionInfo({ category: this.#o.category, symbol: this.#o.symbol }) as never);
    if (this.#starting) this.#readAnswered = true;
    const list = (result as { list?: WirePosition[] }).list ?? [];
    const row = list.find((p) => p.symbol === this.#o.symbol && (p.positionIdx === undefined || Number(p.positionIdx) === 0)) ?? list[0];
    const pos = row ? wirePosition(row) : FLAT;
    const changed = pos.side !== this.#position.side || !pos.qty.eq(this.#position.qty);
    if (why !== 'periodic check' || changed) this.#o.record?.({ t: 'note', level: 'info', message: `position read over REST ${why}: ${pos.side} ${pos.qty.toFixed()}` });
    if (why === 'at start') await this.#adoptAtStart(pos);
    else await this.#apply(pos, 'rest');
  }

  /** The position found at start: pyr's open trade (caught up by order id), none, or one pyr did not open. */
  async #adoptAtStart(pos: Position): Promise<void> {
    const open = this.#open;
    if (pos.side === 'flat') {
      if (open) this.#o.log('warn', `the journal's open ${open.side} trade is flat on the exchange, but its exit executions were not found; it is not recorded`);
      this.#open = undefined;
      this.#position = FLAT;
      return;
    }
    if (open && open.side === pos.side) {
      open.stopLoss = pos.stopLoss;
      open.takeProfit = pos.takeProfit;
      if (!pos.qty.eq(this.#position.qty)) this.#o.log('warn', `the exchange's ${pos.side} position is ${pos.qty.toFixed()}, the executions add up to ${this.#position.qty.toFixed()}; the exchange's figure is used`);
      this.#position = pos;
      this.#o.log('info', `Open position found over REST for ${this.#o.symbol}.`);
      this.#emit({ type: 'position', position: pos });
      return;
    }
    this.#open = undefined;
    const policy = this.#o.foreignPositions ?? 'stop';
    const what = `${this.#o.symbol} has an open ${pos.side} position of ${pos.qty.toFixed()} at ${pos.entryPrice.toFixed()} that pyr did not open (no order of this journal made it)`;
    if (policy === 'stop') throw new ConfigError(`${what}; foreignPositions is "stop": pyr refuses to trade ${this.#o.symbol}. Close it on the exchange, or run with --param foreignPositions=adopt (pyr manages it) or foreignPositions=ignore (pyr waits until it is closed)`);
    this.#position = pos;
    this.#emit({ type: 'position', position: pos });
    if (policy === 'ignore') {
      this.#foreign = `${what}; foreignPositions is "ignore": pyr leaves it alone and sends no order until it is closed`;
      this.#say('foreign', 'warn', this.#foreign);
      return;
    }
    this.#adopt(pos, 'at start');
  }

  /** foreignPositions 'adopt': the position becomes pyr's; the strategy's stop and target go on when it has none. */
  #adopt(pos: Position, when: string): void {
    if (pos.side === 'flat') return;
    this.#open = { side: pos.side, signalTime: this.#candleOf(pos.openedAt ?? this.#now()), entryReason: 'opened outside pyr (adopted)', entryFills: [], exitFills: [], funding: ZERO, seen: pos, stopLoss: pos.stopLoss, takeProfit: pos.takeProfit };
    this.#o.log('warn', `adopting the ${pos.side} position of ${pos.qty.toFixed()} ${this.#o.symbol} at ${pos.entryPrice.toFixed()} ${when} (foreignPositions "adopt")`);
    const pr = this.#o.protect;
    const wantSl = pos.stopLoss === undefined && pr?.stopLoss !== undefined && pr.stopLoss > 0;
    const wantTp = pos.takeProfit === undefined && pr?.takeProfit !== undefined && pr.takeProfit > 0;
    if (!wantSl && !wantTp) return;
    const tick = this.#o.rules.tickSize;
    const sl = wantSl ? stopPrice(pos.side, pos.entryPrice, { pct: pr!.stopLoss! }, tick) : undefined;
    const tp = wantTp ? targetPrice(pos.side, pos.entryPrice, { pct: pr!.takeProfit! }, tick) : undefined;
    void this.#setLevels(sl, tp, `the adopted position's stop and target (from its entry ${pos.entryPrice.toFixed()})`);
  }

  async #setLevels(sl: Dec | undefined, tp: Dec | undefined, what: string): Promise<boolean> {
    try {
      await this.#o.rest.call('position/trading-stop', (c) =>
        c.setTradingStop({ category: this.#o.category, symbol: this.#o.symbol, tpslMode: 'Full', positionIdx: 0, ...(sl ? { stopLoss: sl.toFixed(), slTriggerBy: 'LastPrice' } : {}), ...(tp ? { takeProfit: tp.toFixed(), tpTriggerBy: 'LastPrice' } : {}) }) as never,
      );
      this.#o.record?.({ t: 'note', level: 'info', message: `${what}: SL ${sl?.toFixed()} TP ${tp?.toFixed()}` });
      return true;
    } catch (err) {
      this.#o.log('warn', `could not set ${what}: ${(err as Error).message}`);
      return false;
    }
  }

  /** Every few seconds: the resync's time-out, the periodic position read, an unknown order's outcome, and what is blocked (said every minute). */
  async #tick(): Promise<void> {
    if (this.#stopped || this.#checking || this.#fatal) return;
    this.#checking = true;
    try {
      const r = this.#resync;
      const limit = this.#o.resyncTimeoutMs ?? 60_000;
      if (r && this.#now() - r.since > limit) {
        this.#o.log('warn', `the resync ${r.why} has not finished in ${limit / 1000} s; starting it again`);
        this.#resync = undefined;
        void this.#resyncUntilKnown(r.why);
      }
      const why = this.blocked('entry');
      if (why) this.#say(`blocked:${why.replace(/\d+/g, 'N')}`, 'warn', `no new entries: ${why}`);
      const every = this.#o.positionCheckMs ?? 30_000;
      if (this.#resync || this.#inFlight) return;
      if (this.#unknown) await this.#reconcileUnknown();
      else if (every > 0 && this.#now() - this.#lastCheck >= every) await this.#check('periodic check');
    } finally {
      this.#checking = false;
    }
  }

  /** Reads the position again over REST, blocking orders until it is known (after an unexpected error). */
  checkNow(why: string): void {
    if (this.#stopped || this.#starting || this.#fatal) return;
    void this.#resyncUntilKnown(why);
  }

  /** Reads the position over REST now (not blocking orders unless it fails to know); also puts missing levels back. */
  async #check(why: string): Promise<void> {
    this.#lastCheck = this.#now();
    try {
      await this.#readPosition(why);
    } catch (err) {
      if (isAuthFailure(err)) return this.#fail(err as Error);
      this.#o.log('warn', `could not read the position over REST (${why}): ${(err as Error).message}`);
      return;
    }
    const p = this.#position;
    const want = this.#open;
    if (p.side !== 'flat' && want && ((want.stopLoss && !p.stopLoss) || (want.takeProfit && !p.takeProfit))) {
      await this.#setLevels(p.stopLoss ? undefined : want.stopLoss, p.takeProfit ? undefined : want.takeProfit, 'the stop and target the position lost');
    }
  }

  #onUpdate(msg: { topic?: string; data?: unknown }): void {
    if (this.#stopped || !msg || typeof msg.topic !== 'string' || !Array.isArray(msg.data)) return;
    try {
      const topic = msg.topic.split('.')[0];
      if (topic === 'execution') {
        for (const e of msg.data as WireExecution[]) if (e.symbol === this.#o.symbol) this.#onExecution(wireExecution(e));
      } else if (topic === 'order') {
        for (const w of msg.data as WireOrder[]) if (w.symbol === this.#o.symbol) this.#pending.onOrder(w, this.#position.side);
      } else if (topic === 'position') {
        for (const p of msg.data as WirePosition[]) {
          if (p.symbol !== this.#o.symbol || (p.positionIdx !== undefined && Number(p.positionIdx) !== 0)) continue;
          this.#applySafely(wirePosition(p), 'ws');
        }
      }
    } catch (err) {
      this.#o.log('error', `could not read a ${msg.topic} message: ${(err as Error).message}`);
    }
  }

  #applySafely(p: Position, source: 'ws' | 'rest'): void {
    this.#apply(p, source).catch((err: unknown) => {
      this.#o.log('error', `could not handle a position change: ${(err as Error).message}; reading the position again`);
      void this.#check('after an error');
    });
  }

  #onExecution(e: Execution): void {
    if (e.id && this.#seenExec.has(e.id)) return;
    if (e.id) this.#seenExec.add(e.id);
    if (e.type === 'Funding') {
      if (this.#open) this.#open.funding = this.#open.funding.add(e.fee);
      return;
    }
    if (e.type !== 'Trade') return;
    let part: ReturnType<typeof partTrade>;
    if (!isExit(e)) {
      const order = this.#entryOrders.get(e.orderLinkId);
      if (order && rests(order) && this.#position.side === 'flat') this.#filledEntry = order;
      if (!this.#open) {
        this.#open = {
          side: e.side === 'Buy' ? 'long' : 'short',
          signalTime: order?.signalTime ?? this.#candleOf(e.time),
          entryReason: order?.reason ?? 'opened outside pyr',
          entryFills: [],
          exitFills: [],
          funding: ZERO,
          entryOrder: order,
        };
      }
      this.#open.entryOrder ??= order;
      this.#open.entryFills.push(e);
    } else if (this.#open) {
      // An exit that leaves part of the position open (a partial target or exit): a trade row of its own.
      if (this.#open.exitFills.length === 0 && this.#open.entryFills.length > 0 && e.qty.lt(openQty(this.#open))) {
        part = partTrade(this.#open, e, { id: this.#tradeSeq + 1, intervalMs: this.#o.intervalMs, exitOrder: (id) => this.#exitOrders.get(id) });
      } else this.#open.exitFills.push(e);
    } else if (this.#closing) {
      this.#closing.exitFills.push(e);
    }
    const fill = fillOf(e, (id) => this.#exitOrders.has(id));
    const req = this.#entryOrders.get(e.orderLinkId) ?? this.#exitOrders.get(e.orderLinkId);
    this.#emit({ type: 'fill', fill: req?.order && req.order.type !== 'market' ? { ...fill, orderType: req.order.type } : fill });
    if (part) {
      // Its id is taken now; it is emitted after any trade still closing (see #closeTrade).
      this.#tradeSeq = part.id;
      const trade = part;
      this.#closeChain = this.#closeChain.then(() => this.#emit({ type: 'trade', trade }));
    }
  }

  #candleOf(t: number): number {
    return Math.floor(t / this.#o.intervalMs) * this.#o.intervalMs;
  }

  async #apply(p: Position, source: 'ws' | 'rest'): Promise<void> {
    const prev = this.#position;
    const same = prev.side === p.side && prev.qty.eq(p.qty) && prev.entryPrice.eq(p.entryPrice) && String(prev.stopLoss) === String(p.stopLoss) && String(prev.takeProfit) === String(p.takeProfit);
    if (same) return;
    this.#position = p;
    if (prev.side === 'flat' && p.side !== 'flat' && this.#open && this.#open.side !== p.side) this.#open = undefined;
    if (prev.side === 'flat' && p.side !== 'flat') {
      if (source === 'ws') this.#o.log('info', `🎉 Position detected and tracked via WebSocket for ${this.#o.symbol}.`);
      else this.#o.log('info', `Open position found over REST for ${this.#o.symbol}.`);
      const ours = this.#inFlight?.order.purpose === 'entry' || this.#unknown?.purpose === 'entry' || this.#pending.entry() !== undefined || this.#filledEntry !== undefined || (this.#open !== undefined && this.#open.entryFills.some((f) => this.#entryOrders.has(f.orderLinkId)));
      if (!ours && (this.#o.foreignPositions ?? 'stop') !== 'adopt') {
        this.#open = undefined;
        this.#foreign = `${this.#o.symbol} has an open ${p.side} position of ${p.qty.toFixed()} that pyr did not open; foreignPositions is "${this.#o.foreignPositions ?? 'stop'}": no order until it is closed`;
        this.#say('foreign', 'warn', this.#foreign);
      } else if (!ours) this.#adopt(p, 'found while running');
      if (!this.#open) this.#open = { side: p.side, signalTime: this.#candleOf(p.openedAt ?? this.#now()), entryReason: 'opened outside pyr', entryFills: [], exitFills: [], funding: ZERO, seen: p };
      this.#open.seen = p;
      this.#open.stopLoss = p.stopLoss ?? this.#open.stopLoss;
      this.#open.takeProfit = p.takeProfit ?? this.#open.takeProfit;
    } else if (p.side !== 'flat' && this.#open) {
      this.#open.stopLoss = p.stopLoss ?? this.#open.stopLoss;
      this.#open.takeProfit = p.takeProfit ?? this.#open.takeProfit;
      if (!this.#open.seen || this.#open.seen.side === 'flat') this.#open.seen = p;
    }
    // A resting entry that filled: its levels go on now, priced from the fill.
    const rested = prev.side === 'flat' && p.side !== 'flat' ? (this.#filledEntry ?? this.#pending.entry()?.request) : undefined;
    this.#filledEntry = undefined;
    if (p.side === 'flat') this.#pending.clearLevels();
    this.#emit({ type: 'position', position: p });
    if (prev.side !== 'flat' && (p.side === 'flat' || p.side !== prev.side)) {
      if (this.#foreign) {
        this.#foreign = undefined;
        this.#open = undefined;
        this.#o.log('info', `the position pyr did not open is closed; trading ${this.#o.symbol} again`);
      } else await this.#closeTrade(prev);
    }
    const f = this.#inFlight;
    const reduced = p.side === prev.side && p.qty.lt(prev.qty);
    if (f && ((f.order.purpose === 'entry' && p.side !== 'flat') || (f.order.purpose === 'exit' && (p.side === 'flat' || reduced)))) this.#clearInFlight();
    if (f && f.order.purpose === 'entry' && p.side !== 'flat' && (f.order.stopLoss !== undefined || f.order.takeProfit !== undefined)) await this.#alignLevels(f.order, p);
    if (f && f.order.purpose === 'entry' && p.side !== 'flat' && !rests(f.order) && (f.order.targets || f.order.trailingStop)) await this.#levels.afterEntry(f.order, p, true);
    else if (rested && p.side !== 'flat' && (!f || f.order !== rested)) await this.#levels.afterEntry(rested, p, false);
  }

  /**
   * The stop and target were sent from the last price (or not at all, on a retry); once the fill price
   * is known they are set from it (as the simulator sets them) when they differ by a tick or more.
   */
  async #alignLevels(order: OrderRequest, p: Position): Promise<void> {
    if (p.side === 'flat') return;
    const tick = this.#o.rules.tickSize;
    const sl = order.stopLoss ? stopPrice(p.side, p.entryPrice, order.stopLoss, tick) : undefined;
    const tp = order.takeProfit ? targetPrice(p.side, p.entryPrice, order.takeProfit, tick) : undefined;
    if (this.#open) {
      this.#open.stopLoss = sl ?? this.#open.stopLoss;
      this.#open.takeProfit = tp ?? this.#open.takeProfit;
    }
    const differs = (a?: Dec, b?: Dec) => a !== undefined && (b === undefined || !a.eq(b));
    if (!differs(sl, p.stopLoss) && !differs(tp, p.takeProfit)) return;
    await this.#setLevels(sl, tp, `stop and target moved to the fill price ${p.entryPrice.toFixed()}`);
  }

  /**
   * The position closed: the trade is completed from the exchange's execution list over REST (the exits
   * and the funding payments the stream did not bring: a funding settlement during a drop or a lost
   * message leaves no other trace), then emitted. Its id is taken now and trades are emitted in the
   * order they closed: one waiting on REST holds back those after it, so a later trade's record never
   * overtakes it (a restart after a kill then replays both from the exchange).
   */
  async #closeTrade(prev: Position): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    const side = prev.side;
    if (!open || side === 'flat') return;
    const id = ++this.#tradeSeq;
    this.#closesPending++;
    // Execution messages arriving while its fills are read over REST still belong to this trade.
    this.#closing = open;
    const run = this.#closeChain.then(async () => {
      try {
        await this.#fetchMissingFills(open, prev);
      } finally {
        if (this.#closing === open) this.#closing = undefined;
      }
      const out = closeTrade(open, side, { id, intervalMs: this.#o.intervalMs, exitOrder: (x) => this.#exitOrders.get(x) });
      if ('error' in out) {
        this.#o.log('warn', out.error);
        if (this.#tradeSeq === id) this.#tradeSeq--; // the id goes to the next trade
        return;
      }
      this.#emit({ type: 'trade', trade: out.trade });
    });
    this.#closeChain = run.catch(() => {}).finally(() => this.#closesPending--);
    await run;
  }

  /** The fills of one of our orders over REST (its execution messages were missed). */
  async #fetchOrderFills(order: OrderRequest): Promise<void> {
    const { result } = await this.#o.rest.call('execution/list', (c) => c.getExecutionList({ category: this.#o.category, symbol: this.#o.symbol, orderLinkId: order.id, limit: 100 }) as never);
    for (const e of ((result as { list?: WireExecution[] }).list ?? []).map(wireExecution).reverse()) {
      if (e.type === 'Trade') this.#onExecution(e);
    }
  }

  /**
   * What the closing trade lacks, from the REST execution list since its first fill (or its deciding
   * candle) up to its last known exit: exits and funding payments not seen on the stream, and its entries
   * when none was seen (their fees count). Each execution counts once (by id). A failure is said and the
   * trade goes with what the stream brought.
   */
  async #fetchMissingFills(open: OpenTrade, prev: Position): Promise<void> {
    try {
      const since = open.entryFills[0]?.time ?? Math.min(open.signalTime, prev.openedAt ?? open.signalTime);
      // Executions after the last known exit belong to later trades.
      const until = open.exitFills.length ? Math.max(...open.exitFills.map((f) => f.time)) : Infinity;
      const { result } = await this.#o.rest.call('execution/list', (c) => c.getExecutionList({ category: this.#o.category, symbol: this.#o.symbol, startTime: since, limit: 100 }) as never);
      const rows = ((result as { list?: WireExecution[] }).list ?? []).map(wireExecution).sort((a, b) => a.time - b.time);
      const needEntries = open.entryFills.length === 0;
      for (const e of rows) {
        if ((e.id && this.#seenExec.has(e.id)) || e.time > until) continue;
        const entry = !isExit(e);
        // Entries only while none is known yet and before the first exit; exits only after the first entry.
        const firstExit = open.exitFills[0]?.time ?? Infinity;
        if (e.type === 'Trade' && entry && !(needEntries && e.time <= firstExit)) continue;
        if (e.type === 'Trade' && !entry && open.entryFills.length === 0 && !open.seen) continue;
        if (e.id) this.#seenExec.add(e.id);
        if (e.type === 'Funding') {
          open.funding = open.funding.add(e.fee);
          continue;
        }
        if (e.type !== 'Trade') continue;
        (entry ? open.entryFills : open.exitFills).push(e);
        this.#emit({ type: 'fill', fill: fillOf(e, (id) => this.#exitOrders.has(id)) });
      }
    } catch (err) {
      this.#o.log('warn', `could not read executions over REST: ${(err as Error).message}`);
    }
  }

  #clearInFlight(): void {
    const done = this.#inFlight;
    if (done?.timer) clearTimeout(done.timer);
    this.#inFlight = undefined;
    const next = this.#queued;
    if (next !== undefined && done !== undefined && next.afterExit === done.order.id) {
      // A reversal: the entry goes once its exit has left the position flat, and not otherwise.
      this.#queued = undefined;
      queueMicrotask(() => {
        if (this.#position.side === 'flat') this.submit({ ...next, afterExit: undefined });
        else this.#emit({ type: 'rejected', order: next, reason: `the exit before this entry did not close the ${this.#position.side} position` });
      });
    }
  }

  submit(order: OrderRequest): void {
    if (order.afterExit !== undefined && this.#inFlight?.order.id === order.afterExit && !this.#queued && !this.#stopped) {
      this.#queued = order;
      return;
    }
    // An entry while the cancel of the resting one is unanswered could double the position if that one
    // fills meanwhile: refused (the strategy sees no pending entry and may decide it again next candle).
    const cancelling = order.purpose === 'entry' ? this.#pending.cancellingEntry() : undefined;
    const blocked = this.#stopped ? 'the broker is stopping' : this.#inFlight ? 'an order is already in flight' : cancelling ? `the cancel of the entry ${cancelling} is not answered yet` : this.blocked(order.purpose);
    // A resync is a wait, not a refusal: the order is held until the position is known, and goes if its
    // decision still stands then (it is refused if the next candle closes first).
    if (blocked && this.#resync && !this.#inFlight && !this.#stopped && !this.#fatal && !this.#unknown && !this.#foreign && !this.#deferred && !this.#starting) {
      this.#deferred = order;
      this.#o.log('warn', `order ${order.id} waits: ${blocked}`);
      return;
    }
    if (blocked) {
      if (!this.#stopped && !this.#inFlight) this.#say(`blocked:${blocked.replace(/\d+/g, 'N')}`, 'warn', `no new ${order.purpose === 'entry' ? 'entries' : 'exits'}: ${blocked}`);
      // After the decision is journaled (the engine records it once submit returns), as a sent order's outcome is.
      queueMicrotask(() => this.#emit({ type: 'rejected', order, reason: blocked }));
      return;
    }
    this.#inFlight = { order, sentAt: this.#now() };
    void this.#send(order).catch((err: unknown) => {
      this.#o.log('error', `order ${order.id} failed: ${(err as Error).message}`);
      if (this.#inFlight?.order === order) this.#clearInFlight();
      this.#emit({ type: 'rejected', order, reason: (err as Error).message, code: err instanceof ExchangeError ? err.retCode : undefined });
      if (isAuthFailure(err)) this.#fail(err as Error);
    });
  }

  async #lastTradedPrice(): Promise<Dec> {
    try {
      const { result } = await this.#o.rest.call('market/tickers', (c) => c.getTickers({ category: this.#o.category, symbol: this.#o.symbol }) as never);
      const row = (result as { list?: { symbol?: string; lastPrice?: string }[] }).list?.find((r) => r.symbol === this.#o.symbol);
      if (row?.lastPrice && Number(row.lastPrice) > 0) return new D(row.lastPrice);
    } catch (err) {
      if (isAuthFailure(err)) throw err;
      this.#o.log('warn', `no ticker price (${(err as Error).message}); sizing at the last close`);
    }
    if (!(this.#lastPrice > 0)) throw new ExchangeError('no price to size the order with');
    return new D(this.#lastPrice);
  }

  /** The decision behind an order stands while no newer candle has closed and the position is as it was decided on. */
  #stillStands(order: OrderRequest): boolean {
    if (this.#stopped || this.#fatal || this.#newestCandle > order.signalTime) return false;
    return order.purpose === 'entry' ? this.#position.side === 'flat' : this.#position.side !== 'flat';
  }

  async #send(order: OrderRequest): Promise<void> {
    const rules = this.#o.rules;
    let qty: Dec;
    let sl: Dec | undefined;
    let tp: Dec | undefined;
    const ref = await this.#lastTradedPrice();
    const resting = rests(order);
    if (order.purpose === 'entry') {
      const sized = sizeQty(order.size!, sizingPrice(order, ref), rules, this.#o.minQtyPolicy, { maxNotional: this.#o.maxNotional });
      if (!sized.ok) {
        this.#clearInFlight();
        this.#emit({ type: 'rejected', order, reason: sized.reason });
        return;
      }
      qty = sized.qty;
      // A resting entry's levels are set from its fill price once the position shows (LevelSetter).
      // A resting entry carries its stop loss priced from its limit price (or trigger): the exchange applies it from the fill on, even inside the move that fills it.
      sl = order.stopLoss ? stopPrice(order.positionSide, resting ? sizingPrice(order, ref) : ref, order.stopLoss, rules.tickSize) : undefined;
      tp = order.takeProfit && !resting ? targetPrice(order.positionSide, ref, order.takeProfit, rules.tickSize) : undefined;
      this.#entryOrders.set(order.id, order);
    } else {
      qty = exitQty(order, this.#position, rules);
      if (qty.isZero()) {
        this.#clearInFlight();
        this.#emit({ type: 'rejected', order, reason: 'no position to exit' });
        return;
      }
      this.#exitOrders.set(order.id, order);
    }
    const base = {
      category: this.#o.category,
      symbol: this.#o.symbol,
      side: order.side,
      orderType: 'Market' as const,
      ...placementParams(order, ref),
      qty: qty.toFixed(),
      positionIdx: 0 as const,
      orderLinkId: order.id,
      ...(order.purpose === 'exit' ? { reduceOnly: true } : {}),
    };
    const levels = sl || tp ? { tpslMode: 'Full' as const, ...(sl ? { stopLoss: sl.toFixed(), slTriggerBy: 'LastPrice' as const } : {}), ...(tp ? { takeProfit: tp.toFixed(), tpTriggerBy: 'LastPrice' as const } : {}) } : {};
    this.#o.record?.({ t: 'order', order, qty: qty.toFixed(), refPrice: ref.toFixed(), stopLoss: sl?.toFixed(), takeProfit: tp?.toFixed() });
    const pl = order.order;
    const what = pl?.type === 'limit' ? `${pl.postOnly ? 'post-only ' : ''}limit order at ${pl.price.toFixed()}` : pl?.type === 'stop' ? `stop order triggered at ${pl.trigger.toFixed()}` : 'market order';
    this.#o.log('info', `Placing ${order.side} ${what}: ${qty.toFixed()} ${this.#o.symbol}${sl ? ` SL ${sl.toFixed()}` : ''}${tp ? ` TP ${tp.toFixed()}` : ''} (${order.reason})`);
    if (resting) this.#pending.sending(order, qty);
    // Resending with the same orderLinkId is safe: the exchange refuses a duplicate (110072), so network
    // errors, 5xx and rate limits are retried; business rejections are not. A retried entry is priced
    // again: its stop and target from a fresh price (the first one may be stale by then, and the exchange
    // refuses a stop on the wrong side of it); once the fill price is known they are moved to it
    // (#alignLevels). Retries stop once the decision no longer stands (a newer candle closed).
    // The exchange's own price, when it refused the levels as on the wrong side of it (10001 base_price).
    let exchangePrice: Dec | undefined;
    const priced = async (attempt: number) => {
      if ((attempt === 0 && !exchangePrice) || order.purpose !== 'entry' || (!order.stopLoss && !order.takeProfit)) return levels;
      const fresh = exchangePrice ?? (await this.#lastTradedPrice());
      const s2 = order.stopLoss ? stopPrice(order.positionSide, fresh, order.stopLoss, rules.tickSize) : undefined;
      const t2 = order.takeProfit ? targetPrice(order.positionSide, fresh, order.takeProfit, rules.tickSize) : undefined;
      if (!fresh.eq(ref)) this.#o.record?.({ t: 'note', level: 'info', message: `order ${order.id} retried at a fresh price ${fresh.toFixed()}: SL ${s2?.toFixed()} TP ${t2?.toFixed()}` });
      return { tpslMode: 'Full' as const, ...(s2 ? { stopLoss: s2.toFixed(), slTriggerBy: 'LastPrice' as const } : {}), ...(t2 ? { takeProfit: t2.toFixed(), tpTriggerBy: 'LastPrice' as const } : {}) };
    };
    try {
      const send = () => this.#o.rest.call('order/create', async (c, attempt) => c.submitOrder({ ...base, ...(await priced(attempt)) } as never) as never, { stillValid: () => this.#stillStands(order) });
      try {
        await send();
      } catch (err) {
        // The price moved between our price read and the exchange handling the order (slow answers): the
        // stop or target is now on the wrong side of the exchange's price, which the refusal names. Priced
        // again from that price, the entry goes once more (the refused one did not exist: same orderLinkId).
        const m = err instanceof ExchangeError && err.retCode === 10001 && order.purpose === 'entry' && (sl || tp) ? /base_price:\s*([0-9]+(?:\.[0-9]+)?)/.exec(err.message) : null;
        if (!m || !this.#stillStands(order)) throw err;
        exchangePrice = new D(m[1]!);
        const message = `order ${order.id}: the exchange refused its stop/target as stale (${(err as Error).message}); sending it again priced from the exchange's price ${exchangePrice.toFixed()}`;
        this.#o.log('warn', message);
        this.#o.record?.({ t: 'note', level: 'warn', message });
        await send();
      }
    } catch (err) {
      const e = err as ExchangeError;
      if (e instanceof ExchangeError && e.retCode === 110072) {
        this.#o.record?.({ t: 'order-result', orderId: order.id, ok: true, retMsg: 'duplicate orderLinkId: the first send went through' });
        await this.#reconcile(order, 'the exchange already has this order (sent before a restart or a lost answer)');
        return;
      }
      this.#o.record?.({ t: 'order-result', orderId: order.id, ok: false, retCode: e.retCode, retMsg: e.message });
      this.#o.log('error', `Order rejected${e.retCode !== undefined ? ` (${e.retCode})` : ''}: ${e.message}`);
      if (resting && !(e.retCode === undefined || (e instanceof ExchangeError && e.retryable))) this.#pending.forget(order.id);
      if (isAuthFailure(e)) {
        this.#clearInFlight();
        this.#emit({ type: 'rejected', order, reason: e.message, code: e.retCode });
        this.#fail(e);
        return;
      }
      if (e.retCode === undefined || (e instanceof ExchangeError && e.retryable)) {
        // Unknown outcome (no answer, or retries given up): the exchange may have the order. Reconcile, never resend.
        await this.#reconcile(order, 'no definite answer to the order');
        return;
      }
      this.#clearInFlight();
      this.#emit({ type: 'rejected', order, reason: e.message, code: e.retCode });
      // A rejection that says the position is not what pyr thinks (110017 reduce-only, 110001...): read it now.
      void this.#check(`after retCode ${e.retCode}`);
      return;
    }
    this.#o.record?.({ t: 'order-result', orderId: order.id, ok: true });
    if (resting) {
      // It rests: its outcome comes on the order and execution streams (or a REST read of the open orders).
      if (this.#inFlight?.order === order) this.#clearInFlight();
      return;
    }
    const f = this.#inFlight;
    if (f && f.order === order) {
      f.timer = setTimeout(() => void this.#reconcile(order, `no position message within ${this.#o.reconcileMs} ms`), this.#o.reconcileMs);
      f.timer.unref?.();
    }
  }

  /**
   * An order's outcome is unknown: read its fills and the position over REST and adopt them, rather than
   * sending another. Fills first, so the trade the position closes into has its real entry. When that
   * fails too, the order stays unknown: no entry goes until a later check learns its outcome.
   */
  async #reconcile(order: OrderRequest, why: string): Promise<void> {
    if (this.#inFlight?.order !== order) return;
    this.#o.log('warn', `reconciling order ${order.id} over REST: ${why}`);
    let known = false;
    try {
      if (order.purpose === 'entry' || rests(order)) await this.#fetchOrderFills(order);
      await this.#readPosition(`to reconcile order ${order.id}`);
      if (rests(order)) await this.#readOrders(`to reconcile order ${order.id}`);
      known = true;
    } catch (err) {
      if (isAuthFailure(err)) this.#fail(err as Error);
      this.#o.log('error', `reconcile failed: ${(err as Error).message}; no new entries until the outcome of order ${order.id} is known`);
      this.#unknown = order;
    }
    if (this.#inFlight?.order === order) this.#clearInFlight();
    if (known) this.#o.record?.({ t: 'note', level: 'info', message: `order ${order.id} reconciled: position ${this.#position.side} ${this.#position.qty.toFixed()}` });
  }

  async #reconcileUnknown(): Promise<void> {
    const order = this.#unknown;
    if (!order) return;
    try {
      if (order.purpose === 'entry') await this.#fetchOrderFills(order);
      await this.#readPosition(`to reconcile order ${order.id}`);
    } catch (err) {
      if (isAuthFailure(err)) return this.#fail(err as Error);
      this.#say(`unknown:${order.id}`, 'warn', `the outcome of order ${order.id} is still not known (${(err as Error).message}); no new entries`);
      return;
    }
    this.#unknown = undefined;
    this.#o.log('info', `order ${order.id} reconciled: position ${this.#position.side} ${this.#position.qty.toFixed()}; entries allowed again`);
    this.#o.record?.({ t: 'note', level: 'info', message: `order ${order.id} reconciled: position ${this.#position.side} ${this.#position.qty.toFixed()}` });
  }

  /** Waits until no order is in flight and no closing trade is still reading its fills (or `ms` passes). */
  tradesDone(): Promise<void> {
    return this.#closeChain;
  }

  async settle(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while ((this.hasOrderInFlight() || this.#closesPending > 0 || this.#levels.busy > 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const queued = this.#queued;
    const deferred = this.#deferred;
    this.#queued = undefined;
    this.#deferred = undefined;
    this.#clearInFlight();
    for (const o of [queued, deferred]) if (o) this.#emit({ type: 'rejected', order: o, reason: 'the broker is stopping' });
  }
}
