/**
 * Run metrics: one pure function from a `RunRecord` to a plain, JSON-able object.
 *
 * Conventions (the report, summary.json and `--json` all use these):
 * - Money sums (net/gross PnL, fees, funding, gross profit/loss, best/worst trade, the target-first
 *   counterfactual) are added up with Decimal; each has a `number` field and an exact decimal string in
 *   `...Exact` (plain notation, never an exponent). Ratios and averages are plain, unrounded numbers:
 *   rounding is the printer's job.
 * - `trades` counts trade rows: a position closed in parts (partial targets, partial exits) is one row
 *   per part, all sharing its `positionId`; `positions` counts positions and `parts` rows. Wins,
 *   losses and the per-trade figures are per row. `makerFeeShare` is the maker fees (entries and exits
 *   that rested as limits) over all fees.
 * - A trade is a win when its net PnL (after fees and funding) is > 0. A break-even trade (net PnL
 *   exactly 0) counts as a LOSS, so `wins + losses === trades` and the win rate is wins / trades, the
 *   seed's "Win Rate: 60.00% (3/5)".
 * - `avgLoss` and `grossLoss` are positive magnitudes; `expectancy = winRate·avgWin − lossRate·avgLoss`
 *   (rates as fractions), which equals the average net PnL per trade.
 * - `profitFactor` = gross profit / gross loss, both from per-trade net PnL. It is `null` when there is
 *   no losing money (gross loss 0: no losing trade, or only break-even ones; mathematically ∞ when the
 *   gross profit is > 0, use `grossProfit`/`grossLoss` to tell) and when there are no trades.
 * - Drawdown comes from the per-candle mark-to-market equity, with `initialBalance` as the starting peak
 *   (a loss on the very first candle is a drawdown). `maxDrawdown` is the deepest peak-to-trough fall in
 *   quote currency, `maxDrawdownPct` that same fall as a % of the peak it fell from.
 *   `largestDrawdownPct` is the deepest fall in % terms, which can be a different episode when equity has
 *   grown.
 * - Sharpe and Sortino come from DAILY returns: the equity at the last candle of each UTC day that has
 *   candles (days without candles are skipped), r_d = e_d / e_{d−1} − 1 with e_0 = initialBalance.
 *   Sharpe = mean / sample std (n − 1) × √365, null with fewer than 2 days or a zero std. Sortino =
 *   mean / √(mean over all days of min(r, 0)²) × √365, null when no day lost money. Both assume
 *   candles of a day or less (with weekly candles a "day" is one candle).
 * - `sampleTooSmall` flags Sharpe and Sortino computed from too little to mean anything: fewer than
 *   MIN_RATIO_DAYS (30) daily returns, or fewer than MIN_RATIO_TRADES (10) closed trades (a few trades
 *   decide every non-flat day). The values are kept as computed; the console report and report.html
 *   print "n/a" with the reason instead (see ratioSampleTooSmall).
 * - Trade duration is measured on the candle grid: the entry fills in a candle (entryTime is its open
 *   time) and the position is held until the exit. Exits that happen inside a candle (stop loss, take
 *   profit, liquidation, end of data at the last close) hold that candle too, so the duration is
 *   exitTime − entryTime + intervalMs; exits at a candle's open (signal, manual) last exitTime − entryTime.
 *   `avgBarsHeld` is the plain candle count exit − entry (the reference implementation's bars_held).
 * - Streaks follow the order of `run.trades` (closing order).
 * - Every value that cannot be computed (no trades, no candles, division by zero) is `null`, never NaN
 *   or Infinity, so JSON.stringify keeps it.
 */
import { D, DAY_MS, dec, exactOf, scaledToDec, ZERO, type Dec, type ExitReason, type RunRecord, type Trade } from '../core/index.ts';

/** Exit reasons that always appear in `Metrics.exits` (0 when unused). */
export const EXIT_REASONS: readonly ExitReason[] = ['signal', 'stop_loss', 'take_profit', 'end_of_data', 'manual', 'liquidation'];

/** Exits that happen inside a candle: the exit candle counts towards the trade's duration. */
const INTRA_CANDLE_EXITS: ReadonlySet<string> = new Set(['stop_loss', 'take_profit', 'trailing_stop', 'liquidation', 'end_of_data']);

