import net from 'node:net';
import { expect } from 'chai';
import { startSandbox } from '../../lib/sandbox/index.ts';
import { M15, T0, historyRows, restClient, tinySeries, waitFor, wsClient } from './helpers.ts';

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('sandbox clock and lifecycle', function () {
  this.timeout(20000);

  it('runs the replay at a speed factor: candles close on their own and kline confirm:true is pushed', async () => {
    // 15 minutes of market per 50 ms of wall time.
    const ex = await startSandbox({ series: tinySeries(historyRows(12)), interval: '15', clock: { speed: M15 / 50 }, tickMs: 5 });
    const { ws, updates } = wsClient(ex);
    try {
      ws.subscribeV5(['kline.15.BTCUSDT'], 'linear');
      await waitFor(() => updates('kline.15.BTCUSDT').some((m) => (m.data as Array<{ confirm: boolean }>)[0]!.confirm), 5000, 'a confirmed candle');
      // The confirm push comes at the candle's end on the replay clock: the clock is at or past that end
      // (exactly at it when the push is seen within the same tick), never before it.
      const confirmed = updates('kline.15.BTCUSDT').map((m) => (m.data as Array<{ confirm: boolean; start: number; end: number }>)[0]!).find((k) => k.confirm)!;
      expect(confirmed.start).to.equal(T0);
      expect(ex.now()).to.be.at.least(confirmed.start + M15);
      await waitFor(() => ex.state().finished, 5000, 'the end of the replay');
      expect(ex.now()).to.equal(T0 + 12 * M15);
      expect(ex.step()).to.equal(undefined);
      const k = await restClient(ex).getKline({ category: 'linear', symbol: 'BTCUSDT', interval: '15' });
      expect(k.result.list).to.have.length(12); // all closed, none after the clock
      expect(k.result.list[0]![0]).to.equal(String(T0 + 11 * M15));
    } finally {
      ws.closeAll(true);
      await ex.stop();
    }
  });

  it('steps through price points in order and advanceTo never goes back', async () => {
    const ex = await startSandbox({ series: tinySeries([[100, 110, 95, 105], [105, 106, 104, 105]]), interval: '15' });
    try {
      const seen: Array<[number, number]> = [];
      while (seen.length < 4) {
        const t = ex.step();
        if (t === undefined) break;
        seen.push([t - T0, ex.state().price]);
      }
      expect(seen).to.deep.equal([[300_000, 95], [600_000, 110], [899_999, 105], [900_000, 105]]);
      ex.advanceTo(T0); // the past: ignored
      expect(ex.now()).to.equal(T0 + M15);
    } finally {
      await ex.stop();
    }
  });

  it('stop() closes the port, the sockets and the timers', async () => {
    const ex = await startSandbox({ series: tinySeries(historyRows(3)), interval: '15', clock: 'realtime' });
    const { ws, events } = wsClient(ex);
    ws.subscribeV5(['tickers.BTCUSDT'], 'linear');
    await waitFor(() => events.some((e) => e.event === 'update'), 3000, 'a ticker');
    expect(await listening(ex.port)).to.equal(true);
    ws.closeAll(true);
    await ex.stop();
    expect(await listening(ex.port)).to.equal(false);
    expect(ex.state().connections).to.equal(0);
  });
});
