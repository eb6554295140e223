/**
 * The sandbox's matching engine and account: one symbol, one-way position mode, a UNIFIED account in the
 * instrument's quote coin (cross margin). No sockets here: callers pass parsed requests in, read views out,
 * and receive the private stream messages (order, execution, position, wallet) through a listener.
 *
 * Rules (Bybit's, simplified where noted in lib/sandbox/README.md):
 * - Market orders fill at once at the current replay price, in one fill, as taker.
 * - Limit orders that cross fill at once at the current price (taker); others rest and fill as maker at
 *   their price when the replay path reaches it (all at once: the sandbox has no order book or volume).
 * - TP/SL are Full-mode, position-wide conditional orders (stopOrderType TakeProfit/StopLoss) triggered by
 *   the last price on the replay path. A trigger inside a candle fills at the trigger price; one jumped
 *   over by the gap between a close and the next open fills at that open.
 * - Fees: taker and maker rates on execValue (qty × price), charged to the wallet at each fill. Closed PnL
 *   is net of the opening fee share and the closing fee, as Bybit reports it.
 */
import { MAKER_FEE, TAKER_FEE } from '../config/params.ts';
import { randomUUID } from 'node:crypto';
import { D, type Dec, ZERO, dec } from '../core/money.ts';
import type { SandboxInstrument } from './instrument.ts';

export type Side = 'Buy' | 'Sell';
export type PrivateTopic = 'order' | 'execution' | 'position' | 'wallet';
type Obj = Record<string, unknown>;

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

/** Where the engine reads the market: the replay clock and last price. */
export interface PriceSource {
  now(): number;
  price(): number;
}

export interface EngineOptions {
  readonly instrument: SandboxInstrument;
  readonly category: string;
  readonly balance: Dec;
  readonly takerFeeRate?: Dec;
  readonly makerFeeRate?: Dec;
  readonly leverage?: Dec;
}

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
  readonly orderLinkId?: unknown;
  readonly triggerPrice?: unknown;
}

type OrderStatus = 'New' | 'Filled' | 'Cancelled' | 'Untriggered' | 'Triggered' | 'Deactivated' | 'Rejected';
type StopOrderType = '' | 'TakeProfit' | 'StopLoss';

interface Order {
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
  readonly triggerBy: string;
  takeProfit: Dec;
  stopLoss: Dec;
  readonly tpslMode: string;
  readonly tpTriggerBy: string;
  readonly slTriggerBy: string;
  readonly reduceOnly: boolean;
  readonly closeOnTrigger: boolean;
  readonly lastPriceOnCreated: Dec;
  readonly createdTime: number;
  updatedTime: number;
}

interface Position {
  side: Side | '';
  size: Dec;
  entryPrice: Dec;
  /** Opening fees of the part still open (its share goes into closed PnL when that part closes). */
  openFee: Dec;
  takeProfit: Dec;
  stopLoss: Dec;
  tpTriggerBy: string;
  slTriggerBy: string;
  tpOrderId?: string;
  slOrderId?: string;
  curRealisedPnl: Dec;
  cumRealisedPnl: Dec;
  createdTime: number;
  updatedTime: number;
  openTime: number;
  seq: number;
}

interface ClosedPnl {
  readonly orderId: string;
  readonly side: Side;
  readonly qty: Dec;
  readonly orderPrice: Dec;
  readonly orderType: string;
  readonly closedSize: Dec;
  readonly cumEntryValue: Dec;
  readonly cumExitValue: Dec;
  readonly openFee: Dec;
  readonly closeFee: Dec;
  readonly closedPnl: Dec;
  readonly leverage: Dec;
  readonly createdTime: number;
  readonly updatedTime: number;
}

/** Stream messages to send after one engine action, in Bybit's order. */
class Batch {
  readonly orders = new Map<string, Order>();
  readonly executions: Obj[] = [];
  position = false;
  wallet = false;
  empty(): boolean {
    return this.orders.size === 0 && this.executions.length === 0 && !this.position && !this.wallet;
  }
}

const ONE = new D(1);
const MARKET_BAND = new D('0.05');
const LINK_ID = /^[A-Za-z0-9_-]{1,36}$/;
const TRIGGER_BY = ['LastPrice', 'MarkPrice', 'IndexPrice'];

/** Fixed-point text, no exponent, at most 10 decimals, trailing zeros trimmed. */
export function fmt(d: Dec): string {
  return d.toDecimalPlaces(10).toFixed();
}

export class MatchingEngine {
  readonly instrument: SandboxInstrument;
  readonly category: string;
  readonly takerFeeRate: Dec;
  readonly makerFeeRate: Dec;
  private leverage: Dec;
  private balance: Dec;
  private cumRealised = ZERO;
  private readonly pos: Position;
  private readonly orders: Order[] = [];
  private readonly byId = new Map<string, Order>();
  private readonly linkIds = new Set<string>();
  private readonly executions: Obj[] = [];
  private readonly closed: ClosedPnl[] = [];
  private seq = 0;
  private readonly listeners: Array<(topic: PrivateTopic, data: Obj[]) => void> = [];

  constructor(
    private readonly market: PriceSource,
    opts: EngineOptions,
  ) {
    this.instrument = opts.instrument;
    this.category = opts.category;
    // Bybit's standard rates, the same defaults as pyr's fill model (lib/config).
    this.takerFeeRate = opts.takerFeeRate ?? new D(TAKER_FEE);
    this.makerFeeRate = opts.makerFeeRate ?? new D(MAKER_FEE);
    this.leverage = opts.leverage ?? new D(10);
    this.balance = opts.balance;
    const t = market.now();
    this.pos = {
      side: '', size: ZERO, entryPrice: ZERO, openFee: ZERO, takeProfit: ZERO, stopLoss: ZERO, tpTriggerBy: 'LastPrice', slTriggerBy: 'LastPrice',
      curRealisedPnl: ZERO, cumRealisedPnl: ZERO, createdTime: t, updatedTime: t, openTime: 0, seq: -1,
    };
  }

