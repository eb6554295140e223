/**
 * Funding in a backtest, with the real Bybit funding history (the committed sample, data/sample): each
 * trade pays qty x price x rate at every settlement it is open across (entry < t <= exit), longs paying
 * positive rates, shorts receiving them. The expectation is computed here from the two CSV files.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { D as Decimal } from '../../lib/core/money.ts';
import { SAMPLE_15M, SAMPLE_FUNDING, parseCsv, runCli, tempDir } from '../helpers.ts';

describe('pyr backtest charges funding from the funding history', function () {
  this.timeout(60_000);
  const tmp = tempDir('pyr-funding-');
  after(() => tmp.cleanup());

  it('charges every settlement a position is open across, and reports it', async () => {
    const out = path.join(tmp.dir, 'run');
    const r = await runCli(['backtest', '--candles', SAMPLE_15M, '--funding', SAMPLE_FUNDING, '--from', '2024-08-01', '--to', '2024-08-31', '--out', out, '--json', '--param', 'takeProfitPct=0.03', 'stopLossPct=0.02'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.meta.funding.charged).to.equal(true);
    const opens = new Map(parseCsv(readFileSync(SAMPLE_15M, 'utf8')).map((c) => [Number(c.timestamp), c.open!]));
    const rates = parseCsv(readFileSync(SAMPLE_FUNDING, 'utf8')).map((f) => ({ t: Number(f.timestamp), rate: f.fundingRate! }));
    const trades = parseCsv(readFileSync(path.join(out, 'trades.csv'), 'utf8'));
    let charged = 0;
    let total = new Decimal(0);
    for (const t of trades) {
      const entry = Number(t.entryTime);
      const exit = Number(t.exitTime);
      let expected = new Decimal(0);
      for (const f of rates) {
        if (f.t > entry && f.t <= exit) {
          const sign = t.side === 'long' ? 1 : -1;
          expected = expected.add(new Decimal(t.qty!).mul(opens.get(f.t)!).mul(f.rate).mul(sign));
          charged++;
        }
      }
      expect(new Decimal(t.funding!).toString(), `trade ${t.id}`).to.equal(expected.toString());
      expect(new Decimal(t.netPnl!).toString()).to.equal(new Decimal(t.grossPnl!).sub(t.fees!).sub(t.funding!).toString());
      total = total.add(expected);
    }
    expect(charged, 'the month has trades held across settlements').to.be.greaterThan(5);
    expect(new Decimal(summary.metrics.fundingExact).toString()).to.equal(total.toString());
  });

  it('says funding was not charged when there is no history', async () => {
    const r = await runCli(['backtest', '--candles', SAMPLE_15M, '--from', '2024-08-01', '--to', '2024-08-05', '--out', path.join(tmp.dir, 'none'), '--json'], tmp.dir);
    const summary = JSON.parse(r.stdout);
    expect(summary.meta.funding.charged).to.equal(false);
    expect(summary.meta.funding.detail).to.match(/no funding history/);
  });
});
