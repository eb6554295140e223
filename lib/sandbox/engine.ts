/**
 * The sandbox's matching engine and account: one symbol, one-way position mode, a UNIFIED account in the
 * instrument's quote coin (cross margin). No sockets here: callers pass parsed requests in, read views out,
 * and receive the private stream messages (order, execution, position, wallet) through a listener.
 *
 * Rules (Bybit's, simplified where noted in lib/sandbox/README.md):
 * - Market orders fill at once at the current replay price, in one fill, as taker.
 * - Limit orders that cross fill at once at the current price (taker); a PostOnly one is cancelled instead
 *   (`EC_PostOnlyWillTakeLiquidity`). Others rest and fill whole, as maker, when the replay path reaches
 *   their price (`limitFill` 'touch', the default) or trades beyond it ('through'): at the limit inside a
 *   candle, at the better open when a gap jumps it.
 * - Conditional orders (`triggerPrice`, `triggerDirection`) wait `Untriggered` and fire when the path
 *   reaches the trigger: at the trigger inside a candle, at the open when a gap jumps it. A Market one then
 *   fills as taker; a Limit one becomes an active limit order.
 * - TP/SL are position conditional orders: Full mode (stopOrderType TakeProfit/StopLoss, the whole
 *   position) or Partial mode (PartialTakeProfit/PartialStopLoss with their own qty); a trailing stop
 *   (TrailingStop) follows the best price since its activation at a fixed distance. All fire at market.
 * - Several levels on one move execute in the order the path reaches them; an order created by a fill on
 *   that move (the TP/SL of an entry) can be reached by the rest of the move.
 * - Fees: taker and maker rates on execValue (qty × price), charged to the wallet at each fill. Closed PnL
 *   is net of the opening fee share and the closing fee, as Bybit reports it.
 */
import { MAKER_FEE, TAKER_FEE } from '../config/params.ts';
import { randomUUID } from 'node:crypto';
import { D, type Dec, ZERO, dec } from '../core/money.ts';
import { type ClosedPnl, type Position, breakEvenPrice, closedPnlRow, liqPriceEstimate } from './account.ts';
import type { SandboxInstrument } from './instrument.ts';
import {
  type AmendParams, Batch, EngineError, ORDER_FILTERS, type Obj, type Order, type OrderParams, type Side, type TradingStopParams, bool, checkPrice,
  checkQty, checkTpSl, checkTriggerSide, decimal, fmt, inFilter, inRange, isOpen, isPositionStop, isTp, levelOnMove, makeOrder, marketOnly,
  optionalDecimal, optionalPrice, orderView, protectionPrice, stopOrder, triggerBy,
} from './orders.ts';

export { EngineError, fmt, type Side, type OrderParams, type AmendParams, type TradingStopParams } from './orders.ts';
export type PrivateTopic = 'order' | 'execution' | 'position' | 'wallet';

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
  /** When a resting limit fills: 'touch' (the path reaches its price, default) or 'through' (trades beyond it). */
  readonly limitFill?: 'touch' | 'through';
}

const LINK_ID = /^[A-Za-z0-9_-]{1,36}$/;
/** Bybit's limit of Partial-mode TP/SL orders per position (110061 beyond it). */
const MAX_PARTIAL = 20;
const UNCHANGED = 'The order remains unchanged as the parameters entered match the existing ones.';

