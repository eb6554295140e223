/**
 * report.html: one self-contained page per run folder (works offline: the charting library, TradingView's
 * lightweight-charts, its data and the page script are inlined; nothing is fetched).
 *
 * The run folder gives the metrics, the trades and the equity (summary.json, trades.csv, equity.csv);
 * the caller gives the candles and what the strategy drew (its `plots` declaration and the values its
 * `plot()` returned on every candle of the range, as the run recorded them: RunRecord.plots). The page
 * draws exactly that: series declared over the price on the candles (lines, or steps for levels), every
 * other pane of the declaration below the price chart with its series and dashed guides; nothing is
 * recomputed here, so a strategy's report shows what that strategy computed, and a strategy that declares
 * nothing gets candles, trades and equity only. When the range holds more than `maxCandles` candles (a
 * year of 1-minute candles), the candles drawn are aggregated to a coarser interval and the page says so;
 * plotted values are shown at the close of each drawn candle. Without candles, the page draws what the
 * run folder holds (the trades' fills, the equity) and the caller's note says why.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parse as csvParse } from 'csv-parse/sync';
import { DAY_MS, DataError, MissingDataError, intervalLabel, intervalMs, lowerBound, type CandleSeries, type RecordedPlots, type RunRecord } from '../core/index.ts';
import { formatDuration, formatTradeStatsLine, formatUsd, smallSampleText } from './console.ts';
import { TRADE_COLUMNS, writeFileAtomic } from './files.ts';
import type { Metrics } from './metrics.ts';
import { PAGE_CSS } from './html/style.ts';
import { PAGE_SCRIPT } from './html/page-script.ts';

/** Candles drawn at most; above it the candles are aggregated to a coarser interval. */
export const MAX_DRAWN_CANDLES = 50_000;

/** The content of a run's summary.json. */
export interface RunSummary {
  readonly runId: string;
  readonly meta: RunRecord['meta'];
  readonly metrics: Metrics;
}

/** One row of trades.csv, as strings (money stays exact). */
export type TradeRow = Readonly<Record<string, string>>;

/** One row of equity.csv. */
export interface EquityRow {
  readonly timestamp: number;
  readonly equity: number;
  readonly drawdown: number;
  readonly drawdownPct: number;
}

export interface RunFolder {
  readonly dir: string;
  readonly summary: RunSummary;
  readonly trades: readonly TradeRow[];
  readonly equity: readonly EquityRow[];
}

