/**
 * Exact money as scaled integers: a hot-path shadow of the one accounting (lib/core/accounting.ts).
 *
 * With an instrument's tick and qty step and the fee rates all short decimals (tick = mt x 10^-kt,
 * step = ms x 10^-ks, fee rate = r x 10^-kr), a price is an integer P of ticks, a quantity an integer Q
 * of steps, and every amount of a one-fill-a-side trade is an integer of the unit 10^-K (K = kt + ks +
 * the larger fee exponent):
 *
 *   value = Q x P x mt x ms x 10^(K-kt-ks)        fee = Q x P x mt x ms x r x 10^(K-kt-ks-kr)
 *   gross = (Pexit - Pentry) x Q x ...  (negated for a short)     net = gross - entry fee - exit fee
 *
 * These are the same numbers tradeFromLegs gives (its decimals are exact at 40 digits for anything below
 * 2^53), computed with doubles that hold integers exactly while every product and sum stays a safe
 * integer, which each step checks: `exactTrade` returns undefined when one would not be, and the caller
 * keeps the decimals. A trade's decimals are still what tradeFromLegs makes; these integers only let a
 * simulator add up a run's money (realised PnL, a sweep row's sums) without making decimals it never
 * prints. `LazyTrade` is a Trade whose decimal amounts are made by tradeFromLegs on first read.
 */
import { D, type Dec } from './money.ts';
import type { TradeAmounts } from './accounting.ts';
import type { ExitReason, Liquidity, OrderType, PositionSide, Trade } from './orders.ts';

/** Largest power of ten a double holds exactly (10^22): the unit's exponent stays at or below it. */
const MAX_K = 22;

/** A decimal as m x 10^-k with m a safe integer (k >= 0), or undefined. */
export function scaledOf(x: Dec): { m: number; k: number } | undefined {
  if (!x.isFinite()) return undefined;
  const k = Math.max(0, x.decimalPlaces());
  if (k > MAX_K) return undefined;
  const m = x.mul(new D(10).pow(k)).toNumber();
  return Number.isSafeInteger(m) && new D(m).div(new D(10).pow(k)).eq(x) && !Object.is(m, -0) ? { m, k } : undefined;
}

/** The instrument's and fill model's scales: what turns ticks and steps into integers of 10^-k. */
export interface ExactScale {
  /** The unit is 10^-k; pow = 10^k (exact). */
  readonly k: number;
  readonly pow: number;
  /** One step at one tick, in units: value = Q x P x valueUnit. */
  readonly valueUnit: number;
  /** Fee of one step at one tick, in units, for taker and maker fills. */
  readonly takerUnit: number;
  readonly makerUnit: number;
  /** The largest of the three units in magnitude. */
  readonly maxUnit: number;
}

/**
 * The scale for these tick, step and fee rates, or undefined when one is not a short decimal (then the
 * caller keeps decimals). A negative zero rate is refused too (its fees would be negative zeros).
 */
export function exactScale(tick: Dec, step: Dec, taker: Dec, maker: Dec): ExactScale | undefined {
  const t = scaledOf(tick);
  const s = scaledOf(step);
  const rt = taker.isZero() && taker.isNegative() ? undefined : scaledOf(taker);
  const rm = maker.isZero() && maker.isNegative() ? undefined : scaledOf(maker);
  if (!t || !s || !rt || !rm || t.m <= 0 || s.m <= 0) return undefined;
  const k = t.k + s.k + Math.max(rt.k, rm.k);
  if (k > MAX_K) return undefined;
  const one = t.m * s.m;
  const valueUnit = one * 10 ** (k - t.k - s.k);
  const takerUnit = one * rt.m * 10 ** (k - t.k - s.k - rt.k);
  const makerUnit = one * rm.m * 10 ** (k - t.k - s.k - rm.k);
  if (![one, valueUnit, takerUnit, makerUnit].every(Number.isSafeInteger)) return undefined;
  return { k, pow: 10 ** k, valueUnit, takerUnit, makerUnit, maxUnit: Math.max(Math.abs(valueUnit), Math.abs(takerUnit), Math.abs(makerUnit)) };
}

/** A one-fill-a-side trade's amounts in units of 10^-k (see the file comment), and its qty and prices. */
export interface ExactAmounts {
  readonly k: number;
  readonly pow: number;
  /** The qty in steps, the entry and exit prices in ticks. */
  readonly qty: number;
  readonly entry: number;
  readonly exit: number;
  readonly entryFee: number;
  readonly exitFee: number;
  readonly fees: number;
  readonly grossPnl: number;
  /** Negative zero exactly where tradeFromLegs' netPnl is one (a short closed at its entry price without fees). */
  readonly netPnl: number;
}

/** A third of 2^53: three amounts of this size add up exactly. */
const SAFE_THIRD = Math.floor(Number.MAX_SAFE_INTEGER / 3);

/**
 * The amounts of a trade of `qty` steps entered at `entry` ticks and closed at `exit` ticks, with the
 * fills' liquidity, no funding; undefined when an integer would leave the safe range.
 */
