/**
 * Strategy output is checked at run time, where intents enter the engine (backtest and live alike):
 * TypeScript's types are not there when a strategy runs, and a typo must never become an order.
 */
import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { D } from '../../lib/core/index.ts';
import { IntentError, checkOutput } from '../../lib/engine/intents.ts';
import { defineStrategy } from '../../lib/strategy/index.ts';
import { runStrategy, closes } from '../../lib/testkit/index.ts';
import { runCli, scriptedStrategy, tempDir } from '../helpers.ts';

const T = Date.UTC(2024, 0, 1, 10, 15);
const origin = { strategy: 'probe', file: '/x/probe.ts', time: T, close: 100 };
const size = { unit: 'quote', amount: 10 };

function refused(out: unknown): IntentError {
  try {
    checkOutput(out, origin);
  } catch (err) {
    expect(err).to.be.instanceOf(IntentError);
    return err as IntentError;
  }
  throw new Error(`accepted: ${JSON.stringify(out)}`);
}

describe('strategy output is checked at run time (checkOutput)', () => {
  it('accepts nothing, one intent, a list, and levels on the right side of the price', () => {
    expect(checkOutput(undefined, origin)).to.deep.equal([]);
    expect(checkOutput(null, origin)).to.deep.equal([]);
    expect(checkOutput([], origin)).to.deep.equal([]);
    const long = { kind: 'enter', side: 'long', size, stopLoss: { price: 99 }, takeProfit: { pct: 0.01 }, reason: 'r' };
    const short = { kind: 'enter', side: 'short', size: { unit: 'base', qty: 0.001 }, stopLoss: { pct: 0.02 }, takeProfit: { price: 95 }, reason: 'r' };
    expect(checkOutput(long, origin)).to.deep.equal([long]);
    expect(checkOutput([{ kind: 'exit', reason: 'x' }, short], origin)).to.have.length(2);
  });

  const cases: Array<[string, unknown, string, string]> = [
    ["kind 'hold' (used to close a long)", { kind: 'hold' }, 'kind', '"hold"'],
    ["side 'buy' (used to open a short)", { kind: 'enter', side: 'buy', size, reason: '' }, 'side', '"buy"'],
    ["side 'sideways'", { kind: 'enter', side: 'sideways', size, reason: '' }, 'side', '"sideways"'],
    ['a long stop above the price', { kind: 'enter', side: 'long', size, stopLoss: { price: 101 }, reason: '' }, 'stopLoss.price', '101'],
    ['a long target below the price', { kind: 'enter', side: 'long', size, takeProfit: { price: 99 }, reason: '' }, 'takeProfit.price', '99'],
    ['a short stop below the price', { kind: 'enter', side: 'short', size, stopLoss: { price: 100 }, reason: '' }, 'stopLoss.price', '100'],
    ['a negative take-profit pct', { kind: 'enter', side: 'long', size, takeProfit: { pct: -0.01 }, reason: '' }, 'takeProfit.pct', '-0.01'],
    ['a NaN stop pct', { kind: 'enter', side: 'long', size, stopLoss: { pct: NaN }, reason: '' }, 'stopLoss.pct', 'NaN'],
    ['a long stop 100% away', { kind: 'enter', side: 'long', size, stopLoss: { pct: 1 }, reason: '' }, 'stopLoss.pct', '1'],
    ['a level with both pct and price', { kind: 'enter', side: 'long', size, stopLoss: { pct: 0.01, price: 99 }, reason: '' }, 'stopLoss', '{"pct":0.01,"price":99}'],
    ['an infinite price', { kind: 'enter', side: 'short', size, stopLoss: { price: Infinity }, reason: '' }, 'stopLoss.price', 'Infinity'],
    ['no size', { kind: 'enter', side: 'long', reason: '' }, 'size', 'undefined'],
    ['a size unit of "usd"', { kind: 'enter', side: 'long', size: { unit: 'usd', amount: 10 }, reason: '' }, 'size.unit', '"usd"'],
    ['a zero amount', { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 0 }, reason: '' }, 'size.amount', '0'],
    ['an amount as text', { kind: 'enter', side: 'long', size: { unit: 'quote', amount: '10' }, reason: '' }, 'size.amount', '"10"'],
    ['a NaN base qty', { kind: 'enter', side: 'long', size: { unit: 'base', qty: NaN }, reason: '' }, 'size.qty', 'NaN'],
    ['a typo in a field name (no stop would be set)', { kind: 'enter', side: 'long', size, stoploss: { pct: 0.01 }, reason: '' }, 'stoploss', '{"pct":0.01}'],
    ['a reason that is not text', { kind: 'exit', reason: 42 }, 'reason', '42'],
    ['a string', 'buy', 'the intent', '"buy"'],
    ['a bad second intent of a list', [{ kind: 'exit', reason: '' }, { kind: 'enter', side: 'long', size: { unit: 'quote', amount: -5 }, reason: '' }], '[1].size.amount', '-5'],
  ];
  for (const [what, out, field, got] of cases) {
    it(`refuses ${what}, naming the field and the value`, () => {
      const e = refused(out);
      expect(e.field).to.equal(field);
      expect(e.exitCode).to.equal(2);
      expect(e.message).to.include(`${field} `);
      expect(e.message).to.include(`got ${got}`);
      expect(e.message).to.include('strategy "probe" (/x/probe.ts)');
      expect(e.message).to.include('2024-01-01T10:15:00.000Z');
    });
  }

  it('suggests the field a wrongly cased name meant', () => {
    expect(refused({ kind: 'enter', side: 'long', size, stoploss: { pct: 0.01 } }).message).to.include('did you mean "stopLoss"?');
  });
});

