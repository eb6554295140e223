/**
 * `pyr import <file>`: converts a Binance kline file (CSV or the ZIP it comes in) or any CSV with a
 * header into pyr's candle layout, in the store or at `--out`. See lib/data/import.ts for the formats,
 * the validation and the merge rules.
 *
 *   pyr import BTCUSDT-1m-2024-01.zip                       symbol and interval from Binance's file name
 *   pyr import prices.csv --symbol BTCUSDT --interval 60 --map timestamp=Date,volume="Volume BTC" --time-unit iso
 *   pyr import more.csv --symbol BTCUSDT --interval 1 --merge
 */
import * as fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, MissingDataError, intervalLabel, parseInterval, type Interval } from '../core/index.ts';
import { candlePath, findCandleFile } from '../data/store.ts';
import { importCandleFile, parseColumnMap, type ImportFormat, type ImportResult, type TimeUnit } from '../data/import.ts';
import type { CliIo } from './backtest.ts';
import { intText, relPath, utcText } from '../report/format.ts';

export interface ImportFlags {
  symbol?: string;
  interval?: string;
  category?: string;
  format?: string;
  map?: string[];
  timeUnit?: string;
  dataDir?: string;
  out?: string;
  merge?: boolean;
  force?: boolean;
  json?: boolean;
}

const BINANCE_INTERVALS: Record<string, Interval | undefined> = {
  '1m': '1', '3m': '3', '5m': '5', '15m': '15', '30m': '30', '1h': '60', '2h': '120', '4h': '240', '6h': '360', '12h': '720',
  '1d': 'D', '1w': 'W', '1mo': 'M', '1s': undefined, '8h': undefined, '3d': undefined,
};

/**
 * Symbol and interval from a data.binance.vision file name (`BTCUSDT-1m-2024-01.zip`,
 * `BTCUSDT-15m-2024-01-31.csv`); undefined when the name is not one. `interval` is null for a Binance
 * interval Bybit does not have (1s, 8h, 3d).
 */
export function binanceNameInfo(file: string): { symbol: string; interval: Interval | null; binanceInterval: string } | undefined {
  const m = /^([A-Z0-9]{2,30})-(\d+[smhdw]|1mo)-\d{4}-\d{2}(?:-\d{2})?\.(?:zip|csv)$/.exec(path.basename(file));
  if (!m || !(m[2]! in BINANCE_INTERVALS)) return undefined;
  return { symbol: m[1]!, interval: BINANCE_INTERVALS[m[2]!] ?? null, binanceInterval: m[2]! };
}

