export * from './sim-broker.ts';
