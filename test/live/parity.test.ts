/**
 * `pyr live` end to end against the local exchange replaying a week of real Bybit 15-minute candles
 * (the committed sample, data/sample), and parity with `pyr backtest` on the same candles and parameters.
 */
import { expect } from 'chai';
import path from 'node:path';
import { RestClientV5 } from 'bybit-api';
import { D, lowerBound, type CandleSeries, type Trade } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { tradeFromJson, type JournalRecord } from '../../lib/engine/index.ts';
import { defaultsOf } from '../../lib/strategy/index.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';
import { SAMPLE_15M, runCli, tempDir } from '../helpers.ts';
import { lockstep, simTrades, startBot, type LiveBot } from './harness.ts';

const DAY = 86_400_000;
const START = Date.UTC(2024, 7, 5); // Monday 2024-08-05: a volatile week with 3 candles that touch both stop and target
const END = START + 7 * DAY;

const key = (t: Trade) => `${t.side} ${new Date(t.entryTime).toISOString()} → ${new Date(t.exitTime).toISOString()} ${t.exitReason}`;

// Both feeds (issue 13): the kline stream with REST backfills (the default) and the seed's REST polls.
for (const feed of ['stream', 'poll'] as const)
describe(`pyr live against the local exchange: a week of real candles (--feed ${feed})`, function () {
  this.timeout(240_000);
  const tmp = tempDir('pyr-live-');
  let ex: Sandbox;
  let bot: LiveBot;
  let series: CandleSeries;
  let records: JournalRecord[];
  let live: Trade[];
  let sim: Trade[];
  let exitCode: number | null;
  let journalFile: string;

  before(async () => {
    series = (await readCandleFile(SAMPLE_15M)).series;
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: START, balance: 10000 });
    const journal = path.join(tmp.dir, 'journal.jsonl');
    journalFile = journal;
    bot = startBot(ex, journal, tmp.dir, ['--feed', feed]);
    // Wait until the bot has warmed up and is polling.
    const { waitUntil } = await import('./harness.ts');
    await waitUntil(() => bot.output().includes('Trading BTCUSDT'), 'the bot to start', 30_000, bot);
    await lockstep(ex, series, bot, START, END);
    exitCode = await bot.stop('SIGINT');
    records = bot.records();
    live = records.flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));
    sim = simTrades(series, START, END).filter((t) => t.exitReason !== 'end_of_data');
  });
  after(async () => {
    if (bot && !bot.exited) await bot.stop('SIGKILL');
    await ex?.stop();
    tmp.cleanup();
  });

  it('stops cleanly on SIGINT with exit code 0 and prints the statistics', () => {
    expect(exitCode, bot.output().slice(-2000)).to.equal(0);
    expect(bot.output()).to.match(/Overall Trade Statistics: Total PnL: -?\$\d+\.\d\d, Win Rate: \d+\.\d\d% \(\d+\/\d+\)/);
    expect(bot.output()).to.not.include(ex.apiSecret);
    // The seed's market line, from what the strategy declares to plot (its StochRSI pane).
    expect(bot.output()).to.match(/📈 StochRSI K: \d+\.\d\d, D: \d+\.\d\d\n/);
  });

  it('enters and exits, including stops and targets fired by the exchange', () => {
    expect(live.length, bot.output().slice(-3000)).to.be.greaterThan(10);
    const reasons = new Set(live.map((t) => t.exitReason));
    expect([...reasons]).to.include.members(['stop_loss', 'take_profit', 'signal']);
  });

  it('takes the same trades as pyr backtest: entry candle, side, exit candle, reason and prices', () => {
    const liveKeys = live.map(key);
    const simKeys = sim.map(key);
    const onlySim = sim.filter((t) => !liveKeys.includes(key(t)));
    const onlyLive = live.filter((t) => !simKeys.includes(key(t)));
    // The one allowed difference: a candle that touched both stop and target, where the simulator assumes
    // the stop and the exchange follows its price path.
    for (const t of onlySim) expect(t.ambiguous, `sim-only trade ${key(t)} is not an ambiguous exit`).to.equal(true);
    for (const t of onlyLive) {
      const twin = sim.find((s) => s.side === t.side && s.entryTime === t.entryTime && s.exitTime === t.exitTime);
      expect(twin?.ambiguous, `live-only trade ${key(t)} has no ambiguous simulator twin`).to.equal(true);
    }
    // This week has candles that touch both levels; where the exchange's path reached the target first,
    // the trades differ, and only there.
    expect(sim.filter((t) => t.ambiguous).length, 'the week exercises the ambiguous rule').to.be.greaterThan(0);
    expect(onlySim.length, 'at least one ambiguous candle went the other way on the exchange').to.be.greaterThan(0);
    expect(onlyLive.length).to.equal(onlySim.length);
    for (const t of onlyLive) expect(t.exitReason, key(t)).to.equal('take_profit');
    // Matched trades: prices are equal (the entry fills at the replayed next open, like the simulator).
    for (const s of sim.filter((t) => !t.ambiguous)) {
      const l = live.find((t) => key(t) === key(s))!;
      expect(l.entryPrice.toFixed(), `${key(s)} entry`).to.equal(s.entryPrice.toFixed());
      expect(l.exitPrice.toFixed(), `${key(s)} exit`).to.equal(s.exitPrice.toFixed());
      expect(l.qty.toFixed()).to.equal(s.qty.toFixed());
      expect(l.stopLoss?.toFixed(), `${key(s)} stop`).to.equal(s.stopLoss?.toFixed());
      expect(l.takeProfit?.toFixed(), `${key(s)} target`).to.equal(s.takeProfit?.toFixed());
      expect(l.netPnl.toFixed(), `${key(s)} net`).to.equal(s.netPnl.toFixed());
    }
    expect(live.length).to.equal(sim.length);
  });

  it("adds up to the exchange's closed-PnL records", async () => {
    const rest = new RestClientV5({ key: ex.apiKey, secret: ex.apiSecret, baseUrl: ex.restUrl }, { timeout: 5000 });
    let total = new D(0);
    let n = 0;
    // Bybit answers at most 7 days per query: one day at a time.
    for (let day = START; day < END + DAY; day += DAY) {
      let cursor: string | undefined;
      do {
        const r = await rest.getClosedPnL({ category: 'linear', symbol: 'BTCUSDT', limit: 100, cursor, startTime: day, endTime: day + DAY - 1 });
        expect(r.retCode, r.retMsg).to.equal(0);
        for (const row of r.result.list) {
          total = total.add(row.closedPnl);
          n++;
        }
        cursor = r.result.nextPageCursor || undefined;
      } while (cursor);
    }
    const ours = live.reduce((s, t) => s.add(t.netPnl), new D(0));
    expect(n).to.equal(live.length);
    expect(ours.toFixed()).to.equal(total.toFixed());
  });

  it('journals everything: the session, every candle, decisions, orders, fills, positions and trades', () => {
    const count = (t: string) => records.filter((r) => r.t === t).length;
    expect(count('session')).to.equal(1);
    const liveCandles = records.filter((r) => r.t === 'candle' && r.live).map((r) => (r as { candle: { openTime: number } }).candle.openTime);
    expect(liveCandles.length).to.equal(lowerBound(series, END) - lowerBound(series, START));
    expect(liveCandles[0]).to.equal(START);
    expect(count('candle') - liveCandles.length).to.equal(seed.warmup(defaultsOf(seed.params)));
    expect(count('trade')).to.equal(live.length);
    const orders = records.filter((r) => r.t === 'order');
    const entries = orders.filter((r) => (r as { order: { purpose: string } }).order.purpose === 'entry').length;
    const signalExits = live.filter((t) => t.exitReason === 'signal').length;
    expect(entries).to.be.at.least(live.length);
    expect(orders.length - entries).to.equal(signalExits);
    expect(count('fill')).to.equal(2 * live.length + (entries - live.length));
    expect(count('decision')).to.be.at.least(orders.length);
    expect(count('stop')).to.equal(1);
  });

  it('pyr diff on the journal matches every trade; the only differences are the ambiguous candles', async () => {
    const r = await runCli(['diff', journalFile, '--json'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout) as {
      matched: { live: { exitReason: string; exitTime: number }; sim: { exitReason: string; exitTime: number; ambiguous: boolean } }[];
      liveOnly: unknown[];
      simOnly: { reason: { kind: string } }[];
    };
    expect(j.matched.length).to.equal(live.length);
    expect(j.liveOnly).to.deep.equal([]);
    // The simulator closes what is still open at the end of its range; live keeps it open.
    expect(j.simOnly.every((u) => u.reason.kind === 'open-at-end')).to.equal(true);
    const differing = j.matched.filter((m) => m.live.exitReason !== m.sim.exitReason);
    expect(differing.length).to.be.greaterThan(0);
    for (const m of differing) expect(m.sim.ambiguous).to.equal(true);
  });
});
