/**
 * `pyr new strategy <name>`: writes a commented, working strategy and its test from the template
 * (lib/strategy/template.ts) into `./strategies/` (or `--dir`), ready to backtest by name.
 *
 * Files: `<dir>/<name>.ts`, the strategy, and `<dir>/<name>.test.ts`, its test, next to it (pyr's
 * strategy lookup skips `*.test.ts`). How they import pyr is worked out now, from where they are written:
 * - in a folder where the package `pyr` resolves (pyr is one of the project's dependencies): by its name,
 *   `import { ... } from 'pyr'` (its "exports" point at lib/index.ts, which tsx runs);
 * - inside pyr's own checkout, and in a folder without pyr: by a relative path to the TypeScript sources
 *   (`lib/`) of this installation, as the built-in strategies do. After moving pyr or the files, fix the
 *   import lines (or write them again with --force).
 * Always the sources, never dist/: the compiled JavaScript has no types, and a stale build is not used.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { ConfigError } from '../core/index.ts';
import { writeFileAtomic } from '../data/store.ts';
import { PYR_ROOT, displayPath, listStrategyFiles, realPath } from '../strategy/registry.ts';
import { strategyTemplate, strategyTestTemplate } from '../strategy/template.ts';
import type { CliIo } from './backtest.ts';

/** pyr's TypeScript sources, wherever this code runs from (lib/cli/ or the compiled dist/lib/cli/). */
const LIB_DIR = path.join(PYR_ROOT, 'lib');
/**
 * The strategy API, the indicators and the test kit, as TypeScript sources (run through tsx). Not
 * lib/index.ts: it also loads the CLI, which a strategy inside pyr's own checkout does not need.
 */
const API_FILE = path.join(LIB_DIR, 'strategy', 'index.ts');
const INDICATORS_FILE = path.join(LIB_DIR, 'indicators', 'index.ts');
const KIT_FILE = path.join(LIB_DIR, 'testkit', 'index.ts');

/** A strategy name: kebab-case, starting with a letter, at most 64 characters. */
export const STRATEGY_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

export function checkStrategyName(name: string): void {
  if (!STRATEGY_NAME.test(name) || name.length > 64) {
    throw new ConfigError(
      `strategy name "${name}" must be kebab-case: lowercase letters and digits in words joined by single hyphens, starting with a letter, at most 64 characters (e.g. my-edge); it becomes the file name, so no paths or extensions`,
    );
  }
}

/** An import specifier for `target` from a file in `fromDir`: relative, forward slashes, starting with . */
export function importPath(fromDir: string, target: string): string {
  const rel = path.relative(fromDir, target);
  // Another drive (Windows): no relative path exists; a file URL works everywhere.
  if (path.isAbsolute(rel)) return new URL(`file:///${target.replace(/\\/g, '/').replace(/^\/+/, '')}`).href;
  const fwd = rel.split(path.sep).join('/');
  return fwd.startsWith('.') ? fwd : `./${fwd}`;
}

/** Resolves `spec` as Node would from a file in `dir`, or undefined. */
function resolveFrom(dir: string, spec: string): string | undefined {
  try {
    return createRequire(path.join(dir, 'noop.js')).resolve(spec);
  } catch {
    return undefined;
  }
}

