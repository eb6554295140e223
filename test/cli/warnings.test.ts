/**
 * One warning style across the commands: `warning: <message>`, the whole line yellow on a terminal and
 * plain without one or with NO_COLOR (never `pyr: warning:`, never `[WARNING]` outside the live log).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataCheck, dataList } from '../../lib/cli/data.ts';
import { openInBrowser } from '../../lib/cli/report.ts';
import { Capture, captureIo, runCli, tempDir } from '../helpers.ts';

const HEADER = 'timestamp,open,high,low,close,volume,turnover';
const T0 = Date.UTC(2023, 11, 1);
const Q = 15 * 60_000;
const YELLOW = '\x1b[33m';

/** A CliIo whose stdout and stderr claim to be terminals, colour allowed (NO_COLOR empty = unset). */
function ttyIo(cwd: string) {
  const io = captureIo(cwd, { NO_COLOR: '' });
  io.stdout.isTTY = true;
  io.stderr.isTTY = true;
  return io;
}

describe('warnings: one style for every command', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('pyr-warn-')));
  afterEach(() => cleanup());

  it('pyr data list: an unreadable file is "warning: ..." on stderr, yellow on a terminal only', async () => {
    const f = path.join(dir, 'data/bybit/linear/BTCUSDT/funding.csv');
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, 'not,a,funding,file\nx,y\n');
    const r = await runCli(['data', 'list'], dir);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^warning: \S/);
    expect(r.stderr).to.not.contain('pyr: warning');
    expect(r.stderr).to.not.contain('\x1b[');

    const io = ttyIo(dir);
    await dataList({}, io);
    expect(io.stderr.text).to.equal(`${YELLOW}${lines[0]}\x1b[0m\n`);
  });

  it('pyr data check: its warnings read "warning: ..." in the same style (yellow only on a terminal)', async () => {
    const f = path.join(dir, 'w.csv');
    fs.writeFileSync(f, `${HEADER}\n${T0},1,2,1,1.5,0,\n${T0 + Q},1.5,2,1,1.2,3,\n`);
    const plain = captureIo(dir);
    await dataCheck(f, {}, plain);
    expect(plain.stdout.text).to.match(/^warning: 1 candle with zero volume/m);
    expect(plain.stdout.text).to.not.contain('\x1b[');
    const tty = ttyIo(dir);
    await dataCheck(f, {}, tty);
    expect(tty.stdout.text).to.contain(`${YELLOW}warning: 1 candle with zero volume`);
  });

  it('pyr report --open without a browser: a warning saying where the page is', async () => {
    const stderr = new Capture();
    const ok = await openInBrowser('/tmp/x/report.html', { stderr, env: { NO_COLOR: '1' } }, path.join(dir, 'no-such-opener'));
    expect(ok).to.equal(false);
    expect(stderr.text).to.match(/^warning: could not open a browser \(.*no-such-opener.*\); open \/tmp\/x\/report\.html yourself\n$/);
  });
});
