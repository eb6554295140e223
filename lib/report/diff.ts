/**
 * `pyr diff`, the pure half: pairs the trades a live session closed with the trades the simulator took on
 * the same candles, measures the differences of the pairs, and explains every trade only one side took
 * from the evidence the live journal holds (and what the simulator said while replaying it).
 *
 * A pair is the same side entered on the same candle. Slippage is signed against the trader: positive
 * means the live fill was worse than the simulated one (a long bought higher or sold lower).
 */
import { D, ZERO, type Dec, type PositionSide, type Trade } from '../core/index.ts';
import { formatUsd } from './console.ts';

/** Why a trade was taken by one side only. */
export type ReasonKind = 'missed-candle' | 'rejected-order' | 'guard' | 'different-fill' | 'already-open' | 'open-at-end' | 'unexplained';

export interface DiffReason {
  readonly kind: ReasonKind;
  /** One sentence for a human. */
  readonly detail: string;
  /** The exchange's retCode of a rejected order, when it gave one. */
  readonly retCode?: number;
  /** The client order id of the rejected live order. */
  readonly orderId?: string;
  /** The candle (open time) the reason is about: a missing candle, or the first missing one of a gap. */
  readonly candle?: number;
  /** The trade on the other side involved (a position still open there). */
  readonly otherTradeId?: number;
}

/**
 * What the journal (and the simulator's own run) says, for explaining unmatched trades. Times are candle
 * open times in epoch ms unless named otherwise.
 */
export interface DiffEvidence {
  readonly intervalMs: number;
  /** Candles the live session fed as live candles (`live: true` records). */
  readonly liveCandles: readonly number[];
  /** Every candle the journal holds a record of (warm-up ones too). Default: `liveCandles`. */
  readonly journalCandles?: readonly number[];
  /** First candle the simulator traded from (the first live candle). Default: the first of `liveCandles`. */
  readonly tradingFrom?: number;
  /** Orders the live session decided: from `order` records and decision outcomes. */
  readonly liveOrders?: readonly { readonly id: string; readonly signalTime: number; readonly purpose: 'entry' | 'exit'; readonly side: PositionSide }[];
  /** Live orders refused: `rejected` records and failed `order-result`s. */
  readonly liveRejections?: readonly { readonly orderId: string; readonly reason: string; readonly code?: number }[];
  /** `guard` records; `at` is the wall-clock time it was written (epoch ms). */
  readonly liveGuards?: readonly { readonly at: number; readonly reason: string }[];
  /** Intents the live engine did not act on (decision outcomes with `skipped`), by signal candle. */
  readonly liveSkips?: readonly { readonly time: number; readonly reason: string }[];
  /** Intents the simulator did not act on, by signal candle. */
  readonly simSkips?: readonly { readonly time: number; readonly reason: string }[];
  /** Entries the simulator's broker refused (sizing), by signal candle. */
  readonly simRejections?: readonly { readonly signalTime: number; readonly reason: string }[];
  /** The live position still open when the journal ends (no closed trade records it). */
  readonly liveOpenAtEnd?: { readonly side: PositionSide; readonly entryTime?: number };
}

export interface MatchedTrade {
  readonly side: PositionSide;
  readonly entryTime: number;
  readonly live: Trade;
  readonly sim: Trade;
  readonly sameExitCandle: boolean;
  readonly sameExitReason: boolean;
  /** Live entry price minus simulated, signed against the trader (quote per unit). */
  readonly entrySlippage: Dec;
  /** `entrySlippage` in basis points of the simulated entry price. */
  readonly entrySlippageBps: number;
  /** Simulated exit price minus live, signed against the trader (quote per unit). */
  readonly exitSlippage: Dec;
  readonly exitSlippageBps: number;
  /** Live qty minus simulated qty. */
  readonly qtyDiff: Dec;
  /** Live fees minus simulated fees. */
  readonly feeDiff: Dec;
  /** Live funding minus simulated funding. */
  readonly fundingDiff: Dec;
  /** Live net PnL minus simulated net PnL. */
  readonly netPnlDiff: Dec;
}

export interface UnmatchedTrade {
  readonly trade: Trade;
  readonly reason: DiffReason;
}