/** `pyr import`: validates the flags, imports, prints a one-line summary (or JSON). */
export async function importCandles(file: string, flags: ImportFlags, io: CliIo): Promise<ImportResult> {
  const input = path.resolve(io.cwd, file);
  if (!fs.existsSync(input)) throw new MissingDataError(`file not found: ${input}`);
  const named = binanceNameInfo(input);

  let interval: Interval;
  if (flags.interval !== undefined) {
    interval = parseInterval(flags.interval, '--interval');
    if (named?.interval && named.interval !== interval) {
      throw new ConfigError(`--interval ${flags.interval}: the file name says ${named.binanceInterval} candles (${named.interval}); drop --interval or check the file`);
    }
  } else if (named) {
    if (named.interval === null) throw new ConfigError(`Bybit has no ${named.binanceInterval} interval, so ${path.basename(input)} cannot be imported as is`);
    interval = named.interval;
  } else {
    throw new ConfigError('--interval: required (the interval of the candles in the file, e.g. 1, 15, 60, D)');
  }

  const format = (flags.format ?? 'auto') as ImportFormat;
  if (!['auto', 'binance', 'generic'].includes(format)) throw new ConfigError(`--format: "${flags.format}" is not one of auto, binance, generic`);
  const timeUnit = (flags.timeUnit ?? 'auto') as TimeUnit;
  if (!['auto', 'ms', 's', 'us', 'iso'].includes(timeUnit)) throw new ConfigError(`--time-unit: "${flags.timeUnit}" is not one of auto, ms, s, us, iso`);
  const map = parseColumnMap(flags.map);
  if (flags.merge && flags.force) throw new ConfigError('--merge and --force cannot be used together: --merge keeps the existing candles, --force replaces the file');
  const category = flags.category ?? 'linear';
  if (!['linear', 'inverse', 'spot'].includes(category)) throw new ConfigError(`--category: "${category}" is not one of linear, inverse, spot`);

  let target: string;
  if (flags.out !== undefined) {
    target = path.resolve(io.cwd, flags.out);
  } else {
    const symbolText = flags.symbol ?? named?.symbol;
    if (symbolText === undefined) throw new ConfigError('--symbol: required to place the candles in the store (or give --out <file>)');
    const symbol = symbolText.toUpperCase();
    if (!/^[A-Z0-9]{2,30}$/.test(symbol)) throw new ConfigError(`--symbol: "${symbolText}" is not a symbol such as BTCUSDT`);
    const dataDir = path.resolve(io.cwd, flags.dataDir ?? 'data');
    target = findCandleFile(dataDir, category, symbol, interval) ?? candlePath(dataDir, category, symbol, interval);
  }

  const r = await importCandleFile({
    input,
    target,
    interval,
    format,
    map,
    timeUnit,
    existing: flags.merge ? 'merge' : flags.force ? 'replace' : 'refuse',
  });

  if (flags.json) {
    io.stdout.write(`${JSON.stringify({ ...r, interval, first: new Date(r.first).toISOString(), last: new Date(r.last).toISOString() }, null, 2)}\n`);
  } else {
    const units = r.units.map((u) => (u === 'us' ? 'µs' : u === 'iso' ? 'ISO 8601' : u)).join('/');
    const gaps = r.missing === 0 ? 'no gaps' : `${intText(r.missing)} missing candle${r.missing === 1 ? '' : 's'} in ${intText(r.gaps)} gap${r.gaps === 1 ? '' : 's'}`;
    const how = r.merged
      ? `; merged: ${intText(r.added)} new, ${intText(r.identical)} already there`
      : r.replaced
        ? '; replaced the old file (--force)'
        : '';
    io.stdout.write(
      `Imported ${intText(r.imported)} ${intervalLabel(interval)} candles (${r.format}, ${units} times) from ${path.basename(input)} into ${relPath(io.cwd, r.file)}: ${intText(r.rows)} rows, ${utcText(r.first)} → ${utcText(r.last)} UTC, ${gaps}${how}\n`,
    );
  }
  return r;
}

export function importCommand(io: CliIo): Command {
  return new Command('import')
    .description("Convert a candle file from elsewhere (Binance kline CSV/ZIP, or any CSV with a header) into pyr's store")
    .argument('<file>', 'input: .csv, .csv.gz or .zip (a data.binance.vision download)')
    .option('--symbol <symbol>', 'symbol for the store path (default: from a Binance file name)')
    .option('--interval <interval>', 'interval of the candles: 1 3 5 15 30 60 120 240 360 720 D W M (default: from a Binance file name)')
    .option('--category <category>', 'Bybit category for the store path (default linear)')
    .option('--format <format>', 'auto, binance or generic (default auto)')
    .option('--map <field=column,...>', 'generic CSV: which header column holds timestamp, open, high, low, close, volume, turnover (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--time-unit <unit>', 'timestamps in ms, s, us or iso (default auto: numbers by magnitude, else ISO 8601; no zone = UTC)')
    .option('--data-dir <dir>', 'candle store folder (default data)')
    .option('--out <file>', 'write here instead of the store path')
    .option('--merge', 'merge into an existing file (same candles once; different values for the same time are an error)')
    .option('--force', 'replace an existing file')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, opts: ImportFlags) => {
      await importCandles(file, opts, io);
    });
}