export class MatchingEngine {
  readonly instrument: SandboxInstrument;
  readonly category: string;
  readonly takerFeeRate: Dec;
  readonly makerFeeRate: Dec;
  readonly limitFill: 'touch' | 'through';
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
    this.limitFill = opts.limitFill ?? 'touch';
    this.leverage = opts.leverage ?? new D(10);
    this.balance = opts.balance;
    const t = market.now();
    this.pos = {
      side: '', size: ZERO, entryPrice: ZERO, openFee: ZERO, takeProfit: ZERO, stopLoss: ZERO, trailingStop: ZERO, activePrice: ZERO,
      tpTriggerBy: 'LastPrice', slTriggerBy: 'LastPrice', curRealisedPnl: ZERO, cumRealisedPnl: ZERO, createdTime: t, updatedTime: t, openTime: 0, seq: -1,
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
    const reduceOnly = bool(p.reduceOnly, 'reduceOnly');
    const closeOnTrigger = bool(p.closeOnTrigger, 'closeOnTrigger');
    const orderLinkId = p.orderLinkId === undefined || p.orderLinkId === '' ? '' : String(p.orderLinkId);
    if (orderLinkId && !LINK_ID.test(orderLinkId)) throw new EngineError(10001, 'params error: orderLinkId invalid');
    if (orderLinkId && this.linkIds.has(orderLinkId)) throw new EngineError(110072, 'OrderLinkedID is duplicate');
    const tif = p.timeInForce === undefined || p.timeInForce === '' ? 'GTC' : String(p.timeInForce);
    if (!['GTC', 'IOC', 'FOK', 'PostOnly'].includes(tif)) throw new EngineError(10001, 'params error: timeInForce invalid');
    const tpTriggerBy = triggerBy(p.tpTriggerBy, 'tpTriggerBy');
    const slTriggerBy = triggerBy(p.slTriggerBy, 'slTriggerBy');
    marketOnly(p.tpOrderType, 'tpOrderType');
    marketOnly(p.slOrderType, 'slOrderType');

    const last = this.lastPrice();
    // A conditional order: triggerPrice (with its direction) makes it wait Untriggered.
    const trigger = optionalPrice(p.triggerPrice, 'triggerPrice');
    let direction: 1 | 2 | 0 = 0;
    if (trigger) {
      if (!trigger.mod(ins.tickSize).isZero()) throw new EngineError(10001, 'params error: triggerPrice invalid');
      const d = Number(p.triggerDirection);
      if (d !== 1 && d !== 2) throw new EngineError(10001, 'params error: triggerDirection invalid');
      direction = d;
      checkTriggerSide(d, trigger, last);
    }
    const condTriggerBy = trigger ? triggerBy(p.triggerBy, 'triggerBy') : 'UNKNOWN';

    let qty = decimal(p.qty, 'qty');
    const closeAll = reduceOnly && closeOnTrigger && qty.isZero();
    if (closeAll) qty = D.min(this.pos.size, orderType === 'Market' ? ins.maxMktOrderQty : ins.maxOrderQty);
    if (!closeAll) checkQty(this.instrument, qty, orderType);
    let price: Dec;
    if (orderType === 'Limit') {
      price = checkPrice(this.instrument, decimal(p.price, 'price'));
    } else {
      // Bybit shows a market order's protection price, a band around the last (or trigger) price.
      price = protectionPrice(side, trigger ?? last, ins.tickSize);
    }
    // The price the order would trade at: its limit when it rests, else the market (or the trigger).
    const notionalPrice = orderType === 'Limit' && (trigger || !this.crosses(side, price, last)) ? price : (trigger ?? last);

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
    let tpslMode = '';
    if (takeProfit || stopLoss) {
      tpslMode = p.tpslMode === undefined || p.tpslMode === '' ? 'Full' : String(p.tpslMode);
      if (tpslMode !== 'Full' && tpslMode !== 'Partial') throw new EngineError(10001, 'params error: tpslMode invalid');
    }
    const base = orderType === 'Limit' ? price : (trigger ?? last);
    if (takeProfit) checkTpSl(this.instrument, side, 'TakeProfit', takeProfit, base);
    if (stopLoss) checkTpSl(this.instrument, side, 'StopLoss', stopLoss, base);

    // Margin: the part that opens or adds to a position needs initial margin plus its opening fee. A
    // conditional order holds none until it triggers (Bybit's rule); it is checked then.
    if (!trigger) this.checkMargin(side, qty, notionalPrice);

    const now = this.market.now();
    const o = makeOrder({
      orderId: randomUUID(), orderLinkId, side, orderType, price, qty, timeInForce: orderType === 'Market' ? 'IOC' : tif,
      orderStatus: trigger ? 'Untriggered' : 'New', createType: trigger ? 'CreateByStopOrder' : 'CreateByUser', stopOrderType: trigger ? 'Stop' : '',
      triggerPrice: trigger ?? ZERO, triggerDirection: direction, triggerBy: condTriggerBy, takeProfit: takeProfit ?? ZERO, stopLoss: stopLoss ?? ZERO,
      tpslMode, tpTriggerBy: takeProfit ? tpTriggerBy : 'UNKNOWN', slTriggerBy: stopLoss ? slTriggerBy : 'UNKNOWN', reduceOnly, closeOnTrigger, closeAll,
      lastPriceOnCreated: last, createdTime: now,
    });
    this.addOrder(o);
    const b = new Batch();
    b.orders.set(o.orderId, o);
    b.position = true;
    if (!trigger) this.execute(o, last, now, b);
    this.flush(b);
    return { orderId: o.orderId, orderLinkId: o.orderLinkId };
  }

