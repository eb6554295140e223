/**
 * The local exchange's closed-PnL records agree with pyr's one accounting (lib/core/accounting.ts),
 * exactly. The sandbox keeps its own matching engine (it plays the exchange: average entry price,
 * opening-fee share, closing fee); here trades of every kind go through it with the real bybit-api SDK,
 * and the executions it reports are read back over REST, parsed as pyr live parses them and turned into
 * trades by `tradeFromFills`. Per trade and in sum, the exchange's `closedPnl` equals pyr's net PnL
 * (decimal string equality, fees included); with funding, Bybit's closed PnL leaves the funding out, so
 * it equals net + funding, and the wallet moves by pyr's net. The exchange reports decimals to 10
 * places; pyr's numbers are exact (no rounded average price in them) and need fewer here, so the two
 * texts are equal, even for entries in two fills whose average price does not terminate.
 */
import { expect } from 'chai';
import type { RestClientV5 } from 'bybit-api';
import { D, ZERO, tradeFromFills, type Dec, type PositionSide, type TradeAmounts } from '../../lib/core/index.ts';
import { wireExecution, type Execution, type WireExecution } from '../../lib/brokers/bybit/mapping.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import { M15, T0, restClient, tinySeries } from './helpers.ts';

const linear = { category: 'linear' as const, symbol: 'BTCUSDT' };
const BTC = { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' } as const;
const HISTORY = 10;
const CANDLES = 120;

/** A deterministic pseudo-random generator (the same numbers on every machine). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

/** A random walk around 40000 on the 0.1 tick: [open, high, low, close] rows. */
function walk(n: number): Array<[number, number, number, number]> {
  const r = lcg(7);
  const rows: Array<[number, number, number, number]> = [];
  let tenths = 400_000;
  for (let i = 0; i < n; i++) {
    const open = tenths;
    const close = open + ((r() % 2001) - 1000); // ±100 USDT
    const high = Math.max(open, close) + (r() % 600);
    const low = Math.min(open, close) - (r() % 600);
    rows.push([open / 10, high / 10, low / 10, close / 10]);
    tenths = close + ((r() % 41) - 20); // a small gap to the next open
  }
  return rows;
}

const START = T0 + HISTORY * M15;
/** Funding settlements every 2 hours of the replay, rates of both signs. */
const FUNDING = Array.from({ length: CANDLES / 8 }, (_, i) => ({ time: START + (i * 8 + 3) * M15, rate: ['0.0001', '-0.000075', '0.000123', '0.00005'][i % 4]! }));

interface PyrTrade {
  readonly amounts: TradeAmounts;
  /** The order that closed it: one closed-PnL record each. */
  readonly exitOrderId: string;
  readonly entryFills: number;
  /** How it closed: our market order, the exchange's take profit or stop loss, or our resting limit (maker). */
  readonly exitBy: 'market' | 'tp/sl' | 'limit';
}

/**
 * Trades of every kind through the exchange: longs and shorts, one or two entry fills, market exits,
 * exits by the exchange's take profit or stop loss, and resting reduce-only limit exits (maker fees).
 */
async function trade(ex: Sandbox, rest: RestClientV5): Promise<number> {
  const r = lcg(11);
  const order = async (p: Record<string, unknown>): Promise<void> => {
    const res = await rest.submitOrder({ ...linear, orderType: 'Market', positionIdx: 0, ...p } as never);
    expect(res.retCode, `${JSON.stringify(p)}: ${res.retMsg}`).to.equal(0);
  };
  const flat = () => ex.state().position.side === '';
  const tick = new D('0.1');
  const level = (x: number, f: number, up: boolean) => new D(x).mul(f).div(tick)[up ? 'ceil' : 'floor']().mul(tick).toFixed();
  let n = 0;
  for (let k = 0; ex.state().now < START + (CANDLES - 12) * M15; k++) {
    const long = k % 2 === 0;
    const side = long ? 'Buy' : 'Sell';
    const close = long ? 'Sell' : 'Buy';
    const kind = k % 4; // 0, 3: market exit; 1: take profit / stop loss; 2: limit exit
    const qty = () => new D(1 + (r() % 60)).div(1000).toFixed(3);
    const price = ex.state().price;
    if (kind === 1) {
      await order({ side, qty: qty(), tpslMode: 'Full', takeProfit: level(price, long ? 1.002 : 0.998, long), stopLoss: level(price, long ? 0.998 : 1.002, !long) });
    } else {
      await order({ side, qty: qty() });
      if (k % 3 === 2) {
        ex.step();
        await order({ side, qty: qty() });
      }
    }
    for (let s = 1 + (r() % 5); s > 0 && !flat(); s--) ex.step();
    if (kind === 2 && !flat()) {
      const p = ex.state().price;
      const res = await rest.submitOrder({ ...linear, side: close, orderType: 'Limit', qty: ex.state().position.size.toFixed(), price: level(p, long ? 1.0005 : 0.9995, long), reduceOnly: true, positionIdx: 0 });
      expect(res.retCode, res.retMsg).to.equal(0);
    }
    for (let s = 0; s < 12 && !flat() && kind !== 0 && kind !== 3; s++) ex.step();
    if (!flat()) await order({ side: close, qty: ex.state().position.size.toFixed(), reduceOnly: true });
    expect(flat()).to.equal(true);
    n++;
    ex.step();
  }
  return n;
}

async function executions(rest: RestClientV5): Promise<Execution[]> {
  const rows: WireExecution[] = [];
  let cursor: string | undefined;
  do {
    const res = await rest.getExecutionList({ ...linear, limit: 100, cursor });
    expect(res.retCode, res.retMsg).to.equal(0);
    rows.push(...(res.result.list as WireExecution[]));
    cursor = res.result.nextPageCursor || undefined;
  } while (cursor);
  return rows.reverse().map(wireExecution); // oldest first
}

async function closedPnl(rest: RestClientV5): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  let cursor: string | undefined;
  do {
    const res = await rest.getClosedPnL({ ...linear, limit: 100, cursor });
    expect(res.retCode, res.retMsg).to.equal(0);
    for (const row of res.result.list) {
      expect(out.has(row.orderId), `one closed-PnL record per closing order (${row.orderId})`).to.equal(false);
      out.set(row.orderId, row as unknown as Record<string, string>);
    }
    cursor = res.result.nextPageCursor || undefined;
  } while (cursor);
  return out;
}

