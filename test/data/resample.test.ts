import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { seriesFromCandles, sliceSeries, type Candle, type CandleSeries } from '../../lib/core/candle.ts';
import { ConfigError, DataError } from '../../lib/core/errors.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { candlePath, writeCandleFileAtomic } from '../../lib/data/store.ts';
import { decimalSum, intervalStart, resampleFromStore, resampleSeries } from '../../lib/data/resample.ts';
import { DATA_15M, DATA_1M_GZ, DATA_5M, SAMPLE_15M, requireShared, tempDir } from '../helpers.ts';

const MIN = 60_000;
const DAY = 86_400_000;

/** Test-side parse of the 1-minute file's text (independent of lib/data). */
function parseRows(text: string): { t: number; o: number; h: number; l: number; c: number; v: number; vText: string }[] {
  const lines = text.split('\n');
  const out = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const f = lines[i]!.split(',');
    out.push({ t: Number(f[0]), o: Number(f[1]), h: Number(f[2]), l: Number(f[3]), c: Number(f[4]), v: Number(f[5]), vText: f[5]! });
  }
  return out;
}

/** Exact decimal sum of decimal strings, with BigInt, as a Number (the test's own arithmetic). */
function bigDecimalSum(texts: string[]): number {
  const dec = Math.max(0, ...texts.map((s) => (s.includes('.') ? s.split('.')[1]!.length : 0)));
  let total = 0n;
  for (const s of texts) {
    const [a, b = ''] = s.split('.');
    total += BigInt(a! + b.padEnd(dec, '0'));
  }
  const digits = total.toString().padStart(dec + 1, '0');
  return Number(dec ? `${digits.slice(0, -dec)}.${digits.slice(-dec)}` : digits);
}

/** Independent aggregation: group rows by a key function; only groups with exactly `need(key)` rows. */
function aggregate(rows: ReturnType<typeof parseRows>, key: (t: number) => number, need: (k: number) => number) {
  const groups = new Map<number, typeof rows>();
  for (const r of rows) {
    const k = key(r.t);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const out: { t: number; o: number; h: number; l: number; c: number; v: number }[] = [];
  let dropped = 0;
  for (const [k, g] of [...groups].sort((a, b) => a[0] - b[0])) {
    if (g.length !== need(k)) {
      dropped++;
      continue;
    }
    out.push({
      t: k,
      o: g[0]!.o,
      h: Math.max(...g.map((r) => r.h)),
      l: Math.min(...g.map((r) => r.l)),
      c: g[g.length - 1]!.c,
      v: bigDecimalSum(g.map((r) => r.vText)),
    });
  }
  return { out, dropped };
}

function expectSame(s: CandleSeries, want: ReturnType<typeof aggregate>['out']): void {
  expect(s.length).to.equal(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const got = [s.openTime[i], s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]];
    expect(got, `candle ${i} at ${new Date(w.t).toISOString()}`).to.deep.equal([w.t, w.o, w.h, w.l, w.c, w.v]);
  }
}

