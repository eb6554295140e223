/**
 * pivot-bounce on hand-made 4-hour candles (6 a day, from Monday 2024-01-01), every intent and trade
 * worked out by hand; then a month of real 15-minute candles through `pyr backtest`.
 *
 * Day 1 (rows 0-5) has high 110, low 90, last close 100, so day 2 trades on
 *   P = (110 + 90 + 100) / 3 = 100, range 20,
 *   S1 = 100 - 0.382 x 20 = 92.36, S2 = 100 - 0.618 x 20 = 87.64,
 *   R1 = 107.64, R2 = 112.36.
 * With touchPct 0.001 a low touches S1 at <= 92.36 x 1.001 = 92.45236, a high R1 at >= 107.64 x 0.999 =
 * 107.53236. With stopBufferPct 0.002 a long from S1 stops at 92.36 x 0.998 = 92.17528 (92.18 on the
 * 0.01 tick), a short from R1 at 107.64 x 1.002 = 107.85528 (107.86).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCandleFile } from '../../lib/data/csv.ts';
import { runStrategy, type CandleRow } from '../../lib/testkit/index.ts';
import pivotBounce from '../../strategies/pivot-bounce.ts';
import { SAMPLE_15M, parseCsv, runCli, tempDir } from '../helpers.ts';

const H4 = 4 * 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const t = (i: number) => T0 + i * H4;
const base = { interval: '240', start: T0, params: { touchPct: 0.001, stopBufferPct: 0.002 } } as const;

//                    open high low close
const DAY1: CandleRow[] = [
  [100, 105, 95, 102],
  [102, 110, 101, 108],
  [108, 109, 100, 101],
  [101, 102, 90, 93],
  [93, 99, 92, 98],
  [98, 101, 97, 100],
];

// A long: row 7 touches S1 but closes below its open (no); row 8 touches S1 and closes up above it.
const LONG_SETUP: CandleRow[] = [
  [99, 100, 96, 97], //      6 no touch (low 96 > 92.45, high 100 < 107.53)
  [97, 97.5, 92.4, 95], //   7 touches S1, but bearish: no entry
  [95, 96, 92.3, 95.5], //   8 touches S1, bullish, 92.36 < 95.5 < 100: BUY, stop 92.17528, target 100
  [95.5, 99, 95, 98], //     9 fills at 95.5 (stop 92.18, target 100); held 1 candle
];

describe('pivot-bounce (hand-made candles)', () => {
  it('long: buys the bullish S1 bounce, sells at the pivot target', () => {
    const rows = [...DAY1, ...LONG_SETUP,
      [98, 100.5, 97, 99.5], // 10 high 100.5 >= 100: take profit at 100. Flat again: no touch
      [99.5, 99.8, 98, 99], //  11 nothing
    ] as CandleRow[];
    const run = runStrategy(pivotBounce, { ...base, candles: rows });
    expect(run.intents.map((x) => x.index)).to.deep.equal([8]);
    const e = run.intents[0]!.intents[0]!;
    if (e.kind !== 'enter') throw new Error('expected an entry');
    expect(e.side).to.equal('long');
    expect(e.reason).to.equal('bounce off S1 92.36');
    expect(e.size).to.deep.equal({ unit: 'quote', amount: 10 });
    expect((e.stopLoss as { price: number }).price).to.be.closeTo(92.17528, 1e-9);
    expect((e.takeProfit as { price: number }).price).to.be.closeTo(100, 1e-9);
    expect(run.trades.map((x) => [x.side, x.signalTime, x.entryTime, x.exitTime, x.entryPrice.toString(), x.stopLoss?.toString(), x.takeProfit?.toString(), x.exitPrice.toString(), x.exitReason])).to.deep.equal([
      ['long', t(8), t(9), t(10), '95.5', '92.18', '100', '100', 'take_profit'],
    ]);
  });

  it('short: sells the bearish R1 rejection; its stop fires', () => {
    const rows = [...DAY1,
      [101, 104, 100, 103], //       6 bullish, above P: nothing
      [103, 107.6, 102, 106], //     7 touches R1 (107.6 >= 107.53), but bullish: no entry
      [106, 107.7, 104, 104.5], //   8 touches R1, bearish, 100 < 104.5 < 107.64: SELL, stop 107.85528, target 100
      [104.5, 105, 103, 104], //     9 fills at 104.5 (stop 107.86)
      [104, 108, 103.5, 107.5], //  10 high 108 >= 107.86: stopped at 107.86. Flat: touches R1 but bullish: nothing
    ] as CandleRow[];
    const run = runStrategy(pivotBounce, { ...base, candles: rows });
    expect(run.intents.map((x) => [x.index, x.intents[0]!.kind, x.intents[0]!.reason])).to.deep.equal([[8, 'enter', 'rejected at R1 107.64']]);
    const e = run.intents[0]!.intents[0]!;
    if (e.kind !== 'enter') throw new Error('expected an entry');
    expect(e.side).to.equal('short');
    expect((e.stopLoss as { price: number }).price).to.be.closeTo(107.85528, 1e-9);
    expect(run.trades.map((x) => [x.side, x.entryPrice.toString(), x.stopLoss?.toString(), x.takeProfit?.toString(), x.exitPrice.toString(), x.exitReason, x.exitTime])).to.deep.equal([
      ['short', '104.5', '107.86', '100', '107.86', 'stop_loss', t(10)],
    ]);
    // Without shorts the same candles ask for nothing.
    expect(runStrategy(pivotBounce, { ...base, params: { ...base.params, allowShorts: false }, candles: rows }).intents).to.deep.equal([]);
  });

  // The long of the first test, but the target is never reached: rows 10-12 stay below 100.
  const HOLD: CandleRow[] = [...DAY1, ...LONG_SETUP,
    [98, 99.5, 97, 99], //      10 held 2 candles
    [99, 99.8, 98, 99.5], //    11 held 3 candles
    [99.5, 99.9, 98.5, 99], //  12 day 3 begins: the levels roll over (EXIT with exitOnNewPeriod)
    [99, 99.5, 98.8, 99.2], //  13 the exit fills at 99. Day 3's P = (100 + 92.3 + 99.5) / 3 = 97.27 < 99.2: no long; bullish: no short
  ];

  it('exits when the levels roll over to a new day', () => {
    const run = runStrategy(pivotBounce, { ...base, candles: HOLD });
    expect(run.intents.map((x) => [x.index, x.intents[0]!.kind, x.intents[0]!.reason])).to.deep.equal([
      [8, 'enter', 'bounce off S1 92.36'],
      [12, 'exit', 'new period: the levels the trade was built on expired'],
    ]);
    expect(run.trades.map((x) => [x.entryPrice.toString(), x.exitPrice.toString(), x.exitReason, x.exitTime])).to.deep.equal([['95.5', '99', 'signal', t(13)]]);
  });

  it('with exitOnNewPeriod off it holds to the end of the data', () => {
    const run = runStrategy(pivotBounce, { ...base, params: { ...base.params, exitOnNewPeriod: false }, candles: HOLD });
    expect(run.intents.map((x) => x.index)).to.deep.equal([8]);
    expect(run.trades.map((x) => [x.exitPrice.toString(), x.exitReason])).to.deep.equal([['99.2', 'end_of_data']]);
  });

  it('time stop: maxBars 2 exits on the second candle in the position', () => {
    // In from row 9: row 9 is candle 1, row 10 candle 2: EXIT, filled at row 11's open 99. Rows 11-13 then
    // touch nothing (row 12 is under day 3's R1 = 97.27 + 0.382 x 7.7 = 100.21).
    const run = runStrategy(pivotBounce, { ...base, params: { ...base.params, maxBars: 2 }, candles: HOLD });
    expect(run.intents.map((x) => [x.index, x.intents[0]!.reason])).to.deep.equal([
      [8, 'bounce off S1 92.36'],
      [10, 'time stop: 2 candles in the position'],
    ]);
    expect(run.trades.map((x) => [x.exitTime, x.exitPrice.toString(), x.exitReason])).to.deep.equal([[t(11), '99', 'signal']]);
  });

  it('entry rule (fixed flat position): the deepest touched support counts, up to maxLevel; the close must be back above it', () => {
    const rows = [...DAY1,
      [99, 100, 96, 97], //       6 nothing
      [92, 94, 87.6, 93.5], //    7 bullish, low 87.6 <= 87.64 x 1.001 = 87.72764: S2 bounce (S1 touched too)
      [91, 92.3, 90.5, 92.2], //  8 bullish, touches S1 but closes below it (92.2 < 92.36), above S2's touch zone: nothing
    ] as CandleRow[];
    const s2 = runStrategy(pivotBounce, { ...base, position: 'flat', candles: rows });
    expect(s2.intents.map((x) => [x.index, x.intents[0]!.reason])).to.deep.equal([[7, 'bounce off S2 87.64']]);
    expect((s2.byCandle[7]![0] as { stopLoss: { price: number } }).stopLoss.price).to.be.closeTo(87.64 * 0.998, 1e-9);
    // maxLevel 1: S2 is not traded, so row 7 is an S1 bounce with the stop under S1.
    const s1 = runStrategy(pivotBounce, { ...base, params: { ...base.params, maxLevel: 1 }, position: 'flat', candles: rows });
    expect(s1.intents.map((x) => [x.index, x.intents[0]!.reason])).to.deep.equal([[7, 'bounce off S1 92.36']]);
    expect((s1.byCandle[7]![0] as { stopLoss: { price: number } }).stopLoss.price).to.be.closeTo(92.17528, 1e-9);
  });

  it('exit rules (fixed long position): time stop every candle from maxBars on; new-period exit', () => {
    // No levels on day 1: only the time stop speaks, from the 3rd candle on.
    const time = runStrategy(pivotBounce, { ...base, params: { ...base.params, maxBars: 3 }, position: 'long', candles: DAY1 });
    expect(time.intents.map((x) => [x.index, x.intents[0]!.reason])).to.deep.equal([
      [2, 'time stop: 3 candles in the position'],
      [3, 'time stop: 4 candles in the position'],
      [4, 'time stop: 5 candles in the position'],
      [5, 'time stop: 6 candles in the position'],
    ]);
    // Held from before: the first levels it sees (day 2's) are its own; day 3's replace them on row 12.
    const period = runStrategy(pivotBounce, { ...base, position: 'long', candles: HOLD });
    expect(period.intents.map((x) => [x.index, x.intents[0]!.kind])).to.deep.equal([[12, 'exit'], [13, 'exit']]);
  });
});

describe('pivot-bounce on a month of real candles (pyr backtest, the committed sample)', function () {
  this.timeout(120_000);
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('trades August 2024 with targets at the previous UTC day\'s pivot (H + L + C) / 3', async () => {
    const out = path.join(tmp.dir, 'bt');
    const r = await runCli(['backtest', '--strategy', 'pivot-bounce', '--candles', SAMPLE_15M, '--from', '2024-08-01', '--to', '2024-08-31', '--out', out, '--json'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const trades = parseCsv(readFileSync(path.join(out, 'trades.csv'), 'utf8'));
    expect(trades.length).to.be.greaterThan(10);
    expect(new Set(trades.map((x) => x.side))).to.deep.equal(new Set(['long', 'short']));

    // Daily H, L and last close from the raw candles, independently of the indicator.
    const { series } = await readCandleFile(SAMPLE_15M);
    const days = new Map<number, { h: number; l: number; c: number }>();
    for (let i = 0; i < series.length; i++) {
      const day = Math.floor(series.openTime[i]! / 86_400_000);
      const d = days.get(day);
      if (!d) days.set(day, { h: series.high[i]!, l: series.low[i]!, c: series.close[i]! });
      else {
        d.h = Math.max(d.h, series.high[i]!);
        d.l = Math.min(d.l, series.low[i]!);
        d.c = series.close[i]!;
      }
    }
    for (const x of trades) {
      expect(x.entryReason).to.match(/^(bounce off S[12]|rejected at R[12]) \d+\.\d\d$/);
      expect(x.side).to.equal(x.entryReason!.startsWith('bounce') ? 'long' : 'short');
      const prev = days.get(Math.floor(Number(x.signalTime) / 86_400_000) - 1)!;
      const pivot = (prev.h + prev.l + prev.c) / 3;
      expect(Number(x.takeProfit), `trade ${x.id}`).to.be.closeTo(pivot, 0.051); // rounded to the 0.1 tick
      // The stop is beyond the level, on the far side from the target.
      if (x.side === 'long') expect(Number(x.stopLoss)).to.be.lessThan(Number(x.takeProfit));
      else expect(Number(x.stopLoss)).to.be.greaterThan(Number(x.takeProfit));
      expect(['stop_loss', 'take_profit', 'signal', 'end_of_data']).to.include(x.exitReason);
    }
  });
});
