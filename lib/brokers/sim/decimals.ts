/**
 * The decimals a sweep's simulator keeps or makes late: fixed-size tables of the decimals of whole-tick
 * prices and their fees (SimDecimalCache, shared by a worker's runs), and the fills and the position
 * whose decimals are made only when read (LazyFill, LazyPosition). Nothing here changes a value: a kept
 * or late decimal is the one the plain simulator makes.
 */
import type { Dec, ExitReason, Fill, Liquidity, Position, PositionSide } from '../../core/index.ts';

/**
 * A direct-mapped table of decimals by one or two integer keys: a slot per key's low bits, a new key
 * replaces the old one in its slot (then the old decimal is made again when asked for), so a lookup is
 * an array read and the table's size is fixed.
 */
class DecimalTable {
  readonly #a: Float64Array;
  readonly #b: Float64Array;
  readonly #vals: (Dec | undefined)[];
  readonly #mask: number;
  constructor(bits: number) {
    const n = 1 << bits;
    this.#a = new Float64Array(n).fill(NaN);
    this.#b = new Float64Array(n).fill(NaN);
    this.#vals = new Array<Dec | undefined>(n).fill(undefined);
    this.#mask = n - 1;
  }
  /** The decimal kept for (a, b), or undefined. */
  get(a: number, b: number): Dec | undefined {
    const h = ((a | 0) ^ Math.imul(b | 0, 0x9e3779b1)) & this.#mask;
    return this.#a[h] === a && this.#b[h] === b ? this.#vals[h] : undefined;
  }
  set(a: number, b: number, d: Dec): void {
    const h = ((a | 0) ^ Math.imul(b | 0, 0x9e3779b1)) & this.#mask;
    this.#a[h] = a;
    this.#b[h] = b;
    this.#vals[h] = d;
  }
}

/** The decimals of one instrument's ticks and fees (see SimDecimalCache). */
export interface DecimalBucket {
  /** Prices by ticks (second key 0). */
  readonly prices: DecimalTable;
  /** Fees by price in ticks and qty in steps. */
  readonly taker: DecimalTable;
  readonly maker: DecimalTable;
}

/**
 * Prices made of whole ticks (tick x n) and the fees of whole steps at whole ticks, as decimals, kept per
 * tick, step and fee rates: runs over the same candles make the same prices again and again. Decimals are
 * immutable, so a kept one is as good as a new one of the same value. Fixed size: 2^bits prices and as
 * many fees of each liquidity (direct-mapped, see DecimalTable).
 */
export class SimDecimalCache {
  readonly #buckets = new Map<string, DecimalBucket>();
  readonly #bits: number;
  constructor(opts: { bits?: number } = {}) {
    this.#bits = opts.bits ?? 17;
  }
  bucket(tick: Dec, step: Dec, taker: Dec, maker: Dec): DecimalBucket {
    const key = `${tick.toString()}|${step.toString()}|${taker.toString()}|${maker.toString()}`;
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, (b = { prices: new DecimalTable(this.#bits), taker: new DecimalTable(this.#bits), maker: new DecimalTable(Math.min(this.#bits, 12)) }));
    return b;
  }
}

/** What LazyPosition reads of the simulator's open position. */
export interface LazyPositionSource {
  readonly side: PositionSide;
  readonly qty: Dec;
  readonly entryTime: number;
}

/** How a sweep's fills and positions make their decimals when read (the simulator's, see LazyFill). */
export interface LazyDecimals<P extends LazyPositionSource = LazyPositionSource> {
  price(ticks: number): Dec;
  fee(qty: Dec, steps: number, price: Dec, ticks: number, liquidity: Liquidity): Dec;
  entryPrice(p: P): Dec;
  sl(p: P): Dec | undefined;
  tp(p: P): Dec | undefined;
}

/**
 * A fill of a sweep's run (`lazyTrades`): its price (whole ticks) and fee are the decimals the plain
 * simulator makes, made when first read. Nothing in a sweep reads them but the accounting of a trade
 * that is not exact.
 */
export class LazyFill implements Fill {
  readonly orderId: string;
  readonly time: number;
  readonly side: 'Buy' | 'Sell';
  readonly qty: Dec;
  readonly liquidity: Liquidity;
  readonly purpose: 'entry' | 'exit';
  readonly exitReason?: ExitReason;
  readonly #d: Pick<LazyDecimals, 'price' | 'fee'>;
  readonly #steps: number;
  readonly #ticks: number;
  #price: Dec | undefined;
  #fee: Dec | undefined;
  constructor(d: Pick<LazyDecimals, 'price' | 'fee'>, orderId: string, time: number, side: 'Buy' | 'Sell', qty: Dec, steps: number, ticks: number, liquidity: Liquidity, purpose: 'entry' | 'exit', exitReason?: ExitReason) {
    this.orderId = orderId;
    this.time = time;
    this.side = side;
    this.qty = qty;
    this.liquidity = liquidity;
    this.purpose = purpose;
    if (exitReason !== undefined) this.exitReason = exitReason;
    this.#d = d;
    this.#steps = steps;
    this.#ticks = ticks;
  }
  get price(): Dec {
    return (this.#price ??= this.#d.price(this.#ticks));
  }
  get fee(): Dec {
    return (this.#fee ??= this.#d.fee(this.qty, this.#steps, this.price, this.#ticks, this.liquidity));
  }
}

/** The position of a sweep's run as the engine sees it: its decimals made when read (see LazyFill). */
export class LazyPosition<P extends LazyPositionSource> implements Position {
  readonly side: PositionSide;
  readonly qty: Dec;
  readonly openedAt: number;
  readonly #p: P;
  readonly #d: LazyDecimals<P>;
  constructor(p: P, d: LazyDecimals<P>) {
    this.side = p.side;
    this.qty = p.qty;
    this.openedAt = p.entryTime;
    this.#p = p;
    this.#d = d;
  }
  get entryPrice(): Dec {
    return this.#d.entryPrice(this.#p);
  }
  get stopLoss(): Dec | undefined {
    return this.#d.sl(this.#p);
  }
  get takeProfit(): Dec | undefined {
    return this.#d.tp(this.#p);
  }
}

