/**
 * Parameter sweeps, pure parts: parsing `--grid` specs against a parameter schema, enumerating and
 * sampling combinations, ranking results by a metric, planning walk-forward windows and stitching the
 * out-of-sample runs into one record. No I/O and no threads: `lib/cli/optimize.ts` runs the plans.
 *
 * Combinations are numbered like nested loops over the `--grid` flags in the order given, the LAST flag
 * varying fastest; that number (the combination's index) is what ties are broken by, so a ranking never
 * depends on which worker finished first.
 */
import { ConfigError, D, DAY_MS, type Dec, type RunRecord, type Trade } from '../core/index.ts';
import { checkParam, parseParamText, suggest, type ParamSchema } from '../strategy/index.ts';

export type GridValue = number | boolean | string;

/** One swept parameter and its values, in order. */
export interface GridAxis {
  readonly key: string;
  readonly values: readonly GridValue[];
}

/** Grids larger than this are refused unless sampled with `--random`. */
export const MAX_GRID = 100_000;
/** One range may not expand to more values than this. */
const MAX_AXIS = 1_000_000;

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

function decimalOf(text: string, key: string, part: string): Dec {
  const t = text.trim();
  if (!NUMBER_TEXT.test(t)) throw new ConfigError(`--grid: ${key}: the range's ${part} must be a number, got "${text}"`);
  return new D(t);
}

/**
 * Parses one `--grid key=a:b:step` (inclusive range) or `--grid key=v1,v2,...` against `schema`.
 * Range values are exact decimals a + i·step (0.001:0.003:0.001 gives 0.001, 0.002, 0.003, never
 * 0.0030000000000000005). Every value is checked against the key's spec (type, whole number, min/max,
 * choices); an unknown key gets the closest known name.
 */
export function parseGridFlag(text: string, schema: ParamSchema): GridAxis {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--grid: expected key=a:b:step or key=v1,v2,..., got "${text}"`);
  const key = text.slice(0, eq).trim();
  const spec = schema[key];
  if (!spec) throw new ConfigError(`--grid: unknown parameter "${key}"${suggest(key, Object.keys(schema))}; see \`pyr strategies\` for the list`);
  const body = text.slice(eq + 1).trim();
  if (body === '') throw new ConfigError(`--grid: ${key} has no values; give a:b:step or v1,v2,...`);
  const where = '--grid';
  let values: GridValue[];
  if (body.includes(':')) {
    if (spec.type !== 'number') {
      const hint = spec.type === 'boolean' ? 'true,false' : (spec.choices ?? ['a', 'b']).join(',');
      throw new ConfigError(`--grid: ${key}: a range a:b:step needs a number parameter, ${key} is a ${spec.type}; list its values instead, e.g. ${key}=${hint}`);
    }
    const parts = body.split(':');
    if (parts.length !== 3) throw new ConfigError(`--grid: ${key}: a range is a:b:step (three numbers), got "${body}"`);
    const a = decimalOf(parts[0]!, key, 'start');
    const b = decimalOf(parts[1]!, key, 'end');
    const step = decimalOf(parts[2]!, key, 'step');
    if (!step.gt(0)) throw new ConfigError(`--grid: ${key}: the step must be > 0, got ${parts[2]!.trim()}`);
    if (b.lt(a)) throw new ConfigError(`--grid: ${key}: the range ${a.toString()}:${b.toString()} runs backwards; write it as ${b.toString()}:${a.toString()}:${step.toString()}`);
    const count = b.minus(a).div(step).floor().toNumber() + 1;
    if (count > MAX_AXIS) throw new ConfigError(`--grid: ${key}: the range has ${count} values, more than ${MAX_AXIS}; use a larger step`);
    values = [];
    for (let i = 0; i < count; i++) values.push(a.plus(step.times(i)).toNumber());
  } else {
    const items = body.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) throw new ConfigError(`--grid: ${key}: empty value in "${body}"`);
    values = items.map((s) => parseParamText(key, spec, s, where) as GridValue);
  }
  const seen = new Set<GridValue>();
  for (const v of values) {
    checkParam(key, spec, v, where);
    if (seen.has(v)) throw new ConfigError(`--grid: ${key} lists ${String(v)} twice`);
    seen.add(v);
  }
  return { key, values };
}

/** Parses every `--grid` flag; a key may be swept by one flag only. */
export function parseGrid(flags: readonly string[], schema: ParamSchema): GridAxis[] {
  if (flags.length === 0) throw new ConfigError('--grid: give at least one parameter to sweep, e.g. --grid oversold=10:30:5 --grid stopLossPct=0.003,0.005,0.01');
  const axes: GridAxis[] = [];
  for (const f of flags) {
    const axis = parseGridFlag(f, schema);
    if (axes.some((a) => a.key === axis.key)) throw new ConfigError(`--grid: ${axis.key} is given twice; put all its values in one flag`);
    axes.push(axis);
  }
  return axes;
}

