/**
 * The backtest driver: walks a candle series through the engine, feeding warm-up candles before the
 * range, and records per-candle equity and exposure for the report. The broker it is given decides the
 * fills; the driver only needs it to value the account at a price.
 */
import { InvariantError, intervalMs, lowerBound, minQtyWarning, perTradeAmount, type Broker, type Candle, type CandleSeries, type RunRecord } from '../core/index.ts';
import type { StrategyDefinition } from '../strategy/index.ts';
import type { Guards } from '../core/index.ts';
import { Engine, reasonKey, type Decision } from './engine.ts';
import type { IntentError } from './intents.ts';

export interface ValuedBroker extends Broker {
  /** Mark-to-market equity at a price. */
  equity(mark: number): number;
}

export interface BacktestInput {
  readonly definition: StrategyDefinition;
  /** The strategy's file, named in errors about its output. */
  readonly strategyFile?: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly series: CandleSeries;
  readonly broker: ValuedBroker;
  /** First candle open time that may trade (inclusive). */
  readonly from: number;
  /** Candles opening at or after this time are not used. */
  readonly to: number;
  /** How many candles before `from` to feed for warm-up (at most; fewer when the data starts later). */
  readonly warmup: number;
  readonly meta: Omit<RunRecord['meta'], 'warmupCandles' | 'notices'> & { readonly notices?: readonly string[] };
  readonly onDecision?: (d: Decision) => void;
  /**
   * A strategy's invalid output refused (no order) and the run goes on, as `pyr live` does; `pyr diff`
   * replays a live session this way. Absent (a backtest): it ends the run with a StrategyError.
   */
  readonly onInvalidIntent?: (err: IntentError) => void;
  readonly guards?: Guards;
  /**
   * Warn (a notice, first among the run's own) when the instrument's minimum qty makes an entry more
   * than this many times the strategy's per-trade amount (`usdtAmountPerTrade` at the close of the
   * range's first candle; without that parameter, the first entry intent's size). 0 or absent: never.
   */
  readonly minQtyWarnRatio?: number;
  /** Progress callback, fraction 0..1, called rarely. */
  readonly onProgress?: (fraction: number) => void;
  /** Record what the strategy declares to plot, on every candle of the range (for a report). */
  readonly recordPlots?: boolean;
  /**
   * The series' candles as objects kept between runs over the same series (a sweep's worker has one
   * list): the candle of row i is made once, frozen, and handed to every run, instead of a new object per
   * candle per run. Rows not made yet are made when first fed.
   */
  readonly candles?: Candle[];
}

