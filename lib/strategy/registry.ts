/**
 * Finds strategies: built-in ones (shipped in pyr's `strategies/` folder), local ones (`./strategies/` of
 * the working directory), or any .ts/.js file given by path. A strategy file default-exports
 * `defineStrategy({...})`. Files are imported as they are (tsx runs TypeScript without a build step).
 *
 * Which strategies are built-in is a fixed list, BUILTIN_STRATEGIES, not "whatever is in pyr's folder":
 * in pyr's own checkout `./strategies/` is that folder, and the user's strategies written there (by
 * `pyr new strategy`) are local ones, listed by their path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, StrategyError } from '../core/index.ts';
import { suggest } from './params.ts';
import type { StrategyDefinition } from './strategy.ts';

/**
 * The strategies shipped with pyr, in its `strategies/` folder (compiled into `dist/strategies/`). A new
 * built-in strategy must be added here (test/strategy/registry.test.ts checks the list against git).
 */
export const BUILTIN_STRATEGIES: readonly string[] = ['pivot-bounce', 'stochrsi-maker', 'stochrsi-scalper'];

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * The root of this pyr installation (the folder of its package.json): a checkout, or node_modules/pyr.
 * The same whether pyr runs from its TypeScript sources (lib/strategy/) or compiled (dist/lib/strategy/).
 */
export const PYR_ROOT: string = (() => {
  for (let dir = HERE; ; dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'pyr') return dir;
    } catch {
      // no package.json here (dist/ has none): go up
    }
    if (path.dirname(dir) === dir) return path.resolve(HERE, '../..');
  }
})();

/** Where the built-in strategies this code runs with are: `strategies/`, or `dist/strategies/` when compiled. */
export const BUILTIN_DIR = path.resolve(HERE, '../../strategies');

/** pyr's own `strategies/` folder, with the TypeScript sources of the built-ins. */
export const PYR_STRATEGIES_DIR = path.join(PYR_ROOT, 'strategies');

/**
 * A strategy file that cannot be used: it does not parse or compile, throws or fails to import while
 * loading, or does not default-export a strategy. Bad input: exit code 2. Names the file, and the line
 * and column when the loader gives them.
 */
export class StrategyLoadError extends StrategyError {
  override readonly exitCode: number = 2;
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  constructor(message: string, where: { file: string; line?: number; column?: number }, options?: { cause?: unknown }) {
    super(message, options);
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}

/** `p` with symbolic links resolved, also when it (or its last parts) does not exist yet. */
export function realPath(p: string): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realPath(parent), path.basename(abs));
  }
}

/** `file` relative to `cwd` when it is inside it (strategies/my-edge.ts), else absolute. */
export function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

const STRATEGY_EXT = /\.(ts|js|mjs)$/;

function strategyFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => STRATEGY_EXT.test(f) && !f.endsWith('.d.ts') && !/\.test\.(ts|js|mjs)$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface StrategyFileEntry {
  /** The name `--strategy` takes: the file name without its extension. */
  readonly name: string;
  readonly file: string;
  /** Shipped with pyr (BUILTIN_STRATEGIES), rather than one of the user's. */
  readonly builtin: boolean;
}

/** The built-in strategies' files: compiled ones when pyr runs compiled, else (or when missing) the sources. */
function builtinFiles(): StrategyFileEntry[] {
  const out: StrategyFileEntry[] = [];
  for (const name of BUILTIN_STRATEGIES) {
    const file = [BUILTIN_DIR, PYR_STRATEGIES_DIR].flatMap((dir) => ['.js', '.ts'].map((ext) => path.join(dir, name + ext))).find((f) => existsSync(f));
    if (file) out.push({ name, file, builtin: true });
  }
  return out;
}

/**
 * The strategies pyr can find by name: built-in, then local ones in `<cwd>/strategies/` (a local one
 * with a built-in's name is never found by name, so it is not listed).
 */
export function listStrategyFiles(cwd = process.cwd()): StrategyFileEntry[] {
  const out = builtinFiles();
  const seen = new Set(out.map((s) => s.name));
  for (const file of strategyFiles(path.resolve(cwd, 'strategies'))) {
    const name = path.basename(file).replace(STRATEGY_EXT, '');
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, file, builtin: false });
  }
  return out;
}

