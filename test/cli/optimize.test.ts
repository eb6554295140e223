/**
 * `pyr optimize` on real 15-minute candles (the committed sample, data/sample): every row is what a plain `pyr backtest` with the same
 * --param gives (checked through the backtest command, an independent path), results do not depend on
 * the number of worker threads, the ranking is right, random search is reproducible, and walk-forward
 * windows tile the range with their out-of-sample trades adding up.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { PyrError } from '../../lib/core/index.ts';
import { optimizeCommand } from '../../lib/cli/optimize.ts';
import { REPO, SAMPLE_15M, parseCsv, runCli, tempDir } from '../helpers.ts';

const tmp = tempDir('pyr-optimize-');
after(() => tmp.cleanup());
let n = 0;
const outDir = (): string => path.join(tmp.dir, `opt-${++n}`);

class Capture extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** `pyr optimize ...` through a small commander program, with main's error handling. */
async function opt(args: string[], opts: { cwd?: string; tty?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture(opts.tty ?? false);
  const io = { stdout, stderr, cwd: opts.cwd ?? tmp.dir, env: { NO_COLOR: '1' } };
  const program = new Command('pyr').exitOverride().configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
  program.addCommand(optimizeCommand(io).exitOverride().configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) }));
  let code = 0;
  try {
    await program.parseAsync(['optimize', ...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) code = err.exitCode === 0 ? 0 : 2;
    else if (err instanceof PyrError) {
      stderr.write(`pyr: ${err.message}\n`);
      code = err.exitCode;
    } else throw err;
  }
  return { code, stdout: stdout.text, stderr: stderr.text };
}

interface Row {
  rank: number;
  index: number;
  window?: number;
  params: Record<string, number | boolean | string>;
  metrics: Record<string, number | string | null>;
}

const RANGE = ['--candles', SAMPLE_15M, '--from', '2024-08-05', '--to', '2024-08-18']; // two weeks, Monday to Sunday
const GRID = ['--grid', 'oversold=15:25:5', '--grid', 'stopLossPct=0.003,0.006', '--grid', 'useCrossover=true,false'];

async function backtestJson(params: Record<string, unknown>, from = '2024-08-05', to = '2024-08-18'): Promise<Record<string, unknown>> {
  const p = Object.entries(params).map(([k, v]) => `${k}=${String(v)}`);
  const r = await runCli(['backtest', '--candles', SAMPLE_15M, '--from', from, '--to', to, '--out', outDir(), '--json', '--param', ...p], tmp.dir);
  expect(r.code, r.stderr).to.equal(0);
  return (JSON.parse(r.stdout) as { metrics: Record<string, unknown> }).metrics;
}

