/**
 * Simulator scenarios as small tables: hand-made candles, a scripted strategy, and the fills, fees and
 * PnL worked out by hand in each case (the arithmetic is in the comments).
 */
import { expect } from 'chai';
import { D, seriesFromCandles, tradeFromFills, type BrokerEvent, type Candle, type Fill, type Intent, type InstrumentRules, type RunRecord, type Trade } from '../../lib/core/index.ts';
import { SimBroker } from '../../lib/brokers/sim/index.ts';
import { runBacktest } from '../../lib/engine/index.ts';
import { scriptedStrategy } from '../helpers.ts';

const T0 = Date.UTC(2024, 0, 1);
const M15 = 15 * 60_000;
const BTC: InstrumentRules = { symbol: 'BTCUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.001'), minQty: new D('0.001'), minNotional: new D(0), source: 'test' };

/** [open, high, low, close] rows, 15 minutes apart from T0. */
function candles(rows: [number, number, number, number][]): Candle[] {
  return rows.map(([open, high, low, close], i) => ({ openTime: T0 + i * M15, open, high, low, close, volume: 1, turnover: NaN }));
}

const long = (amount = 1000, sl = 0.005, tp = 0.01): Intent => ({ kind: 'enter', side: 'long', size: { unit: 'quote', amount }, stopLoss: { pct: sl }, takeProfit: { pct: tp }, reason: 'test' });
const short = (amount = 1000, sl = 0.005, tp = 0.01): Intent => ({ kind: 'enter', side: 'short', size: { unit: 'quote', amount }, stopLoss: { pct: sl }, takeProfit: { pct: tp }, reason: 'test' });
const exit: Intent = { kind: 'exit', reason: 'test exit' };

/** A strategy that returns the scripted intents at given candle indexes. */
function scripted(script: Record<number, Intent>) {
  return scriptedStrategy('scripted', (i) => script[i]);
}

function run(
  rows: [number, number, number, number][],
  script: Record<number, Intent>,
  opts: { slippageBps?: number; minQtyPolicy?: 'raise' | 'skip'; funding?: { times: Float64Array; rates: string[] }; listen?: (e: BrokerEvent) => void } = {},
): { record: RunRecord; trades: readonly Trade[]; broker: SimBroker; skipped: Map<string, number> } {
  const fillModel = { slippageBps: opts.slippageBps ?? 0, takerFee: 0.00055, makerFee: 0.0002, minQtyPolicy: opts.minQtyPolicy ?? 'raise' } as const;
  const broker = new SimBroker({ rules: BTC, fillModel, initialBalance: 1000, funding: opts.funding });
  if (opts.listen) broker.subscribe(opts.listen);
  const series = seriesFromCandles(candles(rows));
  const { record, engine } = runBacktest({
    definition: scripted(script),
    params: {},
    series,
    broker,
    from: T0,
    to: T0 + rows.length * M15,
    warmup: 0,
    meta: {
      runId: 't', strategy: 'scripted', symbol: 'BTCUSDT', category: 'linear', interval: '15', params: {},
      rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '0', source: 'test' },
      fillModel, initialBalance: 1000, funding: { charged: false, detail: '' }, source: 'memory',
    },
  });
  return { record, trades: record.trades, broker, skipped: engine.skipped };
}

