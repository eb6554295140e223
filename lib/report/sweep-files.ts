/**
 * The files a sweep writes (`pyr optimize`): optimize.csv and optimize.json, and for a walk-forward also
 * walk-forward.csv, walk-forward.json and oos-trades.csv; the settings object they start with; and a
 * fresh output folder. Every file is written atomically (a temp file renamed).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RunRecord } from '../core/index.ts';
import { lowerIsBetter, type GridAxis, type OptimizeMetric } from '../engine/optimize.ts';
import { tradesCsv, writeFileAtomic } from './files.ts';
import type { Metrics } from './metrics.ts';
import { jsonWithRows, rowsCsv, windowsCsv, type OptimizeRow, type WalkForwardWindowResult } from './optimize.ts';

export interface SweepSettingsInput {
  readonly strategy: string;
  readonly symbol: string;
  readonly category: string;
  readonly interval: string;
  /** UTC days, inclusive. */
  readonly from: string;
  readonly to: string;
  readonly metric: OptimizeMetric;
  readonly axes: readonly GridAxis[];
  /** Combinations in the whole grid. */
  readonly total: number;
  readonly indices: readonly number[];
  readonly seed?: number;
  readonly baseParams: Record<string, unknown>;
  readonly candleFile: string;
  readonly fundingCharged: boolean;
  readonly notices: readonly string[];
}

/** The head of optimize.json (and of the summary): what was swept, how, on what. */
export function sweepSettings(command: string, s: SweepSettingsInput): Record<string, unknown> {
  return {
    command,
    strategy: s.strategy,
    symbol: s.symbol,
    category: s.category,
    interval: s.interval,
    from: s.from,
    to: s.to,
    metric: s.metric,
    metricOrder: lowerIsBetter(s.metric) ? 'lower is better' : 'higher is better',
    grid: Object.fromEntries(s.axes.map((a) => [a.key, a.values])),
    gridCombinations: s.total,
    sampling: s.seed !== undefined ? { kind: 'random', samples: s.indices.length, seed: s.seed } : { kind: 'grid' },
    combinations: s.indices.length,
    baseParams: s.baseParams,
    candles: s.candleFile,
    funding: s.fundingCharged ? 'charged' : 'none',
    notices: s.notices,
  };
}

/** `out` resolved, or a new `backtests/optimize-<UTC time>[-k]` folder under `cwd`; created. */
export async function sweepOutDir(cwd: string, out: string | undefined): Promise<string> {
  let dir = out !== undefined ? path.resolve(cwd, out) : '';
  if (!dir) {
    const base = path.resolve(cwd, 'backtests', `optimize-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`);
    dir = base;
    for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

/** optimize.csv and optimize.json of a sweep. */
export async function writeSweepFiles(dir: string, settings: Record<string, unknown>, rows: readonly OptimizeRow[], axes: readonly GridAxis[]): Promise<{ csv: string; json: string }> {
  const files = { csv: path.join(dir, 'optimize.csv'), json: path.join(dir, 'optimize.json') };
  await writeFileAtomic(files.csv, rowsCsv(rows, axes, false));
  await writeFileAtomic(files.json, jsonWithRows(settings, rows));
  return files;
}

/** A walk-forward's five files; returns them and walk-forward.json's content. */
export async function writeWalkForwardFiles(
  dir: string,
  settings: Record<string, unknown>,
  r: { readonly rows: readonly OptimizeRow[]; readonly windows: readonly WalkForwardWindowResult[]; readonly totals: unknown; readonly oos: Metrics; readonly oosRecord: RunRecord },
  axes: readonly GridAxis[],
  metric: OptimizeMetric,
): Promise<{ files: { csv: string; json: string; windowsCsv: string; walkForward: string; oosTrades: string }; walkForward: Record<string, unknown> }> {
  const files = {
    csv: path.join(dir, 'optimize.csv'),
    json: path.join(dir, 'optimize.json'),
    windowsCsv: path.join(dir, 'walk-forward.csv'),
    walkForward: path.join(dir, 'walk-forward.json'),
    oosTrades: path.join(dir, 'oos-trades.csv'),
  };
  await writeFileAtomic(files.csv, rowsCsv(r.rows, axes, true));
  await writeFileAtomic(files.json, jsonWithRows(settings, r.rows));
  await writeFileAtomic(files.windowsCsv, windowsCsv(r.windows, axes, metric));
  await writeFileAtomic(files.oosTrades, tradesCsv(r.oosRecord));
  const walkForward = { ...settings, windows: r.windows, totals: r.totals, oosMetrics: r.oos };
  await writeFileAtomic(files.walkForward, `${JSON.stringify(walkForward, null, 2)}\n`);
  return { files, walkForward };
}