  /** Subscribes to the private stream: called once per topic message, in Bybit's order. */
  onMessage(listener: (topic: PrivateTopic, data: Obj[]) => void): void {
    this.listeners.push(listener);
  }

  // ---------------------------------------------------------------- commands

  /** order/create. Returns the acknowledgement; fills and state changes go to the stream. */
  placeOrder(p: OrderParams): { orderId: string; orderLinkId: string } {
    const ins = this.instrument;
    const side = p.side;
    if (side !== 'Buy' && side !== 'Sell') throw new EngineError(10001, 'params error: side invalid');
    const orderType = p.orderType;
    if (orderType !== 'Market' && orderType !== 'Limit') throw new EngineError(10001, 'params error: orderType invalid');
    if (p.positionIdx !== undefined && Number(p.positionIdx) !== 0) throw new EngineError(10001, 'position idx not match position mode');
    if (p.triggerPrice !== undefined && String(p.triggerPrice) !== '' && String(p.triggerPrice) !== '0') {
      throw new EngineError(10001, 'params error: conditional orders (triggerPrice) are not supported by the sandbox');
    }
    const reduceOnly = bool(p.reduceOnly, 'reduceOnly');
    const closeOnTrigger = bool(p.closeOnTrigger, 'closeOnTrigger');
    const orderLinkId = p.orderLinkId === undefined || p.orderLinkId === '' ? '' : String(p.orderLinkId);
    if (orderLinkId && !LINK_ID.test(orderLinkId)) throw new EngineError(10001, 'params error: orderLinkId invalid');
    if (orderLinkId && this.linkIds.has(orderLinkId)) throw new EngineError(110072, 'OrderLinkedID is duplicate');
    const tif = p.timeInForce === undefined ? 'GTC' : String(p.timeInForce);
    if (!['GTC', 'IOC', 'FOK', 'PostOnly'].includes(tif)) throw new EngineError(10001, 'params error: timeInForce invalid');
    const tpslMode = p.tpslMode === undefined || p.tpslMode === '' ? 'Full' : String(p.tpslMode);
    if (tpslMode !== 'Full') throw new EngineError(10001, 'params error: only tpslMode Full is supported by the sandbox');
    const tpTriggerBy = triggerBy(p.tpTriggerBy, 'tpTriggerBy');
    const slTriggerBy = triggerBy(p.slTriggerBy, 'slTriggerBy');

    const last = this.lastPrice();
    let qty = decimal(p.qty, 'qty');
    const closeAll = reduceOnly && closeOnTrigger && qty.isZero();
    if (closeAll) qty = D.min(this.pos.size, orderType === 'Market' ? ins.maxMktOrderQty : ins.maxOrderQty);
    if (!closeAll) {
      if (qty.lt(ins.minOrderQty)) throw new EngineError(10001, 'The number of contracts exceeds minimum limit allowed');
      if (!qty.mod(ins.qtyStep).isZero()) throw new EngineError(10001, 'params error: qty err');
      const max = orderType === 'Market' ? ins.maxMktOrderQty : ins.maxOrderQty;
      if (qty.gt(max)) {
        throw new EngineError(10001, `The number of contracts exceeds maximum limit allowed: too large, order_qty:${qty.mul(1e8).toFixed(0)} > max_qty:${max.mul(1e8).toFixed(0)}`);
      }
    }
    let price: Dec;
    if (orderType === 'Limit') {
      price = decimal(p.price, 'price');
      if (price.lt(ins.minPrice) || price.gt(ins.maxPrice)) throw new EngineError(110003, 'Order price is out of permissible range');
      if (!price.mod(ins.tickSize).isZero()) throw new EngineError(10001, 'params error: price invalid');
    } else {
      // Bybit shows a market order's protection price, a band around the last price.
      const band = side === 'Buy' ? last.mul(ONE.plus(MARKET_BAND)) : last.mul(ONE.minus(MARKET_BAND));
      price = band.div(ins.tickSize).toDecimalPlaces(0, side === 'Buy' ? D.ROUND_FLOOR : D.ROUND_CEIL).mul(ins.tickSize);
    }
    const notionalPrice = orderType === 'Limit' && !this.crosses(side, price, last) ? price : last;

    // Reduce-only: must shrink an opposite position; clipped to its size.
    if (reduceOnly) {
      if (this.pos.side === '' || this.pos.side === side) throw new EngineError(110017, 'Reduce-only rule not satisfied');
      if (qty.gt(this.pos.size)) qty = this.pos.size;
    } else if (qty.mul(notionalPrice).lt(ins.minNotionalValue)) {
      throw new EngineError(110094, `Order does not meet minimum order value ${fmt(ins.minNotionalValue)}${ins.quoteCoin}`);
    }

    const takeProfit = optionalPrice(p.takeProfit, 'takeProfit');
    const stopLoss = optionalPrice(p.stopLoss, 'stopLoss');
    if (reduceOnly && (takeProfit || stopLoss)) throw new EngineError(10001, 'params error: reduce-only orders cannot carry TP/SL');
    const base = orderType === 'Limit' ? price : last;
    if (takeProfit) this.checkTpSl(side, 'TakeProfit', takeProfit, base);
    if (stopLoss) this.checkTpSl(side, 'StopLoss', stopLoss, base);

    // Margin: the part that opens or adds to a position needs initial margin plus its opening fee.
    const opening = this.openingQty(side, qty);
    if (opening.gt(0)) {
      const need = opening.mul(notionalPrice).div(this.leverage).plus(opening.mul(notionalPrice).mul(this.takerFeeRate));
      if (need.gt(this.availableBalance())) throw new EngineError(110007, 'ab not enough for new order');
    }

    const now = this.market.now();
    const o: Order = {
      orderId: randomUUID(), orderLinkId, side, orderType, price, qty, timeInForce: orderType === 'Market' ? 'IOC' : tif,
      orderStatus: 'New', createType: 'CreateByUser', cancelType: 'UNKNOWN', rejectReason: 'EC_NoError',
      cumExecQty: ZERO, cumExecValue: ZERO, cumExecFee: ZERO, closedPnl: ZERO, stopOrderType: '', triggerPrice: ZERO, triggerDirection: 0,
      triggerBy: 'UNKNOWN', takeProfit: takeProfit ?? ZERO, stopLoss: stopLoss ?? ZERO, tpslMode: takeProfit || stopLoss ? 'Full' : '',
      tpTriggerBy: takeProfit ? tpTriggerBy : 'UNKNOWN', slTriggerBy: stopLoss ? slTriggerBy : 'UNKNOWN', reduceOnly, closeOnTrigger,
      lastPriceOnCreated: last, createdTime: now, updatedTime: now,
    };
    this.addOrder(o);
    const b = new Batch();
    b.orders.set(o.orderId, o);
    b.position = true;
    if (orderType === 'Market' || this.crosses(side, price, last)) {
      if (orderType === 'Limit' && tif === 'PostOnly') {
        this.finish(o, 'Cancelled', 'CancelByUser', 'EC_PostOnlyWillTakeLiquidity', now);
      } else {
        this.fill(o, o.qty, last, now, false, b);
      }
    } else if (tif === 'IOC' || tif === 'FOK') {
      this.finish(o, 'Cancelled', 'CancelByUser', 'EC_NoImmediateQtyToFill', now);
    }
    this.flush(b);
    return { orderId: o.orderId, orderLinkId: o.orderLinkId };
  }

