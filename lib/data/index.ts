/**
 * lib/data: candle files (read, validate, cache), the on-disk store layout, funding and instrument
 * snapshots, and an optional danfo DataFrame view. See each module's header for the design choices.
 */
export * from './csv.ts';
