/**
 * `pyr diff`: journals built with the real Journal class from two weeks of real 15-minute candles (the
 * committed sample, data/sample), with
 * live trades made by running the simulator here and then changed the way a live session differs
 * (slippage, a rejected order, a missed candle, a position found at start, a restart), plus the CLI path.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { D, candleAt, lowerBound, seriesFromCandles, type Candle, type Trade } from '../../lib/core/index.ts';
import { readCandleFile } from '../../lib/data/csv.ts';
import { simBrokerFor } from '../../lib/brokers/sim/index.ts';
import { Journal, runSpec, tradeToJson, type JournalInput } from '../../lib/engine/index.ts';
import { resolveStrategyFile } from '../../lib/strategy/index.ts';
import seed from '../../strategies/stochrsi-scalper.ts';
import { resolveAllParams, resolveRunSpec } from '../../lib/config/index.ts';
import { diff, type DiffFlags } from '../../lib/cli/diff.ts';
import { formatDiff, matchTrades, type DiffResult, type UnmatchedTrade } from '../../lib/report/diff.ts';
import { SAMPLE_15M, captureIo, runCli, tempDir } from '../helpers.ts';

const tmp = tempDir('pyr-diff-');
after(() => tmp.cleanup());
let n = 0;
const journalPath = () => path.join(tmp.dir, `j-${++n}.jsonl`);

const STEP = 15 * 60_000;
const LIVE_FROM = Date.UTC(2024, 7, 1); // 2024-08-01: a month of the sample before it for the warm-up
const LIVE_CANDLES = 14 * 96;
const TICK = 0.1;

const io = () => captureIo(tmp.dir);

/** The action, with captured output. */
async function run(file: string, flags: DiffFlags = {}): Promise<{ result: DiffResult; stdout: string }> {
  const o = io();
  const result = await diff(file, flags, o);
  return { result, stdout: o.stdout.text };
}

const cli = (argv: string[]) => runCli(['diff', ...argv], tmp.dir);

const params = resolveAllParams(seed.params, []);
const WARMUP = seed.warmup(params.strategy);
let warm: Candle[];
let liveCandles: Candle[];
let simTrades: Trade[];

/** The simulator on the given candles, trading from LIVE_FROM after all the candles before it. */
function simulate(candles: readonly Candle[]): Trade[] {
  const series = seriesFromCandles(candles);
  const start = lowerBound(series, LIVE_FROM);
  const spec = resolveRunSpec({ definition: seed, strategyFile: 'stochrsi-scalper', instrument: { exchange: 'bybit', category: 'linear', symbol: 'BTCUSDT' }, interval: '15', layers: [] });
  const { record } = runSpec(spec, { series, source: 'test', funding: { none: 'none' } }, simBrokerFor(spec), { runId: 'test', from: LIVE_FROM, to: candles.at(-1)!.openTime + STEP, warmup: start });
  return [...record.trades];
}

interface Build {
  warm?: readonly Candle[];
  live?: readonly Candle[];
  trades?: readonly Trade[];
  /** Records appended after the live candle that opens at the key. */
  after?: ReadonlyMap<number, readonly JournalInput[]>;
  sessionId?: string;
  params?: Record<string, unknown>;
}

function sessionRecord(b: Build): JournalInput {
  return {
    t: 'session',
    version: 1,
    sessionId: b.sessionId ?? 'pyrtest1',
    strategy: 'stochrsi-scalper',
    strategyFile: resolveStrategyFile('stochrsi-scalper'),
    params: { ...params.strategy, ...(b.params ?? {}) },
    runParams: params.run,
    symbol: 'BTCUSDT',
    category: 'linear',
    interval: '15',
    env: 'testnet',
    warmup: WARMUP,
    rules: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '5', source: 'instruments-info (testnet)' },
  };
}

