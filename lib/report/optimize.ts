/**
 * What a sweep (`pyr optimize`) prints and writes: the metrics a row keeps, its console tables, and the
 * rows as optimize.csv, optimize.json and walk-forward.csv.
 */
import { lowerIsBetter, type GridAxis, type GridValue, type OptimizeMetric } from '../engine/optimize.ts';
import { colorize } from './console.ts';
import { csvField } from './files.ts';
import type { Metrics } from './metrics.ts';

/** The metrics a row keeps (all of Metrics for 100,000 rows would be heavy). */
export const ROW_METRICS = [
  'trades', 'wins', 'losses', 'winRate', 'netPnl', 'netPnlExact', 'returnPct', 'profitFactor', 'expectancy',
  'sharpe', 'sortino', 'maxDrawdown', 'maxDrawdownPct', 'fees', 'exposurePct',
] as const satisfies readonly (keyof Metrics)[];
export type RowMetrics = Pick<Metrics, (typeof ROW_METRICS)[number]>;

export function rowMetrics(m: Metrics): RowMetrics {
  return Object.fromEntries(ROW_METRICS.map((k) => [k, m[k]])) as unknown as RowMetrics;
}

/** One evaluated combination. `window` is set for walk-forward in-sample rows. */
export interface OptimizeRow {
  /** 1-based position after ranking (within its window for walk-forward rows). */
  rank: number;
  /** The combination's index in the full grid. */
  readonly index: number;
  readonly window?: number;
  readonly params: Readonly<Record<string, GridValue>>;
  readonly metrics: RowMetrics;
}

export interface WalkForwardWindowResult {
  readonly window: number;
  readonly inSample: { readonly from: string; readonly to: string };
  readonly outOfSample: { readonly from: string; readonly to: string };
  /** The in-sample winner. */
  readonly index: number;
  readonly params: Readonly<Record<string, GridValue>>;
  readonly isMetric: number | null;
  readonly oosMetric: number | null;
  readonly isMetrics: RowMetrics;
  readonly oosMetrics: RowMetrics;
}


export function formatValue(v: GridValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** A combination as `key=value key=value` (as `--param` takes it). */
export function formatParams(p: Readonly<Record<string, GridValue>>): string {
  return Object.entries(p).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ');
}


export function fixed(v: number | null, decimals: number, suffix = ''): string {
  if (v === null || !Number.isFinite(v)) return '–';
  const s = v.toFixed(decimals);
  return `${/^-0\.?0*$/.test(s) ? s.slice(1) : s}${suffix}`;
}

/** How each metric prints in the console tables. */
export const METRIC_FORMAT: Record<OptimizeMetric, (m: RowMetrics) => string> = {
  sharpe: (m) => fixed(m.sharpe, 2),
  sortino: (m) => fixed(m.sortino, 2),
  netPnl: (m) => fixed(m.netPnl, 2),
  profitFactor: (m) => fixed(m.profitFactor, 2),
  winRate: (m) => fixed(m.winRate, 1, '%'),
  expectancy: (m) => fixed(m.expectancy, 4),
  returnPct: (m) => fixed(m.returnPct, 2, '%'),
  maxDrawdown: (m) => fixed(m.maxDrawdown, 2),
};

const TABLE_METRICS: readonly OptimizeMetric[] = ['netPnl', 'returnPct', 'winRate', 'profitFactor', 'sharpe', 'maxDrawdown'];

export function metricColumns(metric: OptimizeMetric): OptimizeMetric[] {
  return [metric, ...TABLE_METRICS.filter((m) => m !== metric)];
}

export function table(header: readonly string[], rows: readonly (readonly string[])[], leftCols = 0): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function rowsTable(rows: readonly OptimizeRow[], axes: readonly GridAxis[], metric: OptimizeMetric): string {
  const cols = metricColumns(metric);
  const header = ['#', 'index', ...axes.map((a) => a.key), 'trades', ...cols];
  const body = rows.map((r) => [
    String(r.rank),
    String(r.index),
    ...axes.map((a) => formatValue(r.params[a.key]!)),
    String(r.metrics.trades),
    ...cols.map((c) => METRIC_FORMAT[c](r.metrics)),
  ]);
  return table(header, body);
}


/** A CSV cell for a number: plain decimal text (no exponent), '' for null. */
function numCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '';
    const s = String(v);
    return /e/i.test(s) ? v.toFixed(20).replace(/0+$/, '').replace(/\.$/, '') : s;
  }
  return csvField(String(v));
}

const CSV_METRICS = ROW_METRICS.filter((k) => k !== 'netPnlExact');

