/**
 * Rsi against independent implementations written in test/indicators/reference.ts: Wilder's RSI in the
 * arithmetic rsi.ts documents (Pine's `ta.rsi`: seed = plain mean of the first `period` moves, then
 * `alpha * x + (1 - alpha) * prev`, 100 when the average loss is 0), which must agree bit for bit, and the
 * textbook arithmetic, which must agree within 1e-9; on the real candles, plus cases worked out by hand.
 */
import { expect } from 'chai';
import { ConfigError, DataError } from '../../lib/core/index.ts';
import { Rsi } from '../../lib/indicators/index.ts';
import { realCandles, sampleCandles } from './fixtures.ts';
import { textbookRsi, wilderRsi } from './reference.ts';

/** Rsi's value after each close. */
function stream(closes: readonly number[], period: number): (number | undefined)[] {
  const rsi = new Rsi({ period });
  return closes.map((c) => {
    rsi.update(c);
    return rsi.value;
  });
}

/** Index of the first difference beyond `tol` (an empty side only equals an empty side), or -1. */
function firstMismatch(got: readonly (number | undefined)[], want: readonly (number | undefined)[], tol: number): number {
  expect(got.length).to.equal(want.length);
  for (let i = 0; i < got.length; i++) {
    const a = got[i];
    const b = want[i];
    if (a === undefined || b === undefined ? a !== b : tol === 0 ? !Object.is(a, b) : !(Math.abs(a - b) <= tol)) return i;
  }
  return -1;
}

describe('Rsi', () => {
  describe('against the independent implementations, on real candles', () => {
    for (const period of [14, 2, 7, 30]) {
      it(`period ${period}: equals Wilder's RSI in the documented arithmetic bit for bit (the committed sample)`, () => {
        const { close } = sampleCandles();
        const got = stream(close, period);
        const want = wilderRsi(close, period);
        const i = firstMismatch(got, want, 0);
        expect(i, i < 0 ? '' : `#${i}: ${got[i]} vs ${want[i]}`).to.equal(-1);
        expect(got.findIndex((v) => v !== undefined), 'first value at close index `period`').to.equal(period);
      });
    }

    it('equals it bit for bit on all 61,440 closes of the shared 15m file (periods 14 and 3)', function () {
      const { close } = realCandles(this);
      for (const period of [14, 3]) {
        const got = stream(close, period);
        const want = wilderRsi(close, period);
        const i = firstMismatch(got, want, 0);
        expect(i, i < 0 ? '' : `period ${period} #${i}: ${got[i]} vs ${want[i]}`).to.equal(-1);
      }
    });

    it('agrees with the textbook arithmetic within 1e-9 (the sample, and the shared file when present)', function () {
      const { close } = sampleCandles();
      for (const period of [14, 5]) {
        const got = stream(close, period);
        const want = textbookRsi(close, period);
        const i = firstMismatch(got, want, 1e-9);
        expect(i, i < 0 ? '' : `period ${period} #${i}: ${got[i]} vs ${want[i]}`).to.equal(-1);
        // Not bit-identical: the comparison tests the formula, not the code.
        expect(got.some((v, j) => v !== want[j]), 'the two arithmetics differ in the last bits somewhere').to.equal(true);
      }
    });

    it('matches the textbook arithmetic on the shared 15m closes within 1e-9', function () {
      const { close } = realCandles(this);
      const got = stream(close, 14);
      const want = textbookRsi(close, 14);
      got.forEach((v, i) => expect(v === undefined, `empty #${i}`).to.equal(i < 14));
      const i = firstMismatch(got, want, 1e-9);
      expect(i, i < 0 ? '' : `#${i}: ${got[i]} vs ${want[i]}`).to.equal(-1);
    });
  });

  describe('worked by hand', () => {
    it('period 3 on 44, 45, 44, 46, 45, 47: 75, then 600/11, then 75', () => {
      // Moves +1, -1, +2: seed gain (1 + 0 + 2) / 3 = 1, loss (0 + 1 + 0) / 3 = 1/3, RS 3, RSI 100 - 100/4 = 75.
      // Move -1: gain = 1/3 × 0 + 2/3 × 1 = 2/3, loss = 1/3 × 1 + 2/3 × 1/3 = 5/9, RS 6/5, RSI 100 - 100/2.2 = 600/11.
      // Move +2: gain = 1/3 × 2 + 2/3 × 2/3 = 10/9, loss = 2/3 × 5/9 = 10/27, RS 3, RSI 75.
      const rsi = new Rsi({ period: 3 });
      expect(rsi.warmup).to.equal(4);
      const got = [44, 45, 44, 46, 45, 47].map((c) => [rsi.update(c), rsi.isReady, rsi.value] as const);
      expect(got.slice(0, 3)).to.deep.equal([[false, false, undefined], [false, false, undefined], [false, false, undefined]]);
      expect(got.slice(3).map(([r, ready]) => [r, ready])).to.deep.equal([[true, true], [true, true], [true, true]]);
      expect(got[3]![2]).to.be.closeTo(75, 1e-12);
      expect(got[4]![2]).to.be.closeTo(600 / 11, 1e-12);
      expect(got[5]![2]).to.be.closeTo(75, 1e-12);
    });

    it('is 100 on flat prices (0/0) and after only gains, 0 after only losses; reset() starts over', () => {
      const flat = new Rsi({ period: 3 });
      const up = new Rsi({ period: 3 });
      const down = new Rsi({ period: 3 });
      for (let i = 0; i < 10; i++) {
        flat.update(5);
        up.update(5 + i);
        down.update(5 - i);
      }
      expect([flat.value, up.value, down.value]).to.deep.equal([100, 100, 0]);
      up.reset();
      expect([up.value, up.isReady]).to.deep.equal([undefined, false]);
      expect([up.update(1), up.update(2), up.update(3), up.update(2)]).to.deep.equal([false, false, false, true]);
      // Seed: moves +1, +1, -1 → avgGain 2/3, avgLoss 1/3 → RS 2 → RSI 100 - 100/3.
      expect(up.value).to.be.closeTo(100 - 100 / 3, 1e-12);
    });

    it('period 1: each value is 100 after a rise or no move, 0 after a fall', () => {
      const rsi = new Rsi({ period: 1 });
      expect(rsi.warmup).to.equal(2);
      const got = [10, 11, 11, 9, 12].map((c) => (rsi.update(c), rsi.value));
      expect(got).to.deep.equal([undefined, 100, 100, 0, 100]);
    });

    it('warmup is period + 1 (a field); a bad period is a ConfigError, a non-finite close a DataError', () => {
      expect(new Rsi().warmup).to.equal(15);
      expect(new Rsi({ period: 9 }).warmup).to.equal(10);
      expect(() => new Rsi({ period: 0 })).to.throw(ConfigError, 'period');
      expect(() => new Rsi({ period: 2.5 })).to.throw(ConfigError, 'period');
      const rsi = new Rsi();
      expect(() => rsi.update(NaN)).to.throw(DataError);
      expect(() => rsi.update(-Infinity)).to.throw(DataError);
    });
  });
});
