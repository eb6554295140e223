/**
 * Finds strategies: built-in ones (the repo's `strategies/` folder), local ones (`./strategies/` of the
 * working directory), or any .ts/.js file given by path. A strategy file default-exports
 * `defineStrategy({...})`. Files are imported as they are (tsx runs TypeScript without a build step).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, StrategyError } from '../core/index.ts';
import { suggest } from './params.ts';
import type { StrategyDefinition } from './strategy.ts';

export const BUILTIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../strategies');

function strategyFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') && !/\.test\.(ts|js)$/.test(f))
    .map((f) => path.join(dir, f));
}

/** Names of the strategies pyr can find by name: built-in, then local (a local one shadows nothing). */
export function listStrategyFiles(cwd = process.cwd()): { name: string; file: string; builtin: boolean }[] {
  const seen = new Set<string>();
  const out: { name: string; file: string; builtin: boolean }[] = [];
  for (const [dir, builtin] of [[BUILTIN_DIR, true], [path.resolve(cwd, 'strategies'), false]] as const) {
    for (const file of strategyFiles(dir)) {
      const name = path.basename(file).replace(/\.(ts|js|mjs)$/, '');
      if (seen.has(name)) continue;
      seen.add(name);
      out.push({ name, file, builtin });
    }
  }
  return out;
}

function looksLikePath(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || /\.(ts|js|mjs)$/.test(spec);
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

function isDefinition(x: unknown): x is StrategyDefinition {
  const d = x as StrategyDefinition | undefined;
  return !!d && typeof d === 'object' && typeof d.name === 'string' && typeof d.create === 'function' && typeof d.warmup === 'function' && typeof d.params === 'object';
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

/** Imports a strategy file and checks its default export. */
export async function loadStrategy(spec: string, cwd = process.cwd()): Promise<{ definition: StrategyDefinition; file: string }> {
  const file = resolveStrategyFile(spec, cwd);
  let mod: { default?: unknown };
  try {
    await ensureTypeScript(file);
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new StrategyError(`strategy ${file} failed to load: ${(err as Error).message}`, { cause: err });
  }
  // A file Node treats as CommonJS arrives wrapped once more: { default: { default: definition } }.
  const inner = (mod.default as { default?: unknown } | undefined)?.default;
  const def = isDefinition(mod.default) ? mod.default : inner;
  if (!isDefinition(def)) {
    throw new StrategyError(`strategy ${file} must default-export defineStrategy({ name, description, params, warmup, create })`);
  }
  return { definition: def, file };
}
