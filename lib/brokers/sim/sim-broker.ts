/**
 * The historical-CSV broker simulator. Fill model (README, "Fill model"):
 * - a market order decided on candle i fills at the open of candle i+1, moved `slippageBps` against the
 *   trader; taker fee on every market fill;
 * - quantities come from lib/core/sizing (rounded down to the step; below the minimum raised to it or
 *   refused, per `minQtyPolicy`); an entry whose sized qty x fill price is above `maxNotional` (the
 *   `maxPositionNotional` guard) is refused;
 * - stop loss and take profit are live from the fill candle on: an open beyond a level fills at the
 *   open; otherwise a touched level fills at its price; a candle that touches both is assumed to hit the
 *   stop first, and the trade records what the target would have given;
 * - funding (when a funding history is given) is charged at each settlement the position is open
 *   across: qty x price at the settlement x rate, paid by longs when the rate is positive;
 * - one position at a time; money in decimals.
 */
import {
  D,
  ZERO,
  dec,
  decimalScale,
  fastFloorSteps,
  fastRoundTicks,
  multipleToNumber,
  sizeQty,
  slippedPrice,
  stopPrice,
  targetPrice,
  amountsOf,
  tradeFromLegs,
  BrokerListeners,
  type Broker,
  type BrokerEvent,
  type BrokerListener,
  type Candle,
  type Dec,
  type ExitReason,
  type Fill,
  type FillModel,
  type InstrumentRules,
  type OrderRequest,
  type Position,
  type PositionSide,
  type PriceLevel,
  type SizeResult,
  type Trade,
} from '../../core/index.ts';

export interface FundingHistory {
  /** Settlement times, epoch ms, ascending. */
  readonly times: Float64Array;
  /** Rates as exact decimal text. */
  readonly rates: readonly string[];
}

export interface SimBrokerOptions {
  readonly rules: InstrumentRules;
  readonly fillModel: FillModel;
  readonly initialBalance: number;
  readonly funding?: FundingHistory;
  /**
   * The `maxPositionNotional` guard at the fill: an entry whose sized qty x fill price is above this is
   * refused (a `rejected` event naming the figures), as the live broker refuses it at its price.
   */
  readonly maxNotional?: number;
}

interface OpenPosition {
  readonly side: PositionSide;
  readonly dir: 1 | -1;
  readonly qty: Dec;
  readonly qtyNum: number;
  readonly entryNum: number;
  readonly sl?: Dec;
  readonly tp?: Dec;
  readonly slNum: number;
  readonly tpNum: number;
  readonly entryTime: number;
  readonly signalTime: number;
  readonly entryFeeNum: number;
  /** The entry fill: the trade's entry leg. */
  readonly entryFill: Fill;
  funding: Dec;
  fundingNum: number;
  readonly reason: string;
  readonly raised: boolean;
}

const AMBIGUOUS = 'stop and target touched in one candle: stop assumed first';
const FLAT: Position = Object.freeze({ side: 'flat', qty: ZERO, entryPrice: ZERO });

export class SimBroker implements Broker {
  readonly name = 'sim';
  readonly #rules: InstrumentRules;
  readonly #fm: FillModel;
  readonly #taker: Dec;
  readonly #listeners = new BrokerListeners();
  readonly #fundingTimes?: Float64Array;
  readonly #fundingRates?: Dec[];
  #fundingIdx = 0;
  #pending: OrderRequest | undefined;
  /** An entry waiting for the pending exit (a reversal decided on one candle). */
  #queued: OrderRequest | undefined;
  #pos: OpenPosition | undefined;
  #position: Position = FLAT;
  #tradeSeq = 0;
  #realized: Dec = ZERO;
  #realizedNum = 0;
  readonly #initial: number;
  // Hot-path constants: the instrument's steps as numbers and exact scales, and decimals already made.
  readonly #noSlip: boolean;
  readonly #tickNum: number;
  readonly #tickScale: { m: number; k: number; pow: number };
  readonly #stepNum: number;
  readonly #stepScale: { m: number; k: number; pow: number };
  readonly #minSteps: number | undefined;
  readonly #minNotionalNum: number;
  readonly #maxNotional: number | undefined;
  readonly #qtyCache = new Map<number, Dec>();
  readonly #qtyNums = new Map<Dec, number>();
  readonly #qtyTaker = new Map<Dec, Dec>();
  /** Funding charged in total (positive = paid). */
  fundingPaid: Dec = ZERO;
  fundingSettlements = 0;
  /** Orders still pending when the data ended. */
  droppedAtEnd = 0;

