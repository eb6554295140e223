/**
 * Configuration layers for a run: built-in defaults (the seed's config), then a config file
 * (`pyr.config.json` in the working directory, or `--config`), then `--param key=value`.
 * Parameters are either the strategy's (its schema) or the run's (fill model, balance, instrument rules);
 * an unknown key is rejected with the closest known name.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import path from 'node:path';
import { ConfigError, D, parseInterval, type Dec, type FillModel, type InstrumentRules, type Interval } from '../core/index.ts';
import type { Guards } from '../engine/index.ts';
import { PYR_ROOT, resolveParams, suggest, parseParamText, type ParamSchema, type ParamValues } from '../strategy/index.ts';

/** The flags every command that runs a strategy over candles takes (backtest, optimize). */
export interface RunFlags {
  strategy?: string;
  symbol?: string;
  interval?: string;
  from?: string;
  to?: string;
  category?: string;
  config?: string;
  param?: string[];
  dataDir?: string;
  candles?: string;
  funding?: string;
  /** Run on the committed sample (data/sample): real Bybit BTCUSDT 15-minute candles and funding. */
  sample?: boolean;
}

/** The sample shipped with pyr (data/sample/README.md): two months of real Bybit BTCUSDT 15-minute candles and funding. */
export const SAMPLE = {
  candles: path.join(PYR_ROOT, 'data', 'sample', 'BTCUSDT-15m.csv'),
  funding: path.join(PYR_ROOT, 'data', 'sample', 'BTCUSDT-funding.csv'),
  symbol: 'BTCUSDT',
  interval: '15',
  category: 'linear',
} as const;

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Adds the RunFlags options to a command; `dates` words the defaults of --from and --to. */
export function addRunOptions(cmd: Command, dates: { from: string; to: string }, paramHelp = 'set a strategy or run parameter (repeatable; several per flag)'): Command {
  return cmd
    .option('--strategy <name|file>', 'built-in or local strategy name, or a path to a .ts/.js strategy file')
    .option('--symbol <symbol>', 'symbol, e.g. BTCUSDT (default BTCUSDT)')
    .option('--interval <interval>', 'Bybit interval: 1 3 5 15 30 60 120 240 360 720 D W M (default 15)')
    .option('--from <YYYY-MM-DD>', `first UTC day traded, inclusive (${dates.from})`)
    .option('--to <YYYY-MM-DD>', `last UTC day traded, inclusive (${dates.to})`)
    .option('--category <category>', 'Bybit category (default linear)')
    .option('--config <file>', 'config file (default: pyr.config.json when present)')
    .option('--param <key=value...>', paramHelp, collect)
    .option('--data-dir <dir>', 'candle store folder (default data)')
    .option('--candles <file>', 'read this one candle file (.csv or .csv.gz) instead of the store')
    .option('--funding <file>', 'funding-rate history (timestamp,fundingRate) to charge')
    .option('--sample', 'run on the sample shipped with pyr: real Bybit BTCUSDT 15-minute candles and funding, 2024-07-01 to 2024-08-31 (no network)');
}

/** What RunFlags (and the config file under them) say to run on: validated, defaults applied. */
export interface RunTarget {
  readonly configFile?: string;
  readonly config: ConfigFile;
  readonly strategySpec: string;
  readonly symbol: string;
  readonly interval: Interval;
  readonly category: string;
  readonly dataDir: string;
  readonly fromText?: string;
  readonly toText?: string;
  /** The interval was given (flag or config file), not the default: a candle file must then hold it. */
  readonly intervalGiven: boolean;
  /** One candle file to read instead of the store (--candles, or the sample's). */
  readonly candles?: string;
  /** A funding history to charge (--funding, or the sample's). */
  readonly funding?: string;
}

