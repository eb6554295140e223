/**
 * The position's levels on Bybit (issue 12), set with /v5/position/trading-stop once the position shows:
 * the stop loss and a single target (tpslMode Full), the trailing stop (`trailingStop`, a price distance,
 * with `activePrice` when the intent has an activation), and partial targets (tpslMode Partial, one
 * PartialTakeProfit of `tpSize` per part). Levels are priced from the fill price, as the simulator prices
 * them. Also the amendments of the open position's levels.
 */
import {
  ExchangeError,
  splitTargets,
  stopPrice,
  targetPrice,
  trailingLevels,
  type AmendRequest,
  type BrokerEvent,
  type Dec,
  type InstrumentRules,
  type OrderRequest,
  type PendingOrder,
  type Position,
} from '../../core/index.ts';
import type { BybitRest } from './client.ts';

export interface LevelSetterOptions {
  readonly rest: BybitRest;
  readonly category: 'linear';
  readonly symbol: string;
  readonly rules: InstrumentRules;
  readonly log: (level: 'info' | 'success' | 'warn' | 'error', message: string) => void;
  readonly record: (message: string) => void;
  readonly emit: (e: BrokerEvent) => void;
  readonly position: () => Position;
}

export class LevelSetter {
  readonly #o: LevelSetterOptions;
  /** Level calls in flight (the lockstep test and `settle` wait for them). */
  busy = 0;
  /** Level calls refused so far (a fallback that then succeeded not counted). */
  #failed = 0;

  constructor(o: LevelSetterOptions) {
    this.#o = o;
  }

