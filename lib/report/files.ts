/**
 * A run's output files: summary.json, trades.csv, equity.csv. Each file is written atomically (to
 * `<name>.tmp-<pid>`, then renamed), so a reader never sees half a file and a crash leaves no partial
 * result under the final name.
 */
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { D, type Dec, type RunRecord, type Trade } from '../core/index.ts';
import { dailyEquity, exact, type Metrics } from './metrics.ts';

/** The first columns of trades.csv, in this order (a contract for anyone reading the file). */
export const TRADE_COLUMNS = [
  'id', 'side', 'entryTime', 'exitTime', 'entryPrice', 'exitPrice', 'qty', 'stopLoss', 'takeProfit',
  'exitReason', 'fees', 'grossPnl', 'netPnl',
] as const;

/** Columns after TRADE_COLUMNS. */
export const TRADE_EXTRA_COLUMNS = [
  'signalTime', 'entryFee', 'exitFee', 'funding', 'entryReason', 'exitDetail', 'ambiguous',
  'netPnlIfTargetFirst', 'qtyRaisedToMin', 'entryTimeIso', 'exitTimeIso', 'equityAfter',
  'entryOrderType', 'entryLiquidity', 'positionId',
] as const;

export const EQUITY_COLUMNS = ['timestamp', 'equity', 'drawdown', 'drawdownPct', 'dailyReturn'] as const;

/** Quotes a CSV field when it holds a comma, a quote, a line break, or leading/trailing spaces (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvRow(fields: readonly string[]): string {
  return fields.map(csvField).join(',');
}

/**
 * A float as a plain decimal string (no exponent); '' for NaN/Infinity. With `decimals`, rounded (half
 * up) to that many places and without trailing zeros.
 */
export function plainNumber(x: number, decimals?: number): string {
  if (!Number.isFinite(x)) return '';
  const d = new D(x);
  return exact(decimals === undefined ? d : d.toDecimalPlaces(decimals));
}

/**
 * equity.csv values are floats (the engine values the position at float closes); 10 decimals keep every
 * real digit (fees are exact to 1e-9) and drop float noise such as 1001.0638830099999.
 */
const EQUITY_DECIMALS = 10;

function money(x: Dec | undefined): string {
  return x === undefined ? '' : exact(x);
}

/**
 * trades.csv content: one row per trade, or per part of a position closed in parts (the rows of one
 * position share `positionId`). `equityAfter` is initialBalance + the cumulative net PnL up to and
 * including the row. `entryOrderType` (market, limit, stop) and `entryLiquidity` (maker, taker) say how
 * the entry was placed and which fee it paid.
 */
export function tradesCsv(run: RunRecord): string {
  const lines = [csvRow([...TRADE_COLUMNS, ...TRADE_EXTRA_COLUMNS])];
  let balance = new D(run.meta.initialBalance);
  for (const t of run.trades) {
    balance = balance.plus(t.netPnl);
    lines.push(csvRow(tradeFields(t, balance)));
  }
  return lines.join('\n') + '\n';
}

function tradeFields(t: Trade, equityAfter: Dec): string[] {
  return [
    String(t.id),
    t.side,
    String(t.entryTime),
    String(t.exitTime),
    money(t.entryPrice),
    money(t.exitPrice),
    money(t.qty),
    money(t.stopLoss),
    money(t.takeProfit),
    t.exitReason,
    money(t.fees),
    money(t.grossPnl),
    money(t.netPnl),
    String(t.signalTime),
    money(t.entryFee),
    money(t.exitFee),
    money(t.funding),
    t.entryReason,
    t.exitDetail,
    String(t.ambiguous),
    money(t.netPnlIfTargetFirst),
    String(t.qtyRaisedToMin),
    new Date(t.entryTime).toISOString(),
    new Date(t.exitTime).toISOString(),
    exact(equityAfter),
    t.entryOrderType ?? 'market',
    t.entryLiquidity ?? 'taker',
    String(t.positionId ?? t.id),
  ];
}

/**
 * equity.csv content: ONE ROW PER UTC DAY, not per candle. A year of 1-minute candles would be 525,600
 * rows, which nobody reads and every spreadsheet chokes on; the per-candle curve is in the RunRecord
 * (and `equityToDataFrame`) for whoever needs it. Columns:
 * - timestamp: the day's start (00:00 UTC), epoch ms;
 * - equity: mark-to-market equity at the close of the day's last candle;
 * - drawdown / drawdownPct: the deepest fall from the running equity peak reached DURING the day
 *   (per-candle, so intraday troughs are not lost by the daily sampling: the largest `drawdown` in the
 *   file is the summary's maxDrawdown), in quote and in % of the peak it fell from;
 * - dailyReturn: equity / previous day's equity − 1 as a fraction (the first day against the initial
 *   balance); the returns Sharpe and Sortino are computed from.
 * Days without any candle have no row. Values are rounded to 10 decimals (see EQUITY_DECIMALS).
 */
export function equityCsv(run: RunRecord): string {
  const lines = [csvRow(EQUITY_COLUMNS)];
  for (const d of dailyEquity(run)) {
    lines.push(
      csvRow([
        String(d.dayStart),
        plainNumber(d.equity, EQUITY_DECIMALS),
        plainNumber(d.drawdown, EQUITY_DECIMALS),
        plainNumber(d.drawdownPct, EQUITY_DECIMALS),
        d.dailyReturn === null ? '' : plainNumber(d.dailyReturn, EQUITY_DECIMALS),
      ]),
    );
  }
  return lines.join('\n') + '\n';
}

/** JSON with Decimals as plain strings, bigints as strings, NaN/±Infinity as null. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      const original = key === '' ? value : this[key];
      if (original instanceof D) return exact(original);
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    2,
  );
}

/** The content of summary.json. */
export function summaryObject(run: RunRecord, metrics: Metrics): { runId: string; meta: RunRecord['meta']; metrics: Metrics } {
  return { runId: run.meta.runId, meta: run.meta, metrics };
}

/** Writes `content` to `path` atomically: `path.tmp-<pid>`, then rename. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Writes summary.json, trades.csv and equity.csv into `dir` (created if missing); returns their paths. */
export async function writeRunFiles(
  dir: string,
  run: RunRecord,
  metrics: Metrics,
): Promise<{ summary: string; trades: string; equity: string }> {
  await mkdir(dir, { recursive: true });
  const paths = { summary: join(dir, 'summary.json'), trades: join(dir, 'trades.csv'), equity: join(dir, 'equity.csv') };
  await writeFileAtomic(paths.trades, tradesCsv(run));
  await writeFileAtomic(paths.equity, equityCsv(run));
  // Last: a summary.json present means the run's files are complete.
  await writeFileAtomic(paths.summary, toJson(summaryObject(run, metrics)) + '\n');
  return paths;
}