  /** order/cancel-all. `orderFilter`: undefined (everything), Order, StopOrder or tpslOrder. */
  cancelAll(orderFilter?: string): Array<{ orderId: string; orderLinkId: string }> {
    if (orderFilter !== undefined && !['Order', 'StopOrder', 'tpslOrder'].includes(orderFilter)) {
      throw new EngineError(10001, 'params error: orderFilter invalid');
    }
    const now = this.market.now();
    const b = new Batch();
    const out: Array<{ orderId: string; orderLinkId: string }> = [];
    for (const o of this.openOrders()) {
      const isTpSl = o.stopOrderType !== '';
      if (orderFilter === 'Order' && isTpSl) continue;
      if ((orderFilter === 'StopOrder' || orderFilter === 'tpslOrder') && !isTpSl) continue;
      if (isTpSl) {
        this.finish(o, 'Deactivated', 'CancelByUser', 'EC_NoError', now);
        if (o.stopOrderType === 'TakeProfit') this.clearTp();
        else this.clearSl();
      } else {
        this.finish(o, 'Cancelled', 'CancelByUser', 'EC_NoError', now);
      }
      b.orders.set(o.orderId, o);
      out.push({ orderId: o.orderId, orderLinkId: o.orderLinkId });
    }
    if (out.length) {
      b.position = true;
      this.pos.updatedTime = now;
    }
    this.flush(b);
    return out;
  }

  /** order/cancel: one open order by orderId (preferred) or orderLinkId; 110001 when there is none. */
  cancelOrder(q: { orderId?: unknown; orderLinkId?: unknown }): { orderId: string; orderLinkId: string } {
    if ((q.orderId === undefined || q.orderId === '') && (q.orderLinkId === undefined || q.orderLinkId === '')) {
      throw new EngineError(10001, 'params error: OrderId or orderLinkId is required');
    }
    const o = q.orderId !== undefined && q.orderId !== ''
      ? this.byId.get(String(q.orderId))
      : this.orders.find((x) => x.orderLinkId === String(q.orderLinkId));
    if (!o || !this.isOpen(o)) throw new EngineError(110001, 'Order does not exist');
    const now = this.market.now();
    const b = new Batch();
    if (o.stopOrderType !== '') {
      this.finish(o, 'Deactivated', 'CancelByUser', 'EC_NoError', now);
      if (o.stopOrderType === 'TakeProfit') this.clearTp();
      else this.clearSl();
    } else {
      this.finish(o, 'Cancelled', 'CancelByUser', 'EC_NoError', now);
    }
    this.pos.updatedTime = now;
    b.orders.set(o.orderId, o);
    b.position = true;
    this.flush(b);
    return { orderId: o.orderId, orderLinkId: o.orderLinkId };
  }

  /** position/trading-stop (Full mode): sets, replaces or ("0") cancels the position's TP and SL. */
  setTradingStop(p: { takeProfit?: unknown; stopLoss?: unknown; tpslMode?: unknown; positionIdx?: unknown; tpTriggerBy?: unknown; slTriggerBy?: unknown; trailingStop?: unknown }): void {
    if (p.tpslMode === undefined || p.positionIdx === undefined) throw new EngineError(10001, 'params error: tpslMode and positionIdx are required');
    if (p.tpslMode !== 'Full') throw new EngineError(10001, 'params error: only tpslMode Full is supported by the sandbox');
    if (Number(p.positionIdx) !== 0) throw new EngineError(10001, 'position idx not match position mode');
    if (p.trailingStop !== undefined && String(p.trailingStop) !== '0' && String(p.trailingStop) !== '') {
      throw new EngineError(10001, 'params error: trailingStop is not supported by the sandbox');
    }
    if (this.pos.side === '') throw new EngineError(10001, 'can not set tp/sl/ts for zero position');
    const side = this.pos.side;
    const last = this.lastPrice();
    const tp = p.takeProfit === undefined ? undefined : decimal(p.takeProfit, 'takeProfit', true);
    const sl = p.stopLoss === undefined ? undefined : decimal(p.stopLoss, 'stopLoss', true);
    const tpChanged = tp !== undefined && !tp.eq(this.pos.takeProfit);
    const slChanged = sl !== undefined && !sl.eq(this.pos.stopLoss);
    if (!tpChanged && !slChanged) throw new EngineError(34040, 'not modified');
    if (tpChanged && tp.gt(0)) this.checkTpSl(side, 'TakeProfit', tp, last, true);
    if (slChanged && sl.gt(0)) this.checkTpSl(side, 'StopLoss', sl, last, true);
    const b = new Batch();
    const now = this.market.now();
    if (tpChanged) this.setPositionStop('TakeProfit', tp, triggerBy(p.tpTriggerBy, 'tpTriggerBy'), now, b);
    if (slChanged) this.setPositionStop('StopLoss', sl, triggerBy(p.slTriggerBy, 'slTriggerBy'), now, b);
    this.pos.updatedTime = now;
    b.position = true;
    this.flush(b);
  }