/** The number of combinations (may exceed 2^53 for absurd grids: then Infinity-like, see caller). */
export function gridSize(axes: readonly GridAxis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}

/** The combination with this index (the last axis varies fastest). */
export function combinationAt(axes: readonly GridAxis[], index: number): Record<string, GridValue> {
  const out: Record<string, GridValue> = {};
  let rest = index;
  for (let k = axes.length - 1; k >= 0; k--) {
    const a = axes[k]!;
    const n = a.values.length;
    out[a.key] = a.values[rest % n]!;
    rest = Math.floor(rest / n);
  }
  // Keys in flag order, for display.
  return Object.fromEntries(axes.map((a) => [a.key, out[a.key]!]));
}

/** mulberry32: a small, fast, seeded 32-bit PRNG; returns uniform floats in [0, 1) with 53 bits. */
export function createRng(seed: number): () => number {
  let s = seed >>> 0;
  const next32 = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return () => (next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53;
}

/**
 * `n` distinct indices from [0, total), drawn with the seeded PRNG (a sparse Fisher-Yates shuffle:
 * O(n) memory whatever the total), returned ascending. With n >= total, every index.
 */
export function sampleIndices(total: number, n: number, seed: number): number[] {
  if (!Number.isSafeInteger(total) || total < 0) throw new ConfigError(`--random: the grid has too many combinations (${total}) to number; shrink it`);
  if (n >= total) return Array.from({ length: total }, (_, i) => i);
  const rng = createRng(seed);
  const swapped = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng() * (total - i));
    const atJ = swapped.get(j) ?? j;
    const atI = swapped.get(i) ?? i;
    swapped.set(j, atI);
    out.push(atJ);
  }
  return out.sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------------
// Ranking

export const OPTIMIZE_METRICS = ['sharpe', 'sortino', 'netPnl', 'profitFactor', 'winRate', 'expectancy', 'returnPct', 'maxDrawdown'] as const;
export type OptimizeMetric = (typeof OPTIMIZE_METRICS)[number];
/** The values a sweep ranks by (lib/report's Metrics has them all): null when not computable. */
export type RankedMetrics = { readonly [K in OptimizeMetric]: number | null };

/** Metrics where lower is better. */
const LOWER_IS_BETTER: ReadonlySet<OptimizeMetric> = new Set(['maxDrawdown']);

export function parseMetric(text: string): OptimizeMetric {
  if ((OPTIMIZE_METRICS as readonly string[]).includes(text)) return text as OptimizeMetric;
  throw new ConfigError(`--metric: unknown metric "${text}"${suggest(text, OPTIMIZE_METRICS)}; one of ${OPTIMIZE_METRICS.join(', ')}`);
}

export function lowerIsBetter(metric: OptimizeMetric): boolean {
  return LOWER_IS_BETTER.has(metric);
}

/** The metric's value, or null when it could not be computed (null, NaN, ±Infinity). */
export function metricValue(m: RankedMetrics, metric: OptimizeMetric): number | null {
  const v = m[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Orders rows best first by `metric` (descending, or ascending for maxDrawdown), nulls last, ties by
 * the combination index (then the window, for walk-forward rows). Returns a new array.
 */
export function rankRows<R extends { readonly index: number; readonly window?: number; readonly metrics: RankedMetrics }>(rows: readonly R[], metric: OptimizeMetric): R[] {
  const sign = lowerIsBetter(metric) ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = metricValue(a.metrics, metric);
    const vb = metricValue(b.metrics, metric);
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
    } else if (va !== vb) {
      return sign * (va - vb);
    }
    return a.index - b.index || (a.window ?? 0) - (b.window ?? 0);
  });
}

/**
 * A sweep's rows (`combos[i]` at grid index `indices[i]`, its metrics `metricsOf(i)`; undefined: the run
 * failed and has no row), ranked with `rankRows` and numbered 1.. (`window` set on walk-forward rows).
 */
export function rankedRows<M extends RankedMetrics>(
  indices: readonly number[],
  combos: readonly Readonly<Record<string, GridValue>>[],
  metricsOf: (i: number) => M | undefined,
  metric: OptimizeMetric,
  window?: number,
): { rank: number; readonly index: number; readonly window?: number; readonly params: Readonly<Record<string, GridValue>>; readonly metrics: M }[] {
  const rows = indices.flatMap((index, i) => {
    const metrics = metricsOf(i);
    return metrics ? [{ rank: 0, index, ...(window !== undefined ? { window } : {}), params: combos[i]!, metrics }] : [];
  });
  const ranked = rankRows(rows, metric);
  ranked.forEach((r, i) => (r.rank = i + 1));
  return ranked;
}