export interface Metrics {
  readonly initialBalance: number;
  /** Trade rows: a position closed in parts counts once per part (the same as `parts`). */
  readonly trades: number;
  /** Positions opened and closed (rows sharing a positionId count once). */
  readonly positions: number;
  /** Trade rows (parts); equal to `positions` when no position was closed in parts. */
  readonly parts: number;
  readonly wins: number;
  /** Trades with net PnL <= 0 (break-even counts as a loss). */
  readonly losses: number;
  /** wins / trades × 100; null without trades. */
  readonly winRate: number | null;
  readonly longs: number;
  readonly shorts: number;

  readonly netPnl: number;
  readonly netPnlExact: string;
  readonly grossPnl: number;
  readonly grossPnlExact: string;
  readonly fees: number;
  readonly feesExact: string;
  /** Fees paid as maker (limit entries and exits that rested), and their share of all fees (0..1; null without fees). */
  readonly makerFees: number;
  readonly makerFeesExact: string;
  readonly makerFeeShare: number | null;
  /** Funding paid (positive) or received (negative). */
  readonly funding: number;
  readonly fundingExact: string;
  /** Sum of the net PnL of winning trades. */
  readonly grossProfit: number;
  readonly grossProfitExact: string;
  /** Sum of |net PnL| of losing trades (a positive magnitude). */
  readonly grossLoss: number;
  readonly grossLossExact: string;

  /** Net PnL per trade. */
  readonly avgPnl: number | null;
  /** Average net PnL of winning trades. */
  readonly avgWin: number | null;
  /** Average |net PnL| of losing trades (positive magnitude). */
  readonly avgLoss: number | null;
  /** grossProfit / grossLoss; null when grossLoss is 0 (∞ or 0/0) or there are no trades. */
  readonly profitFactor: number | null;
  /** winRate·avgWin − lossRate·avgLoss (rates as fractions). */
  readonly expectancy: number | null;
  readonly bestTrade: number | null;
  readonly bestTradeExact: string | null;
  readonly worstTrade: number | null;
  readonly worstTradeExact: string | null;
  readonly longestWinStreak: number;
  readonly longestLossStreak: number;

  /** Quote currency, positive. */
  readonly maxDrawdown: number;
  /** maxDrawdown as % of the equity peak it fell from. */
  readonly maxDrawdownPct: number;
  /** Equity at that peak. */
  readonly maxDrawdownPeak: number;
  /** Time of that peak (candle open time; the first candle's open time when the peak is the initial balance); null without a drawdown. */
  readonly maxDrawdownPeakTime: number | null;
  /** Time of the trough (open time of the candle at whose close it was reached); null without a drawdown. */
  readonly maxDrawdownTroughTime: number | null;
  /** The deepest fall in % of its peak (may be another episode than maxDrawdown). */
  readonly largestDrawdownPct: number;

  /** Daily returns used for sharpe/sortino. */
  readonly tradingDays: number;
  readonly sharpe: number | null;
  readonly sortino: number | null;
  /**
   * True when sharpe and sortino come from fewer than MIN_RATIO_DAYS daily returns or fewer than
   * MIN_RATIO_TRADES trades: too few to mean anything (the values are still the computed ones).
   */
  readonly sampleTooSmall: boolean;

  /** % of candles with a position open. */
  readonly exposurePct: number | null;
  readonly avgTradeDurationMs: number | null;
  /** Mean of (exitTime − entryTime) / intervalMs: candles from the entry candle to the exit candle (the reference's bars_held). */
  readonly avgBarsHeld: number | null;

  /** Net PnL / initialBalance × 100. */
  readonly returnPct: number | null;
  /** Last close / first open − 1, in %. */
  readonly buyAndHoldPct: number | null;

  readonly exits: Readonly<Record<string, number>>;
  /** Exits whose candle touched both stop and target (the simulator assumed the stop). */
  readonly ambiguousExits: number;
  /** The run's net PnL with every ambiguous exit filled at the target instead. */
  readonly netPnlIfTargetFirst: number;
  readonly netPnlIfTargetFirstExact: string;

  readonly candles: number;
  readonly firstCandle: number | null;
  readonly lastCandle: number | null;
  readonly firstCandleIso: string | null;
  readonly lastCandleIso: string | null;
  /** Mark-to-market equity at the last candle's close (initialBalance without candles). */
  readonly finalEquity: number;
  /** initialBalance + the exact net PnL of all closed trades. */
  readonly finalBalanceExact: string;
}

