/**
 * The seed strategy: Pyrmethus's StochRSI scalper, rule for rule (README, "The seed strategy").
 *
 * Flat: BUY when K and D are both below `oversold` and K crosses above D (with `useCrossover`), or K is
 * rising (without). SELL mirrors it above `overbought`. Long: EXIT when K is above `overbought` and K
 * crosses below D (without crossover: K and D above overbought and K falling). Short: mirrored.
 * An exit never reverses the position. Entries carry a stop loss and a take profit as fractions of the
 * entry fill price. With `usePivotFilter`, a BUY must be within `pivotTolerancePct` of a support level
 * (Fibonacci S1-S3 or a swing low), a SELL near a resistance level.
 */
import { indicatorsOf, nearLevel } from '../lib/indicators/index.ts';
import { crossedAbove, crossedBelow, defineStrategy, type Strategy } from '../lib/strategy/index.ts';

/** The Fibonacci pivots as step lines over the price (the console lists them as levels instead). */
const PIVOT_PLOTS = [
  { name: 'P', color: '#f5a623' },
  { name: 'R1', color: '#ef5350' },
  { name: 'R2', color: '#ef5350' },
  { name: 'R3', color: '#ef5350' },
  { name: 'S1', color: '#26a69a' },
  { name: 'S2', color: '#26a69a' },
  { name: 'S3', color: '#26a69a' },
].map((s) => ({ ...s, pane: 'price', style: 'step' as const, console: false }));

