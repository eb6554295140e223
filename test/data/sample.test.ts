/**
 * The committed sample (data/sample/README.md): the checks its README lists, repeated here test-side with
 * plain string splitting (independent of lib/data), and, when the developers' data set is present, the
 * proof that it is a byte-for-byte cut of ../shared/data.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATA_15M, FUNDING, REPO, SAMPLE_15M, SAMPLE_FUNDING, requireShared } from '../helpers.ts';

const M15 = 15 * 60_000;
const H8 = 8 * 3_600_000;
const FROM = Date.UTC(2024, 6, 1); // 2024-07-01 00:00 UTC, inclusive
const TO = Date.UTC(2024, 8, 1); // 2024-09-01 00:00 UTC, exclusive
const CANDLE_HEADER = 'timestamp,open,high,low,close,volume,turnover';
const FUNDING_HEADER = 'timestamp,fundingRate';

/** The file's lines without the trailing newline (which must be there, once). */
function lines(file: string): string[] {
  const text = readFileSync(file, 'latin1');
  expect(text.endsWith('\n'), `${file} ends with a newline`).to.equal(true);
  expect(text.endsWith('\n\n'), `${file} has no blank line at the end`).to.equal(false);
  expect(text.includes('\r'), `${file} has no CR`).to.equal(false);
  return text.slice(0, -1).split('\n');
}

const time = (line: string): number => Number(line.slice(0, line.indexOf(',')));

/** The data lines of `file` whose timestamp is in [from, to), exactly as written there. */
function linesIn(file: string, from: number, to: number): string[] {
  return lines(file)
    .slice(1)
    .filter((l) => {
      const t = time(l);
      return t >= from && t < to;
    });
}

