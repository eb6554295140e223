/**
 * `pyr live`: the same strategy and engine as `pyr backtest`, driving the live Bybit broker. This file
 * turns flags, keys and the config file into a run spec, builds the Bybit broker and candle feed, and hands
 * them to lib/engine/live.ts (the loop); what the console shows is lib/report/live.ts. Position state
 * changes only from the exchange (see lib/brokers/bybit/broker.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, D, PyrError, intervalMs } from '../core/index.ts';
import type { ForeignPositions } from '../brokers/bybit/index.ts';
import { paramLayersOf, resolveAllParams, resolveRunSpec, type RunSpec } from '../config/index.ts';
import { Journal, journalReplay, liveStateFromJournal, orderIdsFor, readJournal, runLive } from '../engine/index.ts';
import { paperBrokerFor } from '../brokers/sim/index.ts';
import { loadStrategy } from '../strategy/index.ts';
import { createLogger, liveConsole, useColor } from '../report/index.ts';
import { readDotEnv, type CliIo } from './io.ts';

export { readDotEnv } from './io.ts';
import { readConfigFile, runTargetOf } from './config.ts';

export interface LiveFlags {
  strategy?: string;
  symbol?: string;
  interval?: string;
  category?: string;
  config?: string;
  param?: string[];
  testnet?: boolean;
  demo?: boolean;
  mainnet?: boolean;
  yesReallyTradeRealMoney?: boolean;
  restUrl?: string;
  wsUrl?: string;
  journal?: string;
  dataDir?: string;
  closeOnExit?: boolean;
  feed?: string;
  paper?: boolean;
  balance?: string;
  envFile?: string;
  json?: boolean;
}

/** Runs the live loop until `signal` aborts (SIGINT/SIGTERM in the command). */
export async function live(flags: LiveFlags, io: CliIo, signal: AbortSignal): Promise<void> {
  // bybit-api takes ~0.2 s to load: only live mode pays for it.
  const { BybitBroker, BybitRest, chooseConnection, createWebsocket, fetchInstrumentSnapshot, isAuthError, liveCandleFeed, maskKey, parseFeedKind, scrubSecrets } = await import('../brokers/bybit/index.ts');
  const { config } = readConfigFile(flags.config, io.cwd);
  const dotenv = readDotEnv(path.resolve(io.cwd, flags.envFile ?? '.env'));
  // An empty variable is an unset one.
  const env = (k: string): string | undefined => (io.env[k] || undefined) ?? (dotenv[k] || undefined);

  // Environment (testnet unless told otherwise), URLs and keys: lib/brokers/bybit/connection.ts.
  const { env: bybitEnv, paper, restUrl, wsUrl, key, secret, local } = chooseConnection({
    ...flags,
    restUrl: flags.restUrl ?? env('PYR_BYBIT_REST_URL') ?? config.restUrl,
    wsUrl: flags.wsUrl ?? env('PYR_BYBIT_WS_URL') ?? config.wsUrl,
    key: env('BYBIT_API_KEY'),
    secret: env('BYBIT_API_SECRET'),
    keysFile: path.resolve(io.cwd, flags.envFile ?? '.env'),
  });
  const feedKind = parseFeedKind(flags.feed);

  const target = runTargetOf(flags, io.cwd);
  const { symbol, category } = target.instrument;
  if (category !== 'linear') throw new ConfigError(`--category: live mode trades USDT perpetuals (linear), got "${category}"`);
  const { definition, file: strategyFile } = await loadStrategy(target.strategySpec, io.cwd);
  const layers = [...paramLayersOf(definition, { file: target.configFile, config: target.config }, flags.param)];
  if (flags.balance !== undefined) {
    const b = Number(flags.balance);
    if (!paper) throw new ConfigError('--balance is the paper account\'s (with --paper); a live session trades the exchange account');
    if (!(b > 0)) throw new ConfigError(`--balance: a number above 0 (USDT), got "${flags.balance}"`);
    layers.push({ where: '--balance', values: { initialBalance: b } });
  }
  const journalFile = path.resolve(io.cwd, flags.journal ?? config.journal ?? path.join(target.dataDir, 'live', paper ? `paper-${bybitEnv}` : bybitEnv, `${symbol}-${target.interval}-${definition.name}.jsonl`));
  // The paper account's starting balance is the journal's: a restart continues it.
  const firstSession = paper && existsSync(journalFile) ? (readJournal(journalFile).find((r) => r.t === 'session') as { balance?: string } | undefined) : undefined;
  if (firstSession?.balance !== undefined) {
    if (flags.balance !== undefined && Number(flags.balance) !== Number(firstSession.balance)) throw new ConfigError(`--balance ${flags.balance}: the paper account in ${journalFile} started with ${firstSession.balance} USDT; use another --journal for a new account`);
    layers.push({ where: `the journal's paper account`, values: { initialBalance: Number(firstSession.balance) } });
  }
  const { run } = resolveAllParams(definition.params, layers); // the REST client's retries; the spec follows with the exchange's rules
  // Bybit is polled at most once a second; only the local exchange (a test or a rehearsal) goes faster.
  const pollSeconds = local ? run.pollingIntervalSeconds : Math.max(1, run.pollingIntervalSeconds);
  const log = createLogger({ stream: io.stdout, color: useColor(io.stdout, io.env), json: flags.json, timestamps: true });

  // Restore: trades of earlier sessions in this journal count for the metrics and the guards; the open
  // trade is caught up by order id from the exchange's executions (the broker's start).
  const journal = new Journal(journalFile); // first: a torn tail is cut before the journal is read
  const earlier = existsSync(journalFile) ? readJournal(journalFile) : [];
  const state = liveStateFromJournal(earlier);
  const restored = state.trades;
  const record = journal.append.bind(journal);
  if (journal.repaired) {
    const cut = `journal ${journalFile}: a torn last record (line ${journal.repaired.line}, ${journal.repaired.bytes} bytes, a write cut short) was removed`;
    log.warn(cut);
    record({ t: 'note', level: 'warn', message: cut });
  }
  const sessionId = `pyr${Date.now().toString(36)}`;
  const conn = { env: bybitEnv, key, secret, restUrl, wsUrl };
  let socket: { setTimeOffsetMs(ms: number): void } | undefined;
  const rest = new BybitRest(conn, { retries: run.apiRequestRetries, backoffFactor: run.apiBackoffFactor }, {
    onAlert: (message) => {
      log.error(message);
      record({ t: 'note', level: 'error', message });
    },
    onTimeSync: (offsetMs) => {
      record({ t: 'note', level: 'info', message: `clock synced with the exchange: offset ${offsetMs} ms` });
      socket?.setTimeOffsetMs(offsetMs); // the WebSocket's auth signs with the same clock
    },
  });
  rest.onRetry = (what, attempt, reason, waitMs) => log.warn(`${what}: ${reason}; retry ${attempt}/${run.apiRequestRetries} in ${(waitMs / 1000).toFixed(2)} s`);
  log.info(`pyr live: ${definition.name} on ${symbol} ${target.interval} (${category}), ${bybitEnv.toUpperCase()}${restUrl ? ` via ${restUrl}` : ''}`);
  if (paper) {
    log.warn(`PAPER TRADING: no order is ever sent to Bybit. Fills are simulated on ${bybitEnv}'s real-time candles with the backtest's fill model; the account is a simulated balance of ${run.initialBalance} USDT. No API key is used.`);
    log.info(`Journal ${journalFile}${restored.length ? ` (${restored.length} earlier trades restored)` : ''}`);
    const closed = restored.reduce((sum, t) => sum.add(t.netPnl), new D(0));
    log.info(`Paper account: ${new D(run.initialBalance).add(closed).toFixed()} USDT (started with ${run.initialBalance}; ${restored.length} closed trades ${closed.gte(0) ? '+' : ''}${closed.toFixed()})`);
  } else {
    log.info(`Account key ${maskKey(key)}; journal ${journalFile}${restored.length ? ` (${restored.length} earlier trades restored)` : ''}`);
    if (bybitEnv === 'mainnet') log.warn('MAINNET: real money is at stake.');
  }
  if (local && (flags.demo || flags.mainnet)) log.warn(`--${bybitEnv} with --rest-url/--ws-url: every request goes to ${restUrl} and ${wsUrl}, not to Bybit ${bybitEnv}; --${bybitEnv} only names the journal folder (live/${bybitEnv}) and the session's record`);
  if (pollSeconds !== run.pollingIntervalSeconds) log.warn(`pollingIntervalSeconds ${run.pollingIntervalSeconds} is below Bybit's floor of 1 s: polling every 1 s`);
  const offset = await rest.syncTime();
  if (Math.abs(offset) >= 1000) log.warn(`this machine's clock is ${(offset / 1000).toFixed(1)} s ${offset > 0 ? 'behind' : 'ahead of'} Bybit's: requests are signed with Bybit's time`);

  // The instrument rules are the exchange's; --param overrides still apply.
  const spec: RunSpec = resolveRunSpec({ definition, strategyFile, instrument: target.instrument, interval: target.interval, layers, snapshot: await fetchInstrumentSnapshot(rest, 'linear', symbol, bybitEnv), target });
  const rules = spec.rules;
  log.info(`Instrument rules: tick ${rules.tickSize.toFixed()}, qty step ${rules.qtyStep.toFixed()}, min qty ${rules.minQty.toFixed()}, min notional ${rules.minNotional.toFixed()}`);
  record({
    t: 'session', version: 1, sessionId, ...(paper ? { paper: true, balance: String(run.initialBalance) } : {}), strategy: definition.name, strategyFile, params: spec.strategy.params, runParams: run, symbol, category, interval: spec.interval, env: bybitEnv, warmup: spec.strategy.warmup,
    rules: { tickSize: rules.tickSize.toFixed(), qtyStep: rules.qtyStep.toFixed(), minQty: rules.minQty.toFixed(), minNotional: rules.minNotional.toFixed(), source: rules.source },
  });

  // Paper trading: no private stream, no account; the simulator fills on the feed's candles.
  const ws = paper ? undefined : createWebsocket(conn, (level, message) => {
    if (level === 'error' && message) log.warn(`WebSocket: ${message}`);
  });
  socket = ws;
  ws?.setTimeOffsetMs(rest.timeOffsetMs);
  ws?.on('exception', (e: unknown) => {
    const m = scrubSecrets(e && typeof e === 'object' && 'ret_msg' in e ? String((e as { ret_msg: unknown }).ret_msg) : e instanceof Error ? e.message : 'WebSocket error', conn);
    log.warn(`WebSocket: ${m}`);
    record({ t: 'note', level: 'warn', message: `WebSocket: ${m}` });
  });
  // An authentication or permission error ends the session (after the position is reported).
  const ended = new AbortController();
  let fatal: Error | undefined;
  const stopOn = (err: Error) => {
    fatal ??= err;
    ended.abort();
  };
  signal.addEventListener('abort', () => ended.abort(), { once: true });
  const params = spec.strategy.params as Record<string, unknown>;
  const pct = (k: string) => (typeof params[k] === 'number' ? (params[k] as number) : undefined);
  const broker = !ws ? paperBrokerFor(spec) : new BybitBroker({
    rest, ws, symbol, category: 'linear', rules, intervalMs: intervalMs(spec.interval), interval: spec.interval, minQtyPolicy: spec.fillModel.minQtyPolicy,
    maxNotional: spec.guards.maxPositionNotional,
    reconcileMs: run.reconcileSeconds * 1000, firstTradeId: state.lastTradeId,
    positionCheckMs: run.positionCheckSeconds * 1000, streamTimeoutMs: run.privateStreamTimeoutSeconds * 1000, resyncTimeoutMs: run.resyncTimeoutSeconds * 1000,
    foreignPositions: run.foreignPositions as ForeignPositions, protect: { stopLoss: pct('stopLossPct'), takeProfit: pct('takeProfitPct') },
    restore: state, onFatal: stopOn,
    log: (level, message) => log[level](message),
    record,
  });
  // A failure nobody awaited must not end a session that holds a position: it is logged and journaled,
  // with the position as pyr last knew it, and the loop goes on (the broker blocks orders while unsure).
  const onRejection = (reason: unknown) => {
    const p = broker.position();
    const message = scrubSecrets(`an unexpected error was caught: ${reason instanceof Error ? reason.message : String(reason)}; position ${p.side}${p.side !== 'flat' ? ` ${p.qty.toFixed()} at ${p.entryPrice.toFixed()}` : ''}`, conn);
    log.error(message);
    record({ t: 'note', level: 'error', message });
    if (broker instanceof BybitBroker) broker.checkNow('after an unexpected error'); // the position is read again; orders wait if it cannot be
  };
  process.on('unhandledRejection', onRejection);
  const onFeedError = (err: Error) => {
    log.warn(`could not fetch candles: ${err.message}`);
    if (isAuthError(err)) stopOn(err);
  };
  const { feed, publicWs, describe } = liveCandleFeed(feedKind, conn, {
    rest, category: 'linear', symbol, interval: spec.interval, limit: run.candleFetchLimit, graceMs: run.feedGraceSeconds * 1000, heartbeatMs: run.heartbeatSeconds * 1000, pollMs: pollSeconds * 1000,
    onError: onFeedError,
    onStatus: (message) => {
      log.info(message);
      record({ t: 'note', level: 'info', message });
    },
  });
  try {
    await runLive({
      spec, broker, feed, journal: record, signal: ended.signal, sessionId, history: restored, closeOnExit: flags.closeOnExit,
      orderIdOf: orderIdsFor(definition.name, symbol, spec.interval), decided: earlier.length > 0 && !paper ? state.decided : undefined,
      replay: paper && earlier.length > 0 ? journalReplay(journalFile, earlier) : undefined,
      view: liveConsole(log, { symbol, feed: describe, plots: definition.plots?.(spec.strategy.params as never) }),
    });
    if (fatal) throw fatal instanceof PyrError ? fatal : new ConfigError(fatal.message);
  } finally {
    process.off('unhandledRejection', onRejection);
    rest.close(); // a request waiting out a rate-limit reset or a ban does not hold the process
    journal.close();
    for (const socket of [ws, publicWs]) {
      try {
        socket?.closeAll(true);
      } catch {
        /* already closed */
      }
    }
  }
}

