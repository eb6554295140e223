/**
 * Closed candles from Bybit's public kline stream (`kline.{interval}.{symbol}`, kept only when `confirm` is
 * true), with REST as the safety net, the way nautilus_trader's Bybit adapter drives bars, without giving
 * up what polling gave: no candle is ever skipped.
 *
 * - Warm-up and backfills are REST (RestCandleFeed: it pages back as far as needed). A backfill runs after
 *   every reconnect of the public socket, whenever the next stream candle is not the expected one (a gap),
 *   when a stream candle fails validation (OHLC inconsistent, open time not aligned), and when the stream
 *   is late.
 * - A silent stream is a fault: when no confirmed candle arrived within one interval plus `graceMs` (5 s)
 *   of the previous one, the feed polls REST once and says the stream is late. A slow REST poll every
 *   `heartbeatMs` (60 s) is the heartbeat: it detects a stuck stream (and feeds what it missed).
 * - `isCurrent(c)`: the candle was the newest closed one when it arrived; candles of a backfill are not,
 *   except the newest when it closed less than one interval ago (the loop's `catchUp` decides them).
 */
import type { WebsocketClient } from 'bybit-api';
import { ConfigError, DataError, intervalMs, nextIntervalStart, type Candle, type CandleFeed, type Interval } from '../../core/index.ts';
import { createWebsocket, type BybitConnection, type BybitRest } from './client.ts';
import { RestCandleFeed } from './feed.ts';
import { badCandle, wireKlineToCandle, type WireKline } from './mapping.ts';

export interface StreamCandleFeedOptions {
  readonly rest: BybitRest;
  /** A public WebSocket client (its own: the private one's reconnects are the broker's). */
  readonly ws: WebsocketClient;
  readonly category: 'linear';
  readonly symbol: string;
  readonly interval: Interval;
  /** Candles per REST page (the seed's candleFetchLimit). */
  readonly limit: number;
  /** Grace after the expected close before the stream counts as late (ms). Default 5000. */
  readonly graceMs?: number;
  /** The REST heartbeat poll (ms). Default 60 000. */
  readonly heartbeatMs?: number;
  /** While the stream's socket is down, REST is polled this often instead (ms; the seed's pollingIntervalSeconds). Default 10 000. */
  readonly downPollMs?: number;
  /** A REST read failed (the feed goes on). */
  readonly onError?: (err: Error) => void;
  /** Status lines for the console: a reconnect, a backfill (how many candles), a late stream. */
  readonly onStatus?: (message: string) => void;
  readonly now?: () => number;
}

export class StreamCandleFeed implements CandleFeed {
  readonly #o: StreamCandleFeedOptions;
  readonly #rest: RestCandleFeed;
  readonly #step: number;
  readonly #now: () => number;
  readonly #queue: Candle[] = [];
  readonly #current = new WeakSet<Candle>();
  #wake: (() => void) | undefined;
  #closed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastArrival = 0;
  #lastHeartbeat = 0;
  #late = false;
  /** Since when the stream's socket is down (undefined: up). */
  #downSince: number | undefined;
  #lastDownPoll = 0;
  #backfilling: Promise<void> | undefined;
  #again: { why: string; quiet: boolean } | undefined;
  /** Open time of the candle still forming (from the stream's unconfirmed items and REST). */
  openingTime: number | undefined;

  constructor(o: StreamCandleFeedOptions) {
    this.#o = o;
    this.#step = intervalMs(o.interval);
    this.#now = o.now ?? Date.now;
    this.#rest = new RestCandleFeed({ rest: o.rest, category: o.category, symbol: o.symbol, interval: o.interval, limit: o.limit, pollMs: 0 });
  }

  get last(): number {
    return this.#rest.last;
  }

