/**
 * The Indicator contract (lib/indicators/indicator.ts), checked on every indicator in lib/indicators with
 * the real Bybit 15-minute candles committed in data/sample (5,952 candles, 2024-07-01 to 2024-08-31):
 *
 * - nothing before the warm-up: after n inputs, `isReady === (n >= warmup)`, `update` returns `isReady`, and
 *   `value` is undefined exactly while `isReady` is false; `warmup` is a plain number field. An indicator
 *   whose warm-up depends on the data (FibonacciPivots) names the input its first value comes with,
 *   worked out independently, and `warmup` is a lower bound of it;
 * - streaming equals batch where a batch function exists (stochRsiBatch), else an independent
 *   implementation (./reference.ts), value for value after every input;
 * - `reset()` gives the same numbers, bit for bit, as a fresh instance;
 * - object values are reused (no allocation per update).
 *
 * Adding an indicator: add a row to CASES.
 */
import { expect } from 'chai';
import { candleAt, type Candle } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { FibonacciPivots, Rsi, Sma, StochRsi, SwingPivots, stochRsiBatch, type Indicator, type StochRsiOptions } from '../../lib/indicators/index.ts';
import { SAMPLE_15M } from '../helpers.ts';
import { fibonacciPivotsRef, firstOfSecondPeriod, plainSma, swingPivotsRef, wilderRsi } from './reference.ts';

interface Sample {
  readonly candles: readonly Candle[];
  readonly closes: readonly number[];
}

/** One row of the contract table. */
interface Case<In, Out> {
  readonly name: string;
  readonly make: () => Indicator<In, Out>;
  readonly inputs: (s: Sample) => readonly In[];
  /** What the expected values are: the indicator's batch function, or an independent implementation. */
  readonly expectedFrom: 'batch' | 'independent';
  /** The expected value after each input (undefined before the first), as plain data comparable with `plain(value)`. */
  readonly expected: (inputs: readonly In[]) => readonly unknown[];
  /** Index of the input the first value comes with, when it depends on the data (else `warmup - 1`). */
  readonly firstReady?: (inputs: readonly In[]) => number;
  /** 'always': `value` is one object, the same after every update; 'on change': a new object only when the value changes. */
  readonly reuse?: 'always' | 'on change';
}

/** A typed row (In and Out checked against the factory), stored untyped in the table. */
function row<In, Out>(c: Case<In, Out>): Case<unknown, unknown> {
  return c as unknown as Case<unknown, unknown>;
}

const closesOf = (s: Sample): readonly number[] => s.closes;
const candlesOf = (s: Sample): readonly Candle[] => s.candles;

/** stochRsiBatch's K and D as the values after each close: {k, d} once D exists. */
function stochRsiExpected(closes: readonly number[], opts?: StochRsiOptions): unknown[] {
  const b = stochRsiBatch(closes, opts);
  return closes.map((_, i) => (Number.isNaN(b.d[i]!) ? undefined : { k: b.k[i]!, d: b.d[i]! }));
}

