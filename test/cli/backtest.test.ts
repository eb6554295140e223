/**
 * `pyr backtest` as a user runs it: defaults, flags, config layering, errors, determinism, no look-ahead,
 * warm-up independence, strategy files given by path. On the committed sample (data/sample: real Bybit
 * 15-minute candles, 2024-07-01 to 2024-08-31), except the warm-up check that needs months of history
 * before its range (../shared, gated).
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { D, lowerBound, type InstrumentRules } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { SimBroker } from '../../lib/brokers/sim/index.ts';
import { runBacktest } from '../../lib/engine/index.ts';
import { defaultsOf } from '../../lib/strategy/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';
import { DATA_15M, REPO, SAMPLE_15M, parseCsv, requireShared, runCli, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
let n = 0;
const outDir = () => path.join(tmp.dir, `run-${++n}`);

async function bt(args: string[], cwd = tmp.dir) {
  return runCli(['backtest', '--candles', SAMPLE_15M, ...args], cwd);
}

describe('pyr backtest (CLI)', function () {
  this.timeout(120_000);

  it('--json prints only the JSON summary, with the documented fields', async () => {
    const r = await bt(['--from', '2024-08-01', '--to', '2024-08-29', '--out', outDir(), '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout).metrics;
    for (const k of ['trades', 'wins', 'losses', 'winRate', 'netPnl', 'grossPnl', 'fees', 'maxDrawdown', 'maxDrawdownPct', 'sharpe', 'sortino', 'profitFactor', 'firstCandle', 'lastCandle', 'candles']) {
      expect(j, k).to.have.property(k);
    }
    expect(j.firstCandle).to.equal(Date.UTC(2024, 7, 1));
    expect(j.lastCandle).to.equal(Date.UTC(2024, 7, 29, 23, 45));
    expect(j.candles).to.equal(29 * 96);
    expect(j.wins + j.losses).to.equal(j.trades);
  });

  it('writes summary.json, trades.csv and equity.csv with the required columns', async () => {
    const dir = outDir();
    const r = await bt(['--from', '2024-08-01', '--to', '2024-08-10', '--out', dir]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Overall Trade Statistics: Total PnL: -?\$\d+\.\d\d, Win Rate: \d+\.\d\d% \(\d+\/\d+\)/);
    expect(r.stdout).to.not.match(/\x1b\[/);
    expect(readdirSync(dir).sort()).to.deep.equal(['equity.csv', 'summary.json', 'trades.csv']);
    const header = readFileSync(path.join(dir, 'trades.csv'), 'utf8').split('\n')[0]!.split(',');
    expect(header.slice(0, 13)).to.deep.equal(['id', 'side', 'entryTime', 'exitTime', 'entryPrice', 'exitPrice', 'qty', 'stopLoss', 'takeProfit', 'exitReason', 'fees', 'grossPnl', 'netPnl']);
    const trades = parseCsv(readFileSync(path.join(dir, 'trades.csv'), 'utf8'));
    expect(trades.length).to.be.greaterThan(5);
    for (const t of trades) {
      expect(['long', 'short']).to.include(t.side);
      expect(['signal', 'stop_loss', 'take_profit', 'end_of_data']).to.include(t.exitReason);
      expect(Number(t.entryTime)).to.be.at.least(Date.UTC(2024, 7, 1));
      // netPnl = grossPnl - fees (no funding.csv next to the sample's candles, and no --funding)
      expect(new D(t.grossPnl!).sub(t.fees!).toString()).to.equal(new D(t.netPnl!).toString());
    }
    const equity = parseCsv(readFileSync(path.join(dir, 'equity.csv'), 'utf8'));
    expect(equity).to.have.length(10);
  });

  it('--report also writes a self-contained report.html into the run folder', async () => {
    const dir = outDir();
    const r = await bt(['--from', '2024-08-01', '--to', '2024-08-03', '--out', dir, '--json', '--report']);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout).output;
    expect(j.report).to.equal(path.join(dir, 'report.html'));
    const html = readFileSync(j.report, 'utf8');
    expect(html).to.match(/^<!doctype html>/i);
    expect(html).to.not.match(/<script[^>]+src=/i);
  });

  it('two runs give identical results', async () => {
    const a = outDir();
    const b = outDir();
    await bt(['--from', '2024-08-01', '--to', '2024-08-30', '--out', a, '--json']);
    await bt(['--from', '2024-08-01', '--to', '2024-08-30', '--out', b, '--json']);
    expect(readFileSync(path.join(a, 'trades.csv'), 'utf8')).to.equal(readFileSync(path.join(b, 'trades.csv'), 'utf8'));
    expect(readFileSync(path.join(a, 'equity.csv'), 'utf8')).to.equal(readFileSync(path.join(b, 'equity.csv'), 'utf8'));
  });

  it('layers parameters: defaults, then pyr.config.json, then --param', async () => {
    const cwd = path.join(tmp.dir, 'layered');
    mkdirSync(cwd);
    writeFileSync(path.join(cwd, 'pyr.config.json'), JSON.stringify({ params: { oversold: 25, stopLossPct: 0.004 } }));
    const dir = outDir();
    const r = await bt(['--from', '2024-08-01', '--to', '2024-08-05', '--out', dir, '--json', '--param', 'stopLossPct=0.003', 'takeProfitPct=0.02'], cwd);
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    const params = s.meta?.params ?? s.params;
    expect(params.oversold).to.equal(25);
    expect(params.stopLossPct).to.equal(0.003);
    expect(params.takeProfitPct).to.equal(0.02);
    expect(params.overbought).to.equal(80);
    // Stops sit 0.3% from the entry, rounded to the 0.1 tick.
    for (const t of parseCsv(readFileSync(path.join(dir, 'trades.csv'), 'utf8'))) {
      const e = Number(t.entryPrice);
      const expected = t.side === 'long' ? e * 0.997 : e * 1.003;
      expect(Math.abs(Number(t.stopLoss) - expected)).to.be.at.most(0.05 + 1e-6);
    }
  });

  const errors: [string, string[], RegExp][] = [
    ['an unknown strategy', ['--strategy', 'stochrsi-scalpr'], /unknown strategy "stochrsi-scalpr" \(did you mean "stochrsi-scalper"\?\)/],
    ['an unknown parameter', ['--param', 'stopLosPct=0.01'], /unknown parameter "stopLosPct" \(did you mean "stopLossPct"\?\)/],
    ['a parameter of the wrong type', ['--param', 'oversold=low'], /oversold must be a number, got "low"/],
    ['a parameter out of range', ['--param', 'oversold=120'], /oversold must be <= 100/],
    ['--from after --to', ['--from', '2024-02-01', '--to', '2024-01-01'], /--from 2024-02-01 is after --to 2024-01-01/],
    ['a bad date', ['--from', '2024-02-30'], /--from: "2024-02-30" is not a real date/],
    ['a malformed date', ['--to', '01/02/2024'], /--to: expected a date as YYYY-MM-DD/],
    ['a range outside the data', ['--from', '2026-01-01', '--to', '2026-01-31'], /outside the data: the data covers 2024-07-01 00:00 to 2024-08-31 23:45 UTC/],
    ['a range starting before the data', ['--from', '2024-06-01', '--to', '2024-07-31'], /--from 2024-06-01 is before the first candle/],
    ['an unknown interval', ['--interval', '7'], /--interval: unknown interval "7"/],
    ['a wrong interval for the file', ['--interval', '5'], /holds 15-minute candles, not 5-minute ones/],
  ];
  for (const [what, args, message] of errors) {
    it(`rejects ${what} with one clear line and a non-zero exit`, async () => {
      const out = outDir();
      const r = await bt([...args, '--out', out]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(message);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(existsSync(out), 'nothing written').to.equal(false);
    });
  }

  it('says how to get missing data', async () => {
    const r = await runCli(['backtest', '--symbol', 'ETHUSDT', '--from', '2024-01-01', '--to', '2024-01-31', '--data-dir', path.join(tmp.dir, 'empty'), '--no-download'], tmp.dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/no ETHUSDT 15 candles in .*bybit\/linear\/ETHUSDT\/15\.csv; get them with `pyr download --symbol ETHUSDT --interval 15 --from 2024-01-01 --to 2024-01-31`/);
  });

  it('offline, says what is missing and which command fetches it', async () => {
    // The exchange cannot be reached (a closed local port): one clear line, non-zero exit, nothing written.
    const out = outDir();
    const r = await runCli(['backtest', '--symbol', 'ETHUSDT', '--from', '2024-01-01', '--to', '2024-01-31', '--data-dir', path.join(tmp.dir, 'empty2'), '--out', out, '--param', 'apiBackoffFactor=0.01'], tmp.dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/ETHUSDT 15 candles .* downloading them failed: .*`pyr download --symbol ETHUSDT --interval 15 --from 2023-12-2\d --to 2024-01-31`/);
    expect(existsSync(out)).to.equal(false);
  });

  it('runs a strategy given as a path to a .ts file, with no build step', async () => {
    const file = path.join(tmp.dir, 'always-long.ts');
    const lib = path.join(REPO, 'lib/strategy/index.ts');
    writeFileSync(
      file,
      `import { defineStrategy } from ${JSON.stringify(lib)};
export default defineStrategy({
  name: 'always-long',
  description: 'enters long whenever flat, every 10th candle',
  params: { every: { type: 'number', default: 10, min: 1, integer: true, description: 'candles between entries' } },
  warmup: () => 0,
  create(p) {
    let i = 0;
    return {
      onCandle(c, ctx) {
        i++;
        if (ctx.position.side === 'flat' && i % p.every === 0) return { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 100 }, stopLoss: { pct: 0.01 }, takeProfit: { pct: 0.01 }, reason: 'every ' + p.every };
      },
    };
  },
});
`,
    );
    const dir = outDir();
    const r = await bt(['--strategy', file, '--from', '2024-08-08', '--to', '2024-08-14', '--out', dir, '--json', '--param', 'every=20']);
    expect(r.code, r.stderr).to.equal(0);
    const trades = parseCsv(readFileSync(path.join(dir, 'trades.csv'), 'utf8'));
    expect(trades.length).to.be.greaterThan(3);
    // 100 USDT at 54,705-62,743 (that week's lowest low and highest high in the file), rounded down to 0.001
    expect(trades.every((t) => t.side === 'long' && t.qty === '0.001')).to.equal(true);

    // The same file through the installed command (compiled pyr when dist/ is fresh: tsx is loaded for the file).
    const { spawnSync } = await import('node:child_process');
    const dir2 = outDir();
    const p = spawnSync(process.execPath, [path.join(REPO, 'bin/pyr'), 'backtest', '--candles', SAMPLE_15M, '--strategy', file, '--from', '2024-08-08', '--to', '2024-08-14', '--out', dir2, '--json', '--param', 'every=20'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(p.status, p.stderr).to.equal(0);
    expect(readFileSync(path.join(dir2, 'trades.csv'), 'utf8')).to.equal(readFileSync(path.join(dir, 'trades.csv'), 'utf8'));
  });
});

describe('decisions: no look-ahead and no dependence on history length', function () {
  this.timeout(120_000);
  const rules: InstrumentRules = { symbol: 'BTCUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.001'), minQty: new D('0.001'), minNotional: new D(5), source: 'test' };
  const fillModel = { slippageBps: 0, takerFee: 0.00055, makerFee: 0.0002, minQtyPolicy: 'raise' } as const;
  const params = defaultsOf(seed.params);
  const meta = { runId: 't', strategy: seed.name, symbol: 'BTCUSDT', category: 'linear', interval: '15' as const, params, rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '5', source: 'test' }, fillModel, initialBalance: 1000, funding: { charged: false, detail: '' }, source: 'x' };

  function decisions(series: Awaited<ReturnType<typeof readCandleFile>>['series'], from: number, to: number, warmup: number): string[] {
    const out: string[] = [];
    runBacktest({ definition: seed, params, series, broker: new SimBroker({ rules, fillModel, initialBalance: 1000 }), from, to, warmup, meta, onDecision: (d) => out.push(JSON.stringify(d)) });
    return out;
  }

  it('adding candles after a point never changes decisions before it', async () => {
    const { series } = await readCandleFile(SAMPLE_15M);
    const from = Date.UTC(2024, 6, 6); // 480 candles into the sample: room for the 400 of warm-up
    const cut = Date.UTC(2024, 7, 1);
    const short = decisions(series, from, cut, 400);
    const long = decisions(series, from, Date.UTC(2024, 7, 31), 400);
    expect(short.length).to.be.greaterThan(100);
    expect(long.slice(0, short.length)).to.deep.equal(short);
    expect(long.length).to.be.greaterThan(short.length);
  });

  it('more history before --from does not change decisions after the declared warm-up', async function () {
    // Six months of history before a three-month range: the 21-month file only.
    requireShared(this, DATA_15M);
    const { series } = await readCandleFile(DATA_15M);
    const from = Date.UTC(2024, 5, 1);
    const to = Date.UTC(2024, 8, 1);
    const declared = seed.warmup(params);
    const all = lowerBound(series, from); // every candle since 2023-12-01
    expect(all).to.be.greaterThan(declared * 10);
    const a = decisions(series, from, to, declared);
    const b = decisions(series, from, to, all);
    expect(a.length).to.be.greaterThan(100);
    expect(a).to.deep.equal(b);
  });
});

describe('pyr backtest: sized as configured (issue 11)', function () {
  this.timeout(120_000);
  // The close of the range's first candle (2024-08-05 00:00 UTC), read from the file here: 57433.9.
  const first = parseCsv(readFileSync(SAMPLE_15M, 'utf8')).find((r) => Number(r.timestamp) === Date.UTC(2024, 7, 5))!;
  const range = ['--from', '2024-08-05', '--to', '2024-08-09'];

  it('qtyStep=0.01 minQty=0.01: the console warns with the figure, and every trade is 0.01', async () => {
    expect(first.close).to.equal('57433.9');
    const dir = outDir();
    const r = await bt([...range, '--out', dir, '--param', 'qtyStep=0.01', 'minQty=0.01']);
    expect(r.code, r.stderr).to.equal(0);
    // 0.01 x 57433.9 = 574.339 -> 574.34 USDT; 574.339 / 10 = 57.43 -> 57.4x.
    expect(r.stdout).to.contain('  - the minimum qty 0.01 BTCUSDT ≈ 574.34 USDT at 57433.9 is 57.4× usdtAmountPerTrade 10 USDT; every entry will be that size (minQtyPolicy "raise"); set minQtyPolicy=skip to refuse such entries');
    const trades = parseCsv(readFileSync(path.join(dir, 'trades.csv'), 'utf8'));
    expect(trades.length).to.be.greaterThan(0);
    expect(trades.every((t) => t.qty === '0.01')).to.equal(true);
  });

  it('the default BTCUSDT rules (qty step 0.001) at 10 USDT warn too: 5.7×', async () => {
    const r = await bt([...range, '--out', outDir(), '--json']);
    expect(r.code, r.stderr).to.equal(0);
    // 0.001 x 57433.9 = 57.4339 -> 57.43 USDT; / 10 = 5.74 -> 5.7x.
    expect(JSON.parse(r.stdout).meta.notices).to.include('the minimum qty 0.001 BTCUSDT ≈ 57.43 USDT at 57433.9 is 5.7× usdtAmountPerTrade 10 USDT; every entry will be that size (minQtyPolicy "raise"); set minQtyPolicy=skip to refuse such entries');
    // 100 USDT: 100 / 57433.9 = 0.00174 -> 0.001, not raised: no warning.
    const r2 = await bt([...range, '--out', outDir(), '--json', '--param', 'usdtAmountPerTrade=100']);
    expect(JSON.parse(r2.stdout).meta.notices.join('\n')).to.not.contain('the minimum qty');
  });

  it('maxPositionNotional=50 (bin/pyr): no trade, and the report says why with the figure', async () => {
    const { spawnSync } = await import('node:child_process');
    const dir = outDir();
    const p = spawnSync(process.execPath, [path.join(REPO, 'bin/pyr'), 'backtest', '--candles', SAMPLE_15M, ...range, '--out', dir, '--param', 'qtyStep=0.01', 'minQty=0.01', 'maxPositionNotional=50'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(p.status, p.stderr).to.equal(0);
    expect(parseCsv(readFileSync(path.join(dir, 'trades.csv'), 'utf8'))).to.have.length(0);
    expect(p.stdout).to.match(/Trades\s+0 /);
    expect(p.stdout).to.match(/^ {2}- \d+ x guard: sized notional \d+\.\d+ USDT \(qty 0\.01 at \d+(\.\d)?, raised to the minimum qty\) is above maxPositionNotional 50 \(figures of the first\)$/m);
    expect(p.stdout).to.contain('the minimum qty 0.01 BTCUSDT ≈ 574.34 USDT at 57433.9 is 57.4×');
  });

  it('minQtyPolicy=skip: no trade, and the report says why', async () => {
    const dir = outDir();
    const r = await bt([...range, '--out', dir, '--param', 'qtyStep=0.01', 'minQty=0.01', 'minQtyPolicy=skip']);
    expect(r.code, r.stderr).to.equal(0);
    expect(parseCsv(readFileSync(path.join(dir, 'trades.csv'), 'utf8'))).to.have.length(0);
    expect(r.stdout).to.contain('  - the minimum qty 0.01 BTCUSDT ≈ 574.34 USDT at 57433.9 is 57.4× usdtAmountPerTrade 10 USDT; such entries are refused (minQtyPolicy "skip"): no entry of that size will be made');
    expect(r.stdout).to.match(/^ {2}- \d+ x order rejected: qty 0\.000\d+ is below the minimum 0\.01 \(minQtyPolicy "skip"\) \(figures of the first\)$/m);
  });
});
