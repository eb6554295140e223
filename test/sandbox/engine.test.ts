import { expect } from 'chai';
import { D, dec } from '../../lib/core/money.ts';
import { EngineError, MatchingEngine, type PrivateTopic } from '../../lib/sandbox/engine.ts';
import { makeInstrument } from '../../lib/sandbox/instrument.ts';

/** A market the test moves by hand. */
class FakeMarket {
  constructor(public t = 1_700_000_000_000, public p = 40000) {}
  now(): number {
    return this.t;
  }
  price(): number {
    return this.p;
  }
  /** Moves within a candle (gap false) or across candles (gap true), telling the engine. */
  move(engine: MatchingEngine, p: number, dt = 300_000, gap = false): void {
    const from = { time: this.t, price: this.p };
    this.t += dt;
    this.p = p;
    engine.onPriceMove(from, { time: this.t, price: p }, gap);
  }
}

function setup(balance = 10000): { m: FakeMarket; e: MatchingEngine; msgs: Array<[PrivateTopic, Record<string, unknown>[]]> } {
  const m = new FakeMarket();
  const e = new MatchingEngine(m, { instrument: makeInstrument('BTCUSDT'), category: 'linear', balance: dec(balance) });
  const msgs: Array<[PrivateTopic, Record<string, unknown>[]]> = [];
  e.onMessage((topic, data) => msgs.push([topic, data]));
  return { m, e, msgs };
}

function rejects(fn: () => unknown, retCode: number): EngineError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(EngineError);
    expect((err as EngineError).retCode, (err as EngineError).retMsg).to.equal(retCode);
    return err as EngineError;
  }
  throw new Error(`expected retCode ${retCode}, nothing thrown`);
}

