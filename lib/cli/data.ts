/**
 * `pyr data`: look after the local candle store.
 *
 *   pyr data list [--data-dir data] [--json]          every candle and funding file with its range, rows, gaps and size
 *   pyr data check <file> [--interval X] [--json]     validate one file; exits 2 on errors
 *   pyr data resample --interval 15 [--from-interval 1] [--symbol BTCUSDT] [--category linear]
 *                     [--data-dir data] [--input file] [--out file] [--allow-partial] [--force] [--json]
 */
import * as fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, DataError, MissingDataError, intervalLabel, parseInterval, type Interval } from '../core/index.ts';
import { EXCHANGE, candlePath, findCandleFile } from '../data/store.ts';
import { collectDataList, type DataListEntry } from '../data/list.ts';
import { resampleFile } from '../data/resample.ts';

export { collectDataList, type DataListEntry } from '../data/list.ts';
import { checkCandleFile, type CheckReport } from '../data/check.ts';
import { useColor, writeWarning } from '../report/console.ts';
import { checkJson, checkLines, dataListJson, dataListLines } from '../report/data.ts';
import { intText, isoOrNull, relPath, utcText } from '../report/format.ts';
import type { CliIo } from './backtest.ts';

const CATEGORIES = ['linear', 'inverse', 'spot'];

function checkCategory(category: string): string {
  if (!CATEGORIES.includes(category)) throw new ConfigError(`--category: "${category}" is not one of ${CATEGORIES.join(', ')}`);
  return category;
}

function checkSymbol(text: string): string {
  const symbol = text.toUpperCase();
  if (!/^[A-Z0-9]{2,30}$/.test(symbol)) throw new ConfigError(`--symbol: "${text}" is not a symbol such as BTCUSDT`);
  return symbol;
}

// ---------------------------------------------------------------------------------------------------
// list

export interface DataListFlags {
  dataDir?: string;
  json?: boolean;
}

/** `pyr data list`: an aligned table (or JSON) of the store's files. Returns the entries. */
export async function dataList(flags: DataListFlags, io: CliIo): Promise<DataListEntry[]> {
  const dataDir = path.resolve(io.cwd, flags.dataDir ?? 'data');
  const entries = await collectDataList(dataDir);
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(dataListJson(dataDir, entries), null, 2)}\n`);
    return entries;
  }
  if (entries.length === 0) {
    io.stdout.write(`No candle or funding files in ${relPath(io.cwd, dataDir)} (expected ${path.join(relPath(io.cwd, dataDir), EXCHANGE, '<category>', '<SYMBOL>', '<interval>.csv')}); get some with \`pyr download\` or \`pyr import\`.\n`);
    return entries;
  }
  for (const line of dataListLines(entries, io.cwd, useColor(io.stdout, io.env))) io.stdout.write(`${line}\n`);
  for (const e of entries) if (e.error !== undefined) writeWarning(io.stderr, e.error, io.env);
  return entries;
}

// ---------------------------------------------------------------------------------------------------
// check

export interface DataCheckFlags {
  interval?: string;
  json?: boolean;
}

/**
 * `pyr data check <file>`: prints the check and returns the report; throws a DataError (exit 2) when
 * the file has errors (the details are printed first).
 */
export async function dataCheck(file: string, flags: DataCheckFlags, io: CliIo): Promise<CheckReport> {
  const abs = path.resolve(io.cwd, file);
  if (!fs.existsSync(abs)) throw new MissingDataError(`file not found: ${abs}`);
  const interval = flags.interval !== undefined ? parseInterval(flags.interval) : undefined;
  const r = await checkCandleFile(abs, { interval });
  const ok = r.errors.length === 0;
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(checkJson(r, ok), null, 2)}\n`);
  } else {
    const out = checkLines(r, ok, io.cwd, useColor(io.stdout, io.env));
    io.stdout.write(`${out.join('\n')}\n`);
  }
  if (!ok) throw new DataError(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'}: ${r.errors.join('; ')}`, { file: abs });
  return r;
}

// ---------------------------------------------------------------------------------------------------
// resample

export interface DataResampleFlags {
  symbol?: string;
  fromInterval?: string;
  interval?: string;
  category?: string;
  dataDir?: string;
  input?: string;
  out?: string;
  allowPartial?: boolean;
  force?: boolean;
  json?: boolean;
}

export interface DataResampleResult {
  file: string;
  source: string;
  from: Interval;
  to: Interval;
  sourceRows: number;
  rows: number;
  first?: number;
  last?: number;
  /** Incomplete buckets: dropped, or kept with --allow-partial. */
  incomplete: number;
  keptPartial: boolean;
}

