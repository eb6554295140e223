/**
 * The sandbox's WebSocket side. Every path serves everything (the SDK's `wsUrl` sends all its sockets to
 * one URL): public topics at once, private topics after a valid `auth`. Replies are compact JSON, as the
 * SDK matches pongs by substring.
 *
 * Public: `kline.{interval}.{symbol}` (the current candle is pushed right after subscribing, then on every
 * replay price point, and `confirm:true` when a candle closes) and `tickers.{symbol}` (snapshot on
 * subscribe, then deltas with the changed fields). Private: `position`, `order`, `execution`, `wallet`
 * (and their `.linear` forms), pushed as the matching engine reports changes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { checkWsAuth } from './auth.ts';
import type { PrivateTopic } from './engine.ts';

type Obj = Record<string, unknown>;

export interface WsHubOptions {
  readonly symbol: string;
  readonly interval: string;
  readonly category: string;
  readonly keys: ReadonlyMap<string, string>;
  wallNow(): number;
  /** Replay clock, for message timestamps. */
  replayNow(): number;
  /** The current kline item (confirm false) for a fresh subscriber, or undefined at the end of the replay. */
  currentKline(): Obj | undefined;
  /** The full ticker, for snapshots. */
  ticker(): Obj;
  /** Fault injection: whether this `auth` request loses its connection instead of an answer. */
  takeAuthDrop?(): boolean;
  /** Fault injection: whether this `auth` request goes unanswered (the connection stays open). */
  takeAuthIgnore?(): boolean;
}

interface Conn {
  readonly id: string;
  readonly ws: WebSocket;
  readonly privatePath: boolean;
  apiKey?: string;
  readonly topics: Set<string>;
}

const PRIVATE = new Set(['position', 'order', 'execution', 'wallet']);

