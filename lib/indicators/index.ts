export * from './indicator.ts';
export * from './rsi.ts';
export * from './sma.ts';
export * from './stochrsi.ts';
export * from './pivots.ts';
export * from './swing.ts';
export * from './cache.ts';