/** Reads and checks a run folder's summary.json; errors say which folder and what is wrong, in one line. */
export async function readRunSummary(dir: string): Promise<RunSummary> {
  if (!existsSync(dir)) throw new MissingDataError(`run folder not found: ${dir}`);
  if (!statSync(dir).isDirectory()) throw new DataError(`${dir} is not a run folder: it is a file (give the folder pyr backtest wrote, e.g. backtests/<run-id>)`);
  const file = path.join(dir, 'summary.json');
  if (!existsSync(file)) throw new DataError(`${dir} is not a run folder: it has no summary.json (pyr backtest writes one into backtests/<run-id> or --out)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new DataError(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { file });
  }
  const s = parsed as Partial<RunSummary> | null;
  if (!s || typeof s !== 'object' || !s.meta || typeof s.meta !== 'object' || !s.metrics || typeof s.metrics !== 'object') {
    throw new DataError('not a run summary: "meta" or "metrics" is missing', { file });
  }
  for (const key of ['strategy', 'symbol', 'interval'] as const) {
    if (typeof s.meta[key] !== 'string') throw new DataError(`not a run summary: meta.${key} is missing`, { file });
  }
  if (typeof s.metrics.trades !== 'number' || typeof s.metrics.netPnlExact !== 'string') {
    throw new DataError('not a run summary: metrics.trades or metrics.netPnlExact is missing', { file });
  }
  return { runId: s.runId ?? s.meta.runId, meta: s.meta, metrics: s.metrics };
}

function readCsv(file: string, text: string, required: readonly string[]): Record<string, string>[] {
  let header: string[] = [];
  let rows: Record<string, string>[];
  try {
    rows = csvParse(text, {
      columns: (h: string[]) => (header = h),
      skip_empty_lines: true,
    }) as Record<string, string>[];
  } catch (err) {
    throw new DataError(`not a valid CSV: ${err instanceof Error ? err.message : String(err)}`, { file });
  }
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length) throw new DataError(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, { file, line: 1 });
  return rows;
}

/** Reads summary.json, trades.csv and equity.csv of a run folder. */
export async function readRunFolder(dir: string): Promise<RunFolder> {
  const summary = await readRunSummary(dir);
  const tradesFile = path.join(dir, 'trades.csv');
  const equityFile = path.join(dir, 'equity.csv');
  for (const f of [tradesFile, equityFile]) {
    if (!existsSync(f)) throw new DataError(`${dir} is not a complete run folder: ${path.basename(f)} is missing`);
  }
  const trades = readCsv(tradesFile, await readFile(tradesFile, 'utf8'), TRADE_COLUMNS);
  const equityText = await readFile(equityFile, 'utf8');
  const equity = readCsv(equityFile, equityText, ['timestamp', 'equity', 'drawdown', 'drawdownPct']).map((r, i) => {
    const row = { timestamp: Number(r.timestamp), equity: Number(r.equity), drawdown: Number(r.drawdown), drawdownPct: Number(r.drawdownPct) };
    for (const [k, v] of Object.entries(row)) {
      if (!Number.isFinite(v)) throw new DataError(`"${String(r[k])}" is not a number`, { file: equityFile, line: i + 2, field: k });
    }
    return row;
  });
  return { dir, summary, trades, equity };
}

// ---------------------------------------------------------------------------------------------------
// Chart data

export interface MarkerStyle {
  readonly position: 'aboveBar' | 'belowBar';
  readonly shape: 'arrowUp' | 'arrowDown' | 'circle' | 'square';
  readonly color: string;
}

/** A pane below the price chart: its title (the declaration's pane name) and its dashed guides. */
export interface DrawnPane {
  readonly title: string;
  readonly guides: readonly { readonly value: number; readonly label: string }[];
}

/** One declared series as drawn. */
export interface DrawnSeries {
  readonly name: string;
  /** 0: over the candles; k: the k-th pane below them (`panes[k - 1]`). */
  readonly pane: number;
  readonly color: string;
  readonly style: 'line' | 'step';
  /** The line's pattern: series of one colour in one pane get solid, dashed, dotted in turn. */
  readonly dash: 'solid' | 'dashed' | 'dotted';
  /** Decimals the axis and the legend write it with (the price's over the candles, else its `decimals`, default 2). */
  readonly precision: number;
  /** Point times (epoch s); null: one point per drawn candle (`candles.t`). Steps keep the points where the value changes, and the last candle. */
  readonly t: number[] | null;
  /** Values, null where the strategy had none. */
  readonly v: (number | null)[];
}

export interface DrawnPlots {
  readonly series: readonly DrawnSeries[];
  readonly panes: readonly DrawnPane[];
  /** Guides declared on the price pane (dashed lines over the candles). */
  readonly priceGuides: readonly { readonly value: number; readonly label: string }[];
}

/** Drawn candles above which the price chart opens on the last INITIAL_BARS of them rather than the whole range. */
export const INITIAL_BARS = 1500;

/** What the page script draws (times in epoch seconds, lightweight-charts' UTCTimestamp). */
export interface ChartData {
  /** Drawn candles, columnar; null when the candles are missing. */
  readonly candles: { t: number[]; o: number[]; h: number[]; l: number[]; c: number[] } | null;
  /** Seconds per drawn candle (the run's interval, or the aggregated one). */
  readonly barSeconds: number;
  /** The trades' fill prices, when there are no candles to draw the markers on. */
  readonly fills: { time: number; value: number }[] | null;
  /** What the strategy declared to draw, sampled on the drawn candles; null when nothing is drawn besides the candles. */
  readonly plots: DrawnPlots | null;
  /**
   * Trade markers, columnar: time, an index into `styles`, and the label text (null above
   * MAX_LABELLED_TRADES trades). The page shows a label only where it fits without overlapping another.
   */
  readonly markers: { styles: MarkerStyle[]; time: number[]; style: number[]; text: string[] | null };
  /** Where the price chart opens: the last `initialBars` drawn candles (the whole range when null). */
  readonly initialBars: number | null;
  /** Trades for the table: [id, side, entryTime, exitTime, entryPrice, exitPrice, qty, exitReason, fees, netPnl, equityAfter, entryReason, exitDetail, heldMs] (times in ms). */
  readonly trades: (string | number)[][];
  /** Daily equity (at each UTC day's end) and drawdown in %. */
  readonly equity: { t: number[]; v: number[]; dd: number[] };
  /** Balance after each closed trade, starting at the initial balance. */
  readonly balance: { t: number[]; v: number[] };
  readonly initialBalance: number;
  readonly price: { precision: number; minMove: number };
}

const INTRA_CANDLE_EXITS: ReadonlySet<string> = new Set(['stop_loss', 'take_profit', 'trailing_stop', 'liquidation', 'end_of_data']);

const sec = (ms: number): number => Math.floor(ms / 1000);

/** Drawn-candle lengths tried when aggregating, in minutes. */
const BUCKET_MINUTES = [1, 3, 5, 15, 30, 60, 120, 240, 360, 720, 1440, 2880, 10080];

/** The drawn candle length: the run's interval when the range fits in `max` candles, else the first coarser one that fits. */
export function drawnBucketMs(stepMs: number, spanMs: number, count: number, max: number): number {
  if (count <= max) return stepMs;
  for (const m of BUCKET_MINUTES) {
    const b = m * 60_000;
    if (b > stepMs && b % stepMs === 0 && Math.ceil(spanMs / b) + 1 <= max) return b;
  }
  return Math.ceil(count / max) * stepMs;
}

const EXIT_STYLE: Record<string, { shape: 'circle' | 'square'; color: string; text: string }> = {
  take_profit: { shape: 'circle', color: '#26a69a', text: 'TP' },
  stop_loss: { shape: 'square', color: '#ef5350', text: 'SL' },
  trailing_stop: { shape: 'square', color: '#ff7043', text: 'TS' },
  signal: { shape: 'circle', color: '#42a5f5', text: 'X' },
  end_of_data: { shape: 'square', color: '#9e9e9e', text: 'END' },
  manual: { shape: 'circle', color: '#ffb74d', text: 'M' },
  liquidation: { shape: 'square', color: '#ab47bc', text: 'LIQ' },
};

/**
 * Trades up to which the markers carry labels ("L12", "TP"...). The page draws a label only where it fits
 * (zoomed in far enough, never overlapping another); above this count the page would grow for little.
 */
export const MAX_LABELLED_TRADES = 50_000;

/** Entry arrows by side and exit markers by reason: two markers per trade, on the drawn candle holding the fill. */
function tradeMarkers(trades: readonly TradeRow[], toBar: (ms: number) => number): ChartData['markers'] {
  const withText = trades.length <= MAX_LABELLED_TRADES;
  const styles: MarkerStyle[] = [];
  const styleIndex = new Map<string, number>();
  const styleOf = (key: string, make: () => MarkerStyle): number => {
    let i = styleIndex.get(key);
    if (i === undefined) {
      i = styles.push(make()) - 1;
      styleIndex.set(key, i);
    }
    return i;
  };
  const list: { time: number; style: number; text: string }[] = [];
  for (const t of trades) {
    const long = t.side === 'long';
    list.push({
      time: toBar(Number(t.entryTime)),
      style: styleOf(`entry|${long}`, () => ({ position: long ? 'belowBar' : 'aboveBar', shape: long ? 'arrowUp' : 'arrowDown', color: long ? '#26a69a' : '#ef5350' })),
      text: withText ? `${long ? 'L' : 'S'}${t.id}` : '',
    });
    const exit = EXIT_STYLE[t.exitReason ?? ''] ?? { shape: 'circle' as const, color: '#bdbdbd', text: String(t.exitReason) };
    list.push({
      time: toBar(Number(t.exitTime)),
      style: styleOf(`exit|${t.exitReason}|${long}`, () => ({ position: long ? 'aboveBar' : 'belowBar', shape: exit.shape, color: exit.color })),
      text: withText ? exit.text : '',
    });
  }
  // lightweight-charts wants markers in time order.
  list.sort((a, b) => a.time - b.time);
  return { styles, time: list.map((m) => m.time), style: list.map((m) => m.style), text: withText ? list.map((m) => m.text) : null };
}

/** Where a series is drawn: 'price' (over the candles, the default) or the pane titled so. */
const paneOf = (s: { readonly pane?: string }): string => (s.pane === undefined || s.pane === '' ? 'price' : s.pane);

/** Colours for series that declare none, in order. */
const PLOT_COLORS = ['#2962ff', '#ff6d00', '#ab47bc', '#26c6da', '#d4e157', '#ec407a', '#8d6e63', '#78909c'];

/** The run's candles in its range: [from, to) indexes into `series`, or why there are none (a note). */
function candleRange(run: RunFolder, series: CandleSeries): { from: number; to: number } | string {
  const meta = run.summary.meta;
  if (series.length === 0) return `Candles missing: no candles were given; the chart shows the trades’ fill prices only.`;
  const fromMs = meta.from ? Date.parse(`${meta.from}T00:00:00Z`) : run.equity.length ? run.equity[0]!.timestamp : series.openTime[0]!;
  const toMs = meta.to ? Date.parse(`${meta.to}T00:00:00Z`) + DAY_MS : run.equity.length ? run.equity[run.equity.length - 1]!.timestamp + DAY_MS : Infinity;
  const from = lowerBound(series, fromMs);
  const to = lowerBound(series, toMs);
  if (to <= from) return `Candles missing: ${series.source || meta.source} holds no candles from ${meta.from ?? '?'} to ${meta.to ?? '?'}; the chart shows the trades’ fill prices only.`;
  return { from, to };
}

/** What a report is built from besides the run folder. */
export interface ReportInput {
  /**
   * The candles the run read (all of them: the run's range is looked up by time, from summary.json's
   * from/to). Absent: the chart shows the trades' fill prices, and `notes` should say why.
   */
  readonly candles?: CandleSeries;
  /** What the strategy declared to draw and the values it gave on each candle of the range (RunRecord.plots). */
  readonly plots?: RecordedPlots;
  /** Remarks shown at the top of the page (why the candles or the plots are missing, ...). */
  readonly notes?: readonly string[];
  /** Candles drawn at most (default MAX_DRAWN_CANDLES); above it they are aggregated. */
  readonly maxCandles?: number;
}

/** A declared colour when it is a plain CSS colour (#hex, a name, rgb()/hsl()); anything else is replaced. */
const cssColor = (c: string | undefined): string | undefined => (c && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/-]+\))$/.test(c.trim()) ? c.trim() : undefined);

const roundTo = (x: number, digits: number): number | null => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

/** A declared series' decimals, when it carries them (PlotSeries.decimals): a whole number 0..10. */
function declaredDecimals(s: object): number | undefined {
  const d = (s as { decimals?: unknown }).decimals;
  return typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= 10 ? d : undefined;
}

/** Builds everything the page draws. Exported for tests and for anyone embedding the charts. */
export function buildChartData(run: RunFolder, input: ReportInput = {}): { data: ChartData; notes: string[] } {
  const meta = run.summary.meta;
  const notes: string[] = [...(input.notes ?? [])];
  const tick = Number(meta.rules?.tickSize);
  const precision = meta.rules?.tickSize?.includes('.') ? meta.rules.tickSize.split('.')[1]!.length : 0;
  const price = { precision, minMove: Number.isFinite(tick) && tick > 0 ? tick : 10 ** -precision };
  const trades = run.trades;
  const initialBalance = typeof meta.initialBalance === 'number' ? meta.initialBalance : run.summary.metrics.initialBalance;

  // Equity: each daily row is the equity at the day's close, drawn at the day's end; the curve starts at
  // the initial balance at the range's start.
  const eq = { t: [] as number[], v: [] as number[], dd: [] as number[] };
  if (run.equity.length) {
    eq.t.push(sec(run.equity[0]!.timestamp));
    eq.v.push(initialBalance);
    eq.dd.push(0);
  }
  for (const r of run.equity) {
    eq.t.push(sec(r.timestamp + DAY_MS));
    eq.v.push(r.equity);
    eq.dd.push(-r.drawdownPct);
  }
  const balance = { t: [] as number[], v: [] as number[] };
  const rangeStart = run.equity.length ? sec(run.equity[0]!.timestamp) : trades.length ? sec(Number(trades[0]!.entryTime)) : 0;
  balance.t.push(rangeStart);
  balance.v.push(initialBalance);
  for (const t of trades) {
    const time = sec(Number(t.exitTime));
    const v = Number(t.equityAfter);
    if (!Number.isFinite(v)) continue;
    if (time <= balance.t[balance.t.length - 1]!) {
      if (time === balance.t[balance.t.length - 1]) balance.v[balance.v.length - 1] = v;
      continue;
    }
    balance.t.push(time);
    balance.v.push(v);
  }

  const stepMs = intervalMs(meta.interval);
  const tradeRows = trades.map((t) => {
    const entry = Number(t.entryTime);
    const exit = Number(t.exitTime);
    // Held time on the candle grid, as in the metrics: exits inside a candle hold that candle too.
    const held = exit - entry + (INTRA_CANDLE_EXITS.has(t.exitReason ?? '') ? stepMs : 0);
    return [
      Number(t.id), t.side ?? '', entry, exit, t.entryPrice ?? '', t.exitPrice ?? '', t.qty ?? '',
      t.exitReason ?? '', t.fees ?? '', t.netPnl ?? '', t.equityAfter ?? '', t.entryReason ?? '', t.exitDetail ?? '', held,
    ];
  });

  const range = input.candles ? candleRange(run, input.candles) : notes.some((n) => n.startsWith('Candles missing')) ? '' : 'Candles missing: no candles were given; the chart shows the trades’ fill prices only.';
  if (typeof range === 'string') {
    if (range) notes.push(range);
    const points = new Map<number, number>();
    for (const t of trades) {
      points.set(sec(Number(t.entryTime)), Number(t.entryPrice));
      points.set(sec(Number(t.exitTime)), Number(t.exitPrice));
    }
    const fills = [...points].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
    return {
      data: {
        candles: null, barSeconds: stepMs / 1000, fills, plots: null,
        markers: tradeMarkers(trades, sec), initialBars: null, trades: tradeRows, equity: eq, balance, initialBalance, price,
      },
      notes,
    };
  }

  const s = input.candles!;
  const { from, to } = range;
  const count = to - from;
  const maxCandles = input.maxCandles ?? MAX_DRAWN_CANDLES;
  const bucketMs = drawnBucketMs(stepMs, s.openTime[to - 1]! - s.openTime[from]! + stepMs, count, maxCandles);
  const bucketOf = (ms: number): number => (bucketMs === stepMs ? ms : Math.floor(ms / bucketMs) * bucketMs);

  // The declared plots, checked against the candles of the range they were recorded on.
  let recorded = input.plots;
  if (recorded) {
    const bad = recorded.values.length !== recorded.series.length ? `${recorded.values.length} value columns for ${recorded.series.length} series` : recorded.values.find((v) => v.length !== count) ? `${recorded.values.find((v) => v.length !== count)!.length} values for the ${count} candles of the range` : undefined;
    if (bad) {
      notes.push(`The strategy’s plots are not drawn: they do not match the candles (${bad}).`);
      recorded = undefined;
    }
  }
  const panes: { title: string; guides: { value: number; label: string }[] }[] = [];
  const priceGuides: { value: number; label: string }[] = [];
  const paneIndex = (name: string): number => {
    if (name === 'price') return 0;
    let k = panes.findIndex((p) => p.title === name);
    if (k < 0) k = panes.push({ title: name, guides: [] }) - 1;
    return k + 1;
  };
  const plotSeries = (recorded?.series ?? []).map((decl, k) => {
    const pane = paneIndex(paneOf(decl));
    const precision = pane === 0 ? price.precision : declaredDecimals(decl) ?? 2;
    return {
      name: decl.name,
      pane,
      color: cssColor(decl.color) ?? PLOT_COLORS[k % PLOT_COLORS.length]!,
      style: decl.style === 'step' ? ('step' as const) : ('line' as const),
      dash: 'solid' as DrawnSeries['dash'],
      precision,
      // Lines carry one value per drawn candle, written 3 decimals finer than they are shown; steps few exact points.
      digits: precision + 3,
      values: recorded!.values[k]!,
      t: decl.style === 'step' ? ([] as number[]) : null,
      v: [] as (number | null)[],
      last: NaN,
    };
  });
  // Series sharing a colour in one pane are told apart by their line: solid, dashed, dotted in turn.
  const seen = new Map<string, number>();
  for (const ps of plotSeries) {
    const key = `${ps.pane}|${ps.color.toLowerCase()}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    ps.dash = (['solid', 'dashed', 'dotted'] as const)[n % 3]!;
  }
  for (const g of recorded?.guides ?? []) {
    // A guide belongs to a pane with series (or to the price).
    if (!Number.isFinite(g.value) || (paneOf(g) !== 'price' && !panes.some((p) => p.title === paneOf(g)))) continue;
    const k = paneIndex(paneOf(g));
    (k === 0 ? priceGuides : panes[k - 1]!.guides).push({ value: g.value, label: g.label });
  }

  const candles = { t: [] as number[], o: [] as number[], h: [] as number[], l: [] as number[], c: [] as number[] };
  /** A step's point at `time`: the value at the close of the drawn candle, where it changed. */
  const pushStep = (ps: (typeof plotSeries)[number], time: number, x: number): void => {
    ps.t!.push(time);
    ps.v.push(Number.isFinite(x) ? x : null);
    ps.last = x;
  };
  let i = from;
  while (i < to) {
    const b = bucketOf(s.openTime[i]!);
    // Without aggregation every candle is its own drawn candle.
    const end = bucketMs === stepMs ? -Infinity : b + bucketMs;
    const o = s.open[i]!;
    let h = -Infinity;
    let l = Infinity;
    let c = NaN;
    do {
      if (s.high[i]! > h) h = s.high[i]!;
      if (s.low[i]! < l) l = s.low[i]!;
      c = s.close[i]!;
      i++;
    } while (i < to && s.openTime[i]! < end);
    const time = sec(b);
    candles.t.push(time);
    candles.o.push(o);
    candles.h.push(h);
    candles.l.push(l);
    candles.c.push(c);
    // Plotted values at the close of the drawn candle: the last candle of its bucket.
    const j = i - 1 - from;
    for (const ps of plotSeries) {
      const x = ps.values[j]!;
      if (ps.t === null) ps.v.push(roundTo(x, ps.digits));
      else if (Number.isFinite(x) ? x !== ps.last : Number.isFinite(ps.last)) pushStep(ps, time, x);
    }
  }
  // Step lines end at the last drawn candle.
  const lastTime = candles.t[candles.t.length - 1]!;
  for (const ps of plotSeries) {
    if (ps.t && ps.t.length && ps.t[ps.t.length - 1] !== lastTime && Number.isFinite(ps.last)) pushStep(ps, lastTime, ps.last);
  }

  const drawn = candles.t.length;
  const label = intervalLabel(meta.interval);
  if (bucketMs !== stepMs) {
    const plotted = plotSeries.length ? ` The strategy’s plotted values (${plotSeries.map((p) => p.name).join(', ')}) were recorded on every ${label} candle and are shown at the close of each drawn candle.` : '';
    notes.push(
      `The range holds ${count.toLocaleString('en-US')} ${label} candles; to keep this page small they are drawn aggregated to ${formatDuration(bucketMs)} candles (${drawn.toLocaleString('en-US')} drawn).${plotted} Markers sit on the drawn candle holding the fill.`,
    );
  }
  if (drawn > INITIAL_BARS) {
    notes.push(`The price chart opens on the last ${INITIAL_BARS.toLocaleString('en-US')} of ${drawn.toLocaleString('en-US')} candles: scroll or zoom out for the rest, or click a trade in the list.`);
  }
  const plots: DrawnPlots | null = recorded
    ? { series: plotSeries.map(({ name, pane, color, style, dash, precision, t, v }) => ({ name, pane, color, style, dash, precision, t, v })), panes, priceGuides }
    : null;
  return {
    data: {
      candles,
      barSeconds: bucketMs / 1000,
      fills: null,
      plots,
      markers: tradeMarkers(trades, (ms) => sec(bucketOf(ms))),
      initialBars: drawn > INITIAL_BARS ? INITIAL_BARS : null,
      trades: tradeRows,
      equity: eq,
      balance,
      initialBalance,
      price,
    },
    notes,
  };
}

