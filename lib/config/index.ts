export * from './params.ts';
export * from './rules.ts';
export * from './file.ts';
export * from './days.ts';
export * from './spec.ts';
export * from './flags.ts';
