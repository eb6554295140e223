import { expect } from 'chai';
import WebSocket from 'ws';
import { readCandleFile } from '../../lib/data/csv.ts';
import type { CandleSeries } from '../../lib/core/candle.ts';
import { D, type Dec, dec } from '../../lib/core/money.ts';
import { forgetStaleAuthOnClose } from '../../lib/brokers/bybit/client.ts';
import { type Sandbox, hmacHex, startSandbox } from '../../lib/sandbox/index.ts';
import { M15, T0, historyRows, privateSequence, restClient, sample15m, tinySeries, waitFor, wsClient } from './helpers.ts';

const linear = { category: 'linear' as const, symbol: 'BTCUSDT' };
const PRIVATE_TOPICS = ['position', 'order', 'execution', 'wallet'];
type Msg = Record<string, unknown>;

/** Raw client: sends `msg`, resolves with the next message and how long it took. */
async function rawExchange(url: string, msgs: unknown[]): Promise<{ replies: string[]; ms: number[] }> {
  const ws = new WebSocket(url);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const replies: string[] = [];
  const ms: number[] = [];
  for (const m of msgs) {
    const t = Date.now();
    const reply = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
    ws.send(JSON.stringify(m));
    replies.push(await reply);
    ms.push(Date.now() - t);
  }
  ws.close();
  await new Promise((r) => ws.once('close', r));
  return { replies, ms };
}

