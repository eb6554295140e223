/**
 * lib/data/download.ts through its API: ensureCandles (what `pyr backtest` calls), an interrupted
 * download resuming, another interval, bad store files, and the retry and spacing policies of the REST
 * client it uses (BybitRest, lib/brokers/bybit/client.ts: lib/data/retry.ts, a second REST stack, is gone). The exchange is the local sandbox serving the real candles and funding of the committed
 * sample (data/sample; the 5-minute ones of ../shared/data); the expected bytes are always the source
 * file's own lines.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { CandleSeries } from '../../lib/core/candle.ts';
import { BybitRest } from '../../lib/brokers/bybit/client.ts';
import { DataError, ExchangeError, InterruptedError, MissingDataError } from '../../lib/core/errors.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { downloadCandles, ensureCandles } from '../../lib/data/download.ts';
import { readFundingFile } from '../../lib/data/store.ts';
import { type Sandbox, startSandbox } from '../../lib/sandbox/index.ts';
import { DATA_5M, SAMPLE_15M, SAMPLE_FUNDING, requireShared, tempDir } from '../helpers.ts';

const M15 = 15 * 60_000;
const START = Date.UTC(2024, 7, 31, 12); // the sample's last day
const day = (s: string): number => Date.parse(`${s}T00:00:00Z`);

/** Header + the lines of `file` whose timestamp is in [from, to), as in the file. */
function sourceSlice(file: string, from: number, to: number): string {
  const lines = readFileSync(file, 'latin1').split('\n').filter((l) => l !== '');
  const rows = lines.slice(1).filter((l) => {
    const t = Number(l.slice(0, l.indexOf(',')));
    return t >= from && t < to;
  });
  return `${lines[0]}\n${rows.map((l) => `${l}\n`).join('')}`;
}

const quiet = { info: () => {}, warn: () => {} };

