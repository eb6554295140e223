/**
 * The sandbox's market: a candle series replayed on a clock the sandbox controls.
 *
 * Inside each candle the price walks a fixed path of four points, spread evenly through the candle:
 *
 *   open at T, the extreme nearer to the open at T + L/3, the other extreme at T + 2L/3, close at T + L - 1
 *
 * (L is the candle length, T its open time). "Nearer" compares |high - open| with |open - low|; on a tie the
 * high comes first. Stops and targets are checked at every point, so they trigger in a defined order. A
 * candle is closed once the clock reaches T + L (its `end` is T + L - 1, as in Bybit's kline stream).
 *
 * The market never shows anything after its clock: `klines` stops at the open candle (partial: its high
 * and low are the points reached so far, its close the current price) and `fundingHistory` at the last
 * settlement already passed.
 */
import { type CandleSeries, type Interval, lowerBound, nextIntervalStart } from '../core/candle.ts';
import { ConfigError } from '../core/errors.ts';

/** One price on the replay path. */
export interface PricePoint {
  readonly time: number;
  readonly price: number;
  /** Index of the candle in the series. */
  readonly candle: number;
  /** 0 open, 1 first extreme, 2 second extreme, 3 close. */
  readonly step: 0 | 1 | 2 | 3;
}

/** A candle as the exchange shows it at some instant (possibly still open). */
export interface Bar {
  readonly start: number;
  /** start + interval - 1 ms. */
  readonly end: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  /** NaN when the source has none. */
  readonly turnover: number;
  readonly confirm: boolean;
}

/** A funding settlement: epoch ms and rate (a fraction of position value). */
export interface FundingRow {
  readonly time: number;
  readonly rate: string;
}

/** Funding rows from lib/data's `readFundingFile` columns. */
export function fundingRows(cols: { readonly times: ArrayLike<number>; readonly rates: readonly string[] }): FundingRow[] {
  return Array.from({ length: cols.times.length }, (_, i) => ({ time: cols.times[i]!, rate: cols.rates[i]! }));
}

export type MarketEvent =
  | {
      readonly type: 'price';
      readonly point: PricePoint;
      /** The point before it (time and price). */
      readonly from: { readonly time: number; readonly price: number };
      /** True when the move is the jump from one candle's close to the next open (no trading in between). */
      readonly gap: boolean;
    }
  | { readonly type: 'candleClosed'; readonly bar: Bar }
  | { readonly type: 'funding'; readonly row: FundingRow; readonly price: number };

export interface MarketOptions {
  readonly series: CandleSeries;
  readonly interval: Interval;
  /** Where the replay clock starts; default the first candle's open time. */
  readonly startTime?: number;
  readonly funding?: readonly FundingRow[];
  /**
   * The instrument's tick: between two path points the price moves continuously, linearly in time,
   * rounded to it (so an order arriving later in a segment fills at a later price). Without it the
   * price stays at the last point until the next one.
   */
  readonly tickSize?: number;
}

export class MarketReplay {
  readonly series: CandleSeries;
  readonly interval: Interval;
  private readonly funding: readonly FundingRow[];
  private clock: number;
  /** Candle of the last point reached. */
  private ci: number;
  /** Last point reached in that candle (0..3). */
  private pi: 0 | 1 | 2 | 3;
  /** Whether candle `ci` has been reported closed. */
  private ciClosed = false;
  /** Index of the next funding row not yet settled. */
  private fi: number;
  private readonly tick: number | undefined;
  private readonly tickDecimals: number;

  constructor(opts: MarketOptions) {
    this.tick = opts.tickSize !== undefined && opts.tickSize > 0 ? opts.tickSize : undefined;
    this.tickDecimals = this.tick === undefined ? 0 : Math.max(0, (String(opts.tickSize).split('.')[1] ?? '').length);
    const s = opts.series;
    if (s.length === 0) throw new ConfigError(`candles: the series ${s.source} is empty`);
    this.series = s;
    this.interval = opts.interval;
    this.funding = opts.funding ?? [];
    const first = s.openTime[0]!;
    const start = opts.startTime ?? first;
    const lastEnd = this.candleEnd(s.length - 1);
    if (start < first || start >= lastEnd) {
      throw new ConfigError(
        `startTime: ${new Date(start).toISOString()} is outside the candles (${new Date(first).toISOString()} .. ${new Date(lastEnd).toISOString()})`,
      );
    }
    this.clock = start;
    // The candle holding `start` (or the last one opening before it, if the series has a gap there).
    let ci = lowerBound(s, start);
    if (ci >= s.length || s.openTime[ci]! > start) ci -= 1;
    this.ci = ci;
    this.pi = 0;
    while (this.pi < 3 && this.pointTime(ci, (this.pi + 1) as 1 | 2 | 3) <= start) this.pi = (this.pi + 1) as 1 | 2 | 3;
    if (start >= this.candleEnd(ci)) this.ciClosed = true;
    this.fi = 0;
    while (this.fi < this.funding.length && this.funding[this.fi]!.time <= start) this.fi++;
  }

