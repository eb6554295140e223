/**
 * computeMetrics over the 3,452 trades of the independent reference implementation
 * (../shared/reference/BTCUSDT-15m-trades.csv, Python + exact decimals). The expected totals are the
 * ones its README states, not numbers pyr produced. Gated on that file (requireShared): it is not in the
 * repository.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { D, type Trade } from '../../lib/core/index.ts';
import { computeMetrics, formatTradeStatsLine } from '../../lib/report/index.ts';
import { REF_TRADES, requireShared } from '../helpers.ts';
import { makeRun } from './fixtures.ts';

const REASON = { sl: 'stop_loss', tp: 'take_profit', signal: 'signal' } as const;

function referenceTrades(): { trades: Trade[]; barsHeld: number[] } {
  const [head, ...lines] = readFileSync(REF_TRADES, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])) as Record<string, string>);
  const trades = rows.map(
    (r): Trade => ({
      id: Number(r.id),
      side: r.side as 'long' | 'short',
      signalTime: Number(r.signal_time),
      entryTime: Number(r.entry_time),
      exitTime: Number(r.exit_time),
      entryPrice: new D(r.entry_price!),
      exitPrice: new D(r.exit_price!),
      qty: new D(r.qty!),
      stopLoss: new D(r.sl_price!),
      takeProfit: new D(r.tp_price!),
      exitReason: REASON[r.exit_reason as keyof typeof REASON],
      entryFee: new D(r.entry_fee!),
      exitFee: new D(r.exit_fee!),
      fees: new D(r.fees!),
      funding: new D(0),
      grossPnl: new D(r.gross_pnl!),
      netPnl: new D(r.net_pnl!),
      entryReason: 'reference',
      exitDetail: r.exit_reason!,
      ambiguous: r.sl_tp_both_touched === 'True',
      qtyRaisedToMin: true,
    }),
  );
  return { trades, barsHeld: rows.map((r) => Number(r.bars_held)) };
}

describe('report/metrics on the reference trades', function () {
  before(function () {
    requireShared(this, REF_TRADES);
  });

  it('reproduces the totals of the reference README exactly', () => {
    const { trades, barsHeld } = referenceTrades();
    const m = computeMetrics(makeRun({ times: [], equity: [], trades, intervalMs: 15 * 60_000 }));
    expect(m.trades).to.equal(3452);
    expect(m.wins).to.equal(1380);
    expect(m.losses).to.equal(2072);
    expect(m.exits).to.include({ stop_loss: 1860, take_profit: 665, signal: 927, end_of_data: 0 });
    expect(m.grossPnlExact).to.equal('-16.3141');
    expect(m.feesExact).to.equal('293.513303765');
    expect(m.netPnlExact).to.equal('-309.827403765');
    expect(m.ambiguousExits).to.equal(7);
    // The reference has no counterfactual column: ambiguous trades keep their own net PnL.
    expect(m.netPnlIfTargetFirstExact).to.equal('-309.827403765');
    // bars_held is the reference's own exit_idx − entry_idx
    expect(m.avgBarsHeld).to.be.closeTo(barsHeld.reduce((a, b) => a + b, 0) / barsHeld.length, 1e-9);
    // 1380 / 3452 = 0.4 − 0.8 / 3452 = 0.39976… → 39.98%; −309.8274… → -$309.83
    expect(formatTradeStatsLine(m)).to.equal('Overall Trade Statistics: Total PnL: -$309.83, Win Rate: 39.98% (1380/3452)');
  });
});
