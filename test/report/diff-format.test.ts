/** `pyr diff`'s text: money is written like everywhere else in pyr, `-$1.23` (the sign before the $). */
import { expect } from 'chai';
import { formatDiff, matchTrades } from '../../lib/report/diff.ts';
import { MIN, T0, trade } from './fixtures.ts';

describe('report/diff text', () => {
  it('writes the live and simulated net PnL and fees of a losing session as -$x.xx, never $-x.xx', () => {
    const live = [trade(1, { net: '-310.48', fees: '0.61' }), trade(2, { net: '-1.5', fees: '0.2' })];
    const sim = [trade(1, { net: '-300.25', fees: '0.6' }), trade(2, { net: '2', fees: '0.2' })];
    const result = matchTrades(live, sim, { intervalMs: MIN, liveCandles: Array.from({ length: 60 }, (_, i) => T0 + i * MIN) });
    expect(result.matched).to.have.length(2);
    const text = formatDiff(result, { color: false });
    expect(text).to.contain('Net PnL: live -$311.98, simulated -$298.25, difference -13.7300 USDT');
    expect(text).to.contain('Fees: live $0.81, simulated $0.80');
    expect(text).not.to.contain('$-');
  });
});
