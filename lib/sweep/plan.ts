/**
 * A sweep's plan from its flags: the grid's axes (every value checked against the strategy's and the
 * run's parameter schemas, then once more with the run's own checks), the combinations to run (the
 * whole grid, or a seeded random sample of it), and the notices that go with it.
 */
import { randomInt } from 'node:crypto';
import { ConfigError } from '../core/index.ts';
import { RUN_PARAMS, resolveAllParams, type ParamLayer } from '../config/index.ts';
import { MAX_GRID, combinationAt, gridSize, parseGrid, sampleIndices, type GridAxis, type GridValue } from '../engine/optimize.ts';
import type { ParamSchema } from '../strategy/index.ts';

export interface SweepPlan {
  readonly axes: GridAxis[];
  /** Combinations in the whole grid. */
  readonly total: number;
  /** The grid indices run, in order; `combos[i]` is the combination at `indices[i]`. */
  readonly indices: number[];
  readonly combos: Record<string, GridValue>[];
  /** The --random sample's seed (drawn when not given). */
  readonly seed?: number;
  readonly notices: string[];
}

/** The strategy's and the run's parameters; a strategy key wins over a run key of the same name (as in `--param`). */
export function sweepSchema(strategy: ParamSchema): ParamSchema {
  return { ...(RUN_PARAMS as ParamSchema), ...strategy };
}

export function planSweep(o: { readonly params: ParamSchema; readonly baseLayers: readonly ParamLayer[]; readonly grid: readonly string[]; readonly random?: number; readonly seed?: number }): SweepPlan {
  const axes = parseGrid(o.grid, sweepSchema(o.params));
  for (const a of axes) {
    for (const v of a.values) {
      try {
        resolveAllParams(o.params, [...o.baseLayers, { where: '--grid', values: { [a.key]: v } }]);
      } catch (err) {
        // the instrument overrides' own checks speak of --param
        if (err instanceof ConfigError) throw new ConfigError(err.message.replace(/^--param: /, '--grid: '));
        throw err;
      }
    }
  }
  const total = gridSize(axes);
  const notices: string[] = [];
  let indices: number[];
  let seed: number | undefined;
  if (o.random !== undefined) {
    seed = o.seed ?? randomInt(0, 2 ** 31);
    if (o.random >= total) notices.push(`--random ${o.random} is not less than the grid's ${total} combinations: the whole grid was run`);
    indices = sampleIndices(total, o.random, seed);
  } else {
    if (total > MAX_GRID) {
      throw new ConfigError(`--grid: ${total.toLocaleString('en')} combinations is more than ${MAX_GRID.toLocaleString('en')}; sample some with --random N (e.g. --random 1000 --seed 1), or use fewer values`);
    }
    indices = Array.from({ length: total }, (_, i) => i);
  }
  return { axes, total, indices, combos: indices.map((i) => combinationAt(axes, i)), seed, notices };
}
