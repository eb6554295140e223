/** Shared test helpers: paths to the shared real data and the committed sample, gating, temp dirs, an in-memory CLI. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import type { Candle } from '../lib/core/index.ts';
import { defineStrategy, type StrategyContext, type StrategyDefinition, type StrategyOutput } from '../lib/strategy/index.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The developers' data set (../shared: long candle files, funding, reference trades and StochRSI). It is
 * not part of the repository: tests that need it call requireShared(). PYR_TEST_SHARED points elsewhere
 * (`PYR_TEST_SHARED=/nonexistent` runs the suite as a fresh clone would).
 */
export const SHARED = process.env.PYR_TEST_SHARED ? path.resolve(process.env.PYR_TEST_SHARED) : path.resolve(REPO, '../shared');
/** How SHARED is named in messages. */
const SHARED_LABEL = process.env.PYR_TEST_SHARED ? SHARED : '../shared';
export const DATA_15M = path.join(SHARED, 'data/BTCUSDT-15m.csv');
export const DATA_5M = path.join(SHARED, 'data/BTCUSDT-5m.csv');
export const DATA_1M_GZ = path.join(SHARED, 'data/BTCUSDT-1m.csv.gz');
export const FUNDING = path.join(SHARED, 'data/BTCUSDT-funding.csv');
export const REF_TRADES = path.join(SHARED, 'reference/BTCUSDT-15m-trades.csv');
export const REF_STOCHRSI = path.join(SHARED, 'reference/BTCUSDT-15m-stochrsi.csv');
/** The committed sample (data/sample/README.md): real Bybit 15-minute candles and funding, 2024-07-01 to 2024-08-31. */
export const SAMPLE_15M = path.join(REPO, 'data/sample/BTCUSDT-15m.csv');
export const SAMPLE_FUNDING = path.join(REPO, 'data/sample/BTCUSDT-funding.csv');

/** CI=true (or any value but '', 0 or false): files the suite needs must be there. */
export function onCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

function label(file: string): string {
  const rel = path.relative(SHARED, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : `${SHARED_LABEL}/${rel.split(path.sep).join('/')}`;
}

/**
 * Gates a suite (or one test) on files outside the repository, usually under ../shared. Call it first
 * thing in a `before(function () { requireShared(this, DATA_15M) })` of the describe, or at the start of
 * an `it(..., function () { ... })`. When a file is absent: under CI it throws (the hook fails, so do
 * its tests); elsewhere it prints one `skipped:` line to stderr and skips (the tests become pending).
 */
export function requireShared(ctx: Mocha.Context, ...files: string[]): void {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length === 0) return;
  // In a hook, ctx.test is the hook: name its suite; in a test, the test.
  const runnable = ctx.test as (Mocha.Runnable & { type?: string }) | undefined;
  const title = (runnable?.type === 'hook' ? runnable.parent?.fullTitle() : runnable?.fullTitle()) || 'a test';
  const names = missing.map(label).join(', ');
  if (onCi()) {
    throw new Error(`"${title}" needs ${names}, which ${missing.length === 1 ? 'is' : 'are'} absent: CI must have it (the developers' data set; PYR_TEST_SHARED names its folder when it is not at ../shared)`);
  }
  process.stderr.write(`  skipped: "${title}" needs ${names} (absent)\n`);
  ctx.skip();
}

export function tempDir(prefix = 'pyr-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A writable that keeps what is written (a fake stdout/stderr). */
export class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** A CliIo with captured output, for calling command actions directly. */
export function captureIo(cwd: string, env: NodeJS.ProcessEnv = {}): { stdout: Capture; stderr: Capture; cwd: string; env: NodeJS.ProcessEnv } {
  return { stdout: new Capture(), stderr: new Capture(), cwd, env: { NO_COLOR: '1', ...env } };
}

/** Runs the pyr CLI in-process with captured output. */
export async function runCli(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../lib/cli/main.ts');
  const stdout = new Capture();
  const stderr = new Capture();
  // Nothing in the tests may reach Bybit: downloads go to a closed local port unless a test says otherwise.
  const code = await main(argv, { stdout, stderr, cwd, env: { NO_COLOR: '1', PYR_BYBIT_REST_URL: 'http://127.0.0.1:9', ...env } });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Parses a small CSV with a header into records of strings (test-side, independent of lib/data). */
export function parseCsv(text: string): Record<string, string>[] {
  const lines = text.trim().split('\n');
  const header = lines[0]!.split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

/**
 * Type-checks `files` (in `cwd`) under strict settings against pyr's sources, as a user's editor would;
 * returns only the errors in those files (pyr's own sources are the typecheck's business).
 */
export function typecheckErrors(cwd: string, files: readonly string[]): string[] {
  const p = spawnSync(
    process.execPath,
    [
      path.join(REPO, 'node_modules/typescript/bin/tsc'),
      '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--allowImportingTsExtensions', '--skipLibCheck',
      '--types', 'node,mocha', '--typeRoots', path.join(REPO, 'node_modules/@types'),
      ...files,
    ],
    { cwd, encoding: 'utf8' },
  );
  return p.stdout.split('\n').filter((l) => files.some((f) => l.startsWith(f.replace(/\.ts$/, ''))));
}

/** A test strategy with no parameters and no warm-up: on the i-th candle it sees (0-based) it returns `step(i, candle, ctx)`. */
export function scriptedStrategy(name: string, step: (i: number, candle: Candle, ctx: StrategyContext) => StrategyOutput): StrategyDefinition {
  return defineStrategy({
    name,
    description: 'test',
    params: {},
    warmup: () => 0,
    create() {
      let i = -1;
      return { onCandle: (c, ctx) => step(++i, c, ctx) };
    },
  });
}
