/**
 * Console output shared by backtest and live: the end-of-run report, the seed's trade statistics line,
 * a levelled logger ([INFO]/[SUCCESS]/[WARNING]/[ERROR], coloured like the seed's color_codex) and a
 * progress bar. Colours only on a TTY and never when NO_COLOR is set (https://no-color.org).
 */
import { D, intervalLabel, ZERO, type RunRecord, type Trade } from '../core/index.ts';
import { exact, MIN_RATIO_DAYS, MIN_RATIO_TRADES, ratioSampleTooSmall, type Metrics } from './metrics.ts';

/** What the console helpers write to: process.stdout/stderr, or a test double. */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** True when `stream` is a terminal, NO_COLOR is unset or empty, and TERM is not "dumb". */
export function useColor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const CODES = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
export type ColorName = keyof typeof CODES;

/** Wraps `text` in an ANSI colour when `enabled`, else returns it untouched. */
export function colorize(text: string, color: ColorName, enabled: boolean): string {
  return enabled ? `\x1b[${CODES[color]}m${text}\x1b[0m` : text;
}

export type Palette = Record<ColorName, (text: string) => string>;

/** One function per colour, each a no-op when `enabled` is false. */
export function palette(enabled: boolean): Palette {
  const p = {} as Record<ColorName, (text: string) => string>;
  for (const name of Object.keys(CODES) as ColorName[]) p[name] = (text) => colorize(text, name, enabled);
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Warnings

/**
 * pyr's one warning style, for every command: `warning: <message>`, the whole line yellow when `color`
 * (pass useColor(stream, env): a TTY, NO_COLOR unset). Warnings go to stderr; a report that lists its
 * findings on stdout (`pyr data check`) writes them the same way.
 */
export function formatWarning(message: string, color: boolean): string {
  return colorize(`warning: ${message}`, 'yellow', color);
}

/** Writes formatWarning(message) and a newline to `stream` (normally stderr), coloured when useColor(stream, env). */
export function writeWarning(stream: OutStream, message: string, env: NodeJS.ProcessEnv = process.env): void {
  stream.write(`${formatWarning(message, useColor(stream, env))}\n`);
}

// ---------------------------------------------------------------------------------------------------
// Number formatting

/** `$5.23`, `-$1.23`: the sign before the currency symbol (no `$-` form). */
function signedDollars(digits: string): string {
  return digits.startsWith('-') ? `-$${digits.slice(1)}` : `$${digits}`;
}

/** Money: `$5.23`, `-$1.23` (2 decimals, half up, from the exact value; never `-$0.00`). */
export function formatUsd(value: string | number): string {
  const s = new D(value).toFixed(2);
  return signedDollars(s === '-0.00' ? '0.00' : s);
}

/** Money for the report: 2 decimals, or 3 significant digits for tiny non-zero amounts (fees on dust). */
function money(value: string | number | null): string {
  if (value === null) return 'n/a';
  const d = new D(value);
  if (!d.isZero() && d.abs().lt(0.01)) return signedDollars(d.toSignificantDigits(3).toFixed());
  return formatUsd(value);
}

function pct(value: number | null, digits = 2): string {
  return value === null ? 'n/a' : `${value.toFixed(digits)}%`;
}

function fixed(value: number | null, digits = 2): string {
  return value === null ? 'n/a' : value.toFixed(digits);
}

function int(value: number): string {
  return value.toLocaleString('en-US');
}

/** "2d 3h 4m", "45m 10s", "12s". */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return 'n/a';
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s || parts.length === 0) parts.push(`${s}s`);
  return parts.slice(0, 3).join(' ');
}

function formatParams(params: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? parts.join(', ') : '(defaults)';
}

// ---------------------------------------------------------------------------------------------------
// The seed's line and the report

/** `Overall Trade Statistics: Total PnL: $5.23, Win Rate: 60.00% (3/5)`: the seed's line, verbatim. */
export function formatTradeStatsLine(metrics: Pick<Metrics, 'netPnlExact' | 'wins' | 'trades'>): string {
  const rate = metrics.trades > 0 ? (metrics.wins / metrics.trades) * 100 : 0;
  return `Overall Trade Statistics: Total PnL: ${formatUsd(metrics.netPnlExact)}, Win Rate: ${rate.toFixed(2)}% (${metrics.wins}/${metrics.trades})`;
}

/**
 * What the seed's line needs, straight from a list of closed trades (live mode logs the line after each
 * close without building a RunRecord). Same win rule as computeMetrics: net PnL > 0.
 */
export function tradeStats(trades: readonly Trade[]): Pick<Metrics, 'netPnlExact' | 'wins' | 'trades'> {
  let net = ZERO;
  let wins = 0;
  for (const t of trades) {
    net = net.plus(t.netPnl);
    if (t.netPnl.gt(0)) wins++;
  }
  return { netPnlExact: exact(net), wins, trades: trades.length };
}

