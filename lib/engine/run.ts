/**
 * One run from a spec: the candle-coverage check and range every command uses, and `runSpec`, which
 * drives the engine over the candles through the broker it is given (the simulator) and returns the run
 * record. Used by `pyr backtest`, the optimizer's workers, `pyr diff`'s replay, the test kit and the
 * tests' live harness, so a run is wired in one place.
 */
import { DAY_MS, MissingDataError, lowerBound, type Candle, type CandleSeries, type Dec, type RunRecord } from '../core/index.ts';
import type { RunSpec } from '../config/index.ts';
import { dayString } from '../config/index.ts';
import { runBacktest, type ValuedBroker } from './backtest.ts';
import type { Decision, Engine } from './engine.ts';
import type { IntentError } from './intents.ts';

/** The range asked for: inclusive UTC days (epoch ms of the day's start), as parsed from --from/--to. */
export interface DayRange {
  readonly from?: number;
  readonly to?: number;
  readonly fromText?: string;
  readonly toText?: string;
}

/**
 * The range a run trades over `series`: `[from, to)` in epoch ms. By default from the first whole UTC day
 * after the warm-up to the last day of the data. Throws a MissingDataError saying what the data covers
 * (and `fetchHint`, e.g. the download that fetches it) when the range is outside it.
 */
export function runRange(series: CandleSeries, range: DayRange, warmup: number, stepMs: number, source: string, fetchHint = ''): { from: number; to: number } {
  if (series.length === 0) throw new MissingDataError(`no candles in ${source}`);
  const first = series.openTime[0]!;
  const last = series.openTime[series.length - 1]!;
  const minute = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  const coverage = `the data covers ${minute(first)} to ${minute(last)} UTC (${source})${fetchHint}`;
  let from = range.from;
  if (from === undefined) {
    const afterWarmup = series.openTime[Math.min(series.length - 1, warmup)]!;
    from = Math.ceil(afterWarmup / DAY_MS) * DAY_MS;
    if (from > last) from = Math.floor(first / DAY_MS) * DAY_MS;
  }
  const to = (range.to ?? Math.floor(last / DAY_MS) * DAY_MS) + DAY_MS;
  if (from > last || to <= first) throw new MissingDataError(`the range ${dayString(from)} to ${dayString(to - DAY_MS)} is outside the data: ${coverage}`);
  if (range.from !== undefined && from + stepMs <= first && first - from >= stepMs) throw new MissingDataError(`--from ${range.fromText ?? dayString(from)} is before the first candle: ${coverage}`);
  if (range.to !== undefined && last + stepMs < to) throw new MissingDataError(`--to ${range.toText ?? dayString(to - DAY_MS)} is after the last candle: ${coverage}`);
  return { from, to };
}

/** Funding in words, without a double negative: "net 0.72 USDT paid" or "net 0.72 USDT received". */
export function fundingNet(paid: Dec): string {
  if (paid.isZero()) return 'net 0 USDT';
  return `net ${paid.abs().toFixed()} USDT ${paid.isNegative() ? 'received' : 'paid'}`;
}

/** A broker a backtest can value and ask what it charged (the simulator). */
export interface SimulatingBroker extends ValuedBroker {
  /** Funding charged in total (positive = paid), and at how many settlements. */
  readonly fundingPaid: Dec;
  readonly fundingSettlements: number;
  /** Orders still pending when the data ended. */
  readonly droppedAtEnd: number;
}

/** What a run reads besides the spec. */
export interface RunData {
  readonly series: CandleSeries;
  /** The candle file (named in the record and in errors). */
  readonly source: string;
  /** The funding history's file when one is charged (the broker holds its rates), or why none is. */
  readonly funding: { readonly file: string } | { readonly none: string };
  /** Remarks about the data for the report (gaps, downloads). */
  readonly notices?: readonly string[];
}

export interface RunOptions {
  readonly runId: string;
  /** `[from, to)` epoch ms: the range traded (see runRange). */
  readonly from: number;
  readonly to: number;
  readonly onDecision?: (d: Decision) => void;
  /** Refuse invalid strategy output and go on, as live does (see runBacktest). */
  readonly onInvalidIntent?: (err: IntentError) => void;
  readonly onProgress?: (fraction: number) => void;
  /** Warm-up candles fed before `from` (at most): default the strategy's own; a replay feeds what it has. */
  readonly warmup?: number;
  /** Record the strategy's declared plots (for report.html). */
  readonly recordPlots?: boolean;
  /** The series' candle objects kept between runs (runBacktest's `candles`: a sweep's worker). */
  readonly candles?: Candle[];
}

/** Runs `spec` over `data` through `broker` (fresh per run). The record's meta is the spec's. */
export function runSpec(spec: RunSpec, data: RunData, broker: SimulatingBroker, opts: RunOptions): { record: RunRecord; engine: Engine } {
  const r = spec.rules;
  const { record, engine } = runBacktest({
    definition: spec.strategy.definition,
    strategyFile: spec.strategy.file,
    params: spec.strategy.params,
    series: data.series,
    broker,
    from: opts.from,
    to: opts.to,
    warmup: opts.warmup ?? spec.strategy.warmup,
    guards: spec.guards,
    minQtyWarnRatio: spec.run.minQtyWarnRatio,
    onDecision: opts.onDecision,
    onInvalidIntent: opts.onInvalidIntent,
    onProgress: opts.onProgress,
    recordPlots: opts.recordPlots,
    candles: opts.candles,
    meta: {
      runId: opts.runId,
      strategy: spec.strategy.label,
      strategyFile: spec.strategy.file,
      symbol: spec.instrument.symbol,
      category: spec.instrument.category,
      instrument: spec.instrument,
      interval: spec.interval,
      from: dayString(opts.from),
      to: dayString(opts.to - DAY_MS),
      params: spec.shownParams,
      rules: { tickSize: r.tickSize.toString(), qtyStep: r.qtyStep.toString(), minQty: r.minQty.toString(), minNotional: r.minNotional.toString(), source: r.source },
      fillModel: spec.fillModel,
      initialBalance: spec.initialBalance,
      funding: { charged: 'file' in data.funding, detail: '' },
      notices: data.notices ?? [],
      source: data.source,
    },
  });
  const notices = record.meta.notices as string[];
  if (broker.droppedAtEnd > 0) notices.push(`${broker.droppedAtEnd} order decided on the last candle was not filled: the data ended`);
  const funding =
    'file' in data.funding
      ? { charged: true, detail: `charged from ${data.funding.file}: ${broker.fundingSettlements} settlements while a position was open, ${fundingNet(broker.fundingPaid)}` }
      : { charged: false, detail: data.funding.none };
  (record.meta as { funding: RunRecord['meta']['funding'] }).funding = funding;
  return { record, engine };
}

/** The candles of `[from, to)` (epoch ms) exist in the series: at least one. */
export function hasCandles(series: CandleSeries, from: number, to: number): boolean {
  return lowerBound(series, to) > lowerBound(series, from);
}
