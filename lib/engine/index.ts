export * from './intents.ts';
export * from './engine.ts';
export * from './backtest.ts';
export * from './journal.ts';
export type { Guards } from '../core/index.ts';
export * from './run.ts';
export * from './live.ts';
export * from './replay.ts';