  constructor(opts: SimBrokerOptions) {
    this.#rules = opts.rules;
    this.#fm = opts.fillModel;
    this.#taker = new D(opts.fillModel.takerFee);
    this.#initial = opts.initialBalance;
    const r = opts.rules;
    this.#noSlip = opts.fillModel.slippageBps === 0;
    this.#tickNum = r.tickSize.toNumber();
    this.#tickScale = decimalScale(r.tickSize);
    this.#stepNum = r.qtyStep.toNumber();
    this.#stepScale = decimalScale(r.qtyStep);
    const minSteps = r.minQty.div(r.qtyStep);
    // The fast sizing path needs the minimum to be a whole number of steps and no maximum to check.
    this.#minSteps = minSteps.isInteger() && !r.maxQty && opts.fillModel.minQtyPolicy === 'raise' ? minSteps.toNumber() : undefined;
    this.#minNotionalNum = r.minNotional.toNumber();
    this.#maxNotional = opts.maxNotional !== undefined && opts.maxNotional > 0 ? opts.maxNotional : undefined;
    if (opts.funding) {
      this.#fundingTimes = opts.funding.times;
      this.#fundingRates = opts.funding.rates.map((r) => new D(r));
    }
  }

  rules(): InstrumentRules {
    return this.#rules;
  }
  position(): Position {
    return this.#position;
  }
  hasOrderInFlight(): boolean {
    return this.#pending !== undefined || this.#queued !== undefined;
  }
  submit(order: OrderRequest): void {
    // The engine only submits when nothing is in flight, or an entry right after the exit it waits for.
    if (order.afterExit !== undefined && this.#pending?.id === order.afterExit) this.#queued = order;
    else this.#pending = order;
  }
  subscribe(listener: BrokerListener): () => void {
    return this.#listeners.subscribe(listener);
  }
  #emit(e: BrokerEvent): void {
    this.#listeners.emit(e);
  }

  /** Mark-to-market equity at `mark`: initial balance + realised net PnL + the open position's PnL net of its fees so far. */
  equity(mark: number): number {
    const p = this.#pos;
    if (!p) return this.#initial + this.#realizedNum;
    return this.#initial + this.#realizedNum + p.dir * p.qtyNum * (mark - p.entryNum) - p.entryFeeNum - p.fundingNum;
  }

  /** Realised net PnL so far, exact. */
  realized(): Dec {
    return this.#realized;
  }

