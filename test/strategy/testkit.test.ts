/**
 * The strategy test kit: a toy strategy on a hand-made table, with every intent, position and trade
 * worked out by hand below; and the seed strategy on real candles, where the kit's acted-on entries must
 * be exactly the signal times of a plain `pyr backtest`.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, lowerBound } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { defineStrategy } from '../../lib/strategy/strategy.ts';
import { closes, makeCandles, runStrategy, type CandleRow } from '../../lib/testkit/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';
import { SAMPLE_15M, parseCsv, runCli, tempDir } from '../helpers.ts';

/**
 * Toy: when flat and the close is below `buyBelow`, buy 1 unit with a stop `stopPct` under the fill.
 * Whenever the close is above `sellAbove`, ask to exit (even when flat, to see the engine skip it).
 */
const toy = defineStrategy({
  name: 'toy',
  description: 'threshold toy',
  params: {
    buyBelow: { type: 'number', default: 95, description: 'enter long below this close' },
    sellAbove: { type: 'number', default: 105, description: 'exit above this close' },
    stopPct: { type: 'number', default: 0.1, min: 0, description: 'stop loss below the fill' },
  },
  warmup: () => 0,
  create(p) {
    return {
      onCandle(c, ctx) {
        if (ctx.position.side === 'flat' && c.close < p.buyBelow) {
          return { kind: 'enter', side: 'long', size: { unit: 'base', qty: 1 }, stopLoss: { pct: p.stopPct }, reason: 'dip' };
        }
        if (c.close > p.sellAbove) return { kind: 'exit', reason: 'rip' };
      },
    };
  },
});

const T0 = Date.UTC(2024, 0, 1);
const M15 = 15 * 60_000;
const t = (i: number) => T0 + i * M15;

//                     open high low close
const TABLE: CandleRow[] = [
  [100, 101, 99, 100], // 0 nothing
  [100, 100, 94, 94], //  1 flat, 94 < 95: ENTER
  [96, 97, 93, 93], //    2 entry fills at 96 (stop 86.4); long now, so no entry; 93 is not > 105
  [93, 106, 92, 106], //  3 106 > 105: EXIT
  [104, 104, 100, 101], // 4 exit fills at 104 (trade 1: 96 -> 104); flat, 101: nothing
  [101, 102, 90, 90], //  5 flat, 90 < 95: ENTER
  [91, 91, 80, 85], //    6 fills at 91, stop 81.9; low 80 hits it (trade 2: 91 -> 81.9). Flat, 85 < 95: ENTER, but skipped (stopped this candle)
  [85, 110, 85, 108], //  7 flat, 108 > 105: EXIT, skipped (no position)
  [108, 108, 92, 93], //  8 flat, 93 < 95: ENTER
  [94, 95, 93, 94], //    9 fills at 94 (stop 84.6); long, nothing. End: closed at the last close 94 (trade 3)
];

