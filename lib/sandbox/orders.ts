/**
 * The sandbox's order records: their types, Bybit's parameter parsing rules, and the wire shape of an
 * order (REST `order/realtime`/`order/history` rows and WS `order` items). The matching logic that moves
 * orders between states lives in engine.ts.
 *
 * Order kinds, by `stopOrderType` (Bybit's names):
 * - `""`: an active order (Market or Limit) placed by the user;
 * - `Stop`: a conditional order placed by the user with `triggerPrice` (createType `CreateByStopOrder`);
 * - `TakeProfit`/`StopLoss`: the position's Full-mode TP/SL (qty "0": the whole position);
 * - `PartialTakeProfit`/`PartialStopLoss`: Partial-mode TP/SL with their own qty;
 * - `TrailingStop`: the position's trailing stop (qty "0": the whole position).
 */
import { randomUUID } from 'node:crypto';
import { D, type Dec, ZERO, dec } from '../core/money.ts';
import type { SandboxInstrument } from './instrument.ts';

export type Side = 'Buy' | 'Sell';
export type Obj = Record<string, unknown>;

/** A business error, answered with HTTP 200 and this retCode. */
export class EngineError extends Error {
  constructor(
    readonly retCode: number,
    readonly retMsg: string,
  ) {
    super(`${retCode} ${retMsg}`);
    this.name = 'EngineError';
  }
}

export type OrderStatus = 'New' | 'Filled' | 'Cancelled' | 'Untriggered' | 'Triggered' | 'Deactivated' | 'Rejected';
export type StopOrderType = '' | 'Stop' | 'TakeProfit' | 'StopLoss' | 'TrailingStop' | 'PartialTakeProfit' | 'PartialStopLoss';

/** Trailing-stop state of a `TrailingStop` order. */
export interface Trail {
  /** The price distance (position/trading-stop `trailingStop`). */
  distance: Dec;
  /** Activation price ("0": active at once). */
  activePrice: Dec;
  active: boolean;
  /** Long: the highest price since activation; short: the lowest. */
  extreme: Dec;
}

export interface Order {
  readonly orderId: string;
  readonly orderLinkId: string;
  readonly side: Side;
  readonly orderType: 'Market' | 'Limit';
  price: Dec;
  qty: Dec;
  readonly timeInForce: string;
  orderStatus: OrderStatus;
  readonly createType: string;
  cancelType: string;
  rejectReason: string;
  cumExecQty: Dec;
  cumExecValue: Dec;
  cumExecFee: Dec;
  closedPnl: Dec;
  readonly stopOrderType: StopOrderType;
  triggerPrice: Dec;
  /** 1: triggers when the price rises to triggerPrice, 2: when it falls to it. */
  triggerDirection: 0 | 1 | 2;
  triggerBy: string;
  takeProfit: Dec;
  stopLoss: Dec;
  tpslMode: string;
  tpTriggerBy: string;
  slTriggerBy: string;
  readonly reduceOnly: boolean;
  readonly closeOnTrigger: boolean;
  /** qty "0" + reduceOnly + closeOnTrigger: closes whatever position there is when it executes. */
  readonly closeAll: boolean;
  readonly lastPriceOnCreated: Dec;
  readonly createdTime: number;
  updatedTime: number;
  /** Trailing stops only. */
  trail?: Trail;
}

/** The position's own stops (created by TP/SL or trading-stop), as opposed to user orders. */
export function isPositionStop(o: Order): boolean {
  return o.stopOrderType !== '' && o.stopOrderType !== 'Stop';
}

export function isOpen(o: Order): boolean {
  return o.orderStatus === 'New' || o.orderStatus === 'Untriggered';
}

/** An order's defaults (an active, unfilled, user order); `over` sets the rest. */
export function makeOrder(over: Partial<Order> & Pick<Order, 'orderId' | 'side' | 'orderType' | 'createdTime' | 'lastPriceOnCreated'>): Order {
  return {
    orderLinkId: '', price: ZERO, qty: ZERO, timeInForce: 'GTC', orderStatus: 'New', createType: 'CreateByUser', cancelType: 'UNKNOWN',
    rejectReason: 'EC_NoError', cumExecQty: ZERO, cumExecValue: ZERO, cumExecFee: ZERO, closedPnl: ZERO, stopOrderType: '',
    triggerPrice: ZERO, triggerDirection: 0, triggerBy: 'UNKNOWN', takeProfit: ZERO, stopLoss: ZERO, tpslMode: '', tpTriggerBy: 'UNKNOWN',
    slTriggerBy: 'UNKNOWN', reduceOnly: false, closeOnTrigger: false, closeAll: false, updatedTime: over.createdTime,
    ...over,
  };
}

