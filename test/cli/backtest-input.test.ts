/**
 * pyr backtest as a new user meets it: the sample, --json against summary.json, a reused --out folder,
 * offline ranges, config syntax errors, candle files of other intervals, and funding in words.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { D } from '../../lib/core/index.ts';
import { fundingNet } from '../../lib/engine/index.ts';
import { SAMPLE_15M, SAMPLE_FUNDING, runCli, tempDir } from '../helpers.ts';

function candleCsv(stepMs: number, n: number, start = Date.UTC(2024, 0, 1)): string {
  const rows = ['timestamp,open,high,low,close,volume,turnover'];
  for (let i = 0; i < n; i++) {
    const c = 100 + 5 * Math.sin(i / 7);
    const o = 100 + 5 * Math.sin((i - 1) / 7);
    rows.push(`${start + i * stepMs},${o.toFixed(2)},${(Math.max(o, c) + 0.5).toFixed(2)},${(Math.min(o, c) - 0.5).toFixed(2)},${c.toFixed(2)},1,`);
  }
  return `${rows.join('\n')}\n`;
}

describe('pyr backtest: what a new user meets', function () {
  this.timeout(120_000);
  const tmp = tempDir('pyr-bt-input-');
  after(() => tmp.cleanup());
  let n = 0;
  const out = () => path.join(tmp.dir, `run-${++n}`);

  it('--sample runs on the committed real candles and charges their funding, with no network', async () => {
    const dir = out();
    const r = await runCli(['backtest', '--sample', '--out', dir, '--json'], tmp.dir, { PYR_BYBIT_REST_URL: 'http://127.0.0.1:9' });
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout);
    expect(j.meta.source).to.equal(SAMPLE_15M);
    expect(j.meta.symbol).to.equal('BTCUSDT');
    expect(j.meta.interval).to.equal('15');
    expect(j.meta.funding.charged).to.equal(true);
    expect(j.meta.funding.detail).to.include(SAMPLE_FUNDING);
    expect(j.metrics.firstCandle).to.be.at.least(Date.UTC(2024, 6, 1));
    expect(j.metrics.lastCandle).to.equal(Date.UTC(2024, 7, 31, 23, 45));
    expect(j.metrics.trades).to.be.greaterThan(100);
  });

  it('--sample refuses a file, store or symbol of its own', async () => {
    for (const [args, msg] of [
      [['--candles', SAMPLE_15M], /--sample and --candles cannot be used together/],
      [['--symbol', 'ETHUSDT'], /--symbol: the sample holds BTCUSDT only/],
      [['--interval', '5'], /--interval: the sample holds 15-minute candles only/],
    ] as const) {
      const r = await runCli(['backtest', '--sample', ...args, '--out', out()], tmp.dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(msg);
    }
  });

  it('--json prints exactly the summary.json document, plus where the files are', async () => {
    const dir = out();
    const r = await runCli(['backtest', '--sample', '--from', '2024-08-01', '--to', '2024-08-10', '--out', dir, '--json'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const printed = JSON.parse(r.stdout);
    const file = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(printed.output).to.deep.equal({ dir, summary: path.join(dir, 'summary.json'), trades: path.join(dir, 'trades.csv'), equity: path.join(dir, 'equity.csv') });
    delete printed.output;
    expect(printed).to.deep.equal(file);
    // The settings a script needs are in it: parameters, fill model, source, warm-up.
    expect(file.meta.params.stopLossPct).to.equal(0.005);
    expect(file.meta.fillModel.takerFee).to.equal(0.00055);
    expect(file.meta.source).to.equal(SAMPLE_15M);
    expect(file.meta.warmupCandles).to.be.greaterThan(0);
    expect(file.metrics.netPnlExact).to.be.a('string');
  });

  it('a run into an existing --out folder leaves no report.html of an earlier run', async () => {
    const dir = out();
    const first = await runCli(['backtest', '--sample', '--from', '2024-08-01', '--to', '2024-08-03', '--out', dir, '--report'], tmp.dir);
    expect(first.code, first.stderr).to.equal(0);
    expect(existsSync(path.join(dir, 'report.html'))).to.equal(true);
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const second = await runCli(['backtest', '--sample', '--from', '2024-08-05', '--to', '2024-08-06', '--out', dir], tmp.dir);
    expect(second.code, second.stderr).to.equal(0);
    // The user's own file stays; pyr's stale page does not.
    expect(readdirSync(dir).sort()).to.deep.equal(['equity.csv', 'notes.txt', 'summary.json', 'trades.csv']);
  });

  it('--no-download with a range outside the store names the pyr download command that fetches it', async () => {
    const store = path.join(tmp.dir, 'store');
    mkdirSync(path.join(store, 'bybit/linear/BTCUSDT'), { recursive: true });
    writeFileSync(path.join(store, 'bybit/linear/BTCUSDT/15.csv'), candleCsv(900_000, 96 * 10));
    const r = await runCli(['backtest', '--data-dir', store, '--from', '2024-03-01', '--to', '2024-03-05', '--no-download', '--out', out()], tmp.dir);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/outside the data/);
    expect(r.stderr).to.include('`pyr download --symbol BTCUSDT --interval 15 --from 2024-02-');
    expect(r.stderr).to.include('--to 2024-03-05`');
  });

  it('a config file with a JSON syntax error is reported at its line and column', async () => {
    const cwd = path.join(tmp.dir, 'badconfig');
    mkdirSync(cwd);
    // Column 26 is the 2 of 25, where a ':' was expected.
    writeFileSync(path.join(cwd, 'pyr.config.json'), '{\n  "symbol": "BTCUSDT",\n  "params": { "oversold" 25 }\n}\n');
    const r = await runCli(['backtest', '--sample', '--out', out()], cwd);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(`${path.join(cwd, 'pyr.config.json')}: line 3, column 26: not valid JSON`);
    writeFileSync(path.join(cwd, 'pyr.config.json'), '{\n  "symbol": "BTCUSDT",\n');
    const cut = await runCli(['backtest', '--sample', '--out', out()], cwd);
    expect(cut.code).to.equal(2);
    expect(cut.stderr).to.match(/pyr\.config\.json: line 3, column 1: not valid JSON/);
  });

  it('--candles without --interval takes the interval the file holds', async () => {
    const file = path.join(tmp.dir, 'five.csv');
    writeFileSync(file, candleCsv(300_000, 288 * 4));
    const dir = out();
    const r = await runCli(['backtest', '--candles', file, '--out', dir, '--json'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout);
    expect(j.meta.interval).to.equal('5');
    expect(j.metrics.candles).to.be.greaterThan(0);
    const wrong = await runCli(['backtest', '--candles', file, '--interval', '15', '--out', out()], tmp.dir);
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.match(/--interval 15: .* holds 5-minute candles/);
  });

  it('funding is worded without a double negative', () => {
    expect(fundingNet(new D('-0.72'))).to.equal('net 0.72 USDT received');
    expect(fundingNet(new D('0.5'))).to.equal('net 0.5 USDT paid');
    expect(fundingNet(new D(0))).to.equal('net 0 USDT');
  });
});
