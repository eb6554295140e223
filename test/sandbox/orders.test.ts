/**
 * The order types of issue 12 on the local exchange, through the real bybit-api SDK (RestClientV5 and
 * WebsocketClient) with a manual clock: resting limits (maker), post-only refusals, conditional (stop)
 * orders, trailing stops, Partial TP/SL, reduce-only limit targets, amend, cancel, order/realtime and
 * order/history, and the private stream messages of each. Every expectation is worked out by hand from
 * the tiny candle series written in each test and the documented path (open, nearer extreme, other
 * extreme, close; points at T, T+5m, T+10m, T+15m-1ms of a 15-minute candle).
 */
import { expect } from 'chai';
import type { RestClientV5 } from 'bybit-api';
import { D } from '../../lib/core/money.ts';
import { type Sandbox, startSandbox } from '../../lib/sandbox/index.ts';
import { M15, T0, historyRows, restClient, tinySeries, waitFor, wsClient } from './helpers.ts';

const linear = { category: 'linear' as const, symbol: 'BTCUSDT' };
const PRIVATE_TOPICS = ['position', 'order', 'execution', 'wallet'];
type Msg = Record<string, unknown>;
type Row = [number, number, number, number];

const TAKER = new D('0.00055');
const MAKER = new D('0.0002');
/** The replay starts at the 11th candle (10 candles of history around 40000). */
const START = T0 + 10 * M15;
/** Point k (0..3) of test candle i. */
const pt = (i: number, k: 0 | 1 | 2 | 3): number => START + i * M15 + (k === 3 ? M15 - 1 : (M15 * k) / 3);
/** The time a level is crossed between two points (rounded as the engine does). */
const cross = (t0: number, t1: number, p0: number, p1: number, level: number): number => t0 + Math.round(((level - p0) / (p1 - p0)) * (t1 - t0));

