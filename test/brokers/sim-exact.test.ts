/**
 * The simulator's exact integers (lib/core/exact.ts) against its decimals, on the real 15-minute candles:
 * a run whose trades are LazyTrades (a sweep's: decimals made only when read, money kept as scaled
 * integers) gives the same trades (every field, every decimal with its sign), the same equity and
 * exposure bit for bit and the same row metrics as the plain simulator, and every trade's integers are its
 * decimals. Cases that fall back to decimals: fee rates that do not scale to an integer unit, amounts too
 * large for a safe integer, funding on some trades (a run of both kinds), prices off the tick grid.
 */
import { expect } from 'chai';
import { SimBroker, SimDecimalCache } from '../../lib/brokers/sim/index.ts';
import { resolveRunSpec } from '../../lib/config/index.ts';
import { D, ZERO, exactOf, offsetTicks, scaledOf, scaledToDec, seriesFromCandles, stopPrice, targetPrice, type Dec, type Intent, type RunRecord, type Trade } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { runBacktest, runSpec } from '../../lib/engine/index.ts';
import { computeMetrics, computeRowMetrics } from '../../lib/report/metrics.ts';
import { rowMetrics } from '../../lib/report/optimize.ts';
import { LazyTrade } from '../../lib/core/index.ts';
import { defineStrategy, loadStrategy } from '../../lib/strategy/index.ts';
import { DATA_15M, REPO, requireShared } from '../helpers.ts';

const FROM = Date.parse('2024-01-01T00:00:00Z');
const TO = Date.parse('2024-07-01T00:00:00Z');
const instrument = { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' } as const;

const isDec = (v: unknown): v is Dec => typeof v === 'object' && v !== null && typeof (v as Dec).toFixed === 'function' && typeof (v as Dec).isZero === 'function';

/** Everything exact: decimals as their text with the sign of a zero, numbers bit for bit (NaN, -0 kept). */
function exact(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v;
  if (isDec(v)) return `D:${v.isZero() && v.isNegative() ? '-' : ''}${v.toFixed()}`;
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, exact);
  if (Array.isArray(v)) return v.map(exact);
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, exact(x)]));
}

const plain = (t: Trade): Trade => (t instanceof LazyTrade ? t.toPlain() : t);

interface Case {
  readonly params: Record<string, unknown>;
  readonly rules?: { tickSize?: string };
  readonly funding?: { times: Float64Array; rates: string[] };
  /** Kept decimals for the lazy run (a sweep worker's), shared across the runs given it. */
  readonly decimals?: SimDecimalCache;
  /** Another strategy than the seed. */
  readonly strategy?: 'stochrsi-maker' | 'pivot-bounce';
}

let series: Awaited<ReturnType<typeof readCandleFile>>['series'];
type Loaded = Awaited<ReturnType<typeof loadStrategy>>;
const strategies = new Map<string, Loaded>();

function runBoth(c: Case): { eager: RunRecord; lazy: RunRecord; exactTrades: number } {
  const { definition, file: strategyFile } = strategies.get(c.strategy ?? 'stochrsi-scalper')!;
  let spec = resolveRunSpec({ definition, strategyFile, instrument, interval: '15', layers: [{ where: 'test', values: c.params }] });
  if (c.rules?.tickSize) spec = { ...spec, rules: { ...spec.rules, tickSize: new D(c.rules.tickSize) } };
  const make = (lazyTrades: boolean) =>
    new SimBroker({ rules: spec.rules, fillModel: spec.fillModel, initialBalance: spec.initialBalance, funding: c.funding, maxNotional: spec.guards.maxPositionNotional, lazyTrades, decimals: lazyTrades ? c.decimals : undefined });
  const data = { series, source: DATA_15M, funding: { none: 'test' } } as const;
  const eager = runSpec(spec, data, make(false), { runId: 'e', from: FROM, to: TO }).record;
  const lazy = runSpec(spec, data, make(true), { runId: 'l', from: FROM, to: TO }).record;
  const where = JSON.stringify(c.params);
  expect(eager.trades.length, where).to.be.greaterThan(100);
  // The integers of every exact trade are its decimals (values and the sign of a zero).
  let exactTrades = 0;
  lazy.trades.forEach((t, i) => {
    const x = exactOf(t);
    const e = eager.trades[i]!;
    if (x === undefined) return;
    exactTrades++;
    for (const k of ['entryFee', 'exitFee', 'fees', 'grossPnl', 'netPnl'] as const) {
      expect(exact(scaledToDec(x[k], x.k)), `${where} trade ${i + 1} ${k}`).to.equal(exact(e[k]));
    }
    expect(x.netPnl / x.pow, `${where} trade ${i + 1} net as a number`).to.satisfy((n: number) => Object.is(n, e.netPnl.toNumber()));
  });
  // Every trade field, the curves and the notices: the same.
  expect(exact(lazy.trades.map(plain)), where).to.deep.equal(exact(eager.trades));
  expect(exact({ equity: lazy.equity, exposure: lazy.exposure, notices: lazy.meta.notices })).to.deep.equal(exact({ equity: eager.equity, exposure: eager.exposure, notices: eager.meta.notices }));
  // A sweep's row (exact sums when every trade has them) and the eager row of computeMetrics: the same.
  expect(exact(computeRowMetrics(lazy)), where).to.deep.equal(exact(rowMetrics(computeMetrics(eager))));
  expect(exact(computeRowMetrics(eager)), where).to.deep.equal(exact(rowMetrics(computeMetrics(eager))));
  // The equity once flat after the last trade: the initial balance plus the decimal sum of the net PnL.
  const total = eager.trades.reduce((a, t) => a.add(t.netPnl), ZERO);
  expect(eager.equity[eager.equity.length - 1]).to.equal(spec.initialBalance + total.toNumber());
  return { eager, lazy, exactTrades };
}