describe('lib/data/download against the local exchange', function () {
  this.timeout(30000);
  let series: CandleSeries;
  let ex: Sandbox;
  const dirs: Array<() => void> = [];
  const fresh = (): string => {
    const t = tempDir('pyr-dl-data-');
    dirs.push(t.cleanup);
    return t.dir;
  };
  const file15 = (dir: string): string => path.join(dir, 'bybit/linear/BTCUSDT/15.csv');

  before(async () => {
    series = (await readCandleFile(SAMPLE_15M)).series;
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: START, funding: await readFundingFile(SAMPLE_FUNDING) });
  });
  after(async () => {
    await ex?.stop();
    for (const c of dirs) c();
  });
  beforeEach(() => ex.faults.clear());

  describe('ensureCandles', () => {
    it('fetches the candles of [from, to) in ms, then makes no request, even with the exchange gone', async () => {
      const dataDir = fresh();
      const from = Date.UTC(2024, 7, 5, 10, 7); // not on a candle: the first candle is 10:15
      const to = Date.UTC(2024, 7, 5, 20); // exclusive: the last candle is 19:45
      const r = await ensureCandles({ dataDir, symbol: 'btcusdt', interval: '15', from, to, restUrl: ex.restUrl, backoff: 0.001, logger: quiet });
      const first = Date.UTC(2024, 7, 5, 10, 15);
      expect(r.file).to.equal(file15(dataDir));
      expect(readFileSync(r.file, 'latin1')).to.equal(sourceSlice(SAMPLE_15M, first, to));
      expect(r.added).to.equal((to - first) / M15);
      expect(r.gaps).to.deep.equal([]);
      expect(r.requests).to.be.above(0);

      const again = await ensureCandles({ dataDir, symbol: 'BTCUSDT', interval: '15', from, to, restUrl: 'http://127.0.0.1:9', retries: 0, logger: quiet });
      expect(again).to.include({ added: 0, requests: 0 });
    });

    it('also stores the funding history; a funding failure is only a warning', async () => {
      const dataDir = fresh();
      const from = day('2024-08-12');
      const to = day('2024-08-13');
      const r = await ensureCandles({ dataDir, symbol: 'BTCUSDT', interval: '15', from, to, restUrl: ex.restUrl, backoff: 0.001, logger: quiet });
      expect(readFileSync(r.file, 'latin1')).to.equal(sourceSlice(SAMPLE_15M, from, to));
      expect(readFileSync(path.join(dataDir, 'bybit/linear/BTCUSDT/funding.csv'), 'latin1')).to.equal(sourceSlice(SAMPLE_FUNDING, from, to));

      const other = fresh();
      ex.faults.serverError(1000, 503, '/v5/market/funding/history');
      const warnings: string[] = [];
      const r2 = await ensureCandles({ dataDir: other, symbol: 'BTCUSDT', interval: '15', from, to, restUrl: ex.restUrl, retries: 0, logger: { info: () => {}, warn: (m) => warnings.push(m) } });
      expect(readFileSync(r2.file, 'latin1')).to.equal(sourceSlice(SAMPLE_15M, from, to));
      expect(r2.added).to.equal(96);
      expect(warnings.join('\n')).to.match(/^funding history not updated: .*HTTP 503/);
      expect(existsSync(path.join(other, 'bybit/linear/BTCUSDT/funding.csv'))).to.equal(false);
    });

    it('throws MissingDataError naming what is missing and the pyr download command when the exchange cannot be reached', async () => {
      const dataDir = fresh();
      let err: unknown;
      try {
        await ensureCandles({ dataDir, symbol: 'BTCUSDT', interval: '15', from: day('2024-08-05'), to: day('2024-08-07'), restUrl: 'http://127.0.0.1:9', retries: 1, backoff: 0.001, logger: quiet });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(MissingDataError);
      const msg = (err as Error).message;
      expect(msg).to.include('BTCUSDT 15 candles 2024-08-05 00:00 → 2024-08-06 23:45 UTC');
      expect(msg).to.include('`pyr download --symbol BTCUSDT --interval 15 --from 2024-08-05 --to 2024-08-06`');
      expect(msg).to.include('ECONNREFUSED');
      expect(existsSync(path.join(dataDir, 'bybit'))).to.equal(false);
    });
  });

  it('an interrupted download (AbortSignal) saves the pages fetched; the next run fetches the rest, to the exact bytes', async () => {
    const dataDir = fresh();
    const from = day('2024-08-20');
    const to = day('2024-08-22');
    const abort = new AbortController();
    const opts = { dataDir, symbol: 'BTCUSDT', interval: '15' as const, from, to, restUrl: ex.restUrl, funding: false, pageSize: 16, saveEvery: 1, concurrency: 1, backoff: 0.001, logger: quiet };
    let err: unknown;
    try {
      await downloadCandles({ ...opts, signal: abort.signal, onProgress: (done) => done >= 3 * 16 && abort.abort() });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(InterruptedError);
    expect((err as InterruptedError).exitCode).to.equal(130);
    expect((err as Error).message).to.match(/interrupted: the 48 candles fetched were saved/);
    expect(readFileSync(file15(dataDir), 'latin1')).to.equal(sourceSlice(SAMPLE_15M, from, from + 48 * M15));

    const r = await downloadCandles(opts);
    expect(r.added).to.equal(192 - 48);
    expect(r.requests).to.equal(1 + 1 + (192 - 48) / 16); // instruments, newest-candle probe, pages
    expect(readFileSync(file15(dataDir), 'latin1')).to.equal(sourceSlice(SAMPLE_15M, from, to));
  });

  it('merges funding into an existing funding.csv, fetching only the settlements it lacks', async () => {
    const dataDir = fresh();
    const fundingFile = path.join(dataDir, 'bybit/linear/BTCUSDT/funding.csv');
    mkdirSync(path.dirname(fundingFile), { recursive: true });
    writeFileSync(fundingFile, sourceSlice(SAMPLE_FUNDING, day('2024-08-12'), day('2024-08-14')));
    const r = await downloadCandles({ dataDir, symbol: 'BTCUSDT', interval: '15', from: day('2024-08-10'), to: day('2024-08-16'), restUrl: ex.restUrl, backoff: 0.001, logger: quiet });
    expect(readFileSync(fundingFile, 'latin1')).to.equal(sourceSlice(SAMPLE_FUNDING, day('2024-08-10'), day('2024-08-16')));
    expect(r.funding).to.include({ added: 12, rows: 18, expected: 18, fundingIntervalMin: 480 });
    expect(r.funding!.gaps).to.deep.equal([]);
  });

  it('downloads another interval (the real Bybit 5-minute candles) byte for byte', async function () {
    requireShared(this, DATA_5M);
    const s5 = (await readCandleFile(DATA_5M)).series;
    const ex5 = await startSandbox({ series: s5, interval: '5', symbol: 'BTCUSDT', clock: 'manual', startTime: Date.UTC(2025, 7, 20) });
    try {
      const dataDir = fresh();
      const r = await downloadCandles({ dataDir, symbol: 'BTCUSDT', interval: '5', from: day('2025-08-01'), to: day('2025-08-05'), restUrl: ex5.restUrl, funding: false, backoff: 0.001, logger: quiet });
      expect(readFileSync(r.file, 'latin1')).to.equal(sourceSlice(DATA_5M, day('2025-08-01'), day('2025-08-05')));
      expect(r).to.include({ added: 4 * 288, expected: 4 * 288, present: 4 * 288 });
      expect(r.requests).to.equal(1 + 1 + 2); // instruments, probe, 1152 candles in 2 pages
    } finally {
      await ex5.stop();
    }
  });

  it('refuses a store file of another interval, before any request', async function () {
    requireShared(this, DATA_5M);
    const dataDir = fresh();
    const f = file15(dataDir);
    mkdirSync(path.dirname(f), { recursive: true });
    const opts = { dataDir, symbol: 'BTCUSDT', interval: '15' as const, from: day('2025-08-01'), to: day('2025-08-02'), restUrl: 'http://127.0.0.1:9', retries: 0, logger: quiet };
    const fiveMinute = sourceSlice(DATA_5M, day('2025-08-01'), day('2025-08-02'));
    writeFileSync(f, fiveMinute);
    let err: unknown;
    try {
      await downloadCandles(opts);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DataError);
    expect((err as Error).message).to.equal(`${f}: holds 5-minute candles, not 15 (15-minute) ones; move it away or pick its interval`);
    expect(readFileSync(f, 'latin1')).to.equal(fiveMinute);
  });

  it('refuses a corrupt gaps sidecar, before any request', async () => {
    const dataDir = fresh();
    const f = file15(dataDir);
    mkdirSync(path.dirname(f), { recursive: true });
    const opts = { dataDir, symbol: 'BTCUSDT', interval: '15' as const, from: day('2024-08-01'), to: day('2024-08-02'), restUrl: 'http://127.0.0.1:9', retries: 0, logger: quiet };
    writeFileSync(f, sourceSlice(SAMPLE_15M, day('2024-08-01'), day('2024-08-02')));
    writeFileSync(path.join(path.dirname(f), '15.gaps.json'), '{"ranges": [{"from": 5}]');
    let err: unknown;
    try {
      await downloadCandles(opts);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DataError);
    expect((err as Error).message).to.include(path.join(path.dirname(f), '15.gaps.json'));
    expect((err as Error).message).to.include('not valid JSON');
  });
});

