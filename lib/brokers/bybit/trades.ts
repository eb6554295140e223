/**
 * Trades from the exchange's executions: the open trade a live session builds fill by fill, the trade it
 * closes into (through the one accounting, lib/core/accounting.ts), and the catch-up a restart runs over
 * the executions since the journal's last record, so that a trade closed while pyr was not running is
 * recorded with its real fills and fees. Pure: no network, no clock.
 */
import {
  AccountingError,
  ZERO,
  amountsOf,
  legOf,
  tradeFromFills,
  tradeFromLegs,
  type Leg,
  type Dec,
  type ExitReason,
  type Fill,
  type OrderRequest,
  type Position,
  type PositionSide,
  type Trade,
} from '../../core/index.ts';
import type { Execution } from './mapping.ts';

export interface OpenTrade {
  side: PositionSide;
  signalTime: number;
  entryReason: string;
  entryFills: Execution[];
  exitFills: Execution[];
  funding: Dec;
  stopLoss?: Dec;
  takeProfit?: Dec;
  /** Position as first seen (entry price and size) when its entry fills are unknown (an adopted position). */
  seen?: Position;
  /** pyr's entry order, when known (its placement gives entryOrderType). */
  entryOrder?: OrderRequest;
  /** Parts already closed (a position closed in parts: partial targets, partial exits). */
  parts?: number;
  /** The qty closed by those parts, and the entry fee and funding they took. */
  closedQty?: Dec;
  entryFeeTaken?: Dec;
  fundingTaken?: Dec;
  /** The trade id of the position's first row (its `positionId`). */
  positionId?: number;
}

/** The open trade's entry leg (all its entry fills, or the position as first seen). */
function entryLegOf(open: OpenTrade): Leg | undefined {
  if (open.entryFills.length > 0) return legOf(open.entryFills, `the ${open.side} trade's entry fills`);
  const seen = open.seen;
  return seen && seen.side !== 'flat' ? { qty: seen.qty, price: seen.entryPrice, fee: ZERO } : undefined;
}

/** The qty still open of a trade (its entry less the parts closed). */
export function openQty(open: OpenTrade): Dec {
  const leg = entryLegOf(open);
  return leg ? leg.qty.sub(open.closedQty ?? ZERO) : ZERO;
}

const orderTypeOf = (o?: OrderRequest) => o?.order?.type ?? 'market';

/**
 * A part of the position closed by one exit execution that leaves some of it open (a partial target,
 * a partial exit): one trade row, as the simulator writes it: the part's qty at the entry price, its
 * share of the entry fee and the funding (qty / qty open). Updates the open trade.
 */
export function partTrade(open: OpenTrade, e: Execution, c: CloseContext): Trade | undefined {
  const entry = entryLegOf(open);
  if (!entry) return undefined;
  const left = entry.qty.sub(open.closedQty ?? ZERO);
  const feeLeft = entry.fee.sub(open.entryFeeTaken ?? ZERO);
  const fundingLeft = open.funding.sub(open.fundingTaken ?? ZERO);
  const q = e.qty;
  const fee = feeLeft.mul(q).div(left);
  const funding = fundingLeft.mul(q).div(left);
  const a = tradeFromLegs(open.side, { qty: q, price: entry.price, fee }, { qty: q, price: e.price, fee: e.fee }, funding);
  open.parts = (open.parts ?? 0) + 1;
  open.closedQty = (open.closedQty ?? ZERO).add(q);
  open.entryFeeTaken = (open.entryFeeTaken ?? ZERO).add(fee);
  open.fundingTaken = (open.fundingTaken ?? ZERO).add(funding);
  open.positionId ??= c.id;
  const candleOf = (t: number) => Math.floor(t / c.intervalMs) * c.intervalMs;
  const reason = exitReasonOf(e, (id) => c.exitOrder(id) !== undefined);
  const firstEntry = open.entryFills[0];
  return {
    id: c.id,
    side: open.side,
    signalTime: open.signalTime,
    entryTime: firstEntry ? candleOf(firstEntry.time) : open.signalTime,
    exitTime: candleOf(e.time),
    ...amountsOf(a),
    stopLoss: open.stopLoss,
    takeProfit: open.takeProfit,
    exitReason: reason,
    entryReason: open.entryReason,
    exitDetail: reason === 'signal' ? (c.exitOrder(e.orderLinkId)?.reason ?? 'exit signal') : `closed by the exchange (${e.stopOrderType || e.createType || e.type})`,
    ambiguous: false,
    qtyRaisedToMin: false,
    positionId: open.positionId,
    entryOrderType: orderTypeOf(open.entryOrder),
    entryLiquidity: firstEntry?.maker ? 'maker' : 'taker',
    exitLiquidity: e.maker ? 'maker' : 'taker',
  };
}

