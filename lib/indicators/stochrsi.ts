import { DataError } from '../core/index.ts';
import { positiveInt } from './args.ts';

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

/**
 * Stochastic RSI on a 0-100 scale, TradingView's definition: where the latest RSI sits inside the range of
 * the last `stochPeriod` RSI values, smoothed twice.
 *
 * Reading it: K near 100 means RSI is at the top of its recent range (overbought), near 0 at the bottom
 * (oversold); D is a slower copy of K, and K crossing D is the usual trigger. `prevK`/`prevD` hold the
 * previous candle's values, so an upward cross is `prevK <= prevD && k > d` without the caller keeping copies.
 *
 * - rsi: Wilder's RSI, exactly as `Rsi` computes it (first value at close index `rsiPeriod`).
 * - stoch = 100 * ((rsi - lowest) / (highest - lowest)) over the last `stochPeriod` RSI values. The ratio comes
 *   first so an RSI at its window high gives exactly 100. A flat window (highest == lowest) gives 0, as in
 *   the reference implementation (trading-signals returns 100 there; Pine gives NaN).
 * - k = SMA(stoch, kSmoothing), d = SMA(k, dSmoothing), each a fresh window sum (oldest to newest) divided by
 *   the length, never a running sum: equal windows give bit-equal averages, so a flat K never fakes a cross.
 *
 * With the defaults, values start at close index 14 (rsi), 27 (stoch), 29 (k) and 31 (d): `warmup` is 32.
 * These numbers equal the reference file `BTCUSDT-15m-stochrsi.csv` bit for bit.
 *
 * Performance: `update` is O(1) and allocates nothing. Everything is written out in this one class (calls into
 * Rsi/Sma objects or helpers were not inlined by V8 and cost a third to a half of the speed), the stochastic's min/max uses the van Herk/Gil-Werman
 * block scheme (a few compares per update instead of a 14-wide scan), and the gain/loss split is branch-free.
 *
 * @see https://www.tradingview.com/support/solutions/43000502333-stochastic-rsi-stoch-rsi/
 * @see Chande & Kroll, The New Technical Trader (1994), where StochRSI was introduced
 */
export class StochRsi {
  readonly rsiPeriod: number;
  readonly stochPeriod: number;
  readonly kSmoothing: number;
  readonly dSmoothing: number;
  /** Closes needed before the first D, i.e. before `update` returns true (32 with the defaults). */
  readonly warmup: number;

  readonly #alpha: number;
  // RSI
  #prevClose = NaN;
  /** Price moves seen, counting up to rsiPeriod while the averages are being seeded. */
  #moves = -1;
  #avgGain = 0;
  #avgLoss = 0;
  #rsi = NaN;
  // Min/max of the last stochPeriod RSI values: the current block of stochPeriod inputs, the previous
  // block's suffix minima/maxima, and the current block's running prefix min/max.
  readonly #block: Float64Array;
  readonly #sufMin: Float64Array;
  readonly #sufMax: Float64Array;
  #pos = 0;
  #windowFull = false;
  #preMin = 0;
  #preMax = 0;
  // SMA windows, each value written at i and i + length so the window is the contiguous slice
  // [next, next + length), oldest first.
  readonly #kBuf: Float64Array;
  #kNext = 0;
  #kCount = 0;
  readonly #dBuf: Float64Array;
  #dNext = 0;
  #dCount = 0;
  #stoch = NaN;
  #k = NaN;
  #d = NaN;
  #prevK = NaN;
  #prevD = NaN;

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

  /** Latest RSI (0-100), NaN until it exists. */
  get rsi(): number {
    return this.#rsi;
  }
  /** Latest raw stochastic of the RSI (0-100), NaN until it exists. */
  get stoch(): number {
    return this.#stoch;
  }
  /** Latest K (0-100), NaN until it exists. */
  get k(): number {
    return this.#k;
  }
  /** Latest D (0-100), NaN until it exists. */
  get d(): number {
    return this.#d;
  }
  /** K after the previous close; NaN until K existed then. */
  get prevK(): number {
    return this.#prevK;
  }
  /** D after the previous close; NaN until D existed then. */
  get prevD(): number {
    return this.#prevD;
  }
  /** True once K and D exist. */
  get isStable(): boolean {
    return this.#d === this.#d;
  }

