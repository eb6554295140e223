export * from './errors.ts';
export * from './candle.ts';
export * from './money.ts';
export * from './instrument.ts';
export * from './orders.ts';
export * from './broker.ts';
export * from './sizing.ts';
export * from './run.ts';
