/**
 * The kline-stream candle feed (issue 13) against the local exchange, through the real SDK: confirmed
 * candles from the stream, REST backfills after a reconnect (paging back past candleFetchLimit, only the
 * newest counted current), and the late-stream poll. Real Bybit 15-minute candles (the committed sample).
 */
import { expect } from 'chai';
import type { Candle, CandleSeries } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { BybitRest, StreamCandleFeed, createWebsocket } from '../../lib/brokers/bybit/index.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import { SAMPLE_15M } from '../helpers.ts';
import { waitUntil } from '../live/harness.ts';

const M15 = 15 * 60_000;
const START = Date.UTC(2024, 7, 5, 12);

describe('StreamCandleFeed: closed candles from the kline stream, REST as the safety net', function () {
  this.timeout(60_000);
  let series: CandleSeries;
  let ex: Sandbox;
  let feed: StreamCandleFeed | undefined;
  let ws: ReturnType<typeof createWebsocket> | undefined;
  let rest: BybitRest | undefined;
  const status: string[] = [];
  let now = Date.now();

  before(async () => {
    series = (await readCandleFile(SAMPLE_15M)).series;
  });
  beforeEach(async () => {
    status.length = 0;
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: START, balance: 10000 });
  });
  afterEach(async () => {
    feed?.close();
    ws?.closeAll(true);
    rest?.close();
    await ex.stop();
  });

  function makeFeed(o: { limit?: number; downPollMs?: number; clock?: () => number } = {}): StreamCandleFeed {
    const conn = { env: 'testnet' as const, key: '', secret: '', restUrl: ex.restUrl, wsUrl: ex.wsUrl };
    rest = new BybitRest(conn, { retries: 2, backoffFactor: 0.01 });
    ws = createWebsocket(conn, () => {});
    feed = new StreamCandleFeed({ rest, ws, category: 'linear', symbol: 'BTCUSDT', interval: '15', limit: o.limit ?? 200, graceMs: 5000, heartbeatMs: 3_600_000, downPollMs: o.downPollMs ?? 3_600_000, now: o.clock, onStatus: (m) => status.push(m) });
    return feed;
  }
  const candleAt = (t: number): Candle => {
    const i = series.openTime.indexOf(t);
    return { openTime: t, open: series.open[i]!, high: series.high[i]!, low: series.low[i]!, close: series.close[i]!, volume: series.volume[i]!, turnover: series.turnover[i]! };
  };
  const same = (c: Candle | undefined, t: number) => {
    const want = candleAt(t);
    expect([c?.openTime, c?.open, c?.high, c?.low, c?.close]).to.deep.equal([want.openTime, want.open, want.high, want.low, want.close]);
  };

  it('hands over each candle when the stream confirms it, in order, as current', async () => {
    const f = makeFeed();
    const warm = await f.history(50);
    expect(warm).to.have.length(50);
    expect(warm[49]!.openTime).to.equal(START - M15);
    expect(f.openingTime).to.equal(START);
    for (let k = 0; k < 3; k++) {
      const t = START + k * M15;
      const next = f.next();
      ex.advanceTo(t + M15);
      const c = await next;
      same(c, t);
      expect(f.isCurrent(c!)).to.equal(true);
    }
    expect(status.filter((s) => /backfilled [1-9]/.test(s))).to.deep.equal([]);
  });

  it('after a reconnect, backfills over REST every candle that closed meanwhile, paging past candleFetchLimit; only the newest is current', async () => {
    const f = makeFeed({ limit: 5 });
    await f.history(20);
    // The stream drops, and 12 candles close before the SDK is back (the pushes reach nobody).
    expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
    ex.advanceTo(START + 12 * M15);
    const got: Candle[] = [];
    while (got.length < 12) got.push((await f.next())!);
    got.forEach((c, k) => same(c, START + k * M15));
    expect(got.map((c) => f.isCurrent(c))).to.deep.equal([...Array(11).fill(false), true]);
    await waitUntil(() => status.some((s) => /backfilled 12 candles over REST after a reconnect/.test(s)), 'the backfill status line');
  });

  it('a silent stream: no closed candle within one interval plus the grace, the feed polls REST and says the stream is late', async () => {
    const f = makeFeed({ clock: () => now });
    now = Date.now();
    await f.history(20);
    // The exchange closes a candle but the stream's push is lost (the socket is dropped right then and
    // stays quiet): the wall clock then runs past the interval and the grace.
    ws!.closeAll(true); // our side closes: no reconnect, no push
    ex.advanceTo(START + M15);
    now += M15 + 6000;
    const c = await f.next();
    same(c, START);
    expect(status.some((s) => /the kline stream is late: no closed candle for \d+ s; polling REST/.test(s))).to.equal(true);
  });
});
