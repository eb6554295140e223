import type { Dec } from './money.ts';

export type PositionSide = 'long' | 'short';
export type Side = 'Buy' | 'Sell';

/** A stop loss or take profit: a fraction of the entry fill price, or an absolute price. */
export type PriceLevel = { readonly pct: number } | { readonly price: number };

/** How much to trade: a quote (USDT) amount, or a base quantity. */
export type Size = { readonly unit: 'quote'; readonly amount: number } | { readonly unit: 'base'; readonly qty: number };

/** One partial target: a level and the fraction of the entered qty it closes. */
export type TargetPart = ({ readonly pct: number } | { readonly price: number }) & { readonly fraction: number };

/** A take profit: one level for the whole position, or partial targets whose fractions sum to at most 1. */
export type TakeProfit = PriceLevel | readonly TargetPart[];

/**
 * A trailing stop: a fraction of the price or a price distance behind the best price since activation
 * (long: the highest price minus the distance). `activation.pct` is measured from the fill price in the
 * trade's favour; without it the stop trails from the fill.
 */
export type TrailingStop = ({ readonly pct: number } | { readonly distance: number }) & { readonly activation?: { readonly pct: number } };

/**
 * How an entry is placed. `price` and `trigger` are an absolute price or a `pct` of the deciding
 * candle's close: a limit's in the trader's favour (below the close for a long), a stop's beyond the
 * close in the trade's direction. `expiresAfter` counts closed candles after the decision.
 */
export type EntryOrder =
  | { readonly type: 'market' }
  | { readonly type: 'limit'; readonly price: PriceLevel; readonly postOnly?: boolean; readonly expiresAfter?: number }
  | { readonly type: 'stop'; readonly trigger: PriceLevel };

/** How an exit is placed: at market (the default) or with a limit (`pct` in the trader's favour). */
export type ExitOrder =
  | { readonly type: 'market' }
  | { readonly type: 'limit'; readonly price: PriceLevel; readonly postOnly?: boolean; readonly expiresAfter?: number };

/**
 * What a strategy wants. It never places orders: the engine turns intents into orders through one pure
 * function, the same in backtest and live.
 */
export type Intent =
  | {
      readonly kind: 'enter';
      readonly side: PositionSide;
      readonly size: Size;
      readonly order?: EntryOrder;
      readonly stopLoss?: PriceLevel;
      readonly takeProfit?: TakeProfit;
      readonly trailingStop?: TrailingStop;
      readonly reason: string;
    }
  | { readonly kind: 'exit'; readonly fraction?: number; readonly order?: ExitOrder; readonly reason: string }
  | { readonly kind: 'cancel'; readonly reason: string }
  | {
      readonly kind: 'amend';
      /** `pct` is measured from the position's entry price. */
      readonly stopLoss?: PriceLevel;
      readonly takeProfit?: TakeProfit;
      readonly trailingStop?: TrailingStop;
      readonly reason?: string;
    };

/** Why a position (or a part of it) was closed. */
export type ExitReason = 'signal' | 'stop_loss' | 'take_profit' | 'trailing_stop' | 'end_of_data' | 'manual' | 'liquidation';

/** The order types of an entry, as trades.csv's `entryOrderType` writes them. */
export type OrderType = 'market' | 'limit' | 'stop';
export type Liquidity = 'taker' | 'maker';

/**
 * An entry's or exit's placement as a broker receives it: prices already absolute (resolved from the
 * deciding close and rounded to the tick by `intentToOrder`). Absent on an OrderRequest: a market order.
 */
