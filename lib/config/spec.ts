/**
 * The run spec: everything a run is, resolved once from defaults, a config file, flags and `--param`, and
 * used by every command that runs a strategy (backtest, optimize, diff, live) and by the test kit. Pure:
 * it reads no file and no candle. The command line reads the config file and the instruments snapshot and
 * loads the strategy; this turns them and the flags into a spec, or a ConfigError naming the flag or key.
 */
import path from 'node:path';
import { ConfigError, parseInterval, type FillModel, type Guards, type InstrumentKey, type InstrumentRules, type Interval } from '../core/index.ts';
import type { StrategyDefinition } from '../strategy/index.ts';
import { warmupOf } from '../strategy/index.ts';
import { parseDay } from './days.ts';
import type { ConfigFile } from './file.ts';
import { fillModelOf, guardsOf, parseParamFlags, resolveAllParams, type RunParams } from './params.ts';
import { resolveRules, type RulesSnapshot } from './rules.ts';

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
  /** Run on the sample shipped with pyr (data/sample): real Bybit BTCUSDT 15-minute candles and funding. */
  sample?: boolean;
}

export type { InstrumentKey } from '../core/index.ts';
export { instrumentId } from '../core/index.ts';

/** Where the candles come from: one file (`--candles`, `--sample`), or the candle store. */
export type DataSource =
  | { readonly kind: 'file'; readonly file: string; readonly funding?: string; readonly sample: boolean }
  | { readonly kind: 'store'; readonly dataDir: string; readonly funding?: string };

/** What the flags and the config file say to run on, before the strategy is loaded. */
export interface RunTarget {
  readonly configFile?: string;
  readonly config: ConfigFile;
  /** A built-in or local strategy name, or a file. */
  readonly strategySpec: string;
  readonly instrument: InstrumentKey;
  readonly interval: Interval;
  /** The interval was given (flag or config file), not the default: a candle file must then hold it. */
  readonly intervalGiven: boolean;
  readonly data: DataSource;
  /** The candle store (also for --candles: where instrument snapshots are looked up). */
  readonly dataDir: string;
  /** Inclusive UTC days, as given, and parsed (epoch ms of the day's start). */
  readonly range: { readonly fromText?: string; readonly toText?: string; readonly from?: number; readonly to?: number };
}

/** The sample's files (the command line knows where pyr is installed). */
export interface SampleFiles {
  readonly candles: string;
  readonly funding: string;
}

const SAMPLE_MARKET = { symbol: 'BTCUSDT', interval: '15', category: 'linear' } as const;

/** Resolves flags over a config file into a target. `cwd` resolves relative paths. */
export function resolveRunTarget(flags: RunFlags, configFile: { file?: string; config: ConfigFile }, cwd: string, sample?: SampleFiles): RunTarget {
  const config = configFile.config;
  const fromText = flags.from ?? config.from;
  const toText = flags.to ?? config.to;
  const from = fromText !== undefined ? parseDay(fromText, '--from') : undefined;
  const to = toText !== undefined ? parseDay(toText, '--to') : undefined;
  if (from !== undefined && to !== undefined && from > to) throw new ConfigError(`--from ${fromText} is after --to ${toText}`);
  const range = { fromText, toText, from, to };
  const strategySpec = flags.strategy ?? config.strategy ?? 'stochrsi-scalper';
  if (flags.sample) {
    if (!sample) throw new ConfigError('--sample: this installation has no sample');
    for (const [flag, v] of [['--candles', flags.candles], ['--data-dir', flags.dataDir], ['--funding', flags.funding]] as const) {
      if (v !== undefined) throw new ConfigError(`--sample and ${flag} cannot be used together: --sample reads pyr's own sample files`);
    }
    const symbol = (flags.symbol ?? SAMPLE_MARKET.symbol).toUpperCase();
    if (symbol !== SAMPLE_MARKET.symbol) throw new ConfigError(`--symbol: the sample holds ${SAMPLE_MARKET.symbol} only, not ${symbol}`);
    const interval = parseInterval(flags.interval ?? SAMPLE_MARKET.interval);
    if (interval !== SAMPLE_MARKET.interval) throw new ConfigError(`--interval: the sample holds 15-minute candles only, not ${flags.interval}`);
    if ((flags.category ?? SAMPLE_MARKET.category) !== SAMPLE_MARKET.category) throw new ConfigError(`--category: the sample is ${SAMPLE_MARKET.category} (USDT perpetual) only`);
    return {
      configFile: configFile.file,
      config,
      strategySpec,
      instrument: { exchange: 'bybit', category: SAMPLE_MARKET.category, symbol },
      interval,
      intervalGiven: true,
      data: { kind: 'file', file: sample.candles, funding: sample.funding, sample: true },
      dataDir: path.resolve(cwd, config.dataDir ?? 'data'),
      range,
    };
  }
  const symbol = (flags.symbol ?? config.symbol ?? 'BTCUSDT').toUpperCase();
  if (!/^[A-Z0-9]{2,30}$/.test(symbol)) throw new ConfigError(`--symbol: "${symbol}" is not a symbol such as BTCUSDT`);
  const category = flags.category ?? config.category ?? 'linear';
  if (!['linear', 'inverse', 'spot'].includes(category)) throw new ConfigError(`--category: "${category}" is not one of linear, inverse, spot`);
  if (flags.candles && flags.dataDir) throw new ConfigError('--candles and --data-dir cannot be used together: --candles reads one file, --data-dir a candle store');
  const dataDir = path.resolve(cwd, flags.dataDir ?? config.dataDir ?? 'data');
  const funding = flags.funding !== undefined ? path.resolve(cwd, flags.funding) : undefined;
  return {
    configFile: configFile.file,
    config,
    strategySpec,
    instrument: { exchange: 'bybit', category, symbol },
    interval: parseInterval(flags.interval ?? config.interval ?? '15'),
    intervalGiven: flags.interval !== undefined || config.interval !== undefined,
    data: flags.candles !== undefined ? { kind: 'file', file: path.resolve(cwd, flags.candles), funding, sample: false } : { kind: 'store', dataDir, funding },
    dataDir,
    range,
  };
}

