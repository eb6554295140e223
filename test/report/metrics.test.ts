import { expect } from 'chai';
import { computeMetrics, dailyEquity, MIN_RATIO_DAYS, MIN_RATIO_TRADES, ratioSampleTooSmall, tradeDurationMs, type Metrics } from '../../lib/report/index.ts';
import { DAY, HOUR, MIN, T0, grid, makeRun, seedRun, trade } from './fixtures.ts';

/** Every number in the (nested) object is finite; NaN/Infinity must have become null. */
function assertJsonClean(value: unknown, path = 'metrics'): void {
  if (typeof value === 'number') expect(Number.isFinite(value), `${path} = ${value}`).to.equal(true);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) assertJsonClean(v, `${path}.${k}`);
}

describe('report/metrics computeMetrics', () => {
  describe('the seed example (5 trades: +2.50, +3.00, -1.00, 0, +0.73)', () => {
    let m: Metrics;
    before(() => {
      m = computeMetrics(seedRun());
    });

    it('counts wins (> 0) and losses (<= 0, break-even included) and the win rate', () => {
      expect(m.trades).to.equal(5);
      // wins: 2.50, 3.00, 0.73; losses: -1.00 and the break-even 0
      expect(m.wins).to.equal(3);
      expect(m.losses).to.equal(2);
      expect(m.winRate).to.equal(60); // 3 / 5 * 100
      expect(m.longs).to.equal(3);
      expect(m.shorts).to.equal(2);
    });

    it('sums money exactly with Decimal', () => {
      // net: 2.50 + 3.00 - 1.00 + 0 + 0.73 = 5.23
      expect(m.netPnlExact).to.equal('5.23');
      expect(m.netPnl).to.equal(5.23);
      // fees: 0.1 + 0.2 + 0.1 + 0.2 + 0.1 = 0.7 (a float sum gives 0.7000000000000001)
      expect(m.feesExact).to.equal('0.7');
      expect(m.fees).to.equal(0.7);
      // funding: 0.01 - 0.02 + 0 + 0 + 0.005 = -0.005
      expect(m.fundingExact).to.equal('-0.005');
      // gross = net + fees + funding = 5.23 + 0.7 - 0.005 = 5.925
      expect(m.grossPnlExact).to.equal('5.925');
      // gross profit 2.50 + 3.00 + 0.73 = 6.23; gross loss |-1.00| + |0| = 1
      expect(m.grossProfitExact).to.equal('6.23');
      expect(m.grossLossExact).to.equal('1');
      expect(m.finalBalanceExact).to.equal('1005.23');
    });

    it('computes averages, profit factor and expectancy', () => {
      expect(m.avgPnl).to.be.closeTo(1.046, 1e-12); // 5.23 / 5
      expect(m.avgWin).to.be.closeTo(6.23 / 3, 1e-12); // 2.07666…
      expect(m.avgLoss).to.be.closeTo(0.5, 1e-12); // (1 + 0) / 2, a positive magnitude
      expect(m.profitFactor).to.be.closeTo(6.23, 1e-12); // 6.23 / 1
      // 0.6 × 2.076666… − 0.4 × 0.5 = 1.246 − 0.2 = 1.046
      expect(m.expectancy).to.be.closeTo(1.046, 1e-12);
      expect(m.bestTrade).to.equal(3);
      expect(m.bestTradeExact).to.equal('3');
      expect(m.worstTrade).to.equal(-1);
      expect(m.worstTradeExact).to.equal('-1');
    });

    it('computes streaks in closing order: W W L L W', () => {
      expect(m.longestWinStreak).to.equal(2);
      expect(m.longestLossStreak).to.equal(2);
    });

    it('counts exits and the ambiguous-exit counterfactual', () => {
      expect(m.exits).to.deep.equal({ signal: 2, stop_loss: 1, take_profit: 1, end_of_data: 1, manual: 0, liquidation: 0 });
      expect(m.ambiguousExits).to.equal(1);
      // trade 3's -1.00 replaced by +1.90: 5.23 + 1.00 + 1.90 = 8.13
      expect(m.netPnlIfTargetFirstExact).to.equal('8.13');
      expect(m.netPnlIfTargetFirst).to.equal(8.13);
    });

    it('computes exposure, duration, returns and the candle range', () => {
      expect(m.exposurePct).to.equal(25); // 15 / 60
      // durations: tp 4m+1m, signal 10m, stop 1m+1m, signal 3m, end_of_data 9m+1m = 30m over 5 trades
      expect(m.avgTradeDurationMs).to.equal(6 * MIN);
      // exit − entry in candles: 4 + 10 + 1 + 3 + 9 = 27 over 5 trades
      expect(m.avgBarsHeld).to.be.closeTo(5.4, 1e-12);
      expect(m.returnPct).to.be.closeTo(0.523, 1e-12); // 5.23 / 1000 × 100
      expect(m.buyAndHoldPct).to.be.closeTo(10, 1e-12); // 110 / 100 − 1
      expect(m.candles).to.equal(60);
      expect(m.firstCandle).to.equal(T0);
      expect(m.lastCandle).to.equal(T0 + 59 * MIN);
      expect(m.firstCandleIso).to.equal('2024-01-01T00:00:00.000Z');
      expect(m.lastCandleIso).to.equal('2024-01-01T00:59:00.000Z');
      expect(m.finalEquity).to.equal(1005.23);
    });

    it('leaves Sharpe/Sortino null on a single winning day, and the JSON is clean', () => {
      expect(m.tradingDays).to.equal(1);
      expect(m.sharpe).to.equal(null); // one return: no sample std
      expect(m.sortino).to.equal(null); // no losing day: no downside deviation
      expect(m.maxDrawdown).to.equal(0);
      assertJsonClean(JSON.parse(JSON.stringify(m)));
    });
  });

  it('tradeDurationMs adds the exit candle only for exits inside a candle', () => {
    const base = { entryTime: T0, exitTime: T0 + 5 * MIN };
    expect(tradeDurationMs(trade(1, { net: '1', ...base, exitReason: 'signal' }), MIN)).to.equal(5 * MIN);
    expect(tradeDurationMs(trade(1, { net: '1', ...base, exitReason: 'stop_loss' }), MIN)).to.equal(6 * MIN);
    expect(tradeDurationMs(trade(1, { net: '1', ...base, exitReason: 'end_of_data' }), MIN)).to.equal(6 * MIN);
  });

  it('finds longer streaks: W W L W W W L L L L W', () => {
    const nets = ['1', '2', '-1', '1', '1', '1', '-2', '0', '-1', '0', '5'];
    const m = computeMetrics(makeRun({ times: [T0], equity: [1000], trades: nets.map((net, i) => trade(i + 1, { net })) }));
    expect(m.longestWinStreak).to.equal(3);
    expect(m.longestLossStreak).to.equal(4); // -2, 0, -1, 0: break-even trades extend a losing streak
  });

  it('returns a null profit factor when no trade lost money', () => {
    const m = computeMetrics(makeRun({ times: [T0], equity: [1003], trades: [trade(1, { net: '1' }), trade(2, { net: '2' })] }));
    expect(m.grossLoss).to.equal(0);
    expect(m.profitFactor).to.equal(null);
    expect(m.avgLoss).to.equal(null);
    expect(m.expectancy).to.be.closeTo(1.5, 1e-12); // 1.0 × 1.5 − 0 × n/a
    expect(JSON.parse(JSON.stringify(m)).profitFactor).to.equal(null);
  });

  describe('drawdown on a hand-made equity path', () => {
    it('measures the deepest peak-to-trough fall and its % of that peak', () => {
      // 1000 → 1100 → 1050 (−50 from 1100) → 1200 → 900 (−300 from 1200 = 25%) → 950 → 1300 → 1250 (−50)
      const times = grid(T0, 7, MIN);
      const m = computeMetrics(makeRun({ times, equity: [1100, 1050, 1200, 900, 950, 1300, 1250] }));
      expect(m.maxDrawdown).to.equal(300);
      expect(m.maxDrawdownPct).to.equal(25); // 300 / 1200
      expect(m.maxDrawdownPeak).to.equal(1200);
      expect(m.maxDrawdownPeakTime).to.equal(times[2]);
      expect(m.maxDrawdownTroughTime).to.equal(times[3]);
      expect(m.largestDrawdownPct).to.equal(25);
    });

    it('uses the initial balance as the first peak', () => {
      // 1000 (initial) → 990 → 980 → 1010: a 20 fall from the initial balance, 2%
      const times = grid(T0, 3, MIN);
      const m = computeMetrics(makeRun({ times, equity: [990, 980, 1010] }));
      expect(m.maxDrawdown).to.equal(20);
      expect(m.maxDrawdownPct).to.equal(2);
      expect(m.maxDrawdownPeakTime).to.equal(T0);
      expect(m.maxDrawdownTroughTime).to.equal(times[1]);
    });

    it('reports the % of the largest absolute fall, and the largest % fall separately', () => {
      // initial 100 → 80 (−20 = 20%) → 1000 → 900 (−100 = 10%)
      const m = computeMetrics(makeRun({ times: grid(T0, 3, MIN), equity: [80, 1000, 900], initialBalance: 100 }));
      expect(m.maxDrawdown).to.equal(100);
      expect(m.maxDrawdownPct).to.equal(10);
      expect(m.largestDrawdownPct).to.equal(20);
    });
  });

  describe('Sharpe and Sortino from daily returns', () => {
    // Candles every 8 hours on 2024-01-01, 02, 03 and 05 (no candle on the 4th). Intraday values
    // are noise: only the last candle of each UTC day counts. Day-end equities (initial 1000):
    //   1010      → r1 = 1010 / 1000 − 1      = +0.01
    //   999.9     → r2 = 999.9 / 1010 − 1     = −0.01
    //   1019.898  → r3 = 1019.898 / 999.9 − 1 = +0.02
    //   1009.69902→ r4 = 1009.69902 / 1019.898 − 1 = −0.01  (the 5th; the 4th has no row)
    // mean = 0.01 / 4 = 0.0025
    // sample var = (0.0075² + 0.0125² + 0.0175² + 0.0125²) / 3 = 0.000675 / 3 = 0.000225 → std 0.015
    // sharpe = 0.0025 / 0.015 × √365
    // downside = √((0 + 0.0001 + 0 + 0.0001) / 4) = √0.00005 → sortino = 0.0025 / √0.00005 × √365
    const days = [T0, T0 + DAY, T0 + 2 * DAY, T0 + 4 * DAY];
    const dayEnd = [1010, 999.9, 1019.898, 1009.69902];
    const times: number[] = [];
    const equity: number[] = [];
    days.forEach((d, i) => {
      times.push(d, d + 8 * HOUR, d + 16 * HOUR);
      equity.push(5000, 1, dayEnd[i]!);
    });
    const run = makeRun({ times, equity, intervalMs: 8 * HOUR });

    it('computes both ratios from the day-end equities', () => {
      const m = computeMetrics(run);
      expect(m.tradingDays).to.equal(4);
      expect(m.sharpe).to.be.closeTo((0.0025 / 0.015) * Math.sqrt(365), 1e-9); // ≈ 3.1842
      expect(m.sortino).to.be.closeTo((0.0025 / Math.sqrt(0.00005)) * Math.sqrt(365), 1e-9); // ≈ 6.7546
    });

    it('dailyEquity samples the last candle of each UTC day', () => {
      const d = dailyEquity(run);
      expect(d.map((x) => x.dayStart)).to.deep.equal(days);
      expect(d.map((x) => x.equity)).to.deep.equal(dayEnd);
      const r = d.map((x) => x.dailyReturn!);
      [0.01, -0.01, 0.02, -0.01].forEach((want, i) => expect(r[i]).to.be.closeTo(want, 1e-12));
      // Day 1: peak 5000 (first candle), trough 1 → intraday drawdown 4999 (99.98%)
      expect(d[0]!.drawdown).to.equal(4999);
      expect(d[0]!.drawdownPct).to.be.closeTo(99.98, 1e-9);
    });
  });

  describe('sampleTooSmall: Sharpe and Sortino from too few days or trades', () => {
    /** `days` daily candles with equity alternating up and down, and `trades` trades. */
    const sample = (days: number, trades: number) => {
      const times = grid(T0, days, DAY);
      const equity = times.map((_, i) => 1000 + (i % 2 === 0 ? 10 : -5) + i);
      const list = Array.from({ length: trades }, (_, i) => trade(i + 1, { net: i % 2 ? '-1' : '2', entryTime: T0 + i * HOUR, exitTime: T0 + i * HOUR + MIN }));
      return computeMetrics(makeRun({ times, equity, intervalMs: DAY, trades: list }));
    };

    it('is true below 30 daily returns or below 10 trades, false from 30 days and 10 trades on; the figures stay as computed', () => {
      const week = sample(7, 20);
      expect(week.tradingDays).to.equal(7);
      expect(week.sampleTooSmall).to.equal(true);
      expect(week.sharpe, 'the value is kept for summary.json').to.be.a('number');
      expect(sample(29, 20).sampleTooSmall).to.equal(true);
      expect(sample(30, 20).sampleTooSmall).to.equal(false);
      expect(sample(365, 9).sampleTooSmall).to.equal(true);
      expect(sample(365, 10).sampleTooSmall).to.equal(false);
      expect(MIN_RATIO_DAYS).to.equal(30);
      expect(MIN_RATIO_TRADES).to.equal(10);
    });

    it('ratioSampleTooSmall applies the same rule to a summary written without the flag', () => {
      expect(ratioSampleTooSmall({ tradingDays: 7, trades: 50 })).to.equal(true);
      expect(ratioSampleTooSmall({ tradingDays: 100, trades: 50 })).to.equal(false);
      expect(computeMetrics(seedRun()).sampleTooSmall, 'the seed example: one day, five trades').to.equal(true);
    });
  });

  it('works with zero trades: nulls, no NaN', () => {
    const m = computeMetrics(makeRun({ times: grid(T0, 3, MIN), equity: [1000, 1000, 1000] }));
    expect(m.trades).to.equal(0);
    expect(m.winRate).to.equal(null);
    expect(m.avgPnl).to.equal(null);
    expect(m.profitFactor).to.equal(null);
    expect(m.expectancy).to.equal(null);
    expect(m.bestTrade).to.equal(null);
    expect(m.avgTradeDurationMs).to.equal(null);
    expect(m.avgBarsHeld).to.equal(null);
    expect(m.netPnlExact).to.equal('0');
    expect(m.returnPct).to.equal(0);
    const json = JSON.stringify(m);
    expect(json).not.to.match(/NaN|Infinity/);
    assertJsonClean(JSON.parse(json));
  });

  it('works with zero candles', () => {
    const m = computeMetrics(makeRun({ times: [], equity: [] }));
    expect(m.candles).to.equal(0);
    expect(m.firstCandle).to.equal(null);
    expect(m.firstCandleIso).to.equal(null);
    expect(m.exposurePct).to.equal(null);
    expect(m.buyAndHoldPct).to.equal(null);
    expect(m.finalEquity).to.equal(1000);
    expect(m.sharpe).to.equal(null);
    assertJsonClean(JSON.parse(JSON.stringify(m)));
  });
});
