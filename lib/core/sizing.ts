/**
 * Pure sizing and pricing rules shared by the simulator and the live broker: the same intent gives the
 * same quantity and the same stop/target prices whichever broker runs it.
 */
import type { InstrumentRules } from './instrument.ts';
import { D, dec, roundDownToStep, roundToTick, type Dec, type DecLike } from './money.ts';
import type { PositionSide, PriceLevel, Size } from './orders.ts';

export type MinQtyPolicy = 'raise' | 'skip';

export type SizeResult =
  | { readonly ok: true; readonly qty: Dec; readonly raisedToMin: boolean }
  | {
      readonly ok: false;
      readonly reason: string;
      /** Set when a risk limit refused the sized order (the engine reports it as a guard). */
      readonly guard?: 'maxPositionNotional';
    };

/** Limits the sized order must respect besides the exchange's rules. */
export interface SizeOptions {
  /**
   * The `maxPositionNotional` guard: the sized qty x price (after rounding down to the step and raising
   * to the minimum) must not be above this (quote currency). Undefined or 0: no limit.
   */
  readonly maxNotional?: DecLike;
}

/**
 * Quantity for `size` at `price`: quote amounts are divided by the price, then rounded down to the qty
 * step. Below the minimum qty the seed raises it to the minimum (`raise`); `skip` refuses instead.
 * An order below the minimum notional is refused (the exchange would reject it), and so is one whose
 * sized notional is above `opts.maxNotional` (`guard: 'maxPositionNotional'`, the reason naming the
 * sized notional, qty, price and the limit). The simulator and the live broker both call this.
 */
export function sizeQty(size: Size, price: DecLike, rules: InstrumentRules, policy: MinQtyPolicy = 'raise', opts: SizeOptions = {}): SizeResult {
  const p = dec(price);
  if (!(p.gt(0))) return { ok: false, reason: `no valid price to size the order (${p.toString()})` };
  const raw = size.unit === 'quote' ? new D(size.amount).div(p) : new D(size.qty);
  let qty = roundDownToStep(raw, rules.qtyStep);
  let raisedToMin = false;
  if (qty.lt(rules.minQty)) {
    if (policy === 'skip') {
      return { ok: false, reason: `qty ${raw.toSignificantDigits(8).toString()} is below the minimum ${rules.minQty.toString()} (minQtyPolicy "skip")` };
    }
    qty = rules.minQty;
    raisedToMin = true;
  }
  if (rules.maxQty && qty.gt(rules.maxQty)) {
    return { ok: false, reason: `qty ${qty.toString()} is above the maximum ${rules.maxQty.toString()}` };
  }
  if (rules.minNotional.gt(0) && qty.mul(p).lt(rules.minNotional)) {
    return { ok: false, reason: `order value ${qty.mul(p).toString()} is below the minimum notional ${rules.minNotional.toString()}` };
  }
  if (opts.maxNotional !== undefined) {
    const limit = dec(opts.maxNotional);
    if (limit.gt(0) && qty.mul(p).gt(limit)) return { ok: false, reason: notionalRefusal(qty, p, raisedToMin, limit), guard: 'maxPositionNotional' };
  }
  return { ok: true, qty, raisedToMin };
}

/**
 * Why the `maxPositionNotional` guard refuses an order of `qty` at `price`: "guard: sized notional
 * 540.123 USDT (qty 0.01 at 54012.3, raised to the minimum qty) is above maxPositionNotional 50".
 * Every figure stands between spaces (or a bracket or comma), so the engine's per-reason counts can
 * replace them (one count for every such refusal).
 */
export function notionalRefusal(qty: Dec, price: Dec, raisedToMin: boolean, limit: DecLike): string {
  return `guard: sized notional ${qty.mul(price).toFixed()} USDT (qty ${qty.toFixed()} at ${price.toFixed()}${raisedToMin ? ', raised to the minimum qty' : ''}) is above maxPositionNotional ${dec(limit).toFixed()}`;
}

/**
 * The start warning about sizing: when the instrument's minimum qty makes an entry of `amount` (quote,
 * the strategy's `usdtAmountPerTrade`) at `price` more than `ratio` times that amount, the text to warn
 * with, naming the figures; otherwise (or with `ratio` 0) undefined. Pure: `pyr backtest` calls it with
 * the close of the range's first candle, `pyr live` with the price at start.
 *
 * `amountName` names the amount in the text (default "usdtAmountPerTrade"; for a strategy without that
 * parameter, e.g. "the first entry's size"). `policy` says what happens to such entries.
 */
