/**
 * Indicators computed once per sweep: a factory a strategy creates its indicators through
 * (`env.indicators`, see lib/strategy's StrategyEnv), and a cache behind it that records each indicator's
 * output series and replays it to later runs with the same options over the same inputs.
 *
 * - `directIndicators` is the plain factory (new StochRsi(...), new FibonacciPivots(...)): what a
 *   strategy gets outside a sweep, and what `indicatorsOf(env)` returns when the env has none.
 * - `createIndicatorCache()` is the caching factory; the sweep's runner (lib/sweep/worker.ts) makes one per
 *   worker and hands it to every run. Records are keyed by (indicator, options) and by the first input
 *   (so runs starting at a different candle, e.g. walk-forward windows, get records of their own).
 *
 * Replay is by input index and checked: the n-th update of a cached indicator replays the record's n-th
 * outputs only when its input is the record's n-th input (the close, or the candle's openTime, high, low
 * and close, bit for bit). On the first input that differs, the indicator becomes a real one: a fresh
 * instance is fed the inputs seen so far (equal to the record's) and computes from there on, so a cached
 * indicator gives exactly the numbers an uncached one would, whatever it is fed. A run that goes past the
 * end of the record computes the rest and extends the record. Strategies that construct indicators
 * directly still work, uncached.
 */
import type { Candle } from '../core/index.ts';
import { FibonacciPivots, type FibonacciPivotsOptions, type PivotLevels } from './pivots.ts';
import { StochRsi, type StochRsiOptions, type StochRsiValue } from './stochrsi.ts';
import { SwingPivots, type SwingPivotsOptions } from './swing.ts';

/** What a strategy reads from a StochRsi (the class, or its cached replay). */
export interface StochRsiLike {
  readonly rsiPeriod: number;
  readonly stochPeriod: number;
  readonly kSmoothing: number;
  readonly dSmoothing: number;
  readonly warmup: number;
  readonly value: StochRsiValue | undefined;
  readonly previous: StochRsiValue | undefined;
  readonly isReady: boolean;
  readonly rsi: number | undefined;
  readonly stoch: number | undefined;
  readonly k: number | undefined;
  readonly d: number | undefined;
  readonly prevK: number | undefined;
  readonly prevD: number | undefined;
  update(close: number): boolean;
  reset(): void;
}

/** What a strategy reads from FibonacciPivots (the class, or its cached replay). */
export interface FibonacciPivotsLike {
  readonly periodMs: number | undefined;
  readonly period: 'D' | 'W' | 'M' | undefined;
  readonly warmup: number;
  readonly value: PivotLevels | undefined;
  readonly isReady: boolean;
  supports(): number[];
  resistances(): number[];
  update(candle: Candle): boolean;
  reset(): void;
}

/** How a strategy makes its indicators (`env.indicators`). */
export interface IndicatorFactory {
  stochRsi(opts?: StochRsiOptions): StochRsiLike;
  fibonacciPivots(opts?: FibonacciPivotsOptions): FibonacciPivotsLike;
  /** Not cached (its value holds arrays of levels); the plain indicator. */
  swingPivots(opts?: SwingPivotsOptions): SwingPivots;
}

/** The plain factory: new indicators, nothing cached. */
export const directIndicators: IndicatorFactory = Object.freeze({
  stochRsi: (o?: StochRsiOptions) => new StochRsi(o),
  fibonacciPivots: (o?: FibonacciPivotsOptions) => new FibonacciPivots(o),
  swingPivots: (o?: SwingPivotsOptions) => new SwingPivots(o),
});

/** The env's factory, or the plain one. */
export function indicatorsOf(env: { readonly indicators?: IndicatorFactory } | undefined): IndicatorFactory {
  return env?.indicators ?? directIndicators;
}

// ---------------------------------------------------------------------------------------------------
// Records

