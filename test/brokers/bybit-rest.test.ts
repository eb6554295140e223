/**
 * BybitRest, the one Bybit REST client (lib/brokers/bybit/client.ts), against the local exchange through
 * the real SDK: Bybit's per-key 1-second windows and X-Bapi-Limit headers, 10006, the HTTP 403 IP ban,
 * authentication errors, clock skew (10002), priorities, `stillValid` and the attempt number. No test
 * asserts on elapsed wall time except lower bounds ("waited until the reset"); everything else waits for
 * events (the client's hooks, the exchange's answers).
 */
import { expect } from 'chai';
import { BybitRest, type BybitRestOptions, type RetryPolicy } from '../../lib/brokers/bybit/index.ts';
import { ExchangeAuthError, ExchangeBannedError, ExchangeError, InterruptedError, isAuthError } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { type Sandbox, startSandbox } from '../../lib/sandbox/index.ts';
import { SAMPLE_15M } from '../helpers.ts';

interface Sent {
  readonly what: string;
  readonly attempt: number;
  readonly at: number;
}

describe('BybitRest: one REST client for the broker, the feed and the downloader', function () {
  this.timeout(60_000);
  let ex: Sandbox;
  let seq = 0;
  const link = (): string => `rt${Date.now().toString(36)}${(seq++).toString(36)}`;

  before(async () => {
    const { series } = await readCandleFile(SAMPLE_15M);
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: Date.UTC(2024, 7, 5), balance: 10000 });
  });
  after(async () => {
    await ex?.stop();
  });
  beforeEach(() => ex.faults.clear());

  /** A client on the exchange's key that records every try it sends and every retry it announces. */
  function client(opts: BybitRestOptions & { policy?: RetryPolicy; key?: string; secret?: string; recvWindowMs?: number } = {}) {
    const sent: Sent[] = [];
    const retries: Array<{ what: string; attempt: number; reason: string; waitMs: number; at: number }> = [];
    const rest = new BybitRest(
      { env: 'testnet', key: opts.key ?? ex.apiKey, secret: opts.secret ?? ex.apiSecret, restUrl: ex.restUrl, recvWindowMs: opts.recvWindowMs },
      opts.policy ?? { retries: 3, backoffFactor: 0.01 },
      {
        ...opts,
        onRequest: (what, attempt) => sent.push({ what, attempt, at: Date.now() }),
        onRetry: (what, attempt, reason, waitMs) => retries.push({ what, attempt, reason, waitMs, at: Date.now() }),
      },
    );
    return { rest, sent, retries };
  }
  const buy = (rest: BybitRest, orderLinkId = link()) =>
    rest.call('order/create', (c) => c.submitOrder({ category: 'linear', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Market', qty: '0.001', positionIdx: 0, orderLinkId }) as never);
  const positions = (rest: BybitRest) => rest.call('position/list', (c) => c.getPositionInfo({ category: 'linear', symbol: 'BTCUSDT' }) as never);
  const kline = (rest: BybitRest) => rest.call('market/kline', (c) => c.getKline({ category: 'linear', symbol: 'BTCUSDT', interval: '15', limit: 2 }) as never);
  const tickers = (rest: BybitRest) => rest.call('market/tickers', (c) => c.getTickers({ category: 'linear', symbol: 'BTCUSDT' }) as never);
  /** The exchange's record of an order, found by its orderLinkId in any state. */
  const orderByLink = async (rest: BybitRest, orderLinkId: string): Promise<unknown[]> => {
    const { result } = await rest.call('order/realtime', (c) => c.getActiveOrders({ category: 'linear', symbol: 'BTCUSDT', orderLinkId }) as never);
    return (result as { list: unknown[] }).list;
  };
  async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
      await p;
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a rejection');
  }

  describe('rate limits (X-Bapi-Limit headers, 10/s on order/create)', () => {
    it('12 order/create calls one after another all succeed: a spent window (status 0) holds the next one until it resets, no 10006', async () => {
      const { rest, sent, retries } = client();
      await ex.rateRoom('/v5/order/create', 10);
      const statuses: Array<number | undefined> = [];
      const answered: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await buy(rest);
        expect((r.result as { orderId?: string }).orderId).to.be.a('string');
        answered.push(Date.now());
        statuses.push(rest.limitOf('order/create')?.remaining);
      }
      expect(retries, 'no try was refused').to.deep.equal([]);
      expect(sent.filter((s) => s.what === 'order/create')).to.have.length(12);
      expect(rest.limitOf('order/create')?.limit).to.equal(10);
      // When the 10th answer said the window was spent (the usual case; a slow machine may straddle two
      // windows), the 11th was held for one whole window after it.
      if (statuses[9] === 0) expect(sent[10]!.at - answered[9]!).to.be.at.least(1000);
    });

    it('a burst of 15 order/create calls at once all succeed: those answered 10006 wait for the reset timestamp and go again', async () => {
      const { rest, sent, retries } = client();
      await ex.rateRoom('/v5/order/create', 10);
      const links = Array.from({ length: 15 }, () => link());
      const results = await Promise.allSettled(links.map((l) => buy(rest, l)));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).to.deep.equal([]);
      // Every retry was announced with the wait until the reset, and sent no earlier than that.
      const again = sent.filter((s) => s.attempt > 0);
      expect(again.length).to.equal(retries.length);
      for (const r of retries) {
        expect(r.reason).to.match(/retCode 10006/);
        expect(r.waitMs).to.be.above(0);
      }
      const firstRetry = retries[0];
      if (firstRetry) expect(again[0]!.at).to.be.at.least(firstRetry.at + firstRetry.waitMs - 1);
      for (const l of links) expect(await orderByLink(rest, l)).to.have.length(1);
    });

    it('10006 waits until the reset timestamp (rate limits use no retries), while other endpoints go on', async () => {
      const { rest, sent, retries } = client({ policy: { retries: 0, backoffFactor: 0.01 } }); // no backoff retries at all
      await ex.rateRoom('/v5/order/create', 2); // the burst above may have left this key's window full
      ex.faults.rateLimit(1, '/v5/order/create', 800); // the window resets 800 ms after the 10006
      let readSent: Promise<unknown> | undefined;
      rest.onRetry = (what, attempt, reason, waitMs) => {
        retries.push({ what, attempt, reason, waitMs, at: Date.now() });
        readSent = positions(rest); // during the wait: another endpoint is not held
      };
      await buy(rest);
      await readSent;
      const orders = sent.filter((s) => s.what === 'order/create');
      expect(orders.map((s) => s.attempt)).to.deep.equal([0, 1]);
      expect(retries).to.have.length(1);
      expect(retries[0]!.reason).to.equal('retCode 10006: Too many visits!');
      expect(retries[0]!.waitMs).to.be.at.least(790);
      expect(orders[1]!.at - orders[0]!.at, 'waited until the reset').to.be.at.least(800);
      expect(sent.map((s) => s.what)).to.deep.equal(['order/create', 'position/list', 'order/create']);
    });

    it('a 10006 without the headers (a public endpoint) falls back to the backoff', async () => {
      const { rest, sent, retries } = client({ policy: { retries: 3, backoffFactor: 0.01 } });
      ex.faults.rateLimit(1, '/v5/market/tickers');
      await tickers(rest);
      expect(sent.map((s) => s.attempt)).to.deep.equal([0, 1]);
      expect(retries.map((r) => r.waitMs)).to.deep.equal([10]);
    });
  });

  describe('HTTP 403 (an IP ban)', () => {
    it('pauses every request of the client and alerts; not retried (no 3.5 s backoff); after the pause requests go on, orders first', async () => {
      const alerts: string[] = [];
      // The seed's policy: 3 retries after 0.5, 1 and 2 s (3.5 s) — none of them is used on a 403.
      const { rest, sent, retries } = client({ policy: { retries: 3, backoffFactor: 0.5 }, banPauseMs: 600, onAlert: (m) => alerts.push(m) });
      await ex.rateRoom('/v5/order/create', 1);
      ex.faults.ipBan(300); // Bybit bans for ~10 minutes; the client's pause (here 600 ms) outlasts the ban
      const err = await rejection(kline(rest));
      expect(err).to.be.instanceOf(ExchangeBannedError);
      expect(err.message).to.match(/^market\/kline failed: HTTP 403 .*not retried: requests to Bybit are paused until /);
      expect((err as ExchangeError).retryable).to.equal(false);
      expect(retries).to.deep.equal([]);
      expect(alerts).to.have.length(1);
      expect(alerts[0]).to.match(/HTTP 403 to market\/kline.*every request is paused/);
      const pausedUntil = rest.pausedUntil;
      expect(pausedUntil).to.be.above(Date.now());

      // Queued during the pause: market data first, the order last.
      const n0 = sent.length;
      const done = await Promise.all([tickers(rest), kline(rest), positions(rest), buy(rest)]);
      expect(done).to.have.length(4);
      const after = sent.slice(n0);
      expect(after.map((s) => s.what)).to.deep.equal(['order/create', 'position/list', 'market/tickers', 'market/kline']);
      for (const s of after) expect(s.at, `${s.what} waited for the pause`).to.be.at.least(pausedUntil);
      expect(sent.filter((s) => s.what === 'market/kline').map((s) => s.attempt)).to.deep.equal([0, 0]); // the banned call was not tried again
      expect(alerts).to.have.length(1);
    });

    it("with pausedRequests: 'fail' (the downloader) a request during the pause throws at once instead of waiting", async () => {
      const { rest, sent } = client({ banPauseMs: 60_000, pausedRequests: 'fail' });
      ex.faults.serverError(1, 403, '/v5/market/kline');
      expect(await rejection(kline(rest))).to.be.instanceOf(ExchangeBannedError);
      const err = await rejection(buy(rest));
      expect(err).to.be.instanceOf(ExchangeBannedError);
      expect(err.message).to.match(/^order\/create: not sent: requests to Bybit are paused until .* after HTTP 403 to market\/kline$/);
      expect(sent.map((s) => s.what)).to.deep.equal(['market/kline']);
    });
  });

  it('close() ends the requests still waiting (here behind a pause) with InterruptedError and leaves no timer', async () => {
    const { rest, sent } = client({ banPauseMs: 600_000 });
    ex.faults.serverError(1, 403, '/v5/market/kline');
    expect(await rejection(kline(rest))).to.be.instanceOf(ExchangeBannedError);
    const waiting = rejection(buy(rest));
    rest.close();
    const err = await waiting;
    expect(err).to.be.instanceOf(InterruptedError);
    expect(err.message).to.equal('order/create: not sent: the REST client was closed');
    expect(await rejection(positions(rest))).to.be.instanceOf(InterruptedError);
    expect(sent.map((s) => s.what)).to.deep.equal(['market/kline']);
  });

  describe('authentication and permission errors', () => {
    it('10003 (unknown key) and 10004 (bad signature) are thrown at once as ExchangeAuthError, without the key or secret', async () => {
      const cases = [
        { key: 'NOSUCHKEY0123456789', secret: 'not-the-secret-0123456789', code: 10003 },
        { key: ex.apiKey, secret: 'wrong-secret-0123456789', code: 10004 },
      ];
      for (const c of cases) {
        const { rest, sent, retries } = client({ key: c.key, secret: c.secret, policy: { retries: 3, backoffFactor: 0.01 } });
        const err = await rejection(positions(rest));
        expect(err).to.be.instanceOf(ExchangeAuthError);
        expect(isAuthError(err)).to.equal(true);
        expect((err as ExchangeError).retCode).to.equal(c.code);
        expect(err.message).to.match(new RegExp(`^position/list failed: retCode ${c.code}: .*not retried\\)$`));
        expect(err.message).to.not.include(c.key);
        expect(err.message).to.not.include(c.secret);
        expect(err.message).to.not.include(ex.apiSecret);
        expect(sent).to.have.length(1);
        expect(retries).to.deep.equal([]);
      }
      // Other failures are not auth errors.
      await ex.rateRoom('/v5/order/create', 1);
      ex.faults.rejectNextOrder(110007, 'ab not enough for new order');
      const other = await rejection(buy(client().rest));
      expect(other).to.be.instanceOf(ExchangeError);
      expect(isAuthError(other)).to.equal(false);
    });
  });

  describe('clock skew (10002)', () => {
    it('a clock 3 s ahead of the exchange: 10002, a time sync from /v5/market/time, one retry, success', async () => {
      const synced: number[] = [];
      const { rest, sent, retries } = client({ onTimeSync: (ms) => synced.push(ms) });
      ex.faults.clockSkew(-3000); // the exchange's clock is 3 s behind: our timestamps look early
      await positions(rest);
      expect(sent.map((s) => [s.what, s.attempt])).to.deep.equal([['position/list', 0], ['market/time', 0], ['position/list', 1]]);
      expect(retries).to.have.length(1);
      expect(retries[0]!.reason).to.match(/^retCode 10002: .*clock offset now -?\d+ ms\)$/);
      expect(synced).to.have.length(1);
      expect(rest.timeOffsetMs).to.equal(synced[0]);
      expect(rest.timeOffsetMs).to.be.within(-3800, -2200); // within the round trip of the exact -3000
      await positions(rest); // the offset stays: no 10002 any more
      expect(sent).to.have.length(4);
    });

    it('a clock 3 s behind: 10002 (with a 2 s recv_window; the default 5 s accepts it), a time sync, success', async () => {
      ex.faults.clockSkew(3000); // the exchange's clock is 3 s ahead: our timestamps look old
      const plain = client();
      await positions(plain.rest); // inside Bybit's default 5 s window: accepted as it is
      expect(plain.sent).to.have.length(1);

      const { rest, sent } = client({ recvWindowMs: 2000 });
      await positions(rest);
      expect(sent.map((s) => [s.what, s.attempt])).to.deep.equal([['position/list', 0], ['market/time', 0], ['position/list', 1]]);
      expect(rest.timeOffsetMs).to.be.within(2200, 3800);
    });

    it('syncTime() (what pyr live calls at start) returns the offset; later signed calls need no retry', async () => {
      await ex.rateRoom('/v5/order/create', 1);
      ex.faults.clockSkew(-3000);
      const { rest, sent } = client();
      const offset = await rest.syncTime();
      expect(offset).to.be.within(-3800, -2200);
      expect(rest.timeOffsetMs).to.equal(offset);
      await buy(rest);
      expect(sent.map((s) => [s.what, s.attempt])).to.deep.equal([['market/time', 0], ['order/create', 0]]);
    });
  });

  it('orders go ahead of account reads and market data when requests queue (here behind the spacing limiter)', async () => {
    await ex.rateRoom('/v5/order/create', 1);
    const { rest, sent } = client({ requestsPerSecond: 10 });
    await Promise.all([kline(rest), kline(rest), tickers(rest), positions(rest), buy(rest)]);
    expect(sent.map((s) => s.what)).to.deep.equal(['market/kline', 'order/create', 'position/list', 'market/kline', 'market/tickers']);
  });

  describe('retries of an order', () => {
    it('stillValid() is asked before each retry: when the decision no longer stands, retrying stops', async () => {
      const { rest, sent } = client({ policy: { retries: 5, backoffFactor: 0.01 } });
      ex.faults.serverError(5, 503, '/v5/order/create');
      let tries = 0;
      const orderLinkId = link();
      const err = await rejection(
        rest.call('order/create', (c) => (tries++, c.submitOrder({ category: 'linear', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Market', qty: '0.001', positionIdx: 0, orderLinkId }) as never), {
          stillValid: () => tries < 2,
        }),
      );
      expect(err).to.be.instanceOf(ExchangeError);
      expect(err.message).to.equal('order/create failed: HTTP 503 Service Unavailable; not retried: the decision behind it no longer stands');
      expect((err as ExchangeError).retryable).to.equal(false);
      expect(tries).to.equal(2);
      expect(sent).to.have.length(2);
      expect(await orderByLink(rest, orderLinkId)).to.deep.equal([]);
    });

    it('fn gets the attempt number: the retry (attempt 1) is built afresh', async () => {
      const { rest } = client();
      await ex.rateRoom('/v5/order/create', 1);
      ex.faults.serverError(1, 503, '/v5/order/create');
      const base = link();
      const attempts: number[] = [];
      await rest.call('order/create', (c, attempt) => {
        attempts.push(attempt);
        return c.submitOrder({ category: 'linear', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Market', qty: '0.001', positionIdx: 0, orderLinkId: `${base}a${attempt}` }) as never;
      });
      expect(attempts).to.deep.equal([0, 1]);
      expect(await orderByLink(rest, `${base}a1`)).to.have.length(1);
      expect(await orderByLink(rest, `${base}a0`)).to.deep.equal([]);
    });
  });
});