export function resolveRunTarget(flags: RunFlags, cwd: string): RunTarget {
  const { file: configFile, config } = readConfigFile(flags.config, cwd);
  if (flags.sample) {
    for (const [flag, v] of [['--candles', flags.candles], ['--data-dir', flags.dataDir], ['--funding', flags.funding]] as const) {
      if (v !== undefined) throw new ConfigError(`--sample and ${flag} cannot be used together: --sample reads pyr's own sample files`);
    }
    const symbol = (flags.symbol ?? SAMPLE.symbol).toUpperCase();
    if (symbol !== SAMPLE.symbol) throw new ConfigError(`--symbol: the sample holds ${SAMPLE.symbol} only, not ${symbol}`);
    const interval = parseInterval(flags.interval ?? SAMPLE.interval);
    if (interval !== SAMPLE.interval) throw new ConfigError(`--interval: the sample holds 15-minute candles only, not ${flags.interval}`);
    if ((flags.category ?? SAMPLE.category) !== SAMPLE.category) throw new ConfigError(`--category: the sample is ${SAMPLE.category} (USDT perpetual) only`);
    return {
      configFile,
      config,
      strategySpec: flags.strategy ?? config.strategy ?? 'stochrsi-scalper',
      symbol,
      interval,
      category: SAMPLE.category,
      dataDir: path.resolve(cwd, config.dataDir ?? 'data'),
      fromText: flags.from ?? config.from,
      toText: flags.to ?? config.to,
      intervalGiven: true,
      candles: SAMPLE.candles,
      funding: SAMPLE.funding,
    };
  }
  const symbol = (flags.symbol ?? config.symbol ?? 'BTCUSDT').toUpperCase();
  if (!/^[A-Z0-9]{2,30}$/.test(symbol)) throw new ConfigError(`--symbol: "${symbol}" is not a symbol such as BTCUSDT`);
  const category = flags.category ?? config.category ?? 'linear';
  if (!['linear', 'inverse', 'spot'].includes(category)) throw new ConfigError(`--category: "${category}" is not one of linear, inverse, spot`);
  if (flags.candles && flags.dataDir) throw new ConfigError('--candles and --data-dir cannot be used together: --candles reads one file, --data-dir a candle store');
  return {
    configFile,
    config,
    strategySpec: flags.strategy ?? config.strategy ?? 'stochrsi-scalper',
    symbol,
    interval: parseInterval(flags.interval ?? config.interval ?? '15'),
    category,
    dataDir: path.resolve(cwd, flags.dataDir ?? config.dataDir ?? 'data'),
    fromText: flags.from ?? config.from,
    toText: flags.to ?? config.to,
    intervalGiven: flags.interval !== undefined || config.interval !== undefined,
    candles: flags.candles !== undefined ? path.resolve(cwd, flags.candles) : undefined,
    funding: flags.funding !== undefined ? path.resolve(cwd, flags.funding) : undefined,
  };
}

/** Parameters of the run itself, shared by every strategy. */
export const RUN_PARAMS = {
  slippageBps: { type: 'number', default: 0, min: 0, max: 1000, description: 'Basis points added against the trader on every market fill' },
  takerFee: { type: 'number', default: 0.00055, min: 0, max: 0.01, description: "Taker fee, fraction of notional (Bybit's 0.055%)" },
  makerFee: { type: 'number', default: 0.0002, min: -0.01, max: 0.01, description: 'Maker fee, fraction of notional (kept for limit orders)' },
  minQtyPolicy: { type: 'string', default: 'raise', choices: ['raise', 'skip'], description: 'Below the minimum qty: raise to it (the seed) or skip the entry' },
  initialBalance: { type: 'number', default: 1000, min: 0.000001, description: 'Starting equity (USDT) for returns, drawdown %, Sharpe and Sortino' },
  maxDailyLoss: { type: 'number', default: 0, min: 0, description: 'Guard: no entries for the rest of the UTC day once the day lost this much (USDT; 0 = off)' },
  maxConsecutiveLosses: { type: 'number', default: 0, min: 0, integer: true, description: 'Guard: no entries for the rest of the UTC day after this many losses in a row (0 = off)' },
  maxPositionNotional: { type: 'number', default: 0, min: 0, description: 'Guard: refuse entries above this notional (USDT; 0 = off)' },
  pollingIntervalSeconds: { type: 'number', default: 10, min: 0.001, max: 3600, description: 'Live: seconds between candle polls' },
  candleFetchLimit: { type: 'number', default: 200, min: 2, max: 1000, integer: true, description: 'Live: candles fetched per poll' },
  apiRequestRetries: { type: 'number', default: 3, min: 0, max: 20, integer: true, description: 'Live: retries of a failed REST call' },
  apiBackoffFactor: { type: 'number', default: 0.5, min: 0, max: 60, description: 'Live: backoff factor (s): waits factor x 2^attempt between retries' },
  reconcileSeconds: { type: 'number', default: 10, min: 0.01, max: 600, description: 'Live: after an order, seconds to wait for a position message before reconciling over REST' },
  tickSize: { type: 'string', default: '', description: 'Override the instrument tick size (e.g. 0.1)' },
  qtyStep: { type: 'string', default: '', description: 'Override the instrument qty step (e.g. 0.001)' },
  minQty: { type: 'string', default: '', description: 'Override the instrument minimum order qty' },
  minNotional: { type: 'string', default: '', description: 'Override the instrument minimum order value (USDT)' },
} as const satisfies ParamSchema;