  /** position/set-leverage (one-way: buy and sell leverage must be equal). */
  setLeverage(buyLeverage: unknown, sellLeverage: unknown): void {
    const buy = decimal(buyLeverage, 'buyLeverage');
    const sell = decimal(sellLeverage, 'sellLeverage');
    if (!buy.eq(sell)) throw new EngineError(10001, 'params error: buyLeverage must equal sellLeverage in one-way mode');
    const ins = this.instrument;
    if (buy.lt(ins.minLeverage) || buy.gt(ins.maxLeverage) || !buy.mod(ins.leverageStep).isZero()) {
      throw new EngineError(10001, `params error: leverage must be between ${fmt(ins.minLeverage)} and ${fmt(ins.maxLeverage)}`);
    }
    if (buy.eq(this.leverage)) throw new EngineError(110043, 'leverage not modified');
    const old = this.leverage;
    this.leverage = buy;
    if (this.availableBalance().lt(0)) {
      this.leverage = old;
      throw new EngineError(110044, 'Available margin is insufficient to change leverage');
    }
    this.pos.updatedTime = this.market.now();
    const b = new Batch();
    b.position = true;
    if (this.pos.size.gt(0)) b.wallet = true;
    this.flush(b);
  }

  /**
   * The replay price moved from `from` to `to`. Conditional (TP/SL) orders and resting limit orders whose
   * price lies on the way are executed in the order the path reaches them.
   */
  onPriceMove(from: { time: number; price: number }, to: { time: number; price: number }, gap: boolean): void {
    const a = dec(String(from.price));
    const z = dec(String(to.price));
    if (a.eq(z)) return;
    const rising = z.gt(a);
    type Hit = { o: Order; level: Dec; frac: Dec };
    const hits: Hit[] = [];
    for (const o of this.openOrders()) {
      let level: Dec | undefined;
      if (o.stopOrderType !== '') {
        const ok = o.triggerDirection === 1 ? rising && z.gte(o.triggerPrice) : !rising && z.lte(o.triggerPrice);
        if (ok) level = o.triggerPrice;
      } else if (o.orderStatus === 'New') {
        const ok = o.side === 'Buy' ? !rising && z.lte(o.price) : rising && z.gte(o.price);
        if (ok) level = o.price;
      }
      if (level === undefined) continue;
      const frac = gap ? ZERO : D.max(ZERO, D.min(1, level.minus(a).div(z.minus(a))));
      hits.push({ o, level, frac });
    }
    if (!hits.length) return;
    hits.sort((x, y) => x.frac.cmp(y.frac) || x.o.createdTime - y.o.createdTime);
    for (const { o, level, frac } of hits) {
      if (!this.isOpen(o)) continue; // cancelled by an earlier hit (the other side of a TP/SL pair)
      const time = from.time + Math.round(frac.mul(to.time - from.time).toNumber());
      const price = gap ? z : level;
      const b = new Batch();
      if (o.stopOrderType !== '') this.trigger(o, price, time, b);
      else this.fillResting(o, price, time, gap, b);
      this.flush(b);
    }
  }

  /** A funding settlement at `time`: the position pays (rate > 0 for longs) or receives size × mark × rate. */
  settleFunding(rate: Dec, time: number, markPrice: number): void {
    const pos = this.pos;
    if (pos.side === '') return;
    const mark = dec(String(markPrice));
    const value = pos.size.mul(mark);
    const fee = value.mul(rate).mul(pos.side === 'Buy' ? 1 : -1);
    this.balance = this.balance.minus(fee);
    this.cumRealised = this.cumRealised.minus(fee);
    pos.curRealisedPnl = pos.curRealisedPnl.minus(fee);
    pos.cumRealisedPnl = pos.cumRealisedPnl.minus(fee);
    pos.updatedTime = time;
    pos.seq = ++this.seq;
    const ins = this.instrument;
    const exec: Obj = {
      category: this.category, symbol: ins.symbol, isLeverage: '', orderId: '', orderLinkId: '', side: pos.side,
      orderPrice: '0', orderQty: '0', leavesQty: '0', createType: '', orderType: 'UNKNOWN', stopOrderType: 'UNKNOWN',
      execFee: fmt(fee), feeCurrency: ins.quoteCoin, execId: randomUUID(), execPrice: fmt(mark), execQty: fmt(pos.size), execPnl: '0',
      execType: 'Funding', execValue: fmt(value), execTime: String(time), isMaker: false, feeRate: fmt(rate), tradeIv: '', markIv: '',
      markPrice: fmt(mark), indexPrice: fmt(mark), underlyingPrice: '', blockTradeId: '', closedSize: '0', extraFees: '', seq: pos.seq, marketUnit: '',
    };
    this.executions.push(exec);
    const b = new Batch();
    b.executions.push(exec);
    b.position = true;
    b.wallet = true;
    this.flush(b);
  }

