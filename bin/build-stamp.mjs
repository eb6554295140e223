// Marks dist/ as built from the current sources (bin/pyr compares source mtimes with this stamp), and
// names the built-in strategies the build is for: bin/pyr checks only those in strategies/, so a user's
// own strategy there (`pyr new strategy` in a checkout) does not make the build stale.
import { renameSync, writeFileSync } from 'node:fs';

const { BUILTIN_STRATEGIES } = await import('../dist/lib/strategy/registry.js');
const stamp = new URL('../dist/.build-stamp', import.meta.url);
const tmp = new URL(`../dist/.build-stamp.${process.pid}.tmp`, import.meta.url);
writeFileSync(tmp, `${JSON.stringify({ builtAt: new Date().toISOString(), strategies: BUILTIN_STRATEGIES })}\n`);
renameSync(tmp, stamp);
