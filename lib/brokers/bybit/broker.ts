/**
 * The live Bybit broker. The exchange's private WebSocket position stream is the single source of truth
 * for the open position: `position()` changes only on position messages, and on REST reads at start and
 * after a reconnect or an unanswered order. Orders are market orders with the take profit and stop loss
 * attached (tpslMode Full, one-way mode), sized with the same rules as the simulator.
 */
import type { WebsocketClient } from 'bybit-api';
import {
  AccountingError,
  D,
  ExchangeError,
  ZERO,
  sizeQty,
  stopPrice,
  targetPrice,
  amountsOf,
  tradeFromFills,
  BrokerListeners,
  type Broker,
  type BrokerEvent,
  type BrokerListener,
  type Candle,
  type Dec,
  type ExitReason,
  type Fill,
  type InstrumentRules,
  type MinQtyPolicy,
  type OrderRequest,
  type Position,
  type PositionSide,
  type Trade,
  type TradeAmounts,
} from '../../core/index.ts';
import type { BybitRest } from './client.ts';
import { wireExecution, wirePosition, type Execution, type WireExecution, type WirePosition } from './mapping.ts';

export interface BybitBrokerOptions {
  readonly rest: BybitRest;
  readonly ws: WebsocketClient;
  readonly symbol: string;
  readonly category: 'linear';
  readonly rules: InstrumentRules;
  readonly intervalMs: number;
  readonly minQtyPolicy: MinQtyPolicy;
  /** How long to wait for a position message after an order before reconciling over REST (ms). */
  readonly reconcileMs: number;
  /** Trade ids continue from here (a restarted session keeps numbering). */
  readonly firstTradeId?: number;
  /** What to say (never secrets). */
  readonly log: (level: 'info' | 'success' | 'warn' | 'error', message: string) => void;
  /** Records for the journal: orders as sent and their results. */
  readonly record?: (rec: { t: 'order'; order: OrderRequest; qty: string; refPrice: string; stopLoss?: string; takeProfit?: string } | { t: 'order-result'; orderId: string; ok: boolean; retCode?: number; retMsg?: string } | { t: 'note'; level: 'info' | 'warn' | 'error'; message: string }) => void;
}

const FLAT: Position = Object.freeze({ side: 'flat', qty: ZERO, entryPrice: ZERO });

interface OpenTrade {
  side: PositionSide;
  signalTime: number;
  entryReason: string;
  entryFills: Execution[];
  exitFills: Execution[];
  funding: Dec;
  stopLoss?: Dec;
  takeProfit?: Dec;
  /** Position as first seen (entry price and size) when fills are unknown (a restart). */
  seen: Position;
}

interface InFlight {
  readonly order: OrderRequest;
  readonly sentAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

export class BybitBroker implements Broker {
  readonly name = 'bybit';
  readonly #o: BybitBrokerOptions;
  readonly #listeners = new BrokerListeners();
  #position: Position = FLAT;
  #inFlight: InFlight | undefined;
  /** An entry waiting for the exit in flight (a reversal decided on one candle). */
  #queued: OrderRequest | undefined;
  #resyncing = false;
  #lastPrice = NaN;
  #open: OpenTrade | undefined;
  readonly #seenExec = new Set<string>();
  /** Client order ids of our exit orders, to tell a signal exit from a manual one. */
  readonly #exitOrders = new Map<string, OrderRequest>();
  readonly #entryOrders = new Map<string, OrderRequest>();
  #tradeSeq: number;
  #stopped = false;

  constructor(o: BybitBrokerOptions) {
    this.#o = o;
    this.#tradeSeq = o.firstTradeId ?? 0;
  }

  rules(): InstrumentRules {
    return this.#o.rules;
  }
  position(): Position {
    return this.#position;
  }
  hasOrderInFlight(): boolean {
    return this.#inFlight !== undefined || this.#queued !== undefined || this.#resyncing;
  }
  subscribe(listener: BrokerListener): () => void {
    return this.#listeners.subscribe(listener);
  }
  #emit(e: BrokerEvent): void {
    this.#listeners.emit(e);
  }
  observe(candle: Candle): void {
    this.#lastPrice = candle.close;
  }