function looksLikePath(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || STRATEGY_EXT.test(spec);
}

/** Resolves `--strategy` (a name or a path) to a file. */
export function resolveStrategyFile(spec: string, cwd = process.cwd()): string {
  if (looksLikePath(spec)) {
    const file = path.resolve(cwd, spec);
    if (!existsSync(file)) throw new ConfigError(`--strategy: file not found: ${file}`);
    return file;
  }
  const all = listStrategyFiles(cwd);
  const hit = all.find((s) => s.name === spec);
  if (!hit) {
    throw new ConfigError(`--strategy: unknown strategy "${spec}"${suggest(spec, all.map((s) => s.name))}; available: ${all.map((s) => s.name).join(', ') || 'none'}`);
  }
  return hit.file;
}

/** What is wrong with `x` as a strategy definition (a phrase about "its default export"), or undefined when it is one. */
function definitionProblem(x: unknown): string | undefined {
  if (x === null || typeof x !== 'object') return `its default export is ${kindOf(x)}, not a strategy`;
  const d = x as Record<string, unknown>;
  const got = (v: unknown) => (v === undefined ? 'missing' : `got ${kindOf(v)}`);
  const wrong = [
    typeof d.name !== 'string' ? `name must be a string (${got(d.name)})` : '',
    d.params === null || typeof d.params !== 'object' ? `params must be an object (${got(d.params)})` : '',
    typeof d.warmup !== 'function' ? `warmup must be a function (${got(d.warmup)})` : '',
    typeof d.create !== 'function' ? `create must be a function (${got(d.create)})` : '',
  ].filter(Boolean);
  return wrong.length > 0 ? `its default export is not a strategy: ${wrong.join(', ')}` : undefined;
}

function kindOf(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (x === undefined) return 'nothing';
  const t = typeof x;
  return t === 'object' ? 'an object' : `a${/^[aeiou]/.test(t) ? 'n' : ''} ${t}`;
}

/**
 * One line about why a strategy file failed to import, with the file, line and column when the loader
 * gives them: tsx (esbuild) puts "file:line:column: ERROR: text" in its message; Node's CommonJS
 * SyntaxErrors start their stack with "file:line", then the code and a caret; a throw while loading has a
 * stack frame in the file.
 */
function loadFailure(err: unknown, file: string, cwd: string): StrategyLoadError {
  const who = `strategy ${displayPath(file, cwd)}`;
  const e = err instanceof Error ? err : new Error(String(err));
  const message = e.message ?? String(err);
  /** `f` for display when it is another file than the strategy's (an import of it), else undefined. */
  const otherFile = (f: string) => {
    const p = f.startsWith('file:') ? fileURLToPath(f) : path.resolve(cwd, f);
    return p === file ? undefined : displayPath(p, cwd);
  };
  // tsx / esbuild: "Transform failed with 2 errors:\n<file>:3:12: ERROR: Expected ..."
  const esb = /^(.+?):(\d+):(\d+): ERROR: (.*)$/m.exec(message);
  if (esb) {
    const [, f, line, column, text] = esb;
    const more = /failed with (\d+) errors/.exec(message);
    const extra = more ? ` (and ${Number(more[1]) - 1} more)` : '';
    const other = otherFile(f!);
    const where = `line ${line}, column ${Number(column) + 1}`;
    const msg = other ? `${who} failed to load: ${other}, ${where}: does not compile: ${text}${extra}` : `${who}, ${where}: does not compile: ${text}${extra}`;
    return new StrategyLoadError(msg, other ? { file } : { file, line: Number(line), column: Number(column) + 1 }, { cause: err });
  }
  const firstLine = message.split('\n')[0]!.trim();
  const hint = /Cannot find (?:module|package) 'pyr'/.test(firstLine) ? ' (pyr is not installed where this file is: install it there, or import it by a path)' : '';
  if (e.name === 'SyntaxError') {
    // CommonJS: the stack starts "<file>:<line>\n<code>\n<spaces>^". An ES module's SyntaxError has no
    // location (Node 20 keeps it to itself): `node --check` prints it the same way.
    const located = (s: string | undefined) => (s && /^.+:\d+\n/.test(s) ? s : undefined);
    const [head, , caret] = (located(e.stack) ?? located(syntaxCheck(file)) ?? '').split('\n');
    const m = head ? /^(.+):(\d+)$/.exec(head) : null;
    if (m) {
      const other = otherFile(m[1]!);
      const col = caret && /^\s*\^/.test(caret) ? caret.indexOf('^') + 1 : undefined;
      const where = `line ${m[2]}${col ? `, column ${col}` : ''}`;
      if (!other) return new StrategyLoadError(`${who}, ${where}: syntax error: ${firstLine}`, { file, line: Number(m[2]), column: col }, { cause: err });
      return new StrategyLoadError(`${who} failed to load: ${other}, ${where}: syntax error: ${firstLine}`, { file }, { cause: err });
    }
    return new StrategyLoadError(`${who}: syntax error: ${firstLine}`, { file }, { cause: err });
  }
  // A throw while loading: the first stack frame in the file, with tsx's source maps its TypeScript line.
  const url = pathToFileURL(file).href;
  for (const frame of (e.stack ?? '').split('\n').slice(1)) {
    const at = frame.includes(url) ? frame.slice(frame.indexOf(url) + url.length) : frame.includes(file) ? frame.slice(frame.indexOf(file) + file.length) : undefined;
    const m = at ? /^:(\d+):(\d+)/.exec(at) : null;
    if (m) return new StrategyLoadError(`${who}, line ${m[1]}, column ${m[2]}: failed to load: ${firstLine}${hint}`, { file, line: Number(m[1]), column: Number(m[2]) }, { cause: err });
  }
  return new StrategyLoadError(`${who} failed to load: ${firstLine}${hint}`, { file }, { cause: err });
}