describe('sim broker: fill model scenarios', () => {
  it('fills a signal at the next open and stops out at the stop price', () => {
    // qty = 1000 / 40000 = 0.025; SL = 40000 x 0.995 = 39800; TP = 40400.
    const { trades, record } = run(
      [
        [39990, 40010, 39980, 40000], // 0: signal
        [40000, 40100, 39900, 40050], // 1: fill at 40000; neither level touched
        [40050, 40200, 39790, 39850], // 2: low 39790 <= 39800: stop
        [39850, 39900, 39800, 39880],
      ],
      { 0: long() },
    );
    expect(trades).to.have.length(1);
    const t = trades[0]!;
    expect(t.entryTime).to.equal(T0 + M15);
    expect(t.exitTime).to.equal(T0 + 2 * M15);
    expect(t.signalTime).to.equal(T0);
    expect(t.entryPrice.toString()).to.equal('40000');
    expect(t.qty.toString()).to.equal('0.025');
    expect(t.stopLoss!.toString()).to.equal('39800');
    expect(t.takeProfit!.toString()).to.equal('40400');
    expect(t.exitReason).to.equal('stop_loss');
    expect(t.exitPrice.toString()).to.equal('39800');
    // fees: 0.025 x 40000 x 0.00055 = 0.55; 0.025 x 39800 x 0.00055 = 0.54725
    expect(t.entryFee.toString()).to.equal('0.55');
    expect(t.exitFee.toString()).to.equal('0.54725');
    // gross = (39800 - 40000) x 0.025 = -5; net = -5 - 1.09725
    expect(t.grossPnl.toString()).to.equal('-5');
    expect(t.netPnl.toString()).to.equal('-6.09725');
    expect(t.ambiguous).to.equal(false);
    // Equity after the stop: 1000 - 6.09725, and exposure on candles 1 and 2 only.
    expect(record.equity[3]).to.be.closeTo(993.90275, 1e-9);
    expect([...record.exposure]).to.deep.equal([0, 1, 1, 0]);
  });

  it('a candle that opens through the stop fills at its open', () => {
    const { trades } = run(
      [
        [40000, 40000, 40000, 40000],
        [40000, 40100, 39900, 40050],
        [39700, 39750, 39600, 39700], // gaps below 39800
      ],
      { 0: long() },
    );
    const t = trades[0]!;
    expect(t.exitReason).to.equal('stop_loss');
    expect(t.exitPrice.toString()).to.equal('39700');
    // gross = -300 x 0.025 = -7.5; exit fee = 0.025 x 39700 x 0.00055 = 0.545875; net = -7.5 - 0.55 - 0.545875
    expect(t.netPnl.toString()).to.equal('-8.595875');
  });

  it('a candle that touches stop and target assumes the stop, and records the target counterfactual', () => {
    const { trades, record } = run(
      [
        [40000, 40000, 40000, 40000],
        [40000, 40100, 39900, 40050],
        [40050, 40400, 39800, 40100], // touches 39800 and 40400
      ],
      { 0: long() },
    );
    const t = trades[0]!;
    expect(t.exitReason).to.equal('stop_loss');
    expect(t.ambiguous).to.equal(true);
    expect(t.exitPrice.toString()).to.equal('39800');
    // Target first: gross 400 x 0.025 = 10; fees 0.55 + 0.025 x 40400 x 0.00055 (0.5555) -> 8.8945
    expect(t.netPnlIfTargetFirst!.toString()).to.equal('8.8945');
    expect(record.trades.filter((x) => x.ambiguous)).to.have.length(1);
  });

  it('stops and targets are live on the fill candle itself', () => {
    const { trades } = run(
      [
        [40000, 40000, 40000, 40000],
        [40000, 40450, 39950, 40300], // fills at 40000, reaches 40400 in the same candle
      ],
      { 0: long() },
    );
    expect(trades[0]!.exitReason).to.equal('take_profit');
    expect(trades[0]!.exitTime).to.equal(T0 + M15);
    expect(trades[0]!.exitPrice.toString()).to.equal('40400');
  });

  it('a short takes profit below and pays fees on both fills', () => {
    // short 0.025 at 40000: SL 40200, TP 39600
    const { trades } = run(
      [
        [40000, 40000, 40000, 40000],
        [40000, 40100, 39900, 39950],
        [39950, 39990, 39500, 39550],
      ],
      { 0: short() },
    );
    const t = trades[0]!;
    expect(t.side).to.equal('short');
    expect(t.stopLoss!.toString()).to.equal('40200');
    expect(t.takeProfit!.toString()).to.equal('39600');
    expect(t.exitReason).to.equal('take_profit');
    // gross = (40000 - 39600) x 0.025 = 10; fees 0.55 + 0.025 x 39600 x 0.00055 (0.5445); net 8.9055
    expect(t.grossPnl.toString()).to.equal('10');
    expect(t.netPnl.toString()).to.equal('8.9055');
  });

  it('rounds qty down to the step and stop/target to the tick, half up', () => {
    // 1000 / 40030 = 0.024981... -> 0.024; SL 40030 x 0.995 = 39829.85 -> 39829.9 (half up, not to even);
    // TP 40030 x 1.01 = 40430.3
    const { trades } = run(
      [
        [40030, 40030, 40030, 40030],
        [40030, 40100, 39900, 40050],
        [40050, 40060, 40000, 40010],
      ],
      { 0: long() },
    );
    const t = trades[0]!;
    expect(t.qty.toString()).to.equal('0.024');
    expect(t.stopLoss!.toString()).to.equal('39829.9');
    expect(t.takeProfit!.toString()).to.equal('40430.3');
    expect(t.exitReason).to.equal('end_of_data');
    expect(t.exitPrice.toString()).to.equal('40010');
  });

  it('raises a qty below the minimum to the minimum, and reports it', () => {
    // 10 USDT / 40000 = 0.00025 -> rounds to 0 -> raised to 0.001
    const { trades, record } = run([[40000, 40000, 40000, 40000], [40000, 40010, 39990, 40000], [40000, 40010, 39990, 40000]], { 0: long(10) });
    expect(trades[0]!.qty.toString()).to.equal('0.001');
    expect(trades[0]!.qtyRaisedToMin).to.equal(true);
    expect(record.meta.notices.join('\n')).to.match(/raised to the minimum 0\.001/);
  });

  it('with minQtyPolicy "skip" refuses an entry below the minimum', () => {
    const { trades, skipped } = run([[40000, 40000, 40000, 40000], [40000, 40010, 39990, 40000]], { 0: long(10) }, { minQtyPolicy: 'skip' });
    expect(trades).to.have.length(0);
    expect([...skipped.keys()].join('\n')).to.match(/below the minimum 0\.001/);
  });

  it('an exit signal fills at the next open; no reversal', () => {
    const { trades } = run(
      [
        [40000, 40000, 40000, 40000],
        [40000, 40100, 39900, 40050], // entry
        [40050, 40100, 40000, 40080], // exit signal on this close
        [40090, 40100, 40000, 40020], // exit fills at 40090
        [40020, 40030, 40010, 40020],
      ],
      { 0: long(), 2: exit },
    );
    expect(trades).to.have.length(1);
    expect(trades[0]!.exitReason).to.equal('signal');
    expect(trades[0]!.exitPrice.toString()).to.equal('40090');
    expect(trades[0]!.exitTime).to.equal(T0 + 3 * M15);
  });

  it('a stop the next open gaps through fires before an exit signal decided on the previous close', () => {
    // The exchange holds the stop: at a gap through it, it fills at the open before our exit order lands.
    const { trades } = run(
      [
        [40000, 40000, 40000, 40000],
        [40000, 40100, 39900, 40050], // entry at 40000, SL 39800
        [40050, 40100, 39850, 39900], // exit signal on this close
        [39700, 39750, 39600, 39700], // gaps below the stop
      ],
      { 0: long(), 2: exit },
    );
    expect(trades).to.have.length(1);
    expect(trades[0]!.exitReason).to.equal('stop_loss');
    expect(trades[0]!.exitPrice.toString()).to.equal('39700');
  });

  it('takes no new entry on the candle whose stop fired', () => {
    const { trades, skipped } = run(
      [
        [40000, 40000, 40000, 40000],
        [40000, 40100, 39900, 40050],
        [40050, 40060, 39700, 39750], // stop fires; the strategy asks to enter again on this close
        [39750, 39800, 39700, 39780], // enters again here after a fresh signal on candle 3
        [39780, 39800, 39700, 39790],
      ],
      { 0: long(), 2: long(), 3: long() },
    );
    expect(trades).to.have.length(2);
    expect(trades[1]!.entryTime).to.equal(T0 + 4 * M15);
    expect([...skipped.keys()].join('\n')).to.match(/stop loss or take profit fired on this candle/);
  });

  it('moves market fills against the trader by slippageBps, rounded to the tick', () => {
    // 10 bps on a buy at 40000 -> 40040; the stop is then 40040 x 0.995 = 39839.8
    const { trades } = run([[40000, 40000, 40000, 40000], [40000, 40100, 39900, 40050], [40050, 40060, 40000, 40010]], { 0: long() }, { slippageBps: 10 });
    const t = trades[0]!;
    expect(t.entryPrice.toString()).to.equal('40040');
    expect(t.stopLoss!.toString()).to.equal('39839.8');
  });

  it('charges funding at each settlement the position is open across', () => {
    // Open at T0+15m (candle 1), settlement at T0+30m (candle 2's open, 40100), rate 0.0001:
    // long pays 0.025 x 40100 x 0.0001 = 0.10025. A settlement before the entry is not charged.
    const funding = { times: new Float64Array([T0 + M15, T0 + 2 * M15]), rates: ['0.0005', '0.0001'] };
    const { trades, broker } = run([[40000, 40000, 40000, 40000], [40000, 40100, 39900, 40050], [40100, 40150, 40050, 40100], [40100, 40100, 40100, 40100]], { 0: long() }, { funding });
    const t = trades[0]!;
    expect(t.funding.toString()).to.equal('0.10025');
    expect(broker.fundingSettlements).to.equal(1);
    // net = gross (40100 - 40000) x 0.025 = 2.5 - fees (0.55 + 0.025 x 40100 x 0.00055 = 0.5513750) - 0.10025
    expect(t.netPnl.toString()).to.equal('1.298375');
  });
  it('every trade is the one accounting (lib/core/accounting.ts) of its own entry and exit fills', () => {
    const funding = { times: new Float64Array([T0 + 2 * M15]), rates: ['0.0001'] };
    const scenarios: Array<{ rows: [number, number, number, number][]; script: Record<number, Intent>; opts?: { slippageBps?: number; funding?: typeof funding } }> = [
      { rows: [[39990, 40010, 39980, 40000], [40000, 40100, 39900, 40050], [40050, 40200, 39790, 39850], [39850, 39900, 39800, 39880]], script: { 0: long() } },
      { rows: [[40000, 40000, 40000, 40000], [40000, 40100, 39900, 40050], [40050, 40400, 39800, 40100]], script: { 0: long() } },
      { rows: [[40000, 40000, 40000, 40000], [40000, 40100, 39900, 40050], [40050, 40400, 39800, 40100]], script: { 0: short() }, opts: { slippageBps: 10 } }, // stopped out, slipped
      { rows: [[40000, 40000, 40000, 40000], [40000, 40100, 39900, 39950], [39950, 39990, 39500, 39550]], script: { 0: short() } },
      { rows: [[40000, 40000, 40000, 40000], [40000, 40100, 39900, 40050], [40100, 40150, 40050, 40100], [40100, 40100, 40100, 40100]], script: { 0: long(), 2: exit }, opts: { funding } },
      { rows: [[40000, 40000, 40000, 40000], [40000, 40100, 39900, 40050], [40050, 40060, 39700, 39750], [39750, 39800, 39700, 39780], [39780, 39800, 39700, 39790]], script: { 0: long(), 3: short(777) }, opts: { funding } },
    ];
    let n = 0;
    let ambiguous = 0;
    let unfunded = 0;
    for (const { rows, script, opts } of scenarios) {
      const fills: Fill[] = [];
      const { trades } = run(rows, script, { ...opts, listen: (e) => void (e.type === 'fill' && fills.push(e.fill)) });
      const entries = fills.filter((f) => f.purpose === 'entry');
      const exits = fills.filter((f) => f.purpose === 'exit');
      expect(entries).to.have.length(trades.length);
      expect(exits).to.have.length(trades.length);
      trades.forEach((t, i) => {
        const a = tradeFromFills({ side: t.side, entryFills: [entries[i]!], exitFills: [exits[i]!], funding: t.funding });
        for (const k of ['qty', 'entryPrice', 'exitPrice', 'entryFee', 'exitFee', 'fees', 'funding', 'grossPnl', 'netPnl'] as const) expect(t[k].toFixed(), `trade ${t.id} ${k}`).to.equal(a[k].toFixed());
        if (t.ambiguous) {
          // The counterfactual is the same accounting with a taker exit at the target (no slippage here).
          const alt = tradeFromFills({ side: t.side, entryFills: [entries[i]!], exitFills: [{ qty: t.qty, price: t.takeProfit!, fee: t.qty.mul(t.takeProfit!).mul('0.00055') }], funding: t.funding });
          expect(t.netPnlIfTargetFirst!.toFixed(), `trade ${t.id} target first`).to.equal(alt.netPnl.toFixed());
          ambiguous++;
        }
        if (t.funding.isZero()) unfunded++;
        n++;
      });
    }
    expect([n, ambiguous, n - unfunded]).to.deep.equal([7, 1, 2]);
  });
});
