import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, PyrError } from '../../lib/core/errors.ts';
import { dataCheck, dataList, dataResample } from '../../lib/cli/data.ts';
import { DATA_15M, DATA_5M, SAMPLE_15M, SAMPLE_FUNDING, captureIo, parseCsv, requireShared, runCli, tempDir } from '../helpers.ts';

const makeIo = (cwd: string) => captureIo(cwd);
const runData = (argv: string[], cwd: string) => runCli(['data', ...argv], cwd);

const HEADER = 'timestamp,open,high,low,close,volume,turnover';
let lines15: string[] | undefined;

/** The first `n` data lines of the real 15-minute file (the committed sample), minus the data rows at `skip` (0-based). */
function fifteen(n: number, skip: number[] = []): string {
  lines15 ??= fs.readFileSync(SAMPLE_15M, 'utf8').split('\n');
  const rows = lines15.slice(1, n + 1).filter((_, i) => !skip.includes(i));
  return `${[lines15[0], ...rows].join('\n')}\n`;
}

const utc = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
const T0 = 1719792000000; // 2024-07-01 00:00, first row of the sample's 15m file
const Q = 15 * 60_000;

describe('pyr data', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('pyr-data-')));
  afterEach(() => cleanup());

  function store(rel: string, text: string): string {
    const f = path.join(dir, 'data', 'bybit', rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
    return f;
  }

  describe('list', () => {
    it('shows every candle and funding file with range, rows, gaps and size in an aligned table', async () => {
      // 100 rows minus rows 10..12 (3 missing candles) and row 50 (1 missing)
      const f15 = store('linear/BTCUSDT/15.csv', fifteen(100, [10, 11, 12, 50]));
      const fund = fs.readFileSync(SAMPLE_FUNDING, 'utf8').split('\n').slice(0, 11).join('\n') + '\n';
      store('linear/BTCUSDT/funding.csv', fund);
      store('linear/ETHUSDT/60.csv', `${HEADER}\n0,1,2,0.5,1.5,3,\n3600000,1.5,2,1,1.8,4,\n`);
      const r = await runData(['list'], dir);
      expect(r.code, r.stderr).to.equal(0);
      const out = r.stdout.trimEnd().split('\n');
      expect(out[0]).to.match(/^SYMBOL\s+CATEGORY\s+INTERVAL\s+FIRST \(UTC\)\s+LAST \(UTC\)\s+ROWS\s+GAPS\s+LARGEST GAP\s+SIZE\s+FILE$/);
      expect(out).to.have.length(4);
      const [btc, btcFunding, eth] = [out.find((l) => / 15 /.test(l))!, out.find((l) => /funding/.test(l))!, out.find((l) => /ETHUSDT/.test(l))!];
      expect(btc).to.include('BTCUSDT').and.include('linear');
      expect(btc).to.include(utc(T0)).and.include(utc(T0 + 99 * Q));
      expect(btc.split(/\s{2,}/)).to.include('96'); // rows
      expect(btc).to.match(/\s4\s+45m\s/); // 4 missing candles, largest 3 × 15 min
      expect(btc).to.include(path.join('data', 'bybit', 'linear', 'BTCUSDT', '15.csv'));
      expect(btc).to.include(`${(fs.statSync(f15).size / 1024).toFixed(1)} KB`);
      expect(btcFunding).to.include('2024-07-01 00:00').and.include('2024-07-04 00:00'); // 10 settlements, 8 h apart
      expect(eth).to.include('1970-01-01 00:00').and.include('1970-01-01 01:00');
      // aligned: every column starts at the same offset on every line (FILE column, the last, lines up)
      const fileCol = out[0]!.indexOf('FILE');
      for (const l of out.slice(1)) expect(l.indexOf(`data${path.sep}bybit`)).to.equal(fileCol);
      const rowsEnd = out[0]!.indexOf('ROWS') + 4;
      expect(btc.slice(rowsEnd - 2, rowsEnd)).to.equal('96');
    });

    it('--json gives the same facts, and an unreadable file is reported, not fatal', async () => {
      store('linear/BTCUSDT/15.csv', fifteen(20, [5]));
      store('linear/BTCUSDT/5.csv', `${HEADER}\n0,1,0.5,0.4,1,1,\n`); // high below open
      const r = await runData(['list', '--json'], dir);
      expect(r.code).to.equal(0);
      const j = JSON.parse(r.stdout) as { files: Record<string, unknown>[] };
      expect(j.files).to.have.length(2);
      const five = j.files.find((f) => f.interval === '5')!;
      expect(five.error).to.match(/line 2, field "high": high 0.5 is below open 1/);
      const f15 = j.files.find((f) => f.interval === '15')!;
      expect(f15).to.include({ kind: 'candles', symbol: 'BTCUSDT', category: 'linear', rows: 19, gaps: 1, largestGapMinutes: 15 });
      expect(f15.first).to.equal(new Date(T0).toISOString());
      expect(f15.last).to.equal(new Date(T0 + 19 * Q).toISOString());
    });

    it('says how to get data when the store is empty', async () => {
      const io = makeIo(dir);
      expect(await dataList({}, io)).to.deep.equal([]);
      expect(io.stdout.text).to.match(/No candle or funding files in data .*pyr download.*pyr import/);
    });
  });

  describe('check', () => {
    it('OK line with rows, range and gaps; lists the gaps with start and end', async () => {
      const f = store('linear/BTCUSDT/15.csv', fifteen(100, [10, 11, 12, 50]));
      const r = await runData(['check', f], dir);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include(`OK: 96 rows, from ${utc(T0)} to ${utc(T0 + 99 * Q)} UTC, 2 gaps`);
      expect(r.stdout).to.include(`${utc(T0 + 10 * Q)} → ${utc(T0 + 12 * Q)} UTC  3 candles`);
      expect(r.stdout).to.include(`${utc(T0 + 50 * Q)} → ${utc(T0 + 50 * Q)} UTC  1 candle`);
      expect(r.stdout).to.include('96 15m candles (interval 15, from the file name)');
    });

    it('the real 5-minute file is clean', async function () {
      requireShared(this, DATA_5M);
      const io = makeIo(dir);
      const rep = await dataCheck(DATA_5M, { interval: '5' }, io);
      expect(rep.rows).to.equal(17336);
      expect(rep.gaps).to.deep.equal([]);
      expect(io.stdout.text).to.include('OK: 17,336 rows, from 2025-06-22 00:00 to 2025-08-21 04:35 UTC, 0 gaps');
    });

    it('fails (exit 2) on candles off the interval grid, naming the first', async () => {
      const f = path.join(dir, 'x.csv');
      fs.writeFileSync(f, `${HEADER}\n${T0},1,1,1,1,1,\n${T0 + Q + 60_000},1,1,1,1,1,\n${T0 + 2 * Q},1,1,1,1,1,\n`);
      const r = await runData(['check', f, '--interval', '15'], dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^pyr: .*x\.csv: 1 error: 1 candle not aligned to the 15 grid .* first at 2024-07-01 00:16 UTC \(1719792960000\)\n$/);
      expect(r.stdout).to.include('2024-07-01 00:16 UTC (1719792960000)');
    });

    it('fails when the file holds another interval than asked', async () => {
      const f = store('linear/BTCUSDT/15.csv', fifteen(30));
      await expectReject(dataCheck(f, { interval: '5' }, makeIo(dir)), DataError, /candles are 15-minute apart, not 5 \(5-minute\)/);
    });

    it('fails when the file holds another interval than its name says', async function () {
      requireShared(this, DATA_5M);
      // by the file name: a 5-minute file saved as 15.csv
      const wrong = store('linear/BTCUSDT/sub/15.csv', fs.readFileSync(DATA_5M, 'utf8').split('\n').slice(0, 30).join('\n') + '\n');
      const r = await runData(['check', wrong], dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/not aligned to the 15 grid|5-minute apart/);
    });

    it('a bad row: readCandleFile\'s error with line and field', async () => {
      const f = path.join(dir, 'bad.csv');
      fs.writeFileSync(f, `${HEADER}\n${T0},1,1,1,1,1,\n${T0 + Q},1,1,2,1,1,\n`);
      const r = await runData(['check', f], dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(`pyr: ${f}, line 3, field "low": low 2 is above open 1\n`);
    });

    it('warns (without failing) about zero-volume and repeated candles; --json', async () => {
      const f = path.join(dir, 'w.csv');
      fs.writeFileSync(f, `${HEADER}\n${T0},1,2,1,1.5,0,\n${T0 + Q},1.5,2,1,1.2,3,\n${T0 + 2 * Q},1.5,2,1,1.2,3,\n${T0 + 4 * Q},1.2,1.3,1.1,1.2,0,\n`);
      const r = await runData(['check', f, '--json'], dir);
      expect(r.code, r.stderr).to.equal(0);
      const j = JSON.parse(r.stdout);
      expect(j).to.include({ ok: true, rows: 4, interval: '15', intervalFrom: 'inferred', zeroVolume: 2, repeated: 1, gaps: 1, missingCandles: 1 });
      expect(j.firstGaps).to.deep.equal([{ from: new Date(T0 + 3 * Q).toISOString(), to: new Date(T0 + 3 * Q).toISOString(), candles: 1 }]);
      expect(j.warnings).to.have.length(2);
      const t = await runData(['check', f], dir);
      expect(t.stdout).to.include('warning: 2 candles with zero volume');
      expect(t.stdout).to.include('warning: 1 candle identical to the previous one');
      expect(t.stdout).to.include('OK: 4 rows');
    });
  });

  describe('resample', () => {
    it('5 → 15 from --input to the store path: the same candles as Bybit\'s 15-minute file', async function () {
      // 2025-06-22 to 2025-08-21: the developers' 5- and 15-minute files.
      requireShared(this, DATA_5M, DATA_15M);
      const r = await runData(['resample', '--input', DATA_5M, '--from-interval', '5', '--interval', '15', '--symbol', 'btcusdt'], dir);
      expect(r.code, r.stderr).to.equal(0);
      const out = path.join(dir, 'data', 'bybit', 'linear', 'BTCUSDT', '15.csv');
      expect(r.stdout).to.equal(
        `Wrote 5,778 15m candles to ${path.join('data', 'bybit', 'linear', 'BTCUSDT', '15.csv')}: 2025-06-22 00:00 → 2025-08-21 04:15 UTC, from 17,336 5m candles; 1 incomplete dropped\n`,
      );
      const got = parseCsv(fs.readFileSync(out, 'utf8'));
      const want = new Map(parseCsv(fs.readFileSync(DATA_15M, 'utf8')).map((row) => [row.timestamp, row]));
      expect(got).to.have.length(5778);
      for (const row of got) {
        const w = want.get(row.timestamp!)!;
        // the files' text is the shortest form of the same doubles: equal text means equal values
        expect([row.open, row.high, row.low, row.close, row.volume], row.timestamp).to.deep.equal([w.open, w.high, w.low, w.close, w.volume]);
      }
      expect(fs.readdirSync(path.dirname(out)).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
      // refuses to overwrite without --force
      const again = await runData(['resample', '--input', DATA_5M, '--from-interval', '5', '--interval', '15'], dir);
      expect(again.code).to.equal(2);
      expect(again.stderr).to.match(/15\.csv already exists; pass --force/);
      const forced = await runData(['resample', '--input', DATA_5M, '--from-interval', '5', '--interval', '15', '--force', '--allow-partial'], dir);
      expect(forced.code, forced.stderr).to.equal(0);
      expect(forced.stdout).to.match(/Wrote 5,779 15m candles .* 1 incomplete kept \(--allow-partial\)/);
    });

    it('reads the store\'s 1-minute file by default and writes --out; checks the flags', async () => {
      const oneMin: string[] = [HEADER];
      for (let i = 0; i < 125; i++) oneMin.push(`${T0 + i * 60_000},${100 + i},${101 + i},${99 + i},${100.5 + i},0.001,`);
      store('linear/BTCUSDT/1.csv', `${oneMin.join('\n')}\n`);
      const io = makeIo(dir);
      const res = await dataResample({ interval: '1h', out: 'h.csv', json: true }, io);
      expect(res.rows).to.equal(2);
      expect(res.incomplete).to.equal(1);
      const j = JSON.parse(io.stdout.text);
      expect(j).to.include({ rows: 2, incomplete: 1, from: '1', to: '60' });
      const rows = parseCsv(fs.readFileSync(path.join(dir, 'h.csv'), 'utf8'));
      expect(rows[1]).to.deep.equal({ timestamp: String(T0 + 3_600_000), open: '160', high: '220', low: '159', close: '219.5', volume: '0.06', turnover: '' });
      await expectReject(dataResample({}, makeIo(dir)), PyrError, /--interval: required/);
      await expectReject(dataResample({ interval: '15', fromInterval: '60' }, makeIo(dir)), PyrError, /no BTCUSDT 60 candles .*pyr download --symbol BTCUSDT --interval 60/);
      await expectReject(dataResample({ interval: '15', fromInterval: '5', input: path.join(dir, 'data/bybit/linear/BTCUSDT/1.csv'), out: 'x.csv' }, makeIo(dir)), PyrError, /--from-interval 5: .* 1 minutes apart, not 5/);
      await expectReject(dataResample({ interval: '7' }, makeIo(dir)), PyrError, /--interval: unknown interval "7"/);
      await expectReject(dataResample({ interval: '15', category: 'futures' }, makeIo(dir)), PyrError, /--category: "futures"/);
    });
  });
});

async function expectReject(p: Promise<unknown>, type: new (...a: never[]) => Error, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    expect((err as Error).message).to.match(re);
    return;
  }
  expect.fail(`expected a rejection matching ${re}`);
}