/** optimize.csv: rank, index, [window], the swept parameters, then the metrics (netPnl exact). */
export function rowsCsv(rows: readonly OptimizeRow[], axes: readonly GridAxis[], withWindow: boolean): string {
  const header = ['rank', 'index', ...(withWindow ? ['window'] : []), ...axes.map((a) => a.key), ...CSV_METRICS];
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) {
    const cells = [String(r.rank), String(r.index), ...(withWindow ? [String(r.window ?? '')] : [])];
    for (const a of axes) cells.push(csvField(formatValue(r.params[a.key]!)));
    for (const k of CSV_METRICS) cells.push(k === 'netPnl' ? r.metrics.netPnlExact : numCell(r.metrics[k]));
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** `head` pretty-printed with a "rows" array holding one compact row per line (100,000 rows stay readable and small). */
export function jsonWithRows(head: Record<string, unknown>, rows: readonly unknown[]): string {
  const top = JSON.stringify(head, null, 2);
  const body = rows.map((r) => `    ${JSON.stringify(r)}`).join(',\n');
  const inner = top === '{}' ? '{\n' : `${top.slice(0, -2)},\n`;
  return `${inner}  "rows": [${rows.length ? `\n${body}\n  ` : ''}]\n}\n`;
}

/** walk-forward.csv: one row per window: its spans, the in-sample winner, and both metrics. */
export function windowsCsv(results: readonly WalkForwardWindowResult[], axes: readonly GridAxis[], metric: OptimizeMetric): string {
  const header = ['window', 'isFrom', 'isTo', 'oosFrom', 'oosTo', 'index', ...axes.map((a) => a.key), `is_${metric}`, `oos_${metric}`, 'isTrades', 'oosTrades', 'isNetPnl', 'oosNetPnl'];
  const lines = [header.map(csvField).join(',')];
  for (const r of results) {
    lines.push(
      [
        String(r.window), r.inSample.from, r.inSample.to, r.outOfSample.from, r.outOfSample.to, String(r.index),
        ...axes.map((a) => csvField(formatValue(r.params[a.key]!))),
        numCell(r.isMetric), numCell(r.oosMetric), String(r.isMetrics.trades), String(r.oosMetrics.trades), r.isMetrics.netPnlExact, r.oosMetrics.netPnlExact,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}


/** The `pyr backtest` arguments that run one combination of a sweep: its data flags, days and parameters. */
export function backtestArgs(
  f: { readonly strategy?: string; readonly sample?: boolean; readonly symbol?: string; readonly interval?: string; readonly candles?: string; readonly dataDir?: string; readonly config?: string; readonly funding?: string; readonly param?: readonly string[] },
  days: { readonly from: string; readonly to: string },
  params: Readonly<Record<string, GridValue>>,
): string {
  const parts: string[] = [];
  if (f.strategy) parts.push(`--strategy ${f.strategy}`);
  if (f.sample) parts.push('--sample');
  for (const [flag, v] of [['--symbol', f.symbol], ['--interval', f.interval], ['--candles', f.candles], ['--data-dir', f.dataDir], ['--config', f.config], ['--funding', f.funding]] as const) {
    if (v !== undefined) parts.push(`${flag} ${v}`);
  }
  parts.push(`--from ${days.from} --to ${days.to} --param ${[...(f.param ?? []), formatParams(params)].join(' ')}`);
  return parts.join(' ');
}

/** The first lines of `pyr optimize`'s console output: what ran, where, how long, ranked how; the notices. */
export interface SweepHead {
  readonly title: string;
  readonly strategy: string;
  readonly symbol: string;
  readonly interval: string;
  /** UTC days, inclusive. */
  readonly from: string;
  readonly to: string;
  /** "432 combinations on 2 workers in 4.8 s; ranked by sharpe (higher is better)", and so on. */
  readonly what: string;
  readonly notices: readonly string[];
}

const ranking = (metric: OptimizeMetric): string => `${metric} (${lowerIsBetter(metric) ? 'lower' : 'higher'} is better)`;

/** The sweep's "what" line: how many combinations (drawn how), where, how long, ranked how. */
export function sweepWhat(o: { readonly runs: number; readonly total: number; readonly seed?: number; readonly where: string; readonly seconds: number; readonly metric: OptimizeMetric }): string {
  const sampling = o.seed !== undefined ? `${o.runs} of ${o.total.toLocaleString('en')} combinations drawn at random (--seed ${o.seed})` : `${o.runs} combinations`;
  return `${sampling} on ${o.where} in ${o.seconds.toFixed(1)} s; ranked by ${ranking(o.metric)}`;
}

/** The walk-forward's "what" line: windows and spans, combinations, where, how long, chosen how. */
export function walkForwardWhat(o: { readonly windows: number; readonly spans: { readonly is: number; readonly oos: number; readonly step?: number }; readonly combinations: number; readonly where: string; readonly seconds: number; readonly metric: OptimizeMetric }): string {
  const { is, oos, step } = o.spans;
  return `${o.windows} windows (in-sample ${is}d, out-of-sample ${oos}d, step ${step ?? oos}d) x ${o.combinations} combinations on ${o.where} in ${o.seconds.toFixed(1)} s; best in-sample ${ranking(o.metric)}`;
}

function headLines(h: SweepHead, color: boolean): string[] {
  return [
    `${colorize(h.title, 'bold', color)}: ${h.strategy} on ${h.symbol} ${h.interval}, ${h.from} to ${h.to}`,
    h.what,
    ...h.notices.map((n) => `${colorize('notice', 'yellow', color)}: ${n}`),
  ];
}

/** `pyr optimize`: the head, the top rows, the best combination with the `pyr backtest` that runs it, where the files went. */
export function sweepLines(h: SweepHead, o: { readonly rows: readonly OptimizeRow[]; readonly top: number; readonly axes: readonly GridAxis[]; readonly metric: OptimizeMetric; readonly backtest: (params: Readonly<Record<string, GridValue>>) => string; readonly dir: string }, color: boolean): string[] {
  const top = o.rows.slice(0, o.top);
  const best = o.rows[0]!;
  return [
    ...headLines(h, color),
    '',
    `Top ${top.length} of ${o.rows.length}:`,
    rowsTable(top, o.axes, o.metric),
    '',
    `${colorize('Best', 'green', color)}: ${formatParams(best.params)} (${o.metric} ${METRIC_FORMAT[o.metric](best.metrics)}); run it with \`pyr backtest ${o.backtest(best.params)}\``,
    `Wrote optimize.csv and optimize.json (${o.rows.length} rows) to ${o.dir}`,
  ];
}

/** `pyr optimize --walk-forward`: the head, a line a window, the in-sample and stitched out-of-sample totals, where the files went. */
export function walkForwardLines(
  h: SweepHead,
  o: { readonly windows: readonly WalkForwardWindowResult[]; readonly metric: OptimizeMetric; readonly oos: Metrics; readonly totals: { readonly inSample: { readonly meanMetric: number | null; readonly trades: number; readonly netPnl: number }; readonly outOfSample: { readonly from: string; readonly to: string } }; readonly dir: string },
  color: boolean,
): string[] {
  const m = o.metric;
  const header = ['#', 'in-sample', 'out-of-sample', 'chosen', `IS ${m}`, `OOS ${m}`, 'IS trades', 'OOS trades', 'IS netPnl', 'OOS netPnl'];
  const body = o.windows.map((r) => [
    String(r.window),
    `${r.inSample.from}..${r.inSample.to}`,
    `${r.outOfSample.from}..${r.outOfSample.to}`,
    formatParams(r.params),
    METRIC_FORMAT[m](r.isMetrics),
    METRIC_FORMAT[m](r.oosMetrics),
    String(r.isMetrics.trades),
    String(r.oosMetrics.trades),
    fixed(r.isMetrics.netPnl, 2),
    fixed(r.oosMetrics.netPnl, 2),
  ]);
  const { oos, totals } = o;
  return [
    ...headLines(h, color),
    '',
    table(header, body, 4),
    '',
    `In-sample (each window's best): mean ${m} ${fixed(totals.inSample.meanMetric, 3)}, ${totals.inSample.trades} trades, net ${fixed(totals.inSample.netPnl, 2)} USDT`,
    `${colorize('Out-of-sample', 'cyan', color)} (stitched, ${totals.outOfSample.from} to ${totals.outOfSample.to}): ${m} ${METRIC_FORMAT[m](oos)}, ${oos.trades} trades, net ${fixed(oos.netPnl, 2)} USDT, win rate ${fixed(oos.winRate, 1, '%')}, profit factor ${fixed(oos.profitFactor, 2)}, max drawdown ${fixed(oos.maxDrawdown, 2)} (${fixed(oos.maxDrawdownPct, 2, '%')}), Sharpe ${fixed(oos.sharpe, 2)}`,
    `Wrote walk-forward.json, walk-forward.csv, oos-trades.csv, optimize.csv and optimize.json to ${o.dir}`,
  ];
}