describe('strategy test kit (runStrategy)', () => {
  it('makes candles from tuples and objects with times start + i x interval', () => {
    const c = makeCandles([[1, 2, 0.5, 1.5], [1.5, 3, 1, 2, 7], { open: 2, high: 2, low: 1, close: 1 }], { start: '2024-05-01T10:00:00Z', interval: '60' });
    const h = Date.UTC(2024, 4, 1, 10);
    expect(c).to.deep.equal([
      { openTime: h, open: 1, high: 2, low: 0.5, close: 1.5, volume: 0, turnover: NaN },
      { openTime: h + 3_600_000, open: 1.5, high: 3, low: 1, close: 2, volume: 7, turnover: NaN },
      { openTime: h + 7_200_000, open: 2, high: 2, low: 1, close: 1, volume: 0, turnover: NaN },
    ]);
  });

  it('closes(): each candle opens at the previous close, high/low span open and close', () => {
    expect(closes([100, 102, 101])).to.deep.equal([
      [100, 100, 100, 100],
      [100, 102, 100, 102],
      [102, 102, 101, 101],
    ]);
  });

  it('rejects a row whose high/low do not contain open and close, and unknown params', () => {
    expect(() => makeCandles([[100, 99, 98, 99.5]])).to.throw(ConfigError, /row 0: high 99 and low 98 must contain open 100/);
    expect(() => runStrategy(toy, { candles: TABLE, params: { buyBelo: 90 } as never })).to.throw(ConfigError, /unknown parameter "buyBelo" \(did you mean "buyBelow"\?\)/);
    expect(() => runStrategy(toy, { candles: TABLE, params: { stopPct: -1 } })).to.throw(ConfigError, /stopPct must be >= 0/);
  });

  it('simulator mode: intents per candle, positions as fills make them, trades and skips as in a backtest', () => {
    const run = runStrategy(toy, { candles: TABLE });
    const enter = { kind: 'enter', side: 'long', size: { unit: 'base', qty: 1 }, stopLoss: { pct: 0.1 }, reason: 'dip' };
    const exit = { kind: 'exit', reason: 'rip' };
    expect(run.intents).to.deep.equal([
      { index: 1, time: t(1), intents: [enter] },
      { index: 3, time: t(3), intents: [exit] },
      { index: 5, time: t(5), intents: [enter] },
      { index: 6, time: t(6), intents: [enter] },
      { index: 7, time: t(7), intents: [exit] },
      { index: 8, time: t(8), intents: [enter] },
    ]);
    expect(run.byCandle).to.deep.equal([[], [enter], [], [exit], [], [enter], [enter], [exit], [enter], []]);
    expect(run.positions).to.deep.equal(['flat', 'flat', 'long', 'long', 'flat', 'flat', 'flat', 'flat', 'flat', 'long']);

    expect(run.trades.map((x) => ({ signal: x.signalTime, entry: x.entryTime, exit: x.exitTime, entryPrice: x.entryPrice.toString(), exitPrice: x.exitPrice.toString(), reason: x.exitReason }))).to.deep.equal([
      { signal: t(1), entry: t(2), exit: t(4), entryPrice: '96', exitPrice: '104', reason: 'signal' },
      { signal: t(5), entry: t(6), exit: t(6), entryPrice: '91', exitPrice: '81.9', reason: 'stop_loss' },
      { signal: t(8), entry: t(9), exit: t(9), entryPrice: '94', exitPrice: '94', reason: 'end_of_data' },
    ]);
    // Trade 1: +8 gross, fees (96 + 104) x 0.00055 = 0.11.
    expect(run.trades[0]!.netPnl.toString()).to.equal('7.89');

    const outcomes = run.decisions.map((d) => d.outcomes.map((o) => ('order' in o ? `order ${o.order.purpose}` : o.skipped)));
    expect(outcomes).to.deep.equal([
      ['order entry'],
      ['order exit'],
      ['order entry'],
      ['entry ignored: a stop loss or take profit fired on this candle'],
      ['exit ignored: no position is open'],
      ['order entry'],
    ]);
    expect([...run.skipped]).to.deep.equal([
      ['entry ignored: a stop loss or take profit fired on this candle', 1],
      ['exit ignored: no position is open', 1],
    ]);
  });

  it('warmup: intents on the first candles are discarded and not acted on', () => {
    const run = runStrategy(toy, { candles: TABLE, warmup: 2 });
    // Row 1's entry is gone; row 2 (flat, 93 < 95) enters instead, filling at row 3's open 93; row 3's close 106 exits at row 4's open 104.
    expect(run.intents.map((x) => x.index)).to.deep.equal([2, 3, 5, 6, 7, 8]);
    expect(run.byCandle[1]).to.deep.equal([]);
    expect(run.trades[0]!.signalTime).to.equal(t(2));
    expect(run.trades[0]!.entryPrice.toString()).to.equal('93');
    expect(run.trades[0]!.exitPrice.toString()).to.equal('104');
  });

  it("params override defaults: buyBelow 92 leaves rows 1 (94), 2 (93) and 8 (93) without entries", () => {
    const run = runStrategy(toy, { candles: TABLE, params: { buyBelow: 92 } });
    // Row 3 exit while flat; row 5 (90) enters, fills at 91 on row 6 and is stopped at 81.9; row 6 (85) is skipped; row 7 exit while flat.
    expect(run.intents.map((x) => [x.index, x.intents[0]!.kind])).to.deep.equal([[3, 'exit'], [5, 'enter'], [6, 'enter'], [7, 'exit']]);
    expect(run.trades).to.have.length(1);
    expect(run.trades[0]!.exitReason).to.equal('stop_loss');
  });

  it("fixed position 'long': every candle sees a long position, no broker, no trades", () => {
    const run = runStrategy(toy, { candles: TABLE, position: 'long' });
    // Entries need flat, so only the exit rule speaks: closes above 105 on rows 3 (106) and 7 (108).
    expect(run.intents).to.deep.equal([
      { index: 3, time: t(3), intents: [{ kind: 'exit', reason: 'rip' }] },
      { index: 7, time: t(7), intents: [{ kind: 'exit', reason: 'rip' }] },
    ]);
    expect(run.positions).to.deep.equal(Array(10).fill('long'));
    expect(run.trades).to.deep.equal([]);
    expect(run.decisions).to.deep.equal([]);
  });

  it("fixed position 'flat': entries on every close below 95, exits still asked above 105", () => {
    const run = runStrategy(toy, { candles: TABLE, position: 'flat' });
    expect(run.intents.map((x) => [x.index, x.intents[0]!.kind])).to.deep.equal([
      [1, 'enter'], [2, 'enter'], [3, 'exit'], [5, 'enter'], [6, 'enter'], [7, 'exit'], [8, 'enter'], [9, 'enter'],
    ]);
  });

  it('a fixed position with qty and entry price reaches ctx.position', () => {
    const seen: unknown[] = [];
    const spy = defineStrategy({
      name: 'spy', description: 'records ctx', params: {}, warmup: () => 0,
      create: (_p, env) => ({ onCandle: (c, ctx) => void seen.push([c.openTime, ctx.position.side, ctx.position.qty, ctx.position.entryPrice, ctx.symbol, ctx.interval, env.intervalMs]) }),
    });
    runStrategy(spy, { candles: [[1, 1, 1, 1], [2, 2, 2, 2]], position: { side: 'short', qty: 0.5, entryPrice: 101 }, start: 0, interval: '5', symbol: 'ETHUSDT' });
    expect(seen).to.deep.equal([
      [0, 'short', 0.5, 101, 'ETHUSDT', '5', 300_000],
      [300_000, 'short', 0.5, 101, 'ETHUSDT', '5', 300_000],
    ]);
  });
});