describe('sandbox WebSocket through the bybit-api SDK', function () {
  this.timeout(20000);
  let ex: Sandbox;
  const clients: Array<{ ws: { closeAll(force?: boolean): void } }> = [];
  const client = (...a: Parameters<typeof wsClient>): ReturnType<typeof wsClient> => {
    const c = wsClient(...a);
    clients.push(c);
    return c;
  };
  const rows = [...historyRows(10).map(([o, h, l, c]) => [o * 400, h * 400, l * 400, c * 400] as [number, number, number, number]), [40000, 40400, 39800, 40100] as [number, number, number, number], [40100, 40900, 40000, 40850] as [number, number, number, number], [40850, 40900, 40700, 40800] as [number, number, number, number]];
  const start = T0 + 10 * M15;

  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.closeAll(true);
    await ex?.stop();
  });

  it('answers ping with a compact pong within 1000 ms, echoes req_id, and refuses bad auth and unauthorised private topics', async () => {
    ex = await startSandbox({ series: tinySeries(rows), interval: '15', startTime: start });
    const expires = Date.now() + 5000;
    const { replies, ms } = await rawExchange(ex.wsUrl, [
      { op: 'ping' },
      { req_id: 'sub-1', op: 'subscribe', args: ['order'] },
      { req_id: 'a1', op: 'auth', args: [ex.apiKey, expires, hmacHex('wrong', `GET/realtime${expires}`)] },
      { req_id: 'a2', op: 'auth', args: [ex.apiKey, Date.now() - 1, hmacHex(ex.apiSecret, `GET/realtime${Date.now() - 1}`)] },
      { req_id: 'a3', op: 'auth', args: [ex.apiKey, expires, hmacHex(ex.apiSecret, `GET/realtime${expires}`)] },
      { req_id: 'sub-2', op: 'subscribe', args: ['order', 'nope.topic'] },
    ]);
    expect(replies[0]).to.match(/^\{"op":"pong","args":\["\d+"\],"conn_id":"[^"]+"\}$/);
    expect(ms[0]).to.be.below(1000);
    expect(JSON.parse(replies[1]!)).to.include({ success: false, ret_msg: 'Request not authorized', req_id: 'sub-1', op: 'subscribe' });
    expect(JSON.parse(replies[2]!)).to.include({ success: false, op: 'auth', req_id: 'a1' });
    expect(JSON.parse(replies[3]!)).to.include({ success: false, op: 'auth', req_id: 'a2' });
    expect(JSON.parse(replies[4]!)).to.include({ success: true, ret_msg: '', op: 'auth', req_id: 'a3' });
    expect(JSON.parse(replies[5]!)).to.include({ success: false, ret_msg: 'error:handler not found,topic:nope.topic' });
    const pub = await rawExchange(ex.publicWsUrl, [{ req_id: 'p', op: 'ping' }]);
    expect(pub.replies[0]).to.include('"ret_msg":"pong"');
  });

  it('streams public kline (with confirm on close) and tickers (snapshot, then deltas)', async () => {
    ex = await startSandbox({ series: tinySeries(rows), interval: '15', startTime: start });
    const { ws, events, updates } = client(ex);
    ws.subscribeV5(['kline.15.BTCUSDT', 'tickers.BTCUSDT'], 'linear');
    await waitFor(() => updates('tickers.BTCUSDT').length > 0 && updates('kline.15.BTCUSDT').length > 0, 3000, 'initial pushes');
    const sub = events.find((e) => e.event === 'response')!.msg;
    expect(sub).to.include({ success: true, op: 'subscribe', req_id: 'kline.15.BTCUSDT,tickers.BTCUSDT', wsKey: 'v5LinearPublic' });
    const snap = updates('tickers.BTCUSDT')[0]!;
    expect(snap).to.include({ type: 'snapshot' });
    expect(snap.data).to.include({ symbol: 'BTCUSDT', lastPrice: '40000' });
    ex.advanceTo(start + M15); // through the candle's path and its close, to the next open
    await waitFor(() => updates('kline.15.BTCUSDT').length >= 6, 3000, 'kline updates');
    const klines = updates('kline.15.BTCUSDT').map((m) => (m.data as Msg[])[0]!);
    expect(klines.map((k) => [k.start, k.close, k.confirm])).to.deep.equal([
      [start, '40000', false],
      [start, '39800', false],
      [start, '40400', false],
      [start, '40100', false],
      [start, '40100', true],
      [start + M15, '40100', false],
    ]);
    expect(klines[4]).to.include({ start, end: start + M15 - 1, interval: '15', open: '40000', high: '40400', low: '39800', volume: '12.5' });
    expect(typeof klines[4]!.timestamp).to.equal('number');
    const deltas = updates('tickers.BTCUSDT').slice(1);
    expect(deltas.map((d) => d.type)).to.include('delta');
    expect(deltas.map((d) => (d.data as Msg).lastPrice).filter(Boolean)).to.deep.equal(['39800', '40400', '40100']);
  });

  it('market order with TP and SL on the real 15m candles: messages in order, trigger where the path crosses, wallet adds up', async () => {
    const { series } = await readCandleFile(sample15m);
    const startTime = Date.UTC(2024, 7, 5, 12); // 2024-08-05 12:00 UTC, the day of the August sell-off: a volatile afternoon follows
    ex = await startSandbox({ series, interval: '15', startTime, balance: 10000 });
    const rest = restClient(ex);
    const { ws, events, updates } = client(ex);
    ws.subscribeV5(PRIVATE_TOPICS, 'linear');
    await waitFor(() => events.some((e) => e.event === 'response' && e.msg.req_id === PRIVATE_TOPICS.join(',')), 3000, 'private subscription');

    // Warm-up history: 200 closed candles before the replay start, identical to the file.
    const hist = await rest.getKline({ ...linear, interval: '15', limit: 201 });
    expect(hist.result.list).to.have.length(201);
    expect(Number(hist.result.list[200]![0])).to.equal(startTime - 200 * M15);

    const i0 = series.openTime.indexOf(startTime);
    const entry = dec(String(series.open[i0]!));
    const tick = dec('0.1');
    const tp = entry.mul('1.004').div(tick).floor().mul(tick);
    const sl = entry.mul('0.996').div(tick).ceil().mul(tick);
    const qty = dec('0.100');
    const res = await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: qty.toFixed(), takeProfit: tp.toFixed(), stopLoss: sl.toFixed(), tpslMode: 'Full', positionIdx: 0, orderLinkId: 'real-1' });
    expect(res.retCode, res.retMsg).to.equal(0);
    await waitFor(() => privateSequence(updates()).length >= 4, 3000, 'entry messages');
    const entryMsgs = privateSequence(updates());
    expect(entryMsgs.map(([t]) => t)).to.deep.equal(['order', 'execution', 'position', 'wallet']);
    expect(entryMsgs[0]![1]).to.include({ orderLinkId: 'real-1', orderStatus: 'Filled', positionIdx: 0, avgPrice: entry.toFixed() });
    expect(entryMsgs[2]![1]).to.include({ side: 'Buy', size: '0.1', entryPrice: entry.toFixed(), takeProfit: tp.toFixed(), stopLoss: sl.toFixed() });

    // Independent expectation: walk the file's candles along the documented path until TP or SL is crossed.
    const expected = firstCross(series, i0, tp, sl);
    let n = 0;
    while (ex.state().position.side !== '' && n++ < 4 * 200) ex.step();
    expect(ex.state().position.side).to.equal('');
    await waitFor(() => privateSequence(updates()).length >= 8, 3000, 'exit messages');
    const exitMsgs = privateSequence(updates()).slice(4);
    expect(exitMsgs.map(([t]) => t)).to.deep.equal(['order', 'execution', 'position', 'wallet']);
    const kind = expected.kind;
    const exec = exitMsgs[1]![1];
    expect(exec).to.include({
      side: 'Sell', execPrice: expected.price.toFixed(), execQty: '0.1', closedSize: '0.1', execType: 'Trade',
      createType: kind === 'TakeProfit' ? 'CreateByTakeProfit' : 'CreateByStopLoss', stopOrderType: kind,
    });
    expect(Number(exec.execTime)).to.be.within(expected.from, expected.to);
    expect(exitMsgs[2]![1]).to.include({ side: '', size: '0', entryPrice: '0', takeProfit: '0', stopLoss: '0', positionIdx: 0 });

    const fee = (p: Dec): Dec => qty.mul(p).mul('0.00055');
    const pnl = expected.price.minus(entry).mul(qty);
    const balance = new D(10000).minus(fee(entry)).minus(fee(expected.price)).plus(pnl);
    const walletMsg = exitMsgs[3]![1];
    expect(walletMsg).to.include({ accountType: 'UNIFIED', totalWalletBalance: balance.toFixed(), totalEquity: balance.toFixed() });
    expect((walletMsg.coin as Msg[])[0]).to.include({ coin: 'USDT', walletBalance: balance.toFixed(), unrealisedPnl: '0', cumRealisedPnl: balance.minus(10000).toFixed() });
    const closed = await rest.getClosedPnL({ ...linear });
    expect(closed.result.list[0]).to.include({ closedPnl: balance.minus(10000).toFixed(), avgExitPrice: expected.price.toFixed(), side: 'Sell' });
    const wallet = await rest.getWalletBalance({ accountType: 'UNIFIED' });
    expect(wallet.result.list[0]!.coin[0]!.walletBalance).to.equal(balance.toFixed());
  });

  it('settles funding on an open position: a Funding execution, position and wallet messages, and the REST rows', async () => {
    const settlement = start + M15; // the next candle's open
    ex = await startSandbox({ series: tinySeries(rows), interval: '15', startTime: start, funding: [{ time: settlement, rate: '0.0001' }] });
    const rest = restClient(ex);
    const { ws, events, updates } = client(ex);
    ws.subscribeV5(PRIVATE_TOPICS, 'linear');
    await waitFor(() => events.some((e) => e.event === 'response'), 3000, 'subscribed');
    await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.5' });
    await waitFor(() => privateSequence(updates()).length >= 4, 3000, 'entry');
    ex.advanceTo(settlement);
    await waitFor(() => privateSequence(updates()).length >= 7, 3000, 'funding messages');
    const msgs = privateSequence(updates()).slice(4);
    expect(msgs.map(([t]) => t)).to.deep.equal(['execution', 'position', 'wallet']);
    const fee = new D('0.5').mul('40100').mul('0.0001'); // size × mark (the open at the settlement) × rate
    expect(msgs[0]![1]).to.include({ execType: 'Funding', execFee: fee.toFixed(), execTime: String(settlement) });
    const entryFee = new D('0.5').mul(40000).mul('0.00055');
    expect((msgs[2]![1].coin as Msg[])[0]).to.include({ walletBalance: new D(10000).minus(entryFee).minus(fee).toFixed() });
    const funding = await rest.getExecutionList({ ...linear, execType: 'Funding' });
    expect(funding.result.list).to.have.length(1);
    const history = await rest.getFundingRateHistory({ ...linear });
    expect(history.result.list).to.deep.equal([{ symbol: 'BTCUSDT', fundingRate: '0.0001', fundingRateTimestamp: String(settlement) }]);
  });

  it('after a server-side drop the SDK reconnects, re-authenticates, re-subscribes, and messages flow again', async () => {
    ex = await startSandbox({ series: tinySeries(rows), interval: '15', startTime: start });
    const rest = restClient(ex);
    const { ws, events, updates } = client(ex);
    ws.subscribeV5(PRIVATE_TOPICS, 'linear');
    ws.subscribeV5(['kline.15.BTCUSDT'], 'linear');
    await waitFor(() => events.filter((e) => e.event === 'response').length >= 2, 3000, 'subscriptions');
    expect(ex.state().connections).to.equal(2); // one per wsKey, same URL
    expect(ex.faults.dropWebSockets()).to.equal(2);
    await waitFor(() => events.filter((e) => e.event === 'reconnected').length >= 2, 5000, 'reconnected');
    await waitFor(() => events.filter((e) => e.event === 'response').length >= 4 && events.filter((e) => e.event === 'authenticated').length >= 2, 3000, 'resubscribed');
    expect(events.filter((e) => e.event === 'reconnect').map((e) => e.msg.wsKey).sort()).to.deep.equal(['v5LinearPublic', 'v5Private']);
    const before = updates().length;
    ex.step();
    await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.01' });
    await waitFor(() => updates('order').length > 0 && updates('kline.15.BTCUSDT').length > 1, 3000, 'messages after reconnect');
    expect(updates().length).to.be.greaterThan(before);
  });

  it('the auth fault: the next N auth requests (or every Nth) lose their connection unanswered; later ones are answered', async () => {
    ex = await startSandbox({ series: tinySeries(rows), interval: '15', startTime: start });
    const auth = (id: string) => {
      const expires = Date.now() + 5000;
      return { req_id: id, op: 'auth', args: [ex.apiKey, expires, hmacHex(ex.apiSecret, `GET/realtime${expires}`)] };
    };
    /** Sends one auth on a fresh connection: its reply, or the close code when the server closed instead. */
    const attempt = async (id: string): Promise<{ reply?: Msg; closed?: number }> => {
      const ws = new WebSocket(ex.wsUrl);
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      const out = await new Promise<{ reply?: Msg; closed?: number }>((r) => {
        ws.once('message', (d) => r({ reply: JSON.parse(d.toString()) as Msg }));
        ws.once('close', (code) => r({ closed: code }));
        ws.send(JSON.stringify(auth(id)));
      });
      if (ws.readyState !== ws.CLOSED) {
        ws.close();
        await new Promise((r) => ws.once('close', r));
      }
      return out;
    };
    ex.faults.dropNextAuths(2);
    expect(await attempt('a1')).to.deep.equal({ closed: 1001 });
    expect(await attempt('a2')).to.deep.equal({ closed: 1001 });
    expect((await attempt('a3')).reply).to.include({ success: true, op: 'auth', req_id: 'a3' });
    ex.faults.dropAuthEvery(2);
    expect((await attempt('b1')).reply).to.include({ success: true, req_id: 'b1' });
    expect(await attempt('b2')).to.deep.equal({ closed: 1001 });
    expect((await attempt('b3')).reply).to.include({ success: true, req_id: 'b3' });
    expect(await attempt('b4')).to.deep.equal({ closed: 1001 });
    ex.faults.clear();
    expect((await attempt('c1')).reply).to.include({ success: true, req_id: 'c1' });
  });

  it("with pyr's forgetStaleAuthOnClose, the SDK authenticates again after connections lost during auth, and private messages flow", async () => {
    ex = await startSandbox({ series: tinySeries(rows), interval: '15', startTime: start });
    const rest = restClient(ex);
    const { ws, events, updates } = client(ex);
    forgetStaleAuthOnClose(ws);
    ws.subscribeV5(PRIVATE_TOPICS, 'linear');
    await waitFor(() => events.some((e) => e.event === 'response' && e.msg.op === 'subscribe'), 3000, 'the subscription');
    ex.faults.dropNextAuths(2);
    expect(ex.faults.dropWebSockets()).to.equal(1);
    // Three reconnects: the first two lose their auth; the third authenticates and subscribes.
    await waitFor(() => events.filter((e) => e.event === 'reconnected').length >= 3 && events.filter((e) => e.event === 'response' && e.msg.op === 'subscribe').length >= 2, 10_000, 'the third connection to subscribe');
    expect(events.filter((e) => e.event === 'reconnect')).to.have.length(3);
    ex.step();
    await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.01' });
    await waitFor(() => updates('order').length > 0 && updates('position').length > 0, 3000, 'private messages after the reconnects');
  });

  it('restarts on the same port with positions, wallet and orders kept; the SDK reconnects by itself', async () => {
    ex = await startSandbox({ series: tinySeries(rows), interval: '15', startTime: start, balance: 5000 });
    const rest = restClient(ex);
    expect((await rest.submitOrder({ ...linear, side: 'Sell', orderType: 'Market', qty: '0.02', stopLoss: '41000' })).retCode).to.equal(0);
    const wallet = (await rest.getWalletBalance({ accountType: 'UNIFIED' })).result.list[0]!;
    const { ws, events, updates } = client(ex);
    ws.subscribeV5(PRIVATE_TOPICS, 'linear');
    await waitFor(() => events.some((e) => e.event === 'response'), 3000, 'subscribed');
    const port = ex.port;
    await ex.restart();
    expect(ex.port).to.equal(port);
    // Like any server restart, it closed the client's pooled keep-alive socket: the REST reads wait until
    // the SDK's WebSocket has reconnected, by which time the client has seen that close too.
    await waitFor(() => events.some((e) => e.event === 'reconnected') && events.filter((e) => e.event === 'response').length >= 2, 5000, 'reconnected after restart');
    const pos = await rest.getPositionInfo({ ...linear });
    expect(pos.result.list[0]).to.include({ side: 'Sell', size: '0.02', stopLoss: '41000' });
    expect((await rest.getWalletBalance({ accountType: 'UNIFIED' })).result.list[0]!.totalWalletBalance).to.equal(wallet.totalWalletBalance);
    expect((await rest.getActiveOrders({ ...linear })).result.list.map((o) => o.stopOrderType)).to.deep.equal(['StopLoss']);
    // Close by hand: the messages arrive on the reconnected socket.
    await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.02', reduceOnly: true });
    await waitFor(() => updates('position').some((m) => (m.data as Msg[])[0]!.size === '0'), 3000, 'close after restart');
  });
});

