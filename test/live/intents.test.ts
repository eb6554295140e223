/**
 * `pyr live` with a strategy that reverses its position with [exit, enter] on one candle and later
 * returns an invalid intent: the reversal is sent exit first, then the entry once flat; the bad intent is
 * refused (no order), journaled and logged, and the bot goes on. Real Bybit candles from the committed
 * sample, the local exchange in lockstep.
 */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CandleSeries } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { tradeFromJson } from '../../lib/engine/index.ts';
import { lowerBound } from '../../lib/core/index.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import { REPO, SAMPLE_15M, tempDir } from '../helpers.ts';
import { lockstep, startBot, waitUntil, type LiveBot } from './harness.ts';

const M15 = 15 * 60_000;
const T0 = Date.UTC(2024, 7, 6, 10); // a candle inside the sample

describe('pyr live: a reversal on one candle, and an invalid intent refused while the bot goes on', function () {
  this.timeout(120_000);
  const tmp = tempDir('pyr-live-intents-');
  let ex: Sandbox;
  let bot: LiveBot;
  let series: CandleSeries;

  before(async () => {
    series = (await readCandleFile(SAMPLE_15M)).series;
    const file = path.join(tmp.dir, 'flipper.ts');
    writeFileSync(
      file,
      `import { defineStrategy } from ${JSON.stringify(path.join(REPO, 'lib/strategy/index.ts'))};
const T0 = ${T0}, M15 = ${M15};
export default defineStrategy({ name: 'flipper', description: 'test', params: {}, warmup: () => 0,
  create() { return { onCandle(c, ctx) {
    const i = (c.openTime - T0) / M15;
    const size = { unit: 'quote', amount: 200 };
    if (i === 1) return { kind: 'enter', side: 'long', size, reason: 'in' };
    if (i === 3) return [{ kind: 'exit', reason: 'reverse' }, { kind: 'enter', side: 'short', size, reason: 'flip' }];
    if (i === 5) return { kind: 'hold', reason: 'a typo' };
    if (i === 6 && ctx.position.side === 'short') return { kind: 'exit', reason: 'out' };
    return undefined;
  } }; } });\n`,
    );
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: T0 - 2 * M15, balance: 10000 });
    bot = startBot(ex, path.join(tmp.dir, 'journal.jsonl'), tmp.dir, ['--strategy', file]);
    await waitUntil(() => bot.output().includes('Trading BTCUSDT'), 'the bot to start', 30_000, bot);
    await lockstep(ex, series, bot, T0 - 2 * M15, T0 + 9 * M15);
  });
  after(async () => {
    if (bot && !bot.exited) await bot.stop('SIGKILL');
    await ex?.stop();
    tmp.cleanup();
  });

  it('exits the long, then opens the short at the same price, with no order skipped', () => {
    const trades = bot.records().flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));
    const open = (t: number) => String(series.open[lowerBound(series, t)]);
    expect(trades.map((t) => [t.side, t.entryTime, t.exitTime, t.exitReason, t.entryPrice.toFixed(), t.exitPrice.toFixed()])).to.deep.equal([
      ['long', T0 + 2 * M15, T0 + 4 * M15, 'signal', open(T0 + 2 * M15), open(T0 + 4 * M15)],
      ['short', T0 + 4 * M15, T0 + 7 * M15, 'signal', open(T0 + 4 * M15), open(T0 + 7 * M15)],
    ]);
    const orders = bot.records().flatMap((r) => (r.t === 'order' ? [r.order] : []));
    expect(orders.map((o) => `${o.purpose} ${o.side}`)).to.deep.equal(['entry Buy', 'exit Sell', 'entry Sell', 'exit Buy']);
    expect(bot.records().filter((r) => r.t === 'rejected')).to.deep.equal([]);
    expect(bot.output()).to.not.include('already in flight');
    expect(ex.state().position.size.toString()).to.equal('0');
  });

  it('refuses the invalid intent without an order, journals it and goes on', () => {
    expect(bot.exited).to.equal(false);
    const notes = bot.records().filter((r) => r.t === 'note' && r.level === 'error');
    expect(notes.map((r) => (r as { message: string }).message)).to.deep.equal([
      `strategy "flipper" (${path.join(tmp.dir, 'flipper.ts')}) returned a bad intent on the candle at ${new Date(T0 + 5 * M15).toISOString()}: kind must be 'enter' or 'exit', got "hold"`,
    ]);
    const decision = bot.records().find((r) => r.t === 'decision' && r.time === T0 + 5 * M15) as { outcomes: { skipped?: string }[] } | undefined;
    expect(decision?.outcomes[0]?.skipped).to.match(/^intent refused: .*kind must be/);
    expect(bot.output()).to.include('kind must be \'enter\' or \'exit\', got "hold"');
    // Later candles were still decided: the short was closed on the candle after.
    const fed = bot.records().filter((r) => r.t === 'candle' && r.live).map((r) => (r as { candle: { openTime: number } }).candle.openTime);
    expect(fed).to.include(T0 + 8 * M15);
  });
});