/** Fixed-point text, no exponent, at most 10 decimals, trailing zeros trimmed. */
export function fmt(d: Dec): string {
  return d.toDecimalPlaces(10).toFixed();
}

const ONE = new D(1);
const MARKET_BAND = new D('0.05');

/** The protection price Bybit shows on a market order: a ±5 % band around `last`, on the tick. */
export function protectionPrice(side: Side, last: Dec, tickSize: Dec): Dec {
  const band = side === 'Buy' ? last.mul(ONE.plus(MARKET_BAND)) : last.mul(ONE.minus(MARKET_BAND));
  return band.div(tickSize).toDecimalPlaces(0, side === 'Buy' ? D.ROUND_FLOOR : D.ROUND_CEIL).mul(tickSize);
}

/** One order row: REST shape, or with `ws` the stream item (`category`, `closedPnl`, `feeCurrency`). */
export function orderView(o: Order, ws: boolean, category: string, symbol: string): Obj {
  const avg = o.cumExecQty.gt(0) ? fmt(o.cumExecValue.div(o.cumExecQty)) : o.orderType === 'Market' ? '' : '0';
  const leaves = isOpen(o) ? o.qty.minus(o.cumExecQty) : ZERO;
  return {
    ...(ws ? { category } : {}),
    orderId: o.orderId, orderLinkId: o.orderLinkId, blockTradeId: '', symbol, price: fmt(o.price), qty: fmt(o.qty),
    side: o.side, isLeverage: '', positionIdx: 0, orderStatus: o.orderStatus, createType: o.createType, cancelType: o.cancelType,
    rejectReason: o.rejectReason, avgPrice: avg, leavesQty: fmt(leaves), leavesValue: fmt(leaves.mul(o.price)), cumExecQty: fmt(o.cumExecQty),
    cumExecValue: fmt(o.cumExecValue), cumExecFee: fmt(o.cumExecFee), ...(ws ? { closedPnl: fmt(o.closedPnl), feeCurrency: '' } : {}),
    timeInForce: o.timeInForce, orderType: o.orderType, stopOrderType: o.stopOrderType, orderIv: '', marketUnit: '',
    triggerPrice: fmt(o.triggerPrice), takeProfit: fmt(o.takeProfit), stopLoss: fmt(o.stopLoss), tpslMode: o.tpslMode, ocoTriggerType: '',
    tpLimitPrice: '0', slLimitPrice: '0', tpTriggerBy: o.tpTriggerBy, slTriggerBy: o.slTriggerBy, triggerDirection: o.triggerDirection,
    triggerBy: o.triggerBy, lastPriceOnCreated: fmt(o.lastPriceOnCreated), reduceOnly: o.reduceOnly, closeOnTrigger: o.closeOnTrigger,
    placeType: '', smpType: 'None', smpGroup: 0, smpOrderId: '', createdTime: String(o.createdTime), updatedTime: String(o.updatedTime),
  };
}

/** Whether an order belongs to an `orderFilter` of order/realtime, order/history and cancel-all. */
export function inFilter(o: Order, orderFilter: string | undefined): boolean {
  if (orderFilter === undefined) return true;
  if (orderFilter === 'Order') return o.stopOrderType === '';
  return o.stopOrderType !== ''; // StopOrder, tpslOrder
}

export const ORDER_FILTERS = ['Order', 'StopOrder', 'tpslOrder'];

// ---------------------------------------------------------------- requests

/** An order as sent to order/create, already JSON-decoded (values as the client sent them). */
export interface OrderParams {
  readonly side?: unknown;
  readonly orderType?: unknown;
  readonly qty?: unknown;
  readonly price?: unknown;
  readonly timeInForce?: unknown;
  readonly positionIdx?: unknown;
  readonly reduceOnly?: unknown;
  readonly closeOnTrigger?: unknown;
  readonly takeProfit?: unknown;
  readonly stopLoss?: unknown;
  readonly tpslMode?: unknown;
  readonly tpTriggerBy?: unknown;
  readonly slTriggerBy?: unknown;
  readonly tpOrderType?: unknown;
  readonly slOrderType?: unknown;
  readonly orderLinkId?: unknown;
  readonly triggerPrice?: unknown;
  readonly triggerDirection?: unknown;
  readonly triggerBy?: unknown;
}

