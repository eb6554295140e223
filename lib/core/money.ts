/**
 * Money arithmetic: quantities, prices sent to the exchange, fees and PnL are decimals, never floats.
 * `D` is pyr's own decimal.js constructor (40 significant digits), so pyr never changes the global one.
 * These functions are pure and shared by the simulator and the live broker: both round the same way.
 */
import DecimalDefault, { type Decimal as DecimalT } from 'decimal.js';

// decimal.js's types describe a CommonJS module; at run time the ESM build's default export is the class.
const Decimal = DecimalDefault as unknown as typeof import('decimal.js').Decimal;

export const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = DecimalT;
export type DecLike = Dec | number | string;

export const ZERO = new D(0);

export function dec(x: DecLike): Dec {
  return x instanceof D ? x : new D(x);
}

/** Rounds down to a multiple of `step` (quantities: never buy more than asked). */
export function roundDownToStep(x: DecLike, step: DecLike): Dec {
  const s = dec(step);
  return dec(x).div(s).toDecimalPlaces(0, D.ROUND_FLOOR).mul(s);
}

/** Rounds to the nearest multiple of `tick`, half up (prices sent to the exchange). */
export function roundToTick(x: DecLike, tick: DecLike): Dec {
  const t = dec(tick);
  return dec(x).div(t).toDecimalPlaces(0, D.ROUND_HALF_UP).mul(t);
}

/** Number of decimals in a step such as 0.001 (3) or 0.1 (1), for printing. */
export function stepDecimals(step: DecLike): number {
  return dec(step).decimalPlaces();
}
