/**
 * Size as configured (issue 11): an instrument whose minimum qty is above `usdtAmountPerTrade` makes every
 * entry the minimum, and `maxPositionNotional` is checked against that sized qty x price, in the engine
 * (at the deciding close, reported as a guard) and in the broker (at its own price, the same function).
 * A backtest warns at start when the minimum makes an entry more than `minQtyWarnRatio` (1.5) times
 * `usdtAmountPerTrade`. Hand-made candles (every figure below is worked out by hand in the comments), and
 * the seed on the committed sample.
 */
import { expect } from 'chai';
import { D, minQtyWarning, perTradeAmount, seriesFromCandles, sizeQty, type Candle, type InstrumentRules } from '../../lib/core/index.ts';
import { resolveRunSpec, type ParamLayer } from '../../lib/config/index.ts';
import { SimBroker, simBrokerFor } from '../../lib/brokers/sim/index.ts';
import { Engine, runSpec } from '../../lib/engine/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { defineStrategy, type StrategyDefinition } from '../../lib/strategy/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';
import { SAMPLE_15M, parseCsv } from '../helpers.ts';
import { readFileSync } from 'node:fs';

const T0 = Date.UTC(2024, 7, 5);
const M15 = 15 * 60_000;

/** Enters long with `usdtAmountPerTrade` whenever flat (stop 1% below: never reached on these candles). */
const buyer = defineStrategy({
  name: 'buyer',
  description: 'enters long whenever flat',
  params: { usdtAmountPerTrade: { type: 'number', default: 10, min: 0.000001, description: 'USDT value of each entry' } },
  warmup: () => 0,
  create: (p) => ({
    onCandle: (_c, ctx) => (ctx.position.side === 'flat' ? { kind: 'enter', side: 'long', size: { unit: 'quote', amount: p.usdtAmountPerTrade }, stopLoss: { pct: 0.01 }, reason: 'test' } : undefined),
  }),
});

/** The same without the parameter: its size is only known from its intents (20 USDT). */
const generic = defineStrategy({
  name: 'generic',
  description: 'enters long with 20 USDT whenever flat',
  params: {},
  warmup: () => 0,
  create: () => ({
    onCandle: (_c, ctx) => (ctx.position.side === 'flat' ? { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 20 }, reason: 'test' } : undefined),
  }),
});

/** Flat 15-minute candles from T0 at the given prices (open = high = low = close). */
function flat(prices: readonly number[]): Candle[] {
  return prices.map((p, i) => ({ openTime: T0 + i * M15, open: p, high: p, low: p, close: p, volume: 1, turnover: NaN }));
}

/** A backtest through the same wiring as `pyr backtest` (run spec, simulator for the spec, runSpec). */
function backtest(definition: StrategyDefinition, candles: Candle[], params: Record<string, unknown>) {
  const layers: ParamLayer[] = [{ where: '--param', values: params }];
  const spec = resolveRunSpec({ definition, strategyFile: 'test.ts', instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, interval: '15', layers });
  const { record, engine } = runSpec(spec, { series: seriesFromCandles(candles), source: 'memory', funding: { none: 'test' } }, simBrokerFor(spec), {
    runId: 't', from: T0, to: T0 + candles.length * M15,
  });
  return { record, engine, notices: record.meta.notices, trades: record.trades };
}

const COARSE = { qtyStep: '0.01', minQty: '0.01' };
const P = 54012.3;

