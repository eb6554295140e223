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