/** The executions as round trips (flat to flat), each through pyr's accounting. */
function pyrTrades(execs: readonly Execution[]): PyrTrade[] {
  const out: PyrTrade[] = [];
  let open: { side: PositionSide; entry: Execution[]; exit: Execution[]; funding: Dec; qty: Dec } | undefined;
  for (const e of execs) {
    if (e.type === 'Funding') {
      expect(open, 'funding only while a position is open').to.not.equal(undefined);
      open!.funding = open!.funding.add(e.fee);
    } else if (e.closedSize.isZero()) {
      open ??= { side: e.side === 'Buy' ? 'long' : 'short', entry: [], exit: [], funding: ZERO, qty: ZERO };
      open.entry.push(e);
      open.qty = open.qty.add(e.qty);
    } else {
      expect(e.closedSize.toFixed(), 'no reversals here').to.equal(e.qty.toFixed());
      open!.exit.push(e);
      open!.qty = open!.qty.sub(e.qty);
      if (open!.qty.isZero()) {
        const amounts = tradeFromFills({ side: open!.side, entryFills: open!.entry, exitFills: open!.exit, funding: open!.funding, instrument: BTC });
        const exitBy = e.stopOrderType === 'TakeProfit' || e.stopOrderType === 'StopLoss' ? 'tp/sl' : e.maker ? 'limit' : 'market';
        out.push({ amounts, exitOrderId: e.orderId, entryFills: open!.entry.length, exitBy });
        open = undefined;
      }
    }
  }
  expect(open, 'every position closed').to.equal(undefined);
  return out;
}

