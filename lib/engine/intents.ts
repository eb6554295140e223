/**
 * The one pure path from a strategy's intent to a broker order, shared by backtest and live.
 * It checks what a strategy returned (TypeScript's types are not there at run time), decides whether an
 * intent may be acted on now and what order expresses it; sizing and stop/target prices are worked out
 * by the broker with lib/core/sizing at the price it fills or sends at.
 */
import {
  D,
  StrategyError,
  limitPrice,
  roundDownToStep,
  sizeQty,
  splitTargets,
  stopPrice,
  targetPrice,
  trailingLevels,
  triggerPrice,
  type AmendRequest,
  type CancelRequest,
  type InstrumentRules,
  type Intent,
  type MinQtyPolicy,
  type OrderFeature,
  type OrderPlacement,
  type OrderRequest,
  type Position,
  type PositionSide,
  type PriceLevel,
  type TargetPart,
} from '../core/index.ts';

/** Where a strategy's output came from, for the error message. */
export interface OutputOrigin {
  /** The strategy's name, and its file when known. */
  readonly strategy: string;
  readonly file?: string;
  /** Open time of the candle whose close the strategy answered. */
  readonly time: number;
  /** The close of that candle: absolute stop and target prices must be on the right side of it. */
  readonly close: number;
  /**
   * The instrument rules and the minimum-qty policy: with them the check sizes an entry with partial
   * targets at its limit, trigger or the close, and refuses targets leaving a part or a remainder below
   * the minimum qty (without them that check is left to the broker at the fill).
   */
  readonly rules?: InstrumentRules;
  readonly minQtyPolicy?: MinQtyPolicy;
  /** The position when the strategy decided: an amendment's levels must be on the right side of the close for it. */
  readonly position?: { readonly side: PositionSide | 'flat'; readonly entryPrice: number };
}

/** A strategy returned something that is not a valid intent. Names the field and the value it got. */
export class IntentError extends StrategyError {
  readonly field: string;
  readonly value: unknown;
  constructor(origin: OutputOrigin, field: string, value: unknown, problem: string, after = '') {
    const who = origin.file ? `strategy "${origin.strategy}" (${origin.file})` : `strategy "${origin.strategy}"`;
    super(`${who} returned a bad intent on the candle at ${new Date(origin.time).toISOString()}: ${field} ${problem}, got ${show(value)}${after}`, { exitCode: 2 });
    this.field = field;
    this.value = value;
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'function') return 'a function';
  try {
    const s = JSON.stringify(v);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return String(v);
  }
}

const ENTER_KEYS = ['kind', 'side', 'size', 'order', 'stopLoss', 'takeProfit', 'trailingStop', 'reason'];
const EXIT_KEYS = ['kind', 'fraction', 'order', 'reason'];
const CANCEL_KEYS = ['kind', 'reason'];
const AMEND_KEYS = ['kind', 'stopLoss', 'takeProfit', 'trailingStop', 'reason'];
const NO_INTENTS: readonly Intent[] = Object.freeze([]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

function unknownKeys(o: Record<string, unknown>, known: readonly string[], at: string, origin: OutputOrigin): void {
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k) || known.includes(k) || o[k] === undefined) continue;
    const near = known.find((n) => n.toLowerCase() === k.toLowerCase()) ?? known.find((n) => editDistance(n.toLowerCase(), k.toLowerCase()) <= 2);
    throw new IntentError(origin, `${at}${k}`, o[k], `is not an intent field${near ? ` (did you mean "${near}"?)` : ` (known: ${known.join(', ')})`}`);
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * A stop or target level. `from` is the price a `pct` is measured from when the check can place it (an
 * amendment: the entry price); `close` is the price a level must be on the right side of.
 */
