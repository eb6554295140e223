/**
 * The config file (`pyr.config.json`, or `--config`): what it may hold, checked. Reading the file is the
 * command line's business; this checks its text. Pure.
 */
import { ConfigError } from '../core/index.ts';
import { suggest } from '../strategy/params.ts';

/** Top-level keys a config file may hold. */
export const CONFIG_KEYS = ['strategy', 'symbol', 'interval', 'category', 'dataDir', 'from', 'to', 'out', 'params', 'restUrl', 'wsUrl', 'journal'] as const;
export interface ConfigFile {
  strategy?: string;
  symbol?: string;
  interval?: string;
  category?: string;
  dataDir?: string;
  from?: string;
  to?: string;
  out?: string;
  params?: Record<string, unknown>;
  /** Bybit REST base URL override (a mirror or the local exchange). */
  restUrl?: string;
  /** Bybit WebSocket URL override. */
  wsUrl?: string;
  /** Live journal file. */
  journal?: string;
}

/** Checks a config file's text (`where` names it in errors); returns its settings. */
export function parseConfigText(text: string, where: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: ${jsonErrorWhere(text, err as Error)}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${where}: must hold a JSON object`);
  for (const [k, v] of Object.entries(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${where}: unknown key "${k}"${suggest(k, CONFIG_KEYS)}; known: ${CONFIG_KEYS.join(', ')}`);
    if (k === 'params') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${where}: "params" must be an object`);
    } else if (typeof v !== 'string') throw new ConfigError(`${where}: "${k}" must be a string`);
  }
  return raw as ConfigFile;
}

/**
 * A JSON syntax error as "line L, column C: what", from the character position JSON.parse reports
 * (counted in UTF-16 units from 0; lines and columns from 1).
 */
export function jsonErrorWhere(text: string, err: Error): string {
  const what = err.message.replace(/\s*(in JSON )?at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '');
  const m = /at position (\d+)/.exec(err.message);
  const pos = m ? Number(m[1]) : /Unexpected end of JSON input/.test(err.message) ? text.length : undefined;
  if (pos === undefined) return `not valid JSON: ${err.message}`;
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: not valid JSON: ${what}`;
}

