import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataFrame } from 'danfojs-node';
import { loadCandles, seriesToDataFrame } from '../../lib/data/dataframe.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { equityToDataFrame, tradesToDataFrame } from '../../lib/report/index.ts';
import { lowerBound, seriesFromCandles, type RunRecord } from '../../lib/core/index.ts';
import { simBrokerFor } from '../../lib/brokers/sim/index.ts';
import { runSpec } from '../../lib/engine/index.ts';
import { resolveRunSpec } from '../../lib/config/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';
import { DATA_15M, SAMPLE_15M, requireShared } from '../helpers.ts';
import { T0, trade } from '../report/fixtures.ts';

const COLUMNS = ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const;

const col = (df: DataFrame, name: string) => df.column(name).values as number[];
/** The CSV's data rows as their text fields. */
const csvRows = (f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));

/** Counts cells whose number is not exactly the wanted one; reports the first. */
function mismatches(got: readonly unknown[], want: readonly number[], what: string): string[] {
  const bad: string[] = [];
  if (got.length !== want.length) return [`${what}: ${got.length} values, want ${want.length}`];
  want.forEach((w, i) => {
    if (!Object.is(got[i], w)) bad.push(`${what}[${i}]: got ${String(got[i])}, want ${w}`);
  });
  return bad;
}

describe('data/dataframe (danfo, loaded lazily)', function () {
  this.timeout(60_000);
  let cacheHome: string;
  let savedXdg: string | undefined;
  before(() => {
    savedXdg = process.env.XDG_CACHE_HOME;
    cacheHome = fs.mkdtempSync(path.join(os.tmpdir(), 'pyr-df-cache-'));
    process.env.XDG_CACHE_HOME = cacheHome;
  });
  after(() => {
    if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedXdg;
    fs.rmSync(cacheHome, { recursive: true, force: true });
  });

  it('loads the shared 15m file into a DataFrame with 61,440 rows and the candle columns', async function () {
    requireShared(this, DATA_15M);
    const file = DATA_15M;
    const df = await loadCandles(file);
    expect(df.shape).to.deep.equal([61_440, 7]);
    expect(df.columns).to.deep.equal(['timestamp', 'open', 'high', 'low', 'close', 'volume', 'turnover']);
    // first and last rows against the file's own text
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const firstRow = lines[1]!.split(',');
    const lastRow = lines.at(-1)!.split(',');
    expect(col(df, 'timestamp')[0]).to.equal(Number(firstRow[0]));
    expect(col(df, 'close')[0]).to.equal(Number(firstRow[4]));
    expect(col(df, 'timestamp')[61_439]).to.equal(Number(lastRow[0]));
    expect(col(df, 'volume')[61_439]).to.equal(Number(lastRow[5]));
    expect(Number.isNaN(col(df, 'turnover')[0])).to.equal(true);
  });

  it('every timestamp and OHLCV value of the committed sample reads back exactly as in the CSV (columns, rows, head, toCSV)', async () => {
    const rows = csvRows(SAMPLE_15M);
    const df = await loadCandles(SAMPLE_15M);
    expect(df.shape).to.deep.equal([rows.length, 7]);
    const bad: string[] = [];
    const matrix = df.values as number[][];
    COLUMNS.forEach((name, k) => {
      const want = rows.map((r) => Number(r[k]));
      bad.push(...mismatches(col(df, name), want, name));
      bad.push(...mismatches(matrix.map((r) => r[k]), want, `values/${name}`));
      // the CSV holds each number in its shortest form, so the text comes back too
      const texts = col(df, name).map(String);
      rows.forEach((r, i) => texts[i] !== r[k] && bad.push(`${name}[${i}] as text: ${texts[i]} vs ${r[k]}`));
    });
    const head = df.head(3).values as number[][];
    bad.push(...mismatches(head.map((r) => r[0]), rows.slice(0, 3).map((r) => Number(r[0])), 'head/timestamp'));
    const dfd = (await import('danfojs-node')) as typeof import('danfojs-node') & { default?: typeof import('danfojs-node') };
    const csvBack = ((dfd.toCSV ?? dfd.default!.toCSV)(df) as string).trim().split('\n').slice(1);
    rows.forEach((r, i) => {
      if (csvBack[i]!.split(',').slice(0, 6).join(',') !== r.slice(0, 6).join(',')) bad.push(`toCSV row ${i}: ${csvBack[i]}`);
    });
    expect(bad.length, bad.slice(0, 5).join('\n')).to.equal(0);
  });

  it('numeric columns are labelled float32, never int32, so a column tensor does not wrap epoch-ms times or truncate prices', async () => {
    // 30 candles with whole-number prices first (danfo infers a label from the first 20 rows), then 0.5 steps
    const candles = Array.from({ length: 40 }, (_, i) => {
      const p = i < 30 ? 40_000 + i : 40_000 + i + 0.5;
      return { openTime: 1701388800000 + i * 900_000, open: p, high: p + 1, low: p - 1, close: p, volume: 2, turnover: NaN };
    });
    const df = await seriesToDataFrame(seriesFromCandles(candles));
    expect(df.dtypes).to.deep.equal(Array(7).fill('float32'));
    // TensorFlow.js has no float64: a tensor holds the nearest float32, never a wrapped int32 or a truncated value
    const ts = Array.from(df.column('timestamp').tensor.dataSync() as Float32Array);
    expect(ts[0], 'int32 would give 581750784').to.equal(Math.fround(1701388800000));
    const close = Array.from(df.column('close').tensor.dataSync() as Float32Array);
    expect(close[35], 'int32 would truncate 40035.5').to.equal(40035.5);
    // while the cells themselves stay exact
    expect(col(df, 'timestamp')[39]).to.equal(1701388800000 + 39 * 900_000);

    const sample = await loadCandles(SAMPLE_15M);
    expect(sample.dtypes).to.deep.equal(Array(7).fill('float32'));
    expect(sample.head(2).dtypes, 'derived frames keep the labels').to.deep.equal(Array(7).fill('float32'));
  });

  it('an empty series gives an empty frame with the candle columns', async () => {
    const df = await seriesToDataFrame(seriesFromCandles([]));
    expect(df.shape[0]).to.equal(0);
    expect(df.columns).to.deep.equal(['timestamp', 'open', 'high', 'low', 'close', 'volume', 'turnover']);
  });
});