describe('data/sample: the committed two months of real Bybit data', () => {
  describe('BTCUSDT-15m.csv', () => {
    let all: string[];
    let rows: string[][];
    before(() => {
      all = lines(SAMPLE_15M);
      rows = all.slice(1).map((l) => l.split(','));
    });

    it('has the header and 5,952 candles (62 days × 96) from 2024-07-01 00:00 to 2024-08-31 23:45 UTC', () => {
      expect(all[0]).to.equal(CANDLE_HEADER);
      expect(rows).to.have.length(5952);
      expect(62 * 96).to.equal(5952);
      expect(rows[0]![0]).to.equal('1719792000000');
      expect(Number(rows[0]![0])).to.equal(FROM);
      expect(rows.at(-1)![0]).to.equal('1725147900000');
      expect(Number(rows.at(-1)![0])).to.equal(TO - M15);
    });

    it('every row has 7 cells: integer ms timestamps, decimal prices and volume, turnover empty', () => {
      const num = /^\d+(\.\d+)?$/;
      for (const [i, r] of rows.entries()) {
        expect(r, `row ${i + 2}`).to.have.length(7);
        expect(r[0], `row ${i + 2} timestamp`).to.match(/^\d{13}$/);
        for (const c of [1, 2, 3, 4, 5]) if (!num.test(r[c]!)) expect.fail(`row ${i + 2}: cell ${c} is ${JSON.stringify(r[c])}`);
        expect(r[6], `row ${i + 2} turnover`).to.equal('');
      }
    });

    it('is strictly ascending, on the 15-minute grid, with no missing candle', () => {
      for (let i = 0; i < rows.length; i++) {
        const t = Number(rows[i]![0]);
        if (t % M15 !== 0) expect.fail(`row ${i + 2}: ${t} is not a multiple of 15 minutes`);
        if (i > 0 && t - Number(rows[i - 1]![0]) !== M15) expect.fail(`row ${i + 2}: ${t} is not 15 minutes after ${rows[i - 1]![0]}`);
      }
    });

    it('OHLC is consistent (high >= max(open, close), low <= min(open, close)), prices > 0, no zero volume', () => {
      for (const [i, r] of rows.entries()) {
        const [o, h, l, c, v] = r.slice(1, 6).map(Number) as [number, number, number, number, number];
        const where = `row ${i + 2} (${r.join(',')})`;
        if (!(h >= Math.max(o, c))) expect.fail(`${where}: high below open or close`);
        if (!(l <= Math.min(o, c))) expect.fail(`${where}: low above open or close`);
        if (!(o > 0 && h > 0 && l > 0 && c > 0)) expect.fail(`${where}: a price is not positive`);
        if (!(v > 0)) expect.fail(`${where}: zero volume`);
      }
    });

    it('prices are on the 0.1 tick', () => {
      for (const [i, r] of rows.entries()) {
        for (const c of [1, 2, 3, 4]) if (!/^\d+(\.\d)?$/.test(r[c]!)) expect.fail(`row ${i + 2}: ${r[c]} is not on the 0.1 tick`);
      }
    });
  });

  describe('BTCUSDT-funding.csv', () => {
    let all: string[];
    let rows: string[][];
    before(() => {
      all = lines(SAMPLE_FUNDING);
      rows = all.slice(1).map((l) => l.split(','));
    });

    it('has the header and 186 settlements from 2024-07-01 00:00 to 2024-08-31 16:00 UTC', () => {
      expect(all[0]).to.equal(FUNDING_HEADER);
      expect(rows).to.have.length(186);
      expect(62 * 3).to.equal(186);
      expect(rows[0]![0]).to.equal('1719792000000');
      expect(rows.at(-1)![0]).to.equal('1725120000000');
      expect(Number(rows.at(-1)![0])).to.equal(TO - H8);
    });

    it('settlements are exactly 8 hours apart, at 00:00, 08:00 and 16:00 UTC', () => {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        expect(r, `row ${i + 2}`).to.have.length(2);
        const t = Number(r[0]);
        if (t % H8 !== 0) expect.fail(`row ${i + 2}: ${t} is not at 00:00, 08:00 or 16:00 UTC`);
        if (i > 0 && t - Number(rows[i - 1]![0]) !== H8) expect.fail(`row ${i + 2}: ${t} is not 8 hours after ${rows[i - 1]![0]}`);
      }
    });

    it('rates are plain decimals from -0.0001219 to 0.0001', () => {
      for (const [i, r] of rows.entries()) if (!/^-?\d+(\.\d+)?$/.test(r[1]!)) expect.fail(`row ${i + 2}: rate ${JSON.stringify(r[1])}`);
      const rates = rows.map((r) => Number(r[1]));
      expect(Math.min(...rates)).to.equal(-0.0001219);
      expect(Math.max(...rates)).to.equal(0.0001);
    });
  });

  it('both files have the sha256 the README gives', () => {
    const readme = readFileSync(path.join(REPO, 'data/sample/README.md'), 'utf8');
    for (const file of [SAMPLE_15M, SAMPLE_FUNDING]) {
      const name = path.basename(file);
      const m = new RegExp(`^([0-9a-f]{64})  ${name.replace('.', '\\.')}$`, 'm').exec(readme);
      expect(m, `the README has a sha256 line for ${name}`).to.not.equal(null);
      expect(createHash('sha256').update(readFileSync(file)).digest('hex'), name).to.equal(m![1]);
    }
  });

  describe('is a byte-for-byte cut of ../shared/data', function () {
    before(function () {
      requireShared(this, DATA_15M, FUNDING);
    });

    for (const [name, sample, shared, header] of [
      ['BTCUSDT-15m.csv', SAMPLE_15M, DATA_15M, CANDLE_HEADER],
      ['BTCUSDT-funding.csv', SAMPLE_FUNDING, FUNDING, FUNDING_HEADER],
    ] as const) {
      it(`${name}: every row equals the shared file's row for its timestamp`, () => {
        const theirs = new Map(lines(shared).slice(1).map((l) => [time(l), l]));
        const mine = lines(sample);
        expect(lines(shared)[0]).to.equal(header);
        expect(mine[0]).to.equal(lines(shared)[0]);
        for (const [i, l] of mine.slice(1).entries()) {
          const t = time(l);
          if (theirs.get(t) !== l) expect.fail(`${name} row ${i + 2} (${t}): sample ${JSON.stringify(l)}, shared ${JSON.stringify(theirs.get(t))}`);
        }
      });

      it(`${name}: holds exactly the shared rows of [2024-07-01 00:00, 2024-09-01 00:00) UTC, in order`, () => {
        const want = linesIn(shared, FROM, TO);
        expect(want.length, 'the shared file covers the range').to.be.greaterThan(0);
        expect(lines(sample).slice(1)).to.deep.equal(want);
        // the whole file, header included, is that cut
        expect(readFileSync(sample, 'latin1')).to.equal(`${header}\n${want.map((l) => `${l}\n`).join('')}`);
      });
    }
  });
});
