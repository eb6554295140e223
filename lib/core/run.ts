import type { Interval } from './candle.ts';
import type { InstrumentKey } from './instrument.ts';
import type { Trade } from './orders.ts';

/** How fills are simulated; every field is a documented option. */
export interface FillModel {
  /** Basis points added against the trader on market fills. */
  readonly slippageBps: number;
  /** Fraction of notional, e.g. 0.00055 (0.055%). */
  readonly takerFee: number;
  readonly makerFee: number;
  readonly minQtyPolicy: 'raise' | 'skip';
  /** A resting limit fills when the price trades strictly beyond it ('through', the default) or reaches it ('touch'). */
  readonly limitFill?: 'through' | 'touch';
  /**
   * A stop and a target both reached inside one candle after the entry: the stop wins and the exit is
   * counted ambiguous ('stop-first', the default), or the path inside the candle decides ('path').
   */
  readonly intrabar?: 'stop-first' | 'path';
}

/**
 * Optional risk guards. When one trips, no new entries are taken (exits still are) and the reason is
 * reported. Daily limits reset at 00:00 UTC; the loss streak resets with the next winning trade or the
 * next UTC day.
 */
export interface Guards {
  /** Stop entering for the rest of the UTC day once the day's closed net PnL is at or below -this (quote). */
  readonly maxDailyLoss?: number;
  /** Stop entering after this many losing trades in a row (until a new UTC day). */
  readonly maxConsecutiveLosses?: number;
  /** Refuse entries whose notional (quote) is above this. */
  readonly maxPositionNotional?: number;
}

/** Everything a report needs about a finished run (backtest or live), with no reference to who ran it. */
export interface RunRecord {
  readonly meta: {
    readonly runId: string;
    readonly strategy: string;
    /** The strategy's file (a report re-runs it to draw what it declares). */
    readonly strategyFile?: string;
    readonly symbol: string;
    readonly category: string;
    /** The instrument key (exchange, category, symbol): what a run over several instruments will key by. */
    readonly instrument?: InstrumentKey;
    readonly interval: Interval;
    /** Inclusive UTC day range asked for (YYYY-MM-DD), when there was one. */
    readonly from?: string;
    readonly to?: string;
    readonly params: Readonly<Record<string, unknown>>;
    readonly rules: { readonly tickSize: string; readonly qtyStep: string; readonly minQty: string; readonly minNotional: string; readonly source: string };
    readonly fillModel: FillModel;
    readonly initialBalance: number;
    /** Whether funding was charged, and from which file; or why not. */
    readonly funding: { readonly charged: boolean; readonly detail: string };
    /** One-off remarks for the report (e.g. "qty raised to the minimum 0.001 on 12 entries"). */
    readonly notices: readonly string[];
    /** Candle file the run read. */
    readonly source: string;
    /** Candles fed before the range for warm-up. */
    readonly warmupCandles: number;
  };
  /** Open times of the candles in the range, ascending. */
  readonly times: Float64Array;
  /** Close of each candle in the range. */
  readonly closes: Float64Array;
  /** Open of the first candle, for buy-and-hold. */
  readonly firstOpen: number;
  /** Mark-to-market equity at each candle's close (initialBalance + realised net PnL + unrealised PnL). */
  readonly equity: Float64Array;
  /** 1 where a position was open at the candle's close (or during it), else 0. */
  readonly exposure: Uint8Array;
  readonly intervalMs: number;
  readonly trades: readonly Trade[];
  /**
   * What the strategy declared to draw, with its values at each candle of the range (NaN where none):
   * recorded when the run was asked to (a report), absent otherwise.
   */
  readonly plots?: RecordedPlots;
}

/** Plotted series as recorded by a run: the declaration (lib/strategy's PlotDeclaration) and the values. */
export interface RecordedPlots {
  readonly series: readonly { readonly name: string; readonly pane?: string; readonly color?: string; readonly style?: 'line' | 'step'; readonly decimals?: number }[];
  readonly guides: readonly { readonly pane: string; readonly value: number; readonly label: string }[];
  /** One array per series, aligned with `times`. */
  readonly values: readonly Float64Array[];
}
