import { expect } from 'chai';
import { readCandleFile } from '../../lib/data/csv.ts';
import { readFundingFile } from '../../lib/data/store.ts';
import { fundingRows, type MarketEvent, MarketReplay } from '../../lib/sandbox/market.ts';
import { ConfigError } from '../../lib/core/errors.ts';
import { M15, T0, sample15m, sampleFunding, tinySeries } from './helpers.ts';

describe('sandbox market replay', () => {
  it('walks open, nearer extreme, other extreme, close at 0, 1/3, 2/3 and the end of the candle', () => {
    // low (5 away) is nearer to the open than high (10 away)
    const m = new MarketReplay({ series: tinySeries([[100, 110, 95, 105]]), interval: '15' });
    expect(m.path(0).map((p) => [p.time - T0, p.price])).to.deep.equal([
      [0, 100],
      [300_000, 95],
      [600_000, 110],
      [899_999, 105],
    ]);
  });

  it('with the tick known, moves the price linearly in time between path points, rounded to the tick, and reports that part of the move', () => {
    // open 100 → low 95 over the first third (300 000 ms); tick 0.1.
    const m = new MarketReplay({ series: tinySeries([[100, 110, 95, 105]]), interval: '15', tickSize: 0.1 });
    const moves: string[] = [];
    const on = (e: MarketEvent) => {
      if (e.type === 'price') moves.push(`${e.from.time - T0}:${e.from.price}->${e.point.time - T0}:${e.point.price}`);
    };
    m.advanceTo(T0 + 100_000, on); // a third of the way: 100 - 5/3 = 98.333… → 98.3
    expect(m.price()).to.equal(98.3);
    m.advanceTo(T0 + 150_000, on); // half way: 97.5
    expect(m.price()).to.equal(97.5);
    m.advanceTo(T0 + 450_000, on); // half way from the low 95 to the high 110: 102.5
    expect(m.price()).to.equal(102.5);
    expect(moves).to.deep.equal(['0:100->100000:98.3', '100000:98.3->150000:97.5', '150000:97.5->300000:95', '300000:95->450000:102.5']);
    // After the close the price stays at the close until the next open.
    m.advanceTo(T0 + M15, on);
    expect(m.price()).to.equal(105);
    // Without the tick the price stays at the last point (as before).
    const still = new MarketReplay({ series: tinySeries([[100, 110, 95, 105]]), interval: '15' });
    still.advanceTo(T0 + 150_000, () => {});
    expect(still.price()).to.equal(100);
  });

  it('takes the high first on a tie, and when the high is nearer', () => {
    const tie = new MarketReplay({ series: tinySeries([[100, 105, 95, 101]]), interval: '15' });
    expect(tie.path(0).map((p) => p.price)).to.deep.equal([100, 105, 95, 101]);
    const highNear = new MarketReplay({ series: tinySeries([[100, 102, 90, 91]]), interval: '15' });
    expect(highNear.path(0).map((p) => p.price)).to.deep.equal([100, 102, 90, 91]);
  });

  it('reports points, closes and the next open in time order; a close comes before the next open', () => {
    const m = new MarketReplay({ series: tinySeries([[100, 110, 95, 105], [106, 108, 104, 107]]), interval: '15' }); // 2nd: a tie, high first
    const seen: string[] = [];
    m.advanceTo(T0 + 2 * M15, (e: MarketEvent) => {
      if (e.type === 'price') seen.push(`${e.point.time - T0}:${e.point.price}${e.gap ? ' gap' : ''}`);
      else if (e.type === 'candleClosed') seen.push(`close ${e.bar.start - T0} ${e.bar.close}`);
    });
    expect(seen).to.deep.equal([
      '300000:95', '600000:110', '899999:105', 'close 0 105',
      '900000:106 gap', '1200000:108', '1500000:104', '1799999:107', 'close 900000 107',
    ]);
    expect(m.finished()).to.equal(true);
    expect(m.nextEventTime()).to.equal(undefined);
  });

  it('serves the open candle as it forms and never a candle after the clock', () => {
    const m = new MarketReplay({ series: tinySeries([[100, 101, 99, 100], [100, 110, 95, 105], [105, 106, 104, 105]]), interval: '15', startTime: T0 + M15 });
    let bars = m.klines({ limit: 200 });
    expect(bars.map((b) => b.start)).to.deep.equal([T0 + M15, T0]); // newest first, nothing from the future
    expect(bars[0]).to.include({ open: 100, high: 100, low: 100, close: 100, confirm: false });
    expect(bars[1]).to.include({ close: 100, confirm: true });
    m.advanceTo(T0 + M15 + 300_000, () => {});
    bars = m.klines({ limit: 1 });
    expect(bars).to.have.length(1);
    expect(bars[0]).to.include({ high: 100, low: 95, close: 95, confirm: false });
    expect(bars[0]!.volume).to.be.closeTo(12.5 / 3, 1e-9);
    m.advanceTo(T0 + M15 + 600_000, () => {});
    expect(m.klines({ limit: 1 })[0]).to.include({ high: 110, low: 95, close: 110 });
    expect(m.price()).to.equal(110);
  });

  it('applies start/end inclusively and limit from the right end', () => {
    const m = new MarketReplay({ series: tinySeries([[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3], [4, 4, 4, 4], [5, 5, 5, 5]]), interval: '15', startTime: T0 + 4 * M15 });
    expect(m.klines({ start: T0 + M15, end: T0 + 3 * M15, limit: 200 }).map((b) => b.open)).to.deep.equal([4, 3, 2]);
    expect(m.klines({ start: T0 + M15, end: T0 + 3 * M15, limit: 2 }).map((b) => b.open)).to.deep.equal([4, 3]);
    expect(m.klines({ start: T0, limit: 2 }).map((b) => b.open)).to.deep.equal([2, 1]);
    expect(m.klines({ end: T0 + 2 * M15, limit: 2 }).map((b) => b.open)).to.deep.equal([3, 2]);
    expect(m.klines({ start: T0 + 10 * M15, limit: 5 })).to.deep.equal([]);
  });

  it('rejects a start outside the candles', () => {
    expect(() => new MarketReplay({ series: tinySeries([[1, 1, 1, 1]]), interval: '15', startTime: T0 - 1 })).to.throw(ConfigError, /startTime/);
  });

  it('settles funding at its timestamps and serves only settlements already passed', () => {
    const funding = [{ time: T0 - 8 * 3_600_000, rate: '0.0001' }, { time: T0 + M15, rate: '-0.0002' }];
    const m = new MarketReplay({ series: tinySeries([[1, 1, 1, 1], [2, 2, 2, 2]]), interval: '15', funding });
    expect(m.fundingHistory({ limit: 200 }).map((r) => r.rate)).to.deep.equal(['0.0001']);
    const events: MarketEvent[] = [];
    m.advanceTo(T0 + M15, (e) => events.push(e));
    expect(events.map((e) => e.type)).to.deep.equal(['price', 'price', 'price', 'candleClosed', 'price', 'funding']);
    expect(m.fundingHistory({ limit: 200 }).map((r) => r.rate)).to.deep.equal(['-0.0002', '0.0001']);
    expect(m.nextFunding()).to.equal(undefined);
  });

  it('replays the real Bybit 15m candles: history intact, every closed candle identical to the file', async () => {
    const { series } = await readCandleFile(sample15m);
    const { times, rates } = await readFundingFile(sampleFunding);
    const start = Date.UTC(2024, 7, 5); // 2024-08-05, a volatile day (1,000 candles of history before it in the sample)
    const m = new MarketReplay({ series, interval: '15', startTime: start, funding: fundingRows({ times, rates }) });
    const history = m.klines({ limit: 1000 });
    expect(history).to.have.length(1000);
    expect(history[0]!.start).to.equal(start);
    const i0 = series.openTime.indexOf(start);
    for (let k = 1; k < history.length; k++) {
      const b = history[k]!;
      const i = i0 - k;
      expect([b.start, b.open, b.high, b.low, b.close, b.volume]).to.deep.equal([series.openTime[i], series.open[i], series.high[i], series.low[i], series.close[i], series.volume[i]]);
    }
    let points = 0;
    const closed: number[] = [];
    let fundings = 0;
    m.advanceTo(start + 86_400_000, (e) => {
      if (e.type === 'price') {
        points++;
        const i = e.point.candle;
        expect(e.point.price).to.be.within(series.low[i]!, series.high[i]!);
      } else if (e.type === 'candleClosed') {
        const i = series.openTime.indexOf(e.bar.start);
        expect([e.bar.open, e.bar.high, e.bar.low, e.bar.close]).to.deep.equal([series.open[i], series.high[i], series.low[i], series.close[i]]);
        closed.push(e.bar.start);
      } else fundings++;
    });
    expect(points).to.equal(96 * 4); // 3 remaining points of the first candle, 4 for 95 more, the next open
    expect(closed).to.have.length(96);
    expect(fundings).to.equal(3); // 08:00, 16:00, 00:00 next day
    expect(m.fundingHistory({ limit: 1 })[0]!.time).to.equal(start + 86_400_000);
  });
});