  /**
   * Subscribes to the stream and waits for the exchange to confirm (at most `graceMs`, 5 s), then reads
   * the warm-up over REST: in that order no candle falls between the two (what the stream pushes before
   * the warm-up is read waits, and what REST already gave is not handed over twice).
   */
  async history(count: number): Promise<Candle[]> {
    const topic = `kline.${this.#o.interval}.${this.#o.symbol}`;
    const ws = this.#o.ws;
    const early: WireKline[] = [];
    let warm = false;
    ws.on('update', (msg: unknown) => {
      const m = msg as { topic?: string; data?: unknown };
      if (m?.topic !== topic || !Array.isArray(m.data)) return;
      for (const k of m.data as WireKline[]) if (warm) this.#onKline(k);
      else early.push(k);
    });
    // After a reconnect the SDK subscribes again: REST keeps polling until the exchange confirms it, then
    // one backfill catches what closed meanwhile (a push between the socket and the subscription is lost).
    ws.on('reconnected', () => {
      this.#downSince ??= this.#now();
      this.#o.onStatus?.('kline stream reconnected: waiting for the subscription, then backfilling over REST');
    });
    ws.on('reconnect', () => {
      if (this.#downSince !== undefined || this.#closed) return;
      this.#downSince = this.#now();
      this.#o.onStatus?.(`kline stream down: polling REST every ${(this.#o.downPollMs ?? 10_000) / 1000} s until it is back`);
    });
    const subscribed = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.#o.graceMs ?? 5000);
      t.unref?.();
      ws.on('response', (msg: unknown) => {
        const m = msg as { op?: string; req_id?: string; success?: boolean };
        if (m?.op !== 'subscribe' || !String(m.req_id ?? '').includes(topic)) return;
        clearTimeout(t);
        resolve();
        if (this.#downSince !== undefined) {
          this.#downSince = undefined;
          void this.#backfill('after a reconnect');
        }
      });
    });
    void Promise.resolve(ws.subscribeV5([topic], this.#o.category)).catch((err: unknown) => this.#o.onError?.(err as Error));
    await subscribed;
    const out = await this.#rest.history(count);
    this.openingTime = this.#rest.openingTime;
    warm = true;
    for (const k of early) this.#onKline(k);
    this.#lastArrival = this.#lastHeartbeat = this.#now();
    this.#timer = setInterval(() => this.#watch(), Math.max(5, Math.min(this.#o.graceMs ?? 5000, this.#o.downPollMs ?? 10_000, 1000)));
    this.#timer.unref?.();
    return out;
  }

  #onKline(k: WireKline): void {
    if (this.#closed) return;
    let c: Candle | undefined;
    try {
      c = wireKlineToCandle(k);
    } catch (err) {
      this.#o.onError?.(err as Error);
      void this.#backfill('after an unreadable stream candle');
      return;
    }
    if (!c) {
      const start = Number(k.start);
      if (!Number.isFinite(start)) return;
      this.openingTime = Math.max(this.openingTime ?? -Infinity, start);
      // A candle opened after the next expected close: that close was missed (a lost push, a late subscription).
      if (Number.isFinite(this.#rest.last) && start > nextIntervalStart(this.#o.interval, this.#rest.last)) void this.#backfill('after a missed close');
      return;
    }
    if (c.openTime <= this.#rest.last) return; // already handed over (a repeat, or REST was first)
    const bad = badCandle(c, this.#o.interval);
    if (bad) {
      this.#o.onError?.(new DataError(`kline stream: the candle at ${new Date(c.openTime).toISOString()} is not usable (${bad}); reading it over REST`, { field: 'kline' }));
      void this.#backfill('after a bad stream candle');
      return;
    }
    const expected = Number.isFinite(this.#rest.last) ? nextIntervalStart(this.#o.interval, this.#rest.last) : c.openTime;
    if (c.openTime !== expected || this.#backfilling) {
      void this.#backfill(`after a gap (expected ${new Date(expected).toISOString()}, got ${new Date(c.openTime).toISOString()})`);
      return;
    }
    this.#rest.last = c.openTime;
    this.openingTime = Math.max(this.openingTime ?? -Infinity, nextIntervalStart(this.#o.interval, c.openTime));
    this.#arrived(c, true);
  }

  #arrived(c: Candle, current: boolean): void {
    this.#lastArrival = this.#now();
    this.#late = false;
    if (current) this.#current.add(c);
    this.#queue.push(c);
    this.#wake?.();
  }

  /**
   * Every closed candle after the last one handed over, over REST (one backfill at a time). Asked for
   * while one runs (its answer may predate what triggered the ask), it runs once more after it.
   */
  #backfill(why: string, quiet = false): Promise<void> {
    if (this.#backfilling) {
      this.#again ??= { why, quiet };
      return this.#backfilling;
    }
    this.#backfilling = (async () => {
      try {
        const rows = await this.#rest.poll();
        this.openingTime = Math.max(this.openingTime ?? -Infinity, this.#rest.openingTime ?? -Infinity);
        for (const c of rows) this.#arrived(c, this.#rest.isCurrent(c));
        if (rows.length > 0 || !quiet) this.#o.onStatus?.(`backfilled ${rows.length} candle${rows.length === 1 ? '' : 's'} over REST ${why}`);
      } catch (err) {
        this.#o.onError?.(err as Error);
      } finally {
        this.#backfilling = undefined;
        const again = this.#again;
        this.#again = undefined;
        if (again && !this.#closed) void this.#backfill(again.why, again.quiet);
      }
    })();
    return this.#backfilling;
  }

  /** The late-stream check and the heartbeat poll. */
  #watch(): void {
    if (this.#closed) return;
    const now = this.#now();
    if (this.#downSince !== undefined && now - this.#lastDownPoll >= (this.#o.downPollMs ?? 10_000)) {
      this.#lastDownPoll = now;
      void this.#backfill('(the stream is down)', true);
      return;
    }
    if (!this.#late && now - this.#lastArrival > this.#step + (this.#o.graceMs ?? 5000)) {
      this.#late = true;
      this.#o.onStatus?.(`the kline stream is late: no closed candle for ${Math.round((now - this.#lastArrival) / 1000)} s; polling REST`);
      void this.#backfill('(the stream is late)');
    }
    if (now - this.#lastHeartbeat >= (this.#o.heartbeatMs ?? 60_000)) {
      this.#lastHeartbeat = now;
      void this.#backfill('(heartbeat: the stream missed them)', true);
    }
  }

  isCurrent(c: Candle): boolean {
    return this.#current.has(c);
  }

  async next(): Promise<Candle | undefined> {
    while (!this.#closed) {
      const c = this.#queue.shift();
      if (c) return c;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    return undefined;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#wake?.();
  }

  get intervalMs(): number {
    return this.#step;
  }
}

/** `pyr live --feed`: closed candles from the kline stream (REST backfills and a heartbeat), or REST polls. */
export type FeedKind = 'stream' | 'poll';

export function parseFeedKind(text: string | undefined): FeedKind {
  const kind = text ?? 'stream';
  if (kind !== 'stream' && kind !== 'poll') throw new ConfigError(`--feed: "stream" or "poll", got "${kind}"`);
  return kind;
}

/**
 * The live session's candle feed of `kind`: a StreamCandleFeed on a public WebSocket of its own (returned
 * for closing), or a RestCandleFeed polling every `pollMs` (also the stream's poll while its socket is down);
 * `describe` says which, for the console.
 */
export function liveCandleFeed(
  kind: FeedKind,
  conn: BybitConnection,
  o: Omit<StreamCandleFeedOptions, 'ws' | 'downPollMs'> & { readonly pollMs: number },
): { feed: CandleFeed; publicWs?: WebsocketClient; describe: string } {
  if (kind === 'poll') {
    return { feed: new RestCandleFeed({ rest: o.rest, category: o.category, symbol: o.symbol, interval: o.interval, limit: o.limit, pollMs: o.pollMs, onError: o.onError }), describe: `polling every ${o.pollMs / 1000} s` };
  }
  const publicWs = createWebsocket({ ...conn, key: '', secret: '' }, () => {});
  const feed = new StreamCandleFeed({ ...o, ws: publicWs, downPollMs: o.pollMs });
  return { feed, publicWs, describe: `closed candles from the kline stream (REST heartbeat every ${(o.heartbeatMs ?? 60_000) / 1000} s)` };
}
