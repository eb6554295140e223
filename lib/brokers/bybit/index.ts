export * from './client.ts';
export * from './mapping.ts';
export * from './broker.ts';
export * from './feed.ts';
export * from './instruments.ts';
export * from './stream-feed.ts';
export * from './orders.ts';
export * from './levels.ts';
