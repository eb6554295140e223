/** pyr optimize on the sample: the command it suggests for the best row runs on the same data. */
import { expect } from 'chai';
import path from 'node:path';
import { runCli, tempDir } from '../helpers.ts';

describe('pyr optimize --sample', function () {
  this.timeout(120_000);
  const tmp = tempDir('pyr-opt-sample-');
  after(() => tmp.cleanup());

  it('sweeps the sample, and the suggested pyr backtest reproduces the best row', async () => {
    const r = await runCli(['optimize', '--sample', '--from', '2024-08-01', '--to', '2024-08-20', '--grid', 'oversold=15,20', '--workers', '1', '--metric', 'netPnl', '--out', path.join(tmp.dir, 'o')], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const m = /run it with `pyr (backtest [^`]+)`/.exec(r.stdout);
    expect(m, r.stdout).to.not.equal(null);
    expect(m![1]).to.include('--sample');
    const args = m![1]!.split(' ');
    const bt = await runCli([...args, '--out', path.join(tmp.dir, 'b'), '--json'], tmp.dir);
    expect(bt.code, bt.stderr).to.equal(0);
    const best = /Best: oversold=(\d+) \(netPnl (-?[\d.]+)/.exec(r.stdout);
    expect(best, r.stdout).to.not.equal(null);
    expect(JSON.parse(bt.stdout).metrics.netPnl.toFixed(2)).to.equal(Number(best![2]).toFixed(2));
  });
});
