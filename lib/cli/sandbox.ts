/**
 * `pyr sandbox`: starts the local Bybit V5 exchange (lib/sandbox) on 127.0.0.1, replaying stored candles,
 * prints where it listens and the key pair it accepts, and runs until SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import {
  ConfigError,
  DAY_MS,
  INTERVALS,
  MissingDataError,
  type Interval,
  intervalMs,
  lowerBound,
  parseInterval,
  sliceSeries,
} from '../core/index.ts';
import { readCandleFile } from '../data/csv.ts';
import { candlePath, findCandleFile, findFundingFile, readFundingFile } from '../data/store.ts';
import { writeWarning } from '../report/console.ts';
import type { Sandbox } from '../sandbox/index.ts';

export interface SandboxFlags {
  candles?: string;
  symbol?: string;
  interval?: string;
  dataDir?: string;
  category?: string;
  from?: string;
  to?: string;
  speed?: string;
  port?: string;
  balance?: string;
  apiKey?: string;
  apiSecret?: string;
  funding?: string;
  leverage?: string;
  faultRateLimitEvery?: string;
  faultDropWsEvery?: string;
  faultDropAuthEvery?: string;
  fault5xxEvery?: string;
  faultRefuseEvery?: string;
  faultDelayMs?: string;
  faultClockSkewMs?: string;
}

export interface SandboxIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly cwd: string;
  /** Resolves when the process is asked to stop (default: SIGINT or SIGTERM). */
  readonly untilStopped?: () => Promise<string>;
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

function number(text: string | undefined, flag: string, dflt: number, check: (n: number) => boolean, what: string): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new ConfigError(`${flag}: expected ${what}, got "${text}"`);
  return n;
}

function day(text: string, flag: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || new Date(t).toISOString().slice(0, 10) !== text.trim()) throw new ConfigError(`${flag}: expected a date as YYYY-MM-DD, got "${text}"`);
  return t;
}

/** The Bybit interval whose length is `ms` (for a candle file given without --interval). */
function intervalOfMs(ms: number): Interval | undefined {
  return INTERVALS.find((i) => i !== 'M' && intervalMs(i) === ms);
}

