/**
 * The one pure path from a strategy's intent to a broker order, shared by backtest and live.
 * It checks what a strategy returned (TypeScript's types are not there at run time), decides whether an
 * intent may be acted on now and what order expresses it; sizing and stop/target prices are worked out
 * by the broker with lib/core/sizing at the price it fills or sends at.
 */
import { StrategyError, type Intent, type OrderRequest, type Position } from '../core/index.ts';

/** Where a strategy's output came from, for the error message. */
export interface OutputOrigin {
  /** The strategy's name, and its file when known. */
  readonly strategy: string;
  readonly file?: string;
  /** Open time of the candle whose close the strategy answered. */
  readonly time: number;
  /** The close of that candle: absolute stop and target prices must be on the right side of it. */
  readonly close: number;
}

/** A strategy returned something that is not a valid intent. Names the field and the value it got. */
export class IntentError extends StrategyError {
  readonly field: string;
  readonly value: unknown;
  constructor(origin: OutputOrigin, field: string, value: unknown, problem: string) {
    const who = origin.file ? `strategy "${origin.strategy}" (${origin.file})` : `strategy "${origin.strategy}"`;
    super(`${who} returned a bad intent on the candle at ${new Date(origin.time).toISOString()}: ${field} ${problem}, got ${show(value)}`, { exitCode: 2 });
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

const ENTER_KEYS = ['kind', 'side', 'size', 'stopLoss', 'takeProfit', 'reason'];
const EXIT_KEYS = ['kind', 'reason'];
const NO_INTENTS: readonly Intent[] = Object.freeze([]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

function unknownKeys(o: Record<string, unknown>, known: readonly string[], at: string, origin: OutputOrigin): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k) || o[k] === undefined) continue;
    const near = known.find((n) => n.toLowerCase() === k.toLowerCase());
    throw new IntentError(origin, `${at}${k}`, o[k], `is not an intent field${near ? ` (did you mean "${near}"?)` : ` (known: ${known.join(', ')})`}`);
  }
}

function checkLevel(v: unknown, field: string, side: 'long' | 'short', isStop: boolean, origin: OutputOrigin): void {
  if (v === undefined) return;
  if (!isObject(v)) throw new IntentError(origin, field, v, 'must be { pct } or { price }');
  const hasPct = v.pct !== undefined;
  const hasPrice = v.price !== undefined;
  if (hasPct === hasPrice) throw new IntentError(origin, field, v, 'must have exactly one of pct or price');
  unknownKeys(v, hasPct ? ['pct'] : ['price'], `${field}.`, origin);
  if (hasPct) {
    if (!positive(v.pct)) throw new IntentError(origin, `${field}.pct`, v.pct, 'must be a finite number above 0');
    // A long's stop and a short's target are below the price: 100% or more away is at or below zero.
    if (isStop === (side === 'long') && v.pct >= 1) throw new IntentError(origin, `${field}.pct`, v.pct, `must be below 1 (a ${side}'s ${isStop ? 'stop' : 'target'} of 100% or more is at or below zero)`);
    return;
  }
  if (!positive(v.price)) throw new IntentError(origin, `${field}.price`, v.price, 'must be a finite price above 0');
  const below = isStop === (side === 'long');
  const ok = below ? v.price < origin.close : v.price > origin.close;
  if (!ok) {
    throw new IntentError(origin, `${field}.price`, v.price, `must be ${below ? 'below' : 'above'} the price ${origin.close} (a ${side}'s ${isStop ? 'stop loss' : 'take profit'} is ${below ? 'below' : 'above'} it)`);
  }
}

/** Checks one intent; returns it typed, or throws an IntentError naming the field. */
export function checkIntent(v: unknown, origin: OutputOrigin, at = ''): Intent {
  if (!isObject(v)) throw new IntentError(origin, at ? at.replace(/\.$/, '') : 'the intent', v, "must be an object such as { kind: 'enter', ... } or { kind: 'exit', ... }");
  if (v.kind !== 'enter' && v.kind !== 'exit') throw new IntentError(origin, `${at}kind`, v.kind, "must be 'enter' or 'exit'");
  if (v.reason !== undefined && typeof v.reason !== 'string') throw new IntentError(origin, `${at}reason`, v.reason, 'must be a string');
  if (v.kind === 'exit') {
    unknownKeys(v, EXIT_KEYS, at, origin);
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
  checkLevel(v.stopLoss, `${at}stopLoss`, v.side, true, origin);
  checkLevel(v.takeProfit, `${at}takeProfit`, v.side, false, origin);
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
}

export type IntentOutcome = { readonly order: OrderRequest } | { readonly skipped: string };

export function intentToOrder(intent: Intent, s: DecisionState): IntentOutcome {
  if (s.afterExit !== undefined) {
    if (intent.kind === 'exit') return { skipped: 'exit ignored: an exit was already decided on this candle' };
  } else if (s.orderInFlight) return { skipped: 'an order is already in flight' };
  const side = s.afterExit !== undefined ? 'flat' : s.position.side;
  if (intent.kind === 'enter') {
    if (side !== 'flat') return { skipped: `entry ignored: a ${side} position is open` };
    if (s.stoppedThisCandle) return { skipped: 'entry ignored: a stop loss or take profit fired on this candle' };
    if (intent.size.unit === 'quote' ? !(intent.size.amount > 0) : !(intent.size.qty > 0)) return { skipped: 'entry ignored: size must be positive' };
    return {
      order: {
        id: s.orderId,
        purpose: 'entry',
        side: intent.side === 'long' ? 'Buy' : 'Sell',
        positionSide: intent.side,
        size: intent.size,
        reduceOnly: false,
        stopLoss: intent.stopLoss,
        takeProfit: intent.takeProfit,
        reason: intent.reason ?? '',
        signalTime: s.signalTime,
        ...(s.afterExit !== undefined ? { afterExit: s.afterExit } : {}),
      },
    };
  }
  if (side === 'flat') return { skipped: 'exit ignored: no position is open' };
  return {
    order: {
      id: s.orderId,
      purpose: 'exit',
      side: side === 'long' ? 'Sell' : 'Buy',
      positionSide: side,
      reduceOnly: true,
      reason: intent.reason ?? '',
      signalTime: s.signalTime,
    },
  };
}
