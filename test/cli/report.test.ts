/**
 * `pyr report <run-dir>` rebuilds the page `pyr backtest --report` wrote: the candles re-read from the
 * run's candle file and the strategy's plots recorded by re-running it (the seed with funding charged,
 * pivot-bounce without), the same page byte for byte; and, when the strategy file is gone or no longer
 * reproduces the run, the same page without the plots, saying why (on the page and on stderr).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChartData } from '../../lib/report/html.ts';
import { REPO, SAMPLE_15M, runCli, tempDir } from '../helpers.ts';

const tmp = tempDir('pyr-report-cli-');
after(() => tmp.cleanup());

/** The data a report.html embeds (what its script draws). */
function pageDataOf(file: string): ChartData & { title: string } {
  const m = /<script type="application\/json" id="pyr-data">(.*?)<\/script>/s.exec(readFileSync(file, 'utf8'));
  expect(m, `${file} embeds its chart data`).to.not.equal(null);
  return JSON.parse(m![1]!);
}

/** The notes at the top of a page, as text. */
function notesOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/<li class="note">([^<]*)<\/li>/g)].map((m) => m[1]!.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
}

/** A strategy declaring a line over the price and a pane with a guide; `every` sets how often it enters. */
const strategyWithPlots = (every: number): string => `import { Sma } from ${JSON.stringify(path.join(REPO, 'lib/indicators/index.ts'))};
import { defineStrategy } from ${JSON.stringify(path.join(REPO, 'lib/strategy/index.ts'))};
export default defineStrategy({
  name: 'sma-drift',
  description: 'enters long every ${every}th candle when flat; draws an SMA over the price and the distance to it in a pane',
  params: { period: { type: 'number', default: 20, min: 2, integer: true, description: 'SMA length' } },
  warmup: (p) => p.period,
  plots: () => ({
    series: [
      { name: 'SMA', color: '#ffeb3b' },
      { name: 'distance', pane: 'Distance %', color: '#4dd0e1', decimals: 3 },
    ],
    guides: [{ pane: 'Distance %', value: 0, label: 'on the SMA' }],
  }),
  create(p) {
    const sma = new Sma({ period: p.period });
    let i = 0;
    let close = NaN;
    return {
      onCandle(c, ctx) {
        i++;
        close = c.close;
        sma.update(c.close);
        if (ctx.position.side === 'flat' && i % ${every} === 0) return { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 100 }, stopLoss: { pct: 0.01 }, takeProfit: { pct: 0.01 }, reason: 'every ${every}' };
      },
      plot() {
        const m = sma.value;
        return [m, m === undefined ? undefined : ((close - m) / m) * 100];
      },
    };
  },
});
`;