export type RunParams = ParamValues<typeof RUN_PARAMS>;

/** Top-level keys a config file may hold. */
export const CONFIG_KEYS = ['strategy', 'symbol', 'interval', 'category', 'dataDir', 'from', 'to', 'out', 'params', 'restUrl', 'wsUrl', 'journal'] as const;
export interface ConfigFile {
  strategy?: string;
  symbol?: string;
  interval?: string;
  category?: string;
  dataDir?: string;
  from?: string;
  to?: string;
  out?: string;
  params?: Record<string, unknown>;
  /** Bybit REST base URL override (a mirror or the local exchange). */
  restUrl?: string;
  /** Bybit WebSocket URL override. */
  wsUrl?: string;
  /** Live journal file. */
  journal?: string;
}

/** Reads `--config file`, or `pyr.config.json` in `cwd` when present. */
export function readConfigFile(explicit: string | undefined, cwd: string): { file?: string; config: ConfigFile } {
  const file = explicit ? path.resolve(cwd, explicit) : path.join(cwd, 'pyr.config.json');
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError(`--config: file not found: ${file}`);
    return { config: {} };
  }
  let raw: unknown;
  const text = readFileSync(file, 'utf8');
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: ${jsonErrorWhere(text, err as Error)}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: must hold a JSON object`);
  for (const [k, v] of Object.entries(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${file}: unknown key "${k}"${suggest(k, CONFIG_KEYS)}; known: ${CONFIG_KEYS.join(', ')}`);
    if (k === 'params') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${file}: "params" must be an object`);
    } else if (typeof v !== 'string') throw new ConfigError(`${file}: "${k}" must be a string`);
  }
  return { file, config: raw as ConfigFile };
}

/**
 * A JSON syntax error as "line L, column C: what", from the character position JSON.parse reports
 * (counted in UTF-16 units from 0; lines and columns from 1).
 */
export function jsonErrorWhere(text: string, err: Error): string {
  const what = err.message.replace(/\s*(in JSON )?at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '');
  const m = /at position (\d+)/.exec(err.message);
  const pos = m ? Number(m[1]) : /Unexpected end of JSON input/.test(err.message) ? text.length : undefined;
  if (pos === undefined) return `not valid JSON: ${err.message}`;
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: not valid JSON: ${what}`;
}

/** Parses `--param` values ("key=value", possibly several per flag) against both schemas. */
export function parseParamFlags(items: readonly string[], strategySchema: ParamSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = [...Object.keys(strategySchema), ...Object.keys(RUN_PARAMS)];
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--param: expected key=value, got "${item}"`);
    const key = item.slice(0, eq).trim();
    const spec = strategySchema[key] ?? (RUN_PARAMS as ParamSchema)[key];
    if (!spec) throw new ConfigError(`--param: unknown parameter "${key}"${suggest(key, known)}; see \`pyr strategies\` for the list`);
    out[key] = parseParamText(key, spec, item.slice(eq + 1), '--param');
  }
  return out;
}

/** Splits merged parameter layers into the strategy's and the run's, validating each. */
export function resolveAllParams<S extends ParamSchema>(
  strategySchema: S,
  layers: readonly { where: string; values: Readonly<Record<string, unknown>> }[],
): { strategy: ParamValues<S>; run: RunParams } {
  const known = [...Object.keys(strategySchema), ...Object.keys(RUN_PARAMS)];
  const sLayers = [];
  const rLayers = [];
  for (const layer of layers) {
    const s: Record<string, unknown> = {};
    const r: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(layer.values)) {
      if (k in strategySchema) s[k] = v;
      else if (k in RUN_PARAMS) r[k] = v;
      else throw new ConfigError(`${layer.where}: unknown parameter "${k}"${suggest(k, known)}; see \`pyr strategies\` for the list`);
    }
    sLayers.push({ where: layer.where, values: s });
    rLayers.push({ where: layer.where, values: r });
  }
  const run = resolveParams(RUN_PARAMS, rLayers);
  for (const key of ['tickSize', 'qtyStep', 'minQty', 'minNotional'] as const) {
    const v = run[key];
    if (v !== '' && !(/^\d+(\.\d+)?$/.test(v) && Number(v) >= 0)) throw new ConfigError(`--param: ${key} must be a plain non-negative decimal such as 0.001, got "${v}"`);
    if (v !== '' && key !== 'minNotional' && key !== 'minQty' && Number(v) === 0) throw new ConfigError(`--param: ${key} must be positive, got "${v}"`);
  }
  return { strategy: resolveParams(strategySchema, sLayers), run };
}