export function exactTrade(s: ExactScale, side: PositionSide, qty: number, entry: number, exit: number, entryLiquidity: Liquidity, exitLiquidity: Liquidity): ExactAmounts | undefined {
  // qty, entry and exit are whole numbers >= 0 (or NaN: not exact). Every product and sum below is at most
  // 3 x qty x max(entry, exit) x the largest unit in magnitude: below 2^53, each is exact.
  if (!(entry >= 0 && exit >= 0 && qty >= 0 && qty * (entry > exit ? entry : exit) * s.maxUnit <= SAFE_THIRD)) return undefined;
  const entryFee = qty * entry * (entryLiquidity === 'taker' ? s.takerUnit : s.makerUnit);
  const exitFee = qty * exit * (exitLiquidity === 'taker' ? s.takerUnit : s.makerUnit);
  const diff = (exit - entry) * qty * s.valueUnit;
  const fees = entryFee + exitFee;
  // Zero differences are +0 (decimal x - x is +0); a short's gross is the negation, so -0 on a flat trade.
  const grossPnl = side === 'long' ? diff : -diff;
  const netPnl = grossPnl - fees;
  // -0 - 0 is -0 in decimals and in doubles alike; x - x is +0 in both: the sign of a zero net is right as is.
  return { k: s.k, pow: s.pow, qty, entry, exit, entryFee, exitFee, fees, grossPnl, netPnl };
}

/**
 * A price of `ticks` whole ticks moved by a fraction f = m / pow below it (`below`) or above it, rounded
 * to the tick half up: round-half-up(ticks x (pow -/+ m) / pow), what stopPrice, targetPrice and
 * offsetPrice give in decimals (price x (1 -/+ f) / tick, rounded half up), in integers. NaN when a
 * product would not be a safe integer or the factor is not positive.
 */
export function offsetTicks(ticks: number, f: { readonly m: number; readonly pow: number }, below: boolean): number {
  const factor = below ? f.pow - f.m : f.pow + f.m;
  const a = ticks * factor;
  if (!(ticks >= 0 && factor > 0 && a <= Number.MAX_SAFE_INTEGER)) return NaN;
  let q = Math.floor(a / f.pow);
  let rest = a - q * f.pow;
  // The division is correctly rounded; its floor cannot be off for a < 2^53, but the remainder decides.
  if (rest < 0) (q -= 1), (rest += f.pow);
  else if (rest >= f.pow) (q += 1), (rest -= f.pow);
  return 2 * rest >= f.pow ? q + 1 : q;
}

/** n x 10^-k as a decimal (n a safe integer; -0 stays -0). */
export function scaledToDec(n: number, k: number): Dec {
  const d = new D(n);
  return k === 0 ? d : d.div(new D(10).pow(k));
}

/** n x 10^-k as the nearest double: what the decimal's toNumber gives (both roundings are correct). */
export function scaledToNumber(n: number, pow: number): number {
  return n / pow;
}

/** What a Trade whose decimals are made on first read holds. */
export interface LazyTradeFields {
  readonly id: number;
  readonly side: PositionSide;
  readonly signalTime: number;
  readonly entryTime: number;
  readonly exitTime: number;
  readonly stopLoss?: Dec;
  readonly takeProfit?: Dec;
  readonly exitReason: ExitReason;
  readonly entryReason: string;
  readonly exitDetail: string;
  readonly ambiguous: boolean;
  readonly qtyRaisedToMin: boolean;
  readonly positionId?: number;
  readonly entryOrderType?: OrderType;
  readonly entryLiquidity?: Liquidity;
  readonly exitLiquidity?: Liquidity;
}

/** What makes a LazyTrade's decimals when they are read (the simulator that closed it). */
export interface TradeDecimals {
  /** The trade's amounts: tradeFromLegs on its two fills. */
  amounts(t: LazyTrade): TradeAmounts;
  /** The net PnL had the trade exited at `price` (its target) instead. */
  netAt(t: LazyTrade, price: Dec): Dec;
  /** `ticks` whole ticks as a decimal (a stop, a target). */
  price(ticks: number): Dec;
}

/** A LazyTrade's stop, target and ambiguous exit's target in ticks, for the decimals not given (NaN: none). */
export interface LazyLevels {
  readonly sl: number;
  readonly tp: number;
  /** The target an ambiguous exit would have filled at. */
  readonly alt: number;
}

/**
 * A Trade whose decimal amounts (prices, qty, fees, funding, PnL and the target-first counterfactual) are
 * made on first read by the simulator that closed it (tradeFromLegs on the trade's fills, rebuilt from
 * its ticks and steps: the same decimal values),
 * and which carries the same amounts as exact scaled integers (`exact`). A sweep's runs make these: a
 * row adds up the integers and never reads a decimal. Not a plain object: spread it only after reading.
 */
