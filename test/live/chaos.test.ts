/**
 * The chaos test of issue 11: `pyr live` (the real child process, bin/pyr, through the real bybit-api SDK)
 * driven in lockstep over two days of replayed real Bybit 15-minute candles (the committed sample, the
 * week of 2024-08-05, with its real funding rates) while a seeded sequence of faults hits it at candle
 * closes and inside candles: `kill -9` (right after a decision is journaled and before its order is sent,
 * after an order reached the exchange but before the bot heard of its fill, while a position is open, at
 * random moments, during start-up), sometimes with the exchange's clock moving on while pyr is down so
 * that a stop or target fires with nobody watching; exchange restarts; dropped streams (also right when a
 * level fires); lost private messages; injected 10006 and 503 answers; small REST delays.
 *
 * Afterwards:
 *   1. every trade of the exchange's closed-PnL records is in the journal, with the same net PnL to the
 *      last decimal (closedPnl is net of both fees; the journal's net is also net of funding, which the
 *      exchange books as separate executions: it is taken from them);
 *   2. there were never two positions (the exchange's size sampled after every step, opening fills while a
 *      position was open, entry `order` records per deciding candle across all sessions);
 *   3. no entry is lost to a fault it could have waited out: every entry of the simulator (the seed
 *      strategy, `simTrades`) whose deciding candle was processed by a running bot, or closed less than one
 *      interval before a restart (so the restarted bot decides it), has an entry on the exchange;
 *   4. the bot never exited by itself (only the test's kills end it; SIGINT at the end exits 0), and
 *      never hung (every candle it was up for was processed, within a time-out).
 *
 * Everything is deterministic for a seed: the plan of faults is drawn up front from the seed and the
 * simulator's trades, and the test waits for events (journal records, the exchange's state), never for
 * time. The seed comes from PYR_CHAOS_SEED (else random) and is printed at the start and in every
 * assertion; replay a failure with `PYR_CHAOS_SEED=<seed> npx mocha ... test/live/chaos.test.ts`.
 * PYR_CHAOS_KEEP=1 keeps the journal and the bots' output (the folder is printed).
 */
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RestClientV5 } from 'bybit-api';
import { D, ZERO, lowerBound, type CandleSeries, type Dec, type Trade } from '../../lib/core/index.ts';
import { RUN_PARAMS } from '../../lib/config/params.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { readFundingFile } from '../../lib/data/store.ts';
import { readJournal, tradeFromJson, type JournalRecord } from '../../lib/engine/index.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import { SAMPLE_15M, SAMPLE_FUNDING, tempDir } from '../helpers.ts';
import { idle, simTrades, startBot, type LiveBot } from './harness.ts';

const M15 = 15 * 60_000;
const DAY = 86_400_000;
const START = Date.UTC(2024, 7, 5); // Monday 2024-08-05, as in faults.test.ts: volatile, 16 seed trades in two days
const END = START + 2 * DAY;

/** How long one event may take before the bot counts as hung (a restart's start-up has its own). */
const WAIT_MS = 10_000;
const START_MS = 30_000;
/** After a dropped stream or an exchange restart: time for the reconnect and the REST resync. */
const RECOVER_MS = 12_000;
/** After a restart within the interval of a candle the simulator entered on: time to decide it again. */
const REDECIDE_MS = 2_500;
/** Hung bots recovered (killed and restarted) before the drive gives up. */
const MAX_RECOVERIES = 4;
const MAX_KILLS = 14;
/**
 * The bot's periodic REST position check (positionCheckSeconds, where it exists) runs on the wall clock:
 * in a replay hundreds of times faster than real time it lands at a random candle, and would mend (or not)
 * a state the bot should have mended by itself on the event, making a seed's outcome depend on the
 * machine's speed. Every fault here has an event the bot must react to (an order's reconcile time-out, a
 * reconnect, a restart, a position message that still arrives), so the check is off: the run is the same
 * for a seed. The periodic check has its own tests.
 */
const BOT_PARAMS = 'positionCheckSeconds' in RUN_PARAMS ? ['--param', 'positionCheckSeconds=0'] : [];

const ENV_SEED = process.env.PYR_CHAOS_SEED;
const SEED = ENV_SEED !== undefined && ENV_SEED.trim() !== '' ? Number(ENV_SEED) >>> 0 : randomInt(2 ** 31);
const TAG = `[chaos seed ${SEED}; replay: PYR_CHAOS_SEED=${SEED}]`;

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
const candleOf = (t: number) => Math.floor(t / M15) * M15;

// ------------------------------------------------------------------------------------------------ plan

type Kill =
  /** Right after the decision of this candle is journaled, before its order is sent (REST slowed to make room). */
  | { readonly kind: 'after-decision' }
  /** After the entry reached the exchange and was answered, before the bot heard of its fill (its stream messages are lost). */
  | { readonly kind: 'after-send' }
  /** Inside the candle, before path point `point`; restarted before the close, or after it (within the interval). */
  | { readonly kind: 'mid-path'; readonly point: number; readonly restartBeforeClose: boolean }
  /** After the candle was processed; down for `down` more candles (0: restarted at once). */
  | { readonly kind: 'after-close'; readonly down: number }
  /** The same, chosen while the simulator holds a position; `down` may walk through its stop or target. */
  | { readonly kind: 'position'; readonly down: number };

interface CandlePlan {
  kill?: Kill;
  /** Kill the restarted bot again during its start-up. */
  killStartup?: boolean;
  /** Restart the exchange before path point k (3: before the close). */
  exchangeRestart?: number;
  /** Drop the streams before path point k. */
  drop?: number;
  /** Drop the streams right before a stop or target fires in this candle. */
  dropAtLevel?: boolean;
  /** Lose the next n private messages right before a stop or target fires (n ≤ 2: the position message still arrives). */
  loseAtLevel?: number;
  /** Lose the next n private messages at the close (an entry's order, execution, position, wallet). */
  loseAtClose?: number;
  /** 10006 or 503 for the next n requests to `path`, armed at the close (n within the client's 3 retries). */
  rest?: { readonly kind: '10006' | '503'; readonly n: number; readonly path: string };
  /** REST answers delayed by `ms` from this close for `candles` candles. */
  delay?: { readonly ms: number; readonly candles: number };
}

