/**
 * The historical-CSV broker simulator. Fill model (README, "Fill model"):
 * - a market order decided on candle i fills at the open of candle i+1, moved `slippageBps` against the
 *   trader; taker fee on every market fill;
 * - quantities come from lib/core/sizing (rounded down to the step; below the minimum raised to it or
 *   refused, per `minQtyPolicy`);
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
  sizeQty,
  slippedPrice,
  stopPrice,
  targetPrice,
  type Broker,
  type BrokerEvent,
  type BrokerListener,
  type Candle,
  type Dec,
  type ExitReason,
  type FillModel,
  type InstrumentRules,
  type OrderRequest,
  type Position,
  type PositionSide,
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
}

interface OpenPosition {
  readonly side: PositionSide;
  readonly dir: 1 | -1;
  readonly qty: Dec;
  readonly qtyNum: number;
  readonly entry: Dec;
  readonly entryNum: number;
  readonly sl?: Dec;
  readonly tp?: Dec;
  readonly slNum: number;
  readonly tpNum: number;
  readonly entryTime: number;
  readonly signalTime: number;
  readonly entryFee: Dec;
  readonly entryFeeNum: number;
  funding: Dec;
  fundingNum: number;
  readonly reason: string;
  readonly raised: boolean;
}

const FLAT: Position = Object.freeze({ side: 'flat', qty: ZERO, entryPrice: ZERO });

export class SimBroker implements Broker {
  readonly name = 'sim';
  readonly #rules: InstrumentRules;
  readonly #fm: FillModel;
  readonly #taker: Dec;
  readonly #listeners: BrokerListener[] = [];
  readonly #fundingTimes?: Float64Array;
  readonly #fundingRates?: Dec[];
  #fundingIdx = 0;
  #pending: OrderRequest | undefined;
  #pos: OpenPosition | undefined;
  #position: Position = FLAT;
  #tradeSeq = 0;
  #realized: Dec = ZERO;
  #realizedNum = 0;
  readonly #initial: number;
  /** Entries whose qty was raised to the minimum. */
  raisedToMin = 0;
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
    return this.#pending !== undefined;
  }
  submit(order: OrderRequest): void {
    // The engine only submits when nothing is in flight; a second order would be a bug upstream.
    this.#pending = order;
  }
  subscribe(listener: BrokerListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }
  #emit(e: BrokerEvent): void {
    for (const l of this.#listeners) l(e);
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
      if (order.purpose === 'entry') this.#fillEntry(order, c);
      else if (this.#pos) this.#close(c.openTime, slippedPrice(order.side, dec(c.open), this.#fm.slippageBps, this.#rules.tickSize), 'signal', order.reason);
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
    const price = slippedPrice(order.side, dec(c.open), this.#fm.slippageBps, this.#rules.tickSize);
    const sized = sizeQty(order.size!, price, this.#rules, this.#fm.minQtyPolicy);
    if (!sized.ok) {
      this.#emit({ type: 'rejected', order, reason: sized.reason });
      return;
    }
    const qty = sized.qty;
    if (sized.raisedToMin) this.raisedToMin++;
    const fee = qty.mul(price).mul(this.#taker);
    const sl = order.stopLoss ? stopPrice(side, price, order.stopLoss, this.#rules.tickSize) : undefined;
    const tp = order.takeProfit ? targetPrice(side, price, order.takeProfit, this.#rules.tickSize) : undefined;
    const p: OpenPosition = {
      side,
      dir: side === 'long' ? 1 : -1,
      qty,
      qtyNum: qty.toNumber(),
      entry: price,
      entryNum: price.toNumber(),
      sl,
      tp,
      slNum: sl ? sl.toNumber() : NaN,
      tpNum: tp ? tp.toNumber() : NaN,
      entryTime: c.openTime,
      signalTime: order.signalTime,
      entryFee: fee,
      entryFeeNum: fee.toNumber(),
      funding: ZERO,
      fundingNum: 0,
      reason: order.reason,
      raised: sized.raisedToMin,
    };
    this.#pos = p;
    this.#position = { side, qty, entryPrice: price, stopLoss: sl, takeProfit: tp, openedAt: c.openTime };
    this.#emit({ type: 'fill', fill: { orderId: order.id, time: c.openTime, side: order.side, qty, price, fee, liquidity: 'taker', purpose: 'entry' } });
    this.#emit({ type: 'position', position: this.#position });
  }

  #checkStops(p: OpenPosition, c: Candle): void {
    const sl = p.slNum;
    const tp = p.tpNum;
    const exitSide = p.dir === 1 ? 'Sell' : 'Buy';
    const slip = (x: Dec) => slippedPrice(exitSide, x, this.#fm.slippageBps, this.#rules.tickSize);
    if (p.dir === 1) {
      if (c.open <= sl) return this.#close(c.openTime, slip(dec(c.open)), 'stop_loss', 'opened through the stop loss');
      if (c.open >= tp) return this.#close(c.openTime, slip(dec(c.open)), 'take_profit', 'opened through the take profit');
      const slHit = c.low <= sl;
      const tpHit = c.high >= tp;
      if (slHit) return this.#close(c.openTime, slip(p.sl!), 'stop_loss', tpHit ? 'stop and target touched in one candle: stop assumed first' : 'stop loss touched', tpHit ? slip(p.tp!) : undefined);
      if (tpHit) return this.#close(c.openTime, slip(p.tp!), 'take_profit', 'take profit touched');
    } else {
      if (c.open >= sl) return this.#close(c.openTime, slip(dec(c.open)), 'stop_loss', 'opened through the stop loss');
      if (c.open <= tp) return this.#close(c.openTime, slip(dec(c.open)), 'take_profit', 'opened through the take profit');
      const slHit = c.high >= sl;
      const tpHit = c.low <= tp;
      if (slHit) return this.#close(c.openTime, slip(p.sl!), 'stop_loss', tpHit ? 'stop and target touched in one candle: stop assumed first' : 'stop loss touched', tpHit ? slip(p.tp!) : undefined);
      if (tpHit) return this.#close(c.openTime, slip(p.tp!), 'take_profit', 'take profit touched');
    }
  }

  #close(time: number, price: Dec, reason: ExitReason, detail: string, altTargetPrice?: Dec): void {
    const p = this.#pos!;
    const exitFee = p.qty.mul(price).mul(this.#taker);
    const gross = price.sub(p.entry).mul(p.qty).mul(p.dir);
    const fees = p.entryFee.add(exitFee);
    const net = gross.sub(fees).sub(p.funding);
    let alt: Dec | undefined;
    if (altTargetPrice) {
      const altFee = p.qty.mul(altTargetPrice).mul(this.#taker);
      alt = altTargetPrice.sub(p.entry).mul(p.qty).mul(p.dir).sub(p.entryFee).sub(altFee).sub(p.funding);
    }
    const trade: Trade = {
      id: ++this.#tradeSeq,
      side: p.side,
      signalTime: p.signalTime,
      entryTime: p.entryTime,
      exitTime: time,
      entryPrice: p.entry,
      exitPrice: price,
      qty: p.qty,
      stopLoss: p.sl,
      takeProfit: p.tp,
      exitReason: reason,
      entryFee: p.entryFee,
      exitFee,
      fees,
      funding: p.funding,
      grossPnl: gross,
      netPnl: net,
      entryReason: p.reason,
      exitDetail: detail,
      ambiguous: altTargetPrice !== undefined,
      netPnlIfTargetFirst: alt,
      qtyRaisedToMin: p.raised,
    };
    this.#realized = this.#realized.add(net);
    this.#realizedNum = this.#realized.toNumber();
    this.#pos = undefined;
    this.#position = FLAT;
    this.#emit({
      type: 'fill',
      fill: { orderId: `${reason}-${trade.id}`, time, side: p.dir === 1 ? 'Sell' : 'Buy', qty: p.qty, price, fee: exitFee, liquidity: 'taker', purpose: 'exit', exitReason: reason },
    });
    this.#emit({ type: 'position', position: FLAT });
    this.#emit({ type: 'trade', trade });
  }

  finish(last: Candle): void {
    if (this.#pending) {
      this.droppedAtEnd++;
      this.#pending = undefined;
    }
    if (this.#pos) this.#close(last.openTime, dec(last.close), 'end_of_data', 'closed at the last close of the range');
  }
}