/** Starts the sandbox from flags. The caller stops it. */
export async function startSandboxFromFlags(flags: SandboxFlags, io: Pick<SandboxIo, 'cwd'>): Promise<{ sandbox: Sandbox; candleFile: string; interval: Interval; speed: number; symbol: string }> {
  const symbol = (flags.symbol ?? 'BTCUSDT').toUpperCase();
  if (!/^[A-Z0-9]{3,30}$/.test(symbol)) throw new ConfigError(`--symbol: "${flags.symbol}" is not a symbol like BTCUSDT`);
  const category = flags.category ?? 'linear';
  if (category !== 'linear') throw new ConfigError(`--category: the sandbox serves linear (USDT perpetuals) only, not "${category}"`);
  const dataDir = path.resolve(io.cwd, flags.dataDir ?? 'data');
  const speed = number(flags.speed, '--speed', 60, (n) => n > 0, 'a speed factor above 0 (60 = one minute of market per second)');
  const port = number(flags.port, '--port', 8787, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number (0 picks a free one)');
  const balance = number(flags.balance, '--balance', 10000, (n) => n > 0, 'a starting balance above 0');
  const leverage = number(flags.leverage, '--leverage', 10, (n) => n >= 1 && n <= 100, 'a leverage from 1 to 100');
  if ((flags.apiKey === undefined) !== (flags.apiSecret === undefined)) {
    throw new ConfigError(flags.apiKey === undefined ? '--api-key: required with --api-secret' : '--api-secret: required with --api-key');
  }
  const count = (text: string | undefined, flag: string): number => number(text, flag, 0, (n) => Number.isInteger(n) && n >= 0, 'a whole number (0 = off)');
  const faults = {
    rateLimitEvery: count(flags.faultRateLimitEvery, '--fault-rate-limit-every'),
    serverErrorEvery: count(flags.fault5xxEvery, '--fault-5xx-every'),
    refuseEvery: count(flags.faultRefuseEvery, '--fault-refuse-every'),
    delayMs: count(flags.faultDelayMs, '--fault-delay-ms'),
    dropAuthEvery: count(flags.faultDropAuthEvery, '--fault-drop-auth-every'),
    dropWsEvery: number(flags.faultDropWsEvery, '--fault-drop-ws-every', 0, (n) => n >= 0, 'a number of seconds (0 = off)'),
    clockSkewMs: number(flags.faultClockSkewMs, '--fault-clock-skew-ms', 0, Number.isInteger, 'whole milliseconds'),
  };

  // Candles: one file, or the store.
  let interval: Interval | undefined = flags.interval === undefined ? undefined : parseInterval(flags.interval);
  let candleFile: string;
  if (flags.candles) {
    candleFile = path.resolve(io.cwd, flags.candles);
    if (!existsSync(candleFile)) throw new MissingDataError(`--candles: file not found: ${candleFile}`);
  } else {
    const iv = interval ?? '15';
    const found = findCandleFile(dataDir, category, symbol, iv);
    if (!found) {
      throw new MissingDataError(
        `no ${symbol} ${iv} candles in ${candlePath(dataDir, category, symbol, iv)}; get them with \`pyr download --symbol ${symbol} --interval ${iv} --from YYYY-MM-DD --to YYYY-MM-DD\`, or pass --candles <file>`,
      );
    }
    candleFile = found;
    interval = iv;
  }
  const { series: all, report } = await readCandleFile(candleFile);
  const inferred = intervalOfMs(report.intervalMs);
  if (interval === undefined) {
    if (!inferred) throw new ConfigError(`--interval: cannot tell the interval of ${candleFile}; pass --interval`);
    interval = inferred;
  } else if (inferred && inferred !== interval) {
    throw new ConfigError(`--interval: ${interval} does not match the candles in ${candleFile} (they are ${inferred})`);
  }
  if (all.length === 0) throw new MissingDataError(`no candles in ${candleFile}`);

  // --to cuts the series after that day; --from is where the replay starts (earlier candles are history).
  let series = all;
  if (flags.to !== undefined) {
    const end = day(flags.to, '--to') + DAY_MS;
    series = sliceSeries(all, 0, lowerBound(all, end));
    if (series.length === 0) throw new MissingDataError(`--to: ${flags.to} is before the first candle in ${candleFile}`);
  }
  const first = series.openTime[0]!;
  const lastOpen = series.openTime[series.length - 1]!;
  let startTime: number | undefined;
  if (flags.from !== undefined) {
    startTime = day(flags.from, '--from');
    if (startTime < first || startTime > lastOpen) {
      throw new MissingDataError(`--from: ${flags.from} is outside the candles (${new Date(first).toISOString().slice(0, 10)} to ${new Date(lastOpen).toISOString().slice(0, 10)})`);
    }
  }

  let fundingFile = flags.funding === undefined ? undefined : path.resolve(io.cwd, flags.funding);
  if (fundingFile !== undefined && !existsSync(fundingFile)) throw new MissingDataError(`--funding: file not found: ${fundingFile}`);
  if (fundingFile === undefined && !flags.candles) fundingFile = findFundingFile(dataDir, category, symbol);
  // The sandbox (and ws) load only when it runs.
  const { fundingRows, startSandbox } = await import('../sandbox/index.ts');
  const funding = fundingFile === undefined ? undefined : fundingRows(await readFundingFile(fundingFile));

  const sandbox = await startSandbox({
    series, interval, symbol, category: 'linear', clock: { speed }, startTime, balance, leverage, port, funding,
    apiKey: flags.apiKey, apiSecret: flags.apiSecret,
  }).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new ConfigError(`--port: ${port} is already in use on 127.0.0.1 (try another, or 0 for a free one)`);
    throw e;
  });
  if (faults.rateLimitEvery) sandbox.faults.rateLimitEvery(faults.rateLimitEvery);
  if (faults.serverErrorEvery) sandbox.faults.serverErrorEvery(faults.serverErrorEvery);
  if (faults.refuseEvery) sandbox.faults.refuseEvery(faults.refuseEvery);
  if (faults.delayMs) sandbox.faults.delayRest(faults.delayMs);
  if (faults.dropWsEvery) sandbox.faults.dropWebSocketsEvery(faults.dropWsEvery);
  if (faults.dropAuthEvery) sandbox.faults.dropAuthEvery(faults.dropAuthEvery);
  if (faults.clockSkewMs) sandbox.faults.clockSkew(faults.clockSkewMs);
  return { sandbox, candleFile, interval, speed, symbol };
}

