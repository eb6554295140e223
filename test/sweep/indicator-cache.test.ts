/**
 * Indicators computed once per sweep (issue 14 §1): the sweep's runner hands every run a caching
 * indicator factory (lib/indicators/cache.ts) that replays recorded outputs. These tests prove the
 * replay is bit-identical to an uncached run: every trade field, the equity and exposure curves (bit for
 * bit), the notices and every metric (and the sweep's row metrics, computed on their own on the hot
 * path), combination by combination, for the seed strategy (StochRsi
 * cached), pivot-bounce (FibonacciPivots cached) and a strategy that keeps its own state outside its
 * indicators; and that the cache does replay (it is not a no-op), and stays exact when the inputs diverge
 * from a record mid-way.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { simBrokerFor } from '../../lib/brokers/sim/index.ts';
import { resolveRunSpec } from '../../lib/config/index.ts';
import type { RunRecord } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { runSpec } from '../../lib/engine/index.ts';
import { combinationAt, parseGrid, type GridValue } from '../../lib/engine/optimize.ts';
import { RUN_PARAMS } from '../../lib/config/index.ts';
import { FibonacciPivots, StochRsi, createIndicatorCache } from '../../lib/indicators/index.ts';
import { computeMetrics } from '../../lib/report/metrics.ts';
import { ROW_METRICS, rowMetrics } from '../../lib/report/optimize.ts';
import { loadStrategy, type ParamSchema } from '../../lib/strategy/index.ts';
import { createRunner, type Job, type RunContext } from '../../lib/sweep/worker.ts';
import { REPO, SAMPLE_15M } from '../helpers.ts';

const FROM = Date.parse('2024-07-08T00:00:00Z');
const TO = Date.parse('2024-09-01T00:00:00Z');

/** Everything of a record, exact: Decimals as their strings, numbers bit for bit (NaN, -0 kept). */
function exact(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v;
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, exact);
  if (Array.isArray(v)) return v.map(exact);
  if (typeof (v as { toFixed?: unknown }).toFixed === 'function' && typeof (v as { isZero?: unknown }).isZero === 'function') return `D:${String(v)}`;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, exact(x)]));
}

function recordView(r: RunRecord): unknown {
  return exact({ trades: r.trades, equity: r.equity, exposure: r.exposure, notices: r.meta.notices, params: r.meta.params, warmup: r.meta.warmupCandles });
}

/**
 * Runs every combination of `grid` through the sweep's runner (one cache for all, as in a worker) and
 * through a plain backtest (the strategy as loaded, no factory in its env), and compares them exactly.
 * Returns the runner's cache stats.
 */