  /**
   * A restarted session: the entry of the position still open, from the journal, so the trade it closes
   * into has its real entry price, fees and signal. Used only if the exchange still shows that position.
   */
  restoreOpenTrade(t: { side: PositionSide; signalTime: number; entryReason: string; fills: readonly Fill[] }): void {
    this.#open = {
      side: t.side,
      signalTime: t.signalTime,
      entryReason: t.entryReason,
      entryFills: t.fills.map((f, i) => ({
        id: `restored-${i}`,
        orderId: f.orderId,
        orderLinkId: f.orderId,
        side: f.side,
        price: f.price,
        qty: f.qty,
        fee: f.fee,
        time: f.time,
        type: 'Trade',
        closedSize: ZERO,
        stopOrderType: '',
        createType: '',
        maker: f.liquidity === 'maker',
      })),
      exitFills: [],
      funding: ZERO,
      seen: FLAT,
    };
  }

  #subscribed: (() => void)[] = [];

  /** Resolves at the next confirmed private subscription (or after `ms`, saying so). */
  #nextSubscription(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#subscribed = this.#subscribed.filter((f) => f !== done);
        this.#o.log('warn', `no private subscription confirmed within ${ms / 1000} s; reading the position over REST anyway`);
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

  /**
   * Subscribes to the private topics and waits until the exchange confirms, then reads the open position
   * over REST (a restart picks it up). In that order nothing falls between the two: a change before the
   * subscription is in the REST answer, a change after it arrives on the stream.
   */
  async start(): Promise<void> {
    const ws = this.#o.ws;
    ws.on('update', (msg: unknown) => this.#onUpdate(msg as { topic?: string; data?: unknown }));
    ws.on('response', (msg: unknown) => {
      const m = msg as { op?: string; success?: boolean; req_id?: string; wsKey?: string };
      if (m.op === 'subscribe' && m.success !== false && (String(m.wsKey).includes('Private') || String(m.req_id ?? '').includes('position'))) {
        const waiting = this.#subscribed;
        this.#subscribed = [];
        for (const f of waiting) f();
      }
    });
    ws.on('reconnected', () => {
      this.#o.log('warn', 'WebSocket reconnected: resyncing the position over REST before acting again');
      void this.#nextSubscription(10_000).then(() => this.#resyncUntilKnown('after a WebSocket reconnect'));
    });
    ws.on('reconnect', () => {
      this.#resyncing = true;
      this.#o.log('warn', 'WebSocket connection lost; reconnecting');
    });
    const subscribed = this.#nextSubscription(15_000);
    void ws.subscribeV5(['position', 'order', 'execution', 'wallet'], this.#o.category);
    await subscribed;
    await this.resync('at start');
  }

  /**
   * Resyncs until it succeeds (after a reconnect, when the stream may have missed anything): a failure
   * never ends the process; entries stay blocked, and it tries again with backoff (the REST retry
   * policy's factor × 2^attempt, at most 30 s), saying so each time.
   */
  async #resyncUntilKnown(why: string): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        await this.resync(why, { keepBlocked: true });
        if (attempt > 0) this.#o.log('info', `position resynced over REST ${why} after ${attempt + 1} attempts; entries allowed again`);
        return;
      } catch (err) {
        const wait = Math.min(30_000, Math.max(10, this.#o.rest.policy.backoffFactor * 1000 * 2 ** attempt));
        const message = `could not resync the position ${why} (${(err as Error).message}); no new orders until the position is known; trying again in ${(wait / 1000).toFixed(2)} s`;
        this.#o.log('warn', message);
        this.#o.record?.({ t: 'note', level: 'warn', message });
        await new Promise((r) => setTimeout(r, wait).unref?.());
      }
    }
  }

  /**
   * Reads the position over REST and adopts it (blocks decisions while it runs). With `keepBlocked`, a
   * failure leaves decisions blocked (the caller tries again); otherwise they are allowed again.
   */
  async resync(why: string, opts: { keepBlocked?: boolean } = {}): Promise<void> {
    this.#resyncing = true;
    let ok = false;
    const restoring = why === 'at start' && this.#open !== undefined;
    try {
      const { result } = await this.#o.rest.call('position/list', (c) => c.getPositionInfo({ category: this.#o.category, symbol: this.#o.symbol }) as never);
      const list = (result as { list?: WirePosition[] }).list ?? [];
      const row = list.find((p) => p.symbol === this.#o.symbol && (p.positionIdx === undefined || Number(p.positionIdx) === 0)) ?? list[0];
      const pos = row ? wirePosition(row) : FLAT;
      this.#o.record?.({ t: 'note', level: 'info', message: `position read over REST ${why}: ${pos.side} ${pos.qty.toFixed()}` });
      if (restoring && pos.side === 'flat') {
        // The position the journal left open was closed while pyr was away: record it from REST executions.
        this.#position = { side: this.#open!.side, qty: this.#open!.entryFills.reduce((q, f) => q.add(f.qty), ZERO), entryPrice: this.#open!.entryFills[0]?.price ?? ZERO };
      }
      await this.#apply(pos, 'rest');
      ok = true;
    } finally {
      if (ok || !opts.keepBlocked) this.#resyncing = false;
    }
  }

  #onUpdate(msg: { topic?: string; data?: unknown }): void {
    if (this.#stopped || !msg || typeof msg.topic !== 'string' || !Array.isArray(msg.data)) return;
    try {
      const topic = msg.topic.split('.')[0];
      if (topic === 'execution') {
        for (const e of msg.data as WireExecution[]) if (e.symbol === this.#o.symbol) this.#onExecution(wireExecution(e));
      } else if (topic === 'position') {
        for (const p of msg.data as WirePosition[]) {
          if (p.symbol !== this.#o.symbol || (p.positionIdx !== undefined && Number(p.positionIdx) !== 0)) continue;
          void this.#apply(wirePosition(p), 'ws');
        }
      }
    } catch (err) {
      this.#o.log('error', `could not read a ${msg.topic} message: ${(err as Error).message}`);
    }
  }

  #onExecution(e: Execution): void {
    if (e.id && this.#seenExec.has(e.id)) return;
    if (e.id) this.#seenExec.add(e.id);
    if (e.type === 'Funding') {
      if (this.#open) this.#open.funding = this.#open.funding.add(e.fee);
      return;
    }
    const purpose = e.closedSize.gt(0) ? 'exit' : 'entry';
    if (purpose === 'entry') {
      const order = this.#entryOrders.get(e.orderLinkId);
      if (!this.#open) {
        this.#open = {
          side: e.side === 'Buy' ? 'long' : 'short',
          signalTime: order?.signalTime ?? this.#candleOf(e.time),
          entryReason: order?.reason ?? 'opened outside pyr',
          entryFills: [],
          exitFills: [],
          funding: ZERO,
          seen: FLAT,
        };
      }
      this.#open.entryFills.push(e);
    } else if (this.#open) {
      this.#open.exitFills.push(e);
    }
    const fill: Fill = {
      orderId: e.orderLinkId || e.orderId,
      time: e.time,
      side: e.side,
      qty: e.qty,
      price: e.price,
      fee: e.fee,
      liquidity: e.maker ? 'maker' : 'taker',
      purpose,
      exitReason: purpose === 'exit' ? this.#exitReason(e) : undefined,
    };
    this.#emit({ type: 'fill', fill });
  }

  #exitReason(e: Execution): ExitReason {
    if (e.stopOrderType === 'TakeProfit' || e.createType === 'CreateByTakeProfit') return 'take_profit';
    if (e.stopOrderType === 'StopLoss' || e.createType === 'CreateByStopLoss') return 'stop_loss';
    if (e.createType === 'CreateByLiq' || e.type === 'BustTrade' || e.type === 'AdlTrade') return 'liquidation';
    if (this.#exitOrders.has(e.orderLinkId)) return 'signal';
    return 'manual';
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
      if (!this.#open) {
        this.#open = { side: p.side, signalTime: this.#candleOf(p.openedAt ?? Date.now()), entryReason: 'position found at start', entryFills: [], exitFills: [], funding: ZERO, seen: p };
      }
      this.#open.seen = p;
      this.#open.stopLoss = p.stopLoss;
      this.#open.takeProfit = p.takeProfit;
    } else if (p.side !== 'flat' && this.#open) {
      this.#open.stopLoss = p.stopLoss ?? this.#open.stopLoss;
      this.#open.takeProfit = p.takeProfit ?? this.#open.takeProfit;
      if (this.#open.seen.side === 'flat') this.#open.seen = p;
    }
    this.#emit({ type: 'position', position: p });
    if (prev.side !== 'flat' && (p.side === 'flat' || p.side !== prev.side)) await this.#closeTrade(prev);
    const f = this.#inFlight;
    if (f && ((f.order.purpose === 'entry' && p.side !== 'flat') || (f.order.purpose === 'exit' && p.side === 'flat'))) this.#clearInFlight();
    if (f && f.order.purpose === 'entry' && p.side !== 'flat' && f.order.stopLoss !== undefined) await this.#alignLevels(f.order, p);
  }

  /**
   * The stop and target were sent from the last price; once the fill price is known they are moved to
   * the fill price (as the simulator sets them) when they differ by a tick or more.
   */
  async #alignLevels(order: OrderRequest, p: Position): Promise<void> {
    if (p.side === 'flat') return;
    const tick = this.#o.rules.tickSize;
    const sl = order.stopLoss ? stopPrice(p.side, p.entryPrice, order.stopLoss, tick) : undefined;
    const tp = order.takeProfit ? targetPrice(p.side, p.entryPrice, order.takeProfit, tick) : undefined;
    const differs = (a?: Dec, b?: Dec) => a !== undefined && (b === undefined || !a.eq(b));
    if (!differs(sl, p.stopLoss) && !differs(tp, p.takeProfit)) return;
    try {
      await this.#o.rest.call('position/trading-stop', (c) =>
        c.setTradingStop({ category: this.#o.category, symbol: this.#o.symbol, tpslMode: 'Full', positionIdx: 0, stopLoss: sl?.toFixed(), takeProfit: tp?.toFixed() }) as never,
      );
      this.#o.record?.({ t: 'note', level: 'info', message: `stop and target moved to the fill price ${p.entryPrice.toFixed()}: SL ${sl?.toFixed()} TP ${tp?.toFixed()}` });
    } catch (err) {
      this.#o.log('warn', `could not move the stop and target to the fill price: ${(err as Error).message}`);
    }
  }

  async #closeTrade(prev: Position): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    if (!open || prev.side === 'flat') return;
    if (open.exitFills.length === 0) await this.#fetchExitFills(open, prev);
    if (open.exitFills.length === 0) {
      this.#o.log('warn', `the ${prev.side} position closed but its exit fills could not be found; the trade is not recorded`);
      return;
    }
    // The one accounting (lib/core/accounting.ts). Entry fills unknown (a restart): the position as first seen.
    const entryFills = open.entryFills.length > 0 ? open.entryFills : [{ qty: open.seen.qty, price: open.seen.entryPrice, fee: ZERO }];
    let a: TradeAmounts;
    try {
      a = tradeFromFills({ side: prev.side, entryFills, exitFills: open.exitFills, funding: open.funding });
    } catch (err) {
      if (!(err instanceof AccountingError)) throw err;
      this.#o.log('warn', `the ${prev.side} position closed but its fills do not make a trade (${err.message}); the trade is not recorded`);
      return;
    }
    const last = open.exitFills[open.exitFills.length - 1]!;
    const firstEntry = open.entryFills[0];
    const reason = this.#exitReason(last);
    const trade: Trade = {
      id: ++this.#tradeSeq,
      side: prev.side,
      signalTime: open.signalTime,
      entryTime: firstEntry ? this.#candleOf(firstEntry.time) : open.signalTime,
      exitTime: this.#candleOf(last.time),
      ...amountsOf(a),
      stopLoss: open.stopLoss,
      takeProfit: open.takeProfit,
      exitReason: reason,
      entryReason: open.entryReason,
      exitDetail: reason === 'signal' ? (this.#exitOrders.get(last.orderLinkId)?.reason ?? 'exit signal') : `closed by the exchange (${last.stopOrderType || last.createType || last.type})`,
      ambiguous: false,
      qtyRaisedToMin: false,
    };
    this.#emit({ type: 'trade', trade });
  }

  /** The fills of one of our orders over REST (its execution messages were missed). */
  async #fetchOrderFills(order: OrderRequest): Promise<void> {
    const { result } = await this.#o.rest.call('execution/list', (c) => c.getExecutionList({ category: this.#o.category, symbol: this.#o.symbol, orderLinkId: order.id, limit: 100 }) as never);
    for (const e of ((result as { list?: WireExecution[] }).list ?? []).map(wireExecution).reverse()) {
      if (e.type === 'Trade') this.#onExecution(e);
    }
  }

  /** After a missed WebSocket message: the exit fills from REST executions since the entry. */
  async #fetchExitFills(open: OpenTrade, prev: Position): Promise<void> {
    try {
      const since = open.entryFills[0]?.time ?? prev.openedAt ?? Date.now() - 7 * 86_400_000;
      const { result } = await this.#o.rest.call('execution/list', (c) => c.getExecutionList({ category: this.#o.category, symbol: this.#o.symbol, startTime: since, limit: 100 }) as never);
      const rows = ((result as { list?: WireExecution[] }).list ?? []).map(wireExecution).reverse();
      for (const e of rows) {
        if (e.type !== 'Trade' || (e.id && this.#seenExec.has(e.id))) continue;
        if (e.id) this.#seenExec.add(e.id);
        if (e.closedSize.gt(0)) open.exitFills.push(e);
        else if (open.entryFills.length === 0) open.entryFills.push(e);
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
    if (this.#inFlight || this.#stopped) {
      this.#emit({ type: 'rejected', order, reason: this.#stopped ? 'the broker is stopping' : 'an order is already in flight' });
      return;
    }
    this.#inFlight = { order, sentAt: Date.now() };
    void this.#send(order).catch((err: unknown) => {
      this.#o.log('error', `order ${order.id} failed: ${(err as Error).message}`);
      this.#clearInFlight();
      this.#emit({ type: 'rejected', order, reason: (err as Error).message, code: err instanceof ExchangeError ? err.retCode : undefined });
    });
  }

  async #lastTradedPrice(): Promise<Dec> {
    try {
      const { result } = await this.#o.rest.call('market/tickers', (c) => c.getTickers({ category: this.#o.category, symbol: this.#o.symbol }) as never);
      const row = (result as { list?: { symbol?: string; lastPrice?: string }[] }).list?.find((r) => r.symbol === this.#o.symbol);
      if (row?.lastPrice && Number(row.lastPrice) > 0) return new D(row.lastPrice);
    } catch (err) {
      this.#o.log('warn', `no ticker price (${(err as Error).message}); sizing at the last close`);
    }
    if (!(this.#lastPrice > 0)) throw new ExchangeError('no price to size the order with');
    return new D(this.#lastPrice);
  }

  async #send(order: OrderRequest): Promise<void> {
    const rules = this.#o.rules;
    let qty: Dec;
    let sl: Dec | undefined;
    let tp: Dec | undefined;
    const ref = await this.#lastTradedPrice();
    if (order.purpose === 'entry') {
      const sized = sizeQty(order.size!, ref, rules, this.#o.minQtyPolicy);
      if (!sized.ok) {
        this.#clearInFlight();
        this.#emit({ type: 'rejected', order, reason: sized.reason });
        return;
      }
      qty = sized.qty;
      sl = order.stopLoss ? stopPrice(order.positionSide, ref, order.stopLoss, rules.tickSize) : undefined;
      tp = order.takeProfit ? targetPrice(order.positionSide, ref, order.takeProfit, rules.tickSize) : undefined;
      this.#entryOrders.set(order.id, order);
    } else {
      qty = this.#position.qty;
      if (qty.isZero()) {
        this.#clearInFlight();
        this.#emit({ type: 'rejected', order, reason: 'no position to exit' });
        return;
      }
      this.#exitOrders.set(order.id, order);
    }
    const params = {
      category: this.#o.category,
      symbol: this.#o.symbol,
      side: order.side,
      orderType: 'Market' as const,
      qty: qty.toFixed(),
      positionIdx: 0 as const,
      orderLinkId: order.id,
      ...(order.purpose === 'exit' ? { reduceOnly: true } : {}),
      ...(sl || tp ? { tpslMode: 'Full' as const, ...(sl ? { stopLoss: sl.toFixed(), slTriggerBy: 'LastPrice' as const } : {}), ...(tp ? { takeProfit: tp.toFixed(), tpTriggerBy: 'LastPrice' as const } : {}) } : {}),
    };
    this.#o.record?.({ t: 'order', order, qty: qty.toFixed(), refPrice: ref.toFixed(), stopLoss: sl?.toFixed(), takeProfit: tp?.toFixed() });
    this.#o.log('info', `Placing ${order.side} market order: ${qty.toFixed()} ${this.#o.symbol}${sl ? ` SL ${sl.toFixed()}` : ''}${tp ? ` TP ${tp.toFixed()}` : ''} (${order.reason})`);
    // Resending with the same orderLinkId is safe: the exchange refuses a duplicate (110072), so network
    // errors and 5xx are retried; business rejections are not.
    try {
      await this.#o.rest.call('order/create', (c) => c.submitOrder(params as never) as never);
    } catch (err) {
      if (err instanceof ExchangeError && err.retCode === 110072) {
        this.#o.record?.({ t: 'order-result', orderId: order.id, ok: true, retMsg: 'duplicate orderLinkId: the first send went through' });
      } else {
        const e = err as ExchangeError;
        this.#o.record?.({ t: 'order-result', orderId: order.id, ok: false, retCode: e.retCode, retMsg: e.message });
        this.#o.log('error', `Order rejected${e.retCode !== undefined ? ` (${e.retCode})` : ''}: ${e.message}`);
        if (e.retCode === undefined) {
          // Unknown outcome (no answer): the exchange may have the order. Reconcile instead of resending.
          await this.#reconcile(order, 'no answer to the order');
          return;
        }
        this.#clearInFlight();
        this.#emit({ type: 'rejected', order, reason: e.message, code: e.retCode });
        return;
      }
    }
    this.#o.record?.({ t: 'order-result', orderId: order.id, ok: true });
    const f = this.#inFlight;
    if (f && f.order === order) {
      f.timer = setTimeout(() => void this.#reconcile(order, `no position message within ${this.#o.reconcileMs} ms`), this.#o.reconcileMs);
      f.timer.unref?.();
    }
  }

  /**
   * An order's outcome is unknown: read its fills and the position over REST and adopt them, rather than
   * sending another. Fills first, so the trade the position closes into has its real entry.
   */
  async #reconcile(order: OrderRequest, why: string): Promise<void> {
    if (this.#inFlight?.order !== order) return;
    this.#o.log('warn', `reconciling order ${order.id} over REST: ${why}`);
    try {
      if (order.purpose === 'entry') await this.#fetchOrderFills(order);
      await this.resync(`to reconcile order ${order.id}`);
    } catch (err) {
      this.#o.log('error', `reconcile failed: ${(err as Error).message}`);
    }
    if (this.#inFlight?.order === order) this.#clearInFlight();
    this.#o.record?.({ t: 'note', level: 'info', message: `order ${order.id} reconciled: position ${this.#position.side} ${this.#position.qty.toFixed()}` });
  }

  /** Waits until no order is in flight (or `ms` passes). */
  async settle(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.hasOrderInFlight() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  stop(): void {
    this.#stopped = true;
    const queued = this.#queued;
    this.#queued = undefined;
    this.#clearInFlight();
    if (queued) this.#emit({ type: 'rejected', order: queued, reason: 'the broker is stopping' });
  }
}
