import type { Candle } from './candle.ts';
import type { InstrumentRules } from './instrument.ts';
import type { AmendRequest, CancelRequest, Fill, OrderRequest, PendingOrder, Position, Trade } from './orders.ts';

/** Order features of issue 12 a broker may support (`Broker.features`). */
export type OrderFeature = 'limit' | 'postOnly' | 'stop' | 'trailingStop' | 'partialTargets' | 'partialExit' | 'limitExit' | 'cancel' | 'amend';

/**
 * What a broker tells the engine. For the orders of issue 12:
 * - `order`: an order is resting (a limit or stop entry placed, a limit exit placed, an amended level);
 * - `fill`: an execution; a partial fill is a fill with less than the order's qty, followed by an
 *   `order` event with what rests (the simulator fills limits whole);
 * - `cancelled`: a resting order went away unfilled (a cancel, an expiry, the position it reduced
 *   closed, or the exchange's own cancel); the engine stops counting its expiry;
 * - `rejected`: an order was refused (a post-only limit that would cross at placement), with the order;
 * - `amend-rejected`: an amendment was refused (a level on the wrong side of the price);
 * - a cancel of an order that is no longer open (filled or cancelled already) is a `notice`.
 */
export type BrokerEvent =
  | { readonly type: 'fill'; readonly fill: Fill }
  | { readonly type: 'order'; readonly order: PendingOrder }
  | { readonly type: 'cancelled'; readonly orderId: string; readonly reason: string }
  | { readonly type: 'amend-rejected'; readonly amend: AmendRequest; readonly reason: string; readonly code?: number }
  | { readonly type: 'position'; readonly position: Position }
  | { readonly type: 'trade'; readonly trade: Trade }
  | { readonly type: 'rejected'; readonly order: OrderRequest; readonly reason: string; readonly code?: number }
  | { readonly type: 'notice'; readonly key: string; readonly message: string };

export type BrokerListener = (event: BrokerEvent) => void;

/**
 * The broker port. The engine sees only this: the historical simulator and the live Bybit broker
 * implement it, and nothing in the engine knows which one it has.
 */
export interface Broker {
  readonly name: string;
  /** Instrument rules orders are sized and priced with. */
  rules(): InstrumentRules;
  /** The open position (flat when none). Live: as last reported by the exchange's position stream. */
  position(): Position;
  /** True while an order was sent and its outcome is not known yet. */
  hasOrderInFlight(): boolean;
  /** Hands an order over; the outcome arrives as events. Never throws for exchange rejections. */
  submit(order: OrderRequest): void;
  /**
   * Cancels a resting order (issue 12); a `cancelled` event follows (a `notice` when it is no longer
   * open). Optional: without it (and the `cancel` feature) the engine skips cancel intents, saying so.
   */
  cancel?(request: CancelRequest): void;
  /** Moves the open position's levels; refused (`amend-rejected`) when a level is on the wrong side of the price. */
  amend?(request: AmendRequest): void;
  /** Orders resting now (`ctx.orders`): the pending entry, resting exits, and the position's levels. */
  orders?(): readonly PendingOrder[];
  /**
   * What it can do beyond today's market orders with one stop and one target; absent: nothing more, so
   * the engine skips (and counts) an intent that needs more rather than send it half understood.
   */
  readonly features?: readonly OrderFeature[];
  /**
   * Called with each closed candle before the strategy sees it. The simulator fills pending orders and
   * checks stops in it; a live broker may ignore it (the exchange does that work).
   */
  observe?(candle: Candle): void;
  /** Called once after the last candle of a backtest (the simulator closes any open position). */
  finish?(lastCandle: Candle): void;
  subscribe(listener: BrokerListener): () => void;
}

/**
 * A source of closed candles, in order (live: REST polls or the kline topic with confirm). A second
 * exchange needs a broker and one of these, and no new loop (lib/engine/live.ts drives both).
 */
export interface CandleFeed {
  /** The last `count` closed candles, oldest first, for the warm-up; `next` continues after them. */
  history(count: number): Promise<Candle[]>;
  /**
   * Open time of the candle that was still forming when `history` was read (the market's own clock), if
   * the feed knows it: a restart uses it to tell whether the last closed candle closed less than one
   * interval ago.
   */
  readonly openingTime?: number;
  /**
   * Whether a candle `next` handed over was the newest closed one when the feed got it (it closed less
   * than one interval before). Candles caught up after an outage are not: the loop decides them per its
   * `catchUp` setting. Feeds that do not know say undefined (every candle counts as current).
   */
  isCurrent?(c: Candle): boolean | undefined;
  /** Resolves with the next closed candle, or undefined once the feed is closed. Never skips one. */
  next(): Promise<Candle | undefined>;
  /** Ends the feed: a pending `next` resolves with undefined. */
  close?(): void;
}

/** The listener list every broker keeps: subscribe (returns the unsubscribe) and emit in order. */
export class BrokerListeners {
  readonly #list: BrokerListener[] = [];

  subscribe(listener: BrokerListener): () => void {
    this.#list.push(listener);
    return () => {
      const i = this.#list.indexOf(listener);
      if (i >= 0) this.#list.splice(i, 1);
    };
  }

  emit(e: BrokerEvent): void {
    for (const l of this.#list) l(e);
  }
}