/** What the journal of earlier sessions tells a restart (see liveStateFromJournal in lib/engine/journal.ts). */
export interface BrokerRestore {
  /** Every order earlier sessions sent, by client order id. */
  readonly orders: ReadonlyMap<string, OrderRequest>;
  /** Fills journaled up to the last closed trade (skipped) and after it (applied, not journaled again). */
  readonly settledFills: ReadonlySet<string>;
  readonly openFills: ReadonlySet<string>;
  /** Market time from which to read the exchange's executions; undefined: nothing to catch up. */
  readonly since: number | undefined;
}

/** A fill's identity across the journal and the exchange (the same text as the journal's fillKey). */
export function executionKey(e: Execution): string {
  return `${e.orderLinkId || e.orderId}|${e.time}|${e.qty.toFixed()}|${e.price.toFixed()}`;
}

export function isExit(e: Execution): boolean {
  return e.closedSize.gt(0);
}

/** Why a position closed, from its last exit fill. `signalExits` holds the client ids of pyr's exit orders. */
export function exitReasonOf(e: Execution, isSignalExit: (orderLinkId: string) => boolean): ExitReason {
  if (e.stopOrderType === 'TrailingStop' || e.createType === 'CreateByTrailingStop') return 'trailing_stop';
  if (e.stopOrderType === 'TakeProfit' || e.stopOrderType === 'PartialTakeProfit' || e.createType === 'CreateByTakeProfit' || e.createType === 'CreateByPartialTakeProfit') return 'take_profit';
  if (e.stopOrderType === 'StopLoss' || e.stopOrderType === 'PartialStopLoss' || e.createType === 'CreateByStopLoss' || e.createType === 'CreateByPartialStopLoss') return 'stop_loss';
  if (e.createType === 'CreateByLiq' || e.type === 'BustTrade' || e.type === 'AdlTrade') return 'liquidation';
  if (isSignalExit(e.orderLinkId)) return 'signal';
  return 'manual';
}

/** The core fill of an execution. */
export function fillOf(e: Execution, isSignalExit: (orderLinkId: string) => boolean): Fill {
  const purpose = isExit(e) ? 'exit' : 'entry';
  return {
    orderId: e.orderLinkId || e.orderId,
    time: e.time,
    side: e.side,
    qty: e.qty,
    price: e.price,
    fee: e.fee,
    liquidity: e.maker ? 'maker' : 'taker',
    purpose,
    exitReason: purpose === 'exit' ? exitReasonOf(e, isSignalExit) : undefined,
  };
}

export interface CloseContext {
  readonly id: number;
  readonly intervalMs: number;
  /** The reason of pyr's exit order, by client id (signal exits). */
  readonly exitOrder: (orderLinkId: string) => OrderRequest | undefined;
  /** Prefixed to the exchange's own wording: e.g. "closed while pyr was not running". */
  readonly note?: string;
}