export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly conns = new Set<Conn>();
  private lastTicker: Obj | undefined;
  private tickerSeq = 1;

  constructor(private readonly opts: WsHubOptions) {}

  /** Hands an HTTP upgrade request to the hub. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req.url ?? '/'));
  }

  /** Open connections. */
  connectionCount(): number {
    return this.conns.size;
  }

  /** Closes every connection from the server side (1001 going away). Returns how many. */
  dropAll(): number {
    const n = this.conns.size;
    for (const c of this.conns) c.ws.close(1001, 'sandbox: connection dropped');
    return n;
  }

  /** Terminates every connection at once (shutdown). */
  terminateAll(): void {
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
  }

  close(): Promise<void> {
    this.terminateAll();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  /** A kline update for subscribers of `kline.{interval}.{symbol}`. */
  publishKline(item: Obj): void {
    const topic = `kline.${this.opts.interval}.${this.opts.symbol}`;
    this.publishPublic(topic, { topic, type: 'snapshot', ts: this.opts.replayNow(), data: [item] });
  }

  /** A ticker change: subscribers get a delta with the fields that changed. */
  publishTicker(): void {
    const topic = `tickers.${this.opts.symbol}`;
    if (![...this.conns].some((c) => c.topics.has(topic))) return; // nobody listening: skip the 24h statistics
    const full = this.opts.ticker();
    const prev = this.lastTicker;
    this.lastTicker = full;
    const delta: Obj = { symbol: full.symbol };
    for (const [k, v] of Object.entries(full)) if (!prev || prev[k] !== v) delta[k] = v;
    if (Object.keys(delta).length === 1) return;
    this.publishPublic(topic, { topic, type: 'delta', data: delta, cs: this.tickerSeq++, ts: this.opts.replayNow() });
  }

  /** A private stream message from the matching engine. */
  publishPrivate(topic: PrivateTopic, data: Obj[]): void {
    const creationTime = this.opts.replayNow();
    for (const c of this.conns) {
      if (!c.apiKey) continue;
      for (const t of [topic, `${topic}.${this.opts.category}`]) {
        if (c.topics.has(t)) this.send(c, { id: `${randomUUID()}`, topic: t, creationTime, data });
      }
    }
  }

  private publishPublic(topic: string, msg: Obj): void {
    let text: string | undefined;
    for (const c of this.conns) {
      if (!c.topics.has(topic)) continue;
      text ??= JSON.stringify(msg);
      if (c.ws.readyState === c.ws.OPEN) c.ws.send(text);
    }
  }

  private accept(ws: WebSocket, url: string): void {
    const c: Conn = { id: randomUUID(), ws, privatePath: url.includes('/private') || url.includes('/trade'), topics: new Set() };
    this.conns.add(c);
    ws.on('message', (raw) => this.onMessage(c, raw.toString()));
    ws.on('close', () => this.conns.delete(c));
    ws.on('error', () => this.conns.delete(c));
  }

  private send(c: Conn, msg: Obj): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  }

  private onMessage(c: Conn, text: string): void {
    let msg: Obj;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
      msg = parsed as Obj;
    } catch {
      this.send(c, { success: false, ret_msg: `error:request not valid json: ${text.slice(0, 100)}`, conn_id: c.id, op: '' });
      return;
    }
    const reqId = msg.req_id;
    const echo = reqId === undefined ? {} : { req_id: reqId };
    switch (msg.op) {
      case 'ping':
        if (c.privatePath) this.send(c, { ...echo, op: 'pong', args: [String(this.opts.wallNow())], conn_id: c.id });
        else this.send(c, { success: true, ret_msg: 'pong', conn_id: c.id, req_id: reqId ?? '', op: 'ping' });
        return;
      case 'auth': {
        if (this.opts.takeAuthDrop?.()) {
          c.ws.close(1001, 'sandbox: connection dropped during auth');
          return;
        }
        if (this.opts.takeAuthIgnore?.()) return;
        const r = checkWsAuth(msg.args, this.opts.keys, this.opts.wallNow());
        if (r.ok) c.apiKey = r.apiKey;
        this.send(c, { ...echo, success: r.ok, ret_msg: r.ok ? '' : r.retMsg, op: 'auth', conn_id: c.id });
        return;
      }
      case 'subscribe':
      case 'unsubscribe':
        this.onSubscribe(c, msg.op, msg.args, echo);
        return;
      default:
        this.send(c, { ...echo, success: false, ret_msg: `error:op ${String(msg.op)} not supported`, conn_id: c.id, op: String(msg.op ?? '') });
    }
  }

  private onSubscribe(c: Conn, op: 'subscribe' | 'unsubscribe', args: unknown, echo: Obj): void {
    const topics = Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : [];
    const reply = (success: boolean, retMsg: string): void => this.send(c, { success, ret_msg: retMsg, conn_id: c.id, ...echo, op });
    if (!topics.length) return reply(false, 'error:args are required');
    for (const t of topics) {
      const err = this.topicError(c, t);
      if (err) return reply(false, err);
    }
    if (op === 'unsubscribe') {
      for (const t of topics) c.topics.delete(t);
      return reply(true, '');
    }
    const fresh = topics.filter((t) => !c.topics.has(t));
    for (const t of topics) c.topics.add(t);
    reply(true, '');
    // Initial pushes: the ticker snapshot, and the current candle (Bybit pushes it within a second or so).
    for (const t of fresh) {
      if (t.startsWith('tickers.')) {
        const full = this.opts.ticker();
        this.lastTicker = full;
        this.send(c, { topic: t, type: 'snapshot', data: full, cs: this.tickerSeq++, ts: this.opts.replayNow() });
      } else if (t.startsWith('kline.')) {
        const item = this.opts.currentKline();
        if (item) this.send(c, { topic: t, type: 'snapshot', ts: this.opts.replayNow(), data: [item] });
      }
    }
  }

  private topicError(c: Conn, topic: string): string | undefined {
    const base = topic.split('.')[0]!;
    if (PRIVATE.has(base)) {
      if (topic !== base && topic !== `${base}.${this.opts.category}`) return `error:handler not found,topic:${topic}`;
      return c.apiKey ? undefined : 'Request not authorized';
    }
    if (topic === `kline.${this.opts.interval}.${this.opts.symbol}` || topic === `tickers.${this.opts.symbol}`) return undefined;
    if (base === 'kline' || base === 'tickers') return `Invalid symbol :[${topic}]`;
    return `error:handler not found,topic:${topic}`;
  }
}