// ---------------------------------------------------------------------------------------------------
// Walk-forward

/** `90d`, `12w` or a plain number of days; returns whole days. */
export function parseSpan(text: string, flag: string): number {
  const m = /^(\d+)\s*([dw]?)$/i.exec(text.trim());
  if (!m) throw new ConfigError(`${flag}: expected a span such as 90d or 4w, got "${text}"`);
  const days = Number(m[1]) * (m[2]!.toLowerCase() === 'w' ? 7 : 1);
  if (days < 1) throw new ConfigError(`${flag}: the span must be at least one day, got "${text}"`);
  return days;
}

export interface WalkWindow {
  /** 1-based. */
  readonly n: number;
  /** In-sample start (inclusive) and end (exclusive), epoch ms at UTC day starts. */
  readonly isFrom: number;
  readonly isTo: number;
  /** Out-of-sample start (= isTo) and end (exclusive); the last may be shorter than the others. */
  readonly oosFrom: number;
  readonly oosTo: number;
}

/**
 * Rolling windows over [from, toExclusive): in-sample `isDays`, then out-of-sample `oosDays`, moved by
 * `stepDays` (default the out-of-sample length, so the out-of-sample windows tile the range after the
 * first in-sample one). The last out-of-sample window is cut at the range's end. A step shorter than the
 * out-of-sample span would make them overlap and is refused; a longer one leaves gaps.
 */
export function planWalkForward(from: number, toExclusive: number, isDays: number, oosDays: number, stepDays: number = oosDays): WalkWindow[] {
  if (stepDays < oosDays) {
    throw new ConfigError(`--step: ${stepDays}d is shorter than --out-of-sample ${oosDays}d: the out-of-sample windows would overlap`);
  }
  const out: WalkWindow[] = [];
  for (let k = 0; ; k++) {
    const isFrom = from + k * stepDays * DAY_MS;
    const isTo = isFrom + isDays * DAY_MS;
    if (isTo >= toExclusive) break;
    out.push({ n: k + 1, isFrom, isTo, oosFrom: isTo, oosTo: Math.min(isTo + oosDays * DAY_MS, toExclusive) });
  }
  if (out.length === 0) {
    const days = Math.round((toExclusive - from) / DAY_MS);
    throw new ConfigError(`--walk-forward: the range has ${days} days, not enough for --in-sample ${isDays}d plus at least one out-of-sample day; widen --from/--to or shorten --in-sample`);
  }
  return out;
}

/**
 * Joins the runs of consecutive out-of-sample windows into one record: candles and exposure side by
 * side, trades renumbered 1..n in order, and the equity curve chained (each window starts where the
 * previous one ended: its own curve shifted by the net PnL of the windows before it). computeMetrics of
 * the result gives the metrics of the whole out-of-sample span.
 */
export function stitchRuns(runs: readonly RunRecord[], meta: Partial<RunRecord['meta']> = {}): RunRecord {
  if (runs.length === 0) throw new ConfigError('--walk-forward: no out-of-sample window to stitch');
  const total = runs.reduce((n, r) => n + r.times.length, 0);
  const times = new Float64Array(total);
  const closes = new Float64Array(total);
  const equity = new Float64Array(total);
  const exposure = new Uint8Array(total);
  const trades: Trade[] = [];
  const initial = runs[0]!.meta.initialBalance;
  let offset = 0;
  let carried = new D(0);
  for (const r of runs) {
    if (r.meta.initialBalance !== initial) throw new ConfigError('--walk-forward: every window must start from the same initialBalance');
    const shift = carried.toNumber();
    times.set(r.times, offset);
    closes.set(r.closes, offset);
    exposure.set(r.exposure, offset);
    for (let i = 0; i < r.equity.length; i++) equity[offset + i] = r.equity[i]! + shift;
    for (const t of r.trades) {
      trades.push({ ...t, id: trades.length + 1 });
      carried = carried.plus(t.netPnl);
    }
    offset += r.times.length;
  }
  const first = runs[0]!;
  const last = runs[runs.length - 1]!;
  return {
    meta: { ...first.meta, to: last.meta.to, notices: [], ...meta },
    times,
    closes,
    firstOpen: first.firstOpen,
    equity,
    exposure,
    intervalMs: first.intervalMs,
    trades,
  };
}
