/**
 * `pyr backtest` completes the candle store by itself from the exchange (here: the local exchange),
 * for its range plus the strategy's warm-up, and then gives the same result as on the source file (the
 * committed sample of real Bybit candles, data/sample).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCandleFile } from '../../lib/data/csv.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import { SAMPLE_15M, runCli, tempDir } from '../helpers.ts';

describe('pyr backtest downloads missing candles', function () {
  this.timeout(120_000);
  const tmp = tempDir('pyr-btdl-');
  let ex: Sandbox;
  before(async () => {
    const { series } = await readCandleFile(SAMPLE_15M);
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: Date.UTC(2024, 7, 20) });
  });
  after(async () => {
    await ex?.stop();
    tmp.cleanup();
  });

  it('fetches the range plus warm-up once, then runs offline with the same trades as the source file', async () => {
    const env = { PYR_BYBIT_REST_URL: ex.restUrl };
    const dataDir = path.join(tmp.dir, 'data');
    const a = path.join(tmp.dir, 'a');
    const r1 = await runCli(['backtest', '--data-dir', dataDir, '--from', '2024-08-01', '--to', '2024-08-10', '--out', a, '--json'], tmp.dir, env);
    expect(r1.code, r1.stderr).to.equal(0);
    const s1 = JSON.parse(r1.stdout);
    expect(s1.meta.notices.join('\n')).to.match(/downloaded \d+ missing candles/);
    // The warm-up (434 candles of 15 minutes, ~4.5 days) was fetched too: the store starts before the range.
    const { series } = await readCandleFile(path.join(dataDir, 'bybit/linear/BTCUSDT/15.csv'));
    expect(series.openTime[0]).to.be.at.most(Date.UTC(2024, 7, 1) - 434 * 15 * 60_000);
    // Offline now: the second run needs nothing from the exchange.
    const b = path.join(tmp.dir, 'b');
    const r2 = await runCli(['backtest', '--data-dir', dataDir, '--from', '2024-08-01', '--to', '2024-08-10', '--out', b, '--json'], tmp.dir, { PYR_BYBIT_REST_URL: 'http://127.0.0.1:9' });
    expect(r2.code, r2.stderr).to.equal(0);
    expect(JSON.parse(r2.stdout).meta.notices.join('\n')).to.not.match(/downloaded/);
    // Same trades as a run on the source file itself.
    const c = path.join(tmp.dir, 'c');
    const r3 = await runCli(['backtest', '--candles', SAMPLE_15M, '--from', '2024-08-01', '--to', '2024-08-10', '--out', c, '--json'], tmp.dir);
    expect(r3.code, r3.stderr).to.equal(0);
    expect(readFileSync(path.join(b, 'trades.csv'), 'utf8')).to.equal(readFileSync(path.join(c, 'trades.csv'), 'utf8'));
    expect(readFileSync(path.join(a, 'trades.csv'), 'utf8')).to.equal(readFileSync(path.join(c, 'trades.csv'), 'utf8'));
  });
});
