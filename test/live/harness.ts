/**
 * Drives `pyr live` (a real child process running bin/pyr) against the local exchange in lockstep:
 * the test moves the exchange's clock point by point through each candle's price path and waits for the
 * bot to have reacted (its journal says so) before moving on. Every step is deterministic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import path from 'node:path';
import { lowerBound, type CandleSeries, type Trade } from '../../lib/core/index.ts';
import { simBrokerFor } from '../../lib/brokers/sim/index.ts';
import { resolveRunSpec } from '../../lib/config/index.ts';
import { runSpec } from '../../lib/engine/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';
import type { JournalRecord } from '../../lib/engine/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../lib/sandbox/index.ts';
import { expect } from 'chai';
import { REPO, SAMPLE_15M, runCli, tempDir } from '../helpers.ts';

/** The whole text of a file that only grows, read incrementally: each call reads only the new bytes. */
function tailText(file: string): () => string {
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(1 << 16);
  let text = '';
  let pos = 0;
  return () => {
    const fd = openSync(file, 'r');
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        text += decoder.write(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    return text;
  };
}

export function readRecords(file: string): JournalRecord[] {
  if (!existsSync(file)) return [];
  const out: JournalRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch {
      // a line being written right now
    }
  }
  return out;
}

/**
 * Waits until the bot's console output (from character `from`) matches `re`. The console reaches the
 * test through a pipe, which may lag the journal records the bot wrote after the line.
 */
export async function sawOutput(bot: LiveBot, re: RegExp, from = 0, ms = 15_000): Promise<void> {
  await waitUntil(() => re.test(bot.output().slice(from)), `the console to show ${re}`, ms, bot);
}

export async function waitUntil(cond: () => boolean, what: string, ms = 15_000, bot?: LiveBot): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (bot?.exited) throw new Error(`pyr live exited (code ${bot.code}) while waiting for ${what}\n${bot.output()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${bot ? `\n--- pyr live output (tail) ---\n${bot.output().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 3));
  }
}