  observe(c: Candle): void {
    if (this.#fundingTimes !== undefined && this.#fundingIdx < this.#fundingTimes.length) this.#settleFunding(c);
    const order = this.#pending;
    if (order !== undefined) {
      this.#pending = undefined;
      // A stop or target the open gaps through is on the exchange already: it fires at the open before
      // an exit order decided on the previous close can arrive.
      const held = this.#pos;
      if (order.purpose === 'exit' && held !== undefined && this.#gapsThrough(held, c.open)) this.#checkStops(held, c);
      if (order.purpose === 'entry') this.#fillEntry(order, c);
      else if (this.#pos) this.#close(c.openTime, this.#slip(this.#pos, new D(c.open)), 'signal', order.reason);
      // A reversal: the entry decided with the exit fills at the same open, once the exit has closed the position.
      const next = this.#queued;
      if (next !== undefined) {
        this.#queued = undefined;
        if (this.#pos) this.#emit({ type: 'rejected', order: next, reason: 'the exit before this entry did not close the position' });
        else this.#fillEntry(next, c);
      }
    }
    const p = this.#pos;
    if (p !== undefined && (p.slNum === p.slNum || p.tpNum === p.tpNum)) this.#checkStops(p, c);
  }

  /** Funding settlements at or before this candle's open, while the position was open across them. */
  #settleFunding(c: Candle): void {
    const times = this.#fundingTimes!;
    while (this.#fundingIdx < times.length && times[this.#fundingIdx]! <= c.openTime) {
      const t = times[this.#fundingIdx]!;
      const p = this.#pos;
      if (p && p.entryTime < t) {
        // Settled on the position value at the settlement; the candle's open is the price then.
        const amount = p.qty.mul(dec(c.open)).mul(this.#fundingRates![this.#fundingIdx]!).mul(p.dir);
        p.funding = p.funding.add(amount);
        p.fundingNum = p.funding.toNumber();
        this.fundingPaid = this.fundingPaid.add(amount);
        this.fundingSettlements++;
      }
      this.#fundingIdx++;
    }
  }

  #fillEntry(order: OrderRequest, c: Candle): void {
    if (this.#pos) return; // one position at a time; the engine never asks otherwise
    const side = order.positionSide;
    const price = this.#noSlip ? new D(c.open) : slippedPrice(order.side, dec(c.open), this.#fm.slippageBps, this.#rules.tickSize);
    const priceNum = this.#noSlip ? c.open : price.toNumber();
    const sized = this.#size(order, price, priceNum);
    if (!sized.ok) {
      this.#emit({ type: 'rejected', order, reason: sized.reason });
      return;
    }
    const qty = sized.qty;
    const fee = this.#feeOf(qty, price);
    const sl = order.stopLoss ? this.#level(side, true, order.stopLoss, price, priceNum) : undefined;
    const tp = order.takeProfit ? this.#level(side, false, order.takeProfit, price, priceNum) : undefined;
    let qtyNum = this.#qtyNums.get(qty);
    if (qtyNum === undefined) this.#qtyNums.set(qty, (qtyNum = qty.toNumber()));
    const fill: Fill = { orderId: order.id, time: c.openTime, side: order.side, qty, price, fee, liquidity: 'taker', purpose: 'entry' };
    const p: OpenPosition = {
      side,
      dir: side === 'long' ? 1 : -1,
      qty,
      qtyNum,
      entryNum: priceNum,
      sl: sl?.dec,
      tp: tp?.dec,
      slNum: sl ? sl.num : NaN,
      tpNum: tp ? tp.num : NaN,
      entryTime: c.openTime,
      signalTime: order.signalTime,
      entryFeeNum: qtyNum * priceNum * this.#fm.takerFee,
      entryFill: fill,
      funding: ZERO,
      fundingNum: 0,
      reason: order.reason,
      raised: sized.raisedToMin,
    };
    this.#pos = p;
    this.#position = { side, qty, entryPrice: price, stopLoss: p.sl, takeProfit: p.tp, openedAt: c.openTime };
    this.#emit({ type: 'fill', fill });
    this.#emit({ type: 'position', position: this.#position });
  }

  /** Taker fee of a fill: qty x price x rate, with qty x rate kept per quantity (entries repeat sizes). */
  #feeOf(qty: Dec, price: Dec): Dec {
    let qr = this.#qtyTaker.get(qty);
    if (!qr) this.#qtyTaker.set(qty, (qr = qty.mul(this.#taker)));
    return qr.mul(price);
  }

  /** sizeQty, with an exact float shortcut for the common case (quote size far from a step boundary). */
  #size(order: OrderRequest, price: Dec, priceNum: number): SizeResult {
    const size = order.size!;
    if (size.unit === 'quote' && this.#minSteps !== undefined) {
      const q = fastFloorSteps(size.amount, priceNum, this.#stepNum);
      if (q !== undefined) {
        const steps = Math.max(q, this.#minSteps);
        const notional = multipleToNumber(steps, this.#stepScale) * priceNum;
        const max = this.#maxNotional;
        if ((this.#minNotionalNum === 0 || notional > this.#minNotionalNum * (1 + 1e-9)) && (max === undefined || notional < max * (1 - 1e-9))) {
          let qty = this.#qtyCache.get(steps);
          if (!qty) this.#qtyCache.set(steps, (qty = this.#rules.qtyStep.mul(steps)));
          return { ok: true, qty, raisedToMin: q < this.#minSteps };
        }
      }
    }
    return sizeQty(size, price, this.#rules, this.#fm.minQtyPolicy, { maxNotional: this.#maxNotional });
  }

  /** A stop (or target) price as a decimal and as the exact double, rounded to the tick half up. */
  #level(side: PositionSide, isStop: boolean, level: PriceLevel, price: Dec, priceNum: number): { dec: Dec; num: number } {
    if ('pct' in level) {
      const below = isStop === (side === 'long');
      const r = fastRoundTicks(priceNum * (below ? 1 - level.pct : 1 + level.pct), this.#tickNum);
      if (r !== undefined) return { dec: this.#rules.tickSize.mul(r), num: multipleToNumber(r, this.#tickScale) };
    }
    const d = isStop ? stopPrice(side, price, level, this.#rules.tickSize) : targetPrice(side, price, level, this.#rules.tickSize);
    return { dec: d, num: d.toNumber() };
  }

  #gapsThrough(p: OpenPosition, open: number): boolean {
    return p.dir === 1 ? open <= p.slNum || open >= p.tpNum : open >= p.slNum || open <= p.tpNum;
  }

  #checkStops(p: OpenPosition, c: Candle): void {
    const sl = p.slNum;
    const tp = p.tpNum;
    if (p.dir === 1) {
      if (c.open <= sl) return this.#close(c.openTime, this.#slip(p, dec(c.open)), 'stop_loss', 'opened through the stop loss');
      if (c.open >= tp) return this.#close(c.openTime, this.#slip(p, dec(c.open)), 'take_profit', 'opened through the take profit');
      const slHit = c.low <= sl;
      const tpHit = c.high >= tp;
      if (slHit) return this.#close(c.openTime, this.#slip(p, p.sl!), 'stop_loss', tpHit ? AMBIGUOUS : 'stop loss touched', tpHit ? this.#slip(p, p.tp!) : undefined);
      if (tpHit) return this.#close(c.openTime, this.#slip(p, p.tp!), 'take_profit', 'take profit touched');
    } else {
      if (c.open >= sl) return this.#close(c.openTime, this.#slip(p, dec(c.open)), 'stop_loss', 'opened through the stop loss');
      if (c.open <= tp) return this.#close(c.openTime, this.#slip(p, dec(c.open)), 'take_profit', 'opened through the take profit');
      const slHit = c.high >= sl;
      const tpHit = c.low <= tp;
      if (slHit) return this.#close(c.openTime, this.#slip(p, p.sl!), 'stop_loss', tpHit ? AMBIGUOUS : 'stop loss touched', tpHit ? this.#slip(p, p.tp!) : undefined);
      if (tpHit) return this.#close(c.openTime, this.#slip(p, p.tp!), 'take_profit', 'take profit touched');
    }
  }

  /** A stop or target is a market order once triggered: it slips like any market fill. */
  #slip(p: OpenPosition, price: Dec): Dec {
    return this.#noSlip ? price : slippedPrice(p.dir === 1 ? 'Sell' : 'Buy', price, this.#fm.slippageBps, this.#rules.tickSize);
  }

  /** The exit fill and the trade it closes, through the one accounting (lib/core/accounting.ts): one fill on each side. */
  #close(time: number, price: Dec, reason: ExitReason, detail: string, altTargetPrice?: Dec): void {
    const p = this.#pos!;
    const id = ++this.#tradeSeq;
    const exitFill: Fill = { orderId: `${reason}-${id}`, time, side: p.dir === 1 ? 'Sell' : 'Buy', qty: p.qty, price, fee: this.#feeOf(p.qty, price), liquidity: 'taker', purpose: 'exit', exitReason: reason };
    const a = tradeFromLegs(p.side, p.entryFill, exitFill, p.funding);
    const alt = altTargetPrice ? tradeFromLegs(p.side, p.entryFill, { qty: p.qty, price: altTargetPrice, fee: this.#feeOf(p.qty, altTargetPrice) }, p.funding).netPnl : undefined;
    const trade: Trade = {
      id,
      side: p.side,
      signalTime: p.signalTime,
      entryTime: p.entryTime,
      exitTime: time,
      ...amountsOf(a),
      stopLoss: p.sl,
      takeProfit: p.tp,
      exitReason: reason,
      entryReason: p.reason,
      exitDetail: detail,
      ambiguous: altTargetPrice !== undefined,
      netPnlIfTargetFirst: alt,
      qtyRaisedToMin: p.raised,
    };
    this.#realized = this.#realized.add(a.netPnl);
    this.#realizedNum = this.#realized.toNumber();
    this.#pos = undefined;
    this.#position = FLAT;
    this.#emit({ type: 'fill', fill: exitFill });
    this.#emit({ type: 'position', position: FLAT });
    this.#emit({ type: 'trade', trade });
  }

  finish(last: Candle): void {
    if (this.#pending) {
      this.droppedAtEnd++;
      this.#pending = undefined;
    }
    if (this.#queued) {
      this.droppedAtEnd++;
      this.#queued = undefined;
    }
    if (this.#pos) this.#close(last.openTime, dec(last.close), 'end_of_data', 'closed at the last close of the range');
  }
}
