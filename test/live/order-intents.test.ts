/**
 * Issue 12, the intents the maker strategy does not use, through `pyr live` against the local exchange
 * in lockstep (harness.ts `orderLockstep`), then `pyr diff` on the journal: the simulator must give the
 * same trades, part by part, with no difference in fills, fees or net PnL.
 *
 * A scripted strategy (written below) first places a post-only buy above the price (refused: it would
 * take liquidity), then walks through, four times long and four times short:
 *   1. a post-only limit far from the price, then `{ kind: 'cancel' }` on the next candle;
 *   2. a stop entry (`order: { type: 'stop', trigger: { pct } }`) with a stop loss and a target, which
 *      waits for its trigger;
 *   3. once in the position, `{ kind: 'amend' }`: the stop to break even when the price is past the
 *      entry, else a tighter stop, and the target moved; in the last two rounds the entry has two
 *      partial targets, and the amendment moves both nearer with other fractions;
 *   4. `{ kind: 'exit', fraction: 0.5 }` at market;
 *   5. `{ kind: 'exit', order: { type: 'limit', price: { pct } } }` for the rest, near (it fills, as a
 *      maker) or far (it expires after 2 candles, `expiresAfter`, and an exit at market follows).
 * Its decisions depend only on the candles, its position and its resting orders, so the simulator and
 * the live bot take the same path when they agree on fills.
 */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CandleSeries, Trade } from '../../lib/core/index.ts';
import { RestClientV5 } from 'bybit-api';
import { readCandleFile } from '../../lib/data/csv.ts';
import { tradeFromJson, type JournalRecord } from '../../lib/engine/index.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import { REPO, SAMPLE_15M, tempDir } from '../helpers.ts';
import { expectDiffMatchesEveryRow, orderLockstep, startBot, waitUntil, type LiveBot } from './harness.ts';

const M15 = 15 * 60_000;
const T0 = Date.UTC(2024, 7, 6, 10); // a candle inside the committed sample
const END = T0 + 2 * 96 * M15 + 8 * M15; // two days and two hours (the last round's limit exit expires and closes)

const STRATEGY = `import { defineStrategy } from ${JSON.stringify(path.join(REPO, 'lib/strategy/index.ts'))};
const T0 = ${T0};
export default defineStrategy({ name: 'order-script', description: 'issue 12: every intent once a side', params: {}, warmup: () => 0,
  create() {
    // Each round: the side, how far ahead the price must be for the break-even amend, the exit limit's distance.
    const rounds = [
      { side: 'long', ahead: 0.0005, limit: 0.0005 },
      { side: 'short', ahead: 0.0005, limit: 0.0005 },
      { side: 'long', ahead: 0.003, limit: 0.01 },
      { side: 'short', ahead: 0.003, limit: 0.0005 },
      { side: 'long', ahead: 0.003, limit: 0.0005 },
      { side: 'short', ahead: 0.003, limit: 0.01 },
      { side: 'long', ahead: 0.0005, limit: 0.0005, parts: true },
      { side: 'short', ahead: 0.0005, limit: 0.0005, parts: true },
    ];
    let round = 0, step = -1, waited = 0;
    const size = { unit: 'quote', amount: 300 };
    return { onCandle(c, ctx) {
      if (c.openTime < T0 || round >= rounds.length) return undefined;
      const { side, ahead: by, limit, parts } = rounds[round];
      const pos = ctx.position;
      const entry = ctx.orders.find((o) => o.role === 'entry');
      const exit = ctx.orders.find((o) => o.role === 'exit');
      switch (step) {
        case -1:
          // Once, first: a post-only buy above the price would take liquidity: refused, as Bybit refuses it.
          step = 0;
          return { kind: 'enter', side: 'long', size, order: { type: 'limit', price: { price: c.close * 1.002 }, postOnly: true }, reason: 'crossing post-only' };
        case 0:
          step = 1;
          return { kind: 'enter', side, size, order: { type: 'limit', price: { pct: 0.03 }, postOnly: true }, reason: 'far limit' };
        case 1:
          step = 2;
          return entry ? { kind: 'cancel', reason: 'changed my mind' } : undefined;
        case 2:
          if (pos.side !== 'flat') { step = 3; waited = 0; return undefined; }
          if (entry) return undefined;
          return { kind: 'enter', side, size, order: { type: 'stop', trigger: { pct: 0.0015 } }, stopLoss: { pct: 0.01 }, takeProfit: parts ? [{ pct: 0.01, fraction: 0.5 }, { pct: 0.02, fraction: 0.5 }] : { pct: 0.04 }, reason: 'breakout' };
        case 3: {
          if (pos.side === 'flat') { step = 2; return undefined; }
          step = 4;
          const ahead = pos.side === 'long' ? c.close > pos.entryPrice * (1 + by) : c.close < pos.entryPrice * (1 - by);
          if (parts) return { kind: 'amend', stopLoss: { pct: 0.012 }, takeProfit: [{ pct: 0.002, fraction: 0.4 }, { pct: 0.004, fraction: 0.6 }], reason: 'targets nearer' };
          return ahead
            ? { kind: 'amend', stopLoss: { price: pos.entryPrice }, takeProfit: { pct: 0.03 }, reason: 'break even' }
            : { kind: 'amend', stopLoss: { pct: 0.012 }, takeProfit: { pct: 0.03 }, reason: 'tighter stop' };
        }
        case 4:
          if (pos.side === 'flat') { step = 0; round++; return undefined; }
          step = 5;
          return { kind: 'exit', fraction: 0.5, reason: 'half off' };
        case 5:
          if (pos.side === 'flat') { step = 0; round++; return undefined; }
          step = 6;
          return { kind: 'exit', order: { type: 'limit', price: { pct: limit }, expiresAfter: 2 }, reason: 'the rest at a limit' };
        default:
          if (pos.side === 'flat') { step = 0; round++; return undefined; }
          if (exit) return undefined;
          return { kind: 'exit', reason: 'the limit expired' };
      }
    } };
  } });
`;

