/**
 * `pyr new strategy <name>`: in a fresh folder the generated strategy backtests by name with trades,
 * type-checks under strict settings, and its generated test passes under mocha; names are validated and
 * nothing is overwritten without --force.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DATA_15M, REPO, SAMPLE_15M, parseCsv, requireShared, runCli, tempDir, typecheckErrors } from '../helpers.ts';

const pyrNew = (argv: string[], cwd: string) => runCli(['new', ...argv], cwd);

/** The import specifiers of a file, resolved against its folder. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => (m[1]!.startsWith('.') ? path.resolve(path.dirname(file), m[1]!) : m[1]!));
}

describe('pyr new strategy', function () {
  this.timeout(180_000);
  const tmp = tempDir('pyr-new-');
  after(() => tmp.cleanup());
  let n = 0;
  const fresh = () => {
    const dir = path.join(tmp.dir, `user-${++n}`);
    mkdirSync(dir);
    return dir;
  };

  describe('in a fresh folder: new strategy my-edge', () => {
    let dir: string;
    let out: { code: number; stdout: string; stderr: string };
    before(async () => {
      dir = fresh();
      out = await pyrNew(['strategy', 'my-edge'], dir);
    });

    it('writes strategies/my-edge.ts and strategies/my-edge.test.ts and says how to backtest and test them', () => {
      expect(out.code, out.stderr).to.equal(0);
      expect(existsSync(path.join(dir, 'strategies/my-edge.ts'))).to.equal(true);
      expect(existsSync(path.join(dir, 'strategies/my-edge.test.ts'))).to.equal(true);
      expect(out.stdout).to.include('Wrote strategies/my-edge.ts');
      expect(out.stdout).to.include('strategies/my-edge.test.ts');
      expect(out.stdout).to.include('pyr backtest --strategy my-edge --from 2024-03-01 --to 2024-03-07');
      expect(out.stdout).to.match(/Test it:\n  .*mocha.* --node-option import=\S*tsx\S* strategies\/my-edge\.test\.ts\n/);
    });

    it("imports pyr's strategy API, indicators and test kit by relative paths that resolve to this installation", () => {
      const strategy = path.join(dir, 'strategies/my-edge.ts');
      const test = path.join(dir, 'strategies/my-edge.test.ts');
      expect(importsOf(strategy)).to.deep.equal([path.join(REPO, 'lib/indicators/index.ts'), path.join(REPO, 'lib/strategy/index.ts')]);
      expect(importsOf(test)).to.deep.equal(['node:assert/strict', path.join(REPO, 'lib/testkit/index.ts'), strategy]);
      expect(readFileSync(strategy, 'utf8')).to.match(/from '\.\.\/[^']*lib\/strategy\/index\.ts'/);
      expect(readFileSync(strategy, 'utf8')).to.include("name: 'my-edge',");
    });

    it('backtests by name from that folder, with trades (2024-03-01 to 2024-03-07)', async function () {
      requireShared(this, DATA_15M);
      const bt = path.join(dir, 'bt');
      const r = await runCli(['backtest', '--strategy', 'my-edge', '--candles', DATA_15M, '--from', '2024-03-01', '--to', '2024-03-07', '--out', bt, '--json'], dir);
      expect(r.code, r.stderr).to.equal(0);
      const summary = JSON.parse(r.stdout);
      expect(summary.metrics.trades).to.be.greaterThan(0);
      const trades = parseCsv(readFileSync(path.join(bt, 'trades.csv'), 'utf8'));
      expect(trades).to.have.length(summary.metrics.trades);
      // Entries carry the template's default 1 % stop and 2 % target.
      for (const t of trades) {
        const entry = Number(t.entryPrice);
        const [stop, target] = t.side === 'long' ? [entry * 0.99, entry * 1.02] : [entry * 1.01, entry * 0.98];
        expect(Number(t.stopLoss)).to.be.closeTo(stop, 0.051);
        expect(Number(t.takeProfit)).to.be.closeTo(target, 0.051);
      }
      // Both rules fire on a week of 15-minute BTC: longs and shorts.
      expect(new Set(trades.map((t) => t.side))).to.deep.equal(new Set(['long', 'short']));
    });

    it('is listed by pyr strategies as a local strategy; its test file is not', async () => {
      const r = await runCli(['strategies', '--json'], dir);
      expect(r.code, r.stderr).to.equal(0);
      const local = JSON.parse(r.stdout).strategies.filter((s: { builtin: boolean }) => !s.builtin);
      expect(local.map((s: { name: string }) => s.name)).to.deep.equal(['my-edge']);
      expect(Object.keys(local[0].params)).to.deep.equal(['rsiPeriod', 'oversold', 'overbought', 'exitLevel', 'allowShorts', 'stopLossPct', 'takeProfitPct', 'usdtAmountPerTrade']);
    });

    it('its generated test passes under mocha, run from the user folder with the command pyr printed', () => {
      // The folder has neither mocha nor tsx: the command names the ones installed with pyr.
      const line = out.stdout.split('\n')[out.stdout.split('\n').indexOf('Test it:') + 1]!.trim();
      const tsx = pathToFileURL(path.join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
      // --no-config --no-package: only this file, whatever a .mocharc or package.json "mocha" of the folder says.
      expect(line).to.equal(`node ${path.join(REPO, 'node_modules/mocha/bin/mocha.js')} --no-config --no-package --node-option import=${tsx} strategies/my-edge.test.ts`);
      const p = spawnSync(line, { shell: true, cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(p.status, `${p.stdout}\n${p.stderr}`).to.equal(0);
      expect(p.stdout).to.match(/\b4 passing\b/);
      expect(p.stdout).to.not.match(/failing|pending/);
    });

    it('both files type-check under strict settings', () => {
      expect(typecheckErrors(dir, ['strategies/my-edge.ts', 'strategies/my-edge.test.ts'])).to.deep.equal([]);
    });
  });

  it("the printed test command runs that test only, not the spec of the folder's .mocharc.json or package.json", async () => {
    const dir = fresh();
    mkdirSync(path.join(dir, 'spec'));
    writeFileSync(path.join(dir, 'spec/other.test.mjs'), "describe('other', () => { it('the folder suite ran', () => {}); });\n");
    writeFileSync(path.join(dir, '.mocharc.json'), '{ "spec": ["spec/**/*.test.mjs"] }\n');
    writeFileSync(path.join(dir, 'package.json'), '{ "name": "bot", "private": true, "mocha": { "spec": ["spec/**/*.test.mjs"] } }\n');
    const out = await pyrNew(['strategy', 'solo'], dir);
    expect(out.code, out.stderr).to.equal(0);
    const line = out.stdout.split('\n')[out.stdout.split('\n').indexOf('Test it:') + 1]!.trim();
    const p = spawnSync(line, { shell: true, cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(p.status, `${p.stdout}\n${p.stderr}`).to.equal(0);
    expect(p.stdout).to.match(/\b4 passing\b/);
    expect(p.stdout).to.not.include('the folder suite ran');
  });

  it("in a project with pyr installed (node_modules/pyr): imports 'pyr' by name; backtests and tests as printed", async () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'package.json'), '{ "name": "bot", "version": "1.0.0", "private": true }\n');
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(REPO, path.join(dir, 'node_modules/pyr'), 'dir');
    const out = await pyrNew(['strategy', 'named'], dir);
    expect(out.code, out.stderr).to.equal(0);
    expect(importsOf(path.join(dir, 'strategies/named.ts'))).to.deep.equal(['pyr']);
    expect(importsOf(path.join(dir, 'strategies/named.test.ts'))).to.deep.equal(['node:assert/strict', 'pyr', path.join(dir, 'strategies/named.ts')]);
    expect(out.stdout).to.include("They import pyr by its package name, 'pyr' (a dependency of this project).");
    expect(out.stdout).to.include('  npx pyr backtest --strategy named --from 2024-03-01 --to 2024-03-07\n');
    const r = await runCli(['backtest', '--strategy', 'named', '--candles', SAMPLE_15M, '--from', '2024-07-01', '--to', '2024-07-07', '--out', path.join(dir, 'bt'), '--json'], dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).metrics.trades).to.be.greaterThan(0);
    const line = out.stdout.split('\n')[out.stdout.split('\n').indexOf('Test it:') + 1]!.trim();
    const p = spawnSync(line, { shell: true, cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(p.status, `${p.stdout}\n${p.stderr}`).to.equal(0);
    expect(p.stdout).to.match(/\b4 passing\b/);
  });

  it('rejects names that are not kebab-case or that try to be paths, and writes nothing', async () => {
    const dir = fresh();
    for (const bad of ['My-Edge', '../evil', 'a/b', 'edge.ts', '-edge', 'edge-', 'my--edge', '1edge', 'my_edge', 'x'.repeat(65)]) {
      // After `--`, so that "-edge" reaches the name check rather than the option parser.
      const r = await pyrNew(['strategy', '--', bad], dir);
      expect(r.code, bad).to.equal(2);
      expect(r.stderr, bad).to.include(`strategy name "${bad}" must be kebab-case`);
    }
    expect(existsSync(path.join(dir, 'strategies'))).to.equal(false);
    expect(existsSync(path.join(tmp.dir, 'evil.ts'))).to.equal(false);
  });

  it("refuses a built-in strategy's name (a local one would never be found by name)", async () => {
    const dir = fresh();
    const r = await pyrNew(['strategy', 'stochrsi-scalper'], dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('"stochrsi-scalper" is a built-in strategy');
    expect(existsSync(path.join(dir, 'strategies'))).to.equal(false);
  });

  it('refuses to overwrite without --force, overwrites with it', async () => {
    const dir = fresh();
    expect((await pyrNew(['strategy', 'edge2'], dir)).code).to.equal(0);
    const file = path.join(dir, 'strategies/edge2.ts');
    writeFileSync(file, '// my edits\n');
    const again = await pyrNew(['strategy', 'edge2'], dir);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.include('strategies/edge2.ts and strategies/edge2.test.ts already exist; pass --force to overwrite');
    expect(readFileSync(file, 'utf8')).to.equal('// my edits\n');
    const forced = await pyrNew(['strategy', 'edge2', '--force'], dir);
    expect(forced.code, forced.stderr).to.equal(0);
    expect(readFileSync(file, 'utf8')).to.include("name: 'edge2',");
  });

  it('--dir writes elsewhere; the printed backtest command then uses the path, and it works', async () => {
    const dir = fresh();
    const r = await pyrNew(['strategy', 'lab-edge', '--dir', 'lab/strats'], dir);
    expect(r.code, r.stderr).to.equal(0);
    const file = path.join(dir, 'lab/strats/lab-edge.ts');
    expect(importsOf(file)).to.deep.equal([path.join(REPO, 'lib/indicators/index.ts'), path.join(REPO, 'lib/strategy/index.ts')]);
    expect(r.stdout).to.include('pyr backtest --strategy lab/strats/lab-edge.ts --from 2024-03-01 --to 2024-03-07');
    const bt = await runCli(['backtest', '--strategy', 'lab/strats/lab-edge.ts', '--candles', SAMPLE_15M, '--from', '2024-07-01', '--to', '2024-07-03', '--out', path.join(dir, 'bt'), '--json'], dir);
    expect(bt.code, bt.stderr).to.equal(0);
  });
});
