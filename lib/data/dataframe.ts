/**
 * Candles as a danfo.js DataFrame, for notebooks-style research.
 *
 * The backtester never uses this: it walks the columnar Float64Arrays of a CandleSeries, which is far
 * faster and lighter. danfojs-node pulls in TensorFlow.js and takes 1-2 s to import, so it is loaded
 * lazily, only when one of these functions is called; importing lib/data costs nothing. Loading goes
 * through readCandleFile, so the same validation and binary cache apply.
 *
 * Exactness. danfo 1.1.2 keeps a frame's cells as the plain JS numbers it was given (float64), so
 * `.values`, `column(name).values`, `iloc`/`loc`, `toJSON`/`toCSV` and Series arithmetic give back
 * every timestamp and price exactly. Its dtype is only a label, inferred from the first rows unless
 * given, and it matters where danfo builds a TensorFlow.js tensor: TensorFlow.js has no float64, so
 * a tensor is float32 or int32. An inferred `int32` label made `column('timestamp').tensor` wrap
 * 1701388800000 to 581750784 (and would truncate a price column whose first rows happen to be whole).
 * The frames are therefore built with explicit labels, `float32` for every numeric column, which is
 * the closest danfo has; a tensor still rounds (37633.6 becomes 37633.6015625), and so does everything
 * danfo computes through one (DataFrame arithmetic such as `df.add` or `df.diff`, `Series.argMax`).
 * For exact numbers, read `.values`.
 */
import type { DataFrame } from 'danfojs-node';
import type { CandleSeries } from '../core/candle.ts';
import { readCandleFile, CANDLE_COLUMNS } from './csv.ts';

type Danfo = typeof import('danfojs-node');

/** danfojs-node, imported on first use (CommonJS: its exports may arrive under `default`). */
async function importDanfo(): Promise<Danfo> {
  const mod = (await import('danfojs-node')) as Danfo & { default?: Danfo };
  return typeof mod.DataFrame === 'function' ? mod : mod.default!;
}

/** A DataFrame with columns timestamp, open, high, low, close, volume, turnover (NaN where empty). */
export async function seriesToDataFrame(series: CandleSeries): Promise<DataFrame> {
  const { DataFrame } = await importDanfo();
  const cols = [series.openTime, series.open, series.high, series.low, series.close, series.volume, series.turnover];
  const data: Record<string, number[]> = {};
  CANDLE_COLUMNS.forEach((name, k) => {
    data[name] = Array.from(cols[k]!);
  });
  const columns = [...CANDLE_COLUMNS];
  const dtypes = columns.map(() => 'float32');
  // danfo cannot build a frame from empty column arrays; an empty frame needs the row form
  return series.length === 0 ? new DataFrame([], { columns, dtypes }) : new DataFrame(data, { columns, dtypes });
}

/** Reads a candle file (validated, cached) into a DataFrame. */
export async function loadCandles(file: string): Promise<DataFrame> {
  const { series } = await readCandleFile(file);
  return seriesToDataFrame(series);
}