/** The sentence about exits whose candle touched both stop and target; '' when there were none. */
export function formatAmbiguousLine(metrics: Pick<Metrics, 'ambiguousExits' | 'netPnlIfTargetFirstExact'>): string {
  const n = metrics.ambiguousExits;
  if (n === 0) return '';
  return `${n} ${n === 1 ? 'exit' : 'exits'} touched both stop and target; the stop was assumed first. Net PnL had the target come first: ${formatUsd(metrics.netPnlIfTargetFirstExact)}`;
}

/**
 * Why Sharpe and Sortino mean nothing here, e.g. "7 days and 3 trades: too few to mean anything; needs
 * 30+ daily returns and 10+ trades"; null when the sample is large enough (see ratioSampleTooSmall).
 */
export function smallSampleText(m: Pick<Metrics, 'tradingDays' | 'trades'>): string | null {
  if (!ratioSampleTooSmall(m)) return null;
  const fewDays = !(m.tradingDays >= MIN_RATIO_DAYS);
  const fewTrades = !(m.trades >= MIN_RATIO_TRADES);
  const days = `${int(m.tradingDays)} ${m.tradingDays === 1 ? 'day' : 'days'}`;
  const trades = `${int(m.trades)} ${m.trades === 1 ? 'trade' : 'trades'}`;
  const what = fewDays && fewTrades ? `${days} and ${trades}` : fewDays ? days : trades;
  const needs = [fewDays ? `${MIN_RATIO_DAYS}+ daily returns` : '', fewTrades ? `${MIN_RATIO_TRADES}+ trades` : ''].filter(Boolean).join(' and ');
  return `${what}: too few to mean anything; needs ${needs}`;
}

/** The report's Sharpe / Sortino cell: the figures, or "n/a (why)" when the sample is too small. */
function ratiosText(m: Metrics): string {
  const small = smallSampleText(m);
  if (small) return `n/a (${small})`;
  return `${fixed(m.sharpe)} / ${fixed(m.sortino)} (daily returns over ${int(m.tradingDays)} ${m.tradingDays === 1 ? 'day' : 'days'}, ×√365)`;
}

function profitFactorText(m: Metrics): string {
  if (m.profitFactor !== null) return m.profitFactor.toFixed(2);
  if (m.trades > 0 && m.grossLoss === 0 && m.grossProfit > 0) return '∞ (no losing trade)';
  return 'n/a';
}

