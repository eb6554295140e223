import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readCandleFile, candleCachePath, storeDirOf, userCacheDir } from '../../lib/data/csv.ts';
import { listCandleFiles } from '../../lib/data/store.ts';
import { DataError } from '../../lib/core/errors.ts';
import type { CandleSeries } from '../../lib/core/candle.ts';
import { DATA_15M, DATA_1M_GZ, DATA_5M, SAMPLE_15M, requireShared } from '../helpers.ts';

/** Columns in file order, for comparisons. */
function columns(s: CandleSeries): Float64Array[] {
  return [s.openTime, s.open, s.high, s.low, s.close, s.volume, s.turnover];
}

/** The reference: every value of every row as `Number(text)` (NaN for an empty turnover), by a naive split. */
function referenceValues(text: string): number[][] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(1).map((l) => l.split(',').map((x, k) => (k === 6 && x === '' ? NaN : Number(x))));
}

function expectSameAsReference(s: CandleSeries, ref: number[][]): void {
  expect(s.length).to.equal(ref.length);
  const cols = columns(s);
  let mismatches = 0;
  let first = '';
  for (let i = 0; i < ref.length; i++) {
    const row = ref[i]!;
    for (let k = 0; k < 7; k++) {
      const want = k < row.length ? row[k]! : NaN;
      if (!Object.is(cols[k]![i], want)) {
        if (mismatches++ === 0) first = `row ${i} column ${k}: got ${cols[k]![i]}, want ${want}`;
      }
    }
  }
  expect(mismatches, first).to.equal(0);
}

let tmp: string;
const write = (name: string, text: string | Buffer): string => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
};