describe('resample', () => {
  describe('real Bybit 5m → 15m', () => {
    before(function () {
      // 2025-06-22 to 2025-08-21: the developers' 5- and 15-minute files.
      requireShared(this, DATA_5M, DATA_15M);
    });

    it('equals the real Bybit 15-minute file on every overlapping candle (open, high, low, close, volume exactly)', async () => {
      const five = (await readCandleFile(DATA_5M)).series;
      const fifteen = (await readCandleFile(DATA_15M)).series;
      const r = resampleSeries(five, '5', '15');
      const byTime = new Map<number, number>();
      for (let i = 0; i < fifteen.length; i++) byTime.set(fifteen.openTime[i]!, i);
      let compared = 0;
      let plainSumDiffers = 0;
      for (let i = 0; i < r.series.length; i++) {
        const j = byTime.get(r.series.openTime[i]!);
        if (j === undefined) continue;
        compared++;
        const at = new Date(r.series.openTime[i]!).toISOString();
        expect(r.series.open[i], `open ${at}`).to.equal(fifteen.open[j]);
        expect(r.series.high[i], `high ${at}`).to.equal(fifteen.high[j]);
        expect(r.series.low[i], `low ${at}`).to.equal(fifteen.low[j]);
        expect(r.series.close[i], `close ${at}`).to.equal(fifteen.close[j]);
        // exact float equality: the decimal-exact sum is what Bybit's own 15-minute volume parses to
        expect(r.series.volume[i], `volume ${at}`).to.equal(fifteen.volume[j]);
        expect(Number.isNaN(r.series.turnover[i]!)).to.equal(true); // the files have no turnover
        const k = 3 * i; // the 5-minute file has no gaps and starts on a 15-minute boundary
        expect(five.openTime[k]).to.equal(r.series.openTime[i]);
        if (five.volume[k]! + five.volume[k + 1]! + five.volume[k + 2]! !== fifteen.volume[j]) plainSumDiffers++;
      }
      expect(compared).to.equal(5778);
      // the reason for the decimal-exact sum: an in-order float sum misses on a good share of candles
      expect(plainSumDiffers).to.be.greaterThan(100);
      // 17,336 five-minute candles from 00:00: 5,778 full 15-minute buckets and the last one (04:30, 04:35) unfinished
      expect(r.series.length).to.equal(5778);
      expect(r.incomplete).to.equal(1);
    });
  });

  describe('1-minute file (first month) against an independent aggregation', () => {
    let month: CandleSeries;
    let rows: ReturnType<typeof parseRows>;
    before(async function () {
      requireShared(this, DATA_1M_GZ);
      const text = zlib.gunzipSync(fs.readFileSync(DATA_1M_GZ)).toString('latin1');
      // first 31 days + 2 extra days so the week after Monday 2023-12-25 completes: 2023-12-01 .. 2024-01-02
      const end = Date.UTC(2024, 0, 3);
      const head = text.slice(0, text.indexOf(`\n${end},`) + 1);
      rows = parseRows(head);
      const { series } = await readCandleFile(DATA_1M_GZ);
      month = sliceSeries(series, 0, rows.length);
      expect(month.openTime[month.length - 1]).to.equal(end - MIN);
    });

    it('1 → 60', () => {
      const r = resampleSeries(month, '1', '60');
      const want = aggregate(rows, (t) => Math.floor(t / 3_600_000) * 3_600_000, () => 60);
      expect(want.dropped).to.equal(0);
      expect(r.incomplete).to.equal(0);
      expectSame(r.series, want.out);
      expect(r.series.length).to.equal(33 * 24);
    });

    it('1 → D (00:00 UTC)', () => {
      const r = resampleSeries(month, '1', 'D');
      const want = aggregate(rows, (t) => Math.floor(t / DAY) * DAY, () => 1440);
      expectSame(r.series, want.out);
      expect(r.series.length).to.equal(33);
      for (const t of r.series.openTime) expect(new Date(t).toISOString().slice(11)).to.equal('00:00:00.000Z');
    });

    it('1 → W starts on Monday 00:00 UTC; partial weeks at both ends are dropped', () => {
      const r = resampleSeries(month, '1', 'W');
      const monday = (t: number) => {
        const d = new Date(t);
        const back = (d.getUTCDay() + 6) % 7; // days since Monday
        return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - back);
      };
      const want = aggregate(rows, monday, () => 7 * 1440);
      // 2023-12-01 is a Friday: the weeks of Mon 2023-11-27 (started before the data) and Mon 2024-01-01 (unfinished) are partial
      expect(want.dropped).to.equal(2);
      expect(r.incomplete).to.equal(2);
      expectSame(r.series, want.out);
      expect(r.series.openTime[0]).to.equal(Date.UTC(2023, 11, 4));
      for (const t of r.series.openTime) expect(new Date(t).getUTCDay()).to.equal(1);
      expect(r.series.length).to.equal(4);
    });

    it('1 → M starts on the 1st; the unfinished month is dropped, or kept with allowPartial', () => {
      const r = resampleSeries(month, '1', 'M');
      const monthStart = (t: number) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth(), 1);
      const minutesIn = (k: number) => (Date.UTC(new Date(k).getUTCFullYear(), new Date(k).getUTCMonth() + 1, 1) - k) / MIN;
      const want = aggregate(rows, monthStart, minutesIn);
      expectSame(r.series, want.out);
      expect([...r.series.openTime]).to.deep.equal([Date.UTC(2023, 11, 1)]);
      expect(r.incomplete).to.equal(1);
      const p = resampleSeries(month, '1', 'M', { allowPartial: true });
      expect([...p.series.openTime]).to.deep.equal([Date.UTC(2023, 11, 1), Date.UTC(2024, 0, 1)]);
      expect(p.partial).to.deep.equal([Date.UTC(2024, 0, 1)]);
      const jan = rows.filter((x) => x.t >= Date.UTC(2024, 0, 1));
      expect(p.series.open[1]).to.equal(jan[0]!.o);
      expect(p.series.close[1]).to.equal(jan[jan.length - 1]!.c);
    });

    it('gaps: buckets with a missing source candle are dropped and counted', () => {
      // remove one minute in hour 5 and three minutes spread over hour 7 (but inside the same hour)
      const drop = new Set([5 * 60 + 17, 7 * 60 + 1, 7 * 60 + 2, 7 * 60 + 59].map((m) => month.openTime[m]!));
      const kept: Candle[] = [];
      for (let i = 0; i < 24 * 60; i++) {
        if (drop.has(month.openTime[i]!)) continue;
        kept.push({ openTime: month.openTime[i]!, open: month.open[i]!, high: month.high[i]!, low: month.low[i]!, close: month.close[i]!, volume: month.volume[i]!, turnover: NaN });
      }
      const r = resampleSeries(seriesFromCandles(kept), '1', '60');
      expect(r.incomplete).to.equal(2);
      expect(r.series.length).to.equal(22);
      const hours = [...r.series.openTime].map((t) => (t - month.openTime[0]!) / 3_600_000);
      expect(hours).to.not.include(5);
      expect(hours).to.not.include(7);
      const partial = resampleSeries(seriesFromCandles(kept), '1', '60', { allowPartial: true });
      expect(partial.series.length).to.equal(24);
      expect(partial.partial.map((t) => (t - month.openTime[0]!) / 3_600_000)).to.deep.equal([5, 7]);
    });
  });

  describe('rules', () => {
    const c = (t: number, o: number, h: number, l: number, cl: number, v: number, tv = NaN): Candle => ({ openTime: t, open: o, high: h, low: l, close: cl, volume: v, turnover: tv });

    it('aligns minute intervals to multiples since the epoch, W to Monday, M to the 1st', () => {
      const t = Date.UTC(2024, 1, 29, 13, 47); // Thursday 2024-02-29 13:47
      expect(intervalStart('15', t)).to.equal(Date.UTC(2024, 1, 29, 13, 45));
      expect(intervalStart('240', t)).to.equal(Date.UTC(2024, 1, 29, 12, 0));
      expect(intervalStart('720', t)).to.equal(Date.UTC(2024, 1, 29, 12, 0));
      expect(intervalStart('D', t)).to.equal(Date.UTC(2024, 1, 29));
      expect(intervalStart('W', t)).to.equal(Date.UTC(2024, 1, 26)); // Monday
      expect(intervalStart('W', Date.UTC(2024, 1, 26))).to.equal(Date.UTC(2024, 1, 26));
      expect(intervalStart('W', Date.UTC(2024, 1, 25, 23, 59))).to.equal(Date.UTC(2024, 1, 19)); // Sunday → previous Monday
      expect(intervalStart('M', t)).to.equal(Date.UTC(2024, 1, 1));
    });

    it('5 → 15 with turnover summed, NaN when one is missing; open/close from the ends', () => {
      const s = seriesFromCandles([
        c(0, 10, 12, 9, 11, 0.1, 1.1),
        c(5 * MIN, 11, 15, 10, 14, 0.2, 2.2),
        c(10 * MIN, 14, 14, 8, 9, 0.3, 3.3),
        c(15 * MIN, 9, 10, 9, 10, 1, 5),
        c(20 * MIN, 10, 10, 9, 10, 1, NaN),
        c(25 * MIN, 10, 10, 9, 10, 1, 5),
      ]);
      const r = resampleSeries(s, 5 * MIN, '15');
      expect(r.series.length).to.equal(2);
      expect([r.series.open[0], r.series.high[0], r.series.low[0], r.series.close[0]]).to.deep.equal([10, 15, 8, 9]);
      expect(r.series.volume[0]).to.equal(0.6); // 0.1 + 0.2 + 0.3 in floats is 0.6000000000000001
      expect(0.1 + 0.2 + 0.3).to.not.equal(0.6);
      expect(r.series.turnover[0]).to.equal(6.6);
      expect(Number.isNaN(r.series.turnover[1]!)).to.equal(true);
    });

    it('decimalSum falls back to the float sum for non-decimal values', () => {
      expect(decimalSum([Math.PI, 1], 0, 2)).to.equal(Math.PI + 1);
      expect(decimalSum([0.001, 0.002, 0.004], 0, 3)).to.equal(0.007);
    });

    it('rejects impossible pairs and source candles off their grid', () => {
      const s = seriesFromCandles([c(0, 1, 1, 1, 1, 1)]);
      expect(() => resampleSeries(s, '15', '5')).to.throw(ConfigError, /finer/);
      expect(() => resampleSeries(s, '15', '120')).to.not.throw();
      expect(() => resampleSeries(s, '60', '30')).to.throw(ConfigError);
      expect(() => resampleSeries(s, 'W', 'M')).to.throw(ConfigError, /month/);
      expect(() => resampleSeries(s, 7 * MIN, '60')).to.throw(ConfigError, /whole number/);
      const off = seriesFromCandles([c(3 * MIN, 1, 1, 1, 1, 1)], 'x.csv');
      expect(() => resampleSeries(off, '5', '15')).to.throw(DataError, /x\.csv.*not on the 5 grid/);
    });
  });

  describe('resampleFromStore', () => {
    it('builds the missing interval from the coarsest finer file and saves it; no-op when it exists', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const fifteen = (await readCandleFile(SAMPLE_15M)).series;
        const part = sliceSeries(fifteen, 0, 100); // 25 hours of real 15-minute candles from 2024-07-01 00:00
        writeCandleFileAtomic(candlePath(dir, 'linear', 'BTCUSDT', '15'), part);
        // a 1-minute file too, which must not be preferred (15 divides 60 and is coarser)
        writeCandleFileAtomic(candlePath(dir, 'linear', 'BTCUSDT', '1'), seriesFromCandles([{ openTime: part.openTime[0]!, open: 1, high: 1, low: 1, close: 1, volume: 1, turnover: NaN }]));
        const r = await resampleFromStore(dir, 'linear', 'BTCUSDT', '60');
        expect(r).to.not.equal(undefined);
        expect(r!.file).to.equal(candlePath(dir, 'linear', 'BTCUSDT', '60'));
        expect(r!.sourceInterval).to.equal('15');
        expect(r!.rows).to.equal(25);
        expect(r!.dropped).to.equal(0);
        const back = (await readCandleFile(r!.file, { cache: false })).series;
        expect(back.length).to.equal(25);
        expect(back.openTime[1]).to.equal(part.openTime[4]);
        expect(back.open[1]).to.equal(part.open[4]);
        expect(back.high[1]).to.equal(Math.max(part.high[4]!, part.high[5]!, part.high[6]!, part.high[7]!));
        expect(back.low[1]).to.equal(Math.min(part.low[4]!, part.low[5]!, part.low[6]!, part.low[7]!));
        expect(back.close[1]).to.equal(part.close[7]);
        expect(await resampleFromStore(dir, 'linear', 'BTCUSDT', '60')).to.equal(undefined);
        expect(await resampleFromStore(dir, 'linear', 'ETHUSDT', '60')).to.equal(undefined);
        const left = fs.readdirSync(path.dirname(r!.file)).filter((f) => f.endsWith('.tmp'));
        expect(left).to.deep.equal([]);
        // a source file whose candles do not match its name is refused, and nothing is written
        writeCandleFileAtomic(candlePath(dir, 'linear', 'XRPUSDT', '1'), part);
        let err: unknown;
        try {
          await resampleFromStore(dir, 'linear', 'XRPUSDT', '60');
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(DataError);
        expect((err as Error).message).to.equal(`${candlePath(dir, 'linear', 'XRPUSDT', '1')}: holds candles 15 minutes apart, not 1 as its name says; cannot build 60 candles from it`);
        expect(fs.existsSync(candlePath(dir, 'linear', 'XRPUSDT', '60'))).to.equal(false);
      } finally {
        cleanup();
      }
    });
  });
});