const FAULT_PATHS = ['/v5/order/create', '/v5/market/tickers', '/v5/position/list', '/v5/execution/list', '/v5/market/kline', '/v5/position/trading-stop'];

/** Candles (open times) on whose close the simulator decided something that became an order. */
function simDecisions(sim: readonly Trade[]): Set<number> {
  const s = new Set<number>();
  for (const t of sim) {
    s.add(t.signalTime);
    if (t.exitReason === 'signal') s.add(t.exitTime - M15);
  }
  return s;
}

/**
 * The faults, drawn up front from the seed and the simulator's trades only (so a seed always gives the
 * same plan): a fixed number of draws per candle and per trade, whatever is used.
 */
function makePlan(seed: number, series: CandleSeries, first: number, last: number, sim: readonly Trade[]): Map<number, CandlePlan> {
  const rng = mulberry32(seed);
  const plan = new Map<number, CandlePlan>();
  const at = (i: number) => {
    let p = plan.get(i);
    if (!p) plan.set(i, (p = {}));
    return p;
  };
  const decisions = simDecisions(sim);
  const indexOf = (t: number) => lowerBound(series, t);
  const levelExit = (s: Trade) => s.exitReason === 'stop_loss' || s.exitReason === 'take_profit';

  // Three exchange restarts at random candles and points.
  for (let k = 0; k < 3; k++) {
    const i = first + Math.floor(rng() * (last - first));
    at(i).exchangeRestart = Math.floor(rng() * 4);
  }
  // At most one kill with a position open per simulator trade held over a close (40 %): down until its
  // stop or target fired (75 %) or for fewer candles. The candles walked while down hold no simulator
  // decision: the simulator holds the position, and takes no entry on its stop's candle.
  for (const s of sim) {
    const r = [rng(), rng(), rng()];
    if (!levelExit(s)) continue;
    const firstHeld = Math.max(s.entryTime, s.exitTime - 6 * M15);
    const held = (s.exitTime - firstHeld) / M15; // candles whose close is inside the trade
    if (held < 1 || r[0]! >= 0.4) continue;
    const t = firstHeld + Math.floor(r[1]! * held) * M15;
    const toExit = (s.exitTime - t) / M15;
    const down = r[2]! < 0.75 ? toExit : Math.floor((r[2]! - 0.75) * 4 * toExit);
    at(indexOf(t)).kill = { kind: 'position', down };
  }
  let delayLeft = 0;
  for (let i = first; i < last; i++) {
    const t = series.openTime[i]!;
    const r = Array.from({ length: 16 }, rng);
    const p = at(i);
    const decides = decisions.has(t);
    const exits = sim.find((s) => s.exitTime === t && levelExit(s));
    if (!p.kill) {
      if (decides) {
        if (r[0]! < 0.25) p.kill = { kind: 'after-decision' };
        else if (r[0]! < 0.4 && sim.some((s) => s.signalTime === t)) p.kill = { kind: 'after-send' };
      } else if (r[0]! < 0.0125) p.kill = { kind: 'mid-path', point: Math.floor(r[1]! * 3), restartBeforeClose: r[2]! < 0.5 };
      else if (r[0]! < 0.025) {
        // Down for up to 3 candles, none of which (but the last, decided again at the restart) the simulator decided on.
        let down = Math.floor(r[1]! * 4);
        while (down > 0 && Array.from({ length: down - 1 }, (_, k) => t + (k + 1) * M15).some((c) => decisions.has(c))) down--;
        p.kill = { kind: 'after-close', down };
      }
    }
    if (p.kill) p.killStartup = r[3]! < 0.12;
    if (exits && r[4]! < 0.25) p.dropAtLevel = true;
    else if (r[4]! > 0.97) p.drop = Math.floor(r[5]! * 3);
    if (decides && !p.kill && r[6]! < 0.25) p.loseAtClose = 1 + Math.floor(r[7]! * 4);
    if (exits && !p.dropAtLevel && r[6]! > 0.75) p.loseAtLevel = 1 + Math.floor(r[7]! * 2);
    if (r[8]! < (decides ? 0.3 : 0.04)) {
      const kind = r[9]! < 0.5 ? '10006' : '503';
      p.rest = { kind, n: 1 + Math.floor(r[10]! * (kind === '10006' ? 3 : 2)), path: FAULT_PATHS[Math.floor(r[11]! * FAULT_PATHS.length)]! };
    }
    if (delayLeft > 0) delayLeft--;
    else if (r[12]! < 0.03 && p.kill?.kind !== 'after-decision') {
      p.delay = { ms: 200 + Math.floor(r[13]! * 600), candles: 1 + Math.floor(r[14]! * 4) };
      delayLeft = p.delay.candles;
    }
  }
  // Bound the run time: the first MAX_KILLS kills are kept.
  let kills = 0;
  for (let i = first; i < last; i++) {
    const p = plan.get(i);
    if (p?.kill && ++kills > MAX_KILLS) {
      delete p.kill;
      delete p.killStartup;
    }
  }
  return plan;
}

// --------------------------------------------------------------------------------------------- journal

/** Reads the journal as it grows: only whole lines, from where the last read stopped. */
class JournalTail {
  readonly recs: JournalRecord[] = [];
  /** Complete lines that did not parse (a record torn and then appended to). */
  readonly bad: { index: number; text: string }[] = [];
  #off = 0;
  constructor(readonly file: string) {}

