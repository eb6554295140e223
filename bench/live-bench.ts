/**
 * `npm run bench:live`: decision latency of `pyr live` against the local exchange running on a real-time
 * clock (a speed factor: `--speed`), for the kline-stream feed and the REST poll feed. A bench strategy
 * acts on every candle (enter, then exit on the next), so every close makes one market order. For each
 * candle it measures, in wall-clock ms:
 *   - close → decision: from the candle's end on the exchange's clock to the bot's `decision` record;
 *   - close → order at the exchange: to the order/create request reaching the exchange;
 *   - close → kline push: to the exchange's own confirm push reaching a plain SDK subscriber (the floor).
 * Prints the median, p95 and max of each, per feed, in one table. The exchange's clock maps to wall time
 * through its speed factor; the stream figures are shown at two speeds to show the factor changes nothing.
 *
 * Options (env): PYR_BENCH_CANDLES (default 24), PYR_BENCH_SPEED (default 120: a 15-minute candle lasts
 * 7.5 s), PYR_BENCH_POLL_SECONDS (default 10, the seed's pollingIntervalSeconds, for the poll feed).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebsocketClient } from 'bybit-api';
import { readCandleFile } from '../lib/data/csv.ts';
import { startSandbox, type RestRequestInfo } from '../lib/sandbox/index.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLE = path.join(REPO, 'data/sample/BTCUSDT-15m.csv');
const M15 = 15 * 60_000;
const CANDLES = Number(process.env.PYR_BENCH_CANDLES ?? 16);
const SPEED = Number(process.env.PYR_BENCH_SPEED ?? 240);
/** The poll feed runs on 15-second candles (speed 60), longer than its poll interval, as 15-minute candles are. */
const POLL_SPEED = Number(process.env.PYR_BENCH_POLL_SPEED ?? 60);
const POLL_CANDLES = Number(process.env.PYR_BENCH_POLL_CANDLES ?? 8);
const POLL = Number(process.env.PYR_BENCH_POLL_SECONDS ?? 10);

interface Row {
  readonly feed: string;
  readonly speed: number;
  readonly decision: number[];
  readonly order: number[];
  readonly push: number[];
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : NaN;
};

async function run(feed: 'stream' | 'poll', speed: number, dir: string, candles = CANDLES): Promise<Row> {
  const series = (await readCandleFile(SAMPLE)).series;
  const start = Date.UTC(2024, 7, 6, 0);
  const orders: RestRequestInfo[] = [];
  const ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: { speed }, startTime: start - 1000 * speed, balance: 100000, tickMs: 1, onRequest: (r) => { if (r.path === '/v5/order/create') orders.push(r); } });
  // The exchange's clock → wall time. Its clock is computed from the wall clock at each 1 ms tick, so a
  // reading taken just after a tick is exact; of many readings the least lagging one is kept.
  let offset = -Infinity; // replay/speed − wall
  for (let k = 0; k < 200; k++) {
    await new Promise((r) => setTimeout(r, 1));
    offset = Math.max(offset, ex.state().now / speed - Date.now());
  }
  const wallOf = (replay: number) => replay / speed - offset;
  const pushes = new Map<number, number>();
  const quiet = { trace: () => {}, info: () => {}, error: () => {} };
  const ws = new WebsocketClient({ wsUrl: ex.wsUrl, market: 'v5' }, quiet as never);
  ws.on('update', (m: { topic?: string; data?: { start: number; confirm: boolean }[] }) => {
    for (const k of m.data ?? []) if (k.confirm && !pushes.has(Number(k.start))) pushes.set(Number(k.start), Date.now());
  });
  void ws.subscribeV5(['kline.15.BTCUSDT'], 'linear');
  const strategy = path.join(dir, 'every-candle.ts');
  writeFileSync(strategy, `import { defineStrategy } from ${JSON.stringify(path.join(REPO, 'lib/strategy/index.ts'))};
export default defineStrategy({ name: 'every-candle', description: 'bench: an order on every close', params: {}, warmup: () => 0,
  create() { return { onCandle(c, ctx) { return ctx.position.side === 'flat' ? { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 100 }, reason: 'bench' } : { kind: 'exit', reason: 'bench' }; } }; } });
`);
  const journal = path.join(dir, `${feed}-${speed}.jsonl`);
  const bot = spawn(process.execPath, [path.join(REPO, 'bin/pyr'), 'live', '--strategy', strategy, '--journal', journal, '--feed', feed, '--param', `pollingIntervalSeconds=${POLL}`], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', BYBIT_API_KEY: ex.apiKey, BYBIT_API_SECRET: ex.apiSecret, PYR_BYBIT_REST_URL: ex.restUrl, PYR_BYBIT_WS_URL: ex.wsUrl },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const firstClose = start + M15;
  const lastClose = firstClose + (candles - 1) * M15;
  // Wait (wall time) until the exchange's clock is past the last measured close, plus a poll interval.
  await new Promise((r) => setTimeout(r, Math.max(0, wallOf(lastClose) - Date.now()) + (feed === 'poll' ? POLL * 1000 : 0) + 1500));
  bot.kill('SIGINT');
  await new Promise((r) => bot.once('exit', r));
  ws.closeAll(true);
  await ex.stop();
  const recs = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: string; at: number; time?: number; order?: { id: string; signalTime: number } });
  const decision: number[] = [];
  const order: number[] = [];
  const push: number[] = [];
  const byLink = new Map(orders.map((o) => [String(o.params.orderLinkId), o]));
  for (let close = firstClose; close <= lastClose; close += M15) {
    const t = close - M15; // the candle's open time
    const d = recs.find((r) => r.t === 'decision' && r.time === t);
    if (d) decision.push(d.at - wallOf(close));
    const sent = recs.find((r) => r.t === 'order' && r.order?.signalTime === t);
    const arrived = sent ? byLink.get(sent.order!.id) : undefined;
    if (arrived) order.push(arrived.wallMs - wallOf(close));
    const p = pushes.get(t);
    if (p !== undefined) push.push(p - wallOf(close));
  }
  return { feed, speed, decision, order, push };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'pyr-bench-live-'));
try {
  const rows: Row[] = [];
  rows.push(await run('stream', SPEED, dir));
  rows.push(await run('stream', SPEED / 2, dir));
  rows.push(await run('poll', POLL_SPEED, dir, POLL_CANDLES));
  const fmt = (xs: number[]) => (xs.length ? `${q(xs, 0.5).toFixed(0).padStart(6)} ${q(xs, 0.95).toFixed(0).padStart(6)} ${Math.max(...xs).toFixed(0).padStart(6)}` : '     n/a');
  console.log(`pyr live decision latency (ms, wall clock), local exchange: the stream feed over ${CANDLES} candles at two clock speeds, the poll feed (every ${POLL} s) over ${POLL_CANDLES}`);
  console.log(`feed    speed  n   | close→decision p50 p95 max | close→order at exchange p50 p95 max | close→kline push p50 p95 max`);
  for (const r of rows) console.log(`${r.feed.padEnd(7)} ${String(r.speed).padStart(5)} ${String(r.order.length).padStart(3)} | ${fmt(r.decision)} | ${fmt(r.order)} | ${fmt(r.push)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
