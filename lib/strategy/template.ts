/**
 * The text `pyr new strategy <name>` writes: a small but real strategy (RSI mean reversion with a stop
 * loss and a take profit, longs and optional shorts) and its test, written with the test kit. Both
 * compile and run as they are; the test's expected intents are worked out by hand in its comments.
 *
 * How the files import pyr is worked out when they are written (lib/cli/new.ts): by the package name,
 * `'pyr'`, in a folder that has pyr installed; else by a relative path to the TypeScript sources of the
 * pyr that writes them (pyr's own checkout, like the built-in strategies, or a folder without pyr).
 */

export interface TemplateImports {
  /** The strategy's name (kebab-case); also its file name. */
  readonly name: string;
  /** Import specifier of pyr's strategy API (`'pyr'`, or a path to `lib/strategy/index.ts`), from the strategy file. */
  readonly api: string;
  /** Import specifier of pyr's indicators (`'pyr'`, or a path to `lib/indicators/index.ts`), from the strategy file. */
  readonly indicators: string;
  /** Import specifier of the test kit (`'pyr'`, or a path to `lib/testkit/index.ts`), from the test file. */
  readonly testkit: string;
  /** Import specifier of the strategy file, from the test file. */
  readonly strategy: string;
}

/** The strategy file's import lines: one when the API and the indicators come from the same place ('pyr'). */
function strategyImports(t: TemplateImports): string {
  const api = 'crossedAbove, crossedBelow, defineStrategy, type Strategy';
  if (t.api === t.indicators) return `import { Rsi, ${api} } from '${t.api}';`;
  return `import { Rsi } from '${t.indicators}';\nimport { ${api} } from '${t.api}';`;
}

/** The strategy file. */
export function strategyTemplate(t: TemplateImports): string {
  return `/**
 * ${t.name}: RSI mean reversion (written by \`pyr new strategy\`; make it yours).
 *
 * Rules, on each closed candle:
 * - flat: BUY when the RSI crosses up through \`oversold\` (the dip is turning), SELL short when it
 *   crosses down through \`overbought\` (with \`allowShorts\`);
 * - long: EXIT once the RSI is at or above \`exitLevel\`; short: EXIT once it is at or below it;
 * - every entry carries a stop loss and a take profit as fractions of its fill price, which the broker
 *   (the simulator in a backtest, the exchange live) watches between candles.
 *
 * Backtest: pyr backtest --strategy ${t.name} --from 2024-03-01 --to 2024-03-07
 * Parameters: pyr backtest --strategy ${t.name} --param oversold=25 --param stopLossPct=0.005
 */
${strategyImports(t)}

export default defineStrategy({
  name: '${t.name}',
  description: 'RSI mean reversion: buy RSI turning up from oversold, short it turning down from overbought, exit at the middle',
  // A typed schema: validated, settable with --param key=value or a config file, listed by \`pyr strategies\`.
  params: {
    rsiPeriod: { type: 'number', default: 14, min: 2, max: 200, integer: true, description: 'RSI length (Wilder smoothing)' },
    oversold: { type: 'number', default: 30, min: 0, max: 100, description: 'BUY when the RSI crosses up through this level' },
    overbought: { type: 'number', default: 70, min: 0, max: 100, description: 'SELL short when the RSI crosses down through this level' },
    exitLevel: { type: 'number', default: 50, min: 0, max: 100, description: 'Exit a long at or above this RSI, a short at or below it' },
    allowShorts: { type: 'boolean', default: true, description: 'Also take short entries' },
    stopLossPct: { type: 'number', default: 0.01, min: 0, max: 0.5, description: 'Stop loss as a fraction of the entry fill price (0 = none)' },
    takeProfitPct: { type: 'number', default: 0.02, min: 0, max: 5, description: 'Take profit as a fraction of the entry fill price (0 = none)' },
    usdtAmountPerTrade: { type: 'number', default: 10, min: 0.000001, description: 'USDT value of each entry' },
  },
  // Candles fed before the first decision counts. Wilder's RSI remembers its start, so give it time to forget.
  warmup: (p) => p.rsiPeriod * 10 + 1,
  create(p): Strategy {
    // Fresh state per run: never keep state outside create().
    const rsi = new Rsi({ period: p.rsiPeriod });
    let prev = NaN; // the previous candle's RSI
    const size = { unit: 'quote', amount: p.usdtAmountPerTrade } as const;
    const stopLoss = p.stopLossPct > 0 ? { pct: p.stopLossPct } : undefined;
    const takeProfit = p.takeProfitPct > 0 ? { pct: p.takeProfitPct } : undefined;
    return {
      onCandle(candle, ctx) {
        rsi.update(candle.close);
        const now = rsi.value; // undefined until there are enough candles for an RSI (rsi.warmup)
        if (now === undefined) return;
        const before = prev;
        prev = now;
        const side = ctx.position.side; // as the broker reports it: 'flat', 'long' or 'short'
        if (side === 'flat') {
          if (crossedAbove(before, p.oversold, now, p.oversold)) {
            return { kind: 'enter', side: 'long', size, stopLoss, takeProfit, reason: \`RSI \${now.toFixed(1)} up through \${p.oversold}\` };
          }
          if (p.allowShorts && crossedBelow(before, p.overbought, now, p.overbought)) {
            return { kind: 'enter', side: 'short', size, stopLoss, takeProfit, reason: \`RSI \${now.toFixed(1)} down through \${p.overbought}\` };
          }
          return; // nothing to do
        }
        if (side === 'long' && now >= p.exitLevel) return { kind: 'exit', reason: \`RSI \${now.toFixed(1)} back to \${p.exitLevel}\` };
        if (side === 'short' && now <= p.exitLevel) return { kind: 'exit', reason: \`RSI \${now.toFixed(1)} back to \${p.exitLevel}\` };
      },
      // Shown on the live console and in reports.
      status: () => ({ indicators: { rsi: rsi.value ?? NaN } }),
    };
  },
});
`;
}

