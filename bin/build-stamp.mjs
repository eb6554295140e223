// Marks dist/ as built from the current sources (bin/pyr compares source mtimes with this stamp).
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/.build-stamp', import.meta.url), `${new Date().toISOString()}\n`);
