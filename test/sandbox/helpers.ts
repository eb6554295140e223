/**
 * Shared helpers for the sandbox tests: candle fixtures, quiet SDK clients, and a message recorder.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RestClientV5, WebsocketClient } from 'bybit-api';
import { type Candle, type CandleSeries, seriesFromCandles } from '../../lib/core/candle.ts';
import type { Sandbox } from '../../lib/sandbox/index.ts';
import { SAMPLE_15M, SAMPLE_FUNDING } from '../helpers.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Real Bybit 15-minute candles and funding of the committed sample (data/sample, 2024-07-01 to 2024-08-31). */
export const sample15m = SAMPLE_15M;
export const sampleFunding = SAMPLE_FUNDING;

export const M15 = 15 * 60_000;
/** 2024-01-01 00:00 UTC. */
export const T0 = Date.UTC(2024, 0, 1);

/** A hand-made 15-minute series from [open, high, low, close] rows starting at T0. */
export function tinySeries(rows: ReadonlyArray<readonly [number, number, number, number]>, start = T0): CandleSeries {
  const candles: Candle[] = rows.map(([open, high, low, close], i) => ({ openTime: start + i * M15, open, high, low, close, volume: 12.5, turnover: NaN }));
  return seriesFromCandles(candles, 'tiny');
}

/** Ten calm candles around 100 (history), for tests that trade at the 11th. */
export function historyRows(n = 10): Array<[number, number, number, number]> {
  return Array.from({ length: n }, (_, i) => [100 + (i % 3), 102 + (i % 3), 99 + (i % 3), 101 + (i % 3)] as [number, number, number, number]);
}

/** Silences the SDK's default console logger (errors still collected for assertions). */
export function quietLogger(errors: unknown[] = []): { trace: () => void; info: () => void; error: (...a: unknown[]) => void } {
  return { trace: () => {}, info: () => {}, error: (...a: unknown[]) => void errors.push(a) };
}

export function restClient(ex: Sandbox, over: { key?: string; secret?: string; parseAPIRateLimits?: boolean; syncTimeBeforePrivateRequests?: boolean } = {}): RestClientV5 {
  return new RestClientV5(
    { key: over.key ?? ex.apiKey, secret: over.secret ?? ex.apiSecret, baseUrl: ex.restUrl, parseAPIRateLimits: over.parseAPIRateLimits ?? true, syncTimeBeforePrivateRequests: over.syncTimeBeforePrivateRequests },
    { timeout: 5000 },
  );
}

export interface Recorded {
  readonly event: 'update' | 'response' | 'authenticated' | 'exception' | 'reconnect' | 'reconnected' | 'open';
  readonly msg: Record<string, unknown>;
}

/** A WebsocketClient pointed at the sandbox, recording every event it emits. */
export function wsClient(ex: Sandbox, over: { key?: string; secret?: string; wsUrl?: string } = {}): { ws: WebsocketClient; events: Recorded[]; updates: (topic?: string) => Array<Record<string, unknown>> } {
  const ws = new WebsocketClient({ key: over.key ?? ex.apiKey, secret: over.secret ?? ex.apiSecret, wsUrl: over.wsUrl ?? ex.wsUrl, market: 'v5' }, quietLogger() as never);
  const events: Recorded[] = [];
  for (const event of ['update', 'response', 'authenticated', 'exception', 'reconnect', 'reconnected', 'open'] as const) {
    ws.on(event as 'update', (msg: unknown) => events.push({ event, msg: msg as Record<string, unknown> }));
  }
  const updates = (topic?: string): Array<Record<string, unknown>> =>
    events.filter((e) => e.event === 'update' && (topic === undefined || e.msg.topic === topic)).map((e) => e.msg);
  return { ws, events, updates };
}

/** Polls `cond` every 10 ms until it holds (or fails after `ms`). */
export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


/** Data of the private messages recorded so far, as [topic, data[0]] pairs in arrival order. */
export function privateSequence(updates: Array<Record<string, unknown>>): Array<[string, Record<string, unknown>]> {
  return updates
    .filter((m) => ['order', 'execution', 'position', 'wallet'].includes(String(m.topic)))
    .map((m) => [String(m.topic), (m.data as Array<Record<string, unknown>>)[0]!]);
}