describe('pyr optimize (CLI)', function () {
  this.timeout(180_000);

  let one: { dir: string; rows: Row[]; stdout: string };
  let two: { dir: string; rows: Row[]; stdout: string; stderr: string };

  before(async () => {
    const d1 = outDir();
    const r1 = await opt([...RANGE, ...GRID, '--workers', '1', '--out', d1, '--top', '3']);
    expect(r1.code, r1.stderr).to.equal(0);
    const d2 = outDir();
    // stderr as a terminal: the progress bar is drawn there
    const r2 = await opt([...RANGE, ...GRID, '--workers', '2', '--out', d2], { tty: true });
    expect(r2.code, r2.stderr).to.equal(0);
    const load = (d: string): Row[] => (JSON.parse(readFileSync(path.join(d, 'optimize.json'), 'utf8')) as { rows: Row[] }).rows;
    one = { dir: d1, rows: load(d1), stdout: r1.stdout };
    two = { dir: d2, rows: load(d2), stdout: r2.stdout, stderr: r2.stderr };
  });

  it('runs every combination of the grid once and writes all rows', () => {
    const expected: string[] = [];
    for (const o of [15, 20, 25]) for (const s of [0.003, 0.006]) for (const u of [true, false]) expected.push(JSON.stringify({ oversold: o, stopLossPct: s, useCrossover: u }));
    expect(one.rows.map((r) => JSON.stringify(r.params)).sort()).to.deep.equal([...expected].sort());
    expect(one.rows.map((r) => r.rank)).to.deep.equal(Array.from({ length: 12 }, (_, i) => i + 1));
    // the combination index is its position in the nested loops
    for (const r of one.rows) expect(JSON.stringify(r.params)).to.equal(expected[r.index]);
    const csv = parseCsv(readFileSync(path.join(one.dir, 'optimize.csv'), 'utf8'));
    expect(csv).to.have.length(12);
    expect(Object.keys(csv[0]!).slice(0, 5)).to.deep.equal(['rank', 'index', 'oversold', 'stopLossPct', 'useCrossover']);
    for (const [i, c] of csv.entries()) {
      expect(Number(c.index)).to.equal(one.rows[i]!.index);
      expect(c.netPnl).to.equal(one.rows[i]!.metrics.netPnlExact);
      expect(Number(c.trades)).to.equal(one.rows[i]!.metrics.trades);
    }
    expect(readdirSync(one.dir).sort()).to.deep.equal(['optimize.csv', 'optimize.json']);
  });

  it('gives each row the result of a plain pyr backtest with the same --param', async () => {
    const best = one.rows[0]!;
    const worst = one.rows[one.rows.length - 1]!;
    const middle = one.rows[5]!;
    for (const row of [best, middle, worst]) {
      const bt = await backtestJson(row.params);
      expect(row.metrics.netPnlExact, JSON.stringify(row.params)).to.equal(bt.netPnlExact);
      expect(row.metrics.trades).to.equal(bt.trades);
      expect(row.metrics.wins).to.equal(bt.wins);
      expect(row.metrics.sharpe).to.equal(bt.sharpe);
      expect(row.metrics.maxDrawdown).to.equal(bt.maxDrawdown);
      expect(row.metrics.trades).to.be.greaterThan(0);
    }
    // the grid really changes the outcome (otherwise the comparison above proves little)
    expect(new Set(one.rows.map((r) => r.metrics.netPnlExact)).size).to.be.greaterThan(6);
  });

  it('is identical with 1 and 2 workers', () => {
    expect(two.rows).to.deep.equal(one.rows);
    expect(readFileSync(path.join(two.dir, 'optimize.csv'), 'utf8')).to.equal(readFileSync(path.join(one.dir, 'optimize.csv'), 'utf8'));
    expect(two.stdout).to.contain('on 2 workers');
    expect(one.stdout).to.contain('on 1 worker ');
    expect(two.stderr).to.match(/optimize \[#+\] 100\.0% 12\/12/);
  });

  it('ranks by the metric: the best row has the best sharpe, nulls last', () => {
    const values = one.rows.map((r) => r.metrics.sharpe).filter((v): v is number => typeof v === 'number');
    expect(one.rows[0]!.metrics.sharpe).to.equal(Math.max(...values));
    for (let i = 1; i < one.rows.length; i++) {
      const a = one.rows[i - 1]!.metrics.sharpe as number | null;
      const b = one.rows[i]!.metrics.sharpe as number | null;
      if (a === null) expect(b).to.equal(null);
      else if (b !== null) {
        expect(a).to.be.at.least(b);
        if (a === b) expect(one.rows[i - 1]!.index).to.be.lessThan(one.rows[i]!.index);
      }
    }
    // the console shows the top 3 and the best combination's backtest command
    const best = one.rows[0]!;
    expect(one.stdout).to.contain('Top 3 of 12');
    expect(one.stdout).to.contain(`--param oversold=${best.params.oversold} stopLossPct=${best.params.stopLossPct} useCrossover=${best.params.useCrossover}`);
  });

  it('ranks maxDrawdown lowest first and netPnl highest first', async () => {
    const d = outDir();
    const r = await opt([...RANGE, ...GRID, '--workers', '2', '--metric', 'maxDrawdown', '--out', d, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout) as { best: Row; top: Row[]; metric: string };
    expect(summary.metric).to.equal('maxDrawdown');
    expect(summary.top).to.have.length(10);
    const drawdowns = one.rows.map((x) => x.metrics.maxDrawdown as number);
    expect(summary.best.metrics.maxDrawdown).to.equal(Math.min(...drawdowns));
    const byPnl = [...one.rows].sort((a, b) => Number(b.metrics.netPnl) - Number(a.metrics.netPnl) || a.index - b.index);
    const d2 = outDir();
    const r2 = await opt([...RANGE, ...GRID, '--metric', 'netPnl', '--out', d2, '--json']);
    expect((JSON.parse(r2.stdout) as { best: Row }).best.index).to.equal(byPnl[0]!.index);
  });

  it('--random draws a reproducible sample without repeats', async () => {
    const grid = ['--grid', 'oversold=10:30:1', '--grid', 'stopLossPct=0.002:0.01:0.001', '--grid', 'takeProfitPct=0.005,0.01,0.02'];
    const run = async (seed: string): Promise<Row[]> => {
      const d = outDir();
      const r = await opt([...RANGE, ...grid, '--random', '6', '--seed', seed, '--out', d, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const j = JSON.parse(readFileSync(path.join(d, 'optimize.json'), 'utf8')) as { rows: Row[]; sampling: { seed: number; samples: number }; gridCombinations: number };
      expect(j.sampling).to.deep.equal({ kind: 'random', samples: 6, seed: Number(seed) });
      expect(j.gridCombinations).to.equal(21 * 9 * 3);
      return j.rows;
    };
    const a = await run('7');
    const b = await run('7');
    const c = await run('8');
    expect(a).to.deep.equal(b);
    expect(a).to.have.length(6);
    expect(new Set(a.map((r) => r.index)).size).to.equal(6);
    expect(new Set(a.map((r) => JSON.stringify(r.params))).size).to.equal(6);
    expect(a.map((r) => r.index).sort()).to.not.deep.equal(c.map((r) => r.index).sort());
    for (const r of a) {
      expect(Number.isInteger(r.params.oversold) && (r.params.oversold as number) >= 10 && (r.params.oversold as number) <= 30).to.equal(true);
      expect([0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01]).to.include(r.params.stopLossPct);
    }
    // a sampled row is still exactly the plain backtest
    const bt = await backtestJson(a[0]!.params);
    expect(a[0]!.metrics.netPnlExact).to.equal(bt.netPnlExact);
  });

  it('refuses bad grids with one clear line', async () => {
    let r = await opt([...RANGE, '--grid', 'oversld=10:20:5']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal('pyr: --grid: unknown parameter "oversld" (did you mean "oversold"?); see `pyr strategies` for the list\n');
    r = await opt([...RANGE, '--grid', 'rsiPeriod=10:20:2.5']);
    expect(r.stderr).to.equal('pyr: --grid: rsiPeriod must be a whole number, got 12.5\n');
    r = await opt([...RANGE, '--grid', 'oversold=0:100:0.1', '--grid', 'overbought=0:100:0.1']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^pyr: --grid: 1,002,001 combinations is more than 100,000; sample some with --random N/);
    r = await opt([...RANGE, '--grid', 'tickSize=abc']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^pyr: --grid: tickSize must be a plain non-negative decimal/);
    r = await opt([...RANGE, '--grid', 'oversold=10,20', '--metric', 'sharp']);
    expect(r.stderr).to.match(/^pyr: --metric: unknown metric "sharp" \(did you mean "sharpe"\?\)/);
    r = await opt(['--candles', SAMPLE_15M, '--to', '2024-08-18', '--grid', 'oversold=10,20']);
    expect(r.stderr).to.match(/^pyr: --from: required/);
    r = await opt([...RANGE, '--grid', 'oversold=10,20', '--workers', '0']);
    expect(r.stderr).to.equal('pyr: --workers: must be between 1 and 1024, got 0\n');
    r = await opt([...RANGE, '--grid', 'oversold=10,20', '--in-sample', '30d']);
    expect(r.stderr).to.equal('pyr: --in-sample: only used with --walk-forward\n');
  });

  it('runs a strategy file given by path in the workers, and reports a run that throws in one line', async () => {
    const file = path.join(tmp.dir, 'every-n.ts');
    const lib = path.join(REPO, 'lib/strategy/index.ts');
    writeFileSync(
      file,
      `import { defineStrategy } from ${JSON.stringify(lib)};
export default defineStrategy({
  name: 'every-n',
  description: 'enters long whenever flat, every n-th candle; throws on candle 50 when n is 13',
  params: { every: { type: 'number', default: 10, min: 1, integer: true, description: 'candles between entries' } },
  warmup: () => 0,
  create(p) {
    let i = 0;
    return {
      onCandle(c, ctx) {
        i++;
        if (p.every === 13 && i === 50) throw new Error('unlucky thirteen');
        if (ctx.position.side === 'flat' && i % p.every === 0) return { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 100 }, stopLoss: { pct: 0.004 }, takeProfit: { pct: 0.004 }, reason: 'every ' + p.every };
      },
    };
  },
});
`,
    );
    const d = outDir();
    const ok = await opt(['--strategy', file, ...RANGE, '--grid', 'every=5:20:5', '--metric', 'netPnl', '--workers', '2', '--out', d, '--json']);
    expect(ok.code, ok.stderr).to.equal(0);
    const rows = (JSON.parse(readFileSync(path.join(d, 'optimize.json'), 'utf8')) as { rows: Row[] }).rows;
    expect(rows.map((r) => r.params.every).sort((a, b) => Number(a) - Number(b))).to.deep.equal([5, 10, 15, 20]);
    const r15 = rows.find((r) => r.params.every === 15)!;
    const bt = await runCli(['backtest', '--strategy', file, '--candles', SAMPLE_15M, '--from', '2024-08-05', '--to', '2024-08-18', '--out', outDir(), '--json', '--param', 'every=15'], tmp.dir);
    expect(bt.code, bt.stderr).to.equal(0);
    expect(r15.metrics.netPnlExact).to.equal(JSON.parse(bt.stdout).metrics.netPnlExact);
    expect(r15.metrics.trades).to.be.greaterThan(10);

    const bad = await opt(['--strategy', file, ...RANGE, '--grid', 'every=11:15:1', '--workers', '2', '--out', outDir()]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr.trim().split('\n')).to.have.length(1);
    expect(bad.stderr).to.match(/^pyr: .*unlucky thirteen.*\(with every=13\)$/m);
  });

  it('writes to backtests/optimize-<timestamp>/ by default', async () => {
    const cwd = path.join(tmp.dir, 'default-out');
    const r = await opt([...RANGE, '--grid', 'oversold=15,25'], { cwd });
    expect(r.code, r.stderr).to.equal(0);
    const dirs = readdirSync(path.join(cwd, 'backtests'));
    expect(dirs).to.have.length(1);
    expect(dirs[0]).to.match(/^optimize-\d{8}-\d{6}$/);
    expect(existsSync(path.join(cwd, 'backtests', dirs[0]!, 'optimize.csv'))).to.equal(true);
    expect(r.stdout).to.contain(`to ${path.join('backtests', dirs[0]!)}`);
  });
});

describe('pyr optimize --walk-forward (CLI)', function () {
  this.timeout(180_000);

  interface Window {
    window: number;
    inSample: { from: string; to: string };
    outOfSample: { from: string; to: string };
    index: number;
    params: Record<string, unknown>;
    isMetric: number | null;
    oosMetric: number | null;
    isMetrics: Record<string, number | string | null>;
    oosMetrics: Record<string, number | string | null>;
  }
  let wf: { windows: Window[]; totals: { outOfSample: Record<string, unknown> }; oosMetrics: Record<string, unknown> };
  let dir: string;
  let rows: Row[];

  before(async () => {
    dir = outDir();
    const r = await opt([
      '--candles', SAMPLE_15M, '--from', '2024-08-01', '--to', '2024-08-31', '--walk-forward', '--in-sample', '10d', '--out-of-sample', '5d',
      '--grid', 'oversold=15,25', '--grid', 'stopLossPct=0.003,0.006', '--metric', 'netPnl', '--workers', '2', '--out', dir,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Out-of-sample \(stitched, 2024-08-11 to 2024-08-31\)/);
    wf = JSON.parse(readFileSync(path.join(dir, 'walk-forward.json'), 'utf8'));
    rows = (JSON.parse(readFileSync(path.join(dir, 'optimize.json'), 'utf8')) as { rows: Row[] }).rows;
  });

  const day = (s: string): number => Date.parse(`${s}T00:00:00Z`);
  const DAY = 86_400_000;

  it('has contiguous in-sample/out-of-sample windows and non-overlapping out-of-sample windows', () => {
    // 31 days: 10 in-sample, then 21 out-of-sample days in windows of 5 (the last one 1 day)
    expect(wf.windows).to.have.length(5);
    expect(wf.windows[0]!.inSample).to.deep.equal({ from: '2024-08-01', to: '2024-08-10' });
    expect(wf.windows[0]!.outOfSample).to.deep.equal({ from: '2024-08-11', to: '2024-08-15' });
    for (const [i, w] of wf.windows.entries()) {
      expect(day(w.outOfSample.from)).to.equal(day(w.inSample.to) + DAY);
      expect(day(w.inSample.to) - day(w.inSample.from)).to.equal(9 * DAY);
      if (i > 0) expect(day(w.outOfSample.from)).to.equal(day(wf.windows[i - 1]!.outOfSample.to) + DAY);
    }
    expect(wf.windows[wf.windows.length - 1]!.outOfSample.to).to.equal('2024-08-31');
    expect(wf.windows[wf.windows.length - 1]!.outOfSample.from).to.equal('2024-08-31');
  });

  it('picks each window\'s best in-sample combination and stitches the out-of-sample trades', () => {
    for (const w of wf.windows) {
      const mine = rows.filter((r) => r.window === w.window);
      expect(mine).to.have.length(4);
      const best = Math.max(...mine.map((r) => Number(r.metrics.netPnl)));
      expect(w.isMetric).to.equal(best);
      expect(mine.find((r) => r.rank === 1)!.index).to.equal(w.index);
    }
    const sum = wf.windows.reduce((s, w) => s + Number(w.oosMetrics.trades), 0);
    expect(sum).to.be.greaterThan(10);
    expect(wf.oosMetrics.trades).to.equal(sum);
    expect(wf.totals.outOfSample.trades).to.equal(sum);
    const trades = parseCsv(readFileSync(path.join(dir, 'oos-trades.csv'), 'utf8'));
    expect(trades).to.have.length(sum);
    expect(trades.map((t) => Number(t.id))).to.deep.equal(Array.from({ length: sum }, (_, i) => i + 1));
    // every stitched trade lies in an out-of-sample window
    for (const t of trades) {
      const at = Number(t.entryTime);
      expect(wf.windows.some((w) => at >= day(w.outOfSample.from) && at < day(w.outOfSample.to) + DAY)).to.equal(true);
    }
    const windowsCsv = parseCsv(readFileSync(path.join(dir, 'walk-forward.csv'), 'utf8'));
    expect(windowsCsv.map((w) => Number(w.oosTrades))).to.deep.equal(wf.windows.map((w) => w.oosMetrics.trades));
  });

  it('each window\'s numbers are plain backtests: in-sample and out-of-sample (with warm-up before it)', async () => {
    for (const w of [wf.windows[0]!, wf.windows[2]!]) {
      const oos = await backtestJson(w.params, w.outOfSample.from, w.outOfSample.to);
      expect(w.oosMetrics.netPnlExact).to.equal(oos.netPnlExact);
      expect(w.oosMetrics.trades).to.equal(oos.trades);
      const is = await backtestJson(w.params, w.inSample.from, w.inSample.to);
      expect(w.isMetrics.netPnlExact).to.equal(is.netPnlExact);
    }
    // the stitched net PnL is the sum of the windows'
    const total = wf.windows.reduce((s, w) => s + Number(w.oosMetrics.netPnl), 0);
    expect(Number(wf.oosMetrics.netPnl)).to.be.closeTo(total, 1e-9);
  });
});
