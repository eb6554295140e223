import { expect } from 'chai';
import { ConfigError, DAY_MS, DataError } from '../../lib/core/index.ts';
import { FibonacciPivots } from '../../lib/indicators/index.ts';
import { candle } from './fixtures.ts';

const HOUR = 3_600_000;
/** Monday 2024-01-01 00:00 UTC. */
const MON = Date.UTC(2024, 0, 1);

/** Day 1 (H 110, L 95, last close 102) in four 6-hour candles, then day 2 opening higher. */
const day1 = [
  candle(MON + 0 * HOUR, 105, 98, 100),
  candle(MON + 6 * HOUR, 110, 101, 108),
  candle(MON + 12 * HOUR, 109, 95, 97),
  candle(MON + 18 * HOUR, 103, 96, 102),
];
const day2 = [
  candle(MON + DAY_MS + 0 * HOUR, 104, 100, 103),
  candle(MON + DAY_MS + 6 * HOUR, 120, 102, 118), // beyond day 1's R3: must not move today's levels
  candle(MON + DAY_MS + 12 * HOUR, 119, 90, 91),
  candle(MON + DAY_MS + 18 * HOUR, 96, 92, 94),
];
/** Levels from day 1, worked out by hand: P = (110 + 95 + 102) / 3, range 15, 0.382 × 15 = 5.73, 0.618 × 15 = 9.27. */
const fromDay1 = { p: 102.333333333, r1: 108.063333333, r2: 111.603333333, r3: 117.333333333, s1: 96.603333333, s2: 93.063333333, s3: 87.333333333 };
/** From day 2 (H 120, L 90, C 94): P = 304/3, range 30, 11.46 and 18.54. */
const fromDay2 = { p: 101.333333333, r1: 112.793333333, r2: 119.873333333, r3: 131.333333333, s1: 89.873333333, s2: 82.793333333, s3: 71.333333333 };

function expectLevels(fib: FibonacciPivots, period: number, want: typeof fromDay1): void {
  const l = fib.value;
  expect(l, 'levels exist').to.not.equal(undefined);
  expect(new Date(l!.period).toISOString(), 'period').to.equal(new Date(period).toISOString());
  for (const key of Object.keys(want) as (keyof typeof want)[]) expect(l![key], key).to.be.closeTo(want[key], 1e-8);
}

