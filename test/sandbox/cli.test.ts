import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, MissingDataError } from '../../lib/core/errors.ts';
import { sandboxCommand } from '../../lib/cli/sandbox.ts';
import { RestClientV5 } from 'bybit-api';
import { repoRoot, sample15m, waitFor } from './helpers.ts';

async function parseError(args: string[]): Promise<unknown> {
  try {
    await sandboxCommand({ cwd: repoRoot, untilStopped: async () => 'test' }).exitOverride().parseAsync(args, { from: 'user' });
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('pyr sandbox (CLI)', function () {
  this.timeout(30000);
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('rejects bad flags with a ConfigError naming the flag, and missing candles with how to get them', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--candles', sample15m, '--speed', '0'], /^--speed:/],
      [['--candles', sample15m, '--port', 'http'], /^--port:/],
      [['--candles', sample15m, '--api-key', 'K'], /^--api-secret:/],
      [['--candles', sample15m, '--category', 'spot'], /^--category:/],
      [['--candles', sample15m, '--interval', '5'], /^--interval: 5 does not match/],
      [['--candles', sample15m, '--from', '2024-02-30'], /^--from:/],
      [['--candles', sample15m, '--fault-rate-limit-every', '-1'], /^--fault-rate-limit-every:/],
    ];
    for (const [args, re] of cases) {
      const e = await parseError(args);
      expect(e, args.join(' ')).to.be.instanceOf(ConfigError);
      expect((e as Error).message).to.match(re);
    }
    const missing = await parseError(['--data-dir', path.join(repoRoot, 'test/sandbox/fixtures/no-store')]);
    expect(missing).to.be.instanceOf(MissingDataError);
    expect((missing as Error).message).to.match(/pyr download --symbol BTCUSDT --interval 15/);
  });

  it('starts on the real candles, prints URLs and keys, serves the SDK with the fault flags, restarts on SIGHUP, stops cleanly on SIGINT', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/sandbox/fixtures/run-sandbox-cli.ts'),
      '--candles', sample15m, '--from', '2024-08-05', '--to', '2024-08-06', '--port', '0', '--speed', '60',
      '--api-key', 'CLIKEY', '--api-secret', 'CLISECRET', '--fault-rate-limit-every', '3'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    await waitFor(() => stdout.includes('Ctrl-C to stop') || child!.exitCode !== null, 20000, 'the banner');
    expect(stdout, stderr).to.include('Ctrl-C to stop');
    const restUrl = /REST\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    expect(stdout).to.match(/WebSocket\s+ws:\/\/127\.0\.0\.1:\d+\/v5\/private/);
    expect(stdout).to.include('API key     CLIKEY').and.include('API secret  CLISECRET');
    expect(stdout).to.include('replay      2024-08-05T00:00:00Z to 2024-08-07T00:00:00Z at 60x');

    const rest = new RestClientV5({ key: 'CLIKEY', secret: 'CLISECRET', baseUrl: restUrl }, { timeout: 5000 });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) codes.push((await rest.getWalletBalance({ accountType: 'UNIFIED' })).retCode);
    expect(codes).to.deep.equal([0, 0, 10006]);
    const k = await rest.getKline({ category: 'linear', symbol: 'BTCUSDT', interval: '15', limit: 2 });
    expect(Number(k.result.list[0]![0])).to.equal(Date.UTC(2024, 7, 5)); // 60x: still in the first candle
    expect(Number(k.result.list[1]![0])).to.equal(Date.UTC(2024, 7, 5) - 15 * 60_000);

    // SIGHUP: restart with state kept.
    const order = await rest.submitOrder({ category: 'linear', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Market', qty: '0.01' });
    expect(order.retCode, order.retMsg).to.equal(0);
    child.kill('SIGHUP');
    await waitFor(() => stderr.includes('restarted on'), 5000, 'the restart');
    let pos = await rest.getPositionInfo({ category: 'linear', symbol: 'BTCUSDT' });
    if (pos.retCode === 10006) pos = await rest.getPositionInfo({ category: 'linear', symbol: 'BTCUSDT' }); // every 3rd
    expect(pos.result.list[0]).to.include({ side: 'Buy', size: '0.01' });

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).to.equal(0);
    expect(stderr).to.match(/SIGINT, stopped at replay time 2024-08-05T00:0/);
  });
});