export function liveCommand(io: CliIo): Command {
  return new Command('live')
    .description('Run a strategy live on Bybit (testnet by default) through the same engine as backtests')
    .option('--strategy <name|file>', 'built-in or local strategy name, or a path to a strategy file')
    .option('--symbol <symbol>', 'symbol (default BTCUSDT)')
    .option('--interval <interval>', 'Bybit interval (default 15)')
    .option('--category <category>', 'Bybit category (linear)')
    .option('--config <file>', 'config file (default: pyr.config.json when present)')
    .option('--param <key=value...>', 'set a strategy or run parameter (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--testnet', 'trade on Bybit testnet (the default)')
    .option('--demo', 'trade on Bybit demo trading (mainnet prices, demo money)')
    .option('--mainnet', 'trade real money on Bybit mainnet (needs --yes-really-trade-real-money)')
    .option('--yes-really-trade-real-money', 'confirm --mainnet')
    .option('--rest-url <url>', 'REST base URL override (also PYR_BYBIT_REST_URL, config restUrl), e.g. the local exchange')
    .option('--ws-url <url>', 'WebSocket URL override (also PYR_BYBIT_WS_URL, config wsUrl)')
    .option('--journal <file>', 'journal file (default data/live/<env>/<SYMBOL>-<interval>-<strategy>.jsonl)')
    .option('--data-dir <dir>', 'data folder (default data)')
    .option('--env-file <file>', 'file with BYBIT_API_KEY and BYBIT_API_SECRET (default .env)')
    .option('--close-on-exit', 'close the open position when stopping')
    .option('--paper', 'paper trading: real-time market data, simulated fills (the backtest fill model), no API keys, no order ever sent')
    .option('--balance <usdt>', 'the paper account\'s starting balance (default 1000; kept in the journal, a restart continues it)')
    .option('--feed <stream|poll>', 'closed candles from the kline stream with REST backfills (default), or REST polls every pollingIntervalSeconds')
    .option('--json', 'log lines as JSON objects (time, level, message), one per line')
    .action(async (opts: LiveFlags) => {
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await live(opts, io, ac.signal);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
