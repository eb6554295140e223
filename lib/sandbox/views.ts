/**
 * Public market data in Bybit's wire shapes, shared by the REST router and the WebSocket hub.
 */
import { dec } from '../core/money.ts';
import type { SandboxInstrument } from './instrument.ts';
import type { Bar, MarketReplay } from './market.ts';

type Obj = Record<string, unknown>;

const HOUR = 3_600_000;

/** A float from the candle file as Bybit prints it (shortest exact decimal, no exponent). */
export function num(x: number): string {
  if (!Number.isFinite(x)) return '0';
  const s = String(x);
  return /e/i.test(s) ? dec(s).toFixed() : s;
}

/** A derived float (pro-rated volume) rounded to `decimals`, trailing zeros trimmed. */
export function rounded(x: number, decimals: number): string {
  if (!Number.isFinite(x)) return '0';
  return dec(x.toFixed(decimals)).toFixed();
}

/** REST kline row: [startTime, open, high, low, close, volume, turnover], all strings. */
export function klineRow(b: Bar, qtyDecimals: number): string[] {
  const vol = b.confirm ? num(b.volume) : rounded(b.volume, qtyDecimals);
  const turnover = Number.isFinite(b.turnover) ? (b.confirm ? num(b.turnover) : rounded(b.turnover, 4)) : '0';
  return [String(b.start), num(b.open), num(b.high), num(b.low), num(b.close), vol, turnover];
}

/** WS kline item. `start`, `end`, `timestamp` are numbers, prices strings. */
export function klineItem(b: Bar, interval: string, timestamp: number, qtyDecimals: number): Obj {
  const [, open, high, low, close, volume, turnover] = klineRow(b, qtyDecimals);
  return { start: b.start, end: b.end, interval, open, close, high, low, volume, turnover, confirm: b.confirm, timestamp };
}

/** Linear ticker (REST list item and WS snapshot data). Mark and index price equal the last price. */
export function tickerView(m: MarketReplay, ins: SandboxInstrument, qtyDecimals: number): Obj {
  const s = m.series;
  const now = m.now();
  const last = m.price();
  const i24 = m.indexAt(now - 24 * HOUR);
  const i1 = m.indexAt(now - HOUR);
  const prev24 = i24 >= 0 ? s.open[i24]! : s.open[0]!;
  const prev1 = i1 >= 0 ? s.open[i1]! : s.open[0]!;
  let high = -Infinity;
  let low = Infinity;
  let volume = 0;
  let turnover = 0;
  for (let i = Math.max(0, i24); i <= m.currentIndex(); i++) {
    const b = m.bar(i);
    high = Math.max(high, b.high);
    low = Math.min(low, b.low);
    volume += b.volume;
    if (Number.isFinite(b.turnover)) turnover += b.turnover;
  }
  const nf = m.nextFunding();
  const period = ins.fundingIntervalMin * 60_000;
  const nextFundingTime = nf ? nf.time : Math.floor(now / period) * period + period;
  const tick = dec(ins.tickSize);
  const lastD = dec(num(last));
  return {
    symbol: ins.symbol,
    tickDirection: 'ZeroPlusTick',
    price24hPcnt: dec(num(last)).div(dec(num(prev24))).minus(1).toDecimalPlaces(6).toFixed(),
    lastPrice: num(last),
    prevPrice24h: num(prev24),
    highPrice24h: num(high),
    lowPrice24h: num(low),
    prevPrice1h: num(prev1),
    markPrice: num(last),
    indexPrice: num(last),
    openInterest: '0',
    openInterestValue: '0',
    turnover24h: rounded(turnover, 4),
    volume24h: rounded(volume, qtyDecimals),
    fundingRate: nf ? nf.rate : m.hasFunding() ? '0' : '0.0001',
    nextFundingTime: String(nextFundingTime),
    predictedDeliveryPrice: '',
    basisRate: '',
    basis: '',
    deliveryFeeRate: '',
    deliveryTime: '0',
    fundingIntervalHour: String(ins.fundingIntervalMin / 60),
    fundingCap: '0.005',
    bid1Price: lastD.toFixed(),
    bid1Size: '1',
    ask1Price: lastD.plus(tick).toFixed(),
    ask1Size: '1',
    preOpenPrice: '',
    preQty: '',
    curPreListingPhase: '',
  };
}

/** instruments-info item for a linear perpetual. */
export function instrumentView(ins: SandboxInstrument, launchTime: number): Obj {
  const qd = ins.qtyStep.decimalPlaces();
  const p = (d: ReturnType<typeof dec>): string => d.toFixed(ins.priceScale);
  const q = (d: ReturnType<typeof dec>): string => d.toFixed(qd);
  return {
    symbol: ins.symbol,
    contractType: 'LinearPerpetual',
    status: 'Trading',
    baseCoin: ins.baseCoin,
    quoteCoin: ins.quoteCoin,
    symbolType: '',
    launchTime: String(launchTime),
    deliveryTime: '0',
    deliveryFeeRate: '',
    priceScale: String(ins.priceScale),
    leverageFilter: { minLeverage: ins.minLeverage.toFixed(), maxLeverage: ins.maxLeverage.toFixed(2), leverageStep: ins.leverageStep.toFixed(2) },
    priceFilter: { minPrice: p(ins.minPrice), maxPrice: p(ins.maxPrice), tickSize: p(ins.tickSize) },
    lotSizeFilter: {
      maxOrderQty: q(ins.maxOrderQty),
      minOrderQty: q(ins.minOrderQty),
      qtyStep: q(ins.qtyStep),
      postOnlyMaxOrderQty: q(ins.maxOrderQty),
      maxMktOrderQty: q(ins.maxMktOrderQty),
      minNotionalValue: ins.minNotionalValue.toFixed(),
    },
    unifiedMarginTrade: true,
    fundingInterval: ins.fundingIntervalMin,
    settleCoin: ins.quoteCoin,
    copyTrading: 'both',
    upperFundingRate: '0.005',
    lowerFundingRate: '-0.005',
    isPreListing: false,
    preListingInfo: null,
    riskParameters: { priceLimitRatioX: '0.05', priceLimitRatioY: '0.1' },
    displayName: '',
  };
}
