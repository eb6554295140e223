/**
 * `pyr compare`: two real runs with different parameters, side by side; values checked against each
 * run's summary.json. The runs are on the committed sample (data/sample: real Bybit 15-minute candles).
 */
import { expect } from 'chai';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { D } from '../../lib/core/index.ts';
import { SAMPLE_15M, runCli, tempDir } from '../helpers.ts';

const pyr = (argv: string[], cwd: string) => runCli(argv, cwd);

interface Summary {
  meta: { params: Record<string, unknown> };
  metrics: { netPnlExact: string; trades: number; winRate: number; sharpe: number | null };
}

const tmp = tempDir('pyr-compare-');
after(() => tmp.cleanup());
const runA = path.join(tmp.dir, 'run-default');
const runB = path.join(tmp.dir, 'run-30-70');
let a: Summary;
let b: Summary;
/** Net PnL as pyr writes money: `$5.23`, `-$5.23` (the sign before the $). */
const usd = (s: Summary): string => {
  const t = new D(s.metrics.netPnlExact).toFixed(2);
  return t.startsWith('-') && t !== '-0.00' ? `-$${t.slice(1)}` : `$${t === '-0.00' ? '0.00' : t}`;
};

describe('pyr compare', function () {
  this.timeout(120_000);

  before(async () => {
    const base = ['backtest', '--candles', SAMPLE_15M, '--from', '2024-08-01', '--to', '2024-08-10'];
    const ra = await runCli([...base, '--out', runA], tmp.dir);
    expect(ra.code, ra.stderr).to.equal(0);
    const rb = await runCli([...base, '--param', 'oversold=30', 'overbought=70', '--out', runB], tmp.dir);
    expect(rb.code, rb.stderr).to.equal(0);
    a = JSON.parse(readFileSync(path.join(runA, 'summary.json'), 'utf8'));
    b = JSON.parse(readFileSync(path.join(runB, 'summary.json'), 'utf8'));
    expect(a.metrics.netPnlExact, 'the two runs should differ').to.not.equal(b.metrics.netPnlExact);
  });

  it('prints one column per run with each run’s net PnL and the parameters that differ', async () => {
    const r = await pyr(['compare', 'run-default', 'run-30-70'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    const row = (label: string): string[] => {
      const line = lines.find((l) => l.startsWith(`${label} `));
      expect(line, `a "${label}" row in:\n${r.stdout}`).to.not.equal(undefined);
      return line!.slice(label.length).trim().split(/\s{2,}/);
    };
    expect(lines[0]!.trim().split(/\s+/)).to.deep.equal(['#1', '#2']);
    expect(row('Run')).to.deep.equal(['run-default', 'run-30-70']);
    expect(row('Net PnL')).to.deep.equal([usd(a), usd(b)]);
    expect(r.stdout).to.not.include('$-');
    // Ten days each: the ratios are flagged under the table.
    expect(r.stdout).to.contain('Sharpe and Sortino of #1, #2 come from too small a sample to mean anything (fewer than 30 daily returns or 10 trades).');
    expect(row('oversold')).to.deep.equal([String(a.meta.params.oversold), String(b.meta.params.oversold)]);
    expect(row('overbought')).to.deep.equal(['80', '70']);
    expect(row('Win rate')).to.deep.equal([a, b].map((s) => `${s.metrics.winRate.toFixed(2)}%`));
    expect(row('Trades')[0]).to.match(new RegExp(`^${a.metrics.trades} `));
    expect(row('Trades')[1]).to.match(new RegExp(`^${b.metrics.trades} `));
    expect(row('Sharpe')).to.deep.equal([a, b].map((s) => (s.metrics.sharpe === null ? 'n/a' : s.metrics.sharpe.toFixed(2))));
    for (const label of ['Strategy', 'Symbol', 'Interval', 'Range (UTC days)', 'Fees', 'Profit factor', 'Max drawdown', 'Sortino', 'Exposure']) row(label);
    // Parameters both runs share are not repeated.
    expect(lines.some((l) => l.startsWith('rsiPeriod '))).to.equal(false);
    expect(r.stdout).to.not.match(/\x1b\[/);
  });

  it('--json parses and carries each run’s summary metrics', async () => {
    const r = await pyr(['compare', runA, runB, '--json'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout);
    expect(j.runs.map((x: { dir: string }) => x.dir)).to.deep.equal([runA, runB]);
    expect(j.runs[0].metrics).to.deep.equal(a.metrics);
    expect(j.runs[1].metrics).to.deep.equal(b.metrics);
    expect(j.differingParams).to.deep.equal(['oversold', 'overbought']);
    expect(j.smallSamples).to.deep.equal([1, 2]);
    const net = j.rows.find((x: { key: string }) => x.key === 'netPnl');
    expect(net.values).to.deep.equal([a, b].map(usd));
  });

  it('errors are one clear line: a single run, a folder that is not a run', async () => {
    const one = await pyr(['compare', runA], tmp.dir);
    expect(one.code).to.equal(2);
    expect(one.stderr.trim().split('\n')).to.have.length(1);
    expect(one.stderr).to.match(/at least two run folders/);
    const empty = path.join(tmp.dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const bad = await pyr(['compare', runA, empty], tmp.dir);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trim().split('\n')).to.have.length(1);
    expect(bad.stderr).to.match(/empty is not a run folder: it has no summary\.json/);
    const missing = await pyr(['compare', runA, path.join(tmp.dir, 'nope')], tmp.dir);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/run folder not found: .*nope/);
  });
});
