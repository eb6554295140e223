import { expect } from 'chai';
import { RSI, StochasticRSI } from 'technicalindicators';
import { ConfigError, DataError } from '../../lib/core/index.ts';
import { Rsi, StochRsi, stochRsiBatch, type StochRsiOptions } from '../../lib/indicators/index.ts';
import { DATA_15M, REF_STOCHRSI, requireShared } from '../helpers.ts';
import { realCandles, realReference, sampleCandles } from './fixtures.ts';

type Series = { rsi: number[]; stoch: number[]; k: number[]; d: number[] };
const COLUMNS = ['rsi', 'stoch', 'k', 'd'] as const;

/**
 * The definition written out a second way, for comparison: plain arrays, whole-window slices, Wilder's
 * average in its textbook form (prev * (n - 1) + x) / n and RSI as 100 * gain / (gain + loss). Algebraically
 * the same as the library, numerically a few ulps apart, so agreement to 1e-9 tests the formula, not the code.
 */
function naiveStochRsi(closes: readonly number[], { rsiPeriod = 14, stochPeriod = 14, kSmoothing = 3, dSmoothing = 3 }: StochRsiOptions = {}): Series {
  const n = closes.length;
  const out: Series = { rsi: Array(n).fill(NaN), stoch: Array(n).fill(NaN), k: Array(n).fill(NaN), d: Array(n).fill(NaN) };
  const gain = (i: number): number => Math.max(closes[i]! - closes[i - 1]!, 0);
  const loss = (i: number): number => Math.max(closes[i - 1]! - closes[i]!, 0);
  let avgGain = 0;
  let avgLoss = 0;
  for (let i = rsiPeriod; i < n; i++) {
    if (i === rsiPeriod) {
      for (let m = 1; m <= rsiPeriod; m++) {
        avgGain += gain(m);
        avgLoss += loss(m);
      }
      avgGain /= rsiPeriod;
      avgLoss /= rsiPeriod;
    } else {
      avgGain = (avgGain * (rsiPeriod - 1) + gain(i)) / rsiPeriod;
      avgLoss = (avgLoss * (rsiPeriod - 1) + loss(i)) / rsiPeriod;
    }
    out.rsi[i] = avgLoss === 0 ? 100 : (100 * avgGain) / (avgGain + avgLoss);
  }
  for (let i = rsiPeriod + stochPeriod - 1; i < n; i++) {
    const win = out.rsi.slice(i - stochPeriod + 1, i + 1);
    const lo = Math.min(...win);
    const hi = Math.max(...win);
    out.stoch[i] = hi === lo ? 0 : 100 * ((out.rsi[i]! - lo) / (hi - lo));
  }
  const mean = (xs: number[], from: number, len: number): number => {
    let s = 0;
    for (let j = from; j < from + len; j++) s += xs[j]!;
    return s / len;
  };
  for (let i = rsiPeriod + stochPeriod + kSmoothing - 2; i < n; i++) out.k[i] = mean(out.stoch, i - kSmoothing + 1, kSmoothing);
  for (let i = rsiPeriod + stochPeriod + kSmoothing + dSmoothing - 3; i < n; i++) out.d[i] = mean(out.k, i - dSmoothing + 1, dSmoothing);
  return out;
}

/** Largest |a - b| over the positions where both have values; throws if only one side has a value. */
function maxAbsDiff(name: string, a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length, `${name}: lengths`).to.equal(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      expect(Number.isNaN(x), `${name}[${i}]: one side is empty (${x} vs ${y})`).to.equal(Number.isNaN(y));
      continue;
    }
    max = Math.max(max, Math.abs(x - y));
  }
  return max;
}

function firstIndex(xs: ArrayLike<number>): number {
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i]!)) return i;
  return -1;
}

