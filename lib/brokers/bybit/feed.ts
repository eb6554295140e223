/**
 * Closed candles over REST, the seed's way: every poll fetches the latest `candleFetchLimit` candles,
 * sorts them (Bybit sends newest first), drops the still-open newest one, and hands over only candles
 * newer than the last one handed over. Polling keeps working through WebSocket drops and never skips a
 * candle: a poll that comes late returns every candle closed since.
 */
import { intervalMs, type Candle, type CandleFeed, type Interval } from '../../core/index.ts';
import type { BybitRest } from './client.ts';
import { klineRowToCandle } from './mapping.ts';

export interface RestCandleFeedOptions {
  readonly rest: BybitRest;
  readonly category: 'linear';
  readonly symbol: string;
  readonly interval: Interval;
  /** Candles per poll (the seed's CANDLE_FETCH_LIMIT, 200; at most 1000). */
  readonly limit: number;
  /** Wait between polls (the seed's pollingIntervalSeconds, in ms). */
  readonly pollMs: number;
  /** A poll failed (the feed waits and polls again). */
  readonly onError?: (err: Error) => void;
}

export class RestCandleFeed implements CandleFeed {
  readonly #o: RestCandleFeedOptions;
  readonly #step: number;
  readonly #buffer: Candle[] = [];
  #polled = false;
  #closed = false;
  #wake: (() => void) | undefined;
  /** Open time of the newest candle handed over. */
  last = -Infinity;
  /** Open time of the candle still forming when `history` was read. */
  openingTime: number | undefined;

  constructor(o: RestCandleFeedOptions) {
    this.#o = o;
    this.#step = intervalMs(o.interval);
  }

  async #page(limit: number, end?: number): Promise<Candle[]> {
    const { result } = await this.#o.rest.call('market/kline', (c) =>
      c.getKline({ category: this.#o.category, symbol: this.#o.symbol, interval: this.#o.interval as never, limit, ...(end !== undefined ? { end } : {}) }) as never,
    );
    const rows = ((result as { list?: unknown[][] }).list ?? []).map(klineRowToCandle);
    rows.sort((a, b) => a.openTime - b.openTime);
    return rows;
  }

  /**
   * The last `count` closed candles (paging back in pages of up to 1000), for the strategy's warm-up.
   * Sets the feed's position after them.
   */
  async history(count: number): Promise<Candle[]> {
    const latest = await this.#page(Math.min(1000, Math.max(2, count + 1)));
    this.openingTime = latest.pop()?.openTime; // the open candle
    let out = latest;
    while (out.length < count && out.length > 0) {
      const end = out[0]!.openTime - 1;
      const older = await this.#page(Math.min(1000, count - out.length), end);
      const fresh = older.filter((c) => c.openTime < out[0]!.openTime);
      if (fresh.length === 0) break;
      out = [...fresh, ...out];
    }
    out = out.slice(-count);
    if (out.length > 0) this.last = out[out.length - 1]!.openTime;
    return out;
  }

  /**
   * Closed candles newer than the last one handed over, oldest first: the latest page, and as many pages
   * back as it takes to reach the last one handed over (an outage longer than `limit` candles skips none).
   * The newest of them is marked current (it closed less than one interval ago).
   */
  async poll(): Promise<Candle[]> {
    const rows = await this.#page(this.#o.limit);
    const open = rows.pop(); // the newest row of an unbounded request is the candle still open
    if (open) this.openingTime = open.openTime;
    let fresh = rows.filter((c) => c.openTime > this.last);
    if (Number.isFinite(this.last)) {
      for (let pages = 0; fresh.length > 0 && fresh[0]!.openTime > this.last + this.#step && pages < 1000; pages++) {
        const older = (await this.#page(1000, fresh[0]!.openTime - 1)).filter((c) => c.openTime > this.last && c.openTime < fresh[0]!.openTime);
        if (older.length === 0) break;
        fresh = [...older, ...fresh];
      }
    }
    if (fresh.length > 0) {
      this.last = fresh[fresh.length - 1]!.openTime;
      if (open && open.openTime === this.last + this.#step) this.#current.add(fresh[fresh.length - 1]!);
    }
    return fresh;
  }

  readonly #current = new WeakSet<Candle>();

  /** The candle was the newest closed one when it was read (it closed less than one interval before). */
  isCurrent(c: Candle): boolean {
    return this.#current.has(c);
  }

  /**
   * The next closed candle: from the last poll's batch, else polling every `pollMs` (the first poll at
   * once) until one closes, as the seed's loop did. Resolves with undefined once closed.
   */
  async next(): Promise<Candle | undefined> {
    while (!this.#closed) {
      const c = this.#buffer.shift();
      if (c) return c;
      if (this.#polled) await this.#sleep(this.#o.pollMs);
      if (this.#closed) break;
      this.#polled = true;
      try {
        this.#buffer.push(...(await this.poll()));
      } catch (err) {
        this.#o.onError?.(err as Error);
      }
    }
    return undefined;
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }

  get intervalMs(): number {
    return this.#step;
  }
}
