/** Instrument rules: a saved exchange snapshot, else pyr's built-in rules, with `--param` overrides. Pure. */
import { ConfigError, D, type Dec, type InstrumentRules } from '../core/index.ts';
import type { RunParams } from './params.ts';

/**
 * Built-in instrument rules for the main Bybit linear symbols (tick size, qty step, min qty, min
 * notional), used when no instruments snapshot was saved. Exchange values change: `pyr download` saves
 * the exchange's own snapshot, which wins.
 */
export const BUILTIN_RULES: Readonly<Record<string, { tickSize: string; qtyStep: string; minQty: string; minNotional: string }>> = {
  BTCUSDT: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '5' },
  ETHUSDT: { tickSize: '0.01', qtyStep: '0.01', minQty: '0.01', minNotional: '5' },
  SOLUSDT: { tickSize: '0.01', qtyStep: '0.1', minQty: '0.1', minNotional: '5' },
  XRPUSDT: { tickSize: '0.0001', qtyStep: '1', minQty: '1', minNotional: '5' },
  DOGEUSDT: { tickSize: '0.00001', qtyStep: '1', minQty: '1', minNotional: '5' },
  BNBUSDT: { tickSize: '0.1', qtyStep: '0.01', minQty: '0.01', minNotional: '5' },
};

/** Picks instrument rules: snapshot, else built-in, else `--param`; `--param` values override any source. */
/** A saved snapshot of the exchange's rules for one symbol (`rules` absent when the snapshot lacks it). */
export interface RulesSnapshot {
  readonly file: string;
  readonly rules?: { readonly tickSize: string; readonly qtyStep: string; readonly minQty: string; readonly minNotional: string; readonly maxQty?: string };
}

export function resolveRules(
  symbol: string,
  category: string,
  snapshot: RulesSnapshot | undefined,
  run: RunParams,
): InstrumentRules {
  let base: { tickSize: string; qtyStep: string; minQty: string; minNotional: string; maxQty?: string } | undefined;
  let source: string;
  if (snapshot?.rules) {
    base = snapshot.rules;
    source = `instruments snapshot ${snapshot.file}`;
  } else if (BUILTIN_RULES[symbol]) {
    base = BUILTIN_RULES[symbol];
    source = `built-in rules for ${symbol}`;
  } else {
    source = '--param';
  }
  const pick = (key: 'tickSize' | 'qtyStep' | 'minQty' | 'minNotional'): Dec => {
    const v = run[key] !== '' ? run[key] : base?.[key];
    if (v === undefined) {
      throw new ConfigError(`no instrument rules for ${symbol}: run \`pyr download\` to save the exchange's snapshot, or pass --param tickSize=.. qtyStep=.. minQty=..`);
    }
    return new D(v);
  };
  const overridden = (['tickSize', 'qtyStep', 'minQty', 'minNotional'] as const).filter((k) => run[k] !== '');
  if (overridden.length > 0 && base) source += ` with --param ${overridden.join(', ')}`;
  return {
    symbol,
    category,
    tickSize: pick('tickSize'),
    qtyStep: pick('qtyStep'),
    // Without a source, the minimum qty defaults to one step and the minimum notional to none.
    minQty: run.minQty !== '' || base ? pick('minQty') : pick('qtyStep'),
    minNotional: run.minNotional !== '' || base ? pick('minNotional') : new D(0),
    maxQty: base?.maxQty ? new D(base.maxQty) : undefined,
    source,
  };
}

