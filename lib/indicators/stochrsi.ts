import { DataError } from '../core/index.ts';
import { positiveInt } from './args.ts';
import type { Indicator } from './indicator.ts';

export interface StochRsiOptions {
  /** RSI length (Wilder smoothing). Default 14. */
  rsiPeriod?: number;
  /** How many RSI values the stochastic's lowest/highest look back over. Default 14. */
  stochPeriod?: number;
  /** SMA length turning the raw stochastic into K. Default 3. */
  kSmoothing?: number;
  /** SMA length turning K into D. Default 3. */
  dSmoothing?: number;
}

/** StochRsi's value: its two lines, both there once D is. */
export interface StochRsiValue {
  /** K = SMA(stoch, kSmoothing), 0-100. */
  readonly k: number;
  /** D = SMA(K, dSmoothing), 0-100. */
  readonly d: number;
}

/**
 * Stochastic RSI on a 0-100 scale, TradingView's definition: where the latest RSI sits inside the range of
 * the last `stochPeriod` RSI values, smoothed twice.
 *
 * Reading it: K near 100 means RSI is at the top of its recent range (overbought), near 0 at the bottom
 * (oversold); D is a slower copy of K, and K crossing D is the usual trigger. `previous` holds the previous
 * candle's K and D, so an upward cross is `previous.k <= previous.d && value.k > value.d` without the caller
 * keeping copies.
 *
 * - rsi: Wilder's RSI, exactly as `Rsi` computes it (first value at close index `rsiPeriod`).
 * - stoch = 100 * ((rsi - lowest) / (highest - lowest)) over the last `stochPeriod` RSI values. The ratio comes
 *   first so an RSI at its window high gives exactly 100. A flat window (highest == lowest) gives 0, as in
 *   the reference implementation and technicalindicators (trading-signals returns its maximum there instead).
 * - k = SMA(stoch, kSmoothing), d = SMA(k, dSmoothing), each a fresh window sum (oldest to newest) divided by
 *   the length, never a running sum: equal windows give bit-equal averages, so a flat K never fakes a cross.
 *
 * With the defaults, values start at close index 14 (rsi), 27 (stoch), 29 (k) and 31 (d): `warmup` is 32.
 * These numbers equal the reference file `BTCUSDT-15m-stochrsi.csv` bit for bit.
 *
 * `value` is `{ k, d }` once D exists (isReady), else undefined, and `previous` the same after the previous
 * close (undefined unless D existed then); each is one object, reused and updated in place by every update.
 * The getters `rsi`, `stoch`, `k` and `d` give each line as soon as it exists (undefined before), `prevK` and
 * `prevD` the previous close's K and D (undefined until they existed). On every candle, read `value` and
 * `previous`: their fields are plain numbers, while V8 may box the number a `number | undefined` getter
 * returns (an allocation per read).
 *
 * Performance: `update` is O(1) (amortized for the min/max) and allocates nothing. Everything is written out in
 * this one class (calls into Rsi/Sma objects or helpers were not inlined by V8 and cost a third to a half of the
 * speed); the stochastic's min/max uses the van Herk/Gil-Werman block scheme (a few compares per update instead
 * of a 14-wide scan); data-dependent comparisons are branch-free; and each step is arranged so that as little
 * as possible waits on the chain of divisions from RSI to D.
 *
 * @see https://www.tradingview.com/support/solutions/43000502333-stochastic-rsi-stoch-rsi/
 * @see Chande & Kroll, The New Technical Trader (1994), where StochRSI was introduced
 */
export class StochRsi implements Indicator<number, StochRsiValue> {
  readonly rsiPeriod: number;
  readonly stochPeriod: number;
  readonly kSmoothing: number;
  readonly dSmoothing: number;
  /**
   * Closes needed before the first D, i.e. before `update` returns true (32 with the defaults):
   * rsiPeriod + stochPeriod + kSmoothing + dSmoothing - 2.
   */
  readonly warmup: number;

