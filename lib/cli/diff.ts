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
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, D, DataError, intervalMs, parseInterval, seriesFromCandles, type InstrumentRules, type Interval } from '../core/index.ts';
import { readCandleFile } from '../data/csv.ts';
import { simBrokerFor } from '../brokers/sim/index.ts';
import { journalCandles, journalEvidence, pickSessions, readJournalSessions, runSpec } from '../engine/index.ts';
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

/** Runs the diff; prints it; returns the structured result. Throws PyrErrors for bad input. */
export async function diff(journalFile: string, flags: DiffFlags, io: CliIo): Promise<DiffResult> {
  const file = path.resolve(io.cwd, journalFile);
  const all = readJournalSessions(file);
  const { segments, notes } = pickSessions(file, all, { session: flags.session, ignoreStrategyFile: flags.strategy !== undefined });
  const session = segments[0]!.session;
  const records = segments.flatMap((s) => s.records);
  const fed = journalCandles(file, records);
  const { journalTimes, liveTimes } = fed;
  notes.push(...fed.notes);

  let interval: Interval;
  try {
    interval = parseInterval(String(session.interval));
  } catch {
    throw new DataError(`the session record's interval "${session.interval}" is not a Bybit interval`, { file });
  }
  const step = intervalMs(interval);

  // Candles the journal lacks, from --candles.
  const candles = fed.candles;
  const byTime = new Set(journalTimes);
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
    // The live session refused a strategy's invalid output and went on: the replay does the same.
    onInvalidIntent: () => undefined,
  });
  const sim = record.trades;

  // Evidence from the journal.
  const { live, liveOpenAtEnd, ...seen } = journalEvidence(file, records, step);
  const evidence: DiffEvidence = { intervalMs: step, liveCandles: liveTimes, journalCandles: journalTimes, tradingFrom: from, ...seen, simSkips, simRejections, liveOpenAtEnd };
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
