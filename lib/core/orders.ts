import type { Dec } from './money.ts';

export type PositionSide = 'long' | 'short';
export type Side = 'Buy' | 'Sell';

/** A stop loss or take profit: a fraction of the entry fill price, or an absolute price. */
export type PriceLevel = { readonly pct: number } | { readonly price: number };

/** How much to trade: a quote (USDT) amount, or a base quantity. */
export type Size = { readonly unit: 'quote'; readonly amount: number } | { readonly unit: 'base'; readonly qty: number };

/**
 * What a strategy wants. It never places orders: the engine turns intents into orders through one pure
 * function, the same in backtest and live.
 */
export type Intent =
  | {
      readonly kind: 'enter';
      readonly side: PositionSide;
      readonly size: Size;
      readonly stopLoss?: PriceLevel;
      readonly takeProfit?: PriceLevel;
      readonly reason: string;
    }
  | { readonly kind: 'exit'; readonly reason: string };

/** Why a position was closed. */
export type ExitReason = 'signal' | 'stop_loss' | 'take_profit' | 'end_of_data' | 'manual' | 'liquidation';

/**
 * An order for a broker. `size` is still in the intent's unit: the broker turns it into a quantity with
 * `sizeQty` at the price it fills (sim) or sends at (live), using the same rounding rules.
 */
export interface OrderRequest {
  /** Unique client order id (Bybit's orderLinkId). */
  readonly id: string;
  readonly purpose: 'entry' | 'exit';
  readonly side: Side;
  readonly positionSide: PositionSide;
  /** For an exit: the whole position (`undefined`). */
  readonly size?: Size;
  readonly reduceOnly: boolean;
  readonly stopLoss?: PriceLevel;
  readonly takeProfit?: PriceLevel;
  readonly reason: string;
  /** Open time of the candle whose close decided this order. */
  readonly signalTime: number;
  /**
   * An entry decided on the same candle as an exit (a reversal): the id of that exit. The broker sends
   * this entry only once the exit has left the position flat, and refuses it if the exit did not.
   */
  readonly afterExit?: string;
}

/** One execution. */
export interface Fill {
  readonly orderId: string;
  /** Epoch ms: in the simulator the open time of the candle it filled in. */
  readonly time: number;
  readonly side: Side;
  readonly qty: Dec;
  readonly price: Dec;
  readonly fee: Dec;
  readonly liquidity: 'taker' | 'maker';
  readonly purpose: 'entry' | 'exit';
  readonly exitReason?: ExitReason;
}

/** The open position as the broker knows it (in live mode: as the exchange's position stream says). */
export interface Position {
  readonly side: PositionSide | 'flat';
  readonly qty: Dec;
  readonly entryPrice: Dec;
  readonly stopLoss?: Dec;
  readonly takeProfit?: Dec;
  /** Open time of the candle the entry filled in (sim), or the exchange's time (live). */
  readonly openedAt?: number;
}

/** A round trip, closed. */
export interface Trade {
  readonly id: number;
  readonly side: PositionSide;
  readonly signalTime: number;
  readonly entryTime: number;
  readonly exitTime: number;
  readonly entryPrice: Dec;
  readonly exitPrice: Dec;
  readonly qty: Dec;
  readonly stopLoss?: Dec;
  readonly takeProfit?: Dec;
  readonly exitReason: ExitReason;
  readonly entryFee: Dec;
  readonly exitFee: Dec;
  readonly fees: Dec;
  /** Funding paid (positive) or received (negative) while the trade was open. */
  readonly funding: Dec;
  readonly grossPnl: Dec;
  /** grossPnl - fees - funding. */
  readonly netPnl: Dec;
  readonly entryReason: string;
  readonly exitDetail: string;
  /** The exit candle touched both stop and target; the simulator assumed the stop. */
  readonly ambiguous: boolean;
  /** For an ambiguous exit: the net PnL had the target filled first. */
  readonly netPnlIfTargetFirst?: Dec;
  /** The entry qty was raised to the instrument's minimum. */
  readonly qtyRaisedToMin: boolean;
}
