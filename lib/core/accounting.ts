/**
 * One accounting: how fills become a trade's prices, quantity, fees and PnL. The simulator, the live
 * broker and the tests all build trades through `tradeFromLegs`, so there is one definition of gross,
 * fees and net:
 *
 *   qty      = the exit leg's quantity (what the trade closed)
 *   gross    = exit value − entry value (Σ qty × price of each side), negated for a short
 *            = (exit VWAP − entry VWAP) × qty, without the VWAPs' rounding
 *   fees     = entry fees + exit fees
 *   net      = gross − fees − funding   (funding: paid positive, received negative)
 *
 * A leg is one side of a trade: its fills summed (`legOf`: total qty, value, VWAP price, total fee). A
 * single fill is already a leg, so the simulator passes its two fills as they are (no sums, no
 * division). All of it in decimals (lib/core/money.ts) and exact (40 significant digits): the VWAP's
 * division is reported as the price but never used for PnL, so an entry in fills whose average does not
 * terminate still has an exact gross. A zero quantity is refused with an `AccountingError`, never a NaN
 * or a zero price.
 *
 * Partial exits (later): the entry leg passed is the part of the entry an exit closes, with its share
 * of the entry fee. When the exit is smaller than the entry leg, the cost is the entry value pro rata
 * (value × qty / entry qty) and the entry fee is the leg's as given; so a ledger that closes a position
 * in several exits calls `tradeFromLegs` once per exit with its share of the entry fee and of the
 * funding, as Bybit's closed-PnL records do (opening-fee share, closing fee). Several instruments: a
 * trade's numbers carry its instrument key when the caller gives one.
 *
 * The simulator also keeps a one-fill-a-side trade's fees and PnL as exact scaled integers
 * (lib/core/exact.ts: the same numbers, checked to stay safe integers, else decimals): its realised PnL
 * and a sweep's row sums add those. The trade's decimals are still made here, by `tradeFromLegs`.
 */
import { PyrError } from './errors.ts';
import type { InstrumentKey } from './instrument.ts';
import { ZERO, type Dec } from './money.ts';
import type { PositionSide, Trade } from './orders.ts';

/** Fills that cannot make a trade (no quantity on a side). */
export class AccountingError extends PyrError {}

/** What the accounting reads from a fill. pyr's `Fill` and the live broker's executions have these. */
export interface FillAmounts {
  readonly qty: Dec;
  readonly price: Dec;
  readonly fee: Dec;
}

/**
 * One side of a trade: total quantity, volume-weighted average price, total fee, and the value
 * Σ qty × price (qty × price when absent: a single fill is a leg).
 */
export interface Leg extends FillAmounts {
  readonly value?: Dec;
}

/** A trade's numbers. */
/** A trade's amounts, the Trade fields they are (prices, qty, fees, funding, PnL), and its side. */
export type TradeAmounts = Pick<Trade, 'side' | 'qty' | 'entryPrice' | 'exitPrice' | 'entryFee' | 'exitFee' | 'fees' | 'funding' | 'grossPnl' | 'netPnl'> & {
  /** The instrument traded, when the caller gave it (runs over several instruments key trades by it). */
  readonly instrument?: InstrumentKey;
};

function positive(q: Dec): boolean {
  return q.isPositive() && !q.isZero();
}

/** Sums fills into a leg: total qty, value Σ qty × price, VWAP (value / qty) and total fee. Refuses a zero total. */
export function legOf(fills: readonly FillAmounts[], what = 'fills'): Leg {
  let qty = ZERO;
  let value = ZERO;
  let fee = ZERO;
  for (const f of fills) {
    qty = qty.add(f.qty);
    value = value.add(f.qty.mul(f.price));
    fee = fee.add(f.fee);
  }
  if (!positive(qty)) throw new AccountingError(`${what}: no quantity (${fills.length} fill${fills.length === 1 ? '' : 's'} adding up to ${qty.toFixed()})`);
  return { qty, price: value.div(qty), fee, value };
}

/**
 * The one definition of a trade's numbers, from its entry leg and its exit leg (see the file comment).
 * The trade is the exit leg's quantity; the entry leg gives the entry VWAP, the cost and the entry fee.
 */
export function tradeFromLegs(side: PositionSide, entry: Leg, exit: Leg, funding: Dec = ZERO): TradeAmounts {
  const qty = exit.qty;
  if (!positive(qty)) throw new AccountingError(`a ${side} trade's exit has no quantity (${qty.toFixed()})`);
  const whole = entry.qty === qty || entry.qty.eq(qty);
  if (!whole && !positive(entry.qty)) throw new AccountingError(`a ${side} trade's entry has no quantity (${entry.qty.toFixed()})`);
  let diff: Dec;
  if (whole && entry.value === undefined && exit.value === undefined) {
    // One fill a side, same qty (the simulator's fast path): exit value − entry value is (exit − entry) × qty,
    // the same decimal (no rounding within 40 significant digits), for one subtraction and one product.
    diff = exit.price.sub(entry.price).mul(qty);
  } else {
    const entryValue = entry.value ?? entry.qty.mul(entry.price);
    const cost = whole ? entryValue : entryValue.mul(qty).div(entry.qty);
    diff = (exit.value ?? qty.mul(exit.price)).sub(cost);
  }
  const grossPnl = side === 'long' ? diff : diff.neg();
  const fees = entry.fee.add(exit.fee);
  const beforeFunding = grossPnl.sub(fees);
  const netPnl = funding.isZero() ? beforeFunding : beforeFunding.sub(funding);
  return { side, qty, entryPrice: entry.price, exitPrice: exit.price, entryFee: entry.fee, exitFee: exit.fee, fees, funding, grossPnl, netPnl };
}

/** A round trip from its fills: `legOf` on each side, then `tradeFromLegs`. */
export function tradeFromFills(t: {
  readonly side: PositionSide;
  readonly entryFills: readonly FillAmounts[];
  readonly exitFills: readonly FillAmounts[];
  readonly funding?: Dec;
  readonly instrument?: InstrumentKey;
}): TradeAmounts {
  const entry = legOf(t.entryFills, `the ${t.side} trade's entry fills`);
  const exit = legOf(t.exitFills, `the ${t.side} trade's exit fills`);
  const amounts = tradeFromLegs(t.side, entry, exit, t.funding ?? ZERO);
  return t.instrument === undefined ? amounts : { ...amounts, instrument: t.instrument };
}

/** A trade's amounts (prices, qty, fees, funding, PnL) as the Trade fields they are: one copy for every broker. */
export function amountsOf(a: TradeAmounts): Pick<Trade, 'entryPrice' | 'exitPrice' | 'qty' | 'entryFee' | 'exitFee' | 'fees' | 'funding' | 'grossPnl' | 'netPnl'> {
  return { entryPrice: a.entryPrice, exitPrice: a.exitPrice, qty: a.qty, entryFee: a.entryFee, exitFee: a.exitFee, fees: a.fees, funding: a.funding, grossPnl: a.grossPnl, netPnl: a.netPnl };
}
