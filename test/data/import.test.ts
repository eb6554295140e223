import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ConfigError, DataError } from '../../lib/core/errors.ts';
import { importCandleFile, parseTimestamp, readZipEntries, ImportDataError } from '../../lib/data/import.ts';
import { binanceNameInfo, importCandles } from '../../lib/cli/import.ts';
import { DATA_1M_GZ, DATA_5M, captureIo, parseCsv, requireShared, runCli, tempDir } from '../helpers.ts';

// ---------------------------------------------------------------------------------------------------
// helpers (test-side, independent of lib/data)

const makeIo = (cwd: string) => captureIo(cwd);
const runImport = (argv: string[], cwd: string) => runCli(['import', ...argv], cwd);

interface ZipFile {
  name: string;
  data: Buffer | string;
  method?: number; // 0 stored, 8 deflate (default); anything else is written as is (bytes stored)
  flags?: number;
  crc?: number;
}

/** A ZIP archive written byte by byte: local headers, data, central directory, end record. */
function zipBytes(files: ZipFile[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const data = Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data);
    const method = f.method ?? 8;
    const comp = method === 8 ? zlib.deflateRawSync(data) : data;
    const name = Buffer.from(f.name);
    const crc = f.crc ?? zlib.crc32(data);
    const flags = f.flags ?? 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(0, 10);
    lh.writeUInt16LE(0x5821, 12); // 2024-01-01
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(flags, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt16LE(0, 12);
    ch.writeUInt16LE(0x5821, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(comp.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, comp);
    centrals.push(ch, name);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const HEADER = 'timestamp,open,high,low,close,volume,turnover';
const BINANCE_HEADER = 'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore';
const MIN = 60_000;

/** Real Binance spot 1-minute rows (the shared file is Binance's kline archive), as text fields. */
let real: { t: number; o: string; h: string; l: string; c: string; v: string }[] = [];

/** Loads `real` from ../shared/data/BTCUSDT-1m.csv.gz (once); skips (or, under CI, fails) `ctx` without it. */
function useReal(ctx: Mocha.Context): void {
  requireShared(ctx, DATA_1M_GZ);
  if (real.length > 0) return;
  const text = zlib.gunzipSync(fs.readFileSync(DATA_1M_GZ)).toString('latin1');
  const parse = (line: string) => {
    const f = line.split(',');
    return { t: Number(f[0]), o: f[1]!, h: f[2]!, l: f[3]!, c: f[4]!, v: f[5]! };
  };
  const lines = text.split('\n');
  const rows = lines.slice(1, 181).map(parse); // 2023-12-01 00:00 .. 02:59
  const at = lines.findIndex((l) => l.startsWith(`${Y2025},`));
  rows.push(...lines.slice(at, at + 60).map(parse)); // 2025-01-01 00:00 .. 00:59
  expect(rows[0]!.t).to.equal(T1M);
  expect(rows[180]!.t).to.equal(Y2025);
  real = rows;
}

/** Binance kline line for a real row: prices with 8 decimals like Binance writes them; quote volume hand-made. */
function binanceLine(r: (typeof real)[number], unit: 'ms' | 'us' = 'ms', intervalMin = 1): string {
  const k = unit === 'us' ? 1000 : 1;
  const p8 = (s: string) => Number(s).toFixed(8);
  const qv = (Number(r.v) * Number(r.c)).toFixed(4);
  return [r.t * k, p8(r.o), p8(r.h), p8(r.l), p8(r.c), p8(r.v), (r.t + intervalMin * MIN) * k - 1, qv, 100, '1.00000000', '2.00000000', 0].join(',');
}

/** The rows pyr's file should hold for `rows` (values as the shared file writes them). */
function expectedRows(rows: typeof real, withTurnover = true): Record<string, string>[] {
  return rows.map((r) => ({
    timestamp: String(r.t),
    open: r.o,
    high: r.h,
    low: r.l,
    close: r.c,
    volume: r.v,
    turnover: withTurnover ? String(Number((Number(r.v) * Number(r.c)).toFixed(4))) : '',
  }));
}

const Y2025 = Date.UTC(2025, 0, 1);
/** 2023-12-01 00:00 UTC: the first row of the shared 1-minute file, and the start of the hand-made rows below. */
const T1M = Date.UTC(2023, 11, 1);

describe('pyr import', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('pyr-import-')));
  afterEach(() => cleanup());

  const storeFile = (interval = '1', symbol = 'BTCUSDT') => path.join(dir, 'data', 'bybit', 'linear', symbol, `${interval}.csv`);
  const leftovers = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => n.endsWith('.tmp')) : []);

  describe('Binance kline files', () => {
    before(function () {
      useReal(this);
    });
    it('a headerless CSV (ms) into the store: values, quote_volume → turnover, summary', async () => {
      const rows = real.slice(0, 120);
      fs.writeFileSync(path.join(dir, 'k.csv'), rows.map((r) => binanceLine(r)).join('\n') + '\n');
      const r = await runImport(['k.csv', '--symbol', 'btcusdt', '--interval', '1'], dir);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal(
        `Imported 120 1m candles (binance, ms times) from k.csv into ${path.join('data', 'bybit', 'linear', 'BTCUSDT', '1.csv')}: 120 rows, 2023-12-01 00:00 → 2023-12-01 01:59 UTC, no gaps\n`,
      );
      const text = fs.readFileSync(storeFile(), 'utf8');
      expect(text.split('\n')[0]).to.equal(HEADER);
      expect(parseCsv(text)).to.deep.equal(expectedRows(rows));
      expect(leftovers(path.dirname(storeFile()))).to.deep.equal([]);
    });

    it('a monthly ZIP (deflated, named like data.binance.vision): symbol and interval from the name', async () => {
      const rows = real.slice(0, 180);
      const zip = zipBytes([{ name: 'BTCUSDT-1m-2023-12.csv', data: rows.map((r) => binanceLine(r)).join('\n') + '\n' }]);
      fs.writeFileSync(path.join(dir, 'BTCUSDT-1m-2023-12.zip'), zip);
      const io = makeIo(dir);
      const res = await importCandles('BTCUSDT-1m-2023-12.zip', {}, io);
      expect(res).to.include({ format: 'binance', imported: 180, rows: 180, added: 180, merged: false });
      expect(res.entries).to.deep.equal(['BTCUSDT-1m-2023-12.csv']);
      expect(parseCsv(fs.readFileSync(storeFile(), 'utf8'))).to.deep.equal(expectedRows(rows));
    });

    it('2025 spot files in microseconds, with the newer header row, inside a stored (uncompressed) ZIP entry', async () => {
      const rows = real.slice(180, 240);
      const csv = `${BINANCE_HEADER}\n${rows.map((r) => binanceLine(r, 'us')).join('\n')}\n`;
      fs.writeFileSync(path.join(dir, 'BTCUSDT-1m-2025-01-01.zip'), zipBytes([{ name: 'BTCUSDT-1m-2025-01-01.csv', data: csv, method: 0 }]));
      const r = await runImport(['BTCUSDT-1m-2025-01-01.zip', '--out', 'out.csv'], dir);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^Imported 60 1m candles \(binance, µs times\) .* 2025-01-01 00:00 → 2025-01-01 00:59 UTC, no gaps\n$/);
      expect(parseCsv(fs.readFileSync(path.join(dir, 'out.csv'), 'utf8'))).to.deep.equal(expectedRows(rows));
    });

    it('a ZIP with several entries: the .csv ones in name order, other files ignored', async () => {
      const a = real.slice(0, 60).map((r) => binanceLine(r)).join('\n');
      const b = real.slice(60, 120).map((r) => binanceLine(r)).join('\n');
      const zip = zipBytes([
        { name: 'b/BTCUSDT-1m-part2.csv', data: b },
        { name: 'README.txt', data: 'not candles' },
        { name: 'a/BTCUSDT-1m-part1.csv', data: a },
      ]);
      fs.writeFileSync(path.join(dir, 'two.zip'), zip);
      const res = await importCandleFile({ input: path.join(dir, 'two.zip'), target: path.join(dir, 'o.csv'), interval: '1' });
      expect(res.entries).to.deep.equal(['a/BTCUSDT-1m-part1.csv', 'b/BTCUSDT-1m-part2.csv']);
      expect(parseCsv(fs.readFileSync(path.join(dir, 'o.csv'), 'utf8'))).to.deep.equal(expectedRows(real.slice(0, 120)));
    });

    it('a wrong --interval is caught: off-grid open times, or close_time not closing the candle', async () => {
      fs.writeFileSync(path.join(dir, 'k.csv'), real.slice(0, 10).map((r) => binanceLine(r)).join('\n') + '\n');
      const r = await runImport(['k.csv', '--symbol', 'BTCUSDT', '--interval', '5'], dir);
      expect(r.code).to.equal(2);
      // 00:00 and 00:05 are on the 5-minute grid but close a minute later; the others are off the grid
      expect(r.stderr).to.include('nothing written: 10 invalid rows:');
      expect(r.stderr).to.include(`line 1, field "close_time": close_time ${real[0]!.t + MIN - 1} does not close a 5 candle opening at ${real[0]!.t} (expected ${real[0]!.t + 5 * MIN - 1}); is --interval right?`);
      expect(r.stderr).to.include('line 2, field "open_time": open time 2023-12-01T00:01:00.000Z (1701388860000) is not on the 5 grid (wrong --interval?)');
      expect(fs.existsSync(storeFile('5'))).to.equal(false);
      // the file name says 1m
      fs.writeFileSync(path.join(dir, 'BTCUSDT-1m-2023-12.csv'), real.slice(0, 10).map((x) => binanceLine(x)).join('\n') + '\n');
      const n = await runImport(['BTCUSDT-1m-2023-12.csv', '--interval', '5'], dir);
      expect(n.code).to.equal(2);
      expect(n.stderr).to.match(/--interval 5: the file name says 1m candles \(1\)/);
    });

    it('--format binance with another header is refused; that header with --format auto is read by column names', async () => {
      const rows = real.slice(0, 3);
      const header = 'open_time,open,high,low,close,volume,quote_volume,close_time';
      const body = rows.map((r) => binanceLine(r).split(',')).map((f) => [f[0], f[1], f[2], f[3], f[4], f[5], f[7], f[6]].join(','));
      fs.writeFileSync(path.join(dir, 'h.csv'), [header, ...body].join('\n'));
      const r = await runImport(['h.csv', '--out', 'o.csv', '--interval', '1', '--format', 'binance'], dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(`pyr: ${path.join(dir, 'h.csv')}, line 1: expected no header or Binance's "${BINANCE_HEADER}", found "${header}"\n`);
      const auto = await runImport(['h.csv', '--out', 'o.csv', '--interval', '1'], dir);
      expect(auto.code, auto.stderr).to.equal(0);
      expect(auto.stdout).to.include('(generic, ms times)');
      expect(parseCsv(fs.readFileSync(path.join(dir, 'o.csv'), 'utf8'))).to.deep.equal(expectedRows(rows));
    });
  });

  describe('ZIP reader errors', () => {
    before(function () {
      useReal(this);
    });
    const one = () => real.slice(0, 3).map((r) => binanceLine(r)).join('\n');
    const cases: [string, () => ZipFile[], RegExp][] = [
      ['encrypted', () => [{ name: 'x.csv', data: one(), flags: 1 }], /x\.csv\): the entry is encrypted; decrypt the archive first/],
      ['bzip2', () => [{ name: 'x.csv', data: one(), method: 12 }], /x\.csv\): unsupported compression method 12 \(bzip2\); only stored \(0\) and deflate \(8\) are read/],
      ['bad CRC', () => [{ name: 'x.csv', data: one(), crc: 12345 }], /x\.csv\): damaged ZIP entry: CRC-32 mismatch/],
      ['no csv', () => [{ name: 'notes.txt', data: 'hi' }], /no \.csv file in the archive \(it holds: notes\.txt\)/],
    ];
    for (const [what, files, re] of cases) {
      it(`${what}: one clear DataError, nothing written`, async () => {
        const f = path.join(dir, 'a.zip');
        fs.writeFileSync(f, zipBytes(files()));
        const target = path.join(dir, 'o.csv');
        let err: unknown;
        try {
          await importCandleFile({ input: f, target, interval: '1' });
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(DataError);
        expect((err as Error).message).to.match(re);
        expect((err as Error).message).to.not.include('\n');
        expect(fs.existsSync(target)).to.equal(false);
      });
    }

    it('a truncated archive', () => {
      const z = zipBytes([{ name: 'x.csv', data: one() }]);
      expect(() => readZipEntries(z.subarray(0, z.length - 30), 'cut.zip')).to.throw(DataError, /cut\.zip: not a readable ZIP archive: no end-of-central-directory record/);
    });
  });

  describe('generic CSV', () => {
    it('a header in another order, --map, ISO times with zones, quoted fields, no turnover', async function () {
      useReal(this);
      const rows = real.slice(0, 4);
      const iso = (t: number, zone: string) => {
        const shift = zone === 'Z' ? 0 : (zone.startsWith('+') ? 1 : -1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * MIN;
        return new Date(t + shift).toISOString().slice(0, 19) + zone;
      };
      const zones = ['Z', '+02:00', '-05:30', 'Z'];
      const lines = ['Date,Close,"Volume BTC",Open,High,Low,Trades'];
      rows.forEach((r, i) => lines.push(`${iso(r.t, zones[i]!)},${r.c},"${r.v}",${r.o},${r.h},${r.l},7`));
      fs.writeFileSync(path.join(dir, 'g.csv'), lines.join('\r\n') + '\r\n');
      const r = await runImport(['g.csv', '--symbol', 'BTCUSDT', '--interval', '1', '--map', 'volume=Volume BTC', '--time-unit', 'iso'], dir);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include('(generic, ISO 8601 times)');
      expect(parseCsv(fs.readFileSync(storeFile(), 'utf8'))).to.deep.equal(expectedRows(rows, false));
    });

    it('timestamps in seconds are told by magnitude; a time without zone is UTC', () => {
      expect(parseTimestamp('1701388800', 'auto')).to.deep.equal({ ok: true, value: { ms: 1701388800000, unit: 's' } });
      expect(parseTimestamp('1701388800000', 'auto')).to.deep.equal({ ok: true, value: { ms: 1701388800000, unit: 'ms' } });
      expect(parseTimestamp('1701388800000000', 'auto')).to.deep.equal({ ok: true, value: { ms: 1701388800000, unit: 'us' } });
      expect(parseTimestamp('2023-12-01 00:00', 'auto')).to.deep.equal({ ok: true, value: { ms: 1701388800000, unit: 'iso' } });
      expect(parseTimestamp('2024-02-30T00:00:00Z', 'auto')).to.deep.include({ ok: false });
      expect(parseTimestamp('1701388800000123', 'us')).to.deep.equal({ ok: false, message: 'timestamp 1701388800000123 (µs) is not a whole millisecond' });
      expect(parseTimestamp('1701388800000', 's')).to.deep.include({ ok: false });
    });

    it('unknown columns: says which field is missing and how to map it', async () => {
      fs.writeFileSync(path.join(dir, 'g.csv'), 'when,o,h,l,c,qty\n1701388800000,1,1,1,1,1\n');
      let err: unknown;
      try {
        await importCandleFile({ input: path.join(dir, 'g.csv'), target: path.join(dir, 'o.csv'), interval: '1' });
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).to.equal(`${path.join(dir, 'g.csv')}, line 1, field "timestamp": no column for timestamp, volume in the header "when,o,h,l,c,qty"; name them with --map, e.g. --map timestamp=<column>,volume=<column>`);
      const r = await runImport(['g.csv', '--out', 'o.csv', '--interval', '1', '--map', 'timestamp=when,volume=qty'], dir);
      expect(r.code, r.stderr).to.equal(0);
      const bad = await runImport(['g.csv', '--out', 'o2.csv', '--interval', '1', '--map', 'timestamp=nope,volume=qty'], dir);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/--map: column "nope" \(for timestamp\) is not in the header/);
      const key = await runImport(['g.csv', '--out', 'o3.csv', '--interval', '1', '--map', 'price=o'], dir);
      expect(key.stderr).to.match(/--map: "price" is not one of timestamp, open, high, low, close, volume, turnover/);
    });
  });

  describe('bad rows', () => {
    it('every bad row with its line and field; nothing written', async () => {
      const t0 = T1M;
      const lines = [
        'timestamp,open,high,low,close,volume', // 1
        `${t0},10,11,9,10.5,1`, // 2 ok
        `${t0 + MIN},10,9.5,9,10,1`, // 3 high below open
        '', // 4 (blank, skipped)
        `${t0 + 2 * MIN},10,11,9,10,abc`, // 5 volume not a number
        `${t0 + 3 * MIN + 30_000},10,11,9,10,1`, // 6 off the grid
        `${t0 + 4 * MIN},10,11,9,10,1`, // 7 ok
        `${t0 + 4 * MIN},10,11,9,10,1`, // 8 duplicate
        `${t0 + 5 * MIN},10,11,9,10`, // 9 a column short
        `${t0 + 6 * MIN},-1,11,9,10,1`, // 10 negative open
      ];
      fs.writeFileSync(path.join(dir, 'bad.csv'), lines.join('\n') + '\n');
      const r = await runImport(['bad.csv', '--symbol', 'BTCUSDT', '--interval', '1'], dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(
        [
          `pyr: ${path.join(dir, 'bad.csv')}: nothing written: 6 invalid rows:`,
          '  line 3, field "high": high 9.5 is below open 10',
          '  line 5, field "volume": not a number: "abc"',
          '  line 6, field "timestamp": open time 2023-12-01T00:03:30.000Z (1701389010000) is not on the 1 grid (wrong --interval?)',
          '  line 8, field "timestamp": duplicate open time 2023-12-01T00:04:00.000Z',
          '  line 9: expected 6 columns like the header, found 5',
          '  line 10, field "open": price must be > 0, got -1',
          '',
        ].join('\n'),
      );
      expect(fs.existsSync(path.join(dir, 'data'))).to.equal(false);
    });

    it('stops at 20 errors and says there are more', async () => {
      const lines = ['timestamp,open,high,low,close,volume'];
      for (let i = 0; i < 30; i++) lines.push(`${T1M + i * MIN},10,11,12,10,1`); // low above open
      fs.writeFileSync(path.join(dir, 'bad.csv'), lines.join('\n'));
      let err: ImportDataError | undefined;
      try {
        await importCandleFile({ input: path.join(dir, 'bad.csv'), target: path.join(dir, 'o.csv'), interval: '1' });
      } catch (e) {
        err = e as ImportDataError;
      }
      expect(err).to.be.instanceOf(ImportDataError);
      expect(err!.issues).to.have.length(20);
      expect(err!.issues.map((i) => i.line)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 2));
      expect(err!.issues[0]).to.deep.include({ field: 'low', message: 'low 12 is above open 10' });
      expect(err!.message).to.match(/nothing written: 20\+ invalid rows \(the first 20 shown\):\n/);
      expect(fs.existsSync(path.join(dir, 'o.csv'))).to.equal(false);
    });

    it('candles of another interval than --interval (generic CSV on the grid)', async function () {
      requireShared(this, DATA_5M);
      const five = fs.readFileSync(DATA_5M, 'utf8').split('\n').slice(0, 20).join('\n');
      fs.writeFileSync(path.join(dir, 'five.csv'), five);
      let err: unknown;
      try {
        await importCandleFile({ input: path.join(dir, 'five.csv'), target: path.join(dir, 'o.csv'), interval: '1' });
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).to.equal(`${path.join(dir, 'five.csv')}: the candles are 5 minutes apart, not 1 (--interval 1)`);
    });
  });

  describe('existing files', () => {
    before(function () {
      useReal(this);
    });
    const write = (name: string, rows: typeof real) => fs.writeFileSync(path.join(dir, name), rows.map((r) => binanceLine(r)).join('\n') + '\n');

    it('refuses to overwrite without --merge or --force; --force replaces', async () => {
      write('a.csv', real.slice(0, 10));
      write('b.csv', real.slice(5, 15));
      expect((await runImport(['a.csv', '--symbol', 'BTCUSDT', '--interval', '1'], dir)).code).to.equal(0);
      const before = fs.readFileSync(storeFile());
      const r = await runImport(['b.csv', '--symbol', 'BTCUSDT', '--interval', '1'], dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(`pyr: ${storeFile()} already exists; pass --merge to add these candles to it, or --force to replace it\n`);
      expect(fs.readFileSync(storeFile())).to.deep.equal(before);
      const both = await runImport(['b.csv', '--symbol', 'BTCUSDT', '--interval', '1', '--merge', '--force'], dir);
      expect(both.stderr).to.match(/--merge and --force cannot be used together/);
      const f = await runImport(['b.csv', '--symbol', 'BTCUSDT', '--interval', '1', '--force'], dir);
      expect(f.code, f.stderr).to.equal(0);
      expect(f.stdout).to.include('replaced the old file (--force)');
      expect(parseCsv(fs.readFileSync(storeFile(), 'utf8'))).to.deep.equal(expectedRows(real.slice(5, 15)));
    });

    it('--merge: union by time, identical candles once, counts in the summary', async () => {
      write('a.csv', [...real.slice(0, 10), ...real.slice(20, 30)]);
      write('b.csv', real.slice(5, 25));
      await runImport(['a.csv', '--symbol', 'BTCUSDT', '--interval', '1'], dir);
      const r = await runImport(['b.csv', '--symbol', 'BTCUSDT', '--interval', '1', '--merge'], dir);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(': 30 rows, 2023-12-01 00:00 → 2023-12-01 00:29 UTC, no gaps; merged: 10 new, 10 already there');
      expect(parseCsv(fs.readFileSync(storeFile(), 'utf8'))).to.deep.equal(expectedRows(real.slice(0, 30)));
      expect(leftovers(path.dirname(storeFile()))).to.deep.equal([]);
    });

    it('--merge with a conflicting candle: an error naming the time, the file untouched', async () => {
      write('a.csv', real.slice(0, 10));
      await runImport(['a.csv', '--symbol', 'BTCUSDT', '--interval', '1'], dir);
      const before = fs.readFileSync(storeFile());
      const changed = real.slice(5, 15).map((r, i) => (i === 2 ? { ...r, c: String(Number(r.c) + 1), h: String(Math.max(Number(r.h), Number(r.c) + 1)) } : r));
      write('b.csv', changed);
      const r = await runImport(['b.csv', '--symbol', 'BTCUSDT', '--interval', '1', '--merge'], dir);
      expect(r.code).to.equal(2);
      const t = real[7]!.t;
      expect(r.stderr).to.include(`${storeFile()}: nothing written: 1 candle in both with different values (use --force to replace the file):`);
      const o = real[7]!;
      const diff = [Number(changed[2]!.h) !== Number(o.h) ? 'high' : '', 'close', 'turnover'].filter(Boolean).join(', ');
      const first = diff.startsWith('high') ? `high ${Number(o.h)} in the file, ${Number(changed[2]!.h)} in the input` : `close ${Number(o.c)} in the file, ${Number(changed[2]!.c)} in the input`;
      expect(r.stderr).to.include(`\n  conflict at ${new Date(t).toISOString()} (${t}): ${diff} differ (${first})\n`);
      expect(fs.readFileSync(storeFile())).to.deep.equal(before);
      expect(leftovers(path.dirname(storeFile()))).to.deep.equal([]);
    });
  });

  describe('flags', () => {
    it('binanceNameInfo reads data.binance.vision names', () => {
      expect(binanceNameInfo('/x/BTCUSDT-1m-2024-01.zip')).to.deep.equal({ symbol: 'BTCUSDT', interval: '1', binanceInterval: '1m' });
      expect(binanceNameInfo('ETHUSDT-4h-2024-01-31.csv')).to.deep.equal({ symbol: 'ETHUSDT', interval: '240', binanceInterval: '4h' });
      expect(binanceNameInfo('BTCUSDT-1mo-2024-01.zip')).to.deep.equal({ symbol: 'BTCUSDT', interval: 'M', binanceInterval: '1mo' });
      expect(binanceNameInfo('BTCUSDT-8h-2024-01.zip')).to.deep.equal({ symbol: 'BTCUSDT', interval: null, binanceInterval: '8h' });
      expect(binanceNameInfo('prices.csv')).to.equal(undefined);
    });

    it('required and invalid flags are ConfigErrors naming the flag', async () => {
      fs.writeFileSync(path.join(dir, 'p.csv'), `${HEADER}\n0,1,1,1,1,1,\n`);
      const io = makeIo(dir);
      const cases: [Parameters<typeof importCandles>[1], RegExp][] = [
        [{}, /--interval: required/],
        [{ interval: '1' }, /--symbol: required/],
        [{ interval: '1', symbol: 'BTCUSDT', format: 'xls' }, /--format: "xls"/],
        [{ interval: '1', symbol: 'BTCUSDT', timeUnit: 'ns' }, /--time-unit: "ns"/],
        [{ interval: '1', symbol: 'BTC/USDT' }, /--symbol: "BTC\/USDT"/],
        [{ interval: '1', symbol: 'BTCUSDT', category: 'futures' }, /--category: "futures"/],
      ];
      for (const [flags, re] of cases) {
        let err: unknown;
        try {
          await importCandles('p.csv', flags, io);
        } catch (e) {
          err = e;
        }
        expect(err, String(re)).to.be.instanceOf(ConfigError);
        expect((err as Error).message).to.match(re);
      }
      let missing: unknown;
      try {
        await importCandles('nope.csv', { interval: '1' }, io);
      } catch (e) {
        missing = e;
      }
      expect((missing as Error).message).to.match(/file not found: .*nope\.csv/);
      expect(fs.existsSync(path.join(dir, 'data'))).to.equal(false);
    });
  });
});
