/**
 * Risk guards in the engine (the same in backtest and live): hand-made candles, a strategy that wants to
 * enter long on every candle it is flat, and stops that lose on known candles.
 */
import { expect } from 'chai';
import { D, seriesFromCandles, type Candle, type InstrumentRules } from '../../lib/core/index.ts';
import { SimBroker } from '../../lib/brokers/sim/index.ts';
import { runBacktest, type Guards } from '../../lib/engine/index.ts';
import { defineStrategy } from '../../lib/strategy/index.ts';

const T0 = Date.UTC(2024, 0, 1);
const H = 3_600_000;
const RULES: InstrumentRules = { symbol: 'BTCUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.001'), minQty: new D('0.001'), minNotional: new D(0), source: 'test' };
const FILL = { slippageBps: 0, takerFee: 0.00055, makerFee: 0.0002, minQtyPolicy: 'raise' } as const;

const alwaysLong = (amount: number) =>
  defineStrategy({
    name: 'always-long',
    description: 'test',
    params: {},
    warmup: () => 0,
    create: () => ({
      onCandle: (_c, ctx) => (ctx.position.side === 'flat' ? { kind: 'enter', side: 'long', size: { unit: 'quote', amount }, stopLoss: { pct: 0.01 }, reason: 'test' } : undefined),
    }),
  });

/**
 * Hourly candles from T0. Each entry fills at an open of 100 and the next candle falls to 98, through
 * the 99 stop: every trade loses 1 x qty plus fees. Rows alternate "fill" and "stop" candles.
 */
function losingCandles(hours: number): Candle[] {
  return Array.from({ length: hours }, (_, i) => ({ openTime: T0 + i * H, open: 100, high: 100, low: i % 2 === 1 ? 98 : 99.5, close: 100, volume: 1, turnover: NaN }));
}

function run(guards: Guards, hours = 48, amount = 1000) {
  const candles = losingCandles(hours);
  const broker = new SimBroker({ rules: RULES, fillModel: FILL, initialBalance: 1000 });
  const { record, engine } = runBacktest({
    definition: alwaysLong(amount),
    params: {},
    series: seriesFromCandles(candles),
    broker,
    from: T0,
    to: T0 + hours * H,
    warmup: 0,
    guards,
    meta: { runId: 't', strategy: 'always-long', symbol: 'BTCUSDT', category: 'linear', interval: '60', params: {}, rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '0', source: 'test' }, fillModel: FILL, initialBalance: 1000, funding: { charged: false, detail: '' }, source: 'memory' },
  });
  return { trades: record.trades, skipped: engine.skipped };
}

describe('engine guards', () => {
  it('without guards, it enters again after every stop', () => {
    // qty 1000 / 100 = 10; each trade: gross -10 (100 -> 99), fees 10 x (100 + 99) x 0.00055 = 1.0945
    const { trades } = run({});
    expect(trades.length).to.be.greaterThan(10);
    expect(trades[0]!.netPnl.toString()).to.equal('-11.0945');
  });

  it('maxConsecutiveLosses: no entries for the rest of the UTC day after that many losses, then again', () => {
    const { trades, skipped } = run({ maxConsecutiveLosses: 3 });
    const day1 = trades.filter((t) => t.entryTime < T0 + 24 * H);
    const day2 = trades.filter((t) => t.entryTime >= T0 + 24 * H);
    expect(day1).to.have.length(3);
    expect(day2).to.have.length(3);
    expect([...skipped.keys()].join('\n')).to.match(/losing trades in a row reached maxConsecutiveLosses N/);
  });

  it('maxDailyLoss: stops entering once the day lost that much', () => {
    // Each trade loses 11.0945: after 2 trades the day is at -22.189 <= -20.
    const { trades } = run({ maxDailyLoss: 20 });
    expect(trades.filter((t) => t.entryTime < T0 + 24 * H)).to.have.length(2);
    expect(trades.filter((t) => t.entryTime >= T0 + 24 * H)).to.have.length(2);
  });

  it('maxPositionNotional: refuses entries above it', () => {
    expect(run({ maxPositionNotional: 500 }, 48, 1000).trades).to.have.length(0);
    expect(run({ maxPositionNotional: 1000 }, 48, 1000).trades.length).to.be.greaterThan(0);
  });

  it('maxPositionNotional is checked on the sized qty x price, not on the amount asked', () => {
    // 1000.05 USDT at 100: 10.0005 -> rounded down to the 0.001 step: 10; 10 x 100 = 1000, not above 1000.
    const within = run({ maxPositionNotional: 1000 }, 4, 1000.05);
    expect(within.trades.length).to.be.greaterThan(0);
    expect(within.trades[0]!.qty.toString()).to.equal('10');
    // 1000.1 USDT: 10.001 x 100 = 1000.1 > 1000: refused, the guard naming the sized figures.
    const above = run({ maxPositionNotional: 1000 }, 4, 1000.1);
    expect(above.trades).to.have.length(0);
    expect([...above.skipped.keys()]).to.deep.equal(['guard: sized notional N USDT (qty N at N) is above maxPositionNotional N']);
  });
});