export interface LiveBot {
  readonly proc: ChildProcess;
  readonly journal: string;
  exited: boolean;
  code: number | null;
  output(): string;
  records(): JournalRecord[];
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let botSeq = 0;

/**
 * Starts `pyr live` on the local exchange. Its console (stdout and stderr, in the order written) goes to
 * a file in `cwd`, not a pipe: the bot writes a file synchronously, so a line it logged before a journal
 * record is in the file once the record is in the journal. A pipe's data reached the test later, at its
 * own pace, and a check made right after a journal-based wait could miss the line.
 */
export function startBot(ex: Sandbox, journal: string, cwd: string, extra: string[] = [], env: Record<string, string> = {}): LiveBot {
  const consoleFile = path.join(cwd, `pyr-live-console-${process.pid}-${++botSeq}.txt`);
  const fd = openSync(consoleFile, 'w');
  const proc = spawn(
    process.execPath,
    [path.join(REPO, 'bin/pyr'), 'live', '--journal', journal, '--param', 'pollingIntervalSeconds=0.005', 'apiBackoffFactor=0.01', 'reconcileSeconds=2', ...extra],
    {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NO_COLOR: '1',
        BYBIT_API_KEY: ex.apiKey,
        BYBIT_API_SECRET: ex.apiSecret,
        PYR_BYBIT_REST_URL: ex.restUrl,
        PYR_BYBIT_WS_URL: ex.wsUrl,
        ...env,
      },
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd); // the child has its own copy
  const read = tailText(consoleFile);
  const bot: LiveBot = {
    proc,
    journal,
    exited: false,
    code: null,
    output: read,
    records: () => readRecords(journal),
    stop(signal = 'SIGINT') {
      return new Promise((resolve) => {
        if (bot.exited) return resolve(bot.code);
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      });
    },
  };
  proc.on('exit', (code) => {
    bot.exited = true;
    bot.code = code;
  });
  return bot;
}

/** The bot has fed the candle opening at `t` to its engine and nothing it decided is still in flight. */
export function botDone(bot: LiveBot, t: number): boolean {
  const recs = bot.records();
  const fed = recs.some((r) => r.t === 'candle' && r.live && r.candle.openTime === t);
  if (!fed) return false;
  return idle(recs);
}

/**
 * Every order the engine decided has an outcome: a rejection, or the position change it asked for.
 * Orders are known from the decision records (written when decided, before the order is sent).
 */
export function idle(recs: readonly JournalRecord[]): boolean {
  const pending = new Map<string, { purpose: string; sent: boolean }>();
  for (const r of recs) {
    if (r.t === 'decision') {
      for (const o of r.outcomes as { order?: { id: string; purpose: string } }[]) if (o.order) pending.set(o.order.id, { purpose: o.order.purpose, sent: false });
    } else if (r.t === 'order') {
      const p = pending.get(r.order.id);
      if (p) p.sent = true;
    } else if (r.t === 'rejected') pending.delete(r.orderId);
    else if (r.t === 'order-result' && !r.ok) pending.delete(r.orderId);
    else if (r.t === 'position') {
      const flat = r.position.side === 'flat';
      for (const [id, p] of pending) if (p.sent && ((p.purpose === 'entry' && !flat) || (p.purpose === 'exit' && flat))) pending.delete(id);
    } else if (r.t === 'note') {
      const m = /^order (\S+) reconciled:/.exec(r.message);
      if (m) pending.delete(m[1]!);
    }
  }
  return pending.size === 0;
}

/** Position size on the exchange, as text. */
function exchangeSize(ex: Sandbox): string {
  return ex.state().position.size.toString();
}

/** The bot's last journaled position is flat/open like the exchange's. */
function botAgrees(bot: LiveBot, ex: Sandbox): boolean {
  const recs = bot.records();
  let side = 'flat';
  for (const r of recs) if (r.t === 'position') side = r.position.side;
  const size = exchangeSize(ex);
  return (size === '0') === (side === 'flat');
}

/**
 * Walks the exchange from the current candle's open through candles [from, to) (open times), point by
 * point, waiting for the bot at each candle close and after each position change on the exchange.
 */
export async function lockstep(ex: Sandbox, series: CandleSeries, bot: LiveBot, from: number, to: number, onCandle?: (t: number) => Promise<void> | void): Promise<void> {
  const first = lowerBound(series, from);
  const last = lowerBound(series, to);
  for (let i = first; i < last; i++) {
    const t = series.openTime[i]!;
    for (const p of ex.market.path(i).slice(1)) {
      const before = exchangeSize(ex);
      ex.advanceTo(p.time);
      if (exchangeSize(ex) !== before) await waitUntil(() => botAgrees(bot, ex), `the bot to see the position change at ${new Date(p.time).toISOString()}`, 15_000, bot);
    }
    // The close may make the bot send orders (an exit and an entry at most): the replay runs far faster
    // than real time, so wait until the exchange's per-key write windows have room for them. On Bybit a
    // 15-minute candle never brings more than that; here it keeps the pacing inside the real limits.
    await ex.rateRoom('/v5/order/create', 2);
    await ex.rateRoom('/v5/position/trading-stop', 2);
    const before = exchangeSize(ex);
    const next = i + 1 < series.length ? series.openTime[i + 1]! : t + (series.openTime[i]! - series.openTime[i - 1]!);
    ex.advanceTo(next);
    if (exchangeSize(ex) !== before) await waitUntil(() => botAgrees(bot, ex), 'the bot to see a gap fill', 15_000, bot);
    await waitUntil(() => botDone(bot, t), `the bot to process the candle at ${new Date(t).toISOString()}`, 15_000, bot);
    await onCandle?.(t);
  }
}

/** The seed strategy's trades in the simulator over [from, to), with the default parameters (as pyr backtest runs them). */
export function simTrades(series: CandleSeries, from: number, to: number): Trade[] {
  const spec = resolveRunSpec({ definition: seed, strategyFile: 'strategies/stochrsi-scalper.ts', instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, interval: '15', layers: [] });
  const { record } = runSpec(spec, { series, source: 'harness', funding: { none: 'not charged' } }, simBrokerFor(spec), { runId: 'p', from, to });
  return [...record.trades];
}

// ---------------------------------------------------------------------------------------------------
// Lockstep with resting orders and position levels (issue 12)

type DecidedOrder = { id: string; purpose: string; order?: { type: string }; stopLoss?: unknown; takeProfit?: unknown; targets?: unknown; trailingStop?: unknown };

/** The position's levels the bot sets itself after this entry fills (lib/brokers/bybit/levels.ts afterEntry). */
function setsLevelsAfterFill(o: DecidedOrder): boolean {
  const resting = o.order !== undefined && o.order.type !== 'market';
  return resting ? Boolean(o.stopLoss || o.takeProfit || o.targets || o.trailingStop) : Boolean(o.targets || o.trailingStop);
}

/**
 * Everything the bot decided has its answer: a resting order its create's result, a market order the
 * position change, a cancel the order cancelled (or a notice that it was no longer open), an amendment
 * applied or rejected; and every entry fill whose levels the bot sets afterwards has its closing line
 * ("levels after the fill of <id>: done"). Read from the journal only: the bot's own account.
 */
export function settledWithOrders(recs: readonly JournalRecord[]): boolean {
  const pending = new Map<string, { market: boolean; answered: boolean }>();
  const cancels = new Set<string>();
  const amends = new Set<string>();
  const levels = new Set<string>();
  const withLevels = new Set<string>();
  for (const r of recs) {
    if (r.t === 'decision') {
      for (const o of r.outcomes as { order?: DecidedOrder; cancel?: { orderId: string }; amend?: { id: string } }[]) {
        if (o.order) {
          pending.set(o.order.id, { market: !o.order.order || o.order.order.type === 'market', answered: false });
          if (o.order.purpose === 'entry' && setsLevelsAfterFill(o.order)) withLevels.add(o.order.id);
        }
        if (o.cancel) cancels.add(o.cancel.orderId);
        if (o.amend) amends.add(o.amend.id);
      }
    } else if (r.t === 'rejected') pending.delete(r.orderId);
    else if (r.t === 'order') {
      const p = pending.get(r.order.id);
      if (p) p.answered = true;
    } else if (r.t === 'order-result') {
      const p = pending.get(r.orderId);
      if (p && (!r.ok || !p.market)) pending.delete(r.orderId);
    } else if (r.t === 'fill') {
      if (withLevels.delete(r.fill.orderId)) levels.add(r.fill.orderId);
    } else if (r.t === 'position') {
      for (const [id, p] of pending) if (p.answered && p.market) pending.delete(id);
    } else if (r.t === 'note') {
      const m = /^order (\S+) reconciled:/.exec(r.message);
      if (m) pending.delete(m[1]!);
      const c = /^(?:order (\S+) cancelled: |cancel of ([^\s:]+)[ :]|could not cancel order ([^\s:]+):)/.exec(r.message);
      if (c) cancels.delete((c[1] ?? c[2] ?? c[3])!);
      const a = /^amendment (\S+) (?:applied|rejected)/.exec(r.message);
      if (a) amends.delete(a[1]!);
      const l = /^levels after the fill of (\S+): done/.exec(r.message);
      if (l) levels.delete(l[1]!);
    }
  }
  return pending.size === 0 && cancels.size === 0 && amends.size === 0 && levels.size === 0;
}

/** The bot's last journaled position as `Buy|Sell qty` ('0' when flat), as the exchange's is written below. */
function lastPositionText(recs: readonly JournalRecord[]): string {
  let pos = '0';
  for (const r of recs) if (r.t === 'position') pos = r.position.side === 'flat' ? '0' : `${r.position.side === 'long' ? 'Buy' : 'Sell'} ${String(r.position.qty)}`;
  return pos;
}

function positionText(ex: Sandbox): string {
  const p = ex.state().position;
  return p.size.isZero() ? '0' : `${p.side} ${p.size.toString()}`;
}

/**
 * The lockstep for strategies with resting orders, partial targets, trailing stops, cancels and
 * amendments. It waits for events in the bot's journal, never for time: after every step of the price
 * path that executed anything on the exchange, until the bot has journaled as many fills as the
 * exchange made, sees the same position and has set the levels of any entry that filled; after each
 * candle close, until the candle is fed and everything decided has its answer (`settledWithOrders`).
 */
export async function orderLockstep(ex: Sandbox, series: CandleSeries, bot: LiveBot, from: number, to: number, onCandle?: (t: number) => Promise<void> | void): Promise<void> {
  const first = lowerBound(series, from);
  const last = lowerBound(series, to);
  const fills = (recs: readonly JournalRecord[]) => recs.filter((r) => r.t === 'fill').length;
  const step = async (time: number) => {
    const executions = ex.state().executions;
    const before = positionText(ex);
    ex.advanceTo(time);
    const now = positionText(ex);
    const made = ex.state().executions;
    if (made === executions && now === before) return;
    const at = new Date(time).toISOString();
    await waitUntil(() => {
      const recs = bot.records();
      return fills(recs) >= made && lastPositionText(recs) === now && settledWithOrders(recs);
    }, `the bot to see ${made - executions} execution(s) and the position ${now} at ${at}`, 15_000, bot);
  };
  for (let i = first; i < last; i++) {
    const t = series.openTime[i]!;
    for (const p of ex.market.path(i).slice(1)) await step(p.time);
    // Room in the exchange's per-key write windows for what one close may bring (as in `lockstep`).
    await ex.rateRoom('/v5/order/create', 2);
    await ex.rateRoom('/v5/position/trading-stop', 5);
    await ex.rateRoom('/v5/order/cancel', 2);
    await ex.rateRoom('/v5/order/amend', 2);
    const next = i + 1 < series.length ? series.openTime[i + 1]! : t + (series.openTime[i]! - series.openTime[i - 1]!);
    await step(next);
    await waitUntil(() => {
      const recs = bot.records();
      return recs.some((r) => r.t === 'candle' && r.live && r.candle.openTime === t) && settledWithOrders(recs);
    }, `the bot to process the candle at ${new Date(t).toISOString()}`, 15_000, bot);
    await onCandle?.(t);
  }
}

// ---------------------------------------------------------------------------------------------------
// The fixture of the tests that start an exchange and a bot per test (robustness, faults)

const FIXTURE_M15 = 15 * 60_000;

export interface LiveFixture {
  /** The committed sample's candles (set in the fixture's `before`). */
  readonly series: CandleSeries;
  /** The seed's simulated trades from `from`, not ambiguous and closed (set in the fixture's `before`). */
  readonly sim: Trade[];
  /** The test's temporary folder (journals, strategy files). */
  readonly dir: string;
  /** A manual-clock exchange on the sample whose clock starts two candles before `t`; stopped after the test. */
  exchangeAt(t: number, opts?: Partial<SandboxOptions>): Promise<{ ex: Sandbox; start: number }>;
  /** Starts `pyr live` against `ex` (killed after the test), without waiting for it. */
  spawn(ex: Sandbox, journal: string, extra?: string[], env?: Record<string, string>): LiveBot;
  /** Starts `pyr live` and waits until it trades. */
  bot(ex: Sandbox, journal: string, extra?: string[], env?: Record<string, string>): Promise<LiveBot>;
  /** A new journal path in `dir`. */
  journalFile(): string;
}

/**
 * Registers the hooks (inside a `describe`): the sample and the seed's trades over `days` from `from`
 * before the tests (at least `minTrades` of them), and after each test its bots killed and its exchange
 * stopped; the folder removed at the end.
 */
export function useLiveFixture(prefix: string, o: { from: number; days: number; minTrades: number }): LiveFixture {
  const tmp = tempDir(prefix);
  const running: { ex?: Sandbox; bots: LiveBot[] } = { bots: [] };
  let n = 0;
  let series: CandleSeries | undefined;
  let sim: Trade[] = [];
  before(async () => {
    series = (await readCandleFile(SAMPLE_15M)).series;
    sim = simTrades(series, o.from, o.from + o.days * 86_400_000).filter((t) => !t.ambiguous && t.exitReason !== 'end_of_data');
    if (sim.length <= o.minTrades) throw new Error(`the sample gives ${sim.length} seed trades from ${new Date(o.from).toISOString()}, the tests need more than ${o.minTrades}`);
  });
  afterEach(async () => {
    for (const b of running.bots) if (!b.exited) await b.stop('SIGKILL');
    running.bots = [];
    await running.ex?.stop();
    running.ex = undefined;
  });
  after(() => tmp.cleanup());
  const fixture: LiveFixture = {
    get series() {
      if (!series) throw new Error('the fixture\'s candles are read in its before hook');
      return series;
    },
    get sim() {
      return sim;
    },
    dir: tmp.dir,
    async exchangeAt(t, opts = {}) {
      const start = t - 2 * FIXTURE_M15;
      const ex = await startSandbox({ series: fixture.series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: start, balance: 10000, ...opts });
      running.ex = ex;
      return { ex, start };
    },
    spawn(ex, journal, extra = [], env = {}) {
      const b = startBot(ex, journal, tmp.dir, extra, env);
      running.bots.push(b);
      return b;
    },
    async bot(ex, journal, extra = [], env = {}) {
      const b = fixture.spawn(ex, journal, extra, env);
      await waitUntil(() => b.output().includes('Trading BTCUSDT'), 'the bot to start', 30_000, b);
      return b;
    },
    journalFile: () => path.join(tmp.dir, `journal-${++n}.jsonl`),
  };
  return fixture;
}

/**
 * `pyr diff <journal> --json` must match every live trade row with the simulator's, part by part: the
 * same exit reason and qty, and no difference in prices, fees, qty or net PnL; a simulated row only
 * when the live position was still open at the end.
 */
export async function expectDiffMatchesEveryRow(journal: string, cwd: string, liveRows: number): Promise<void> {
  const r = await runCli(['diff', journal, '--json'], cwd);
  expect(r.code, r.stderr).to.equal(0);
  const j = JSON.parse(r.stdout) as {
    matched: { live: { exitReason: string; qty: string }; sim: { exitReason: string; qty: string }; netPnlDiff: string; feeDiff: string; qtyDiff: string; entrySlippage: string; exitSlippage: string }[];
    liveOnly: unknown[];
    simOnly: { reason: { kind: string } }[];
  };
  expect(j.matched.length).to.equal(liveRows);
  expect(j.liveOnly).to.deep.equal([]);
  expect(j.simOnly.every((u) => u.reason.kind === 'open-at-end'), JSON.stringify(j.simOnly)).to.equal(true);
  for (const m of j.matched) {
    expect([m.live.exitReason, m.live.qty]).to.deep.equal([m.sim.exitReason, m.sim.qty]);
    expect([m.netPnlDiff, m.feeDiff, m.qtyDiff, m.entrySlippage, m.exitSlippage]).to.deep.equal(['0', '0', '0', '0', '0']);
  }
}
