/**
 * Typed parameter schemas. A strategy declares its parameters once (type, default, range, description);
 * the same declaration drives validation, `--param key=value`, config files, sweeps and reports.
 */
import { ConfigError } from '../core/index.ts';

export type ParamSpec =
  | { readonly type: 'number'; readonly default: number; readonly min?: number; readonly max?: number; readonly integer?: boolean; readonly description: string }
  | { readonly type: 'boolean'; readonly default: boolean; readonly description: string }
  | { readonly type: 'string'; readonly default: string; readonly choices?: readonly string[]; readonly description: string };

export type ParamSchema = Readonly<Record<string, ParamSpec>>;

export type ParamValues<S extends ParamSchema> = {
  -readonly [K in keyof S]: S[K] extends { type: 'number' } ? number : S[K] extends { type: 'boolean' } ? boolean : string;
};

export function defaultsOf<S extends ParamSchema>(schema: S): ParamValues<S> {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(schema)) out[k] = spec.default;
  return out as ParamValues<S>;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (x[i - 1] === y[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[y.length]!;
}

/** " (did you mean "stopLossPct"?)" or "" when nothing is close. */
export function suggest(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  const close = best !== undefined && (bestD <= Math.max(2, Math.floor(key.length / 3)) || best.toLowerCase().includes(key.toLowerCase()));
  return close ? ` (did you mean "${best}"?)` : '';
}

/** Parses the text of `--param key=value` for one parameter. */
export function parseParamText(key: string, spec: ParamSpec, text: string, where: string): unknown {
  const t = text.trim();
  if (spec.type === 'number') {
    const n = Number(t);
    if (t === '' || !Number.isFinite(n)) throw new ConfigError(`${where}: ${key} must be a number, got "${text}"`);
    return n;
  }
  if (spec.type === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(t)) return true;
    if (/^(false|0|no|off)$/i.test(t)) return false;
    throw new ConfigError(`${where}: ${key} must be true or false, got "${text}"`);
  }
  return t;
}

/** Checks one value against its spec; returns it or throws a ConfigError naming the key. */
export function checkParam(key: string, spec: ParamSpec, value: unknown, where: string): unknown {
  if (spec.type === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(`${where}: ${key} must be a number, got ${JSON.stringify(value)}`);
    if (spec.integer && !Number.isInteger(value)) throw new ConfigError(`${where}: ${key} must be a whole number, got ${value}`);
    if (spec.min !== undefined && value < spec.min) throw new ConfigError(`${where}: ${key} must be >= ${spec.min}, got ${value}`);
    if (spec.max !== undefined && value > spec.max) throw new ConfigError(`${where}: ${key} must be <= ${spec.max}, got ${value}`);
    return value;
  }
  if (spec.type === 'boolean') {
    if (typeof value !== 'boolean') throw new ConfigError(`${where}: ${key} must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }
  if (typeof value !== 'string') throw new ConfigError(`${where}: ${key} must be a string, got ${JSON.stringify(value)}`);
  if (spec.choices && !spec.choices.includes(value)) throw new ConfigError(`${where}: ${key} must be one of ${spec.choices.join(', ')}, got "${value}"`);
  return value;
}

/**
 * Applies layers of overrides (each with a name for messages, e.g. "pyr.config.json" or "--param")
 * over the schema's defaults. Unknown keys are rejected with a suggestion.
 */
export function resolveParams<S extends ParamSchema>(
  schema: S,
  layers: readonly { readonly where: string; readonly values: Readonly<Record<string, unknown>> }[],
): ParamValues<S> {
  const out: Record<string, unknown> = defaultsOf(schema);
  const known = Object.keys(schema);
  for (const layer of layers) {
    for (const [key, raw] of Object.entries(layer.values)) {
      const spec = schema[key];
      if (!spec) throw new ConfigError(`${layer.where}: unknown parameter "${key}"${suggest(key, known)}; known: ${known.join(', ')}`);
      out[key] = checkParam(key, spec, raw, layer.where);
    }
  }
  return out as ParamValues<S>;
}