function checkLevel(v: unknown, field: string, side: 'long' | 'short', isStop: boolean, origin: OutputOrigin, extra: readonly string[] = [], from?: number): void {
  if (v === undefined) return;
  if (!isObject(v)) throw new IntentError(origin, field, v, 'must be { pct } or { price }');
  const hasPct = v.pct !== undefined;
  const hasPrice = v.price !== undefined;
  if (hasPct === hasPrice) throw new IntentError(origin, field, v, 'must have exactly one of pct or price');
  unknownKeys(v, [hasPct ? 'pct' : 'price', ...extra], `${field}.`, origin);
  const below = isStop === (side === 'long');
  const what = `a ${side}'s ${isStop ? 'stop loss' : 'take profit'}`;
  if (hasPct) {
    if (!positive(v.pct)) throw new IntentError(origin, `${field}.pct`, v.pct, 'must be a finite number above 0');
    // A long's stop and a short's target are below the price: 100% or more away is at or below zero.
    if (below && v.pct >= 1) throw new IntentError(origin, `${field}.pct`, v.pct, `must be below 1 (a ${side}'s ${isStop ? 'stop' : 'target'} of 100% or more is at or below zero)`);
    if (from !== undefined) {
      const at = from * (below ? 1 - v.pct : 1 + v.pct);
      if (below ? !(at < origin.close) : !(at > origin.close)) {
        throw new IntentError(origin, `${field}.pct`, v.pct, `puts ${what} at ${at} from the entry price ${from}, ${below ? 'not below' : 'not above'} the price ${origin.close} (Bybit refuses a level on the wrong side)`);
      }
    }
    return;
  }
  if (!positive(v.price)) throw new IntentError(origin, `${field}.price`, v.price, 'must be a finite price above 0');
  const ok = below ? v.price < origin.close : v.price > origin.close;
  if (!ok) throw new IntentError(origin, `${field}.price`, v.price, `must be ${below ? 'below' : 'above'} the price ${origin.close} (${what} is ${below ? 'below' : 'above'} it)`);
}

/** A take profit: one level, or a non-empty list of `{ pct | price, fraction }` whose fractions sum to at most 1. */
function checkTakeProfit(v: unknown, field: string, side: 'long' | 'short', origin: OutputOrigin, from?: number): readonly number[] | undefined {
  if (!Array.isArray(v)) {
    checkLevel(v, field, side, false, origin, [], from);
    return undefined;
  }
  if (v.length === 0) throw new IntentError(origin, field, v, 'must be a level or a non-empty list of { pct | price, fraction }');
  let sum = new D(0);
  const fractions: number[] = [];
  v.forEach((part: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(part)) throw new IntentError(origin, at, part, 'must be { pct, fraction } or { price, fraction }');
    checkLevel(part, at, side, false, origin, ['fraction'], from);
    const f = part.fraction;
    if (!positive(f) || f > 1) throw new IntentError(origin, `${at}.fraction`, f, 'must be a finite number above 0 and at most 1 (the share of the entered qty it closes)');
    sum = sum.add(f);
    fractions.push(f);
  });
  if (sum.gt(1)) throw new IntentError(origin, `${field}`, v, `fractions must sum to at most 1 (they sum to ${sum.toFixed()})`);
  return fractions;
}

function checkTrailing(v: unknown, field: string, origin: OutputOrigin): void {
  if (v === undefined) return;
  if (!isObject(v)) throw new IntentError(origin, field, v, 'must be { pct } or { distance }, with an optional activation: { pct }');
  const hasPct = v.pct !== undefined;
  const hasDistance = v.distance !== undefined;
  if (hasPct === hasDistance) throw new IntentError(origin, field, v, 'must have exactly one of pct or distance');
  unknownKeys(v, [hasPct ? 'pct' : 'distance', 'activation'], `${field}.`, origin);
  if (hasPct && (!positive(v.pct) || v.pct >= 1)) throw new IntentError(origin, `${field}.pct`, v.pct, 'must be a finite number above 0 and below 1');
  if (hasDistance && !positive(v.distance)) throw new IntentError(origin, `${field}.distance`, v.distance, 'must be a finite price distance above 0');
  const a = v.activation;
  if (a === undefined) return;
  if (!isObject(a)) throw new IntentError(origin, `${field}.activation`, a, 'must be { pct } (from the fill price in the trade\'s favour)');
  unknownKeys(a, ['pct'], `${field}.activation.`, origin);
  if (!positive(a.pct)) throw new IntentError(origin, `${field}.activation.pct`, a.pct, 'must be a finite number above 0');
}