export function sandboxCommand(io: Partial<SandboxIo> = {}): Command {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const cwd = io.cwd ?? process.cwd();
  return new Command('sandbox')
    .description('run a local Bybit V5 exchange (REST + WebSocket on 127.0.0.1) that replays stored candles, to rehearse live trading offline')
    .option('--candles <file>', 'replay this candle file (.csv or .csv.gz) instead of the store')
    .option('--symbol <symbol>', 'symbol (default BTCUSDT)')
    .option('--interval <interval>', 'Bybit interval of the candles (default 15, or inferred from --candles)')
    .option('--data-dir <dir>', 'candle store folder (default data): <dir>/bybit/<category>/<SYMBOL>/<interval>.csv[.gz]')
    .option('--category <category>', 'Bybit category (default linear, the only one served)')
    .option('--from <YYYY-MM-DD>', 'start the replay at this UTC day; earlier candles are served as history (default: the first candle)')
    .option('--to <YYYY-MM-DD>', 'last UTC day replayed, inclusive (default: the last candle)')
    .option('--speed <factor>', 'market time per wall time: 1 real time, 60 one minute per second (default 60)')
    .option('--port <port>', 'port on 127.0.0.1 (default 8787; 0 picks a free one)')
    .option('--balance <usdt>', 'starting wallet balance in USDT (default 10000)')
    .option('--leverage <x>', 'starting leverage (default 10)')
    .option('--api-key <key>', 'API key to accept (default: generated)')
    .option('--api-secret <secret>', 'API secret to accept (default: generated)')
    .option('--funding <file>', 'funding-rate history (timestamp,fundingRate): served and settled on positions (default: the store\'s funding.csv)')
    .option('--fault-rate-limit-every <n>', 'answer every Nth REST request with 10006 "Too many visits!"')
    .option('--fault-drop-ws-every <seconds>', 'close every WebSocket connection from the server side every N seconds')
    .option('--fault-drop-auth-every <n>', 'close the connection of every Nth WebSocket auth request instead of answering it')
    .option('--fault-5xx-every <n>', 'answer every Nth REST request with HTTP 503')
    .option('--fault-refuse-every <n>', 'drop the connection of every Nth REST request without answering')
    .option('--fault-delay-ms <ms>', 'delay every REST answer by this many ms')
    .option('--fault-clock-skew-ms <ms>', "shift the server's clock (signed timestamps look early or expired)")
    .action(async (flags: SandboxFlags) => {
      const { sandbox, candleFile, interval, speed, symbol } = await startSandboxFromFlags(flags, { cwd });
      const st = sandbox.state();
      const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');
      const lastEnd = sandbox.market.candleEnd(sandbox.market.series.length - 1);
      out.write(
        [
          `pyr sandbox: a local Bybit V5 exchange replaying ${symbol} ${interval} (linear) from ${candleFile}`,
          `  REST        ${sandbox.restUrl}`,
          `  WebSocket   ${sandbox.wsUrl}   (public and private topics; also ${sandbox.publicWsUrl})`,
          `  API key     ${sandbox.apiKey}`,
          `  API secret  ${sandbox.apiSecret}`,
          `  replay      ${iso(st.now)} to ${iso(lastEnd)} at ${speed}x, price ${st.price}`,
          `  wallet      ${st.balance.toFixed()} USDT (UNIFIED), leverage ${st.leverage.toFixed()}x`,
          `  bybit-api   new RestClientV5({ key, secret, baseUrl: '${sandbox.restUrl}' })`,
          `              new WebsocketClient({ key, secret, wsUrl: '${sandbox.wsUrl}', market: 'v5' })`,
          'Ctrl-C to stop; SIGHUP restarts the servers with state kept.',
          '',
        ].join('\n'),
      );
      // SIGHUP restarts the servers on the same port, keeping positions, orders and the wallet.
      const onHup = (): void => {
        sandbox.restart().then(
          () => err.write(`pyr sandbox: restarted on ${sandbox.restUrl} (state kept)\n`),
          (e: unknown) => writeWarning(err, `pyr sandbox: restart failed: ${e instanceof Error ? e.message : String(e)}`),
        );
      };
      process.on('SIGHUP', onHup);
      const signal = await (io.untilStopped ?? waitForSignal)();
      process.off('SIGHUP', onHup);
      await sandbox.stop();
      err.write(`pyr sandbox: ${signal}, stopped at replay time ${iso(sandbox.now())}\n`);
    });
}