  // ---------------------------------------------------------------- views

  /** One position row (REST `avgPrice`; WS `entryPrice` and `category`). */
  positionView(ws = false): Obj {
    const pos = this.pos;
    const ins = this.instrument;
    const mark = this.lastPrice();
    const value = pos.size.mul(pos.entryPrice);
    const im = value.div(this.leverage);
    const mm = value.mul(ins.maintenanceMarginRate);
    const open = pos.side !== '';
    const row: Obj = {
      ...(ws ? { category: this.category } : {}),
      positionIdx: 0, riskId: 1, riskLimitValue: '2000000', symbol: ins.symbol, side: pos.side, size: fmt(pos.size),
      [ws ? 'entryPrice' : 'avgPrice']: fmt(pos.entryPrice), breakEvenPrice: open ? fmt(this.breakEven()) : '0',
      positionValue: fmt(value), tradeMode: 0, autoAddMargin: 0, positionStatus: 'Normal', leverage: fmt(this.leverage),
      markPrice: fmt(mark), liqPrice: open ? this.liqPrice() : '0', bustPrice: open ? '' : '0', positionIM: fmt(im), positionMM: fmt(mm),
      positionIMByMp: fmt(pos.size.mul(mark).div(this.leverage)), positionMMByMp: fmt(pos.size.mul(mark).mul(ins.maintenanceMarginRate)),
      positionBalance: fmt(im), tpslMode: 'Full', takeProfit: fmt(pos.takeProfit), stopLoss: fmt(pos.stopLoss), trailingStop: '0',
      sessionAvgPrice: '', delta: '', gamma: '', vega: '', theta: '', unrealisedPnl: fmt(this.unrealised()),
      curRealisedPnl: fmt(pos.curRealisedPnl), cumRealisedPnl: fmt(pos.cumRealisedPnl), adlRankIndicator: open ? 2 : 0, isReduceOnly: false,
      mmrSysUpdatedTime: '', leverageSysUpdatedTime: '', createdTime: String(pos.createdTime), updatedTime: String(pos.updatedTime),
      openTime: open ? pos.openTime : 0, seq: pos.seq,
    };
    return row;
  }

  /** wallet-balance `list[0]` (and the WS wallet item). */
  walletView(coins?: readonly string[]): Obj {
    const q = this.instrument.quoteCoin;
    const upl = this.unrealised();
    const equity = this.balance.plus(upl);
    const posIM = this.positionIM();
    const orderIM = this.orderIM();
    const mm = this.pos.size.mul(this.pos.entryPrice).mul(this.instrument.maintenanceMarginRate);
    const im = posIM.plus(orderIM);
    const available = equity.minus(im);
    const rate = (x: Dec): string => (equity.gt(0) ? x.div(equity).toDecimalPlaces(4).toFixed() : '0');
    const coin: Obj = {
      coin: q, equity: fmt(equity), usdValue: fmt(equity), walletBalance: fmt(this.balance), free: '', locked: '0', spotHedgingQty: '0',
      borrowAmount: '0', availableToBorrow: '', availableToWithdraw: fmt(D.max(ZERO, D.min(available, this.balance))), accruedInterest: '0',
      totalOrderIM: fmt(orderIM), totalPositionIM: fmt(posIM), totalPositionMM: fmt(mm), unrealisedPnl: fmt(upl),
      cumRealisedPnl: fmt(this.cumRealised), bonus: '0', marginCollateral: true, collateralSwitch: true, spotBorrow: '0',
    };
    return {
      accountType: 'UNIFIED', accountLTV: '0', accountIMRate: rate(im), accountMMRate: rate(mm), accountIMRateByMp: rate(im), accountMMRateByMp: rate(mm),
      totalInitialMarginByMp: fmt(im), totalMaintenanceMarginByMp: fmt(mm), totalEquity: fmt(equity), totalWalletBalance: fmt(this.balance),
      totalMarginBalance: fmt(equity), totalAvailableBalance: fmt(available), totalPerpUPL: fmt(upl), totalInitialMargin: fmt(im),
      totalMaintenanceMargin: fmt(mm), coin: coins && !coins.includes(q) ? [] : [coin],
    };
  }

  /** order/realtime rows, newest first. */
  orderViews(q: { orderId?: string; orderLinkId?: string; openOnly?: boolean }, ws = false): Obj[] {
    let list: Order[];
    if (q.orderId !== undefined || q.orderLinkId !== undefined) {
      list = this.orders.filter((o) => (q.orderId === undefined || o.orderId === q.orderId) && (q.orderLinkId === undefined || o.orderLinkId === q.orderLinkId));
    } else {
      list = this.orders.filter((o) => (q.openOnly === false ? !this.isOpen(o) : this.isOpen(o)));
    }
    return list.slice().reverse().map((o) => this.orderView(o, ws));
  }

  /** execution/list rows (REST shape), newest first. */
  executionViews(q: { orderId?: string; orderLinkId?: string; execType?: string; startTime?: number; endTime?: number }): Obj[] {
    return this.executions
      .filter((e) => (q.orderId === undefined || e.orderId === q.orderId) && (q.orderLinkId === undefined || e.orderLinkId === q.orderLinkId))
      .filter((e) => q.execType === undefined || e.execType === q.execType)
      .filter((e) => inRange(Number(e.execTime), q.startTime, q.endTime))
      .reverse()
      .map(({ category: _c, execPnl: _p, ...rest }) => rest);
  }

