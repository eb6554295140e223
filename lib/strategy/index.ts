export * from './params.ts';
export * from './strategy.ts';
export * from './registry.ts';