/** `pyr data resample`: builds a coarser candle file from a finer one and writes it atomically. */
export async function dataResample(flags: DataResampleFlags, io: CliIo): Promise<DataResampleResult> {
  if (flags.interval === undefined) throw new ConfigError('--interval: required (the interval to build, e.g. 15, 60, D)');
  const to = parseInterval(flags.interval, '--interval');
  const from = parseInterval(flags.fromInterval ?? '1', '--from-interval');
  const symbol = checkSymbol(flags.symbol ?? 'BTCUSDT');
  const category = checkCategory(flags.category ?? 'linear');
  const dataDir = path.resolve(io.cwd, flags.dataDir ?? 'data');

  let source: string;
  if (flags.input !== undefined) {
    source = path.resolve(io.cwd, flags.input);
    if (!fs.existsSync(source)) throw new MissingDataError(`--input: file not found: ${source}`);
  } else {
    const found = findCandleFile(dataDir, category, symbol, from);
    if (!found) {
      throw new MissingDataError(
        `no ${symbol} ${from} candles in ${candlePath(dataDir, category, symbol, from)}; get them with \`pyr download --symbol ${symbol} --interval ${from}\`, or pass --input <file>`,
      );
    }
    source = found;
  }
  const target = flags.out !== undefined ? path.resolve(io.cwd, flags.out) : candlePath(dataDir, category, symbol, to);
  if (path.resolve(target) === path.resolve(source)) throw new ConfigError(`--out: ${target} is the input file`);
  if (fs.existsSync(target) && !flags.force) {
    throw new ConfigError(`${target} already exists; pass --force to replace it with the resampled candles`);
  }

  const { r, sourceRows } = await resampleFile(source, target, from, to, flags.allowPartial === true);
  const res: DataResampleResult = {
    file: target,
    source,
    from,
    to,
    sourceRows,
    rows: r.series.length,
    first: r.series.openTime[0],
    last: r.series.openTime[r.series.length - 1],
    incomplete: r.incomplete,
    keptPartial: flags.allowPartial === true,
  };
  if (flags.json) {
    io.stdout.write(
      `${JSON.stringify({ ...res, first: isoOrNull(res.first), last: isoOrNull(res.last), partial: r.partial.map((t) => isoOrNull(t)) }, null, 2)}\n`,
    );
  } else {
    const inc =
      r.incomplete === 0
        ? 'no incomplete candles'
        : flags.allowPartial
          ? `${intText(r.incomplete)} incomplete kept (--allow-partial)`
          : `${intText(r.incomplete)} incomplete dropped`;
    io.stdout.write(
      `Wrote ${intText(res.rows)} ${intervalLabel(to)} candles to ${relPath(io.cwd, target)}: ${utcText(res.first)} → ${utcText(res.last)} UTC, from ${intText(res.sourceRows)} ${intervalLabel(from)} candles; ${inc}\n`,
    );
  }
  return res;
}

// ---------------------------------------------------------------------------------------------------
// command

export function dataCommand(io: CliIo): Command {
  const cmd = new Command('data').description('List, check and resample the local candle store');
  const sub = (c: Command) => c.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  cmd.addCommand(
    sub(
      new Command('list')
        .description('Show every candle and funding file in the store: range, rows, gaps, size')
        .option('--data-dir <dir>', 'candle store folder (default data)')
        .option('--json', 'print JSON instead of a table')
        .action(async (opts: DataListFlags) => {
          await dataList(opts, io);
        }),
    ),
  );
  cmd.addCommand(
    sub(
      new Command('check')
        .description('Validate a candle file: values, order, alignment to the interval, gaps; exits 2 on errors')
        .argument('<file>', 'candle file (.csv or .csv.gz)')
        .option('--interval <interval>', 'the interval the file should hold (default: from the file name, else inferred)')
        .option('--json', 'print the check as JSON')
        .action(async (file: string, opts: DataCheckFlags) => {
          await dataCheck(file, opts, io);
        }),
    ),
  );
  cmd.addCommand(
    sub(
      new Command('resample')
        .description('Build a coarser candle file (e.g. 15, 60, D, W, M) from a finer one, dropping incomplete candles')
        .option('--symbol <symbol>', 'symbol (default BTCUSDT)')
        .option('--from-interval <interval>', 'interval of the source file (default 1)')
        .option('--interval <interval>', 'interval to build: 3 5 15 30 60 120 240 360 720 D W M')
        .option('--category <category>', 'Bybit category (default linear)')
        .option('--data-dir <dir>', 'candle store folder (default data)')
        .option('--input <file>', 'read this file instead of the store\'s --from-interval file')
        .option('--out <file>', 'write here instead of the store path')
        .option('--allow-partial', 'keep candles whose source candles are not all present (default: drop them)')
        .option('--force', 'replace the output file if it exists')
        .option('--json', 'print the summary as JSON')
        .action(async (opts: DataResampleFlags) => {
          await dataResample(opts, io);
        }),
    ),
  );
  return cmd;
}
