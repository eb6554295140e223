/**
 * `pyr live --paper` (issue 13): the same engine and strategy on real-time market data from the local
 * exchange, fills from the simulator's fill model, no API key, never an order. Real Bybit 15-minute
 * candles from the committed sample (the day of 2024-08-05), the exchange's clock moved candle by candle.
 */
import { expect } from 'chai';
import path from 'node:path';
import { D, lowerBound, type CandleSeries, type Trade } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { tradeFromJson } from '../../lib/engine/index.ts';
import { startSandbox, type RestRequestInfo, type Sandbox } from '../../lib/sandbox/index.ts';
import { SAMPLE_15M, runCli, tempDir } from '../helpers.ts';
import { simTrades, startBot, waitUntil, type LiveBot } from './harness.ts';

const M15 = 15 * 60_000;
const DAY = 86_400_000;
const FROM = Date.UTC(2024, 7, 5);
const TO = FROM + DAY;

describe('pyr live --paper: real-time candles, simulated fills, no keys, no orders', function () {
  this.timeout(180_000);
  const tmp = tempDir('pyr-paper-');
  let series: CandleSeries;
  let sim: Trade[];
  let ex: Sandbox | undefined;
  const bots: LiveBot[] = [];
  const requests: RestRequestInfo[] = [];

  before(async () => {
    series = (await readCandleFile(SAMPLE_15M)).series;
    // What pyr backtest does on those candles (trades still open at the end excluded).
    sim = simTrades(series, FROM, TO).filter((t) => t.exitReason !== 'end_of_data');
    expect(sim.length).to.be.greaterThan(4);
  });
  afterEach(async () => {
    for (const b of bots.splice(0)) if (!b.exited) await b.stop('SIGKILL');
    await ex?.stop();
    ex = undefined;
  });
  after(() => tmp.cleanup());

  async function exchange(): Promise<Sandbox> {
    requests.length = 0;
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: FROM, balance: 10000, onRequest: (r) => requests.push(r) });
    return ex;
  }
  async function paperBot(e: Sandbox, journal: string): Promise<LiveBot> {
    // No keys in the environment at all: paper mode needs none.
    const b = startBot(e, journal, tmp.dir, ['--paper'], { BYBIT_API_KEY: '', BYBIT_API_SECRET: '' });
    bots.push(b);
    await waitUntil(() => b.output().includes('Trading BTCUSDT'), 'the paper bot to start', 30_000, b);
    return b;
  }
  /** Moves the exchange through candles [from, to), waiting at each close for the bot to have fed it. */
  async function drive(e: Sandbox, b: LiveBot, from: number, to: number): Promise<void> {
    for (let i = lowerBound(series, from); i < lowerBound(series, to); i++) {
      const t = series.openTime[i]!;
      e.advanceTo(series.openTime[i + 1] ?? t + M15);
      await waitUntil(() => b.records().some((r) => r.t === 'candle' && r.live && r.candle.openTime === t), `the paper bot to feed the candle at ${new Date(t).toISOString()}`, 15_000, b);
    }
  }
  const trades = (b: LiveBot) => b.records().flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));
  const key = (t: Trade) => [t.side, t.signalTime, t.entryTime, t.exitTime, t.exitReason, t.entryPrice.toFixed(), t.exitPrice.toFixed(), t.qty.toFixed(), t.fees.toFixed(), t.netPnl.toFixed()];

  it('a paper day gives the trades of pyr backtest on those candles, and sends no signed request', async () => {
    const e = await exchange();
    const b = await paperBot(e, path.join(tmp.dir, 'day.jsonl'));
    expect(b.output()).to.match(/PAPER TRADING: no order is ever sent to Bybit/);
    await drive(e, b, FROM, TO);
    expect(trades(b).map(key)).to.deep.equal(sim.map(key));
    expect(requests.filter((r) => r.keyed), 'no signed request').to.deep.equal([]);
    expect(requests.filter((r) => r.path.startsWith('/v5/order') || r.path.startsWith('/v5/position'))).to.deep.equal([]);
    expect(e.state().position.size.toString(), 'the exchange account is untouched').to.equal('0');
    expect(await b.stop('SIGINT')).to.equal(0);
    // pyr diff replays the paper journal through the same fill model: trade for trade, no difference at all.
    const r = await runCli(['diff', b.journal, '--json'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout) as { matched: { live: { exitReason: string; netPnl: string }; sim: { exitReason: string; netPnl: string } }[]; liveOnly: unknown[]; simOnly: { reason: { kind: string } }[] };
    expect(j.matched.length).to.equal(sim.length);
    expect(j.liveOnly).to.deep.equal([]);
    expect(j.simOnly.every((u) => u.reason.kind === 'open-at-end')).to.equal(true);
    for (const m of j.matched) expect([m.live.exitReason, m.live.netPnl]).to.deep.equal([m.sim.exitReason, m.sim.netPnl]);
  });

  it('killed with a paper position open and restarted: the balance and the open position continue, the trades are the same', async () => {
    const e = await exchange();
    const journal = path.join(tmp.dir, 'restart.jsonl');
    const first = await paperBot(e, journal);
    // Stop right after an entry has filled (a position is open), then kill.
    const t = sim.find((x) => x.exitTime > x.entryTime)!;
    await drive(e, first, FROM, t.entryTime + M15);
    expect(first.records().some((r) => r.t === 'position' && r.position.side === t.side), 'a paper position is open').to.equal(true);
    const before = trades(first);
    await first.stop('SIGKILL');
    const again = await paperBot(e, journal);
    const closed = before.reduce((s, x) => s.add(x.netPnl), new D(0));
    expect(again.output()).to.include(`Paper account: ${new D(1000).add(closed).toFixed()} USDT (started with 1000; ${before.length} closed trades`);
    await drive(e, again, t.entryTime + M15, TO);
    expect(trades(again).map(key), 'the open position closed as in the backtest, and the rest followed').to.deep.equal(sim.map(key));
    expect(requests.filter((r) => r.keyed)).to.deep.equal([]);
  });
});