export interface DiffSummary {
  readonly matched: number;
  readonly liveOnly: number;
  readonly simOnly: number;
  readonly liveTrades: number;
  readonly simTrades: number;
  /** Matched pairs whose exit candle or exit reason differ. */
  readonly exitMismatches: number;
  readonly liveNetPnl: Dec;
  readonly simNetPnl: Dec;
  /** Live minus simulated. */
  readonly netPnlDiff: Dec;
  /** Mean over matched trades; null without matched trades. */
  readonly avgEntrySlippageBps: number | null;
  readonly avgExitSlippageBps: number | null;
  readonly liveFees: Dec;
  readonly simFees: Dec;
  /** Live minus simulated, over all trades. */
  readonly feeDiff: Dec;
  /** Live minus simulated, over matched trades only. */
  readonly matchedFeeDiff: Dec;
  /** Count of unmatched trades per reason kind. */
  readonly reasons: Readonly<Partial<Record<ReasonKind, number>>>;
}

/** What was compared, for the header (filled in by the CLI). */
export interface DiffContext {
  readonly journal: string;
  readonly strategy: string;
  readonly strategyFile: string;
  readonly symbol: string;
  readonly interval: string;
  readonly env: string;
  readonly sessions: number;
  readonly warmupCandles: number;
  readonly liveCandles: number;
  readonly from: number;
  readonly to: number;
  readonly notes: readonly string[];
}

export interface DiffResult {
  readonly matched: readonly MatchedTrade[];
  readonly liveOnly: readonly UnmatchedTrade[];
  readonly simOnly: readonly UnmatchedTrade[];
  readonly summary: DiffSummary;
  readonly context?: DiffContext;
}

const OUTSIDE_REASONS = new Set(['position found at start', 'opened outside pyr']);
/** Candles before the signal candle a gap in the live records is looked for (and the entry candle after). */
const GAP_LOOKBACK = 3;

export function utcMinute(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

const bps = (diff: Dec, ref: Dec): number => (ref.isZero() ? 0 : diff.div(ref).mul(10_000).toNumber());

function compare(live: Trade, sim: Trade): MatchedTrade {
  const dir = live.side === 'long' ? 1 : -1;
  const entrySlip = live.entryPrice.sub(sim.entryPrice).mul(dir);
  const exitSlip = sim.exitPrice.sub(live.exitPrice).mul(dir);
  return {
    side: live.side,
    entryTime: live.entryTime,
    live,
    sim,
    sameExitCandle: live.exitTime === sim.exitTime,
    sameExitReason: live.exitReason === sim.exitReason,
    entrySlippage: entrySlip,
    entrySlippageBps: bps(entrySlip, sim.entryPrice),
    exitSlippage: exitSlip,
    exitSlippageBps: bps(exitSlip, sim.exitPrice),
    qtyDiff: live.qty.sub(sim.qty),
    feeDiff: live.fees.sub(sim.fees),
    fundingDiff: live.funding.sub(sim.funding),
    netPnlDiff: live.netPnl.sub(sim.netPnl),
  };
}

/** Candles of [from, to] (by interval) missing from `have`, only at or after `floor`. */
function missingIn(have: ReadonlySet<number>, from: number, to: number, step: number, floor: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += step) if (t >= floor && !have.has(t)) out.push(t);
  return out;
}

function describeTrade(t: Trade): string {
  return `trade #${t.id} (${t.side}, entered ${utcMinute(t.entryTime)}, exited ${utcMinute(t.exitTime)} by ${t.exitReason})`;
}

/**
 * Pairs live and simulated trades (same side, same entry candle; several on one key pair in order) and
 * explains the rest from `evidence`.
 */
