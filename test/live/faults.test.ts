/**
 * `pyr live` under the faults real exchanges produce, each driven in lockstep against the local exchange
 * around a real signal of the seed strategy (2024-08-05, real Bybit 15-minute candles from the committed
 * sample, data/sample).
 */
import { expect } from 'chai';
import { D, type CandleSeries, type Trade } from '../../lib/core/index.ts';
import { readFundingFile } from '../../lib/data/store.ts';
import { SAMPLE_FUNDING } from '../helpers.ts';
import { restClient } from '../sandbox/helpers.ts';
import { tradeFromJson } from '../../lib/engine/index.ts';
import type { Sandbox } from '../../lib/sandbox/index.ts';
import { botDone, lockstep, sawOutput, useLiveFixture, waitUntil, type LiveBot } from './harness.ts';

const M15 = 15 * 60_000;
const WEEK = Date.UTC(2024, 7, 5);

describe('pyr live under faults', function () {
  this.timeout(120_000);
  const f = useLiveFixture('pyr-faults-', { from: WEEK, days: 2, minTrades: 4 });
  let series: CandleSeries;
  let sim: Trade[];
  before(() => {
    series = f.series;
    sim = f.sim;
  });

  /** A sandbox whose clock starts two candles before `t`, and a bot that has warmed up on it. */
  async function setup(t: number, extra: string[] = []): Promise<{ ex: Sandbox; bot: LiveBot; journal: string; start: number }> {
    const { ex, start } = await f.exchangeAt(t);
    const journal = f.journalFile();
    const bot = await f.bot(ex, journal, extra);
    return { ex, bot, journal, start };
  }

  const orders = (bot: LiveBot) => bot.records().filter((r) => r.t === 'order');
  const trades = (bot: LiveBot) => bot.records().flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));

  it('an order rejected by the exchange is logged with its code and not retried blindly', async () => {
    const t = sim[1]!;
    const { ex, bot, start } = await setup(t.signalTime);
    await lockstep(ex, series, bot, start, t.signalTime);
    ex.faults.rejectNextOrder(110007, 'ab not enough for new order');
    await lockstep(ex, series, bot, t.signalTime, t.signalTime + 3 * M15);
    const rejected = bot.records().filter((r) => r.t === 'rejected');
    expect(rejected).to.have.length(1);
    expect(rejected[0]).to.include({ code: 110007 });
    expect(orders(bot), 'one order for the decision, no blind retry').to.have.length(1);
    expect(ex.state().position.size.toString()).to.equal('0');
    await sawOutput(bot, /retCode 110007/);
  });

  it('retries an entry answered with the rate limit (10006) and opens exactly one position', async () => {
    const t = sim[1]!;
    const { ex, bot, start } = await setup(t.signalTime);
    await lockstep(ex, series, bot, start, t.signalTime);
    ex.faults.rateLimit(2, '/v5/order/create');
    await lockstep(ex, series, bot, t.signalTime, t.entryTime);
    expect(orders(bot)).to.have.length(1);
    await sawOutput(bot, /10006.*retry 1\/3/);
    expect(ex.state().position.size.toString()).to.equal(t.qty.toFixed());
    expect(ex.state().position.entryPrice.toString()).to.equal(t.entryPrice.toFixed());
  });

  it('survives HTTP 5xx during an entry: the same orderLinkId is resent, one position results', async () => {
    const t = sim[2]!;
    const { ex, bot, start } = await setup(t.signalTime);
    await lockstep(ex, series, bot, start, t.signalTime);
    ex.faults.serverError(2, 503, '/v5/order/create');
    await lockstep(ex, series, bot, t.signalTime, t.entryTime);
    expect(orders(bot)).to.have.length(1);
    await sawOutput(bot, /HTTP 503/);
    // bybit-api's rejected requests carry the key and secret: none of it reaches the console or the journal.
    const { readFileSync } = await import('node:fs');
    for (const text of [bot.output(), readFileSync(bot.journal, 'utf8')]) {
      expect(text).to.not.include(ex.apiSecret);
      expect(text).to.not.include(ex.apiKey);
    }
    expect(ex.state().position.size.toString(), 'no double entry').to.equal(t.qty.toFixed());
    expect(ex.state().executions).to.equal(1);
  });

  it('a WebSocket drop while a position is open: the exchange closes it meanwhile, the bot resyncs and records the trade', async () => {
    const t = sim[0]!;
    const { ex, bot, start } = await setup(t.signalTime);
    await lockstep(ex, series, bot, start, t.entryTime); // the entry is done
    expect(ex.state().position.size.toString()).to.equal(t.qty.toFixed());
    expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
    await lockstep(ex, series, bot, t.entryTime, t.exitTime + M15);
    await waitUntil(() => trades(bot).length === 1, 'the trade to be recorded', 15_000, bot);
    const live = trades(bot)[0]!;
    expect(live.exitReason).to.equal(t.exitReason);
    expect(live.exitTime).to.equal(t.exitTime);
    expect(live.entryPrice.toFixed()).to.equal(t.entryPrice.toFixed());
    expect(live.exitPrice.toFixed()).to.equal(t.exitPrice.toFixed());
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
    await sawOutput(bot, /WebSocket reconnected: resyncing the position over REST/);
  });

  /** From the signal to the exit: the trade equals the simulator's, its entry and exit seen on the stream (no REST reconcile). */
  async function tradeOnTheStream(ex: Sandbox, bot: LiveBot, t: Trade, out: number): Promise<void> {
    await lockstep(ex, series, bot, t.signalTime, t.exitTime + M15);
    await waitUntil(() => trades(bot).length === 1, 'the trade to be recorded', 15_000, bot);
    await sawOutput(bot, /Position detected and tracked via WebSocket/, out);
    await sawOutput(bot, /Position closed for BTCUSDT \(WS\)/, out);
    expect(bot.output().slice(out)).to.not.match(/reconcil/i);
    const live = trades(bot)[0]!;
    expect(live.exitReason).to.equal(t.exitReason);
    expect(live.exitTime).to.equal(t.exitTime);
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
  }

  it('the private connection lost in the middle of its authentication, twice: the bot authenticates again and the stream carries the trade', async () => {
    // bybit-api kept its "authentication in progress" promise across such a close: every later connection
    // awaited it and never subscribed, and the private stream stayed silent for the rest of the process.
    const t = sim[0]!;
    const { ex, bot, start } = await setup(t.signalTime);
    await lockstep(ex, series, bot, start, t.signalTime);
    const out = bot.output().length;
    ex.faults.dropNextAuths(2);
    expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
    const after = () => bot.output().slice(out);
    // Three connections: two lose their auth, the third subscribes; then the resync reads the position.
    await waitUntil(() => (after().match(/WebSocket reconnected/g) ?? []).length >= 3 && bot.records().some((r) => r.t === 'note' && /position read over REST after a WebSocket reconnect/.test(r.message)) || /no private subscription confirmed/.test(after()), 'the resync after the third connection', 30_000, bot);
    expect(after(), 'the subscription of the third connection is confirmed').to.not.match(/no private subscription confirmed/);
    await tradeOnTheStream(ex, bot, t, out);
  });

  it('an auth answer that never comes: after privateStreamTimeoutSeconds the bot reconnects the private stream itself, and the stream carries the trade', async () => {
    const t = sim[0]!;
    const { ex, bot, start } = await setup(t.signalTime, ['--param', 'privateStreamTimeoutSeconds=2']);
    await lockstep(ex, series, bot, start, t.signalTime);
    const out = bot.output().length;
    ex.faults.ignoreNextAuths(1);
    expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
    const after = () => bot.output().slice(out);
    await waitUntil(() => /the private stream connected but confirmed no subscription within 2 s: reconnecting it/.test(after()), 'the watchdog', 30_000, bot);
    await waitUntil(() => (after().match(/WebSocket reconnected/g) ?? []).length >= 2 && /private stream back|entries allowed again/.test(after()), 'the second connection to subscribe', 30_000, bot);
    await tradeOnTheStream(ex, bot, t, out);
    expect(bot.records().some((r) => r.t === 'note' && /confirmed no subscription within 2 s: reconnecting it/.test(r.message)), 'journaled').to.equal(true);
  });

  it('a signal while the private stream reconnects: the entry waits until the stream is subscribed again and the position is read, then goes', async () => {
    const t = sim[0]!;
    const { ex, bot, start } = await setup(t.signalTime, ['--param', 'privateStreamTimeoutSeconds=2']);
    await lockstep(ex, series, bot, start, t.signalTime);
    const out = bot.output().length;
    const mark = bot.records().length;
    // The new connection's auth answer is lost, and the position cannot be read, until the test says.
    ex.faults.ignoreNextAuths(1);
    ex.faults.serverError(Infinity, 503, '/v5/position/list');
    expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
    // The signal candle closes meanwhile (its close reaches the bot over the kline feed's REST polling).
    const i = series.openTime.indexOf(t.signalTime);
    for (const p of ex.market.path(i).slice(1)) ex.advanceTo(p.time);
    ex.advanceTo(series.openTime[i + 1]!);
    await sawOutput(bot, /order \S+ waits: the position is not known \(resync after a WebSocket reconnect not done yet\)/, out);
    // The stream comes back by the bot's own reconnect; the position read still fails, so the order still waits.
    await sawOutput(bot, /private stream back: entries allowed again/, out);
    expect(bot.records().slice(mark).filter((r) => r.t === 'order'), 'no order before the position is read').to.have.length(0);
    ex.faults.clear();
    // The next read succeeds; the entry goes and fills before the next candle moves.
    await waitUntil(() => bot.records().slice(mark).some((r) => r.t === 'note' && /position read over REST after a WebSocket reconnect/.test(r.message)) && botDone(bot, t.signalTime), 'the read, then the entry', 30_000, bot);
    await lockstep(ex, series, bot, t.signalTime + M15, t.exitTime + M15);
    await waitUntil(() => trades(bot).length === 1, 'the trade to be recorded', 15_000, bot);
    const recs = bot.records().slice(mark);
    const read = recs.findIndex((r) => r.t === 'note' && /position read over REST after a WebSocket reconnect/.test(r.message));
    const order = recs.findIndex((r) => r.t === 'order');
    expect(read, 'the position was read after the reconnect').to.be.at.least(0);
    expect(order, 'the entry went after that read').to.be.greaterThan(read);
    const live = trades(bot)[0]!;
    expect(live.entryPrice.toFixed()).to.equal(t.entryPrice.toFixed());
    expect(live.exitTime).to.equal(t.exitTime);
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
  });

  it('a funding settlement while the streams are down: the trade\'s funding is the exchange\'s (read over REST at the close)', async () => {
    // A settlement (every 8 h) inside a trade: the position does not change and its fills come on the
    // stream, so nothing but the exchange's execution list tells of the payment missed during the drop.
    const EIGHT_H = 8 * 3_600_000;
    const t = sim.find((x) => Math.ceil((x.entryTime + 1) / EIGHT_H) * EIGHT_H <= x.exitTime);
    if (!t) throw new Error('no seed trade of the fixture spans a funding settlement');
    const settlement = Math.ceil((t.entryTime + 1) / EIGHT_H) * EIGHT_H;
    const funding = await readFundingFile(SAMPLE_FUNDING);
    const { ex, start } = await f.exchangeAt(t.signalTime, { funding });
    const bot = await f.bot(ex, f.journalFile());
    await lockstep(ex, series, bot, start, t.entryTime); // the entry is done
    expect(ex.state().position.size.toString()).to.equal(t.qty.toFixed());
    // Up to the last price point before the settlement with the streams up; then the drop.
    await lockstep(ex, series, bot, t.entryTime, settlement - M15);
    const before = series.openTime.indexOf(settlement - M15);
    for (const p of ex.market.path(before).slice(1)) if (p.time < settlement) ex.advanceTo(p.time);
    expect(ex.state().position.size.toString(), 'still open before the settlement').to.equal(t.qty.toFixed());
    expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
    const mark = bot.records().length;
    ex.advanceTo(settlement + 1); // the settlement is paid with nobody subscribed
    // Back before the exit: the exit's fills then come on the stream; only the payment was missed.
    await waitUntil(() => bot.records().slice(mark).some((r) => r.t === 'note' && /position read over REST after a WebSocket reconnect/.test(r.message)), 'the resync', 15_000, bot);
    await lockstep(ex, series, bot, settlement, t.exitTime + M15);
    await waitUntil(() => trades(bot).length === 1, 'the trade to be recorded', 15_000, bot);
    const rows = (await restClient(ex).getExecutionList({ category: 'linear', symbol: 'BTCUSDT', execType: 'Funding', limit: 100 })).result.list;
    expect(rows.length, 'the exchange charged funding at the settlement').to.be.greaterThan(0);
    const charged = rows.reduce((sum, r) => sum.add(r.execFee), new D(0));
    const live = trades(bot)[0]!;
    expect(live.funding.toFixed(), 'the journal\'s funding').to.equal(charged.toFixed());
    expect(live.exitTime).to.equal(t.exitTime);
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.sub(charged).toFixed());
  });

  it('an outage (REST refused, streams dropped) with a position open: never dies, blocks orders, resyncs once the exchange is back, records the trade', async () => {
    const t = sim[0]!;
    const { ex, bot, start } = await setup(t.signalTime);
    await lockstep(ex, series, bot, start, t.entryTime); // the entry is done
    expect(ex.state().position.size.toString()).to.equal(t.qty.toFixed());
    ex.faults.refuseRest(Infinity);
    expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
    // The stream comes back at once (WebSocket upgrades are not REST), the REST read behind the resync does not.
    await waitUntil(() => /could not resync the position after a WebSocket reconnect .*no new orders until the position is known/.test(bot.output()), 'a failed resync', 15_000, bot);
    await waitUntil(() => (bot.output().match(/could not resync the position/g) ?? []).length >= 2, 'a second attempt', 15_000, bot);
    expect(bot.exited, bot.output().slice(-2000)).to.equal(false);
    ex.faults.clear();
    await waitUntil(() => /position resynced over REST after a WebSocket reconnect after \d+ attempts; entries allowed again/.test(bot.output()), 'the resync once the exchange is back', 15_000, bot);
    await lockstep(ex, series, bot, t.entryTime, t.exitTime + M15);
    await waitUntil(() => trades(bot).length === 1, 'the trade to be recorded', 15_000, bot);
    const live = trades(bot)[0]!;
    expect(live.exitReason).to.equal(t.exitReason);
    expect(live.exitTime).to.equal(t.exitTime);
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
    expect(bot.records().filter((r) => r.t === 'note' && /could not resync the position/.test((r as { message: string }).message)).length).to.be.at.least(2);
    expect(bot.exited).to.equal(false);
  });

  it('killed with a position open and restarted: picks the position up, does not enter twice, metrics survive', async () => {
    const [t0, t1] = [sim[0]!, sim[1]!];
    const { ex, bot, journal, start } = await setup(t0.signalTime);
    await lockstep(ex, series, bot, start, t1.entryTime); // trade 0 done, trade 1 entered
    expect(trades(bot)).to.have.length(1);
    expect(ex.state().position.size.toString()).to.equal(t1.qty.toFixed());
    await bot.stop('SIGKILL');
    const again = await f.bot(ex, journal);
    expect(again.output()).to.match(/1 earlier trades restored/);
    expect(again.output()).to.match(/Open position found over REST for BTCUSDT/);
    await lockstep(ex, series, again, t1.entryTime, t1.exitTime + M15);
    await waitUntil(() => trades(again).length === 2, 'the second trade', 15_000, again);
    const entries = orders(again).filter((r) => r.t === 'order' && r.order.purpose === 'entry');
    expect(entries, 'no second entry for the open position').to.have.length(2);
    const second = trades(again)[1]!;
    expect(second.entryPrice.toFixed()).to.equal(t1.entryPrice.toFixed());
    expect(second.exitReason).to.equal(t1.exitReason);
    expect(second.netPnl.toFixed(), 'entry fee restored from the journal').to.equal(t1.netPnl.toFixed());
    expect(await again.stop('SIGINT')).to.equal(0);
    const wins = [t0, t1].filter((x) => x.netPnl.gt(0)).length;
    expect(again.output()).to.include(`(${wins}/2)`);
  });

  it('SIGINT with --close-on-exit closes the open position, records the trade and exits 0', async () => {
    const t = sim[0]!;
    const { ex, bot } = await setup(t.signalTime, ['--close-on-exit']);
    await lockstep(ex, series, bot, t.signalTime - 2 * M15, t.entryTime);
    expect(ex.state().position.size.toString()).to.equal(t.qty.toFixed());
    expect(await bot.stop('SIGINT')).to.equal(0);
    expect(ex.state().position.size.toString(), 'closed on the exchange').to.equal('0');
    const closed = trades(bot);
    expect(closed).to.have.length(1);
    expect(closed[0]!.exitReason).to.equal('signal');
    expect(closed[0]!.exitDetail).to.equal('close on exit');
    expect(bot.output()).to.match(/--close-on-exit: closing the open position/);
  });

  it('SIGTERM without --close-on-exit leaves the position on the exchange with its stop and target', async () => {
    const t = sim[0]!;
    const { ex, bot } = await setup(t.signalTime);
    await lockstep(ex, series, bot, t.signalTime - 2 * M15, t.entryTime);
    expect(await bot.stop('SIGTERM')).to.equal(0);
    const p = ex.state().position;
    expect(p.size.toString()).to.equal(t.qty.toFixed());
    expect(p.stopLoss.toString()).to.equal(t.stopLoss!.toFixed());
    expect(p.takeProfit.toString()).to.equal(t.takeProfit!.toFixed());
    expect(bot.output()).to.match(/stays open on the exchange with its stop loss and take profit/);
  });

  it('an order whose stream messages never arrive is reconciled over REST, not sent again', async () => {
    const t = sim[1]!;
    const { ex, bot, start } = await setup(t.signalTime);
    await lockstep(ex, series, bot, start, t.signalTime);
    ex.faults.losePrivateMessages(4); // the entry's order, execution, position and wallet messages
    await lockstep(ex, series, bot, t.signalTime, t.entryTime); // waits for the bot (reconcileSeconds=2)
    expect(orders(bot), 'no second order').to.have.length(1);
    await sawOutput(bot, /reconciling order .* no position message within 2000 ms/);
    await lockstep(ex, series, bot, t.entryTime, t.exitTime + M15);
    await waitUntil(() => trades(bot).length === 1, 'the trade', 15_000, bot);
    const live = trades(bot)[0]!;
    // The entry's fills were read over REST: the trade is exact, fees included.
    expect(live.entryPrice.toFixed()).to.equal(t.entryPrice.toFixed());
    expect(live.exitReason).to.equal(t.exitReason);
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
  });
});