describe('sandbox matching engine', () => {
  it('fills a market buy at the replay price, charges the 0.055% taker fee, and reports order, execution, position, wallet', () => {
    const { e, msgs } = setup();
    const ack = e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.010', orderLinkId: 'entry-1', positionIdx: 0 });
    expect(ack.orderLinkId).to.equal('entry-1');
    expect(msgs.map(([t]) => t)).to.deep.equal(['order', 'execution', 'position', 'wallet']);
    const order = msgs[0]![1][0]!;
    expect(order).to.include({ orderId: ack.orderId, orderStatus: 'Filled', avgPrice: '40000', cumExecQty: '0.01', createType: 'CreateByUser', category: 'linear' });
    const exec = msgs[1]![1][0]!;
    const fee = new D('0.01').mul(40000).mul('0.00055'); // 0.22
    expect(exec).to.include({ execPrice: '40000', execQty: '0.01', execFee: fee.toFixed(), execType: 'Trade', closedSize: '0', isMaker: false, orderLinkId: 'entry-1' });
    expect(msgs[2]![1][0]).to.include({ side: 'Buy', size: '0.01', entryPrice: '40000', curRealisedPnl: fee.neg().toFixed() });
    expect(msgs[3]![1][0]).to.include({ totalWalletBalance: new D(10000).minus(fee).toFixed() });
  });

  it('enforces qty rules: below minimum and off-step (10001), below min notional (110094), above max market qty', () => {
    const { e } = setup();
    expect(rejects(() => e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.0005' }), 10001).retMsg).to.match(/minimum limit/);
    expect(rejects(() => e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.0015' }), 10001).retMsg).to.match(/qty err/);
    const cheap = setup();
    cheap.m.p = 3000; // 0.001 × 3000 = 3 USDT < 5
    rejects(() => cheap.e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.001' }), 110094);
    rejects(() => e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '501' }), 10001);
    rejects(() => e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.01', positionIdx: 1 }), 10001);
  });

  it('rejects reduce-only orders with no position or on the position side (110017), and clips them to the size', () => {
    const { e } = setup();
    rejects(() => e.placeOrder({ side: 'Sell', orderType: 'Market', qty: '0.01', reduceOnly: true }), 110017);
    e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.01' });
    rejects(() => e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.01', reduceOnly: true }), 110017);
    e.placeOrder({ side: 'Sell', orderType: 'Market', qty: '0.05', reduceOnly: true });
    expect(e.summary().position.side).to.equal('');
  });

  it('checks available balance against notional / leverage plus the opening fee (110007), and set-leverage changes it', () => {
    const { e } = setup(1000);
    // 0.25 BTC × 40000 = 10000 notional: 1000 IM at 10x + 5.5 fee > 1000
    rejects(() => e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.25' }), 110007);
    e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.24' }); // 960 IM + 5.28 fee
    rejects(() => e.setLeverage('10', '10'), 110043);
    rejects(() => e.setLeverage('5', '5'), 110044); // 1920 IM would exceed equity
    e.setLeverage('20', '20');
    expect(e.summary().available.toFixed()).to.equal(new D(1000).minus(new D('0.24').mul(40000).mul('0.00055')).minus(480).toFixed());
  });

  it('closes a long at the take profit inside the candle: fill at the TP price, PnL net of both fees, closed-PnL record', () => {
    const { m, e, msgs } = setup();
    e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.1', takeProfit: '40500', stopLoss: '39500' });
    expect(e.orderViews({}).map((o) => o.stopOrderType).sort()).to.deep.equal(['StopLoss', 'TakeProfit']);
    msgs.length = 0;
    m.move(e, 40200);
    expect(msgs).to.have.length(0);
    m.move(e, 40800); // crosses 40500 on the way up
    expect(msgs.map(([t]) => t)).to.deep.equal(['order', 'execution', 'position', 'wallet']);
    const orders = msgs[0]![1];
    expect(orders.find((o) => o.stopOrderType === 'TakeProfit')).to.include({ orderStatus: 'Filled', createType: 'CreateByTakeProfit', side: 'Sell', qty: '0.1' });
    expect(orders.find((o) => o.stopOrderType === 'StopLoss')).to.include({ orderStatus: 'Deactivated' });
    const exec = msgs[1]![1][0]!;
    expect(exec).to.include({ execPrice: '40500', closedSize: '0.1', createType: 'CreateByTakeProfit', stopOrderType: 'TakeProfit' });
    // Crossing time interpolated: 300/600 of the way from 40200 to 40800.
    expect(Number(exec.execTime)).to.equal(m.t - 300_000 + 150_000);
    const openFee = new D('0.1').mul(40000).mul('0.00055');
    const closeFee = new D('0.1').mul(40500).mul('0.00055');
    const pnl = new D('0.1').mul(500);
    expect(msgs[2]![1][0]).to.include({ side: '', size: '0', takeProfit: '0', stopLoss: '0', curRealisedPnl: pnl.minus(openFee).minus(closeFee).toFixed() });
    expect(e.summary().balance.toFixed()).to.equal(new D(10000).plus(pnl).minus(openFee).minus(closeFee).toFixed());
    const [closed] = e.closedPnlViews({});
    expect(closed).to.include({ side: 'Sell', closedSize: '0.1', avgEntryPrice: '40000', avgExitPrice: '40500', closedPnl: pnl.minus(openFee).minus(closeFee).toFixed(), openFee: openFee.toFixed(), closeFee: closeFee.toFixed() });
    expect(e.orderViews({})).to.deep.equal([]);
  });

  it('fills a stop loss jumped over by a gap at the next open, not at the stop price', () => {
    const { m, e } = setup();
    e.placeOrder({ side: 'Sell', orderType: 'Market', qty: '0.1', stopLoss: '40300' });
    m.move(e, 40600, 1, true);
    const [exec] = e.executionViews({ execType: 'Trade' });
    expect(exec).to.include({ execPrice: '40600', createType: 'CreateByStopLoss', side: 'Buy' });
    expect(e.summary().position.side).to.equal('');
  });

  it('rejects TP/SL on the wrong side of the price (10001); trading-stop sets, replaces, cancels, and answers 34040', () => {
    const { e } = setup();
    rejects(() => e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.1', takeProfit: '39000' }), 10001);
    rejects(() => e.setTradingStop({ tpslMode: 'Full', positionIdx: 0, takeProfit: '41000' }), 10001); // no position
    e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.1' });
    e.setTradingStop({ tpslMode: 'Full', positionIdx: 0, takeProfit: '41000', stopLoss: '39000' });
    rejects(() => e.setTradingStop({ tpslMode: 'Full', positionIdx: 0, takeProfit: '41000' }), 34040);
    e.setTradingStop({ tpslMode: 'Full', positionIdx: 0, takeProfit: '42000' });
    let open = e.orderViews({});
    expect(open.map((o) => [o.stopOrderType, o.triggerPrice]).sort()).to.deep.equal([['StopLoss', '39000'], ['TakeProfit', '42000']]);
    e.setTradingStop({ tpslMode: 'Full', positionIdx: 0, stopLoss: '0' });
    open = e.orderViews({});
    expect(open.map((o) => o.stopOrderType)).to.deep.equal(['TakeProfit']);
    expect(e.positionView()).to.include({ takeProfit: '42000', stopLoss: '0' });
    expect(e.cancelAll().map((o) => o.orderId)).to.deep.equal([open[0]!.orderId]);
    expect(e.positionView()).to.include({ takeProfit: '0' });
  });

  it('flips a position, averages entries, and rests limit orders that fill as maker when the path reaches them', () => {
    const { m, e } = setup();
    e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.1' });
    m.p = 40200;
    e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.1' });
    expect(e.positionView()).to.include({ size: '0.2', avgPrice: '40100' });
    e.placeOrder({ side: 'Sell', orderType: 'Market', qty: '0.3' });
    expect(e.positionView()).to.include({ side: 'Sell', size: '0.1', avgPrice: '40200' });
    const ack = e.placeOrder({ side: 'Buy', orderType: 'Limit', qty: '0.1', price: '40000', reduceOnly: true });
    expect(e.orderViews({ orderId: ack.orderId })[0]).to.include({ orderStatus: 'New', price: '40000' });
    m.move(e, 39900);
    const [exec] = e.executionViews({ orderId: ack.orderId });
    expect(exec).to.include({ execPrice: '40000', isMaker: true, feeRate: '0.0002', closedSize: '0.1' });
    expect(e.summary().position.side).to.equal('');
    const ioc = e.placeOrder({ side: 'Buy', orderType: 'Limit', qty: '0.1', price: '39000', timeInForce: 'IOC' });
    expect(e.orderViews({ orderId: ioc.orderId })[0]).to.include({ orderStatus: 'Cancelled', rejectReason: 'EC_NoImmediateQtyToFill' });
    e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.1', orderLinkId: 'dup' });
    rejects(() => e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.1', orderLinkId: 'dup' }), 110072);
  });

  it('settles funding: a long pays size × mark × rate when the rate is positive', () => {
    const { m, e, msgs } = setup();
    e.placeOrder({ side: 'Buy', orderType: 'Market', qty: '0.5' });
    const before = e.summary().balance;
    msgs.length = 0;
    e.settleFunding(dec('0.0001'), m.t, 41000);
    expect(msgs.map(([t]) => t)).to.deep.equal(['execution', 'position', 'wallet']);
    expect(msgs[0]![1][0]).to.include({ execType: 'Funding', execFee: '2.05', feeRate: '0.0001' });
    expect(e.summary().balance.toFixed()).to.equal(before.minus('2.05').toFixed());
    expect(e.executionViews({ execType: 'Trade' })).to.have.length(1);
  });
});
