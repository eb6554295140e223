/**
 * `pyr download` as a user runs it: flags, output, exit codes, files. The exchange is the local sandbox
 * serving the real Bybit 15-minute candles and funding history of the committed sample (data/sample,
 * 2024-07-01 to 2024-08-31), reached through a small counting HTTP proxy (so the tests see every request
 * on the exchange side). The expectation is always the source file itself: the downloaded CSV must equal
 * the source's lines for the range, header included.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { type CandleSeries, type Candle, candleAt, seriesFromCandles } from '../../lib/core/candle.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { readFundingFile, readInstrumentsSnapshot } from '../../lib/data/store.ts';
import { type Sandbox, startSandbox } from '../../lib/sandbox/index.ts';
import { REPO, SAMPLE_15M, SAMPLE_FUNDING, runCli, tempDir } from '../helpers.ts';

const M15 = 15 * 60_000;
const day = (s: string): number => Date.parse(`${s}T00:00:00Z`);
/** The sandbox's replay clock: 2024-08-31 12:00, on the sample's last day; earlier candles are history. */
const START = Date.UTC(2024, 7, 31, 12);

// ---------------------------------------------------------------------------------------------------
// the source files, read as text (the expectation); read in the suite's `before`

let srcLines: string[] = [];
let SRC_HEADER = '';
let fundingLines: string[] = [];

/** Header + the source lines whose timestamp is in [from, to), exactly as in the source file. */
function sourceSlice(from: number, to: number, lines = srcLines): string {
  const rows = lines.slice(1).filter((l) => {
    const t = Number(l.slice(0, l.indexOf(',')));
    return t >= from && t < to;
  });
  return `${lines[0]}\n${rows.map((l) => `${l}\n`).join('')}`;
}

// ---------------------------------------------------------------------------------------------------
// a counting proxy in front of the sandbox

