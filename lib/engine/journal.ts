/**
 * The live session journal: an append-only JSON-lines file, fsync'd after every record, holding every
 * candle fed, decision, order, fill, position change and closed trade. A restart reads it back to restore
 * the trade metrics; `pyr diff` replays its candles through the simulator.
 *
 * Why a file and not SQLite: one writer, appends only, and every record must survive a crash the moment
 * it is written. An fsync'd append gives exactly that with no native dependency, stays greppable, and a
 * torn last line (a crash mid-write) is detected and skipped on reading.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { D, DataError, type Candle, type Dec, type Fill, type Intent, type OrderRequest, type Position, type Trade } from '../core/index.ts';

export const JOURNAL_VERSION = 1;

type Str<T> = { [K in keyof T]: T[K] extends Dec ? string : T[K] extends Dec | undefined ? string | undefined : T[K] };

export type TradeJson = Str<Trade>;
export type FillJson = Str<Fill>;
export type PositionJson = Str<Position>;

export type JournalRecord =
  | {
      readonly t: 'session';
      readonly at: number;
      readonly version: number;
      readonly sessionId: string;
      readonly strategy: string;
      readonly strategyFile: string;
      /** Strategy parameters. */
      readonly params: Readonly<Record<string, unknown>>;
      /** Run parameters (fill model, balance, rule overrides). */
      readonly runParams: Readonly<Record<string, unknown>>;
      readonly symbol: string;
      readonly category: string;
      readonly interval: string;
      readonly env: string;
      readonly warmup: number;
      readonly rules: { readonly tickSize: string; readonly qtyStep: string; readonly minQty: string; readonly minNotional: string; readonly source: string };
    }
  /** A closed candle fed to the engine; `live` false for warm-up candles. */
  | { readonly t: 'candle'; readonly at: number; readonly live: boolean; readonly candle: Candle }
  | { readonly t: 'decision'; readonly at: number; readonly time: number; readonly intents: readonly Intent[]; readonly outcomes: readonly unknown[] }
  /** An order as sent to the exchange. */
  | { readonly t: 'order'; readonly at: number; readonly order: OrderRequest; readonly qty: string; readonly refPrice: string; readonly stopLoss?: string; readonly takeProfit?: string }
  | { readonly t: 'order-result'; readonly at: number; readonly orderId: string; readonly ok: boolean; readonly retCode?: number; readonly retMsg?: string }
  | { readonly t: 'fill'; readonly at: number; readonly fill: FillJson }
  | { readonly t: 'position'; readonly at: number; readonly source: 'ws' | 'rest'; readonly position: PositionJson }
  | { readonly t: 'trade'; readonly at: number; readonly trade: TradeJson }
  | { readonly t: 'rejected'; readonly at: number; readonly orderId: string; readonly reason: string; readonly code?: number }
  | { readonly t: 'guard'; readonly at: number; readonly reason: string }
  | { readonly t: 'note'; readonly at: number; readonly level: 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly t: 'stop'; readonly at: number; readonly reason: string };

export type JournalInput = JournalRecord extends infer R ? (R extends { at: number } ? Omit<R, 'at'> : never) : never;

function decToString(v: unknown): unknown {
  if (v instanceof D) return v.toFixed();
  if (v && typeof v === 'object' && typeof (v as { toFixed?: unknown }).toFixed === 'function' && typeof (v as { d?: unknown }).d !== 'undefined') {
    return (v as { toFixed(): string }).toFixed();
  }
  return v;
}

/** JSON with decimals written as exact plain strings. */
export function journalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => decToString(v));
}

export function tradeToJson(t: Trade): TradeJson {
  return JSON.parse(journalJson(t)) as TradeJson;
}

const TRADE_DECIMALS = ['entryPrice', 'exitPrice', 'qty', 'stopLoss', 'takeProfit', 'entryFee', 'exitFee', 'fees', 'funding', 'grossPnl', 'netPnl', 'netPnlIfTargetFirst'] as const;

export function tradeFromJson(j: TradeJson): Trade {
  const out: Record<string, unknown> = { ...j };
  for (const k of TRADE_DECIMALS) if (typeof j[k] === 'string') out[k] = new D(j[k] as string);
  return out as unknown as Trade;
}

/**
 * An fsync'd append-only journal file, private to its owner (the file 0600, a folder it creates 0700: it
 * holds orders, fills and account figures). A torn tail (a crash mid-write: the file does not end with a
 * newline) is cut on open, so the next record starts on a line of its own; `repaired` says what was cut.
 */
export class Journal {
  readonly file: string;
  #fd: number | undefined;
  /** The torn tail cut on open: its line and length, or undefined when the file was whole. */
  readonly repaired: { readonly line: number; readonly bytes: number } | undefined;

  constructor(file: string) {
    this.file = file;
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.repaired = existsSync(file) ? cutTornTail(file) : undefined;
    this.#fd = openSync(file, 'a', 0o600);
  }

