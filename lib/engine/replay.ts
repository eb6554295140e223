/**
 * What a live journal says, read for a replay (`pyr diff`): its sessions, the candles they fed, and the
 * evidence of what the live session did (trades, orders, rejections, guards, skips, the position at the
 * end). Pure reading: the replay itself (the simulator) and the matching are the command's and lib/report's.
 */
import { ConfigError, D, DataError, ZERO, type Candle, type PositionSide, type Trade } from '../core/index.ts';
import { readJournalLines, tradeFromJson, type JournalRecord } from './journal.ts';

export type SessionRecord = Extract<JournalRecord, { t: 'session' }>;

/** One session of a journal: its session record and the records after it, with their lines. */
export interface JournalSegment {
  readonly session: SessionRecord;
  readonly records: { readonly rec: JournalRecord; readonly line: number }[];
}

const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;

/** Run parameters that change what the simulator does (the others only pace the live loop). */
const SIM_RUN_KEYS = ['slippageBps', 'takerFee', 'makerFee', 'minQtyPolicy', 'initialBalance', 'maxDailyLoss', 'maxConsecutiveLosses', 'maxPositionNotional'] as const;

function settingsOf(s: SessionRecord): Record<string, unknown> {
  const run = s.runParams ?? {};
  return {
    strategy: s.strategy,
    strategyFile: s.strategyFile,
    symbol: s.symbol,
    category: s.category,
    interval: s.interval,
    env: s.env,
    ...Object.fromEntries(Object.entries(s.params ?? {}).map(([k, v]) => [`params.${k}`, v])),
    ...Object.fromEntries(SIM_RUN_KEYS.filter((k) => k in run).map((k) => [`runParams.${k}`, run[k]])),
    ...Object.fromEntries(Object.entries(s.rules ?? {}).filter(([k]) => k !== 'source').map(([k, v]) => [`rules.${k}`, v])),
  };
}

export function settingsDiff(a: SessionRecord, b: SessionRecord, ignoreFile: boolean): string[] {
  const x = settingsOf(a);
  const y = settingsOf(b);
  const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => !(ignoreFile && k === 'strategyFile'));
  return keys.filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k])).map((k) => `${k} ${JSON.stringify(x[k]) ?? '(unset)'} → ${JSON.stringify(y[k]) ?? '(unset)'}`);
}

function isCandle(c: unknown): c is Candle {
  const k = c as Candle | undefined;
  return !!k && typeof k === 'object' && Number.isFinite(k.openTime) && Number.isFinite(k.open) && Number.isFinite(k.high) && Number.isFinite(k.low) && Number.isFinite(k.close);
}

/** Splits a journal at its `session` records (records before the first session are dropped), reading it once. */
export function readJournalSessions(file: string): JournalSegment[] {
  const out: JournalSegment[] = [];
  for (const { rec, line } of readJournalLines(file)) {
    if (rec.t === 'session') out.push({ session: rec, records: [] });
    else out.at(-1)?.records.push({ rec, line });
  }
  return out;
}

/**
 * The sessions to replay: the one `--session` names (a number from 1 or a session id), else all of them
 * when they ran the same settings (a ConfigError naming the difference otherwise).
 */
export function pickSessions(file: string, all: readonly JournalSegment[], opts: { session?: string; ignoreStrategyFile: boolean }): { segments: JournalSegment[]; notes: string[] } {
  if (all.length === 0) throw new DataError('no session record: not a pyr live journal, or its session never started', { file });
  let segments = [...all];
  if (opts.session !== undefined) {
    const n = /^\d+$/.test(opts.session) ? Number(opts.session) : NaN;
    const hit = Number.isInteger(n) && n >= 1 && n <= all.length ? all[n - 1] : all.find((s) => s.session.sessionId === opts.session);
    if (!hit) {
      throw new ConfigError(`--session: "${opts.session}" is neither a session number 1..${all.length} nor a session id of ${file} (${all.map((s) => s.session.sessionId).join(', ')})`);
    }
    segments = [hit];
  } else {
    for (let i = 1; i < all.length; i++) {
      const changed = settingsDiff(all[0]!.session, all[i]!.session, opts.ignoreStrategyFile);
      if (changed.length > 0) {
        throw new ConfigError(
          `${file} holds ${all.length} sessions and session ${i + 1} (${all[i]!.session.sessionId}) ran other settings than session 1: ${changed.join('; ')}. ` +
            `One replay cannot reproduce both: diff them one at a time with --session 1 .. --session ${all.length}`,
        );
      }
    }
  }
  const notes: string[] = [];
  if (all.length > 1 && segments.length > 1) notes.push(`${all.length} sessions with the same settings replayed as one; candles deduplicated by open time`);
  if (segments.length === 1 && all.length > 1) notes.push(`session ${all.indexOf(segments[0]!) + 1} of ${all.length} (${segments[0]!.session.sessionId}) only`);
  return { segments, notes };
}

