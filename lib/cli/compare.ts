/**
 * `pyr compare <run-dir> <run-dir> ...`: runs side by side, one column per run: what was run (strategy,
 * symbol, interval, range, the parameters that differ between the runs) and how it did (trades, win
 * rate, PnL, fees, profit factor, drawdown, Sharpe, Sortino, exposure, ...), read from each folder's
 * summary.json. `--json` prints the same as JSON.
 */
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, intervalLabel } from '../core/index.ts';
import { formatDuration, formatUsd, palette, useColor } from '../report/console.ts';
import { MIN_RATIO_DAYS, MIN_RATIO_TRADES, ratioSampleTooSmall } from '../report/metrics.ts';
import { readRunSummary, type RunSummary } from '../report/html.ts';
import type { CliIo } from './backtest.ts';

export interface CompareRow {
  /** Stable key: a metric name, `param.<name>`, or an identity field. */
  readonly key: string;
  readonly label: string;
  /** One formatted value per run. */
  readonly values: readonly string[];
  /** What the row describes: the run, a parameter that differs, or a result. */
  readonly kind: 'identity' | 'param' | 'metric';
  /** Signs of the values (for colour): 1, -1, 0, or null when not a signed amount. */
  readonly signs?: readonly (number | null)[];
}

export interface Comparison {
  readonly runs: readonly { dir: string; summary: RunSummary }[];
  /** Parameter names whose values differ between the runs (a name missing from a run counts as different). */
  readonly differingParams: readonly string[];
  readonly rows: readonly CompareRow[];
  /** Runs (1-based column numbers) whose Sharpe and Sortino come from too small a sample to mean anything. */
  readonly smallSamples: readonly number[];
}