  /**
   * Adds one closed candle's close; true once K and D exist. Throws a DataError on a non-finite close, which
   * would poison every later value.
   */
  update(close: number): boolean {
    if (!Number.isFinite(close)) throw new DataError(`StochRsi input must be a finite number, got ${String(close)}`);
    this.#prevK = this.#k;
    this.#prevD = this.#d;

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

    // Lowest and highest of the last stochPeriod RSI values
    const w = this.stochPeriod;
    const p = this.#pos;
    this.#block[p] = r;
    const preMin = p === 0 || r < this.#preMin ? r : this.#preMin;
    const preMax = p === 0 || r > this.#preMax ? r : this.#preMax;
    this.#preMin = preMin;
    this.#preMax = preMax;
    let lo: number;
    let hi: number;
    if (p === w - 1) {
      // The block is complete and is exactly the window; its suffixes serve the next w updates.
      const block = this.#block;
      const sufMin = this.#sufMin;
      const sufMax = this.#sufMax;
      let mn = r;
      let mx = r;
      for (let i = w - 1; i >= 0; i--) {
        const v = block[i]!;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        sufMin[i] = mn;
        sufMax[i] = mx;
      }
      this.#pos = 0;
      this.#windowFull = true;
      lo = preMin;
      hi = preMax;
    } else {
      this.#pos = p + 1;
      if (!this.#windowFull) return false;
      const a = this.#sufMin[p + 1]!;
      const b = this.#sufMax[p + 1]!;
      lo = a < preMin ? a : preMin;
      hi = b > preMax ? b : preMax;
    }
    const stoch = hi === lo ? 0 : 100 * ((r - lo) / (hi - lo));
    this.#stoch = stoch;

    // K = SMA(stoch)
    const kn = this.kSmoothing;
    const kBuf = this.#kBuf;
    let q = this.#kNext;
    kBuf[q] = stoch;
    kBuf[q + kn] = stoch;
    q = q + 1 === kn ? 0 : q + 1;
    this.#kNext = q;
    if (this.#kCount < kn && ++this.#kCount < kn) return false;
    let sum = 0;
    for (let i = q, end = q + kn; i < end; i++) sum += kBuf[i]!;
    const k = sum / kn;
    this.#k = k;

    // D = SMA(K)
    const dn = this.dSmoothing;
    const dBuf = this.#dBuf;
    q = this.#dNext;
    dBuf[q] = k;
    dBuf[q + dn] = k;
    q = q + 1 === dn ? 0 : q + 1;
    this.#dNext = q;
    if (this.#dCount < dn && ++this.#dCount < dn) return false;
    sum = 0;
    for (let i = q, end = q + dn; i < end; i++) sum += dBuf[i]!;
    this.#d = sum / dn;
    return true;
  }

  /** Back to the freshly constructed state. */
  reset(): void {
    this.#prevClose = NaN;
    this.#moves = -1;
    this.#avgGain = 0;
    this.#avgLoss = 0;
    this.#rsi = NaN;
    this.#pos = 0;
    this.#windowFull = false;
    this.#kNext = 0;
    this.#kCount = 0;
    this.#dNext = 0;
    this.#dCount = 0;
    this.#stoch = NaN;
    this.#k = NaN;
    this.#d = NaN;
    this.#prevK = NaN;
    this.#prevD = NaN;
  }
}

export interface StochRsiSeries {
  readonly rsi: Float64Array;
  readonly stoch: Float64Array;
  readonly k: Float64Array;
  readonly d: Float64Array;
}

/**
 * {@link StochRsi} over a whole series: one value per input, NaN before it exists. It runs the streaming
 * class, so its numbers are bit-identical to feeding the closes one at a time.
 */
export function stochRsiBatch(closes: ArrayLike<number>, opts?: StochRsiOptions): StochRsiSeries {
  const n = closes.length;
  const out = { rsi: new Float64Array(n), stoch: new Float64Array(n), k: new Float64Array(n), d: new Float64Array(n) };
  const ind = new StochRsi(opts);
  for (let i = 0; i < n; i++) {
    ind.update(closes[i]!);
    out.rsi[i] = ind.rsi;
    out.stoch[i] = ind.stoch;
    out.k[i] = ind.k;
    out.d[i] = ind.d;
  }
  return out;
}
