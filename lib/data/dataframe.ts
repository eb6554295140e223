/**
 * Candles as a danfo.js DataFrame, for notebooks-style research.
 *
 * The backtester never uses this: it walks the columnar Float64Arrays of a CandleSeries, which is far
 * faster and lighter. danfojs-node pulls in TensorFlow.js and takes 1-2 s to import, so it is loaded
 * lazily, only when one of these functions is called; importing lib/data costs nothing. Loading goes
 * through readCandleFile, so the same validation and binary cache apply.
 */
import type { DataFrame } from 'danfojs-node';
import type { CandleSeries } from '../core/candle.ts';
import { readCandleFile, CANDLE_COLUMNS } from './csv.ts';

/** A DataFrame with columns timestamp, open, high, low, close, volume, turnover (NaN where empty). */
export async function seriesToDataFrame(series: CandleSeries): Promise<DataFrame> {
  const dfd = await import('danfojs-node');
  const cols = [series.openTime, series.open, series.high, series.low, series.close, series.volume, series.turnover];
  const data: Record<string, number[]> = {};
  CANDLE_COLUMNS.forEach((name, k) => {
    data[name] = Array.from(cols[k]!);
  });
  return new dfd.DataFrame(data, { columns: [...CANDLE_COLUMNS] });
}

/** Reads a candle file (validated, cached) into a DataFrame. */
export async function loadCandles(file: string): Promise<DataFrame> {
  const { series } = await readCandleFile(file);
  return seriesToDataFrame(series);
}