/** `child` is `parent` or inside it, symbolic links resolved. */
function isInside(child: string, parent: string): boolean {
  const rel = path.relative(realPath(parent), realPath(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** How files written to `dir` import pyr. */
export interface PyrImports {
  /** 'package': by the name 'pyr'; 'path': by relative paths to this installation's lib/. */
  readonly by: 'package' | 'path';
  readonly api: string;
  readonly indicators: string;
  readonly testkit: string;
}

/**
 * By the package name when a package named pyr resolves from `dir` (a dependency of the user's project),
 * unless `dir` is inside this installation (pyr's checkout: it would resolve to itself); else by path.
 */
export function pyrImports(dir: string): PyrImports {
  if (!isInside(dir, PYR_ROOT)) {
    const pkg = resolveFrom(dir, 'pyr/package.json');
    let name: unknown;
    try {
      name = pkg ? (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name : undefined;
    } catch {
      name = undefined;
    }
    if (name === 'pyr') return { by: 'package', api: 'pyr', indicators: 'pyr', testkit: 'pyr' };
  }
  return { by: 'path', api: importPath(dir, API_FILE), indicators: importPath(dir, INDICATORS_FILE), testkit: importPath(dir, KIT_FILE) };
}

function quoteArg(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that runs a generated test, and only it, from `cwd`: mocha and tsx from the user's folder
 * when it has them, else the ones installed with pyr (tsx is one of pyr's dependencies; mocha is there
 * in a checkout). `--no-config --no-package`: mocha adds the `spec` of a .mocharc file (or of
 * package.json's "mocha") to the files named on the command line, so in pyr's checkout the plain command
 * would run the whole suite; without a config, tsx comes with `--node-option import=`.
 */
export function testCommand(testFile: string, cwd: string): string {
  const tsx = resolveFrom(cwd, 'tsx') ? 'tsx' : pathToFileURL(resolveFrom(LIB_DIR, 'tsx') ?? 'tsx').href;
  const ownMocha = resolveFrom(cwd, 'mocha/package.json');
  const pyrMocha = resolveFrom(LIB_DIR, 'mocha/package.json');
  const mocha = ownMocha || !pyrMocha ? 'npx mocha' : `node ${quoteArg(path.join(path.dirname(pyrMocha), 'bin', 'mocha.js'))}`;
  return `${mocha} --no-config --no-package --node-option import=${quoteArg(tsx)} ${quoteArg(testFile)}`;
}

export interface NewStrategyResult {
  readonly strategyFile: string;
  readonly testFile: string;
  /** How the files import pyr. */
  readonly imports: PyrImports;
}

/** Writes the strategy and its test; throws a ConfigError for a bad name, a shadowed name or existing files without `force`. */
export function newStrategy(name: string, opts: { dir?: string; force?: boolean }, cwd: string): NewStrategyResult {
  checkStrategyName(name);
  const dir = path.resolve(cwd, opts.dir ?? 'strategies');
  const strategyFile = path.join(dir, `${name}.ts`);
  const testFile = path.join(dir, `${name}.test.ts`);
  // Built-in strategies are found first by name, so a local one with the same name would never run (and
  // in pyr's checkout, strategies/<name>.ts is the built-in itself).
  const builtin = listStrategyFiles(cwd).find((s) => s.builtin && s.name === name);
  if (builtin) {
    throw new ConfigError(`"${name}" is a built-in strategy (${builtin.file}); a local one with that name would never be found by name: pick another name`);
  }
  const existing = [strategyFile, testFile].filter((f) => existsSync(f));
  if (existing.length > 0 && !opts.force) {
    throw new ConfigError(`${existing.map((f) => path.relative(cwd, f) || f).join(' and ')} already exist${existing.length === 1 ? 's' : ''}; pass --force to overwrite`);
  }
  const imports = pyrImports(dir);
  const t = { name, api: imports.api, indicators: imports.indicators, testkit: imports.testkit, strategy: `./${name}.ts` };
  // Each through a temp file and a rename: never a half-written file.
  writeFileAtomic(strategyFile, strategyTemplate(t));
  writeFileAtomic(testFile, strategyTestTemplate(t));
  return { strategyFile, testFile, imports };
}

export function newCommand(io: CliIo): Command {
  const cmd = new Command('new').description('Create files from templates: `pyr new strategy <name>`');
  cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  cmd
    .command('strategy')
    .description('Write a commented, working strategy (RSI mean reversion) and its test, ready to backtest and edit')
    .argument('<name>', 'kebab-case name, e.g. my-edge: the file <dir>/<name>.ts and the name for --strategy')
    .option('--dir <dir>', 'folder to write to (default strategies: where pyr looks for local strategies by name)')
    .option('--force', 'overwrite existing files')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .action((name: string, opts: { dir?: string; force?: boolean }) => {
      const { strategyFile, testFile, imports } = newStrategy(name, opts, io.cwd);
      const rel = (f: string) => displayPath(f, io.cwd);
      const byName = path.resolve(path.dirname(strategyFile)) === path.resolve(io.cwd, 'strategies');
      const spec = byName ? name : rel(strategyFile);
      // With pyr a dependency of this folder, or in pyr's checkout, its command is in node_modules/.bin
      // (or the package's own bin), not on the PATH: npx finds it.
      const pyr = imports.by === 'package' || isInside(io.cwd, PYR_ROOT) ? 'npx pyr' : 'pyr';
      io.stdout.write(
        [
          `Wrote ${rel(strategyFile)} (the strategy: RSI mean reversion with a stop loss and a take profit)`,
          `  and ${rel(testFile)} (its test, with pyr's strategy test kit).`,
          imports.by === 'package'
            ? "They import pyr by its package name, 'pyr' (a dependency of this project)."
            : `They import pyr's sources in ${LIB_DIR} by a relative path; if pyr or the files move, fix the import lines.`,
          '',
          'Backtest it:',
          `  ${pyr} backtest --strategy ${spec} --from 2024-03-01 --to 2024-03-07`,
          'Test it:',
          `  ${testCommand(rel(testFile), io.cwd)}`,
          'List its parameters:',
          `  ${pyr} strategies`,
          '',
        ].join('\n'),
      );
    });
  return cmd;
}