export function matchTrades(live: readonly Trade[], sim: readonly Trade[], evidence: DiffEvidence): DiffResult {
  const step = evidence.intervalMs;
  const liveSet = new Set(evidence.liveCandles);
  const journalSet = new Set(evidence.journalCandles ?? evidence.liveCandles);
  // (A reduce, not Math.min(...xs): a long session holds more candles than a call takes arguments.)
  const tradingFrom = evidence.tradingFrom ?? (evidence.liveCandles.length ? evidence.liveCandles.reduce((a, b) => Math.min(a, b), Infinity) : -Infinity);
  const lastLive = evidence.liveCandles.reduce((a, b) => Math.max(a, b), -Infinity);

  const key = (t: Trade) => `${t.side}:${t.entryTime}`;
  const simByKey = new Map<string, Trade[]>();
  for (const t of sim) {
    const k = key(t);
    const list = simByKey.get(k);
    if (list) list.push(t);
    else simByKey.set(k, [t]);
  }
  const matched: MatchedTrade[] = [];
  const liveLeft: Trade[] = [];
  const pairedSim = new Set<Trade>();
  for (const t of [...live].sort((a, b) => a.entryTime - b.entryTime || a.id - b.id)) {
    const s = simByKey.get(key(t))?.shift();
    if (s) {
      matched.push(compare(t, s));
      pairedSim.add(s);
    } else liveLeft.push(t);
  }
  const simLeft = sim.filter((s) => !pairedSim.has(s));

  const gapReason = (signal: number): DiffReason | undefined => {
    const lo = signal - GAP_LOOKBACK * step;
    const hi = Math.min(signal + step, lastLive);
    const gap = missingIn(liveSet, lo, hi, step, tradingFrom);
    if (gap.length === 0) return undefined;
    const what = gap.length === 1 ? `the candle ${utcMinute(gap[0]!)}` : `${gap.length} candles from ${utcMinute(gap[0]!)}`;
    return {
      kind: 'missed-candle',
      candle: gap[0],
      detail: `a gap in the live candle records around its signal candle ${utcMinute(signal)}: the live session never fed ${what}, and what each side's indicators saw differs after it`,
    };
  };
  const overlapping = (trades: readonly Trade[], t: number, exclude?: Trade): Trade | undefined =>
    trades.find((o) => o !== exclude && o.entryTime <= t && o.exitTime >= t);

  const simOnly: UnmatchedTrade[] = simLeft.map((s) => ({ trade: s, reason: explainSimOnly(s) }));
  function explainSimOnly(s: Trade): DiffReason {
    const T = s.signalTime;
    if (!liveSet.has(T)) {
      const why = journalSet.has(T)
        ? 'it was only fed as a warm-up candle after a restart: pyr was not running when it closed'
        : 'the journal has no record of it; the simulator had it from the candle file';
      return { kind: 'missed-candle', candle: T, detail: `the live session never decided on the candle ${utcMinute(T)} that decided this entry (${why})` };
    }
    const orders = (evidence.liveOrders ?? []).filter((o) => o.signalTime === T && o.purpose === 'entry');
    for (const o of orders) {
      const r = (evidence.liveRejections ?? []).find((x) => x.orderId === o.id);
      if (r) {
        return {
          kind: 'rejected-order',
          orderId: o.id,
          retCode: r.code,
          detail: `the live ${o.side} order ${o.id} decided on ${utcMinute(T)} was rejected: ${r.reason}`,
        };
      }
    }
    const skips = (evidence.liveSkips ?? []).filter((k) => k.time === T);
    const guardSkip = skips.find((k) => k.reason.startsWith('guard'));
    if (guardSkip) return { kind: 'guard', detail: `the live engine's ${guardSkip.reason}` };
    const day = Math.floor(T / 86_400_000);
    const guard = (evidence.liveGuards ?? []).filter((g) => Math.floor(g.at / 86_400_000) === day && g.at <= T + 2 * step).at(-1);
    if (guard && orders.length === 0) return { kind: 'guard', detail: `the live session's ${guard.reason} (said at ${utcMinute(guard.at)})` };
    const open = evidence.liveOpenAtEnd;
    if (open && open.side === s.side && (s.exitReason === 'end_of_data' || open.entryTime === s.entryTime)) {
      return { kind: 'open-at-end', detail: `the live ${open.side} position${open.entryTime !== undefined ? ` entered ${utcMinute(open.entryTime)}` : ''} was still open when the journal ends: no closed trade to compare` };
    }
    const sameSignal = liveLeft.find((l) => l.side === s.side && l.signalTime === T);
    if (sameSignal) {
      return { kind: 'different-fill', otherTradeId: sameSignal.id, detail: `the live entry decided on the same candle filled on ${utcMinute(sameSignal.entryTime)} (live trade #${sameSignal.id}), the simulator's on ${utcMinute(s.entryTime)}` };
    }
    const gap = gapReason(T);
    if (gap) return gap;
    const busy = overlapping(live, T);
    if (busy) {
      const twin = matched.find((m) => m.live === busy)?.sim;
      const how = twin ? `; the simulator's twin exited ${utcMinute(twin.exitTime)} by ${twin.exitReason}` : '';
      return { kind: 'different-fill', otherTradeId: busy.id, detail: `the live position of ${describeTrade(busy)} was still open or closing on this signal${how}` };
    }
    const other = skips[0];
    if (other) return { kind: 'different-fill', detail: `the live engine did not act on it: ${other.reason}` };
    if (orders.length > 0) {
      return { kind: 'unexplained', orderId: orders[0]!.id, detail: `the live order ${orders[0]!.id} decided on ${utcMinute(T)} was sent, but no rejection and no closed trade for it is in the journal` };
    }
    return { kind: 'unexplained', detail: `the live session fed the candle ${utcMinute(T)} but the journal records no decision, order, rejection or guard for it` };
  }

  const liveOnly: UnmatchedTrade[] = liveLeft.map((l) => ({ trade: l, reason: explainLiveOnly(l) }));
  function explainLiveOnly(l: Trade): DiffReason {
    const T = l.signalTime;
    if (OUTSIDE_REASONS.has(l.entryReason)) {
      return {
        kind: 'already-open',
        detail: l.entryReason === 'opened outside pyr' ? 'the position was opened outside pyr (no order of the session entered it)' : 'the position was already open when the session started',
      };
    }
    if (l.entryTime < tradingFrom) return { kind: 'already-open', detail: `entered ${utcMinute(l.entryTime)}, before the first live candle ${utcMinute(tradingFrom)}` };
    if (!journalSet.has(T)) {
      return { kind: 'missed-candle', candle: T, detail: `the journal has no candle record for ${utcMinute(T)}, the candle whose close decided this entry: the simulator could not see it` };
    }
    const skips = (evidence.simSkips ?? []).filter((k) => k.time === T);
    const guardSkip = skips.find((k) => k.reason.startsWith('guard'));
    if (guardSkip) return { kind: 'guard', detail: `the simulator's ${guardSkip.reason}` };
    const refused = (evidence.simRejections ?? []).find((r) => r.signalTime === T);
    if (refused) return { kind: 'different-fill', detail: `the live entry filled but the simulator's sizing refused it: ${refused.reason}` };
    const sameSignal = simLeft.find((s) => s.side === l.side && s.signalTime === T);
    if (sameSignal) {
      return { kind: 'different-fill', otherTradeId: sameSignal.id, detail: `the simulated entry decided on the same candle filled on ${utcMinute(sameSignal.entryTime)} (simulated trade #${sameSignal.id}), the live one on ${utcMinute(l.entryTime)}` };
    }
    const gap = gapReason(T);
    if (gap) return gap;
    const busy = overlapping(sim, T);
    if (busy) {
      const twin = matched.find((m) => m.sim === busy)?.live;
      const how = twin ? `; its live twin exited ${utcMinute(twin.exitTime)} by ${twin.exitReason}` : '';
      return { kind: 'different-fill', otherTradeId: busy.id, detail: `the simulated position of ${describeTrade(busy)} was still open or closing on this signal${how}` };
    }
    const other = skips[0];
    if (other) return { kind: 'different-fill', detail: `the simulator did not act on it: ${other.reason}` };
    return { kind: 'unexplained', detail: `the simulator saw the candle ${utcMinute(T)} and decided nothing there` };
  }

  const sum = (xs: readonly Trade[], f: (t: Trade) => Dec) => xs.reduce((a, t) => a.add(f(t)), ZERO);
  const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const liveNet = sum(live, (t) => t.netPnl);
  const simNet = sum(sim, (t) => t.netPnl);
  const liveFees = sum(live, (t) => t.fees);
  const simFees = sum(sim, (t) => t.fees);
  const reasons: Partial<Record<ReasonKind, number>> = {};
  for (const u of [...liveOnly, ...simOnly]) reasons[u.reason.kind] = (reasons[u.reason.kind] ?? 0) + 1;
  const byEntry = (a: UnmatchedTrade, b: UnmatchedTrade) => a.trade.entryTime - b.trade.entryTime;
  matched.sort((a, b) => a.entryTime - b.entryTime);
  return {
    matched,
    liveOnly: liveOnly.sort(byEntry),
    simOnly: simOnly.sort(byEntry),
    summary: {
      matched: matched.length,
      liveOnly: liveOnly.length,
      simOnly: simOnly.length,
      liveTrades: live.length,
      simTrades: sim.length,
      exitMismatches: matched.filter((m) => !m.sameExitCandle || !m.sameExitReason).length,
      liveNetPnl: liveNet,
      simNetPnl: simNet,
      netPnlDiff: liveNet.sub(simNet),
      avgEntrySlippageBps: mean(matched.map((m) => m.entrySlippageBps)),
      avgExitSlippageBps: mean(matched.map((m) => m.exitSlippageBps)),
      liveFees,
      simFees,
      feeDiff: liveFees.sub(simFees),
      matchedFeeDiff: matched.reduce((a, m) => a.add(m.feeDiff), ZERO),
      reasons,
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Output

/** The result as plain JSON data: decimals as exact strings, times as epoch ms. */
export function diffToJson(result: DiffResult): unknown {
  // The holder's own value: a Decimal's toJSON has already run on `v` (and may use exponent notation).
  return JSON.parse(
    JSON.stringify(result, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k];
      return raw instanceof D ? raw.toFixed() : v;
    }),
  );
}

const REASON_LABEL: Record<ReasonKind, string> = {
  'missed-candle': 'missed candle',
  'rejected-order': 'rejected order',
  guard: 'guard',
  'different-fill': 'different fill',
  'already-open': 'position already open',
  'open-at-end': 'still open at the end',
  unexplained: 'unexplained',
};

export function reasonLabel(kind: ReasonKind): string {
  return REASON_LABEL[kind];
}

const ESC = /\x1b\[[0-9;]*m/g;
const visible = (s: string) => s.replace(ESC, '').length;
const padR = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - visible(s)));
const padL = (s: string, n: number) => ' '.repeat(Math.max(0, n - visible(s))) + s;

