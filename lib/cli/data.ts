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
import { formatWarning, palette, useColor, writeWarning } from '../report/console.ts';
import { bytesText, intText, isoOrNull, relPath, spanText, utcText } from '../report/format.ts';
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
    const json = entries.map((e) => ({
      kind: e.kind,
      symbol: e.symbol,
      category: e.category,
      interval: e.interval,
      file: e.file,
      bytes: e.bytes,
      rows: e.rows ?? null,
      first: isoOrNull(e.first),
      last: isoOrNull(e.last),
      gaps: e.gaps ?? null,
      largestGapMinutes: e.largestGapMs !== undefined ? e.largestGapMs / 60_000 : null,
      ...(e.error !== undefined ? { error: e.error } : {}),
    }));
    io.stdout.write(`${JSON.stringify({ dataDir, files: json }, null, 2)}\n`);
    return entries;
  }
  if (entries.length === 0) {
    io.stdout.write(`No candle or funding files in ${relPath(io.cwd, dataDir)} (expected ${path.join(relPath(io.cwd, dataDir), EXCHANGE, '<category>', '<SYMBOL>', '<interval>.csv')}); get some with \`pyr download\` or \`pyr import\`.\n`);
    return entries;
  }
  const c = palette(useColor(io.stdout, io.env));
  const header = ['SYMBOL', 'CATEGORY', 'INTERVAL', 'FIRST (UTC)', 'LAST (UTC)', 'ROWS', 'GAPS', 'LARGEST GAP', 'SIZE', 'FILE'];
  const right = new Set([5, 6, 7, 8]);
  const rows = entries.map((e) =>
    e.error !== undefined
      ? [e.symbol, e.category, e.interval, 'unreadable', '', '', '', '', bytesText(e.bytes), relPath(io.cwd, e.file)]
      : [
          e.symbol,
          e.category,
          e.interval,
          utcText(e.first),
          utcText(e.last),
          intText(e.rows ?? 0),
          intText(e.gaps ?? 0),
          e.largestGapMs ? spanText(e.largestGapMs) : '-',
          bytesText(e.bytes),
          relPath(io.cwd, e.file),
        ],
  );
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((cell, k) => (k === r.length - 1 ? cell : right.has(k) ? cell.padStart(widths[k]!) : cell.padEnd(widths[k]!)))
      .join('  ')
      .trimEnd();
  io.stdout.write(`${c.bold(fmt(header))}\n`);
  rows.forEach((r, i) => {
    const line = fmt(r);
    const e = entries[i]!;
    io.stdout.write(`${e.error !== undefined ? c.red(line) : (e.gaps ?? 0) > 0 ? c.yellow(line) : line}\n`);
  });
  for (const e of entries) if (e.error !== undefined) writeWarning(io.stderr, e.error, io.env);
  return entries;
}

// ---------------------------------------------------------------------------------------------------
// check

export interface DataCheckFlags {
  interval?: string;
  json?: boolean;
}

function checkJson(r: CheckReport, ok: boolean): Record<string, unknown> {
  const gap = (g: { from: number; to: number; candles: number }) => ({ from: isoOrNull(g.from), to: isoOrNull(g.to), candles: g.candles });
  return {
    ok,
    file: r.file,
    bytes: r.bytes,
    rows: r.rows,
    interval: r.interval,
    intervalFrom: r.intervalFrom,
    first: isoOrNull(r.first),
    last: isoOrNull(r.last),
    gaps: r.gaps.length,
    missingCandles: r.missing,
    largestGap: r.largestGap ? gap(r.largestGap) : null,
    firstGaps: r.gaps.slice(0, 20).map(gap),
    misaligned: { count: r.misaligned.count, first: r.misaligned.first.map((t) => isoOrNull(t)) },
    zeroVolume: r.zeroVolume,
    repeated: r.repeated,
    errors: r.errors,
    warnings: r.warnings,
  };
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
    const c = palette(useColor(io.stdout, io.env));
    const out: string[] = [];
    out.push(`${relPath(io.cwd, abs)}: ${intText(r.rows)} ${intervalLabel(r.interval)} candles (interval ${r.interval}, from the ${r.intervalFrom}), ${bytesText(r.bytes)}`);
    if (r.gaps.length > 0) {
      out.push(`Gaps: ${intText(r.missing)} missing candles in ${intText(r.gaps.length)} gap${r.gaps.length === 1 ? '' : 's'}${r.gaps.length > 20 ? ' (the first 20)' : ''}:`);
      for (const g of r.gaps.slice(0, 20)) out.push(`  ${utcText(g.from)} → ${utcText(g.to)} UTC  ${intText(g.candles)} candle${g.candles === 1 ? '' : 's'}`);
    }
    if (r.misaligned.count > 0) {
      out.push(`Not aligned to the ${r.interval} grid (first ${r.misaligned.first.length} of ${intText(r.misaligned.count)}):`);
      for (const t of r.misaligned.first) out.push(`  ${utcText(t)} UTC (${t})`);
    }
    for (const w of r.warnings) out.push(formatWarning(w, useColor(io.stdout, io.env)));
    for (const e of r.errors) out.push(c.red(`error: ${e}`));
    if (ok) out.push(c.green(`OK: ${intText(r.rows)} rows, from ${utcText(r.first)} to ${utcText(r.last)} UTC, ${intText(r.gaps.length)} gap${r.gaps.length === 1 ? '' : 's'}`));
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