describe("the downloader's REST policy (BybitRest, no key)", () => {
  const restOf = (backoffFactor: number, retries: number, opts: ConstructorParameters<typeof BybitRest>[2] = {}) =>
    new BybitRest({ env: 'mainnet', restUrl: 'http://127.0.0.1:9' }, { retries, backoffFactor }, opts);

  it('retries what can be retried, waiting factor × 2^attempt, and gives up with the reason', async () => {
    const answers: Array<() => unknown> = [
      () => Promise.reject({ code: 503, message: 'Service Unavailable' }),
      () => Promise.resolve({ retCode: 10006, retMsg: 'Too many visits!', result: {} }), // no X-Bapi-Limit headers: the backoff
      () => Promise.reject(Object.assign(new Error('timeout of 300ms exceeded'), { code: 'ECONNABORTED' })),
      () => Promise.resolve({ retCode: 0, retMsg: 'OK', result: { ok: 1 }, time: 5 }),
    ];
    const waits: number[] = [];
    const reasons: string[] = [];
    let calls = 0;
    const t0 = Date.now();
    const rest = restOf(0.01, 3, { onRequest: () => calls++, onRetry: (_w, _a, reason, wait) => (waits.push(wait), reasons.push(reason)) });
    const r = await rest.call('GET x', () => answers[calls - 1]!() as never);
    expect(r.result).to.deep.equal({ ok: 1 });
    expect(r.time).to.equal(5);
    expect(calls).to.equal(4);
    expect(waits).to.deep.equal([10, 20, 40]);
    expect(Date.now() - t0).to.be.at.least(70);
    expect(reasons).to.deep.equal(['HTTP 503 Service Unavailable', 'retCode 10006: Too many visits!', 'timeout of 300ms exceeded (ECONNABORTED)']);

    calls = 0;
    let err: unknown;
    try {
      await restOf(0, 2, { onRequest: () => calls++ }).call('GET y', () => Promise.reject({ code: 502, message: 'Bad Gateway' }));
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ExchangeError);
    // The one client's message format: "<what> failed: <reason> (gave up after N tries)" (was "GET y: ...").
    expect((err as Error).message).to.equal('GET y failed: HTTP 502 Bad Gateway (gave up after 3 tries)');
    expect(calls).to.equal(3);
  });

  it('does not retry a parameter error (10001) or an HTTP 403', async () => {
    for (const answer of [() => Promise.resolve({ retCode: 10001, retMsg: 'params error: interval invalid', result: {} }), () => Promise.reject({ code: 403, message: 'Forbidden' })]) {
      let calls = 0;
      let err: unknown;
      try {
        await restOf(0, 3, { onRequest: () => calls++, banPauseMs: 10 }).call('GET z', answer as never);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ExchangeError);
      expect(calls).to.equal(1);
      expect((err as ExchangeError).retryable).to.equal(false);
    }
  });

  it('an abort ends a backoff wait with InterruptedError (exit code 130)', async () => {
    const abort = new AbortController();
    const rest = restOf(60, 3, { onRetry: () => abort.abort() });
    let err: unknown;
    try {
      await rest.call('GET w', () => Promise.reject({ code: 503, message: 'Service Unavailable' }), { signal: abort.signal });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(InterruptedError);
    expect((err as InterruptedError).exitCode).to.equal(130);
  });

  it('the spacing limiter spaces request starts 1/perSecond apart', async () => {
    const starts: number[] = [];
    const rest = restOf(0, 0, { requestsPerSecond: 100, onRequest: () => starts.push(Date.now()) });
    await Promise.all(Array.from({ length: 11 }, () => rest.call('GET /v5/market/kline', () => Promise.resolve({ retCode: 0, retMsg: 'OK', result: {} }))));
    starts.sort((a, b) => a - b);
    expect(starts[10]! - starts[0]!).to.be.at.least(95); // 10 gaps of 10 ms (timer granularity ±1 ms each)
  });
});
