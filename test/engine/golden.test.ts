/**
 * The seed strategy over the real Bybit 15-minute candles (2023-12-01 to 2025-08-31), run as a user
 * runs it (the CLI), against the trades of an independent reference implementation
 * (../shared/reference, Python + exact decimals, cross-checked against backtrader).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATA_15M, REF_TRADES, parseCsv, requireShared, runCli, tempDir } from '../helpers.ts';

const REASON: Record<string, string> = { sl: 'stop_loss', tp: 'take_profit', signal: 'signal' };

describe('golden: seed strategy on real 15m candles vs the reference trades', function () {
  this.timeout(120_000);
  const tmp = tempDir();
  let summary: Record<string, unknown>;
  let trades: Record<string, string>[];
  let ref: Record<string, string>[];

  before(async function () {
    // 21 months of candles and the reference trades: only in the developers' data set.
    requireShared(this, DATA_15M, REF_TRADES);
    ref = parseCsv(readFileSync(REF_TRADES, 'utf8'));
    const out = path.join(tmp.dir, 'run');
    const r = await runCli(['backtest', '--candles', DATA_15M, '--from', '2023-12-01', '--to', '2025-08-31', '--out', out, '--json'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    summary = JSON.parse(r.stdout).metrics;
    trades = parseCsv(readFileSync(path.join(out, 'trades.csv'), 'utf8'));
  });
  after(() => tmp.cleanup());

  it('takes the same 3,452 trades', () => {
    expect(ref.length).to.equal(3452);
    expect(trades.length).to.equal(ref.length);
    expect(summary.trades).to.equal(3452);
  });

  it('matches every trade: side, candles, prices, qty, stop, target, reason, fees and PnL', () => {
    const mismatches: string[] = [];
    for (let i = 0; i < ref.length; i++) {
      const a = trades[i]!;
      const e = ref[i]!;
      const pairs: [string, string, string][] = [
        ['side', a.side!, e.side!],
        ['entryTime', a.entryTime!, e.entry_time!],
        ['exitTime', a.exitTime!, e.exit_time!],
        ['signalTime', a.signalTime!, e.signal_time!],
        ['exitReason', a.exitReason!, REASON[e.exit_reason!]!],
      ];
      const nums: [string, string, string][] = [
        ['entryPrice', a.entryPrice!, e.entry_price!],
        ['exitPrice', a.exitPrice!, e.exit_price!],
        ['qty', a.qty!, e.qty!],
        ['stopLoss', a.stopLoss!, e.sl_price!],
        ['takeProfit', a.takeProfit!, e.tp_price!],
        ['entryFee', a.entryFee!, e.entry_fee!],
        ['exitFee', a.exitFee!, e.exit_fee!],
        ['fees', a.fees!, e.fees!],
        ['grossPnl', a.grossPnl!, e.gross_pnl!],
        ['netPnl', a.netPnl!, e.net_pnl!],
      ];
      for (const [k, x, y] of pairs) if (x !== y) mismatches.push(`trade ${i + 1} ${k}: ${x} != ${y}`);
      // Exact decimal equality: compare as numbers written by two programs with different trailing zeros.
      for (const [k, x, y] of nums) if (Number(x) !== Number(y)) mismatches.push(`trade ${i + 1} ${k}: ${x} != ${y}`);
      if ((a.ambiguous === 'true') !== (e.sl_tp_both_touched === 'True')) mismatches.push(`trade ${i + 1} ambiguous: ${a.ambiguous} != ${e.sl_tp_both_touched}`);
      if (mismatches.length > 20) break;
    }
    expect(mismatches, mismatches.join('\n')).to.deep.equal([]);
  });

  it('matches the reference totals exactly', () => {
    expect(summary.wins).to.equal(1380);
    expect(summary.losses).to.equal(2072);
    expect(summary.grossPnlExact).to.equal('-16.3141');
    expect(summary.feesExact).to.equal('293.513303765');
    expect(summary.netPnlExact).to.equal('-309.827403765');
    expect(summary.ambiguousExits).to.equal(7);
    const exits = summary.exits as Record<string, number>;
    expect(exits.stop_loss).to.equal(1860);
    expect(exits.take_profit).to.equal(665);
    expect(exits.signal).to.equal(927);
    expect(exits.end_of_data ?? 0).to.equal(0);
  });
});