  async #tradingStop(params: Record<string, unknown>): Promise<void> {
    await this.#o.rest.call('position/trading-stop', (c) => c.setTradingStop({ category: this.#o.category, symbol: this.#o.symbol, positionIdx: 0, ...params } as never) as never);
  }

  /**
   * After an entry filled (the position `p` shows): the levels it did not carry. `attached`: the stop
   * and single target went with a market order (moved by the caller); otherwise they are set here.
   */
  async afterEntry(order: OrderRequest, p: Position, attached: boolean): Promise<void> {
    if (p.side === 'flat') return this.#o.record(`levels after the fill of ${order.id}: done, the position is closed already`);
    this.busy++;
    const failedBefore = this.#failed;
    try {
      const tick = this.#o.rules.tickSize;
      const entry = p.entryPrice;
      if (!attached && (order.stopLoss || order.takeProfit)) {
        const sl = order.stopLoss ? stopPrice(p.side, entry, order.stopLoss, tick) : undefined;
        const tp = order.takeProfit ? targetPrice(p.side, entry, order.takeProfit, tick) : undefined;
        if ((!sl || (p.stopLoss && p.stopLoss.eq(sl))) && !tp) this.#o.record(`levels set: the stop ${sl?.toFixed()} went with the order`);
        else await this.#try(`the stop and target from the fill price ${entry.toFixed()}: SL ${sl?.toFixed()} TP ${tp?.toFixed()}`, () =>
          this.#tradingStop({ tpslMode: 'Full', ...(sl ? { stopLoss: sl.toFixed(), slTriggerBy: 'LastPrice' } : {}), ...(tp ? { takeProfit: tp.toFixed(), tpTriggerBy: 'LastPrice' } : {}) }),
        );
      }
      if (order.trailingStop) {
        const t = trailingLevels(p.side, entry, order.trailingStop as never, tick);
        await this.setTrailing(t.distance, t.activation);
      }
      if (order.targets && order.targets.length > 0) {
        const parts = order.targets.map((t) => ({ price: targetPrice(p.side as 'long' | 'short', entry, t, tick), fraction: t.fraction }));
        await this.setTargets(parts, p);
      }
    } finally {
      this.busy--;
      // One line that closes the entry's level calls (a reader waits for it, not for a count of them).
      const failed = this.#failed - failedBefore;
      this.#o.record(`levels after the fill of ${order.id}: done${failed > 0 ? `, ${failed} not set` : ''}`);
    }
  }

  /** The trailing stop; an activation the price has already passed (10001) falls back to active at once. */
  async setTrailing(distance: Dec, activation?: Dec): Promise<boolean> {
    const ok = await this.#try(`trailing stop ${distance.toFixed()}${activation ? ` from ${activation.toFixed()}` : ''}`, () => this.#tradingStop({ tpslMode: 'Full', trailingStop: distance.toFixed(), ...(activation ? { activePrice: activation.toFixed() } : {}) }), activation !== undefined);
    if (ok || !activation) return ok;
    return this.#try(`trailing stop ${distance.toFixed()} (active at once: the price is past the activation ${activation.toFixed()})`, () => this.#tradingStop({ tpslMode: 'Full', trailingStop: distance.toFixed() }));
  }

  /** Partial targets (tpslMode Partial, tpSize): the parts of the position's qty, rounded down to the step; the last takes the remainder. */
  async setTargets(parts: readonly { price: Dec; fraction: number }[], p: Position): Promise<boolean> {
    const split = splitTargets(p.qty, parts.map((t) => t.fraction), this.#o.rules);
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      const q = split.merged[i]!;
      if (!q.gt(0)) continue;
      const t = parts[i]!;
      ok = (await this.#try(`partial target ${i + 1}: ${q.toFixed()} at ${t.price.toFixed()}`, () => this.#tradingStop({ tpslMode: 'Partial', takeProfit: t.price.toFixed(), tpSize: q.toFixed(), tpTriggerBy: 'LastPrice' }))) && ok;
    }
    return ok;
  }

  async #try(what: string, f: () => Promise<void>, quiet = false): Promise<boolean> {
    try {
      await f();
      this.#o.record(`levels set: ${what}`);
      return true;
    } catch (err) {
      if (!quiet) {
        this.#failed++;
        this.#o.log('warn', `could not set ${what}: ${(err as Error).message}`);
      }
      return false;
    }
  }

  /** An amendment of the open position's levels; Bybit's refusal is an `amend-rejected`. */
  /**
   * New partial targets for the qty still open. The open PartialTakeProfit orders are moved in place
   * with /v5/order/amend (`triggerPrice`, `qty`), nearest first, so the position is never without its
   * targets; parts beyond them are added (trading-stop, Partial), open ones beyond the new parts and a
   * Full-mode take profit are cancelled.
   */
  async #moveTargets(targets: NonNullable<AmendRequest['targets']>, pending: readonly PendingOrder[], partial: readonly PendingOrder[]): Promise<void> {
    const p = this.#o.position();
    const split = splitTargets(p.qty, targets.map((t) => t.fraction), this.#o.rules);
    const cancel = (id: string) => this.#o.rest.call('order/cancel', (c) => c.cancelOrder({ category: this.#o.category, symbol: this.#o.symbol, orderId: id } as never) as never).catch(() => undefined);
    const partIds = new Set(partial.map((o) => o.id));
    for (const o of pending) if (o.role === 'take_profit' && !partIds.has(o.id)) await cancel(o.id);
    const parts = targets.map((t, i) => ({ ...t, qty: split.merged[i]! })).filter((t) => t.qty.gt(0));
    for (let i = 0; i < parts.length; i++) {
      const t = parts[i]!;
      const open = partial[i];
      if (open) {
        await this.#o.rest.call('order/amend', (c) => c.amendOrder({ category: this.#o.category, symbol: this.#o.symbol, orderId: open.id, triggerPrice: t.price.toFixed(), qty: t.qty.toFixed() } as never) as never);
        this.#o.record(`levels set: partial target ${i + 1} moved to ${t.qty.toFixed()} at ${t.price.toFixed()} (order ${open.id})`);
      } else {
        await this.#tradingStop({ tpslMode: 'Partial', takeProfit: t.price.toFixed(), tpSize: t.qty.toFixed(), tpTriggerBy: 'LastPrice' });
        this.#o.record(`levels set: partial target ${i + 1}: ${t.qty.toFixed()} at ${t.price.toFixed()}`);
      }
    }
    for (const o of partial.slice(parts.length)) await cancel(o.id);
  }

  async amend(req: AmendRequest, pending: readonly PendingOrder[], partial: readonly PendingOrder[] = []): Promise<void> {
    this.busy++;
    try {
      const full: Record<string, unknown> = {};
      if (req.stopLoss) Object.assign(full, { stopLoss: req.stopLoss.toFixed(), slTriggerBy: 'LastPrice' });
      if (req.takeProfit) Object.assign(full, { takeProfit: req.takeProfit.toFixed(), tpTriggerBy: 'LastPrice' });
      if (req.trailingStop) Object.assign(full, { trailingStop: req.trailingStop.distance.toFixed(), ...(req.trailingStop.activation ? { activePrice: req.trailingStop.activation.toFixed() } : {}) });
      if (Object.keys(full).length > 0) await this.#tradingStop({ tpslMode: 'Full', ...full });
      if (req.targets) await this.#moveTargets(req.targets, pending, partial);
      this.#o.record(`amendment ${req.id} applied: ${req.reason}`);
    } catch (err) {
      const e = err as ExchangeError;
      this.#o.log('warn', `amendment refused: ${e.message}`);
      this.#o.emit({ type: 'amend-rejected', amend: req, reason: e.message, code: e instanceof ExchangeError ? e.retCode : undefined });
    } finally {
      this.busy--;
    }
  }
}
