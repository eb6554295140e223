/**
 * Strategy output is checked at run time, where intents enter the engine (backtest and live alike):
 * TypeScript's types are not there when a strategy runs, and a typo must never become an order.
 */
import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IntentError, checkOutput } from '../../lib/engine/intents.ts';
import { defineStrategy } from '../../lib/strategy/index.ts';
import { runStrategy, closes } from '../../lib/testkit/index.ts';
import { runCli, tempDir } from '../helpers.ts';

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
  const reverser = defineStrategy({
    name: 'reverser',
    description: 'test',
    params: {},
    warmup: () => 0,
    create() {
      let i = -1;
      return {
        onCandle(_c, ctx) {
          i++;
          const size = { unit: 'quote', amount: 100 } as const;
          if (i === 1) return { kind: 'enter', side: 'long', size, reason: 'go long' };
          if (i === 4) return [{ kind: 'exit', reason: 'reverse' }, { kind: 'enter', side: 'short', size, reason: 'go short' }];
          if (i === 7 && ctx.position.side === 'short') return { kind: 'exit', reason: 'done' };
          return undefined;
        },
      };
    },
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
