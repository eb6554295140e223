export * from './metrics.ts';
export * from './files.ts';
export * from './console.ts';
export * from './dataframe.ts';
export * from './live.ts';
