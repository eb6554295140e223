/**
 * Sma against a plain SMA written in test/indicators/reference.ts (the window's sum, oldest to newest, over
 * the period: the arithmetic sma.ts documents, so bit for bit), on the real candles, plus cases worked out
 * by hand.
 */
import { expect } from 'chai';
import { ConfigError } from '../../lib/core/index.ts';
import { Sma } from '../../lib/indicators/index.ts';
import { realCandles, sampleCandles } from './fixtures.ts';
import { plainSma } from './reference.ts';

function stream(xs: readonly number[], period: number): (number | undefined)[] {
  const sma = new Sma({ period });
  return xs.map((x) => {
    sma.update(x);
    return sma.value;
  });
}

function expectSame(got: readonly (number | undefined)[], want: readonly (number | undefined)[], tag: string): void {
  expect(got.length, tag).to.equal(want.length);
  for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) expect.fail(`${tag} #${i}: ${got[i]}, expected ${want[i]}`);
}

describe('Sma', () => {
  describe('against a plain SMA, on real candles', () => {
    for (const period of [1, 3, 20, 200]) {
      it(`period ${period}: bit for bit on the committed sample's closes, highs and lows`, () => {
        const { close, high, low } = sampleCandles();
        for (const [name, xs] of [['close', close], ['high', high], ['low', low]] as const) expectSame(stream(xs, period), plainSma(xs, period), `${name} period ${period}`);
      });
    }

    it('bit for bit on all 61,440 closes of the shared 15m file (periods 3 and 96)', function () {
      const { close } = realCandles(this);
      for (const period of [3, 96]) expectSame(stream(close, period), plainSma(close, period), `period ${period}`);
    });
  });

  describe('worked by hand', () => {
    it('is the plain mean of the last `period` inputs, undefined before', () => {
      const sma = new Sma({ period: 4 });
      expect(sma.warmup).to.equal(4);
      const xs = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
      // (3+1+4+1)/4, (1+4+1+5)/4, (4+1+5+9)/4, (1+5+9+2)/4, (5+9+2+6)/4, (9+2+6+5)/4, (2+6+5+3)/4
      const want = [undefined, undefined, undefined, 2.25, 2.75, 4.75, 4.25, 5.5, 5.5, 4];
      xs.forEach((x, i) => {
        expect(sma.update(x), `ready #${i}`).to.equal(i >= 3);
        expect(sma.isReady, `isReady #${i}`).to.equal(i >= 3);
        expect(sma.value, `#${i}`).to.equal(want[i]);
      });
      sma.reset();
      expect([sma.value, sma.isReady]).to.deep.equal([undefined, false]);
      expect(sma.update(1)).to.equal(false);
      expect(() => new Sma({ period: 0 })).to.throw(ConfigError, 'period');
    });

    it('period 1 is the input itself; period 2 averages neighbours', () => {
      expect(stream([5, -1, 0.25], 1)).to.deep.equal([5, -1, 0.25]);
      expect(stream([1, 2, 3, 4], 2)).to.deep.equal([undefined, 1.5, 2.5, 3.5]);
    });

    it('does not drift: 100 repeated gives exactly 100 after a million mixed inputs', () => {
      const sma = new Sma({ period: 3 });
      for (let i = 0; i < 1_000_000; i++) sma.update((i * 0.1) % 7.3);
      for (let i = 0; i < 3; i++) sma.update(100);
      expect(sma.value).to.equal(100);
    });

    it('equal windows give bit-equal averages, whatever passed through in between', () => {
      const sma = new Sma({ period: 3 });
      for (const x of [0.1, 0.2, 0.3]) sma.update(x);
      const first = sma.value;
      for (const x of [1e9, 7, 3.3, 0.1, 0.2, 0.3]) sma.update(x);
      expect(sma.value).to.equal(first);
      expect(first).to.equal((0.1 + 0.2 + 0.3) / 3);
    });
  });
});