  /** order/amend: price, qty, triggerPrice, takeProfit, stopLoss of an open order (by orderId, else orderLinkId). */
  amendOrder(p: AmendParams): { orderId: string; orderLinkId: string } {
    const o = this.findOpen(p);
    const ins = this.instrument;
    const last = this.lastPrice();
    const posStop = isPositionStop(o);
    const price = p.price === undefined || p.price === '' ? undefined : checkPrice(this.instrument, decimal(p.price, 'price'));
    if (price && o.orderType !== 'Limit') throw new EngineError(10001, 'params error: price can only be amended on a limit order');
    const qty = p.qty === undefined || p.qty === '' ? undefined : decimal(p.qty, 'qty');
    if (qty) {
      if (posStop && o.stopOrderType !== 'PartialTakeProfit' && o.stopOrderType !== 'PartialStopLoss') {
        throw new EngineError(10001, 'params error: the qty of a Full-mode TP/SL or trailing stop follows the position');
      }
      checkQty(this.instrument, qty, o.orderType);
      if (qty.lte(o.cumExecQty)) throw new EngineError(10001, 'The modified order quantity must be equal to or greater than the filled quantity.');
    }
    const trigger = p.triggerPrice === undefined || p.triggerPrice === '' ? undefined : decimal(p.triggerPrice, 'triggerPrice');
    if (trigger) {
      if (o.orderStatus !== 'Untriggered' || o.stopOrderType === 'TrailingStop') {
        throw new EngineError(10001, 'params error: triggerPrice can only be amended on an untriggered conditional or TP/SL order');
      }
      if (!trigger.mod(ins.tickSize).isZero()) throw new EngineError(10001, 'params error: triggerPrice invalid');
    }
    const tp = optionalDecimal(p.takeProfit, 'takeProfit');
    const sl = optionalDecimal(p.stopLoss, 'stopLoss');
    if ((tp || sl) && posStop) throw new EngineError(10001, 'params error: amend the level of a TP/SL order with triggerPrice');
    if ((tp?.gt(0) || sl?.gt(0)) && o.reduceOnly) throw new EngineError(10001, 'params error: reduce-only orders cannot carry TP/SL');

    const changed = {
      price: price !== undefined && !price.eq(o.price),
      qty: qty !== undefined && !qty.eq(o.qty),
      trigger: trigger !== undefined && !trigger.eq(o.triggerPrice),
      tp: tp !== undefined && !tp.eq(o.takeProfit),
      sl: sl !== undefined && !sl.eq(o.stopLoss),
    };
    if (!Object.values(changed).some(Boolean)) throw new EngineError(10001, UNCHANGED);

    const newPrice = price ?? o.price;
    const newQty = qty ?? o.qty;
    const newTrigger = trigger ?? o.triggerPrice;
    if (changed.trigger) {
      if (o.stopOrderType === 'Stop') checkTriggerSide(o.triggerDirection as 1 | 2, newTrigger, last);
      else checkTpSl(this.instrument, this.pos.side as Side, isTp(o.stopOrderType) ? 'TakeProfit' : 'StopLoss', newTrigger, last, true);
    }
    const base = o.orderType === 'Limit' ? newPrice : o.stopOrderType === 'Stop' ? newTrigger : last;
    if (changed.tp && tp!.gt(0)) checkTpSl(this.instrument, o.side, 'TakeProfit', tp!, base);
    if (changed.sl && sl!.gt(0)) checkTpSl(this.instrument, o.side, 'StopLoss', sl!, base);
    if ((changed.price || changed.qty) && o.orderStatus === 'New' && !o.reduceOnly && !posStop) {
      const crossing = this.crosses(o.side, newPrice, last);
      if (!(crossing && o.timeInForce === 'PostOnly')) this.checkMargin(o.side, newQty, crossing ? last : newPrice, o);
    }

    const now = this.market.now();
    o.price = newPrice;
    o.qty = newQty;
    if (changed.trigger) {
      o.triggerPrice = newTrigger;
      if (o.stopOrderType === 'Stop' && o.orderType === 'Market') o.price = protectionPrice(o.side, newTrigger, ins.tickSize);
      if (o.stopOrderType === 'TakeProfit') o.takeProfit = this.pos.takeProfit = newTrigger;
      if (o.stopOrderType === 'StopLoss') o.stopLoss = this.pos.stopLoss = newTrigger;
      if (o.stopOrderType === 'PartialTakeProfit') o.takeProfit = newTrigger;
      if (o.stopOrderType === 'PartialStopLoss') o.stopLoss = newTrigger;
    }
    if (changed.tp) {
      o.takeProfit = tp!;
      o.tpTriggerBy = tp!.gt(0) ? triggerBy(p.tpTriggerBy, 'tpTriggerBy') : 'UNKNOWN';
    }
    if (changed.sl) {
      o.stopLoss = sl!;
      o.slTriggerBy = sl!.gt(0) ? triggerBy(p.slTriggerBy, 'slTriggerBy') : 'UNKNOWN';
    }
    if (!posStop) o.tpslMode = o.takeProfit.gt(0) || o.stopLoss.gt(0) ? o.tpslMode || 'Full' : '';
    o.updatedTime = now;
    this.pos.updatedTime = now;
    const b = new Batch();
    b.orders.set(o.orderId, o);
    b.position = true;
    // A resting limit moved across the market trades at once (or, PostOnly, is cancelled).
    if (o.orderStatus === 'New' && changed.price && this.crosses(o.side, o.price, last)) this.execute(o, last, now, b);
    this.flush(b);
    return { orderId: o.orderId, orderLinkId: o.orderLinkId };
  }