/** The trade an open trade closes into, or why it cannot be built. */
export function closeTrade(open: OpenTrade, side: PositionSide, c: CloseContext): { trade: Trade } | { error: string } {
  if (open.exitFills.length === 0) return { error: `the ${side} position closed but its exit fills could not be found; the trade is not recorded` };
  const seen = open.seen;
  const entryFills = open.entryFills.length > 0 ? open.entryFills : seen && seen.side !== 'flat' ? [{ qty: seen.qty, price: seen.entryPrice, fee: ZERO }] : [];
  let a;
  try {
    if ((open.parts ?? 0) > 0) {
      // The last part of a position closed in parts: what is left of the entry, its fee and funding.
      const entry = legOf(entryFills, `the ${side} trade's entry fills`);
      const exit = legOf(open.exitFills, `the ${side} trade's exit fills`);
      a = tradeFromLegs(side, { qty: exit.qty, price: entry.price, fee: entry.fee.sub(open.entryFeeTaken ?? ZERO) }, exit, open.funding.sub(open.fundingTaken ?? ZERO));
    } else a = tradeFromFills({ side, entryFills, exitFills: open.exitFills, funding: open.funding });
  } catch (err) {
    if (!(err instanceof AccountingError)) throw err;
    return { error: `the ${side} position closed but its fills do not make a trade (${err.message}); the trade is not recorded` };
  }
  const candleOf = (t: number) => Math.floor(t / c.intervalMs) * c.intervalMs;
  const last = open.exitFills[open.exitFills.length - 1]!;
  const firstEntry = open.entryFills[0];
  const reason = exitReasonOf(last, (id) => c.exitOrder(id) !== undefined);
  const exchangeSays = `closed by the exchange (${last.stopOrderType || last.createType || last.type})`;
  const detail = reason === 'signal' ? (c.exitOrder(last.orderLinkId)?.reason ?? 'exit signal') : exchangeSays;
  return {
    trade: {
      id: c.id,
      side,
      signalTime: open.signalTime,
      entryTime: firstEntry ? candleOf(firstEntry.time) : open.signalTime,
      exitTime: candleOf(last.time),
      ...amountsOf(a),
      stopLoss: open.stopLoss,
      takeProfit: open.takeProfit,
      exitReason: reason,
      entryReason: open.entryReason,
      exitDetail: c.note ? `${c.note}: ${detail}` : detail,
      ambiguous: false,
      qtyRaisedToMin: false,
      positionId: open.positionId ?? c.id,
      entryOrderType: orderTypeOf(open.entryOrder),
      entryLiquidity: firstEntry?.maker ? 'maker' : 'taker',
      exitLiquidity: last.maker ? 'maker' : 'taker',
    },
  };
}

export interface CatchUp {
  /** Fills not yet in the journal, in time order (to journal). */
  readonly fills: Fill[];
  /** Trades that closed within the executions read, in order. */
  readonly trades: Trade[];
  /** The trade still open after them, if any. */
  readonly open: OpenTrade | undefined;
  /** The position the executions add up to (long > 0, short < 0). */
  readonly net: Dec;
  /** Exits that match no open trade (the journal's earlier state was wrong, or the executions start late). */
  readonly strays: number;
}

/**
 * Replays the exchange's executions since the journal's last record (oldest first): entries open a trade
 * (its signal and reason from the order the journal holds, by client order id, never guessed from a
 * side), exits and funding add to it, and a trade whose exits bring the position back to zero is closed
 * into a trade marked "closed while pyr was not running". Fills the journal already holds are applied but
 * not returned again; fills it had settled (before its last trade) are skipped.
 */
export function catchUp(execs: readonly Execution[], restore: BrokerRestore, o: { firstId: number; intervalMs: number; exitOrder: (id: string) => OrderRequest | undefined }): CatchUp {
  const fills: Fill[] = [];
  const trades: Trade[] = [];
  let open: OpenTrade | undefined;
  let net = ZERO;
  let strays = 0;
  let id = o.firstId;
  const isSignalExit = (linkId: string) => o.exitOrder(linkId) !== undefined;
  for (const e of execs) {
    if (e.type === 'Funding') {
      if (open) open.funding = open.funding.add(e.fee);
      continue;
    }
    if (e.type !== 'Trade') continue;
    const key = executionKey(e);
    if (restore.settledFills.has(key)) continue;
    if (!restore.openFills.has(key)) fills.push(fillOf(e, isSignalExit));
    const signed = e.side === 'Buy' ? e.qty : e.qty.neg();
    if (!isExit(e)) {
      if (!open) {
        const order = restore.orders.get(e.orderLinkId);
        open = {
          side: e.side === 'Buy' ? 'long' : 'short',
          signalTime: order?.signalTime ?? Math.floor(e.time / o.intervalMs) * o.intervalMs,
          entryReason: order?.reason ?? 'opened outside pyr',
          entryFills: [],
          exitFills: [],
          funding: ZERO,
        };
      }
      open.entryFills.push(e);
      net = net.add(signed);
      continue;
    }
    if (!open) {
      strays++;
      continue;
    }
    open.exitFills.push(e);
    net = net.add(signed);
    if (net.isZero()) {
      const out = closeTrade(open, open.side, { id: id + 1, intervalMs: o.intervalMs, exitOrder: o.exitOrder, note: 'closed while pyr was not running' });
      if ('trade' in out) {
        id++;
        trades.push(out.trade);
      }
      open = undefined;
    }
  }
  return { fills, trades, open, net, strays };
}