/** Daily returns below which Sharpe and Sortino are flagged as meaningless (`sampleTooSmall`). */
export const MIN_RATIO_DAYS = 30;
/** Closed trades below which Sharpe and Sortino are flagged as meaningless (`sampleTooSmall`). */
export const MIN_RATIO_TRADES = 10;

/**
 * Whether Sharpe and Sortino of these metrics come from too small a sample: fewer than MIN_RATIO_DAYS
 * daily returns or fewer than MIN_RATIO_TRADES trades. Works on summaries written before the flag existed.
 */
export function ratioSampleTooSmall(m: Pick<Metrics, 'tradingDays' | 'trades'>): boolean {
  return !(m.tradingDays >= MIN_RATIO_DAYS) || !(m.trades >= MIN_RATIO_TRADES);
}

/** Decimal → plain decimal string (never exponent notation). */
export function exact(x: Dec): string {
  const s = x.toFixed();
  return s === '-0' ? '0' : s;
}

function num(x: Dec): number {
  const n = x.toNumber();
  return Object.is(n, -0) ? 0 : n;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Duration of one trade in ms on the candle grid (see the module comment). */
export function tradeDurationMs(t: Trade, intervalMs: number): number {
  return t.exitTime - t.entryTime + (INTRA_CANDLE_EXITS.has(t.exitReason) ? intervalMs : 0);
}

/** UTC day start of an epoch-ms time. */
export function utcDayStart(t: number): number {
  return Math.floor(t / DAY_MS) * DAY_MS;
}

/** One UTC day of the equity curve. */
export interface EquityDay {
  /** The day's start (00:00 UTC), epoch ms. */
  readonly dayStart: number;
  /** Index of the day's last candle in the run's arrays. */
  readonly lastIndex: number;
  /** Equity at the close of the day's last candle. */
  readonly equity: number;
  /** equity / previous day's equity − 1 (the first day against initialBalance); null if undefined. */
  readonly dailyReturn: number | null;
  /** The deepest drawdown from the running peak reached during the day (quote, >= 0). */
  readonly drawdown: number;
  /** That drawdown as % of the peak it fell from. */
  readonly drawdownPct: number;
}

/**
 * Samples the per-candle equity once per UTC day (the last candle of each day that has candles) and
 * computes, for each day, the daily return and the deepest drawdown reached during the day.
 */
export function dailyEquity(run: RunRecord): EquityDay[] {
  const out: EquityDay[] = [];
  const n = run.times.length;
  let prev = run.meta.initialBalance;
  let peak = run.meta.initialBalance;
  let i = 0;
  while (i < n) {
    const day = utcDayStart(run.times[i]!);
    const next = day + DAY_MS;
    let dd = 0;
    let ddPct = 0;
    let j = i;
    for (; j < n && run.times[j]! < next; j++) {
      const e = run.equity[j]!;
      if (e > peak) peak = e;
      const d = peak - e;
      if (d > dd) {
        dd = d;
        ddPct = peak > 0 ? (d / peak) * 100 : 0;
      }
    }
    const last = j - 1;
    const e = run.equity[last]!;
    const r = prev > 0 ? e / prev - 1 : NaN;
    out.push({ dayStart: day, lastIndex: last, equity: e, dailyReturn: finiteOrNull(r), drawdown: dd, drawdownPct: ddPct });
    prev = e;
    i = j;
  }
  return out;
}

interface Drawdown {
  maxDrawdown: number;
  maxDrawdownPct: number;
  peak: number;
  peakTime: number | null;
  troughTime: number | null;
  largestPct: number;
}

function drawdown(run: RunRecord): Drawdown {
  const n = run.equity.length;
  let peak = run.meta.initialBalance;
  let peakTime: number | null = n > 0 ? run.times[0]! : null;
  const r: Drawdown = { maxDrawdown: 0, maxDrawdownPct: 0, peak, peakTime: null, troughTime: null, largestPct: 0 };
  for (let i = 0; i < n; i++) {
    const e = run.equity[i]!;
    if (e > peak) {
      peak = e;
      peakTime = run.times[i]!;
      continue;
    }
    const d = peak - e;
    const pct = peak > 0 ? (d / peak) * 100 : 0;
    if (d > r.maxDrawdown) {
      r.maxDrawdown = d;
      r.maxDrawdownPct = pct;
      r.peak = peak;
      r.peakTime = peakTime;
      r.troughTime = run.times[i]!;
    }
    if (pct > r.largestPct) r.largestPct = pct;
  }
  return r;
}

/** The daily returns of dailyEquity (NaN for its nulls), in a typed array: the same days, the same arithmetic. */
function dailyReturns(run: RunRecord): Float64Array {
  const n = run.times.length;
  const out = new Float64Array(n);
  let days = 0;
  let prev = run.meta.initialBalance;
  let i = 0;
  while (i < n) {
    const next = utcDayStart(run.times[i]!) + DAY_MS;
    let j = i;
    while (j < n && run.times[j]! < next) j++;
    const e = run.equity[j - 1]!;
    const r = prev > 0 ? e / prev - 1 : NaN;
    out[days++] = Number.isFinite(r) ? r : NaN;
    prev = e;
    i = j;
  }
  return out.subarray(0, days);
}

function ratios(returns: ArrayLike<number>): { sharpe: number | null; sortino: number | null } {
  // Sums in order from 0, as Array.prototype.reduce adds (the same doubles for an array or a typed array).
  const n = returns.length;
  if (n === 0) return { sharpe: null, sortino: null };
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const r = returns[i]!;
    if (!Number.isFinite(r)) return { sharpe: null, sortino: null };
    sum = sum + r;
  }
  const mean = sum / n;
  let sharpe: number | null = null;
  if (n >= 2) {
    let sq = 0;
    for (let i = 0; i < n; i++) sq = sq + (returns[i]! - mean) ** 2;
    const variance = sq / (n - 1);
    const std = Math.sqrt(variance);
    if (std > 0) sharpe = finiteOrNull((mean / std) * Math.sqrt(365));
  }
  let down = 0;
  for (let i = 0; i < n; i++) down = down + Math.min(returns[i]!, 0) ** 2;
  const downside = Math.sqrt(down / n);
  const sortino = downside > 0 ? finiteOrNull((mean / downside) * Math.sqrt(365)) : null;
  return { sharpe, sortino };
}

