/**
 * The one accounting (lib/core/accounting.ts): fills → a trade's prices, qty, fees and PnL. Every
 * expectation is worked out by hand in the comments (taker 0.055 %, maker 0.02 %).
 */
import { expect } from 'chai';
import { AccountingError, D, legOf, tradeFromFills, tradeFromLegs, type Dec, type FillAmounts, type TradeAmounts } from '../../lib/core/index.ts';

const fill = (qty: string, price: string, fee: string): FillAmounts => ({ qty: new D(qty), price: new D(price), fee: new D(fee) });

/** Every number of a trade as exact decimal text. */
function numbers(t: TradeAmounts): Record<string, string> {
  const s = (d: Dec) => d.toFixed();
  return { qty: s(t.qty), entryPrice: s(t.entryPrice), exitPrice: s(t.exitPrice), entryFee: s(t.entryFee), exitFee: s(t.exitFee), fees: s(t.fees), funding: s(t.funding), grossPnl: s(t.grossPnl), netPnl: s(t.netPnl) };
}

function refuses(fn: () => unknown, message: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'an AccountingError').to.be.instanceOf(AccountingError);
  expect((err as Error).message).to.match(message);
}

describe('accounting: trades from fills', () => {
  it('a long: gross = (exit - entry) x qty, fees on both fills, net = gross - fees', () => {
    // buy 0.025 @ 40000, fee 0.025 x 40000 x 0.00055 = 0.55; sell @ 40400, fee 1010 x 0.00055 = 0.5555
    const t = tradeFromFills({ side: 'long', entryFills: [fill('0.025', '40000', '0.55')], exitFills: [fill('0.025', '40400', '0.5555')] });
    // gross = 400 x 0.025 = 10; fees = 1.1055; net = 8.8945
    expect(numbers(t)).to.deep.equal({ qty: '0.025', entryPrice: '40000', exitPrice: '40400', entryFee: '0.55', exitFee: '0.5555', fees: '1.1055', funding: '0', grossPnl: '10', netPnl: '8.8945' });
    expect(t.side).to.equal('long');
    // A losing long: sell @ 39800, fee 995 x 0.00055 = 0.54725; gross = -200 x 0.025 = -5; net = -5 - 1.09725
    const loss = tradeFromFills({ side: 'long', entryFills: [fill('0.025', '40000', '0.55')], exitFills: [fill('0.025', '39800', '0.54725')] });
    expect(numbers(loss)).to.include({ grossPnl: '-5', fees: '1.09725', netPnl: '-6.09725' });
  });

  it('a short: gross = (entry - exit) x qty', () => {
    // sell 0.025 @ 40000 (fee 0.55), buy back @ 39600 (fee 990 x 0.00055 = 0.5445): gross = 400 x 0.025 = 10, net = 10 - 1.0945
    const win = tradeFromFills({ side: 'short', entryFills: [fill('0.025', '40000', '0.55')], exitFills: [fill('0.025', '39600', '0.5445')] });
    expect(numbers(win)).to.deep.equal({ qty: '0.025', entryPrice: '40000', exitPrice: '39600', entryFee: '0.55', exitFee: '0.5445', fees: '1.0945', funding: '0', grossPnl: '10', netPnl: '8.9055' });
    // buy back @ 40200 (fee 1005 x 0.00055 = 0.55275): gross = -200 x 0.025 = -5, net = -5 - 1.10275
    const loss = tradeFromFills({ side: 'short', entryFills: [fill('0.025', '40000', '0.55')], exitFills: [fill('0.025', '40200', '0.55275')] });
    expect(numbers(loss)).to.include({ grossPnl: '-5', fees: '1.10275', netPnl: '-6.10275' });
  });

  it('several fills on a side: volume-weighted prices, summed quantities and fees', () => {
    // Entry: 0.010 @ 40000 (value 400, fee 0.22) + 0.030 @ 40100 (value 1203, fee 0.66165): VWAP 1603 / 0.04 = 40075.
    // Exit: 0.015 @ 40200 (value 603, fee 0.33165) + 0.025 @ 40300 (value 1007.5, fee 0.554125): VWAP 1610.5 / 0.04 = 40262.5.
    const t = tradeFromFills({
      side: 'long',
      entryFills: [fill('0.010', '40000', '0.22'), fill('0.030', '40100', '0.66165')],
      exitFills: [fill('0.015', '40200', '0.33165'), fill('0.025', '40300', '0.554125')],
    });
    // gross = (40262.5 - 40075) x 0.04 = 7.5 (= 1610.5 - 1603); fees = 0.88165 + 0.885775 = 1.767425; net = 5.732575
    expect(numbers(t)).to.deep.equal({ qty: '0.04', entryPrice: '40075', exitPrice: '40262.5', entryFee: '0.88165', exitFee: '0.885775', fees: '1.767425', funding: '0', grossPnl: '7.5', netPnl: '5.732575' });
    // A short in two sells (0.02 @ 50000, fee 0.55; 0.02 @ 49000, fee 0.539), one maker buy back 0.04 @ 48500
    // (fee 1940 x 0.0002 = 0.388): VWAP 49500, gross = 1000 x 0.04 = 40, fees 1.477, net 38.523.
    const s = tradeFromFills({ side: 'short', entryFills: [fill('0.02', '50000', '0.55'), fill('0.02', '49000', '0.539')], exitFills: [fill('0.04', '48500', '0.388')] });
    expect(numbers(s)).to.deep.equal({ qty: '0.04', entryPrice: '49500', exitPrice: '48500', entryFee: '1.089', exitFee: '0.388', fees: '1.477', funding: '0', grossPnl: '40', netPnl: '38.523' });
  });

  it('a VWAP that does not terminate is a 40-digit decimal; gross is exact all the same (values, not VWAPs)', () => {
    // (0.01 x 100 + 0.02 x 101) / 0.03 = 3.02 / 0.03 = 100.666... to 40 significant digits, half up.
    const t = tradeFromFills({ side: 'long', entryFills: [fill('0.01', '100', '0.0005'), fill('0.02', '101', '0.00101')], exitFills: [fill('0.03', '102', '0.00153')] });
    expect(t.entryPrice.toFixed()).to.equal('100.6666666666666666666666666666666666667');
    // gross = 0.03 x 102 - 3.02 = 3.06 - 3.02 = 0.04 (the VWAP's rounding would give 0.039999...9);
    // fees = 0.0005 + 0.00101 + 0.00153 = 0.00304; net = 0.03696
    expect(numbers(t)).to.include({ qty: '0.03', exitPrice: '102', entryFee: '0.00151', grossPnl: '0.04', fees: '0.00304', netPnl: '0.03696' });
    const short = tradeFromFills({ side: 'short', entryFills: [fill('0.01', '100', '0'), fill('0.02', '101', '0')], exitFills: [fill('0.03', '99', '0')] });
    // 3.02 - 0.03 x 99 = 3.02 - 2.97 = 0.05
    expect(short.grossPnl.toFixed()).to.equal('0.05');
  });

  it('an exit smaller than the entry leg costs the entry value pro rata; the entry fee is the leg\'s as given', () => {
    // Entry leg 0.04 @ 40075 (value 1603), the exit closes 0.01 @ 40475 (value 404.75): cost 1603 x 0.01 / 0.04 = 400.75,
    // gross = 404.75 - 400.75 = 4 (= 400 x 0.01); fees 0.3 + 0.2; net 3.5
    const t = tradeFromLegs('long', { qty: new D('0.04'), price: new D('40075'), fee: new D('0.3'), value: new D('1603') }, fill('0.01', '40475', '0.2'));
    expect(numbers(t)).to.include({ qty: '0.01', entryPrice: '40075', grossPnl: '4', fees: '0.5', netPnl: '3.5' });
  });

  it('funding: paid (positive) lowers net, received (negative) raises it; gross and fees do not move', () => {
    const entry = [fill('0.025', '40000', '0.55')];
    const exit = [fill('0.025', '40400', '0.5555')];
    // net without funding 8.8945 (first case); long pays 0.025 x 40100 x 0.0001 = 0.10025 -> 8.79425
    const paid = tradeFromFills({ side: 'long', entryFills: entry, exitFills: exit, funding: new D('0.10025') });
    expect(numbers(paid)).to.include({ grossPnl: '10', fees: '1.1055', funding: '0.10025', netPnl: '8.79425' });
    // received 0.2 -> 9.0945
    const received = tradeFromFills({ side: 'long', entryFills: entry, exitFills: exit, funding: new D('-0.2') });
    expect(numbers(received)).to.include({ funding: '-0.2', netPnl: '9.0945' });
    // A short receiving 0.05 (a positive rate pays shorts): 8.9055 + 0.05 = 8.9555
    const short = tradeFromFills({ side: 'short', entryFills: entry, exitFills: [fill('0.025', '39600', '0.5445')], funding: new D('-0.05') });
    expect(numbers(short)).to.include({ funding: '-0.05', netPnl: '8.9555' });
  });

  it('tradeFromLegs with one fill per side (the simulator) is tradeFromFills on the same fills', () => {
    const cases: Array<[('long' | 'short'), FillAmounts, FillAmounts, string]> = [
      ['long', fill('0.025', '40000', '0.55'), fill('0.025', '40400', '0.5555'), '0'],
      ['short', fill('0.137', '61234.5', '4.614'), fill('0.137', '60999.9', '4.596'), '0.8'],
      ['long', fill('1.5', '0.1234', '0.0001'), fill('1.5', '0.1111', '0'), '-0.01'],
    ];
    for (const [side, e, x, f] of cases) {
      const fast = tradeFromLegs(side, e, x, new D(f));
      const general = tradeFromFills({ side, entryFills: [e], exitFills: [x], funding: new D(f) });
      expect(numbers(fast)).to.deep.equal(numbers(general));
      // A leg of one fill is that fill's numbers exactly.
      expect(legOf([x]).price.toFixed()).to.equal(x.price.toFixed());
    }
    // Funding defaults to zero.
    expect(tradeFromLegs('long', cases[0]![1], cases[0]![2]).funding.toFixed()).to.equal('0');
  });

  it('refuses a side with no quantity: an AccountingError, never NaN or a zero price', () => {
    refuses(() => legOf([]), /no quantity \(0 fills adding up to 0\)/);
    refuses(() => tradeFromFills({ side: 'long', entryFills: [fill('0.01', '40000', '0.22')], exitFills: [] }), /long trade's exit fills: no quantity/);
    refuses(() => tradeFromFills({ side: 'short', entryFills: [fill('0', '40000', '0')], exitFills: [fill('0.01', '40000', '0.22')] }), /short trade's entry fills: no quantity/);
    refuses(() => tradeFromLegs('long', fill('0.01', '40000', '0.22'), fill('0', '40100', '0')), /long trade's exit has no quantity/);
    refuses(() => tradeFromLegs('long', fill('0', '40000', '0'), fill('0.01', '40100', '0.22')), /long trade's entry has no quantity/);
    refuses(() => tradeFromLegs('short', fill('0.01', '40000', '0.22'), fill('-0.01', '40100', '0.22')), /exit has no quantity \(-0\.01\)/);
  });

  it('carries the instrument key when given (several instruments), and leaves it out otherwise', () => {
    const instrument = { exchange: 'bybit', category: 'linear', symbol: 'ETHUSDT' } as const;
    const t = tradeFromFills({ side: 'long', instrument, entryFills: [fill('1', '3000', '1.65')], exitFills: [fill('1', '3010', '1.6555')] });
    expect(t.instrument).to.deep.equal(instrument);
    // gross 10; fees 3.3055; net 6.6945
    expect(numbers(t)).to.include({ grossPnl: '10', fees: '3.3055', netPnl: '6.6945' });
    expect('instrument' in tradeFromFills({ side: 'long', entryFills: [fill('1', '3000', '0')], exitFills: [fill('1', '3010', '0')] })).to.equal(false);
  });
});