async function expectDataError(file: string, line: number | undefined, field: string | undefined, cache = false): Promise<DataError> {
  let caught: unknown;
  try {
    await readCandleFile(file, { cache });
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a DataError').to.be.instanceOf(DataError);
  const e = caught as DataError;
  expect(e.file).to.equal(file);
  expect(e.line).to.equal(line);
  expect(e.field).to.equal(field);
  expect(e.message).to.contain(file);
  if (line !== undefined) expect(e.message).to.contain(`line ${line}`);
  if (field !== undefined) expect(e.message).to.contain(`field "${field}"`);
  return e;
}

const HEADER = 'timestamp,open,high,low,close,volume,turnover';
const GOOD_ROWS = [
  '1700000000000,100,110,90,105,5,',
  '1700000060000,105,106,104,105.5,1,500.25',
  '1700000120000,105.5,107,105,106,2,',
  '1700000180000,106,106.5,105.9,106.2,0.001,',
];
const good = (rows = GOOD_ROWS, eol = '\n') => [HEADER, ...rows].join(eol) + eol;
/** GOOD_ROWS with row `i` (0-based; file line i + 2) replaced. */
const withRow = (i: number, row: string) => GOOD_ROWS.map((r, j) => (j === i ? row : r));

/** Every file and folder under `dir`, relative, sorted. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('data/csv: readCandleFile', function () {
  let savedXdg: string | undefined;
  /** XDG_CACHE_HOME for these tests: pyr's user cache is `<xdg>/pyr`. */
  let xdg: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyr-csv-test-'));
    savedXdg = process.env.XDG_CACHE_HOME;
    xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'pyr-csv-xdg-'));
    process.env.XDG_CACHE_HOME = xdg;
  });
  after(() => {
    if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedXdg;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(xdg, { recursive: true, force: true });
  });

  // The developers' long files (../shared/data, not in the repository): each test is gated on its file.
  describe('shared real files', () => {
    it('loads BTCUSDT-15m.csv: 61,440 rows, documented first/last open, 15 m step, no gaps', async function () {
      requireShared(this, DATA_15M);
      const { series, report } = await readCandleFile(DATA_15M, { cache: false });
      expect(series.length).to.equal(61_440);
      expect(report.rows).to.equal(61_440);
      expect(report.firstTime).to.equal(1701388800000);
      expect(report.lastTime).to.equal(1756683900000);
      expect(series.openTime[0]).to.equal(1701388800000);
      expect(series.openTime[61_439]).to.equal(1756683900000);
      expect(report.intervalMs).to.equal(15 * 60_000);
      expect(report.gaps).to.deep.equal({ count: 0, largestMs: 0 });
      expect(report.fromCache).to.equal(false);
      expect(series.source).to.equal(DATA_15M);
      // turnover is empty in every row of the shared files
      expect(series.turnover.every(Number.isNaN)).to.equal(true);
    });

    it('loads BTCUSDT-5m.csv: 17,336 rows, documented first/last open, no gaps', async function () {
      requireShared(this, DATA_5M);
      const { report } = await readCandleFile(DATA_5M, { cache: false });
      expect(report.rows).to.equal(17_336);
      expect(report.firstTime).to.equal(1750550400000);
      expect(report.lastTime).to.equal(1755750900000);
      expect(report.intervalMs).to.equal(5 * 60_000);
      expect(report.gaps.count).to.equal(0);
    });

    it('loads the gzip file BTCUSDT-1m.csv.gz: 921,600 rows, documented range, no gaps', async function () {
      requireShared(this, DATA_1M_GZ);
      const { report, series } = await readCandleFile(DATA_1M_GZ, { cache: false });
      expect(report.rows).to.equal(921_600);
      expect(report.firstTime).to.equal(1701388800000);
      expect(report.lastTime).to.equal(1756684740000);
      expect(report.intervalMs).to.equal(60_000);
      expect(report.gaps.count).to.equal(0);
      // spot checks from the data README: the 2024-01-01 00:00 and 2025-01-01 00:00 opens
      const at = (t: number) => series.openTime.indexOf(t);
      expect(series.open[at(Date.UTC(2024, 0, 1))]).to.equal(42283.58);
      expect(series.open[at(Date.UTC(2025, 0, 1))]).to.equal(93576);
    });

    for (const file of [DATA_15M, DATA_5M, DATA_1M_GZ]) {
      it(`every value of ${path.basename(file)} equals Number(text) exactly`, async function () {
        requireShared(this, file);
        let buf = fs.readFileSync(file);
        if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
        const { series } = await readCandleFile(file, { cache: false });
        expectSameAsReference(series, referenceValues(buf.toString('latin1')));
      });
    }

    // Progress is reported every 16,384 rows: the sample (5,952 rows) is too short for it.
    it('reports progress a few times, ascending, ending at 1', async function () {
      requireShared(this, DATA_15M);
      const seen: number[] = [];
      await readCandleFile(DATA_15M, { cache: false, onProgress: (f) => seen.push(f) });
      expect(seen.length).to.be.within(2, 20);
      expect(seen.at(-1)).to.equal(1);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).to.be.greaterThan(seen[i - 1]!);
      for (const f of seen) expect(f).to.be.within(0, 1);
    });
  });

  describe('the committed sample (data/sample)', () => {
    it('every value of data/sample/BTCUSDT-15m.csv equals Number(text) exactly: 5,952 rows (62 days of 15 m), no gaps', async () => {
      const { series, report } = await readCandleFile(SAMPLE_15M, { cache: false });
      const ref = referenceValues(fs.readFileSync(SAMPLE_15M, 'latin1'));
      expect(ref.length).to.equal(62 * 96);
      expectSameAsReference(series, ref);
      expect(report.firstTime).to.equal(Date.UTC(2024, 6, 1));
      expect(report.lastTime).to.equal(Date.UTC(2024, 7, 31, 23, 45));
      expect(report.intervalMs).to.equal(15 * 60_000);
      expect(report.gaps).to.deep.equal({ count: 0, largestMs: 0 });
      expect(series.turnover.every(Number.isNaN)).to.equal(true);
    });
  });

  describe('number parsing', () => {
    it('matches Number(text) on unusual but valid numbers (exponents, 16+ digits, signs, bare dots)', async () => {
      const values = [
        '1', '0.1', '0.3', '5.', '.5', '+5', '1e2', '1.5E-3', '2.5e+1', '123456789012345', '1234567890.12345',
        '1234567890.123456', '12345678901234567890', '0.000000000000000000001', '0.00000000000000000000000123',
        '9007199254740993', '0.1000000000000000055511151231257827', '00042.4200', '99999.99999999999', '1.7976931348623157e308',
      ];
      const rows = values.map((v, i) => `${1_700_000_000_000 + i * 60_000},${v},${v},${v},${v},${v},${v}`);
      const text = [HEADER, ...rows].join('\n') + '\n';
      const f = write('numbers.csv', text);
      const { series } = await readCandleFile(f, { cache: false });
      const cols = columns(series);
      values.forEach((v, i) => {
        for (let k = 1; k < 7; k++) expect(Object.is(cols[k]![i], Number(v)), `${v} in column ${k}`).to.equal(true);
      });
    });

    it('accepts \\r\\n line endings, a header without turnover, a BOM and blank lines', async () => {
      const crlf = await readCandleFile(write('crlf.csv', good(GOOD_ROWS, '\r\n')), { cache: false });
      const lf = await readCandleFile(write('lf.csv', good()), { cache: false });
      expectSameAsReference(crlf.series, referenceValues(good()));
      expectSameAsReference(lf.series, referenceValues(good()));

      const six = ['timestamp,open,high,low,close,volume', '1700000000000,100,110,90,105,5', '1700000060000,105,106,104,105.5,1'].join('\n');
      const r6 = await readCandleFile(write('six.csv', six), { cache: false });
      expect(r6.series.length).to.equal(2);
      expect(r6.series.close[1]).to.equal(105.5);
      expect(Number.isNaN(r6.series.turnover[0])).to.equal(true);

      const bom = await readCandleFile(write('bom.csv', '\ufeff' + good() + '\n\n'), { cache: false });
      expectSameAsReference(bom.series, referenceValues(good()));
    });
  });

  describe('validation errors name file, line and field', () => {
    const cases: { name: string; text: string; line: number | undefined; field: string | undefined; msg: RegExp }[] = [
      { name: 'bad header', text: good().replace('volume', 'vol'), line: 1, field: 'volume', msg: /missing/ },
      { name: 'non-numeric open', text: good(withRow(1, '1700000060000,abc,106,104,105.5,1,')), line: 3, field: 'open', msg: /not a number/ },
      { name: 'descending timestamp', text: good(withRow(2, '1700000030000,105.5,107,105,106,2,')), line: 4, field: 'timestamp', msg: /ascending/ },
      { name: 'duplicate timestamp', text: good(withRow(2, '1700000060000,105.5,107,105,106,2,')), line: 4, field: 'timestamp', msg: /duplicate/ },
      { name: 'high < close', text: good(withRow(1, '1700000060000,105,105.2,104,105.5,1,')), line: 3, field: 'high', msg: /below close/ },
      { name: 'high < open', text: good(withRow(1, '1700000060000,105,104.9,104,104.5,1,')), line: 3, field: 'high', msg: /below open/ },
      { name: 'low > open', text: good(withRow(0, '1700000000000,100,110,101,105,5,')), line: 2, field: 'low', msg: /above open/ },
      { name: 'low > close', text: good(withRow(0, '1700000000000,100,110,90,89,5,')), line: 2, field: 'low', msg: /above close/ },
      { name: 'NaN close', text: good(withRow(2, '1700000120000,105.5,107,105,NaN,2,')), line: 4, field: 'close', msg: /finite/ },
      { name: 'Infinity high', text: good(withRow(2, '1700000120000,105.5,Infinity,105,106,2,')), line: 4, field: 'high', msg: /finite/ },
      { name: 'overflowing exponent', text: good(withRow(2, '1700000120000,105.5,1e999,105,106,2,')), line: 4, field: 'high', msg: /finite/ },
      { name: 'missing column', text: good(withRow(1, '1700000060000,105,106,104,105.5')), line: 3, field: 'volume', msg: /expected 7 columns, found 5/ },
      { name: 'extra column', text: good(withRow(1, '1700000060000,105,106,104,105.5,1,,9')), line: 3, field: undefined, msg: /expected 7 columns, found 8/ },
      { name: 'empty value', text: good(withRow(3, '1700000180000,106,,105.9,106.2,0.001,')), line: 5, field: 'high', msg: /empty/ },
      { name: 'negative volume', text: good(withRow(3, '1700000180000,106,106.5,105.9,106.2,-0.001,')), line: 5, field: 'volume', msg: />= 0/ },
      { name: 'negative turnover', text: good(withRow(1, '1700000060000,105,106,104,105.5,1,-3')), line: 3, field: 'turnover', msg: />= 0/ },
      { name: 'zero price', text: good(withRow(0, '1700000000000,0,110,0,105,5,')), line: 2, field: 'open', msg: /> 0/ },
      { name: 'fractional timestamp', text: good(withRow(0, '1700000000000.5,100,110,90,105,5,')), line: 2, field: 'timestamp', msg: /integer/ },
      {
        name: 'wrong header of the right width (7 names, 6-field rows)',
        text: ['time,open,high,low,close,volume,turnover', '1700000000000,100,110,90,105,5', '1700000060000,105,106,104,105.5,1'].join('\n') + '\n',
        line: 1,
        field: 'timestamp',
        msg: /unexpected header "time,open,high,low,close,volume,turnover": unexpected column "time", missing "timestamp"; expected "timestamp,open,high,low,close,volume,turnover"/,
      },
      {
        name: 'wrong header names over pyr rows',
        text: ['Date,Open,High,Low,Close,Vol', ...GOOD_ROWS].join('\n') + '\n',
        line: 1,
        field: 'timestamp',
        msg: /unexpected columns "Date", "Vol", missing "timestamp", "volume"; expected "timestamp,open,high,low,close,volume,turnover"/,
      },
      { name: 'semicolon-separated', text: good().replace(/,/g, ';'), line: 1, field: 'timestamp', msg: /unexpected column "timestamp;open;.*separated by ";" instead of ","/ },
      { name: 'no header line', text: GOOD_ROWS.join('\n') + '\n', line: 1, field: 'timestamp', msg: /looks like data: the file needs a header line/ },
      { name: 'header with a trailing comma', text: [HEADER + ',', ...GOOD_ROWS].join('\n') + '\n', line: 2, field: undefined, msg: /expected 8 columns \(as in the header\), found 7/ },
      { name: 'header only', text: HEADER + '\n', line: 2, field: undefined, msg: /no candles/ },
      { name: 'empty file', text: '', line: 1, field: undefined, msg: /empty file/ },
    ];
    for (const c of cases) {
      it(`${c.name} (\\n and \\r\\n)`, async () => {
        const e1 = await expectDataError(write(`bad-${c.name.replace(/\W+/g, '_')}.csv`, c.text), c.line, c.field);
        expect(e1.message).to.match(c.msg);
        const e2 = await expectDataError(write(`bad-crlf-${c.name.replace(/\W+/g, '_')}.csv`, c.text.replace(/\n/g, '\r\n')), c.line, c.field);
        expect(e2.message).to.match(c.msg);
      });
    }

    it('a truncated gzip file is a DataError naming it', async () => {
      const gz = zlib.gzipSync(good());
      const e = await expectDataError(write('trunc.csv.gz', gz.subarray(0, gz.length - 12)), undefined, undefined);
      expect(e.message).to.match(/gzip/);
    });

    it('a missing file is a DataError naming it', async () => {
      await expectDataError(path.join(tmp, 'nope.csv'), undefined, undefined);
    });

    it('errors from the csv-parse path (foreign layout) carry the same line and field', async () => {
      const foreign = (rows: string[]) => ['"close","open","timestamp","high","low","volume"', ...rows].join('\n') + '\n';
      const e = await expectDataError(write('foreign-bad.csv', foreign(['"105","100","1700000000000","110","90","5"', '"105.5","105","1700000060000","106","104","x"'])), 3, 'volume');
      expect(e.message).to.match(/not a number/);
      await expectDataError(write('foreign-desc.csv', foreign(['"105","100","1700000060000","110","90","5"', '"105.5","105","1700000000000","106","104","1"'])), 3, 'timestamp');
      await expectDataError(write('foreign-cols.csv', foreign(['"105","100","1700000000000","110","90","5"', '"105.5","105","1700000060000","106","104"'])), 3, undefined);
      await expectDataError(write('foreign-hl.csv', foreign(['"105","100","1700000000000","104","90","5"'])), 2, 'high');
    });

    it('csv-parse path: a short or long row says how many columns it has; a quote left open is reported where it opened', async () => {
      const header = '"timestamp","open","high","low","close","volume"';
      const q = (r: string) => r.split(',').map((x) => `"${x}"`).join(',');
      const rows = GOOD_ROWS.map((r) => q(r.split(',').slice(0, 6).join(',')));
      const short = await expectDataError(write('csvp-short.csv', [header, rows[0], q('1700000060000,105,106'), rows[2]].join('\n')), 3, undefined);
      expect(short.message).to.match(/expected 6 columns \(as in the header\), found 3/);
      const long = await expectDataError(write('csvp-long.csv', [header, rows[0], rows[1], q('1700000120000,105.5,107,105,106,2,7')].join('\n')), 4, undefined);
      expect(long.message).to.match(/expected 6 columns \(as in the header\), found 7/);
      // line 3's last field opens a quote that the next line's first quote closes: csv-parse notices on line 4
      const open = await expectDataError(write('csvp-open.csv', [header, rows[0], rows[1]!.slice(0, -1), rows[2], rows[3]].join('\n')), 3, 'volume');
      expect(open.message).to.match(/malformed CSV: .*quote.*runs on to line 4/i);
      // a field's closing quote missing, then junk after the next quote on the same line
      const junk = await expectDataError(write('csvp-junk.csv', [header, rows[0], rows[1], rows[2]!.replace('"105.5"', '"105.5')].join('\n') + '\n'), 4, 'open');
      expect(junk.message).to.match(/malformed CSV: Invalid Closing Quote/);
      // a quote on line 3 that nothing closes: csv-parse notices at the end of the file
      const unquoted = GOOD_ROWS.slice(2).map((r) => r.split(',').slice(0, 6).join(','));
      const eof = await expectDataError(write('csvp-eof.csv', [header, rows[0], rows[1]!.slice(0, -1), ...unquoted].join('\n') + '\n'), 3, 'volume');
      expect(eof.message).to.match(/Quote Not Closed.*runs on to line [56]/);
    });
  });

  describe('gaps', () => {
    it('counts missing candles and reports the largest gap (never fatal)', async () => {
      const m = 60_000;
      const t0 = 1_700_000_000_000 - (1_700_000_000_000 % m);
      // present at 0,1,2 | missing 3,4,5 | present 6,7 | missing 8,9 | present 10,11
      const present = [0, 1, 2, 6, 7, 10, 11];
      const rows = present.map((k) => `${t0 + k * m},100,101,99,100.5,1,`);
      const { report } = await readCandleFile(write('gaps.csv', [HEADER, ...rows].join('\n')), { cache: false });
      expect(report.rows).to.equal(7);
      expect(report.intervalMs).to.equal(m);
      expect(report.gaps.count).to.equal(5);
      expect(report.gaps.largestMs).to.equal(3 * m);
      expect(report.gaps.largestAt).to.equal(t0 + 3 * m);
    });
  });

  describe('binary cache', () => {
    const noTempFiles = (dir: string) => {
      const all: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          if (e.isDirectory()) walk(path.join(d, e.name));
          else all.push(e.name);
        }
      };
      walk(dir);
      expect(all.filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
    };

    it('is written on the first read, used on the second (identical arrays), and lives in $XDG_CACHE_HOME/pyr, not beside the CSV', async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'cache-'));
      const f = path.join(dir, 'c.csv');
      fs.copyFileSync(SAMPLE_15M, f);
      const a = await readCandleFile(f);
      expect(a.report.fromCache).to.equal(false);
      expect(path.dirname(candleCachePath(f))).to.equal(path.join(xdg, 'pyr', 'candles'));
      expect(path.basename(candleCachePath(f))).to.match(/^[0-9a-f]{16}-c\.csv\.pyrcache$/);
      expect(fs.existsSync(candleCachePath(f))).to.equal(true);
      const b = await readCandleFile(f);
      expect(b.report.fromCache).to.equal(true);
      expect({ ...b.report, fromCache: false }).to.deep.equal(a.report);
      columns(b.series).forEach((col, k) => expect(Buffer.from(col.buffer, col.byteOffset, col.byteLength).equals(Buffer.from(columns(a.series)[k]!.buffer, columns(a.series)[k]!.byteOffset, columns(a.series)[k]!.byteLength)), `column ${k}`).to.equal(true));
      expect(b.series.length).to.equal(62 * 96);
      // and it is still the file's data, not the program's opinion of it
      expectSameAsReference(b.series, referenceValues(fs.readFileSync(SAMPLE_15M, 'latin1')));
      expect(listing(dir)).to.deep.equal(['c.csv']);
      noTempFiles(xdg);
    });

    it('reading a CSV outside the store leaves its folder as it was; two files of one name get two caches', async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'outside-'));
      fs.mkdirSync(path.join(dir, 'a'));
      fs.mkdirSync(path.join(dir, 'b'));
      const fa = path.join(dir, 'a', '15.csv');
      const fb = path.join(dir, 'b', '15.csv');
      fs.writeFileSync(fa, good());
      fs.writeFileSync(fb, good(withRow(0, '1700000000000,100,110,90,104,5,')));
      const before = listing(dir);
      for (let i = 0; i < 2; i++) {
        expect((await readCandleFile(fa)).series.close[0]).to.equal(105);
        expect((await readCandleFile(fb)).series.close[0]).to.equal(104);
      }
      expect((await readCandleFile(fa)).report.fromCache).to.equal(true);
      expect(listing(dir)).to.deep.equal(before);
      expect(candleCachePath(fa)).to.not.equal(candleCachePath(fb));
      expect([fs.existsSync(candleCachePath(fa)), fs.existsSync(candleCachePath(fb))]).to.deep.equal([true, true]);
    });

    it('reading the shared data leaves ../shared/data as it was', async function () {
      requireShared(this, DATA_5M);
      const dir = path.dirname(DATA_5M);
      const before = listing(dir);
      await readCandleFile(DATA_5M);
      const again = await readCandleFile(DATA_5M);
      expect(again.report.fromCache).to.equal(true);
      expect(listing(dir)).to.deep.equal(before);
      expect(candleCachePath(DATA_5M).startsWith(path.join(xdg, 'pyr') + path.sep)).to.equal(true);
    });

    it('XDG_CACHE_HOME is read at each call; unset or relative, the cache goes to ~/.cache/pyr', async () => {
      const f = write('xdg.csv', good());
      const other = fs.mkdtempSync(path.join(tmp, 'xdg2-'));
      const home = fs.mkdtempSync(path.join(tmp, 'home-'));
      const savedHome = process.env.HOME;
      try {
        process.env.XDG_CACHE_HOME = other;
        expect(userCacheDir()).to.equal(path.join(other, 'pyr'));
        expect((await readCandleFile(f)).report.fromCache).to.equal(false);
        expect((await readCandleFile(f)).report.fromCache).to.equal(true);
        expect(fs.existsSync(candleCachePath(f)) && candleCachePath(f).startsWith(other + path.sep)).to.equal(true);

        process.env.HOME = home;
        delete process.env.XDG_CACHE_HOME;
        expect(userCacheDir()).to.equal(path.join(home, '.cache', 'pyr'));
        process.env.XDG_CACHE_HOME = 'relative/dir';
        expect(userCacheDir()).to.equal(path.join(home, '.cache', 'pyr'));
        expect((await readCandleFile(f)).report.fromCache, 'a new cache folder: a cold read').to.equal(false);
        expect(fs.existsSync(path.join(home, '.cache', 'pyr', 'candles', path.basename(candleCachePath(f))))).to.equal(true);
        expect((fs.statSync(path.join(home, '.cache', 'pyr')).mode & 0o777).toString(8), 'created private, as XDG asks').to.equal('700');
      } finally {
        process.env.XDG_CACHE_HOME = xdg;
        if (savedHome === undefined) delete process.env.HOME;
        else process.env.HOME = savedHome;
      }
    });

    it('a file of pyr’s store is cached in <dataDir>/.pyr-cache/, leaving the symbol folder and the store listing as they were', async () => {
      const store = fs.mkdtempSync(path.join(tmp, 'store-'));
      const f = path.join(store, 'bybit', 'linear', 'BTCUSDT', '15.csv');
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, good());
      const userCache = fs.readdirSync(xdg, { recursive: true }).length;
      expect(storeDirOf(f)).to.equal(store);
      expect(candleCachePath(f)).to.equal(path.join(store, '.pyr-cache', 'bybit', 'linear', 'BTCUSDT', '15.csv.pyrcache'));
      expect((await readCandleFile(f)).report.fromCache).to.equal(false);
      expect((await readCandleFile(f)).report.fromCache).to.equal(true);
      expect(fs.existsSync(candleCachePath(f))).to.equal(true);
      expect(fs.readdirSync(path.dirname(f))).to.deep.equal(['15.csv']);
      expect(listCandleFiles(store).map((e) => e.file)).to.deep.equal([f]);
      expect(fs.readdirSync(xdg, { recursive: true }).length, 'nothing new in the user cache').to.equal(userCache);
      // invalidation works there too
      fs.writeFileSync(f, good(withRow(0, '1700000000000,100,110,90,104,5,')));
      fs.utimesSync(f, new Date(), new Date(Date.now() + 5_000));
      const changed = await readCandleFile(f);
      expect([changed.report.fromCache, changed.series.close[0]]).to.deep.equal([false, 104]);
      noTempFiles(store);
    });

    it('the store rule: <dataDir>/bybit/<category>/<SYMBOL>/<interval>.csv[.gz], nothing else', () => {
      expect(storeDirOf('/d/bybit/linear/BTCUSDT/15.csv')).to.equal('/d');
      expect(storeDirOf('/d/bybit/spot/ETHUSDT/D.csv.gz')).to.equal('/d');
      expect(storeDirOf('data/bybit/linear/BTCUSDT/1.csv')).to.equal(path.resolve('data'));
      for (const f of ['/d/bybit/linear/BTCUSDT/funding.csv', '/d/bybit/linear/BTCUSDT/7.csv', '/d/binance/linear/BTCUSDT/15.csv', '/d/bybit/BTCUSDT/15.csv', '/d/bybit/linear/.x/15.csv', '/d/BTCUSDT-15m.csv']) {
        expect(storeDirOf(f), f).to.equal(undefined);
      }
    });

    it('is invalidated when the CSV changes, even with the same size and the old mtime restored', async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'inval-'));
      const f = path.join(dir, 'c.csv');
      fs.writeFileSync(f, good());
      const first = await readCandleFile(f);
      expect(first.series.close[0]).to.equal(105);
      expect((await readCandleFile(f)).report.fromCache).to.equal(true);

      // same size, different content, new mtime
      const changed = good(withRow(0, '1700000000000,100,110,90,104,5,'));
      expect(changed.length).to.equal(good().length);
      fs.writeFileSync(f, changed);
      fs.utimesSync(f, new Date(), new Date(Date.now() + 5_000));
      const second = await readCandleFile(f);
      expect(second.report.fromCache).to.equal(false);
      expect(second.series.close[0]).to.equal(104);
      expect((await readCandleFile(f)).report.fromCache).to.equal(true);

      // same size, different content, old mtime put back: ctime still gives it away
      const st = fs.statSync(f);
      await new Promise((r) => setTimeout(r, 20));
      fs.writeFileSync(f, good(withRow(0, '1700000000000,100,110,90,103,5,')));
      fs.utimesSync(f, st.atime, st.mtime);
      expect(fs.statSync(f).mtimeMs).to.equal(st.mtimeMs);
      const third = await readCandleFile(f);
      expect(third.report.fromCache).to.equal(false);
      expect(third.series.close[0]).to.equal(103);
      noTempFiles(dir);
    });

    it('ignores a corrupt or truncated cache file and rewrites it', async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'corrupt-'));
      const f = path.join(dir, 'c.csv');
      fs.writeFileSync(f, good());
      await readCandleFile(f);
      const cp = candleCachePath(f);
      const bytes = fs.readFileSync(cp);
      fs.writeFileSync(cp, bytes.subarray(0, bytes.length - 8));
      const r = await readCandleFile(f);
      expect(r.report.fromCache).to.equal(false);
      expectSameAsReference(r.series, referenceValues(good()));
      expect(fs.statSync(cp).size).to.equal(bytes.length);
      fs.writeFileSync(cp, 'garbage');
      expect((await readCandleFile(f)).report.fromCache).to.equal(false);
      expect((await readCandleFile(f)).report.fromCache).to.equal(true);
      noTempFiles(dir);
    });

    it('cache: false neither reads nor writes a cache', async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'nocache-'));
      const f = path.join(dir, 'c.csv');
      fs.writeFileSync(f, good());
      await readCandleFile(f, { cache: false });
      expect(fs.existsSync(path.join(dir, '.pyr-cache'))).to.equal(false);
      expect(fs.existsSync(candleCachePath(f))).to.equal(false);
      await readCandleFile(f);
      expect((await readCandleFile(f, { cache: false })).report.fromCache).to.equal(false);
    });

    it('caches gzip files too', async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'gz-'));
      const f = path.join(dir, 'c.csv.gz');
      fs.writeFileSync(f, zlib.gzipSync(good()));
      const a = await readCandleFile(f);
      const b = await readCandleFile(f);
      expect([a.report.fromCache, b.report.fromCache]).to.deep.equal([false, true]);
      expectSameAsReference(b.series, referenceValues(good()));
    });

    it('a read-only store is left alone: its files are cached in the user cache', async function () {
      const store = fs.mkdtempSync(path.join(tmp, 'ro-store-'));
      const f = path.join(store, 'bybit', 'linear', 'BTCUSDT', '15.csv');
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, good());
      fs.chmodSync(store, 0o555);
      try {
        expect(candleCachePath(f).startsWith(path.join(xdg, 'pyr') + path.sep)).to.equal(true);
        const a = await readCandleFile(f);
        const b = await readCandleFile(f);
        expect([a.report.fromCache, b.report.fromCache]).to.deep.equal([false, true]);
        expect(listing(store)).to.deep.equal(['bybit', 'bybit/linear', 'bybit/linear/BTCUSDT', 'bybit/linear/BTCUSDT/15.csv'].map((p) => p.split('/').join(path.sep)));
        expect(fs.existsSync(candleCachePath(f))).to.equal(true);
      } finally {
        fs.chmodSync(store, 0o755);
      }
    });
  });

  describe('foreign layouts go through csv-parse', () => {
    it('reordered, quoted columns with an extra column give the same numbers as pyr layout', async () => {
      const ref = await readCandleFile(write('ref.csv', good()), { cache: false });
      const ordered = ['volume', 'close', 'extra', 'timestamp', 'low', 'open', 'high', 'turnover'];
      const lines = [ordered.map((c) => `"${c.toUpperCase()}"`).join(',')];
      for (const r of GOOD_ROWS) {
        const [timestamp, open, high, low, close, volume, turnover] = r.split(',');
        const byName: Record<string, string> = { timestamp: timestamp!, open: open!, high: high!, low: low!, close: close!, volume: volume!, turnover: turnover!, extra: 'x,y' };
        lines.push(ordered.map((c) => `"${byName[c]}"`).join(','));
      }
      const foreign = await readCandleFile(write('foreign.csv', lines.join('\r\n')), { cache: false });
      expectSameAsReference(foreign.series, referenceValues(good()));
      expect(foreign.report).to.deep.equal({ ...ref.report, file: path.join(tmp, 'foreign.csv') });
    });

    it('quoted values under pyr’s exact header fall back to csv-parse', async () => {
      const text = [HEADER, ...GOOD_ROWS.map((r) => r.split(',').map((x) => `"${x}"`).join(','))].join('\n');
      const r = await readCandleFile(write('quoted.csv', text), { cache: false });
      expectSameAsReference(r.series, referenceValues(good()));
    });
  });
});
