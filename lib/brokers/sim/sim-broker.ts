/**
 * The historical-CSV broker simulator. Fill model (README, "The fill model"):
 * - a market order decided on candle i fills at the open of candle i+1, moved `slippageBps` against the
 *   trader; taker fee on every market fill;
 * - quantities come from lib/core/sizing (rounded down to the step; below the minimum raised to it or
 *   refused, per `minQtyPolicy`); an entry whose sized qty x fill price is above `maxNotional` (the
 *   `maxPositionNotional` guard) is refused;
 * - the price inside a candle follows the local exchange's path: the open, the extreme nearer the open
 *   (the high on a tie), the other extreme, the close. A level crossed inside a segment executes at the
 *   level; one jumped by the gap to the open executes at the open;
 * - resting limits (entries and exits) fill when the path trades strictly through them (`limitFill`
 *   'through') or reaches them ('touch'), at the limit or a better open, with the maker fee; a post-only
 *   limit that would cross the deciding close is refused at placement; stop entries fill at the trigger
 *   or a gapped open, plus slippage, with the taker fee;
 * - stop loss, take-profit targets and the trailing stop are live from the fill on (inside the fill
 *   candle only on the rest of the path); the trailing stop ratchets along the path and is never looser
 *   than the stop loss; with `intrabar` 'stop-first' (the default) a stop and a target both reached in
 *   one candle after the entry give the stop, and the trade records what the target would have given;
 *   with 'path' the path decides;
 * - partial targets close parts of the position, one trade row each, sharing the position's id;
 * - funding (when a funding history is given) is charged at each settlement the position is open
 *   across: qty x price at the settlement x rate, paid by longs when the rate is positive;
 * - one position at a time; money in decimals.
 *
 * A market entry with at most one stop and one target under 'stop-first' (the seed) takes the fast path
 * (`#checkStops`), which is the rule every earlier version had, so the golden trades stay exact.
 */
import {
  D,
  ZERO,
  dec,
  decimalScale,
  fastFloorSteps,
  fastRoundTicks,
  multipleToNumber,
  roundDownToStep,
  sizeQty,
  slippedPrice,
  splitTargets,
  stopPrice,
  targetPrice,
  trailingLevels,
  amountsOf,
  exactScale,
  scaledOf,
  offsetTicks,
  exactTrade,
  scaledToDec,
  tradeFromLegs,
  LazyTrade,
  BrokerListeners,
  type AmendRequest,
  type Broker,
  type BrokerEvent,
  type BrokerListener,
  type CancelRequest,
  type Candle,
  type Dec,
  type ExactAmounts,
  type ExactScale,
  type TradeDecimals,
  type ExitReason,
  type Fill,
  type FillModel,
  type InstrumentRules,
  type Leg,
  type Liquidity,
  type OrderFeature,
  type OrderRequest,
  type OrderType,
  type PendingOrder,
  type Position,
  type PositionSide,
  type PriceLevel,
  type SizeResult,
  type Trade,
} from '../../core/index.ts';
import { LazyFill, LazyPosition, type DecimalBucket, type LazyDecimals, type SimDecimalCache } from './decimals.ts';

export { SimDecimalCache } from './decimals.ts';

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
  /**
   * Trades whose decimal amounts are made only when read (lib/core/exact.ts LazyTrade), carrying their
   * amounts as exact scaled integers: a sweep's rows add those up. The values are the same either way.
   */
  readonly lazyTrades?: boolean;
  /**
   * Decimals of whole ticks and their fees kept across runs (a sweep's worker holds one): a price or fee
   * the simulator makes again is the decimal made the first time, of the same value.
   */
  readonly decimals?: SimDecimalCache;
}

/** One partial target still open: its price and the qty it closes. */
interface Target {
  readonly price: Dec;
  readonly num: number;
  readonly qty: Dec;
}

/** A trailing stop: distance behind the best price since activation. */
interface Trail {
  readonly distance: Dec;
  readonly distNum: number;
  /** The activation price (NaN: active from the fill). */
  readonly actNum: number;
  readonly activation?: Dec;
  active: boolean;
  /** The best price since activation (long: highest, short: lowest). */
  extreme: number;
}

interface OpenPosition {
  readonly side: PositionSide;
  readonly dir: 1 | -1;
  /** The qty still open. */
  qty: Dec;
  qtyNum: number;
  readonly entryNum: number;
  /**
   * The entry price, the entry fill and the fee left, and the stop and target, as decimals. A sweep's
   * position (lazy) has them undefined until read through #entryPriceOf, #entryFillOf, #feeLeftOf,
   * #slOf and #tpOf, which make them from the ticks: read them only through those.
   */
  entryPrice: Dec | undefined;
  /** The entry price in ticks and the qty in steps when both are exact integers (NaN: not). */
  readonly entryTicks: number;
  readonly qtySteps: number;
  sl?: Dec;
  tp?: Dec;
  /** The stop and target in ticks while their decimals are not made yet (NaN: `sl`/`tp` are the levels). */
  slTicks: number;
  tpTicks: number;
  slNum: number;
  tpNum: number;
  /** Partial targets still open, nearest first (undefined: `tp` closes the whole position). */
  targets?: Target[];
  trail?: Trail;
  readonly entryTime: number;
  readonly signalTime: number;
  /** The entry fee still to be shared out to the rows to come, as a number (equity). */
  entryFeeNum: number;
  /** The entry fill: the trade's entry leg. */
  entryFill: Fill | undefined;
  /** The entry fee not yet given to a closed part. */
  entryFeeLeft: Dec | undefined;
  funding: Dec;
  fundingNum: number;
  readonly reason: string;
  readonly raised: boolean;
  readonly positionId: number;
  readonly orderType: OrderType;
  readonly liquidity: Liquidity;
  /** Parts closed so far (0: the next exit of the whole qty is the whole trade). */
  parts: number;
  /** Today's rule applies: one stop, one target for the whole qty, no trailing stop, 'stop-first'. */
  simple: boolean;
  /** The exit orders still resting, as the position's own orders. */
  /** The entry order's id: the position's own orders are `<id>-sl`, `<id>-tp` (`-tp-<n>`), `<id>-trail`. */
  readonly orderId: string;
}

/** An entry resting at the simulated exchange (a limit or a stop). */
interface RestingEntry {
  readonly order: OrderRequest;
  readonly type: 'limit' | 'stop';
  readonly price: Dec;
  readonly num: number;
  /** A limit that would have crossed the price when placed: it takes liquidity if it fills at once. */
  readonly marketable: boolean;
  /** Still on its first candle (a marketable limit filling at that open is a taker fill). */
  fresh: boolean;
}

/** A reduce-only limit exit resting. */
interface RestingExit {
  readonly order: OrderRequest;
  readonly price: Dec;
  readonly num: number;
  /** The qty it closes (undefined: whatever is open when it fills). */
  readonly qty?: Dec;
  readonly marketable: boolean;
  fresh: boolean;
}

const AMBIGUOUS = 'stop and target touched in one candle: stop assumed first';
const FLAT: Position = Object.freeze({ side: 'flat', qty: ZERO, entryPrice: ZERO });
const FEATURES: readonly OrderFeature[] = Object.freeze(['limit', 'postOnly', 'stop', 'trailingStop', 'partialTargets', 'partialExit', 'limitExit', 'cancel', 'amend'] as const);

