import { expect } from 'chai';
import { ConfigError, DataError } from '../../lib/core/index.ts';
import { SwingPivots, nearLevel, type SwingPoint } from '../../lib/indicators/index.ts';
import { candle, realCandles } from './fixtures.ts';

const BAR = 900_000;
const T0 = Date.UTC(2024, 0, 1);

/** Candles from parallel high and low arrays, one 15-minute bar apart. */
function bars(highs: readonly number[], lows: readonly number[]): ReturnType<typeof candle>[] {
  return highs.map((h, i) => candle(T0 + i * BAR, h, lows[i]!));
}

/** Lows mirroring the highs around 100, so high pivots and low pivots fall on the same bars. */
const mirror = (highs: readonly number[]): number[] => highs.map((h) => 200 - h - 10);

describe('SwingPivots', () => {
  it('reports a pivot exactly rightBars bars after it, never earlier', () => {
    for (const rightBars of [1, 2, 3]) {
      // Bar 3 is the top; later bars fall away.
      const highs = [100, 101, 102, 105, 104, 103, 102, 101];
      const sw = new SwingPivots({ leftBars: 2, rightBars });
      const confirmedAt = 3 + rightBars;
      bars(highs, mirror(highs)).forEach((c, i) => {
        const ready = sw.update(c);
        const fired = sw.confirmed;
        const tag = `rightBars ${rightBars}, bar ${i}`;
        expect(ready, `${tag}: ready once leftBars + rightBars + 1 bars are in`).to.equal(i >= 2 + rightBars);
        expect(fired, tag).to.equal(i === confirmedAt);
        if (i < confirmedAt) {
          expect(sw.lastPivotHigh, tag).to.equal(undefined);
          expect(sw.resistances(), tag).to.deep.equal([]);
        }
      });
      expect(sw.lastPivotHigh).to.deep.equal({ price: 105, openTime: T0 + 3 * BAR, confirmedAt: T0 + confirmedAt * BAR });
      expect(sw.resistances()).to.deep.equal([105]);
      expect(sw.lastPivotLow?.price, 'the mirrored low').to.equal(200 - 105 - 10);
      expect(sw.supports()).to.deep.equal([85]);
    }
  });

  it('is strict on the left and non-strict on the right: one pivot per flat top, at its first bar', () => {
    const highs = [100, 101, 105, 105, 105, 103, 102, 101];
    const sw = new SwingPivots({ leftBars: 2, rightBars: 2 });
    const seen: SwingPoint[] = [];
    for (const c of bars(highs, mirror(highs))) {
      sw.update(c);
      if (sw.lastPivotHigh && sw.lastPivotHigh !== seen.at(-1)) seen.push(sw.lastPivotHigh);
    }
    expect(seen.map((p) => (p.openTime - T0) / BAR), 'bars 3 and 4 equal a bar on their left').to.deep.equal([2]);
  });

  it('a higher bar inside the right window cancels the pivot', () => {
    const highs = [100, 101, 105, 104, 106, 103, 102];
    const sw = new SwingPivots({ leftBars: 2, rightBars: 2 });
    const found: number[] = [];
    bars(highs, mirror(highs)).forEach((c, i) => {
      sw.update(c);
      if (sw.confirmed && sw.lastPivotHigh?.confirmedAt === c.openTime) found.push(i);
    });
    expect(sw.lastPivotHigh?.openTime, 'bar 4 (106) is the pivot, bar 2 (105) never was').to.equal(T0 + 4 * BAR);
    expect(found).to.deep.equal([6]);
  });

  it('levels known at a bar do not depend on any later candle', () => {
    const highs = [100, 101, 105, 104, 103, 104, 108, 107, 106, 105, 104];
    const prefix = 8;
    const snapshot = (sw: SwingPivots): unknown => [sw.resistances(), sw.supports(), sw.lastPivotHigh, sw.lastPivotLow];
    const a = new SwingPivots();
    const b = new SwingPivots();
    const candlesA = bars(highs, mirror(highs));
    // Same first `prefix` bars, then a completely different future.
    const candlesB = bars([...highs.slice(0, prefix), 500, 1, 500], [...mirror(highs).slice(0, prefix), 400, 0.5, 400]);
    for (let i = 0; i < prefix; i++) {
      a.update(candlesA[i]!);
      b.update(candlesB[i]!);
      expect(snapshot(a), `bar ${i}`).to.deep.equal(snapshot(b));
    }
    expect(a.resistances(), 'bar 6 (108) needs bars 7 and 8').to.deep.equal([105]);
    a.update(candlesA[prefix]!);
    b.update(candlesB[prefix]!);
    expect(a.resistances()).to.deep.equal([105, 108]);
    expect(b.resistances(), 'a higher bar 8 cancels 108').to.deep.equal([105]);
  });

  it('matches the definition on the real 15m candles: every pivot, confirmed exactly rightBars bars later', function () {
    // The first 20,000 candles of the 21-month file (2023-12-01 to 2024-06-27): more than the sample holds.
    const { timestamp, high, low, close } = realCandles(this);
    const n = 20_000;
    for (const [L, R] of [[2, 2], [3, 1], [5, 5]] as const) {
      // The definition evaluated with the whole series in view (look-ahead allowed here, on purpose).
      const expectedHighs: number[] = [];
      const expectedLows: number[] = [];
      for (let j = L; j + R < n; j++) {
        let isHigh = true;
        let isLow = true;
        for (let i = 1; i <= L; i++) {
          if (!(high[j]! > high[j - i]!)) isHigh = false;
          if (!(low[j]! < low[j - i]!)) isLow = false;
        }
        for (let i = 1; i <= R; i++) {
          if (!(high[j]! >= high[j + i]!)) isHigh = false;
          if (!(low[j]! <= low[j + i]!)) isLow = false;
        }
        if (isHigh) expectedHighs.push(j);
        if (isLow) expectedLows.push(j);
      }
      const sw = new SwingPivots({ leftBars: L, rightBars: R, tolerancePct: 0.0005, maxLevels: 10 });
      const gotHighs: number[] = [];
      const gotLows: number[] = [];
      for (let t = 0; t < n; t++) {
        const prevHigh = sw.lastPivotHigh;
        const prevLow = sw.lastPivotLow;
        const ready = sw.update({ openTime: timestamp[t]!, open: close[t]!, high: high[t]!, low: low[t]!, close: close[t]!, volume: 1, turnover: NaN });
        expect(ready, `L${L} R${R} ready at bar ${t}`).to.equal(t >= L + R);
        const fired = sw.confirmed;
        const newHigh = sw.lastPivotHigh !== prevHigh ? sw.lastPivotHigh : undefined;
        const newLow = sw.lastPivotLow !== prevLow ? sw.lastPivotLow : undefined;
        expect(fired, `L${L} R${R} bar ${t}`).to.equal(newHigh !== undefined || newLow !== undefined);
        for (const [p, list, src] of [[newHigh, gotHighs, high], [newLow, gotLows, low]] as const) {
          if (!p) continue;
          const j = timestamp.indexOf(p.openTime, t - R - 1);
          expect(j, `L${L} R${R}: reported at bar ${t}`).to.equal(t - R);
          expect(p.confirmedAt).to.equal(timestamp[t]);
          expect(p.price).to.equal(src[j]);
          list.push(j);
        }
      }
      expect(gotHighs, `L${L} R${R} pivot highs`).to.deep.equal(expectedHighs);
      expect(gotLows, `L${L} R${R} pivot lows`).to.deep.equal(expectedLows);
      expect(expectedHighs.length, 'the sample has pivots').to.be.above(100);

      const res = sw.resistances();
      const sup = sw.supports();
      expect(res.length).to.be.within(1, 10);
      expect(sup.length).to.be.within(1, 10);
      expect([...res].sort((a, b) => a - b), 'resistances ascending').to.deep.equal(res);
      expect([...sup].sort((a, b) => b - a), 'supports descending').to.deep.equal(sup);
      for (const lv of res) expect(expectedHighs.some((j) => high[j] === lv), `${lv} is a pivot high`).to.equal(true);
      for (const lv of sup) expect(expectedLows.some((j) => low[j] === lv), `${lv} is a pivot low`).to.equal(true);
    }
  });

  it('merges a level within tolerancePct of an existing one into the newer price', () => {
    // Pivot highs at bars 2 (100), 6 (100.04) and 10 (100.2). 0.05 % of 100 is 0.05: 100.04 replaces 100;
    // 100.2 is 0.16 from 100.04, more than 0.05 % of it, so it is a level of its own.
    const highs = [90, 95, 100, 95, 90, 95, 100.04, 95, 90, 95, 100.2, 95, 90];
    const sw = new SwingPivots({ leftBars: 2, rightBars: 2, tolerancePct: 0.0005 });
    const history: (readonly number[])[] = [];
    for (const c of bars(highs, mirror(highs))) {
      sw.update(c);
      if (history.at(-1) !== sw.resistances()) history.push(sw.resistances());
    }
    expect(history.slice(1)).to.deep.equal([[100], [100.04], [100.04, 100.2]]);
    // The mirrored lows are 90, 89.96 and 89.8: 89.96 replaces 90 (0.04 <= 0.045), 89.8 stays apart.
    expect(sw.supports()).to.deep.equal([89.96, 89.8]);
    expect(new SwingPivots({ tolerancePct: 0 }).tolerancePct).to.equal(0);
  });

  it('keeps only the maxLevels most recent levels of each kind', () => {
    // Five separate peaks: 110, 130, 120, 140, 115.
    const peaks = [110, 130, 120, 140, 115];
    const highs = [100, ...peaks.flatMap((p) => [100, p, 100]), 100];
    const sw = new SwingPivots({ leftBars: 1, rightBars: 1, maxLevels: 3 });
    for (const c of bars(highs, mirror(highs))) sw.update(c);
    expect(sw.resistances()).to.deep.equal([115, 120, 140]);
  });

  it('reset() forgets levels and bars; bad options throw a ConfigError naming them', () => {
    const highs = [100, 101, 105, 104, 103];
    const sw = new SwingPivots();
    for (const c of bars(highs, mirror(highs))) sw.update(c);
    expect(sw.resistances()).to.deep.equal([105]);
    sw.reset();
    expect([sw.resistances(), sw.supports(), sw.lastPivotHigh, sw.lastPivotLow]).to.deep.equal([[], [], undefined, undefined]);
    expect([sw.value, sw.isReady, sw.confirmed]).to.deep.equal([undefined, false, false]);
    // Only two bars after the reset: no pivot can be known yet.
    expect(sw.update(candle(T0, 200, 100))).to.equal(false);
    expect(sw.update(candle(T0 + BAR, 100, 90))).to.equal(false);
    expect(sw.confirmed).to.equal(false);
    expect(() => sw.update(candle(T0 + 2 * BAR, NaN, 90)), 'a NaN high').to.throw(DataError, 'non-finite');
    for (const [key, bad] of [['leftBars', 0], ['rightBars', 1.5], ['maxLevels', -1], ['tolerancePct', -0.1], ['tolerancePct', NaN]] as const) {
      expect(() => new SwingPivots({ [key]: bad }), `${key} = ${bad}`).to.throw(ConfigError, key);
    }
  });
});

describe('nearLevel', () => {
  const levels = [100, 101, 98];
  it('returns the nearest level within tolerance of the price', () => {
    expect(nearLevel(100.04, levels, 0.0005)).to.equal(100);
    expect(nearLevel(100.6, levels, 0.01)).to.equal(101);
    expect(nearLevel(99, levels, 0.01), '98 is 1.0 away, more than 1 % of 98').to.equal(100);
    expect(nearLevel(99, [98, 100], 0.011), 'equally near: the earlier in the list').to.equal(98);
  });
  it('includes the boundary and returns undefined outside it or for no levels', () => {
    expect(nearLevel(100.5, [100], 0.005), '0.5 is exactly 0.5 % of 100').to.equal(100);
    expect(nearLevel(100.51, [100], 0.005)).to.equal(undefined);
    expect(nearLevel(100, [], 0.1)).to.equal(undefined);
  });
});