function checkPriceOrPct(v: unknown, field: string, origin: OutputOrigin, belowMax: boolean, what: string): void {
  if (!isObject(v)) throw new IntentError(origin, field, v, 'must be { price } or { pct }');
  const hasPct = v.pct !== undefined;
  if (hasPct === (v.price !== undefined)) throw new IntentError(origin, field, v, 'must have exactly one of pct or price');
  unknownKeys(v, [hasPct ? 'pct' : 'price'], `${field}.`, origin);
  if (hasPct) {
    if (!positive(v.pct)) throw new IntentError(origin, `${field}.pct`, v.pct, `must be a finite number above 0 (${what})`);
    if (belowMax && v.pct >= 1) throw new IntentError(origin, `${field}.pct`, v.pct, `must be below 1 (${what}: 100% or more is at or below zero)`);
  } else if (!positive(v.price)) throw new IntentError(origin, `${field}.price`, v.price, 'must be a finite price above 0');
}

/** An entry's or exit's `order`. `side` is the trade's side (for an exit: unknown, undefined). Returns the price sizing uses. */
function checkOrder(v: unknown, field: string, side: 'long' | 'short' | undefined, origin: OutputOrigin, exit: boolean): number | undefined {
  if (v === undefined) return undefined;
  const types = exit ? "'market' or 'limit'" : "'market', 'limit' or 'stop'";
  if (!isObject(v)) throw new IntentError(origin, field, v, `must be { type: ${types}, ... }`);
  if (v.type === 'market') {
    unknownKeys(v, ['type'], `${field}.`, origin);
    return undefined;
  }
  if (v.type === 'limit') {
    unknownKeys(v, ['type', 'price', 'postOnly', 'expiresAfter'], `${field}.`, origin);
    // In the trader's favour: a long buys below the close (a pct of 1 or more would be at or below zero);
    // an exit's side is the position's, unknown here, so its pct stays below 1 either way.
    checkPriceOrPct(v.price, `${field}.price`, origin, exit || side === 'long', `a limit's pct is in the trader's favour: ${exit ? 'above the close to close a long, below it to close a short' : side === 'long' ? "below the close for a long" : 'above the close for a short'}`);
    if (v.postOnly !== undefined && typeof v.postOnly !== 'boolean') throw new IntentError(origin, `${field}.postOnly`, v.postOnly, 'must be true or false');
    if (v.expiresAfter !== undefined && !(typeof v.expiresAfter === 'number' && Number.isInteger(v.expiresAfter) && v.expiresAfter >= 1)) {
      throw new IntentError(origin, `${field}.expiresAfter`, v.expiresAfter, 'must be a whole number of candles, 1 or more');
    }
    const p = v.price as Record<string, number>;
    return side === undefined ? undefined : p.price ?? origin.close * (side === 'long' ? 1 - p.pct! : 1 + p.pct!);
  }
  if (v.type === 'stop' && !exit) {
    unknownKeys(v, ['type', 'trigger'], `${field}.`, origin);
    checkPriceOrPct(v.trigger, `${field}.trigger`, origin, side === 'short', `a stop's pct is beyond the close in the trade's direction: ${side === 'long' ? 'above it for a long' : 'below it for a short'}`);
    const t = v.trigger as Record<string, number>;
    if (t.price !== undefined) {
      const ok = side === 'long' ? t.price > origin.close : t.price < origin.close;
      if (!ok) throw new IntentError(origin, `${field}.trigger.price`, t.price, `must be ${side === 'long' ? 'above' : 'below'} the price ${origin.close} (a ${side}'s stop entry triggers beyond the close in the trade's direction; a limit or market order enters at a better price)`);
    }
    return t.price ?? origin.close * (side === 'long' ? 1 + t.pct! : 1 - t.pct!);
  }
  throw new IntentError(origin, `${field}.type`, v.type, `must be ${types}`);
}

