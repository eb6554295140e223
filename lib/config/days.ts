/** UTC days as the command line names them (YYYY-MM-DD). Pure. */
import { ConfigError } from '../core/index.ts';

/** Parses a YYYY-MM-DD day (UTC) for a flag; returns its start in epoch ms. */
export function parseDay(text: string, flag: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) throw new ConfigError(`${flag}: expected a date as YYYY-MM-DD, got "${text}"`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new ConfigError(`${flag}: "${text}" is not a real date`);
  }
  return t;
}

export function dayString(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