describe('a bad intent or warm-up in pyr backtest: exit 2, one line, nothing written', () => {
  const tmp = tempDir('pyr-intent-');
  after(() => tmp.cleanup());
  const candles = path.join(tmp.dir, 'c.csv');
  before(() => {
    const rows = ['timestamp,open,high,low,close,volume,turnover'];
    for (let i = 0; i < 400; i++) rows.push(`${Date.UTC(2024, 0, 1) + i * 900_000},100,101,99,100,1,`);
    writeFileSync(candles, `${rows.join('\n')}\n`);
  });
  const strategy = (name: string, onCandle: string, warmup = '0') => {
    const file = path.join(tmp.dir, `${name}.ts`);
    writeFileSync(
      file,
      `import { defineStrategy } from ${JSON.stringify(path.resolve('lib/strategy/index.ts'))};
export default defineStrategy({ name: ${JSON.stringify(name)}, description: 'test', params: {}, warmup: () => ${warmup},
  create() { let i = 0; return { onCandle(c, ctx) { i++; ${onCandle} } }; } });\n`,
    );
    return file;
  };

  it("{ kind: 'hold' } while long: the run stops at that candle naming the file, time, field and value", async () => {
    const file = strategy('holds', "if (i === 3) return { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 10 }, reason: 'in' }; if (i === 6) return { kind: 'hold' };");
    const out = path.join(tmp.dir, 'out-hold');
    const r = await runCli(['backtest', '--strategy', file, '--candles', candles, '--from', '2024-01-01', '--to', '2024-01-03', '--out', out, '--json'], tmp.dir);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.include(file);
    expect(r.stderr).to.include('2024-01-01T01:15:00.000Z');
    expect(r.stderr).to.match(/kind must be 'enter' or 'exit', got "hold"/);
    expect(r.stdout).to.equal('');
    expect(existsSync(out)).to.equal(false);
  });

  it("side: 'buy' never opens a short", async () => {
    const file = strategy('buys', "if (i === 3) return { kind: 'enter', side: 'buy', size: { unit: 'quote', amount: 10 }, reason: 'in' };");
    const r = await runCli(['backtest', '--strategy', file, '--candles', candles, '--out', path.join(tmp.dir, 'o2'), '--json'], tmp.dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/side must be 'long' or 'short', got "buy"/);
  });

  for (const [w, shown] of [['1.5', '1.5'], ['-1', '-1'], ['NaN', 'NaN'], ["'10'", '"10"'], ['undefined', 'undefined']] as const) {
    it(`a warmup() of ${w} is refused at start`, async () => {
      const file = strategy(`warm${w.replace(/\W/g, '')}`, 'return undefined;', w);
      const out = path.join(tmp.dir, `ow${w.replace(/\W/g, '')}`);
      const r = await runCli(['backtest', '--strategy', file, '--candles', candles, '--out', out], tmp.dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(`warmup() must return a whole number of candles, 0 or more, got ${shown}`);
      expect(existsSync(out)).to.equal(false);
    });
  }
});

describe('[exit, enter] on one candle reverses the position (simulator)', () => {
  // Long on candle 1, reversed to short on candle 4, closed on candle 7.
  const reverser = scriptedStrategy('reverser', (i, _c, ctx) => {
    const size = { unit: 'quote', amount: 100 } as const;
    if (i === 1) return { kind: 'enter', side: 'long', size, reason: 'go long' };
    if (i === 4) return [{ kind: 'exit', reason: 'reverse' }, { kind: 'enter', side: 'short', size, reason: 'go short' }];
    if (i === 7 && ctx.position.side === 'short') return { kind: 'exit', reason: 'done' };
    return undefined;
  });

  it('exits first, then enters the other side at the same open; nothing is skipped', () => {
    const run = runStrategy(reverser, { candles: closes([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]) });
    expect([...run.skipped.keys()]).to.deep.equal([]);
    expect(run.trades.map((t) => [t.side, t.entryPrice.toNumber(), t.exitPrice.toNumber(), t.exitReason, t.exitDetail])).to.deep.equal([
      ['long', 101, 104, 'signal', 'reverse'],
      ['short', 104, 107, 'signal', 'done'],
    ]);
    // Both fills happen on candle 5 (the open after the deciding close).
    expect(run.trades[0]!.exitTime).to.equal(run.trades[1]!.entryTime);
    expect(run.positions).to.deep.equal(['flat', 'flat', 'long', 'long', 'long', 'short', 'short', 'short', 'flat', 'flat']);
  });

  it('when flat, [exit, enter] just enters; a second exit or entry on the candle is skipped', () => {
    const s = defineStrategy({
      name: 'x', description: 'test', params: {}, warmup: () => 0,
      create: () => ({
        onCandle: () => [
          { kind: 'exit', reason: 'a' },
          { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 100 }, reason: 'b' },
          { kind: 'enter', side: 'short', size: { unit: 'quote', amount: 100 }, reason: 'c' },
        ],
      }),
    });
    const run = runStrategy(s, { candles: closes([100, 101]) });
    const first = run.decisions[0]!.outcomes.map((o) => ('order' in o ? o.order.positionSide : o.skipped));
    expect(first).to.deep.equal(['exit ignored: no position is open', 'long', 'an order is already in flight']);
  });
});