export function minQtyWarning(
  rules: InstrumentRules,
  amount: number,
  price: DecLike,
  ratio: number,
  opts: { readonly policy?: MinQtyPolicy; readonly amountName?: string } = {},
): string | undefined {
  if (!(ratio > 0) || !(amount > 0) || !Number.isFinite(amount)) return undefined;
  const p = dec(price);
  if (!p.gt(0)) return undefined;
  // What the order would be with the seed's policy: rounded down, then raised to the minimum.
  const sized = sizeQty({ unit: 'quote', amount }, p, rules, 'raise');
  if (!sized.ok || !sized.raisedToMin) return undefined;
  const notional = sized.qty.mul(p);
  const times = notional.div(amount);
  if (!times.gt(ratio)) return undefined;
  const policy = opts.policy ?? 'raise';
  const what = opts.amountName ?? 'usdtAmountPerTrade';
  const head = `the minimum qty ${sized.qty.toFixed()} ${rules.symbol} ≈ ${notional.toFixed(2)} USDT at ${p.toFixed()} is ${times.toFixed(1)}× ${what} ${amount} USDT`;
  return policy === 'raise'
    ? `${head}; every entry will be that size (minQtyPolicy "raise"); set minQtyPolicy=skip to refuse such entries`
    : `${head}; such entries are refused (minQtyPolicy "skip"): no entry of that size will be made`;
}

