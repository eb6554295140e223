/**
 * The run's own parameters (fill model, balance, guards, live pacing, instrument overrides), shared by
 * every strategy, and the layering of parameters: defaults, then a config file, then `--param`. Pure.
 */
import { ConfigError, type FillModel, type Guards } from '../core/index.ts';
import { resolveParams, suggest, parseParamText, type ParamSchema, type ParamValues } from '../strategy/params.ts';

/** Bybit's standard fees for USDT perpetuals (fractions of notional): the one place they are written. */
export const TAKER_FEE = 0.00055;
export const MAKER_FEE = 0.0002;

/** Parameters of the run itself, shared by every strategy. */
export const RUN_PARAMS = {
  slippageBps: { type: 'number', default: 0, min: 0, max: 1000, description: 'Basis points added against the trader on every market fill' },
  takerFee: { type: 'number', default: TAKER_FEE, min: 0, max: 0.01, description: "Taker fee, fraction of notional (Bybit's 0.055%)" },
  makerFee: { type: 'number', default: MAKER_FEE, min: -0.01, max: 0.01, description: 'Maker fee, fraction of notional (kept for limit orders)' },
  limitFill: { type: 'string', default: 'through', choices: ['through', 'touch'], description: 'A resting limit fills when the price trades strictly beyond it (through) or reaches it (touch)' },
  intrabar: { type: 'string', default: 'stop-first', choices: ['stop-first', 'path'], description: 'Stop and target both reached in one candle: the stop wins, counted ambiguous (stop-first), or the path inside the candle decides (path)' },
  minQtyPolicy: { type: 'string', default: 'raise', choices: ['raise', 'skip'], description: 'Below the minimum qty: raise to it (the seed) or skip the entry' },
  minQtyWarnRatio: { type: 'number', default: 1.5, min: 0, description: 'Warn at start when the minimum qty makes an entry more than this many times usdtAmountPerTrade (0 = never)' },
  initialBalance: { type: 'number', default: 1000, min: 0.000001, description: 'Starting equity (USDT) for returns, drawdown %, Sharpe and Sortino' },
  maxDailyLoss: { type: 'number', default: 0, min: 0, description: 'Guard: no entries for the rest of the UTC day once the day lost this much (USDT; 0 = off)' },
  maxConsecutiveLosses: { type: 'number', default: 0, min: 0, integer: true, description: 'Guard: no entries for the rest of the UTC day after this many losses in a row (0 = off)' },
  maxPositionNotional: { type: 'number', default: 0, min: 0, description: 'Guard: refuse entries whose sized qty x price is above this (USDT; 0 = off)' },
  pollingIntervalSeconds: { type: 'number', default: 10, min: 0.001, max: 3600, description: 'Live: seconds between candle polls' },
  candleFetchLimit: { type: 'number', default: 200, min: 2, max: 1000, integer: true, description: 'Live: candles fetched per poll' },
  apiRequestRetries: { type: 'number', default: 3, min: 0, max: 20, integer: true, description: 'Live: retries of a failed REST call' },
  apiBackoffFactor: { type: 'number', default: 0.5, min: 0, max: 60, description: 'Live: backoff factor (s): waits factor x 2^attempt between retries' },
  reconcileSeconds: { type: 'number', default: 10, min: 0.01, max: 600, description: 'Live: after an order, seconds to wait for a position message before reconciling over REST' },
  positionCheckSeconds: { type: 'number', default: 30, min: 0, max: 3600, description: 'Live: the position is also read over REST this often (seconds; 0 = never)' },
  privateStreamTimeoutSeconds: { type: 'number', default: 30, min: 0.01, max: 3600, description: 'Live: with no private WebSocket stream for longer than this, no new entries (seconds)' },
  resyncTimeoutSeconds: { type: 'number', default: 60, min: 0.1, max: 3600, description: 'Live: a position resync running longer than this is started again (seconds)' },
  catchUp: { type: 'string', default: 'latest', choices: ['latest', 'none', 'all'], description: 'Live: candles that closed while pyr was away or the feed was down: decide only the newest if it closed less than one interval ago (latest), none, or all' },
  feedGraceSeconds: { type: 'number', default: 5, min: 0, max: 3600, description: 'Live (stream feed): seconds past the expected close before the kline stream counts as late and REST is polled' },
  heartbeatSeconds: { type: 'number', default: 60, min: 1, max: 3600, description: 'Live (stream feed): the REST heartbeat poll that detects a stuck stream (seconds)' },
  foreignPositions: { type: 'string', default: 'stop', choices: ['stop', 'ignore', 'adopt'], description: 'Live: a position pyr did not open: stop (refuse to trade the symbol), ignore (leave it, wait until closed) or adopt (manage it, attach the stop and target)' },
  tickSize: { type: 'string', default: '', description: 'Override the instrument tick size (e.g. 0.1)' },
  qtyStep: { type: 'string', default: '', description: 'Override the instrument qty step (e.g. 0.001)' },
  minQty: { type: 'string', default: '', description: 'Override the instrument minimum order qty' },
  minNotional: { type: 'string', default: '', description: 'Override the instrument minimum order value (USDT)' },
} as const satisfies ParamSchema;

export type RunParams = ParamValues<typeof RUN_PARAMS>;

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

/** The risk guards the run parameters turn on (0 = off). */
export function guardsOf(run: RunParams): Guards {
  return {
    maxDailyLoss: run.maxDailyLoss > 0 ? run.maxDailyLoss : undefined,
    maxConsecutiveLosses: run.maxConsecutiveLosses > 0 ? run.maxConsecutiveLosses : undefined,
    maxPositionNotional: run.maxPositionNotional > 0 ? run.maxPositionNotional : undefined,
  };
}

/** The simulator's fill model from the run parameters. */
export function fillModelOf(run: RunParams): FillModel {
  // limitFill and intrabar are written only when not the default, so a run's fill model (summary.json)
  // reads as it did before they existed.
  return {
    slippageBps: run.slippageBps, takerFee: run.takerFee, makerFee: run.makerFee, minQtyPolicy: run.minQtyPolicy as 'raise' | 'skip',
    ...(run.limitFill !== 'through' ? { limitFill: run.limitFill as 'touch' } : {}),
    ...(run.intrabar !== 'stop-first' ? { intrabar: run.intrabar as 'path' } : {}),
  };
}