describe("sandbox closed PnL agrees with pyr's accounting, exactly", function () {
  this.timeout(60_000);
  const series = tinySeries(walk(HISTORY + CANDLES));

  for (const withFunding of [false, true]) {
    it(withFunding ? 'with funding settlements: closedPnl = net + funding per trade, and the wallet moves by the sum of net' : 'without funding: closedPnl = net PnL per trade and in sum, and the wallet moves by that sum', async () => {
      const ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: START, balance: 10000, rateLimits: false, ...(withFunding ? { funding: FUNDING } : {}) });
      try {
        const rest = restClient(ex);
        const n = await trade(ex, rest);
        const ours = pyrTrades(await executions(rest));
        const records = await closedPnl(rest);
        expect(ours).to.have.length(n);
        expect(records.size).to.equal(n);
        // The script covers every kind of trade (71 of them): longs and shorts, entries in two fills (some
        // with an average price that does not terminate), exits by the exchange's stop or target, and
        // resting limit exits filled as maker.
        const all = ours.map((t) => t.amounts);
        const count = (f: (t: PyrTrade) => boolean) => ours.filter(f).length;
        expect(n).to.be.greaterThan(50);
        expect(count((t) => t.amounts.side === 'long'), 'longs').to.be.within(10, n - 10);
        expect(count((t) => t.entryFills === 2), 'entries in two fills').to.be.greaterThan(5);
        expect(count((t) => t.amounts.entryPrice.decimalPlaces() > 10), 'non-terminating average entry prices').to.be.greaterThan(5);
        expect(count((t) => t.exitBy === 'tp/sl'), 'exits by the exchange').to.be.greaterThan(5);
        expect(count((t) => t.exitBy === 'limit'), 'maker exits').to.be.greaterThan(5);
        let exchangeSum = ZERO;
        let netSum = ZERO;
        let funded = 0;
        for (const { amounts: t, exitOrderId } of ours) {
          const rec = records.get(exitOrderId)!;
          expect(rec, `a closed-PnL record for ${exitOrderId}`).to.not.equal(undefined);
          const what = `${t.side} ${t.qty.toFixed()} @ ${t.entryPrice.toFixed()} → ${t.exitPrice.toFixed()}`;
          expect(rec.closedSize, what).to.equal(t.qty.toFixed());
          expect(rec.openFee, `${what}: opening fee`).to.equal(t.entryFee.toFixed());
          expect(rec.closeFee, `${what}: closing fee`).to.equal(t.exitFee.toFixed());
          expect(rec.avgExitPrice, `${what}: exit price`).to.equal(t.exitPrice.toFixed());
          expect(rec.avgEntryPrice, `${what}: entry price (10 places on the wire)`).to.equal(t.entryPrice.toDecimalPlaces(10).toFixed());
          // Bybit's closed PnL is before funding: gross − fees.
          expect(rec.closedPnl, `${what}: closed PnL`).to.equal(t.netPnl.add(t.funding).toFixed());
          if (t.funding.isZero()) expect(rec.closedPnl, `${what}: closed PnL = net`).to.equal(t.netPnl.toFixed());
          else funded++;
          exchangeSum = exchangeSum.add(rec.closedPnl!);
          netSum = netSum.add(t.netPnl);
        }
        const fundingSum = all.reduce((s, t) => s.add(t.funding), ZERO);
        expect(exchangeSum.toFixed()).to.equal(netSum.add(fundingSum).toFixed());
        if (withFunding) {
          expect(funded, 'trades open across a settlement').to.be.greaterThan(2);
          expect(fundingSum.isZero()).to.equal(false);
        } else {
          expect(funded).to.equal(0);
          expect(exchangeSum.toFixed(), 'the sum of closedPnl = the sum of net PnL').to.equal(netSum.toFixed());
        }
        // The wallet: every fee and every funding payment, all of it pyr's net.
        const wallet = await rest.getWalletBalance({ accountType: 'UNIFIED', coin: 'USDT' });
        expect(new D(wallet.result.list[0]!.coin[0]!.walletBalance).sub(10000).toFixed(), 'wallet change').to.equal(netSum.toFixed());
      } finally {
        await ex.stop();
      }
    });
  }
});
