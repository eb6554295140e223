/**
 * Nothing pyr prints may hold the API key or the secret, also not Bybit's sign error, which echoes the
 * signed text (origin_string[timestamp + key + ...]). Against the local exchange, through the real SDK.
 */
import { expect } from 'chai';
import path from 'node:path';
import { readCandleFile } from '../../lib/data/csv.ts';
import { BybitRest, scrubSecrets } from '../../lib/brokers/bybit/index.ts';
import { ExchangeError } from '../../lib/core/index.ts';
import { startSandbox, type Sandbox } from '../../lib/sandbox/index.ts';
import { SAMPLE_15M, runCli, tempDir } from '../helpers.ts';

describe('Bybit errors never carry the API key or secret', function () {
  this.timeout(60_000);
  let ex: Sandbox;
  const tmp = tempDir('pyr-secrets-');
  before(async () => {
    const { series } = await readCandleFile(SAMPLE_15M);
    ex = await startSandbox({ series, interval: '15', symbol: 'BTCUSDT', clock: 'manual', startTime: Date.UTC(2024, 7, 5) });
  });
  after(async () => {
    await ex?.stop();
    tmp.cleanup();
  });

  it('scrubSecrets takes out origin_string and any copy of the key or secret', () => {
    expect(scrubSecrets('error sign! origin_string[1733000000000ABCDKEY5000category=linear]', { key: 'ABCDKEY', secret: 'S3CR3T' })).to.equal('error sign! origin_string[…]');
    expect(scrubSecrets('key ABCDKEY and S3CR3T again ABCDKEY', { key: 'ABCDKEY', secret: 'S3CR3T' })).to.equal('key *** and *** again ***');
  });

  it('a request signed with a wrong secret (10004) is reported without the key', async () => {
    const rest = new BybitRest({ env: 'testnet', key: ex.apiKey, secret: 'wrong-secret-0123456789', restUrl: ex.restUrl }, { retries: 0, backoffFactor: 0 });
    let err: unknown;
    try {
      await rest.call('position/list', (c) => c.getPositionInfo({ category: 'linear', symbol: 'BTCUSDT' }) as never);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ExchangeError);
    const msg = (err as Error).message;
    expect(msg).to.match(/retCode 10004/);
    expect(msg).to.include('origin_string[…]');
    expect(msg).to.not.include(ex.apiKey);
  });

  // Today the bot waits out its 15 s subscription time-out before the REST read fails with 10004; issue 11
  // makes authentication errors stop it at once.
  it('pyr live with a wrong secret stops with one line holding neither the key nor the secret', async () => {
    const secret = 'wrong-secret-never-printed-42';
    const r = await runCli(['live', '--param', 'apiBackoffFactor=0.01', 'apiRequestRetries=0', '--journal', path.join(tmp.dir, 'j.jsonl')], tmp.dir, {
      BYBIT_API_KEY: ex.apiKey, BYBIT_API_SECRET: secret, PYR_BYBIT_REST_URL: ex.restUrl, PYR_BYBIT_WS_URL: ex.wsUrl,
    });
    expect(r.code).to.not.equal(0);
    for (const text of [r.stdout, r.stderr]) {
      expect(text).to.not.include(ex.apiKey);
      expect(text).to.not.include(secret);
    }
    expect(r.stderr).to.match(/10004|sign|auth/i);
  });
});