/** A growable set of Float64 columns, one row per input. */
class Columns {
  length = 0;
  cols: Float64Array[];
  constructor(readonly width: number) {
    this.cols = Array.from({ length: width }, () => new Float64Array(1024));
  }
  /** Room for one more row; returns false when the cache's budget is spent. */
  grow(budget: Budget): boolean {
    const cap = this.cols[0]!.length;
    if (this.length < cap) return true;
    const add = cap * this.width * 8;
    if (budget.used + add > budget.max) return false;
    budget.used += add;
    this.cols = this.cols.map((c) => {
      const n = new Float64Array(cap * 2);
      n.set(c);
      return n;
    });
    return true;
  }
}

interface Budget {
  used: number;
  readonly max: number;
}

/** Records per key at most (different first inputs: walk-forward windows, other candle files). */
const RECORDS_PER_KEY = 16;

interface CacheStats {
  /** Indicators created through the cache; those that replayed at least once from an existing record. */
  created: number;
  replayed: number;
}

export interface IndicatorCache extends IndicatorFactory {
  readonly stats: Readonly<CacheStats>;
  /** Bytes held by the records. */
  readonly bytes: number;
}

/**
 * A caching factory (one per worker). `maxBytes` bounds the records' memory (default 512 MB); past it,
 * new indicators compute without recording.
 */
export function createIndicatorCache(opts: { maxBytes?: number } = {}): IndicatorCache {
  const budget: Budget = { used: 0, max: opts.maxBytes ?? 512 * 1024 * 1024 };
  const stats: CacheStats = { created: 0, replayed: 0 };
  const records = new Map<string, Columns[]>();
  const pool = (key: string): Columns[] => {
    let list = records.get(key);
    if (!list) records.set(key, (list = []));
    return list;
  };
  return {
    stats,
    get bytes() {
      return budget.used;
    },
    stochRsi(o: StochRsiOptions = {}) {
      stats.created++;
      const live = new StochRsi(o); // validates the options as the plain one does; the replay's template
      const key = `StochRsi:${live.rsiPeriod}:${live.stochPeriod}:${live.kSmoothing}:${live.dSmoothing}`;
      return new CachedStochRsi(live, o, pool(key), budget, stats);
    },
    fibonacciPivots(o: FibonacciPivotsOptions = {}) {
      stats.created++;
      const live = new FibonacciPivots(o);
      const key = `FibonacciPivots:${live.period ?? ''}:${live.periodMs ?? ''}`;
      return new CachedFibonacciPivots(live, o, pool(key), budget, stats);
    },
    swingPivots: (o?: SwingPivotsOptions) => new SwingPivots(o),
  };
}

/** The record in `list` whose first input is `first` (per `same`), or a new one, or undefined (no room). */
function pick(list: Columns[], width: number, budget: Budget, same: (rec: Columns) => boolean): Columns | undefined {
  for (const rec of list) if (rec.length > 0 && same(rec)) return rec;
  if (list.length >= RECORDS_PER_KEY) return undefined;
  const bytes = 1024 * width * 8;
  if (budget.used + bytes > budget.max) return undefined;
  budget.used += bytes;
  const rec = new Columns(width);
  list.push(rec);
  return rec;
}

// StochRsi record columns: the input close, then rsi, stoch, k, d after the update.
const S_IN = 0;
const S_RSI = 1;
const S_STOCH = 2;
const S_K = 3;
const S_D = 4;

/** A recorded number, NaN for none. */
const orUndefined = (x: number): number | undefined => (x === x ? x : undefined);

class CachedStochRsi implements StochRsiLike {
  readonly rsiPeriod: number;
  readonly stochPeriod: number;
  readonly kSmoothing: number;
  readonly dSmoothing: number;
  readonly warmup: number;
  /** The real indicator once replay stopped (or never started); undefined while replaying. */
  #live: StochRsi | undefined;
  readonly #opts: StochRsiOptions;
  readonly #list: Columns[];
  readonly #budget: Budget;
  readonly #stats: CacheStats;
  #rec: Columns | undefined;
  /** Inputs seen since construction or reset. */
  #n = 0;
  /** Whether #live's results are appended to #rec (it is at the record's end). */
  #recording = false;
  #counted = false;
  readonly #v = { k: NaN, d: NaN };
  readonly #p = { k: NaN, d: NaN };
  #rsi = NaN;
  #stoch = NaN;

