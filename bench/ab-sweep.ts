/**
 * A/B of the sweep's per-combination work in one thread, interleaved so both see the same machine:
 * A = plain runs (the strategy without the indicator cache, computeMetrics then the row, as before issue 14),
 * B = the sweep's runner (cached indicators, runRow). The 432 grid over 2024-01-01..2025-08-31;
 * N combinations (default 24, spread over the grid) per round, ROUNDS rounds (default 3). Prints
 * candle-combinations/s of each, best round, and checks the rows are identical.
 * `node --import tsx bench/ab-sweep.ts`
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simBrokerFor } from '../lib/brokers/sim/index.ts';
import { RUN_PARAMS, resolveRunSpec } from '../lib/config/index.ts';
import { readCandleFile } from '../lib/data/csv.ts';
import { runSpec } from '../lib/engine/index.ts';
import { combinationAt, parseGrid } from '../lib/engine/optimize.ts';
import { computeMetrics } from '../lib/report/metrics.ts';
import { rowMetrics } from '../lib/report/optimize.ts';
import { loadStrategy, type ParamSchema } from '../lib/strategy/index.ts';
import { createRunner } from '../lib/sweep/worker.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CANDLES = path.resolve(REPO, '../shared/data/BTCUSDT-15m.csv');
const GRID = ['oversold=5:30:5', 'overbought=70:95:5', 'stopLossPct=0.003,0.005,0.01,0.02', 'takeProfitPct=0.005,0.01,0.02'];
const N = Number(process.env.N ?? 24);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const from = Date.parse('2024-01-01T00:00:00Z');
const to = Date.parse('2025-09-01T00:00:00Z');

const { series } = await readCandleFile(CANDLES);
let candles = 0;
for (let i = 0; i < series.length; i++) if (series.openTime[i]! >= from && series.openTime[i]! < to) candles++;
const { definition, file } = await loadStrategy('stochrsi-scalper', REPO);
const axes = parseGrid(GRID, { ...(RUN_PARAMS as ParamSchema), ...definition.params });
const picks = Array.from({ length: N }, (_, k) => Math.floor((k * 432) / N));
const runner = await createRunner({ strategySpec: 'stochrsi-scalper', cwd: REPO, symbol: 'BTCUSDT', category: 'linear', interval: '15', baseLayers: [], candleFile: CANDLES }, series);
const instrument = { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' } as const;
const plain = (i: number) => {
  const spec = resolveRunSpec({ definition, strategyFile: file, instrument, interval: '15', layers: [{ where: '--grid', values: combinationAt(axes, i) }] });
  const { record } = runSpec(spec, { series, source: CANDLES, funding: { none: 'no funding history' } }, simBrokerFor(spec), { runId: `optimize-${i}`, from, to });
  return rowMetrics(computeMetrics(record));
};
const cached = (i: number) => runner.runRow({ id: i, from, to, params: combinationAt(axes, i) });
const best = { a: Infinity, b: Infinity };
let same = true;
let trades = 0;
for (let r = 0; r < ROUNDS; r++) {
  let t = performance.now();
  const ra = picks.map(plain);
  best.a = Math.min(best.a, performance.now() - t);
  t = performance.now();
  const rb = picks.map(cached);
  best.b = Math.min(best.b, performance.now() - t);
  same &&= JSON.stringify(ra) === JSON.stringify(rb);
  trades = ra.reduce((n, m) => n + m.trades, 0);
}
const rate = (ms: number) => ((candles * N) / (ms / 1000) / 1e6).toFixed(2);
console.log(`${N} combinations of the 432 grid x ${candles} candles, ${trades / N} trades per run on average, best of ${ROUNDS} rounds, one thread:`);
console.log(`A plain runs (no cache, computeMetrics): ${(best.a / N).toFixed(1)} ms per run, ${rate(best.a)} M candle-combinations/s`);
console.log(`B sweep runner (cache, runRow):          ${(best.b / N).toFixed(1)} ms per run, ${rate(best.b)} M candle-combinations/s (${(best.a / best.b).toFixed(2)}x)`);
console.log(`rows identical: ${same ? 'yes' : 'NO'}`);
if (!same) process.exitCode = 1;