/** A short and a long closed at their entry price with no fees, on hand-made candles: gross and net -0 for the short, +0 for the long. */
function flatTrades(lazyTrades: boolean): { trades: readonly Trade[]; row: unknown } {
  const T0 = Date.UTC(2024, 0, 1);
  const M15 = 15 * 60_000;
  const rows: [number, number, number, number][] = [[100, 101, 99, 100], [100, 101, 99, 100], [100, 101, 99, 100], [100, 101, 99, 100], [100, 101, 99, 100], [100, 101, 99, 100]];
  const script: Record<number, Intent> = {
    0: { kind: 'enter', side: 'short', size: { unit: 'quote', amount: 1000 }, reason: 'flat short' },
    1: { kind: 'exit', reason: 'out' },
    2: { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 1000 }, reason: 'flat long' },
    3: { kind: 'exit', reason: 'out' },
  };
  const strategy = defineStrategy({ name: 'scripted', description: 'test', params: {}, warmup: () => 0, create: () => { let i = -1; return { onCandle: () => script[++i] }; } });
  const rules = { symbol: 'BTCUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.001'), minQty: new D('0.001'), minNotional: new D(0), source: 'test' };
  const fillModel = { slippageBps: 0, takerFee: 0, makerFee: 0, minQtyPolicy: 'raise' } as const;
  const { record } = runBacktest({
    definition: strategy,
    params: {},
    series: seriesFromCandles(rows.map(([open, high, low, close], i) => ({ openTime: T0 + i * M15, open, high, low, close, volume: 1, turnover: NaN }))),
    broker: new SimBroker({ rules, fillModel, initialBalance: 1000, lazyTrades }),
    from: T0,
    to: T0 + rows.length * M15,
    warmup: 0,
    meta: { runId: 't', strategy: 'scripted', symbol: 'BTCUSDT', category: 'linear', interval: '15', params: {}, rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '0', source: 'test' }, fillModel, initialBalance: 1000, funding: { charged: false, detail: '' }, source: 'memory' },
  });
  return { trades: record.trades, row: exact(computeRowMetrics(record)) };
}

describe('exact integers: stop and target levels (offsetTicks)', () => {
  it('equals stopPrice and targetPrice (decimals, half up) on every 50th open of the real candles, halves included', async function () {
    requireShared(this, DATA_15M);
    const { series: s } = await readCandleFile(DATA_15M);
    const tick = new D('0.1');
    let halves = 0;
    let n = 0;
    for (const pct of [0.003, 0.005, 0.01, 0.02, 0.0125, 0.00075, 0.333]) {
      const f = scaledOf(new D(pct))!;
      const scale = { m: f.m, pow: 10 ** f.k };
      for (let i = 0; i < s.length; i += 50) {
        const ticks = Math.round(s.open[i]! * 10);
        const entry = tick.mul(ticks);
        for (const side of ['long', 'short'] as const) {
          const stop = stopPrice(side, entry, { pct }, tick).div(tick);
          const target = targetPrice(side, entry, { pct }, tick).div(tick);
          expect(offsetTicks(ticks, scale, side === 'long'), `stop ${side} ${entry} ${pct}`).to.equal(stop.toNumber());
          expect(offsetTicks(ticks, scale, side === 'short'), `target ${side} ${entry} ${pct}`).to.equal(target.toNumber());
          if (entry.mul(side === 'long' ? 1 - pct : 1 + pct).div(tick).mod(1).eq(0.5)) halves++;
          n++;
        }
      }
    }
    expect(n).to.be.greaterThan(10_000);
    expect(halves, 'prices exactly half a tick off').to.be.greaterThan(10);
  });

  it('refuses what it cannot do exactly: a factor at or below zero, a product past 2^53', () => {
    expect(offsetTicks(1000, { m: 1, pow: 1 }, true)).to.be.NaN;
    expect(offsetTicks(2 ** 52, { m: 5, pow: 1000 }, false)).to.be.NaN;
    expect(offsetTicks(1000, { m: 5, pow: 1000 }, false)).to.equal(1005);
    expect(offsetTicks(100, { m: 5, pow: 1000 }, false)).to.equal(101); // 100.5 rounds half up
  });
});

