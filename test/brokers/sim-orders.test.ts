/**
 * The simulator's order model (issue 12) as tabular scenarios: tiny hand-made candles, a scripted
 * strategy, and each expected fill worked out by hand beside it. Fees: taker 0.055%, maker 0.02%.
 *
 * The path inside a candle (the local exchange's): open, the extreme nearer the open (the high on a
 * tie), the other extreme, the close. Each scenario's comments trace it.
 */
import { expect } from 'chai';
import { D, seriesFromCandles, type BrokerEvent, type Candle, type FillModel, type Intent, type InstrumentRules, type Trade } from '../../lib/core/index.ts';
import { SimBroker } from '../../lib/brokers/sim/index.ts';
import { runBacktest } from '../../lib/engine/index.ts';
import { computeMetrics } from '../../lib/report/index.ts';
import type { OrderView, StrategyContext } from '../../lib/strategy/index.ts';
import { scriptedStrategy } from '../helpers.ts';

const T0 = Date.UTC(2024, 0, 1);
const M15 = 15 * 60_000;
const at = (i: number) => T0 + i * M15;
/** tick 0.1, qty step 0.01, min qty 0.01. */
const RULES: InstrumentRules = { symbol: 'TESTUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.01'), minQty: new D('0.01'), minNotional: new D(0), source: 'test' };

type Row = [number, number, number, number];
type Script = Record<number, Intent | Intent[] | ((ctx: StrategyContext) => Intent | Intent[] | undefined)>;

function candles(rows: readonly Row[]): Candle[] {
  return rows.map(([open, high, low, close], i) => ({ openTime: at(i), open, high, low, close, volume: 1, turnover: NaN }));
}

interface Scenario {
  readonly rows: readonly Row[];
  readonly script: Script;
  readonly fill?: Partial<FillModel>;
}

function run(s: Scenario) {
  const fillModel: FillModel = { slippageBps: 0, takerFee: 0.00055, makerFee: 0.0002, minQtyPolicy: 'raise', ...s.fill };
  const broker = new SimBroker({ rules: RULES, fillModel, initialBalance: 1000 });
  const events: BrokerEvent[] = [];
  broker.subscribe((e) => events.push(e));
  const seen: (readonly OrderView[])[] = [];
  const definition = scriptedStrategy('scripted', (i, _c, ctx) => {
    seen.push(ctx.orders);
    const step = s.script[i];
    return typeof step === 'function' ? step(ctx) : step;
  });
  const { record, engine } = runBacktest({
    definition,
    params: {},
    series: seriesFromCandles(candles(s.rows)),
    broker,
    from: T0,
    to: at(s.rows.length),
    warmup: 0,
    meta: {
      runId: 't', strategy: 'scripted', symbol: 'TESTUSDT', category: 'linear', interval: '15', params: {},
      rules: { tickSize: '0.1', qtyStep: '0.01', minQty: '0.01', minNotional: '0', source: 'test' },
      fillModel, initialBalance: 1000, funding: { charged: false, detail: '' }, source: 'memory',
    },
  });
  return { record, trades: record.trades, events, seen, skipped: engine.skipped };
}

/** A trade as [side, entry candle, exit candle, entryPrice, exitPrice, qty, exitReason, entryOrderType, entryLiquidity, fees, netPnl, positionId]. */
function row(t: Trade): unknown[] {
  return [t.side, (t.entryTime - T0) / M15, (t.exitTime - T0) / M15, t.entryPrice.toFixed(), t.exitPrice.toFixed(), t.qty.toFixed(), t.exitReason, t.entryOrderType, t.entryLiquidity, t.fees.toFixed(), t.netPnl.toFixed(), t.positionId];
}

const qty1 = { unit: 'base', qty: 1 } as const;
const longLimit = (price: number, extra: object = {}): Intent => ({ kind: 'enter', side: 'long', size: qty1, order: { type: 'limit', price: { price }, ...extra }, reason: 'limit' });

