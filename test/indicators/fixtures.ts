/**
 * Test-side readers for the shared 15-minute candles and the StochRSI reference file (plain fs + split).
 * Both are in ../shared only: each reader gates the calling test or hook with requireShared (pass `this`).
 */
import { readFileSync } from 'node:fs';
import type { Candle } from '../../lib/core/index.ts';
import { DATA_15M, REF_STOCHRSI, SAMPLE_15M, requireShared } from '../helpers.ts';

export interface Reference {
  readonly timestamp: number[];
  /** NaN where the file's cell is empty. */
  readonly rsi: number[];
  readonly stoch: number[];
  readonly k: number[];
  readonly d: number[];
}

export interface RealCandles {
  readonly timestamp: number[];
  readonly high: number[];
  readonly low: number[];
  readonly close: number[];
}

let candles: RealCandles | undefined;
let sample: RealCandles | undefined;
let reference: Reference | undefined;

function rows(file: string, header: string): string[][] {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  if (lines[0] !== header) throw new Error(`${file}: unexpected header ${lines[0]}`);
  return lines.slice(1).map((l) => l.split(','));
}

function readCandles(file: string): RealCandles {
  const r = rows(file, 'timestamp,open,high,low,close,volume,turnover');
  const col = (i: number): number[] => r.map((c) => Number(c[i]));
  return { timestamp: col(0), high: col(2), low: col(3), close: col(4) };
}

/** Open times, highs, lows and closes of `BTCUSDT-15m.csv` (all 61,440), read once per test run; skips `ctx` without it. */
export function realCandles(ctx: Mocha.Context): RealCandles {
  requireShared(ctx, DATA_15M);
  candles ??= readCandles(DATA_15M);
  return candles;
}

/** The same columns of the committed sample (data/sample, 5,952 real candles from 2024-07-01): always there. */
export function sampleCandles(): RealCandles {
  sample ??= readCandles(SAMPLE_15M);
  return sample;
}

/** The StochRSI reference (../shared/reference); skips `ctx` without it. */
export function realReference(ctx: Mocha.Context): Reference {
  requireShared(ctx, REF_STOCHRSI);
  if (!reference) {
    const r = rows(REF_STOCHRSI, 'timestamp,rsi,stoch,k,d');
    const col = (i: number): number[] => r.map((c) => (c[i] === '' ? NaN : Number(c[i])));
    reference = { timestamp: col(0), rsi: col(1), stoch: col(2), k: col(3), d: col(4) };
  }
  return reference;
}

/** A candle from the fields a test cares about; the rest are filler. */
export function candle(openTime: number, high: number, low: number, close = (high + low) / 2): Candle {
  return { openTime, open: close, high, low, close, volume: 1, turnover: NaN };
}