/** The candles the records fed, deduplicated by open time and sorted, and which of them were live. */
export function journalCandles(file: string, records: JournalSegment['records']): { candles: Candle[]; journalTimes: number[]; liveTimes: number[]; notes: string[] } {
  const byTime = new Map<number, { candle: Candle; live: boolean }>();
  let conflicting = 0;
  for (const { rec: r, line } of records) {
    if (r.t !== 'candle') continue;
    if (!isCandle(r.candle)) throw new DataError('a candle record without openTime/open/high/low/close numbers', { file, line });
    const had = byTime.get(r.candle.openTime);
    if (had && (had.candle.close !== r.candle.close || had.candle.high !== r.candle.high || had.candle.low !== r.candle.low)) conflicting++;
    // A live record wins over a warm-up one (and a later live one over an earlier); else the first stays.
    if (!had || r.live === true) byTime.set(r.candle.openTime, { candle: r.candle, live: r.live === true || had?.live === true });
  }
  if (byTime.size === 0) throw new DataError('no candle records: the session fed no candles, so there is nothing to replay', { file });
  const journalTimes = [...byTime.keys()].sort((a, b) => a - b);
  const liveTimes = journalTimes.filter((t) => byTime.get(t)!.live);
  if (liveTimes.length === 0) throw new DataError(`no live candle records (only ${journalTimes.length} warm-up ones): the session stopped before trading, so there is nothing to compare`, { file });

  const notes = conflicting > 0 ? [`${plural(conflicting, 'candle')} recorded twice with different prices: the last live record was used`] : [];
  return { candles: journalTimes.map((t) => byTime.get(t)!.candle), journalTimes, liveTimes, notes };
}

/** A trade record read back, with the fields the diff uses checked (throws a plain Error naming the field). */
function checkedTrade(j: Parameters<typeof tradeFromJson>[0]): Trade {
  if (!j || typeof j !== 'object') throw new Error('no trade object');
  const t = tradeFromJson(j);
  if (t.side !== 'long' && t.side !== 'short') throw new Error(`side ${JSON.stringify(t.side)} is not long or short`);
  for (const k of ['signalTime', 'entryTime', 'exitTime'] as const) if (!Number.isFinite(t[k])) throw new Error(`${k} is not a time`);
  for (const k of ['entryPrice', 'exitPrice', 'qty', 'fees', 'netPnl'] as const) if (!(t[k] instanceof D)) throw new Error(`${k} is missing`);
  return { ...t, funding: t.funding instanceof D ? t.funding : ZERO };
}

/** What the live session did, from its records: a DataError names the line of a malformed one. */
export function journalEvidence(file: string, records: JournalSegment['records'], stepMs: number) {
  const live: Trade[] = [];
  const liveOrders: { id: string; signalTime: number; purpose: 'entry' | 'exit'; side: PositionSide }[] = [];
  const liveRejections: { orderId: string; reason: string; code?: number }[] = [];
  const liveGuards: { at: number; reason: string }[] = [];
  const liveSkips: { time: number; reason: string }[] = [];
  let lastPosition: { side: PositionSide | 'flat'; openedAt?: number } | undefined;
  const seenOrder = new Set<string>();
  const addOrder = (o: { id: string; signalTime: number; purpose: 'entry' | 'exit'; positionSide: PositionSide }) => {
    if (seenOrder.has(o.id)) return;
    seenOrder.add(o.id);
    liveOrders.push({ id: o.id, signalTime: o.signalTime, purpose: o.purpose, side: o.positionSide });
  };
  for (const { rec, line } of records) {
    try {
      switch (rec.t) {
        case 'trade':
          live.push(checkedTrade(rec.trade));
          break;
        case 'order':
          addOrder(rec.order);
          break;
        case 'decision':
          for (const o of rec.outcomes as { order?: Parameters<typeof addOrder>[0]; skipped?: string }[]) {
            if (o && typeof o === 'object' && o.order) addOrder(o.order);
            else if (o && typeof o.skipped === 'string') liveSkips.push({ time: rec.time, reason: o.skipped });
          }
          break;
        case 'rejected':
          liveRejections.push({ orderId: rec.orderId, reason: rec.reason, code: rec.code });
          break;
        case 'order-result':
          if (!rec.ok) liveRejections.push({ orderId: rec.orderId, reason: rec.retMsg ?? 'failed', code: rec.retCode });
          break;
        case 'guard':
          liveGuards.push({ at: rec.at, reason: rec.reason });
          break;
        case 'position':
          lastPosition = { side: rec.position.side, openedAt: rec.position.openedAt };
          break;
      }
    } catch (err) {
      throw new DataError(`a malformed ${rec.t} record: ${(err as Error).message}`, { file, line });
    }
  }
  const liveOpenAtEnd =
    lastPosition && lastPosition.side !== 'flat'
      ? { side: lastPosition.side, entryTime: lastPosition.openedAt !== undefined ? Math.floor(lastPosition.openedAt / stepMs) * stepMs : undefined }
      : undefined;
  return { live, liveOrders, liveRejections, liveGuards, liveSkips, liveOpenAtEnd };
}

/**
 * What a paper restart replays (lib/engine/live.ts `replay`): the journal's candles, warm-up ones first,
 * deduplicated and sorted, deciding from the first live one; undefined when no candle was live yet.
 */
export function journalReplay(file: string, recs: readonly JournalRecord[]): { candles: Candle[]; decideFrom: number } | undefined {
  if (!recs.some((r) => r.t === 'candle' && r.live)) return undefined;
  const fed = journalCandles(file, recs.map((rec, i) => ({ rec, line: i + 1 })));
  return { candles: fed.candles, decideFrom: fed.liveTimes[0]! };
}
