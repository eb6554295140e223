/**
 * `pyr live`: the same strategy and engine as `pyr backtest`, driving the live Bybit broker.
 *
 * The loop (the seed's, made exact): load config and keys; create the REST and WebSocket clients;
 * subscribe to the private topics; read the open position over REST (a restart picks it up); fetch the
 * instrument rules; warm the strategy up on closed candles; then every `pollingIntervalSeconds` fetch
 * `candleFetchLimit` candles, keep the closed ones, and feed each new one to the engine, printing the
 * seed's market lines. Position state changes only from the exchange (see lib/brokers/bybit/broker.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, D, intervalMs, parseInterval, type BrokerEvent, type Candle, type Fill, type PositionSide, type Trade } from '../core/index.ts';
import type { BybitEnv } from '../brokers/bybit/index.ts';
import { Engine, Journal, readJournal, tradeFromJson, tradeToJson, journalJson, intentToOrder, type JournalInput, type JournalRecord } from '../engine/index.ts';
import { loadStrategy, warmupOf } from '../strategy/index.ts';
import { createLogger, formatTradeStatsLine, tradeStats, useColor } from '../report/index.ts';
import type { CliIo } from './backtest.ts';
import { guardsOf, parseParamFlags, resolveAllParams, resolveRules } from '../config/index.ts';
import { readConfigFile } from './config.ts';

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
  envFile?: string;
  json?: boolean;
}

/** Reads KEY=VALUE lines of a .env file (quotes stripped, # comments). */
export function readDotEnv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]!] = v;
  }
  return out;
}

/** The entry of a position the journal shows open at its end (fills after the last closed trade). */
export function openTradeFromJournal(recs: readonly JournalRecord[]): { side: PositionSide; signalTime: number; entryReason: string; fills: Fill[] } | undefined {
  let lastTrade = -1;
  recs.forEach((r, i) => {
    if (r.t === 'trade') lastTrade = i;
  });
  const after = recs.slice(lastTrade + 1);
  const fills = after.flatMap((r) => (r.t === 'fill' && r.fill.purpose === 'entry' ? [r.fill] : []));
  if (fills.length === 0) return undefined;
  const order = after.find((r) => r.t === 'order' && r.order.id === fills[0]!.orderId);
  const o = order && order.t === 'order' ? order.order : undefined;
  return {
    side: fills[0]!.side === 'Buy' ? 'long' : 'short',
    signalTime: o?.signalTime ?? fills[0]!.time,
    entryReason: o?.reason ?? 'restored from the journal',
    fills: fills.map((f) => ({ ...f, qty: new D(f.qty), price: new D(f.price), fee: new D(f.fee) }) as Fill),
  };
}

