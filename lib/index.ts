/**
 * pyr's public API, for strategy files, notebooks and scripts:
 * `import { defineStrategy, StochRsi, loadCandles, runSpec } from 'pyr'`. The command line is not part
 * of it (bin/pyr runs lib/cli); everything a command does is reachable from here.
 */
export { defineStrategy, crossedAbove, crossedBelow, loadStrategy, warmupOf } from './strategy/index.ts';
export type { Strategy, StrategyContext, StrategyDefinition, StrategyEnv, StrategyStatus, StrategyOutput, ParamSchema, ParamSpec, ParamValues } from './strategy/index.ts';
export * from './indicators/index.ts';
export type { Candle, CandleSeries, Intent, Interval, Trade, RunRecord, PriceLevel, Size, Broker, BrokerEvent, CandleFeed, Fill, OrderRequest, Position } from './core/index.ts';
export { D, candleAt, seriesFromCandles, PyrError, ConfigError, DataError, StrategyError } from './core/index.ts';
// A run: its spec (pure), the data it reads, the simulator, and the run itself.
export { resolveRunTarget, resolveRunSpec, paramLayersOf, instrumentId, RUN_PARAMS, TAKER_FEE, MAKER_FEE, BUILTIN_RULES } from './config/index.ts';
export type { RunFlags, RunTarget, RunSpec, InstrumentKey, DataSource } from './config/index.ts';
export { readCandleFile, loadCandles, seriesToDataFrame, openRunData, readRulesSnapshot } from './data/index.ts';
export { SimBroker, simBrokerFor } from './brokers/sim/index.ts';
export { Engine, runSpec, runRange, runLive, checkOutput, IntentError, intentToOrder } from './engine/index.ts';
export type { RunData, RunOptions, LiveBroker, LiveView, Decision } from './engine/index.ts';
export { computeMetrics, tradesToDataFrame, equityToDataFrame, writeRunFiles, summaryObject, type Metrics } from './report/index.ts';
export { runStrategy, makeCandles, closes, type CandleRow, type StrategyRun } from './testkit/index.ts';