/** Where a long with `tp` above and `sl` below is first closed on the documented path (from candle i0's open). */
function firstCross(s: CandleSeries, i0: number, tp: Dec, sl: Dec): { kind: 'TakeProfit' | 'StopLoss'; price: Dec; from: number; to: number } {
  let prev = dec(String(s.open[i0]!));
  let prevTime = s.openTime[i0]!;
  for (let i = i0; i < s.length; i++) {
    const o = s.open[i]!;
    const h = s.high[i]!;
    const l = s.low[i]!;
    const t = s.openTime[i]!;
    const highFirst = h - o <= o - l;
    const path: Array<[number, number]> = [
      [t, o],
      [t + M15 / 3, highFirst ? h : l],
      [t + (2 * M15) / 3, highFirst ? l : h],
      [t + M15 - 1, s.close[i]!],
    ];
    for (const [pt, pp] of path) {
      const p = dec(String(pp));
      const gap = pt === t && i !== i0;
      if (p.gte(tp)) return { kind: 'TakeProfit', price: gap ? p : tp, from: prevTime, to: pt };
      if (p.lte(sl)) return { kind: 'StopLoss', price: gap ? p : sl, from: prevTime, to: pt };
      prev = p;
      prevTime = pt;
    }
  }
  throw new Error(`neither ${tp} nor ${sl} reached (last ${prev})`);
}