  /** order/cancel-all. `orderFilter`: undefined (everything), Order, StopOrder or tpslOrder. */
  cancelAll(orderFilter?: string): Array<{ orderId: string; orderLinkId: string }> {
    if (orderFilter !== undefined && !ORDER_FILTERS.includes(orderFilter)) throw new EngineError(10001, 'params error: orderFilter invalid');
    const now = this.market.now();
    const b = new Batch();
    const out: Array<{ orderId: string; orderLinkId: string }> = [];
    for (const o of this.openOrders()) {
      if (!inFilter(o, orderFilter)) continue;
      this.cancel(o, now, b);
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
    const o = this.findOpen(q);
    const now = this.market.now();
    const b = new Batch();
    this.cancel(o, now, b);
    this.pos.updatedTime = now;
    b.position = true;
    this.flush(b);
    return { orderId: o.orderId, orderLinkId: o.orderLinkId };
  }

  /**
   * position/trading-stop. Full mode sets, replaces or ("0") cancels the position's TP and SL; Partial mode
   * adds PartialTakeProfit/PartialStopLoss orders of `tpSize`/`slSize`; `trailingStop` (a price distance,
   * "0" cancels) with an optional `activePrice` sets the trailing stop in either mode.
   */
  setTradingStop(p: TradingStopParams): void {
    if (p.tpslMode === undefined || p.positionIdx === undefined) throw new EngineError(10001, 'params error: tpslMode and positionIdx are required');
    const mode = p.tpslMode;
    if (mode !== 'Full' && mode !== 'Partial') throw new EngineError(10001, 'params error: tpslMode invalid');
    if (Number(p.positionIdx) !== 0) throw new EngineError(10001, 'position idx not match position mode');
    marketOnly(p.tpOrderType, 'tpOrderType');
    marketOnly(p.slOrderType, 'slOrderType');
    if (optionalPrice(p.tpLimitPrice, 'tpLimitPrice') || optionalPrice(p.slLimitPrice, 'slLimitPrice')) {
      throw new EngineError(10001, 'params error: limit TP/SL (tpLimitPrice/slLimitPrice) is not supported by the sandbox');
    }
    const pos = this.pos;
    if (pos.side === '') throw new EngineError(10001, 'can not set tp/sl/ts for zero position');
    const side = pos.side;
    const ins = this.instrument;
    const last = this.lastPrice();
    const tp = optionalDecimal(p.takeProfit, 'takeProfit');
    const sl = optionalDecimal(p.stopLoss, 'stopLoss');
    const active = optionalDecimal(p.activePrice, 'activePrice');
    // A new activePrice alone re-arms the current trailing distance.
    const ts = optionalDecimal(p.trailingStop, 'trailingStop') ?? (active !== undefined && pos.trailingStop.gt(0) ? pos.trailingStop : undefined);

    // The trailing stop (either mode): distance on the tick; activation beyond the price in the position's favour.
    const tsChanged = ts !== undefined && (!ts.eq(pos.trailingStop) || (ts.gt(0) && active !== undefined && !active.eq(pos.activePrice)));
    if (tsChanged && ts.gt(0)) {
      if (!ts.mod(ins.tickSize).isZero()) throw new EngineError(10001, 'params error: trailingStop invalid');
      if (side === 'Buy' ? ts.gte(last) : false) throw new EngineError(10001, `params error: trailingStop:${fmt(ts)} must be below the price ${fmt(last)}`);
      if (active?.gt(0)) {
        if (!active.mod(ins.tickSize).isZero()) throw new EngineError(10001, 'params error: activePrice invalid');
        const ok = side === 'Buy' ? active.gt(last) : active.lt(last);
        if (!ok) {
          throw new EngineError(10001, `ActivePrice:${fmt(active)} set for ${side} position should be ${side === 'Buy' ? 'higher' : 'lower'} than base_price:${fmt(last)}??LastPrice`);
        }
      }
    }
    if (active !== undefined && active.gt(0) && ts === undefined && pos.trailingStop.isZero()) {
      throw new EngineError(10001, 'params error: activePrice needs a trailingStop');
    }

    const b = new Batch();
    const now = this.market.now();
    if (mode === 'Full') {
      const tpChanged = tp !== undefined && !tp.eq(pos.takeProfit);
      const slChanged = sl !== undefined && !sl.eq(pos.stopLoss);
      if (!tpChanged && !slChanged && !tsChanged) throw new EngineError(34040, 'not modified');
      if (tpChanged && tp.gt(0)) checkTpSl(this.instrument, side, 'TakeProfit', tp, last, true);
      if (slChanged && sl.gt(0)) checkTpSl(this.instrument, side, 'StopLoss', sl, last, true);
      if (tpChanged) this.setPositionStop('TakeProfit', tp, triggerBy(p.tpTriggerBy, 'tpTriggerBy'), now, b);
      if (slChanged) this.setPositionStop('StopLoss', sl, triggerBy(p.slTriggerBy, 'slTriggerBy'), now, b);
    } else {
      const tpSize = optionalPrice(p.tpSize, 'tpSize');
      const slSize = optionalPrice(p.slSize, 'slSize');
      if (tp?.isZero() || sl?.isZero()) throw new EngineError(10001, 'params error: a Partial TP/SL is not cancelled with "0": cancel its order');
      if (tp && !tpSize) throw new EngineError(10001, 'params error: tpSize is required in Partial mode');
      if (sl && !slSize) throw new EngineError(10001, 'params error: slSize is required in Partial mode');
      if (tp && sl && !tpSize!.eq(slSize!)) throw new EngineError(10001, 'params error: tpSize and slSize must be equal');
      if (!tp && !sl && !tsChanged) throw new EngineError(34040, 'not modified');
      if (tp) checkTpSl(this.instrument, side, 'TakeProfit', tp, last, true);
      if (sl) checkTpSl(this.instrument, side, 'StopLoss', sl, last, true);
      for (const [kind, level, size] of [['PartialTakeProfit', tp, tpSize], ['PartialStopLoss', sl, slSize]] as const) {
        if (!level || !size) continue;
        checkQty(this.instrument, size, 'Market');
        const same = this.openOrders().filter((o) => o.stopOrderType === kind);
        if (same.length >= MAX_PARTIAL) throw new EngineError(110061, 'Not allowed to have more than 20 TP/SLs under Partial tpSlMode');
        const booked = same.reduce((s, o) => s.plus(o.qty), ZERO);
        if (booked.plus(size).gt(pos.size)) throw new EngineError(110058, 'Insufficient number of remaining position size to set take profit and stop loss');
      }
      if (tp) this.addPartialStop('PartialTakeProfit', tp, tpSize!, triggerBy(p.tpTriggerBy, 'tpTriggerBy'), now, b);
      if (sl) this.addPartialStop('PartialStopLoss', sl, slSize!, triggerBy(p.slTriggerBy, 'slTriggerBy'), now, b);
    }
    if (tsChanged) this.setTrailingStop(ts, active ?? ZERO, now, b);
    pos.updatedTime = now;
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
   * The replay price moved from `from` to `to` (one straight segment of the path, or with `gap` the jump
   * from a close to the next open). Conditional orders and resting limits whose level lies on the way are
   * executed in the order the path reaches them; an order created by one of those executions (an entry's
   * TP/SL) is checked against the rest of the segment. Trailing stops then follow the new price.
   */
  onPriceMove(from: { time: number; price: number }, to: { time: number; price: number }, gap: boolean): void {
    const a = dec(String(from.price));
    const z = dec(String(to.price));
    if (a.eq(z)) return;
    const rising = z.gt(a);
    let f0 = ZERO;
    for (let guard = 0; guard < 10_000; guard++) {
      let best: { o: Order; level: Dec; frac: Dec } | undefined;
      for (const o of this.openOrders()) {
        const level = levelOnMove(o, z, rising, this.limitFill);
        if (level === undefined) continue;
        const frac = gap ? ZERO : D.max(ZERO, D.min(1, level.minus(a).div(z.minus(a))));
        if (frac.lt(f0)) continue;
        if (!best || frac.lt(best.frac)) best = { o, level, frac };
      }
      if (!best) break;
      const { o, level, frac } = best;
      f0 = frac;
      // Inside a segment at the interpolated time; after a gap at the new open's time.
      const time = gap ? to.time : from.time + Math.round(frac.mul(to.time - from.time).toNumber());
      // At the level inside the segment; at the new open after a gap; at the segment's start if the level
      // was already behind the price when the segment began (a stop created on the wrong side of it).
      const passed = (rising && level.lt(a)) || (!rising && level.gt(a));
      const price = gap ? z : passed ? a : level;
      if (o.orderStatus === 'New') {
        const b = new Batch();
        this.fillResting(o, price, time, b);
        this.flush(b);
      } else if (o.stopOrderType === 'Stop') {
        this.triggerConditional(o, price, time);
      } else {
        const b = new Batch();
        this.trigger(o, price, time, b);
        this.flush(b);
      }
    }
    this.trail(z, to.time);
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
      [ws ? 'entryPrice' : 'avgPrice']: fmt(pos.entryPrice), breakEvenPrice: open ? fmt(breakEvenPrice(pos, this.takerFeeRate)) : '0',
      positionValue: fmt(value), tradeMode: 0, autoAddMargin: 0, positionStatus: 'Normal', leverage: fmt(this.leverage),
      markPrice: fmt(mark), liqPrice: open ? liqPriceEstimate(pos, this.balance, this.instrument) : '0', bustPrice: open ? '' : '0', positionIM: fmt(im), positionMM: fmt(mm),
      positionIMByMp: fmt(pos.size.mul(mark).div(this.leverage)), positionMMByMp: fmt(pos.size.mul(mark).mul(ins.maintenanceMarginRate)),
      positionBalance: fmt(im), tpslMode: 'Full', takeProfit: fmt(pos.takeProfit), stopLoss: fmt(pos.stopLoss), trailingStop: fmt(pos.trailingStop),
      activePrice: fmt(pos.activePrice),
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

  /**
   * order/realtime rows, newest first: by orderId/orderLinkId any state (openOnly ignored), else the open
   * orders (New, Untriggered) or with `openOnly: false` the closed ones; `orderFilter` Order/StopOrder.
   */
  orderViews(q: { orderId?: string; orderLinkId?: string; openOnly?: boolean; orderFilter?: string }, ws = false): Obj[] {
    if (q.orderFilter !== undefined && !ORDER_FILTERS.includes(q.orderFilter)) throw new EngineError(10001, 'params error: orderFilter invalid');
    let list: Order[];
    if (q.orderId !== undefined || q.orderLinkId !== undefined) {
      list = this.orders.filter((o) => (q.orderId === undefined || o.orderId === q.orderId) && (q.orderLinkId === undefined || o.orderLinkId === q.orderLinkId));
    } else {
      list = this.orders.filter((o) => (q.openOnly === false ? !isOpen(o) : isOpen(o)));
    }
    return list.filter((o) => inFilter(o, q.orderFilter)).reverse().map((o) => orderView(o, ws, this.category, this.instrument.symbol));
  }

  /** order/history rows, newest first: every order created in [startTime, endTime], any state. */
  orderHistoryViews(q: { orderId?: string; orderLinkId?: string; orderFilter?: string; orderStatus?: string; startTime?: number; endTime?: number }): Obj[] {
    if (q.orderFilter !== undefined && !ORDER_FILTERS.includes(q.orderFilter)) throw new EngineError(10001, 'params error: orderFilter invalid');
    return this.orders
      .filter((o) => (q.orderId === undefined || o.orderId === q.orderId) && (q.orderLinkId === undefined || o.orderLinkId === q.orderLinkId))
      .filter((o) => inFilter(o, q.orderFilter) && (q.orderStatus === undefined || o.orderStatus === q.orderStatus))
      .filter((o) => inRange(o.createdTime, q.startTime, q.endTime))
      .reverse()
      .map((o) => orderView(o, false, this.category, this.instrument.symbol));
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
    return this.closed.filter((c) => inRange(c.updatedTime, q.startTime, q.endTime)).reverse().map((c) => closedPnlRow(c, this.instrument.symbol));
  }

  /** A plain summary for tests and the CLI. */
  summary(): {
    balance: Dec; equity: Dec; available: Dec; leverage: Dec;
    position: { side: Side | ''; size: Dec; entryPrice: Dec; takeProfit: Dec; stopLoss: Dec; trailingStop: Dec; activePrice: Dec };
    openOrders: number; executions: number;
  } {
    const p = this.pos;
    return {
      balance: this.balance,
      equity: this.balance.plus(this.unrealised()),
      available: this.availableBalance(),
      leverage: this.leverage,
      position: { side: p.side, size: p.size, entryPrice: p.entryPrice, takeProfit: p.takeProfit, stopLoss: p.stopLoss, trailingStop: p.trailingStop, activePrice: p.activePrice },
      openOrders: this.openOrders().length,
      executions: this.executions.length,
    };
  }

  /** 110007 when the opening part of an order needs more than the available balance (`replacing` gives its own IM back). */
  private checkMargin(side: Side, qty: Dec, price: Dec, replacing?: Order): void {
    const opening = this.openingQty(side, qty);
    if (opening.lte(0)) return;
    const need = opening.mul(price).div(this.leverage).plus(opening.mul(price).mul(this.takerFeeRate));
    const own = replacing ? this.openingQty(replacing.side, replacing.qty.minus(replacing.cumExecQty)).mul(replacing.price).div(this.leverage) : ZERO;
    if (need.gt(this.availableBalance().plus(own))) throw new EngineError(110007, 'ab not enough for new order');
  }

  // ---------------------------------------------------------------- internals

  private lastPrice(): Dec {
    return dec(String(this.market.price()));
  }

  private crosses(side: Side, price: Dec, last: Dec): boolean {
    return side === 'Buy' ? price.gte(last) : price.lte(last);
  }

  private openOrders(): Order[] {
    return this.orders.filter((o) => isOpen(o));
  }

  private addOrder(o: Order): void {
    this.orders.push(o);
    this.byId.set(o.orderId, o);
    if (o.orderLinkId) this.linkIds.add(o.orderLinkId);
  }

  /** The open order named by `orderId` (preferred) or `orderLinkId`: 10001 with neither, 110001 when none is open. */
  private findOpen(q: { orderId?: unknown; orderLinkId?: unknown }): Order {
    const hasId = q.orderId !== undefined && q.orderId !== '';
    if (!hasId && (q.orderLinkId === undefined || q.orderLinkId === '')) {
      throw new EngineError(10001, 'params error: OrderId or orderLinkId is required');
    }
    const o = hasId ? this.byId.get(String(q.orderId)) : this.orders.find((x) => x.orderLinkId === String(q.orderLinkId));
    if (!o || !isOpen(o)) throw new EngineError(110001, 'Order does not exist');
    return o;
  }

  private finish(o: Order, status: Order['orderStatus'], cancelType: string, rejectReason: string, now: number): void {
    o.orderStatus = status;
    o.cancelType = cancelType;
    o.rejectReason = rejectReason;
    o.updatedTime = now;
  }

  /** A user cancel: Untriggered orders become Deactivated (and leave the position), active ones Cancelled. */
  private cancel(o: Order, now: number, b: Batch): void {
    if (o.orderStatus === 'Untriggered') {
      this.finish(o, 'Deactivated', 'CancelByUser', 'EC_NoError', now);
      this.detach(o);
    } else {
      this.finish(o, 'Cancelled', 'CancelByUser', 'EC_NoError', now);
    }
    b.orders.set(o.orderId, o);
  }

  /** Forgets a position stop that is no longer open (the position's TP/SL/trailing fields go to 0). */
  private detach(o: Order): void {
    const pos = this.pos;
    if (o.orderId === pos.tpOrderId) {
      pos.takeProfit = ZERO;
      pos.tpOrderId = undefined;
    } else if (o.orderId === pos.slOrderId) {
      pos.stopLoss = ZERO;
      pos.slOrderId = undefined;
    } else if (o.orderId === pos.tsOrderId) {
      pos.trailingStop = ZERO;
      pos.activePrice = ZERO;
      pos.tsOrderId = undefined;
    }
  }

  /**
   * An active order meets the market at `last` (placement, amend, or a triggered conditional limit): it
   * fills as taker if it crosses (a PostOnly one is cancelled instead), an IOC/FOK that does not is
   * cancelled, the rest wait.
   */
  private execute(o: Order, last: Dec, now: number, b: Batch): void {
    b.orders.set(o.orderId, o);
    if (o.orderType === 'Market' || this.crosses(o.side, o.price, last)) {
      if (o.orderType === 'Limit' && o.timeInForce === 'PostOnly') {
        // Bybit accepts the request (retCode 0), then cancels the order: it would have taken liquidity.
        this.finish(o, 'Cancelled', 'UNKNOWN', 'EC_PostOnlyWillTakeLiquidity', now);
        return;
      }
      let qty = o.qty.minus(o.cumExecQty);
      if (o.reduceOnly) {
        if (this.pos.side === '' || this.pos.side === o.side) {
          this.finish(o, 'Cancelled', 'CancelByReduceOnly', 'EC_NoError', now);
          return;
        }
        // A reduce-only order never exceeds the position: its qty is cut to what is left.
        qty = D.min(o.closeAll ? this.pos.size : qty, this.pos.size);
        o.qty = o.cumExecQty.plus(qty);
      }
      this.fill(o, qty, last, now, false, b);
    } else if (o.timeInForce === 'IOC' || o.timeInForce === 'FOK') {
      this.finish(o, 'Cancelled', 'CancelByUser', 'EC_NoImmediateQtyToFill', now);
    }
  }

  /**
   * A user conditional order fires at `price`: an order message `Triggered`, then a Market one fills as
   * taker (or is cancelled if the margin cannot cover it now), a Limit one becomes an active order.
   */
  private triggerConditional(o: Order, price: Dec, time: number): void {
    o.orderStatus = 'Triggered';
    o.updatedTime = time;
    const t = new Batch();
    t.orders.set(o.orderId, o);
    this.flush(t);
    const b = new Batch();
    b.orders.set(o.orderId, o);
    b.position = true;
    o.orderStatus = 'New';
    const execPrice = o.orderType === 'Market' ? price : this.crosses(o.side, o.price, price) ? price : o.price;
    if (!o.reduceOnly) {
      const opening = this.openingQty(o.side, o.qty);
      const need = opening.mul(execPrice).div(this.leverage).plus(opening.mul(execPrice).mul(this.takerFeeRate));
      if (opening.gt(0) && need.gt(this.availableBalance())) {
        // "If the margin is insufficient after the conditional order is triggered, the order will be cancelled."
        this.finish(o, 'Cancelled', 'UNKNOWN', 'EC_Others', time);
        this.flush(b);
        return;
      }
    }
    if (o.orderType === 'Market') o.price = protectionPrice(o.side, price, this.instrument.tickSize);
    this.execute(o, price, time, b);
    this.flush(b);
  }

  /** A position stop fires at `price`: a market order for the whole position (Full, trailing) or its qty (Partial). */
  private trigger(o: Order, price: Dec, time: number, b: Batch): void {
    const pos = this.pos;
    if (pos.side === '' || pos.side === o.side) {
      this.finish(o, 'Deactivated', 'CancelByTpSlTsClear', 'EC_NoError', time);
      this.detach(o);
      b.orders.set(o.orderId, o);
      return;
    }
    const partial = o.stopOrderType === 'PartialTakeProfit' || o.stopOrderType === 'PartialStopLoss';
    o.qty = partial ? D.min(o.qty, pos.size) : pos.size;
    o.orderStatus = 'Triggered';
    o.price = protectionPrice(o.side, price, this.instrument.tickSize);
    b.orders.set(o.orderId, o);
    this.detach(o);
    this.fill(o, o.qty, price, time, false, b);
  }

  /** A resting limit order reached by the path: a maker fill at `price`. Reduce-only ones are clipped to the position, or cancelled. */
  private fillResting(o: Order, price: Dec, time: number, b: Batch): void {
    let qty = o.qty.minus(o.cumExecQty);
    if (o.reduceOnly) {
      if (this.pos.side === '' || this.pos.side === o.side) {
        this.finish(o, 'Cancelled', 'CancelByReduceOnly', 'EC_NoError', time);
        b.orders.set(o.orderId, o);
        b.position = true;
        return;
      }
      qty = D.min(qty, this.pos.size);
      o.qty = o.cumExecQty.plus(qty);
    }
    b.orders.set(o.orderId, o);
    this.fill(o, qty, price, time, true, b);
  }

  /** Trailing stops follow the price: a long's stop is the highest price since activation minus the distance. */
  private trail(z: Dec, time: number): void {
    for (const o of this.openOrders()) {
      const t = o.trail;
      if (!t) continue;
      const long = o.side === 'Sell';
      if (!t.active) {
        if (long ? z.lt(t.activePrice) : z.gt(t.activePrice)) continue;
        t.active = true;
        t.extreme = z;
      } else if (long ? z.gt(t.extreme) : z.lt(t.extreme)) {
        t.extreme = z;
      } else {
        continue;
      }
      o.triggerPrice = long ? t.extreme.minus(t.distance) : t.extreme.plus(t.distance);
      o.updatedTime = time;
    }
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
      else this.shrinkPartials(time, b, o);
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
      // TP/SL carried by an order that opens or adds: Full mode makes them the position's; Partial mode
      // makes Partial TP/SL orders of the qty filled.
      if (!isPositionStop(o) && pos.side === o.side) {
        if (o.tpslMode === 'Partial') {
          if (o.takeProfit.gt(0)) this.addPartialStop('PartialTakeProfit', o.takeProfit, opening, o.tpTriggerBy, time, b);
          if (o.stopLoss.gt(0)) this.addPartialStop('PartialStopLoss', o.stopLoss, opening, o.slTriggerBy, time, b);
        } else {
          if (o.takeProfit.gt(0)) this.setPositionStop('TakeProfit', o.takeProfit, o.tpTriggerBy, time, b);
          if (o.stopLoss.gt(0)) this.setPositionStop('StopLoss', o.stopLoss, o.slTriggerBy, time, b);
        }
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

  /** The position is closed: its TP/SL and trailing orders are deactivated, resting reduce-only orders cancelled. */
  private flatten(time: number, b: Batch, filling: Order): void {
    const pos = this.pos;
    pos.side = '';
    pos.size = ZERO;
    pos.entryPrice = ZERO;
    pos.openFee = ZERO;
    pos.openTime = 0;
    for (const o of this.openOrders()) {
      if (o === filling) continue;
      if (isPositionStop(o)) {
        this.finish(o, 'Deactivated', 'CancelByTpSlTsClear', 'EC_NoError', time);
        b.orders.set(o.orderId, o);
      } else if (o.reduceOnly && o.orderStatus === 'New') {
        this.finish(o, 'Cancelled', 'CancelByReduceOnly', 'EC_NoError', time);
        b.orders.set(o.orderId, o);
      }
    }
    pos.takeProfit = ZERO;
    pos.stopLoss = ZERO;
    pos.trailingStop = ZERO;
    pos.activePrice = ZERO;
    pos.tpOrderId = pos.slOrderId = pos.tsOrderId = undefined;
  }

  /** After a partial close, Partial TP/SL orders larger than what is left are cut to the position size. */
  private shrinkPartials(time: number, b: Batch, filling: Order): void {
    for (const o of this.openOrders()) {
      if (o === filling || (o.stopOrderType !== 'PartialTakeProfit' && o.stopOrderType !== 'PartialStopLoss')) continue;
      if (o.qty.lte(this.pos.size)) continue;
      o.qty = this.pos.size;
      o.updatedTime = time;
      b.orders.set(o.orderId, o);
    }
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

  /** Margin held for resting limit orders that would open or add to the position (conditional ones hold none). */
  private orderIM(): Dec {
    let sum = ZERO;
    for (const o of this.orders) {
      if (o.orderStatus !== 'New' || isPositionStop(o) || o.reduceOnly) continue;
      const opening = this.openingQty(o.side, o.qty.minus(o.cumExecQty));
      sum = sum.plus(opening.mul(o.price).div(this.leverage));
    }
    return sum;
  }

  private availableBalance(): Dec {
    return this.balance.plus(this.unrealised()).minus(this.positionIM()).minus(this.orderIM());
  }

  /** Creates, amends or (level 0) deactivates the position's Full-mode TP or SL conditional order. */
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
      if (existing && isOpen(existing)) {
        this.finish(existing, 'Deactivated', 'CancelByUser', 'EC_NoError', now);
        b.orders.set(existing.orderId, existing);
      }
      pos[idKey] = undefined;
      return;
    }
    if (existing && isOpen(existing)) {
      existing.triggerPrice = level;
      existing.updatedTime = now;
      if (kind === 'TakeProfit') existing.takeProfit = level;
      else existing.stopLoss = level;
      b.orders.set(existing.orderId, existing);
      return;
    }
    const o = stopOrder(this.pos.side as Side, kind, level, ZERO, by, this.lastPrice(), now);
    this.addOrder(o);
    pos[idKey] = o.orderId;
    b.orders.set(o.orderId, o);
  }

  /** A Partial-mode TP or SL: its own conditional order of `qty`. */
  private addPartialStop(kind: 'PartialTakeProfit' | 'PartialStopLoss', level: Dec, qty: Dec, by: string, now: number, b: Batch): void {
    const o = stopOrder(this.pos.side as Side, kind, level, qty, by, this.lastPrice(), now);
    this.addOrder(o);
    b.orders.set(o.orderId, o);
  }

  /**
   * Sets, replaces or (distance 0) deactivates the trailing stop. Without an activation price it is active
   * at once, from the current price; with one it waits until the price reaches it.
   */
  private setTrailingStop(distance: Dec, activePrice: Dec, now: number, b: Batch): void {
    const pos = this.pos;
    const existing = pos.tsOrderId ? this.byId.get(pos.tsOrderId) : undefined;
    if (distance.isZero()) {
      if (existing && isOpen(existing)) {
        this.finish(existing, 'Deactivated', 'CancelByUser', 'EC_NoError', now);
        b.orders.set(existing.orderId, existing);
      }
      pos.trailingStop = ZERO;
      pos.activePrice = ZERO;
      pos.tsOrderId = undefined;
      return;
    }
    const last = this.lastPrice();
    const long = pos.side === 'Buy';
    const active = activePrice.isZero();
    const trail = { distance, activePrice, active, extreme: last };
    const level = active ? (long ? last.minus(distance) : last.plus(distance)) : activePrice;
    pos.trailingStop = distance;
    pos.activePrice = activePrice;
    if (existing && isOpen(existing)) {
      existing.trail = trail;
      existing.triggerPrice = level;
      existing.updatedTime = now;
      b.orders.set(existing.orderId, existing);
      return;
    }
    const o = stopOrder(this.pos.side as Side, 'TrailingStop', level, ZERO, 'LastPrice', this.lastPrice(), now);
    o.trail = trail;
    this.addOrder(o);
    pos.tsOrderId = o.orderId;
    b.orders.set(o.orderId, o);
  }

  private flush(b: Batch): void {
    if (b.empty()) return;
    const send = (topic: PrivateTopic, data: Obj[]): void => {
      for (const l of this.listeners) l(topic, data);
    };
    if (b.orders.size) send('order', [...b.orders.values()].map((o) => orderView(o, true, this.category, this.instrument.symbol)));
    if (b.executions.length) send('execution', b.executions);
    if (b.position) send('position', [this.positionView(true)]);
    if (b.wallet) send('wallet', [this.walletView()]);
  }
}
