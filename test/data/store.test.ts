import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  candlePath,
  findCandleFile,
  listCandleFiles,
  writeCandleFileAtomic,
  fundingPath,
  findFundingFile,
  readFundingFile,
  instrumentsPath,
  readInstrumentsSnapshot,
  readCandleFile,
} from '../../lib/data/index.ts';
import { DataError } from '../../lib/core/errors.ts';
import { seriesFromCandles } from '../../lib/core/candle.ts';
import { DATA_15M, DATA_5M, FUNDING, SAMPLE_15M, SAMPLE_FUNDING, requireShared } from '../helpers.ts';

async function rejectsWith(p: Promise<unknown>, where: { file: string; line?: number; field?: string }, msg?: RegExp): Promise<DataError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a DataError').to.be.instanceOf(DataError);
  const e = caught as DataError;
  expect({ file: e.file, line: e.line, field: e.field }).to.deep.equal({ file: where.file, line: where.line, field: where.field });
  if (msg) expect(e.message).to.match(msg);
  return e;
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

describe('data/store', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyr-store-test-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('layout', () => {
    it('candlePath, fundingPath and instrumentsPath follow <dataDir>/bybit/<category>/<SYMBOL>/…', () => {
      expect(candlePath('data', 'linear', 'btcusdt', '15')).to.equal(path.join('data', 'bybit', 'linear', 'BTCUSDT', '15.csv'));
      expect(candlePath('/x', 'spot', 'ETHUSDT', 'D')).to.equal('/x/bybit/spot/ETHUSDT/D.csv');
      expect(fundingPath('/x', 'linear', 'BTCUSDT')).to.equal('/x/bybit/linear/BTCUSDT/funding.csv');
      expect(instrumentsPath('/x', 'linear')).to.equal('/x/bybit/linear/instruments.json');
    });

    it('findCandleFile finds .csv, then .csv.gz, and returns undefined when absent', () => {
      expect(findCandleFile(tmp, 'linear', 'BTCUSDT', '15')).to.equal(undefined);
      const gz = candlePath(tmp, 'linear', 'BTCUSDT', '15') + '.gz';
      fs.mkdirSync(path.dirname(gz), { recursive: true });
      fs.writeFileSync(gz, '');
      expect(findCandleFile(tmp, 'linear', 'BTCUSDT', '15')).to.equal(gz);
      fs.writeFileSync(candlePath(tmp, 'linear', 'BTCUSDT', '15'), '');
      expect(findCandleFile(tmp, 'linear', 'BTCUSDT', '15')).to.equal(candlePath(tmp, 'linear', 'BTCUSDT', '15'));
      expect(findCandleFile(tmp, 'linear', 'BTCUSDT', '5')).to.equal(undefined);
    });

    it('listCandleFiles lists store files in category, symbol, interval order and skips anything else', () => {
      expect(listCandleFiles(path.join(tmp, 'missing'))).to.deep.equal([]);
      const put = (rel: string, content = 'x') => {
        const f = path.join(tmp, rel);
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, content);
        return f;
      };
      const d = put('bybit/linear/BTCUSDT/D.csv');
      const m15 = put('bybit/linear/BTCUSDT/15.csv', 'abc');
      const m1 = put('bybit/linear/BTCUSDT/1.csv.gz');
      const eth = put('bybit/linear/ETHUSDT/60.csv');
      const spot = put('bybit/spot/BTCUSDT/5.csv');
      put('bybit/linear/BTCUSDT/funding.csv');
      put('bybit/linear/BTCUSDT/7.csv');
      put('bybit/linear/BTCUSDT/.pyr-cache/15.csv.pyrcache');
      put('bybit/linear/instruments.json', '{}');
      put('binance/spot/BTCUSDT/1.csv');
      const list = listCandleFiles(tmp);
      expect(list.map((e) => e.file)).to.deep.equal([m1, m15, d, eth, spot]);
      expect(list[1]).to.deep.equal({ exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT', interval: '15', file: m15, compressed: false, bytes: 3 });
      expect(list[0]!.compressed).to.equal(true);
    });

    it('findFundingFile looks in the store, then for funding.csv directly in the folder', () => {
      expect(findFundingFile(tmp, 'linear', 'BTCUSDT')).to.equal(undefined);
      const loose = path.join(tmp, 'funding.csv');
      fs.writeFileSync(loose, 'timestamp,fundingRate\n');
      expect(findFundingFile(tmp, 'linear', 'BTCUSDT')).to.equal(loose);
      const stored = fundingPath(tmp, 'linear', 'BTCUSDT');
      fs.mkdirSync(path.dirname(stored), { recursive: true });
      fs.writeFileSync(stored, 'timestamp,fundingRate\n');
      expect(findFundingFile(tmp, 'linear', 'BTCUSDT')).to.equal(stored);
    });
  });

  describe('writeCandleFileAtomic', () => {
    // The committed sample always; the long shared files when they are there.
    for (const [what, file, gated] of [
      ['the committed sample BTCUSDT-15m.csv', SAMPLE_15M, false],
      ['the shared BTCUSDT-15m.csv', DATA_15M, true],
      ['the shared BTCUSDT-5m.csv', DATA_5M, true],
    ] as const) {
      it(`round-trips ${what} byte for byte`, async function () {
        if (gated) requireShared(this, file);
        const { series } = await readCandleFile(file, { cache: false });
        const out = path.join(tmp, 'bybit', 'linear', 'BTCUSDT', '15.csv');
        writeCandleFileAtomic(out, series);
        expect(fs.readFileSync(out).equals(fs.readFileSync(file))).to.equal(true);
        expect(allFiles(tmp)).to.deep.equal([out]);
      });
    }

    it('writes turnover when present, gzip for .gz names, and replaces an existing file', async () => {
      const s = seriesFromCandles([
        { openTime: 60_000, open: 1.5, high: 2, low: 1, close: 1.75, volume: 0.001, turnover: 12.5 },
        { openTime: 120_000, open: 1.75, high: 1.75, low: 1.25, close: 1.5, volume: 3, turnover: NaN },
      ]);
      const want = 'timestamp,open,high,low,close,volume,turnover\n60000,1.5,2,1,1.75,0.001,12.5\n120000,1.75,1.75,1.25,1.5,3,\n';
      const f = path.join(tmp, 'a.csv');
      fs.writeFileSync(f, 'old content');
      writeCandleFileAtomic(f, s);
      expect(fs.readFileSync(f, 'latin1')).to.equal(want);
      const gz = path.join(tmp, 'a.csv.gz');
      writeCandleFileAtomic(gz, s);
      expect(zlib.gunzipSync(fs.readFileSync(gz)).toString('latin1')).to.equal(want);
      const back = await readCandleFile(gz, { cache: false });
      expect(Array.from(back.series.turnover.subarray(0, 1))).to.deep.equal([12.5]);
      expect(allFiles(tmp).sort()).to.deep.equal([f, gz].sort());
    });

    it('leaves no temp file and keeps the old file when the write fails', () => {
      const s = seriesFromCandles([{ openTime: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, turnover: NaN }]);
      const target = path.join(tmp, 'dir-not-file');
      fs.mkdirSync(target);
      expect(() => writeCandleFileAtomic(target, s)).to.throw();
      expect(fs.statSync(target).isDirectory()).to.equal(true);
      expect(fs.readdirSync(tmp)).to.deep.equal(['dir-not-file']);
    });
  });

  describe('readFundingFile', () => {
    it('reads the committed sample funding file: 186 rows, 8 h apart, rates as their exact text', async () => {
      const file = SAMPLE_FUNDING;
      // test-side: the file's own lines, by plain splitting
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
      const { times, rates } = await readFundingFile(file);
      // 2024-07-01 00:00 .. 2024-08-31 16:00 UTC, every 8 hours: 62 days × 3 settlements
      expect(lines.length).to.equal(62 * 3);
      expect(times.length).to.equal(lines.length);
      expect(rates.length).to.equal(lines.length);
      expect(times[0]).to.equal(Date.UTC(2024, 6, 1));
      expect(times.at(-1)).to.equal(Date.UTC(2024, 7, 31, 16));
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).to.equal(28_800_000);
      expect(Array.from(times)).to.deep.equal(lines.map((l) => Number(l[0])));
      // every rate is the file's text, unchanged
      expect(rates).to.deep.equal(lines.map((l) => l[1]));
    });

    it('reads the shared funding file: 1,925 rows, 8 h apart, rates as their exact text', async function () {
      requireShared(this, FUNDING);
      const file = FUNDING;
      const { times, rates } = await readFundingFile(file);
      expect(times.length).to.equal(1925);
      expect(rates.length).to.equal(1925);
      expect(times[0]).to.equal(1701244800000);
      expect(times[1924]).to.equal(1756656000000);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).to.equal(28_800_000);
      // documented values: the maximum at 2024-03-05 08:00 and the one zero row
      expect(rates[times.indexOf(Date.UTC(2024, 2, 5, 8))]).to.equal('0.00112788');
      expect(rates[times.indexOf(1726876800000)]).to.equal('0');
      // every rate is the file's text, unchanged
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1);
      expect(rates).to.deep.equal(lines.map((l) => l.split(',')[1]));
      expect(rates.filter((r) => r === '0.0001').length).to.equal(753);
      expect(rates.filter((r) => r.startsWith('-')).length).to.equal(241);
    });

    it('accepts \\r\\n and a foreign header order through csv-parse', async () => {
      const a = path.join(tmp, 'a.csv');
      fs.writeFileSync(a, 'timestamp,fundingRate\r\n0,0.0001\r\n28800000,-0.0000054\r\n');
      expect(await readFundingFile(a)).to.deep.equal({ times: new Float64Array([0, 28800000]), rates: ['0.0001', '-0.0000054'] });
      const b = path.join(tmp, 'b.csv');
      fs.writeFileSync(b, '"FundingRate","Timestamp"\n"0.0001","0"\n"-0.0000054","28800000"\n');
      expect(await readFundingFile(b)).to.deep.equal({ times: new Float64Array([0, 28800000]), rates: ['0.0001', '-0.0000054'] });
    });

    it('errors name file, line and field', async () => {
      const put = (name: string, text: string) => {
        const f = path.join(tmp, name);
        fs.writeFileSync(f, text);
        return f;
      };
      let f = put('h.csv', 'time,rate\n0,0.1\n');
      await rejectsWith(readFundingFile(f), { file: f, line: 1, field: 'timestamp' }, /header/);
      f = put('e.csv', '');
      await rejectsWith(readFundingFile(f), { file: f, line: 1 }, /empty/);
      f = put('ho.csv', 'timestamp,fundingRate\n');
      await rejectsWith(readFundingFile(f), { file: f, line: 2 }, /no funding rows/);
      f = put('d.csv', 'timestamp,fundingRate\n0,0.1\n0,0.2\n');
      await rejectsWith(readFundingFile(f), { file: f, line: 3, field: 'timestamp' }, /duplicate/);
      f = put('a.csv', 'timestamp,fundingRate\n100,0.1\n50,0.2\n');
      await rejectsWith(readFundingFile(f), { file: f, line: 3, field: 'timestamp' }, /ascending/);
      f = put('n.csv', 'timestamp,fundingRate\n0,0.1\n100,abc\n');
      await rejectsWith(readFundingFile(f), { file: f, line: 3, field: 'fundingRate' }, /not a decimal/);
      f = put('nan.csv', 'timestamp,fundingRate\n0,NaN\n');
      await rejectsWith(readFundingFile(f), { file: f, line: 2, field: 'fundingRate' });
      f = put('c.csv', 'timestamp,fundingRate\n0,0.1\n100\n');
      await rejectsWith(readFundingFile(f), { file: f, line: 3, field: 'fundingRate' }, /2 columns, found 1/);
      f = put('t.csv', 'timestamp,fundingRate\n1.5,0.1\n');
      await rejectsWith(readFundingFile(f), { file: f, line: 2, field: 'timestamp' }, /integer/);
    });
  });

  describe('readInstrumentsSnapshot', () => {
    // The shape of Bybit V5 GET /v5/market/instruments-info (linear), trimmed to two symbols.
    const linear = {
      category: 'linear',
      list: [
        {
          symbol: 'BTCUSDT',
          contractType: 'LinearPerpetual',
          status: 'Trading',
          priceFilter: { minPrice: '0.10', maxPrice: '1999999.80', tickSize: '0.10' },
          lotSizeFilter: { maxOrderQty: '1190.000', minOrderQty: '0.001', qtyStep: '0.001', postOnlyMaxOrderQty: '1190.000', maxMktOrderQty: '119.000', minNotionalValue: '5' },
        },
        {
          symbol: 'ETHUSDT',
          priceFilter: { tickSize: '0.01' },
          lotSizeFilter: { minOrderQty: '0.01', qtyStep: '0.01', maxOrderQty: '7240.00', minNotionalValue: '5' },
        },
      ],
      nextPageCursor: '',
    };

    it('reads the result shape, the whole API response and a bare list alike', async () => {
      const want = {
        BTCUSDT: { tickSize: '0.10', qtyStep: '0.001', minQty: '0.001', minNotional: '5', maxQty: '119.000' },
        ETHUSDT: { tickSize: '0.01', qtyStep: '0.01', minQty: '0.01', minNotional: '5', maxQty: '7240.00' },
      };
      const f = instrumentsPath(tmp, 'linear');
      fs.mkdirSync(path.dirname(f), { recursive: true });
      for (const body of [linear, { retCode: 0, retMsg: 'OK', result: linear, time: 1 }, linear.list]) {
        fs.writeFileSync(f, JSON.stringify(body));
        expect(await readInstrumentsSnapshot(f)).to.deep.equal(want);
      }
    });

    it('maps spot fields (basePrecision, minOrderAmt) and defaults a missing minimum notional to 0', async () => {
      const f = path.join(tmp, 'spot.json');
      fs.writeFileSync(
        f,
        JSON.stringify({
          list: [
            { symbol: 'BTCUSDT', priceFilter: { tickSize: '0.01' }, lotSizeFilter: { basePrecision: '0.000001', minOrderQty: '0.000048', minOrderAmt: '1', maxOrderQty: '71.73956243' } },
            { symbol: 'XUSDT', priceFilter: { tickSize: '0.5' }, lotSizeFilter: { qtyStep: '1', minOrderQty: '1' } },
          ],
        }),
      );
      expect(await readInstrumentsSnapshot(f)).to.deep.equal({
        BTCUSDT: { tickSize: '0.01', qtyStep: '0.000001', minQty: '0.000048', minNotional: '1', maxQty: '71.73956243' },
        XUSDT: { tickSize: '0.5', qtyStep: '1', minQty: '1', minNotional: '0' },
      });
    });

    it('returns undefined for a missing file and a DataError for bad JSON or fields', async () => {
      expect(await readInstrumentsSnapshot(path.join(tmp, 'none.json'))).to.equal(undefined);
      const f = path.join(tmp, 'bad.json');
      fs.writeFileSync(f, '{ list: ');
      await rejectsWith(readInstrumentsSnapshot(f), { file: f }, /JSON/);
      fs.writeFileSync(f, JSON.stringify({ something: 1 }));
      await rejectsWith(readInstrumentsSnapshot(f), { file: f, field: 'list' });
      const broken = structuredClone(linear);
      broken.list[1]!.priceFilter.tickSize = '0';
      fs.writeFileSync(f, JSON.stringify(broken));
      await rejectsWith(readInstrumentsSnapshot(f), { file: f, field: 'list[1].priceFilter.tickSize' }, /ETHUSDT/);
      const noQty = structuredClone(linear) as { list: { lotSizeFilter: Record<string, unknown> }[] };
      delete noQty.list[0]!.lotSizeFilter.minOrderQty;
      fs.writeFileSync(f, JSON.stringify(noQty));
      await rejectsWith(readInstrumentsSnapshot(f), { file: f, field: 'list[0].lotSizeFilter.minOrderQty' }, /missing/);
    });
  });
});