/** Appends one session as `pyr live` writes it: session, warm-up candles, live candles with the trades closed on them. */
function appendSession(j: Journal, b: Build): void {
  j.append(sessionRecord(b));
  for (const c of b.warm ?? warm) j.append({ t: 'candle', live: false, candle: c });
  const trades = [...(b.trades ?? simTrades)];
  const live = b.live ?? liveCandles;
  // Trades that closed while pyr was down (on the exchange) are recorded when the session starts.
  for (const t of trades.filter((x) => x.exitTime < live[0]!.openTime)) j.append({ t: 'trade', trade: tradeToJson(t) });
  for (const c of live) {
    j.append({ t: 'candle', live: true, candle: c });
    for (const r of b.after?.get(c.openTime) ?? []) j.append(r);
    for (const t of trades.filter((x) => x.exitTime === c.openTime)) j.append({ t: 'trade', trade: tradeToJson(t) });
  }
  // Trades closing after the last candle record (none in these tests unless made so).
  for (const t of trades.filter((x) => x.exitTime > live.at(-1)!.openTime)) j.append({ t: 'trade', trade: tradeToJson(t) });
}

function writeJournal(b: Build = {}): string {
  const file = journalPath();
  const j = new Journal(file);
  appendSession(j, b);
  j.close();
  return file;
}

const byEntry = (list: readonly UnmatchedTrade[], entryTime: number) => list.find((u) => u.trade.entryTime === entryTime);

