/**
 * `pyr diff <journal>`: replays the candles a live session fed (warm-up ones first, then live ones)
 * through the simulator with the session's strategy, parameters, fill model, guards and instrument rules,
 * trading from the first live candle, and compares the simulated trades with the ones the session closed
 * (lib/report/diff.ts does the matching and the text).
 *
 * A journal with several sessions (restarts append a new `session` record) is replayed as one when every
 * session ran the same settings: all candle records, deduplicated by open time and sorted. Sessions with
 * different settings are refused with the difference named; `--session` picks one of them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, D, DataError, ZERO, intervalMs, parseInterval, seriesFromCandles, type Candle, type InstrumentRules, type Interval, type PositionSide, type Trade } from '../core/index.ts';
import { readCandleFile } from '../data/csv.ts';
import { simBrokerFor } from '../brokers/sim/index.ts';
import { readJournal, runSpec, tradeFromJson, type JournalRecord } from '../engine/index.ts';
import { loadStrategy } from '../strategy/index.ts';
import { useColor } from '../report/console.ts';
import { diffToJson, formatDiff, matchTrades, type DiffEvidence, type DiffResult } from '../report/diff.ts';
import type { CliIo } from './backtest.ts';
import { RUN_PARAMS, resolveRunSpec } from '../config/index.ts';

export interface DiffFlags {
  /** Print the structured result as JSON. */
  json?: boolean;
  /** Strategy name or file instead of the session's `strategyFile`. */
  strategy?: string;
  /** Candle file to fill candles the journal lacks (the simulator then sees what the live session missed). */
  candles?: string;
  /** Diff one session only: its 1-based number or its sessionId. */
  session?: string;
}

const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;

type SessionRecord = Extract<JournalRecord, { t: 'session' }>;

interface Segment {
  readonly session: SessionRecord;
  /** The session's records with their line in the file. */
  readonly records: { readonly rec: JournalRecord; readonly line: number }[];
}

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

function settingsDiff(a: SessionRecord, b: SessionRecord, ignoreFile: boolean): string[] {
  const x = settingsOf(a);
  const y = settingsOf(b);
  const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => !(ignoreFile && k === 'strategyFile'));
  return keys.filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k])).map((k) => `${k} ${JSON.stringify(x[k]) ?? '(unset)'} → ${JSON.stringify(y[k]) ?? '(unset)'}`);
}

function isCandle(c: unknown): c is Candle {
  const k = c as Candle | undefined;
  return !!k && typeof k === 'object' && Number.isFinite(k.openTime) && Number.isFinite(k.open) && Number.isFinite(k.high) && Number.isFinite(k.low) && Number.isFinite(k.close);
}

/**
 * Splits a journal at its `session` records (records before the first session are dropped), keeping
 * each record's line: readJournal skips only blank lines (and a torn last one), so the k-th record is on
 * the k-th non-blank line.
 */