  constructor(template: StochRsi, opts: StochRsiOptions, list: Columns[], budget: Budget, stats: CacheStats) {
    this.rsiPeriod = template.rsiPeriod;
    this.stochPeriod = template.stochPeriod;
    this.kSmoothing = template.kSmoothing;
    this.dSmoothing = template.dSmoothing;
    this.warmup = template.warmup;
    this.#opts = opts;
    this.#list = list;
    this.#budget = budget;
    this.#stats = stats;
    this.#live = undefined;
  }

  get value(): StochRsiValue | undefined {
    if (this.#live) return this.#live.value;
    const v = this.#v;
    return v.d === v.d ? v : undefined;
  }
  get previous(): StochRsiValue | undefined {
    if (this.#live) return this.#live.previous;
    const p = this.#p;
    return p.d === p.d ? p : undefined;
  }
  get isReady(): boolean {
    return this.#live ? this.#live.isReady : this.#v.d === this.#v.d;
  }
  get rsi(): number | undefined {
    return this.#live ? this.#live.rsi : orUndefined(this.#rsi);
  }
  get stoch(): number | undefined {
    return this.#live ? this.#live.stoch : orUndefined(this.#stoch);
  }
  get k(): number | undefined {
    return this.#live ? this.#live.k : orUndefined(this.#v.k);
  }
  get d(): number | undefined {
    return this.#live ? this.#live.d : orUndefined(this.#v.d);
  }
  get prevK(): number | undefined {
    return this.#live ? this.#live.prevK : orUndefined(this.#p.k);
  }
  get prevD(): number | undefined {
    return this.#live ? this.#live.prevD : orUndefined(this.#p.d);
  }

  update(close: number): boolean {
    const n = this.#n++;
    const live = this.#live;
    if (live === undefined) {
      let rec = this.#rec;
      if (n === 0) rec = this.#rec = pick(this.#list, 5, this.#budget, (r) => r.cols[S_IN]![0] === close);
      if (rec !== undefined && n < rec.length && rec.cols[S_IN]![n] === close) {
        // Replay the n-th outputs.
        if (!this.#counted) {
          this.#counted = true;
          this.#stats.replayed++;
        }
        const c = rec.cols;
        const v = this.#v;
        const p = this.#p;
        p.k = v.k;
        p.d = v.d;
        this.#rsi = c[S_RSI]![n]!;
        this.#stoch = c[S_STOCH]![n]!;
        v.k = c[S_K]![n]!;
        v.d = c[S_D]![n]!;
        return v.d === v.d;
      }
      return this.#goLive(n, close);
    }
    const ready = live.update(close);
    if (this.#recording) this.#append(n, close, live);
    return ready;
  }

  /** From input n on, a real StochRsi, fed the n inputs seen so far (the record's first n). */
  #goLive(n: number, close: number): boolean {
    const live = (this.#live = new StochRsi(this.#opts));
    const rec = this.#rec;
    if (rec) for (let i = 0; i < n; i++) live.update(rec.cols[S_IN]![i]!);
    this.#recording = rec !== undefined && rec.length === n;
    const ready = live.update(close);
    if (this.#recording) this.#append(n, close, live);
    return ready;
  }

  #append(n: number, close: number, live: StochRsi): void {
    const rec = this.#rec!;
    if (rec.length !== n || !rec.grow(this.#budget)) {
      this.#recording = false;
      return;
    }
    const c = rec.cols;
    c[S_IN]![n] = close;
    c[S_RSI]![n] = live.rsi ?? NaN;
    c[S_STOCH]![n] = live.stoch ?? NaN;
    c[S_K]![n] = live.k ?? NaN;
    c[S_D]![n] = live.d ?? NaN;
    rec.length = n + 1;
  }

  reset(): void {
    this.#live = undefined;
    this.#rec = undefined;
    this.#recording = false;
    this.#n = 0;
    this.#v.k = this.#v.d = this.#p.k = this.#p.d = this.#rsi = this.#stoch = NaN;
  }
}

// FibonacciPivots record columns: the input (openTime, high, low, close), then the index of the levels
// object after the update in the record's `levels` list (-1: none).
const F_T = 0;
const F_H = 1;
const F_L = 2;
const F_C = 3;
const F_LV = 4;

/** FibonacciPivots' records keep the levels objects themselves (made once per period, never changed). */
const LEVELS = new WeakMap<Columns, PivotLevels[]>();

class CachedFibonacciPivots implements FibonacciPivotsLike {
  readonly periodMs: number | undefined;
  readonly period: 'D' | 'W' | 'M' | undefined;
  readonly warmup: number;
  #live: FibonacciPivots | undefined;
  readonly #opts: FibonacciPivotsOptions;
  readonly #list: Columns[];
  readonly #budget: Budget;
  readonly #stats: CacheStats;
  #rec: Columns | undefined;
  #n = 0;
  #recording = false;
  #counted = false;
  #levels: PivotLevels | undefined;

  constructor(template: FibonacciPivots, opts: FibonacciPivotsOptions, list: Columns[], budget: Budget, stats: CacheStats) {
    this.periodMs = template.periodMs;
    this.period = template.period;
    this.warmup = template.warmup;
    this.#opts = opts;
    this.#list = list;
    this.#budget = budget;
    this.#stats = stats;
  }

  get value(): PivotLevels | undefined {
    return this.#live ? this.#live.value : this.#levels;
  }
  get isReady(): boolean {
    return this.value !== undefined;
  }
  supports(): number[] {
    const l = this.value;
    return l ? [l.s1, l.s2, l.s3] : [];
  }
  resistances(): number[] {
    const l = this.value;
    return l ? [l.r1, l.r2, l.r3] : [];
  }

  update(candle: Candle): boolean {
    const n = this.#n++;
    const live = this.#live;
    if (live === undefined) {
      let rec = this.#rec;
      const same = (r: Columns, i: number): boolean => {
        const c = r.cols;
        return c[F_T]![i] === candle.openTime && c[F_H]![i] === candle.high && c[F_L]![i] === candle.low && c[F_C]![i] === candle.close;
      };
      if (n === 0) rec = this.#rec = pick(this.#list, 5, this.#budget, (r) => same(r, 0));
      if (rec !== undefined && n < rec.length && same(rec, n)) {
        if (!this.#counted) {
          this.#counted = true;
          this.#stats.replayed++;
        }
        const k = rec.cols[F_LV]![n]!;
        this.#levels = k < 0 ? undefined : LEVELS.get(rec)![k]!;
        return this.#levels !== undefined;
      }
      return this.#goLive(n, candle);
    }
    const ready = live.update(candle);
    if (this.#recording) this.#append(n, candle, live);
    return ready;
  }

  #goLive(n: number, candle: Candle): boolean {
    const live = (this.#live = new FibonacciPivots(this.#opts));
    const rec = this.#rec;
    if (rec) {
      const c = rec.cols;
      for (let i = 0; i < n; i++) live.update({ openTime: c[F_T]![i]!, open: NaN, high: c[F_H]![i]!, low: c[F_L]![i]!, close: c[F_C]![i]!, volume: NaN, turnover: NaN });
    }
    this.#recording = rec !== undefined && rec.length === n;
    const ready = live.update(candle);
    if (this.#recording) this.#append(n, candle, live);
    return ready;
  }

  #append(n: number, candle: Candle, live: FibonacciPivots): void {
    const rec = this.#rec!;
    if (rec.length !== n || !rec.grow(this.#budget)) {
      this.#recording = false;
      return;
    }
    let levels = LEVELS.get(rec);
    if (!levels) LEVELS.set(rec, (levels = []));
    const lv = live.value;
    let k = -1;
    if (lv !== undefined) {
      if (levels[levels.length - 1] !== lv) levels.push(lv);
      k = levels.length - 1;
    }
    const c = rec.cols;
    c[F_T]![n] = candle.openTime;
    c[F_H]![n] = candle.high;
    c[F_L]![n] = candle.low;
    c[F_C]![n] = candle.close;
    c[F_LV]![n] = k;
    rec.length = n + 1;
  }

  reset(): void {
    this.#live = undefined;
    this.#rec = undefined;
    this.#recording = false;
    this.#n = 0;
    this.#levels = undefined;
  }
}