// ---------------------------------------------------------------------------------------------------
// The page

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESC[ch]!);
}

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

let chartLibrary: string | undefined;
/** The standalone production build of lightweight-charts (defines window.LightweightCharts). */
async function chartLibrarySource(): Promise<string> {
  if (chartLibrary === undefined) {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('lightweight-charts/package.json'));
    const src = await readFile(path.join(dir, 'dist', 'lightweight-charts.standalone.production.js'), 'utf8');
    chartLibrary = src.replace(/<\/(script)/gi, '<\\/$1');
  }
  return chartLibrary;
}

const pct = (v: number | null | undefined, digits = 2): string => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(digits)}%` : 'n/a');
const fixed = (v: number | null | undefined, digits = 2): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const usd = (v: string | number | null | undefined): string => (v === null || v === undefined || v === '' ? 'n/a' : formatUsd(v));
const sign = (v: number | null | undefined): string => (typeof v !== 'number' || v === 0 ? '' : v > 0 ? 'pos' : 'neg');

interface MetricRow {
  key: string;
  label: string;
  value: string;
  cls?: string;
  exact?: string;
  /** Hover text (default: the exact value). */
  title?: string;
}

/** Sharpe and Sortino; "n/a (why)" when the sample is too small to mean anything (the figure stays in the cell's title). */
function ratioRows(m: Metrics): MetricRow[] {
  const small = typeof m.tradingDays === 'number' && typeof m.trades === 'number' ? smallSampleText(m) : null;
  const row = (key: 'sharpe' | 'sortino', label: string): MetricRow =>
    small
      ? { key, label, value: `n/a (${small})`, cls: 'small-sample', title: `computed from the small sample: ${fixed(m[key])}` }
      : { key, label, value: fixed(m[key]) };
  return [row('sharpe', 'Sharpe (daily, ×√365)'), row('sortino', 'Sortino (daily, ×√365)')];
}

function metricRows(m: Metrics): MetricRow[] {
  const pf = m.profitFactor !== null ? fixed(m.profitFactor) : m.trades > 0 && m.grossLoss === 0 && m.grossProfit > 0 ? '∞ (no losing trade)' : 'n/a';
  const exits = Object.entries(m.exits ?? {}).filter(([k, v]) => v > 0 || ['signal', 'stop_loss', 'take_profit', 'end_of_data'].includes(k)).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    { key: 'trades', label: 'Trades', value: `${m.trades} (${m.longs} long, ${m.shorts} short)` },
    { key: 'winRate', label: 'Win rate', value: `${pct(m.winRate)} (${m.wins} wins / ${m.losses} losses)` },
    { key: 'netPnl', label: 'Net PnL', value: usd(m.netPnlExact), cls: sign(m.netPnl), exact: m.netPnlExact },
    { key: 'grossPnl', label: 'Gross PnL', value: usd(m.grossPnlExact), cls: sign(m.grossPnl), exact: m.grossPnlExact },
    { key: 'fees', label: 'Fees', value: usd(m.feesExact), exact: m.feesExact },
    { key: 'funding', label: 'Funding (positive = paid)', value: usd(m.fundingExact), exact: m.fundingExact },
    { key: 'returnPct', label: 'Return', value: pct(m.returnPct), cls: sign(m.returnPct) },
    { key: 'buyAndHoldPct', label: 'Buy & hold', value: pct(m.buyAndHoldPct) },
    { key: 'profitFactor', label: 'Profit factor', value: pf },
    { key: 'expectancy', label: 'Expectancy / trade', value: usd(m.expectancy) },
    { key: 'avgWinLoss', label: 'Avg win / avg loss', value: `${usd(m.avgWin)} / ${usd(m.avgLoss === null ? null : -m.avgLoss)}` },
    { key: 'bestWorst', label: 'Best / worst trade', value: `${usd(m.bestTradeExact)} / ${usd(m.worstTradeExact)}` },
    { key: 'maxDrawdown', label: 'Max drawdown', value: `${usd(m.maxDrawdown)} (${pct(m.maxDrawdownPct)})`, cls: m.maxDrawdown > 0 ? 'neg' : '' },
    ...ratioRows(m),
    { key: 'exposurePct', label: 'Exposure', value: pct(m.exposurePct) },
    { key: 'avgTradeDuration', label: 'Avg trade duration', value: m.avgBarsHeld === null ? 'n/a' : `${formatDuration(m.avgTradeDurationMs)} (${m.avgBarsHeld.toFixed(1)} candles)` },
    { key: 'streaks', label: 'Longest streaks', value: `${m.longestWinStreak} wins / ${m.longestLossStreak} losses` },
    { key: 'finalEquity', label: 'Final equity', value: usd(m.finalEquity) },
    { key: 'exits', label: 'Exits', value: exits || 'none' },
    {
      key: 'ambiguousExits',
      label: 'Stop and target on one candle',
      value: m.ambiguousExits ? `${m.ambiguousExits} (stop assumed; net PnL had the target come first ${usd(m.netPnlIfTargetFirstExact)})` : '0',
    },
  ];
}

function paramText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** "a", "a and b", "a, b and c". */
function wordList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** A series' name in its colour, after a swatch of its line (━ solid, ╍ dashed, ┈ dotted). */
function seriesKey(s: DrawnSeries): string {
  return `<span style="color:${escapeHtml(s.color)}">${s.dash === 'dashed' ? '╍' : s.dash === 'dotted' ? '┈' : '━'} ${escapeHtml(s.name)}</span>`;
}

const guideText = (gs: DrawnPane['guides']): string => wordList(gs.map((g) => `${escapeHtml(g.label)} ${escapeHtml(String(g.value))}`));

/** The price chart's caption for what the strategy declared (empty when it declared nothing). */
function plotsKey(plots: DrawnPlots | null, warmupCandles: number): string {
  if (!plots || plots.series.length === 0) return '';
  const parts: string[] = [];
  const over = plots.series.filter((s) => s.pane === 0);
  if (over.length) {
    const steps = over.some((s) => s.style === 'step');
    parts.push(`Over the candles: ${over.map(seriesKey).join(', ')}${steps ? ' (step lines: levels that hold until they change)' : ''}${plots.priceGuides.length ? `; dashed lines at ${guideText(plots.priceGuides)}` : ''}.`);
  }
  plots.panes.forEach((p, k) => {
    const own = plots.series.filter((s) => s.pane === k + 1);
    parts.push(`Pane ${escapeHtml(p.title)}: ${own.map(seriesKey).join(', ')}${p.guides.length ? `; dashed lines at ${guideText(p.guides)}` : ''}.`);
  });
  parts.push(`All as the strategy computed them during the run${warmupCandles > 0 ? `, after its ${warmupCandles.toLocaleString('en-US')} warm-up candles` : ''}.`);
  return parts.join(' ');
}

/** The whole page as a string. */
export async function buildReportHtml(runDir: string, input: ReportInput = {}): Promise<string> {
  const run = await readRunFolder(runDir);
  const { meta, metrics } = run.summary;
  const { data, notes } = buildChartData(run, input);
  const lib = await chartLibrarySource();
  const label = intervalLabel(meta.interval);
  const range = `${meta.from ?? metrics.firstCandleIso?.slice(0, 10) ?? '?'} → ${meta.to ?? metrics.lastCandleIso?.slice(0, 10) ?? '?'}`;
  const title = `${meta.strategy} · ${meta.symbol} ${label} · ${range}`;
  const statsLine = formatTradeStatsLine(metrics);
  const rows = metricRows(metrics)
    .map((r) => `<tr data-metric="${r.key}"><th>${escapeHtml(r.label)}</th><td class="${r.cls ?? ''}"${r.exact !== undefined ? ` data-exact="${escapeHtml(r.exact)}"` : ''}${(r.title ?? r.exact) !== undefined ? ` title="${escapeHtml((r.title ?? r.exact)!)}"` : ''}>${escapeHtml(r.value)}</td></tr>`)
    .join('\n');
  const params = Object.entries(meta.params ?? {})
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(paramText(v))}</td></tr>`)
    .join('\n');
  const fm = meta.fillModel;
  const settings: [string, string][] = [
    ['Run', meta.runId ?? run.summary.runId],
    ['Candles', `${metrics.candles?.toLocaleString('en-US') ?? '?'} ${label} candles (+${meta.warmupCandles ?? 0} warm-up) from ${meta.source}`],
    ['Instrument rules', meta.rules ? `tick ${meta.rules.tickSize}, qty step ${meta.rules.qtyStep}, min qty ${meta.rules.minQty}, min notional ${meta.rules.minNotional} (${meta.rules.source})` : 'n/a'],
    ['Fill model', fm ? `taker ${(fm.takerFee * 100).toFixed(4).replace(/\.?0+$/, '')}%, maker ${(fm.makerFee * 100).toFixed(4).replace(/\.?0+$/, '')}%, slippage ${fm.slippageBps} bps, below min qty: ${fm.minQtyPolicy}` : 'n/a'],
    ['Funding', meta.funding ? `${meta.funding.charged ? 'charged' : 'not charged'}${meta.funding.detail ? `: ${meta.funding.detail}` : ''}` : 'n/a'],
  ];
  const settingsHtml = settings.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n');
  const noteHtml = [...notes.map((n) => `<li class="note">${escapeHtml(n)}</li>`), ...(meta.notices ?? []).map((n) => `<li>${escapeHtml(n)}</li>`)].join('\n');
  const pageData = { ...data, title };
  const panesCount = data.plots?.panes.length ?? 0;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pyr">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)} · pyr report</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(meta.strategy)} <span class="sym">${escapeHtml(meta.symbol)}</span> <span class="dim">${escapeHtml(meta.category ?? '')} · ${escapeHtml(label)} · ${escapeHtml(range)} (UTC days)</span></h1>
  <p class="stats ${sign(metrics.netPnl)}" id="stats-line">${escapeHtml(statsLine)}</p>
  ${noteHtml ? `<ul class="notes">${noteHtml}</ul>` : ''}
