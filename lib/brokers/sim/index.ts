import type { RunSpec } from '../../config/index.ts';
import { SimBroker, type FundingHistory } from './sim-broker.ts';
import type { SimDecimalCache } from './decimals.ts';

export * from './sim-broker.ts';

/** The simulator for a run spec: its instrument rules, fill model and balance, and the funding to charge. */
export function simBrokerFor(spec: RunSpec, funding?: FundingHistory, opts: { readonly lazyTrades?: boolean; readonly decimals?: SimDecimalCache } = {}): SimBroker {
  return new SimBroker({ rules: spec.rules, fillModel: spec.fillModel, initialBalance: spec.initialBalance, funding, maxNotional: spec.guards.maxPositionNotional, lazyTrades: opts.lazyTrades, decimals: opts.decimals });
}
export * from './paper.ts';