describe('report/dataframe on a real run: trades and equity read back exactly', function () {
  this.timeout(60_000);
  let record: RunRecord;
  let rows: string[][];

  before(async () => {
    const { series } = await readCandleFile(SAMPLE_15M, { cache: false });
    rows = csvRows(SAMPLE_15M);
    const spec = resolveRunSpec({ definition: seed, strategyFile: 'stochrsi-scalper', instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, interval: '15', layers: [] });
    const from = Date.UTC(2024, 7, 1);
    // Every candle before August warms the strategy up.
    ({ record } = runSpec(spec, { series, source: SAMPLE_15M, funding: { none: 'none' } }, simBrokerFor(spec), { runId: 'test', from, to: series.openTime[series.length - 1]! + 900_000, warmup: lowerBound(series, from) }));
  });

  it('tradesToDataFrame: every time, price, qty, fee and PnL equals the trade’s own value', async () => {
    const trades = record.trades;
    expect(trades.length, 'the seed strategy trades August 2024').to.be.greaterThan(5);
    const df = await tradesToDataFrame(trades);
    const bad: string[] = [];
    for (const name of ['signalTime', 'entryTime', 'exitTime'] as const) bad.push(...mismatches(col(df, name), trades.map((t) => t[name]), name));
    for (const name of ['entryPrice', 'exitPrice', 'qty', 'entryFee', 'exitFee', 'fees', 'funding', 'grossPnl', 'netPnl'] as const) {
      bad.push(...mismatches(col(df, name), trades.map((t) => Number(t[name].toString())), name));
    }
    bad.push(...mismatches(col(df, 'stopLoss'), trades.map((t) => (t.stopLoss === undefined ? NaN : Number(t.stopLoss.toString()))), 'stopLoss'));
    // prices are on the 0.1 tick: their text comes back too
    trades.forEach((t, i) => String(col(df, 'entryPrice')[i]) !== t.entryPrice.toString() && bad.push(`entryPrice[${i}] text`));
    // and the times are the CSV's candle open times
    const times = new Set(rows.map((r) => Number(r[0])));
    for (const name of ['signalTime', 'entryTime'] as const) col(df, name).forEach((t, i) => !times.has(t) && bad.push(`${name}[${i}] ${t} is not a CSV timestamp`));
    expect(bad.length, bad.slice(0, 5).join('\n')).to.equal(0);
    const numeric = df.dtypes.filter((d, k) => d === 'int32' && df.columns[k] !== 'id');
    expect(numeric, 'no time or money column is labelled int32').to.deep.equal([]);
  });

  it('equityToDataFrame: timestamps and closes equal the CSV’s, equity equals the run’s, per candle and per day', async () => {
    const df = await equityToDataFrame(record);
    const start = rows.findIndex((r) => Number(r[0]) === record.times[0]);
    expect(start).to.be.greaterThan(0);
    const inRange = rows.slice(start, start + record.times.length);
    const bad = [
      ...mismatches(col(df, 'timestamp'), inRange.map((r) => Number(r[0])), 'timestamp'),
      ...mismatches(col(df, 'close'), inRange.map((r) => Number(r[4])), 'close'),
      ...mismatches(col(df, 'equity'), Array.from(record.equity), 'equity'),
    ];
    expect(bad.length, bad.slice(0, 5).join('\n')).to.equal(0);
    expect(df.dtypes).to.deep.equal(Array(4).fill('float32'));
    expect(Array.from(df.column('timestamp').tensor.dataSync() as Float32Array)[0], 'not wrapped to int32').to.equal(Math.fround(record.times[0]!));

    const daily = await equityToDataFrame(record, { daily: true });
    const days = col(daily, 'timestamp');
    expect(days[0]).to.equal(Date.UTC(2024, 7, 1));
    expect(days.every((t, i) => t === Date.UTC(2024, 7, 1 + i))).to.equal(true);
    expect(daily.dtypes).to.deep.equal(Array(5).fill('float32'));
  });

  it('whole-number money in the first rows does not make a column int32 (its tensor would truncate 2.5 to 2)', async () => {
    const trades = Array.from({ length: 25 }, (_, i) => trade(i + 1, { net: i < 22 ? String(i - 10) : '2.5', entryTime: T0 + i * 600_000 }));
    const df = await tradesToDataFrame(trades);
    expect(Array.from(df.column('netPnl').tensor.dataSync() as Float32Array).at(-1)).to.equal(2.5);
    expect(Array.from(df.column('entryTime').tensor.dataSync() as Float32Array)[0]).to.equal(Math.fround(T0));
    expect(col(df, 'entryTime')[24]).to.equal(T0 + 24 * 600_000);
  });
});
