/**
 * Small text forms shared by the commands' output: UTC times, counts, sizes, spans and paths. Pure.
 */
import path from 'node:path';

/** UTC "YYYY-MM-DD HH:MM"; "-" for no time. */
export function utcText(t: number | undefined): string {
  return t === undefined || !Number.isFinite(t) ? '-' : new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

/** ISO 8601 for JSON; null for no time. */
export function isoOrNull(t: number | undefined | null): string | null {
  return t === undefined || t === null || !Number.isFinite(t) ? null : new Date(t).toISOString();
}

/** A count with thousands separators: "58,464". */
export function intText(n: number): string {
  return n.toLocaleString('en-US');
}

/** "512 B", "3.4 KB", "1.2 MB", "2.05 GB". */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** A span in minutes at most two units: "45m", "3h 15m", "2d 4h". */
export function spanText(ms: number): string {
  const m = Math.round(ms / 60_000);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const mm = m % 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', mm ? `${mm}m` : ''].filter(Boolean);
  return parts.length ? parts.slice(0, 2).join(' ') : '0m';
}

/** `file` relative to `cwd` when it is inside it, else as given. */
export function relPath(cwd: string, file: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