async function compareSweep(strategySpec: string, grid: string[], ranges: { from: number; to: number }[] = [{ from: FROM, to: TO }]): Promise<{ created: number; replayed: number; runs: number; trades: number }> {
  const { series } = await readCandleFile(SAMPLE_15M);
  const ctx: RunContext = { strategySpec, cwd: REPO, symbol: 'BTCUSDT', category: 'linear', interval: '15', baseLayers: [], candleFile: SAMPLE_15M };
  const runner = await createRunner(ctx, series);
  const { definition, file } = await loadStrategy(strategySpec, REPO);
  const axes = parseGrid(grid, { ...(RUN_PARAMS as ParamSchema), ...definition.params });
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  const instrument = { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' } as const;
  let runs = 0;
  let trades = 0;
  for (const range of ranges) {
    for (let i = 0; i < total; i++) {
      const params: Record<string, GridValue> = combinationAt(axes, i);
      const job: Job = { id: i, from: range.from, to: range.to, params };
      const cached = runner.run(job);
      const spec = resolveRunSpec({ definition, strategyFile: file, instrument, interval: '15', layers: [{ where: '--grid', values: params }] });
      const { record } = runSpec(spec, { series, source: SAMPLE_15M, funding: { none: 'no funding history' } }, simBrokerFor(spec), { runId: `optimize-${i}`, from: range.from, to: range.to });
      const where = `${strategySpec} combination ${i} (${JSON.stringify(params)})`;
      expect(recordView(cached.record), where).to.deep.equal(recordView(record));
      expect(exact(cached.metrics), where).to.deep.equal(exact(computeMetrics(record)));
      // The sweep's hot path (runRow: the row's metrics only, computeRowMetrics): the same values, same key order.
      const row = runner.runRow(job);
      expect(Object.keys(row), where).to.deep.equal([...ROW_METRICS]);
      expect(exact(row), where).to.deep.equal(exact(rowMetrics(computeMetrics(record))));
      runs++;
      trades += record.trades.length;
    }
  }
  return { ...runner.indicators.stats, runs, trades };
}

describe('sweep: indicators computed once per worker (bit-identical replay)', function () {
  this.timeout(300_000);

  it('the seed: every trade field, equity, exposure and metric equal plain backtests; StochRsi replayed', async () => {
    // oversold/stopLossPct do not change StochRsi (replayed); rsiPeriod does (a record of its own each).
    const r = await compareSweep('stochrsi-scalper', ['rsiPeriod=10,14', 'oversold=15,25,35', 'stopLossPct=0.003,0.01']);
    expect(r.runs).to.equal(12);
    expect(r.trades).to.be.greaterThan(50);
    // 12 combinations run twice (run, runRow) x (StochRsi + FibonacciPivots, the latter never updated
    // without the pivot filter): the first run of each rsiPeriod records its StochRsi, the other 11 replay it.
    expect(r.created).to.equal(48);
    expect(r.replayed).to.equal(22);
  });

  it('the seed over other ranges (another first candle, a shorter end): its own records, still exact', async () => {
    const r = await compareSweep('stochrsi-scalper', ['overbought=70,85', 'takeProfitPct=0.005,0.02'], [
      { from: FROM, to: TO },
      { from: Date.parse('2024-07-20T00:00:00Z'), to: Date.parse('2024-08-10T00:00:00Z') },
      { from: FROM, to: Date.parse('2024-08-01T00:00:00Z') },
    ]);
    expect(r.runs).to.equal(12);
    expect(r.replayed).to.be.at.least(9);
  });

  it('the seed with the pivot filter (FibonacciPivots replayed, SwingPivots computed): exact', async () => {
    const r = await compareSweep('stochrsi-scalper', ['usePivotFilter=true', 'pivotTolerancePct=0.0005,0.002', 'oversold=20,30']);
    expect(r.runs).to.equal(4);
    expect(r.replayed).to.be.at.least(6);
  });

  it('pivot-bounce: every trade field, equity, exposure and metric equal plain backtests; FibonacciPivots replayed', async () => {
    const r = await compareSweep('pivot-bounce', ['maxLevel=1,2,3', 'touchPct=0.0002,0.001', 'allowShorts=true,false']);
    expect(r.runs).to.equal(12);
    expect(r.trades).to.be.greaterThan(20);
    expect(r.replayed).to.equal(23); // 24 runs: the first records
  });

  it('a strategy with state of its own outside indicators (counters, its own average, candles kept): exact', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pyr-cache-'));
    try {
      const lib = (p: string): string => pathToFileURL(path.join(REPO, p)).href;
      const file = path.join(dir, 'stateful.ts');
      writeFileSync(
        file,
        `import { defineStrategy } from ${JSON.stringify(lib('lib/strategy/index.ts'))};
import { indicatorsOf } from ${JSON.stringify(lib('lib/indicators/index.ts'))};
export default defineStrategy({
  name: 'stateful',
  description: 'StochRSI from the factory, plus its own EMA, a cooldown counter and the candles it kept',
  params: {
    emaLength: { type: 'number', default: 20, min: 1, integer: true, description: 'own EMA' },
    cooldown: { type: 'number', default: 5, min: 0, integer: true, description: 'candles to wait after an exit' },
    level: { type: 'number', default: 30, min: 0, max: 100, description: 'K below this is low' },
  },
  warmup: () => 100,
  create(p, env) {
    const srsi = indicatorsOf(env).stochRsi({ rsiPeriod: 14 });
    const alpha = 2 / (p.emaLength + 1);
    let ema = NaN;
    let wait = 0;
    let held = 0;
    const kept = [];
    return {
      onCandle(c, ctx) {
        kept.push(c);
        if (kept.length > 50) kept.shift();
        ema = ema === ema ? ema + alpha * (c.close - ema) : c.close;
        if (!srsi.update(c.close)) return;
        const v = srsi.value;
        const before = srsi.previous;
        if (ctx.position.side !== 'flat') {
          held++;
          if (held > 12 || (v.k > 100 - p.level && c.close > ema)) { wait = p.cooldown; held = 0; return { kind: 'exit', reason: 'own rule' }; }
          return;
        }
        if (wait > 0) { wait--; return; }
        const low20 = Math.min(...kept.slice(-20).map((k) => k.low));
        if (before && v.k < p.level && v.k > before.k && c.close < ema && c.low <= low20 * 1.002) {
          return { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 10 }, stopLoss: { pct: 0.006 }, reason: 'own state' };
        }
      },
    };
  },
});
`,
      );
      const r = await compareSweep(file, ['emaLength=10,30', 'cooldown=0,8', 'level=20,40']);
      expect(r.runs).to.equal(8);
      expect(r.trades).to.be.greaterThan(20);
      expect(r.replayed).to.equal(15); // 16 runs: the first records
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a cached StochRsi whose inputs diverge from the record mid-way computes exactly what a plain one does', () => {
    const cache = createIndicatorCache();
    const closes = Array.from({ length: 600 }, (_, i) => 100 + 10 * Math.sin(i / 7) + (i % 5) * 0.3);
    const fields = (s: { rsi?: number; stoch?: number; k?: number; d?: number; prevK?: number; prevD?: number; isReady: boolean; value?: unknown; previous?: unknown }) =>
      exact({ rsi: s.rsi, stoch: s.stoch, k: s.k, d: s.d, pk: s.prevK, pd: s.prevD, ready: s.isReady, value: s.value && { ...(s.value as object) }, previous: s.previous && { ...(s.previous as object) } });
    const feed = (inputs: number[], stop = inputs.length): void => {
      const a = cache.stochRsi({ rsiPeriod: 9, stochPeriod: 11 });
      const b = new StochRsi({ rsiPeriod: 9, stochPeriod: 11 });
      for (let i = 0; i < stop; i++) {
        expect(a.update(inputs[i]!), `update ${i}`).to.equal(b.update(inputs[i]!));
        expect(fields(a), `after input ${i}`).to.deep.equal(fields(b));
      }
    };
    feed(closes, 300); // records 300
    feed(closes); // replays 300, then computes and extends the record
    const other = closes.map((x, i) => (i >= 200 ? x + 0.5 : x));
    feed(other); // replays 200, diverges, computes
    feed(closes); // replays all 600
    expect(cache.stats.replayed).to.equal(3);
  });

  it('a cached FibonacciPivots whose candles diverge mid-way gives the plain levels', () => {
    const cache = createIndicatorCache();
    const day = 86_400_000;
    const candles = Array.from({ length: 500 }, (_, i) => {
      const c = 100 + 5 * Math.sin(i / 9);
      return { openTime: 1_700_000_000_000 + i * 3_600_000, open: c, high: c + 1 + (i % 3), low: c - 1 - (i % 4), close: c + 0.2, volume: 1, turnover: 1 };
    });
    const run = (cs: typeof candles): void => {
      const a = cache.fibonacciPivots({ period: 'D' });
      const b = new FibonacciPivots({ periodMs: day });
      for (const c of cs) {
        expect(a.update(c)).to.equal(b.update(c));
        expect(exact(a.value)).to.deep.equal(exact(b.value));
        expect(a.supports()).to.deep.equal(b.supports());
      }
    };
    run(candles);
    run(candles);
    run(candles.map((c, i) => (i === 250 ? { ...c, high: c.high + 3 } : c)));
    expect(cache.stats.replayed).to.equal(2);
  });
});