/** Checks one intent; returns it typed, or throws an IntentError naming the field. */
export function checkIntent(v: unknown, origin: OutputOrigin, at = ''): Intent {
  if (!isObject(v)) throw new IntentError(origin, at ? at.replace(/\.$/, '') : 'the intent', v, "must be an object such as { kind: 'enter', ... } or { kind: 'exit', ... }");
  if (v.kind !== 'enter' && v.kind !== 'exit' && v.kind !== 'cancel' && v.kind !== 'amend') {
    // The message of the two first kinds stays as it was; a near miss of the newer ones is named.
    const near = typeof v.kind === 'string' ? ['cancel', 'amend'].find((k) => editDistance(k, String(v.kind).toLowerCase()) <= 2) : undefined;
    throw new IntentError(origin, `${at}kind`, v.kind, "must be 'enter' or 'exit'", near ? ` (did you mean "${near}"? 'cancel' and 'amend' are kinds too)` : '');
  }
  if (v.reason !== undefined && typeof v.reason !== 'string') throw new IntentError(origin, `${at}reason`, v.reason, 'must be a string');
  if (v.kind === 'cancel') {
    unknownKeys(v, CANCEL_KEYS, at, origin);
    return v as unknown as Intent;
  }
  if (v.kind === 'exit') {
    unknownKeys(v, EXIT_KEYS, at, origin);
    if (v.fraction !== undefined && (!positive(v.fraction) || v.fraction > 1)) throw new IntentError(origin, `${at}fraction`, v.fraction, 'must be a finite number above 0 and at most 1 (the share of the open qty to close)');
    checkOrder(v.order, `${at}order`, undefined, origin, true);
    return v as unknown as Intent;
  }
  if (v.kind === 'amend') {
    unknownKeys(v, AMEND_KEYS, at, origin);
    if (v.stopLoss === undefined && v.takeProfit === undefined && v.trailingStop === undefined) {
      throw new IntentError(origin, `${at}stopLoss`, undefined, 'or takeProfit or trailingStop must be given (an amendment moves at least one level)');
    }
    const pos = origin.position;
    if (pos !== undefined && pos.side !== 'flat') {
      const from = Number.isFinite(pos.entryPrice) && pos.entryPrice > 0 ? pos.entryPrice : undefined;
      checkLevel(v.stopLoss, `${at}stopLoss`, pos.side, true, origin, [], from);
      checkTakeProfit(v.takeProfit, `${at}takeProfit`, pos.side, origin, from);
    } else {
      // No position to place the levels against: their shape is checked, the intent is skipped later.
      checkLevel(v.stopLoss, `${at}stopLoss`, 'long', true, { ...origin, close: Infinity });
      checkTakeProfit(v.takeProfit, `${at}takeProfit`, 'long', { ...origin, close: 0 });
    }
    checkTrailing(v.trailingStop, `${at}trailingStop`, origin);
    return v as unknown as Intent;
  }
  unknownKeys(v, ENTER_KEYS, at, origin);
  if (v.side !== 'long' && v.side !== 'short') throw new IntentError(origin, `${at}side`, v.side, "must be 'long' or 'short'");
  const size = v.size;
  if (!isObject(size)) throw new IntentError(origin, `${at}size`, size, "must be { unit: 'quote', amount } or { unit: 'base', qty }");
  if (size.unit === 'quote') {
    unknownKeys(size, ['unit', 'amount'], `${at}size.`, origin);
    if (!positive(size.amount)) throw new IntentError(origin, `${at}size.amount`, size.amount, 'must be a finite number above 0 (USDT)');
  } else if (size.unit === 'base') {
    unknownKeys(size, ['unit', 'qty'], `${at}size.`, origin);
    if (!positive(size.qty)) throw new IntentError(origin, `${at}size.qty`, size.qty, 'must be a finite number above 0');
  } else throw new IntentError(origin, `${at}size.unit`, size.unit, "must be 'quote' or 'base'");
  const entryAt = checkOrder(v.order, `${at}order`, v.side, origin, false);
  checkLevel(v.stopLoss, `${at}stopLoss`, v.side, true, origin);
  const fractions = checkTakeProfit(v.takeProfit, `${at}takeProfit`, v.side, origin);
  checkTrailing(v.trailingStop, `${at}trailingStop`, origin);
  if (fractions && origin.rules) {
    // The parts as the broker will make them, from the qty sized at the entry's price (the limit, the
    // trigger, or the close for a market order); the broker merges parts if the fill price changes them.
    const price = entryAt ?? origin.close;
    const sized = sizeQty(size as never, String(price), origin.rules, origin.minQtyPolicy ?? 'raise');
    if (sized.ok) {
      const split = splitTargets(sized.qty, fractions, origin.rules);
      if (split.problem) throw new IntentError(origin, `${at}takeProfit`, v.takeProfit, `leaves a quantity below the minimum: ${split.problem} (qty sized at ${price})`);
    }
  }
  return v as unknown as Intent;
}