  readonly #alpha: number;
  // RSI
  #prevClose = NaN;
  /** Price moves seen, counting up to rsiPeriod while the averages are being seeded. */
  #moves = -1;
  #avgGain = 0;
  #avgLoss = 0;
  #rsi = NaN;
  // Min/max of the last stochPeriod RSI values (van Herk/Gil-Werman): inputs form blocks of stochPeriod;
  // `block` is the current one, sufMin/sufMax the previous block's suffix minima/maxima, prefixMin/Max the
  // current block's running min/max.
  readonly #block: Float64Array;
  readonly #sufMin: Float64Array;
  readonly #sufMax: Float64Array;
  #pos = 0;
  #windowFull = false;
  #prefixMin = 0;
  #prefixMax = 0;
  /**
   * Scratch for branch-free selects: `sel[0] = a; sel[1] = b; min = sel[+(b < a)]`. V8 compiles
   * `a < b ? a : b` (and Math.min) on doubles to branches, which mispredict often on RSI values; a comparison
   * turned into an index does not branch. With the shorter dependency chain below, this took `update` from
   * ~22 to ~27 M/s on the benchmark machine.
   */
  readonly #sel = new Float64Array(8);
  // SMA windows, each value written at i and i + length so that the window is always the contiguous slice
  // [next, next + length), oldest first.
  readonly #kBuf: Float64Array;
  #kNext = 0;
  #kCount = 0;
  readonly #dBuf: Float64Array;
  #dNext = 0;
  #dCount = 0;
  #stoch = NaN;
  /** The latest K and D, each NaN until it exists; handed out as `value` once D exists. */
  readonly #v = { k: NaN, d: NaN };
  /** K and D after the previous close; handed out as `previous` when D existed then. */
  readonly #p = { k: NaN, d: NaN };

  constructor({ rsiPeriod = 14, stochPeriod = 14, kSmoothing = 3, dSmoothing = 3 }: StochRsiOptions = {}) {
    this.rsiPeriod = positiveInt('StochRsi', 'rsiPeriod', rsiPeriod);
    this.stochPeriod = positiveInt('StochRsi', 'stochPeriod', stochPeriod);
    this.kSmoothing = positiveInt('StochRsi', 'kSmoothing', kSmoothing);
    this.dSmoothing = positiveInt('StochRsi', 'dSmoothing', dSmoothing);
    this.warmup = rsiPeriod + stochPeriod + kSmoothing + dSmoothing - 2;
    this.#alpha = 1 / rsiPeriod;
    this.#block = new Float64Array(stochPeriod);
    this.#sufMin = new Float64Array(stochPeriod);
    this.#sufMax = new Float64Array(stochPeriod);
    this.#kBuf = new Float64Array(2 * kSmoothing);
    this.#dBuf = new Float64Array(2 * dSmoothing);
  }

  /** `{ k, d }` once D exists, else undefined; the same object on every update, updated in place. */
  get value(): StochRsiValue | undefined {
    const v = this.#v;
    return v.d === v.d ? v : undefined;
  }
  /**
   * `value` as it was after the previous close: undefined unless D existed then (so also on the first
   * ready close). One object too, updated in place: `previous.k <= previous.d && value.k > value.d` is an
   * upward cross.
   */
  get previous(): StochRsiValue | undefined {
    const p = this.#p;
    return p.d === p.d ? p : undefined;
  }
  /** True once K and D exist (after `warmup` closes). */
  get isReady(): boolean {
    return this.#v.d === this.#v.d;
  }
  /** Latest RSI (0-100), undefined until it exists (from close index rsiPeriod). */
  get rsi(): number | undefined {
    const x = this.#rsi;
    return x === x ? x : undefined;
  }
  /** Latest raw stochastic of the RSI (0-100), undefined until it exists. */
  get stoch(): number | undefined {
    const x = this.#stoch;
    return x === x ? x : undefined;
  }
  /** Latest K (0-100), undefined until it exists (two closes before D with the default dSmoothing 3). */
  get k(): number | undefined {
    const x = this.#v.k;
    return x === x ? x : undefined;
  }
  /** Latest D (0-100), undefined until it exists. */
  get d(): number | undefined {
    const x = this.#v.d;
    return x === x ? x : undefined;
  }
  /** K after the previous close; undefined until K existed then. */
  get prevK(): number | undefined {
    const x = this.#p.k;
    return x === x ? x : undefined;
  }
  /** D after the previous close; undefined until D existed then (so on the first ready close too). */
  get prevD(): number | undefined {
    const x = this.#p.d;
    return x === x ? x : undefined;
  }