const pct = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(2)}%` : 'n/a');
const fixed = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const usd = (v: string | number | null | undefined): string => (v === null || v === undefined ? 'n/a' : formatUsd(v));
const signOf = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.sign(v) : null);

function paramText(v: unknown): string {
  return v === undefined ? '–' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** Builds the side-by-side table from run folders (in the order given). */
export async function compareRuns(dirs: readonly string[]): Promise<Comparison> {
  const runs: { dir: string; summary: RunSummary }[] = [];
  for (const dir of dirs) runs.push({ dir, summary: await readRunSummary(dir) });
  const names = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.summary.meta.params ?? {})) names.add(k);
  const differingParams = [...names].filter((k) => {
    const texts = runs.map((r) => paramText((r.summary.meta.params ?? {})[k]));
    return texts.some((t) => t !== texts[0]);
  });

  const each = <T>(f: (s: RunSummary) => T): T[] => runs.map((r) => f(r.summary));
  const rows: CompareRow[] = [
    { key: 'run', label: 'Run', kind: 'identity', values: runs.map((r) => path.basename(r.dir)) },
    { key: 'strategy', label: 'Strategy', kind: 'identity', values: each((s) => s.meta.strategy) },
    { key: 'symbol', label: 'Symbol', kind: 'identity', values: each((s) => `${s.meta.symbol}${s.meta.category ? ` (${s.meta.category})` : ''}`) },
    { key: 'interval', label: 'Interval', kind: 'identity', values: each((s) => intervalLabel(s.meta.interval)) },
    { key: 'range', label: 'Range (UTC days)', kind: 'identity', values: each((s) => `${s.meta.from ?? s.metrics.firstCandleIso?.slice(0, 10) ?? '?'} → ${s.meta.to ?? s.metrics.lastCandleIso?.slice(0, 10) ?? '?'}`) },
    { key: 'candles', label: 'Candles', kind: 'identity', values: each((s) => (typeof s.metrics.candles === 'number' ? s.metrics.candles.toLocaleString('en-US') : 'n/a')) },
    ...differingParams.map((k): CompareRow => ({ key: `param.${k}`, label: k, kind: 'param', values: each((s) => paramText((s.meta.params ?? {})[k])) })),
    { key: 'trades', label: 'Trades', kind: 'metric', values: each((s) => `${s.metrics.trades} (${s.metrics.longs ?? '?'}L/${s.metrics.shorts ?? '?'}S)`) },
    { key: 'winRate', label: 'Win rate', kind: 'metric', values: each((s) => pct(s.metrics.winRate)) },
    { key: 'netPnl', label: 'Net PnL', kind: 'metric', values: each((s) => usd(s.metrics.netPnlExact)), signs: each((s) => signOf(s.metrics.netPnl)) },
    { key: 'grossPnl', label: 'Gross PnL', kind: 'metric', values: each((s) => usd(s.metrics.grossPnlExact)), signs: each((s) => signOf(s.metrics.grossPnl)) },
    { key: 'fees', label: 'Fees', kind: 'metric', values: each((s) => usd(s.metrics.feesExact)) },
    { key: 'funding', label: 'Funding (paid)', kind: 'metric', values: each((s) => usd(s.metrics.fundingExact)) },
    { key: 'returnPct', label: 'Return', kind: 'metric', values: each((s) => pct(s.metrics.returnPct)), signs: each((s) => signOf(s.metrics.returnPct)) },
    {
      key: 'profitFactor',
      label: 'Profit factor',
      kind: 'metric',
      values: each((s) => (s.metrics.profitFactor !== null ? fixed(s.metrics.profitFactor) : s.metrics.trades > 0 && s.metrics.grossLoss === 0 && s.metrics.grossProfit > 0 ? '∞' : 'n/a')),
    },
    { key: 'expectancy', label: 'Expectancy / trade', kind: 'metric', values: each((s) => usd(s.metrics.expectancy)), signs: each((s) => signOf(s.metrics.expectancy)) },
    { key: 'maxDrawdown', label: 'Max drawdown', kind: 'metric', values: each((s) => `${usd(s.metrics.maxDrawdown)} (${pct(s.metrics.maxDrawdownPct)})`) },
    { key: 'sharpe', label: 'Sharpe', kind: 'metric', values: each((s) => fixed(s.metrics.sharpe)) },
    { key: 'sortino', label: 'Sortino', kind: 'metric', values: each((s) => fixed(s.metrics.sortino)) },
    { key: 'exposurePct', label: 'Exposure', kind: 'metric', values: each((s) => pct(s.metrics.exposurePct)) },
    { key: 'avgTradeDurationMs', label: 'Avg trade duration', kind: 'metric', values: each((s) => formatDuration(s.metrics.avgTradeDurationMs ?? null)) },
    { key: 'buyAndHoldPct', label: 'Buy & hold', kind: 'metric', values: each((s) => pct(s.metrics.buyAndHoldPct)) },
    { key: 'ambiguousExits', label: 'Stop+target candles', kind: 'metric', values: each((s) => String(s.metrics.ambiguousExits ?? 'n/a')) },
    { key: 'finalEquity', label: 'Final equity', kind: 'metric', values: each((s) => usd(s.metrics.finalEquity)) },
  ];
  const smallSamples = runs.flatMap((r, i) => (typeof r.summary.metrics.tradingDays === 'number' && ratioSampleTooSmall(r.summary.metrics) ? [i + 1] : []));
  return { runs, differingParams, rows, smallSamples };
}

/** The table as text: a label column, then one column per run. */
export function formatComparison(cmp: Comparison, opts: { color: boolean }): string {
  const c = palette(opts.color);
  const n = cmp.runs.length;
  const header = cmp.runs.map((_, i) => `#${i + 1}`);
  const labelW = Math.max(...cmp.rows.map((r) => r.label.length));
  const widths = header.map((h, i) => Math.max(h.length, ...cmp.rows.map((r) => [...r.values[i]!].length)));
  const pad = (text: string, w: number, right: boolean): string => {
    const len = [...text].length;
    return right ? ' '.repeat(Math.max(0, w - len)) + text : text + ' '.repeat(Math.max(0, w - len));
  };
  const lines = [c.bold(`${' '.repeat(labelW)}  ${header.map((h, i) => pad(h, widths[i]!, true)).join('  ')}`)];
  let section = '';
  for (const r of cmp.rows) {
    if (r.kind !== section) {
      if (section) lines.push('');
      if (r.kind === 'param') lines.push(c.dim('Parameters that differ'));
      section = r.kind;
    }
    const cells = [];
    for (let i = 0; i < n; i++) {
      const text = pad(r.values[i]!, widths[i]!, true);
      const s = r.signs?.[i];
      cells.push(s === 1 ? c.green(text) : s === -1 ? c.red(text) : text);
    }
    lines.push(`${c.dim(r.label.padEnd(labelW))}  ${cells.join('  ')}`);
  }
  if (cmp.differingParams.length === 0) lines.push('', c.dim('All runs share the same parameters.'));
  if (cmp.smallSamples.length > 0) {
    const which = cmp.smallSamples.map((i) => `#${i}`).join(', ');
    lines.push('', `Sharpe and Sortino of ${which} come from too small a sample to mean anything (fewer than ${MIN_RATIO_DAYS} daily returns or ${MIN_RATIO_TRADES} trades).`);
  }
  return lines.join('\n') + '\n';
}

/** What `--json` prints: each run's identity, parameters and metrics (as in summary.json), and the table. */
export function comparisonJson(cmp: Comparison): unknown {
  return {
    runs: cmp.runs.map(({ dir, summary: s }) => ({
      dir,
      runId: s.runId,
      strategy: s.meta.strategy,
      symbol: s.meta.symbol,
      category: s.meta.category,
      interval: s.meta.interval,
      from: s.meta.from ?? null,
      to: s.meta.to ?? null,
      params: s.meta.params,
      metrics: s.metrics,
    })),
    differingParams: cmp.differingParams,
    smallSamples: cmp.smallSamples,
    rows: cmp.rows.map((r) => ({ key: r.key, label: r.label, values: r.values })),
  };
}

export function compareCommand(io: CliIo): Command {
  return new Command('compare')
    .description('Put backtest runs side by side: settings, the parameters that differ, and the metrics')
    .argument('<run-dirs...>', 'two or more run folders written by pyr backtest')
    .option('--json', 'print the comparison as JSON on stdout and nothing else')
    .action(async (runDirs: string[], opts: { json?: boolean }) => {
      if (runDirs.length < 2) throw new ConfigError(`pyr compare needs at least two run folders, got ${runDirs.length}`);
      const cmp = await compareRuns(runDirs.map((d) => path.resolve(io.cwd, d)));
      if (opts.json) io.stdout.write(`${JSON.stringify(comparisonJson(cmp), null, 2)}\n`);
      else io.stdout.write(formatComparison(cmp, { color: useColor(io.stdout, io.env) }));
    });
}