describe('pyr report <run-dir>: the page rebuilt from the run folder', function () {
  this.timeout(120_000);

  it('rebuilds the seed’s page as `pyr backtest --report` wrote it (the same chart data, the same page), funding charged', async () => {
    const dir = path.join(tmp.dir, 'seed');
    const bt = await runCli(['backtest', '--sample', '--from', '2024-08-19', '--to', '2024-08-28', '--out', dir, '--report'], tmp.dir);
    expect(bt.code, bt.stderr).to.equal(0);
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(summary.meta.funding.charged, 'the sample charges funding').to.equal(true);
    const file = path.join(dir, 'report.html');
    const written = readFileSync(file, 'utf8');
    const before = pageDataOf(file);
    expect(before.plots!.panes.map((p) => p.title)).to.deep.equal(['StochRSI']);

    rmSync(file);
    const r = await runCli(['report', dir], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(file);
    expect(r.stderr).to.equal('');
    expect(pageDataOf(file)).to.deep.equal(before);
    expect(readFileSync(file, 'utf8')).to.equal(written);
  });

  it('rebuilds a pivot-bounce page the same way: its levels, no StochRSI pane', async () => {
    const dir = path.join(tmp.dir, 'pivot');
    const bt = await runCli(['backtest', '--strategy', 'pivot-bounce', '--candles', SAMPLE_15M, '--from', '2024-08-15', '--to', '2024-08-28', '--out', dir, '--report'], tmp.dir);
    expect(bt.code, bt.stderr).to.equal(0);
    const file = path.join(dir, 'report.html');
    const before = pageDataOf(file);
    expect(before.plots!.panes).to.deep.equal([]);
    expect(before.plots!.series.map((s) => s.name)).to.deep.equal(['P', 'R1', 'R2', 'R3', 'S1', 'S2', 'S3']);
    const r = await runCli(['report', dir], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(pageDataOf(file)).to.deep.equal(before);
  });

  describe('a strategy of its own, declaring a line over the price and a pane', () => {
    const strategyFile = path.join(tmp.dir, 'sma-drift.ts');
    const dir = path.join(tmp.dir, 'own');
    let drawn: ChartData;

    before(async () => {
      writeFileSync(strategyFile, strategyWithPlots(10));
      const bt = await runCli(['backtest', '--strategy', strategyFile, '--candles', SAMPLE_15M, '--from', '2024-08-19', '--to', '2024-08-24', '--out', dir, '--report'], tmp.dir);
      expect(bt.code, bt.stderr).to.equal(0);
      drawn = pageDataOf(path.join(dir, 'report.html'));
    });

    it('draws what it declared: the SMA over the candles, its pane with the guide', () => {
      expect(drawn.plots!.panes).to.deep.equal([{ title: 'Distance %', guides: [{ value: 0, label: 'on the SMA' }] }]);
      expect(drawn.plots!.series.map((s) => [s.name, s.pane, s.style, s.color, s.precision])).to.deep.equal([
        ['SMA', 0, 'line', '#ffeb3b', 1],
        ['distance', 1, 'line', '#4dd0e1', 3],
      ]);
      // The SMA of the last 20 closes, from the sample's lines (the 20-candle warm-up lies before the range).
      const closes = readFileSync(SAMPLE_15M, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
      const at = closes.findIndex(([t]) => t === drawn.candles!.t[50]! * 1000);
      const want = closes.slice(at - 19, at + 1).reduce((s, c) => s + c[4]!, 0) / 20;
      expect(drawn.plots!.series[0]!.v[50]).to.be.closeTo(want, 1e-4);
      const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
      expect(html).to.include('<h2>Price, trades and Distance %</h2>');
      expect(html).to.match(/Pane Distance %: <span[^>]*>━ distance<\/span>; dashed lines at on the SMA 0\./);
    });

    it('re-run with the file as it was: the same page data', async () => {
      const r = await runCli(['report', dir], tmp.dir);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.equal('');
      expect(pageDataOf(path.join(dir, 'report.html'))).to.deep.equal(drawn);
    });

    it('when the strategy now trades otherwise: drawn without its plots, and says why', async () => {
      writeFileSync(strategyFile, strategyWithPlots(13));
      // In a process of its own: this one holds the file's first version in its module cache.
      const p = spawnSync(process.execPath, [path.join(REPO, 'bin/pyr'), 'report', dir], { encoding: 'utf8', cwd: tmp.dir, env: { ...process.env, NO_COLOR: '1', PYR_NO_DIST: '1' } });
      const r = { code: p.status, stdout: p.stdout, stderr: p.stderr };
      expect(r.code, r.stderr).to.equal(0);
      const file = path.join(dir, 'report.html');
      const after = pageDataOf(file);
      expect(after.plots).to.equal(null);
      expect({ ...after, plots: drawn.plots }).to.deep.equal(drawn);
      const note = notesOf(file).find((n) => n.startsWith('The strategy’s plots are not drawn'));
      expect(note).to.match(/re-running .*sma-drift\.ts on the run’s candles gave \d+ trades and a net PnL of .*, the run had \d+ and /);
      expect(r.stderr).to.include('The strategy’s plots are not drawn: re-running');
      writeFileSync(strategyFile, strategyWithPlots(10));
    });

    it('when the strategy file is gone: drawn without its plots, and says so', async () => {
      rmSync(strategyFile);
      const r = await runCli(['report', dir], tmp.dir);
      expect(r.code, r.stderr).to.equal(0);
      const file = path.join(dir, 'report.html');
      expect(r.stdout.trim()).to.equal(file);
      const after = pageDataOf(file);
      expect(after.plots).to.equal(null);
      // Everything else is drawn as before: candles, markers, trades, equity.
      expect({ ...after, plots: drawn.plots }).to.deep.equal(drawn);
      expect(notesOf(file)).to.deep.equal([`The strategy’s plots are not drawn: the strategy file ${strategyFile} is gone, so it cannot be re-run to record them.`]);
      expect(r.stderr).to.include(`the strategy file ${strategyFile} is gone`);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      const html = readFileSync(file, 'utf8');
      expect(html).to.include('<h2>Price and trades</h2>');
    });
  });
});
