/**
 * What `pyr data list` and `pyr data check` print: the store's files as an aligned table or JSON, and
 * one file's check as text or JSON. Pure: lines and objects, the command writes them.
 */
import { intervalLabel, type CheckReport, type DataListEntry } from '../core/index.ts';
import { formatWarning, palette } from './console.ts';
import { bytesText, intText, isoOrNull, relPath, spanText, utcText } from './format.ts';

/** `pyr data list --json`. */
export function dataListJson(dataDir: string, entries: readonly DataListEntry[]): Record<string, unknown> {
  const files = entries.map((e) => ({
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
  return { dataDir, files };
}

/** `pyr data list`: a header and a line a file, aligned; unreadable files red, files with gaps yellow. */
export function dataListLines(entries: readonly DataListEntry[], cwd: string, color: boolean): string[] {
  const c = palette(color);
  const header = ['SYMBOL', 'CATEGORY', 'INTERVAL', 'FIRST (UTC)', 'LAST (UTC)', 'ROWS', 'GAPS', 'LARGEST GAP', 'SIZE', 'FILE'];
  const right = new Set([5, 6, 7, 8]);
  const rows = entries.map((e) =>
    e.error !== undefined
      ? [e.symbol, e.category, e.interval, 'unreadable', '', '', '', '', bytesText(e.bytes), relPath(cwd, e.file)]
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
          relPath(cwd, e.file),
        ],
  );
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((cell, k) => (k === r.length - 1 ? cell : right.has(k) ? cell.padStart(widths[k]!) : cell.padEnd(widths[k]!)))
      .join('  ')
      .trimEnd();
  return [
    c.bold(fmt(header)),
    ...rows.map((r, i) => {
      const line = fmt(r);
      const e = entries[i]!;
      return e.error !== undefined ? c.red(line) : (e.gaps ?? 0) > 0 ? c.yellow(line) : line;
    }),
  ];
}

/** `pyr data check --json`. */
export function checkJson(r: CheckReport, ok: boolean): Record<string, unknown> {
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

/** `pyr data check`: the file, its gaps (the first 20), misaligned times, warnings, errors, and OK. */
export function checkLines(r: CheckReport, ok: boolean, cwd: string, color: boolean): string[] {
  const c = palette(color);
  const s = (n: number) => (n === 1 ? '' : 's');
  const out: string[] = [];
  out.push(`${relPath(cwd, r.file)}: ${intText(r.rows)} ${intervalLabel(r.interval)} candles (interval ${r.interval}, from the ${r.intervalFrom}), ${bytesText(r.bytes)}`);
  if (r.gaps.length > 0) {
    out.push(`Gaps: ${intText(r.missing)} missing candles in ${intText(r.gaps.length)} gap${s(r.gaps.length)}${r.gaps.length > 20 ? ' (the first 20)' : ''}:`);
    for (const g of r.gaps.slice(0, 20)) out.push(`  ${utcText(g.from)} → ${utcText(g.to)} UTC  ${intText(g.candles)} candle${s(g.candles)}`);
  }
  if (r.misaligned.count > 0) {
    out.push(`Not aligned to the ${r.interval} grid (first ${r.misaligned.first.length} of ${intText(r.misaligned.count)}):`);
    for (const t of r.misaligned.first) out.push(`  ${utcText(t)} UTC (${t})`);
  }
  for (const w of r.warnings) out.push(formatWarning(w, color));
  for (const e of r.errors) out.push(c.red(`error: ${e}`));
  if (ok) out.push(c.green(`OK: ${intText(r.rows)} rows, from ${utcText(r.first)} to ${utcText(r.last)} UTC, ${intText(r.gaps.length)} gap${s(r.gaps.length)}`));
  return out;
}