export default defineStrategy({
  name: 'stochrsi-scalper',
  description: "The seed's StochRSI crossover scalper with optional pivot filter, fixed-fraction stop loss and take profit.",
  params: {
    rsiPeriod: { type: 'number', default: 14, min: 2, max: 500, integer: true, description: 'RSI length (Wilder smoothing)' },
    stochPeriod: { type: 'number', default: 14, min: 1, max: 500, integer: true, description: "Stochastic window over RSI values (the seed's STOCHRSI_K_PERIOD)" },
    kSmoothing: { type: 'number', default: 3, min: 1, max: 100, integer: true, description: 'SMA length turning the raw stochastic into K' },
    dSmoothing: { type: 'number', default: 3, min: 1, max: 100, integer: true, description: "SMA length turning K into D (the seed's STOCHRSI_D_PERIOD)" },
    oversold: { type: 'number', default: 20, min: 0, max: 100, description: 'StochRSI level considered oversold' },
    overbought: { type: 'number', default: 80, min: 0, max: 100, description: 'StochRSI level considered overbought' },
    useCrossover: { type: 'boolean', default: true, description: 'Require a K/D crossover for signals (else K rising/falling)' },
    usePivotFilter: { type: 'boolean', default: false, description: 'Enter only near a support (BUY) or resistance (SELL) level' },
    pivotLeftBars: { type: 'number', default: 2, min: 1, max: 100, integer: true, description: 'Bars left of a swing pivot' },
    pivotRightBars: { type: 'number', default: 2, min: 1, max: 100, integer: true, description: 'Bars right of a swing pivot (its confirmation delay)' },
    pivotTolerancePct: { type: 'number', default: 0.0005, min: 0, max: 0.1, description: 'How near (fraction of price) counts as at a level; also merges swing levels' },
    pivotPeriod: { type: 'string', default: 'auto', choices: ['auto', 'D', 'W', 'M'], description: 'Period of the Fibonacci pivot points (auto: a day for intraday intervals, a week for D, a month for W and M)' },
    stopLossPct: { type: 'number', default: 0.005, min: 0, max: 0.5, description: 'Stop loss as a fraction of the entry fill price (0 = none)' },
    takeProfitPct: { type: 'number', default: 0.01, min: 0, max: 5, description: 'Take profit as a fraction of the entry fill price (0 = none)' },
    usdtAmountPerTrade: { type: 'number', default: 10, min: 0.000001, description: 'USDT value of each entry' },
  },
  // Wilder's RSI never forgets its seed; 400 extra candles shrink its memory to ~1e-12 of K and D (measured),
  // so decisions after the warm-up do not depend on where the data started.
  warmup: (p) => p.rsiPeriod + p.stochPeriod + p.kSmoothing + p.dSmoothing + 400,
  // Drawn in report.html and written on the live console: K and D in their own pane, the Fibonacci pivots over the price.
  plots: (p) => ({
    series: [
      { name: 'K', pane: 'StochRSI', color: '#2962ff' },
      { name: 'D', pane: 'StochRSI', color: '#ff6d00' },
      ...PIVOT_PLOTS,
    ],
    guides: [
      { pane: 'StochRSI', value: p.oversold, label: 'oversold' },
      { pane: 'StochRSI', value: p.overbought, label: 'overbought' },
    ],
  }),
  create(p, env): Strategy {
    // Through the env's factory: in a sweep, computed once per worker and replayed (bit for bit).
    const ind = indicatorsOf(env);
    const srsi = ind.stochRsi({ rsiPeriod: p.rsiPeriod, stochPeriod: p.stochPeriod, kSmoothing: p.kSmoothing, dSmoothing: p.dSmoothing });
    const period = p.pivotPeriod !== 'auto' ? p.pivotPeriod : env.interval === 'D' ? 'W' : env.interval === 'W' || env.interval === 'M' ? 'M' : 'D';
    const fib = ind.fibonacciPivots({ period: period as 'D' | 'W' | 'M' });
    const swing = ind.swingPivots({ leftBars: p.pivotLeftBars, rightBars: p.pivotRightBars, tolerancePct: p.pivotTolerancePct });
    const { oversold, overbought, useCrossover, usePivotFilter, pivotTolerancePct: tol } = p;
    const stopLoss = p.stopLossPct > 0 ? { pct: p.stopLossPct } : undefined;
    const takeProfit = p.takeProfitPct > 0 ? { pct: p.takeProfitPct } : undefined;
    const size = { unit: 'quote', amount: p.usdtAmountPerTrade } as const;
    // Levels cost time on every candle: kept when the filter needs them or a person watches the console.
    const trackLevels = usePivotFilter || env.mode === 'live' || env.plots === true;

    let last = NaN;
    const supports = (): number[] => [...fib.supports(), ...swing.supports()];
    const resistances = (): number[] => [...fib.resistances(), ...swing.resistances()];
    // StrategyStatus holds numbers: NaN for a value that does not exist yet.
    const indicators = (): { k: number; d: number; rsi: number } => ({ k: srsi.k ?? NaN, d: srsi.d ?? NaN, rsi: srsi.rsi ?? NaN });

    return {
      onCandle(c, ctx) {
        last = c.close;
        if (trackLevels) {
          fib.update(c);
          swing.update(c);
        }
        srsi.update(c.close);
        const now = srsi.value;
        const before = srsi.previous;
        if (now === undefined || before === undefined) return; // not warmed up, or the first K/D pair: nothing to cross from
        const k = now.k;
        const d = now.d;
        const pk = before.k;
        const pd = before.d;
        const side = ctx.position.side;
        if (side === 'flat') {
          if (k < oversold && d < oversold && (useCrossover ? crossedAbove(pk, pd, k, d) : k > pk)) {
            if (usePivotFilter && nearLevel(c.close, supports(), tol) === undefined) return;
            return { kind: 'enter', side: 'long', size, stopLoss, takeProfit, reason: useCrossover ? 'StochRSI Crossover' : 'StochRSI Oversold Rising' };
          }
          if (k > overbought && d > overbought && (useCrossover ? crossedBelow(pk, pd, k, d) : k < pk)) {
            if (usePivotFilter && nearLevel(c.close, resistances(), tol) === undefined) return;
            return { kind: 'enter', side: 'short', size, stopLoss, takeProfit, reason: useCrossover ? 'StochRSI Crossover' : 'StochRSI Overbought Falling' };
          }
          return;
        }
        if (side === 'long') {
          if (useCrossover ? k > overbought && crossedBelow(pk, pd, k, d) : k > overbought && d > overbought && k < pk) {
            return { kind: 'exit', reason: 'StochRSI Overbought Reversal' };
          }
          return;
        }
        if (useCrossover ? k < oversold && crossedAbove(pk, pd, k, d) : k < oversold && d < oversold && k > pk) {
          return { kind: 'exit', reason: 'StochRSI Oversold Reversal' };
        }
      },
      plot() {
        const lv = fib.value;
        return [srsi.k, srsi.d, lv?.p, lv?.r1, lv?.r2, lv?.r3, lv?.s1, lv?.s2, lv?.s3];
      },
      status() {
        if (!trackLevels) return { indicators: indicators() };
        // Support below the last close, resistance above it; the nearest swing levels first.
        const lv = fib.value;
        const fibR = lv ? [{ price: lv.r1, label: 'R1' }, { price: lv.r2, label: 'R2' }, { price: lv.r3, label: 'R3' }] : [];
        const fibS = lv ? [{ price: lv.s1, label: 'S1' }, { price: lv.s2, label: 'S2' }, { price: lv.s3, label: 'S3' }] : [];
        const swings = [...swing.resistances(), ...swing.supports()];
        const above = swings.filter((x) => x > last).sort((a, b) => a - b).slice(0, 3).map((price) => ({ price, label: 'swing high' }));
        const below = swings.filter((x) => x < last).sort((a, b) => b - a).slice(0, 3).map((price) => ({ price, label: 'swing low' }));
        return {
          indicators: indicators(),
          resistances: [...fibR.filter((l) => l.price > last), ...above],
          supports: [...fibS.filter((l) => l.price < last), ...below],
        };
      },
    };
  },
});
