/**
 * Sweeps across machines (issue 14 §3): `pyr optimize --queue` and `pyr worker` as separate processes
 * against a real redis-server (test/helpers-redis.ts), on the committed sample. The rows must be the
 * local `pyr optimize` rows, byte for byte, also with --walk-forward, with a worker killed by SIGKILL in
 * the middle of a chunk, and with the coordinator killed and started again. A strategy that throws for
 * some combinations is reported with their parameters and the other rows are written; an unreachable
 * Redis is one line naming the URL.
 *
 * Nothing here waits for time: every step waits for a line a process prints (a chunk done, a sweep
 * queued, the test strategy saying it hangs). The workers run with a short lock (PYR_QUEUE_LOCK_MS) so
 * the stalled-job check hands a dead worker's chunk on within seconds.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, SAMPLE_15M, parseCsv, runCli, tempDir } from '../helpers.ts';
import { startRedis, type TestRedis } from '../helpers-redis.ts';

const BIN = path.join(REPO, 'bin/pyr');
const WORKER_ENV = { PYR_QUEUE_LOCK_MS: '3000', PYR_QUEUE_STALLED_MS: '500', PYR_QUEUE_POLL_MS: '100' };

/** Called whenever any pyr process prints something. */
const listeners = new Set<() => void>();

/** Resolves once `cond()` holds, checked now and after every line any process prints. */
function until(cond: () => boolean): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = (): void => {
      if (cond()) {
        listeners.delete(check);
        resolve();
      }
    };
    listeners.add(check);
  });
}

/** A pyr process whose output is kept and can be waited on line by line. */
class Pyr {
  readonly child: ChildProcess;
  out = '';
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = [];
  readonly exited: Promise<number>;