const CASES: Case<unknown, unknown>[] = [
  row({ name: 'Rsi (period 14)', make: () => new Rsi(), inputs: closesOf, expectedFrom: 'independent', expected: (c) => wilderRsi(c, 14) }),
  row({ name: 'Rsi (period 2)', make: () => new Rsi({ period: 2 }), inputs: closesOf, expectedFrom: 'independent', expected: (c) => wilderRsi(c, 2) }),
  row({ name: 'Sma (period 3)', make: () => new Sma({ period: 3 }), inputs: closesOf, expectedFrom: 'independent', expected: (c) => plainSma(c, 3) }),
  row({ name: 'Sma (period 50)', make: () => new Sma({ period: 50 }), inputs: closesOf, expectedFrom: 'independent', expected: (c) => plainSma(c, 50) }),
  row({ name: 'StochRsi (defaults)', make: () => new StochRsi(), inputs: closesOf, expectedFrom: 'batch', expected: (c) => stochRsiExpected(c), reuse: 'always' }),
  row({
    name: 'StochRsi (rsi 7, stoch 21, k 5, d 2)',
    make: () => new StochRsi({ rsiPeriod: 7, stochPeriod: 21, kSmoothing: 5, dSmoothing: 2 }),
    inputs: closesOf,
    expectedFrom: 'batch',
    expected: (c) => stochRsiExpected(c, { rsiPeriod: 7, stochPeriod: 21, kSmoothing: 5, dSmoothing: 2 }),
    reuse: 'always',
  }),
  ...(['D', 'W', 'M'] as const).map((period) =>
    row({
      name: `FibonacciPivots (period ${period})`,
      make: () => new FibonacciPivots({ period }),
      inputs: candlesOf,
      expectedFrom: 'independent',
      expected: (c) => fibonacciPivotsRef(c, period),
      firstReady: (c) => firstOfSecondPeriod(c, period),
      reuse: 'on change',
    }),
  ),
  row({
    name: 'FibonacciPivots (periodMs 4 hours)',
    make: () => new FibonacciPivots({ periodMs: 4 * 3_600_000 }),
    inputs: candlesOf,
    expectedFrom: 'independent',
    expected: (c) => fibonacciPivotsRef(c, 4 * 3_600_000),
    firstReady: (c) => firstOfSecondPeriod(c, 4 * 3_600_000),
    reuse: 'on change',
  }),
  row({ name: 'SwingPivots (defaults: 2, 2)', make: () => new SwingPivots(), inputs: candlesOf, expectedFrom: 'independent', expected: (c) => swingPivotsRef(c, 2, 2, 0.0005, 10), reuse: 'always' }),
  row({
    name: 'SwingPivots (left 3, right 1, tolerance 0.002, 4 levels)',
    make: () => new SwingPivots({ leftBars: 3, rightBars: 1, tolerancePct: 0.002, maxLevels: 4 }),
    inputs: candlesOf,
    expectedFrom: 'independent',
    expected: (c) => swingPivotsRef(c, 3, 1, 0.002, 4),
    reuse: 'always',
  }),
  row({
    name: 'SwingPivots (left 5, right 5)',
    make: () => new SwingPivots({ leftBars: 5, rightBars: 5 }),
    inputs: candlesOf,
    expectedFrom: 'independent',
    expected: (c) => swingPivotsRef(c, 5, 5, 0.0005, 10),
    reuse: 'always',
  }),
];