  /** position/closed-pnl rows, newest first. */
  closedPnlViews(q: { startTime?: number; endTime?: number }): Obj[] {
    const ins = this.instrument;
    return this.closed
      .filter((c) => inRange(c.updatedTime, q.startTime, q.endTime))
      .reverse()
      .map((c) => ({
        symbol: ins.symbol, orderId: c.orderId, side: c.side, qty: fmt(c.qty), orderPrice: fmt(c.orderPrice), orderType: c.orderType,
        execType: 'Trade', closedSize: fmt(c.closedSize), cumEntryValue: fmt(c.cumEntryValue), avgEntryPrice: fmt(c.cumEntryValue.div(c.closedSize)),
        cumExitValue: fmt(c.cumExitValue), avgExitPrice: fmt(c.cumExitValue.div(c.closedSize)), closedPnl: fmt(c.closedPnl),
        openFee: fmt(c.openFee), closeFee: fmt(c.closeFee), fillCount: '1', leverage: fmt(c.leverage),
        createdTime: String(c.createdTime), updatedTime: String(c.updatedTime),
      }));
  }

  /** A plain summary for tests and the CLI. */
  summary(): { balance: Dec; equity: Dec; available: Dec; leverage: Dec; position: { side: Side | ''; size: Dec; entryPrice: Dec; takeProfit: Dec; stopLoss: Dec }; openOrders: number; executions: number } {
    return {
      balance: this.balance,
      equity: this.balance.plus(this.unrealised()),
      available: this.availableBalance(),
      leverage: this.leverage,
      position: { side: this.pos.side, size: this.pos.size, entryPrice: this.pos.entryPrice, takeProfit: this.pos.takeProfit, stopLoss: this.pos.stopLoss },
      openOrders: this.openOrders().length,
      executions: this.executions.length,
    };
  }

  // ---------------------------------------------------------------- internals

  private lastPrice(): Dec {
    return dec(String(this.market.price()));
  }

  private crosses(side: Side, price: Dec, last: Dec): boolean {
    return side === 'Buy' ? price.gte(last) : price.lte(last);
  }

  private isOpen(o: Order): boolean {
    return o.orderStatus === 'New' || o.orderStatus === 'Untriggered';
  }

  private openOrders(): Order[] {
    return this.orders.filter((o) => this.isOpen(o));
  }

  private addOrder(o: Order): void {
    this.orders.push(o);
    this.byId.set(o.orderId, o);
    if (o.orderLinkId) this.linkIds.add(o.orderLinkId);
  }

  private finish(o: Order, status: OrderStatus, cancelType: string, rejectReason: string, now: number): void {
    o.orderStatus = status;
    o.cancelType = cancelType;
    o.rejectReason = rejectReason;
    o.updatedTime = now;
  }

  /** How much of an order on `side` would open or add to a position (the rest reduces the current one). */
  private openingQty(side: Side, qty: Dec): Dec {
    if (this.pos.side === '' || this.pos.side === side) return qty;
    return D.max(ZERO, qty.minus(this.pos.size));
  }

  private unrealised(): Dec {
    const pos = this.pos;
    if (pos.side === '') return ZERO;
    const diff = this.lastPrice().minus(pos.entryPrice).mul(pos.size);
    return pos.side === 'Buy' ? diff : diff.neg();
  }

  private positionIM(): Dec {
    return this.pos.size.mul(this.pos.entryPrice).div(this.leverage);
  }

  /** Margin held for resting limit orders that would open or add to the position. */
  private orderIM(): Dec {
    let sum = ZERO;
    for (const o of this.orders) {
      if (o.orderStatus !== 'New' || o.stopOrderType !== '' || o.reduceOnly) continue;
      const opening = this.openingQty(o.side, o.qty.minus(o.cumExecQty));
      sum = sum.plus(opening.mul(o.price).div(this.leverage));
    }
    return sum;
  }

  private availableBalance(): Dec {
    return this.balance.plus(this.unrealised()).minus(this.positionIM()).minus(this.orderIM());
  }

  private breakEven(): Dec {
    const pos = this.pos;
    const feePerUnit = pos.openFee.div(pos.size);
    const closeFee = this.takerFeeRate;
    // Price where closing (with the taker fee) returns the opening fee: long e' = (e + f) / (1 - r).
    return pos.side === 'Buy'
      ? pos.entryPrice.plus(feePerUnit).div(ONE.minus(closeFee))
      : pos.entryPrice.minus(feePerUnit).div(ONE.plus(closeFee));
  }

  /** Cross-margin estimate: the price where equity falls to maintenance margin ("" when there is none). */
  private liqPrice(): string {
    const pos = this.pos;
    const m = this.instrument.maintenanceMarginRate;
    const other = this.balance; // wallet balance backs the position (cross margin)
    const s = pos.size;
    const e = pos.entryPrice;
    const p = pos.side === 'Buy' ? e.mul(s).minus(other).div(s.mul(ONE.minus(m))) : other.plus(e.mul(s)).div(s.mul(ONE.plus(m)));
    if (p.lte(0)) return '';
    return p.toDecimalPlaces(this.instrument.priceScale).toFixed();
  }

