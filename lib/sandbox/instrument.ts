/**
 * The instrument the sandbox trades, in Bybit's terms (instruments-info `lotSizeFilter`, `priceFilter`,
 * `leverageFilter`). Defaults are mainnet BTCUSDT's.
 */
import { D, type Dec, dec } from '../core/money.ts';

export interface SandboxInstrument {
  readonly symbol: string;
  readonly baseCoin: string;
  readonly quoteCoin: string;
  readonly tickSize: Dec;
  /** Decimals shown for prices (BTCUSDT: 2, with tick "0.10"). */
  readonly priceScale: number;
  readonly minPrice: Dec;
  readonly maxPrice: Dec;
  readonly qtyStep: Dec;
  readonly minOrderQty: Dec;
  /** Largest limit order. */
  readonly maxOrderQty: Dec;
  /** Largest market order. */
  readonly maxMktOrderQty: Dec;
  readonly minNotionalValue: Dec;
  readonly minLeverage: Dec;
  readonly maxLeverage: Dec;
  readonly leverageStep: Dec;
  /** Maintenance margin rate of the first risk tier (shown, and used for the liquidation price estimate). */
  readonly maintenanceMarginRate: Dec;
  /** Minutes between funding settlements. */
  readonly fundingIntervalMin: number;
}

export type InstrumentOverrides = Partial<Record<
  'tickSize' | 'minPrice' | 'maxPrice' | 'qtyStep' | 'minOrderQty' | 'maxOrderQty' | 'maxMktOrderQty' | 'minNotionalValue' | 'maxLeverage',
  string | number
>>;

export function makeInstrument(symbol: string, overrides: InstrumentOverrides = {}): SandboxInstrument {
  const quoteCoin = symbol.endsWith('USDT') ? 'USDT' : symbol.endsWith('USDC') ? 'USDC' : 'USDT';
  const baseCoin = symbol.slice(0, symbol.length - quoteCoin.length) || symbol;
  const get = (k: keyof InstrumentOverrides, dflt: string): Dec => dec(overrides[k] ?? dflt);
  return {
    symbol,
    baseCoin,
    quoteCoin,
    tickSize: get('tickSize', '0.10'),
    priceScale: writtenDecimals(String(overrides.tickSize ?? '0.10')),
    minPrice: get('minPrice', '0.10'),
    maxPrice: get('maxPrice', '1999999.80'),
    qtyStep: get('qtyStep', '0.001'),
    minOrderQty: get('minOrderQty', '0.001'),
    maxOrderQty: get('maxOrderQty', '1190.000'),
    maxMktOrderQty: get('maxMktOrderQty', '500.000'),
    minNotionalValue: get('minNotionalValue', '5'),
    minLeverage: new D(1),
    maxLeverage: get('maxLeverage', '100'),
    leverageStep: new D('0.01'),
    maintenanceMarginRate: new D('0.005'),
    fundingIntervalMin: 480,
  };
}

/** Decimals as written ("0.10" → 2). */
function writtenDecimals(text: string): number {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}
