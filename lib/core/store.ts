/**
 * What the candle store reports about its files (lib/data/list.ts, check.ts), as the commands print
 * them (lib/report/data.ts).
 */
import type { Interval } from './candle.ts';

/** One file of the store as `pyr data list` shows it. */
export interface DataListEntry {
  kind: 'candles' | 'funding';
  symbol: string;
  category: string;
  /** Bybit's interval name; 'funding' for funding files. */
  interval: string;
  file: string;
  bytes: number;
  rows?: number;
  first?: number;
  last?: number;
  /** Missing candles (settlements for funding) at the file's step. */
  gaps?: number;
  /** Longest gap in ms (missing stretch), 0 when none. */
  largestGapMs?: number;
  /** Set when the file could not be read: the reason. */
  error?: string;
}

/** A run of missing candles: `from`/`to` are the first and last missing open times (inclusive). */
export interface CandleGap {
  from: number;
  to: number;
  candles: number;
}

/** `pyr data check`'s findings about one candle file. */
export interface CheckReport {
  file: string;
  bytes: number;
  rows: number;
  first: number;
  last: number;
  interval: Interval;
  /** Where the interval came from. */
  intervalFrom: 'flag' | 'file name' | 'inferred';
  /** Every gap, in order. */
  gaps: CandleGap[];
  /** Missing candles over all gaps. */
  missing: number;
  /** The longest gap, or undefined. */
  largestGap?: CandleGap;
  /** Open times off the interval's grid (the first 20) and how many there are. */
  misaligned: { count: number; first: number[] };
  zeroVolume: number;
  repeated: number;
  errors: string[];
  warnings: string[];
}
