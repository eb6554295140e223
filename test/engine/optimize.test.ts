/**
 * The optimizer's pure parts: --grid parsing against the seed's schema, combination numbering, seeded
 * sampling, ranking, walk-forward windows and the stitching of out-of-sample runs.
 */
import { expect } from 'chai';
import { ConfigError, D, DAY_MS, type RunRecord, type Trade } from '../../lib/core/index.ts';
import {
  MAX_GRID,
  combinationAt,
  createRng,
  gridSize,
  parseGrid,
  parseGridFlag,
  parseMetric,
  parseSpan,
  planWalkForward,
  rankRows,
  sampleIndices,
  stitchRuns,
} from '../../lib/engine/optimize.ts';
import { computeMetrics } from '../../lib/report/metrics.ts';
import { RUN_PARAMS } from '../../lib/config/index.ts';
import type { ParamSchema } from '../../lib/strategy/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';

const SCHEMA: ParamSchema = { ...(RUN_PARAMS as ParamSchema), ...seed.params };

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as Error).message;
  }
  expect.fail('expected a ConfigError');
}

describe('optimize: --grid parsing', () => {
  it('expands an integer range inclusively', () => {
    expect(parseGridFlag('oversold=10:30:5', SCHEMA)).to.deep.equal({ key: 'oversold', values: [10, 15, 20, 25, 30] });
    // the end is included only when the step lands on it
    expect(parseGridFlag('oversold=10:28:5', SCHEMA).values).to.deep.equal([10, 15, 20, 25]);
    expect(parseGridFlag('rsiPeriod=7:7:1', SCHEMA).values).to.deep.equal([7]);
  });

  it('computes float ranges without float drift', () => {
    // 0.001 + 2 * 0.001 in floats is 0.003, but 0.1 + 2 * 0.1 is 0.30000000000000004: exact decimals here
    expect(parseGridFlag('stopLossPct=0.001:0.003:0.001', SCHEMA).values).to.deep.equal([0.001, 0.002, 0.003]);
    expect(parseGridFlag('takeProfitPct=0.1:0.7:0.1', SCHEMA).values).to.deep.equal([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(parseGridFlag('stopLossPct=0.0025:0.0045:0.001', SCHEMA).values).to.deep.equal([0.0025, 0.0035, 0.0045]);
    expect(parseGridFlag('slippageBps=0:1.5:0.5', SCHEMA).values).to.deep.equal([0, 0.5, 1, 1.5]);
  });

  it('takes lists of numbers, booleans and choices', () => {
    expect(parseGridFlag('stopLossPct=0.003,0.005,0.01', SCHEMA).values).to.deep.equal([0.003, 0.005, 0.01]);
    expect(parseGridFlag('useCrossover=true,false', SCHEMA).values).to.deep.equal([true, false]);
    expect(parseGridFlag('pivotPeriod=D, W', SCHEMA).values).to.deep.equal(['D', 'W']);
    expect(parseGridFlag('minQtyPolicy=raise,skip', SCHEMA).values).to.deep.equal(['raise', 'skip']);
  });

  it('rejects unknown keys with the closest name', () => {
    const m = configError(() => parseGridFlag('oversld=10:20:5', SCHEMA));
    expect(m).to.match(/^--grid: unknown parameter "oversld" \(did you mean "oversold"\?\)/);
    expect(configError(() => parseGridFlag('stopLoss=0.01', SCHEMA))).to.contain('did you mean "stopLossPct"?');
  });

  it('rejects bad values naming the flag and the key', () => {
    expect(configError(() => parseGridFlag('oversold=10:120:10', SCHEMA))).to.equal('--grid: oversold must be <= 100, got 110');
    expect(configError(() => parseGridFlag('rsiPeriod=10:20:2.5', SCHEMA))).to.equal('--grid: rsiPeriod must be a whole number, got 12.5');
    expect(configError(() => parseGridFlag('stopLossPct=-0.01,0.01', SCHEMA))).to.equal('--grid: stopLossPct must be >= 0, got -0.01');
    expect(configError(() => parseGridFlag('useCrossover=true,maybe', SCHEMA))).to.equal('--grid: useCrossover must be true or false, got "maybe"');
    expect(configError(() => parseGridFlag('pivotPeriod=D,Y', SCHEMA))).to.contain('pivotPeriod must be one of auto, D, W, M, got "Y"');
    expect(configError(() => parseGridFlag('oversold=ten,20', SCHEMA))).to.equal('--grid: oversold must be a number, got "ten"');
    expect(configError(() => parseGridFlag('useCrossover=0:1:1', SCHEMA))).to.match(/--grid: useCrossover: a range a:b:step needs a number parameter.*useCrossover=true,false/);
    expect(configError(() => parseGridFlag('oversold=30:10:5', SCHEMA))).to.contain('runs backwards');
    expect(configError(() => parseGridFlag('oversold=10:30:0', SCHEMA))).to.contain('oversold: the step must be > 0');
    expect(configError(() => parseGridFlag('oversold=10:30', SCHEMA))).to.contain('oversold: a range is a:b:step');
    expect(configError(() => parseGridFlag('oversold=10:x:5', SCHEMA))).to.contain("oversold: the range's end must be a number");
    expect(configError(() => parseGridFlag('oversold=10,,20', SCHEMA))).to.contain('oversold: empty value');
    expect(configError(() => parseGridFlag('oversold=10,20,10', SCHEMA))).to.equal('--grid: oversold lists 10 twice');
    expect(configError(() => parseGridFlag('oversold', SCHEMA))).to.contain('expected key=a:b:step');
    expect(configError(() => parseGridFlag('oversold=', SCHEMA))).to.contain('oversold has no values');
  });

  it('needs at least one flag and each key once', () => {
    expect(configError(() => parseGrid([], SCHEMA))).to.contain('give at least one parameter');
    expect(configError(() => parseGrid(['oversold=10,20', 'oversold=30'], SCHEMA))).to.contain('oversold is given twice');
  });
});

describe('optimize: combinations', () => {
  const axes = parseGrid(['oversold=10:30:10', 'stopLossPct=0.003,0.005', 'useCrossover=true,false'], SCHEMA);

  it('numbers combinations like nested loops, the last flag fastest', () => {
    expect(gridSize(axes)).to.equal(12);
    const expected: Record<string, unknown>[] = [];
    for (const o of [10, 20, 30]) for (const s of [0.003, 0.005]) for (const u of [true, false]) expected.push({ oversold: o, stopLossPct: s, useCrossover: u });
    expect(Array.from({ length: 12 }, (_, i) => combinationAt(axes, i))).to.deep.equal(expected);
    expect(Object.keys(combinationAt(axes, 7))).to.deep.equal(['oversold', 'stopLossPct', 'useCrossover']);
  });

  it('samples without repeats, reproducibly from a seed', () => {
    const a = sampleIndices(1_000_000, 500, 42);
    const b = sampleIndices(1_000_000, 500, 42);
    const c = sampleIndices(1_000_000, 500, 43);
    expect(a).to.deep.equal(b);
    expect(a).to.not.deep.equal(c);
    expect(new Set(a).size).to.equal(500);
    for (const i of a) expect(Number.isInteger(i) && i >= 0 && i < 1_000_000).to.equal(true);
    expect([...a].sort((x, y) => x - y)).to.deep.equal(a);
    // drawing almost the whole grid still has no repeats
    const most = sampleIndices(100, 99, 7);
    expect(new Set(most).size).to.equal(99);
    expect(sampleIndices(10, 10, 1)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sampleIndices(10, 50, 1)).to.have.length(10);
  });

  it('draws roughly uniformly', () => {
    // 20,000 draws of 1 from 10: every index about 2,000 times (a biased sampler would be far off)
    const counts = new Array(10).fill(0);
    for (let s = 0; s < 20_000; s++) counts[sampleIndices(10, 1, s)[0]!]++;
    for (const c of counts) expect(c).to.be.within(1_750, 2_250);
    const rng = createRng(3);
    for (let i = 0; i < 1000; i++) expect(rng()).to.be.within(0, 1 - Number.EPSILON);
  });

  it('has a size limit the CLI enforces', () => {
    expect(MAX_GRID).to.equal(100_000);
    expect(gridSize(parseGrid(['oversold=0:100:0.1', 'overbought=0:100:0.1'], SCHEMA))).to.equal(1001 * 1001);
  });
});

describe('optimize: ranking', () => {
  const row = (index: number, m: Partial<Record<'sharpe' | 'sortino' | 'netPnl' | 'profitFactor' | 'winRate' | 'expectancy' | 'returnPct' | 'maxDrawdown', number | null>>) => ({
    index,
    metrics: { sharpe: null, sortino: null, netPnl: 0, profitFactor: null, winRate: null, expectancy: null, returnPct: null, maxDrawdown: 0, ...m } as never,
  });

  it('sorts best first, nulls last, ties by combination index', () => {
    const rows = [row(0, { sharpe: 1 }), row(1, { sharpe: null }), row(2, { sharpe: 3 }), row(3, { sharpe: 1 }), row(4, { sharpe: -2 }), row(5, { sharpe: null })];
    expect(rankRows(rows, 'sharpe').map((r) => r.index)).to.deep.equal([2, 0, 3, 4, 1, 5]);
    // the input order does not matter
    expect(rankRows([...rows].reverse(), 'sharpe').map((r) => r.index)).to.deep.equal([2, 0, 3, 4, 1, 5]);
  });

  it('ranks maxDrawdown lowest first', () => {
    const rows = [row(0, { maxDrawdown: 5 }), row(1, { maxDrawdown: 2 }), row(2, { maxDrawdown: 9 }), row(3, { maxDrawdown: 2 })];
    expect(rankRows(rows, 'maxDrawdown').map((r) => r.index)).to.deep.equal([1, 3, 0, 2]);
  });

  it('knows its metrics', () => {
    for (const m of ['sharpe', 'sortino', 'netPnl', 'profitFactor', 'winRate', 'expectancy', 'returnPct', 'maxDrawdown']) expect(parseMetric(m)).to.equal(m);
    expect(configError(() => parseMetric('sharp'))).to.match(/^--metric: unknown metric "sharp" \(did you mean "sharpe"\?\)/);
  });
});

describe('optimize: walk-forward windows', () => {
  const from = Date.UTC(2024, 0, 1);
  const to = Date.UTC(2024, 6, 1); // exclusive: 182 days

  it('tiles the range with contiguous, non-overlapping out-of-sample windows', () => {
    const w = planWalkForward(from, to, 90, 30);
    expect(w.map((x) => x.n)).to.deep.equal([1, 2, 3, 4]);
    expect(w[0]).to.deep.equal({ n: 1, isFrom: from, isTo: from + 90 * DAY_MS, oosFrom: from + 90 * DAY_MS, oosTo: from + 120 * DAY_MS });
    for (let i = 0; i < w.length; i++) {
      expect(w[i]!.oosFrom).to.equal(w[i]!.isTo);
      expect(w[i]!.isTo - w[i]!.isFrom).to.equal(90 * DAY_MS);
      if (i > 0) expect(w[i]!.oosFrom).to.equal(w[i - 1]!.oosTo);
    }
    // 182 - 90 = 92 out-of-sample days: 30 + 30 + 30 + the 2 left over
    expect(w[w.length - 1]!.oosTo).to.equal(to);
    expect((w[w.length - 1]!.oosTo - w[w.length - 1]!.oosFrom) / DAY_MS).to.equal(2);
  });

  it('steps longer than the out-of-sample span leave gaps; shorter ones are refused', () => {
    const w = planWalkForward(from, to, 60, 20, 30);
    for (let i = 1; i < w.length; i++) expect(w[i]!.oosFrom - w[i - 1]!.oosTo).to.equal(10 * DAY_MS);
    expect(configError(() => planWalkForward(from, to, 60, 30, 20))).to.contain('would overlap');
    expect(configError(() => planWalkForward(from, from + 90 * DAY_MS, 90, 30))).to.contain('not enough for --in-sample 90d');
  });

  it('parses spans', () => {
    expect(parseSpan('90d', '--in-sample')).to.equal(90);
    expect(parseSpan('4w', '--step')).to.equal(28);
    expect(parseSpan('15', '--step')).to.equal(15);
    expect(configError(() => parseSpan('3m', '--out-of-sample'))).to.equal('--out-of-sample: expected a span such as 90d or 4w, got "3m"');
    expect(configError(() => parseSpan('0d', '--in-sample'))).to.contain('at least one day');
  });
});

describe('optimize: stitching out-of-sample runs', () => {
  const H = 3_600_000;
  function trade(id: number, t: number, pnl: string): Trade {
    const d = new D(pnl);
    return {
      id, side: 'long', signalTime: t, entryTime: t, exitTime: t + H, entryPrice: new D(100), exitPrice: new D(100), qty: new D(1),
      exitReason: 'signal', entryFee: new D(0), exitFee: new D(0), fees: new D(0), funding: new D(0), grossPnl: d, netPnl: d,
      entryReason: '', exitDetail: '', ambiguous: false, qtyRaisedToMin: false,
    };
  }
  function run(start: number, equity: number[], trades: Trade[]): RunRecord {
    const n = equity.length;
    return {
      meta: {
        runId: 'x', strategy: 's', symbol: 'BTCUSDT', category: 'linear', interval: '60', params: {},
        rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '5', source: 'test' },
        fillModel: { slippageBps: 0, takerFee: 0, makerFee: 0, minQtyPolicy: 'raise' }, initialBalance: 100,
        funding: { charged: false, detail: '' }, notices: [], source: 'test', warmupCandles: 0,
      },
      times: Float64Array.from({ length: n }, (_, i) => start + i * H),
      closes: Float64Array.from({ length: n }, () => 100),
      firstOpen: 100,
      equity: Float64Array.from(equity),
      exposure: new Uint8Array(n),
      intervalMs: H,
      trades,
    };
  }

  it('chains equity, renumbers trades and gives metrics over the whole span', () => {
    const d0 = Date.UTC(2024, 0, 1);
    const a = run(d0, [100, 103, 105], [trade(1, d0, '2'), trade(2, d0 + H, '3')]);
    const b = run(d0 + 3 * H, [99, 96, 97], [trade(1, d0 + 3 * H, '-3')]);
    const s = stitchRuns([a, b]);
    expect(s.trades.map((t) => t.id)).to.deep.equal([1, 2, 3]);
    expect(s.trades.map((t) => t.netPnl.toString())).to.deep.equal(['2', '3', '-3']);
    // b starts where a's closed trades left the balance (100 + 5): its curve is shifted by +5
    expect(Array.from(s.equity)).to.deep.equal([100, 103, 105, 104, 101, 102]);
    expect(Array.from(s.times)).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => d0 + i * H));
    const m = computeMetrics(s);
    expect(m.trades).to.equal(3);
    expect(m.netPnlExact).to.equal('2');
    // the deepest fall: from 105 to 101
    expect(m.maxDrawdown).to.equal(4);
  });
});
