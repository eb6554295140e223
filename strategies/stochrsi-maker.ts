/**
 * stochrsi-maker: the seed's StochRSI signals (strategies/stochrsi-scalper.ts, rule for rule), traded as
 * a maker. An entry is a post-only limit `entryPct` away from the deciding close in the trader's favour
 * (below it for a long), cancelled if unfilled after `expiresAfter` closed candles. The position carries
 * the seed's stop loss, a trailing stop (`trailPct` behind the best price, active once the price has
 * moved `trailActivationPct` in the trade's favour) and two partial targets (`target1Fraction` of the
 * qty at `target1Pct`, the rest at `target2Pct`). The seed's exit signals close what is left at market.
 */
import { defineStrategy, type Strategy } from '../lib/strategy/index.ts';
import type { Intent } from '../lib/core/index.ts';
import seed from './stochrsi-scalper.ts';

export default defineStrategy({
  name: 'stochrsi-maker',
  description: "The seed's StochRSI signals entered with an expiring post-only limit; trailing stop and two partial targets.",
  params: {
    ...seed.params,
    usdtAmountPerTrade: { type: 'number', default: 400, min: 0.000001, description: 'USDT value of each entry (enough for two partial targets of the minimum qty 0.001 BTC up to a price of 200,000)' },
    entryPct: { type: 'number', default: 0.0005, min: 0, max: 0.05, description: 'Post-only limit this fraction of the close in the trader\'s favour' },
    expiresAfter: { type: 'number', default: 3, min: 1, max: 1000, integer: true, description: 'Cancel an unfilled entry after this many closed candles' },
    trailPct: { type: 'number', default: 0.004, min: 0, max: 0.5, description: 'Trailing stop distance as a fraction of the entry fill price (0 = none)' },
    trailActivationPct: { type: 'number', default: 0.003, min: 0, max: 0.5, description: 'The trailing stop activates once the price moved this fraction in the trade\'s favour (0 = at once)' },
    target1Pct: { type: 'number', default: 0.005, min: 0, max: 5, description: 'First partial target (fraction of the entry fill price)' },
    target1Fraction: { type: 'number', default: 0.5, min: 0.01, max: 0.99, description: 'Share of the qty the first target closes' },
    target2Pct: { type: 'number', default: 0.01, min: 0, max: 5, description: 'Second partial target: the rest of the qty' },
  },
  warmup: (p) => seed.warmup(p),
  plots: (p) => seed.plots!(p),
  create(p, env): Strategy {
    const inner = seed.create(p, env);
    const trailingStop = p.trailPct > 0 ? { pct: p.trailPct, ...(p.trailActivationPct > 0 ? { activation: { pct: p.trailActivationPct } } : {}) } : undefined;
    const takeProfit = [
      { pct: p.target1Pct, fraction: p.target1Fraction },
      { pct: p.target2Pct, fraction: 1 - p.target1Fraction },
    ];
    return {
      ...inner,
      onCandle(c, ctx) {
        const out = inner.onCandle(c, ctx) as Intent | undefined;
        if (!out || out.kind !== 'enter') return out;
        // One entry at a time: a new signal while one rests is left to the resting one.
        if (ctx.orders.some((o) => o.role === 'entry')) return;
        return {
          ...out,
          order: { type: 'limit', price: { pct: p.entryPct }, postOnly: true, expiresAfter: p.expiresAfter },
          takeProfit,
          ...(trailingStop ? { trailingStop } : {}),
          reason: `${out.reason} (post-only limit)`,
        };
      },
    };
  },
});