</header>
<main>
<section>
  <h2>${escapeHtml(wordList(['Price', 'trades', ...(data.plots?.panes.map((p) => p.title) ?? [])]))}</h2>
  <div class="legend" id="price-legend"></div>
  <div id="price-chart" class="chart tall"${panesCount > 1 ? ` style="height: ${640 + 160 * (panesCount - 1)}px"` : ''}></div>
  <p class="key">
    <span class="g">▲</span> long entry · <span class="r">▼</span> short entry ·
    <span class="g">●</span> take profit · <span class="r">■</span> stop loss · <span class="b">●</span> signal exit · <span class="n">■</span> end of data.
    ${plotsKey(data.plots, typeof meta.warmupCandles === 'number' ? meta.warmupCandles : 0)}
    Trade labels (L or S and the trade number on entries; TP, SL, X, END on exits) are drawn where they fit without overlapping: zoom in to see them.
    Click a trade in the list to show it on the chart.
  </p>
</section>
<section>
  <h2>Equity and drawdown</h2>
  <div class="legend" id="equity-legend"></div>
  <div id="equity-chart" class="chart"></div>
  <p class="key"><span class="b">━</span> equity (mark-to-market, at each UTC day’s end) · <span class="o">━</span> balance after each closed trade · lower pane: drawdown from the running peak, % (deepest of each day).</p>