function iso(t: number | null): string | null {
  return t === null || !Number.isFinite(t) ? null : new Date(t).toISOString();
}

export function computeMetrics(run: RunRecord): Metrics {
  const trades = run.trades;
  const n = trades.length;
  const initial = run.meta.initialBalance;

  let net = ZERO;
  let gross = ZERO;
  let fees = ZERO;
  let makerFees = ZERO;
  const positionIds = new Set<number>();
  let funding = ZERO;
  let grossProfit = ZERO;
  let grossLoss = ZERO;
  let targetFirst = ZERO;
  let best: Dec | null = null;
  let worst: Dec | null = null;
  let wins = 0;
  let longs = 0;
  let ambiguous = 0;
  let durationSum = 0;
  let barsSum = 0;
  let winStreak = 0;
  let lossStreak = 0;
  let longestWin = 0;
  let longestLoss = 0;
  const exits: Record<string, number> = {};
  for (const r of EXIT_REASONS) exits[r] = 0;

  for (const t of trades) {
    const p = dec(t.netPnl);
    net = net.plus(p);
    gross = gross.plus(t.grossPnl);
    fees = fees.plus(t.fees);
    if (t.entryLiquidity === 'maker') makerFees = makerFees.plus(t.entryFee);
    if (t.exitLiquidity === 'maker') makerFees = makerFees.plus(t.exitFee);
    positionIds.add(t.positionId ?? t.id);
    funding = funding.plus(t.funding);
    if (p.gt(0)) {
      wins++;
      grossProfit = grossProfit.plus(p);
      winStreak++;
      lossStreak = 0;
      if (winStreak > longestWin) longestWin = winStreak;
    } else {
      grossLoss = grossLoss.minus(p);
      lossStreak++;
      winStreak = 0;
      if (lossStreak > longestLoss) longestLoss = lossStreak;
    }
    if (best === null || p.gt(best)) best = p;
    if (worst === null || p.lt(worst)) worst = p;
    if (t.side === 'long') longs++;
    if (t.ambiguous) {
      ambiguous++;
      // Without a counterfactual (should not happen) the trade keeps its own net PnL.
      targetFirst = targetFirst.plus(t.netPnlIfTargetFirst ?? p);
    } else {
      targetFirst = targetFirst.plus(p);
    }
    exits[t.exitReason] = (exits[t.exitReason] ?? 0) + 1;
    durationSum += tradeDurationMs(t, run.intervalMs);
    barsSum += t.exitTime - t.entryTime;
  }

  const losses = n - wins;
  const winFrac = n > 0 ? wins / n : null;
  const avgWin = wins > 0 ? num(grossProfit.div(wins)) : null;
  const avgLoss = losses > 0 ? num(grossLoss.div(losses)) : null;
  const expectancy =
    winFrac === null ? null : winFrac * (avgWin ?? 0) - (1 - winFrac) * (avgLoss ?? 0);

  const candles = run.times.length;
  const first = candles > 0 ? run.times[0]! : null;
  const last = candles > 0 ? run.times[candles - 1]! : null;
  let exposed = 0;
  for (let i = 0; i < run.exposure.length; i++) exposed += run.exposure[i]! ? 1 : 0;

  const dd = drawdown(run);
  const days = dailyEquity(run);
  const returns = days.map((d) => (d.dailyReturn === null ? NaN : d.dailyReturn));
  const { sharpe, sortino } = ratios(returns);

  const lastClose = candles > 0 ? run.closes[candles - 1]! : NaN;
  const buyAndHold = run.firstOpen > 0 ? (lastClose / run.firstOpen - 1) * 100 : NaN;
  const initialDec = new D(initial);

  return {
    initialBalance: initial,
    trades: n,
    positions: positionIds.size,
    parts: n,
    wins,
    losses,
    winRate: winFrac === null ? null : winFrac * 100,
    longs,
    shorts: n - longs,
    netPnl: num(net),
    netPnlExact: exact(net),
    grossPnl: num(gross),
    grossPnlExact: exact(gross),
    fees: num(fees),
    feesExact: exact(fees),
    makerFees: num(makerFees),
    makerFeesExact: exact(makerFees),
    makerFeeShare: fees.isZero() ? null : num(makerFees.div(fees)),
    funding: num(funding),
    fundingExact: exact(funding),
    grossProfit: num(grossProfit),
    grossProfitExact: exact(grossProfit),
    grossLoss: num(grossLoss),
    grossLossExact: exact(grossLoss),
    avgPnl: n > 0 ? num(net.div(n)) : null,
    avgWin,
    avgLoss,
    profitFactor: n > 0 && grossLoss.gt(0) ? num(grossProfit.div(grossLoss)) : null,
    expectancy,
    bestTrade: best === null ? null : num(best),
    bestTradeExact: best === null ? null : exact(best),
    worstTrade: worst === null ? null : num(worst),
    worstTradeExact: worst === null ? null : exact(worst),
    longestWinStreak: longestWin,
    longestLossStreak: longestLoss,
    maxDrawdown: dd.maxDrawdown,
    maxDrawdownPct: dd.maxDrawdownPct,
    maxDrawdownPeak: dd.peak,
    maxDrawdownPeakTime: dd.peakTime,
    maxDrawdownTroughTime: dd.troughTime,
    largestDrawdownPct: dd.largestPct,
    tradingDays: days.length,
    sharpe,
    sortino,
    sampleTooSmall: ratioSampleTooSmall({ tradingDays: days.length, trades: n }),
    exposurePct: candles > 0 ? (exposed / candles) * 100 : null,
    avgTradeDurationMs: n > 0 ? durationSum / n : null,
    avgBarsHeld: n > 0 && run.intervalMs > 0 ? barsSum / run.intervalMs / n : null,
    returnPct: initial > 0 ? num(net.div(initialDec).mul(100)) : null,
    buyAndHoldPct: finiteOrNull(buyAndHold),
    exits,
    ambiguousExits: ambiguous,
    netPnlIfTargetFirst: num(targetFirst),
    netPnlIfTargetFirstExact: exact(targetFirst),
    candles,
    firstCandle: first,
    lastCandle: last,
    firstCandleIso: iso(first),
    lastCandleIso: iso(last),
    finalEquity: candles > 0 ? run.equity[candles - 1]! : initial,
    finalBalanceExact: exact(initialDec.plus(net)),
  };
}