describe('strategy test kit on real candles: the seed strategy', function () {
  this.timeout(120_000);
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it("acted-on entries are exactly a plain backtest's trade signal times (2024-08-01 to 2024-08-07, the committed sample)", async () => {
    const out = path.join(tmp.dir, 'bt');
    const r = await runCli(['backtest', '--candles', SAMPLE_15M, '--from', '2024-08-01', '--to', '2024-08-07', '--out', out, '--json'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const btTrades = parseCsv(readFileSync(path.join(out, 'trades.csv'), 'utf8'));
    expect(btTrades.length).to.be.greaterThan(3);

    // The same candles the backtest walked: the declared warm-up before 2024-08-01, then the 7 days.
    const { series } = await readCandleFile(SAMPLE_15M);
    const start = lowerBound(series, Date.UTC(2024, 7, 1));
    const end = lowerBound(series, Date.UTC(2024, 7, 8));
    const warmup = seed.warmup({ rsiPeriod: 14, stochPeriod: 14, kSmoothing: 3, dSmoothing: 3 } as never);
    expect(warmup).to.equal(434);
    const rows: CandleRow[] = [];
    for (let i = start - warmup; i < end; i++) rows.push([series.open[i]!, series.high[i]!, series.low[i]!, series.close[i]!, series.volume[i]!]);
    const run = runStrategy(seed, {
      candles: rows,
      start: series.openTime[start - warmup]!,
      warmup,
      // pyr backtest's built-in BTCUSDT rules: stops and targets round to the same 0.1 tick.
      rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '5' },
    });
    const acted = run.decisions.filter((d) => d.intents[0]!.kind === 'enter' && 'order' in d.outcomes[0]!).map((d) => d.time);
    // An entry decided on the very last candle never fills, in the backtest as in the kit.
    const filled = acted.filter((x) => x < Date.UTC(2024, 7, 7, 23, 45));
    expect(filled).to.deep.equal(btTrades.map((x) => Number(x.signalTime)));
    expect(run.trades.map((x) => [x.signalTime, x.entryTime, x.exitTime, x.exitReason, x.entryPrice.toString(), x.exitPrice.toString()])).to.deep.equal(
      btTrades.map((x) => [Number(x.signalTime), Number(x.entryTime), Number(x.exitTime), x.exitReason, x.entryPrice, x.exitPrice]),
    );
    // Every intent the kit reports falls in the traded range (warm-up wishes are discarded).
    expect(run.intents.every((x) => x.time >= Date.UTC(2024, 7, 1))).to.equal(true);
  });
});