describe('sandbox order types (issue 12) through the bybit-api SDK', function () {
  this.timeout(20000);
  let ex: Sandbox;
  let rest: RestClientV5;
  let stream: ReturnType<typeof wsClient>;

  async function setup(rows: Row[], opts: { limitFill?: 'touch' | 'through' } = {}): Promise<void> {
    const history = historyRows(10).map(([o, h, l, c]) => [o * 400, h * 400, l * 400, c * 400] as Row);
    ex = await startSandbox({ series: tinySeries([...history, ...rows]), interval: '15', startTime: START, balance: 10000, clock: 'manual', ...opts });
    rest = restClient(ex);
    stream = wsClient(ex);
    stream.ws.subscribeV5(PRIVATE_TOPICS, 'linear');
    await waitFor(() => stream.events.some((e) => e.event === 'response' && e.msg.req_id === PRIVATE_TOPICS.join(',')), 3000, 'private subscription');
  }
  afterEach(async () => {
    stream?.ws.closeAll(true);
    await ex?.stop();
  });

  /** Every item of every message of `topic` so far, in arrival order. */
  const items = (topic: string): Msg[] => stream.updates(topic).flatMap((m) => m.data as Msg[]);
  /** The order statuses the stream reported for one orderLinkId (or orderId), in order. */
  const statuses = (id: string): string[] => items('order').filter((o) => o.orderLinkId === id || o.orderId === id).map((o) => String(o.orderStatus));
  const settle = (what: string, cond: () => boolean): Promise<void> => waitFor(cond, 3000, what);
  async function ok<T extends { retCode: number; retMsg: string }>(p: Promise<T>): Promise<T> {
    const r = await p;
    expect(r.retCode, r.retMsg).to.equal(0);
    return r;
  }
  const steps = (n: number): void => {
    for (let i = 0; i < n; i++) ex.step();
  };
  const marketBuy = (qty: string, orderLinkId: string): Promise<unknown> =>
    ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty, positionIdx: 0, orderLinkId }));

  it('rests a GTC buy limit and fills it as maker at its price where the path trades through it', async () => {
    // 40000 → 39800 (T+5m) → 40400 (T+10m) → 40100: the buy at 39900 is reached half-way down the first segment.
    await setup([[40000, 40400, 39800, 40100]]);
    const ack = await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39900', timeInForce: 'GTC', positionIdx: 0, orderLinkId: 'lim-1' }));
    expect(ack.result.orderLinkId).to.equal('lim-1');
    await settle('New', () => statuses('lim-1').length === 1);
    expect(items('order')[0]).to.include({ orderStatus: 'New', orderType: 'Limit', price: '39900', timeInForce: 'GTC', leavesQty: '0.1', cumExecQty: '0' });
    // Resting: 0.1 × 39900 / 10 = 399 USDT of order margin.
    const w = await rest.getWalletBalance({ accountType: 'UNIFIED' });
    expect(w.result.list[0]!.coin[0]).to.include({ totalOrderIM: '399' });

    ex.step(); // to 39800
    await settle('fill', () => items('execution').length === 1);
    const fee = new D('0.1').mul(39900).mul(MAKER); // 0.798
    expect(items('execution')[0]).to.include({
      orderLinkId: 'lim-1', execPrice: '39900', execQty: '0.1', isMaker: true, feeRate: '0.0002', execFee: fee.toFixed(),
      execTime: String(cross(pt(0, 0), pt(0, 1), 40000, 39800, 39900)), stopOrderType: 'UNKNOWN', closedSize: '0',
    });
    expect(statuses('lim-1')).to.deep.equal(['New', 'Filled']);
    const pos = (await rest.getPositionInfo({ ...linear })).result.list[0]!;
    expect(pos).to.include({ side: 'Buy', size: '0.1', avgPrice: '39900' });
    expect(ex.state().balance.toFixed()).to.equal(new D(10000).minus(fee).toFixed());
  });

  it('limitFill "through" needs a trade beyond the limit: a buy at the exact low rests, the default "touch" fills it', async () => {
    const rows: Row[] = [[40000, 40400, 39800, 40100], [40100, 40200, 39700, 40000]];
    await setup(rows, { limitFill: 'through' });
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39800', positionIdx: 0, orderLinkId: 'thr-1' }));
    steps(4); // the first candle (the low 39800 is touched, never traded below), its close and the next open
    expect(ex.state().position.side).to.equal('');
    // Second candle: 40100 → 40200 (high first, 100 vs 400: the high is nearer) → 39700: traded through, filled at 39800.
    steps(2);
    expect(ex.state().position).to.include({ side: 'Buy' });
    expect(ex.state().position.entryPrice.toFixed()).to.equal('39800');
    stream.ws.closeAll(true);
    await ex.stop();

    await setup(rows); // default: touch
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39800', positionIdx: 0, orderLinkId: 'tch-1' }));
    ex.step();
    await settle('touch fill', () => items('execution').length === 1);
    expect(items('execution')[0]).to.include({ execPrice: '39800', isMaker: true, execTime: String(pt(0, 1)) });
  });

  it('fills a limit jumped by a gap at the better open, still as maker', async () => {
    // The first candle never comes down to 39900 (low 39950); the next one opens at 39700.
    await setup([[40000, 40100, 39950, 40000], [39700, 39800, 39600, 39750]]);
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39900', positionIdx: 0, orderLinkId: 'gap-1' }));
    steps(3); // the first candle's points
    expect(ex.state().position.side).to.equal('');
    ex.step(); // the candle close and, at the same instant, the gap to the next open
    await settle('gap fill', () => items('execution').length === 1);
    expect(items('execution')[0]).to.include({
      orderLinkId: 'gap-1', execPrice: '39700', isMaker: true, feeRate: '0.0002', execFee: new D('0.1').mul(39700).mul(MAKER).toFixed(), execTime: String(pt(1, 0)),
    });
    expect(items('order').at(-1)).to.include({ orderStatus: 'Filled', avgPrice: '39700', price: '39900' });
  });

  it('refuses a post-only limit that would cross as Bybit does: retCode 0, then Cancelled with EC_PostOnlyWillTakeLiquidity', async () => {
    await setup([[40000, 40400, 39800, 40100]]);
    const ack = await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '40100', timeInForce: 'PostOnly', positionIdx: 0, orderLinkId: 'po-x' }));
    expect(ack.result.orderId).to.be.a('string').and.not.equal('');
    await settle('cancel', () => statuses('po-x').length === 1);
    expect(items('order')[0]).to.include({ orderStatus: 'Cancelled', rejectReason: 'EC_PostOnlyWillTakeLiquidity', timeInForce: 'PostOnly', cumExecQty: '0', leavesQty: '0' });
    expect(items('execution')).to.have.length(0);
    expect((await rest.getActiveOrders({ ...linear })).result.list).to.have.length(0);
    expect((await rest.getActiveOrders({ ...linear, orderLinkId: 'po-x' })).result.list[0]).to.include({ orderStatus: 'Cancelled' });
    // One that does not cross rests, and fills as maker.
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39900', timeInForce: 'PostOnly', positionIdx: 0, orderLinkId: 'po-ok' }));
    ex.step();
    await settle('maker fill', () => items('execution').length === 1);
    expect(items('execution')[0]).to.include({ orderLinkId: 'po-ok', isMaker: true, execPrice: '39900' });
    expect(statuses('po-ok')).to.deep.equal(['New', 'Filled']);
  });

  it('triggers a stop entry where the path crosses it inside the candle: Untriggered → Triggered → Filled, taker, with its stop loss', async () => {
    await setup([[40000, 40400, 39800, 40100]]);
    // The trigger must be ahead of the price in its direction; triggerDirection is required.
    expect((await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.1', triggerPrice: '39900', triggerDirection: 1, positionIdx: 0 })).retCode).to.equal(110092);
    expect((await rest.submitOrder({ ...linear, side: 'Sell', orderType: 'Market', qty: '0.1', triggerPrice: '40100', triggerDirection: 2, positionIdx: 0 })).retCode).to.equal(110093);
    expect((await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.1', triggerPrice: '40200', positionIdx: 0 })).retCode).to.equal(10001);
    await ok(rest.submitOrder({
      ...linear, side: 'Buy', orderType: 'Market', qty: '0.1', triggerPrice: '40200', triggerDirection: 1, triggerBy: 'LastPrice',
      stopLoss: '39900', tpslMode: 'Full', positionIdx: 0, orderLinkId: 'stop-1',
    }));
    await settle('Untriggered', () => statuses('stop-1').length === 1);
    expect(items('order')[0]).to.include({ orderStatus: 'Untriggered', stopOrderType: 'Stop', createType: 'CreateByStopOrder', triggerPrice: '40200', triggerDirection: 1, triggerBy: 'LastPrice', stopLoss: '39900' });
    // A conditional order holds no margin before it triggers.
    expect((await rest.getWalletBalance({ accountType: 'UNIFIED' })).result.list[0]!.coin[0]).to.include({ totalOrderIM: '0' });

    ex.step(); // 40000 → 39800: nothing
    expect(ex.state().position.side).to.equal('');
    ex.step(); // 39800 → 40400: 40200 is crossed two thirds of the way up
    await settle('fill', () => items('execution').length === 1);
    expect(statuses('stop-1')).to.deep.equal(['Untriggered', 'Triggered', 'Filled']);
    expect(items('execution')[0]).to.include({
      orderLinkId: 'stop-1', execPrice: '40200', isMaker: false, feeRate: '0.00055', execFee: new D('0.1').mul(40200).mul(TAKER).toFixed(),
      stopOrderType: 'Stop', createType: 'CreateByStopOrder', execTime: String(cross(pt(0, 1), pt(0, 2), 39800, 40400, 40200)),
    });
    // The attached stop loss becomes the position's, and the rest of the path (up to 40400, back to 40100) never reaches it.
    steps(2);
    expect((await rest.getPositionInfo({ ...linear })).result.list[0]).to.include({ side: 'Buy', size: '0.1', avgPrice: '40200', stopLoss: '39900' });
  });

  it('fills a stop entry jumped by a gap at the new open', async () => {
    await setup([[40000, 40100, 39950, 40050], [40500, 40600, 40400, 40550]]);
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.1', triggerPrice: '40200', triggerDirection: 1, positionIdx: 0, orderLinkId: 'stop-gap' }));
    steps(3); // the first candle (high 40100)
    expect(ex.state().position.side).to.equal('');
    ex.step(); // its close and the gap 40050 → 40500
    await settle('gap fill', () => items('execution').length === 1);
    expect(items('execution')[0]).to.include({ execPrice: '40500', isMaker: false, execTime: String(pt(1, 0)), stopOrderType: 'Stop' });
    expect(statuses('stop-gap')).to.deep.equal(['Untriggered', 'Triggered', 'Filled']);
  });

  it('runs a trailing stop from trading-stop: waits for activePrice, ratchets along the highs, fires as a market close', async () => {
    // C0: 40000 → 39900 → 40500 → 40400 (activates at 40200, stop 40500 - 300 = 40200).
    // C1: 40400 → 40300 → 40800 (stop 40500) → 40350: fires at 40500, two thirds of the way down.
    await setup([[40000, 40500, 39900, 40400], [40400, 40800, 40300, 40350]]);
    await marketBuy('0.1', 'ts-entry');
    expect((await rest.setTradingStop({ ...linear, tpslMode: 'Full', positionIdx: 0, trailingStop: '300', activePrice: '39000' })).retCode).to.equal(10001); // activation behind the price
    await ok(rest.setTradingStop({ ...linear, tpslMode: 'Full', positionIdx: 0, trailingStop: '300', activePrice: '40200' }));
    expect((await rest.setTradingStop({ ...linear, tpslMode: 'Full', positionIdx: 0, trailingStop: '300', activePrice: '40200' })).retCode).to.equal(34040);
    let pos = (await rest.getPositionInfo({ ...linear })).result.list[0]!;
    expect(pos).to.include({ trailingStop: '300', activePrice: '40200' });
    const open = (await rest.getActiveOrders({ ...linear })).result.list;
    expect(open).to.have.length(1);
    const ts = open[0]!;
    expect(ts).to.include({ stopOrderType: 'TrailingStop', createType: 'CreateByTrailingStop', orderStatus: 'Untriggered', side: 'Sell', triggerPrice: '40200', triggerDirection: 2, qty: '0', reduceOnly: true, closeOnTrigger: true });
    const trigger = async (): Promise<string> => String((await rest.getActiveOrders({ ...linear, orderId: ts.orderId })).result.list[0]!.triggerPrice);

    ex.step(); // 39900: not active yet, nothing fires
    expect(await trigger()).to.equal('40200');
    ex.step(); // 40500: active, stop 40200
    expect(await trigger()).to.equal('40200');
    ex.step(); // 40400: above the stop
    steps(2); // close and C1's open at 40400 (no move); then 40300: above 40200
    expect(ex.state().position.side).to.equal('Buy');
    ex.step(); // 40800: ratchets to 40500
    expect(await trigger()).to.equal('40500');
    ex.step(); // 40800 → 40350: crosses 40500
    await settle('trailing fill', () => items('execution').length === 2);
    const exec = items('execution')[1]!;
    expect(exec).to.include({
      orderId: ts.orderId, side: 'Sell', execPrice: '40500', execQty: '0.1', closedSize: '0.1', isMaker: false, stopOrderType: 'TrailingStop',
      createType: 'CreateByTrailingStop', execTime: String(cross(pt(1, 2), pt(1, 3), 40800, 40350, 40500)), execPnl: '50',
    });
    expect(statuses(ts.orderId).at(-1)).to.equal('Filled');
    pos = (await rest.getPositionInfo({ ...linear })).result.list[0]!;
    expect(pos).to.include({ side: '', size: '0', trailingStop: '0', activePrice: '0' });
    // closed PnL: 0.1 × 500 − 0.1 × 40000 × 0.00055 − 0.1 × 40500 × 0.00055 = 50 − 2.2 − 2.2275
    const closed = (await rest.getClosedPnL({ ...linear })).result.list[0]!;
    expect(closed).to.include({ closedPnl: '45.5725', avgExitPrice: '40500', side: 'Sell' });
  });

  it('trails a short without activation: the lowest price plus the distance, fired on the way back up', async () => {
    // 40000 → 39800 (stop 39800 + 250 = 40050) → 40400: crosses 40050.
    await setup([[40000, 40400, 39800, 40100]]);
    await ok(rest.submitOrder({ ...linear, side: 'Sell', orderType: 'Market', qty: '0.1', positionIdx: 0, orderLinkId: 'short' }));
    await ok(rest.setTradingStop({ ...linear, tpslMode: 'Full', positionIdx: 0, trailingStop: '250' }));
    const [ts] = (await rest.getActiveOrders({ ...linear })).result.list;
    expect(ts).to.include({ stopOrderType: 'TrailingStop', side: 'Buy', triggerPrice: '40250', triggerDirection: 1 });
    ex.step();
    expect((await rest.getActiveOrders({ ...linear })).result.list[0]).to.include({ triggerPrice: '40050' });
    ex.step();
    await settle('trailing fill', () => items('execution').length === 2);
    expect(items('execution')[1]).to.include({ side: 'Buy', execPrice: '40050', stopOrderType: 'TrailingStop', execTime: String(cross(pt(0, 1), pt(0, 2), 39800, 40400, 40050)), execPnl: '-5' });
    expect(ex.state().position.side).to.equal('');
  });

  it('a conditional limit with a Partial TP from order/create: triggered, rests, fills as maker later on the same move, then its own TP', async () => {
    // 40000 → 39800: triggers at 39950, fills at 39900; → 40400: the partial TP 40300 closes the 0.1.
    await setup([[40000, 40400, 39800, 40100]]);
    await ok(rest.submitOrder({
      ...linear, side: 'Buy', orderType: 'Limit', price: '39900', qty: '0.1', triggerPrice: '39950', triggerDirection: 2, positionIdx: 0,
      takeProfit: '40300', tpslMode: 'Partial', orderLinkId: 'cl',
    }));
    ex.step();
    await settle('fill', () => items('execution').length === 1);
    expect(statuses('cl')).to.deep.equal(['Untriggered', 'Triggered', 'New', 'Filled']);
    expect(items('execution')[0]).to.include({ execPrice: '39900', isMaker: true, execTime: String(cross(pt(0, 0), pt(0, 1), 40000, 39800, 39900)) });
    const [tp] = (await rest.getActiveOrders({ ...linear })).result.list;
    expect(tp).to.include({ stopOrderType: 'PartialTakeProfit', qty: '0.1', triggerPrice: '40300', tpslMode: 'Partial' });
    ex.step();
    await settle('tp', () => items('execution').length === 2);
    expect(items('execution')[1]).to.include({ orderId: tp!.orderId, execPrice: '40300', closedSize: '0.1', stopOrderType: 'PartialTakeProfit' });
    expect(ex.state().position.side).to.equal('');
  });

  it('sets Partial-mode take profits with tpSize on trading-stop: each closes its own qty; the Partial stop loss shrinks, then is deactivated', async () => {
    // 40000 → 39900 → 40700 → 40650: the way up crosses 40300 (half-way) then 40600 (7/8).
    await setup([[40000, 40700, 39900, 40650]]);
    await marketBuy('0.3', 'pt-entry');
    expect((await rest.setTradingStop({ ...linear, tpslMode: 'Partial', positionIdx: 0, takeProfit: '40300' })).retCode).to.equal(10001); // tpSize required
    await ok(rest.setTradingStop({ ...linear, tpslMode: 'Partial', positionIdx: 0, takeProfit: '40300', tpSize: '0.1', tpTriggerBy: 'LastPrice' }));
    await ok(rest.setTradingStop({ ...linear, tpslMode: 'Partial', positionIdx: 0, takeProfit: '40600', tpSize: '0.2' }));
    expect((await rest.setTradingStop({ ...linear, tpslMode: 'Partial', positionIdx: 0, takeProfit: '40900', tpSize: '0.1' })).retCode).to.equal(110058); // 0.4 > 0.3
    expect((await rest.setTradingStop({ ...linear, tpslMode: 'Partial', positionIdx: 0, takeProfit: '39000', tpSize: '0.1' })).retCode).to.equal(10001); // below the price
    await ok(rest.setTradingStop({ ...linear, tpslMode: 'Partial', positionIdx: 0, stopLoss: '39500', slSize: '0.3' }));
    const open = (await rest.getActiveOrders({ ...linear, orderFilter: 'StopOrder' })).result.list;
    expect(open.map((o) => [o.stopOrderType, o.createType, o.qty, o.triggerPrice, o.tpslMode]).sort()).to.deep.equal([
      ['PartialStopLoss', 'CreateByPartialStopLoss', '0.3', '39500', 'Partial'],
      ['PartialTakeProfit', 'CreateByPartialTakeProfit', '0.1', '40300', 'Partial'],
      ['PartialTakeProfit', 'CreateByPartialTakeProfit', '0.2', '40600', 'Partial'],
    ]);
    const sl = open.find((o) => o.stopOrderType === 'PartialStopLoss')!;

    steps(2);
    await settle('two partial fills', () => items('execution').length === 3);
    const [, first, second] = items('execution');
    expect(first).to.include({ execPrice: '40300', execQty: '0.1', closedSize: '0.1', stopOrderType: 'PartialTakeProfit', createType: 'CreateByPartialTakeProfit', isMaker: false, execTime: String(cross(pt(0, 1), pt(0, 2), 39900, 40700, 40300)) });
    expect(second).to.include({ execPrice: '40600', execQty: '0.2', closedSize: '0.2', stopOrderType: 'PartialTakeProfit', execTime: String(cross(pt(0, 1), pt(0, 2), 39900, 40700, 40600)) });
    // After the first part the stop loss follows the position (0.2 left), then it is deactivated with it.
    expect(items('order').filter((o) => o.orderId === sl.orderId).map((o) => [o.orderStatus, o.qty])).to.deep.equal([['Untriggered', '0.3'], ['Untriggered', '0.2'], ['Deactivated', '0.2']]);
    const pnl = (await rest.getClosedPnL({ ...linear })).result.list.map((c) => c.closedPnl);
    // newest first: 0.2 × 600 − 0.2 × 40000 × 0.00055 − 0.2 × 40600 × 0.00055; 0.1 × 300 − 2.2 − 0.1 × 40300 × 0.00055
    expect(pnl).to.deep.equal(['111.134', '25.5835']);
    expect(ex.state().position.side).to.equal('');
  });

  it('takes reduce-only limit targets as maker, and cancels what is left when the position is gone', async () => {
    await setup([[40000, 40700, 39900, 40650]]);
    await marketBuy('0.2', 'ro-entry');
    for (const [id, price] of [['tgt-1', '40300'], ['tgt-2', '40600']] as const) {
      await ok(rest.submitOrder({ ...linear, side: 'Sell', orderType: 'Limit', qty: '0.1', price, reduceOnly: true, timeInForce: 'GTC', positionIdx: 0, orderLinkId: id }));
    }
    // A buy is not reduce-only on a long (110017); targets hold no order margin.
    expect((await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39000', reduceOnly: true, positionIdx: 0 })).retCode).to.equal(110017);
    expect((await rest.getWalletBalance({ accountType: 'UNIFIED' })).result.list[0]!.coin[0]).to.include({ totalOrderIM: '0' });
    await ok(rest.submitOrder({ ...linear, side: 'Sell', orderType: 'Limit', qty: '0.1', price: '40700', reduceOnly: true, positionIdx: 0, orderLinkId: 'tgt-3' }));
    steps(2);
    await settle('targets', () => items('execution').length === 3);
    const [, a, b] = items('execution');
    expect(a).to.include({ orderLinkId: 'tgt-1', execPrice: '40300', isMaker: true, feeRate: '0.0002', execFee: '0.806', closedSize: '0.1' });
    expect(b).to.include({ orderLinkId: 'tgt-2', execPrice: '40600', isMaker: true, execFee: '0.812', closedSize: '0.1' });
    expect(statuses('tgt-3')).to.deep.equal(['New', 'Cancelled']);
    expect(items('order').filter((o) => o.orderLinkId === 'tgt-3').at(-1)).to.include({ cancelType: 'CancelByReduceOnly' });
  });

  it('amends a resting limit (price, qty, take profit) and a conditional order\'s trigger, by orderLinkId or orderId', async () => {
    // 40000 → 39800 → 40400 → 40100
    await setup([[40000, 40400, 39800, 40100]]);
    const lim = await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39700', positionIdx: 0, orderLinkId: 'am-lim' }));
    await ok(rest.amendOrder({ ...linear, orderLinkId: 'am-lim', price: '39900' }));
    await ok(rest.amendOrder({ ...linear, orderId: lim.result.orderId, qty: '0.2', takeProfit: '40300' }));
    expect((await rest.amendOrder({ ...linear, orderLinkId: 'am-lim', price: '39900' })).retMsg).to.equal('The order remains unchanged as the parameters entered match the existing ones.');
    expect((await rest.amendOrder({ ...linear, orderLinkId: 'nope', price: '39900' })).retCode).to.equal(110001);
    expect((await rest.amendOrder({ ...linear, price: '39900' })).retCode).to.equal(10001);
    expect((await rest.amendOrder({ ...linear, orderLinkId: 'am-lim', takeProfit: '39000' })).retCode).to.equal(10001); // TP below the buy price
    await settle('amend messages', () => statuses('am-lim').length === 3);
    expect(items('order').filter((o) => o.orderLinkId === 'am-lim').map((o) => [o.orderStatus, o.price, o.qty, o.takeProfit])).to.deep.equal([
      ['New', '39700', '0.1', '0'], ['New', '39900', '0.1', '0'], ['New', '39900', '0.2', '40300'],
    ]);
    expect(stream.updates('position').length).to.be.greaterThanOrEqual(3); // a position message for each create/amend

    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.1', triggerPrice: '40500', triggerDirection: 1, positionIdx: 0, orderLinkId: 'am-stop' }));
    expect((await rest.amendOrder({ ...linear, orderLinkId: 'am-stop', triggerPrice: '39900' })).retCode).to.equal(110092);
    await ok(rest.amendOrder({ ...linear, orderLinkId: 'am-stop', triggerPrice: '40300' }));
    expect((await rest.getActiveOrders({ ...linear, orderLinkId: 'am-stop' })).result.list[0]).to.include({ triggerPrice: '40300', orderStatus: 'Untriggered' });

    ex.step(); // 39800: the limit fills at 39900 (0.2)
    // 39800 → 40400: the stop at 40300 and the TP 40300 the limit's fill gave the position are reached at the same
    // point; the older order (the stop) goes first, then the TP closes the whole position (0.2 + 0.1).
    ex.step();
    await settle('fills', () => items('execution').length === 3);
    const execs = items('execution');
    expect(execs.map((e) => [e.orderLinkId, e.execPrice, e.execQty, e.isMaker])).to.deep.equal([
      ['am-lim', '39900', '0.2', true], ['am-stop', '40300', '0.1', false], ['', '40300', '0.3', false],
    ]);
    expect(execs[2]).to.include({ stopOrderType: 'TakeProfit', closedSize: '0.3' });
    expect((await rest.amendOrder({ ...linear, orderLinkId: 'am-lim', price: '39800' })).retCode).to.equal(110001); // filled: no longer amendable
  });

  it('cancels by orderLinkId and orderId (Cancelled / Deactivated), 110001 after, and cancel-all honours orderFilter', async () => {
    await setup([[40000, 40400, 39800, 40100]]);
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39000', positionIdx: 0, orderLinkId: 'c-lim' }));
    const stop = await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.1', triggerPrice: '41000', triggerDirection: 1, positionIdx: 0, orderLinkId: 'c-stop' }));
    await ok(rest.cancelOrder({ ...linear, orderLinkId: 'c-lim' }));
    await ok(rest.cancelOrder({ ...linear, orderId: stop.result.orderId }));
    expect((await rest.cancelOrder({ ...linear, orderLinkId: 'c-lim' })).retCode).to.equal(110001);
    await settle('cancels', () => statuses('c-lim').length === 2 && statuses('c-stop').length === 2);
    expect(statuses('c-lim')).to.deep.equal(['New', 'Cancelled']);
    expect(statuses('c-stop')).to.deep.equal(['Untriggered', 'Deactivated']);
    expect(items('order').filter((o) => o.orderLinkId === 'c-lim').at(-1)).to.include({ cancelType: 'CancelByUser' });

    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39000', positionIdx: 0, orderLinkId: 'c-lim2' }));
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.1', triggerPrice: '41000', triggerDirection: 1, positionIdx: 0, orderLinkId: 'c-stop2' }));
    const r = await ok(rest.cancelAllOrders({ ...linear, orderFilter: 'StopOrder' }));
    expect(r.result.list.map((o) => o.orderLinkId)).to.deep.equal(['c-stop2']);
    expect((await rest.getActiveOrders({ ...linear })).result.list.map((o) => o.orderLinkId)).to.deep.equal(['c-lim2']);
  });

  it('order/realtime lists open orders (untriggered conditional and TP/SL included), openOnly=1 the closed ones; order/history all', async () => {
    await setup([[40000, 40400, 39800, 40100]]);
    await marketBuy('0.1', 'rt-entry');
    await ok(rest.setTradingStop({ ...linear, tpslMode: 'Full', positionIdx: 0, stopLoss: '39000', trailingStop: '500' }));
    await ok(rest.submitOrder({ ...linear, side: 'Sell', orderType: 'Limit', qty: '0.1', price: '41000', reduceOnly: true, positionIdx: 0, orderLinkId: 'rt-tgt' }));
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.1', triggerPrice: '41500', triggerDirection: 1, positionIdx: 0, orderLinkId: 'rt-stop' }));
    await ok(rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.1', price: '38000', positionIdx: 0, orderLinkId: 'rt-gone' }));
    await ok(rest.cancelOrder({ ...linear, orderLinkId: 'rt-gone' }));

    const open = (await rest.getActiveOrders({ ...linear, openOnly: 0 })).result.list;
    // Newest first: the conditional order, the target, then the trailing stop and stop loss of trading-stop.
    expect(open.map((o) => [o.orderLinkId, o.orderStatus, o.stopOrderType])).to.deep.equal([
      ['rt-stop', 'Untriggered', 'Stop'], ['rt-tgt', 'New', ''], ['', 'Untriggered', 'TrailingStop'], ['', 'Untriggered', 'StopLoss'],
    ]);
    expect(open.find((o) => o.stopOrderType === 'TrailingStop')).to.include({ triggerPrice: '39500' }); // active at once: 40000 − 500
    const closed = (await rest.getActiveOrders({ ...linear, openOnly: 1 })).result.list;
    expect(closed.map((o) => [o.orderLinkId, o.orderStatus])).to.deep.equal([['rt-gone', 'Cancelled'], ['rt-entry', 'Filled']]);
    expect((await rest.getActiveOrders({ ...linear, orderFilter: 'Order' })).result.list.map((o) => o.orderLinkId)).to.deep.equal(['rt-tgt']);
    expect((await rest.getActiveOrders({ ...linear, orderLinkId: 'rt-entry' })).result.list[0]).to.include({ orderStatus: 'Filled', avgPrice: '40000' }); // any state by id
    const history = (await ok(rest.getHistoricOrders({ ...linear }))).result.list;
    expect(history).to.have.length(6);
    expect((await rest.getHistoricOrders({ ...linear, orderStatus: 'Cancelled' })).result.list.map((o) => o.orderLinkId)).to.deep.equal(['rt-gone']);
  });
});