/**
 * What a strategy's `onCandle` returned, as a list of checked intents: nothing (undefined, null, an empty
 * list), one intent, or a list of them. Anything else throws an IntentError.
 */
export function checkOutput(out: unknown, origin: OutputOrigin): readonly Intent[] {
  if (out === undefined || out === null) return NO_INTENTS;
  if (Array.isArray(out)) {
    if (out.length === 0) return NO_INTENTS;
    for (let i = 0; i < out.length; i++) checkIntent(out[i], origin, `[${i}].`);
    return out as readonly Intent[];
  }
  return [checkIntent(out, origin)];
}

export interface DecisionState {
  readonly position: Position;
  readonly orderInFlight: boolean;
  /** A stop loss or take profit closed a position during the candle being decided. */
  readonly stoppedThisCandle: boolean;
  /** Open time of the candle whose close decided. */
  readonly signalTime: number;
  /** A unique client order id for the order, if one is made. */
  readonly orderId: string;
  /**
   * An exit decided on this same candle is on its way: the position counts as flat for the intents after
   * it, and an entry waits for that exit (a reversal). The id of that exit order.
   */
  readonly afterExit?: string;
  /** The deciding close: limit prices and stop triggers given as `pct` are measured from it. */
  readonly close?: number;
  /** The instrument rules: prices are rounded to its tick, a partial exit's qty to its step. */
  readonly rules?: InstrumentRules;
  /** The id of the entry order resting at the broker, if any (one pending entry at a time). */
  readonly pendingEntry?: string;
  /** What the broker can do beyond market orders with one stop and one target (`Broker.features`). */
  readonly features?: readonly OrderFeature[];
  /** The broker's name, for the reason an intent it cannot carry out is skipped. */
  readonly broker?: string;
}

/**
 * What became of one intent: an order, a cancel, an amendment, or why it was skipped. The cancel and
 * amend outcomes declare `skipped: never` (the key is never there): code written before them that tells
 * outcomes apart with `'order' in o` / `'skipped' in o` still type-checks, and at run time finds no
 * `skipped` on them.
 */
export type IntentOutcome =
  | { readonly order: OrderRequest }
  | { readonly cancel: CancelRequest; readonly skipped: never }
  | { readonly amend: AmendRequest; readonly skipped: never }
  | { readonly skipped: string };

/** A cancel or an amendment as a decision's outcome (the engine's expiry cancels are made with it too). */
export const requested = (r: { cancel: CancelRequest } | { amend: AmendRequest }): IntentOutcome => r as IntentOutcome;

/** Why the broker cannot carry out `needed`, or undefined when it can. */
function unsupported(s: DecisionState, needed: readonly (OrderFeature | false)[], what: string): IntentOutcome | undefined {
  const missing = needed.find((f): f is OrderFeature => f !== false && !(s.features ?? []).includes(f));
  return missing === undefined ? undefined : { skipped: `${what} ignored: the ${s.broker ?? ''}${s.broker ? ' ' : ''}broker does not support ${FEATURE_TEXT[missing]} yet` };
}

