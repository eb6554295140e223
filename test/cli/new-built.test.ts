/**
 * `pyr new strategy` with pyr as `npm ci` leaves it: built into dist/ and started by bin/pyr, which then
 * runs the compiled JavaScript. Two places:
 * - pyr's own checkout (a copy of this one, built once): the strategy imports pyr's TypeScript sources by a
 *   relative path (never dist/), is listed by `pyr strategies` as a local one by its path, backtests, and
 *   the test command pyr prints runs that test only, even with the checkout's .mocharc.json `spec`;
 * - a user's project with pyr installed as a dependency (node_modules/pyr, a symbolic link to that built
 *   copy, as `npm install <folder>` makes it): the files import 'pyr' by name and work the same.
 * Every command runs as a separate `node bin/pyr` process; which code ran (dist/ or lib/) is checked, not
 * assumed, from the stack of an error printed with PYR_DEBUG.
 */
import { expect } from 'chai';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, SAMPLE_15M, tempDir, typecheckErrors } from '../helpers.ts';

/** The import specifiers of a file, as written. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
}

describe('pyr new strategy, with pyr built (npm ci)', function () {
  this.timeout(300_000);
  const tmp = tempDir('pyr-new-built-');
  after(() => tmp.cleanup());
  const copy = path.join(tmp.dir, 'pyr');
  const user = path.join(tmp.dir, 'my-bot');

  /** `node <bin/pyr> ...args` from `cwd`, offline; `bin` is the copy's unless given. */
  function pyr(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, bin = path.join(copy, 'bin/pyr')): SpawnSyncReturns<string> {
    const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', PYR_BYBIT_REST_URL: 'http://127.0.0.1:9' };
    delete base.PYR_NO_DIST;
    delete base.PYR_DEBUG;
    return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...base, ...env } });
  }

  /** Which code `pyr` runs from `cwd`: the stack of a ConfigError names dist/lib/... or lib/.... */
  function runsFrom(cwd: string, env: NodeJS.ProcessEnv = {}, bin?: string): 'dist' | 'lib' {
    const r = pyr(['backtest', '--strategy', 'no-such-strategy-anywhere'], cwd, { PYR_DEBUG: '1', ...env }, bin);
    expect(r.status, r.stderr).to.equal(2);
    const frame = /\((?:file:\/\/)?([^():]*registry\.(?:js|ts)):\d+:\d+\)|at (?:file:\/\/)?([^():\s]*registry\.(?:js|ts)):\d+:\d+/.exec(r.stderr);
    expect(frame, r.stderr).to.not.equal(null);
    return (frame![1] ?? frame![2]!).includes('/dist/lib/') ? 'dist' : 'lib';
  }

  /** The line after "Test it:" in `pyr new`'s output. */
  const testLine = (stdout: string) => {
    const lines = stdout.split('\n');
    return lines[lines.indexOf('Test it:') + 1]!.trim();
  };

  before(() => {
    // A checkout as `npm ci` leaves it: sources, config, dependencies (linked), then `npm run build`.
    mkdirSync(copy);
    for (const f of ['bin', 'lib', 'strategies', 'package.json', 'tsconfig.json', 'tsconfig.build.json', '.mocharc.json']) {
      cpSync(path.join(REPO, f), path.join(copy, f), { recursive: true, filter: (src) => !/\.test\.ts$/.test(src) || !src.includes(`${path.sep}strategies${path.sep}`) });
    }
    symlinkSync(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    // One test of the checkout's own: the printed command must not run it (.mocharc.json's spec names it).
    mkdirSync(path.join(copy, 'test'));
    cpSync(path.join(REPO, 'test/setup.ts'), path.join(copy, 'test/setup.ts')); // .mocharc.json requires it
    writeFileSync(path.join(copy, 'test/sentinel.test.ts'), "describe('sentinel', () => { it('the checkout suite ran', () => {}); });\n");
    // `npm run build` is `tsc -p tsconfig.build.json && node bin/build-stamp.mjs`. Type errors in sources
    // edited meanwhile are the typecheck's business: tsc emits regardless, so only the emitted files count.
    spawnSync(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: copy, encoding: 'utf8' });
    expect(existsSync(path.join(copy, 'dist/lib/cli/main.js')), 'the build wrote dist/').to.equal(true);
    const stamp = spawnSync(process.execPath, ['bin/build-stamp.mjs'], { cwd: copy, encoding: 'utf8' });
    expect(stamp.status, stamp.stderr).to.equal(0);
    // A user's project with pyr as a dependency.
    mkdirSync(path.join(user, 'node_modules'), { recursive: true });
    writeFileSync(path.join(user, 'package.json'), `${JSON.stringify({ name: 'my-bot', version: '1.0.0', private: true, dependencies: { pyr: `file:${copy}` } }, null, 2)}\n`);
    symlinkSync(copy, path.join(user, 'node_modules/pyr'), 'dir');
  });

  describe("in pyr's checkout", () => {
    let made: SpawnSyncReturns<string>;
    before(() => {
      expect(runsFrom(copy), 'bin/pyr runs the build').to.equal('dist');
      made = pyr(['new', 'strategy', 'foo'], copy);
    });

    it("writes strategies/foo.ts importing pyr's TypeScript sources by a relative path, not dist/", () => {
      expect(made.status, made.stderr).to.equal(0);
      expect(importsOf(path.join(copy, 'strategies/foo.ts'))).to.deep.equal(['../lib/indicators/index.ts', '../lib/strategy/index.ts']);
      expect(importsOf(path.join(copy, 'strategies/foo.test.ts'))).to.deep.equal(['node:assert/strict', '../lib/testkit/index.ts', './foo.ts']);
      expect(made.stdout).to.include(`They import pyr's sources in ${path.join(copy, 'lib')} by a relative path`);
      expect(made.stdout).to.include('  npx pyr backtest --strategy foo --from 2024-03-01 --to 2024-03-07\n');
    });

    it('a strategy of the user in strategies/ does not make the build stale; an edited built-in does', () => {
      expect(runsFrom(copy)).to.equal('dist');
      const builtin = path.join(copy, 'strategies/pivot-bounce.ts');
      const future = new Date(Date.now() + 3_600_000);
      const past = new Date(Date.now() - 3_600_000);
      utimesSync(builtin, future, future);
      try {
        expect(runsFrom(copy)).to.equal('lib');
      } finally {
        utimesSync(builtin, past, past);
      }
      expect(runsFrom(copy)).to.equal('dist');
    });

    for (const mode of ['dist', 'lib'] as const) {
      const env = mode === 'lib' ? { PYR_NO_DIST: '1' } : {};
      it(`pyr strategies (${mode}) lists foo as a local strategy by its path and the shipped ones as built-in, exit 0`, () => {
        expect(runsFrom(copy, env)).to.equal(mode);
        const r = pyr(['strategies'], copy, env);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stderr).to.equal('');
        const heads = r.stdout.split('\n').filter((l) => /^\S+ \(/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
        expect(heads).to.deep.equal(['pivot-bounce (built-in)', 'stochrsi-maker (built-in)', 'stochrsi-scalper (built-in)', 'foo (strategies/foo.ts)']);
        const json = pyr(['strategies', '--json'], copy, env);
        expect(json.status, json.stderr).to.equal(0);
        const listed = JSON.parse(json.stdout).strategies.map((s: { name: string; builtin: boolean; file: string }) => [s.name, s.builtin, path.relative(copy, s.file)]);
        const ext = mode === 'dist' ? 'dist/strategies/%.js' : 'strategies/%.ts';
        expect(listed).to.deep.equal([
          ['pivot-bounce', true, ext.replace('%', 'pivot-bounce')],
          ['stochrsi-maker', true, ext.replace('%', 'stochrsi-maker')],
          ['stochrsi-scalper', true, ext.replace('%', 'stochrsi-scalper')],
          ['foo', false, 'strategies/foo.ts'],
        ]);
      });
    }

    it('backtests it, by file and by name, with trades', () => {
      for (const spec of ['strategies/foo.ts', 'foo']) {
        const r = pyr(['backtest', '--strategy', spec, '--candles', SAMPLE_15M, '--json', '--out', path.join(tmp.dir, `bt-${spec.replace(/\W/g, '-')}`)], copy);
        expect(r.status, r.stderr).to.equal(0);
        const summary = JSON.parse(r.stdout);
        expect(summary.meta.strategy).to.equal('foo');
        expect(summary.metrics.trades).to.be.greaterThan(0);
      }
    });

    it('the printed test command passes and runs that test only, not the suite of .mocharc.json', () => {
      const line = testLine(made.stdout);
      expect(line).to.equal('npx mocha --no-config --no-package --node-option import=tsx strategies/foo.test.ts');
      const run = spawnSync(line, { shell: true, cwd: copy, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(run.status, `${run.stdout}\n${run.stderr}`).to.equal(0);
      expect(run.stdout).to.match(/\b4 passing\b/);
      expect(run.stdout).to.not.include('checkout suite');
      // The same without --no-config runs the checkout's suite too: what the flags are for.
      const plain = spawnSync('npx mocha strategies/foo.test.ts', { shell: true, cwd: copy, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(plain.stdout).to.include('the checkout suite ran');
    });

    it('--dir outside the checkout: imports the sources by path, and it backtests', () => {
      const dir = path.join(tmp.dir, 'elsewhere');
      const r = pyr(['new', 'strategy', 'lab-edge', '--dir', dir], copy);
      expect(r.status, r.stderr).to.equal(0);
      const file = path.join(dir, 'lab-edge.ts');
      expect(importsOf(file).map((s) => path.resolve(dir, s))).to.deep.equal([path.join(copy, 'lib/indicators/index.ts'), path.join(copy, 'lib/strategy/index.ts')]);
      const bt = pyr(['backtest', '--strategy', file, '--candles', SAMPLE_15M, '--json', '--out', path.join(tmp.dir, 'bt-lab')], copy);
      expect(bt.status, bt.stderr).to.equal(0);
      expect(JSON.parse(bt.stdout).metrics.trades).to.be.greaterThan(0);
    });

    it("refuses a built-in strategy's name, even with --force, and leaves the built-in alone", () => {
      const file = path.join(copy, 'strategies/pivot-bounce.ts');
      const before = readFileSync(file, 'utf8');
      const r = pyr(['new', 'strategy', 'pivot-bounce', '--force'], copy);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.match(/^pyr: "pivot-bounce" is a built-in strategy \(.*\); a local one with that name would never be found by name: pick another name\n$/);
      expect(readFileSync(file, 'utf8')).to.equal(before);
      expect(existsSync(path.join(copy, 'strategies/pivot-bounce.test.ts'))).to.equal(false);
    });
  });

  describe('in a project with pyr installed (node_modules/pyr)', () => {
    const bin = () => path.join(user, 'node_modules/pyr/bin/pyr');
    let made: SpawnSyncReturns<string>;
    before(() => {
      expect(runsFrom(user, {}, bin()), 'bin/pyr runs the build').to.equal('dist');
      made = pyr(['new', 'strategy', 'bar'], user, {}, bin());
    });

    it("writes strategies/bar.ts and its test importing 'pyr' by name, and says to run it with npx pyr", () => {
      expect(made.status, made.stderr).to.equal(0);
      expect(importsOf(path.join(user, 'strategies/bar.ts'))).to.deep.equal(['pyr']);
      expect(importsOf(path.join(user, 'strategies/bar.test.ts'))).to.deep.equal(['node:assert/strict', 'pyr', './bar.ts']);
      expect(made.stdout).to.include("They import pyr by its package name, 'pyr'");
      expect(made.stdout).to.include('  npx pyr backtest --strategy bar --from 2024-03-01 --to 2024-03-07\n');
    });

    it('pyr strategies lists it by its path, exit 0', () => {
      const r = pyr(['strategies'], user, {}, bin());
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^bar \(strategies\/bar\.ts\): RSI mean reversion/m);
      expect(r.stdout).to.match(/^pivot-bounce \(built-in\): /m);
    });

    for (const mode of ['dist', 'lib'] as const) {
      it(`backtests it by name (${mode}), with trades`, () => {
        const env = mode === 'lib' ? { PYR_NO_DIST: '1' } : {};
        expect(runsFrom(user, env, bin())).to.equal(mode);
        const r = pyr(['backtest', '--strategy', 'bar', '--candles', SAMPLE_15M, '--json', '--out', path.join(tmp.dir, `bt-bar-${mode}`)], user, env, bin());
        expect(r.status, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout).metrics.trades).to.be.greaterThan(0);
      });
    }

    it('the printed test command passes (mocha and tsx of the pyr installation)', () => {
      const line = testLine(made.stdout);
      expect(line).to.match(/^node \S+\/mocha\.js --no-config --no-package --node-option import=file:\/\/\S+ strategies\/bar\.test\.ts$/);
      const run = spawnSync(line, { shell: true, cwd: user, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(run.status, `${run.stdout}\n${run.stderr}`).to.equal(0);
      expect(run.stdout).to.match(/\b4 passing\b/);
    });

    it("both files type-check against 'pyr' (its sources: with --allowImportingTsExtensions)", () => {
      expect(typecheckErrors(user, ['strategies/bar.ts', 'strategies/bar.test.ts'])).to.deep.equal([]);
    });
  });
});