/** order/amend's body. */
export interface AmendParams {
  readonly orderId?: unknown;
  readonly orderLinkId?: unknown;
  readonly qty?: unknown;
  readonly price?: unknown;
  readonly triggerPrice?: unknown;
  readonly takeProfit?: unknown;
  readonly stopLoss?: unknown;
  readonly tpTriggerBy?: unknown;
  readonly slTriggerBy?: unknown;
  readonly triggerBy?: unknown;
  readonly tpslMode?: unknown;
}

/** position/trading-stop's body. */
export interface TradingStopParams {
  readonly tpslMode?: unknown;
  readonly positionIdx?: unknown;
  readonly takeProfit?: unknown;
  readonly stopLoss?: unknown;
  readonly trailingStop?: unknown;
  readonly activePrice?: unknown;
  readonly tpTriggerBy?: unknown;
  readonly slTriggerBy?: unknown;
  readonly tpSize?: unknown;
  readonly slSize?: unknown;
  readonly tpOrderType?: unknown;
  readonly slOrderType?: unknown;
  readonly tpLimitPrice?: unknown;
  readonly slLimitPrice?: unknown;
}

// ---------------------------------------------------------------- parameter parsing

export function decimal(v: unknown, field: string, allowZero = false): Dec {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^\d+(\.\d+)?$/.test(s)) throw new EngineError(10001, `params error: ${field} invalid`);
  const d = dec(s);
  if (!allowZero && field !== 'qty' && d.isZero()) throw new EngineError(10001, `params error: ${field} invalid`);
  return d;
}

/** A price that may be absent: undefined, "" and "0" all mean none. */
export function optionalPrice(v: unknown, field: string): Dec | undefined {
  if (v === undefined || v === '' || v === '0' || v === 0) return undefined;
  return decimal(v, field);
}

/** A value that may be absent (undefined or ""), "0" included as zero. */
export function optionalDecimal(v: unknown, field: string): Dec | undefined {
  if (v === undefined || v === '') return undefined;
  return decimal(v, field, true);
}

export function bool(v: unknown, field: string): boolean {
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  throw new EngineError(10001, `params error: ${field} invalid`);
}

const TRIGGER_BY = ['LastPrice', 'MarkPrice', 'IndexPrice'];

export function triggerBy(v: unknown, field: string): string {
  if (v === undefined || v === '') return 'LastPrice';
  if (typeof v !== 'string' || !TRIGGER_BY.includes(v)) throw new EngineError(10001, `params error: ${field} invalid`);
  return v;
}

/** `tpOrderType`/`slOrderType`: only Market is served (Full mode allows nothing else on Bybit either). */
export function marketOnly(v: unknown, field: string): void {
  if (v === undefined || v === '' || v === 'Market') return;
  if (v === 'Limit') throw new EngineError(10001, `params error: ${field} Limit (limit TP/SL) is not supported by the sandbox`);
  throw new EngineError(10001, `params error: ${field} invalid`);
}

export function inRange(t: number, start?: number, end?: number): boolean {
  return (start === undefined || t >= start) && (end === undefined || t <= end);
}

/** Stream messages to send after one engine action, in Bybit's order. */
export class Batch {
  readonly orders = new Map<string, Order>();
  readonly executions: Obj[] = [];
  position = false;
  wallet = false;
  empty(): boolean {
    return this.orders.size === 0 && this.executions.length === 0 && !this.position && !this.wallet;
  }
}

// ---------------------------------------------------------------- checks (Bybit's codes)

export function checkQty(ins: SandboxInstrument, qty: Dec, orderType: 'Market' | 'Limit'): void {
  if (qty.lt(ins.minOrderQty)) throw new EngineError(10001, 'The number of contracts exceeds minimum limit allowed');
  if (!qty.mod(ins.qtyStep).isZero()) throw new EngineError(10001, 'params error: qty err');
  const max = orderType === 'Market' ? ins.maxMktOrderQty : ins.maxOrderQty;
  if (qty.gt(max)) {
    throw new EngineError(10001, `The number of contracts exceeds maximum limit allowed: too large, order_qty:${qty.mul(1e8).toFixed(0)} > max_qty:${max.mul(1e8).toFixed(0)}`);
  }
}

