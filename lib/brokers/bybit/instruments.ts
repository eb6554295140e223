import { ConfigError } from '../../core/index.ts';
import type { RulesSnapshot } from '../../config/index.ts';
import type { BybitRest } from './client.ts';
import { wireInstrument } from './mapping.ts';

/** The exchange's instrument rules for one symbol (instruments-info), as a rules snapshot. */
export async function fetchInstrumentSnapshot(rest: BybitRest, category: 'linear', symbol: string, where: string): Promise<RulesSnapshot> {
  const { result: info } = await rest.call('instruments-info', (c) => c.getInstrumentsInfo({ category, symbol }) as never, { path: 'market/instruments-info' });
  const row = (info as { list?: { symbol?: string }[] }).list?.find((i) => i.symbol === symbol);
  if (!row) throw new ConfigError(`--symbol: ${symbol} is not a ${category} instrument on Bybit ${where}`);
  const r = wireInstrument(row, category, `instruments-info (${where})`);
  return { file: `instruments-info (${where})`, rules: { tickSize: r.tickSize.toFixed(), qtyStep: r.qtyStep.toFixed(), minQty: r.minQty.toFixed(), minNotional: r.minNotional.toFixed(), maxQty: r.maxQty?.toFixed() } };
}