describe('issue 12 intents are checked at run time: order, trailingStop, partial takeProfit, exit fraction, cancel, amend', () => {
  /** tick 0.1, qty step 0.001, min qty 0.01: the partial-target quantities are checked against these. */
  const rules = { symbol: 'TESTUSDT', category: 'linear', tickSize: new D('0.1'), qtyStep: new D('0.001'), minQty: new D('0.01'), minNotional: new D(0), source: 'test' };
  const long = { side: 'long', entryPrice: 100 } as const;
  const o = (position?: { side: 'long' | 'short' | 'flat'; entryPrice: number }) => ({ ...origin, rules, ...(position ? { position } : {}) });
  const enter = (extra: object) => ({ kind: 'enter', side: 'long', size, reason: '', ...extra });
  const refusedAt = (out: unknown, org: ReturnType<typeof o>): IntentError => {
    try {
      checkOutput(out, org);
    } catch (err) {
      expect(err).to.be.instanceOf(IntentError);
      return err as IntentError;
    }
    throw new Error(`accepted: ${JSON.stringify(out)}`);
  };

  it('accepts every new field when well formed', () => {
    const full = enter({
      order: { type: 'limit', price: { pct: 0.001 }, postOnly: true, expiresAfter: 3 },
      stopLoss: { pct: 0.005 },
      trailingStop: { pct: 0.004, activation: { pct: 0.002 } },
      takeProfit: [{ pct: 0.005, fraction: 0.5 }, { price: 102, fraction: 0.5 }],
    });
    expect(checkOutput(full, o())).to.deep.equal([full]);
    expect(checkOutput(enter({ order: { type: 'stop', trigger: { price: 101 } }, trailingStop: { distance: 0.5 } }), o())).to.have.length(1);
    expect(checkOutput([{ kind: 'exit', fraction: 0.5, order: { type: 'limit', price: { pct: 0.002 } }, reason: 'x' }, { kind: 'cancel', reason: 'c' }], o(long))).to.have.length(2);
    expect(checkOutput({ kind: 'amend', stopLoss: { price: 99.5 }, takeProfit: [{ pct: 0.01, fraction: 1 }], trailingStop: { distance: 1 } }, o(long))).to.have.length(1);
  });

  const cases: Array<[string, unknown, string, string, ({ side: 'long' | 'short' | 'flat'; entryPrice: number } | undefined)?, string?]> = [
    ['an order type that does not exist', enter({ order: { type: 'limt', price: { pct: 0.01 } } }), 'order.type', '"limt"'],
    ['a limit without a price', enter({ order: { type: 'limit' } }), 'order.price', 'undefined'],
    ['a limit pct against the trader (negative)', enter({ order: { type: 'limit', price: { pct: -0.01 } } }), 'order.price.pct', '-0.01'],
    ["a long's limit pct of 100% (at or below zero)", enter({ order: { type: 'limit', price: { pct: 1 } } }), 'order.price.pct', '1'],
    ['a limit with both price and pct', enter({ order: { type: 'limit', price: { price: 99, pct: 0.01 } } }), 'order.price', '{"price":99,"pct":0.01}'],
    ['postOnly as text', enter({ order: { type: 'limit', price: { pct: 0.01 }, postOnly: 'yes' } }), 'order.postOnly', '"yes"'],
    ['expiresAfter 0', enter({ order: { type: 'limit', price: { pct: 0.01 }, expiresAfter: 0 } }), 'order.expiresAfter', '0'],
    ['expiresAfter 1.5', enter({ order: { type: 'limit', price: { pct: 0.01 }, expiresAfter: 1.5 } }), 'order.expiresAfter', '1.5'],
    ['a mis-cased postOnly', enter({ order: { type: 'limit', price: { pct: 0.01 }, postonly: true } }), 'order.postonly', 'true', undefined, 'did you mean "postOnly"?'],
    ["a long's stop trigger below the close", enter({ order: { type: 'stop', trigger: { price: 99 } } }), 'order.trigger.price', '99'],
    ["a long's stop trigger at the close", enter({ order: { type: 'stop', trigger: { price: 100 } } }), 'order.trigger.price', '100'],
    ["a short's stop trigger above the close", enter({ side: 'short', order: { type: 'stop', trigger: { price: 101 } } }), 'order.trigger.price', '101'],
    ["a short's stop trigger pct of 100%", enter({ side: 'short', order: { type: 'stop', trigger: { pct: 1 } } }), 'order.trigger.pct', '1'],
    ['a stop given a price instead of a trigger', enter({ order: { type: 'stop', price: { pct: 0.01 } } }), 'order.price', '{"pct":0.01}'],
    ['a trailing stop with both pct and distance', enter({ trailingStop: { pct: 0.01, distance: 1 } }), 'trailingStop', '{"pct":0.01,"distance":1}'],
    ['a trailing stop of 100%', enter({ trailingStop: { pct: 1 } }), 'trailingStop.pct', '1'],
    ['a negative trailing distance', enter({ trailingStop: { distance: -1 } }), 'trailingStop.distance', '-1'],
    ['an activation given as a price', enter({ trailingStop: { pct: 0.01, activation: { price: 101 } } }), 'trailingStop.activation.price', '101'],
    ['an activation pct of 0', enter({ trailingStop: { pct: 0.01, activation: { pct: 0 } } }), 'trailingStop.activation.pct', '0'],
    ['an empty list of targets', enter({ takeProfit: [] }), 'takeProfit', '[]'],
    ['target fractions summing to 1.2', enter({ takeProfit: [{ pct: 0.01, fraction: 0.6 }, { pct: 0.02, fraction: 0.6 }] }), 'takeProfit', '[{"pct":0.01,"fraction":0.6},{"pct":0.02,"fraction":0.6}]'],
    ['a target fraction of 0', enter({ takeProfit: [{ pct: 0.01, fraction: 0 }] }), 'takeProfit[0].fraction', '0'],
    ['a target without a fraction', enter({ takeProfit: [{ pct: 0.01 }] }), 'takeProfit[0].fraction', 'undefined'],
    ["a long's second target below the close", enter({ takeProfit: [{ pct: 0.01, fraction: 0.5 }, { price: 99, fraction: 0.5 }] }), 'takeProfit[1].price', '99'],
    ['a misspelt fraction', enter({ takeProfit: [{ pct: 0.01, fration: 0.5 }] }), 'takeProfit[0].fration', '0.5', undefined, 'did you mean "fraction"?'],
    // qty 0.025 (base): 0.7 of it is 0.0175 -> 0.017 (step 0.001), leaving 0.008 below the minimum 0.01.
    ['targets leaving a remainder below the minimum qty', enter({ size: { unit: 'base', qty: 0.025 }, takeProfit: [{ pct: 0.01, fraction: 0.7 }] }), 'takeProfit', '[{"pct":0.01,"fraction":0.7}]', undefined, 'the remainder 0.008 of 0.025'],
    // 0.2 of 0.025 is 0.005: below the minimum 0.01.
    ['a target part below the minimum qty', enter({ size: { unit: 'base', qty: 0.025 }, takeProfit: [{ pct: 0.01, fraction: 0.2 }, { pct: 0.02, fraction: 0.8 }] }), 'takeProfit', '[{"pct":0.01,"fraction":0.2},{"pct":0.02,"fraction":0.8}]', undefined, 'part 1 of 0.025 is 0.005'],
    // A quote size is sized at the limit price: 2.5 USDT / 99 = 0.02525... -> 0.025.
    ['targets below the minimum for a quote size sized at the limit', enter({ size: { unit: 'quote', amount: 2.5 }, order: { type: 'limit', price: { price: 99 } }, takeProfit: [{ pct: 0.01, fraction: 0.7 }] }), 'takeProfit', '[{"pct":0.01,"fraction":0.7}]', undefined, '(qty sized at 99)'],
    ['an exit fraction of 0', { kind: 'exit', fraction: 0, reason: '' }, 'fraction', '0'],
    ['an exit fraction above 1', { kind: 'exit', fraction: 1.5, reason: '' }, 'fraction', '1.5'],
    ['an exit with a stop order', { kind: 'exit', order: { type: 'stop', trigger: { pct: 0.01 } }, reason: '' }, 'order.type', '"stop"'],
    ['an exit limit pct of 100%', { kind: 'exit', order: { type: 'limit', price: { pct: 1 } }, reason: '' }, 'order.price.pct', '1'],
    ['a cancel naming an order id', { kind: 'cancel', orderId: 'x', reason: '' }, 'orderId', '"x"'],
    ['an amendment that moves nothing', { kind: 'amend', reason: '' }, 'stopLoss', 'undefined', long],
    ["a long's stop amended above the price", { kind: 'amend', stopLoss: { price: 101 } }, 'stopLoss.price', '101', long],
    // Entered at 110, the price is 100 now: 5% below the entry is 104.5, above the price.
    ["a long's stop pct from the entry that lands above the price", { kind: 'amend', stopLoss: { pct: 0.05 } }, 'stopLoss.pct', '0.05', { side: 'long', entryPrice: 110 }, 'Bybit refuses a level on the wrong side'],
    ["a short's target amended above the price", { kind: 'amend', takeProfit: [{ price: 101, fraction: 1 }] }, 'takeProfit[0].price', '101', { side: 'short', entryPrice: 100 }],
    ['a misspelt amend field', { kind: 'amend', stopLos: { price: 99 } }, 'stopLos', '{"price":99}', long, 'did you mean "stopLoss"?'],
    ['a misspelt amend kind', { kind: 'amnd', stopLoss: { price: 99 } }, 'kind', '"amnd"', long, 'did you mean "amend"?'],
  ];
  for (const [what, out, field, got, position, more] of cases) {
    it(`refuses ${what}, naming the field and the value`, () => {
      const e = refusedAt(out, o(position));
      expect(e.field).to.equal(field);
      expect(e.exitCode).to.equal(2);
      expect(e.message).to.include(`${field} `);
      expect(e.message).to.include(`got ${got}`);
      if (more) expect(e.message).to.include(more);
    });
  }
});