function day(t: number | null): string {
  return t === null ? '?' : new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

/** The detail alone when it already says whether funding was charged, else "charged: detail". */
function fundingText(f: { readonly charged: boolean; readonly detail: string }): string {
  const state = f.charged ? 'charged' : 'not charged';
  if (!f.detail) return state;
  return /\bcharged\b/i.test(f.detail) ? f.detail : `${state}: ${f.detail}`;
}

/** The end-of-run report: header, metrics table, exits, ambiguous exits, notices, the seed's line. */
export function formatReport(run: RunRecord, metrics: Metrics, opts: { color: boolean }): string {
  const c = palette(opts.color);
  const m = metrics;
  const meta = run.meta;
  const signed = (text: string, v: number | null): string => (v === null || v === 0 ? text : v > 0 ? c.green(text) : c.red(text));

  type Row = readonly [string, string];
  const table = (rows: readonly Row[], w: number): string[] => rows.map(([k, v]) => `  ${c.dim(k.padEnd(w))}  ${v}`);

  const range = meta.from || meta.to ? `${meta.from ?? '…'} → ${meta.to ?? '…'} (UTC days), ` : '';
  const fm = meta.fillModel;
  const headerRows: Row[] = [
    ['Strategy', `${c.bold(meta.strategy)}  ${formatParams(meta.params)}`],
    ['Symbol', `${meta.symbol} (${meta.category}), ${intervalLabel(meta.interval)} candles`],
    ['Range', `${range}${day(m.firstCandle)} → ${day(m.lastCandle)}`],
    ['Candles', `${int(m.candles)} (+${int(meta.warmupCandles)} warm-up) from ${meta.source}`],
    [
      'Rules',
      `tick ${meta.rules.tickSize}, qty step ${meta.rules.qtyStep}, min qty ${meta.rules.minQty}, min notional ${meta.rules.minNotional} (${meta.rules.source})`,
    ],
    [
      'Fill model',
      `taker ${(fm.takerFee * 100).toFixed(4).replace(/\.?0+$/, '')}%, maker ${(fm.makerFee * 100).toFixed(4).replace(/\.?0+$/, '')}%, slippage ${fm.slippageBps} bps, below min qty: ${fm.minQtyPolicy}, limits fill ${fm.limitFill ?? 'through'}, intrabar ${fm.intrabar ?? 'stop-first'}`,
    ],
    ['Funding', fundingText(meta.funding)],
  ];

  const ddPeak = m.maxDrawdown > 0 ? ` of peak ${money(m.maxDrawdownPeak)}` : '';
  const ddLargest = m.largestDrawdownPct > m.maxDrawdownPct + 1e-9 ? `; largest ${pct(m.largestDrawdownPct)}` : '';
  const bodyRows: Row[] = [
    ['Trades', `${int(m.trades)} (${int(m.longs)} long, ${int(m.shorts)} short)`],
    ['Positions / parts', m.positions === undefined ? 'n/a' : `${int(m.positions)} / ${int(m.parts)} (a position closed in parts is one trade row per part)`],
    ['Wins / losses', `${int(m.wins)} / ${int(m.losses)} (break-even counts as a loss)`],
    ['Win rate', pct(m.winRate)],
    ['Net PnL', `${signed(money(m.netPnlExact), m.netPnl)} (${pct(m.returnPct)} of ${money(m.initialBalance)})`],
    ['Gross PnL', signed(money(m.grossPnlExact), m.grossPnl)],
    ['Fees', `${money(m.feesExact)}${m.makerFeeShare === undefined || m.makerFeeShare === null ? '' : ` (${pct(m.makerFeeShare * 100)} paid as maker)`}`],
    ['Funding', `${money(m.fundingExact)} (positive = paid)`],
    ['Avg PnL / trade', money(m.avgPnl)],
    ['Avg win / loss', `${money(m.avgWin)} / ${money(m.avgLoss === null ? null : -m.avgLoss)}`],
    ['Best / worst', `${money(m.bestTradeExact)} / ${money(m.worstTradeExact)}`],
    ['Profit factor', profitFactorText(m)],
    ['Expectancy', money(m.expectancy)],
    ['Max drawdown', `${m.maxDrawdown > 0 ? c.red(money(m.maxDrawdown)) : money(m.maxDrawdown)} (${pct(m.maxDrawdownPct)}${ddPeak}${ddLargest})`],
    ['Sharpe / Sortino', ratiosText(m)],
    ['Exposure', pct(m.exposurePct)],
    [
      'Avg duration',
      m.avgBarsHeld === null ? 'n/a' : `${formatDuration(m.avgTradeDurationMs)} (${m.avgBarsHeld.toFixed(1)} candles from entry to exit candle)`,
    ],
    ['Streaks', `${m.longestWinStreak} wins, ${m.longestLossStreak} losses in a row`],
    ['Return', signed(pct(m.returnPct), m.returnPct)],
    ['Buy & hold', pct(m.buyAndHoldPct)],
    ['Final equity', money(m.finalEquity)],
  ];

  const main = ['signal', 'stop_loss', 'take_profit', 'end_of_data'];
  // trailing_stop appears once used (exits counts every reason a trade had).
  const exitParts = Object.entries(m.exits)
    .filter(([k, v]) => main.includes(k) || v > 0)
    .map(([k, v]) => `${k} ${v}`);

  const exitRows: Row[] = [['Exits', exitParts.join(', ')]];
  const w = Math.max(...[...headerRows, ...bodyRows, ...exitRows].map(([k]) => k.length));
  const lines = [
    c.bold(c.cyan(`Run ${meta.runId}`)),
    ...table(headerRows, w),
    '',
    ...table(bodyRows, w),
    '',
    ...table(exitRows, w),
  ];
  const amb = formatAmbiguousLine(m);
  if (amb) lines.push(c.yellow(amb));
  if (meta.notices.length) {
    lines.push('', c.bold('Notices'));
    for (const n of meta.notices) lines.push(c.yellow(`  - ${n}`));
  }
  lines.push('', formatTradeStatsLine(m));
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------
// Logger

export type LogLevel = 'info' | 'success' | 'warn' | 'error';

const LEVELS: Record<LogLevel, { tag: string; color: ColorName }> = {
  info: { tag: 'INFO', color: 'cyan' },
  success: { tag: 'SUCCESS', color: 'green' },
  warn: { tag: 'WARNING', color: 'yellow' },
  error: { tag: 'ERROR', color: 'red' },
};

export interface Logger {
  info(message: string): void;
  success(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * The seed's levelled console log: `[INFO] ...`, `[SUCCESS] ...`, `[WARNING] ...`, `[ERROR] ...`, each
 * line in its level's colour when `color`. With `json`, one JSON object per line instead:
 * `{"time":"<ISO>","level":"info","message":"..."}` (never coloured).
 */
/**
 * The session logger: the seed's `[INFO] ...` lines; with `timestamps` (pyr live and paper) each line starts
 * with its UTC time (`2026-12-01 12:59:03.123Z [INFO] ...`); with `json` one object per line.
 */
export function createLogger(opts: { stream: OutStream; color: boolean; json?: boolean; timestamps?: boolean; now?: () => number }): Logger {
  const now = opts.now ?? Date.now;
  const emit = (level: LogLevel, message: string): void => {
    if (opts.json) {
      opts.stream.write(JSON.stringify({ time: new Date(now()).toISOString(), level, message }) + '\n');
      return;
    }
    const { tag, color } = LEVELS[level];
    const stamp = opts.timestamps ? `${new Date(now()).toISOString().replace('T', ' ')} ` : '';
    opts.stream.write(stamp + colorize(`[${tag}] ${message}`, color, opts.color) + '\n');
  };
  return {
    info: (m) => emit('info', m),
    success: (m) => emit('success', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

// ---------------------------------------------------------------------------------------------------
// Progress bar

export interface Progress {
  /** Work done so far (a count of `total`, or a fraction with `total: 1`). Redraws at most every minIntervalMs. */
  update(done: number): void;
  /** Erases the bar's line so a message can be written; the next update() redraws it. */
  clear(): void;
  /** The work finished: draws 100% and ends the line. */
  done(): void;
  /** The work was interrupted or failed: draws where it got to (never 100% unless it got there), marked "stopped", and ends the line. */
  stop(): void;
}

function rateText(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–/s';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k/s`;
  return `${perSecond.toFixed(1)}/s`;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * A one-line progress bar redrawn in place:
 * `label [#####-----]  45.0% 12,345/27,433 candles 1.2k/s ETA 0:12` (the rate is things per second of
 * what is counted; `unit` names them). With `total: 1` the caller reports a fraction: then no counts and
 * no rate (a percentage per second means nothing), the time so far and the ETA instead:
 * `label [#####-----]  45.0% elapsed 0:02 ETA 0:03`.
 * Draws only when `stream.isTTY`, at most once per `minIntervalMs` (100 ms: ~10 redraws/s); on a
 * non-TTY (a pipe, a log file, CI) it writes nothing at all. `done()` draws 100% and ends the line;
 * `stop()` (interrupted, failed) draws the last state reported, marked "stopped", and ends the line;
 * either does nothing when nothing was drawn. `clear()` erases the line for a message in between.
 */
export function createProgress(opts: {
  stream: OutStream;
  label: string;
  total: number;
  /** What is counted, e.g. "candles" (printed after the counts). */
  unit?: string;
  now?: () => number;
  minIntervalMs?: number;
  width?: number;
}): Progress {
  const tty = opts.stream.isTTY === true;
  const now = opts.now ?? Date.now;
  const minInterval = opts.minIntervalMs ?? 100;
  const width = opts.width ?? 24;
  const total = Math.max(0, opts.total);
  const fractions = total === 1;
  let start: number | null = null;
  let lastDraw = -Infinity;
  let lastDone = 0;
  let drawn = false;
  let onScreen = false;
  let finished = false;

  const draw = (done: number, t: number, stopped = false): void => {
    const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
    const filled = Math.round(frac * width);
    const elapsed = (t - (start ?? t)) / 1000;
    const rate = elapsed > 0 ? done / elapsed : NaN;
    const eta = stopped ? 'stopped' : `ETA ${clock(rate > 0 ? (total - done) / rate : frac >= 1 ? 0 : NaN)}`;
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const counts = fractions
      ? ` elapsed ${clock(elapsed)}`
      : ` ${int(Math.round(done))}/${int(total)}${opts.unit ? ` ${opts.unit}` : ''} ${rateText(rate)}`;
    const line = `${opts.label} [${bar}] ${(frac * 100).toFixed(1).padStart(5)}%${counts} ${eta}`;
    opts.stream.write(`\r${line}\x1b[K`);
    lastDraw = t;
    drawn = true;
    onScreen = true;
  };

  const end = (stopped: boolean): void => {
    if (!tty || finished) return;
    finished = true;
    if (!drawn) return;
    draw(stopped ? lastDone : total, now(), stopped);
    opts.stream.write('\n');
    onScreen = false;
  };

  return {
    update(done: number): void {
      if (!tty || finished) return;
      lastDone = done;
      const t = now();
      if (start === null) start = t;
      if (t - lastDraw < minInterval) return;
      draw(done, t);
    },
    clear(): void {
      if (!tty || finished || !onScreen) return;
      opts.stream.write('\r\x1b[K');
      onScreen = false;
      lastDraw = -Infinity;
    },
    done: () => end(false),
    stop: () => end(true),
  };
}