/** The metrics a sweep's row keeps (lib/report/optimize.ts ROW_METRICS), in that order. */
export type SweepRowMetrics = Pick<
  Metrics,
  'trades' | 'wins' | 'losses' | 'winRate' | 'netPnl' | 'netPnlExact' | 'returnPct' | 'profitFactor' | 'expectancy' | 'sharpe' | 'sortino' | 'maxDrawdown' | 'maxDrawdownPct' | 'fees' | 'exposurePct'
>;

/**
 * Only the metrics of a sweep's row, computed by the same steps as computeMetrics (the same Decimal sums
 * in the same order, the same drawdown and daily ratios), so each value is identical to
 * computeMetrics(run)'s: the sweep's hot path skips the sums and strings no row shows (gross PnL, maker
 * fees, funding, best/worst, the target-first counterfactual, exits, ISO times).
 */
export function computeRowMetrics(run: RunRecord): SweepRowMetrics {
  const trades = run.trades;
  const n = trades.length;
  const initial = run.meta.initialBalance;
  let net = ZERO;
  let fees = ZERO;
  let grossProfit = ZERO;
  let grossLoss = ZERO;
  let wins = 0;
  const sums = exactSums(trades);
  if (sums !== undefined) {
    // The same sums from the trades' exact integers (every one exact, in one unit): the same decimals.
    net = scaledToDec(sums.net, sums.k);
    fees = scaledToDec(sums.fees, sums.k);
    grossProfit = scaledToDec(sums.grossProfit, sums.k);
    grossLoss = scaledToDec(sums.grossLoss, sums.k);
    wins = sums.wins;
  } else {
    for (const t of trades) {
      const p = dec(t.netPnl);
      net = net.plus(p);
      fees = fees.plus(t.fees);
      if (p.gt(0)) {
        wins++;
        grossProfit = grossProfit.plus(p);
      } else grossLoss = grossLoss.minus(p);
    }
  }
  const losses = n - wins;
  const winFrac = n > 0 ? wins / n : null;
  const avgWin = wins > 0 ? num(grossProfit.div(wins)) : null;
  const avgLoss = losses > 0 ? num(grossLoss.div(losses)) : null;
  const expectancy = winFrac === null ? null : winFrac * (avgWin ?? 0) - (1 - winFrac) * (avgLoss ?? 0);
  const candles = run.times.length;
  let exposed = 0;
  for (let i = 0; i < run.exposure.length; i++) exposed += run.exposure[i]! ? 1 : 0;
  const dd = drawdown(run);
  // dailyEquity's returns (NaN where it has null), without its per-day objects: the same numbers.
  const { sharpe, sortino } = ratios(dailyReturns(run));
  return {
    trades: n,
    wins,
    losses,
    winRate: winFrac === null ? null : winFrac * 100,
    netPnl: num(net),
    netPnlExact: exact(net),
    returnPct: initial > 0 ? num(net.div(new D(initial)).mul(100)) : null,
    profitFactor: n > 0 && grossLoss.gt(0) ? num(grossProfit.div(grossLoss)) : null,
    expectancy,
    sharpe,
    sortino,
    maxDrawdown: dd.maxDrawdown,
    maxDrawdownPct: dd.maxDrawdownPct,
    fees: num(fees),
    exposurePct: candles > 0 ? (exposed / candles) * 100 : null,
  };
}

