/**
 * pyr's public API, for strategy files and notebooks: `import { defineStrategy, StochRsi, loadCandles } from 'pyr'`.
 */
export { defineStrategy, crossedAbove, crossedBelow } from './strategy/index.ts';
export type { Strategy, StrategyContext, StrategyDefinition, StrategyEnv, StrategyStatus, StrategyOutput, ParamSchema, ParamSpec, ParamValues } from './strategy/index.ts';
export * from './indicators/index.ts';
export type { Candle, CandleSeries, Intent, Interval, Trade, RunRecord, PriceLevel, Size } from './core/index.ts';
export { D, candleAt, seriesFromCandles } from './core/index.ts';
export { readCandleFile, loadCandles, seriesToDataFrame } from './data/index.ts';
export { computeMetrics, tradesToDataFrame, equityToDataFrame, type Metrics } from './report/index.ts';
export { backtest } from './cli/backtest.ts';
export { runStrategy, makeCandles, closes, type CandleRow, type StrategyRun } from './testkit/index.ts';