export function guardsOf(run: RunParams): Guards {
  return {
    maxDailyLoss: run.maxDailyLoss > 0 ? run.maxDailyLoss : undefined,
    maxConsecutiveLosses: run.maxConsecutiveLosses > 0 ? run.maxConsecutiveLosses : undefined,
    maxPositionNotional: run.maxPositionNotional > 0 ? run.maxPositionNotional : undefined,
  };
}

export function fillModelOf(run: RunParams): FillModel {
  return { slippageBps: run.slippageBps, takerFee: run.takerFee, makerFee: run.makerFee, minQtyPolicy: run.minQtyPolicy as 'raise' | 'skip' };
}

/**
 * Built-in instrument rules for the main Bybit linear symbols (tick size, qty step, min qty, min
 * notional), used when no instruments snapshot was saved. Exchange values change: `pyr download` saves
 * the exchange's own snapshot, which wins.
 */
export const BUILTIN_RULES: Readonly<Record<string, { tickSize: string; qtyStep: string; minQty: string; minNotional: string }>> = {
  BTCUSDT: { tickSize: '0.1', qtyStep: '0.001', minQty: '0.001', minNotional: '5' },
  ETHUSDT: { tickSize: '0.01', qtyStep: '0.01', minQty: '0.01', minNotional: '5' },
  SOLUSDT: { tickSize: '0.01', qtyStep: '0.1', minQty: '0.1', minNotional: '5' },
  XRPUSDT: { tickSize: '0.0001', qtyStep: '1', minQty: '1', minNotional: '5' },
  DOGEUSDT: { tickSize: '0.00001', qtyStep: '1', minQty: '1', minNotional: '5' },
  BNBUSDT: { tickSize: '0.1', qtyStep: '0.01', minQty: '0.01', minNotional: '5' },
};

/** Picks instrument rules: snapshot, else built-in, else `--param`; `--param` values override any source. */
export function resolveRules(
  symbol: string,
  category: string,
  snapshot: { file: string; rules?: { tickSize: string; qtyStep: string; minQty: string; minNotional: string; maxQty?: string } } | undefined,
  run: RunParams,
): InstrumentRules {
  let base: { tickSize: string; qtyStep: string; minQty: string; minNotional: string; maxQty?: string } | undefined;
  let source: string;
  if (snapshot?.rules) {
    base = snapshot.rules;
    source = `instruments snapshot ${snapshot.file}`;
  } else if (BUILTIN_RULES[symbol]) {
    base = BUILTIN_RULES[symbol];
    source = `built-in rules for ${symbol}`;
  } else {
    source = '--param';
  }
  const pick = (key: 'tickSize' | 'qtyStep' | 'minQty' | 'minNotional'): Dec => {
    const v = run[key] !== '' ? run[key] : base?.[key];
    if (v === undefined) {
      throw new ConfigError(`no instrument rules for ${symbol}: run \`pyr download\` to save the exchange's snapshot, or pass --param tickSize=.. qtyStep=.. minQty=..`);
    }
    return new D(v);
  };
  const overridden = (['tickSize', 'qtyStep', 'minQty', 'minNotional'] as const).filter((k) => run[k] !== '');
  if (overridden.length > 0 && base) source += ` with --param ${overridden.join(', ')}`;
  return {
    symbol,
    category,
    tickSize: pick('tickSize'),
    qtyStep: pick('qtyStep'),
    // Without a source, the minimum qty defaults to one step and the minimum notional to none.
    minQty: run.minQty !== '' || base ? pick('minQty') : pick('qtyStep'),
    minNotional: run.minNotional !== '' || base ? pick('minNotional') : new D(0),
    maxQty: base?.maxQty ? new D(base.maxQty) : undefined,
    source,
  };
}

/** Parses a YYYY-MM-DD day (UTC) for a flag; returns its start in epoch ms. */
export function parseDay(text: string, flag: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) throw new ConfigError(`${flag}: expected a date as YYYY-MM-DD, got "${text}"`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new ConfigError(`${flag}: "${text}" is not a real date`);
  }
  return t;
}

export function dayString(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

