/**
 * The live broker's pending orders (issue 12): what rests at Bybit besides the position itself. Built
 * from the private `order` stream (and REST reads of /v5/order/realtime at start, after a reconnect and
 * when an answer is missing), it gives `orders()` (ctx.orders) and turns order messages into the broker
 * events `order` (resting), `cancelled` and `rejected` (a post-only limit cancelled with
 * EC_PostOnlyWillTakeLiquidity). Also the wire parameters of each placement. Pure apart from the
 * callbacks: no network, no clock.
 */
import { D, roundDownToStep, type BrokerEvent, type Dec, type InstrumentRules, type OrderRequest, type OrderType, type PendingOrder, type Position, type PositionSide, type Side } from '../../core/index.ts';

/** An order message or /v5/order/realtime row (the fields pyr reads). */
export interface WireOrder {
  symbol?: string;
  orderId?: string;
  orderLinkId?: string;
  side?: string;
  orderType?: string;
  orderStatus?: string;
  price?: string;
  qty?: string;
  cumExecQty?: string;
  triggerPrice?: string;
  timeInForce?: string;
  stopOrderType?: string;
  rejectReason?: string;
  cancelType?: string;
  reduceOnly?: boolean;
  positionIdx?: number | string;
}

const OPEN = new Set(['New', 'PartiallyFilled', 'Untriggered', 'Triggered']);

interface Entry {
  readonly order: PendingOrder;
  /** pyr's request, when pyr placed it. */
  readonly request?: OrderRequest;
  /** False until the exchange confirmed it (sent, answer or message pending). */
  confirmed: boolean;
}

const num = (s?: string) => (s !== undefined && s !== '' && Number(s) !== 0 ? new D(s) : undefined);

/** The role a Bybit order plays for pyr (position levels by stopOrderType). */
function roleOf(w: WireOrder, request?: OrderRequest): PendingOrder['role'] {
  const k = w.stopOrderType ?? '';
  if (k === 'TrailingStop') return 'trailing_stop';
  if (k === 'StopLoss' || k === 'PartialStopLoss') return 'stop_loss';
  if (k === 'TakeProfit' || k === 'PartialTakeProfit') return 'take_profit';
  if (request) return request.purpose;
  return w.reduceOnly ? 'exit' : 'entry';
}

/** The wire parameters of an order's placement (limit, post-only, conditional market, reduce-only). */
export function placementParams(order: OrderRequest, lastPrice: Dec): Record<string, unknown> {
  const pl = order.order;
  if (!pl || pl.type === 'market') return { orderType: 'Market' };
  if (pl.type === 'limit') return { orderType: 'Limit', price: pl.price.toFixed(), timeInForce: pl.postOnly ? 'PostOnly' : 'GTC' };
  // A stop entry: a conditional market order that fires when the last price reaches the trigger from here.
  return { orderType: 'Market', triggerPrice: pl.trigger.toFixed(), triggerDirection: pl.trigger.gt(lastPrice) ? 1 : 2, triggerBy: 'LastPrice' };
}

/** The price an order is sized at: a limit's price, a stop's trigger, else the reference price. */
export function sizingPrice(order: OrderRequest, ref: Dec): Dec {
  const pl = order.order;
  if (pl?.type === 'limit') return pl.price;
  if (pl?.type === 'stop') return pl.trigger;
  return ref;
}

/** An exit's qty: the position, or `fraction` of it rounded down to the step. */
export function exitQty(order: OrderRequest, position: Position, rules: InstrumentRules): Dec {
  if (order.fraction === undefined || order.fraction >= 1) return position.qty;
  return roundDownToStep(position.qty.mul(order.fraction), rules.qtyStep);
}

/** Whether an order rests (is not a market order that fills or fails at once). */
export function rests(order: OrderRequest): boolean {
  return order.order !== undefined && order.order.type !== 'market';
}

export function orderTypeOf(order: OrderRequest | undefined): OrderType {
  return order?.order?.type ?? 'market';
}