describe('sim broker: limit, stop, trailing, partial, amend, cancel (issue 12 scenarios)', () => {
  const table: Array<[string, Scenario, unknown[][]]> = [
    [
      'a limit filled through: fills at its price, maker fee',
      {
        rows: [
          [100, 101, 99, 100], // 0: long limit 99 decided at the close 100
          [100, 100.5, 98.5, 99.5], // 1: open 100 → high 100.5 (0.5 away, nearer) → low 98.5: trades through 99, fills at 99
          [99.5, 100, 99.4, 99.8], // 2: end of data at the close 99.8
        ],
        script: { 0: longLimit(99) },
      },
      // entry fee 99 x 0.0002 = 0.0198 (maker); exit 99.8 x 0.00055 = 0.05489; gross 0.8; net 0.8 - 0.07469 = 0.72531
      [['long', 1, 2, '99', '99.8', '1', 'end_of_data', 'limit', 'maker', '0.07469', '0.72531', 1]],
    ],
    [
      "a limit only touched: no fill with limitFill 'through'",
      {
        rows: [
          [100, 101, 99, 100],
          [100, 100.5, 99, 99.5], // low exactly 99: not strictly through
          [99.5, 100, 99.4, 99.8],
        ],
        script: { 0: longLimit(99) },
      },
      [],
    ],
    [
      "the same limit touched fills with limitFill 'touch'",
      {
        rows: [
          [100, 101, 99, 100],
          [100, 100.5, 99, 99.5], // low 99 reaches the limit: fills at 99
          [99.5, 100, 99.4, 99.8],
        ],
        script: { 0: longLimit(99) },
        fill: { limitFill: 'touch' },
      },
      [['long', 1, 2, '99', '99.8', '1', 'end_of_data', 'limit', 'maker', '0.07469', '0.72531', 1]],
    ],
    [
      'a limit improved by a gap: the open below the limit is the fill price, still maker',
      {
        rows: [
          [100, 101, 99, 100],
          [98.6, 99.2, 98.2, 99], // opens at 98.6 < 99: fills at the open
          [99, 99.5, 98.9, 99.2],
        ],
        script: { 0: longLimit(99) },
      },
      // entry fee 98.6 x 0.0002 = 0.01972; exit 99.2 x 0.00055 = 0.05456; gross 0.6; net 0.6 - 0.07428 = 0.52572
      [['long', 1, 2, '98.6', '99.2', '1', 'end_of_data', 'limit', 'maker', '0.07428', '0.52572', 1]],
    ],
    [
      'a limit expiring after 2 closed candles: candle 3 would have filled it, but it is gone',
      {
        rows: [
          [100, 101, 99.5, 100], // 0: decided, expiresAfter 2
          [100, 100.5, 99.5, 100], // 1: low 99.5, no fill
          [100, 100.5, 99.2, 100], // 2: low 99.2, no fill; after this close the engine cancels it
          [100, 100, 98, 98.5], // 3: would trade through 99
        ],
        script: { 0: longLimit(99, { expiresAfter: 2 }) },
      },
      [],
    ],
    [
      'a non-post-only limit above the close is marketable: it fills at the next open as a taker',
      {
        rows: [
          [100, 101, 99, 100],
          [100.2, 100.6, 100, 100.4], // opens at 100.2 <= 100.5: fills at the open
          [100.4, 100.8, 100.2, 100.6],
        ],
        script: { 0: longLimit(100.5) },
      },
      // entry fee 100.2 x 0.00055 = 0.05511 (taker); exit 100.6 x 0.00055 = 0.05533; gross 0.4; net 0.4 - 0.11044 = 0.28956
      [['long', 1, 2, '100.2', '100.6', '1', 'end_of_data', 'limit', 'taker', '0.11044', '0.28956', 1]],
    ],
    [
      'a stop entry triggered inside the candle fills at the trigger plus slippage, taker',
      {
        rows: [
          [100, 100.5, 99.5, 100], // 0: long stop at 101
          [100, 101.5, 99.8, 101.2], // 1: open → low 99.8 (0.2 away, nearer) → high 101.5: crosses 101
          [101.2, 101.6, 101, 101.4], // 2: end of data
        ],
        script: { 0: { kind: 'enter', side: 'long', size: qty1, order: { type: 'stop', trigger: { price: 101 } }, reason: 'breakout' } },
        fill: { slippageBps: 10 },
      },
      // entry 101 x 1.001 = 101.101 -> 101.1 (tick); fee 101.1 x 0.00055 = 0.055605. Exit at the last close 101.4
      // (end of data, not slipped): fee 0.05577; gross 0.3; net 0.3 - 0.111375 = 0.188625
      [['long', 1, 2, '101.1', '101.4', '1', 'end_of_data', 'stop', 'taker', '0.111375', '0.188625', 1]],
    ],
    [
      'a stop entry gapped: the open above the trigger is the price, plus slippage',
      {
        rows: [
          [100, 100.5, 99.5, 100],
          [101.6, 102, 101.4, 101.8], // opens at 101.6 >= 101
          [101.8, 102, 101.5, 101.7],
        ],
        script: { 0: { kind: 'enter', side: 'long', size: qty1, order: { type: 'stop', trigger: { pct: 0.01 } }, reason: 'breakout' } },
        fill: { slippageBps: 10 },
      },
      // trigger 100 x 1.01 = 101; entry 101.6 x 1.001 = 101.7016 -> 101.7; fee 0.055935; exit 101.7, fee 0.055935; gross 0; net -0.11187
      [['long', 1, 2, '101.7', '101.7', '1', 'end_of_data', 'stop', 'taker', '0.11187', '-0.11187', 1]],
    ],
    [
      'a trailing stop activating at +1% and ratcheting with the highs, exits 1 below the highest',
      {
        rows: [
          [100, 100.5, 99.5, 100], // 0: long at market, trailing distance 1, activation +1% = 101
          [100, 100.8, 99.5, 100.5], // 1: fill at 100; low first (0.5 vs 0.8), high 100.8 < 101: not active
          [100.5, 102, 100.3, 101.8], // 2: low first, then up through 101 (active) to 102: trail 101
          [101.8, 103, 101.5, 102.5], // 3: low 101.5 > 101; up to 103: trail 102
          [102.5, 102.8, 101.6, 102], // 4: high first (0.3 vs 0.9) 102.8, then down through 102: exit at 102
        ],
        script: { 0: { kind: 'enter', side: 'long', size: qty1, trailingStop: { distance: 1, activation: { pct: 0.01 } }, reason: 'trail' } },
      },
      // fees 100 x 0.00055 + 102 x 0.00055 = 0.055 + 0.0561 = 0.1111; gross 2; net 1.8889
      [['long', 1, 4, '100', '102', '1', 'trailing_stop', 'market', 'taker', '0.1111', '1.8889', 1]],
    ],
    [
      'a short trailing stop from the fill: the lowest price plus the distance',
      {
        rows: [
          [100, 100.5, 99.5, 100], // 0: short at market, trailing distance 1 (active at the fill: 100 + 1 = 101)
          [100, 100.6, 99, 99.2], // 1: fill at 100; high first (0.6 vs 1.0) 100.6 < 101; down to 99: trail 100; up to 99.2
          [99.2, 100.1, 98.5, 99], // 2: low first (0.7 vs 0.9) 98.5: trail 99.5; up to 100.1 through 99.5: exit at 99.5
        ],
        script: { 0: { kind: 'enter', side: 'short', size: qty1, trailingStop: { distance: 1 }, reason: 'trail' } },
      },
      // gross 0.5; fees 0.055 + 99.5 x 0.00055 = 0.054725 -> 0.109725; net 0.390275
      [['short', 1, 2, '100', '99.5', '1', 'trailing_stop', 'market', 'taker', '0.109725', '0.390275', 1]],
    ],
    [
      'a short stop entry 1% below the close triggers on the way down',
      {
        rows: [
          [100, 100.5, 99.5, 100], // 0: short stop at 100 x 0.99 = 99
          [100, 100.3, 98.8, 99.1], // 1: high first (0.3 vs 1.2), then down through 99: filled at 99
          [99.1, 99.3, 98.7, 98.9], // 2: end of data at 98.9
        ],
        script: { 0: { kind: 'enter', side: 'short', size: qty1, order: { type: 'stop', trigger: { pct: 0.01 } }, reason: 'breakdown' } },
      },
      // gross 0.1; fees 99 x 0.00055 + 98.9 x 0.00055 = 0.05445 + 0.054395 = 0.108845; net -0.008845
      [['short', 1, 2, '99', '98.9', '1', 'end_of_data', 'stop', 'taker', '0.108845', '-0.008845', 1]],
    ],
    [
      'partial targets: 0.25 split 0.12 (0.125 rounded down to the 0.01 step) + 0.13 (the remainder), one row each, one positionId',
      {
        rows: [
          [100, 100.5, 99.5, 100], // 0: long 25.5 USDT at market: 25.5 / 100 = 0.255 -> 0.25; targets +1% (101) and +2% (102)
          [100, 101.2, 99.8, 101], // 1: fill at 100; low first, up to 101.2: the first target at 101
          [101, 102.5, 100.9, 102.2], // 2: up to 102.5: the second at 102
        ],
        script: {
          0: {
            kind: 'enter', side: 'long', size: { unit: 'quote', amount: 25.5 },
            takeProfit: [{ pct: 0.01, fraction: 0.5 }, { pct: 0.02, fraction: 0.5 }], reason: 'scale out',
          },
        },
      },
      // entry fee 0.25 x 100 x 0.00055 = 0.01375, shared 0.12/0.25 -> 0.0066 and the rest 0.00715.
      // part 1: exit fee 0.12 x 101 x 0.00055 = 0.006666; gross 0.12; net 0.12 - 0.013266 = 0.106734
      // part 2: exit fee 0.13 x 102 x 0.00055 = 0.007293; gross 0.26; net 0.26 - 0.014443 = 0.245557
      [
        ['long', 1, 1, '100', '101', '0.12', 'take_profit', 'market', 'taker', '0.013266', '0.106734', 1],
        ['long', 1, 2, '100', '102', '0.13', 'take_profit', 'market', 'taker', '0.014443', '0.245557', 1],
      ],
    ],
    [
      'amend to break even: the stop moved from 99 to the entry price 100 is hit at 100',
      {
        rows: [
          [100, 100.5, 99.5, 100], // 0: long at market, stop -1% (99), target +5% (105)
          [100, 101.5, 99.8, 101.2], // 1: fill at 100; at the close the strategy moves the stop to 100
          [101.2, 101.4, 99.5, 99.7], // 2: high first (0.2 vs 1.7), then down to 99.5: through 100 (the old stop 99 was not reached)
        ],
        script: {
          0: { kind: 'enter', side: 'long', size: qty1, stopLoss: { pct: 0.01 }, takeProfit: { pct: 0.05 }, reason: 'in' },
          1: (ctx) => ({ kind: 'amend', stopLoss: { price: ctx.position.entryPrice }, reason: 'break even' }),
        },
      },
      // gross 0; fees 0.055 + 0.055 = 0.11; net -0.11
      [['long', 1, 2, '100', '100', '1', 'stop_loss', 'market', 'taker', '0.11', '-0.11', 1]],
    ],
    [
      'the stop is never looser than the trailing stop: a stop amended above the trail (102.3 > 102) fires first',
      {
        rows: [
          [100, 100.5, 99.5, 100],
          [100, 100.8, 99.5, 100.5],
          [100.5, 102, 100.3, 101.8],
          [101.8, 103, 101.5, 102.5], // trail 102; at the close the stop is amended to 102.3
          [102.5, 102.8, 101.6, 102], // down from 102.8: the stop 102.3 comes before the trail 102
        ],
        script: {
          0: { kind: 'enter', side: 'long', size: qty1, trailingStop: { distance: 1, activation: { pct: 0.01 } }, reason: 'trail' },
          3: { kind: 'amend', stopLoss: { price: 102.3 }, reason: 'tighter' },
        },
      },
      // fees 0.055 + 102.3 x 0.00055 = 0.055 + 0.056265 = 0.111265; gross 2.3; net 2.188735
      [['long', 1, 4, '100', '102.3', '1', 'stop_loss', 'market', 'taker', '0.111265', '2.188735', 1]],
    ],
    [
      'cancel: the pending limit is gone before the drop that would have filled it',
      {
        rows: [
          [100, 101, 99.5, 100], // 0: long limit 99
          [100, 100.5, 99.5, 100], // 1: no fill; the strategy cancels at the close
          [100, 100, 98, 98.5], // 2: trades through 99
        ],
        script: { 0: longLimit(99), 1: { kind: 'cancel', reason: 'changed my mind' } },
      },
      [],
    ],
    [
      'reversal: [exit, short limit] exits at the open, then the short limit rests and fills above',
      {
        rows: [
          [100, 100.5, 99.5, 100], // 0: long at market
          [100, 101, 99.6, 101.5], // 1: fill at 100
          [101.5, 102.4, 101.2, 102], // 2: at the close 102: exit, then a short limit at 103
          [102, 103.5, 101.8, 103.2], // 3: exit at the open 102; low first (0.2 vs 1.5), then up through 103: short fills at 103
          [103.2, 103.4, 102, 102.5], // 4: end of data at 102.5
        ],
        script: {
          0: { kind: 'enter', side: 'long', size: qty1, reason: 'long' },
          2: [{ kind: 'exit', reason: 'reverse' }, { kind: 'enter', side: 'short', size: qty1, order: { type: 'limit', price: { price: 103 } }, reason: 'short' }],
        },
      },
      // long: fees 100 x 0.00055 + 102 x 0.00055 = 0.1111; gross 2; net 1.8889
      // short: fees 103 x 0.0002 (maker) + 102.5 x 0.00055 = 0.0206 + 0.056375 = 0.076975; gross 0.5; net 0.423025
      [
        ['long', 1, 3, '100', '102', '1', 'signal', 'market', 'taker', '0.1111', '1.8889', 1],
        ['short', 3, 4, '103', '102.5', '1', 'end_of_data', 'limit', 'maker', '0.076975', '0.423025', 2],
      ],
    ],
    [
      'after a limit fills inside a candle only the rest of the path counts: the high before the fill does not take profit',
      {
        rows: [
          [100, 101, 99.5, 100], // 0: long limit 99, stop -0.5% of the fill (98.505 -> 98.5), target +1% (99.99 -> 100)
          [100, 100.5, 98.8, 99.2], // 1: high first 100.5 (>= 100, but before the fill), down through 99: filled; low 98.8 > 98.5
          [99.2, 99.5, 98.4, 98.6], // 2: high first (0.3 vs 0.8), then down through 98.5: stop
        ],
        script: { 0: { ...longLimit(99), stopLoss: { pct: 0.005 }, takeProfit: { pct: 0.01 } } as Intent },
      },
      // fees 99 x 0.0002 + 98.5 x 0.00055 = 0.0198 + 0.054175 = 0.073975; gross -0.5; net -0.573975
      [['long', 1, 2, '99', '98.5', '1', 'stop_loss', 'limit', 'maker', '0.073975', '-0.573975', 1]],
    ],
  ];

  for (const [what, scenario, expected] of table) {
    it(what, () => {
      const { trades, skipped } = run(scenario);
      expect(trades.map(row), `skipped: ${[...skipped.keys()].join('; ')}`).to.deep.equal(expected);
    });
  }

  it('a post-only limit that would cross the close at placement is refused; nothing fills', () => {
    const { trades, skipped, events } = run({
      rows: [
        [100, 101, 99, 100],
        [100.2, 100.6, 100, 100.4],
        [100.4, 100.8, 100.2, 100.6],
      ],
      script: { 0: longLimit(100.5, { postOnly: true }) },
    });
    expect(trades).to.deep.equal([]);
    const rejected = events.filter((e) => e.type === 'rejected');
    expect(rejected, 'one rejection').to.have.length(1);
    expect((rejected[0] as { reason: string }).reason).to.equal('post-only limit buy at 100.5 would cross the price 100 at placement (it would take liquidity)');
    expect([...skipped.keys()][0]).to.match(/^order rejected: post-only limit buy at 100.5/);
  });

  it('ctx.orders shows the pending limit; the engine cancels it after expiresAfter closed candles', () => {
    const { seen, events } = run({
      rows: [
        [100, 101, 99.5, 100],
        [100, 100.5, 99.5, 100],
        [100, 100.5, 99.2, 100],
        [100, 100, 98, 98.5],
      ],
      script: { 0: longLimit(99, { expiresAfter: 2 }) },
    });
    expect(seen.map((o) => o.map((x) => [x.role, x.type, x.price, x.expiresAfter])), 'orders seen on candles 0-3').to.deep.equal([[], [['entry', 'limit', 99, 2]], [], []]);
    const cancelled = events.filter((e) => e.type === 'cancelled');
    expect(cancelled).to.deep.equal([{ type: 'cancelled', orderId: 'bt-1', reason: 'expired after 2 candles' }]);
  });

  it('a cancelled limit is reported once; ctx.orders is empty after it', () => {
    const { seen, events } = run({
      rows: [
        [100, 101, 99.5, 100],
        [100, 100.5, 99.5, 100],
        [100, 100, 98, 98.5],
      ],
      script: { 0: longLimit(99), 1: { kind: 'cancel', reason: 'changed my mind' } },
    });
    expect(events.filter((e) => e.type === 'cancelled')).to.deep.equal([{ type: 'cancelled', orderId: 'bt-1', reason: 'changed my mind' }]);
    expect(seen.map((o) => o.length)).to.deep.equal([0, 1, 0]);
  });

  it('the trailing stop in ctx.orders: no price before activation, then 1 below the highest price', () => {
    const { seen } = run({
      rows: [
        [100, 100.5, 99.5, 100],
        [100, 100.8, 99.5, 100.5],
        [100.5, 102, 100.3, 101.8],
        [101.8, 103, 101.5, 102.5],
        [102.5, 102.8, 101.6, 102],
      ],
      script: { 0: { kind: 'enter', side: 'long', size: qty1, trailingStop: { distance: 1, activation: { pct: 0.01 } }, reason: 'trail' } },
    });
    const trail = seen.map((o) => o.find((x) => x.role === 'trailing_stop')?.price ?? (o.some((x) => x.role === 'trailing_stop') ? 'inactive' : '-'));
    expect(trail).to.deep.equal(['-', 'inactive', 101, 102, '-']);
  });

  describe("intrabar: 'stop-first' vs 'path' (stop 99, target 101 from a fill at 100)", () => {
    const rows = (c2: Row): Row[] => [
      [100, 100.5, 99.5, 100], // 0: long at market, stop -1%, target +1%
      [100, 100.5, 99.5, 100.2], // 1: fill at 100; neither level
      c2,
      [100, 100.2, 99.8, 100],
    ];
    const script: Script = { 0: { kind: 'enter', side: 'long', size: qty1, stopLoss: { pct: 0.01 }, takeProfit: { pct: 0.01 }, reason: 'in' } };
    // Candle 2 opens 100.2: high 101.4 is 1.2 away, low 98.6 1.6 away: the path goes up to the target first.
    const highFirst: Row = [100.2, 101.4, 98.6, 100];
    // Candle 2 opens 99.6: low 98.9 is 0.7 away, high 101.2 1.6 away: down to the stop first.
    const lowFirst: Row = [99.6, 101.2, 98.9, 100];
    // stop: gross -1, fees 0.055 + 99 x 0.00055 = 0.10945, net -1.10945; target: gross 1, fees 0.055 + 0.05555 = 0.11055, net 0.88945
    const stop = ['long', 1, 2, '100', '99', '1', 'stop_loss', 'market', 'taker', '0.10945', '-1.10945', 1];
    const target = ['long', 1, 2, '100', '101', '1', 'take_profit', 'market', 'taker', '0.11055', '0.88945', 1];

    it("stop-first (the default): the stop wins though the path reached the target first; counted ambiguous with the target's net", () => {
      const { trades } = run({ rows: rows(highFirst), script });
      expect(trades.map(row)).to.deep.equal([stop]);
      expect(trades[0]!.ambiguous).to.equal(true);
      expect(trades[0]!.netPnlIfTargetFirst?.toFixed()).to.equal('0.88945');
    });

    it("path: the target, reached first on the path; not ambiguous", () => {
      const { trades } = run({ rows: rows(highFirst), script, fill: { intrabar: 'path' } });
      expect(trades.map(row)).to.deep.equal([target]);
      expect(trades[0]!.ambiguous).to.equal(false);
    });

    it('path: the stop when the path reaches it first', () => {
      const { trades } = run({ rows: rows(lowFirst), script, fill: { intrabar: 'path' } });
      expect(trades.map(row)).to.deep.equal([stop]);
      expect(trades[0]!.ambiguous).to.equal(false);
    });
  });

  describe('partial targets and a stop in one candle (qty 1: 0.5 at 101, 0.5 at 102; stop 99)', () => {
    const rows: Row[] = [
      [100, 100.5, 99.5, 100], // 0: long at market
      [100, 100.5, 99.5, 100.2], // 1: fill at 100
      [100.2, 101.4, 98.6, 100], // 2: high first (1.2 vs 1.6): up through 101, then down through 99
      [100, 100.2, 99.8, 100],
    ];
    const script: Script = {
      0: { kind: 'enter', side: 'long', size: qty1, stopLoss: { pct: 0.01 }, takeProfit: [{ pct: 0.01, fraction: 0.5 }, { pct: 0.02, fraction: 0.5 }], reason: 'in' },
    };

    it('stop-first: the stop takes the whole qty; ambiguous, with the nearest target as the other outcome', () => {
      const { trades } = run({ rows, script });
      // gross -1, fees 0.055 + 0.05445; had it exited at 101: 1 - (0.055 + 0.05555) = 0.88945
      expect(trades.map(row)).to.deep.equal([['long', 1, 2, '100', '99', '1', 'stop_loss', 'market', 'taker', '0.10945', '-1.10945', 1]]);
      expect(trades[0]!.ambiguous).to.equal(true);
      expect(trades[0]!.netPnlIfTargetFirst?.toFixed()).to.equal('0.88945');
    });

    it('path: half at the first target, then the stop takes the other half; two rows, one position', () => {
      const { trades, record } = run({ rows, script, fill: { intrabar: 'path' } });
      // part 1: entry fee 0.055 x 0.5 = 0.0275, exit 0.5 x 101 x 0.00055 = 0.027775; gross 0.5; net 0.444725
      // part 2: entry fee 0.0275, exit 0.5 x 99 x 0.00055 = 0.027225; gross -0.5; net -0.554725
      expect(trades.map(row)).to.deep.equal([
        ['long', 1, 2, '100', '101', '0.5', 'take_profit', 'market', 'taker', '0.055275', '0.444725', 1],
        ['long', 1, 2, '100', '99', '0.5', 'stop_loss', 'market', 'taker', '0.054725', '-0.554725', 1],
      ]);
      const m = computeMetrics(record);
      expect([m.trades, m.positions, m.parts]).to.deep.equal([2, 1, 2]);
    });
  });

  it('a target for half, an exit of half of the rest, the remainder at the end: three rows sharing the position', () => {
    const { trades, record } = run({
      rows: [
        [100, 100.5, 99.5, 100], // 0: long qty 1 at market, one target +1% for half
        [100, 101.2, 99.8, 101], // 1: fill at 100; low first, then up through 101: 0.5 closed; at the close: exit half of the rest
        [101.1, 101.3, 100.9, 101.2], // 2: 0.25 exits at the open 101.1; the last 0.25 at the close (end of data)
      ],
      script: {
        0: { kind: 'enter', side: 'long', size: qty1, takeProfit: [{ pct: 0.01, fraction: 0.5 }], reason: 'in' },
        1: { kind: 'exit', fraction: 0.5, reason: 'lighten' },
      },
    });
    // 1: 0.5 at 101: entry fee 0.0275, exit 0.027775; gross 0.5; net 0.444725
    // 2: 0.25 at 101.1: entry fee 0.0275 x 0.25 / 0.5 = 0.01375, exit 0.25 x 101.1 x 0.00055 = 0.01390125; gross 0.275; net 0.24734875
    // 3: 0.25 at 101.2: entry fee the rest 0.01375, exit 0.013915; gross 0.3; net 0.272335
    expect(trades.map(row)).to.deep.equal([
      ['long', 1, 1, '100', '101', '0.5', 'take_profit', 'market', 'taker', '0.055275', '0.444725', 1],
      ['long', 1, 2, '100', '101.1', '0.25', 'signal', 'market', 'taker', '0.02765125', '0.24734875', 1],
      ['long', 1, 2, '100', '101.2', '0.25', 'end_of_data', 'market', 'taker', '0.027665', '0.272335', 1],
    ]);
    const m = computeMetrics(record);
    expect([m.trades, m.positions, m.parts, m.feesExact]).to.deep.equal([3, 1, 3, '0.11059125']);
  });

  it('a limit exit rests and fills through its price as maker; the maker share of the fees', () => {
    const { trades, record } = run({
      rows: [
        [100, 100.5, 99.5, 100], // 0: long at market
        [100, 100.8, 99.8, 100.5], // 1: fill at 100; at the close: sell limit at 101.5
        [100.5, 101.5, 100.2, 101], // 2: reaches 101.5 but not through
        [101, 101.8, 100.8, 101.6], // 3: low first (0.2 vs 0.8), then up through 101.5: filled at 101.5
        [101.6, 101.8, 101.4, 101.7],
      ],
      script: {
        0: { kind: 'enter', side: 'long', size: qty1, reason: 'in' },
        1: { kind: 'exit', order: { type: 'limit', price: { price: 101.5 } }, reason: 'take it' },
      },
    });
    // fees 100 x 0.00055 + 101.5 x 0.0002 = 0.055 + 0.0203 = 0.0753; gross 1.5; net 1.4247
    expect(trades.map(row)).to.deep.equal([['long', 1, 3, '100', '101.5', '1', 'signal', 'market', 'taker', '0.0753', '1.4247', 1]]);
    expect(trades[0]!.exitLiquidity).to.equal('maker');
    const m = computeMetrics(record);
    expect(m.makerFeesExact).to.equal('0.0203');
    expect(m.makerFeeShare).to.be.closeTo(0.0203 / 0.0753, 1e-12);
  });
});
