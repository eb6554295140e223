/**
 * The account side of the sandbox: the position record, closed-PnL records, and the figures derived from
 * them that Bybit shows (break-even price, a liquidation price estimate, closed-PnL rows).
 */
import { D, type Dec } from '../core/money.ts';
import type { SandboxInstrument } from './instrument.ts';
import { type Obj, type Side, fmt } from './orders.ts';

const ONE = new D(1);

export interface Position {
  side: Side | '';
  size: Dec;
  entryPrice: Dec;
  /** Opening fees of the part still open (its share goes into closed PnL when that part closes). */
  openFee: Dec;
  takeProfit: Dec;
  stopLoss: Dec;
  trailingStop: Dec;
  activePrice: Dec;
  tpTriggerBy: string;
  slTriggerBy: string;
  tpOrderId?: string;
  slOrderId?: string;
  tsOrderId?: string;
  curRealisedPnl: Dec;
  cumRealisedPnl: Dec;
  createdTime: number;
  updatedTime: number;
  openTime: number;
  seq: number;
}

export interface ClosedPnl {
  readonly orderId: string;
  readonly side: Side;
  readonly qty: Dec;
  readonly orderPrice: Dec;
  readonly orderType: string;
  readonly closedSize: Dec;
  readonly cumEntryValue: Dec;
  readonly cumExitValue: Dec;
  readonly openFee: Dec;
  readonly closeFee: Dec;
  readonly closedPnl: Dec;
  readonly leverage: Dec;
  readonly createdTime: number;
  readonly updatedTime: number;
}

/** Price where closing (with the taker fee) returns the opening fee: long e' = (e + f) / (1 - r). */
export function breakEvenPrice(pos: Position, takerFeeRate: Dec): Dec {
  const feePerUnit = pos.openFee.div(pos.size);
  return pos.side === 'Buy'
    ? pos.entryPrice.plus(feePerUnit).div(ONE.minus(takerFeeRate))
    : pos.entryPrice.minus(feePerUnit).div(ONE.plus(takerFeeRate));
}

/** Cross-margin estimate: the price where equity falls to maintenance margin ("" when there is none). */
export function liqPriceEstimate(pos: Position, balance: Dec, ins: SandboxInstrument): string {
  const m = ins.maintenanceMarginRate;
  const other = balance; // wallet balance backs the position (cross margin)
  const s = pos.size;
  const e = pos.entryPrice;
  const p = pos.side === 'Buy' ? e.mul(s).minus(other).div(s.mul(ONE.minus(m))) : other.plus(e.mul(s)).div(s.mul(ONE.plus(m)));
  if (p.lte(0)) return '';
  return p.toDecimalPlaces(ins.priceScale).toFixed();
}

/** A position/closed-pnl row. */
export function closedPnlRow(c: ClosedPnl, symbol: string): Obj {
  return {
    symbol, orderId: c.orderId, side: c.side, qty: fmt(c.qty), orderPrice: fmt(c.orderPrice), orderType: c.orderType,
    execType: 'Trade', closedSize: fmt(c.closedSize), cumEntryValue: fmt(c.cumEntryValue), avgEntryPrice: fmt(c.cumEntryValue.div(c.closedSize)),
    cumExitValue: fmt(c.cumExitValue), avgExitPrice: fmt(c.cumExitValue.div(c.closedSize)), closedPnl: fmt(c.closedPnl),
    openFee: fmt(c.openFee), closeFee: fmt(c.closeFee), fillCount: '1', leverage: fmt(c.leverage),
    createdTime: String(c.createdTime), updatedTime: String(c.updatedTime),
  };
}
