/** The live journal file: private to its owner, and a torn tail (a crash mid-write) cut on open. */
import { expect } from 'chai';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../../lib/core/index.ts';
import { Journal, readJournal } from '../../lib/engine/index.ts';
import { tempDir } from '../helpers.ts';

describe('the live journal file', () => {
  const tmp = tempDir('pyr-journal-');
  after(() => tmp.cleanup());

  it('is created 0600 in a folder created 0700', () => {
    const file = path.join(tmp.dir, 'live', 'testnet', 'j.jsonl');
    const j = new Journal(file);
    j.append({ t: 'note', level: 'info', message: 'hello' });
    j.close();
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).to.equal(0o700);
    expect(statSync(path.dirname(path.dirname(file))).mode & 0o777).to.equal(0o700);
    expect(j.repaired).to.equal(undefined);
  });

  it('cuts a torn last record on open and says where; the next record starts on a line of its own', () => {
    const file = path.join(tmp.dir, 'torn.jsonl');
    writeFileSync(file, '{"t":"note","at":1,"level":"info","message":"one"}\n{"t":"note","at":2,"level":"info","message":"two"}\n{"t":"fill","at":3,"fi');
    const j = new Journal(file);
    expect(j.repaired).to.deep.equal({ line: 3, bytes: '{"t":"fill","at":3,"fi'.length });
    j.append({ t: 'note', level: 'warn', message: 'after the cut' });
    j.close();
    const recs = readJournal(file);
    expect(recs.map((r) => (r as { message?: string }).message)).to.deep.equal(['one', 'two', 'after the cut']);
    expect(readFileSync(file, 'utf8').endsWith('\n')).to.equal(true);
  });

  it('a record torn in the middle is an error naming the file and its line', () => {
    const file = path.join(tmp.dir, 'middle.jsonl');
    writeFileSync(file, '{"t":"note","at":1,"level":"info","message":"one"}\n{"t":"fill","at":3,"fi\n');
    appendFileSync(file, '{"t":"note","at":4,"level":"info","message":"later"}\n');
    expect(() => readJournal(file)).to.throw(DataError, /middle\.jsonl, line 2: not a journal record/);
  });
});
