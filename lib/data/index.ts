/**
 * lib/data: candle files (read, validate, cache), the on-disk store layout, funding and instrument
 * snapshots, and an optional danfo DataFrame view (danfo is imported lazily, only when used).
 */
export * from './csv.ts';
export * from './store.ts';
export * from './dataframe.ts';
export * from './run-data.ts';