  constructor(readonly name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', PYR_BYBIT_REST_URL: 'http://127.0.0.1:9', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer): void => {
      this.out += b.toString();
      this.check();
      for (const l of [...listeners]) l();
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.name} exited (${code ?? signal}) before printing ${w.re}:\n${this.out}`));
        resolve(code ?? -1);
      }),
    );
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      const m = this.out.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }

  /** Resolves when the output (so far or later) matches `re`. */
  waitFor(re: RegExp): Promise<RegExpMatchArray> {
    const m = this.out.match(re);
    if (m) return Promise.resolve(m);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(new Error(`${this.name} has exited without printing ${re}:\n${this.out}`));
    return new Promise((resolve, reject) => this.waiters.push({ re, resolve, reject }));
  }

  /** The chunks this process logged as done for `sweep`. */
  done(sweep: string): string[] {
    return [...this.out.matchAll(new RegExp(`sweep ${sweep}: chunk (c\\d+) done`, 'g'))].map((m) => m[1]!);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

describe('sweeps across machines: pyr optimize --queue and pyr worker (real Redis)', function () {
  this.timeout(60_000);
  const tmp = tempDir('pyr-queue-');
  let redis: TestRedis | undefined;
  const procs: Pyr[] = [];
  let workers: Pyr[] = [];
  let n = 0;
  const dir = (): string => path.join(tmp.dir, `out-${++n}`);
  const strategy = path.join(tmp.dir, 'queue-test.ts');

  const start = (name: string, args: string[], env: NodeJS.ProcessEnv = {}): Pyr => {
    const p = new Pyr(name, args, tmp.dir, env);
    procs.push(p);
    return p;
  };
  /** A worker on db 0 with its own store and cache. */
  const startWorker = (name: string, store: string): Pyr =>
    start(name, ['worker', '--queue', redis!.url(), '--concurrency', '1', '--data-dir', store, '--verbose'], { ...WORKER_ENV, XDG_CACHE_HOME: path.join(tmp.dir, `cache-${name}`) });

  // Eight combinations over two weeks of the sample: a small grid, every chunk one combination.
  const ARGS = ['--sample', '--strategy', strategy, '--from', '2024-08-01', '--to', '2024-08-14', '--grid', 'oversold=15:30:5', '--grid', 'stopLossPct=0.003,0.006', '--metric', 'netPnl'];
  const queued = (out: string, extra: string[] = []): string[] => ['optimize', ...ARGS, ...extra, '--queue', redis!.url(), '--chunk-size', '1', '--out', out];
  const local = async (out: string, extra: string[] = []): Promise<void> => {
    const r = await runCli(['optimize', ...ARGS, ...extra, '--workers', '1', '--out', out], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
  };
  const file = (d: string, f = 'optimize.csv'): string => readFileSync(path.join(d, f), 'utf8');
  const sweepIdOf = async (p: Pyr): Promise<string> => (await p.waitFor(/sweep ([0-9a-f]{16}): \d+ runs in \d+ chunks/))[1]!;

  before(async function () {
    redis = await startRedis(this);
    // The test strategy: the seed, plus a combination that throws (throwOn) and one that hangs forever
    // in the first process to reach it (hangFile: whoever creates the file hangs).
    writeFileSync(path.join(tmp.dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(
      strategy,
      `import { openSync } from 'node:fs';
import seed from ${JSON.stringify(path.join(REPO, 'strategies/stochrsi-scalper.ts'))};
import { defineStrategy } from ${JSON.stringify(path.join(REPO, 'lib/strategy/index.ts'))};
export default defineStrategy({
  ...seed,
  name: 'queue-test',
  params: {
    ...seed.params,
    throwOn: { type: 'number', default: 0, description: 'throw for this oversold' },
    hangFile: { type: 'string', default: '', description: 'hang at oversold=25 in the process that creates this file' },
  },
  create(p, env) {
    if (p.oversold === p.throwOn) throw new Error('queue-test refuses oversold=' + p.oversold);
    if (p.hangFile && p.oversold === 25) {
      let mine = false;
      try { openSync(p.hangFile, 'wx'); mine = true; } catch {}
      if (mine) {
        process.stderr.write('queue-test: hanging in pid ' + process.pid + '\\n');
        for (;;) {}
      }
    }
    return seed.create(p, env);
  },
});
`,
    );
    // Worker A's store holds the sample's candles; worker B's a copy with one volume changed (never used).
    const put = (store: string, text: string): string => {
      const d = path.join(tmp.dir, store, 'bybit/linear/BTCUSDT');
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, '15.csv'), text);
      return path.join(tmp.dir, store);
    };
    const sample = readFileSync(SAMPLE_15M, 'utf8');
    put('store-a', sample);
    put('store-b', sample.replace(/,188\.318,\n$/, ',188.319,\n'));
    copyFileSync(path.join(REPO, 'data/sample/BTCUSDT-funding.csv'), path.join(tmp.dir, 'store-b/bybit/linear/BTCUSDT/funding.csv'));
    expect(readFileSync(path.join(tmp.dir, 'store-b/bybit/linear/BTCUSDT/15.csv'), 'utf8')).to.not.equal(sample);
    workers = [startWorker('a', path.join(tmp.dir, 'store-a')), startWorker('b', path.join(tmp.dir, 'store-b'))];
    await Promise.all(workers.map((w) => w.waitFor(/serving the sweeps/)));
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await redis?.stop();
    tmp.cleanup();
  });

  it('one coordinator and two worker processes write the same optimize.csv and optimize.json as a local run', async () => {
    const q = dir();
    const l = dir();
    const coordinator = start('coordinator', queued(q));
    const [code] = await Promise.all([coordinator.exited, local(l)]);
    expect(code, coordinator.out).to.equal(0);
    expect(file(q)).to.equal(file(l));
    expect(file(q, 'optimize.json')).to.equal(file(l, 'optimize.json'));
    expect(parseCsv(file(q))).to.have.length(8);
    // Every chunk done exactly once, over both workers.
    const id = await sweepIdOf(coordinator);
    await Promise.all(workers.map((w) => w.waitFor(new RegExp(`sweep ${id}: finished`))));
    expect(workers.flatMap((w) => w.done(id)).sort()).to.deep.equal(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    // A used its store (same sha256); B's store differs, so B fetched the candles from Redis.
    expect(workers[0]!.out).to.match(new RegExp(`sweep ${id}: .*candles from store `));
    expect(workers[1]!.out).to.match(new RegExp(`sweep ${id}: not using the store's candles: .*holds different candles`));
    expect(workers[1]!.out).to.match(new RegExp(`sweep ${id}: .*candles from redis \\(`));
  });

  it('--walk-forward on the queue writes the same files as a local walk-forward', async () => {
    const wf = ['--walk-forward', '--in-sample', '7d', '--out-of-sample', '3d'];
    const q = dir();
    const l = dir();
    const coordinator = start('coordinator-wf', queued(q, wf));
    const [code] = await Promise.all([coordinator.exited, local(l, wf)]);
    expect(code, coordinator.out).to.equal(0);
    for (const f of ['optimize.csv', 'optimize.json', 'walk-forward.csv', 'walk-forward.json', 'oos-trades.csv']) expect(file(q, f), f).to.equal(file(l, f));
    expect(parseCsv(file(q)).length).to.be.greaterThan(8);
  });

  it('a strategy error in a job is reported with its parameters; the other rows are written and the command fails', async () => {
    const q = dir();
    const l = dir();
    const coordinator = start('coordinator-throw', queued(q, ['--param', 'throwOn=20']));
    const [code] = await Promise.all([coordinator.exited, local(l)]);
    expect(code, coordinator.out).to.equal(1);
    // One warning line per failed combination: the strategy's error and the parameters.
    expect(coordinator.out).to.match(/^warning: .*queue-test refuses oversold=20 \(with oversold=20 stopLossPct=0\.003\)$/m);
    expect(coordinator.out).to.match(/^warning: .*queue-test refuses oversold=20 \(with oversold=20 stopLossPct=0\.006\)$/m);
    expect(coordinator.out).to.match(/pyr: 2 of 8 runs failed \(each named above\); the other rows are in /);
    const without = (rows: Record<string, string>[]) => rows.map(({ rank: _r, ...rest }) => rest);
    const got = without(parseCsv(file(q)));
    const want = without(parseCsv(file(l))).filter((r) => r.oversold !== '20');
    expect(got).to.deep.equal(want);
    const json = JSON.parse(file(q, 'optimize.json')) as { failed: { params: Record<string, unknown> }[] };
    expect(json.failed.map((f) => f.params)).to.deep.equal([{ oversold: 20, stopLossPct: 0.003 }, { oversold: 20, stopLossPct: 0.006 }]);
  });

  it('a coordinator killed mid-sweep and started again continues from the results in Redis', async () => {
    const q = dir();
    const l = dir();
    const restartArgs = ['--param', 'throwOn=99']; // a sweep of its own (the first test's has the same grid)
    const first = start('coordinator-1', queued(q, restartArgs));
    const id = await sweepIdOf(first);
    // The workers go on without it: kill the coordinator once a chunk is done, then wait for all eight.
    await Promise.race(workers.map((w) => w.waitFor(new RegExp(`sweep ${id}: chunk c\\d+ done`))));
    await first.stop('SIGKILL');
    await until(() => workers.flatMap((w) => w.done(id)).length === 8);
    const second = start('coordinator-2', queued(q, restartArgs));
    const [code] = await Promise.all([second.exited, local(l, restartArgs)]);
    expect(code, second.out).to.equal(0);
    expect(second.out).to.include(`sweep ${id}: 8 of 8 chunks were already done`);
    expect(file(q)).to.equal(file(l));
    expect(workers.flatMap((w) => w.done(id)).sort()).to.deep.equal(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
  });

  it('a worker killed (SIGKILL) in the middle of a chunk: another worker gets it; every combination once', async () => {
    const q = dir();
    const l = dir();
    const coordinator = start('coordinator-kill', queued(q, ['--param', `hangFile=${path.join(tmp.dir, 'hang-once')}`]));
    const id = await sweepIdOf(coordinator);
    // Whichever worker takes oversold=25 first hangs inside its chunk; kill it there.
    const victim = await Promise.race(workers.map((w) => w.waitFor(/queue-test: hanging in pid \d+/).then(() => w)));
    const startedChunk = [...victim.out.matchAll(new RegExp(`sweep ${id}: chunk (c\\d+) started`, 'g'))].pop()![1]!;
    await victim.stop('SIGKILL');
    const survivor = workers.find((w) => w !== victim)!;
    const [code] = await Promise.all([coordinator.exited, local(l)]);
    expect(code, coordinator.out).to.equal(0);
    expect(file(q)).to.equal(file(l));
    expect(victim.done(id)).to.not.include(startedChunk);
    expect(survivor.done(id)).to.include(startedChunk);
    expect(workers.flatMap((w) => w.done(id)).sort()).to.deep.equal(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    const rows = parseCsv(file(q));
    expect(rows.map((r) => r.index).sort()).to.deep.equal(['0', '1', '2', '3', '4', '5', '6', '7']);
  });

  it('Redis unreachable: one line naming the URL and a non-zero exit, for both commands', async () => {
    const url = `redis://127.0.0.1:${redis!.port === 9 ? 10 : 9}/0`;
    const [c, w] = [start('coordinator-x', ['optimize', ...ARGS, '--queue', url, '--out', dir()]), start('worker-x', ['worker', '--queue', url, '--concurrency', '1'])];
    const [cc, wc] = await Promise.all([c.exited, w.exited]);
    for (const [p, code] of [[c, cc], [w, wc]] as const) {
      expect(code, p.out).to.equal(1);
      expect(p.out.trim().split('\n'), p.out).to.have.length(1);
      expect(p.out).to.match(new RegExp(`^pyr: cannot reach Redis at ${url.replace(/[/.]/g, '\\$&')}: ECONNREFUSED`));
    }
  });
});