  read(): JournalRecord[] {
    if (!existsSync(this.file)) return this.recs;
    const fd = openSync(this.file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size <= this.#off) return this.recs;
      const buf = Buffer.alloc(size - this.#off);
      readSync(fd, buf, 0, buf.length, this.#off);
      const nl = buf.lastIndexOf(0x0a);
      if (nl < 0) return this.recs; // a line being written (or torn: the next session cuts it)
      this.#off += nl + 1;
      for (const line of buf.subarray(0, nl).toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          this.recs.push(JSON.parse(line) as JournalRecord);
        } catch {
          this.bad.push({ index: this.recs.length, text: line.slice(0, 200) });
        }
      }
    } finally {
      closeSync(fd);
    }
    return this.recs;
  }
}

type Rec<T extends JournalRecord['t']> = Extract<JournalRecord, { t: T }>;

interface Session {
  readonly bot: LiveBot;
  /** Index of its first record in the journal. */
  readonly start: number;
  /** Set when the test killed it (SIGKILL) or stopped it (SIGINT at the end). */
  endedBy?: string;
  /** Index after its last record. */
  end?: number;
}

interface ChaosEvent {
  /** Open time of the candle it happened in (or at whose close). */
  readonly candle: number;
  readonly what: string;
}

// ---------------------------------------------------------------------------------------------- driver

class Chaos {
  readonly tail: JournalTail;
  readonly sessions: Session[] = [];
  readonly events: ChaosEvent[] = [];
  /** Failures seen while driving: unexpected exits, hangs. */
  readonly failures: string[] = [];
  /** Observations that are not failures by themselves (a resync not seen, a candle not decided again). */
  readonly notes: string[] = [];
  /** Times the bot was down: exchange clock at its death and at its restart. */
  readonly windows: { from: number; to: number }[] = [];
  /** Exchange position sizes above one entry's qty: when, and how much. */
  readonly doubles: { at: number; size: string }[] = [];
  /** The exchange's position size at each candle's close (before the gap to the next open), for the report. */
  readonly sizeAtClose = new Map<number, string>();
  maxSize: Dec = ZERO;
  bot: LiveBot | undefined;
  downSince: number | undefined;
  recoveries = 0;
  aborted: string | undefined;
  #candle = 0;
  #delayMs = 0;
  #delayLeft = 0;

  constructor(
    readonly ex: Sandbox,
    readonly series: CandleSeries,
    readonly journal: string,
    readonly cwd: string,
    readonly sim: readonly Trade[],
    readonly oneEntry: Dec,
  ) {
    this.tail = new JournalTail(journal);
  }

  log(what: string): void {
    this.events.push({ candle: this.#candle, what });
  }

  size(): Dec {
    return this.ex.state().position.size;
  }

  /** Samples the exchange's position: never above one entry's qty. */
  sample(): void {
    const s = this.size();
    if (s.gt(this.maxSize)) this.maxSize = s;
    if (s.gt(this.oneEntry)) {
      const last = this.doubles[this.doubles.length - 1];
      if (!last || last.size !== s.toFixed() || last.at !== this.ex.now()) this.doubles.push({ at: this.ex.now(), size: s.toFixed() });
    }
  }

  session(): Session {
    return this.sessions[this.sessions.length - 1]!;
  }

  /** The running session's records. */
  recs(): JournalRecord[] {
    return this.tail.read().slice(this.session().start);
  }

  /** The running bot has fed the candle opening at `t` to its engine and nothing it decided is in flight. */
  processed(t: number): boolean {
    const recs = this.recs();
    return recs.some((r) => r.t === 'candle' && r.live && r.candle.openTime === t) && idle(recs);
  }

  /**
   * The bot's last known position is flat/open like the exchange's: its last `position` record, or its
   * last note of a position read over REST (a restart reads it at start-up, not always as a record).
   */
  agrees(): boolean {
    let side = 'flat';
    for (const r of this.tail.read()) {
      if (r.t === 'position') side = r.position.side;
      else if (r.t === 'note') {
        const m = /position (?:read|resynced|checked) over REST[^:]*: (flat|long|short)\b/.exec(r.message);
        if (m) side = m[1]!;
      }
    }
    return this.size().isZero() === (side === 'flat');
  }

  /**
   * Waits for `cond` while sampling the exchange. True when it held; false when the bot exited by itself
   * or hung (recorded as a failure; the bot is then restarted so the drive goes on).
   */
  async wait(cond: () => boolean, what: string, ms = WAIT_MS): Promise<boolean> {
    const bot = this.bot;
    if (!bot) return false;
    const end = Date.now() + ms;
    for (;;) {
      this.sample();
      if (cond()) return true;
      if (bot.exited) {
        this.failures.push(`pyr live exited by itself (code ${bot.code}) at ${iso(this.ex.now())} while waiting for ${what}; its output ends:\n${bot.output().slice(-1500)}`);
        this.log(`the bot exited by itself (code ${bot.code})`);
        this.#died('exited by itself');
        await this.start('after it exited by itself');
        return false;
      }
      if (Date.now() > end) {
        this.failures.push(`pyr live hung at ${iso(this.ex.now())}: ${what} did not happen within ${ms / 1000} s; its output ends:\n${bot.output().slice(-1500)}`);
        this.log(`the bot hung (${what}); killed and restarted`);
        if (++this.recoveries > MAX_RECOVERIES) this.aborted = `more than ${MAX_RECOVERIES} hangs`;
        await this.kill('hung: recovery');
        await this.start('after a hang');
        return false;
      }
      await new Promise((r) => setTimeout(r, 3));
    }
  }

  #died(by: string): void {
    const s = this.session();
    s.endedBy ??= by;
    s.end = this.tail.read().length;
    this.bot = undefined;
    this.downSince = this.ex.now();
  }

  async kill(why: string): Promise<void> {
    const bot = this.bot;
    if (!bot) return;
    this.session().endedBy = `SIGKILL (${why})`;
    await bot.stop('SIGKILL');
    this.#died(why);
    this.log(`kill -9: ${why}`);
  }

  /** Starts a bot on the same journal; waits for `Trading BTCUSDT`. */
  async start(why: string, killDuringStartup = false): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.tail.read();
      const bot = startBot(this.ex, this.journal, this.cwd, BOT_PARAMS);
      this.sessions.push({ bot, start: this.tail.recs.length });
      this.bot = bot;
      if (this.downSince !== undefined) this.windows.push({ from: this.downSince, to: this.ex.now() });
      this.downSince = undefined;
      this.log(`pyr live started (${why})`);
      if (killDuringStartup) {
        killDuringStartup = false;
        // Killed once it has written its first record of the session (or said where its journal is).
        const end = Date.now() + START_MS;
        while (!bot.exited && Date.now() < end && this.tail.read().length === this.session().start && !/journal /.test(bot.output())) await new Promise((r) => setTimeout(r, 2));
        if (!bot.exited) {
          await this.kill('during start-up');
          continue;
        }
      }
      const end = Date.now() + START_MS;
      while (!bot.exited && !bot.output().includes('Trading BTCUSDT') && Date.now() < end) {
        this.sample();
        await new Promise((r) => setTimeout(r, 5));
      }
      if (bot.output().includes('Trading BTCUSDT') && !bot.exited) return;
      const how = bot.exited ? `exited by itself (code ${bot.code})` : `did not start within ${START_MS / 1000} s`;
      this.failures.push(`pyr live ${how} at start-up (${why}) at ${iso(this.ex.now())}; its output ends:\n${bot.output().slice(-1500)}`);
      if (!bot.exited) await this.kill('did not start: recovery');
      else this.#died('exited at start-up');
      if (attempt >= 2) {
        this.aborted = 'pyr live does not start';
        throw new Error(`${TAG} pyr live does not start:\n${bot.output().slice(-2000)}`);
      }
    }
  }

