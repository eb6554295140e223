/**
 * `pyr live` left running through what breaks a bot in practice (issue 11), each against the local
 * exchange through the real SDK and bin/pyr, in lockstep around real signals of the seed strategy
 * (2024-08-05/06, real Bybit 15-minute candles from the committed sample): a kill while pyr is away
 * from a trade that closes meanwhile, a kill between a decision and its order, private messages lost
 * while the stop fires, a dead WebSocket URL, clock skew, a torn journal restarted twice, an order whose
 * outcome cannot be learnt, a minimum qty far above the configured amount, positions pyr did not open
 * and a wrong API secret.
 */
import { expect } from 'chai';
import { appendFileSync, readFileSync } from 'node:fs';
import { RestClientV5 } from 'bybit-api';
import { D, type CandleSeries, type Dec, type Trade } from '../../lib/core/index.ts';
import { tradeFromJson } from '../../lib/engine/index.ts';
import type { Sandbox } from '../../lib/sandbox/index.ts';
import { lockstep, simTrades, useLiveFixture, waitUntil, type LiveBot } from './harness.ts';

const M15 = 15 * 60_000;
const DAY = 86_400_000;
const WEEK = Date.UTC(2024, 7, 5);

describe('pyr live left running: crashes, outages, lost messages, skew, foreign positions', function () {
  this.timeout(120_000);
  const f = useLiveFixture('pyr-robust-', { from: WEEK, days: 2, minTrades: 8 });
  let series: CandleSeries;
  let sim: Trade[];
  before(() => {
    series = f.series;
    sim = f.sim;
  });
  const { exchangeAt, bot, journalFile } = f;
  const trades = (b: LiveBot) => b.records().flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));
  const orders = (b: LiveBot) => b.records().flatMap((r) => (r.t === 'order' ? [r.order] : []));
  const size = (ex: Sandbox) => ex.state().position.size.toString();
  const tradeOn = (predicate: (t: Trade) => boolean) => {
    const t = sim.find(predicate);
    if (!t) throw new Error('no such trade in the simulator');
    return t;
  };
  async function closedPnl(ex: Sandbox, from: number, to: number): Promise<Dec[]> {
    const rest = new RestClientV5({ key: ex.apiKey, secret: ex.apiSecret, baseUrl: ex.restUrl }, { timeout: 5000 });
    const out: Dec[] = [];
    for (let day = from; day < to; day += DAY) {
      const r = await rest.getClosedPnL({ category: 'linear', symbol: 'BTCUSDT', limit: 100, startTime: day, endTime: day + DAY - 1 });
      expect(r.retCode, r.retMsg).to.equal(0);
      out.push(...r.result.list.map((row) => new D(row.closedPnl)));
    }
    return out;
  }

  it('killed with a position open; the target fires while pyr is down: the restart journals that trade with its real fees, marked, and it counts', async () => {
    const t = tradeOn((x) => x.exitTime >= x.entryTime + 2 * M15);
    const { ex, start } = await exchangeAt(t.signalTime);
    const journal = journalFile();
    const first = await bot(ex, journal);
    await lockstep(ex, series, first, start, t.entryTime); // entered
    expect(size(ex)).to.equal(t.qty.toFixed());
    await first.stop('SIGKILL');
    ex.advanceTo(t.exitTime + M15); // the exchange closes it while nobody watches
    expect(size(ex), 'closed on the exchange').to.equal('0');
    const again = await bot(ex, journal);
    const recorded = trades(again);
    expect(recorded, again.output().slice(-2000)).to.have.length(1);
    const live = recorded[0]!;
    expect(live.exitDetail).to.match(/^closed while pyr was not running/);
    expect(live.exitReason).to.equal(t.exitReason);
    expect(live.entryTime).to.equal(t.entryTime);
    expect(live.exitTime).to.equal(t.exitTime);
    expect(live.fees.toFixed(), 'entry and exit fees, from the executions').to.equal(t.fees.toFixed());
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
    expect(again.output()).to.match(/trade 1 \(short|long\) closed while pyr was not running/);
    const exchange = await closedPnl(ex, WEEK, WEEK + 2 * DAY);
    expect(exchange.map((x) => x.toFixed())).to.deep.equal([live.netPnl.toFixed()]);
    // It counts for the statistics line like any other trade.
    expect(await again.stop('SIGINT')).to.equal(0);
    expect(again.output()).to.include(`(${live.netPnl.gt(0) ? 1 : 0}/1)`);
  });

  it('killed after deciding an entry but before sending it: the restart decides it again with the same orderLinkId, and one position results', async () => {
    const t = sim[1]!;
    const { ex, start } = await exchangeAt(t.signalTime);
    const journal = journalFile();
    const first = await bot(ex, journal);
    await lockstep(ex, series, first, start, t.signalTime);
    // The signal candle closes; the bot's price read before the order takes 3 s: it is killed in between.
    ex.faults.delayRest(3000);
    ex.advanceTo(t.signalTime + M15);
    await waitUntil(() => first.records().some((r) => r.t === 'decision' && r.time === t.signalTime), 'the decision', 30_000, first);
    await first.stop('SIGKILL');
    ex.faults.clear();
    const decided = first.records().find((r) => r.t === 'decision' && r.time === t.signalTime)!;
    const id = ((decided as unknown as { outcomes: { order?: { id: string } }[] }).outcomes.find((o) => o.order)?.order?.id)!;
    expect(id, 'the decision made an order').to.be.a('string');
    expect(orders(first), 'nothing sent before the kill').to.have.length(0);
    expect(size(ex)).to.equal('0');
    const again = await bot(ex, journal);
    await waitUntil(() => size(ex) !== '0', 'the entry after the restart', 15_000, again);
    expect(orders(again).map((o) => o.id)).to.deep.equal([id]);
    expect(size(ex)).to.equal(t.qty.toFixed());
    expect(ex.state().position.entryPrice.toString()).to.equal(t.entryPrice.toFixed());
    expect(again.output()).to.match(/was not acted on before the restart/);
  });

  it('sent, then killed before the fill is journaled: the restart takes the entry fills from the exchange by order id; a second decision of it is refused as a duplicate', async () => {
    const t = sim[2]!;
    const { ex, start } = await exchangeAt(t.signalTime);
    const journal = journalFile();
    const first = await bot(ex, journal);
    await lockstep(ex, series, first, start, t.signalTime);
    ex.faults.losePrivateMessages(8); // the fills never reach the journal before the kill
    ex.advanceTo(t.signalTime + M15);
    await waitUntil(() => first.records().some((r) => r.t === 'order-result'), 'the order to be answered', 30_000, first);
    await first.stop('SIGKILL');
    ex.faults.clear();
    expect(first.records().filter((r) => r.t === 'fill')).to.have.length(0);
    expect(size(ex)).to.equal(t.qty.toFixed());
    const again = await bot(ex, journal);
    expect(again.output()).to.match(/Open position found over REST/);
    await lockstep(ex, series, again, t.entryTime, t.exitTime + M15);
    await waitUntil(() => trades(again).length === 1, 'the trade', 15_000, again);
    const live = trades(again)[0]!;
    expect(live.entryPrice.toFixed()).to.equal(t.entryPrice.toFixed());
    expect(live.fees.toFixed(), 'the entry fee is real, not 0').to.equal(t.fees.toFixed());
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
    expect(ex.state().executions, 'one entry and one exit on the exchange').to.equal(2);
  });

  it('private messages lost while the stop fires: the periodic REST check finds the position closed, records the trade, and the next entry goes', async () => {
    const [t, next] = [sim[2]!, sim[3]!];
    const { ex, start } = await exchangeAt(t.signalTime);
    const b = await bot(ex, journalFile(), ['--param', 'positionCheckSeconds=0.2']);
    await lockstep(ex, series, b, start, t.entryTime);
    expect(size(ex)).to.equal(t.qty.toFixed());
    ex.faults.losePrivateMessages(4); // the exit's order, execution, position and wallet messages
    await lockstep(ex, series, b, t.entryTime, t.exitTime + M15);
    await waitUntil(() => trades(b).length === 1, 'the trade', 15_000, b);
    const live = trades(b)[0]!;
    expect(live.exitReason).to.equal(t.exitReason);
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
    expect(b.output()).to.not.match(/110017/);
    await lockstep(ex, series, b, t.exitTime + M15, next.entryTime);
    expect(size(ex), 'not stuck: the next entry went').to.equal(next.qty.toFixed());
  });

  it('HTTP 5xx on every 7th request and slow answers: every entry goes (retries re-priced: no stale stop), the trades equal the simulator\'s', async () => {
    const window = sim.slice(2, 6); // four trades in a row, none of them on an ambiguous candle
    const all = simTrades(series, window[0]!.signalTime - 2 * M15, window[window.length - 1]!.exitTime + M15);
    expect(all.length, 'no other trade in between').to.equal(window.length);
    const { ex, start } = await exchangeAt(window[0]!.signalTime);
    const b = await bot(ex, journalFile());
    ex.faults.serverErrorEvery(7);
    ex.faults.delayRest(40);
    const end = window[window.length - 1]!.exitTime + M15;
    await lockstep(ex, series, b, start, end);
    await waitUntil(() => trades(b).length >= window.length, 'the trades', 15_000, b);
    expect(b.output()).to.match(/HTTP 503/);
    expect(b.output(), `no stale stop or target sent on a retry\n${b.output().split("\n").filter((l) => l.includes("10001")).join("\n")}`).to.not.match(/retCode 10001\b/);
    const live = trades(b);
    expect(live.map((t) => [t.side, t.entryTime, t.exitTime, t.exitReason, t.netPnl.toFixed()])).to.deep.equal(window.map((t) => [t.side, t.entryTime, t.exitTime, t.exitReason, t.netPnl.toFixed()]));
    expect(new Set(orders(b).map((o) => o.id)).size, 'one order per decision').to.equal(orders(b).length);
  });

  it('an entry retried after the price ran past its first stop: the retry is priced again (no 10001), and the stop is set from the fill', async () => {
    // A short stopped out on its entry candle: the price rises above the stop within that candle.
    const t = tradeOn((x) => x.side === 'short' && x.exitReason === 'stop_loss' && x.exitTime === x.entryTime);
    const { ex, start } = await exchangeAt(t.signalTime);
    const b = await bot(ex, journalFile(), ['--param', 'apiBackoffFactor=0.5']);
    await lockstep(ex, series, b, start, t.signalTime);
    ex.faults.serverError(1, 503, '/v5/order/create');
    ex.advanceTo(t.entryTime); // the signal candle closes; the first send gets 503; the retry waits 0.5 s
    await waitUntil(() => /order\/create.*HTTP 503.*retry 1\/3/.test(b.output()), 'the 503 and the retry wait', 15_000, b);
    // Meanwhile the market runs up past the stop the first send carried.
    const i = series.openTime.indexOf(t.entryTime);
    const high = ex.market.path(i).reduce((a, p) => (p.price > a.price ? p : a));
    ex.advanceTo(high.time);
    expect(high.price, 'the price is past the first stop').to.be.greaterThan(t.stopLoss!.toNumber());
    await waitUntil(() => size(ex) !== '0', 'the retried entry', 15_000, b);
    expect(b.output()).to.not.match(/retCode 10001\b/);
    expect(orders(b)).to.have.length(1);
    const p = ex.state().position;
    expect(p.entryPrice.toString(), 'filled at the price it ran to').to.equal(String(high.price));
    await waitUntil(() => ex.state().position.stopLoss.toString() === new D(p.entryPrice.toString()).mul(1.005).toDecimalPlaces(1).toFixed(), 'the stop from the fill price', 15_000, b);
  });

  it('slow answers while the market moves: a stop already stale when the exchange sees the order (10001) is priced again from the exchange\'s price, and the entry goes', async () => {
    const t = tradeOn((x) => x.side === 'short' && x.exitReason === 'stop_loss' && x.exitTime === x.entryTime);
    const seen: string[] = [];
    const { ex, start } = await exchangeAt(t.signalTime, { onRequest: (r) => seen.push(r.path) });
    const b = await bot(ex, journalFile());
    await lockstep(ex, series, b, start, t.signalTime);
    ex.faults.delayRest(1500); // every answer takes 1.5 s
    seen.length = 0;
    ex.advanceTo(t.entryTime); // the signal candle closes
    // The order has reached the exchange, priced from the close; it is handled 1.5 s later, after the
    // market has run up past its stop.
    await waitUntil(() => seen.includes('/v5/order/create'), 'the order to reach the exchange', 15_000, b);
    const i = series.openTime.indexOf(t.entryTime);
    const high = ex.market.path(i).reduce((a, p) => (p.price > a.price ? p : a));
    expect(high.price).to.be.greaterThan(t.stopLoss!.toNumber());
    ex.advanceTo(high.time);
    ex.faults.delayRest(0);
    await waitUntil(() => size(ex) !== '0', 'the entry', 20_000, b);
    expect(b.output()).to.match(/retCode 10001/); // the first send was refused: its stop was below the price by then
    expect(orders(b), 'one order (sent twice under one orderLinkId)').to.have.length(1);
    const p = ex.state().position;
    expect(p.entryPrice.toString()).to.equal(String(high.price));
    await waitUntil(() => ex.state().position.stopLoss.toString() === new D(p.entryPrice.toString()).mul(1.005).toDecimalPlaces(1).toFixed(), 'the stop from the fill price', 15_000, b);
  });

  it('an outage (REST refused, streams dropped) during which the stop fires: never dies, and the trade is journaled once the exchange is back', async () => {
    const t = tradeOn((x) => x.exitTime >= x.entryTime + M15);
    const { ex, start } = await exchangeAt(t.signalTime);
    const b = await bot(ex, journalFile(), ['--param', 'positionCheckSeconds=0.2']);
    await lockstep(ex, series, b, start, t.entryTime);
    expect(size(ex)).to.equal(t.qty.toFixed());
    ex.faults.refuseRest(Infinity);
    ex.faults.losePrivateMessages(Infinity);
    expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
    ex.advanceTo(t.exitTime + M15); // closed by the exchange while pyr can reach nothing
    expect(size(ex)).to.equal('0');
    await waitUntil(() => (b.output().match(/could not (resync|read) the position/g) ?? []).length >= 2, 'failed reads during the outage', 15_000, b);
    expect(b.exited, b.output().slice(-2000)).to.equal(false);
    ex.faults.clear();
    await waitUntil(() => trades(b).length === 1, 'the trade once the exchange is back', 30_000, b);
    const live = trades(b)[0]!;
    expect(live.exitReason).to.equal(t.exitReason);
    expect(live.exitTime).to.equal(t.exitTime);
    expect(live.netPnl.toFixed()).to.equal(t.netPnl.toFixed());
    expect(b.exited).to.equal(false);
  });

  it('a dead WebSocket URL: no entry without the private stream, and pyr says why', async () => {
    const t = sim[1]!;
    const { ex, start } = await exchangeAt(t.signalTime);
    const b = await bot(ex, journalFile(), ['--param', 'privateStreamTimeoutSeconds=0.2'], { PYR_BYBIT_WS_URL: 'ws://127.0.0.1:9/v5/private' });
    await lockstep(ex, series, b, start, t.signalTime + 2 * M15);
    expect(orders(b), 'no order without a stream').to.have.length(0);
    const rejected = b.records().filter((r) => r.t === 'rejected');
    expect(rejected.length).to.be.greaterThan(0);
    for (const r of rejected) expect((r as { reason: string }).reason).to.match(/no private stream for \d+ s/);
    expect(b.output()).to.match(/no new entries: no private stream/);
    expect(b.output()).to.not.match(/already in flight/);
    expect(b.exited).to.equal(false);
  });

  for (const skew of [-3000, 3000]) {
    it(`a clock ${skew < 0 ? 'ahead of' : 'behind'} the exchange's by 3 s: synced at start and after 10002, trades, survives a reconnect`, async () => {
      const t = sim[1]!;
      const { ex, start } = await exchangeAt(t.signalTime);
      ex.faults.clockSkew(skew);
      const b = await bot(ex, journalFile());
      await lockstep(ex, series, b, start, t.signalTime);
      // The skew changes mid-run: the next signed request gets 10002, resyncs the clock and goes again.
      ex.faults.clockSkew(2 * skew);
      expect(ex.faults.dropWebSockets()).to.be.greaterThan(0);
      await lockstep(ex, series, b, t.signalTime, t.entryTime);
      expect(size(ex)).to.equal(t.qty.toFixed());
      expect(orders(b)).to.have.length(1);
      expect(b.exited).to.equal(false);
      expect(b.records().some((r) => r.t === 'note' && /clock synced with the exchange: offset -?\d+ ms/.test(r.message))).to.equal(true);
    });
  }

  it('a torn journal: every restart cuts a torn tail, says so, and goes on (twice in a row)', async () => {
    const t = sim[0]!;
    const { ex, start } = await exchangeAt(t.signalTime);
    const journal = journalFile();
    const first = await bot(ex, journal);
    await lockstep(ex, series, first, start, t.signalTime);
    await first.stop('SIGKILL');
    for (let k = 0; k < 2; k++) {
      appendFileSync(journal, '{"t":"candle","at":1,"live":true,"cand'); // a write cut short
      const again = await bot(ex, journal);
      expect(again.output()).to.match(/a torn last record \(line \d+, 38 bytes, a write cut short\) was removed/);
      await again.stop('SIGKILL');
    }
    const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).to.not.throw();
  });

  it('an order whose outcome cannot be learnt (no answer, reconcile failed) blocks entries until the exchange is known again', async () => {
    const t = sim[1]!;
    const { ex, start } = await exchangeAt(t.signalTime);
    const b = await bot(ex, journalFile(), ['--param', 'positionCheckSeconds=0.2', 'apiRequestRetries=1']);
    await lockstep(ex, series, b, start, t.signalTime);
    // Answers take 1.5 s: once the decision is journaled, the exchange stops answering at all.
    ex.faults.delayRest(1500);
    ex.advanceTo(t.signalTime + M15);
    await waitUntil(() => b.records().some((r) => r.t === 'decision' && r.time === t.signalTime), 'the decision', 30_000, b);
    ex.faults.refuseRest(Infinity);
    await waitUntil(() => /reconcile failed: .*no new entries until the outcome of order \S+ is known/.test(b.output()), 'a failed reconcile', 30_000, b);
    await waitUntil(() => /no new entries: the outcome of order \S+ is not known yet/.test(b.output()), 'the blocked notice', 15_000, b);
    expect(b.exited).to.equal(false);
    ex.faults.clear();
    await waitUntil(() => /order \S+ reconciled: position \w+ [\d.]+; entries allowed again/.test(b.output()), 'the reconcile once the exchange is back', 30_000, b);
    expect(Number(size(ex)), 'never two positions').to.be.at.most(t.qty.toNumber());
  });

  it('a minimum qty far above usdtAmountPerTrade: warned at start with the figure; maxPositionNotional refuses the sized entry', async () => {
    const t = sim[1]!;
    const { ex, start } = await exchangeAt(t.signalTime, { instrument: { qtyStep: '0.01', minOrderQty: '0.01' } });
    const b = await bot(ex, journalFile(), ['--param', 'maxPositionNotional=50']);
    // 0.01 BTC at the last close before the start, against 10 USDT.
    const last = series.close[series.openTime.indexOf(start - M15)]!;
    const ratio = (0.01 * last) / 10;
    expect(b.output()).to.include(`${ratio.toFixed(1)}×`);
    expect(b.output()).to.match(/minimum qty 0\.01/);
    await lockstep(ex, series, b, start, t.entryTime);
    expect(orders(b), 'no 540 USDT order').to.have.length(0);
    expect(size(ex)).to.equal('0');
    const guard = b.records().find((r) => r.t === 'guard');
    expect(guard, b.output().slice(-1500)).to.not.equal(undefined);
    expect((guard as { reason: string }).reason).to.match(/sized notional 5\d\d\.\d+ USDT .* is above maxPositionNotional 50/);
  });

  describe('positions pyr did not open', () => {
    async function withForeign(t: Trade): Promise<{ ex: Sandbox; start: number }> {
      const out = await exchangeAt(t.signalTime);
      const rest = new RestClientV5({ key: out.ex.apiKey, secret: out.ex.apiSecret, baseUrl: out.ex.restUrl }, { timeout: 5000 });
      const r = await rest.submitOrder({ category: 'linear', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Market', qty: '0.002', positionIdx: 0 });
      expect(r.retCode, r.retMsg).to.equal(0);
      expect(size(out.ex)).to.equal('0.002');
      return out;
    }

    it('by default (stop): pyr refuses to trade the symbol, says why, and exits 2', async () => {
      const { ex } = await withForeign(sim[1]!);
      const b = f.spawn(ex, journalFile());
      const code = await new Promise<number | null>((resolve) => b.proc.once('exit', resolve));
      expect(code, b.output()).to.equal(2);
      expect(b.output()).to.match(/open long position of 0\.002 .* that pyr did not open.*foreignPositions is "stop"/s);
      expect(size(ex)).to.equal('0.002');
    });

    it('adopt: pyr manages it and attaches the strategy stop and target from its entry price', async () => {
      const { ex } = await withForeign(sim[1]!);
      const entry = new D(ex.state().position.entryPrice.toString());
      const b = await bot(ex, journalFile(), ['--param', 'foreignPositions=adopt']);
      await waitUntil(() => ex.state().position.stopLoss.toString() !== '0', 'the stop on the adopted position', 15_000, b);
      // The seed's defaults: stop 0.5 %, target 1 % of the entry, rounded to the 0.1 tick.
      expect(ex.state().position.stopLoss.toString()).to.equal(entry.mul(0.995).toDecimalPlaces(1).toFixed());
      expect(ex.state().position.takeProfit.toString()).to.equal(entry.mul(1.01).toDecimalPlaces(1).toFixed());
      expect(b.output()).to.match(/adopting the long position of 0\.002 BTCUSDT/);
    });

    it('ignore: pyr leaves it alone, sends nothing while it is open, and says so', async () => {
      const t = sim[1]!;
      const { ex, start } = await withForeign(t);
      const b = await bot(ex, journalFile(), ['--param', 'foreignPositions=ignore']);
      await lockstep(ex, series, b, start, t.entryTime + M15);
      expect(orders(b)).to.have.length(0);
      expect(size(ex)).to.equal('0.002');
      expect(ex.state().position.stopLoss.toString()).to.equal('0');
      expect(b.output()).to.match(/foreignPositions is "ignore": pyr leaves it alone/);
    });
  });

  it('a wrong API secret: pyr stops at once with a clear message (exit 1), and neither the key nor the secret is printed', async () => {
    const { ex } = await exchangeAt(sim[0]!.signalTime);
    const b = f.spawn(ex, journalFile(), [], { BYBIT_API_SECRET: 'not-the-secret-0123456789' });
    const code = await new Promise<number | null>((resolve) => b.proc.once('exit', resolve));
    expect(code).to.not.equal(0);
    expect(b.output()).to.match(/10004|signature/i);
    expect(b.output()).to.not.include(ex.apiKey);
    expect(b.output()).to.not.include('not-the-secret-0123456789');
  });
});