export class PendingOrders {
  readonly #byId = new Map<string, Entry>();
  readonly #emit: (e: BrokerEvent) => void;
  readonly #known: (orderLinkId: string) => OrderRequest | undefined;
  readonly #say: (level: 'info' | 'warn', message: string) => void;
  /** Orders on the symbol pyr did not place: reported once, left alone. */
  readonly #foreign = new Set<string>();
  /** Cancels pyr sent, by order id: their reason. */
  readonly #cancelling = new Map<string, string>();

  constructor(o: { emit: (e: BrokerEvent) => void; known: (orderLinkId: string) => OrderRequest | undefined; say: (level: 'info' | 'warn', message: string) => void }) {
    this.#emit = o.emit;
    this.#known = o.known;
    this.#say = o.say;
  }

  list(): PendingOrder[] {
    return [...this.#byId.values()].map((e) => e.order);
  }
  /** The orders as the strategy sees them (ctx.orders): without those pyr is cancelling, as in the simulator, where a cancel is at once. */
  shown(): PendingOrder[] {
    return this.list().filter((o) => !this.#cancelling.has(o.id));
  }
  /** The position's open partial targets (PartialTakeProfit orders), nearest to the price first. */
  partialTargets(): PendingOrder[] {
    const out = [...this.#byId.values()].filter((e) => e.order.role === 'take_profit' && e.order.reason === 'exchange PartialTakeProfit').map((e) => e.order);
    const long = out[0]?.positionSide === 'long';
    return out.sort((a, b) => (a.price && b.price ? (long ? a.price.cmp(b.price) : b.price.cmp(a.price)) : 0));
  }
  /** The id of a resting entry pyr is cancelling whose end is not known yet. */
  cancellingEntry(): string | undefined {
    for (const id of this.#cancelling.keys()) if (this.#byId.get(id)?.order.role === 'entry') return id;
    return undefined;
  }
  has(id: string): boolean {
    return this.#byId.has(id);
  }
  request(id: string): OrderRequest | undefined {
    return this.#byId.get(id)?.request;
  }
  /** A resting entry of pyr's (sent or confirmed). */
  entry(): Entry | undefined {
    for (const e of this.#byId.values()) if (e.order.role === 'entry' && e.request) return e;
    return undefined;
  }

  /** An order pyr is sending: shown at once (so the engine sees its pending entry), confirmed by the exchange later. */
  sending(order: OrderRequest, qty: Dec): void {
    this.#byId.set(order.id, { order: this.#view(order, qty), request: order, confirmed: false });
  }

  /** The create was refused: the order never rested. */
  forget(id: string): void {
    this.#byId.delete(id);
  }

  #view(order: OrderRequest, qty: Dec | undefined): PendingOrder {
    const pl = order.order;
    return {
      id: order.id,
      role: order.purpose,
      type: orderTypeOf(order),
      side: order.side,
      positionSide: order.positionSide,
      ...(pl?.type === 'limit' ? { price: pl.price, postOnly: pl.postOnly, ...(pl.expiresAfter !== undefined ? { expiresAfter: pl.expiresAfter } : {}) } : {}),
      ...(pl?.type === 'stop' ? { trigger: pl.trigger } : {}),
      ...(qty ? { qty } : {}),
      signalTime: order.signalTime,
      reason: order.reason,
    };
  }

  /** One order message (or REST row). */
  onOrder(w: WireOrder, positionSide: PositionSide | 'flat'): void {
    const id = w.orderLinkId || w.orderId || '';
    if (!id) return;
    const status = w.orderStatus ?? '';
    const have = this.#byId.get(id);
    const request = have?.request ?? this.#known(id);
    const kind = w.stopOrderType ?? '';
    const level = kind !== '' && kind !== 'Stop';
    if (!request && !level) {
      // An order pyr did not place (not a level of the position): reported, left alone.
      if (OPEN.has(status) && !this.#foreign.has(id)) {
        this.#foreign.add(id);
        this.#say('warn', `an open ${w.side} ${w.orderType} order ${id} on ${w.symbol} was not placed by pyr; it is left alone`);
      }
      if (!OPEN.has(status)) this.#foreign.delete(id);
      return;
    }
    if (OPEN.has(status) && status !== 'Triggered') {
      const side = (w.side === 'Sell' ? 'Sell' : 'Buy') as Side;
      const ps: PositionSide = request?.positionSide ?? (positionSide === 'flat' ? (side === 'Buy' ? 'long' : 'short') : positionSide);
      const qty = num(w.qty);
      const left = qty && num(w.cumExecQty) ? qty.sub(new D(w.cumExecQty!)) : qty;
      const type: OrderType = w.orderType === 'Limit' ? 'limit' : kind === 'Stop' || level ? 'stop' : 'market';
      const role = roleOf(w, request);
      const price = role === 'entry' || role === 'exit' ? (w.orderType === 'Limit' ? num(w.price) : undefined) : num(w.triggerPrice);
      const trigger = kind === 'Stop' ? num(w.triggerPrice) : undefined;
      const view: PendingOrder = {
        ...(request ? this.#view(request, left) : { id, role, type, side, positionSide: ps, signalTime: 0, reason: `exchange ${kind || 'order'}` }),
        id,
        role,
        type: request ? orderTypeOf(request) : type,
        ...(price ? { price } : {}),
        ...(trigger ? { trigger } : {}),
        ...(left ? { qty: left } : {}),
      };
      const changed = !have || !have.confirmed || String(have.order.price) !== String(view.price) || String(have.order.qty) !== String(view.qty) || String(have.order.trigger) !== String(view.trigger);
      this.#byId.set(id, { order: view, request, confirmed: true });
      if (changed && (role === 'entry' || role === 'exit')) this.#emit({ type: 'order', order: view });
      return;
    }
    if (status === 'Triggered') return;
    this.#byId.delete(id);
    if (status === 'Filled') {
      this.#cancelling.delete(id);
      return;
    }
    // Cancelled, Rejected, Deactivated: gone unfilled (or the rest of a partial fill).
    if (!have && !request) return;
    if (!have) return; // already reported
    const role = have.order.role;
    if (role !== 'entry' && role !== 'exit') return;
    if (request && (w.rejectReason === 'EC_PostOnlyWillTakeLiquidity' || status === 'Rejected')) {
      this.#emit({ type: 'rejected', order: request, reason: w.rejectReason === 'EC_PostOnlyWillTakeLiquidity' ? 'post-only order would have taken liquidity (EC_PostOnlyWillTakeLiquidity)' : `rejected by the exchange (${w.rejectReason ?? status})` });
      return;
    }
    // A cancel pyr asked for is reported with pyr's reason (the strategy's, or the expiry), not Bybit's CancelByUser.
    const asked = this.#cancelling.get(id);
    this.#cancelling.delete(id);
    this.#emit({ type: 'cancelled', orderId: id, reason: asked ?? (w.cancelType && w.cancelType !== 'UNKNOWN' ? w.cancelType : `order ${status.toLowerCase()}`) });
  }

  /** pyr is sending a cancel of `id` for `reason`: the order's end is reported with it. */
  cancelling(id: string, reason: string): void {
    if (this.#byId.has(id)) this.#cancelling.set(id, reason);
  }

  /** A cancel pyr sent was answered (the stream's message may come later or not at all). */
  cancelled(id: string, reason: string): void {
    const have = this.#byId.get(id);
    this.#cancelling.delete(id);
    if (!have) return;
    this.#byId.delete(id);
    this.#emit({ type: 'cancelled', orderId: id, reason });
  }

  /**
   * The open orders read over REST: the truth. Ours are adopted; an order the store holds that is no
   * longer open is dropped (its fills, if any, come from the executions); foreign ones are reported.
   */
  reconcile(rows: readonly WireOrder[], positionSide: PositionSide | 'flat'): void {
    const open = new Set(rows.map((r) => r.orderLinkId || r.orderId || ''));
    for (const [id, e] of this.#byId) {
      if (!e.confirmed) continue;
      if (!open.has(id)) {
        this.#byId.delete(id);
        if (e.order.role === 'entry' || e.order.role === 'exit') this.#say('info', `order ${id} is no longer open on the exchange (read over REST)`);
      }
    }
    for (const r of rows) this.onOrder(r, positionSide);
  }

  /** The position went flat: its levels are gone. */
  clearLevels(): void {
    for (const [id, e] of this.#byId) if (e.order.role !== 'entry' && e.order.role !== 'exit') this.#byId.delete(id);
  }
}