export class SimBroker implements Broker {
  readonly name = 'sim';
  readonly features = FEATURES;
  readonly #rules: InstrumentRules;
  readonly #fm: FillModel;
  readonly #taker: Dec;
  readonly #maker: Dec;
  readonly #touch: boolean;
  readonly #path: boolean;
  readonly #listeners = new BrokerListeners();
  readonly #fundingTimes?: Float64Array;
  readonly #fundingRates?: Dec[];
  #fundingIdx = 0;
  /** Orders submitted after the last close: they reach the market at the next open, in this order. */
  #arriving: OrderRequest[] = [];
  /** An entry waiting for the pending exit (a reversal decided on one candle). */
  #queued: OrderRequest | undefined;
  #entry: RestingEntry | undefined;
  #exits: RestingExit[] = [];
  #pos: OpenPosition | undefined;
  #position: Position = FLAT;
  #tradeSeq = 0;
  #positionSeq = 0;
  /** Realised net PnL: the exact trades' as integers of the exact scale's unit, the others' as a decimal. */
  #realizedDec: Dec = ZERO;
  #realizedUnits = 0;
  /** Some trade's net PnL is in #realizedDec (then the total is worked out in decimals). */
  #mixed = false;
  #realizedNum = 0;
  /** Tick, step and fee rates as exact scales (undefined: decimals only). */
  readonly #exact: ExactScale | undefined;
  readonly #lazy: boolean;
  readonly #qtySteps = new Map<Dec, number>();
  readonly #bucket: DecimalBucket | undefined;
  /** The last close seen: the price a limit is placed against (post-only) and an amendment is checked at. */
  #lastClose = NaN;
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
    this.#maker = new D(opts.fillModel.makerFee);
    this.#touch = opts.fillModel.limitFill === 'touch';
    this.#path = opts.fillModel.intrabar === 'path';
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
    this.#exact = exactScale(r.tickSize, r.qtyStep, this.#taker, this.#maker);
    this.#lazy = opts.lazyTrades === true && this.#exact !== undefined;
    this.#bucket = this.#exact === undefined ? undefined : opts.decimals?.bucket(r.tickSize, r.qtyStep, this.#taker, this.#maker);
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
    return this.#arriving.length > 0 || this.#queued !== undefined;
  }
  submit(order: OrderRequest): void {
    const o = order.order;
    // Post-only: refused when it would take liquidity at placement (the deciding close), as Bybit refuses it.
    if (o?.type === 'limit' && o.postOnly && this.#crosses(order.side, o.price.toNumber(), this.#lastClose)) {
      this.#emit({ type: 'rejected', order, reason: `post-only limit ${order.side === 'Buy' ? 'buy' : 'sell'} at ${o.price.toFixed()} would cross the price ${this.#lastClose} at placement (it would take liquidity)` });
      return;
    }
    // The engine only submits when nothing is in flight, or an entry right after the exit it waits for.
    if (order.afterExit !== undefined && this.#arriving.some((a) => a.id === order.afterExit)) this.#queued = order;
    else this.#arriving.push(order);
  }
  cancel(req: CancelRequest): void {
    if (this.#entry?.order.id === req.orderId) {
      this.#entry = undefined;
      this.#emit({ type: 'cancelled', orderId: req.orderId, reason: req.reason });
      return;
    }
    const i = this.#arriving.findIndex((a) => a.id === req.orderId);
    if (i >= 0) {
      this.#arriving.splice(i, 1);
      if (this.#queued?.afterExit === req.orderId) this.#queued = undefined;
      this.#emit({ type: 'cancelled', orderId: req.orderId, reason: req.reason });
      return;
    }
    if (this.#queued?.id === req.orderId) {
      this.#queued = undefined;
      this.#emit({ type: 'cancelled', orderId: req.orderId, reason: req.reason });
      return;
    }
    const j = this.#exits.findIndex((x) => x.order.id === req.orderId);
    if (j >= 0) {
      this.#exits.splice(j, 1);
      this.#emit({ type: 'cancelled', orderId: req.orderId, reason: req.reason });
      return;
    }
    this.#emit({ type: 'notice', key: 'cancel: no such order', message: `cancel of ${req.orderId} (${req.reason}): no such order is open (filled or cancelled already)` });
  }
  amend(req: AmendRequest): void {
    const p = this.#pos;
    if (!p || p.side !== req.positionSide) {
      this.#emit({ type: 'amend-rejected', amend: req, reason: `no ${req.positionSide} position is open` });
      return;
    }
    const px = this.#lastClose;
    const wrong = (what: string, level: Dec, below: boolean) => (below ? !(level.toNumber() < px) : !(level.toNumber() > px)) ? `${what} ${level.toFixed()} is not ${below ? 'below' : 'above'} the price ${px} (a ${p.side}'s ${what} is ${below ? 'below' : 'above'} it)` : undefined;
    const long = p.dir === 1;
    const why =
      (req.stopLoss && wrong('stop loss', req.stopLoss, long)) ||
      (req.takeProfit && wrong('take profit', req.takeProfit, !long)) ||
      req.targets?.map((t) => wrong('take profit', t.price, !long)).find((w) => w !== undefined);
    if (why) {
      this.#emit({ type: 'amend-rejected', amend: req, reason: why, code: 10001 });
      return;
    }
    if (req.stopLoss) {
      p.sl = req.stopLoss;
      p.slTicks = NaN;
      p.slNum = req.stopLoss.toNumber();
    }
    if (req.takeProfit) {
      p.tp = req.takeProfit;
      p.tpTicks = NaN;
      p.tpNum = req.takeProfit.toNumber();
      p.targets = undefined;
    }
    if (req.targets) this.#setTargets(p, req.targets.map((t) => ({ price: t.price, fraction: t.fraction })), p.qty);
    if (req.trailingStop) {
      const t = req.trailingStop;
      const actNum = t.activation ? t.activation.toNumber() : NaN;
      const reached = actNum !== actNum || (long ? px >= actNum : px <= actNum);
      p.trail = { distance: t.distance, distNum: t.distance.toNumber(), actNum, activation: t.activation, active: reached, extreme: px };
    }
    p.simple = this.#isSimple(p);
    this.#publish(p);
  }
  orders(): readonly PendingOrder[] {
    const out: PendingOrder[] = [];
    for (const o of this.#arriving) out.push(this.#view(o));
    if (this.#queued) out.push(this.#view(this.#queued));
    const e = this.#entry;
    if (e) out.push({ ...this.#view(e.order), ...(e.type === 'limit' ? { price: e.price } : { trigger: e.price }) });
    for (const x of this.#exits) out.push({ ...this.#view(x.order), price: x.price, ...(x.qty ? { qty: x.qty } : {}) });
    const p = this.#pos;
    if (p) {
      const side = p.dir === 1 ? 'Sell' : 'Buy';
      const base = { side, positionSide: p.side, signalTime: p.signalTime, reason: p.reason } as const;
      if (this.#slOf(p)) out.push({ ...base, id: `${p.orderId}-sl`, role: 'stop_loss', type: 'stop', trigger: this.#slOf(p), price: this.#slOf(p), qty: p.qty });
      if (p.trail) out.push({ ...base, id: `${p.orderId}-trail`, role: 'trailing_stop', type: 'stop', qty: p.qty, ...(p.trail.active ? { price: this.#trailPrice(p) } : {}) });
      if (p.targets) p.targets.forEach((t, i) => out.push({ ...base, id: `${p.orderId}-tp-${i + 1}`, role: 'take_profit', type: 'limit', price: t.price, qty: t.qty }));
      else if (this.#tpOf(p)) out.push({ ...base, id: `${p.orderId}-tp`, role: 'take_profit', type: 'limit', price: this.#tpOf(p), qty: p.qty });
    }
    return out;
  }
  subscribe(listener: BrokerListener): () => void {
    return this.#listeners.subscribe(listener);
  }
  #emit(e: BrokerEvent): void {
    this.#listeners.emit(e);
  }

  #view(o: OrderRequest): PendingOrder {
    const pl = o.order;
    return {
      id: o.id,
      role: o.purpose,
      type: pl?.type ?? 'market',
      side: o.side,
      positionSide: o.positionSide,
      ...(pl?.type === 'limit' ? { price: pl.price, postOnly: pl.postOnly, ...(pl.expiresAfter !== undefined ? { expiresAfter: pl.expiresAfter } : {}) } : {}),
      ...(pl?.type === 'stop' ? { trigger: pl.trigger } : {}),
      signalTime: o.signalTime,
      reason: o.reason,
    };
  }

  /** A buy limit at `limit` crosses `price` when it is at or above it (a sell: at or below). */
  #crosses(side: 'Buy' | 'Sell', limit: number, price: number): boolean {
    return side === 'Buy' ? limit >= price : limit <= price;
  }

  /** Mark-to-market equity at `mark`: initial balance + realised net PnL + the open position's PnL net of its fees so far. */
  equity(mark: number): number {
    const p = this.#pos;
    if (!p) return this.#initial + this.#realizedNum;
    return this.#initial + this.#realizedNum + p.dir * p.qtyNum * (mark - p.entryNum) - p.entryFeeNum - p.fundingNum;
  }

  /** Realised net PnL so far, exact. */
  realized(): Dec {
    if (!this.#exact) return this.#realizedDec;
    const units = scaledToDec(this.#realizedUnits, this.#exact.k);
    return this.#mixed ? this.#realizedDec.add(units) : units;
  }

  /** A price as an exact number of ticks, or NaN. The simulator's prices are decimals of a candle's double or tick multiples: either way the decimal is this many ticks when the check holds. */
  #ticksOf(num: number): number {
    if (this.#exact === undefined) return NaN;
    const n = Math.round(num / this.#tickNum);
    return Math.abs(n * this.#tickScale.m) < 1e15 && multipleToNumber(n, this.#tickScale) === num ? n : NaN;
  }

  /** The position's decimals, made from its ticks when not made yet (a sweep's position, see OpenPosition). */
  #entryPriceOf(p: OpenPosition): Dec {
    return (p.entryPrice ??= p.entryFill!.price);
  }
  #feeLeftOf(p: OpenPosition): Dec {
    return (p.entryFeeLeft ??= p.entryFill!.fee);
  }
  #slOf(p: OpenPosition): Dec | undefined {
    return p.sl ?? (p.slTicks === p.slTicks ? (p.sl = this.#tickPrice(p.slTicks)) : undefined);
  }
  #tpOf(p: OpenPosition): Dec | undefined {
    return p.tp ?? (p.tpTicks === p.tpTicks ? (p.tp = this.#tickPrice(p.tpTicks)) : undefined);
  }
  readonly #lazyDec: LazyDecimals<OpenPosition> = {
    price: (ticks) => this.#tickPrice(ticks),
    fee: (qty, steps, price, ticks, liquidity) => this.#feeAt(qty, steps, price, ticks, liquidity),
    entryPrice: (p) => this.#entryPriceOf(p),
    sl: (p) => this.#slOf(p),
    tp: (p) => this.#tpOf(p),
  };

  /** `n` whole ticks as a decimal: the kept one when there is a cache. */
  #tickPrice(n: number): Dec {
    const b = this.#bucket;
    if (b === undefined) return this.#rules.tickSize.mul(n);
    let d = b.prices.get(n, 0);
    if (d === undefined) b.prices.set(n, 0, (d = this.#rules.tickSize.mul(n)));
    return d;
  }

  /** The decimal of a candle's price: `new D(num)`, or the same value kept (when it is whole ticks). */
  #priceOf(num: number): Dec {
    if (this.#bucket !== undefined) {
      const n = this.#ticksOf(num);
      if (n === n) return this.#tickPrice(n);
    }
    return new D(num);
  }

  /** The fee of `qty` (`steps` steps) at `price` (`ticks` ticks): #fee's decimal, kept when a cache holds whole steps and ticks. */
  #feeAt(qty: Dec, steps: number, price: Dec, ticks: number, liquidity: Liquidity): Dec {
    const b = this.#bucket;
    if (b === undefined || steps !== steps || ticks !== ticks) return this.#fee(qty, price, liquidity);
    const table = liquidity === 'taker' ? b.taker : b.maker;
    let d = table.get(ticks, steps);
    if (d === undefined) table.set(ticks, steps, (d = this.#fee(qty, price, liquidity)));
    return d;
  }

  /** A quantity as an exact number of steps, or NaN (checked once per quantity decimal). */
  #stepsOf(qty: Dec, qtyNum: number): number {
    if (this.#exact === undefined) return NaN;
    let n = this.#qtySteps.get(qty);
    if (n === undefined) {
      const k = Math.round(qtyNum / this.#stepNum);
      n = Math.abs(k * this.#stepScale.m) < 1e15 && this.#rules.qtyStep.mul(k).eq(qty) ? k : NaN;
      this.#qtySteps.set(qty, n);
    }
    return n;
  }

  observe(c: Candle): void {
    if (this.#fundingTimes !== undefined && this.#fundingIdx < this.#fundingTimes.length) this.#settleFunding(c);
    if (this.#arriving.length > 0 || this.#queued !== undefined) this.#arrive(c);
    const p = this.#pos;
    if (this.#entry === undefined && this.#exits.length === 0) {
      if (p !== undefined) {
        if (p.simple) {
          if (p.slNum === p.slNum || p.tpNum === p.tpNum) this.#checkStops(p, c);
        } else this.#walk(c);
      }
    } else this.#walk(c);
    this.#lastClose = c.close;
  }

  /** The orders decided on the last close reach the market at this open, in the order they were decided. */
  #arrive(c: Candle): void {
    const arriving = this.#arriving;
    this.#arriving = [];
    for (const order of arriving) {
      // A stop or target the open gaps through is on the exchange already: it fires at the open before
      // an exit order decided on the previous close can arrive.
      const held = this.#pos;
      if (order.purpose === 'exit' && held !== undefined) {
        if (held.simple) {
          if (this.#gapsThrough(held, c.open)) this.#checkStops(held, c);
        } else this.#openPoint(held, c);
      }
      if (order.purpose === 'entry') this.#place(order, c);
      else if (this.#pos) this.#exitOrder(order, c);
    }
    // A reversal: the entry decided with the exit fills at the same open, once the exit has closed the position.
    const next = this.#queued;
    if (next !== undefined) {
      this.#queued = undefined;
      if (this.#pos) this.#emit({ type: 'rejected', order: next, reason: 'the exit before this entry did not close the position' });
      else this.#place(next, c);
    }
  }

  /** An entry reaching the market: a market order fills at the open; a limit or a stop rests (and may fill at the open). */
  #place(order: OrderRequest, c: Candle): void {
    if (this.#pos || this.#entry) {
      this.#emit({ type: 'rejected', order, reason: this.#pos ? 'a position is open' : 'an entry order is already resting' });
      return;
    }
    const o = order.order;
    if (o === undefined || o.type === 'market') {
      // A sweep's run makes the price's decimal only if something reads it (undefined: the open's).
      const price = this.#noSlip ? (this.#lazy ? undefined : this.#priceOf(c.open)) : slippedPrice(order.side, dec(c.open), this.#fm.slippageBps, this.#rules.tickSize);
      this.#fillEntry(order, c, price, price === undefined || this.#noSlip ? c.open : price.toNumber(), c.open, 'taker', 'market');
      return;
    }
    const price = o.type === 'limit' ? o.price : o.trigger;
    const num = price.toNumber();
    const marketable = o.type === 'limit' && this.#crosses(order.side, num, this.#lastClose);
    this.#entry = { order, type: o.type, price, num, marketable, fresh: true };
    this.#emit({ type: 'order', order: this.orders().find((x) => x.id === order.id)! });
  }

  /** An exit reaching the market: at market it fills at the open (slipped); a limit rests. */
  #exitOrder(order: OrderRequest, c: Candle): void {
    const p = this.#pos!;
    let qty: Dec | undefined;
    if (order.fraction !== undefined && order.fraction < 1) {
      qty = roundDownToStep(p.qty.mul(order.fraction), this.#rules.qtyStep);
      const rest = p.qty.sub(qty);
      if (qty.lt(this.#rules.minQty) || (rest.gt(0) && rest.lt(this.#rules.minQty))) {
        this.#emit({ type: 'rejected', order, reason: `a ${order.fraction} part of ${p.qty.toFixed()} is ${qty.toFixed()} and leaves ${rest.toFixed()}: below the minimum qty ${this.#rules.minQty.toFixed()}` });
        return;
      }
    }
    const o = order.order;
    if (o?.type === 'limit') {
      const num = o.price.toNumber();
      this.#exits.push({ order, price: o.price, num, qty, marketable: this.#crosses(order.side, num, this.#lastClose), fresh: true });
      this.#emit({ type: 'order', order: this.orders().find((x) => x.id === order.id)! });
      return;
    }
    const lazy = this.#lazy && this.#noSlip;
    this.#exit(p, c.openTime, lazy ? undefined : this.#slip(p, this.#priceOf(c.open)), qty, 'signal', order.reason, 'taker', order.id, undefined, this.#noSlip ? c.open : NaN);
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

  /**
   * Opens the position: `price` is the fill price (slipped for taker fills), `market` the market price
   * at the fill (a trailing stop starts from it).
   */
  #fillEntry(order: OrderRequest, c: Candle, given: Dec | undefined, priceNum: number, market: number, liquidity: Liquidity, orderType: OrderType): boolean {
    if (this.#pos) return false; // one position at a time; the engine never asks otherwise
    const side = order.positionSide;
    const sized = this.#size(order, given, priceNum);
    if (!sized.ok) {
      this.#emit({ type: 'rejected', order, reason: sized.reason });
      return false;
    }
    const qty = sized.qty;
    let qtyNum = this.#qtyNums.get(qty);
    if (qtyNum === undefined) this.#qtyNums.set(qty, (qtyNum = qty.toNumber()));
    const entryTicks = this.#ticksOf(priceNum);
    const qtySteps = this.#stepsOf(qty, qtyNum);
    // A sweep's market entry of whole ticks and steps with one stop and one target: its decimals (price,
    // fee, stop, target) are made only if read, from the ticks (the same values).
    const lazy = given === undefined && entryTicks === entryTicks && qtySteps === qtySteps && liquidity === 'taker' && orderType === 'market' && !order.targets && !order.trailingStop;
    const price = lazy ? undefined : (given ?? this.#priceOf(priceNum));
    const fee = price === undefined ? undefined : this.#feeAt(qty, qtySteps, price, entryTicks, liquidity);
    const sl = order.stopLoss ? this.#level(side, true, order.stopLoss, price, priceNum, lazy) : undefined;
    const tp = order.takeProfit ? this.#level(side, false, order.takeProfit, price, priceNum, lazy) : undefined;
    const fill: Fill =
      price === undefined
        ? new LazyFill(this.#lazyDec, order.id, c.openTime, order.side, qty, qtySteps, entryTicks, liquidity, 'entry')
        : orderType === 'market'
          ? { orderId: order.id, time: c.openTime, side: order.side, qty, price, fee: fee!, liquidity, purpose: 'entry' }
          : { orderId: order.id, time: c.openTime, side: order.side, qty, price, fee: fee!, liquidity, purpose: 'entry', orderType };
    const positionId = ++this.#positionSeq;
    const p: OpenPosition = {
      side,
      dir: side === 'long' ? 1 : -1,
      qty,
      qtyNum,
      entryNum: priceNum,
      entryPrice: price,
      entryTicks,
      qtySteps,
      sl: sl?.dec,
      tp: tp?.dec,
      slTicks: sl && sl.dec === undefined ? sl.ticks : NaN,
      tpTicks: tp && tp.dec === undefined ? tp.ticks : NaN,
      slNum: sl ? sl.num : NaN,
      tpNum: tp ? tp.num : NaN,
      entryTime: c.openTime,
      signalTime: order.signalTime,
      entryFeeNum: liquidity === 'taker' ? qtyNum * priceNum * this.#fm.takerFee : fee!.toNumber(),
      entryFill: fill,
      entryFeeLeft: fee,
      funding: ZERO,
      fundingNum: 0,
      reason: order.reason,
      raised: sized.raisedToMin,
      positionId,
      orderType,
      liquidity,
      parts: 0,
      simple: true,
      orderId: order.id,
    };
    if (order.targets) {
      const tick = this.#rules.tickSize;
      this.#setTargets(p, order.targets.map((t) => ({ price: targetPrice(side, price!, t, tick), fraction: t.fraction })), qty);
    }
    if (order.trailingStop) {
      const t = trailingLevels(side, price!, order.trailingStop as never, this.#rules.tickSize);
      const actNum = t.activation ? t.activation.toNumber() : NaN;
      p.trail = { distance: t.distance, distNum: t.distance.toNumber(), actNum, activation: t.activation, active: t.activation === undefined, extreme: market };
    }
    p.simple = this.#isSimple(p);
    this.#pos = p;
    this.#emit({ type: 'fill', fill });
    this.#publish(p);
    return true;
  }

  #isSimple(p: OpenPosition): boolean {
    return !this.#path && p.targets === undefined && p.trail === undefined;
  }

  /** Partial targets for `qty`: parts rounded down to the step (merged when one would be below the minimum qty). */
  #setTargets(p: OpenPosition, targets: readonly { price: Dec; fraction: number }[], qty: Dec): void {
    const split = splitTargets(qty, targets.map((t) => t.fraction), this.#rules);
    if (split.problem) this.#emit({ type: 'notice', key: 'partial targets merged at the fill', message: `partial targets merged: ${split.problem}` });
    const list: Target[] = [];
    targets.forEach((t, i) => {
      const q = split.merged[i]!;
      if (q.gt(0)) list.push({ price: t.price, num: t.price.toNumber(), qty: q });
    });
    // Nearest first: the path reaches them in this order.
    list.sort((a, b) => (a.num - b.num) * p.dir);
    p.targets = list;
    p.tp = list[0]?.price;
    p.tpTicks = NaN;
    p.tpNum = list[0]?.num ?? NaN;
  }

  /** The position as the engine sees it, after a change. */
  #publish(p: OpenPosition): void {
    if (this.#lazy && p.trail === undefined) {
      this.#position = new LazyPosition(p, this.#lazyDec);
      this.#emit({ type: 'position', position: this.#position });
      return;
    }
    this.#position = {
      side: p.side,
      qty: p.qty,
      entryPrice: this.#entryPriceOf(p),
      stopLoss: this.#slOf(p),
      takeProfit: this.#tpOf(p),
      ...(p.trail?.active ? { trailingStop: this.#trailPrice(p) } : {}),
      openedAt: p.entryTime,
    };
    this.#emit({ type: 'position', position: this.#position });
  }

  /** Taker fee of a fill: qty x price x rate, with qty x rate kept per quantity (entries repeat sizes). */
  #feeOf(qty: Dec, price: Dec): Dec {
    let qr = this.#qtyTaker.get(qty);
    if (!qr) this.#qtyTaker.set(qty, (qr = qty.mul(this.#taker)));
    return qr.mul(price);
  }

  #fee(qty: Dec, price: Dec, liquidity: Liquidity): Dec {
    return liquidity === 'taker' ? this.#feeOf(qty, price) : qty.mul(price).mul(this.#maker);
  }

  /** sizeQty, with an exact float shortcut for the common case (quote size far from a step boundary). */
  #size(order: OrderRequest, price: Dec | undefined, priceNum: number): SizeResult {
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
    return sizeQty(size, price ?? this.#priceOf(priceNum), this.#rules, this.#fm.minQtyPolicy, { maxNotional: this.#maxNotional });
  }

  /** A stop (or target) price as a decimal and as the exact double, rounded to the tick half up. */
  #level(side: PositionSide, isStop: boolean, level: PriceLevel, price: Dec | undefined, priceNum: number, lazy = false): { dec: Dec | undefined; num: number; ticks: number } {
    if ('pct' in level) {
      const below = isStop === (side === 'long');
      const r = fastRoundTicks(priceNum * (below ? 1 - level.pct : 1 + level.pct), this.#tickNum);
      // Lazy: the decimal (r ticks) is made when read.
      if (r !== undefined) return { dec: lazy ? undefined : this.#tickPrice(r), num: multipleToNumber(r, this.#tickScale), ticks: r };
    }
    if ('pct' in level) {
      // Near a half tick: the decimal rule (price x (1 -/+ pct) / tick, rounded half up) in integers, when
      // the entry is whole ticks and pct a short decimal.
      const r = this.#pctTicks(this.#ticksOf(priceNum), level.pct, isStop === (side === 'long'));
      if (r === r) return { dec: lazy ? undefined : this.#tickPrice(r), num: multipleToNumber(r, this.#tickScale), ticks: r };
    }
    const at = price ?? this.#priceOf(priceNum);
    const d = isStop ? stopPrice(side, at, level, this.#rules.tickSize) : targetPrice(side, at, level, this.#rules.tickSize);
    return { dec: d, num: d.toNumber(), ticks: NaN };
  }

  /** pct as m x 10^-k (k <= 15), per pct: undefined when it is not a short decimal. */
  readonly #pcts = new Map<number, { m: number; pow: number } | undefined>();

  /**
   * round-half-up(ticks x (1 -/+ pct)) exactly, as stopPrice/targetPrice round a price of `ticks` whole
   * ticks moved by pct to the tick: ticks x (10^k -/+ m) / 10^k in integers; NaN when not exact.
   */
  #pctTicks(ticks: number, pct: number, below: boolean): number {
    if (ticks !== ticks || this.#exact === undefined) return NaN;
    let s = this.#pcts.get(pct);
    if (s === undefined && !this.#pcts.has(pct)) {
      const x = scaledOf(new D(pct));
      s = x !== undefined && x.k <= 15 ? { m: x.m, pow: 10 ** x.k } : undefined;
      this.#pcts.set(pct, s);
    }
    return s === undefined ? NaN : offsetTicks(ticks, s, below);
  }

  #gapsThrough(p: OpenPosition, open: number): boolean {
    return p.dir === 1 ? open <= p.slNum || open >= p.tpNum : open >= p.slNum || open <= p.tpNum;
  }

  /** Today's rule for one stop and one target over a whole candle (the fast path). */
  #checkStops(p: OpenPosition, c: Candle): void {
    const sl = p.slNum;
    const tp = p.tpNum;
    const long = p.dir === 1;
    // A sweep's run passes the prices as numbers (and ticks): their decimals are made only if read.
    const lazy = this.#lazy && this.#noSlip;
    if (long ? c.open <= sl : c.open >= sl) return this.#close(c.openTime, lazy ? undefined : this.#slip(p, this.#priceOf(c.open)), 'stop_loss', 'opened through the stop loss', undefined, c.open);
    if (long ? c.open >= tp : c.open <= tp) return this.#close(c.openTime, lazy ? undefined : this.#slip(p, this.#priceOf(c.open)), 'take_profit', 'opened through the take profit', undefined, c.open);
    const slHit = long ? c.low <= sl : c.high >= sl;
    const tpHit = long ? c.high >= tp : c.low <= tp;
    const lazySl = lazy && p.sl === undefined;
    const lazyTp = lazy && p.tp === undefined;
    if (slHit) {
      const alt = tpHit && !lazyTp ? this.#slip(p, this.#tpOf(p)!) : undefined;
      return this.#close(c.openTime, lazySl ? undefined : this.#slip(p, this.#slOf(p)!), 'stop_loss', tpHit ? AMBIGUOUS : 'stop loss touched', alt, sl, lazySl ? p.slTicks : NaN, tpHit && lazyTp ? p.tpTicks : NaN);
    }
    if (tpHit) return this.#close(c.openTime, lazyTp ? undefined : this.#slip(p, this.#tpOf(p)!), 'take_profit', 'take profit touched', undefined, tp, lazyTp ? p.tpTicks : NaN);
  }

  // ---- The path inside a candle (every order type) ----

  /**
   * Walks the candle's path: the open (gaps), then open → nearer extreme → other extreme → close. The
   * resting entry may fill on the way; the position's levels and resting exits are checked from the fill
   * (or the open) on.
   */
  #walk(c: Candle): void {
    const upFirst = c.high - c.open <= c.open - c.low;
    const pts = [c.open, upFirst ? c.high : c.low, upFirst ? c.low : c.high, c.close];
    // The open: a resting entry, the levels and the resting exits the gap jumped execute at the open.
    if (this.#entry && !this.#pos) this.#entryAtOpen(c);
    const held = this.#pos;
    if (held) {
      this.#openPoint(held, c);
      if (this.#pos && !this.#path) this.#stopFirst(this.#pos, c, pts, 0, c.open);
    }
    for (let k = 1; k < 4; k++) {
      let from = pts[k - 1]!;
      const to = pts[k]!;
      if (from === to) continue;
      if (this.#entry && !this.#pos) {
        const at = this.#entryOnSegment(this.#entry, from, to);
        if (at !== undefined) {
          const opened = this.#fillResting(this.#entry, c, at);
          if (!opened) continue;
          from = at;
          // Only the rest of the path can reach the new position's levels.
          if (!this.#path) this.#stopFirst(this.#pos!, c, pts, k, from);
        }
      }
      const p = this.#pos;
      if (p) this.#segment(p, c, from, to);
    }
    if (this.#entry) this.#entry.fresh = false;
    for (const x of this.#exits) x.fresh = false;
  }

  /** A resting entry the open gaps through fills at the open (a better price than its own). */
  #entryAtOpen(c: Candle): void {
    const e = this.#entry!;
    const o = c.open;
    const buy = e.order.side === 'Buy';
    const hit = e.type === 'limit' ? this.#limitReached(buy, e.num, o) : buy ? o >= e.num : o <= e.num;
    if (hit) this.#fillResting(e, c, o);
  }

  /** A limit buy at `limit` fills once the price is strictly below it ('through') or at it ('touch'); a sell mirrored. */
  #limitReached(buy: boolean, limit: number, price: number): boolean {
    if (buy) return this.#touch ? price <= limit : price < limit;
    return this.#touch ? price >= limit : price > limit;
  }

  /** Where on the segment `from` → `to` the resting entry fills (its price), or undefined. */
  #entryOnSegment(e: RestingEntry, from: number, to: number): number | undefined {
    const buy = e.order.side === 'Buy';
    if (e.type === 'limit') {
      // A buy limit is reached on the way down, a sell limit on the way up.
      if (buy ? to < from && this.#limitReached(true, e.num, to) : to > from && this.#limitReached(false, e.num, to)) return e.num;
      return undefined;
    }
    // A stop buy triggers on the way up at its trigger, a stop sell on the way down.
    if (buy ? to > from && to >= e.num : to < from && to <= e.num) return e.num;
    return undefined;
  }

  /** Fills the resting entry with the market at `market` (its level inside the candle, or the open). */
  #fillResting(e: RestingEntry, c: Candle, market: number): boolean {
    this.#entry = undefined;
    const order = e.order;
    if (e.type === 'limit') {
      // At its price, or at a better open.
      const atOpen = market === c.open;
      const better = order.side === 'Buy' ? market < e.num : market > e.num;
      const price = atOpen && better ? dec(c.open) : e.price;
      const liquidity: Liquidity = e.marketable && e.fresh && atOpen ? 'taker' : 'maker';
      return this.#fillEntry(order, c, price, price.toNumber(), market, liquidity, 'limit');
    }
    const base = market === c.open ? dec(c.open) : e.price;
    const price = this.#noSlip ? base : slippedPrice(order.side, base, this.#fm.slippageBps, this.#rules.tickSize);
    return this.#fillEntry(order, c, price, price.toNumber(), market, 'taker', 'stop');
  }

  /** The position's effective stop now: the stop loss, or the trailing stop when active and tighter. */
  #stopNow(p: OpenPosition): { num: number; dec?: Dec; trailing: boolean } {
    const t = p.trail;
    if (t?.active) {
      const trail = t.extreme - p.dir * t.distNum;
      if (p.slNum !== p.slNum || (p.dir === 1 ? trail > p.slNum : trail < p.slNum)) return { num: trail, trailing: true };
    }
    return { num: p.slNum, dec: this.#slOf(p), trailing: false };
  }

  #trailPrice(p: OpenPosition): Dec {
    const t = p.trail!;
    return p.dir === 1 ? dec(t.extreme).sub(t.distance) : dec(t.extreme).add(t.distance);
  }

  /** The trailing stop follows the market at `price`: activation, then the best price since. */
  #ratchet(p: OpenPosition, price: number): void {
    const t = p.trail;
    if (!t) return;
    if (!t.active) {
      if (p.dir === 1 ? price >= t.actNum : price <= t.actNum) {
        t.active = true;
        t.extreme = price;
      }
      return;
    }
    if (p.dir === 1 ? price > t.extreme : price < t.extreme) t.extreme = price;
  }

  /** The open of a candle while a position is open: what the gap jumped executes at the open. */
  #openPoint(p: OpenPosition, c: Candle): void {
    const o = c.open;
    const s = this.#stopNow(p);
    if (s.num === s.num && (p.dir === 1 ? o <= s.num : o >= s.num)) {
      this.#exit(p, c.openTime, this.#slip(p, dec(o)), undefined, s.trailing ? 'trailing_stop' : 'stop_loss', s.trailing ? 'opened through the trailing stop' : 'opened through the stop loss', 'taker');
      return;
    }
    this.#ratchet(p, o);
    this.#reachUp(p, c, o, o, true);
  }

  /**
   * Targets and resting exits reached by the market moving in the trade's favour to `to` (long: up).
   * `atOpen`: the open jumped them, so they execute at the open.
   */
  #reachUp(p: OpenPosition, c: Candle, to: number, at: number, atOpen: boolean): void {
    // Targets and limit exits, nearest first.
    for (;;) {
      if (this.#pos !== p) return;
      const t = p.targets ? p.targets[0] : p.tpNum === p.tpNum ? { price: this.#tpOf(p)!, num: p.tpNum, qty: undefined } : undefined;
      const x = this.#nearestExit(p, to);
      const tHit = t !== undefined && (p.dir === 1 ? to >= t.num : to <= t.num);
      if (!tHit && x === undefined) return;
      if (tHit && (x === undefined || (p.dir === 1 ? t!.num <= x.num : t!.num >= x.num))) {
        const price = atOpen ? dec(at) : t!.price;
        if (p.targets) p.targets.shift();
        const qty = t!.qty !== undefined && t!.qty.lt(p.qty) ? t!.qty : undefined;
        this.#exit(p, c.openTime, this.#slip(p, price), qty, 'take_profit', atOpen ? 'opened through the take profit' : 'take profit touched', 'taker');
        if (this.#pos === p) {
          p.tp = p.targets?.[0]?.price;
          p.tpTicks = NaN;
          p.tpNum = p.targets?.[0]?.num ?? NaN;
          this.#publish(p);
        }
      } else {
        const e = x!;
        this.#exits.splice(this.#exits.indexOf(e), 1);
        const price = atOpen ? dec(at) : e.price;
        const liquidity: Liquidity = e.marketable && e.fresh && atOpen ? 'taker' : 'maker';
        const qty = e.qty !== undefined && e.qty.lt(p.qty) ? e.qty : undefined;
        this.#exit(p, c.openTime, price, qty, 'signal', e.order.reason, liquidity, e.order.id);
      }
    }
  }

  /** The nearest resting limit exit the market at `to` reaches, or undefined. */
  #nearestExit(p: OpenPosition, to: number): RestingExit | undefined {
    let best: RestingExit | undefined;
    for (const x of this.#exits) {
      if (!this.#limitReached(x.order.side === 'Buy', x.num, to)) continue;
      if (best === undefined || (p.dir === 1 ? x.num < best.num : x.num > best.num)) best = x;
    }
    return best;
  }

  /** One segment of the path with the position open: a move against it may stop it out, one in its favour reaches targets. */
  #segment(p: OpenPosition, c: Candle, from: number, to: number): void {
    const favour = p.dir === 1 ? to > from : to < from;
    if (!favour) {
      const s = this.#stopNow(p);
      if (s.num === s.num && (p.dir === 1 ? to <= s.num : to >= s.num)) {
        const price = s.dec ?? (s.trailing ? this.#trailPrice(p) : new D(s.num));
        this.#exit(p, c.openTime, this.#slip(p, price), undefined, s.trailing ? 'trailing_stop' : 'stop_loss', s.trailing ? 'trailing stop touched' : 'stop loss touched', 'taker');
      }
      return;
    }
    // In the trade's favour: targets and exits in the order the price reaches them, the trailing stop ratchets.
    const t = p.trail;
    if (t && !t.active && (p.dir === 1 ? to >= t.actNum : to <= t.actNum)) this.#ratchet(p, t.actNum);
    this.#reachUp(p, c, to, to, false);
    if (this.#pos === p) {
      const before = p.trail?.extreme;
      this.#ratchet(p, to);
      if (p.trail?.active && p.trail.extreme !== before) this.#publish(p);
    }
  }

  /**
   * intrabar 'stop-first': from point `x` on segment `k` to the close, does a stop (the stop loss or the
   * trailing stop, ratcheting along the path) come at all? If so it takes the whole position at its
   * level, and the exit is ambiguous when a target or a resting exit was reachable too; otherwise the
   * path goes on and only the targets can fill.
   */
  #stopFirst(p: OpenPosition, c: Candle, pts: readonly number[], k: number, x: number): void {
    const t = p.trail ? { ...p.trail } : undefined;
    let best = x;
    let stopAt: { num: number; trailing: boolean } | undefined;
    const segs: [number, number][] = [];
    if (k === 0) segs.push([x, pts[1]!], [pts[1]!, pts[2]!], [pts[2]!, pts[3]!]);
    else {
      segs.push([x, pts[k]!]);
      for (let j = k + 1; j < 4; j++) segs.push([pts[j - 1]!, pts[j]!]);
    }
    for (const [a, b] of segs) {
      if (a === b) continue;
      const favour = p.dir === 1 ? b > a : b < a;
      if (favour) {
        if (p.dir === 1 ? b > best : b < best) best = b;
        if (t) {
          if (!t.active && (p.dir === 1 ? b >= t.actNum : b <= t.actNum)) t.active = true, (t.extreme = b);
          else if (t.active && (p.dir === 1 ? b > t.extreme : b < t.extreme)) t.extreme = b;
        }
        continue;
      }
      let s = p.slNum;
      let trailing = false;
      if (t?.active) {
        const trail = t.extreme - p.dir * t.distNum;
        if (s !== s || (p.dir === 1 ? trail > s : trail < s)) (s = trail), (trailing = true);
      }
      if (s === s && (p.dir === 1 ? b <= s : b >= s)) {
        stopAt = { num: s, trailing };
        if (t) p.trail = t;
        break;
      }
    }
    if (!stopAt) return;
    // The best price over the whole rest of the candle decides whether a target was reachable too.
    for (const [, b] of segs) if (p.dir === 1 ? b > best : b < best) best = b;
    const near = p.targets ? p.targets[0]?.num : p.tpNum;
    let alt: number | undefined = near !== undefined && near === near && (p.dir === 1 ? best >= near : best <= near) ? near : undefined;
    const x2 = this.#nearestExit(p, best);
    if (x2 && (alt === undefined || (p.dir === 1 ? x2.num < alt : x2.num > alt))) alt = x2.num;
    const price = stopAt.trailing ? this.#trailPrice(p) : this.#slOf(p)!;
    const altPrice = alt === undefined ? undefined : this.#slip(p, new D(alt));
    this.#exit(p, c.openTime, this.#slip(p, price), undefined, stopAt.trailing ? 'trailing_stop' : 'stop_loss', alt !== undefined ? AMBIGUOUS : stopAt.trailing ? 'trailing stop touched' : 'stop loss touched', 'taker', undefined, altPrice);
  }

  /** A stop or target is a market order once triggered: it slips like any market fill. */
  #slip(p: OpenPosition, price: Dec): Dec {
    return this.#noSlip ? price : slippedPrice(p.dir === 1 ? 'Sell' : 'Buy', price, this.#fm.slippageBps, this.#rules.tickSize);
  }

  /** The exit fill and the trade it closes, through the one accounting (lib/core/accounting.ts): one fill on each side. */
  #close(time: number, price: Dec | undefined, reason: ExitReason, detail: string, altTargetPrice?: Dec, priceNum = NaN, ticks = NaN, altTicks = NaN): void {
    this.#exit(this.#pos!, time, price, undefined, reason, detail, 'taker', undefined, altTargetPrice, this.#noSlip ? priceNum : NaN, ticks, altTicks);
  }

  /**
   * Closes `qty` of the position (undefined: all that is open) at `price`: one fill and one trade row.
   * A part takes its share of the entry fee and of the funding (qty / qty open); the last part the rest.
   */
  #exit(p: OpenPosition, time: number, given: Dec | undefined, qty: Dec | undefined, reason: ExitReason, detail: string, liquidity: Liquidity, orderId?: string, altTargetPrice?: Dec, priceNum = NaN, ticks = NaN, altTicks = NaN): void {
    const id = ++this.#tradeSeq;
    const all = qty === undefined || !qty.lt(p.qty);
    const q = all ? p.qty : qty;
    // `given` undefined (a sweep's run): the price is `priceNum`, whole `ticks` when given, else a candle's
    // price (its decimal the double's); its decimal is made only if read.
    // The exact path (below) and the kept fees need the price in ticks.
    const exactable = this.#exact !== undefined && all && p.parts === 0 && p.trail === undefined && p.funding.isZero();
    const exitTicks = ticks === ticks ? ticks : given === undefined || exactable || this.#bucket !== undefined ? this.#ticksOf(priceNum === priceNum ? priceNum : given!.toNumber()) : NaN;
    const whole = all && p.parts === 0;
    let exitFill: Fill;
    let price: Dec | undefined = given;
    if (price === undefined && whole && exitTicks === exitTicks && p.qtySteps === p.qtySteps) {
      exitFill = new LazyFill(this.#lazyDec, orderId ?? `${reason}-${id}`, time, p.dir === 1 ? 'Sell' : 'Buy', q, p.qtySteps, exitTicks, liquidity, 'exit', reason);
    } else {
      price ??= exitTicks === exitTicks ? this.#tickPrice(exitTicks) : new D(priceNum);
      const fee = whole ? this.#feeAt(q, p.qtySteps, price, exitTicks, liquidity) : this.#fee(q, price, liquidity);
      exitFill = { orderId: orderId ?? `${reason}-${id}`, time, side: p.dir === 1 ? 'Sell' : 'Buy', qty: q, price, fee, liquidity, purpose: 'exit', exitReason: reason };
    }
    // The entry leg this row closes: the whole entry fill, or the entry's price and qty with this part's fee.
    let entryLeg: Leg = p.entryFill!;
    let funding = p.funding;
    if (!all || p.parts > 0) {
      const fee = all ? this.#feeLeftOf(p) : this.#feeLeftOf(p).mul(q).div(p.qty);
      funding = all ? p.funding : p.funding.mul(q).div(p.qty);
      entryLeg = { qty: q, price: this.#entryPriceOf(p), fee };
    }
    // The same amounts as exact integers, when the whole position closes in one fill with no funding and
    // both prices are whole ticks (a trailing stop's price is neither a candle's nor a tick multiple: decimals).
    const ex: ExactAmounts | undefined = exactable ? exactTrade(this.#exact!, p.side, p.qtySteps, p.entryTicks, exitTicks, p.liquidity, liquidity) : undefined;
    const lazyTrade = ex !== undefined && this.#lazy;
    const ambiguous = altTargetPrice !== undefined || altTicks === altTicks;
    const fields = {
      id,
      side: p.side,
      signalTime: p.signalTime,
      entryTime: p.entryTime,
      exitTime: time,
      // A lazy trade makes the levels not made yet from their ticks (see LazyTrade).
      stopLoss: lazyTrade ? p.sl : this.#slOf(p),
      takeProfit: lazyTrade ? p.tp : this.#tpOf(p),
      exitReason: reason,
      entryReason: p.reason,
      exitDetail: detail,
      ambiguous,
      qtyRaisedToMin: p.raised,
      positionId: p.positionId,
      entryOrderType: p.orderType,
      entryLiquidity: p.liquidity,
      exitLiquidity: liquidity,
    } as const;
    let trade: Trade;
    let net: Dec | undefined;
    if (lazyTrade) {
      // The decimals are tradeFromLegs' on these fills, made if and when the trade is read.
      trade = new LazyTrade(fields, ex, this.#decimals, altTargetPrice, { sl: p.sl === undefined ? p.slTicks : NaN, tp: p.tp === undefined ? p.tpTicks : NaN, alt: altTicks });
    } else {
      if (altTargetPrice === undefined && altTicks === altTicks) altTargetPrice = this.#tickPrice(altTicks);
      const a = tradeFromLegs(p.side, entryLeg, exitFill, funding);
      net = a.netPnl;
      const { stopLoss, takeProfit, exitReason, entryReason, exitDetail, ambiguous, qtyRaisedToMin, positionId, entryOrderType, entryLiquidity, exitLiquidity } = fields;
      trade = {
        id,
        side: p.side,
        signalTime: p.signalTime,
        entryTime: p.entryTime,
        exitTime: time,
        ...amountsOf(a),
        stopLoss,
        takeProfit,
        exitReason,
        entryReason,
        exitDetail,
        ambiguous,
        netPnlIfTargetFirst: altTargetPrice ? tradeFromLegs(p.side, entryLeg, { qty: q, price: altTargetPrice, fee: this.#fee(q, altTargetPrice, 'taker') }, funding).netPnl : undefined,
        qtyRaisedToMin,
        positionId,
        entryOrderType,
        entryLiquidity,
        exitLiquidity,
      };
    }
    this.#realize(ex, net);
    if (all) {
      this.#pos = undefined;
      this.#position = FLAT;
      this.#emit({ type: 'fill', fill: exitFill });
      this.#emit({ type: 'position', position: FLAT });
      this.#emit({ type: 'trade', trade });
      // Reduce-only exits have nothing left to reduce.
      if (this.#exits.length > 0) {
        const gone = this.#exits;
        this.#exits = [];
        for (const x of gone) this.#emit({ type: 'cancelled', orderId: x.order.id, reason: 'the position closed' });
      }
      return;
    }
    p.parts++;
    p.entryFeeLeft = this.#feeLeftOf(p).sub(entryLeg.fee);
    p.funding = p.funding.sub(funding);
    p.fundingNum = p.funding.toNumber();
    p.qty = p.qty.sub(q);
    p.qtyNum = p.qty.toNumber();
    p.entryFeeNum = p.entryFeeLeft!.toNumber();
    this.#emit({ type: 'fill', fill: exitFill });
    this.#publish(p);
    this.#emit({ type: 'trade', trade });
  }

  /** A LazyTrade's decimals: its fills rebuilt from its steps and ticks (the same values), through the one accounting. */
  readonly #decimals: TradeDecimals = {
    amounts: (t) => {
      const x = t.exact;
      const qty = this.#rules.qtyStep.mul(x.qty);
      const entryPrice = this.#rules.tickSize.mul(x.entry);
      const exitPrice = this.#rules.tickSize.mul(x.exit);
      const entry = { qty, price: entryPrice, fee: this.#fee(qty, entryPrice, t.entryLiquidity ?? 'taker') };
      const exit = { qty, price: exitPrice, fee: this.#fee(qty, exitPrice, t.exitLiquidity ?? 'taker') };
      return tradeFromLegs(t.side, entry, exit, ZERO);
    },
    netAt: (t, price) => {
      const x = t.exact;
      const qty = this.#rules.qtyStep.mul(x.qty);
      const entryPrice = this.#rules.tickSize.mul(x.entry);
      const entry = { qty, price: entryPrice, fee: this.#fee(qty, entryPrice, t.entryLiquidity ?? 'taker') };
      return tradeFromLegs(t.side, entry, { qty, price, fee: this.#fee(qty, price, 'taker') }, ZERO).netPnl;
    },
    price: (ticks) => this.#tickPrice(ticks),
  };

  /** Adds a closed row's net PnL to the realised total: as integers when exact, else as a decimal. */
  #realize(ex: ExactAmounts | undefined, net: Dec | undefined): void {
    if (ex !== undefined) {
      const u = this.#realizedUnits + ex.netPnl;
      if (Number.isSafeInteger(u)) this.#realizedUnits = u;
      else {
        this.#realizedDec = this.#realizedDec.add(scaledToDec(ex.netPnl, ex.k));
        this.#mixed = true;
      }
    } else {
      this.#realizedDec = this.#realizedDec.add(net!);
      this.#mixed = true;
    }
    this.#realizedNum = this.#mixed || this.#exact === undefined ? this.realized().toNumber() : this.#realizedUnits / this.#exact.pow;
  }

  finish(last: Candle): void {
    this.droppedAtEnd += this.#arriving.length;
    this.#arriving = [];
    if (this.#queued) {
      this.droppedAtEnd++;
      this.#queued = undefined;
    }
    if (this.#entry) {
      const id = this.#entry.order.id;
      this.#entry = undefined;
      this.#emit({ type: 'cancelled', orderId: id, reason: 'the data ended' });
    }
    if (this.#pos) this.#exit(this.#pos, last.openTime, this.#lazy ? undefined : dec(last.close), undefined, 'end_of_data', 'closed at the last close of the range', 'taker', undefined, undefined, last.close);
  }
}
