/**
 * pivot-bounce: trade bounces off the previous period's Fibonacci pivot levels (README, "Writing a
 * strategy: pivot-bounce"). Written with the public strategy API and indicators only.
 *
 * Levels: P, S1-S3 and R1-R3 of the previous completed period (`pivotPeriod`; auto: a day for intraday
 * candles), as `FibonacciPivots` computes them.
 *
 * Flat:
 * - BUY when a candle's low comes within `touchPct` of a support (S1..S`maxLevel`; low <= S × (1 +
 *   touchPct)), it closes above that support and above its own open (buyers took it back), and below P
 *   (room to the target). When several supports were touched, the deepest one the close is above counts.
 *   Stop loss: `stopBufferPct` below that support; take profit: P.
 * - SELL short (with `allowShorts`) mirrors it at R1..R`maxLevel`: high >= R × (1 − touchPct), close below
 *   R and below its open, and above P. Stop: `stopBufferPct` above R; target: P.
 * In a position (besides the broker's stop and target):
 * - EXIT when the levels roll over to a new period (`exitOnNewPeriod`): the levels the trade was built on
 *   are stale;
 * - EXIT after `maxBars` candles in the position (a time stop; 0 = off).
 */
import { indicatorsOf } from '../lib/indicators/index.ts';
import { defineStrategy, type Strategy } from '../lib/strategy/index.ts';

const PERIOD_CANDLES_1M = { D: 2 * 1440, W: 14 * 1440, M: 62 * 1440 } as const;

export default defineStrategy({
  name: 'pivot-bounce',
  description: "Buy a bounce off the previous day's Fibonacci support, short a rejection at resistance; target the pivot, stop just beyond the level",
  params: {
    pivotPeriod: { type: 'string', default: 'auto', choices: ['auto', 'D', 'W', 'M'], description: 'Period of the pivot levels (auto: a day for intraday intervals, a week for D, a month for W and M)' },
    maxLevel: { type: 'number', default: 2, min: 1, max: 3, integer: true, description: 'Deepest level traded: 1 = S1/R1, 2 = S1-S2/R1-R2, 3 = S1-S3/R1-R3' },
    touchPct: { type: 'number', default: 0.0005, min: 0, max: 0.05, description: 'How near (fraction of the level) the low/high must come to count as a touch' },
    stopBufferPct: { type: 'number', default: 0.003, min: 0.0001, max: 0.1, description: 'Stop loss this fraction beyond the touched level' },
    maxBars: { type: 'number', default: 32, min: 0, max: 10000, integer: true, description: 'Exit after this many candles in a position (0 = no time stop)' },
    exitOnNewPeriod: { type: 'boolean', default: true, description: 'Exit when the pivot levels roll over to a new period' },
    allowShorts: { type: 'boolean', default: true, description: 'Also short rejections at resistance levels' },
    usdtAmountPerTrade: { type: 'number', default: 10, min: 0.000001, description: 'USDT value of each entry' },
  },
  // One completed period is needed before the first level; enough candles for 1-minute data (fewer
  // are fed when the data starts later; coarser candles need fewer).
  warmup: (p) => PERIOD_CANDLES_1M[p.pivotPeriod === 'auto' ? 'D' : (p.pivotPeriod as 'D' | 'W' | 'M')],
  // Drawn in report.html: the levels it trades, as step lines over the price (the console lists them).
  plots: () => ({
    series: (
      [
        ['P', '#f5a623'], ['R1', '#ef5350'], ['R2', '#ef5350'], ['R3', '#ef5350'], ['S1', '#26a69a'], ['S2', '#26a69a'], ['S3', '#26a69a'],
      ] as const
    ).map(([name, color]) => ({ name, color, pane: 'price', style: 'step' as const, console: false })),
  }),
  create(p, env): Strategy {
    const period = p.pivotPeriod !== 'auto' ? p.pivotPeriod : env.interval === 'D' ? 'W' : env.interval === 'W' || env.interval === 'M' ? 'M' : 'D';
    const fib = indicatorsOf(env).fibonacciPivots({ period: period as 'D' | 'W' | 'M' });
    const size = { unit: 'quote', amount: p.usdtAmountPerTrade } as const;
    const { touchPct, stopBufferPct, maxLevel } = p;
    let barsHeld = 0;
    /** The period of the levels the open position was entered on. */
    let entryPeriod: number | undefined;
    let decidedPeriod: number | undefined;

    return {
      onCandle(c, ctx) {
        fib.update(c);
        const lv = fib.value;
        const side = ctx.position.side;

        if (side !== 'flat') {
          barsHeld++;
          if (barsHeld === 1) {
            entryPeriod = decidedPeriod;
            decidedPeriod = undefined;
          }
          entryPeriod ??= lv?.period;
          if (p.exitOnNewPeriod && lv && entryPeriod !== undefined && lv.period !== entryPeriod) {
            return { kind: 'exit', reason: 'new period: the levels the trade was built on expired' };
          }
          if (p.maxBars > 0 && barsHeld >= p.maxBars) return { kind: 'exit', reason: `time stop: ${barsHeld} candles in the position` };
          return;
        }
        barsHeld = 0;
        entryPeriod = undefined;
        if (!lv) return; // no completed period yet

        const supports = [lv.s1, lv.s2, lv.s3].slice(0, maxLevel);
        const resistances = [lv.r1, lv.r2, lv.r3].slice(0, maxLevel);
        if (c.close > c.open && c.close < lv.p) {
          // Deepest support touched that the close is back above.
          for (let i = supports.length - 1; i >= 0; i--) {
            const s = supports[i]!;
            if (c.low <= s * (1 + touchPct) && c.close > s) {
              decidedPeriod = lv.period;
              return {
                kind: 'enter',
                side: 'long',
                size,
                stopLoss: { price: s * (1 - stopBufferPct) },
                takeProfit: { price: lv.p },
                reason: `bounce off S${i + 1} ${s.toFixed(2)}`,
              };
            }
          }
        }
        if (p.allowShorts && c.close < c.open && c.close > lv.p) {
          for (let i = resistances.length - 1; i >= 0; i--) {
            const r = resistances[i]!;
            if (c.high >= r * (1 - touchPct) && c.close < r) {
              decidedPeriod = lv.period;
              return {
                kind: 'enter',
                side: 'short',
                size,
                stopLoss: { price: r * (1 + stopBufferPct) },
                takeProfit: { price: lv.p },
                reason: `rejected at R${i + 1} ${r.toFixed(2)}`,
              };
            }
          }
        }
      },
      plot() {
        const lv = fib.value;
        return [lv?.p, lv?.r1, lv?.r2, lv?.r3, lv?.s1, lv?.s2, lv?.s3];
      },
      status() {
        const lv = fib.value;
        if (!lv) return {};
        return {
          indicators: { pivot: lv.p },
          supports: [{ price: lv.s1, label: 'S1' }, { price: lv.s2, label: 'S2' }, { price: lv.s3, label: 'S3' }],
          resistances: [{ price: lv.r1, label: 'R1' }, { price: lv.r2, label: 'R2' }, { price: lv.r3, label: 'R3' }],
        };
      },
    };
  },
});
