/** Number flags, checked where they are parsed: a clear error naming the flag. Pure. */
import { ConfigError } from '../core/index.ts';

/** A whole-number flag within [min, max], or undefined when not given. */
export function wholeNumberFlag(text: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const t = String(text).trim();
  if (!/^\d+$/.test(t)) throw new ConfigError(`${flag}: expected a whole number, got "${text}"`);
  const n = Number(t);
  if (n < min || n > max) throw new ConfigError(`${flag}: must be between ${min} and ${max}, got ${t}`);
  return n;
}
