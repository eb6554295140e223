/** `pyr live` refuses to start unless it is told clearly what to trade with, and never prints secrets. */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readDotEnv } from '../../lib/cli/live.ts';
import { runCli, tempDir } from '../helpers.ts';

describe('pyr live: keys, environment and refusals', function () {
  this.timeout(30_000);
  const tmp = tempDir('pyr-livecfg-');
  after(() => tmp.cleanup());

  it('needs BYBIT_API_KEY and BYBIT_API_SECRET', async () => {
    const r = await runCli(['live'], tmp.dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/BYBIT_API_KEY and BYBIT_API_SECRET must be set in the environment or in .*\.env \(testnet keys\)/);
  });

  it('refuses mainnet without the explicit confirmation, and more than one environment', async () => {
    const env = { BYBIT_API_KEY: 'k', BYBIT_API_SECRET: 's' };
    const a = await runCli(['live', '--mainnet'], tmp.dir, env);
    expect(a.code).to.equal(2);
    expect(a.stderr).to.match(/--mainnet trades real money: add --yes-really-trade-real-money/);
    const b = await runCli(['live', '--testnet', '--demo'], tmp.dir, env);
    expect(b.code).to.equal(2);
    expect(b.stderr).to.match(/choose one of --testnet, --demo, --mainnet/);
  });

  it('reads keys from .env, and an unreachable exchange is one line without the key or secret', async () => {
    const secret = 'S3CRET-never-printed-0123456789';
    writeFileSync(path.join(tmp.dir, '.env'), `# keys\nBYBIT_API_KEY="KEY-never-printed"\nexport BYBIT_API_SECRET=${secret}\n`);
    const r = await runCli(['live', '--param', 'apiBackoffFactor=0.01', '--journal', path.join(tmp.dir, 'j.jsonl')], tmp.dir, { PYR_BYBIT_WS_URL: 'ws://127.0.0.1:9' });
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    // The first request is the time sync (/v5/market/time), before the instrument rules.
    expect(r.stderr).to.match(/market\/time failed: .*ECONNREFUSED/);
    for (const text of [r.stdout, r.stderr]) {
      expect(text).to.not.include(secret);
      expect(text).to.not.include('KEY-never-printed');
    }
    expect(r.stdout).to.match(/TESTNET via http:\/\/127\.0\.0\.1:9/);
  });

  it('refuses --yes-really-trade-real-money without --mainnet, and a REST or WebSocket override without the other', async () => {
    const env = { BYBIT_API_KEY: 'k', BYBIT_API_SECRET: 's' };
    const a = await runCli(['live', '--yes-really-trade-real-money'], tmp.dir, env);
    expect(a.code).to.equal(2);
    expect(a.stderr).to.match(/--yes-really-trade-real-money confirms --mainnet, which was not given \(this session would trade on testnet\)/);
    const b = await runCli(['live', '--rest-url', 'http://127.0.0.1:8787'], tmp.dir, { ...env, PYR_BYBIT_REST_URL: '' });
    expect(b.code).to.equal(2);
    expect(b.stderr).to.match(/--rest-url http:\/\/127\.0\.0\.1:8787 without --ws-url/);
    const c = await runCli(['live', '--ws-url', 'ws://127.0.0.1:8787/v5/private'], tmp.dir, { ...env, PYR_BYBIT_REST_URL: '' });
    expect(c.code).to.equal(2);
    expect(c.stderr).to.match(/--ws-url ws:\/\/127\.0\.0\.1:8787\/v5\/private without --rest-url/);
    // An override on one of the exchange's own domains alone is fine (a regional REST domain, say). The
    // host matching (isBybitHost is isHostOn with the exchange's list) is checked on made-up domains only:
    // no test reads or names a real exchange host, and every request goes to 127.0.0.1.
    const { isBybitHost, isHostOn } = await import('../../lib/brokers/bybit/index.ts');
    const made = ['exchange-one.test', 'exchange-two.test'];
    for (const d of made) {
      expect(isHostOn(`https://api.${d}`, made), d).to.equal(true);
      expect(isHostOn(`wss://stream.${d}/v5/private`, made), d).to.equal(true);
      expect(isHostOn(`https://${d}.evil.example`, made), d).to.equal(false);
      expect(isHostOn(`https://not${d}`, made), d).to.equal(false);
    }
    expect(isBybitHost('http://127.0.0.1:8787')).to.equal(false);
    expect(isBybitHost('not a url')).to.equal(false);
  });

  it('--demo with overridden URLs says what it means; a poll below 1 s against Bybit is raised to the floor', async () => {
    const env = { BYBIT_API_KEY: 'k', BYBIT_API_SECRET: 's' };
    const r = await runCli(['live', '--demo', '--rest-url', 'http://127.0.0.1:9', '--ws-url', 'ws://127.0.0.1:9/v5/private', '--param', 'apiBackoffFactor=0.01', '--journal', path.join(tmp.dir, 'demo.jsonl')], tmp.dir, { ...env, PYR_BYBIT_REST_URL: '', PYR_BYBIT_WS_URL: '' });
    expect(r.code).to.equal(1); // nothing listens there
    expect(r.stdout).to.match(/--demo with --rest-url\/--ws-url: every request goes to http:\/\/127\.0\.0\.1:9 and ws:\/\/127\.0\.0\.1:9\/v5\/private, not to Bybit demo; --demo only names the journal folder/);
    // Against the local exchange a fast poll is allowed (the tests use 5 ms): no floor warning here.
    expect(r.stdout).to.not.match(/below Bybit's floor/);
  });

  it('refuses an unknown --feed before anything is contacted', async () => {
    const r = await runCli(['live', '--feed', 'bogus', '--ws-url', 'ws://127.0.0.1:9/v5/private'], tmp.dir, { BYBIT_API_KEY: 'k', BYBIT_API_SECRET: 's' });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/--feed: "stream" or "poll", got "bogus"/);
    expect(r.stdout).to.not.match(/pyr live:/); // refused before the session's first line
  });

  it('parses .env lines: quotes, export, comments', () => {
    const f = path.join(tmp.dir, 'parse.env');
    writeFileSync(f, `A=1\n# comment\nexport B='two words'\nC="x#y"\nD=plain # trailing\n\nnot a line\n`);
    expect(readDotEnv(f)).to.deep.equal({ A: '1', B: 'two words', C: 'x#y', D: 'plain' });
  });
});