describe('sizing: orders are sized as configured', () => {
  it('sizeQty: maxNotional is checked on the sized qty x price, after raising to the minimum', () => {
    const rules: InstrumentRules = { symbol: 'BTCUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.01'), minQty: new D('0.01'), minNotional: new D(5), source: 'test' };
    // 10 / 54012.3 = 0.000185.. -> 0 steps -> raised to 0.01; 0.01 x 54012.3 = 540.123 > 50.
    const refused = sizeQty({ unit: 'quote', amount: 10 }, P, rules, 'raise', { maxNotional: 50 });
    expect(refused).to.deep.equal({
      ok: false, guard: 'maxPositionNotional',
      reason: 'guard: sized notional 540.123 USDT (qty 0.01 at 54012.3, raised to the minimum qty) is above maxPositionNotional 50',
    });
    // Without the limit the same order is 0.01, raised (the measured defect: 54x the 10 USDT asked).
    const sized = sizeQty({ unit: 'quote', amount: 10 }, P, rules, 'raise');
    expect(sized.ok && sized.qty.toString()).to.equal('0.01');
    expect(sized.ok && sized.raisedToMin).to.equal(true);
    // 1200 / 54012.3 = 0.0222.. -> 0.02 (rounded down); 0.02 x 54012.3 = 1080.246 > 1080.
    expect(sizeQty({ unit: 'quote', amount: 1200 }, P, rules, 'raise', { maxNotional: 1080 })).to.deep.include({ ok: false, reason: 'guard: sized notional 1080.246 USDT (qty 0.02 at 54012.3) is above maxPositionNotional 1080' });
    // At the limit exactly: allowed (refused only above it). 0.02 x 54000 = 1080.
    expect(sizeQty({ unit: 'quote', amount: 1200 }, 54000, rules, 'raise', { maxNotional: 1080 }).ok).to.equal(true);
    // A base qty is checked the same way: 0.03 x 54000 = 1620.
    expect(sizeQty({ unit: 'base', qty: 0.03 }, 54000, rules, 'raise', { maxNotional: 1600 })).to.deep.include({ ok: false, guard: 'maxPositionNotional' });
    // 0 = off.
    expect(sizeQty({ unit: 'quote', amount: 10 }, P, rules, 'raise', { maxNotional: 0 }).ok).to.equal(true);
  });

  it('qtyStep 0.01 at 54012.3: the entry is the minimum 0.01 (540.123 USDT), and the start warning gives the figure', () => {
    const { trades, notices } = backtest(buyer, flat([P, P, P, P]), COARSE);
    expect(trades).to.have.length(1);
    expect(trades[0]!.qty.toString()).to.equal('0.01');
    expect(trades[0]!.qtyRaisedToMin).to.equal(true);
    // 0.01 x 54012.3 = 540.123 -> 540.12; 540.123 / 10 = 54.0123 -> 54.0.
    const warning = 'the minimum qty 0.01 BTCUSDT ≈ 540.12 USDT at 54012.3 is 54.0× usdtAmountPerTrade 10 USDT; every entry will be that size (minQtyPolicy "raise"); set minQtyPolicy=skip to refuse such entries';
    expect(notices[0]).to.equal(warning);
    expect(notices.filter((n) => n === warning)).to.have.length(1);
  });

  it('maxPositionNotional=50: no trade is opened, and the guard names the sized notional and the limit', () => {
    const { trades, notices, engine } = backtest(buyer, flat([P, P, P, P]), { ...COARSE, maxPositionNotional: 50 });
    expect(trades).to.have.length(0);
    // Decided on each of the 4 closes, refused each time before any order was sent.
    expect(notices).to.include('4 x guard: sized notional 540.123 USDT (qty 0.01 at 54012.3, raised to the minimum qty) is above maxPositionNotional 50');
    expect([...engine.skipped]).to.deep.equal([['guard: sized notional N USDT (qty N at N, raised to the minimum qty) is above maxPositionNotional N', 4]]);
  });

  it('the guard is reported through onGuard (what pyr live journals as a `guard` record), once a day, with the figure', () => {
    const rules: InstrumentRules = { symbol: 'BTCUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.01'), minQty: new D('0.01'), minNotional: new D(0), source: 'test' };
    const broker = new SimBroker({ rules, fillModel: { slippageBps: 0, takerFee: 0.00055, makerFee: 0.0002, minQtyPolicy: 'raise' }, initialBalance: 1000 });
    const guards: string[] = [];
    const engine = new Engine({ definition: buyer, params: { usdtAmountPerTrade: 10 }, broker, symbol: 'BTCUSDT', interval: '15', guards: { maxPositionNotional: 50 }, onGuard: (r) => guards.push(r) });
    for (const c of flat([P, 54000, 54100])) engine.onCandle(c);
    expect(broker.position().side).to.equal('flat');
    expect(broker.hasOrderInFlight()).to.equal(false);
    expect(guards).to.deep.equal(['guard: sized notional 540.123 USDT (qty 0.01 at 54012.3, raised to the minimum qty) is above maxPositionNotional 50']);
    // The next UTC day it is said again.
    engine.onCandle({ ...flat([54000])[0]!, openTime: T0 + 86_400_000 });
    expect(guards[1]).to.equal('guard: sized notional 540 USDT (qty 0.01 at 54000, raised to the minimum qty) is above maxPositionNotional 50');
  });

  it('maxPositionNotional is also checked at the fill: within it at the close, above it at the next open, the simulator refuses', () => {
    // Default step 0.001: 10 USDT -> raised to 0.001. At the close 49000: 49 <= 50, sent; at the open
    // 51000 it would be 0.001 x 51000 = 51 > 50: refused at the fill; then 49 at 49000 fills.
    const { trades, notices } = backtest(buyer, flat([49000, 51000, 49000, 49000]), { maxPositionNotional: 50 });
    expect(notices).to.include('1 x order rejected: guard: sized notional 51 USDT (qty 0.001 at 51000, raised to the minimum qty) is above maxPositionNotional 50');
    // Decided at the 51000 close: refused by the engine's guard (51 > 50).
    expect(notices).to.include('1 x guard: sized notional 51 USDT (qty 0.001 at 51000, raised to the minimum qty) is above maxPositionNotional 50');
    expect(trades).to.have.length(1);
    expect(trades[0]!.entryPrice.toString()).to.equal('49000');
    expect(trades[0]!.entryTime).to.equal(T0 + 3 * M15);
  });

  it('maxPositionNotional lets entries within it through', () => {
    // 0.001 x 54000 = 54 <= 60.
    const { trades, notices } = backtest(buyer, flat([54000, 54000, 54000]), { maxPositionNotional: 60 });
    expect(trades).to.have.length(1);
    expect(trades[0]!.qty.toString()).to.equal('0.001');
    expect(notices.join('\n')).to.not.match(/guard/);
  });

  it('minQtyPolicy=skip: no trade, and the reason names the qty and the minimum', () => {
    // 10 / 54000 = 0.000185185.. (8 significant digits: 0.00018518519) < 0.01: refused at each of the 3 fills
    // (decided on closes 0, 1 and 2; the last close's order is left unfilled when the data ends).
    const { trades, notices } = backtest(buyer, flat([54000, 54000, 54000, 54000]), { ...COARSE, minQtyPolicy: 'skip' });
    expect(trades).to.have.length(0);
    expect(notices).to.include('3 x order rejected: qty 0.00018518519 is below the minimum 0.01 (minQtyPolicy "skip")');
    // The start warning says what the policy does: 0.01 x 54000 = 540 -> 54.0x.
    expect(notices[0]).to.equal('the minimum qty 0.01 BTCUSDT ≈ 540.00 USDT at 54000 is 54.0× usdtAmountPerTrade 10 USDT; such entries are refused (minQtyPolicy "skip"): no entry of that size will be made');
  });

  it('minQtyPolicy=skip with prices that differ: one line for the kind of refusal, with the first figures', () => {
    // 10 / 50000 = 0.0002; 10 / 40000 = 0.00025.
    const { notices } = backtest(buyer, flat([50000, 50000, 40000]), { ...COARSE, minQtyPolicy: 'skip' });
    expect(notices).to.include('2 x order rejected: qty 0.0002 is below the minimum 0.01 (minQtyPolicy "skip") (figures of the first)');
  });

  it('the default instrument (qty step 0.001) at 10 USDT raises to 0.001 ≈ 54 USDT: 5.4× warns', () => {
    // 10 / 54000 = 0.000185 -> raised to 0.001; 0.001 x 54000 = 54 = 5.4 x 10 > 1.5.
    const { trades, notices } = backtest(buyer, flat([54000, 54000, 54000]), {});
    expect(trades[0]!.qty.toString()).to.equal('0.001');
    expect(notices[0]).to.equal('the minimum qty 0.001 BTCUSDT ≈ 54.00 USDT at 54000 is 5.4× usdtAmountPerTrade 10 USDT; every entry will be that size (minQtyPolicy "raise"); set minQtyPolicy=skip to refuse such entries');
  });

  it('no start warning within the ratio, above the minimum, or with minQtyWarnRatio=0', () => {
    const said = (params: Record<string, unknown>) => backtest(buyer, flat([54000, 54000, 54000]), params).notices.filter((n) => n.startsWith('the minimum qty'));
    // 40 USDT: 40 / 54000 = 0.00074 -> raised to 0.001 = 54 USDT = 1.35 x 40 <= 1.5.
    expect(said({ usdtAmountPerTrade: 40 })).to.deep.equal([]);
    // 36 USDT: 54 / 36 = 1.5 exactly: not above the ratio.
    expect(said({ usdtAmountPerTrade: 36 })).to.deep.equal([]);
    // 35 USDT: 54 / 35 = 1.543 > 1.5.
    expect(said({ usdtAmountPerTrade: 35 })).to.have.length(1);
    // 60 USDT: 60 / 54000 = 0.00111 -> 0.001, not raised.
    expect(said({ usdtAmountPerTrade: 60 })).to.deep.equal([]);
    expect(said({ minQtyWarnRatio: 0 })).to.deep.equal([]);
    // A higher ratio: 5.4 <= 6.
    expect(said({ minQtyWarnRatio: 6 })).to.deep.equal([]);
  });

  it('a strategy without usdtAmountPerTrade is warned once, from its first entry intent', () => {
    // 20 USDT at 54000 -> 0.01 = 540 USDT = 27.0x.
    const { notices } = backtest(generic, flat([54000, 54000, 54000, 54000]), { ...COARSE, minQtyPolicy: 'skip' });
    const warnings = notices.filter((n) => n.startsWith('the minimum qty'));
    expect(warnings).to.deep.equal(['the minimum qty 0.01 BTCUSDT ≈ 540.00 USDT at 54000 is 27.0× the first entry\'s size 20 USDT; such entries are refused (minQtyPolicy "skip"): no entry of that size will be made']);
  });

  it('minQtyWarning and perTradeAmount (pure)', () => {
    const rules: InstrumentRules = { symbol: 'ETHUSDT', category: 'linear', tickSize: new D('0.01'), qtyStep: new D('0.01'), minQty: new D('0.01'), minNotional: new D(5), source: 'test' };
    // 0.01 x 2500 = 25 = 2.5 x 10.
    expect(minQtyWarning(rules, 10, 2500, 1.5)).to.equal('the minimum qty 0.01 ETHUSDT ≈ 25.00 USDT at 2500 is 2.5× usdtAmountPerTrade 10 USDT; every entry will be that size (minQtyPolicy "raise"); set minQtyPolicy=skip to refuse such entries');
    expect(minQtyWarning(rules, 10, 2500, 3)).to.equal(undefined);
    expect(minQtyWarning(rules, 10, 2500, 0)).to.equal(undefined);
    expect(minQtyWarning(rules, 10, 0, 1.5)).to.equal(undefined);
    expect(perTradeAmount({ usdtAmountPerTrade: 10 })).to.equal(10);
    expect(perTradeAmount({ usdtAmountPerTrade: '10' })).to.equal(undefined);
    expect(perTradeAmount({})).to.equal(undefined);
  });

  describe('the seed on the sample (real Bybit 15-minute candles), BTCUSDT with qty step and minimum 0.01', function () {
    this.timeout(60_000);
    const from = Date.UTC(2024, 7, 5);
    const to = Date.UTC(2024, 7, 10);
    // The close of the range's first candle, read from the file here (not through lib/data).
    const first = parseCsv(readFileSync(SAMPLE_15M, 'utf8')).find((r) => Number(r.timestamp) === from)!;

    async function run(params: Record<string, unknown>) {
      const { series } = await readCandleFile(SAMPLE_15M);
      const spec = resolveRunSpec({ definition: seed, strategyFile: 'strategies/stochrsi-scalper.ts', instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, interval: '15', layers: [{ where: '--param', values: params }] });
      return runSpec(spec, { series, source: SAMPLE_15M, funding: { none: 'test' } }, simBrokerFor(spec), { runId: 't', from, to }).record;
    }

    it('every entry is 0.01 BTC, and the warning gives the figure at the first close', async () => {
      const record = await run(COARSE);
      expect(record.trades.length).to.be.greaterThan(0);
      for (const t of record.trades) expect(t.qty.toString()).to.equal('0.01');
      // The first close is 57433.9: 0.01 x 57433.9 = 574.339 -> 574.34; / 10 = 57.4339 -> 57.4.
      expect(first.close).to.equal('57433.9');
      expect(record.meta.notices).to.include('the minimum qty 0.01 BTCUSDT ≈ 574.34 USDT at 57433.9 is 57.4× usdtAmountPerTrade 10 USDT; every entry will be that size (minQtyPolicy "raise"); set minQtyPolicy=skip to refuse such entries');
    });

    it('with maxPositionNotional=50 no trade is opened and the notices say why', async () => {
      const record = await run({ ...COARSE, maxPositionNotional: 50 });
      expect(record.trades).to.have.length(0);
      expect(record.meta.notices.join('\n')).to.match(/^\d+ x guard: sized notional \d+\.\d+ USDT \(qty 0\.01 at \d+(\.\d)?, raised to the minimum qty\) is above maxPositionNotional 50 \(figures of the first\)$/m);
    });

    it('with minQtyPolicy=skip no trade is opened and the notices say why', async () => {
      const record = await run({ ...COARSE, minQtyPolicy: 'skip' });
      expect(record.trades).to.have.length(0);
      expect(record.meta.notices.join('\n')).to.match(/^\d+ x order rejected: qty 0\.000\d+ is below the minimum 0\.01 \(minQtyPolicy "skip"\) \(figures of the first\)$/m);
    });
  });
});