const FEATURE_TEXT: Record<OrderFeature, string> = {
  limit: 'limit orders',
  postOnly: 'post-only orders',
  stop: 'stop entries',
  trailingStop: 'trailing stops',
  partialTargets: 'partial targets',
  partialExit: 'partial exits',
  limitExit: 'limit exits',
  cancel: 'cancels',
  amend: 'amendments',
};

/** A limit or stop placement with its price resolved from the deciding close and rounded to the tick. */
function placement(order: unknown, side: PositionSide, s: DecisionState): OrderPlacement | string | undefined {
  const o = order as { type: string; price?: PriceLevel; trigger?: PriceLevel; postOnly?: boolean; expiresAfter?: number } | undefined;
  if (o === undefined || o.type === 'market') return undefined;
  const tick = s.rules?.tickSize;
  const needsClose = (o.type === 'limit' ? o.price : o.trigger)!;
  if (tick === undefined || ('pct' in needsClose && !(s.close !== undefined && s.close > 0))) return 'no instrument rules or deciding price to place it at';
  if (o.type === 'limit') {
    const price = limitPrice(side, s.close ?? 0, o.price!, tick);
    if (!price.gt(0)) return `its limit price rounds to ${price.toFixed()}`;
    return { type: 'limit', price, postOnly: o.postOnly === true, ...(o.expiresAfter !== undefined ? { expiresAfter: o.expiresAfter } : {}) };
  }
  return { type: 'stop', trigger: triggerPrice(side, s.close ?? 0, o.trigger!, tick) };
}

/**
 * The one pure path from a checked intent to a broker request (both brokers): an entry with its order
 * type and levels, an exit with its fraction and order, a cancel of the pending entry, an amendment of
 * the position's levels; or why the intent is skipped.
 */
export function intentToOrder(intent: Intent, s: DecisionState): IntentOutcome {
  if (intent.kind === 'cancel') return cancelOf(intent, s);
  if (intent.kind === 'amend') return amendOf(intent, s);
  if (s.afterExit !== undefined) {
    if (intent.kind === 'exit') return { skipped: 'exit ignored: an exit was already decided on this candle' };
  } else if (s.orderInFlight) return { skipped: 'an order is already in flight' };
  const side = s.afterExit !== undefined ? 'flat' : s.position.side;
  if (intent.kind === 'enter') {
    if (side !== 'flat') return { skipped: `entry ignored: a ${side} position is open` };
    if (s.stoppedThisCandle) return { skipped: 'entry ignored: a stop loss or take profit fired on this candle' };
    if (s.pendingEntry !== undefined) return { skipped: 'entry ignored: an entry order is pending (cancel it first)' };
    if (intent.size.unit === 'quote' ? !(intent.size.amount > 0) : !(intent.size.qty > 0)) return { skipped: 'entry ignored: size must be positive' };
    const o = intent.order;
    const partial = Array.isArray(intent.takeProfit);
    const no = unsupported(s, [o?.type === 'limit' && 'limit', o?.type === 'limit' && o.postOnly === true && 'postOnly', o?.type === 'stop' && 'stop', intent.trailingStop !== undefined && 'trailingStop', partial && 'partialTargets'], 'entry');
    if (no) return no;
    const placed = placement(o, intent.side, s);
    if (typeof placed === 'string') return { skipped: `entry ignored: ${placed}` };
    return {
      order: {
        id: s.orderId,
        purpose: 'entry',
        side: intent.side === 'long' ? 'Buy' : 'Sell',
        positionSide: intent.side,
        size: intent.size,
        reduceOnly: false,
        stopLoss: intent.stopLoss,
        ...(partial ? { targets: intent.takeProfit as readonly TargetPart[] } : { takeProfit: intent.takeProfit as PriceLevel | undefined }),
        ...(intent.trailingStop !== undefined ? { trailingStop: intent.trailingStop } : {}),
        ...(placed !== undefined ? { order: placed } : {}),
        reason: intent.reason ?? '',
        signalTime: s.signalTime,
        ...(s.afterExit !== undefined ? { afterExit: s.afterExit } : {}),
      },
    };
  }
  if (side === 'flat') return { skipped: 'exit ignored: no position is open' };
  const fraction = intent.fraction !== undefined && intent.fraction < 1 ? intent.fraction : undefined;
  const no = unsupported(s, [fraction !== undefined && 'partialExit', intent.order?.type === 'limit' && 'limitExit', intent.order?.type === 'limit' && intent.order.postOnly === true && 'postOnly'], 'exit');
  if (no) return no;
  if (fraction !== undefined && s.rules) {
    const part = roundDownToStep(s.position.qty.mul(fraction), s.rules.qtyStep);
    const rest = s.position.qty.sub(part);
    if (part.lt(s.rules.minQty)) return { skipped: `exit ignored: fraction ${fraction} of ${s.position.qty.toFixed()} is ${part.toFixed()}, below the minimum qty ${s.rules.minQty.toFixed()}` };
    if (rest.gt(0) && rest.lt(s.rules.minQty)) return { skipped: `exit ignored: fraction ${fraction} of ${s.position.qty.toFixed()} leaves ${rest.toFixed()}, below the minimum qty ${s.rules.minQty.toFixed()}` };
  }
  // A limit that closes a long sells above the close: priced as a short's entry limit.
  const placed = placement(intent.order, side === 'long' ? 'short' : 'long', s);
  if (typeof placed === 'string') return { skipped: `exit ignored: ${placed}` };
  return {
    order: {
      id: s.orderId,
      purpose: 'exit',
      side: side === 'long' ? 'Sell' : 'Buy',
      positionSide: side,
      reduceOnly: true,
      ...(fraction !== undefined ? { fraction } : {}),
      ...(placed !== undefined ? { order: placed } : {}),
      reason: intent.reason ?? '',
      signalTime: s.signalTime,
    },
  };
}

