/**
 * Wire to core: Bybit's string-typed messages are parsed once here, and nothing else in pyr sees them.
 */
import { D, ExchangeError, ZERO, intervalStart, type Candle, type Interval, type Dec, type InstrumentRules, type Position } from '../../core/index.ts';

function num(x: unknown, what: string): number {
  const n = typeof x === 'number' ? x : Number(x);
  if (!Number.isFinite(n)) throw new ExchangeError(`unexpected ${what} from the exchange: ${JSON.stringify(x)}`);
  return n;
}

function decimal(x: unknown, what: string) {
  if (typeof x !== 'string' && typeof x !== 'number') throw new ExchangeError(`unexpected ${what} from the exchange: ${JSON.stringify(x)}`);
  try {
    return new D(x === '' ? 0 : x);
  } catch {
    throw new ExchangeError(`unexpected ${what} from the exchange: ${JSON.stringify(x)}`);
  }
}

/** A REST kline row `[start, open, high, low, close, volume, turnover]` (strings). */
export function klineRowToCandle(row: readonly unknown[]): Candle {
  return {
    openTime: num(row[0], 'kline start'),
    open: num(row[1], 'kline open'),
    high: num(row[2], 'kline high'),
    low: num(row[3], 'kline low'),
    close: num(row[4], 'kline close'),
    volume: num(row[5], 'kline volume'),
    turnover: row[6] === undefined || row[6] === '' ? NaN : num(row[6], 'kline turnover'),
  };
}

/** A WebSocket `kline.{interval}.{symbol}` item (start, end, OHLC, volume, turnover as strings; `confirm`). */
export interface WireKline {
  start?: unknown;
  end?: unknown;
  interval?: unknown;
  open?: unknown;
  high?: unknown;
  low?: unknown;
  close?: unknown;
  volume?: unknown;
  turnover?: unknown;
  confirm?: unknown;
}

/** A confirmed (closed) stream kline as a candle, or undefined while the candle is still open. */
export function wireKlineToCandle(k: WireKline): Candle | undefined {
  if (k.confirm !== true) return undefined;
  return {
    openTime: num(k.start, 'kline start'),
    open: num(k.open, 'kline open'),
    high: num(k.high, 'kline high'),
    low: num(k.low, 'kline low'),
    close: num(k.close, 'kline close'),
    volume: num(k.volume, 'kline volume'),
    turnover: k.turnover === undefined || k.turnover === '' ? NaN : num(k.turnover, 'kline turnover'),
  };
}

/** Why a closed candle cannot be used (OHLC inconsistent, not aligned to the interval), or undefined. */
export function badCandle(c: Candle, interval: Interval): string | undefined {
  if (![c.open, c.high, c.low, c.close].every((x) => Number.isFinite(x) && x > 0)) return 'a price is not a positive number';
  if (c.high < Math.max(c.open, c.close, c.low) || c.low > Math.min(c.open, c.close, c.high)) return `high ${c.high} / low ${c.low} do not contain open ${c.open} and close ${c.close}`;
  if (!(c.volume >= 0)) return `volume ${c.volume}`;
  if (intervalStart(interval, c.openTime) !== c.openTime) return `open time ${new Date(c.openTime).toISOString()} is not aligned to the interval`;
  return undefined;
}

export interface WirePosition {
  symbol?: string;
  side?: string;
  size?: string;
  avgPrice?: string;
  entryPrice?: string;
  takeProfit?: string;
  stopLoss?: string;
  unrealisedPnl?: string;
  positionIdx?: number;
  createdTime?: string;
  updatedTime?: string;
}

/** A REST position row or a WS position item (REST says avgPrice, WS entryPrice). */
export function wirePosition(p: WirePosition): Position {
  const size = decimal(p.size ?? '0', 'position size');
  if (size.isZero() || !p.side) return { side: 'flat', qty: ZERO, entryPrice: ZERO };
  if (p.side !== 'Buy' && p.side !== 'Sell') throw new ExchangeError(`unexpected position side from the exchange: ${JSON.stringify(p.side)}`);
  const entry = decimal(p.entryPrice ?? p.avgPrice ?? '0', 'position entry price');
  const tp = p.takeProfit && p.takeProfit !== '0' ? decimal(p.takeProfit, 'take profit') : undefined;
  const sl = p.stopLoss && p.stopLoss !== '0' ? decimal(p.stopLoss, 'stop loss') : undefined;
  return { side: p.side === 'Buy' ? 'long' : 'short', qty: size, entryPrice: entry, takeProfit: tp, stopLoss: sl, openedAt: p.createdTime ? Number(p.createdTime) : undefined };
}

export interface WireExecution {
  symbol?: string;
  orderId?: string;
  orderLinkId?: string;
  side?: string;
  execId?: string;
  execPrice?: string;
  execQty?: string;
  execFee?: string;
  execTime?: string;
  execType?: string;
  closedSize?: string;
  stopOrderType?: string;
  createType?: string;
  execPnl?: string;
  feeRate?: string;
  isMaker?: boolean;
}

export interface Execution {
  readonly id: string;
  readonly orderId: string;
  readonly orderLinkId: string;
  readonly side: 'Buy' | 'Sell';
  readonly price: Dec;
  readonly qty: Dec;
  readonly fee: Dec;
  readonly time: number;
  readonly type: string;
  readonly closedSize: Dec;
  /** 'TakeProfit' | 'StopLoss' | '' ... */
  readonly stopOrderType: string;
  readonly createType: string;
  readonly maker: boolean;
}

export function wireExecution(e: WireExecution): Execution {
  return {
    id: String(e.execId ?? ''),
    orderId: String(e.orderId ?? ''),
    orderLinkId: String(e.orderLinkId ?? ''),
    side: e.side === 'Sell' ? 'Sell' : 'Buy',
    price: decimal(e.execPrice ?? '0', 'execution price'),
    qty: decimal(e.execQty ?? '0', 'execution qty'),
    fee: decimal(e.execFee ?? '0', 'execution fee'),
    time: num(e.execTime ?? 0, 'execution time'),
    type: String(e.execType ?? 'Trade'),
    closedSize: decimal(e.closedSize ?? '0', 'closed size'),
    stopOrderType: String(e.stopOrderType ?? ''),
    createType: String(e.createType ?? ''),
    maker: e.isMaker === true,
  };
}

export interface WireInstrument {
  symbol?: string;
  priceFilter?: { tickSize?: string };
  lotSizeFilter?: { qtyStep?: string; minOrderQty?: string; minNotionalValue?: string; maxMktOrderQty?: string; maxOrderQty?: string };
}

export function wireInstrument(i: WireInstrument, category: string, source: string): InstrumentRules {
  const lot = i.lotSizeFilter ?? {};
  return {
    symbol: String(i.symbol),
    category,
    tickSize: decimal(i.priceFilter?.tickSize ?? '', 'tick size'),
    qtyStep: decimal(lot.qtyStep ?? '', 'qty step'),
    minQty: decimal(lot.minOrderQty ?? '', 'min order qty'),
    minNotional: decimal(lot.minNotionalValue ?? '0', 'min notional'),
    maxQty: lot.maxMktOrderQty ? decimal(lot.maxMktOrderQty, 'max market qty') : undefined,
    source,
  };
}
