import type { Dec } from './money.ts';

/** What the exchange allows for one symbol: from a saved instruments snapshot, built-ins, or flags. */
export interface InstrumentRules {
  readonly symbol: string;
  readonly category: string;
  readonly tickSize: Dec;
  readonly qtyStep: Dec;
  readonly minQty: Dec;
  /** Smallest order value in quote currency; 0 when the exchange sets none. */
  readonly minNotional: Dec;
  /** Largest market order qty, when known. */
  readonly maxQty?: Dec;
  /** Where these rules came from, shown in every report: "snapshot <file>", "built-in", "--param". */
  readonly source: string;
}

/**
 * Which market a run trades. A key rather than a bare symbol, so that a run over several instruments is a
 * list of these (and the record and the broker port are keyed by it), not a rewrite. Today a run has one.
 */
export interface InstrumentKey {
  readonly exchange: 'bybit';
  readonly category: string;
  readonly symbol: string;
}

/** `bybit:linear:BTCUSDT`: an instrument key as one string (map keys, file names, logs). */
export function instrumentId(k: InstrumentKey): string {
  return `${k.exchange}:${k.category}:${k.symbol}`;
}
