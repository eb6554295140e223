/**
 * danfo.js DataFrames of a run, for notebooks and ad-hoc analysis. danfojs-node (and TensorFlow under it)
 * takes over a second to load, so it is imported lazily, only when one of these is called.
 * Money columns are numbers here (analysis, not accounting); trades.csv keeps the exact strings.
 *
 * Every column's dtype is given, never inferred from the first rows: danfo keeps the cells as the JS
 * numbers given (float64, exact through `.values`), but builds tensors from the label, and an inferred
 * `int32` wrapped epoch-ms times and truncated whole-looking money columns. Numbers are labelled
 * `float32`, the closest danfo has; TensorFlow.js has no float64, so a tensor (and DataFrame arithmetic
 * built on one) still rounds. See lib/data/dataframe.ts.
 */
import type { DataFrame } from 'danfojs-node';
import type { RunRecord, Trade } from '../core/index.ts';
import { dailyEquity } from './metrics.ts';

type Danfo = typeof import('danfojs-node');

async function danfo(): Promise<Danfo> {
  const mod = (await import('danfojs-node')) as Danfo & { default?: Danfo };
  return typeof mod.DataFrame === 'function' ? mod : mod.default!;
}

type Dtype = 'float32' | 'int32' | 'string' | 'boolean';

/** A frame from [name, dtype, values] columns, all of one length. */
async function frame(spec: [name: string, dtype: Dtype, values: unknown[]][]): Promise<DataFrame> {
  const { DataFrame } = await danfo();
  const columns = spec.map(([name]) => name);
  const dtypes = spec.map(([, dtype]) => dtype);
  // danfo cannot build a frame from empty column arrays; an empty frame needs the row form.
  if (spec[0]![2].length === 0) return new DataFrame([], { columns, dtypes });
  return new DataFrame(Object.fromEntries(spec.map(([name, , values]) => [name, values])), { columns, dtypes });
}

/** One row per trade: times in epoch ms, prices and money as numbers. */
export async function tradesToDataFrame(trades: readonly Trade[]): Promise<DataFrame> {
  const n = (x: { toNumber(): number } | undefined): number => (x === undefined ? NaN : x.toNumber());
  return frame([
    ['id', 'int32', trades.map((t) => t.id)],
    ['side', 'string', trades.map((t) => t.side)],
    ['signalTime', 'float32', trades.map((t) => t.signalTime)],
    ['entryTime', 'float32', trades.map((t) => t.entryTime)],
    ['exitTime', 'float32', trades.map((t) => t.exitTime)],
    ['entryPrice', 'float32', trades.map((t) => n(t.entryPrice))],
    ['exitPrice', 'float32', trades.map((t) => n(t.exitPrice))],
    ['qty', 'float32', trades.map((t) => n(t.qty))],
    ['stopLoss', 'float32', trades.map((t) => n(t.stopLoss))],
    ['takeProfit', 'float32', trades.map((t) => n(t.takeProfit))],
    ['exitReason', 'string', trades.map((t) => t.exitReason)],
    ['entryFee', 'float32', trades.map((t) => n(t.entryFee))],
    ['exitFee', 'float32', trades.map((t) => n(t.exitFee))],
    ['fees', 'float32', trades.map((t) => n(t.fees))],
    ['funding', 'float32', trades.map((t) => n(t.funding))],
    ['grossPnl', 'float32', trades.map((t) => n(t.grossPnl))],
    ['netPnl', 'float32', trades.map((t) => n(t.netPnl))],
    ['ambiguous', 'boolean', trades.map((t) => t.ambiguous)],
    ['netPnlIfTargetFirst', 'float32', trades.map((t) => n(t.netPnlIfTargetFirst))],
    ['entryReason', 'string', trades.map((t) => t.entryReason)],
    ['exitDetail', 'string', trades.map((t) => t.exitDetail)],
  ]);
}

/**
 * The equity curve. Per candle by default (timestamp, close, equity, exposure: for a year of 1-minute
 * candles that is 525,600 rows); `{ daily: true }` gives the rows of equity.csv instead
 * (timestamp, equity, drawdown, drawdownPct, dailyReturn).
 */
export async function equityToDataFrame(run: RunRecord, opts: { daily?: boolean } = {}): Promise<DataFrame> {
  if (opts.daily) {
    const days = dailyEquity(run);
    return frame([
      ['timestamp', 'float32', days.map((d) => d.dayStart)],
      ['equity', 'float32', days.map((d) => d.equity)],
      ['drawdown', 'float32', days.map((d) => d.drawdown)],
      ['drawdownPct', 'float32', days.map((d) => d.drawdownPct)],
      ['dailyReturn', 'float32', days.map((d) => d.dailyReturn ?? NaN)],
    ]);
  }
  return frame([
    ['timestamp', 'float32', Array.from(run.times)],
    ['close', 'float32', Array.from(run.closes)],
    ['equity', 'float32', Array.from(run.equity)],
    ['exposure', 'float32', Array.from(run.exposure)],
  ]);
}