  /**
   * Adds one closed candle's close; true once K and D exist. Throws a DataError on a non-finite close, which
   * would poison every later value.
   */
  update(close: number): boolean {
    if (!Number.isFinite(close)) throw new DataError(`StochRsi input must be a finite number, got ${String(close)}`);
    const v = this.#v;
    const prev = this.#p;
    prev.k = v.k;
    prev.d = v.d;

    // RSI: rmaStep and rsiFromAverages from rsi.ts, written out because V8 did not inline the calls here
    // (a third of the throughput). The tests check this RSI equals Rsi's bit for bit.
    const change = close - this.#prevClose;
    this.#prevClose = close;
    const n = this.rsiPeriod;
    const moves = this.#moves;
    let avgGain: number;
    let avgLoss: number;
    if (moves < n) {
      this.#moves = moves + 1;
      if (moves < 0) return false; // first close: no move yet
      if (change > 0) this.#avgGain += change;
      else this.#avgLoss -= change;
      if (moves + 1 < n) return false;
      avgGain = this.#avgGain /= n;
      avgLoss = this.#avgLoss /= n;
    } else {
      // Branch-free split of the move; exact, since doubling and halving a double lose nothing.
      const abs = Math.abs(change);
      const alpha = this.#alpha;
      avgGain = this.#avgGain = alpha * ((change + abs) * 0.5) + (1 - alpha) * this.#avgGain;
      avgLoss = this.#avgLoss = alpha * ((abs - change) * 0.5) + (1 - alpha) * this.#avgLoss;
    }
    const r = avgLoss === 0 ? 100 : 100 - 100 / (1 + avgGain / avgLoss);
    this.#rsi = r;

    // Lowest and highest of the last stochPeriod RSI values: the window is the tail of the previous block
    // (a stored suffix) plus the current block so far (a running prefix). Only the last step, folding in
    // r, waits for the RSI; the rest is ready beforehand.
    const w = this.stochPeriod;
    const p = this.#pos;
    const sel = this.#sel;
    this.#block[p] = r;
    const prefixMin = p === 0 ? Infinity : this.#prefixMin;
    const prefixMax = p === 0 ? -Infinity : this.#prefixMax;
    let othersMin = prefixMin;
    let othersMax = prefixMax;
    if (p !== w - 1) {
      const a = this.#sufMin[p + 1]!;
      const b = this.#sufMax[p + 1]!;
      sel[0] = prefixMin;
      sel[1] = a;
      sel[2] = prefixMax;
      sel[3] = b;
      othersMin = sel[+(a < prefixMin)]!;
      othersMax = sel[2 + +(b > prefixMax)]!;
    }
    sel[0] = prefixMin;
    sel[1] = r;
    sel[2] = prefixMax;
    sel[3] = r;
    sel[4] = othersMin;
    sel[5] = r;
    sel[6] = othersMax;
    sel[7] = r;
    this.#prefixMin = sel[+(r < prefixMin)]!;
    this.#prefixMax = sel[2 + +(r > prefixMax)]!;
    const lo = sel[4 + +(r < othersMin)]!;
    const hi = sel[6 + +(r > othersMax)]!;
    if (p === w - 1) {
      // The block is complete; store its suffix minima/maxima for the next w - 1 updates (index 0 is never read).
      const block = this.#block;
      const sufMin = this.#sufMin;
      const sufMax = this.#sufMax;
      let mn = r;
      let mx = r;
      sufMin[w - 1] = r;
      sufMax[w - 1] = r;
      for (let i = w - 2; i >= 1; i--) {
        const v = block[i]!;
        sel[0] = mn;
        sel[1] = v;
        sel[2] = mx;
        sel[3] = v;
        mn = sel[+(v < mn)]!;
        mx = sel[2 + +(v > mx)]!;
        sufMin[i] = mn;
        sufMax[i] = mx;
      }
      this.#pos = 0;
      this.#windowFull = true;
    } else {
      this.#pos = p + 1;
      if (!this.#windowFull) return false;
    }
    const stoch = hi === lo ? 0 : 100 * ((r - lo) / (hi - lo));
    this.#stoch = stoch;

    // K = SMA(stoch). The window is kBuf[q + 1 .. q + kn - 1] (oldest first) plus the new value; summing the
    // stored ones first keeps the oldest-to-newest order and leaves a single add waiting on stoch.
    const kn = this.kSmoothing;
    const kBuf = this.#kBuf;
    let q = this.#kNext;
    let sum = 0;
    for (let i = q + 1, end = q + kn; i < end; i++) sum += kBuf[i]!;
    sum += stoch;
    kBuf[q] = stoch;
    kBuf[q + kn] = stoch;
    this.#kNext = q + 1 === kn ? 0 : q + 1;
    if (this.#kCount < kn && ++this.#kCount < kn) return false;
    const k = sum / kn;
    v.k = k;

    // D = SMA(K), the same way.
    const dn = this.dSmoothing;
    const dBuf = this.#dBuf;
    q = this.#dNext;
    sum = 0;
    for (let i = q + 1, end = q + dn; i < end; i++) sum += dBuf[i]!;
    sum += k;
    dBuf[q] = k;
    dBuf[q + dn] = k;
    this.#dNext = q + 1 === dn ? 0 : q + 1;
    if (this.#dCount < dn && ++this.#dCount < dn) return false;
    v.d = sum / dn;
    return true;
  }

  /** Back to the freshly constructed state. */
  reset(): void {
    this.#prevClose = NaN;
    this.#moves = -1;
    this.#avgGain = 0;
    this.#avgLoss = 0;
    this.#pos = 0;
    this.#windowFull = false;
    this.#kNext = 0;
    this.#kCount = 0;
    this.#dNext = 0;
    this.#dCount = 0;
    this.#rsi = NaN;
    this.#stoch = NaN;
    this.#v.k = NaN;
    this.#v.d = NaN;
    this.#p.k = NaN;
    this.#p.d = NaN;
  }
}

export interface StochRsiSeries {
  readonly rsi: Float64Array;
  readonly stoch: Float64Array;
  readonly k: Float64Array;
  readonly d: Float64Array;
}

/**
 * {@link StochRsi} over a whole series: one value per input, NaN before it exists (typed arrays hold no
 * undefined). It runs the streaming class, so its numbers are bit-identical to feeding the closes one at a time.
 */
export function stochRsiBatch(closes: ArrayLike<number>, opts?: StochRsiOptions): StochRsiSeries {
  const n = closes.length;
  const out = { rsi: new Float64Array(n), stoch: new Float64Array(n), k: new Float64Array(n), d: new Float64Array(n) };
  const ind = new StochRsi(opts);
  for (let i = 0; i < n; i++) {
    ind.update(closes[i]!);
    out.rsi[i] = ind.rsi ?? NaN;
    out.stoch[i] = ind.stoch ?? NaN;
    out.k[i] = ind.k ?? NaN;
    out.d[i] = ind.d ?? NaN;
  }
  return out;
}