function mask(key: string): string {
  return key.length <= 4 ? '****' : `${key.slice(0, 4)}…(${key.length} chars)`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Runs the live loop until `signal` aborts (SIGINT/SIGTERM in the command). */
export async function live(flags: LiveFlags, io: CliIo, signal: AbortSignal): Promise<void> {
  // bybit-api takes ~0.2 s to load: only live mode pays for it.
  const { BybitBroker, BybitRest, RestCandleFeed, createWebsocket, wireInstrument } = await import('../brokers/bybit/index.ts');
  const { file: configFile, config } = readConfigFile(flags.config, io.cwd);
  const dotenv = readDotEnv(path.resolve(io.cwd, flags.envFile ?? '.env'));
  const env = (k: string): string | undefined => io.env[k] ?? dotenv[k];

  // Environment: testnet unless told otherwise; mainnet needs two explicit flags.
  const chosen = [flags.testnet && 'testnet', flags.demo && 'demo', flags.mainnet && 'mainnet'].filter(Boolean);
  if (chosen.length > 1) throw new ConfigError(`choose one of --testnet, --demo, --mainnet (got ${chosen.join(', ')})`);
  const bybitEnv: BybitEnv = flags.mainnet ? 'mainnet' : flags.demo ? 'demo' : 'testnet';
  if (bybitEnv === 'mainnet' && !flags.yesReallyTradeRealMoney) {
    throw new ConfigError('--mainnet trades real money: add --yes-really-trade-real-money to confirm');
  }
  const restUrl = flags.restUrl ?? env('PYR_BYBIT_REST_URL') ?? config.restUrl;
  const wsUrl = flags.wsUrl ?? env('PYR_BYBIT_WS_URL') ?? config.wsUrl;
  const key = env('BYBIT_API_KEY');
  const secret = env('BYBIT_API_SECRET');
  if (!key || !secret) {
    throw new ConfigError(`BYBIT_API_KEY and BYBIT_API_SECRET must be set in the environment or in ${path.resolve(io.cwd, flags.envFile ?? '.env')} (${bybitEnv} keys)`);
  }

  const symbol = (flags.symbol ?? config.symbol ?? 'BTCUSDT').toUpperCase();
  const interval = parseInterval(flags.interval ?? config.interval ?? '15');
  const category = flags.category ?? config.category ?? 'linear';
  if (category !== 'linear') throw new ConfigError(`--category: live mode trades USDT perpetuals (linear), got "${category}"`);
  const { definition, file: strategyFile } = await loadStrategy(flags.strategy ?? config.strategy ?? 'stochrsi-scalper', io.cwd);
  const layers = [];
  if (config.params) layers.push({ where: configFile ?? 'pyr.config.json', values: config.params });
  if (flags.param?.length) layers.push({ where: '--param', values: parseParamFlags(flags.param, definition.params) });
  const params = resolveAllParams(definition.params, layers);
  const run = params.run;
  const dataDir = path.resolve(io.cwd, flags.dataDir ?? config.dataDir ?? 'data');
  const journalFile = path.resolve(io.cwd, flags.journal ?? config.journal ?? path.join(dataDir, 'live', bybitEnv, `${symbol}-${interval}-${definition.name}.jsonl`));

  const log = createLogger({ stream: io.stdout, color: useColor(io.stdout, io.env), json: flags.json });
  const warn = (m: string) => log.warn(m);

  // Restore: trades of earlier sessions in this journal count for the metrics and the guards.
  const earlier = existsSync(journalFile) ? readJournal(journalFile) : [];
  const restored: Trade[] = earlier.flatMap((r) => (r.t === 'trade' ? [tradeFromJson(r.trade)] : []));
  const openEntry = openTradeFromJournal(earlier);
  const journal = new Journal(journalFile);
  const record = (r: JournalInput) => journal.append(r);
  const sessionId = `pyr${Date.now().toString(36)}`;

  const conn = { env: bybitEnv, key, secret, restUrl, wsUrl };
  const rest = new BybitRest(conn, { retries: run.apiRequestRetries, backoffFactor: run.apiBackoffFactor });
  rest.onRetry = (what, attempt, reason, waitMs) => warn(`${what}: ${reason}; retry ${attempt}/${run.apiRequestRetries} in ${(waitMs / 1000).toFixed(2)} s`);

  log.info(`pyr live: ${definition.name} on ${symbol} ${interval} (${category}), ${bybitEnv.toUpperCase()}${restUrl ? ` via ${restUrl}` : ''}`);
  log.info(`Account key ${mask(key)}; journal ${journalFile}${restored.length ? ` (${restored.length} earlier trades restored)` : ''}`);
  if (bybitEnv === 'mainnet') log.warn('MAINNET: real money is at stake.');

  // Instrument rules from the exchange.
  const { result: info } = await rest.call('instruments-info', (c) => c.getInstrumentsInfo({ category: 'linear', symbol }) as never);
  const row = (info as { list?: { symbol?: string }[] }).list?.find((i) => i.symbol === symbol);
  if (!row) throw new ConfigError(`--symbol: ${symbol} is not a ${category} instrument on Bybit ${bybitEnv}`);
  const exchangeRules = wireInstrument(row, category, `instruments-info (${bybitEnv})`);
  const rules = resolveRules(symbol, category, { file: `instruments-info (${bybitEnv})`, rules: { tickSize: exchangeRules.tickSize.toFixed(), qtyStep: exchangeRules.qtyStep.toFixed(), minQty: exchangeRules.minQty.toFixed(), minNotional: exchangeRules.minNotional.toFixed(), maxQty: exchangeRules.maxQty?.toFixed() } }, run);
  log.info(`Instrument rules: tick ${rules.tickSize.toFixed()}, qty step ${rules.qtyStep.toFixed()}, min qty ${rules.minQty.toFixed()}, min notional ${rules.minNotional.toFixed()}`);

  const warmup = warmupOf(definition, params.strategy, strategyFile);
  record({
    t: 'session',
    version: 1,
    sessionId,
    strategy: definition.name,
    strategyFile,
    params: params.strategy,
    runParams: run,
    symbol,
    category,
    interval,
    env: bybitEnv,
    warmup,
    rules: { tickSize: rules.tickSize.toFixed(), qtyStep: rules.qtyStep.toFixed(), minQty: rules.minQty.toFixed(), minNotional: rules.minNotional.toFixed(), source: rules.source },
  });

  const ws = createWebsocket(conn, (level, message) => {
    if (level === 'error' && message) warn(`WebSocket: ${message}`);
  });
  ws.on('exception', (e: unknown) => {
    const m = e && typeof e === 'object' && 'ret_msg' in e ? String((e as { ret_msg: unknown }).ret_msg) : e instanceof Error ? e.message : 'WebSocket error';
    warn(`WebSocket: ${m}`);
    record({ t: 'note', level: 'warn', message: `WebSocket: ${m}` });
  });

  const broker = new BybitBroker({
    rest,
    ws,
    symbol,
    category: 'linear',
    rules,
    intervalMs: intervalMs(interval),
    minQtyPolicy: run.minQtyPolicy as 'raise' | 'skip',
    reconcileMs: run.reconcileSeconds * 1000,
    firstTradeId: restored.reduce((m, t) => Math.max(m, t.id), 0),
    log: (level, message) => (level === 'success' ? log.success(message) : level === 'warn' ? log.warn(message) : level === 'error' ? log.error(message) : log.info(message)),
    record,
  });

  if (openEntry) broker.restoreOpenTrade(openEntry);
  const trades: Trade[] = [...restored];
  let lastClose = NaN;
  const onEvent = (e: BrokerEvent) => {
    switch (e.type) {
      case 'fill':
        record({ t: 'fill', fill: JSON.parse(journalJson(e.fill)) });
        break;
      case 'position': {
        record({ t: 'position', source: 'ws', position: JSON.parse(journalJson(e.position)) });
        const p = e.position;
        if (p.side !== 'flat') {
          const upnl = Number.isFinite(lastClose) ? (lastClose - p.entryPrice.toNumber()) * p.qty.toNumber() * (p.side === 'long' ? 1 : -1) : 0;
          log.info(`💼 Open Position (WS): ${p.side === 'long' ? 'Buy' : 'Sell'} ${p.qty.toFixed(4)} ${symbol} at ${p.entryPrice.toFixed(2)}. Unrealized PnL: ${upnl.toFixed(4)}`);
        } else log.info(`Position closed for ${symbol} (WS).`);
        break;
      }
      case 'trade': {
        trades.push(e.trade);
        record({ t: 'trade', trade: tradeToJson(e.trade) });
        const t = e.trade;
        const pnl = `${t.netPnl.gte(0) ? '+' : ''}${t.netPnl.toFixed(4)}`;
        (t.netPnl.gt(0) ? log.success : log.warn)(`Trade ${t.id} closed (${t.exitReason}): ${t.side} ${t.qty.toFixed()} ${symbol} ${t.entryPrice.toFixed()} → ${t.exitPrice.toFixed()}, net ${pnl} USDT (fees ${t.fees.toFixed()})`);
        log.info(formatTradeStatsLine(tradeStats(trades)));
        break;
      }
      case 'rejected':
        record({ t: 'rejected', orderId: e.order.id, reason: e.reason, code: e.code });
        log.error(`Order ${e.order.id} not placed${e.code !== undefined ? ` (retCode ${e.code})` : ''}: ${e.reason}`);
        break;
      case 'notice':
        log.info(e.message);
    }
  };

  const feed = new RestCandleFeed({ rest, category: 'linear', symbol, interval, limit: run.candleFetchLimit });
  try {
    await broker.start();
    const history = await feed.history(warmup);
    log.info(`Warm-up: ${history.length} closed candles${history.length < warmup ? ` (the strategy asks for ${warmup}: early values are unsettled)` : ''}`);
    const engine = new Engine({
      definition,
      strategyFile,
      params: params.strategy,
      // A bad intent is refused (no order is sent), journaled and logged; the bot goes on.
      onInvalidIntent: (err) => {
        log.error(err.message);
        record({ t: 'note', level: 'error', message: err.message });
      },
      broker,
      symbol,
      interval,
      mode: 'live',
      tradeFrom: history.length ? history[history.length - 1]!.openTime + 1 : -Infinity,
      orderIdPrefix: sessionId,
      guards: guardsOf(run),
      history: restored,
      onGuard: (reason) => {
        log.warn(reason);
        record({ t: 'guard', reason });
      },
      onEvent,
      onDecision: (d) => {
        record({ t: 'decision', time: d.time, intents: d.intents, outcomes: d.outcomes });
        for (const i of d.intents) {
          if (i.kind === 'enter') log.info(`💡 Detected ${i.side === 'long' ? 'BUY' : 'SELL'} signal at ${lastClose.toFixed(2)} (Info: ${i.reason})`);
          else log.info(`💡 Detected EXIT signal at ${lastClose.toFixed(2)} (Info: ${i.reason})`);
        }
      },
    });
    for (const c of history) {
      engine.onCandle(c);
      record({ t: 'candle', live: false, candle: c });
    }
    if (history.length) lastClose = history[history.length - 1]!.close;
    const market = (c: Candle) => {
      log.info(`Current price: ${c.close.toFixed(2)} (candle ${new Date(c.openTime).toISOString().slice(0, 16).replace('T', ' ')} UTC closed)`);
      const st = engine.strategy.status?.();
      const ind = st?.indicators;
      if (ind && 'k' in ind && 'd' in ind) log.info(`📈 StochRSI K: ${ind.k!.toFixed(2)}, D: ${ind.d!.toFixed(2)}`);
      else if (ind) log.info(Object.entries(ind).map(([k, v]) => `${k}: ${v.toFixed(4)}`).join(', '));
      if (st?.resistances?.length) log.info(`Resistance Levels Detected:\n${st.resistances.map((l) => `  - ${l.price.toFixed(2)} (${l.label})`).join('\n')}`);
      if (st?.supports?.length) log.info(`Support Levels Detected:\n${st.supports.map((l) => `  - ${l.price.toFixed(2)} (${l.label})`).join('\n')}`);
    };
    log.info(`Trading ${symbol}; polling every ${run.pollingIntervalSeconds} s. Ctrl-C stops.`);

    while (!signal.aborted) {
      let fresh: Candle[] = [];
      try {
        fresh = await feed.poll();
      } catch (err) {
        warn(`could not fetch candles: ${(err as Error).message}`);
      }
      for (const c of fresh) {
        if (signal.aborted) break;
        lastClose = c.close;
        engine.onCandle(c);
        record({ t: 'candle', live: true, candle: c });
        market(c);
      }
      await sleep(run.pollingIntervalSeconds * 1000, signal);
    }

    // Stopping: no new decisions; finish what is in flight; optionally close the position.
    log.info('Stopping: no new decisions; waiting for orders in flight…');
    await broker.settle(Math.max(5000, run.reconcileSeconds * 1000 + 1000));
    if (flags.closeOnExit && broker.position().side !== 'flat') {
      const out = intentToOrder({ kind: 'exit', reason: 'close on exit' }, { position: broker.position(), orderInFlight: false, stoppedThisCandle: false, signalTime: feed.last, orderId: `${sessionId}-exit` });
      if ('order' in out) {
        log.info('--close-on-exit: closing the open position');
        broker.submit(out.order);
        await broker.settle(Math.max(5000, run.reconcileSeconds * 1000 + 1000));
      }
    }
    engine.close();
  } finally {
    broker.stop();
    const pos = broker.position();
    if (pos.side !== 'flat') log.warn(`A ${pos.side} position of ${pos.qty.toFixed()} ${symbol} stays open on the exchange with its stop loss and take profit.`);
    log.info(formatTradeStatsLine(tradeStats(trades)));
    record({ t: 'stop', reason: signal.aborted ? 'signal' : 'error' });
    journal.close();
    try {
      ws.closeAll(true);
    } catch {
      /* already closed */
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