/** The per-trade quote amount a strategy declares: its `usdtAmountPerTrade` parameter, when it has one. */
export function perTradeAmount(params: Readonly<Record<string, unknown>>): number | undefined {
  const v = params.usdtAmountPerTrade;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** A stop-loss price for a position entered at `entry`, rounded to the tick (half up). */
export function stopPrice(side: PositionSide, entry: DecLike, level: PriceLevel, tick: DecLike): Dec {
  if ('price' in level) return roundToTick(level.price, tick);
  const e = dec(entry);
  const f = new D(level.pct);
  return roundToTick(side === 'long' ? e.mul(D.sub(1, f)) : e.mul(D.add(1, f)), tick);
}

/** A take-profit price for a position entered at `entry`, rounded to the tick (half up). */
export function targetPrice(side: PositionSide, entry: DecLike, level: PriceLevel, tick: DecLike): Dec {
  if ('price' in level) return roundToTick(level.price, tick);
  const e = dec(entry);
  const f = new D(level.pct);
  return roundToTick(side === 'long' ? e.mul(D.add(1, f)) : e.mul(D.sub(1, f)), tick);
}

/** Entry price moved against the trader by `bps` basis points (slippage), rounded to the tick. */
export function slippedPrice(side: 'Buy' | 'Sell', price: DecLike, bps: number, tick: DecLike): Dec {
  if (bps === 0) return dec(price);
  const f = new D(bps).div(10_000);
  const p = dec(price).mul(side === 'Buy' ? D.add(1, f) : D.sub(1, f));
  return roundToTick(p, tick);
}

/**
 * Fast exact helpers for hot paths. Each decides with float arithmetic only where the float result
 * provably cannot differ from the exact decimal one (far from a rounding boundary), and tells the
 * caller to fall back to Decimal otherwise. They return the integer multiple of the step or tick.
 */
const SAFE = 1e-7;

/** floor(amount / price / step) when it is certain; undefined near an integer boundary or out of range. */
export function fastFloorSteps(amount: number, price: number, step: number): number | undefined {
  const x = amount / price / step;
  if (!(x >= 0 && x < 1e7)) return undefined;
  const q = Math.floor(x);
  return x - q > SAFE && q + 1 - x > SAFE ? q : undefined;
}

/** round-half-up(value / tick) when it is certain; undefined near a half or out of range. */
export function fastRoundTicks(value: number, tick: number): number | undefined {
  const y = value / tick;
  if (!(y >= 0 && y < 1e12)) return undefined;
  // Float error here is a few ulps of y (< y * 1e-15); keep a margin 10x that from the half.
  return Math.abs(y - Math.floor(y) - 0.5) > 1e-9 + y * 1e-14 ? Math.round(y) : undefined;
}

/** A step or tick as m x 10^-k (m, k integers), to turn integer multiples into exact doubles. */
export function decimalScale(step: Dec): { m: number; k: number; pow: number } {
  const k = step.decimalPlaces();
  return { m: step.mul(new D(10).pow(k)).toNumber(), k, pow: 10 ** k };
}

/** n multiples of a step as the double nearest the exact decimal (what Number(text) gives). */
export function multipleToNumber(n: number, s: { m: number; pow: number }): number {
  const a = n * s.m;
  return Number.isSafeInteger(a) && s.pow <= 1e22 ? a / s.pow : Number(new D(n).mul(s.m).div(s.pow).toString());
}

/** `base` moved by `pct` below (`below`) or above it, rounded to the tick (half up): limit prices, triggers, activations. */
export function offsetPrice(base: DecLike, pct: number, below: boolean, tick: DecLike): Dec {
  const f = new D(pct);
  return roundToTick(dec(base).mul(below ? D.sub(1, f) : D.add(1, f)), tick);
}

/**
 * An entry limit's price: an absolute price, or `pct` of the deciding close in the trader's favour
 * (below it for a long, above for a short); rounded to the tick.
 */
export function limitPrice(side: PositionSide, close: DecLike, level: PriceLevel, tick: DecLike): Dec {
  if ('price' in level) return roundToTick(level.price, tick);
  return offsetPrice(close, level.pct, side === 'long', tick);
}

/** A stop entry's trigger: an absolute price, or `pct` beyond the deciding close in the trade's direction (above for a long). */
export function triggerPrice(side: PositionSide, close: DecLike, level: PriceLevel, tick: DecLike): Dec {
  if ('price' in level) return roundToTick(level.price, tick);
  return offsetPrice(close, level.pct, side === 'short', tick);
}

/**
 * A trailing stop's price distance and activation price for a position entered at `entry`: `distance`
 * as given, or `pct` of the entry price; both rounded to the tick (a distance of at least one tick). The
 * activation is `activation.pct` from the entry in the trade's favour; undefined: active from the fill.
 */
export function trailingLevels(
  side: PositionSide,
  entry: DecLike,
  t: { readonly pct?: number; readonly distance?: number; readonly activation?: { readonly pct: number } },
  tick: DecLike,
): { distance: Dec; activation?: Dec } {
  const raw = t.distance !== undefined ? new D(t.distance) : dec(entry).mul(t.pct ?? 0);
  let distance = roundToTick(raw, tick);
  if (distance.lte(0)) distance = dec(tick);
  const activation = t.activation ? offsetPrice(entry, t.activation.pct, side === 'short', tick) : undefined;
  return activation === undefined ? { distance } : { distance, activation };
}

/**
 * The quantities of partial targets for an entry of `qty`: each part `fraction × qty` rounded down to
 * the qty step; when the fractions sum to 1 the last part takes the remainder, otherwise the remainder
 * stays open (for the stop, the trailing stop or an exit). `problem` names the first part (or the
 * remainder) below the minimum qty: the intent check refuses such an intent. `merged` is what a broker
 * places when the qty at the fill makes a part too small: a part below the minimum goes into the next
 * one, and a remainder below it into the last part.
 */
export function splitTargets(qty: Dec, fractions: readonly number[], rules: InstrumentRules): { parts: Dec[]; remainder: Dec; problem?: string; merged: Dec[] } {
  const step = rules.qtyStep;
  const sum = fractions.reduce((a, f) => a.add(f), new D(0));
  const parts: Dec[] = [];
  let used = new D(0);
  fractions.forEach((f, i) => {
    const q = i === fractions.length - 1 && sum.eq(1) ? qty.sub(used) : roundDownToStep(qty.mul(f), step);
    parts.push(q);
    used = used.add(q);
  });
  const remainder = qty.sub(used);
  let problem: string | undefined;
  const low = parts.findIndex((q) => q.lt(rules.minQty));
  if (low >= 0) problem = `part ${low + 1} of ${qty.toFixed()} is ${parts[low]!.toFixed()}, below the minimum qty ${rules.minQty.toFixed()}`;
  else if (remainder.gt(0) && remainder.lt(rules.minQty)) problem = `the remainder ${remainder.toFixed()} of ${qty.toFixed()} left after the targets is below the minimum qty ${rules.minQty.toFixed()}`;
  if (problem === undefined) return { parts, remainder, merged: parts };
  const merged = parts.map(() => new D(0));
  let carry = new D(0);
  parts.forEach((q, i) => {
    const t = q.add(carry);
    if (t.lt(rules.minQty)) carry = t;
    else {
      merged[i] = t;
      carry = new D(0);
    }
  });
  let rest = remainder.add(carry);
  if (rest.gt(0) && rest.lt(rules.minQty)) {
    const last = merged.map((q) => q.gt(0)).lastIndexOf(true);
    if (last >= 0) {
      merged[last] = merged[last]!.add(rest);
      rest = new D(0);
    }
  }
  return { parts, remainder, problem, merged };
}