describe('FibonacciPivots', () => {
  it('has no levels until the first period completes', () => {
    const fib = new FibonacciPivots();
    for (const c of day1) expect(fib.update(c), `candle at ${c.openTime}`).to.equal(false);
    expect(fib.value).to.equal(undefined);
    expect(fib.supports()).to.deep.equal([]);
    expect(fib.resistances()).to.deep.equal([]);
  });

  it('gives exact levels from the completed day, valid for the next, and keeps them all day', () => {
    const fib = new FibonacciPivots();
    for (const c of day1) fib.update(c);
    expect(fib.update(day2[0]!), 'first candle of day 2').to.equal(true);
    expectLevels(fib, MON + DAY_MS, fromDay1);
    const sameObject = fib.value;
    for (const c of day2.slice(1)) {
      fib.update(c);
      expect(fib.value, `unchanged within day 2 (candle ${new Date(c.openTime).toISOString()})`).to.equal(sameObject);
    }
    expect(fib.supports()).to.deep.equal([sameObject!.s1, sameObject!.s2, sameObject!.s3]);
    expect(fib.resistances()).to.deep.equal([sameObject!.r1, sameObject!.r2, sameObject!.r3]);
    fib.update(candle(MON + 2 * DAY_MS, 95, 93, 94));
    expectLevels(fib, MON + 2 * DAY_MS, fromDay2);
  });

  it('rolls over exactly at 00:00 UTC, not a millisecond before', () => {
    const fib = new FibonacciPivots();
    for (const c of day1) fib.update(c);
    fib.update(candle(MON + DAY_MS - 1, 100, 99, 99.5)); // still day 1
    expect(fib.value, 'no levels at 23:59:59.999').to.equal(undefined);
    fib.update(candle(MON + DAY_MS, 100, 99, 99.5));
    // Day 1 now closed at 99.5 instead of 102: P = (110 + 95 + 99.5) / 3 = 101.5.
    expect(fib.value?.p).to.be.closeTo(101.5, 1e-12);
  });

  it('completes a period with missing candles when a later period arrives, even days later', () => {
    const fib = new FibonacciPivots();
    for (const c of day1) fib.update(c);
    fib.update(day2[0]!);
    fib.update(day2[1]!); // day 2's last two candles are missing: H 120, L 100, C 118
    fib.update(candle(MON + 4 * DAY_MS + 6 * HOUR, 100, 99, 99.5)); // days 3 and 4 until 06:00 are missing
    // P = (120 + 100 + 118) / 3 = 112.666..., range 20: R1 = P + 7.64, S3 = P - 20.
    expect(new Date(fib.value!.period).toISOString()).to.equal('2024-01-05T00:00:00.000Z');
    expect(fib.value!.p).to.be.closeTo(112.666666667, 1e-8);
    expect(fib.value!.r1).to.be.closeTo(120.306666667, 1e-8);
    expect(fib.value!.s3).to.be.closeTo(92.666666667, 1e-8);
  });

  it("'W' periods start on Monday 00:00 UTC, as Bybit's weekly candles", () => {
    const fib = new FibonacciPivots({ period: 'W' });
    // 1970-01-01 was a Thursday: a grid of plain 7-day multiples would roll over on Thursdays.
    fib.update(candle(Date.UTC(2024, 0, 3, 12), 100, 90)); // Wed
    expect(fib.update(candle(Date.UTC(2024, 0, 4, 0), 105, 95)), 'Thursday: same week').to.equal(false);
    expect(fib.update(candle(Date.UTC(2024, 0, 7, 23), 101, 99, 100)), 'Sunday 23:00: same week').to.equal(false);
    expect(fib.update(candle(Date.UTC(2024, 0, 8, 0), 100, 99)), 'Monday 00:00: a new week').to.equal(true);
    expect(new Date(fib.value!.period).toISOString()).to.equal('2024-01-08T00:00:00.000Z');
    // H 105, L 90, C 100: P = 98.333..., range 15.
    expect(fib.value!.p).to.be.closeTo(98.333333333, 1e-8);
    expect(fib.value!.r2).to.be.closeTo(107.603333333, 1e-8);
  });

  it("'M' periods are calendar months (a leap February included)", () => {
    const fib = new FibonacciPivots({ period: 'M' });
    fib.update(candle(Date.UTC(2024, 1, 1), 50, 40, 45));
    expect(fib.update(candle(Date.UTC(2024, 1, 29, 23, 45), 60, 44, 55)), 'Feb 29 is still February').to.equal(false);
    expect(fib.update(candle(Date.UTC(2024, 2, 1), 56, 54, 55))).to.equal(true);
    expect(new Date(fib.value!.period).toISOString()).to.equal('2024-03-01T00:00:00.000Z');
    expect(fib.value!.p).to.be.closeTo((60 + 40 + 55) / 3, 1e-9);
    expect(fib.value!.s1).to.be.closeTo(51.666666667 - 7.64, 1e-8);
  });

  it('periodMs aligns fixed periods to the epoch (4-hour periods)', () => {
    const fib = new FibonacciPivots({ periodMs: 4 * HOUR });
    fib.update(candle(MON + 1 * HOUR, 10, 8, 9));
    fib.update(candle(MON + 3 * HOUR, 12, 9, 11));
    expect(fib.update(candle(MON + 4 * HOUR, 11, 10)), '04:00 opens the next 4-hour period').to.equal(true);
    expect(fib.value!.period).to.equal(MON + 4 * HOUR);
    expect(fib.value!.p).to.be.closeTo((12 + 8 + 11) / 3, 1e-12);
  });

  it('rejects bad options and out-of-order candles; reset() forgets everything', () => {
    expect(() => new FibonacciPivots({ period: 'D', periodMs: DAY_MS })).to.throw(ConfigError, 'not both');
    expect(() => new FibonacciPivots({ period: 'Y' as 'D' })).to.throw(ConfigError, 'period');
    expect(() => new FibonacciPivots({ periodMs: 0 })).to.throw(ConfigError, 'periodMs');
    const fib = new FibonacciPivots();
    for (const c of [...day1, ...day2]) fib.update(c);
    expect(() => fib.update(day1[0]!)).to.throw(DataError, 'older');
    expect(() => fib.update(candle(MON + 9 * DAY_MS, NaN, 1, 1))).to.throw(DataError, 'non-finite');
    fib.reset();
    expect(fib.value).to.equal(undefined);
    expect(fib.update(day1[0]!), 'accepts an old candle after reset').to.equal(false);
  });
});