/** What `node --check` says about a JavaScript file (stderr), or undefined. Only on the error path. */
function syntaxCheck(file: string): string | undefined {
  if (!/\.(js|mjs|cjs)$/.test(file)) return undefined;
  const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? undefined : r.stderr;
}

let tsxRegistered = false;

/**
 * A TypeScript strategy needs tsx when pyr itself runs as compiled JavaScript (dist/): register it once,
 * only then, so runs of built-in strategies do not pay its start-up.
 */
async function ensureTypeScript(file: string): Promise<void> {
  if (tsxRegistered || !/\.(ts|mts)$/.test(file) || import.meta.url.endsWith('.ts')) return;
  // Both of tsx's loaders: a .ts file outside a "type": "module" package is CommonJS to Node.
  const [{ register }, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  register();
  cjs.register();
  tsxRegistered = true;
}

/**
 * Imports a strategy file and checks its default export. A file that cannot be used throws a
 * StrategyLoadError (exit code 2) naming it; an unknown name or a missing file, a ConfigError.
 */
export async function loadStrategy(spec: string, cwd = process.cwd()): Promise<{ definition: StrategyDefinition; file: string }> {
  const file = resolveStrategyFile(spec, cwd);
  let mod: Record<string, unknown>;
  try {
    await ensureTypeScript(file);
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw loadFailure(err, file, cwd);
  }
  // A file Node treats as CommonJS arrives wrapped once more: its module.exports is the default export,
  // and an ES module compiled to CommonJS (by tsx) keeps its own default export in there.
  let value = mod.default;
  let hasDefault = 'default' in mod;
  const exportsObject = value as Record<string, unknown> | null | undefined;
  if (definitionProblem(value) !== undefined && exportsObject !== null && typeof exportsObject === 'object') {
    if (exportsObject.__esModule === true) {
      hasDefault = 'default' in exportsObject;
      value = exportsObject.default;
    } else if (definitionProblem(exportsObject.default) === undefined) {
      value = exportsObject.default;
    }
  }
  const usage = 'a strategy file must `export default defineStrategy({ name, description, params, warmup, create })`';
  const who = `strategy ${displayPath(file, cwd)}`;
  if (!hasDefault || value === undefined) throw new StrategyLoadError(`${who} has no default export: ${usage}`, { file });
  const problem = definitionProblem(value);
  if (problem !== undefined) throw new StrategyLoadError(`${who}: ${problem}; ${usage}`, { file });
  return { definition: value as StrategyDefinition, file };
}