describe('issue 12 intents in the simulator through the test kit', () => {
  it('a limit, then cancel: the decisions carry the order with its resolved price, then the cancel', () => {
    const s = scriptedStrategy('limit-cancel', (i, _c, ctx) => {
      if (i === 0) return { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 100 }, order: { type: 'limit', price: { pct: 0.01 } }, reason: 'dip' };
      if (i === 1 && ctx.orders.length === 1) return { kind: 'cancel', reason: 'no dip' };
      if (i === 2) return { kind: 'cancel', reason: 'again' };
      return undefined;
    });
    const run = runStrategy(s, { candles: closes([100, 100.5, 101, 101.5]) });
    expect(run.trades).to.deep.equal([]);
    const [first, second, third] = run.decisions;
    // 100 x (1 - 0.01) = 99, on the tick 0.01.
    const placed = first!.outcomes[0]!;
    expect('order' in placed && placed.order.order).to.deep.include({ type: 'limit', postOnly: false });
    expect('order' in placed && placed.order.order?.type === 'limit' && placed.order.order.price.toFixed()).to.equal('99');
    expect('cancel' in second!.outcomes[0]! && second!.outcomes[0]!.cancel.orderId).to.equal(placed && 'order' in placed ? placed.order.id : '');
    expect(third!.outcomes[0]).to.deep.equal({ skipped: 'cancel ignored: no entry order is pending' });
  });
});