  /** After a dropped stream or an exchange restart: the bot reconnects and reads the position over REST. */
  async recovered(markRecs: number, markOut: number, what: string): Promise<void> {
    const bot = this.bot;
    if (!bot) return;
    const resynced = () =>
      this.tail.read().slice(markRecs).some((r) => (r.t === 'note' && /over REST/i.test(r.message)) || (r.t === 'position' && r.source === 'rest')) ||
      /position (read|resynced|checked) over REST/i.test(bot.output().slice(markOut));
    const end = Date.now() + RECOVER_MS;
    while (!resynced() && !bot.exited && Date.now() < end) {
      this.sample();
      await new Promise((r) => setTimeout(r, 3));
    }
    if (!resynced() && !bot.exited) this.notes.push(`no REST resync seen within ${RECOVER_MS / 1000} s after ${what} at ${iso(this.ex.now())}`);
  }

  /** Drops the streams; with `wait`, waits for the bot's recovery, else returns what to wait for later. */
  async dropStreams(wait: boolean): Promise<(() => Promise<void>) | undefined> {
    const marks = [this.tail.read().length, this.bot?.output().length ?? 0] as const;
    const n = this.ex.faults.dropWebSockets();
    this.log(`streams dropped (${n} connections)`);
    const recovery = n > 0 ? () => this.recovered(marks[0], marks[1], 'a dropped stream') : undefined;
    if (wait) await recovery?.();
    return wait ? undefined : recovery;
  }

  async restartExchange(): Promise<void> {
    const marks = [this.tail.read().length, this.bot?.output().length ?? 0] as const;
    await this.ex.restart();
    this.log('exchange restarted');
    await this.recovered(marks[0], marks[1], 'an exchange restart');
  }

  /** Moves the exchange's clock; when the position changed, waits until the bot saw it. */
  async move(t: number, what: string): Promise<void> {
    const before = this.size();
    this.ex.advanceTo(t);
    this.sample();
    if (this.bot && !this.size().eq(before)) {
      await this.wait(() => this.agrees(), `the bot to see the position change ${what}`);
      await this.protectedPosition();
    }
  }

  #protectedKey = '';

