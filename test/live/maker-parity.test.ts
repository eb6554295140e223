/**
 * Issue 12 end to end: strategies/stochrsi-maker.ts (post-only limit entries that expire, a trailing stop,
 * two partial targets) through `pyr live` against the local exchange in lockstep over the week of
 * test/live/parity.test.ts, and parity with `pyr backtest` (the simulator) on the same candles with
 * `intrabar: 'path'` and the same `limitFill` on both sides: fills, fees and net PnL to the last decimal.
 *
 * The lockstep is harness.ts's `orderLockstep`: it waits for events in the bot's journal, never for time.
 */
import { expect } from 'chai';
import path from 'node:path';
import type { CandleSeries, Trade } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { simBrokerFor } from '../../lib/brokers/sim/index.ts';
import { resolveRunSpec } from '../../lib/config/index.ts';
import { runSpec, tradeFromJson, type JournalRecord } from '../../lib/engine/index.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import maker from '../../strategies/stochrsi-maker.ts';
import { SAMPLE_15M, tempDir } from '../helpers.ts';
import { expectDiffMatchesEveryRow, orderLockstep, startBot, waitUntil, type LiveBot } from './harness.ts';

const DAY = 86_400_000;
const START = Date.UTC(2024, 7, 5); // the week of test/live/parity.test.ts
const END = START + 7 * DAY;
const LIMIT_FILL = 'through' as const;
const PARAMS = { intrabar: 'path', limitFill: LIMIT_FILL } as const;

/** The maker strategy's trades (rows: a position closed in parts is one row per part) in the simulator. */
function simMakerTrades(series: CandleSeries, from: number, to: number, params: Record<string, unknown> = PARAMS): Trade[] {
  const spec = resolveRunSpec({ definition: maker, strategyFile: 'strategies/stochrsi-maker.ts', instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, interval: '15', layers: [{ where: '--param', values: { ...params } }] });
  const { record } = runSpec(spec, { series, source: 'maker-parity', funding: { none: 'not charged' } }, simBrokerFor(spec), { runId: 'm', from, to });
  return [...record.trades];
}

const key = (t: Trade) => `${t.side} ${new Date(t.entryTime).toISOString()} → ${new Date(t.exitTime).toISOString()} ${t.exitReason} qty ${t.qty.toFixed()}`;
const money = (t: Trade) => ({ key: key(t), entryPrice: t.entryPrice.toFixed(), exitPrice: t.exitPrice.toFixed(), entryFee: t.entryFee.toFixed(), exitFee: t.exitFee.toFixed(), netPnl: t.netPnl.toFixed(), entryLiquidity: t.entryLiquidity ?? 'taker' });

describe('pyr live against the local exchange: stochrsi-maker (limits, trailing stop, partial targets)', function () {
  this.timeout(600_000);
  const tmp = tempDir('pyr-maker-');
  let ex: Sandbox;
  let bot: LiveBot;
  let records: JournalRecord[];
  let live: Trade[];
  let sim: Trade[];
  let exitCode: number | null;
  let journal: string;
  let simDefault: Trade[];

  before(async () => {
    const series = (await readCandleFile(SAMPLE_15M)).series;
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: START, balance: 10000, limitFill: LIMIT_FILL });
    journal = path.join(tmp.dir, 'journal.jsonl');
    bot = startBot(ex, journal, tmp.dir, ['--strategy', 'stochrsi-maker', '--param', `intrabar=${PARAMS.intrabar}`, `limitFill=${PARAMS.limitFill}`]);
    await waitUntil(() => bot.output().includes('Trading BTCUSDT'), 'the bot to start', 60_000, bot);
    await orderLockstep(ex, series, bot, START, END);
    exitCode = await bot.stop('SIGINT');
    records = bot.records();
    live = records.flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));
    // The simulator's rows that closed within the week (the live session leaves the last position open).
    sim = simMakerTrades(series, START, END).filter((t) => t.exitReason !== 'end_of_data');
    // The default two-level rule (intrabar 'stop-first'), same limitFill.
    simDefault = simMakerTrades(series, START, END, { limitFill: LIMIT_FILL }).filter((t) => t.exitReason !== 'end_of_data');
  });
  after(async () => {
    if (bot && !bot.exited) await bot.stop('SIGKILL');
    await ex?.stop();
    if (process.env.PYR_KEEP) console.log('kept', tmp.dir);
    else tmp.cleanup();
  });

  it('stops cleanly and trades with post-only limits, partial targets and the trailing stop', () => {
    expect(exitCode, bot.output().slice(-2000)).to.equal(0);
    expect(live.length, bot.output().slice(-3000)).to.be.greaterThan(3);
    expect(live.some((t) => t.entryLiquidity === 'maker'), 'a maker entry').to.equal(true);
    const positions = new Set(live.map((t) => t.positionId));
    expect(positions.size, 'a position closed in parts').to.be.lessThan(live.length);
  });

  it('gives the same trade rows as pyr backtest: fills, fees and net PnL to the last decimal', () => {
    const a = live.map(money);
    const b = sim.slice(0, live.length).map(money);
    expect(a, `live:\n${live.map(key).join('\n')}\nsim:\n${sim.map(key).join('\n')}`).to.deep.equal(b);
    // A row the simulator closed within the week that live did not (or the other way) is a difference too.
    expect(live.length).to.equal(sim.length);
  });

  it('against the default intrabar rule (stop-first), differs only on positions with a counted ambiguous candle', () => {
    const byPosition = (ts: readonly Trade[]) => {
      const m = new Map<string, Trade[]>();
      for (const t of ts) m.set(`${t.side} ${new Date(t.entryTime).toISOString()}`, [...(m.get(`${t.side} ${new Date(t.entryTime).toISOString()}`) ?? []), t]);
      return m;
    };
    const lp = byPosition(live);
    const dp = byPosition(simDefault);
    expect([...lp.keys()], 'the same positions, entered on the same candles').to.deep.equal([...dp.keys()]);
    let differing = 0;
    for (const [k, rows] of lp) {
      const d = dp.get(k)!;
      if (JSON.stringify(rows.map(money)) === JSON.stringify(d.map(money))) continue;
      differing++;
      expect(d.some((t) => t.ambiguous), `position ${k} differs without an ambiguous candle:\nlive ${rows.map(key).join('; ')}\nsim ${d.map(key).join('; ')}`).to.equal(true);
    }
    expect(differing, 'the week has candles that reach two levels').to.be.greaterThan(0);
  });

  it('journals every expiry: the engine decides the cancel, and the exchange\'s answer follows', () => {
    const decided = records.flatMap((r) => (r.t === 'decision' && r.intents.length === 0 ? (r.outcomes as { cancel?: { orderId: string; reason: string } }[]).flatMap((o) => (o.cancel ? [o.cancel] : [])) : []));
    expect(decided.length, 'expired entries in the week').to.be.greaterThan(0);
    for (const c of decided) {
      expect(c.reason).to.match(/^expired after \d+ candles?$/);
      const answered = records.some((r) => r.t === 'note' && (r.message.startsWith(`order ${c.orderId} cancelled: `) || r.message.startsWith(`cancel of ${c.orderId}`)));
      expect(answered, `the answer to the cancel of ${c.orderId}`).to.equal(true);
    }
  });

  it('pyr diff on the journal matches every row, part by part, with no difference in fills, fees or net PnL', async () => {
    await expectDiffMatchesEveryRow(journal, tmp.dir, live.length);
  });
});
