import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { D } from '../../lib/core/index.ts';
import { computeMetrics, csvField, plainNumber, toJson, writeFileAtomic, writeRunFiles } from '../../lib/report/index.ts';
import { DAY, HOUR, MIN, T0, grid, makeRun, trade } from './fixtures.ts';

const REQUIRED = 'id,side,entryTime,exitTime,entryPrice,exitPrice,qty,stopLoss,takeProfit,exitReason,fees,grossPnl,netPnl';

describe('report/files writeRunFiles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pyr-report-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // Two trades: a dust fee that decimal.js's toString() would print as 5.5e-8, more digits than a
  // float holds, a reason with a comma and quotes, an ambiguous stop with its counterfactual.
  const trades = [
    trade(1, {
      net: '-1.234567890123456789012',
      fees: '0.00000011',
      entryFee: '0.000000055',
      side: 'short',
      exitReason: 'stop_loss',
      entryTime: T0 + 10 * MIN,
      exitTime: T0 + 20 * MIN,
      stopLoss: '101.5',
      takeProfit: '98.25',
      entryReason: 'k crossed d, k<20 "oversold"',
      exitDetail: 'stop 101.5\nhit',
      ambiguous: true,
      ifTargetFirst: '2.5',
    }),
    trade(2, { net: '3', fees: '0.2', entryTime: T0 + DAY + HOUR, exitTime: T0 + DAY + 2 * HOUR }),
  ];
  // Hourly candles over three UTC days (72 candles).
  const times = grid(T0, 72, HOUR);
  const equity = times.map((_, i) => (i < 24 ? 1000 - i : i < 48 ? 990 + (i - 24) : 1001.765432109876));
  const run = makeRun({ times, equity, trades, intervalMs: HOUR });

  it('writes the three files atomically, leaving no .tmp file', async () => {
    const paths = await writeRunFiles(join(dir, 'nested', 'run'), run, computeMetrics(run));
    expect(paths.summary).to.equal(join(dir, 'nested', 'run', 'summary.json'));
    expect((await readdir(join(dir, 'nested', 'run'))).sort()).to.deep.equal(['equity.csv', 'summary.json', 'trades.csv']);
    // Writing again over existing files works and still leaves nothing behind.
    await writeRunFiles(join(dir, 'nested', 'run'), run, computeMetrics(run));
    expect((await readdir(join(dir, 'nested', 'run'))).sort()).to.deep.equal(['equity.csv', 'summary.json', 'trades.csv']);
  });

  it('trades.csv: required columns first, exact money strings, no exponent, quoted reasons', async () => {
    const paths = await writeRunFiles(dir, run, computeMetrics(run));
    const text = await readFile(paths.trades, 'utf8');
    const header = text.split('\n')[0]!;
    expect(header.startsWith(REQUIRED + ',')).to.equal(true);
    expect(header).to.equal(
      REQUIRED +
        ',signalTime,entryFee,exitFee,funding,entryReason,exitDetail,ambiguous,netPnlIfTargetFirst,qtyRaisedToMin,entryTimeIso,exitTimeIso,equityAfter,entryOrderType,entryLiquidity,positionId',
    );
    expect(text).not.to.match(/\de[-+]?\d/i);

    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows).to.have.length(2);
    const [a, b] = rows as [Record<string, string>, Record<string, string>];
    expect(a.id).to.equal('1');
    expect(a.side).to.equal('short');
    // Issue 12's columns: a trade without them (a market entry before order types) reads as a market
    // taker entry that is a position of its own.
    expect([a.entryOrderType, a.entryLiquidity]).to.deep.equal(['market', 'taker']);
    expect(a.positionId).to.equal(a.id);
    expect(a.entryTime).to.equal(String(T0 + 10 * MIN));
    expect(a.exitTime).to.equal(String(T0 + 20 * MIN));
    expect(a.entryPrice).to.equal('100');
    expect(a.qty).to.equal('0.01');
    expect(a.stopLoss).to.equal('101.5');
    expect(a.takeProfit).to.equal('98.25');
    expect(a.exitReason).to.equal('stop_loss');
    expect(a.fees).to.equal('0.00000011');
    expect(a.entryFee).to.equal('0.000000055');
    expect(a.exitFee).to.equal('0.000000055'); // 0.00000011 − 0.000000055
    expect(a.netPnl).to.equal('-1.234567890123456789012');
    // gross = net + fees = −1.234567890123456789012 + 0.00000011
    expect(a.grossPnl).to.equal('-1.234567780123456789012');
    expect(a.funding).to.equal('0');
    expect(a.entryReason).to.equal('k crossed d, k<20 "oversold"');
    expect(a.exitDetail).to.equal('stop 101.5\nhit');
    expect(a.ambiguous).to.equal('true');
    expect(a.netPnlIfTargetFirst).to.equal('2.5');
    expect(a.entryTimeIso).to.equal('2024-01-01T00:10:00.000Z');
    // 1000 − 1.234567890123456789012
    expect(a.equityAfter).to.equal('998.765432109876543210988');
    expect(b.stopLoss).to.equal('');
    expect(b.netPnlIfTargetFirst).to.equal('');
    expect(b.ambiguous).to.equal('false');
    expect(b.equityAfter).to.equal('1001.765432109876543210988'); // + 3
    // The raw line quotes the reason (comma, doubled quotes) and the detail (line break).
    expect(text).to.contain('"k crossed d, k<20 ""oversold"""');
  });

  it('equity.csv: one row per UTC day with day-end equity, drawdown and daily return', async () => {
    const paths = await writeRunFiles(dir, run, computeMetrics(run));
    const lines = (await readFile(paths.equity, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).to.equal('timestamp,equity,drawdown,drawdownPct,dailyReturn');
    expect(lines).to.have.length(4); // header + 3 days
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.map((r) => Number(r[0]))).to.deep.equal([T0, T0 + DAY, T0 + 2 * DAY]);
    // Day 1: hourly 1000, 999, …, 977 → ends at 977; peak is the initial 1000 → drawdown 23 (2.3%)
    expect(rows[0]!.slice(1)).to.deep.equal(['977', '23', '2.3', '-0.023']); // 977 / 1000 − 1
    // Day 2: 990 … 1013; the running peak stays 1000 until 1000 is reached again; deepest fall
    // that day is at its first candle: 1000 − 990 = 10 (1%)
    expect(rows[1]![1]).to.equal('1013');
    expect(rows[1]![2]).to.equal('10');
    expect(rows[1]![3]).to.equal('1');
    // 1013 / 977 − 1 = 36 / 977 = 0.036847492323439… → 10 decimals
    expect(rows[1]![4]).to.equal('0.0368474923');
    // Day 3: flat 1001.765432109876 → 10 decimals 1001.7654321099 (float noise dropped);
    // below the day-2 peak 1013 by 11.234567890124 → 11.2345678901
    expect(rows[2]![1]).to.equal('1001.7654321099');
    expect(rows[2]![2]).to.equal('11.2345678901');
  });

  it('summary.json holds the metrics and the run meta', async () => {
    const m = computeMetrics(run);
    const paths = await writeRunFiles(dir, run, m);
    const json = JSON.parse(await readFile(paths.summary, 'utf8'));
    expect(json.runId).to.equal('test-run-1');
    expect(json.meta.symbol).to.equal('BTCUSDT');
    expect(json.meta.fillModel.takerFee).to.equal(0.00055);
    // −1.234567890123456789012 + 3
    expect(json.metrics.netPnlExact).to.equal('1.765432109876543210988');
    expect(json.metrics.feesExact).to.equal('0.20000011'); // 0.00000011 + 0.2
    expect(json.metrics.trades).to.equal(2);
  });

  it('toJson prints Decimals in plain notation, bigints as strings, non-finite numbers as null', () => {
    const text = toJson({ fee: new D('0.000000055'), nested: [new D('-1e-9')], big: 10n, nan: NaN, inf: -Infinity });
    expect(JSON.parse(text)).to.deep.equal({ fee: '0.000000055', nested: ['-0.000000001'], big: '10', nan: null, inf: null });
  });

  it('writeFileAtomic removes its temp file when the rename fails', async () => {
    const target = join(dir, 'occupied');
    await mkdir(join(target, 'inside'), { recursive: true }); // a non-empty directory: rename onto it fails
    let failed = false;
    await writeFileAtomic(target, 'x').catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(await readdir(dir)).to.deep.equal(['occupied']);
  });

  it('csvField quotes only when needed; plainNumber never uses an exponent', () => {
    expect(csvField('plain')).to.equal('plain');
    expect(csvField('a,b')).to.equal('"a,b"');
    expect(csvField('say "hi"')).to.equal('"say ""hi"""');
    expect(csvField('two\nlines')).to.equal('"two\nlines"');
    expect(plainNumber(5.5e-8)).to.equal('0.000000055');
    expect(plainNumber(1e21)).to.equal('1000000000000000000000');
    expect(plainNumber(NaN)).to.equal('');
    expect(plainNumber(0.17470000000002983, 10)).to.equal('0.1747');
    expect(plainNumber(1001.0638830099999, 10)).to.equal('1001.06388301');
  });
});