describe('sim broker: exact integers, signs of zero', () => {
  it('a short closed flat without fees has a gross and net of -0 in the integers as in the decimals; a long +0', () => {
    const eager = flatTrades(false);
    const lazy = flatTrades(true);
    expect(eager.trades.map((t) => exact(t.grossPnl))).to.deep.equal(['D:-0', 'D:0']);
    expect(eager.trades.map((t) => exact(t.netPnl))).to.deep.equal(['D:-0', 'D:0']);
    expect(lazy.trades.map((t) => exactOf(t) !== undefined)).to.deep.equal([true, true]);
    expect(lazy.trades.map((t) => exact(exactOf(t)!.grossPnl))).to.deep.equal(['-0', 0]);
    expect(lazy.trades.map((t) => exact(scaledToDec(exactOf(t)!.netPnl, exactOf(t)!.k)))).to.deep.equal(['D:-0', 'D:0']);
    expect(exact(lazy.trades.map(plain))).to.deep.equal(exact(eager.trades));
    expect(lazy.row).to.deep.equal(eager.row);
  });
});

describe('sim broker: exact integers on the hot path equal the decimals (real candles)', function () {
  this.timeout(300_000);
  before(async function () {
    requireShared(this, DATA_15M);
    ({ series } = await readCandleFile(DATA_15M));
    for (const name of ['stochrsi-scalper', 'stochrsi-maker', 'pivot-bounce']) strategies.set(name, await loadStrategy(name, REPO));
  });

  it('the seed on several combinations: every trade exact, identical to the decimal simulator', () => {
    const combos = [{}, { oversold: 10, overbought: 90, stopLossPct: 0.02, takeProfitPct: 0.005 }, { oversold: 30, overbought: 70, stopLossPct: 0.003, takeProfitPct: 0.02 }, { stopLossPct: 0, takeProfitPct: 0 }];
    for (const params of combos) {
      const r = runBoth({ params });
      expect(r.exactTrades, JSON.stringify(params)).to.equal(r.eager.trades.length);
    }
    // With a worker's kept decimals shared by the runs (and one of 16 slots, replaced all the time): the same.
    const kept = new SimDecimalCache();
    const small = new SimDecimalCache({ bits: 4 });
    for (const params of [...combos, ...combos]) {
      runBoth({ params, decimals: kept });
      runBoth({ params, decimals: small });
    }
  });

  it('limit entries, partial targets and a trailing stop (stochrsi-maker), pivot-bounce, the path rule: identical', () => {
    const kept = new SimDecimalCache();
    for (const c of [{ strategy: 'stochrsi-maker' }, { strategy: 'stochrsi-maker', params: { trailPct: 0 } }, { strategy: 'pivot-bounce' }, { params: { intrabar: 'path' } }] as const) {
      const r = runBoth({ params: {}, ...c, decimals: kept });
      // Positions closed in parts or by a trailing stop are decimals; the others exact.
      if (!('strategy' in c) || c.strategy !== 'stochrsi-maker') expect(r.exactTrades, JSON.stringify(c)).to.be.greaterThan(0);
    }
  });

  it('zero fees and slippage: still exact and identical', () => {
    const r = runBoth({ params: { takerFee: 0, makerFee: 0, stopLossPct: 0.003 } });
    expect(r.exactTrades).to.equal(r.eager.trades.length);
    const s = runBoth({ params: { slippageBps: 3, takerFee: 0.0006 } });
    expect(s.exactTrades).to.equal(s.eager.trades.length);
  });

  it('falls back to decimals: a fee rate that does not scale, prices off the tick grid', () => {
    // 10^-20 needs a unit of 10^-24 with a tick of 0.1 and a step of 0.001: beyond 10^-22, no integers at all.
    expect(runBoth({ params: { takerFee: 1e-20 } }).exactTrades).to.equal(0);
    // A tick of 1 with closes in tenths: entries at an open off the grid are decimals, the others exact.
    const off = runBoth({ params: {}, rules: { tickSize: '1' }, decimals: new SimDecimalCache() });
    expect(off.exactTrades).to.be.lessThan(off.eager.trades.length);
  });

  it('falls back per trade: amounts beyond a safe integer, funding on some trades (a run of both kinds)', () => {
    // 10^10 USDT an entry: about 10^8 steps x 10^6 ticks; the gross in units of 10^-9 is past 2^53.
    const big = runBoth({ params: { usdtAmountPerTrade: 1e10 } });
    expect(big.exactTrades).to.be.lessThan(big.eager.trades.length);
    // Funding every 8 hours: a position open across a settlement pays it (decimals); the others stay exact.
    const times: number[] = [];
    for (let t = FROM; t < TO; t += 8 * 3_600_000) times.push(t);
    const f = runBoth({ params: {}, decimals: new SimDecimalCache(), funding: { times: Float64Array.from(times), rates: times.map((_, i) => (i % 3 === 0 ? '-0.0001' : '0.000125')) } });
    expect(f.exactTrades).to.be.greaterThan(0);
    expect(f.exactTrades).to.be.lessThan(f.eager.trades.length);
  });
});