export function runBacktest(input: BacktestInput): { record: RunRecord; engine: Engine } {
  const s = input.series;
  const start = lowerBound(s, input.from);
  const end = lowerBound(s, input.to);
  if (end <= start) throw new InvariantError('runBacktest: empty range (the caller checks the range against the data)');
  const warmStart = Math.max(0, start - Math.max(0, input.warmup));
  const policy = input.meta.fillModel.minQtyPolicy;
  const ratio = input.minQtyWarnRatio ?? 0;
  // The start warning: the per-trade amount at the close of the range's first candle.
  const sizeWarnings: string[] = [];
  const amount = perTradeAmount(input.params);
  if (ratio > 0 && amount !== undefined) {
    const w = minQtyWarning(input.broker.rules(), amount, s.close[start]!, ratio, { policy });
    if (w !== undefined) sizeWarnings.push(w);
  }
  const engine = new Engine({
    definition: input.definition,
    strategyFile: input.strategyFile,
    params: input.params,
    broker: input.broker,
    symbol: input.meta.symbol,
    interval: input.meta.interval,
    tradeFrom: input.from,
    orderIdPrefix: 'bt',
    plots: input.recordPlots === true && input.definition.plots !== undefined,
    onDecision: input.onDecision,
    onInvalidIntent: input.onInvalidIntent,
    guards: input.guards,
    minQtyPolicy: policy,
    minQtyWarning: ratio > 0 && amount === undefined ? { ratio, onWarning: (w) => sizeWarnings.push(w) } : undefined,
  });
  const n = end - start;
  const equity = new Float64Array(n);
  const exposure = new Uint8Array(n);
  const broker = input.broker;
  const { openTime, open, high, low, close, volume, turnover } = s;
  const progressEvery = Math.max(1, Math.floor((end - warmStart) / 50));
  let tradesSeen = 0;
  // Declared plots, recorded only when asked (a report): the strategy's plot() once per candle of the range.
  const declared = input.recordPlots && engine.strategy.plot ? input.definition.plots?.(input.params as never) : undefined;
  const plotValues = declared ? declared.series.map(() => new Float64Array(n).fill(NaN)) : undefined;
  const strategy = engine.strategy;
  const trades = engine.trades;
  const kept = input.candles;
  for (let i = warmStart; i < end; i++) {
    if (kept === undefined) engine.onCandle({ openTime: openTime[i]!, open: open[i]!, high: high[i]!, low: low[i]!, close: close[i]!, volume: volume[i]!, turnover: turnover[i]! });
    else engine.onCandle((kept[i] ??= Object.freeze({ openTime: openTime[i]!, open: open[i]!, high: high[i]!, low: low[i]!, close: close[i]!, volume: volume[i]!, turnover: turnover[i]! })));
    if (i >= start) {
      const j = i - start;
      equity[j] = broker.equity(close[i]!);
      // Exposed during this candle: a position is open at its close, or one was closed inside it.
      const traded = trades.length !== tradesSeen;
      tradesSeen = trades.length;
      exposure[j] = broker.position().side !== 'flat' || traded ? 1 : 0;
      if (plotValues) {
        const v = strategy.plot!();
        for (let k = 0; k < plotValues.length; k++) {
          const x = v[k];
          if (typeof x === 'number') plotValues[k]![j] = x;
        }
      }
    }
    if (input.onProgress && (i - warmStart) % progressEvery === 0) input.onProgress((i - warmStart) / (end - warmStart));
  }
  const last = end - 1;
  broker.finish?.({ openTime: openTime[last]!, open: open[last]!, high: high[last]!, low: low[last]!, close: close[last]!, volume: volume[last]!, turnover: turnover[last]! });
  equity[n - 1] = broker.equity(close[last]!);
  engine.close();
  input.onProgress?.(1);

  const notices: string[] = [...(input.meta.notices ?? []), ...sizeWarnings];
  const raised = engine.trades.filter((t) => t.qtyRaisedToMin).length;
  if (raised > 0) notices.push(`qty was below the instrument minimum on ${raised} of ${engine.trades.length} entries and was raised to the minimum ${input.meta.rules.minQty} (minQtyPolicy "raise")`);
  notices.push(...skipNotices(engine));
  if (start - warmStart < input.warmup) {
    notices.push(`only ${start - warmStart} of the ${input.warmup} warm-up candles the strategy declares were available before the range; early decisions use unsettled indicators`);
  }
  const record: RunRecord = {
    meta: { ...input.meta, warmupCandles: start - warmStart, notices },
    times: s.openTime.subarray(start, end),
    closes: s.close.subarray(start, end),
    firstOpen: s.open[start]!,
    equity,
    exposure,
    intervalMs: intervalMs(input.meta.interval),
    trades: engine.trades,
    ...(declared && plotValues ? { plots: { series: declared.series.map((p) => ({ ...p })), guides: [...(declared.guides ?? [])], values: plotValues } } : {}),
  };
  return { record, engine };
}

/**
 * The run's notices about intents not acted on: one line per kind of reason with its count, and the
 * figures of the first when they differ from one to the next (a guard's, or a refusal's), e.g. "12 x order
 * rejected: qty 0.000185 is below the minimum 0.01 (minQtyPolicy "skip") (figures of the first)".
 */
export function skipNotices(engine: Pick<Engine, 'skipped' | 'skippedFirst'>): string[] {
  const groups = new Map<string, { count: number; first: string; varies: boolean }>();
  for (const [key, count] of engine.skipped) {
    const first = engine.skippedFirst.get(key);
    const text = first?.text ?? key;
    const k = reasonKey(key);
    const g = groups.get(k);
    if (!g) groups.set(k, { count, first: text, varies: first?.varies ?? false });
    else {
      g.count += count;
      g.varies = true;
    }
  }
  return [...groups.values()].map((g) => `${g.count} x ${g.first}${g.varies ? ' (figures of the first)' : ''}`);
}