export type OrderPlacement =
  | { readonly type: 'market' }
  | { readonly type: 'limit'; readonly price: Dec; readonly postOnly: boolean; readonly expiresAfter?: number }
  | { readonly type: 'stop'; readonly trigger: Dec };

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
  /** One take-profit level for the whole position (partial targets are in `targets`). */
  readonly takeProfit?: PriceLevel;
  /** Partial targets (an entry whose takeProfit is a list): each part closes its fraction of the entered qty. */
  readonly targets?: readonly TargetPart[];
  readonly trailingStop?: TrailingStop;
  /** How the order is placed; absent = at market (every order before issue 12). */
  readonly order?: OrderPlacement;
  /** An exit of part of the position: the fraction of the open qty, rounded down to the qty step. */
  readonly fraction?: number;
  readonly reason: string;
  /** Open time of the candle whose close decided this order. */
  readonly signalTime: number;
  /**
   * An entry decided on the same candle as an exit (a reversal): the id of that exit. The broker sends
   * this entry only once the exit has left the position flat, and refuses it if the exit did not.
   */
  readonly afterExit?: string;
}

/** Cancels a resting order (the strategy's pending entry, or an expired order). */
export interface CancelRequest {
  readonly kind: 'cancel';
  /** The id of the order to cancel. */
  readonly orderId: string;
  readonly reason: string;
  readonly signalTime: number;
}

/**
 * Moves the open position's levels. A field left out keeps its level; prices are absolute (rounded to
 * the tick); `targets` replace the targets still open, their fractions of the qty still open.
 */
export interface AmendRequest {
  readonly kind: 'amend';
  /** Client id of the amendment (journal, orderLinkId of any order it places). */
  readonly id: string;
  readonly positionSide: PositionSide;
  readonly stopLoss?: Dec;
  readonly takeProfit?: Dec;
  readonly targets?: readonly { readonly price: Dec; readonly fraction: number }[];
  /** Trailing distance as a price, and the activation price (absent: active at once). */
  readonly trailingStop?: { readonly distance: Dec; readonly activation?: Dec };
  readonly reason: string;
  readonly signalTime: number;
}

/** What `ctx.orders` and `Broker.orders()` show: an order resting at the broker, not filled yet. */
export interface PendingOrder {
  readonly id: string;
  /** entry / exit: orders the strategy placed; stop_loss, trailing_stop, take_profit: the position's levels. */
  readonly role: 'entry' | 'exit' | 'stop_loss' | 'trailing_stop' | 'take_profit';
  readonly type: OrderType;
  readonly side: Side;
  readonly positionSide: PositionSide;
  /** A limit's price or a level's price (the trailing stop's current one; undefined before activation). */
  readonly price?: Dec;
  /** A stop entry's trigger. */
  readonly trigger?: Dec;
  /** Known once sized (a level's part, a resting exit); undefined for an entry sized at its fill. */
  readonly qty?: Dec;
  readonly postOnly?: boolean;
  /** Open time of the candle whose close decided it. */
  readonly signalTime: number;
  readonly expiresAfter?: number;
  readonly reason: string;
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
  /** How the order that filled was placed (absent: market). */
  readonly orderType?: OrderType;
}

/** The open position as the broker knows it (in live mode: as the exchange's position stream says). */
export interface Position {
  readonly side: PositionSide | 'flat';
  readonly qty: Dec;
  readonly entryPrice: Dec;
  readonly stopLoss?: Dec;
  readonly takeProfit?: Dec;
  /** The trailing stop's current price, once active. */
  readonly trailingStop?: Dec;
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
  /** The exit candle touched both stop and target after the entry; the simulator assumed the stop (intrabar 'stop-first'). */
  readonly ambiguous: boolean;
  /** For an ambiguous exit: the net PnL had the target filled first. */
  readonly netPnlIfTargetFirst?: Dec;
  /** The entry qty was raised to the instrument's minimum. */
  readonly qtyRaisedToMin: boolean;
  /** The position this row closes (part of): shared by the rows of a position closed in parts. Absent: `id`. */
  readonly positionId?: number;
  /** How the entry was placed (absent: market). */
  readonly entryOrderType?: OrderType;
  /** Whether the entry paid the maker or the taker fee (absent: taker). */
  readonly entryLiquidity?: Liquidity;
  /** Whether this row's exit paid the maker or the taker fee (absent: taker). */
  readonly exitLiquidity?: Liquidity;
}
