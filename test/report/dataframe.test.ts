import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { equityToDataFrame, tradesToDataFrame } from '../../lib/report/index.ts';
import { HOUR, T0, grid, makeRun, trade } from './fixtures.ts';

describe('report/dataframe (danfo, loaded lazily)', () => {
  it('importing lib/report does not load danfojs-node; calling a frame function does', () => {
    const index = fileURLToPath(new URL('../../lib/report/index.ts', import.meta.url));
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('danfojs-node'));
      const report = await import(${JSON.stringify(index)});
      const before = loaded();
      await report.tradesToDataFrame([]);
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).to.deep.equal({ before: false, after: true });
  });

  it('tradesToDataFrame: one row per trade with numeric money columns; empty input gives an empty frame', async () => {
    const trades = [trade(1, { net: '-1.5', fees: '0.25', side: 'short' }), trade(2, { net: '2', exitReason: 'take_profit' })];
    const df = await tradesToDataFrame(trades);
    expect(df.shape).to.deep.equal([2, 21]);
    expect(df.column('netPnl').values).to.deep.equal([-1.5, 2]);
    expect(df.column('grossPnl').values).to.deep.equal([-1.25, 2]); // net + fees
    expect(df.column('side').values).to.deep.equal(['short', 'long']);
    expect(df.column('exitReason').values).to.deep.equal(['signal', 'take_profit']);
    // Epoch-ms times survive (beyond int32).
    expect(df.column('entryTime').values).to.deep.equal([trades[0]!.entryTime, trades[1]!.entryTime]);

    const empty = await tradesToDataFrame([]);
    expect(empty.shape[0]).to.equal(0);
    expect(empty.columns).to.include('netPnl');
  });

  it('equityToDataFrame: per candle by default, per UTC day with { daily: true }', async () => {
    const times = grid(T0, 48, HOUR); // two days
    const equity = times.map((_, i) => 1000 + i);
    const run = makeRun({ times, equity, intervalMs: HOUR });
    const perCandle = await equityToDataFrame(run);
    expect(perCandle.shape).to.deep.equal([48, 4]);
    expect(perCandle.columns).to.deep.equal(['timestamp', 'close', 'equity', 'exposure']);
    expect(perCandle.column('equity').values.at(-1)).to.equal(1047);

    const daily = await equityToDataFrame(run, { daily: true });
    expect(daily.shape).to.deep.equal([2, 5]);
    expect(daily.column('equity').values).to.deep.equal([1023, 1047]); // last hour of each day
    expect(daily.column('timestamp').values).to.deep.equal([T0, T0 + 24 * HOUR]);
  });
});