export class LazyTrade implements Trade {
  readonly id: number;
  readonly side: PositionSide;
  readonly signalTime: number;
  readonly entryTime: number;
  readonly exitTime: number;
  readonly exitReason: ExitReason;
  readonly entryReason: string;
  readonly exitDetail: string;
  readonly ambiguous: boolean;
  readonly qtyRaisedToMin: boolean;
  readonly positionId?: number;
  readonly entryOrderType?: OrderType;
  readonly entryLiquidity?: Liquidity;
  readonly exitLiquidity?: Liquidity;
  readonly exact: ExactAmounts;
  #sl: Dec | undefined;
  #tp: Dec | undefined;
  readonly #levels: LazyLevels | undefined;
  #amounts: TradeAmounts | undefined;
  readonly #decimals: TradeDecimals;
  /** The target's price of an ambiguous exit (the counterfactual is made from it when read). */
  readonly #altPrice: Dec | undefined;

  constructor(f: LazyTradeFields, exact: ExactAmounts, decimals: TradeDecimals, altPrice?: Dec, levels?: LazyLevels) {
    this.id = f.id;
    this.side = f.side;
    this.signalTime = f.signalTime;
    this.entryTime = f.entryTime;
    this.exitTime = f.exitTime;
    this.#sl = f.stopLoss;
    this.#tp = f.takeProfit;
    this.#levels = levels;
    this.exitReason = f.exitReason;
    this.entryReason = f.entryReason;
    this.exitDetail = f.exitDetail;
    this.ambiguous = f.ambiguous;
    this.qtyRaisedToMin = f.qtyRaisedToMin;
    this.positionId = f.positionId;
    this.entryOrderType = f.entryOrderType;
    this.entryLiquidity = f.entryLiquidity;
    this.exitLiquidity = f.exitLiquidity;
    this.exact = exact;
    this.#decimals = decimals;
    this.#altPrice = altPrice;
  }

  #a(): TradeAmounts {
    return (this.#amounts ??= this.#decimals.amounts(this));
  }
  /** A level's price as a decimal, made when read; undefined when there is none (NaN). */
  #levelPrice(key: 'sl' | 'tp' | 'alt'): Dec | undefined {
    const t = this.#levels?.[key];
    return t !== undefined && t === t ? this.#decimals.price(t) : undefined;
  }
  get stopLoss(): Dec | undefined {
    return (this.#sl ??= this.#levelPrice('sl'));
  }
  get takeProfit(): Dec | undefined {
    return (this.#tp ??= this.#levelPrice('tp'));
  }
  get entryPrice(): Dec {
    return this.#a().entryPrice;
  }
  get exitPrice(): Dec {
    return this.#a().exitPrice;
  }
  get qty(): Dec {
    return this.#a().qty;
  }
  get entryFee(): Dec {
    return this.#a().entryFee;
  }
  get exitFee(): Dec {
    return this.#a().exitFee;
  }
  get fees(): Dec {
    return this.#a().fees;
  }
  get funding(): Dec {
    return this.#a().funding;
  }
  get grossPnl(): Dec {
    return this.#a().grossPnl;
  }
  get netPnl(): Dec {
    return this.#a().netPnl;
  }
  get netPnlIfTargetFirst(): Dec | undefined {
    const price = this.#altPrice ?? this.#levelPrice('alt');
    return price === undefined ? undefined : this.#decimals.netAt(this, price);
  }
  /** The trade as a plain object, every decimal made (what an eager simulator's trade is). */
  toPlain(): Trade {
    return {
      id: this.id,
      side: this.side,
      signalTime: this.signalTime,
      entryTime: this.entryTime,
      exitTime: this.exitTime,
      entryPrice: this.entryPrice,
      exitPrice: this.exitPrice,
      qty: this.qty,
      entryFee: this.entryFee,
      exitFee: this.exitFee,
      fees: this.fees,
      funding: this.funding,
      grossPnl: this.grossPnl,
      netPnl: this.netPnl,
      stopLoss: this.stopLoss,
      takeProfit: this.takeProfit,
      exitReason: this.exitReason,
      entryReason: this.entryReason,
      exitDetail: this.exitDetail,
      ambiguous: this.ambiguous,
      netPnlIfTargetFirst: this.netPnlIfTargetFirst,
      qtyRaisedToMin: this.qtyRaisedToMin,
      positionId: this.positionId,
      entryOrderType: this.entryOrderType,
      entryLiquidity: this.entryLiquidity,
      exitLiquidity: this.exitLiquidity,
    };
  }
}

/** A trade's exact scaled amounts when it carries them (a LazyTrade). */
export function exactOf(t: Trade): ExactAmounts | undefined {
  return t instanceof LazyTrade ? t.exact : undefined;
}

/** A trade's net PnL as a number (the decimal's toNumber), without making the decimal when it is exact. */
export function netPnlNumber(t: Trade): number {
  const x = t instanceof LazyTrade ? t.exact : undefined;
  return x !== undefined ? x.netPnl / x.pow : t.netPnl.toNumber();
}