describe('pyr diff', function () {
  this.timeout(120_000);

  before(async () => {
    const { series } = await readCandleFile(SAMPLE_15M);
    const i0 = lowerBound(series, LIVE_FROM);
    expect(series.openTime[i0]).to.equal(LIVE_FROM);
    warm = [];
    for (let i = i0 - WARMUP; i < i0; i++) warm.push(candleAt(series, i));
    liveCandles = [];
    for (let i = i0; i < i0 + LIVE_CANDLES; i++) liveCandles.push(candleAt(series, i));
    // The sample has no gap.
    for (let i = 1; i < liveCandles.length; i++) expect(liveCandles[i]!.openTime - liveCandles[i - 1]!.openTime).to.equal(STEP);
    simTrades = simulate([...warm, ...liveCandles]);
    expect(simTrades.length).to.be.greaterThan(20);
  });

  it('an identical journal: every trade matched with zero differences', async () => {
    const { result, stdout } = await run(writeJournal());
    const s = result.summary;
    expect(s.matched).to.equal(simTrades.length);
    expect([s.liveOnly, s.simOnly, s.exitMismatches]).to.deep.equal([0, 0, 0]);
    for (const m of result.matched) {
      expect(m.entrySlippage.isZero() && m.exitSlippage.isZero() && m.feeDiff.isZero() && m.netPnlDiff.isZero() && m.qtyDiff.isZero()).to.equal(true);
      expect(m.sameExitCandle && m.sameExitReason).to.equal(true);
    }
    const net = simTrades.reduce((a, t) => a.add(t.netPnl), new D(0));
    expect(s.liveNetPnl.toFixed()).to.equal(net.toFixed());
    expect(s.simNetPnl.toFixed()).to.equal(net.toFixed());
    expect(s.netPnlDiff.isZero() && s.feeDiff.isZero()).to.equal(true);
    expect([s.avgEntrySlippageBps, s.avgExitSlippageBps]).to.deep.equal([0, 0]);
    expect(result.context!.warmupCandles).to.equal(WARMUP);
    expect(result.context!.liveCandles).to.equal(LIVE_CANDLES);
    expect(stdout).to.include(`Matched trades (${simTrades.length})`);
    expect(stdout).to.include(`Trades: ${simTrades.length} matched, 0 live only, 0 simulated only`);
    expect(stdout).to.not.match(/\x1b\[/);
    const colored = formatDiff(result, { color: true });
    expect(colored).to.include('\x1b[1mSummary\x1b[0m');
    expect(colored.replace(/\x1b\[[0-9;]*m/g, '')).to.equal(formatDiff(result, { color: false }));
  });

  it('a live entry a few ticks worse is matched with its slippage in quote and bps', async () => {
    const long = simTrades.find((t) => t.side === 'long' && t.id > 3)!;
    const short = simTrades.find((t) => t.side === 'short' && t.id > 3)!;
    // Long bought 3 ticks higher; short sold 2 ticks lower: both against the trader.
    const shifted = (t: Trade, by: string): Trade => {
      const entryPrice = t.entryPrice.add(by);
      const move = new D(by).mul(t.qty).mul(t.side === 'long' ? -1 : 1);
      return { ...t, entryPrice, grossPnl: t.grossPnl.add(move), netPnl: t.netPnl.add(move) };
    };
    const trades = simTrades.map((t) => (t === long ? shifted(t, '0.3') : t === short ? shifted(t, '-0.2') : t));
    const { result } = await run(writeJournal({ trades }));
    expect(result.summary.matched).to.equal(simTrades.length);
    expect(result.summary.liveOnly + result.summary.simOnly).to.equal(0);

    const mLong = result.matched.find((m) => m.entryTime === long.entryTime)!;
    expect(mLong.entrySlippage.toFixed()).to.equal('0.3');
    const longBps = (3 * TICK) / long.entryPrice.toNumber() * 10_000;
    expect(mLong.entrySlippageBps).to.be.closeTo(longBps, 1e-9);
    expect(mLong.exitSlippage.isZero()).to.equal(true);
    // net PnL lower by 0.3 x qty (0.001 BTC) = 0.0003 USDT; fees unchanged
    expect(mLong.netPnlDiff.toFixed()).to.equal('-0.0003');
    expect(mLong.feeDiff.isZero()).to.equal(true);

    const mShort = result.matched.find((m) => m.entryTime === short.entryTime)!;
    expect(mShort.entrySlippage.toFixed()).to.equal('0.2');
    const shortBps = (2 * TICK) / short.entryPrice.toNumber() * 10_000;
    expect(mShort.entrySlippageBps).to.be.closeTo(shortBps, 1e-9);
    expect(mShort.netPnlDiff.toFixed()).to.equal('-0.0002');

    const s = result.summary;
    expect(s.netPnlDiff.toFixed()).to.equal('-0.0005');
    expect(s.avgEntrySlippageBps!).to.be.closeTo((longBps + shortBps) / simTrades.length, 1e-9);
    expect(s.avgExitSlippageBps).to.equal(0);
  });

  it('a live order rejected on its signal candle: simulated only, reason rejected order with the retCode', async () => {
    const gone = simTrades[10]!;
    const orderId = 'pyrtest1-11';
    const order = {
      id: orderId,
      purpose: 'entry' as const,
      side: gone.side === 'long' ? ('Buy' as const) : ('Sell' as const),
      positionSide: gone.side,
      size: { unit: 'quote' as const, amount: 10 },
      reduceOnly: false,
      reason: gone.entryReason,
      signalTime: gone.signalTime,
    };
    const after = new Map<number, JournalInput[]>([
      [
        gone.signalTime,
        [
          { t: 'order', order, qty: '0.001', refPrice: gone.entryPrice.toFixed() },
          { t: 'order-result', orderId, ok: false, retCode: 110007, retMsg: 'ab not enough for new order' },
          { t: 'rejected', orderId, reason: 'ab not enough for new order', code: 110007 },
        ],
      ],
    ]);
    const { result, stdout } = await run(writeJournal({ trades: simTrades.filter((t) => t !== gone), after }));
    expect(result.summary.matched).to.equal(simTrades.length - 1);
    expect(result.summary.liveOnly).to.equal(0);
    expect(result.simOnly).to.have.length(1);
    const u = result.simOnly[0]!;
    expect(u.trade.entryTime).to.equal(gone.entryTime);
    expect(u.reason.kind).to.equal('rejected-order');
    expect(u.reason.retCode).to.equal(110007);
    expect(u.reason.orderId).to.equal(orderId);
    expect(result.summary.netPnlDiff.toFixed()).to.equal(gone.netPnl.neg().toFixed());
    expect(stdout).to.include('rejected order (retCode 110007)');
  });

  it('a candle the live session never fed: the simulated trade it decided is reported as a missed candle', async () => {
    // The live session missed the candle (no record) and so never took the trade; --candles gives the
    // simulator the candle from the downloaded file.
    const gone = simTrades[20]!;
    const live = liveCandles.filter((c) => c.openTime !== gone.signalTime);
    const file = writeJournal({ live, trades: simTrades.filter((t) => t !== gone) });
    const { result, stdout } = await run(file, { candles: SAMPLE_15M });
    expect(result.summary.matched).to.equal(simTrades.length - 1);
    expect(result.liveOnly).to.have.length(0);
    expect(result.simOnly).to.have.length(1);
    expect(result.simOnly[0]!.trade.entryTime).to.equal(gone.entryTime);
    expect(result.simOnly[0]!.reason.kind).to.equal('missed-candle');
    expect(result.simOnly[0]!.reason.candle).to.equal(gone.signalTime);
    expect(stdout).to.include(`1 candle the journal has no record of taken from ${SAMPLE_15M}`);
  });

  it('a live trade whose deciding candle has no record: live only, missed candle', async () => {
    const kept = simTrades[30]!;
    const live = liveCandles.filter((c) => c.openTime !== kept.signalTime);
    const { result } = await run(writeJournal({ live }));
    const u = byEntry(result.liveOnly, kept.entryTime)!;
    expect(u, 'the live trade is unmatched').to.not.equal(undefined);
    expect(u.reason.kind).to.equal('missed-candle');
    expect(u.reason.candle).to.equal(kept.signalTime);
    // Without the candle the simulator's indicators differ for a while: whatever it did instead near the
    // gap is explained by the gap, and trades well before it still match.
    for (const s of result.simOnly.filter((x) => Math.abs(x.trade.signalTime - kept.signalTime) <= 3 * STEP)) expect(s.reason.kind).to.equal('missed-candle');
    for (const t of simTrades.filter((x) => x.exitTime < kept.signalTime)) expect(result.matched.some((m) => m.live.id === t.id)).to.equal(true);
    expect(result.context!.notes.join('\n')).to.include('1 candle between the first and the last missing from the replay');
  });

  it("a position found at start: live only, reason 'position already open'", async () => {
    const first = simTrades[0]!;
    const found: Trade = {
      ...first,
      id: 999,
      side: 'short',
      signalTime: LIVE_FROM - 8 * STEP,
      entryTime: LIVE_FROM - 8 * STEP,
      exitTime: LIVE_FROM - 8 * STEP,
      entryReason: 'position found at start',
      netPnl: new D('-1.25'),
      fees: new D('0'),
      entryFee: new D('0'),
      exitFee: new D('0'),
    };
    // Closed on the first live candle, before the simulator's first entry.
    const closedOn = LIVE_FROM;
    expect(first.entryTime).to.be.greaterThan(closedOn);
    const { result, stdout } = await run(writeJournal({ trades: [{ ...found, exitTime: closedOn }, ...simTrades] }));
    expect(result.summary.matched).to.equal(simTrades.length);
    expect(result.simOnly).to.have.length(0);
    expect(result.liveOnly).to.have.length(1);
    expect(result.liveOnly[0]!.trade.id).to.equal(999);
    expect(result.liveOnly[0]!.reason.kind).to.equal('already-open');
    expect(result.summary.netPnlDiff.toFixed()).to.equal('-1.25');
    expect(stdout).to.include('position already open: the position was already open when the session started');
  });

  it('a restart with the same settings: sessions replayed as one, overlapping candles deduplicated', async () => {
    const half = 7 * 96;
    const restartAt = liveCandles[half]!.openTime;
    // Session 2 warms up again on the last WARMUP candles before the restart (most of them already live in session 1).
    const all = [...warm, ...liveCandles];
    const k = all.findIndex((c) => c.openTime === restartAt);
    const file = journalPath();
    const j = new Journal(file);
    appendSession(j, { live: liveCandles.slice(0, half), trades: simTrades.filter((t) => t.exitTime < restartAt) });
    appendSession(j, { sessionId: 'pyrtest2', warm: all.slice(k - WARMUP, k), live: liveCandles.slice(half), trades: simTrades.filter((t) => t.exitTime >= restartAt) });
    j.close();
    const { result } = await run(file);
    expect(result.context!.sessions).to.equal(2);
    expect(result.context!.liveCandles).to.equal(LIVE_CANDLES);
    expect(result.context!.warmupCandles).to.equal(WARMUP);
    expect(result.summary.matched).to.equal(simTrades.length);
    expect(result.summary.liveOnly + result.summary.simOnly).to.equal(0);
  });

  it('a restart after a day down: the trades signalled while pyr was not running are missed candles', async () => {
    const half = 7 * 96;
    const restartAt = liveCandles[half]!.openTime;
    const downFrom = restartAt - 96 * STEP;
    const all = [...warm, ...liveCandles];
    const k = all.findIndex((c) => c.openTime === restartAt);
    const missed = simTrades.filter((t) => t.signalTime >= downFrom && t.signalTime < restartAt);
    expect(missed.length).to.be.greaterThan(0);
    const file = journalPath();
    const j = new Journal(file);
    appendSession(j, { live: liveCandles.slice(0, half - 96), trades: simTrades.filter((t) => t.signalTime < downFrom && t.exitTime < downFrom) });
    // The session-1 trade still open when it went down closed on the exchange: recorded by session 2.
    appendSession(j, { sessionId: 'pyrtest2', warm: all.slice(k - WARMUP, k), live: liveCandles.slice(half), trades: simTrades.filter((t) => !missed.includes(t) && t.exitTime >= downFrom) });
    j.close();
    const { result, stdout } = await run(file);
    expect(result.context!.liveCandles).to.equal(LIVE_CANDLES - 96);
    expect(result.summary.matched).to.equal(simTrades.length - missed.length);
    expect(result.liveOnly).to.have.length(0);
    expect(result.simOnly.map((u) => u.trade.entryTime)).to.deep.equal(missed.map((t) => t.entryTime));
    for (const u of result.simOnly) {
      expect(u.reason.kind).to.equal('missed-candle');
      expect(u.reason.candle).to.equal(u.trade.signalTime);
      expect(u.reason.detail).to.include('only fed as a warm-up candle after a restart');
    }
    expect(stdout).to.include(`One-sided trades: ${missed.length} missed candle`);
  });

  it('sessions with different settings are refused, naming the change; --session picks one', async () => {
    const file = journalPath();
    const j = new Journal(file);
    appendSession(j, { live: liveCandles.slice(0, 96), trades: simTrades.filter((t) => t.exitTime < LIVE_FROM + 96 * STEP) });
    appendSession(j, { sessionId: 'pyrtest2', params: { stopLossPct: 0.01 }, warm: [], live: liveCandles.slice(96, 192), trades: [] });
    j.close();
    const r = await cli([file]);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.include('params.stopLossPct 0.005 → 0.01');
    expect(r.stderr).to.include('--session');
    const one = await cli([file, '--session', '1', '--json']);
    expect(one.code, one.stderr).to.equal(0);
    const j1 = JSON.parse(one.stdout);
    const expected = simTrades.filter((t) => t.exitTime < LIVE_FROM + 96 * STEP).length;
    // The simulator replays only the first day; its last trade may close at the end of the data.
    expect(j1.summary.liveTrades).to.equal(expected);
    expect(j1.summary.matched).to.be.at.least(expected - 1);
  });

  it('CLI: text exit 0; --json parses with decimals as exact strings', async () => {
    const long = simTrades.find((t) => t.side === 'long')!;
    const trades = simTrades.map((t) => (t === long ? { ...t, exitPrice: t.exitPrice.sub('0.5'), netPnl: t.netPnl.sub('0.0005') } : t));
    const file = writeJournal({ trades });
    const text = await cli([file]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.include('Summary');
    const r = await cli([file, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout);
    expect(j.summary.matched).to.equal(simTrades.length);
    expect(j.summary.netPnlDiff).to.equal('-0.0005');
    const m = j.matched.find((x: { entryTime: number }) => x.entryTime === long.entryTime);
    // Sold 0.5 lower than simulated: 0.5 against the trader, 0.5 / simulated exit x 10^4 bps.
    expect(m.exitSlippage).to.equal('0.5');
    expect(m.exitSlippageBps).to.be.closeTo((0.5 / long.exitPrice.toNumber()) * 10_000, 1e-9);
    expect(m.live.entryPrice).to.equal(long.entryPrice.toFixed());
    expect(j.context.sessions).to.equal(1);
  });

  it('CLI errors: corrupt line (DataError naming file and line), missing journal, no session, no candles', async () => {
    const file = writeJournal();
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[4] = '{"t":"candle","live":fal';
    const bad = path.join(tmp.dir, 'corrupt.jsonl');
    writeFileSync(bad, lines.join('\n'));
    const r = await cli([bad]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(`${bad}, line 5: not a journal record`);
    expect(r.stdout).to.equal('');

    // A record that parses but lacks what the diff needs: named by its line too.
    const tradeLine = lines.findIndex((l) => l.includes('"t":"trade"'));
    const noNet = [...readFileSync(file, 'utf8').split('\n')];
    const rec = JSON.parse(noNet[tradeLine]!);
    delete rec.trade.netPnl;
    noNet[tradeLine] = JSON.stringify(rec);
    const bad2 = path.join(tmp.dir, 'no-net.jsonl');
    writeFileSync(bad2, noNet.join('\n'));
    const r2 = await cli([bad2]);
    expect(r2.code).to.equal(2);
    expect(r2.stderr).to.include(`${bad2}, line ${tradeLine + 1}: a malformed trade record: netPnl is missing`);

    const missing = await cli([path.join(tmp.dir, 'nope.jsonl')]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('journal not found');

    const noSession = path.join(tmp.dir, 'nosession.jsonl');
    const j1 = new Journal(noSession);
    j1.append({ t: 'candle', live: true, candle: liveCandles[0]! });
    j1.close();
    const ns = await cli([noSession]);
    expect(ns.code).to.equal(2);
    expect(ns.stderr).to.match(/^pyr: .*nosession\.jsonl: no session record/);

    const noCandles = path.join(tmp.dir, 'nocandles.jsonl');
    const j2 = new Journal(noCandles);
    j2.append(sessionRecord({}));
    j2.append({ t: 'stop', reason: 'signal' });
    j2.close();
    const nc = await cli([noCandles]);
    expect(nc.code).to.equal(2);
    expect(nc.stderr).to.include('no candle records');
    expect(nc.stderr.trim().split('\n')).to.have.length(1);

    const warmOnly = journalPath();
    const j3 = new Journal(warmOnly);
    j3.append(sessionRecord({}));
    for (const c of warm.slice(0, 50)) j3.append({ t: 'candle', live: false, candle: c });
    j3.close();
    const wo = await cli([warmOnly]);
    expect(wo.code).to.equal(2);
    expect(wo.stderr).to.include('no live candle records');
  });

  it('matchTrades alone: guards, a sim sizing refusal, a live position still open at the end, an earlier exit', () => {
    const [t0, t1] = [simTrades[5]!, simTrades[6]!];
    // t3: from the 41st trade on, the first decided at least two candles into its UTC day, so that the guard
    // said two candles before it was said that same day.
    const t3 = simTrades.find((t, i) => i >= 40 && t.signalTime % 86_400_000 >= 2 * STEP)!;
    const t2 = simTrades.at(-1)!;
    // The live twin of t4 hit its stop on its entry candle; the simulator held on until t4.exitTime and
    // so never took t5, which the live session then did.
    const t4 = simTrades.find((t, i) => i > 45 && simTrades[i + 1]!.entryTime - t.exitTime <= 8 * STEP && t.exitTime - t.entryTime >= 2 * STEP)!;
    const t5 = simTrades[simTrades.indexOf(t4) + 1]!;
    const t4Live: Trade = { ...t4, exitTime: t4.entryTime, exitReason: 'stop_loss' };
    const t5Live: Trade = { ...t5, entryTime: t4.entryTime + STEP, signalTime: t4.entryTime, exitTime: t4.entryTime + 2 * STEP };
    const times = liveCandles.map((c) => c.openTime);
    const res = matchTrades([t1, t4Live, t5Live], [t0, t2, t3, t4], {
      intervalMs: STEP,
      liveCandles: times,
      liveSkips: [{ time: t0.signalTime, reason: 'guard: 3 losing trades in a row reached maxConsecutiveLosses 3; no entries until 00:00 UTC' }],
      // Said once, earlier that UTC day: it covers the rest of the day.
      liveGuards: [{ at: t3.signalTime - 2 * STEP + 3_000, reason: 'guard: daily loss -5.10 reached maxDailyLoss 5; no entries until 00:00 UTC' }],
      simRejections: [{ signalTime: t1.signalTime, reason: 'qty 0 is below the minimum 0.001' }],
      liveOpenAtEnd: { side: t2.side, entryTime: t2.entryTime },
    });
    expect(res.summary.matched).to.equal(1);
    expect(res.matched[0]!.sameExitCandle).to.equal(false);
    expect(res.matched[0]!.sameExitReason).to.equal(t4.exitReason === 'stop_loss');
    expect(res.summary.exitMismatches).to.equal(1);
    expect(byEntry(res.simOnly, t0.entryTime)!.reason.kind).to.equal('guard');
    const g = byEntry(res.simOnly, t3.entryTime)!.reason;
    expect(g.kind).to.equal('guard');
    expect(g.detail).to.include('maxDailyLoss 5');
    expect(byEntry(res.simOnly, t2.entryTime)!.reason.kind).to.equal('open-at-end');
    const l = byEntry(res.liveOnly, t1.entryTime)!;
    expect(l.reason.kind).to.equal('different-fill');
    expect(l.reason.detail).to.include("simulator's sizing refused");
    const busy = byEntry(res.liveOnly, t5Live.entryTime)!;
    expect(busy.reason.kind).to.equal('different-fill');
    expect(busy.reason.otherTradeId).to.equal(t4.id);
    expect(res.summary.reasons).to.deep.equal({ guard: 2, 'open-at-end': 1, 'different-fill': 2 });
  });

  it("--strategy replaces a session's strategy file that is gone", async () => {
    const file = journalPath();
    const j = new Journal(file);
    j.append({ ...(sessionRecord({}) as Record<string, unknown>), strategyFile: path.join(tmp.dir, 'moved-away.ts') } as JournalInput);
    for (const c of [...warm, ...liveCandles.slice(0, 96)]) j.append({ t: 'candle', live: c.openTime >= LIVE_FROM, candle: c });
    j.close();
    const gone = await cli([file]);
    expect(gone.code).to.equal(2);
    expect(gone.stderr).to.include('moved-away.ts');
    expect(gone.stderr).to.include('--strategy');
    const ok = await cli([file, '--strategy', 'stochrsi-scalper', '--json']);
    expect(ok.code, ok.stderr).to.equal(0);
    const out = JSON.parse(ok.stdout);
    // No live trades in this journal: every simulated trade of the first day is simulated only.
    expect(out.summary.liveTrades).to.equal(0);
    expect(out.summary.simTrades).to.equal(out.summary.simOnly);
    expect(out.summary.simTrades).to.be.greaterThan(0);
  });
});
