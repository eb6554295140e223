/**
 * `pyr new strategy <name>`: writes a commented, working strategy and its test from the template
 * (lib/strategy/template.ts) into `./strategies/` (or `--dir`), ready to backtest by name.
 *
 * Files: `<dir>/<name>.ts`, the strategy, and `<dir>/<name>.test.ts`, its test, next to it (pyr's
 * strategy lookup skips `*.test.ts`). Both import pyr by a relative path to this installation's `lib/`,
 * worked out now, so they run from the user's folder without pyr being one of its dependencies; after
 * moving pyr or the files, fix the import lines (or write them again with --force).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { ConfigError } from '../core/index.ts';
import { BUILTIN_DIR, listStrategyFiles } from '../strategy/registry.ts';
import { strategyTemplate, strategyTestTemplate } from '../strategy/template.ts';
import type { CliIo } from './backtest.ts';

const LIB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The strategy API, the indicators and the test kit, as TypeScript sources (run through tsx). Not
 * lib/index.ts: it also loads the CLI, and a strategy file Node treats as CommonJS (one outside a
 * "type": "module" package) may not require() a module that is still loading.
 */
const API_FILE = path.join(LIB_DIR, 'strategy', 'index.ts');
const INDICATORS_FILE = path.join(LIB_DIR, 'indicators', 'index.ts');
const KIT_FILE = path.join(LIB_DIR, 'strategy', 'testkit.ts');

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

function quoteArg(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that runs a generated test from `cwd`: mocha and tsx from the user's folder when it has
 * them, else the ones installed with pyr (tsx is one of pyr's dependencies; mocha is there in a checkout).
 */
export function testCommand(testFile: string, cwd: string): string {
  const tsx = resolveFrom(cwd, 'tsx') ? 'tsx' : pathToFileURL(resolveFrom(LIB_DIR, 'tsx') ?? 'tsx').href;
  const ownMocha = resolveFrom(cwd, 'mocha/package.json');
  const pyrMocha = resolveFrom(LIB_DIR, 'mocha/package.json');
  const mocha = ownMocha || !pyrMocha ? 'npx mocha' : `node ${quoteArg(path.join(path.dirname(pyrMocha), 'bin', 'mocha.js'))}`;
  return `${mocha} --node-option import=${quoteArg(tsx)} ${quoteArg(testFile)}`;
}

export interface NewStrategyResult {
  readonly strategyFile: string;
  readonly testFile: string;
}

/** Writes the strategy and its test; throws a ConfigError for a bad name, a shadowed name or existing files without `force`. */
export function newStrategy(name: string, opts: { dir?: string; force?: boolean }, cwd: string): NewStrategyResult {
  checkStrategyName(name);
  const dir = path.resolve(cwd, opts.dir ?? 'strategies');
  const strategyFile = path.join(dir, `${name}.ts`);
  const testFile = path.join(dir, `${name}.test.ts`);
  // Built-in strategies are found first by name, so a local one with the same name would never run.
  const builtin = listStrategyFiles(cwd).find((s) => s.builtin && s.name === name);
  if (builtin && path.resolve(dir) !== path.resolve(BUILTIN_DIR)) {
    throw new ConfigError(`"${name}" is a built-in strategy (${builtin.file}); a local one with that name would never be found by name: pick another name`);
  }
  const existing = [strategyFile, testFile].filter((f) => existsSync(f));
  if (existing.length > 0 && !opts.force) {
    throw new ConfigError(`${existing.map((f) => path.relative(cwd, f) || f).join(' and ')} already exist${existing.length === 1 ? 's' : ''}; pass --force to overwrite`);
  }
  mkdirSync(dir, { recursive: true });
  const imports = { name, api: importPath(dir, API_FILE), indicators: importPath(dir, INDICATORS_FILE), testkit: importPath(dir, KIT_FILE), strategy: `./${name}.ts` };
  writeFileSync(strategyFile, strategyTemplate(imports));
  writeFileSync(testFile, strategyTestTemplate(imports));
  return { strategyFile, testFile };
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
      const { strategyFile, testFile } = newStrategy(name, opts, io.cwd);
      const rel = (f: string) => {
        const r = path.relative(io.cwd, f);
        return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : f;
      };
      const byName = path.resolve(path.dirname(strategyFile)) === path.resolve(io.cwd, 'strategies');
      const spec = byName ? name : rel(strategyFile);
      io.stdout.write(
        [
          `Wrote ${rel(strategyFile)} (the strategy: RSI mean reversion with a stop loss and a take profit)`,
          `  and ${rel(testFile)} (its test, with pyr's strategy test kit).`,
          `They import pyr from ${LIB_DIR} by a relative path; if pyr or the files move, fix the import lines.`,
          '',
          'Backtest it:',
          `  pyr backtest --strategy ${spec} --from 2024-03-01 --to 2024-03-07`,
          'Test it:',
          `  ${testCommand(rel(testFile), io.cwd)}`,
          'List its parameters:',
          '  pyr strategies',
          '',
        ].join('\n'),
      );
    });
  return cmd;
}