function table(header: readonly string[], rows: readonly string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: readonly string[]) => `  ${cells.map((c, i) => (rightAligned.has(i) ? padL(c, widths[i]!) : padR(c, widths[i]!))).join('  ').trimEnd()}`;
  return [line(header), ...rows.map(line)];
}

/** Signed money with 4 decimals from the exact value; never "-0.0000". */
function signed(d: Dec, digits = 4): string {
  const s = d.toFixed(digits);
  if (/^-0\.?0*$/.test(s)) return s.slice(1);
  return d.gt(0) ? `+${s}` : s;
}

function usd(d: Dec): string {
  return formatUsd(d.toFixed());
}

const bpsText = (n: number | null) => (n === null ? 'n/a' : `${n > 0 ? '+' : ''}${(Math.abs(n) < 0.005 ? 0 : n).toFixed(2)}`);

/** The diff as text: header, matched trades, one-sided trades with reasons, summary. */
export function formatDiff(result: DiffResult, opts: { color: boolean }): string {
  const c = opts.color;
  const paint = (code: number) => (s: string) => (c ? `\x1b[${code}m${s}\x1b[0m` : s);
  const bold = paint(1);
  const dim = paint(2);
  const red = paint(31);
  const green = paint(32);
  const yellow = paint(33);
  // Against the trader (positive) is bad: red; in the trader's favour: green.
  const cost = (text: string, d: Dec) => (d.gt(0) ? red(text) : d.lt(0) ? green(text) : text);
  const pnl = (text: string, d: Dec) => (d.lt(0) ? red(text) : d.gt(0) ? green(text) : text);
  const out: string[] = [];
  const ctx = result.context;
  if (ctx) {
    out.push(bold(`pyr diff: ${ctx.strategy} on ${ctx.symbol} ${ctx.interval} (${ctx.env}), live vs simulated`));
    out.push(`Journal:  ${ctx.journal} (${ctx.sessions} session${ctx.sessions === 1 ? '' : 's'})`);
    out.push(`Strategy: ${ctx.strategyFile}`);
    out.push(`Candles:  ${ctx.warmupCandles} warm-up + ${ctx.liveCandles} live, trading ${utcMinute(ctx.from)} to ${utcMinute(ctx.to)} UTC`);
    for (const n of ctx.notes) out.push(yellow(`Note: ${n}`));
    out.push('');
  }

  const s = result.summary;
  out.push(bold(`Matched trades (${s.matched})`));
  if (result.matched.length === 0) out.push(dim('  none'));
  else {
    const rows = result.matched.map((m) => {
      const exitCandle = m.sameExitCandle ? utcMinute(m.live.exitTime) : yellow(`${utcMinute(m.live.exitTime)} / ${utcMinute(m.sim.exitTime)}`);
      const exitReason = m.sameExitReason ? m.live.exitReason : yellow(`${m.live.exitReason} / ${m.sim.exitReason}`);
      return [
        `${m.live.id}/${m.sim.id}`,
        m.side,
        utcMinute(m.entryTime),
        m.live.entryPrice.toFixed(),
        m.sim.entryPrice.toFixed(),
        cost(signed(m.entrySlippage), m.entrySlippage),
        cost(bpsText(m.entrySlippageBps), m.entrySlippage),
        exitCandle,
        exitReason,
        m.live.exitPrice.toFixed(),
        m.sim.exitPrice.toFixed(),
        cost(signed(m.exitSlippage), m.exitSlippage),
        cost(bpsText(m.exitSlippageBps), m.exitSlippage),
        cost(signed(m.feeDiff), m.feeDiff),
        pnl(signed(m.netPnlDiff), m.netPnlDiff),
      ];
    });
    out.push(
      ...table(
        ['live/sim', 'side', 'entry candle', 'live entry', 'sim entry', 'slip', 'bps', 'exit candle (live / sim)', 'exit (live / sim)', 'live exit', 'sim exit', 'slip', 'bps', 'fee diff', 'net diff'],
        rows,
        new Set([3, 4, 5, 6, 9, 10, 11, 12, 13, 14]),
      ),
    );
    out.push(dim('  slip: quote per unit, signed against the trader (+ = live worse); diffs are live minus simulated, in USDT'));
  }

  const oneSided = (title: string, list: readonly UnmatchedTrade[]) => {
    out.push('');
    out.push(bold(`${title} (${list.length})`));
    if (list.length === 0) {
      out.push(dim('  none'));
      return;
    }
    for (const u of list) {
      const t = u.trade;
      out.push(`  #${t.id} ${t.side} ${utcMinute(t.entryTime)} → ${utcMinute(t.exitTime)} ${t.exitReason}, net ${pnl(signed(t.netPnl), t.netPnl)}`);
      const label = REASON_LABEL[u.reason.kind];
      out.push(`      ${u.reason.kind === 'unexplained' ? red(label) : yellow(label)}${u.reason.retCode !== undefined ? ` (retCode ${u.reason.retCode})` : ''}: ${u.reason.detail}`);
    }
  };
  oneSided('Live only', result.liveOnly);
  oneSided('Simulated only', result.simOnly);

  out.push('');
  out.push(bold('Summary'));
  out.push(`  Trades: ${s.matched} matched, ${s.liveOnly} live only, ${s.simOnly} simulated only (live ${s.liveTrades}, simulated ${s.simTrades})`);
  if (s.exitMismatches > 0) out.push(`  Matched trades with another exit candle or reason: ${yellow(String(s.exitMismatches))}`);
  const reasons = (Object.entries(s.reasons) as [ReasonKind, number][]).map(([k, n]) => `${n} ${REASON_LABEL[k]}`);
  if (reasons.length) out.push(`  One-sided trades: ${reasons.join(', ')}`);
  out.push(`  Net PnL: live ${usd(s.liveNetPnl)}, simulated ${usd(s.simNetPnl)}, difference ${pnl(signed(s.netPnlDiff), s.netPnlDiff)} USDT`);
  out.push(`  Average slippage against the trader: entry ${bpsText(s.avgEntrySlippageBps)} bps, exit ${bpsText(s.avgExitSlippageBps)} bps`);
  out.push(`  Fees: live ${usd(s.liveFees)}, simulated ${usd(s.simFees)}, difference ${cost(signed(s.feeDiff), s.feeDiff)} USDT (matched trades ${signed(s.matchedFeeDiff)})`);
  return `${out.join('\n')}\n`;
}