  /**
   * An open position gets its stop and target on the exchange before the market moves on (the seed sets
   * both on every entry). In real time that takes milliseconds; here the replay would otherwise race the
   * bot's trading-stop call and make the run depend on the machine's speed. Waited for once per position.
   */
  async protectedPosition(): Promise<void> {
    const p = this.ex.state().position;
    const key = `${p.side} ${p.size.toFixed()} ${p.entryPrice.toFixed()}`;
    if (!this.bot || p.size.isZero() || key === this.#protectedKey) return;
    this.#protectedKey = key;
    const ok = await this.until(() => {
      const q = this.ex.state().position;
      return q.size.isZero() || (q.stopLoss.gt(0) && q.takeProfit.gt(0));
    }, WAIT_MS);
    if (!ok) {
      const q = this.ex.state().position;
      this.notes.push(`the ${q.side} position ${q.size.toFixed()} at ${q.entryPrice.toFixed()} had stop loss ${q.stopLoss.toFixed()} and take profit ${q.takeProfit.toFixed()} on the exchange ${WAIT_MS / 1000} s after it opened (${iso(this.ex.now())})`);
      this.log(`the position opened has no stop loss or take profit on the exchange after ${WAIT_MS / 1000} s`);
    }
  }

  /** Whether moving the price from here to `price` fires the position's stop or target. */
  levelFires(price: number): boolean {
    const p = this.ex.state().position;
    if (p.side === '' || p.size.isZero()) return false;
    const sl = p.stopLoss.toNumber();
    const tp = p.takeProfit.toNumber();
    if (p.side === 'Buy') return (sl > 0 && price <= sl) || (tp > 0 && price >= tp);
    return (sl > 0 && price >= sl) || (tp > 0 && price <= tp);
  }

  setDelay(ms: number): void {
    this.ex.faults.delayRest(ms);
  }

  /** The entry `order` record of the running session for the candle `t`. */
  entryOrder(t: number): Rec<'order'> | undefined {
    return this.recs().find((r): r is Rec<'order'> => r.t === 'order' && r.order.purpose === 'entry' && r.order.signalTime === t);
  }

  /**
   * One candle, point by point; with `up` false the bot is down and nothing waits for it. Returns how
   * many more candles were walked (while the bot was down after a kill).
   */
  async candle(i: number, plan: CandlePlan | undefined, up = true): Promise<number> {
    const { ex, series } = this;
    const t = series.openTime[i]!;
    this.#candle = t;
    const pts = ex.market.path(i).slice(1);
    const p = up ? plan : undefined;
    let midKilled = false;
    for (let j = 0; j < pts.length; j++) {
      const pt = pts[j]!;
      if (p?.exchangeRestart === j) await this.restartExchange();
      if (p?.drop === j && this.bot) await this.dropStreams(true);
      if (p?.kill?.kind === 'mid-path' && p.kill.point === j && this.bot) {
        await this.kill(`inside the candle, before path point ${j + 1}`);
        midKilled = true;
      }
      const recovery = this.bot && this.levelFires(pt.price) ? await this.beforeLevel(p) : undefined;
      await this.move(pt.time, `at ${iso(pt.time)}`);
      await recovery?.();
      this.ex.faults.losePrivateMessages(0);
    }
    if (midKilled && p?.kill?.kind === 'mid-path' && p.kill.restartBeforeClose) await this.start('restarted inside the candle', p.killStartup);
    if (p?.exchangeRestart === 3) await this.restartExchange();

    // The close.
    const next = i + 1 < series.length ? series.openTime[i + 1]! : t + M15;
    const nextOpen = i + 1 < series.length ? series.open[i + 1]! : NaN;
    if (this.#delayLeft > 0 && --this.#delayLeft === 0) {
      this.#delayMs = 0;
      this.setDelay(0);
      this.log('REST delay cleared');
    }
    if (p?.delay && this.bot) {
      this.#delayMs = p.delay.ms;
      this.#delayLeft = p.delay.candles;
      this.setDelay(p.delay.ms);
      this.log(`REST answers delayed ${p.delay.ms} ms for ${p.delay.candles} candles`);
    }
    if (p?.rest && this.bot) {
      if (p.rest.kind === '10006') ex.faults.rateLimit(p.rest.n, p.rest.path);
      else ex.faults.serverError(p.rest.n, 503, p.rest.path);
      this.log(`${p.rest.kind} armed for the next ${p.rest.n} requests to ${p.rest.path}`);
    }
    if (p?.loseAtClose && this.bot) {
      ex.faults.losePrivateMessages(p.loseAtClose);
      this.log(`the next ${p.loseAtClose} private messages will be lost`);
    }
    const kill = this.bot ? p?.kill : undefined;
    if (kill?.kind === 'after-decision') this.setDelay(Math.max(700, this.#delayMs));
    if (kill?.kind === 'after-send') ex.faults.losePrivateMessages(4);
    if (this.bot) {
      // As lockstep: the close may bring an exit and an entry; stay inside the real per-key write limits.
      await ex.rateRoom('/v5/order/create', 2);
      await ex.rateRoom('/v5/position/trading-stop', 2);
    }
    this.sizeAtClose.set(t, this.size().toFixed());
    const recovery = this.bot && Number.isFinite(nextOpen) && this.levelFires(nextOpen) ? await this.beforeLevel(p) : undefined;
    await this.move(next, `at the gap to ${iso(next)}`);
    await recovery?.();

    if (this.bot && kill?.kind === 'after-decision') {
      // The decision and the candle's record are written one after the other (each fsync'd), the order
      // only after the ticker's answer (slowed down above): killed once both are journaled, so that the
      // moment is the same on every run.
      const decided = () => this.recs().some((r) => r.t === 'decision' && r.time === t) && this.recs().some((r) => r.t === 'candle' && r.live && r.candle.openTime === t);
      const ok = await this.wait(() => decided() || this.processed(t), `the decision on the candle at ${iso(t)}`);
      if (ok) {
        const sent = this.entryOrder(t) ?? this.recs().find((r): r is Rec<'order'> => r.t === 'order' && r.order.signalTime === t);
        await this.kill(decided() ? `right after the decision on ${iso(t)} was journaled${sent ? ' (its order was already journaled as sent)' : ', before its order was sent'}` : `at the close of ${iso(t)} (no decision)`);
        this.setDelay(this.#delayMs);
        // An order already on its way (REST is slow): let it land before the restart, as it would.
        if (sent) await this.until(() => ex.engine.orderViews({ orderLinkId: sent.order.id }).length > 0, 2000);
        await this.start('restarted within the interval', p?.killStartup);
        await this.redecide(t);
      } else this.setDelay(this.#delayMs);
    } else if (this.bot && kill?.kind === 'after-send') {
      // Killed once the exchange has the order and its answer is journaled (its fill messages lost, the
      // bot waits reconcileSeconds for them): the same moment on every run.
      const landed = () => {
        const o = this.entryOrder(t);
        return o !== undefined && ex.engine.orderViews({ orderLinkId: o.order.id }).length > 0 && this.recs().some((r) => r.t === 'order-result' && r.orderId === o.order.id);
      };
      const ok = await this.wait(() => landed() || this.processed(t), `the entry decided on ${iso(t)} to reach the exchange`);
      ex.faults.losePrivateMessages(0);
      if (ok) {
        await this.kill(landed() ? `the entry decided on ${iso(t)} reached the exchange; its fill messages were lost` : `at the close of ${iso(t)} (no entry)`);
        await this.start('restarted within the interval', p?.killStartup);
        await this.redecide(t);
      }
    } else if (this.bot) {
      await this.wait(() => this.processed(t), `the bot to process the candle at ${iso(t)}`);
    }
    await this.protectedPosition();
    this.ex.faults.losePrivateMessages(0);

    if (!this.bot && midKilled) {
      await this.start('restarted after the close of the candle it was killed in', p?.killStartup);
      await this.redecide(t);
    }
    if (this.bot && (kill?.kind === 'after-close' || kill?.kind === 'position')) {
      const open = !this.size().isZero();
      await this.kill(`${kill.kind === 'position' ? 'with a position open' : 'after the close'} (${open ? `position ${this.size().toFixed()} open` : 'flat'}), down for ${kill.down} candles`);
      for (let k = 1; k <= kill.down && i + k < this.last; k++) await this.candle(i + k, undefined, false);
      const walked = Math.min(kill.down, this.last - 1 - i);
      if (walked > 0) this.log(`the exchange moved ${walked} candles while pyr was down (position ${this.size().toFixed()} now)`);
      this.#candle = t + walked * M15;
      await this.start(walked > 0 ? 'restarted after the exchange moved on' : 'restarted at once', p?.killStartup);
      await this.redecide(t + walked * M15);
      return walked;
    }
    return 0;
  }

  last = 0;

  /**
   * Right before a move that fires the stop or target: drop the streams or lose messages, as planned. A
   * drop returns the wait for the bot's recovery, for after the move (the level fires while it is away).
   */
  async beforeLevel(p: CandlePlan | undefined): Promise<(() => Promise<void>) | undefined> {
    let recovery: (() => Promise<void>) | undefined;
    if (p?.dropAtLevel) {
      recovery = await this.dropStreams(false);
      p.dropAtLevel = false;
    }
    if (p?.loseAtLevel) {
      this.ex.faults.losePrivateMessages(p.loseAtLevel);
      this.log(`the next ${p.loseAtLevel} private messages (the level's order and execution) will be lost`);
      p.loseAtLevel = undefined;
    }
    return recovery;
  }

  /** Waits (bounded) for a condition on the exchange, not on the bot. */
  async until(cond: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 3));
    return cond();
  }

  /**
   * A restart within the interval of the candle at `t`, on which the simulator entered and the exchange
   * holds no position: the restarted bot decides that candle again (issue 11). Waits for its decision (and
   * for it to be acted on) before the market moves, as the real market would give it the time.
   */
  async redecide(t: number): Promise<void> {
    if (!this.bot) return;
    const s = this.sim.find((x) => x.signalTime === t);
    if (s && this.size().isZero()) {
      const decided = () => this.recs().some((r) => r.t === 'decision' && r.time === t);
      const end = Date.now() + REDECIDE_MS;
      while (!decided() && !this.bot.exited && Date.now() < end) {
        this.sample();
        await new Promise((r) => setTimeout(r, 3));
      }
      if (!decided()) this.notes.push(`the candle at ${iso(t)} (a simulator ${s.side} entry) was not decided again within ${REDECIDE_MS / 1000} s of the restart`);
    }
    await this.wait(() => idle(this.recs()), 'the restarted bot to settle');
    await this.protectedPosition();
  }
}

// ------------------------------------------------------------------------------------------ exchange

interface ExchangeTrade {
  readonly side: 'long' | 'short';
  readonly qty: Dec;
  readonly entryPrice: Dec;
  readonly exitPrice: Dec;
  readonly exitTime: number;
  readonly closedPnl: Dec;
  readonly openFee: Dec;
  readonly closeFee: Dec;
  readonly funding: Dec;
  /** closedPnl less funding: the journal's net PnL. */
  readonly net: Dec;
  readonly orderId: string;
}

interface Exec {
  execType: string;
  side: 'Buy' | 'Sell';
  execQty: string;
  closedSize: string;
  execFee: string;
  execTime: string;
  orderId: string;
  orderLinkId: string;
}

/** The exchange's opening fills, and the opening fills made while a position was already open. */
function walkExecutions(execs: readonly Exec[]): { openings: Exec[]; doubled: { exec: Exec; held: string }[]; fundingByCloseOrder: Map<string, Dec> } {
  const openings: Exec[] = [];
  const doubled: { exec: Exec; held: string }[] = [];
  const fundingByCloseOrder = new Map<string, Dec>();
  let size = ZERO;
  let funding = ZERO;
  for (const e of execs) {
    if (e.execType === 'Funding') {
      if (size.gt(0)) funding = funding.add(e.execFee);
      continue;
    }
    if (e.execType !== 'Trade') continue;
    const closing = new D(e.closedSize);
    const opening = new D(e.execQty).sub(closing);
    if (closing.gt(0)) {
      size = size.sub(closing);
      if (size.isZero()) {
        fundingByCloseOrder.set(e.orderId, funding);
        funding = ZERO;
      }
    }
    if (opening.gt(0)) {
      if (size.gt(0)) doubled.push({ exec: e, held: size.toFixed() });
      openings.push(e);
      size = size.add(opening);
    }
  }
  return { openings, doubled, fundingByCloseOrder };
}

interface ClosedPnlRow {
  side: string;
  closedSize: string;
  avgEntryPrice: string;
  avgExitPrice: string;
  closedPnl: string;
  openFee: string;
  closeFee: string;
  updatedTime: string;
  orderId: string;
}

async function closedPnl(ex: Sandbox): Promise<ClosedPnlRow[]> {
  const rest = new RestClientV5({ key: ex.apiKey, secret: ex.apiSecret, baseUrl: ex.restUrl }, { timeout: 5000 });
  const rows: ClosedPnlRow[] = [];
  // Bybit answers at most 7 days per query: one day at a time, as parity.test.ts reads them.
  for (let day = START; day < END + DAY; day += DAY) {
    let cursor: string | undefined;
    do {
      const r = await rest.getClosedPnL({ category: 'linear', symbol: 'BTCUSDT', limit: 100, cursor, startTime: day, endTime: day + DAY - 1 });
      if (r.retCode !== 0) throw new Error(`${TAG} closed-pnl: ${r.retCode} ${r.retMsg}`);
      rows.push(...(r.result.list as unknown as ClosedPnlRow[]));
      cursor = r.result.nextPageCursor || undefined;
    } while (cursor);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------- tests

describe('pyr live under chaos (issue 11): seeded kills, exchange restarts, dropped streams, lost messages, 10006/503 and delays over two days', function () {
  this.timeout(300_000);
  const tmp = tempDir('pyr-chaos-');
  let ex: Sandbox;
  let chaos: Chaos;
  let series: CandleSeries;
  let sim: Trade[];
  let journalFile: string;
  let driveError: unknown;
  let finalCode: number | null | undefined;
  let exTrades: ExchangeTrade[] = [];
  let execs: Exec[] = [];
  let runSeconds = 0;

  before(async () => {
    console.log(`      chaos seed ${SEED} (replay: PYR_CHAOS_SEED=${SEED})`);
    const began = Date.now();
    series = (await readCandleFile(SAMPLE_15M)).series;
    const funding = await readFundingFile(SAMPLE_FUNDING);
    // Every entry of the simulator counts, also the last one left open at the end of the range.
    sim = simTrades(series, START, END);
    expect(sim.length, TAG).to.be.greaterThan(10);
    const first = lowerBound(series, START);
    const last = lowerBound(series, END);
    const plan = makePlan(SEED, series, first, last, sim);
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: START, balance: 10000, funding });
    journalFile = path.join(tmp.dir, 'journal.jsonl');
    const oneEntry = sim.reduce((m, t) => (t.qty.gt(m) ? t.qty : m), ZERO);
    chaos = new Chaos(ex, series, journalFile, tmp.dir, sim, oneEntry);
    chaos.last = last;
    try {
      await chaos.start('first start');
      for (let i = first; i < last && !chaos.aborted; i++) i += await chaos.candle(i, plan.get(i));
      chaos.log('end of the two days');
      if (chaos.bot) {
        chaos.session().endedBy = 'SIGINT (end of the run)';
        const bot = chaos.bot;
        finalCode = await bot.stop('SIGINT');
        chaos.session().end = chaos.tail.read().length;
        chaos.bot = undefined;
      }
    } catch (err) {
      driveError = err;
    }
    execs = (ex.engine.executionViews({}) as unknown as Exec[]).slice().reverse();
    const { fundingByCloseOrder } = walkExecutions(execs);
    exTrades = (await closedPnl(ex)).map((r) => {
      const funding = fundingByCloseOrder.get(r.orderId) ?? ZERO;
      return {
        side: r.side === 'Sell' ? 'long' : 'short', qty: new D(r.closedSize), entryPrice: new D(r.avgEntryPrice), exitPrice: new D(r.avgExitPrice),
        exitTime: candleOf(Number(r.updatedTime)), closedPnl: new D(r.closedPnl), openFee: new D(r.openFee), closeFee: new D(r.closeFee), funding,
        net: new D(r.closedPnl).sub(funding), orderId: r.orderId,
      } as ExchangeTrade;
    }).sort((a, b) => a.exitTime - b.exitTime);
    runSeconds = (Date.now() - began) / 1000;
    const kills = chaos.events.filter((e) => e.what.startsWith('kill -9')).length;
    console.log(`      ${TAG} ${runSeconds.toFixed(1)} s; ${chaos.sessions.length} sessions, ${kills} kills, ${chaos.events.filter((e) => e.what === 'exchange restarted').length} exchange restarts, ${chaos.events.filter((e) => e.what.startsWith('streams dropped')).length} stream drops`);
    for (const e of chaos.events) console.log(`        ${iso(e.candle)}  ${e.what}`);
    for (const n of chaos.notes) console.log(`        note: ${n}`);
    if (process.env.PYR_CHAOS_KEEP) {
      const keep = path.join(tmp.dir, 'outputs.txt');
      writeFileSync(keep, chaos.sessions.map((s, k) => `===== session ${k + 1} (${s.endedBy ?? 'running'})\n${s.bot.output()}`).join('\n'));
      console.log(`        kept: ${tmp.dir} (journal.jsonl, outputs.txt)`);
    }
  });

  after(async () => {
    for (const s of chaos?.sessions ?? []) if (!s.bot.exited) await s.bot.stop('SIGKILL');
    await ex?.stop();
    if (!process.env.PYR_CHAOS_KEEP) tmp.cleanup();
  });

  it('drives the two days to the end, and pyr live never hangs', () => {
    expect(driveError, `${TAG} the drive failed: ${(driveError as Error | undefined)?.stack}`).to.equal(undefined);
    expect(chaos.aborted, `${TAG} the drive gave up`).to.equal(undefined);
    const hangs = chaos.failures.filter((f) => f.includes(' hung ') || f.includes('did not start'));
    expect(hangs, `${TAG} pyr live hung ${hangs.length} times:\n${hangs.join('\n\n')}`).to.deep.equal([]);
  });

  it('pyr live never exits by itself: only the kills end it, and SIGINT at the end exits 0', () => {
    const exits = chaos.failures.filter((f) => f.includes('exited by itself'));
    const ended = chaos.sessions.map((s, k) => `session ${k + 1}: ${s.endedBy ?? 'running'} (exit code ${s.bot.code}, signal ${s.bot.proc.signalCode})`);
    expect(exits, `${TAG} ${exits.length} exits not caused by the test:\n${exits.join('\n\n')}\n${ended.join('\n')}`).to.deep.equal([]);
    for (const [k, s] of chaos.sessions.entries()) {
      if (s.endedBy?.startsWith('SIGKILL')) expect(s.bot.proc.signalCode, `${TAG} session ${k + 1}`).to.equal('SIGKILL');
    }
    expect(finalCode, `${TAG} the last session's exit code on SIGINT; its output ends:\n${chaos.session().bot.output().slice(-1500)}`).to.equal(0);
  });

  it("every trade of the exchange's closed-PnL records is in the journal, with the same net PnL to the last decimal (fees and funding)", () => {
    let recs: JournalRecord[];
    try {
      recs = readJournal(journalFile);
    } catch (err) {
      expect.fail(`${TAG} the journal does not read back: ${(err as Error).message}`);
    }
    const journal = recs.flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));
    const used = new Set<number>();
    const missing: string[] = [];
    const wrong: string[] = [];
    const twice: string[] = [];
    const fmt = (x: ExchangeTrade) => `${x.side} ${x.qty.toFixed()} ${x.entryPrice.toFixed()} → ${x.exitPrice.toFixed()} closed ${iso(x.exitTime)}`;
    for (const x of exTrades) {
      const same = journal.map((t, k) => ({ t, k })).filter(({ t }) => t.side === x.side && t.exitTime === x.exitTime && t.qty.eq(x.qty) && t.entryPrice.eq(x.entryPrice) && t.exitPrice.eq(x.exitPrice));
      if (same.length === 0) {
        const near = journal.find((t) => t.side === x.side && t.exitTime === x.exitTime);
        missing.push(`${fmt(x)}: closedPnl ${x.closedPnl.toFixed()}, funding ${x.funding.toFixed()}, net ${x.net.toFixed()}${near ? `; the journal has ${near.side} ${near.qty.toFixed()} ${near.entryPrice.toFixed()} → ${near.exitPrice.toFixed()} net ${near.netPnl.toFixed()} there` : ''}`);
        continue;
      }
      if (same.length > 1) twice.push(`${fmt(x)} is journaled ${same.length} times`);
      const { t, k } = same[0]!;
      used.add(k);
      for (const o of same.slice(1)) used.add(o.k);
      if (!t.netPnl.eq(x.net)) {
        wrong.push(`${fmt(x)}: journal net ${t.netPnl.toFixed()} (entry fee ${t.entryFee.toFixed()}, exit fee ${t.exitFee.toFixed()}, funding ${t.funding.toFixed()}), exchange ${x.net.toFixed()} (open fee ${x.openFee.toFixed()}, close fee ${x.closeFee.toFixed()}, funding ${x.funding.toFixed()}, closedPnl ${x.closedPnl.toFixed()})`);
      }
    }
    const extra = journal.filter((_, k) => !used.has(k)).map((t) => `${t.side} ${t.qty.toFixed()} ${t.entryPrice.toFixed()} → ${t.exitPrice.toFixed()} closed ${iso(t.exitTime)} net ${t.netPnl.toFixed()}`);
    const sum = (xs: Dec[]) => xs.reduce((s, v) => s.add(v), ZERO).toFixed();
    const figures = `exchange: ${exTrades.length} trades, net ${sum(exTrades.map((x) => x.net))} (closedPnl ${sum(exTrades.map((x) => x.closedPnl))}); journal: ${journal.length} trades, net ${sum(journal.map((t) => t.netPnl))}`;
    console.log(`      ${TAG} ${figures}`);
    const problems = [
      ...missing.map((m) => `not in the journal: ${m}`),
      ...wrong.map((m) => `net PnL differs: ${m}`),
      ...twice,
      ...extra.map((m) => `in the journal, not on the exchange: ${m}`),
    ];
    expect(problems, `${TAG} ${figures}\n${problems.join('\n')}`).to.deep.equal([]);
    expect(journal.length, `${TAG} ${figures}`).to.equal(exTrades.length);
  });

  it('never holds two positions: the size never exceeds one entry, no opening fill while a position is open, one entry order per deciding candle', () => {
    const { doubled } = walkExecutions(execs);
    const problems: string[] = [];
    for (const d of chaos.doubles) problems.push(`the exchange's position was ${d.size} (one entry: ${chaos.oneEntry.toFixed()}) at ${iso(d.at)}`);
    for (const d of doubled) problems.push(`an opening fill (${d.exec.side} ${d.exec.execQty}, orderLinkId ${d.exec.orderLinkId}) at ${iso(Number(d.exec.execTime))} while ${d.held} was open`);
    // Entry `order` records per deciding candle, across all sessions. One case is allowed by design: a
    // session killed after journaling the order and before any answer (the order may never have left),
    // followed by a restart that decides the candle again and sends it again under the same orderLinkId
    // (the exchange refuses a duplicate with 110072, so that cannot open a second position).
    const recs = chaos.tail.read();
    const sessionOf = (k: number) => chaos.sessions.findLastIndex((s) => s.start <= k);
    const byCandle = new Map<number, { rec: Rec<'order'>; k: number }[]>();
    recs.forEach((r, k) => {
      if (r.t === 'order' && r.order.purpose === 'entry') byCandle.set(r.order.signalTime, [...(byCandle.get(r.order.signalTime) ?? []), { rec: r, k }]);
    });
    for (const [t, list] of byCandle) {
      if (list.length < 2) continue;
      const sameId = list.every((o) => o.rec.order.id === list[0]!.rec.order.id);
      const unanswered = list.slice(0, -1).every((o) => {
        const s = sessionOf(o.k);
        const end = chaos.sessions[s]!.end ?? recs.length;
        const answered = recs.slice(o.k + 1, end).some((r) => (r.t === 'order-result' && r.orderId === o.rec.order.id) || (r.t === 'rejected' && r.orderId === o.rec.order.id));
        return !answered && chaos.sessions[s]!.endedBy?.startsWith('SIGKILL') && sessionOf(list[list.indexOf(o) + 1]!.k) > s;
      });
      if (!(sameId && unanswered)) problems.push(`${list.length} entry orders for the candle at ${iso(t)}: ${list.map((o) => `${o.rec.order.id} (session ${sessionOf(o.k) + 1})`).join(', ')}`);
    }
    expect(problems, `${TAG} max size seen ${chaos.maxSize.toFixed()}\n${problems.join('\n')}`).to.deep.equal([]);
  });

  it('loses no entry to a fault it could have waited out', () => {
    // An entry decided on a candle that closed while pyr was down, more than one interval before it came
    // back, cannot be taken (by design: the restarted bot decides only the last closed candle, and only if
    // it closed less than one interval ago). The plan avoids such windows; any there are listed, not counted.
    const close = (s: Trade) => s.signalTime + M15;
    const assessable = (s: Trade) => !chaos.windows.some((w) => w.from < close(s) && w.to >= close(s) + M15);
    const recs = chaos.tail.read();
    const signalOf = new Map<string, number>();
    for (const r of recs) if (r.t === 'order') signalOf.set(r.order.id, r.order.signalTime);
    const { openings } = walkExecutions(execs);
    const taken = (s: Trade) =>
      openings.some((e) => e.side === (s.side === 'long' ? 'Buy' : 'Sell') && (candleOf(Number(e.execTime)) === s.entryTime || signalOf.get(e.orderLinkId) === s.signalTime));
    const lost: string[] = [];
    const byDesign: string[] = [];
    for (const s of sim) {
      const what = `${s.side} decided on the candle at ${iso(s.signalTime)} (entry ${iso(s.entryTime)})`;
      if (!assessable(s)) {
        byDesign.push(what);
        continue;
      }
      if (taken(s)) continue;
      const faults = chaos.events.filter((e) => e.candle === s.signalTime || e.candle === s.entryTime).map((e) => e.what);
      const held = chaos.sizeAtClose.get(s.signalTime);
      lost.push(`${what}: faults there: ${faults.length ? faults.join('; ') : 'none'}; exchange position at that close: ${held ?? 'not sampled'}`);
    }
    if (byDesign.length) console.log(`      ${TAG} not assessable (decided while pyr was down): ${byDesign.join('; ')}`);
    expect(lost, `${TAG} ${lost.length} of ${sim.length - byDesign.length} simulator entries have no entry on the exchange:\n${lost.join('\n')}`).to.deep.equal([]);
  });
});
