/**
 * Loading strategy files: a file that does not parse or compile, throws while loading, or does not
 * default-export a strategy is bad input: one line naming the file (with the line and column when the
 * loader gives them) and exit code 2, whether Node takes the folder's files for CommonJS or ES modules.
 * And the list of built-in strategies matches the files pyr ships.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as registry from '../../lib/strategy/registry.ts';
import { REPO, SAMPLE_15M, runCli, tempDir } from '../helpers.ts';

const USAGE = 'a strategy file must `export default defineStrategy({ name, description, params, warmup, create })`';

/** Files and the one line `pyr backtest --strategy strategies/<file>` must print for each. */
const BROKEN: readonly { file: string; text: string; error: string }[] = [
  {
    file: 'syntax.ts',
    text: "export default {\n  name: 'x',,\n};\n",
    error: 'strategy strategies/syntax.ts, line 2, column 13: does not compile: Expected identifier but found ","',
  },
  {
    file: 'expression.ts',
    text: 'const x: number = ;\nexport default x;\n',
    error: 'strategy strategies/expression.ts, line 1, column 19: does not compile: Unexpected ";"',
  },
  {
    file: 'syntax-js.mjs',
    text: "export default {\n  name: 'x',,\n};\n",
    error: "strategy strategies/syntax-js.mjs, line 2, column 13: syntax error: Unexpected token ','",
  },
  {
    file: 'uses-helper.ts',
    text: "import { k } from './lib/helper.ts';\nexport default k;\n",
    error: 'strategy strategies/uses-helper.ts failed to load: strategies/lib/helper.ts, line 1, column 16: does not compile: Expected ";" but found "1"',
  },
  {
    file: 'throws.ts',
    text: "const ok = 1;\nif (ok) {\n  throw new Error('boom while loading');\n}\nexport default ok;\n",
    error: 'strategy strategies/throws.ts, line 3, column 9: failed to load: boom while loading',
  },
  {
    file: 'no-default.ts',
    text: 'export const name = "x";\n',
    error: `strategy strategies/no-default.ts has no default export: ${USAGE}`,
  },
  {
    file: 'a-number.ts',
    text: 'export default 42;\n',
    error: `strategy strategies/a-number.ts: its default export is a number, not a strategy; ${USAGE}`,
  },
  {
    file: 'half.ts',
    text: "export default { name: 'half', description: 'no create', params: {} };\n",
    error: `strategy strategies/half.ts: its default export is not a strategy: warmup must be a function (missing), create must be a function (missing); ${USAGE}`,
  },
];

describe('loading strategy files', function () {
  this.timeout(60_000);
  const tmp = tempDir('pyr-registry-');
  after(() => tmp.cleanup());

  for (const kind of ['CommonJS', 'ES module'] as const) {
    describe(`in a folder of ${kind} files`, () => {
      const dir = path.join(tmp.dir, kind === 'CommonJS' ? 'cjs' : 'esm');
      before(() => {
        mkdirSync(path.join(dir, 'strategies/lib'), { recursive: true });
        if (kind === 'ES module') writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
        writeFileSync(path.join(dir, 'strategies/lib/helper.ts'), 'export const k 1;\n');
        for (const b of BROKEN) writeFileSync(path.join(dir, 'strategies', b.file), b.text);
      });

      for (const b of BROKEN) {
        it(`${b.file}: exit 2 and one line naming it (and where)`, async () => {
          const r = await runCli(['backtest', '--strategy', `strategies/${b.file}`, '--candles', SAMPLE_15M, '--out', path.join(dir, 'bt')], dir);
          expect(r.code, r.stderr).to.equal(2);
          expect(r.stderr).to.equal(`pyr: ${b.error}\n`);
        });
      }

      it('by name too, and loadStrategy throws a StrategyLoadError with the file, line and column', async () => {
        const r = await runCli(['backtest', '--strategy', 'syntax', '--candles', SAMPLE_15M, '--out', path.join(dir, 'bt')], dir);
        expect(r.code).to.equal(2);
        expect(r.stderr).to.equal(`pyr: ${BROKEN[0]!.error}\n`);
        const { StrategyLoadError, loadStrategy } = registry;
        const err = await loadStrategy('strategies/syntax.ts', dir).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(StrategyLoadError);
        const e = err as registry.StrategyLoadError;
        expect([e.file, e.line, e.column, e.exitCode]).to.deep.equal([path.join(dir, 'strategies/syntax.ts'), 2, 13, 2]);
      });
    });
  }

  it("a file importing 'pyr' where pyr is not installed: says so", async () => {
    const dir = path.join(tmp.dir, 'no-pyr');
    mkdirSync(path.join(dir, 'strategies'), { recursive: true });
    writeFileSync(path.join(dir, 'strategies/lonely.ts'), "import { defineStrategy } from 'pyr';\nexport default defineStrategy({} as never);\n");
    const r = await runCli(['backtest', '--strategy', 'lonely', '--candles', SAMPLE_15M, '--out', path.join(dir, 'bt')], dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^pyr: strategy strategies\/lonely\.ts(, line \d+, column \d+:)? failed to load: Cannot find (module|package) 'pyr'.* \(pyr is not installed where this file is: install it there, or import it by a path\)\n$/);
  });

  it('BUILTIN_STRATEGIES names the strategies pyr ships (the files git tracks in strategies/)', function () {
    const git = spawnSync('git', ['ls-files', '--', 'strategies'], { cwd: REPO, encoding: 'utf8' });
    if (git.status !== 0) this.skip(); // not a git checkout
    const shipped = git.stdout
      .split('\n')
      .filter((f) => /^strategies\/[^/]+\.(ts|js|mjs)$/.test(f) && !/\.test\.(ts|js|mjs)$/.test(f))
      .map((f) => path.basename(f).replace(/\.(ts|js|mjs)$/, ''));
    expect([...registry.BUILTIN_STRATEGIES].sort()).to.deep.equal(shipped.sort());
  });
});