export function checkPrice(ins: SandboxInstrument, price: Dec): Dec {
  if (price.lt(ins.minPrice) || price.gt(ins.maxPrice)) throw new EngineError(110003, 'Order price is out of permissible range');
  if (!price.mod(ins.tickSize).isZero()) throw new EngineError(10001, 'params error: price invalid');
  return price;
}

/** A conditional order's trigger must lie ahead of the price in its direction (110092 rising, 110093 falling). */
export function checkTriggerSide(direction: 1 | 2, trigger: Dec, last: Dec): void {
  if (direction === 1 && trigger.lte(last)) {
    throw new EngineError(110092, `expect Rising, but trigger_price[${fmt(trigger)}] <= current[${fmt(last)}]??LastPrice`);
  }
  if (direction === 2 && trigger.gte(last)) {
    throw new EngineError(110093, `expect Falling, but trigger_price[${fmt(trigger)}] >= current[${fmt(last)}]??LastPrice`);
  }
}

export function checkTpSl(ins: SandboxInstrument, side: Side, kind: 'TakeProfit' | 'StopLoss', level: Dec, base: Dec, forPosition = false): void {
  if (!level.mod(ins.tickSize).isZero()) throw new EngineError(10001, `params error: ${kind === 'TakeProfit' ? 'takeProfit' : 'stopLoss'} invalid`);
  const above = (side === 'Buy') === (kind === 'TakeProfit');
  const ok = above ? level.gt(base) : level.lt(base);
  if (!ok) {
    const what = forPosition ? 'position' : 'order';
    throw new EngineError(
      10001,
      `${kind}:${fmt(level)} set for ${side} ${what} should be ${above ? 'higher' : 'lower'} than base_price:${fmt(base)}??LastPrice`,
    );
  }
}

// ---------------------------------------------------------------- matching helpers

/** The level at which `o` executes on a move ending at `z` (undefined: not reached). */
export function levelOnMove(o: Order, z: Dec, rising: boolean, limitFill: 'touch' | 'through'): Dec | undefined {
  if (o.orderStatus === 'Untriggered') {
    if (o.trail && !o.trail.active) return undefined;
    const ok = o.triggerDirection === 1 ? rising && z.gte(o.triggerPrice) : !rising && z.lte(o.triggerPrice);
    return ok ? o.triggerPrice : undefined;
  }
  // A resting limit: a buy fills when the price comes down to it, a sell when it comes up.
  const through = limitFill === 'through';
  const ok = o.side === 'Buy' ? !rising && (through ? z.lt(o.price) : z.lte(o.price)) : rising && (through ? z.gt(o.price) : z.gte(o.price));
  return ok ? o.price : undefined;
}

/** A position stop order (closing side, market, reduce-only, close-on-trigger), Untriggered. */
export function stopOrder(posSide: Side, kind: StopOrderType, level: Dec, qty: Dec, by: string, last: Dec, now: number): Order {
  const tpLike = isTp(kind);
  // Long: TP fires when the price rises to it, SL and trailing stop when it falls to it; the reverse for a short.
  const rises = (posSide === 'Buy') === tpLike;
  const createType = {
    TakeProfit: 'CreateByTakeProfit', StopLoss: 'CreateByStopLoss', PartialTakeProfit: 'CreateByPartialTakeProfit',
    PartialStopLoss: 'CreateByPartialStopLoss', TrailingStop: 'CreateByTrailingStop',
  }[kind as string] ?? 'CreateByUser';
  const partial = kind === 'PartialTakeProfit' || kind === 'PartialStopLoss';
  return makeOrder({
    orderId: randomUUID(), side: posSide === 'Buy' ? 'Sell' : 'Buy', orderType: 'Market', qty, timeInForce: 'IOC', orderStatus: 'Untriggered',
    createType, stopOrderType: kind, triggerPrice: level, triggerDirection: rises ? 1 : 2, triggerBy: by,
    takeProfit: tpLike ? level : ZERO, stopLoss: kind === 'StopLoss' || kind === 'PartialStopLoss' ? level : ZERO,
    tpslMode: partial ? 'Partial' : 'Full', tpTriggerBy: tpLike ? by : 'UNKNOWN', slTriggerBy: tpLike || kind === 'TrailingStop' ? 'UNKNOWN' : by,
    reduceOnly: true, closeOnTrigger: true, lastPriceOnCreated: last, createdTime: now,
  });
}

export function isTp(kind: StopOrderType): boolean {
  return kind === 'TakeProfit' || kind === 'PartialTakeProfit';
}