</section>
<section class="cols">
  <div>
    <h2>Metrics</h2>
    <table class="kv" id="metrics">${rows}</table>
  </div>
  <div>
    <h2>Settings</h2>
    <table class="kv" id="settings">${settingsHtml}</table>
    <h2>Parameters</h2>
    <table class="kv" id="params">${params}</table>
  </div>
</section>
<section>
  <h2>Trades <span class="dim" id="trade-count">(${data.trades.length})</span></h2>
  <div class="table-wrap">
  <table id="trades" class="list">
    <thead><tr>
      <th data-col="0" data-type="n">#</th><th data-col="1">Side</th><th data-col="2" data-type="n">Entry (UTC)</th><th data-col="3" data-type="n">Exit (UTC)</th>
      <th data-col="4" data-type="n">Entry price</th><th data-col="5" data-type="n">Exit price</th><th data-col="6" data-type="n">Qty</th>
      <th data-col="7">Exit reason</th><th data-col="8" data-type="n">Fees</th><th data-col="9" data-type="n">Net PnL</th><th data-col="10" data-type="n">Equity after</th>
      <th data-col="13" data-type="n">Duration</th><th data-col="11">Entry reason</th>
    </tr></thead>
    <tbody></tbody>
  </table>
  </div>
</section>
</main>
<footer>pyr report · charts by TradingView Lightweight Charts™ (Apache-2.0), inlined: this page works offline.</footer>
<script type="application/json" id="pyr-data">${scriptJson(pageData)}</script>
<script>${lib}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * Builds `report.html` in a run folder from its files and the candles and plots given (written
 * atomically); returns its path.
 */
export async function writeReportHtml(runDir: string, input: ReportInput = {}): Promise<string> {
  const dir = path.resolve(runDir);
  const html = await buildReportHtml(dir, input);
  const file = path.join(dir, 'report.html');
  await writeFileAtomic(file, html);
  return file;
}
