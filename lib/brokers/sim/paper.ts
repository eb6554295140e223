/**
 * Paper trading (`pyr live --paper`): the simulator as a live broker. Orders never leave the process;
 * they fill on the closed candles the live feed hands over, with the backtest's fill model (fees,
 * slippage, stops and targets, the candle path), so a paper session and `pyr diff`'s replay of its journal
 * are one computation. Funding is not charged (the replay charges none either).
 */
import type { RunSpec } from '../../config/index.ts';
import { simBrokerFor } from './index.ts';
import type { SimBroker } from './sim-broker.ts';

/** What lib/engine/live.ts needs of a live broker, on top of the Broker port. */
export interface PaperBroker extends SimBroker {
  start(): Promise<void>;
  settle(ms: number): Promise<void>;
  stop(): void;
  readonly paper: true;
}

export function paperBrokerFor(spec: RunSpec): PaperBroker {
  const sim = simBrokerFor(spec) as SimBroker & Partial<PaperBroker>;
  return Object.assign(sim, {
    paper: true as const,
    // Nothing to connect to, nothing in flight between candles that waiting would finish.
    start: async () => {},
    settle: async () => {},
    stop: () => {},
  });
}