interface Proxy {
  url: string;
  /** Request URLs seen, in order. */
  readonly seen: string[];
  target: string;
  /** Called for each request before it is forwarded. */
  onRequest?: (url: string) => void;
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const p: Proxy = { url: '', seen: [], target, close: async () => {} };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    p.seen.push(url);
    p.onRequest?.(url);
    const up = http.request(`${p.target}${url}`, { method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => req.socket.destroy()); // the exchange dropped the connection: so do we
    res.on('close', () => {
      if (!res.writableFinished) up.destroy(); // the client gave up (time-out): drop the upstream request
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return p;
}

const isPage = (u: string): boolean => u.startsWith('/v5/market/kline') && u.includes('start=');
const klinePages = (seen: readonly string[]): number => seen.filter(isPage).length;

// ---------------------------------------------------------------------------------------------------
// the CLI, as a user runs it

/** Runs `pyr download ...args` in-process through lib/cli/main.ts (runCli), in `cwd` with `env`. */
function pyr(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['download', ...args], cwd, env);
}

function candleFile(dir: string): string {
  return path.join(dir, 'data/bybit/linear/BTCUSDT/15.csv');
}

/** Every line of `text` is a line of the source, ascending, header first. */
function expectSubsetOfSource(text: string): number {
  const lines = text.split('\n').filter((l) => l !== '');
  expect(lines[0]).to.equal(SRC_HEADER);
  const src = new Set(srcLines);
  let prev = -Infinity;
  for (const l of lines.slice(1)) {
    expect(src.has(l), `line not in the source: ${l}`).to.equal(true);
    const t = Number(l.split(',')[0]);
    expect(t).to.be.above(prev);
    prev = t;
  }
  return lines.length - 1;
}

describe('pyr download (CLI) against the local exchange', function () {
  this.timeout(60000);
  let series: CandleSeries;
  let funding: { times: Float64Array; rates: string[] };
  let ex: Sandbox;
  let proxy: Proxy;
  const dirs: Array<() => void> = [];
  const fresh = (): string => {
    const t = tempDir('pyr-dl-cli-');
    dirs.push(t.cleanup);
    return t.dir;
  };
  /** Flags every run shares: a tiny backoff, the store in the temp dir. */
  const base = ['--symbol', 'BTCUSDT', '--interval', '15', '--backoff', '0.001', '--data-dir', 'data'];

  before(async () => {
    srcLines = readFileSync(SAMPLE_15M, 'latin1').split('\n').filter((l) => l !== '');
    SRC_HEADER = srcLines[0]!;
    fundingLines = readFileSync(SAMPLE_FUNDING, 'latin1').split('\n').filter((l) => l !== '');
    series = (await readCandleFile(SAMPLE_15M)).series;
    funding = await readFundingFile(SAMPLE_FUNDING);
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: START, funding });
    proxy = await startProxy(ex.restUrl);
  });
  after(async () => {
    await proxy?.close();
    await ex?.stop();
    for (const c of dirs) c();
  });
  beforeEach(() => {
    ex.faults.clear();
    proxy.onRequest = undefined;
    proxy.target = ex.restUrl;
  });

  it('downloads a few days byte for byte with funding and the instruments snapshot; a rerun makes no request', async () => {
    const dir = fresh();
    const env = { PYR_BYBIT_REST_URL: proxy.url };
    const n0 = proxy.seen.length;
    const r = await pyr([...base, '--from', '2024-08-10', '--to', '2024-08-13'], dir, env);
    expect(r.code, r.stderr).to.equal(0);
    const from = day('2024-08-10');
    const to = day('2024-08-14');
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(from, to));
    const candles = (to - from) / M15;
    expect(r.stdout).to.match(new RegExp(`\\+${candles} candles`));
    expect(r.stdout).to.match(/no gaps/);
    const requests = proxy.seen.length - n0;
    expect(r.stdout).to.include(`${requests} requests`);
    expect(klinePages(proxy.seen.slice(n0))).to.equal(Math.ceil(candles / 1000));

    // funding.csv: the source rows of the range, exact text
    const fundingFile = path.join(dir, 'data/bybit/linear/BTCUSDT/funding.csv');
    expect(readFileSync(fundingFile, 'latin1')).to.equal(sourceSlice(from, to, fundingLines));
    // the instruments snapshot, readable by the backtest's reader
    const snap = await readInstrumentsSnapshot(path.join(dir, 'data/bybit/linear/instruments.json'));
    expect(snap?.BTCUSDT).to.include({ tickSize: '0.10', qtyStep: '0.001', minQty: '0.001', minNotional: '5' });

    // rerun: nothing missing, not a single request reaches the exchange, nothing rewritten
    const mtime = statSync(candleFile(dir)).mtimeMs;
    const n1 = proxy.seen.length;
    const again = await pyr([...base, '--from', '2024-08-10', '--to', '2024-08-13', '--json'], dir, env);
    expect(again.code, again.stderr).to.equal(0);
    expect(proxy.seen.length).to.equal(n1);
    const json = JSON.parse(again.stdout);
    expect(json).to.include({ added: 0, requests: 0, expected: candles, present: candles, missingOnExchange: 0 });
    expect(json.funding).to.include({ added: 0, rows: 12, expected: 12 });
    expect(statSync(candleFile(dir)).mtimeMs).to.equal(mtime);

    // a wider range fetches only the days the file lacks (two runs: 08-08..09 and 08-14..15), one page each
    const n2 = proxy.seen.length;
    const wider = await pyr([...base, '--from', '2024-08-08', '--to', '2024-08-15', '--json'], dir, env);
    expect(wider.code, wider.stderr).to.equal(0);
    expect(JSON.parse(wider.stdout).added).to.equal(4 * 96);
    const starts = proxy.seen.slice(n2).filter(isPage).map((u) => Number(new URL(u, 'http://x').searchParams.get('start'))).sort();
    expect(starts).to.deep.equal([day('2024-08-08'), day('2024-08-14')]);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(day('2024-08-08'), day('2024-08-16')));
  });

  it('draws a progress bar (candles fetched / expected, rate, ETA) on a terminal, and still prints the summary', async () => {
    const { main } = await import('../../lib/cli/main.ts');
    const tty = (): { text: string; isTTY: boolean; write(c: string): boolean } => ({ text: '', isTTY: true, write(c: string) { this.text += c; return true; } });
    const stdout = tty();
    const stderr = tty();
    const dir = fresh();
    const code = await main(['download', ...base, '--from', '2024-08-06', '--to', '2024-08-07', '--page-size', '48', '--no-funding'], {
      stdout: stdout as never, stderr: stderr as never, cwd: dir, env: { NO_COLOR: '1', PYR_BYBIT_REST_URL: proxy.url },
    });
    expect(code, stderr.text).to.equal(0);
    const total = 2 * 96;
    expect(stderr.text).to.include('\r');
    expect(stderr.text).to.match(new RegExp(`BTCUSDT 15m \\[#+\\] 100\\.0% ${total}/${total} candles [0-9.]+k?/s ETA 0:00\\x1b\\[K\\n`));
    expect(stderr.text).to.not.match(/%\/s/);
    expect(stdout.text).to.match(new RegExp(`^BTCUSDT 15m \\(linear\\): \\+${total} candles`));
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(day('2024-08-06'), day('2024-08-08')));
  });

  it('cuts a range reaching past the last closed candle, and says so', async () => {
    const dir = fresh();
    const r = await pyr([...base, '--from', '2024-08-30', '--to', '2024-09-03'], dir, { PYR_BYBIT_REST_URL: proxy.url });
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(day('2024-08-30'), START));
    expect(r.stdout + r.stderr).to.include('cut at 2024-08-31 12:00 UTC');
  });

  it('retries after 10006, HTTP 5xx and a time-out, and the result is still exact', async () => {
    const from = day('2024-08-01');
    const to = day('2024-08-03');
    const args = [...base, '--from', '2024-08-01', '--to', '2024-08-02', '--no-funding', '--page-size', '96'];
    const env = { PYR_BYBIT_REST_URL: proxy.url };

    // two 10006 answers on the kline endpoint
    let dir = fresh();
    ex.faults.rateLimit(2, '/v5/market/kline');
    let n0 = proxy.seen.length;
    let r = await pyr(args, dir, env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('retCode 10006');
    expect(r.stderr).to.match(/^warning: GET \/v5\/market\/kline .*retCode 10006.*; try 2 of \d+ in /m);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(from, to));
    // the probe + 2 pages, plus the 2 refused tries
    expect(proxy.seen.slice(n0).filter((u) => u.startsWith('/v5/market/kline')).length).to.equal(1 + 2 + 2);

    // two HTTP 503
    dir = fresh();
    ex.faults.clear();
    ex.faults.serverError(2, 503, '/v5/market/kline');
    r = await pyr(args, dir, env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('HTTP 503');
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(from, to));

    // the first page is answered after the client's time-out (0.3 s): the SDK times out, pyr retries
    dir = fresh();
    ex.faults.clear();
    let pagesSeen = 0;
    proxy.onRequest = (u) => {
      if (!isPage(u)) return;
      pagesSeen++;
      ex.faults.delayRest(pagesSeen === 1 ? 1500 : 0);
    };
    n0 = proxy.seen.length;
    r = await pyr([...args, '--timeout', '0.3'], dir, env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/timeout of 300ms exceeded/);
    expect(klinePages(proxy.seen.slice(n0))).to.equal(3);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(from, to));
  });

  it('gives up with a clear error naming the range not fetched; 10001 is not retried', async () => {
    const env = { PYR_BYBIT_REST_URL: proxy.url };
    let dir = fresh();
    ex.faults.serverError(1000, 502, '/v5/market/kline');
    let n0 = proxy.seen.length;
    let r = await pyr([...base, '--from', '2024-08-01', '--to', '2024-08-01', '--retries', '2', '--no-funding'], dir, env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/HTTP 502/);
    expect(r.stderr).to.include('gave up after 3 tries');
    expect(proxy.seen.slice(n0).filter((u) => u.startsWith('/v5/market/kline')).length).to.equal(3);
    expect(existsSync(candleFile(dir))).to.equal(false);

    // pages fail after the probe: the error names the range that was not fetched
    ex.faults.clear();
    dir = fresh();
    proxy.onRequest = (u) => {
      if (isPage(u)) ex.faults.serverError(1000, 500, '/v5/market/kline');
    };
    r = await pyr([...base, '--from', '2024-08-01', '--to', '2024-08-01', '--retries', '1', '--no-funding'], dir, env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('could not fetch BTCUSDT 15 candles 2024-08-01 00:00 → 2024-08-01 23:45 UTC');
    expect(r.stderr).to.include('run the same command again');

    // a parameter error (retCode 10001: this exchange serves 15-minute candles only) fails at once
    ex.faults.clear();
    proxy.onRequest = undefined;
    dir = fresh();
    n0 = proxy.seen.length;
    r = await pyr(['--symbol', 'BTCUSDT', '--interval', '5', '--from', '2024-08-01', '--to', '2024-08-01', '--data-dir', 'data', '--no-funding', '--backoff', '0.001'], dir, env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('retCode 10001');
    expect(proxy.seen.slice(n0).filter((u) => u.startsWith('/v5/market/kline')).length).to.equal(1);
  });

  it('an HTTP 403 (an IP ban) is not retried: the download stops at once, says until when requests are paused, and the rerun finishes', async () => {
    // Before the one REST client (issue 11) a 403 already failed at once; now it also pauses the client,
    // so the other pages queued behind it are not sent either, and the alert is one warning.
    const dir = fresh();
    const env = { PYR_BYBIT_REST_URL: proxy.url };
    const args = [...base, '--from', '2024-08-04', '--to', '2024-08-07', '--page-size', '48', '--no-funding'];
    const n0 = proxy.seen.length;
    proxy.onRequest = (u) => {
      if (isPage(u) && klinePages(proxy.seen.slice(n0)) === 2) ex.faults.ipBan(60_000); // from the 2nd page on
    };
    const r = await pyr(args, dir, env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('could not fetch BTCUSDT 15 candles');
    expect(r.stderr).to.match(/HTTP 403 .*paused until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(r.stderr.match(/^warning: Bybit answered HTTP 403 to GET \/v5\/market\/kline .*every request is paused/gm)).to.have.length(1);
    const pages = proxy.seen.slice(n0).filter(isPage);
    expect(new Set(pages).size, 'no page was asked for twice').to.equal(pages.length);
    expect(pages.length).to.be.at.most(1 + 4); // the page answered, then at most the requests already in flight

    ex.faults.clear();
    proxy.onRequest = undefined;
    const again = await pyr(args, dir, env);
    expect(again.code, again.stderr).to.equal(0);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(day('2024-08-04'), day('2024-08-08')));
  });

  it('resumes after a failure mid-download: the pages fetched are kept, the rerun fetches only the rest', async () => {
    const dir = fresh();
    const env = { PYR_BYBIT_REST_URL: proxy.url };
    const args = [...base, '--from', '2024-08-04', '--to', '2024-08-07', '--page-size', '48', '--save-every', '1', '--retries', '0', '--no-funding'];
    const from = day('2024-08-04');
    const to = day('2024-08-08');
    const total = Math.ceil((to - from) / M15 / 48); // 8 pages
    // the exchange stops answering at the 4th page request
    const n0 = proxy.seen.length;
    proxy.onRequest = (u) => {
      if (isPage(u) && klinePages(proxy.seen.slice(n0)) >= 4) ex.faults.refuseRest(Infinity);
    };
    const r = await pyr(args, dir, env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('could not fetch BTCUSDT 15 candles');
    const kept = expectSubsetOfSource(readFileSync(candleFile(dir), 'latin1'));
    expect(kept).to.be.at.least(48); // at least one page was saved...
    expect(kept).to.be.below(total * 48); // ...and not all of them
    const pagesFirst = klinePages(proxy.seen.slice(n0));

    ex.faults.clear();
    proxy.onRequest = undefined;
    const n1 = proxy.seen.length;
    const again = await pyr(args, dir, env);
    expect(again.code, again.stderr).to.equal(0);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(from, to));
    const pagesRerun = klinePages(proxy.seen.slice(n1));
    expect(pagesRerun).to.equal(total - kept / 48);
    expect(pagesFirst).to.be.at.least(4);
  });

  it('resumes after the process is killed (SIGKILL) mid-download, to the exact bytes', async () => {
    const dir = fresh();
    const args = [...base, '--from', '2024-08-04', '--to', '2024-08-07', '--page-size', '24', '--save-every', '1', '--rps', '50', '--no-funding'];
    // bin/pyr in a child process, as a user starts it
    const child = spawn(process.execPath, [path.join(REPO, 'bin/pyr'), 'download', ...args], {
      cwd: dir,
      env: { ...process.env, PYR_BYBIT_REST_URL: proxy.url, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let killed = false;
    const n0 = proxy.seen.length;
    proxy.onRequest = (u) => {
      if (isPage(u) && !killed && klinePages(proxy.seen.slice(n0)) >= 8) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c, sig) => resolve(sig === 'SIGKILL' ? -9 : c)));
    expect(code, 'the child was killed mid-download').to.equal(-9);
    const pagesBefore = klinePages(proxy.seen.slice(n0));
    // what the killed run left is a valid file holding source lines only (some pages)
    const kept = existsSync(candleFile(dir)) ? expectSubsetOfSource(readFileSync(candleFile(dir), 'latin1')) : 0;
    expect(kept).to.be.above(0);
    proxy.onRequest = undefined;

    const n1 = proxy.seen.length;
    const r = await pyr(args, dir, { PYR_BYBIT_REST_URL: proxy.url });
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(day('2024-08-04'), day('2024-08-08')));
    const total = (4 * 96) / 24;
    expect(klinePages(proxy.seen.slice(n1))).to.equal(total - kept / 24);
    expect(pagesBefore).to.be.at.least(8);
  });

  it('Ctrl-C (SIGINT) stops after the requests in flight, saves what was fetched, exits 130; the rerun finishes', async () => {
    const dir = fresh();
    const args = [...base, '--from', '2024-08-04', '--to', '2024-08-07', '--page-size', '24', '--save-every', '1000', '--rps', '20', '--no-funding'];
    const child = spawn(process.execPath, [path.join(REPO, 'bin/pyr'), 'download', ...args], {
      cwd: dir,
      env: { ...process.env, PYR_BYBIT_REST_URL: proxy.url, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    let sent = false;
    const n0 = proxy.seen.length;
    proxy.onRequest = (u) => {
      if (isPage(u) && !sent && klinePages(proxy.seen.slice(n0)) >= 6) {
        sent = true;
        child.kill('SIGINT');
      }
    };
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, stderr).to.equal(130);
    // nothing was saved by the page count (every 1000 pages): what is on disk was saved on the interrupt
    const kept = expectSubsetOfSource(readFileSync(candleFile(dir), 'latin1'));
    expect(kept).to.be.at.least(5 * 24);
    expect(stderr).to.include(`pyr: interrupted: the ${kept} candles fetched were saved to ${candleFile(dir)}`);
    proxy.onRequest = undefined;

    const n1 = proxy.seen.length;
    const r = await pyr(args, dir, { PYR_BYBIT_REST_URL: proxy.url });
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(day('2024-08-04'), day('2024-08-08')));
    expect(klinePages(proxy.seen.slice(n1))).to.equal(16 - kept / 24);
  });

  it('Ctrl-C on a terminal: the progress bar stops where it was (never 100%), then the line saying what was not fetched', async () => {
    const { main } = await import('../../lib/cli/main.ts');
    const tty = (): { text: string; isTTY: boolean; write(c: string): boolean } => ({ text: '', isTTY: true, write(c: string) { this.text += c; return true; } });
    const stdout = tty();
    const stderr = tty();
    const dir = fresh();
    const n0 = proxy.seen.length;
    let sent = false;
    proxy.onRequest = (u) => {
      // Ctrl-C as the terminal delivers it, to this process, once 6 pages were asked for.
      if (isPage(u) && !sent && klinePages(proxy.seen.slice(n0)) >= 6) {
        sent = true;
        expect(process.listenerCount('SIGINT'), 'pyr download listens for Ctrl-C').to.be.at.least(1);
        process.emit('SIGINT');
      }
    };
    const args = [...base, '--from', '2024-08-04', '--to', '2024-08-07', '--page-size', '24', '--save-every', '1000', '--rps', '20', '--no-funding'];
    const code = await main(['download', ...args], { stdout: stdout as never, stderr: stderr as never, cwd: dir, env: { NO_COLOR: '1', PYR_BYBIT_REST_URL: proxy.url } });
    proxy.onRequest = undefined;
    expect(code, stderr.text).to.equal(130);
    const kept = expectSubsetOfSource(readFileSync(candleFile(dir), 'latin1'));
    const total = 4 * 96;
    expect(kept).to.be.above(0).and.below(total);
    // The bar's last drawing (before the newline that ends it), then pyr's line about the rest.
    const ended = stderr.text.lastIndexOf('\x1b[K\n');
    expect(ended, stderr.text).to.be.above(0);
    const last = stderr.text.slice(stderr.text.lastIndexOf('\r', ended) + 1, ended);
    expect(last).to.match(new RegExp(`^BTCUSDT 15m \\[[#-]+\\] +${((kept / total) * 100).toFixed(1)}% ${kept}/${total} candles [0-9.]+k?/s stopped$`));
    expect(stderr.text).to.not.contain('100.0%');
    expect(stderr.text.slice(ended + '\x1b[K\n'.length)).to.match(new RegExp(`^pyr: interrupted: the ${kept} candles fetched were saved to .*; ${total - kept} candles not fetched `));
    expect(stdout.text).to.equal('');
  });

  it('reports a real exchange gap, never invents candles, and does not ask for it again', async () => {
    // The real candles with the day 2024-08-11 removed: the exchange has no candles there.
    const hole = [day('2024-08-11'), day('2024-08-12')];
    const kept: Candle[] = [];
    const lo = series.openTime.findIndex((t) => t >= day('2024-07-01'));
    for (let i = lo; i < series.length; i++) {
      const t = series.openTime[i]!;
      if (t < hole[0]! || t >= hole[1]!) kept.push(candleAt(series, i));
    }
    const holey = await startSandbox({ series: seriesFromCandles(kept, 'holey'), interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: START, funding });
    try {
      proxy.target = holey.restUrl;
      const dir = fresh();
      const env = { PYR_BYBIT_REST_URL: proxy.url };
      const r = await pyr([...base, '--from', '2024-08-10', '--to', '2024-08-13', '--page-size', '200'], dir, env);
      expect(r.code, r.stderr).to.equal(0);
      const expected = sourceSlice(day('2024-08-10'), day('2024-08-14')).split('\n').filter((l) => {
        const t = Number(l.split(',')[0]);
        return !(t >= hole[0]! && t < hole[1]!);
      }).join('\n');
      expect(readFileSync(candleFile(dir), 'latin1')).to.equal(expected);
      expect(r.stdout).to.include('96 missing on the exchange in 1 gap');
      expect(r.stderr).to.include('2024-08-11 00:00 → 2024-08-11 23:45 UTC');
      // pyr's one warning style, as in every command
      expect(r.stderr).to.match(/^warning: the exchange has no BTCUSDT 15m candles 2024-08-11 00:00 → 2024-08-11 23:45 UTC \(96\); remembered in /m);
      expect(r.stderr).to.not.contain('[WARNING]');
      const sidecar = JSON.parse(readFileSync(path.join(dir, 'data/bybit/linear/BTCUSDT/15.gaps.json'), 'utf8'));
      expect(sidecar.ranges.map((g: { from: number; to: number; candles: number }) => [g.from, g.to, g.candles])).to.deep.equal([[hole[0], hole[1]! - M15, 96]]);
      // the funding history is whole on the exchange: all 12 settlements
      expect(readFileSync(path.join(dir, 'data/bybit/linear/BTCUSDT/funding.csv'), 'latin1')).to.equal(sourceSlice(day('2024-08-10'), day('2024-08-14'), fundingLines));

      const n1 = proxy.seen.length;
      const again = await pyr([...base, '--from', '2024-08-10', '--to', '2024-08-13', '--json'], dir, env);
      expect(again.code, again.stderr).to.equal(0);
      expect(proxy.seen.length, 'no request on the rerun').to.equal(n1);
      const json = JSON.parse(again.stdout);
      expect(json).to.include({ added: 0, requests: 0, missingOnExchange: 96, present: 3 * 96, expected: 4 * 96 });
    } finally {
      await holey.stop();
    }
  });

  it('takes the REST URL from --rest-url, then PYR_BYBIT_REST_URL, then the config file', async () => {
    const dead = 'http://127.0.0.1:9'; // nothing listens there
    let dir = fresh();
    let r = await pyr([...base, '--from', '2024-08-02', '--to', '2024-08-02', '--rest-url', proxy.url, '--no-funding'], dir, { PYR_BYBIT_REST_URL: dead });
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(day('2024-08-02'), day('2024-08-03')));

    dir = fresh();
    writeFileSync(path.join(dir, 'pyr.config.json'), JSON.stringify({ restUrl: proxy.url }));
    r = await pyr([...base, '--from', '2024-08-02', '--to', '2024-08-02', '--no-funding'], dir, { PYR_BYBIT_REST_URL: '' }); // empty: unset
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(candleFile(dir), 'latin1')).to.equal(sourceSlice(day('2024-08-02'), day('2024-08-03')));

    dir = fresh();
    r = await pyr([...base, '--from', '2024-08-02', '--to', '2024-08-02', '--retries', '0', '--no-funding'], dir, { PYR_BYBIT_REST_URL: dead });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/ECONNREFUSED/);
  });

  it('rejects invalid input with a clear error and exit code 2, before any request', async () => {
    const dir = fresh();
    const env = { PYR_BYBIT_REST_URL: proxy.url };
    const n0 = proxy.seen.length;
    const cases: Array<[string[], RegExp]> = [
      [['--from', '2024-02-30', '--to', '2024-03-01'], /--from: "2024-02-30" is not a real date/],
      [['--from', '20240801', '--to', '2024-08-02'], /--from: expected a date as YYYY-MM-DD/],
      [['--from', '2024-08-05', '--to', '2024-08-01'], /--from 2024-08-05 is after --to 2024-08-01/],
      [['--from', '2024-08-01', '--to', '2024-08-01', '--interval', '7'], /--interval: unknown interval "7"/],
      [['--from', '2024-08-01', '--to', '2024-08-01', '--retries', '-1'], /--retries: expected a whole number/],
      [['--from', '2024-08-01', '--to', '2024-08-01', '--rest-url', 'ftp://x'], /--rest-url: "ftp:\/\/x" is not an http\(s\) URL/],
      [['--to', '2024-08-01'], /--from: required/],
    ];
    for (const [args, msg] of cases) {
      const r = await pyr([...base, ...args], dir, env);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(msg);
    }
    expect(proxy.seen.length).to.equal(n0);
    expect(existsSync(path.join(dir, 'data'))).to.equal(false);
  });

  it('refuses to touch a corrupt existing file: names file, line and field, overwrites nothing', async () => {
    const dir = fresh();
    const file = candleFile(dir);
    mkdirSync(path.dirname(file), { recursive: true });
    const good = sourceSlice(day('2024-08-01'), day('2024-08-02')).split('\n');
    const cells = good[5]!.split(',');
    cells[2] = '12x34'; // line 6, field high
    good[5] = cells.join(',');
    const corrupt = good.join('\n');
    writeFileSync(file, corrupt);
    const n0 = proxy.seen.length;
    const r = await pyr([...base, '--from', '2024-08-01', '--to', '2024-08-03'], dir, { PYR_BYBIT_REST_URL: proxy.url });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(file);
    expect(r.stderr).to.include('line 6');
    expect(r.stderr).to.include('field "high"');
    expect(readFileSync(file, 'latin1')).to.equal(corrupt);
    expect(proxy.seen.length).to.equal(n0);
  });
});