function cancelOf(intent: Intent & { kind: 'cancel' }, s: DecisionState): IntentOutcome {
  if (s.pendingEntry === undefined) return { skipped: 'cancel ignored: no entry order is pending' };
  const no = unsupported(s, ['cancel'], 'cancel');
  if (no) return no;
  return requested({ cancel: { kind: 'cancel', orderId: s.pendingEntry, reason: intent.reason ?? '', signalTime: s.signalTime } });
}

function amendOf(intent: Intent & { kind: 'amend' }, s: DecisionState): IntentOutcome {
  const side = s.afterExit !== undefined ? 'flat' : s.position.side;
  if (side === 'flat') return { skipped: 'amend ignored: no position is open' };
  const no = unsupported(s, ['amend', intent.trailingStop !== undefined && 'trailingStop', Array.isArray(intent.takeProfit) && 'partialTargets'], 'amend');
  if (no) return no;
  const tick = s.rules?.tickSize;
  if (tick === undefined) return { skipped: 'amend ignored: no instrument rules to price the levels' };
  const entry = s.position.entryPrice;
  const tp = intent.takeProfit;
  const targets = Array.isArray(tp) ? (tp as readonly TargetPart[]).map((t) => ({ price: targetPrice(side, entry, t, tick), fraction: t.fraction })) : undefined;
  return requested({
    amend: {
      kind: 'amend',
      id: s.orderId,
      positionSide: side,
      ...(intent.stopLoss !== undefined ? { stopLoss: stopPrice(side, entry, intent.stopLoss, tick) } : {}),
      ...(tp !== undefined && !targets ? { takeProfit: targetPrice(side, entry, tp as PriceLevel, tick) } : {}),
      ...(targets ? { targets } : {}),
      ...(intent.trailingStop !== undefined ? { trailingStop: trailingLevels(side, entry, intent.trailingStop as never, tick) } : {}),
      reason: intent.reason ?? '',
      signalTime: s.signalTime,
    },
  });
}
