/**
 * Root hooks for the whole suite (loaded by .mocharc.json): pyr's candle caches go to a temporary
 * XDG_CACHE_HOME for the run, removed at its end, so the suite never writes into the user's ~/.cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let made: string | undefined;

export const mochaHooks = {
  beforeAll(): void {
    if (process.env.PYR_TEST_KEEP_CACHE) return;
    made = mkdtempSync(path.join(os.tmpdir(), 'pyr-test-cache-'));
    process.env.XDG_CACHE_HOME = made;
  },
  afterAll(): void {
    if (made) rmSync(made, { recursive: true, force: true });
  },
};