  append(rec: JournalInput): void {
    if (this.#fd === undefined) return;
    writeSync(this.#fd, `${journalJson({ ...rec, at: Date.now() })}\n`);
    fsyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Cuts a journal's last line when it has no newline (a torn write); returns what was cut. */
function cutTornTail(file: string): { line: number; bytes: number } | undefined {
  const buf = readFileSync(file);
  if (buf.length === 0 || buf[buf.length - 1] === 0x0a) return undefined;
  const keep = buf.lastIndexOf(0x0a) + 1;
  let line = 1;
  for (let i = 0; i < keep; i++) if (buf[i] === 0x0a) line++;
  truncateSync(file, keep);
  return { line, bytes: buf.length - keep };
}

/**
 * Reads a journal with each record's line in the file. A torn last line (a crash mid-write) is skipped; a
 * bad line elsewhere is a DataError naming the file and line.
 */
export function readJournalLines(file: string): { rec: JournalRecord; line: number }[] {
  if (!existsSync(file)) throw new DataError('journal not found', { file });
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: { rec: JournalRecord; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    try {
      const rec = JSON.parse(line) as JournalRecord;
      if (!rec || typeof rec !== 'object' || typeof rec.t !== 'string') throw new Error('not a journal record');
      out.push({ rec, line: i + 1 });
    } catch (err) {
      const last = lines.slice(i + 1).every((l) => l.trim() === '');
      if (last) break;
      throw new DataError(`not a journal record: ${(err as Error).message}`, { file, line: i + 1 });
    }
  }
  return out;
}

/** Reads a journal's records (see readJournalLines). */
export function readJournal(file: string): JournalRecord[] {
  return readJournalLines(file).map((r) => r.rec);
}

/** A fill's identity across the journal and the exchange's executions (client order id, time, qty, price). */
export function fillKey(f: { readonly orderId: string; readonly time: number; readonly qty: { toFixed(): string } | string; readonly price: { toFixed(): string } | string }): string {
  const text = (v: { toFixed(): string } | string) => (typeof v === 'string' ? v : v.toFixed());
  return `${f.orderId}|${f.time}|${text(f.qty)}|${text(f.price)}`;
}

/** What a restarted live session takes over from the journal of the earlier ones. */
export interface JournalLiveState {
  /** Closed trades (they count for the metrics and the guards). */
  readonly trades: Trade[];
  /** Every order sent, by client order id. */
  readonly orders: ReadonlyMap<string, OrderRequest>;
  /** Entry orders sent after the last closed trade: the open trade's, when one is open. */
  readonly openEntries: readonly OrderRequest[];
  /** Fills journaled up to the last closed trade (settled) and after it (part of the open trade). */
  readonly settledFills: ReadonlySet<string>;
  readonly openFills: ReadonlySet<string>;
  /** Market time (ms) from which the exchange's executions are read to catch up, if anything was journaled. */
  readonly since: number | undefined;
  /**
   * Open times of the candles acted on: fed to the engine live, and every order decided on them sent
   * and answered (or refused). A candle whose order was decided but not sent, or sent with no answer
   * journaled (a crash in between), is not: a restart decides it again, and the same orderLinkId keeps
   * it from becoming a second order.
   */
  readonly decided: ReadonlySet<number>;
  /** The highest trade id so far. */
  readonly lastTradeId: number;
}

/**
 * The state a restart takes over: trades, orders by id, the open trade's entry orders (by order id, never
 * guessed from a side), which fills are already journaled, and where to start reading the exchange's
 * executions (the earliest open entry's deciding candle, else the last candle journaled).
 */
export function liveStateFromJournal(recs: readonly JournalRecord[]): JournalLiveState {
  const trades: Trade[] = [];
  const orders = new Map<string, OrderRequest>();
  let openEntries: OrderRequest[] = [];
  const settled = new Set<string>();
  let open = new Set<string>();
  const decided = new Set<number>();
  const ordersOf = new Map<number, string[]>();
  const answered = new Set<string>();
  let lastCandle: number | undefined;
  for (const r of recs) {
    if (r.t === 'decision') {
      const ids = (r.outcomes as { order?: { id?: unknown } }[]).flatMap((x) => (x && x.order && typeof x.order.id === 'string' ? [x.order.id] : []));
      ordersOf.set(r.time, [...(ordersOf.get(r.time) ?? []), ...ids]);
    } else if (r.t === 'order-result' || r.t === 'rejected') answered.add(r.orderId);
    else if (r.t === 'note') {
      const m = /^order (\S+) reconciled:/.exec(r.message);
      if (m) answered.add(m[1]!);
    }
    if (r.t === 'trade') {
      trades.push(tradeFromJson(r.trade));
      openEntries = [];
      for (const k of open) settled.add(k);
      open = new Set();
    } else if (r.t === 'order') {
      orders.set(r.order.id, r.order);
      if (r.order.purpose === 'entry') openEntries.push(r.order);
    } else if (r.t === 'fill') open.add(fillKey(r.fill));
    else if (r.t === 'candle') {
      lastCandle = r.candle.openTime;
      if (r.live) decided.add(r.candle.openTime);
    }
  }
  for (const [time, ids] of ordersOf) if (ids.some((id) => !answered.has(id))) decided.delete(time);
  const starts = [...openEntries.map((o) => o.signalTime), ...(lastCandle !== undefined ? [lastCandle] : [])];
  return {
    trades,
    orders,
    openEntries,
    settledFills: settled,
    openFills: open,
    since: starts.length ? Math.min(...starts) : undefined,
    decided,
    lastTradeId: trades.reduce((m, t) => Math.max(m, t.id), 0),
  };
}
