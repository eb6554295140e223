/**
 * Drives `pyr live` (a real child process running bin/pyr) against the local exchange in lockstep:
 * the test moves the exchange's clock point by point through each candle's price path and waits for the
 * bot to have reacted (its journal says so) before moving on. Every step is deterministic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { lowerBound, type CandleSeries, type Trade } from '../../lib/core/index.ts';
import { simBrokerFor } from '../../lib/brokers/sim/index.ts';
import { resolveRunSpec } from '../../lib/config/index.ts';
import { runSpec } from '../../lib/engine/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';
import type { JournalRecord } from '../../lib/engine/index.ts';
import type { Sandbox } from '../../lib/sandbox/index.ts';
import { REPO } from '../helpers.ts';

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

export function startBot(ex: Sandbox, journal: string, cwd: string, extra: string[] = [], env: Record<string, string> = {}): LiveBot {
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
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d.toString()));
  proc.stderr!.on('data', (d) => (out += d.toString()));
  const bot: LiveBot = {
    proc,
    journal,
    exited: false,
    code: null,
    output: () => out,
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