describe('pyr live against the local exchange: cancel, stop entry, amend, partial and limit exits, and pyr diff', function () {
  this.timeout(300_000);
  const tmp = tempDir('pyr-live-orders-');
  let ex: Sandbox;
  let bot: LiveBot;
  let series: CandleSeries;
  let records: JournalRecord[];
  let trades: Trade[];
  let journal: string;

  before(async () => {
    series = (await readCandleFile(SAMPLE_15M)).series;
    const file = path.join(tmp.dir, 'order-script.ts');
    writeFileSync(file, STRATEGY);
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: T0 - 2 * M15, balance: 10000, limitFill: 'through' });
    journal = path.join(tmp.dir, 'journal.jsonl');
    bot = startBot(ex, journal, tmp.dir, ['--strategy', file, '--param', 'intrabar=path', 'limitFill=through']);
    await waitUntil(() => bot.output().includes('Trading BTCUSDT'), 'the bot to start', 60_000, bot);
    await orderLockstep(ex, series, bot, T0 - 2 * M15, END);
    expect(await bot.stop('SIGINT'), bot.output().slice(-3000)).to.equal(0);
    records = bot.records();
    trades = records.flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));
  });
  after(async () => {
    if (bot && !bot.exited) await bot.stop('SIGKILL');
    await ex?.stop();
    if (process.env.PYR_KEEP) console.log('kept', tmp.dir);
    else tmp.cleanup();
  });

  const notes = () => records.flatMap((r) => (r.t === 'note' ? [r.message] : []));
  const decided = (kind: string) => records.flatMap((r) => (r.t === 'decision' ? r.intents.filter((i) => i.kind === kind) : []));

  it('a post-only limit that would take liquidity is refused by the exchange (EC_PostOnlyWillTakeLiquidity), and nothing fills', () => {
    const ids = records.flatMap((r) => (r.t === 'order' && r.order.reason === 'crossing post-only' ? [r.order.id] : []));
    expect(ids).to.have.length(1);
    const rejected = records.filter((r) => r.t === 'rejected' && r.orderId === ids[0]);
    expect(rejected.map((r) => r.t === 'rejected' && r.reason)).to.deep.equal(['post-only order would have taken liquidity (EC_PostOnlyWillTakeLiquidity)']);
    expect(trades.some((t) => t.entryReason === 'crossing post-only')).to.equal(false);
  });

  it('cancels the far limit on the strategy\'s cancel, on both sides, with the strategy\'s reason', () => {
    const far = records.flatMap((r) => (r.t === 'order' && r.order.reason === 'far limit' ? [r.order.id] : []));
    expect(far.length).to.equal(8);
    for (const id of far) expect(notes(), id).to.include(`order ${id} cancelled: changed my mind`);
    expect(trades.some((t) => t.entryReason === 'far limit')).to.equal(false);
  });

  it('enters with triggered stop orders (taker), a long and a short', () => {
    const stops = trades.filter((t) => t.entryOrderType === 'stop');
    expect(new Set(stops.map((t) => t.side))).to.deep.equal(new Set(['long', 'short']));
    for (const t of stops) expect(t.entryLiquidity).to.equal('taker');
  });

  it('amends the open position\'s levels on the exchange and in the journal', () => {
    const amends = records.flatMap((r) => (r.t === 'decision' ? (r.outcomes as { amend?: { id: string } }[]).flatMap((o) => (o.amend ? [o.amend.id] : [])) : []));
    expect(amends.length, `${decided('amend').length} amend intents`).to.be.greaterThan(0);
    for (const id of amends) expect(notes().some((m) => m.startsWith(`amendment ${id} applied`)), id).to.equal(true);
    const reasons = new Set(decided('amend').map((i) => i.kind === 'amend' && i.reason));
    expect(reasons).to.deep.equal(new Set(['break even', 'tighter stop', 'targets nearer']));
    // A break-even stop is the entry price itself.
    for (const r of records) {
      if (r.t !== 'decision' || r.intents[0]?.kind !== 'amend' || r.intents[0].reason !== 'break even') continue;
      const amend = (r.outcomes[0] as { amend: { stopLoss: string } }).amend;
      const pos = [...records.slice(0, records.indexOf(r))].reverse().find((p) => p.t === 'position');
      expect(pos?.t === 'position' && String(pos.position.entryPrice)).to.equal(String(amend.stopLoss));
    }
  });

  it('moves open partial targets in place (/v5/order/amend): the parts are the new ones, of the qty still open', () => {
    const moved = notes().filter((m) => /^levels set: partial target \d moved to /.test(m));
    expect(moved.length, notes().join('\n')).to.be.greaterThan(1);
    const partRows = trades.filter((t) => t.exitReason === 'take_profit');
    expect(partRows.length, 'a part closed by a moved target').to.be.greaterThan(0);
  });

  it('cancels an exit limit that expired, then exits at market', () => {
    const expired = records.flatMap((r) => (r.t === 'decision' && r.intents.length === 0 ? (r.outcomes as { cancel?: { orderId: string; reason: string } }[]).flatMap((o) => (o.cancel ? [o.cancel] : [])) : []));
    expect(expired.length).to.be.greaterThan(0);
    for (const c of expired) expect(notes()).to.include(`order ${c.orderId} cancelled: expired after 2 candles`);
    expect(trades.some((t) => t.exitDetail === 'the limit expired')).to.equal(true);
  });

  it('closes half at market, then the rest with a limit (or at market once it expired), in rows of one position', () => {
    const half = trades.filter((t) => t.exitReason === 'signal' && t.exitReason !== undefined && t.exitDetail?.includes('half off'));
    expect(half.length, trades.map((t) => `${t.side} ${t.exitReason} ${t.qty.toFixed()} ${t.exitDetail}`).join('\n')).to.be.greaterThan(0);
    for (const h of half) {
      const rest = trades.filter((t) => t.positionId === h.positionId && t !== h);
      expect(rest.length, `the rest of position ${h.positionId}`).to.be.greaterThan(0);
    }
    expect(decided('exit').some((i) => i.kind === 'exit' && i.order?.type === 'limit')).to.equal(true);
  });

  it('pyr diff on the journal: every row matched, no difference in fills, fees or net PnL (an intent live refused is refused by the replay too)', async () => {
    // The last round's amendment puts a short's target above the price on that candle: refused, no order.
    expect(records.some((r) => r.t === 'decision' && (r.outcomes as { skipped?: string }[]).some((o) => /^intent refused: .*takeProfit\[0\]\.pct puts a short's take profit/.test(o.skipped ?? '')))).to.equal(true);
    await expectDiffMatchesEveryRow(journal, tmp.dir, trades.length);
  });
});

describe('pyr live restarted while its limit rests: the order is reconciled and keeps its expiry; an order pyr did not place is left alone', function () {
  this.timeout(300_000);
  const tmp = tempDir('pyr-live-rest-');
  let ex: Sandbox;
  const bots: LiveBot[] = [];
  after(async () => {
    for (const b of bots) if (!b.exited) await b.stop('SIGKILL');
    await ex?.stop();
    tmp.cleanup();
  });

  it('kill -9 with a resting limit, a manual order added meanwhile: after the restart pyr cancels its own at the expiry, and only its own', async () => {
    const series = (await readCandleFile(SAMPLE_15M)).series;
    const file = path.join(tmp.dir, 'rester.ts');
    writeFileSync(
      file,
      `import { defineStrategy } from ${JSON.stringify(path.join(REPO, 'lib/strategy/index.ts'))};
export default defineStrategy({ name: 'rester', description: 'test', params: {}, warmup: () => 0,
  create() { return { onCandle(c) {
    if (c.openTime === ${T0}) return { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 300 }, order: { type: 'limit', price: { pct: 0.03 }, postOnly: true, expiresAfter: 4 }, reason: 'resting' };
    return undefined;
  } }; } });\n`,
    );
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: T0 - 2 * M15, balance: 10000 });
    const journal = path.join(tmp.dir, 'journal.jsonl');
    const start = async () => {
      const b = startBot(ex, journal, tmp.dir, ['--strategy', file]);
      bots.push(b);
      await waitUntil(() => b.output().includes('Trading BTCUSDT'), 'the bot to start', 60_000, b);
      return b;
    };
    const first = await start();
    await orderLockstep(ex, series, first, T0 - 2 * M15, T0 + 2 * M15);
    const placed = first.records().flatMap((r) => (r.t === 'order' ? [r.order.id] : []));
    expect(placed).to.have.length(1);
    const id = placed[0]!;
    const rest = new RestClientV5({ key: ex.apiKey, secret: ex.apiSecret, baseUrl: ex.restUrl }, { timeout: 5000 });
    const open = async () => (await rest.getActiveOrders({ category: 'linear', symbol: 'BTCUSDT' })).result.list.map((o) => `${o.orderLinkId} ${o.orderStatus}`).sort();
    expect(await open()).to.deep.equal([`${id} New`]);
    await first.stop('SIGKILL');
    // A trader's own order, placed by hand while pyr is down.
    const manual = await rest.submitOrder({ category: 'linear', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Limit', qty: '0.001', price: '40000', orderLinkId: 'by-hand-1' });
    expect(manual.retCode, manual.retMsg).to.equal(0);

    const again = await start();
    await waitUntil(() => again.output().includes('by-hand-1'), 'the report of the order pyr did not place', 15_000, again);
    expect(again.output()).to.match(/order by-hand-1 on BTCUSDT was not placed by pyr; it is left alone/);
    await orderLockstep(ex, series, again, T0 + 2 * M15, T0 + 6 * M15);
    // Decided on T0's close with 4 candles: cancelled on the close of T0 + 4 candles, as if pyr had never stopped.
    const cancels = again.records().flatMap((r) => (r.t === 'decision' && r.intents.length === 0 ? (r.outcomes as { cancel?: { orderId: string; reason: string } }[]).flatMap((o) => (o.cancel ? [{ time: r.time, ...o.cancel }] : [])) : []));
    expect(cancels.map((c) => [c.orderId, c.time, c.reason])).to.deep.equal([[id, T0 + 4 * M15, 'expired after 4 candles']]);
    expect(again.records().some((r) => r.t === 'note' && r.message === `order ${id} cancelled: expired after 4 candles`)).to.equal(true);
    expect(await open()).to.deep.equal(['by-hand-1 New']);
  });
});
