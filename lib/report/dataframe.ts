/**
 * danfo.js DataFrames of a run, for notebooks and ad-hoc analysis. danfojs-node (and TensorFlow under it)
 * takes over a second to load, so it is imported lazily, only when one of these is called.
 * Money columns are numbers here (analysis, not accounting); trades.csv keeps the exact strings.
 */
import type { DataFrame } from 'danfojs-node';
import type { RunRecord, Trade } from '../core/index.ts';
import { dailyEquity } from './metrics.ts';

type Danfo = typeof import('danfojs-node');

async function danfo(): Promise<Danfo> {
  const mod = (await import('danfojs-node')) as Danfo & { default?: Danfo };
  return typeof mod.DataFrame === 'function' ? mod : mod.default!;
}

async function frame(columns: Record<string, unknown[]>): Promise<DataFrame> {
  const { DataFrame } = await danfo();
  const names = Object.keys(columns);
  const rows = columns[names[0]!]!.length;
  // danfo cannot build a frame from empty column arrays; an empty frame needs the row form.
  return rows === 0 ? new DataFrame([], { columns: names }) : new DataFrame(columns);
}

/** One row per trade: times in epoch ms, prices and money as numbers. */
export async function tradesToDataFrame(trades: readonly Trade[]): Promise<DataFrame> {
  const n = (x: { toNumber(): number } | undefined): number => (x === undefined ? NaN : x.toNumber());
  return frame({
    id: trades.map((t) => t.id),
    side: trades.map((t) => t.side),
    signalTime: trades.map((t) => t.signalTime),
    entryTime: trades.map((t) => t.entryTime),
    exitTime: trades.map((t) => t.exitTime),
    entryPrice: trades.map((t) => n(t.entryPrice)),
    exitPrice: trades.map((t) => n(t.exitPrice)),
    qty: trades.map((t) => n(t.qty)),
    stopLoss: trades.map((t) => n(t.stopLoss)),
    takeProfit: trades.map((t) => n(t.takeProfit)),
    exitReason: trades.map((t) => t.exitReason),
    entryFee: trades.map((t) => n(t.entryFee)),
    exitFee: trades.map((t) => n(t.exitFee)),
    fees: trades.map((t) => n(t.fees)),
    funding: trades.map((t) => n(t.funding)),
    grossPnl: trades.map((t) => n(t.grossPnl)),
    netPnl: trades.map((t) => n(t.netPnl)),
    ambiguous: trades.map((t) => t.ambiguous),
    netPnlIfTargetFirst: trades.map((t) => n(t.netPnlIfTargetFirst)),
    entryReason: trades.map((t) => t.entryReason),
    exitDetail: trades.map((t) => t.exitDetail),
  });
}

/**
 * The equity curve. Per candle by default (timestamp, close, equity, exposure: for a year of 1-minute
 * candles that is 525,600 rows); `{ daily: true }` gives the rows of equity.csv instead
 * (timestamp, equity, drawdown, drawdownPct, dailyReturn).
 */
export async function equityToDataFrame(run: RunRecord, opts: { daily?: boolean } = {}): Promise<DataFrame> {
  if (opts.daily) {
    const days = dailyEquity(run);
    return frame({
      timestamp: days.map((d) => d.dayStart),
      equity: days.map((d) => d.equity),
      drawdown: days.map((d) => d.drawdown),
      drawdownPct: days.map((d) => d.drawdownPct),
      dailyReturn: days.map((d) => d.dailyReturn ?? NaN),
    });
  }
  return frame({
    timestamp: Array.from(run.times),
    close: Array.from(run.closes),
    equity: Array.from(run.equity),
    exposure: Array.from(run.exposure),
  });
}