describe('StochRsi', () => {
  describe('golden: BTCUSDT-15m reference file (independent Python implementation)', () => {
    let ref: ReturnType<typeof realReference>;
    let timestamp: number[];
    let ours: ReturnType<typeof stochRsiBatch>;
    before(function () {
      requireShared(this, DATA_15M, REF_STOCHRSI);
      ref = realReference(this);
      let close: number[];
      ({ timestamp, close } = realCandles(this));
      ours = stochRsiBatch(close);
    });

    it('covers the same 61,440 candles as the data file', () => {
      expect(ref.timestamp.length).to.equal(61_440);
      expect(ref.timestamp).to.deep.equal(timestamp);
    });

    it('has values exactly where the reference does: rsi from 14, stoch 27, k 29, d 31', () => {
      const expectedFirst = { rsi: 14, stoch: 27, k: 29, d: 31 };
      for (const c of COLUMNS) {
        expect(firstIndex(ref[c]), `reference ${c} first index`).to.equal(expectedFirst[c]);
        for (let i = 0; i < ref[c].length; i++) {
          if (Number.isNaN(ref[c][i]!) !== Number.isNaN(ours[c][i]!)) {
            expect.fail(`${c}[${i}]: reference ${ref[c][i]}, ours ${ours[c][i]}`);
          }
        }
      }
    });

    it('matches every value within 1e-9', () => {
      for (const c of COLUMNS) {
        for (let i = 0; i < ref[c].length; i++) {
          const r = ref[c][i]!;
          if (Number.isNaN(r)) continue;
          if (!(Math.abs(ours[c][i]! - r) <= 1e-9)) expect.fail(`${c}[${i}] (t=${ref.timestamp[i]}): reference ${r}, ours ${ours[c][i]}`);
        }
      }
    });

    it('matches every value bit for bit, so K/D crossover decisions cannot differ from the reference trades', () => {
      for (const c of COLUMNS) {
        let unequal = 0;
        for (let i = 0; i < ref[c].length; i++) if (!Number.isNaN(ref[c][i]!) && ours[c][i] !== ref[c][i]) unequal++;
        expect(unequal, `${c}: values not bit-identical to the reference`).to.equal(0);
      }
    });
  });

  describe('against an independent implementation written in this test', () => {
    it('agrees on the real closes within 1e-9 (default periods)', function () {
      const { close } = realCandles(this);
      const ours = stochRsiBatch(close);
      const naive = naiveStochRsi(close);
      for (const c of COLUMNS) expect(maxAbsDiff(c, ours[c], naive[c]), c).to.be.at.most(1e-9);
    });

    it('agrees on the real closes within 1e-9 with other periods (rsi 7, stoch 21, k 5, d 2)', function () {
      const { close } = realCandles(this);
      const opts = { rsiPeriod: 7, stochPeriod: 21, kSmoothing: 5, dSmoothing: 2 };
      const ours = stochRsiBatch(close, opts);
      const naive = naiveStochRsi(close, opts);
      for (const c of COLUMNS) expect(maxAbsDiff(c, ours[c], naive[c]), c).to.be.at.most(1e-9);
      expect(firstIndex(ours.d), 'first D').to.equal(7 + 21 + 5 + 2 - 3);
      expect(new StochRsi(opts).warmup).to.equal(7 + 21 + 5 + 2 - 2);
    });

    it('agrees at small window sizes (stoch 1 and 3, K and D 1) and with long smoothing', () => {
      const { close } = sampleCandles(); // 5,000 of its 5,952 real closes
      // Not stochPeriod 2: a close equal to the previous one leaves the RSI unchanged in exact arithmetic, and a
      // 2-wide window of such a pair is flat only up to rounding (range 7e-15 at index 335 of the shared file's
      // closes with rsiPeriod 3), so the stochastic of rounding noise is 0 or 100 depending on the last bits.
      // Any implementation has this.
      for (const opts of [
        { rsiPeriod: 2, stochPeriod: 1, kSmoothing: 1, dSmoothing: 1 },
        { rsiPeriod: 3, stochPeriod: 3, kSmoothing: 1, dSmoothing: 4 },
        { rsiPeriod: 14, stochPeriod: 3, kSmoothing: 10, dSmoothing: 7 },
      ]) {
        const ours = stochRsiBatch(close.slice(0, 5000), opts);
        const naive = naiveStochRsi(close.slice(0, 5000), opts);
        for (const c of COLUMNS) expect(maxAbsDiff(`${JSON.stringify(opts)} ${c}`, ours[c], naive[c]), `${JSON.stringify(opts)} ${c}`).to.be.at.most(1e-9);
        expect(firstIndex(ours.d), 'first D').to.equal(new StochRsi(opts).warmup - 1);
      }
    });

    it('flat prices: RSI 100 (no loss, and no gain either), flat window so stoch, K and D are 0', () => {
      const closes = Array<number>(40).fill(100);
      const ours = stochRsiBatch(closes);
      const naive = naiveStochRsi(closes);
      for (let i = 14; i < 40; i++) expect(ours.rsi[i], `rsi[${i}]`).to.equal(100);
      for (let i = 27; i < 40; i++) expect(ours.stoch[i], `stoch[${i}]`).to.equal(0);
      for (let i = 31; i < 40; i++) expect([ours.k[i], ours.d[i]], `k,d[${i}]`).to.deep.equal([0, 0]);
      for (const c of COLUMNS) expect(maxAbsDiff(c, ours[c], naive[c]), c).to.equal(0);
    });

    it('a steady rise: RSI 100, stoch 0; a steady fall: RSI 0, stoch 0', () => {
      const up = Array.from({ length: 40 }, (_, i) => 100 + i);
      const down = Array.from({ length: 40 }, (_, i) => 200 - i);
      for (const [name, closes, rsi] of [['rise', up, 100], ['fall', down, 0]] as const) {
        const ours = stochRsiBatch(closes);
        for (let i = 14; i < 40; i++) expect(ours.rsi[i], `${name} rsi[${i}]`).to.equal(rsi);
        for (let i = 31; i < 40; i++) expect([ours.stoch[i], ours.k[i], ours.d[i]], `${name} [${i}]`).to.deep.equal([0, 0, 0]);
        for (const c of COLUMNS) expect(maxAbsDiff(`${name} ${c}`, ours[c], naiveStochRsi(closes)[c]), c).to.be.at.most(1e-9);
      }
    });

    it('a single dip and recovery, checked against values worked out by hand', () => {
      // 30 closes at 100, a dip to 90 at index 30, back to 100 at 31, then flat.
      // RSI: 100 up to 29 (no moves); 0 at 30 (only a loss); at 31 avgGain = 10/14 and
      // avgLoss = 13/14 * 10/14, so RSI = 100 - 100 / (1 + 14/13) = 1400/27, and it stays there (both decay alike).
      // Stoch: window 100s and the 0 → stoch = RSI itself until the 100s leave the window (index 42);
      // at 43 the window is [0, 1400/27, ...] and the RSI sits at its high → 100.
      const closes = [...Array<number>(30).fill(100), 90, ...Array<number>(13).fill(100)];
      const s = 1400 / 27;
      const expected: Record<number, Partial<Record<(typeof COLUMNS)[number], number>>> = {
        29: { rsi: 100, stoch: 0, k: 0 },
        30: { rsi: 0, stoch: 0, k: 0 },
        31: { rsi: s, stoch: s, k: s / 3, d: s / 9 },
        32: { rsi: s, stoch: s, k: (2 * s) / 3, d: s / 3 },
        33: { rsi: s, stoch: s, k: s, d: (2 * s) / 3 },
        34: { rsi: s, stoch: s, k: s, d: ((2 / 3 + 1 + 1) * s) / 3 },
        42: { rsi: s, stoch: s, k: s, d: s },
        43: { rsi: s, stoch: 100, k: (2 * s + 100) / 3, d: (8 * s + 100) / 9 },
      };
      const ours = stochRsiBatch(closes);
      for (const [i, want] of Object.entries(expected)) {
        for (const [c, v] of Object.entries(want)) {
          expect(ours[c as (typeof COLUMNS)[number]][Number(i)], `${c}[${i}]`).to.be.closeTo(v, 1e-9);
        }
      }
      for (const c of COLUMNS) expect(maxAbsDiff(c, ours[c], naiveStochRsi(closes)[c]), c).to.be.at.most(1e-9);
    });

    it('an RSI at its window high gives exactly 100, and equal K and D stay exactly equal', () => {
      // After a dip the RSI climbs on every candle of a steady rise, so once the pre-dip RSI values of 100 have
      // left the window, each RSI is the window's high.
      const closes = [...Array<number>(30).fill(100), 90, ...Array.from({ length: 25 }, (_, i) => 91 + i)];
      const ours = stochRsiBatch(closes);
      for (let i = 43; i < closes.length; i++) {
        expect(ours.rsi[i], `rsi[${i}] below 100`).to.be.below(100);
        expect(ours.stoch[i], `stoch[${i}]`).to.equal(100);
      }
      for (let i = 47; i < closes.length; i++) expect([ours.k[i], ours.d[i]], `k,d[${i}]`).to.deep.equal([100, 100]);
      for (const c of COLUMNS) expect(maxAbsDiff(c, ours[c], naiveStochRsi(closes)[c]), c).to.be.at.most(1e-9);
    });
  });

  describe('cross-check with the technicalindicators package', () => {
    let close: number[];
    let ours: ReturnType<typeof stochRsiBatch>;
    before(function () {
      ({ close } = realCandles(this));
      ours = stochRsiBatch(close);
    });

    it('RSI agrees to its 2-decimal rounding (max |diff| 0.005)', () => {
      const theirs = RSI.calculate({ values: close, period: 14 });
      const offset = close.length - theirs.length;
      expect(offset, 'their first RSI is at index 14 too').to.equal(14);
      let max = 0;
      for (let i = 0; i < theirs.length; i++) max = Math.max(max, Math.abs(theirs[i]! - ours.rsi[i + offset]!));
      expect(max).to.be.at.most(0.005 + 1e-9);
    });

    it('StochRSI agrees within the drift its rounded RSI causes', () => {
      const theirs = StochasticRSI.calculate({ values: close, rsiPeriod: 14, stochasticPeriod: 14, kPeriod: 3, dPeriod: 3 });
      const offset = close.length - theirs.length;
      expect(offset, 'their first output is at index 31, with the first D').to.equal(31);
      let maxStoch = 0;
      let maxK = 0;
      let maxD = 0;
      let sumK = 0;
      for (let i = 0; i < theirs.length; i++) {
        const t = theirs[i]!;
        const j = i + offset;
        maxStoch = Math.max(maxStoch, Math.abs(t.stochRSI - ours.stoch[j]!));
        const dk = Math.abs(t.k - ours.k[j]!);
        maxK = Math.max(maxK, dk);
        sumK += dk;
        maxD = Math.max(maxD, Math.abs(t.d - ours.d[j]!));
      }
      // Measured on these 61,409 values: max |diff| stoch 0.1633, K 0.1237, D 0.1102; mean |diff| K 0.0105.
      // Their RSI is rounded to 2 decimals before the stochastic divides by the RSI range, hence the drift.
      expect(maxStoch, 'stoch').to.be.at.most(0.17);
      expect(maxK, 'K').to.be.at.most(0.13);
      expect(maxD, 'D').to.be.at.most(0.12);
      expect(sumK / theirs.length, 'mean K').to.be.at.most(0.012);
    });
  });

  describe('streaming contract', () => {
    it('streaming and batch give identical numbers', function () {
      const { close } = realCandles(this);
      const batch = stochRsiBatch(close);
      const ind = new StochRsi();
      for (let i = 0; i < close.length; i++) {
        ind.update(close[i]!);
        const got = [ind.rsi, ind.stoch, ind.k, ind.d].map((v) => v ?? NaN);
        const want = [batch.rsi[i]!, batch.stoch[i]!, batch.k[i]!, batch.d[i]!];
        if (!got.every((v, c) => Object.is(v, want[c]))) expect.fail(`index ${i}: streaming ${got}, batch ${want}`);
      }
    });

    it('reports nothing before the warm-up: update is false, isReady unset and value undefined for the first 31 closes', () => {
      const { close } = sampleCandles();
      const ind = new StochRsi();
      expect(ind.warmup).to.equal(32);
      const firstValue = { rsi: 14, stoch: 27, k: 29, d: 31 };
      for (let i = 0; i < 40; i++) {
        const ready = ind.update(close[i]!);
        expect(ready, `update #${i}`).to.equal(i >= 31);
        expect(ind.isReady, `isReady #${i}`).to.equal(i >= 31);
        expect(ind.value === undefined, `value empty at #${i}`).to.equal(i < 31);
        for (const c of COLUMNS) expect(ind[c] === undefined, `${c} empty at #${i}`).to.equal(i < firstValue[c]);
        if (i >= 31) expect({ ...ind.value }, `value at #${i}`).to.deep.equal({ k: ind.k, d: ind.d });
      }
    });

    it('previous is value as it was after the previous close, undefined unless D existed then; both are reused objects', () => {
      const { close } = sampleCandles();
      const ind = new StochRsi();
      let before: { k: number; d: number } | undefined;
      const objects = new Set<object>();
      for (let i = 0; i < 2000; i++) {
        ind.update(close[i]!);
        const prev = ind.previous;
        expect(prev === undefined, `previous empty at #${i}`).to.equal(i < 32);
        expect(prev === undefined ? undefined : { ...prev }, `previous at #${i}`).to.deep.equal(before);
        if (prev) expect([prev.k, prev.d], `previous is prevK, prevD at #${i}`).to.deep.equal([ind.prevK, ind.prevD]);
        const now = ind.value;
        before = now === undefined ? undefined : { ...now };
        for (const o of [now, prev]) if (o) objects.add(o);
      }
      expect(objects.size, 'one value object and one previous object').to.equal(2);
      ind.reset();
      expect([ind.value, ind.previous]).to.deep.equal([undefined, undefined]);
    });

    it('prevK and prevD are the previous close\'s K and D', () => {
      const { close } = sampleCandles();
      const ind = new StochRsi();
      let k: number | undefined;
      let d: number | undefined;
      for (let i = 0; i < 2000; i++) {
        ind.update(close[i]!);
        expect(Object.is(ind.prevK, k) && Object.is(ind.prevD, d), `#${i}: prev (${ind.prevK}, ${ind.prevD}) vs (${k}, ${d})`).to.equal(true);
        k = ind.k;
        d = ind.d;
      }
      const fresh = new StochRsi();
      for (let i = 0; i < 30; i++) fresh.update(close[i]!);
      const k29 = fresh.k;
      expect(k29, 'K exists from index 29').to.be.a('number');
      expect(fresh.prevK, 'prevK at index 29').to.equal(undefined);
      fresh.update(close[30]!);
      expect(fresh.prevK, 'prevK at index 30 is K at 29').to.equal(k29);
      expect(fresh.prevD, 'prevD at index 30 (D starts at 31)').to.equal(undefined);
    });

    it('reset() restores the initial state', () => {
      const { close } = sampleCandles();
      const ind = new StochRsi();
      for (let i = 0; i < 500; i++) ind.update(close[i]!);
      ind.reset();
      for (const key of ['rsi', 'stoch', 'k', 'd', 'prevK', 'prevD', 'value'] as const) expect(ind[key], key).to.equal(undefined);
      expect(ind.isReady).to.equal(false);
      const fresh = new StochRsi();
      for (let i = 1000; i < 1500; i++) {
        expect(ind.update(close[i]!), `update #${i}`).to.equal(fresh.update(close[i]!));
        expect([ind.rsi, ind.stoch, ind.k, ind.d, ind.prevK, ind.prevD]).to.deep.equal([fresh.rsi, fresh.stoch, fresh.k, fresh.d, fresh.prevK, fresh.prevD]);
      }
    });

    it('a window of equal raw values gives K === D exactly (no running-sum drift) on the real data', function () {
      const { close } = realCandles(this);
      const s = stochRsiBatch(close);
      let equalRuns = 0;
      for (let i = 35; i < close.length; i++) {
        const w = [s.stoch[i - 4]!, s.stoch[i - 3]!, s.stoch[i - 2]!, s.stoch[i - 1]!, s.stoch[i]!];
        if (w.every((v) => v === w[0])) {
          equalRuns++;
          if (!(s.k[i] === w[0] && s.d[i] === w[0])) expect.fail(`index ${i}: stoch ${w[0]} x5 but K ${s.k[i]}, D ${s.d[i]}`);
        }
      }
      // 627 such windows in this file, nearly all stoch pinned at 0 or 100.
      expect(equalRuns, 'windows of five equal stoch values').to.be.above(500);
    });

    it('forgets where the data started: K and D from a late start converge on the full run', function () {
      const { close } = realCandles(this);
      // Wilder's RSI keeps a trace of its seed that decays by 13/14 per candle. Measured over 56 starting points
      // (K and D, max |diff| after the 32-candle warm-up plus N more): N = 100: 3e-2, 200: 2e-5, 300: 9.5e-9,
      // 400: 6.4e-12. A strategy whose crossovers must not depend on the history length wants N >= 400.
      const full = stochRsiBatch(close);
      let maxAfter400 = 0;
      let maxAfter300 = 0;
      for (let start = 1000; start < close.length - 5000; start += 997) {
        const late = stochRsiBatch(close.slice(start, start + 5000));
        for (let i = 32 + 300; i < 5000; i++) {
          const diff = Math.max(Math.abs(late.k[i]! - full.k[start + i]!), Math.abs(late.d[i]! - full.d[start + i]!));
          maxAfter300 = Math.max(maxAfter300, diff);
          if (i >= 32 + 400) maxAfter400 = Math.max(maxAfter400, diff);
        }
      }
      expect(maxAfter300, 'after warm-up + 300').to.be.at.most(1e-8);
      expect(maxAfter400, 'after warm-up + 400').to.be.at.most(1e-11);
    });

    it('its RSI equals the standalone Rsi bit for bit', function () {
      const { close } = realCandles(this);
      const ind = new StochRsi();
      const rsi = new Rsi();
      for (let i = 0; i < close.length; i++) {
        ind.update(close[i]!);
        expect(rsi.update(close[i]!), `Rsi ready #${i}`).to.equal(i >= 14);
        if (!Object.is(ind.rsi, rsi.value)) expect.fail(`#${i}: StochRsi.rsi ${ind.rsi}, Rsi ${rsi.value}`);
      }
    });

    it('rejects bad periods with a ConfigError naming the option, and a non-finite close with a DataError', () => {
      for (const [key, bad] of [['rsiPeriod', 0], ['stochPeriod', -1], ['kSmoothing', 1.5], ['dSmoothing', NaN]] as const) {
        expect(() => new StochRsi({ [key]: bad }), `${key} = ${bad}`).to.throw(ConfigError, key);
      }
      const ind = new StochRsi();
      expect(() => ind.update(NaN)).to.throw(DataError);
      expect(() => ind.update(Infinity)).to.throw(DataError);
    });
  });
});