/** A layer of parameter values and where it came from (named in errors). */
export interface ParamLayer {
  readonly where: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/** The parameter layers of a run: the config file's `params`, then `--param`. */
export function paramLayersOf(definition: StrategyDefinition, configFile: { file?: string; config: ConfigFile }, paramFlags: readonly string[] | undefined): ParamLayer[] {
  const layers: ParamLayer[] = [];
  if (configFile.config.params) layers.push({ where: configFile.file ?? 'pyr.config.json', values: configFile.config.params });
  if (paramFlags?.length) layers.push({ where: '--param', values: parseParamFlags(paramFlags, definition.params) });
  return layers;
}

/** Everything a run is. */
export interface RunSpec {
  readonly strategy: {
    readonly definition: StrategyDefinition;
    readonly file: string;
    /** How reports name it: the name, with the file when the file is not named after it. */
    readonly label: string;
    /** The strategy's parameters, resolved and checked. */
    readonly params: Readonly<Record<string, unknown>>;
    /** Closed candles it needs before decisions count (checked: a whole number ≥ 0). */
    readonly warmup: number;
  };
  readonly instrument: InstrumentKey;
  readonly interval: Interval;
  /** Tick, qty step, minimums, and their source. */
  readonly rules: InstrumentRules;
  /** The run's own parameters (fill model, balance, guards, live pacing), resolved. */
  readonly run: RunParams;
  readonly fillModel: FillModel;
  readonly guards: Guards;
  readonly initialBalance: number;
  /** Parameters as reports show them: the strategy's, then the run's that are set. */
  readonly shownParams: Readonly<Record<string, unknown>>;
  /** Where the candles come from, and the days asked for (from the target, when there is one). */
  readonly data?: DataSource;
  readonly range?: RunTarget['range'];
  /** Live mode's pacing: polls, retries, reconciling. */
  readonly live: { readonly pollingIntervalSeconds: number; readonly candleFetchLimit: number; readonly apiRequestRetries: number; readonly apiBackoffFactor: number; readonly reconcileSeconds: number };
}

export interface RunSpecInput {
  readonly definition: StrategyDefinition;
  readonly strategyFile: string;
  readonly instrument: InstrumentKey;
  readonly interval: Interval;
  /** Parameter layers over the defaults, lowest first (config file, --param, a sweep's combination). */
  readonly layers: readonly ParamLayer[];
  /** The saved instrument rules (a snapshot of the exchange's), when there are some. */
  readonly snapshot?: RulesSnapshot;
  /** The run target's data source and range, kept in the spec. */
  readonly target?: Pick<RunTarget, 'data' | 'range'>;
}

/** The label reports give a strategy: its name, with its file when the file is not named after it. */
export function strategyLabel(definition: StrategyDefinition, file: string): string {
  return definition.name === path.basename(file).replace(/\.(ts|js|mjs|cjs)$/, '') ? definition.name : `${definition.name} (${file})`;
}

/** Resolves a run spec. Throws a ConfigError naming the layer and key of a bad parameter. */
export function resolveRunSpec(input: RunSpecInput): RunSpec {
  const params = resolveAllParams(input.definition.params, input.layers);
  const run = params.run;
  const strategyParams = params.strategy as Readonly<Record<string, unknown>>;
  return {
    strategy: {
      definition: input.definition,
      file: input.strategyFile,
      label: strategyLabel(input.definition, input.strategyFile),
      params: strategyParams,
      warmup: warmupOf(input.definition, strategyParams, input.strategyFile),
    },
    instrument: input.instrument,
    interval: input.interval,
    rules: resolveRules(input.instrument.symbol, input.instrument.category, input.snapshot, run),
    run,
    fillModel: fillModelOf(run),
    guards: guardsOf(run),
    initialBalance: run.initialBalance,
    shownParams: { ...strategyParams, ...Object.fromEntries(Object.entries(run).filter(([, v]) => v !== '')) },
    ...(input.target ? { data: input.target.data, range: input.target.range } : {}),
    live: {
      pollingIntervalSeconds: run.pollingIntervalSeconds,
      candleFetchLimit: run.candleFetchLimit,
      apiRequestRetries: run.apiRequestRetries,
      apiBackoffFactor: run.apiBackoffFactor,
      reconcileSeconds: run.reconcileSeconds,
    },
  };
}