/** A value as plain data (own enumerable fields, arrays copied), so that a later update cannot change it. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Where `got` and `want` differ (numbers bit for bit, NaN and -0 included), or undefined when they do not. */
function difference(got: unknown, want: unknown, where = 'value'): string | undefined {
  if (typeof want === 'number' || typeof got === 'number') return Object.is(got, want) ? undefined : `${where}: ${String(got)}, expected ${String(want)}`;
  if (want === undefined || got === undefined || want === null || got === null || typeof want !== 'object' || typeof got !== 'object') {
    return got === want ? undefined : `${where}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
  }
  if (Array.isArray(want) !== Array.isArray(got)) return `${where}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
  const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])];
  for (const k of keys) {
    const d = difference((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${where}.${k}`);
    if (d) return d;
  }
  return undefined;
}

/** The state after one update: what update returned, isReady and the value as plain data. */
function stateAfter<In>(ind: Indicator<In, unknown>, x: In): { returned: boolean; isReady: boolean; value: unknown } {
  const returned = ind.update(x);
  return { returned, isReady: ind.isReady, value: plain(ind.value) };
}

describe('Indicator contract, on every indicator (the committed sample: real 15m candles)', () => {
  let sample: Sample;
  before(async () => {
    const { series } = await readCandleFile(SAMPLE_15M, { cache: false });
    const candles = Array.from({ length: series.length }, (_, i) => candleAt(series, i));
    sample = { candles, closes: candles.map((c) => c.close) };
    expect(candles.length, 'the sample holds 62 days of 15-minute candles').to.equal(62 * 96);
  });

  for (const c of CASES) {
    describe(c.name, () => {
      it('has a fixed `warmup` (a number field) and reports nothing before it: value undefined and isReady false until the warm-up is in', () => {
        const ind = c.make();
        const desc = Object.getOwnPropertyDescriptor(ind, 'warmup');
        expect(desc, 'warmup is an own data property, not a getter').to.not.equal(undefined);
        expect(desc!.get, 'warmup is not a getter').to.equal(undefined);
        expect(Number.isInteger(ind.warmup) && ind.warmup >= 1, `warmup ${ind.warmup} is a positive integer`).to.equal(true);
        expect([ind.isReady, ind.value], 'before any input').to.deep.equal([false, undefined]);
        const inputs = c.inputs(sample);
        const first = c.firstReady ? c.firstReady(inputs) : ind.warmup - 1;
        if (c.firstReady) {
          expect(first, 'the data-dependent first value comes no sooner than warmup says').to.be.at.least(ind.warmup - 1);
        }
        expect(first, 'the first value comes within the sample').to.be.within(0, inputs.length - 2);
        inputs.forEach((x, i) => {
          const s = stateAfter(ind, x);
          const ready = i >= first;
          if (s.returned !== s.isReady || s.isReady !== ready || (s.value === undefined) === ready) {
            expect.fail(`after input #${i} (${i + 1} inputs): update returned ${s.returned}, isReady ${s.isReady}, value ${JSON.stringify(s.value)}; expected ready: ${ready} (first value at #${first})`);
          }
        });
        if (!c.firstReady) expect(first + 1, 'inputs until the first value').to.equal(ind.warmup);
      });

      it(`streaming equals ${c.expectedFrom === 'batch' ? 'the batch function' : 'an independent implementation'} after every input`, () => {
        const inputs = c.inputs(sample);
        const want = c.expected(inputs);
        expect(want.length).to.equal(inputs.length);
        expect(want.filter((v) => v !== undefined).length, 'values to compare').to.be.at.least(inputs.length / 3);
        const ind = c.make();
        inputs.forEach((x, i) => {
          const d = difference(stateAfter(ind, x).value, want[i]);
          if (d) expect.fail(`after input #${i}: ${d}`);
        });
      });

      it('reset() gives the same numbers, bit for bit, as a fresh instance', () => {
        const inputs = c.inputs(sample);
        const ind = c.make();
        ind.reset(); // on a fresh instance: harmless
        // Fed to well past the warm-up, from the middle of the sample, then reset.
        for (const x of inputs.slice(2000, 3500)) ind.update(x);
        expect(ind.isReady, 'ready before the reset').to.equal(true);
        ind.reset();
        expect([ind.isReady, ind.value], 'right after reset()').to.deep.equal([false, undefined]);
        const fresh = c.make();
        expect(ind.warmup).to.equal(fresh.warmup);
        inputs.forEach((x, i) => {
          const got = stateAfter(ind, x);
          const want = stateAfter(fresh, x);
          const d = got.returned !== want.returned || got.isReady !== want.isReady ? `ready ${got.isReady}, fresh ${want.isReady}` : difference(got.value, want.value);
          if (d) expect.fail(`after input #${i}: ${d}`);
        });
      });

      if (c.reuse) {
        it(c.reuse === 'always' ? 'value is one object, reused by every update (no allocation per update)' : 'value is a new object only when it changes', () => {
          const inputs = c.inputs(sample);
          const want = c.expected(inputs);
          /** How many times the expected value changes, counting its first appearance. */
          const changes = want.filter((w, i) => w !== undefined && (i === 0 || difference(w, want[i - 1]) !== undefined)).length;
          const ind = c.make();
          let prev: unknown;
          let prevPlain: unknown;
          let objects = 0;
          for (const x of inputs) {
            ind.update(x);
            const v = ind.value;
            if (v === undefined) continue;
            expect(typeof v, 'an object value').to.equal('object');
            const now = plain(v);
            if (v !== prev) {
              objects++;
              if (c.reuse === 'on change' && prev !== undefined) expect(difference(now, prevPlain), 'a new object holds a new value').to.not.equal(undefined);
            } else if (c.reuse === 'on change') {
              expect(difference(now, prevPlain), 'the same object is not changed').to.equal(undefined);
            }
            prev = v;
            prevPlain = now;
          }
          if (c.reuse === 'always') expect(objects, 'distinct value objects').to.equal(1);
          else expect(objects, 'distinct value objects: one per change of the value').to.equal(changes);
        });
      }
    });
  }
});