  /** The replay clock, epoch ms. */
  now(): number {
    return this.clock;
  }

  /**
   * The current "last traded" price: the last point reached on the path, moved on linearly in time
   * toward the next point of the same candle (rounded to the tick), when the instrument's tick is known.
   * After the close it stays at the close until the next open (a gap).
   */
  price(): number {
    const at = this.pathPrice(this.ci, this.pi);
    if (this.tick === undefined || this.pi === 3 || this.ciClosed) return at;
    const k = (this.pi + 1) as 1 | 2 | 3;
    const t0 = this.pointTime(this.ci, this.pi);
    const t1 = this.pointTime(this.ci, k);
    if (!(this.clock > t0) || !(t1 > t0)) return at;
    const p = at + ((this.pathPrice(this.ci, k) - at) * Math.min(1, (this.clock - t0) / (t1 - t0)));
    return Number((Math.round(p / this.tick) * this.tick).toFixed(this.tickDecimals));
  }

  /** True once the clock has passed the end of the last candle. */
  finished(): boolean {
    return this.ci === this.series.length - 1 && this.ciClosed;
  }

  /** Start of the candle after the one opening at `t`. */
  candleEnd(i: number): number {
    return nextIntervalStart(this.interval, this.series.openTime[i]!);
  }

  /** Time of the next price point (or candle close) after the clock, or undefined at the end. */
  nextEventTime(): number | undefined {
    const t = this.nextPointTime();
    const close = this.ciClosed ? undefined : this.candleEnd(this.ci);
    const f = this.funding[this.fi]?.time;
    const all = [t, close, f].filter((x): x is number => x !== undefined && x > this.clock);
    return all.length ? Math.min(...all) : undefined;
  }

  /** Time of the next price point, or undefined when the path is exhausted. */
  nextPointTime(): number | undefined {
    if (this.pi < 3) return this.pointTime(this.ci, (this.pi + 1) as 1 | 2 | 3);
    if (this.ci + 1 < this.series.length) return this.pointTime(this.ci + 1, 0);
    return undefined;
  }

  /**
   * Moves the clock to `t` (never backwards), reporting every price point, candle close and funding
   * settlement passed on the way, in time order. At equal times a candle close comes before the next
   * candle's open, and a funding settlement after the price point at that instant.
   */
  advanceTo(t: number, onEvent: (e: MarketEvent) => void): void {
    if (!(t > this.clock)) return;
    for (;;) {
      const closeAt = this.ciClosed ? Infinity : this.candleEnd(this.ci);
      const pointAt = this.nextPointTime() ?? Infinity;
      const fundAt = this.finished() ? Infinity : (this.funding[this.fi]?.time ?? Infinity);
      const next = Math.min(closeAt, pointAt, fundAt);
      if (next > t) break;
      const before = { time: this.clock, price: this.price() };
      this.clock = next;
      if (closeAt === next && closeAt <= pointAt) {
        this.ciClosed = true;
        onEvent({ type: 'candleClosed', bar: this.bar(this.ci) });
        continue;
      }
      if (pointAt === next) {
        const from = before;
        const gap = this.pi === 3;
        if (gap) {
          this.ci += 1;
          this.pi = 0;
          this.ciClosed = false;
        } else {
          this.pi = (this.pi + 1) as 1 | 2 | 3;
        }
        onEvent({ type: 'price', point: this.point(this.ci, this.pi), from, gap });
        continue;
      }
      const row = this.funding[this.fi++]!;
      onEvent({ type: 'funding', row, price: this.price() });
    }
    // After the last candle the clock stops at its end: the replay is over.
    const before = { time: this.clock, price: this.price() };
    this.clock = this.finished() ? Math.max(this.clock, Math.min(t, this.candleEnd(this.series.length - 1))) : t;
    // Inside a segment the price moved on with the clock: that part of the move is reported too.
    const now = this.price();
    if (now !== before.price) onEvent({ type: 'price', point: { time: this.clock, price: now, candle: this.ci, step: this.pi }, from: before, gap: false });
  }

  /** The price path of candle `i`: the four points, in time order. */
  path(i: number): PricePoint[] {
    return [0, 1, 2, 3].map((k) => this.point(i, k as 0 | 1 | 2 | 3));
  }