/**
 * The strategy's test, written with the test kit; mocha globals and node:assert only. Its
 * `/// <reference types="mocha" />` declares describe/it to TypeScript wherever the file is compiled:
 * in pyr's checkout `npm run build` compiles strategies/ with node's types only.
 */
export function strategyTestTemplate(t: TemplateImports): string {
  return `/**
 * Tests of ${t.name} with pyr's strategy test kit: hand-made candles in, intents per candle out, no files
 * and no network. The expected values are worked out by hand in the comments: when you change the
 * strategy's rules, work them out again.
 *
 * Run: the command \`pyr new strategy\` printed, or, where mocha and tsx are installed,
 * \`npx mocha --no-config --no-package --node-option import=tsx <this file>\` (without --no-config, the
 * \`spec\` of a .mocharc file would run the files it names too).
 */
/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { closes, runStrategy } from '${t.testkit}';
import strategy from '${t.strategy}';

// RSI with period 2 is easy to follow by hand: the first value averages the first 2 moves, then each
// average is half the new move plus half the old average; RSI = 100 - 100 / (1 + gain / loss).
const CLOSES = [
  100, //  0
  99, //   1
  98, //   2 gain 0, loss 1: RSI 0 (the first value; nothing to cross from)
  97, //   3 gain 0, loss 1: RSI 0
  97.5, // 4 gain 0.25, loss 0.5: RSI 33.3, up through 30: BUY
  97.5, // 5 the buy fills at this open, 97.5. gain 0.125, loss 0.25: RSI 33.3 < 50, hold
  98, //   6 gain 0.3125, loss 0.125: RSI 71.4 >= 50: EXIT
  98, //   7 the exit fills at 98; flat. gain 0.15625, loss 0.0625: RSI 71.4, not down through 70
  97, //   8 gain 0.078125, loss 0.53125: RSI 12.8, down through 70: SELL short
  96.5, // 9 the short fills at 97. gain 0.0390625, loss 0.515625: RSI 7.0 <= 50: EXIT
  96.5, // 10 the exit fills at 96.5; flat. RSI 7.0 does not cross 30
];

describe('${t.name}', () => {
  it('buys RSI turning up from oversold, shorts it turning down from overbought, exits at the middle', () => {
    const run = runStrategy(strategy, { params: { rsiPeriod: 2 }, candles: closes(CLOSES) });
    assert.deepEqual(
      run.intents.map((x) => [x.index, x.intents[0]!.kind, x.intents[0]!.kind === 'enter' ? x.intents[0]!.side : '']),
      [
        [4, 'enter', 'long'],
        [6, 'exit', ''],
        [8, 'enter', 'short'],
        [9, 'exit', ''],
      ],
    );
    // Orders fill at the next candle's open; the 1 % stop and 2 % target are never touched here.
    assert.deepEqual(
      run.trades.map((t) => [t.side, t.entryPrice.toString(), t.exitPrice.toString(), t.exitReason]),
      [
        ['long', '97.5', '98', 'signal'],
        ['short', '97', '96.5', 'signal'],
      ],
    );
  });

  it('entries carry the size, stop loss and take profit of the params', () => {
    const run = runStrategy(strategy, { params: { rsiPeriod: 2, stopLossPct: 0.005, takeProfitPct: 0.03, usdtAmountPerTrade: 25 }, candles: closes(CLOSES) });
    const entry = run.intents[0]!.intents[0]!;
    assert.equal(entry.kind, 'enter');
    if (entry.kind !== 'enter') return;
    assert.deepEqual(entry.size, { unit: 'quote', amount: 25 });
    assert.deepEqual(entry.stopLoss, { pct: 0.005 });
    assert.deepEqual(entry.takeProfit, { pct: 0.03 });
  });

  it('without allowShorts the overbought turn is not traded', () => {
    const run = runStrategy(strategy, { params: { rsiPeriod: 2, allowShorts: false }, candles: closes(CLOSES) });
    assert.deepEqual(run.intents.map((x) => [x.index, x.intents[0]!.kind]), [[4, 'enter'], [6, 'exit']]);
  });

  it('a long exits once the RSI reaches exitLevel (a fixed position: no broker)', () => {
    // 100, 99, 100: gain 0.5, loss 0.5, RSI 50 >= 50: EXIT on candle 2. With exitLevel 60 it holds.
    const exitAt50 = runStrategy(strategy, { params: { rsiPeriod: 2 }, position: 'long', candles: closes([100, 99, 100]) });
    assert.deepEqual(exitAt50.byCandle.map((x) => x.map((i) => i.kind)), [[], [], ['exit']]);
    const holdAt60 = runStrategy(strategy, { params: { rsiPeriod: 2, exitLevel: 60 }, position: 'long', candles: closes([100, 99, 100]) });
    assert.deepEqual(holdAt60.intents, []);
  });
});
`;
}