/**
 * A row's money sums from the trades' exact scaled integers (lib/core/exact.ts): net PnL, fees, the net of
 * the winners and |net| of the others, and the wins; undefined unless every trade carries them in one
 * unit and every sum stays a safe integer (then the caller adds decimals). Zero sums are +0, as the
 * decimal sums from ZERO are.
 */
function exactSums(trades: readonly Trade[]): { k: number; net: number; fees: number; grossProfit: number; grossLoss: number; wins: number } | undefined {
  let k = -1;
  let net = 0;
  let fees = 0;
  let grossProfit = 0;
  let grossLoss = 0;
  let wins = 0;
  // Every partial sum is exact while the sum of magnitudes is a safe integer.
  let mag = 0;
  for (let i = 0; i < trades.length; i++) {
    const x = exactOf(trades[i]!);
    if (x === undefined || (k >= 0 && x.k !== k)) return undefined;
    k = x.k;
    const p = x.netPnl;
    net += p;
    fees += x.fees;
    mag += Math.abs(p) + Math.abs(x.fees);
    if (p > 0) {
      wins++;
      grossProfit += p;
    } else grossLoss -= p;
  }
  if (k < 0) return undefined;
  if (!(mag <= Number.MAX_SAFE_INTEGER)) return undefined;
  return { k, net: net + 0, fees: fees + 0, grossProfit: grossProfit + 0, grossLoss: grossLoss + 0, wins };
}