  private point(i: number, k: 0 | 1 | 2 | 3): PricePoint {
    return { time: this.pointTime(i, k), price: this.pathPrice(i, k), candle: i, step: k };
  }

  private pointTime(i: number, k: 0 | 1 | 2 | 3): number {
    const start = this.series.openTime[i]!;
    const len = this.candleEnd(i) - start;
    return k === 3 ? start + len - 1 : start + Math.floor((len * k) / 3);
  }

  private pathPrice(i: number, k: 0 | 1 | 2 | 3): number {
    const s = this.series;
    const o = s.open[i]!;
    const h = s.high[i]!;
    const l = s.low[i]!;
    if (k === 0) return o;
    if (k === 3) return s.close[i]!;
    const highFirst = h - o <= o - l;
    return (k === 1) === highFirst ? h : l;
  }

  /** Candle `i` as seen now: complete when closed, partial when it is the open candle. */
  bar(i: number): Bar {
    const s = this.series;
    const start = s.openTime[i]!;
    const end = this.candleEnd(i) - 1;
    if (i < this.ci || (i === this.ci && this.ciClosed)) {
      return { start, end, open: s.open[i]!, high: s.high[i]!, low: s.low[i]!, close: s.close[i]!, volume: s.volume[i]!, turnover: s.turnover[i]!, confirm: true };
    }
    if (i !== this.ci) throw new RangeError(`candle ${i} is in the future`);
    let high = -Infinity;
    let low = Infinity;
    for (let k = 0; k <= this.pi; k++) {
      const p = this.pathPrice(i, k as 0 | 1 | 2 | 3);
      if (p > high) high = p;
      if (p < low) low = p;
    }
    const last = this.price();
    if (last > high) high = last;
    if (last < low) low = last;
    // Volume and turnover so far: the candle's totals in proportion to the time elapsed.
    const frac = this.pi === 3 ? 1 : Math.min(1, (this.clock - start) / (end + 1 - start));
    return { start, end, open: s.open[i]!, high, low, close: this.price(), volume: s.volume[i]! * frac, turnover: s.turnover[i]! * frac, confirm: false };
  }

  /** The open candle, or undefined once the replay has passed the last candle. */
  openBar(): Bar | undefined {
    return this.ciClosed ? undefined : this.bar(this.ci);
  }

  /** The newest candle visible (the open one, or the last closed one at the end). */
  currentBar(): Bar {
    return this.bar(this.ci);
  }

  /** Index of the newest visible candle. */
  currentIndex(): number {
    return this.ci;
  }

  /**
   * Candles visible at the clock, newest first. Bounds are inclusive; with both bounds the newest `limit`
   * candles inside them, with `start` only the `limit` candles from `start`, with `end` only the `limit`
   * candles ending at `end`, with neither the latest `limit` (the open candle included).
   */
  klines(q: { start?: number; end?: number; limit: number }): Bar[] {
    const s = this.series;
    const top = this.ci; // newest visible index
    let lo = q.start !== undefined ? lowerBound(s, q.start) : 0;
    let hi = top;
    if (q.end !== undefined) hi = Math.min(hi, lowerBound(s, q.end + 1) - 1);
    if (hi < lo) return [];
    if (q.start !== undefined && q.end === undefined) hi = Math.min(hi, lo + q.limit - 1);
    else lo = Math.max(lo, hi - q.limit + 1);
    const out: Bar[] = [];
    for (let i = hi; i >= lo; i--) out.push(this.bar(i));
    return out;
  }

  /** The candle open at time `t` or before it (for 24h/1h statistics); -1 before the series. */
  indexAt(t: number): number {
    const s = this.series;
    let i = lowerBound(s, t);
    if (i >= s.length || s.openTime[i]! > t) i -= 1;
    return Math.min(i, this.ci);
  }

  /** Funding settlements already passed, newest first, within [start, end]. */
  fundingHistory(q: { start?: number; end?: number; limit: number }): FundingRow[] {
    const out: FundingRow[] = [];
    for (let i = this.fi - 1; i >= 0 && out.length < q.limit; i--) {
      const r = this.funding[i]!;
      if (q.end !== undefined && r.time > q.end) continue;
      if (q.start !== undefined && r.time < q.start) break;
      out.push(r);
    }
    return out;
  }

  /** The next funding settlement after the clock (its rate stands in for the predicted rate). */
  nextFunding(): FundingRow | undefined {
    return this.funding[this.fi];
  }

  /** Whether a funding series was given. */
  hasFunding(): boolean {
    return this.funding.length > 0;
  }
}