function segmentsOf(file: string, recs: readonly JournalRecord[]): Segment[] {
  const lines: number[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((l, i) => {
      if (l.trim() !== '') lines.push(i + 1);
    });
  const out: Segment[] = [];
  recs.forEach((r, k) => {
    if (r.t === 'session') out.push({ session: r, records: [] });
    else out.at(-1)?.records.push({ rec: r, line: lines[k] ?? k + 1 });
  });
  return out;
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

/** Runs the diff; prints it; returns the structured result. Throws PyrErrors for bad input. */
export async function diff(journalFile: string, flags: DiffFlags, io: CliIo): Promise<DiffResult> {
  const file = path.resolve(io.cwd, journalFile);
  const recs = readJournal(file);
  const all = segmentsOf(file, recs);
  if (all.length === 0) throw new DataError('no session record: not a pyr live journal, or its session never started', { file });

  // Which sessions.
  let segments = all;
  if (flags.session !== undefined) {
    const n = /^\d+$/.test(flags.session) ? Number(flags.session) : NaN;
    const hit = Number.isInteger(n) && n >= 1 && n <= all.length ? all[n - 1] : all.find((s) => s.session.sessionId === flags.session);
    if (!hit) {
      throw new ConfigError(`--session: "${flags.session}" is neither a session number 1..${all.length} nor a session id of ${file} (${all.map((s) => s.session.sessionId).join(', ')})`);
    }
    segments = [hit];
  } else {
    for (let i = 1; i < all.length; i++) {
      const changed = settingsDiff(all[0]!.session, all[i]!.session, flags.strategy !== undefined);
      if (changed.length > 0) {
        throw new ConfigError(
          `${file} holds ${all.length} sessions and session ${i + 1} (${all[i]!.session.sessionId}) ran other settings than session 1: ${changed.join('; ')}. ` +
            `One replay cannot reproduce both: diff them one at a time with --session 1 .. --session ${all.length}`,
        );
      }
    }
  }
  const session = segments[0]!.session;
  const records = segments.flatMap((s) => s.records);

  // Candles: every record, deduplicated by open time (a live record wins over a warm-up one), sorted.
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

  let interval: Interval;
  try {
    interval = parseInterval(String(session.interval));
  } catch {
    throw new DataError(`the session record's interval "${session.interval}" is not a Bybit interval`, { file });
  }
  const step = intervalMs(interval);
  const notes: string[] = [];
  if (all.length > 1 && segments.length > 1) notes.push(`${all.length} sessions with the same settings replayed as one; candles deduplicated by open time`);
  if (segments.length === 1 && all.length > 1) notes.push(`session ${all.indexOf(segments[0]!) + 1} of ${all.length} (${session.sessionId}) only`);
  if (conflicting > 0) notes.push(`${plural(conflicting, 'candle')} recorded twice with different prices: the last live record was used`);

  // Candles the journal lacks, from --candles.
  const candles = journalTimes.map((t) => byTime.get(t)!.candle);
  if (flags.candles) {
    const cf = path.resolve(io.cwd, flags.candles);
    if (!existsSync(cf)) throw new ConfigError(`--candles: file not found: ${cf}`);
    const { series: extra } = await readCandleFile(cf);
    const first = journalTimes[0]!;
    const last = journalTimes.at(-1)!;
    let added = 0;
    for (let i = 0; i < extra.length; i++) {
      const t = extra.openTime[i]!;
      // Only candles of the session's interval, inside the journal's span, that the journal lacks.
      if (t < first || t > last || (t - first) % step !== 0 || byTime.has(t)) continue;
      candles.push({ openTime: t, open: extra.open[i]!, high: extra.high[i]!, low: extra.low[i]!, close: extra.close[i]!, volume: extra.volume[i]!, turnover: extra.turnover[i]! });
      added++;
    }
    candles.sort((a, b) => a.openTime - b.openTime);
    if (added > 0) notes.push(`${plural(added, 'candle')} the journal has no record of taken from ${cf}`);
  }
  const expected = (journalTimes.at(-1)! - journalTimes[0]!) / step + 1;
  const missing = Math.round(expected) - candles.length;
  if (missing > 0 && interval !== 'M') notes.push(`${plural(missing, 'candle')} between the first and the last missing from the replay (no record in the journal${flags.candles ? ' nor in --candles' : '; --candles <file> fills them'})`);

  // Strategy, parameters, rules.
  const strategySpec = flags.strategy ?? session.strategyFile;
  if (!flags.strategy && (typeof strategySpec !== 'string' || !existsSync(strategySpec))) {
    throw new ConfigError(`the session's strategy file ${JSON.stringify(strategySpec)} is not there any more; pass --strategy <name|file>`);
  }
  const { definition, file: strategyFile } = await loadStrategy(strategySpec, io.cwd);
  if (definition.name !== session.strategy) notes.push(`the strategy is "${definition.name}" (${strategyFile}); the session ran "${session.strategy}"`);
  const runIn = session.runParams ?? {};
  const unknownRun = Object.keys(runIn).filter((k) => !(k in RUN_PARAMS));
  if (unknownRun.length) notes.push(`run parameters this pyr does not know were ignored: ${unknownRun.join(', ')}`);
  const resolved = resolveRunSpec({
    definition,
    strategyFile,
    instrument: { exchange: 'bybit', category: session.category, symbol: session.symbol },
    interval,
    layers: [{ where: `${file}: the session's parameters`, values: { ...(session.params ?? {}), ...Object.fromEntries(Object.entries(runIn).filter(([k]) => k in RUN_PARAMS)) } }],
    snapshot: { file: 'the session record', rules: session.rules },
  });
  // The replay trades with the session's own instrument rules, as the session did.
  const r = session.rules;
  let rules: InstrumentRules;
  try {
    rules = {
      symbol: session.symbol,
      category: session.category,
      tickSize: new D(r.tickSize),
      qtyStep: new D(r.qtyStep),
      minQty: new D(r.minQty),
      minNotional: new D(r.minNotional),
      source: `the session record (${r.source})`,
    };
  } catch {
    throw new DataError(`the session record's instrument rules are not decimals: ${JSON.stringify(r)}`, { file });
  }
  const spec = { ...resolved, rules };

  // The replay: every candle the session fed before its first live one warms the strategy up.
  const series = seriesFromCandles(candles, file);
  const from = liveTimes[0]!;
  const warmupCandles = candles.filter((c) => c.openTime < from).length;
  const broker = simBrokerFor(spec);
  const simRejections: { signalTime: number; reason: string }[] = [];
  broker.subscribe((e) => {
    if (e.type === 'rejected' && e.order.purpose === 'entry') simRejections.push({ signalTime: e.order.signalTime, reason: e.reason });
  });
  const simSkips: { time: number; reason: string }[] = [];
  const { record } = runSpec(spec, { series, source: file, funding: { none: 'not charged in a diff' } }, broker, {
    runId: `diff-${session.sessionId}`,
    from,
    to: candles.at(-1)!.openTime + step,
    warmup: warmupCandles,
    onDecision: (d) => {
      for (const o of d.outcomes) if ('skipped' in o) simSkips.push({ time: d.time, reason: o.skipped });
    },
  });
  const sim = record.trades;

  // Evidence from the journal.
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
  const evidence: DiffEvidence = {
    intervalMs: step,
    liveCandles: liveTimes,
    journalCandles: journalTimes,
    tradingFrom: from,
    liveOrders,
    liveRejections,
    liveGuards,
    liveSkips,
    simSkips,
    simRejections,
    liveOpenAtEnd:
      lastPosition && lastPosition.side !== 'flat'
        ? { side: lastPosition.side, entryTime: lastPosition.openedAt !== undefined ? Math.floor(lastPosition.openedAt / step) * step : undefined }
        : undefined,
  };
  notes.push('the simulator charges no funding; live net PnL includes the funding the exchange charged');
  const matched = matchTrades(live, sim, evidence);
  const result: DiffResult = {
    ...matched,
    context: {
      journal: file,
      strategy: definition.name,
      strategyFile,
      symbol: session.symbol,
      interval,
      env: session.env,
      sessions: segments.length,
      warmupCandles,
      liveCandles: liveTimes.length,
      from,
      to: candles.at(-1)!.openTime,
      notes,
    },
  };
  if (flags.json) io.stdout.write(`${JSON.stringify(diffToJson(result), null, 2)}\n`);
  else io.stdout.write(formatDiff(result, { color: useColor(io.stdout, io.env) }));
  return result;
}

export function diffCommand(io: CliIo): Command {
  return new Command('diff')
    .description('Replay a live session\'s candles through the simulator and compare its trades with the live ones')
    .argument('<journal>', 'live session journal (.jsonl) written by `pyr live`')
    .option('--json', 'print the structured result as JSON on stdout and nothing else')
    .option('--strategy <name|file>', "strategy to replay instead of the session's strategy file")
    .option('--candles <file>', 'candle file (.csv/.csv.gz) filling candles the journal has no record of')
    .option('--session <n|id>', 'diff one session of a journal that holds several (1-based number or session id)')
    .action(async (journal: string, opts: DiffFlags) => {
      await diff(journal, opts, io);
    });
}