  private checkTpSl(side: Side, kind: 'TakeProfit' | 'StopLoss', level: Dec, base: Dec, forPosition = false): void {
    const ins = this.instrument;
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

  /** Creates, amends or (level 0) deactivates the position's TP or SL conditional order. */
  private setPositionStop(kind: 'TakeProfit' | 'StopLoss', level: Dec, by: string, now: number, b: Batch): void {
    const pos = this.pos;
    const idKey = kind === 'TakeProfit' ? 'tpOrderId' : 'slOrderId';
    const existing = pos[idKey] ? this.byId.get(pos[idKey]) : undefined;
    if (kind === 'TakeProfit') {
      pos.takeProfit = level;
      pos.tpTriggerBy = by;
    } else {
      pos.stopLoss = level;
      pos.slTriggerBy = by;
    }
    if (level.isZero()) {
      if (existing && this.isOpen(existing)) {
        this.finish(existing, 'Deactivated', 'CancelByUser', 'EC_NoError', now);
        b.orders.set(existing.orderId, existing);
      }
      pos[idKey] = undefined;
      return;
    }
    if (existing && this.isOpen(existing)) {
      existing.triggerPrice = level;
      existing.updatedTime = now;
      if (kind === 'TakeProfit') existing.takeProfit = level;
      else existing.stopLoss = level;
      b.orders.set(existing.orderId, existing);
      return;
    }
    const closeSide: Side = pos.side === 'Buy' ? 'Sell' : 'Buy';
    // Long: TP fires when the price rises to it, SL when it falls to it; the reverse for a short.
    const rises = (pos.side === 'Buy') === (kind === 'TakeProfit');
    const o: Order = {
      orderId: randomUUID(), orderLinkId: '', side: closeSide, orderType: 'Market', price: ZERO, qty: ZERO, timeInForce: 'IOC',
      orderStatus: 'Untriggered', createType: kind === 'TakeProfit' ? 'CreateByTakeProfit' : 'CreateByStopLoss', cancelType: 'UNKNOWN',
      rejectReason: 'EC_NoError', cumExecQty: ZERO, cumExecValue: ZERO, cumExecFee: ZERO, closedPnl: ZERO, stopOrderType: kind,
      triggerPrice: level, triggerDirection: rises ? 1 : 2, triggerBy: by, takeProfit: kind === 'TakeProfit' ? level : ZERO,
      stopLoss: kind === 'StopLoss' ? level : ZERO, tpslMode: 'Full', tpTriggerBy: kind === 'TakeProfit' ? by : 'UNKNOWN',
      slTriggerBy: kind === 'StopLoss' ? by : 'UNKNOWN', reduceOnly: true, closeOnTrigger: true, lastPriceOnCreated: this.lastPrice(),
      createdTime: now, updatedTime: now,
    };
    this.addOrder(o);
    pos[idKey] = o.orderId;
    b.orders.set(o.orderId, o);
  }

  private clearTp(): void {
    this.pos.takeProfit = ZERO;
    this.pos.tpOrderId = undefined;
  }

  private clearSl(): void {
    this.pos.stopLoss = ZERO;
    this.pos.slOrderId = undefined;
  }

  /** A TP/SL order fires: it becomes a market order for the whole position, filled at `price`. */
  private trigger(o: Order, price: Dec, time: number, b: Batch): void {
    const pos = this.pos;
    if (pos.side === '' || pos.side === o.side) {
      this.finish(o, 'Deactivated', 'CancelByTpSlTsClear', 'EC_NoError', time);
      b.orders.set(o.orderId, o);
      return;
    }
    o.qty = pos.size;
    o.orderStatus = 'Triggered';
    const band = o.side === 'Buy' ? price.mul(ONE.plus(MARKET_BAND)) : price.mul(ONE.minus(MARKET_BAND));
    o.price = band.div(this.instrument.tickSize).toDecimalPlaces(0, o.side === 'Buy' ? D.ROUND_FLOOR : D.ROUND_CEIL).mul(this.instrument.tickSize);
    b.orders.set(o.orderId, o);
    this.fill(o, o.qty, price, time, false, b);
  }

  /** A resting limit order reached by the path. Reduce-only ones are clipped to the position, or cancelled. */
  private fillResting(o: Order, price: Dec, time: number, gap: boolean, b: Batch): void {
    let qty = o.qty.minus(o.cumExecQty);
    if (o.reduceOnly) {
      if (this.pos.side === '' || this.pos.side === o.side) {
        this.finish(o, 'Cancelled', 'CancelByReduceOnly', 'EC_NoError', time);
        b.orders.set(o.orderId, o);
        b.position = true;
        return;
      }
      qty = D.min(qty, this.pos.size);
    }
    b.orders.set(o.orderId, o);
    this.fill(o, qty, price, time, !gap, b);
  }

  /** Executes `qty` of order `o` at `price`: position, fees, realised PnL, closed PnL, stream messages. */
  private fill(o: Order, qty: Dec, price: Dec, time: number, isMaker: boolean, b: Batch): void {
    const pos = this.pos;
    const rate = isMaker ? this.makerFeeRate : this.takerFeeRate;
    const value = qty.mul(price);
    const fee = value.mul(rate);
    const closing = pos.side !== '' && pos.side !== o.side ? D.min(qty, pos.size) : ZERO;
    const opening = qty.minus(closing);
    let execPnl = ZERO;

    if (closing.gt(0)) {
      const dir = pos.side === 'Buy' ? 1 : -1;
      const gross = price.minus(pos.entryPrice).mul(closing).mul(dir);
      const openFeeShare = pos.openFee.mul(closing).div(pos.size);
      const closeFee = fee.mul(closing).div(qty);
      const net = gross.minus(closeFee);
      execPnl = gross;
      this.balance = this.balance.plus(net);
      this.cumRealised = this.cumRealised.plus(net);
      pos.curRealisedPnl = pos.curRealisedPnl.plus(net);
      pos.cumRealisedPnl = pos.cumRealisedPnl.plus(net);
      const closedPnl = gross.minus(openFeeShare).minus(closeFee);
      o.closedPnl = o.closedPnl.plus(closedPnl);
      this.closed.push({
        orderId: o.orderId, side: o.side, qty: o.qty, orderPrice: o.price, orderType: o.orderType, closedSize: closing,
        cumEntryValue: pos.entryPrice.mul(closing), cumExitValue: price.mul(closing), openFee: openFeeShare, closeFee, closedPnl,
        leverage: this.leverage, createdTime: o.createdTime, updatedTime: time,
      });
      pos.size = pos.size.minus(closing);
      pos.openFee = pos.openFee.minus(openFeeShare);
      if (pos.size.isZero()) this.flatten(time, b, o);
    }
    if (opening.gt(0)) {
      const openFee = fee.mul(opening).div(qty);
      if (pos.side === '') {
        pos.side = o.side;
        pos.entryPrice = price;
        pos.size = opening;
        pos.curRealisedPnl = ZERO;
        pos.openTime = time;
        pos.createdTime = time;
      } else {
        pos.entryPrice = pos.entryPrice.mul(pos.size).plus(price.mul(opening)).div(pos.size.plus(opening));
        pos.size = pos.size.plus(opening);
      }
      pos.openFee = pos.openFee.plus(openFee);
      this.balance = this.balance.minus(openFee);
      this.cumRealised = this.cumRealised.minus(openFee);
      pos.curRealisedPnl = pos.curRealisedPnl.minus(openFee);
      pos.cumRealisedPnl = pos.cumRealisedPnl.minus(openFee);
      // TP/SL carried by an order that opens or adds: they become the position's (Full mode).
      if (o.stopOrderType === '' && pos.side === o.side) {
        if (o.takeProfit.gt(0)) this.setPositionStop('TakeProfit', o.takeProfit, o.tpTriggerBy, time, b);
        if (o.stopLoss.gt(0)) this.setPositionStop('StopLoss', o.stopLoss, o.slTriggerBy, time, b);
      }
    }

    o.cumExecQty = o.cumExecQty.plus(qty);
    o.cumExecValue = o.cumExecValue.plus(value);
    o.cumExecFee = o.cumExecFee.plus(fee);
    if (o.cumExecQty.gte(o.qty)) o.orderStatus = 'Filled';
    o.updatedTime = time;
    pos.updatedTime = time;
    pos.seq = ++this.seq;

    const ins = this.instrument;
    const exec: Obj = {
      category: this.category, symbol: ins.symbol, isLeverage: '', orderId: o.orderId, orderLinkId: o.orderLinkId, side: o.side,
      orderPrice: fmt(o.price), orderQty: fmt(o.qty), leavesQty: fmt(o.qty.minus(o.cumExecQty)), createType: o.createType,
      orderType: o.orderType, stopOrderType: o.stopOrderType || 'UNKNOWN', execFee: fmt(fee), feeCurrency: '', execId: randomUUID(),
      execPrice: fmt(price), execQty: fmt(qty), execPnl: fmt(execPnl), execType: 'Trade', execValue: fmt(value), execTime: String(time),
      isMaker, feeRate: fmt(rate), tradeIv: '', markIv: '', markPrice: fmt(price), indexPrice: fmt(price),
      underlyingPrice: '', blockTradeId: '', closedSize: fmt(closing), extraFees: '', seq: pos.seq, marketUnit: '',
    };
    this.executions.push(exec);
    b.orders.set(o.orderId, o);
    b.executions.push(exec);
    b.position = true;
    b.wallet = true;
  }

  /** The position is closed: TP/SL orders are deactivated, resting reduce-only orders cancelled. */
  private flatten(time: number, b: Batch, filling: Order): void {
    const pos = this.pos;
    pos.side = '';
    pos.size = ZERO;
    pos.entryPrice = ZERO;
    pos.openFee = ZERO;
    pos.openTime = 0;
    this.clearTp();
    this.clearSl();
    for (const o of this.openOrders()) {
      if (o === filling) continue;
      if (o.stopOrderType !== '' && o.orderStatus === 'Untriggered') {
        this.finish(o, 'Deactivated', 'CancelByTpSlTsClear', 'EC_NoError', time);
        b.orders.set(o.orderId, o);
      } else if (o.reduceOnly && o.orderStatus === 'New') {
        this.finish(o, 'Cancelled', 'CancelByReduceOnly', 'EC_NoError', time);
        b.orders.set(o.orderId, o);
      }
    }
  }

  private orderView(o: Order, ws: boolean): Obj {
    const avg = o.cumExecQty.gt(0) ? fmt(o.cumExecValue.div(o.cumExecQty)) : o.orderType === 'Market' ? '' : '0';
    const leaves = this.isOpen(o) ? o.qty.minus(o.cumExecQty) : ZERO;
    return {
      ...(ws ? { category: this.category } : {}),
      orderId: o.orderId, orderLinkId: o.orderLinkId, blockTradeId: '', symbol: this.instrument.symbol, price: fmt(o.price), qty: fmt(o.qty),
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

  private flush(b: Batch): void {
    if (b.empty()) return;
    const send = (topic: PrivateTopic, data: Obj[]): void => {
      for (const l of this.listeners) l(topic, data);
    };
    if (b.orders.size) send('order', [...b.orders.values()].map((o) => this.orderView(o, true)));
    if (b.executions.length) send('execution', b.executions);
    if (b.position) send('position', [this.positionView(true)]);
    if (b.wallet) send('wallet', [this.walletView()]);
  }
}

// ---------------------------------------------------------------- parameter parsing

function decimal(v: unknown, field: string, allowZero = false): Dec {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^\d+(\.\d+)?$/.test(s)) throw new EngineError(10001, `params error: ${field} invalid`);
  const d = dec(s);
  if (!allowZero && field !== 'qty' && d.isZero()) throw new EngineError(10001, `params error: ${field} invalid`);
  return d;
}

function optionalPrice(v: unknown, field: string): Dec | undefined {
  if (v === undefined || v === '' || v === '0') return undefined;
  return decimal(v, field);
}

function bool(v: unknown, field: string): boolean {
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  throw new EngineError(10001, `params error: ${field} invalid`);
}

function triggerBy(v: unknown, field: string): string {
  if (v === undefined || v === '') return 'LastPrice';
  if (typeof v !== 'string' || !TRIGGER_BY.includes(v)) throw new EngineError(10001, `params error: ${field} invalid`);
  return v;
}

function inRange(t: number, start?: number, end?: number): boolean {
  return (start === undefined || t >= start) && (end === undefined || t <= end);
}
