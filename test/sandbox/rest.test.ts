import http from 'node:http';
import { expect } from 'chai';
import type { RestClientV5 } from 'bybit-api';
import { readFundingFile } from '../../lib/data/store.ts';
import { D } from '../../lib/core/money.ts';
import { type Sandbox, fundingRows, hmacHex, startSandbox } from '../../lib/sandbox/index.ts';
import { M15, T0, historyRows, restClient, sampleFunding, tinySeries } from './helpers.ts';

const SYMBOL = 'BTCUSDT';
const linear = { category: 'linear' as const, symbol: SYMBOL };

/** Sends a raw GET and returns status, headers and the parsed body. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

describe('sandbox REST through the bybit-api SDK', function () {
  this.timeout(20000);
  let ex: Sandbox;
  let rest: RestClientV5;
  // 10 candles of history, then a candle where the replay starts: 40000 → low 39800 → high 40400 → 40100.
  const rows = [...historyRows(10).map(([o, h, l, c]) => [o * 400, h * 400, l * 400, c * 400] as [number, number, number, number]), [40000, 40400, 39800, 40100] as [number, number, number, number], [40100, 40200, 40000, 40150] as [number, number, number, number]];
  const start = T0 + 10 * M15;

  beforeEach(async () => {
    const { times, rates } = await readFundingFile(sampleFunding);
    // Shift the real funding history (the sample's, from 2024-07-01) onto the tiny series' dates, 2024-07-04
    // 00:00 onto T0; keep the settlements up to T0+8h.
    const shift = T0 - Date.UTC(2024, 6, 4);
    const funding = fundingRows({ times, rates })
      .map((r) => ({ ...r, time: r.time + shift }))
      .filter((r) => r.time <= Date.UTC(2024, 0, 1, 8));
    ex = await startSandbox({ series: tinySeries(rows), interval: '15', symbol: SYMBOL, startTime: start, balance: 10000, funding });
    rest = restClient(ex);
  });
  afterEach(async () => {
    await ex.stop();
  });

  describe('public endpoints', () => {
    it('market/time answers the wall clock in result and envelope (the SDK time sync reads it)', async () => {
      const before = Date.now();
      const r = await rest.getServerTime();
      expect(r.retCode).to.equal(0);
      expect(Number(r.time)).to.be.within(before, Date.now());
      expect(Number(r.result.timeSecond)).to.equal(Math.floor(Number(r.time) / 1000));
      const seconds = await rest.fetchServerTime();
      expect(seconds * 1000).to.be.within(before - 1000, Date.now() + 1000);
    });

    it('kline: newest first, the open candle first with its close at the replay price, never after the clock', async () => {
      let r = await rest.getKline({ ...linear, interval: '15' });
      expect(r.retCode).to.equal(0);
      expect(r.result.list).to.have.length(11);
      expect(r.result.list[0]).to.deep.equal([String(start), '40000', '40000', '40000', '40000', '0', '0']);
      expect(r.result.list[1]![0]).to.equal(String(start - M15));
      expect(r.result.list.every((k) => k.every((v) => typeof v === 'string'))).to.equal(true);
      ex.advanceTo(start + M15 / 3);
      r = await rest.getKline({ ...linear, interval: '15', limit: 2 });
      expect(r.result.list.map((k) => k.slice(0, 5))).to.deep.equal([
        [String(start), '40000', '40000', '39800', '39800'],
        [String(start - M15), '40000', '40800', '39600', '40400'],
      ]);
      r = await rest.getKline({ ...linear, interval: '15', start: T0 + M15, end: T0 + 3 * M15 });
      expect(r.result.list.map((k) => Number(k[0]))).to.deep.equal([T0 + 3 * M15, T0 + 2 * M15, T0 + M15]);
      const bad = await rest.getKline({ ...linear, interval: '5' });
      expect(bad.retCode).to.equal(10001);
    });

    it('instruments-info carries the lot size, price and leverage filters', async () => {
      const r = await rest.getInstrumentsInfo({ ...linear });
      const item = r.result.list[0]!;
      expect(item).to.include({ symbol: SYMBOL, contractType: 'LinearPerpetual', status: 'Trading', settleCoin: 'USDT' });
      expect(item.lotSizeFilter).to.include({ minOrderQty: '0.001', qtyStep: '0.001', maxMktOrderQty: '500.000', minNotionalValue: '5' });
      expect(item.priceFilter).to.include({ tickSize: '0.10' });
      expect(item.leverageFilter).to.include({ minLeverage: '1', maxLeverage: '100.00' });
    });

    it('tickers: last, mark and index price follow the replay', async () => {
      ex.advanceTo(start + (2 * M15) / 3);
      const r = await rest.getTickers({ ...linear });
      const t = r.result.list[0]!;
      expect(t).to.include({ symbol: SYMBOL, lastPrice: '40400', markPrice: '40400', indexPrice: '40400', highPrice24h: '41600' });
      expect(Number(t.nextFundingTime) % (8 * 3_600_000)).to.equal(0);
    });

    it('funding/history serves the real funding rows already settled, newest first, with startTime/endTime/limit', async () => {
      let r = await rest.getFundingRateHistory({ ...linear });
      expect(r.retCode).to.equal(0);
      const times = r.result.list.map((x) => Number(x.fundingRateTimestamp));
      expect(times[0]).to.equal(T0); // 2024-01-01 00:00 is before the replay clock, 08:00 is not
      expect(times).to.deep.equal([...times].sort((a, b) => b - a));
      expect(r.result.list[0]).to.have.keys(['symbol', 'fundingRate', 'fundingRateTimestamp']);
      r = await rest.getFundingRateHistory({ ...linear, startTime: T0 - 16 * 3_600_000, endTime: T0 - 8 * 3_600_000 });
      expect(r.result.list.map((x) => Number(x.fundingRateTimestamp))).to.deep.equal([T0 - 8 * 3_600_000, T0 - 16 * 3_600_000]);
      r = await rest.getFundingRateHistory({ ...linear, limit: 3 });
      expect(r.result.list).to.have.length(3);
    });
  });

  describe('signed endpoints', () => {
    it('trades through every signed endpoint, with the rate-limit headers on each', async () => {
      const lev = await rest.setLeverage({ ...linear, buyLeverage: '5', sellLeverage: '5' });
      expect(lev).to.include({ retCode: 0 });
      expect(lev.rateLimitApi).to.include({ maxRequests: 10, remainingRequests: 9 });
      expect((await rest.setLeverage({ ...linear, buyLeverage: '5', sellLeverage: '5' })).retCode).to.equal(110043);

      const order = await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.05', positionIdx: 0, orderLinkId: 'pyr-entry-1' });
      expect(order.retCode, order.retMsg).to.equal(0);
      expect(order.result.orderLinkId).to.equal('pyr-entry-1');
      expect((await rest.setTradingStop({ ...linear, tpslMode: 'Full', positionIdx: 0, takeProfit: '41000', stopLoss: '39000' })).retCode).to.equal(0);

      const pos = await rest.getPositionInfo({ ...linear });
      expect(pos.rateLimitApi).to.include({ maxRequests: 50 });
      expect(pos.result.list[0]).to.include({ side: 'Buy', size: '0.05', avgPrice: '40000', leverage: '5', takeProfit: '41000', stopLoss: '39000', positionIdx: 0 });
      expect((await rest.getPositionInfo({ category: 'linear', settleCoin: 'USDT' })).result.list).to.have.length(1);

      const open = await rest.getActiveOrders({ ...linear });
      expect(open.result.list.map((o) => o.stopOrderType).sort()).to.deep.equal(['StopLoss', 'TakeProfit']);
      const byLink = await rest.getActiveOrders({ ...linear, orderLinkId: 'pyr-entry-1' });
      expect(byLink.result.list[0]).to.include({ orderStatus: 'Filled', avgPrice: '40000', cumExecQty: '0.05' });

      const execs = await rest.getExecutionList({ ...linear });
      expect(execs.result.list[0]).to.include({ orderLinkId: 'pyr-entry-1', execPrice: '40000', execQty: '0.05', execType: 'Trade' });
      const fee = new D('0.05').mul(40000).mul('0.00055');
      expect(execs.result.list[0]!.execFee).to.equal(fee.toFixed());

      const wallet = await rest.getWalletBalance({ accountType: 'UNIFIED', coin: 'USDT' });
      const coin = wallet.result.list[0]!.coin[0]!;
      expect(coin.walletBalance).to.equal(new D(10000).minus(fee).toFixed());
      expect(coin.totalPositionIM).to.equal('400'); // 2000 notional at 5x
      expect(wallet.result.list[0]!.totalAvailableBalance).to.equal(new D(10000).minus(fee).minus(400).toFixed());

      const limit = await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Limit', qty: '0.01', price: '39000', orderLinkId: 'resting-1' });
      expect((await rest.getActiveOrders({ ...linear, orderLinkId: 'resting-1' })).result.list[0]).to.include({ orderStatus: 'New', price: '39000' });
      expect((await rest.cancelOrder({ ...linear, orderLinkId: 'resting-1' })).result).to.deep.equal({ orderId: limit.result.orderId, orderLinkId: 'resting-1' });
      expect((await rest.cancelOrder({ ...linear, orderLinkId: 'resting-1' })).retCode).to.equal(110001);

      const cancelled = await rest.cancelAllOrders({ ...linear });
      expect(cancelled.result.list).to.have.length(2);
      expect((await rest.getPositionInfo({ ...linear })).result.list[0]).to.include({ takeProfit: '0', stopLoss: '0' });

      const close = await rest.submitOrder({ ...linear, side: 'Sell', orderType: 'Market', qty: '0.05', reduceOnly: true, positionIdx: 0 });
      expect(close.retCode).to.equal(0);
      const closed = await rest.getClosedPnL({ ...linear });
      expect(closed.result.list[0]).to.include({ side: 'Sell', closedSize: '0.05', avgEntryPrice: '40000', avgExitPrice: '40000', closedPnl: fee.mul(2).neg().toFixed() });
      expect((await rest.getPositionInfo({ ...linear })).result.list[0]).to.include({ side: '', size: '0' });
    });

    it('rejects a reduce-only order without a position (110017), below min qty (10001), and beyond the balance (110007)', async () => {
      const ro = await rest.submitOrder({ ...linear, side: 'Sell', orderType: 'Market', qty: '0.01', reduceOnly: true });
      expect(ro).to.include({ retCode: 110017, retMsg: 'Reduce-only rule not satisfied' });
      expect(ro.result).to.deep.equal({});
      const small = await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.0001' });
      expect(small.retCode).to.equal(10001);
      const big = await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '3' }); // 120000 notional, 12000 IM
      expect(big).to.include({ retCode: 110007 });
      expect((await rest.getExecutionList({ ...linear })).result.list).to.have.length(0);
    });

    it('answers a bad signature with 10004, an unknown key with 10003, an expired timestamp with 10002', async () => {
      const badSig = await restClient(ex, { secret: 'not-the-secret' }).getPositionInfo({ ...linear });
      expect(badSig.retCode).to.equal(10004);
      expect(badSig.retMsg).to.match(/^error sign! origin_string\[\d+/);
      const unknown = await restClient(ex, { key: 'UNKNOWNKEY', secret: 'x' }).getWalletBalance({ accountType: 'UNIFIED' });
      expect(unknown).to.include({ retCode: 10003, retMsg: 'API key is invalid.' });
      // The server's clock runs 10 s ahead: the SDK's timestamps fall outside the 5 s recv_window.
      ex.faults.clockSkew(10_000);
      const expired = await rest.getPositionInfo({ ...linear });
      expect(expired.retCode).to.equal(10002);
      expect(expired.retMsg).to.match(/recv_window\[5000\]/);
      // ...and a client that syncs its clock with market/time first is accepted again.
      const synced = await restClient(ex, { syncTimeBeforePrivateRequests: true }).getPositionInfo({ ...linear });
      expect(synced.retCode).to.equal(0);
    });

    it('signs over the raw query string: a re-ordered query with the same values fails', async () => {
      const ts = String(Date.now());
      const query = 'category=linear&symbol=BTCUSDT';
      const sign = hmacHex(ex.apiSecret, ts + ex.apiKey + '5000' + query);
      const headers = { 'X-BAPI-API-KEY': ex.apiKey, 'X-BAPI-TIMESTAMP': ts, 'X-BAPI-SIGN': sign, 'X-BAPI-RECV-WINDOW': '5000' };
      const ok = await rawGet(`${ex.restUrl}/v5/position/list?${query}`, headers);
      expect(JSON.parse(ok.body).retCode).to.equal(0);
      expect(ok.headers['x-bapi-limit']).to.equal('50');
      const swapped = await rawGet(`${ex.restUrl}/v5/position/list?symbol=BTCUSDT&category=linear`, headers);
      expect(JSON.parse(swapped.body).retCode).to.equal(10004);
      expect((await rawGet(`${ex.restUrl}/v5/nope`)).status).to.equal(404);
    });
  });

  describe('faults and limits', () => {
    it('answers 10006 "Too many visits!" for the next N requests, with rate-limit headers at 0', async () => {
      ex.faults.rateLimit(2);
      const a = await rest.getPositionInfo({ ...linear });
      expect(a).to.include({ retCode: 10006, retMsg: 'Too many visits!' });
      expect(a.rateLimitApi).to.include({ remainingRequests: 0 });
      expect((await rest.getKline({ ...linear, interval: '15' })).retCode).to.equal(10006);
      expect((await rest.getPositionInfo({ ...linear })).retCode).to.equal(0);
    });

    it('enforces the real per-endpoint limit: the 11th set-leverage in one second gets 10006', async () => {
      const codes: number[] = [];
      for (let i = 0; i < 11; i++) codes.push((await rest.setLeverage({ ...linear, buyLeverage: String(2 + i), sellLeverage: String(2 + i) })).retCode);
      expect(codes.slice(0, 10)).to.deep.equal(Array(10).fill(0));
      expect(codes[10]).to.equal(10006);
    });

    it('answers HTTP 5xx for the next N requests; the SDK rejects with the status code', async () => {
      ex.faults.serverError(1, 502);
      let err: unknown;
      try {
        await rest.getTickers({ ...linear });
      } catch (e) {
        err = e;
      }
      expect(err).to.include({ code: 502 });
      expect((await rest.getTickers({ ...linear })).retCode).to.equal(0);
    });

    it('refuses requests (socket destroyed), delays them, and rejects the next order with a chosen retCode', async () => {
      ex.faults.refuseRest(1);
      let err: unknown;
      try {
        await rest.getServerTime();
      } catch (e) {
        err = e;
      }
      expect(String(err)).to.match(/socket hang up|ECONNRESET/);
      ex.faults.delayRest(150);
      const t = Date.now();
      expect((await rest.getServerTime()).retCode).to.equal(0);
      expect(Date.now() - t).to.be.at.least(140);
      ex.faults.delayRest(0);
      ex.faults.rejectNextOrder(10016, 'Server error');
      expect(await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.01' })).to.include({ retCode: 10016, retMsg: 'Server error' });
      expect((await rest.submitOrder({ ...linear, side: 'Buy', orderType: 'Market', qty: '0.01' })).retCode).to.equal(0);
    });
  });
});
