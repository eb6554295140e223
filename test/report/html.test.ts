/**
 * report.html: built from a real run folder (ten days of the committed sample, data/sample: real Bybit
 * 15-minute candles), checked against the run's own files, the sample's lines and the shared reference
 * StochRSI (gated: ../shared), then loaded in a real headless browser (Debian's chromium, driven by
 * playwright-core, offline) to check what the page draws; a year of candles (../shared, gated) for the
 * readability of a long run. The page draws what the strategy declared (its `plots`), as the run
 * recorded it: the seed's StochRSI pane and pivots, pivot-bounce's levels only, nothing for a strategy
 * that declares nothing.
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { D } from '../../lib/core/index.ts';
import { buildChartData, readRunFolder, writeReportHtml, type ChartData, type DrawnSeries } from '../../lib/report/html.ts';
import { reportInputs } from '../../lib/cli/report.ts';
import { DATA_15M, REF_STOCHRSI, REPO, SAMPLE_15M, captureIo, parseCsv, requireShared, runCli, tempDir } from '../helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
/** What the page publishes in window.__pyr. */
interface PageState {
  ready: boolean;
  error: string | null;
  markers: number;
  trades: number;
  tableRows: number;
  candles: number;
  /** Titles of the panes drawn below the price, and the names of the plotted series. */
  panes: string[];
  plots: string[];
}
/** A trade label's box on the price pane, in px: where lightweight-charts draws the marker's text. */
interface Box {
  /** Candle time and side: the markers stacked on one candle, on one side of it. */
  key: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}
interface LabelBox extends Box {
  text: string;
  time: number;
  side: string;
}
interface LabelLayout {
  markers: number;
  width: number;
  height: number;
  boxes: LabelBox[];
  /** Every marker's shape. */
  shapes: Box[];
}

/**
 * Page-side (a string: the test compiles without DOM types): the box of every marker text drawn, from the
 * chart's public API and lightweight-charts' marker geometry (markers of one candle and side stack away
 * from the candle: margin, then per marker its shape, margin and a 1.2-line text), text measured in the
 * chart's font.
 */
const LABEL_BOXES = `(() => {
  const C = window.__pyrCharts, ts = C.price.timeScale(), all = C.markers.markers();
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = C.fontSize + 'px ' + C.fontFamily;
  const odd = (x) => { const c = Math.ceil(x); return c % 2 === 0 ? c - 1 : c; };
  const even = (x) => { const c = Math.ceil(x); return c % 2 !== 0 ? c - 1 : c; };
  const spacing = ts.options().barSpacing;
  const size = (k) => odd(Math.min(Math.max(spacing, 12), 30) * k);
  const shape = even(size(1)), margin = Math.max(size(0.1), 3), textH = C.fontSize;
  const boxes = [], shapes = [];
  const offset = new Map();
  for (const m of all) {
    const key = m.time + '|' + m.position;
    const d = C.candles.dataByIndex(ts.timeToIndex(m.time, false), 0);
    const y0 = C.candles.priceToCoordinate(m.position === 'aboveBar' ? d.high : d.low);
    const off = offset.has(key) ? offset.get(key) : margin;
    const dir = m.position === 'aboveBar' ? -1 : 1;
    const shapeY = y0 + dir * (shape / 2 + off);
    let next = off + shape + margin;
    const x = ts.timeToCoordinate(m.time);
    shapes.push({ key, left: x - shape / 2, right: x + shape / 2, top: shapeY - shape / 2, bottom: shapeY + shape / 2 });
    if (m.text) {
      const w = ctx.measureText(m.text).width;
      const textY = m.position === 'aboveBar' ? shapeY - shape / 2 - textH * 0.6 : shapeY + shape / 2 + margin + textH * 0.6;
      boxes.push({ key, text: m.text, time: m.time, side: m.position, left: x - w / 2, right: x + w / 2, top: textY - textH / 2, bottom: textY + textH / 2 });
      next += textH * 1.2;
    }
    offset.set(key, next);
  }
  return { markers: all.length, width: ts.width(), height: C.price.panes()[0].getHeight(), boxes, shapes };
})()`;

const intersect = (a: Box, b: Box): boolean => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/** Labels drawn overlap neither each other nor another candle's markers, lie inside the price pane, and are few enough to read. */
function expectReadable(l: LabelLayout): void {
  for (const b of l.boxes) {
    expect(b.left, `${b.text} cut at the left`).to.be.at.least(0);
    expect(b.right, `${b.text} cut at the right`).to.be.at.most(l.width);
    expect(b.top, `${b.text} cut at the top`).to.be.at.least(0);
    expect(b.bottom, `${b.text} cut at the bottom`).to.be.at.most(l.height);
  }
  const sorted = [...l.boxes].sort((a, b) => a.left - b.left);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j]!.left < sorted[i]!.right; j++) {
      const a = sorted[i]!;
      const b = sorted[j]!;
      expect(intersect(a, b), `labels ${a.text} and ${b.text} overlap: ${JSON.stringify([a, b])}`).to.equal(false);
    }
  }
  for (const b of l.boxes) {
    const over = l.shapes.find((sh) => sh.key !== b.key && intersect(sh, b));
    expect(over, `label ${b.text} covers the marker at ${over?.key}`).to.equal(undefined);
  }
  // At most one label per 12 px of pane width on each side.
  expect(l.boxes.length).to.be.at.most((2 * l.width) / 12);
}

interface Axes {
  scaleWidths: number[];
  widestValue: number;
  widestTime: number;
  charts: { name: string; width: number; lastX: number }[];
}
/**
 * Page-side: the price-scale width of every pane of both charts; the widest value label either chart can
 * show (each series' own formatter on its extreme values) and the widest time label, measured in the
 * chart font; and where the last data point sits on each time axis.
 */
const AXES = `(() => {
  const C = window.__pyrCharts, data = JSON.parse(document.getElementById('pyr-data').textContent);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = C.fontSize + 'px ' + C.fontFamily;
  const w = (t) => ctx.measureText(t).width;
  const ext = (series, values) => { const f = series.priceFormatter(); let lo = Infinity, hi = -Infinity; for (const v of values) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } return [f.format(lo), f.format(hi)]; };
  const texts = [
    ...ext(C.candles, [...data.candles.h, ...data.candles.l]),
    ...C.plots.flatMap((p, k) => {
      const d = data.plots.series[k];
      const guides = d.pane === 0 ? data.plots.priceGuides : data.plots.panes[d.pane - 1].guides;
      return ext(p.series, [...d.v, ...guides.map((g) => g.value)]);
    }),
    ...ext(C.equitySeries, [...data.equity.v, ...data.balance.v]),
    ...ext(C.drawdown, data.equity.dd),
  ];
  const scaleWidths = [C.price, C.equity].flatMap((c) => c.panes().map((p) => p.priceScale('right').width()));
  const last = (chart, t) => ({ width: chart.timeScale().width(), lastX: chart.timeScale().timeToCoordinate(t) });
  return {
    scaleWidths,
    widestValue: Math.max(...texts.map(w)),
    widestTime: Math.max(...['00:00', '23:45', '2025', 'Sep', '31'].map(w)),
    charts: [
      { name: 'price', ...last(C.price, data.candles.t[data.candles.t.length - 1]) },
      { name: 'equity', ...last(C.equity, data.equity.t[data.equity.t.length - 1]) },
    ],
  };
})()`;

/** Page-side expression (strings: the test compiles without DOM types): the trade list's ids, top to bottom. */
const ROW_IDS = "Array.from(document.querySelectorAll('#trades tbody tr')).map((r) => r.cells[0].textContent)";
const DAY = 86_400_000;
/**
 * The run: ten days of the sample, 2024-08-19 to 2024-08-28, after the strategy's full warm-up (all in the
 * sample). About fifty trades: few enough for the page to label them on the whole width (it labels the
 * visible trades only when all of them fit side by side; ten days with 60+ trades, as 2024-08-01..10,
 * come without labels).
 */
const FROM = Date.UTC(2024, 7, 19);
const TO_EXCLUSIVE = Date.UTC(2024, 7, 29);

const pyr = (argv: string[], cwd: string) => runCli(argv, cwd);
/** Money as the report writes it, test-side: `$5.23`, `-$5.23` (the sign before the $). */
const usdText = (exact: string): string => {
  const s = new D(exact).toFixed(2);
  return s.startsWith('-') && s !== '-0.00' ? `-$${s.slice(1)}` : `$${s === '-0.00' ? '0.00' : s}`;
};

/** The data a report.html embeds (what its script draws). */
function pageDataOf(file: string): ChartData & { title: string } {
  const m = /<script type="application\/json" id="pyr-data">(.*?)<\/script>/s.exec(readFileSync(file, 'utf8'));
  expect(m, `${file} embeds its chart data`).to.not.equal(null);
  return JSON.parse(m![1]!);
}

/** The price chart's caption (its first <p class="key">). */
const priceKeyOf = (html: string): string => /<p class="key">([\s\S]*?)<\/p>/.exec(html)![1]!;

/** A drawn series by name. */
function seriesOf(data: ChartData, name: string): DrawnSeries {
  const s = data.plots?.series.find((x) => x.name === name);
  expect(s, `a series ${name}`).to.not.equal(undefined);
  return s!;
}

/** A step series' value at time t (s): its last point at or before t. */
function stepAt(s: DrawnSeries, t: number): number | null {
  let v: number | null = null;
  s.t!.forEach((time, i) => {
    if (time <= t) v = s.v[i]!;
  });
  return v;
}

/** Test-side Fibonacci pivots of the previous UTC day of `day` (epoch ms), from the sample's lines. */
function previousDayPivots(day: number): { p: number; r1: number; s1: number; r2: number; s2: number; r3: number; s3: number } {
  const prev = sourceCandles(day - DAY, day);
  const h = Math.max(...prev.map((c) => c.h));
  const l = Math.min(...prev.map((c) => c.l));
  const p = (h + l + prev[prev.length - 1]!.c) / 3;
  return { p, r1: p + 0.382 * (h - l), s1: p - 0.382 * (h - l), r2: p + 0.618 * (h - l), s2: p - 0.618 * (h - l), r3: p + (h - l), s3: p - (h - l) };
}

/** The candles of the sample in [from, to), read test-side with plain string splitting. */
function sourceCandles(from: number, to: number): { t: number; o: number; h: number; l: number; c: number }[] {
  return readFileSync(SAMPLE_15M, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').map(Number))
    .filter(([t]) => t! >= from && t! < to)
    .map(([t, o, h, l, c]) => ({ t: t!, o: o!, h: h!, l: l!, c: c! }));
}

const tmp = tempDir('pyr-html-');
after(() => tmp.cleanup());
const runDir = path.join(tmp.dir, 'run');
let summary: { meta: { source: string; from: string; to: string; warmupCandles: number }; metrics: { netPnlExact: string; trades: number; candles: number } };
let tradeIds: string[];
/** The page `pyr backtest --report` wrote for the seed's run, and its data. */
let seedHtml: string;
let seedPage: ChartData;
/** pivot-bounce over two weeks of the sample, and a strategy that declares no plots, both with --report. */
const pivotDir = path.join(tmp.dir, 'run-pivot');
const plainDir = path.join(tmp.dir, 'run-plain');
const PIVOT_FROM = Date.UTC(2024, 7, 15);
const PIVOT_TO_EXCLUSIVE = Date.UTC(2024, 7, 29);
const PLAIN_STRATEGY = `import { defineStrategy } from ${JSON.stringify(path.join(REPO, 'lib/strategy/index.ts'))};
export default defineStrategy({
  name: 'plain-long',
  description: 'enters long every 20th candle when flat; declares no plots',
  params: {},
  warmup: () => 0,
  create() {
    let i = 0;
    return {
      onCandle(c, ctx) {
        i++;
        if (ctx.position.side === 'flat' && i % 20 === 0) return { kind: 'enter', side: 'long', size: { unit: 'quote', amount: 100 }, stopLoss: { pct: 0.01 }, takeProfit: { pct: 0.01 }, reason: 'every 20' };
      },
    };
  },
});
`;

describe('report.html', function () {
  before(async function () {
    this.timeout(120_000);
    const r = await runCli(['backtest', '--candles', SAMPLE_15M, '--from', '2024-08-19', '--to', '2024-08-28', '--out', runDir, '--report'], tmp.dir);
    expect(r.code, r.stderr).to.equal(0);
    seedHtml = readFileSync(path.join(runDir, 'report.html'), 'utf8');
    seedPage = pageDataOf(path.join(runDir, 'report.html'));
    summary = JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
    // trades.csv: one line per trade after the header (counted from the file, not from pyr's reader).
    const lines = readFileSync(path.join(runDir, 'trades.csv'), 'utf8').trim().split('\n');
    tradeIds = lines.slice(1).map((l) => l.split(',')[0]!);
    expect(tradeIds.length, 'the run should trade').to.be.greaterThan(10);
    const p = await runCli(['backtest', '--strategy', 'pivot-bounce', '--candles', SAMPLE_15M, '--from', '2024-08-15', '--to', '2024-08-28', '--out', pivotDir, '--report'], tmp.dir);
    expect(p.code, p.stderr).to.equal(0);
    const plainFile = path.join(tmp.dir, 'plain-long.ts');
    writeFileSync(plainFile, PLAIN_STRATEGY);
    const q = await runCli(['backtest', '--strategy', plainFile, '--candles', SAMPLE_15M, '--from', '2024-08-19', '--to', '2024-08-28', '--out', plainDir, '--report'], tmp.dir);
    expect(q.code, q.stderr).to.equal(0);
  });

  describe('built from a run folder', function () {
    this.timeout(120_000);

    it('`pyr report <run-dir>` writes report.html atomically and prints its path', async () => {
      const r = await pyr(['report', runDir], tmp.dir);
      expect(r.code, r.stderr).to.equal(0);
      const file = path.join(runDir, 'report.html');
      expect(r.stdout.trim()).to.equal(file);
      expect(readdirSync(runDir).filter((f) => f.includes('.tmp-')), 'no temp file left').to.deep.equal([]);
      const html = readFileSync(file, 'utf8');
      expect(html).to.match(/^<!doctype html>/);
      // Self-contained: the charting library is inlined, nothing is loaded from elsewhere.
      expect(html).to.include('TradingView Lightweight Charts');
      expect(html).to.not.match(/<script[^>]+src=|<link[^>]+(stylesheet|preload)|url\(\s*['"]?https?:|@import/i);
      expect(html).to.include('Overall Trade Statistics: Total PnL: ');
      expect(html).to.include(`${summary.meta.from} → ${summary.meta.to}`);
      // Ten days of daily returns: Sharpe and Sortino are said to mean nothing, next to the figures.
      for (const key of ['sharpe', 'sortino']) {
        const cell = new RegExp(`<tr data-metric="${key}"><th>[^<]*</th><td class="small-sample" title="computed from the small sample: [^"]*">([^<]*)</td>`).exec(html);
        expect(cell, `${key} row`).to.not.equal(null);
        expect(cell![1]).to.equal('n/a (10 days: too few to mean anything; needs 30+ daily returns)');
      }
    });

    it('errors are one clear line: missing folder, not a run folder', async () => {
      const missing = await pyr(['report', path.join(tmp.dir, 'no-such-run')], tmp.dir);
      expect(missing.code).to.equal(2);
      expect(missing.stderr.trim().split('\n')).to.have.length(1);
      expect(missing.stderr).to.match(/run folder not found: .*no-such-run/);
      const notRun = path.join(tmp.dir, 'not-a-run');
      mkdirSync(notRun, { recursive: true });
      writeFileSync(path.join(notRun, 'notes.txt'), 'hello');
      const r = await pyr(['report', notRun], tmp.dir);
      expect(r.code).to.equal(2);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/not-a-run is not a run folder: it has no summary\.json/);
    });

    it('draws the run’s candles', async () => {
      const inputs = await reportInputs(runDir, captureIo(tmp.dir));
      expect(inputs.notes, 'the re-run reproduces the run').to.deep.equal([]);
      const { data, notes } = buildChartData(await readRunFolder(runDir), inputs);
      expect(notes).to.deep.equal([]);
      expect(data.candles, 'as `pyr backtest --report` drew them').to.deep.equal(seedPage.candles);
      const src = sourceCandles(FROM, TO_EXCLUSIVE);
      expect(src.length).to.equal(summary.metrics.candles);
      expect(data.candles!.t).to.deep.equal(src.map((c) => c.t / 1000));
      expect(data.candles!.o).to.deep.equal(src.map((c) => c.o));
      expect(data.candles!.h).to.deep.equal(src.map((c) => c.h));
      expect(data.candles!.l).to.deep.equal(src.map((c) => c.l));
      expect(data.candles!.c).to.deep.equal(src.map((c) => c.c));
    });

    it('the seed’s report has the StochRSI pane with K and D and its guides, and the pivots over the price', () => {
      const plots = seedPage.plots!;
      expect(plots.panes).to.deep.equal([{ title: 'StochRSI', guides: [{ value: 20, label: 'oversold' }, { value: 80, label: 'overbought' }] }]);
      expect(plots.priceGuides).to.deep.equal([]);
      expect(plots.series.map((s) => [s.name, s.pane, s.style])).to.deep.equal([
        ['K', 1, 'line'], ['D', 1, 'line'],
        ...['P', 'R1', 'R2', 'R3', 'S1', 'S2', 'S3'].map((n) => [n, 0, 'step']),
      ]);
      // Lines: one value per drawn candle; K and D within 0..100, and present after the warm-up.
      for (const name of ['K', 'D']) {
        const s = seriesOf(seedPage, name);
        expect(s.t).to.equal(null);
        expect(s.v).to.have.length(seedPage.candles!.t.length);
        expect(s.v.every((x) => x !== null && x >= 0 && x <= 100), `${name} has a value on every candle`).to.equal(true);
      }
      // The page says what it draws, from the declaration.
      expect(seedHtml).to.include('<h2>Price, trades and StochRSI</h2>');
      expect(seedHtml).to.match(/Pane StochRSI: <span[^>]*>━ K<\/span>, <span[^>]*>━ D<\/span>; dashed lines at oversold 20 and overbought 80\./);
      expect(seedHtml).to.match(/Over the candles: <span[^>]*>━ P<\/span>, <span[^>]*>━ R1<\/span>/);
    });

    it('draws StochRSI equal to the reference implementation', async function () {
      requireShared(this, REF_STOCHRSI);
      const data = seedPage;
      // The reference ran on ../shared/data/BTCUSDT-15m.csv from its first candle (2023-12-01); the sample's
      // candles are the same lines, and the report warms up on the run's warm-up candles before 2024-08-19
      // (all inside the sample, as many as on the shared file): Wilder's RSI has forgotten the difference
      // long before the range starts.
      expect(summary.meta.warmupCandles, 'a full warm-up').to.be.greaterThan(100);
      expect(FROM - summary.meta.warmupCandles * 15 * 60_000, 'the warm-up lies inside the sample').to.be.at.least(Date.UTC(2024, 6, 1));
      const k = seriesOf(data, 'K');
      const d = seriesOf(data, 'D');
      // One value per drawn candle.
      expect(k.t).to.equal(null);
      expect(k.v).to.have.length(data.candles!.t.length);
      expect(d.v).to.have.length(data.candles!.t.length);
      const ref = new Map(parseCsv(readFileSync(REF_STOCHRSI, 'utf8')).map((r) => [Number(r.timestamp) / 1000, r]));
      data.candles!.t.forEach((t, i) => {
        const r = ref.get(t)!;
        expect(r, `a reference row at ${t}`).to.not.equal(undefined);
        // Drawn with 5 decimals (3 finer than shown).
        expect(k.v[i], `K at ${t}`).to.be.closeTo(Number(r.k), 0.0006);
        expect(d.v[i], `D at ${t}`).to.be.closeTo(Number(r.d), 0.0006);
      });
      const guides = data.plots!.panes.find((p) => p.title === 'StochRSI')!.guides;
      expect(guides.find((g) => g.label === 'oversold')!.value).to.equal(20);
      expect(guides.find((g) => g.label === 'overbought')!.value).to.equal(80);
    });

    it('draws the daily Fibonacci pivots of the previous day', () => {
      const data = seedPage;
      for (const day of [Date.UTC(2024, 7, 19), Date.UTC(2024, 7, 23), Date.UTC(2024, 7, 28)]) {
        const want = previousDayPivots(day);
        for (const [name, key] of [['P', 'p'], ['R1', 'r1'], ['S1', 's1'], ['R3', 'r3'], ['S3', 's3']] as const) {
          const s = seriesOf(data, name);
          const i = s.t!.indexOf(day / 1000);
          expect(i, `a ${name} step at ${new Date(day).toISOString()}`).to.be.at.least(0);
          expect(s.v[i], `${name} on ${new Date(day).toISOString()}`).to.be.closeTo(want[key], 1e-6);
        }
      }
    });

    it('a pivot-bounce report draws its pivot levels over the price and no StochRSI pane', () => {
      const html = readFileSync(path.join(pivotDir, 'report.html'), 'utf8');
      const data = pageDataOf(path.join(pivotDir, 'report.html'));
      expect(data.plots!.panes, 'no pane below the price').to.deep.equal([]);
      expect(data.plots!.series.map((s) => [s.name, s.pane, s.style])).to.deep.equal(['P', 'R1', 'R2', 'R3', 'S1', 'S2', 'S3'].map((n) => [n, 0, 'step']));
      expect(html).to.not.include('StochRSI');
      expect(html).to.include('<h2>Price and trades</h2>');
      expect(priceKeyOf(html)).to.match(/Over the candles: <span[^>]*>━ P<\/span>/);
      expect(priceKeyOf(html)).to.not.include('Pane ');
      // Every day of the range: the previous day's levels, from the day's first candle.
      for (let day = PIVOT_FROM; day < PIVOT_TO_EXCLUSIVE; day += DAY) {
        const want = previousDayPivots(day);
        for (const [name, key] of [['P', 'p'], ['R1', 'r1'], ['R2', 'r2'], ['R3', 'r3'], ['S1', 's1'], ['S2', 's2'], ['S3', 's3']] as const) {
          const s = seriesOf(data, name);
          expect(s.t!.includes(day / 1000) || day === PIVOT_FROM, `${name} steps on ${new Date(day).toISOString()}`).to.equal(true);
          expect(stepAt(s, day / 1000), `${name} on ${new Date(day).toISOString()}`).to.be.closeTo(want[key], 1e-6);
          expect(stepAt(s, day / 1000 + DAY / 1000 - 900), `${name} all day ${new Date(day).toISOString()}`).to.be.closeTo(want[key], 1e-6);
        }
      }
      expect(data.candles!.t).to.deep.equal(sourceCandles(PIVOT_FROM, PIVOT_TO_EXCLUSIVE).map((c) => c.t / 1000));
    });

    it('a strategy that declares no plots gets candles, trades and equity only', () => {
      const html = readFileSync(path.join(plainDir, 'report.html'), 'utf8');
      const data = pageDataOf(path.join(plainDir, 'report.html'));
      expect(data.plots).to.equal(null);
      expect(data.candles!.t).to.have.length(960);
      expect(data.markers.time.length).to.be.greaterThan(0);
      expect(data.equity.t.length).to.be.greaterThan(0);
      expect(html).to.include('<h2>Price and trades</h2>');
      expect(priceKeyOf(html)).to.include('long entry');
      expect(priceKeyOf(html)).to.not.include('Over the candles');
      expect(priceKeyOf(html)).to.not.include('Pane ');
    });

    it('aggregates the candles drawn above maxCandles and says so, keeping every trade marker', async () => {
      const inputs = await reportInputs(runDir, captureIo(tmp.dir));
      const { data, notes } = buildChartData(await readRunFolder(runDir), { ...inputs, maxCandles: 200 });
      const n = data.candles!.t.length;
      expect(n).to.be.at.most(200).and.greaterThan(50);
      const bucket = data.barSeconds * 1000;
      expect(bucket % (15 * 60_000)).to.equal(0);
      const src = sourceCandles(FROM, TO_EXCLUSIVE);
      // Each drawn candle is the OHLC of the 15-minute candles in its bucket.
      for (const i of [0, Math.floor(n / 2), n - 1]) {
        const t = data.candles!.t[i]! * 1000;
        const inside = src.filter((c) => c.t >= t && c.t < t + bucket);
        expect(data.candles!.o[i]).to.equal(inside[0]!.o);
        expect(data.candles!.h[i]).to.equal(Math.max(...inside.map((c) => c.h)));
        expect(data.candles!.l[i]).to.equal(Math.min(...inside.map((c) => c.l)));
        expect(data.candles!.c[i]).to.equal(inside[inside.length - 1]!.c);
      }
      expect(notes.join(' ')).to.match(/960 15m candles; .* aggregated to 2h candles/);
      expect(data.markers.time).to.have.length(tradeIds.length * 2);
      // Every entry and exit time of trades.csv, on the drawn candle that holds it.
      const bucketStart = (ms: string) => (Math.floor(Number(ms) / bucket) * bucket) / 1000;
      const trades = parseCsv(readFileSync(path.join(runDir, 'trades.csv'), 'utf8'));
      const expected = trades.flatMap((t) => [bucketStart(t.entryTime!), bucketStart(t.exitTime!)]).sort((x, y) => x - y);
      expect(data.markers.time).to.deep.equal(expected);
      const drawn = new Set(data.candles!.t);
      for (const t of data.markers.time) expect(drawn.has(t), `marker at ${t} on a drawn candle`).to.equal(true);
      // Plotted values at the close of each drawn candle: the value on the last 15-minute candle of its bucket.
      expect(notes.join(' ')).to.include('The strategy’s plotted values (K, D, P, R1, R2, R3, S1, S2, S3) were recorded on every 15m candle and are shown at the close of each drawn candle.');
      const fullT = seedPage.candles!.t;
      const lastOfBucket = (t: number): number => fullT.filter((x) => x * 1000 >= t * 1000 && x * 1000 < t * 1000 + bucket).at(-1)!;
      for (const name of ['K', 'D']) {
        const agg = seriesOf(data, name);
        const full = seriesOf(seedPage, name);
        expect(agg.v).to.have.length(n);
        data.candles!.t.forEach((t, i) => expect(agg.v[i], `${name} at ${t}`).to.equal(full.v[fullT.indexOf(lastOfBucket(t))]));
      }
      for (const name of ['P', 'R1', 'S3']) {
        const agg = seriesOf(data, name);
        const full = seriesOf(seedPage, name);
        for (const t of data.candles!.t) expect(stepAt(agg, t), `${name} at ${t}`).to.equal(stepAt(full, lastOfBucket(t)));
        expect(agg.t!.every((t) => drawn.has(t)), `${name} steps on drawn candles`).to.equal(true);
      }
    });
  });

  describe('in headless chromium (skipped when /usr/bin/chromium is absent)', function () {
    this.timeout(120_000);
    let browser: Browser | undefined;

    before(async function () {
      if (!existsSync(CHROMIUM)) {
        console.warn(`    SKIPPED: ${CHROMIUM} is absent; install Debian's chromium (apt-get install -y chromium) to test the report page in a browser`);
        this.skip();
      }
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    });
    after(async () => {
      await browser?.close();
    });

    /** Opens a page offline and records console errors, page errors and every request. */
    async function open(file: string) {
      const context = await browser!.newContext({ offline: true, viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction('window.__pyr !== undefined && (window.__pyr.ready || window.__pyr.error !== null)');
      return { page, context, problems, requests };
    }

    it('draws every trade (entry and exit markers), the trade list and the net PnL, offline and without errors', async () => {
      const file = await writeReportHtml(runDir, await reportInputs(runDir, captureIo(tmp.dir)));
      const { page, context, problems, requests } = await open(file);
      try {
        const state: PageState = await page.evaluate('window.__pyr');
        expect(state.error, String(state.error)).to.equal(null);
        expect(problems).to.deep.equal([]);
        expect(requests, 'the page loads nothing but itself').to.deep.equal([pathToFileURL(file).href]);
        expect(state.trades).to.equal(tradeIds.length);
        expect(state.markers, 'one entry and one exit marker per trade').to.equal(tradeIds.length * 2);
        expect(state.candles).to.equal(summary.metrics.candles);
        expect(state.tableRows).to.equal(tradeIds.length);
        // The declared plots: the StochRSI pane below the price, K and D in it, the pivots over the price.
        expect(state.panes).to.deep.equal(['StochRSI']);
        expect(state.plots).to.deep.equal(['K', 'D', 'P', 'R1', 'R2', 'R3', 'S1', 'S2', 'S3']);
        expect(await page.evaluate('window.__pyrCharts.price.panes().length')).to.equal(2);
        expect(await page.evaluate('window.__pyrCharts.plots.map((p) => [p.name, p.series.getPane().paneIndex(), p.series.data().length])')).to.deep.equal(
          seedPage.plots!.series.map((s) => [s.name, s.pane, (s.t ?? seedPage.candles!.t).length]),
        );
        // Nine days on the whole width: there is room for labels, and none covers another or a marker.
        await page.waitForFunction('window.__pyr.layouts > 0');
        const labels: LabelLayout = await page.evaluate(LABEL_BOXES);
        expect(labels.boxes.length, 'some trades are labelled').to.be.greaterThan(10);
        expectReadable(labels);
        const ids: string[] = await page.evaluate(ROW_IDS);
        expect(ids, 'the trade list shows trades.csv, in order').to.deep.equal(tradeIds);
        // Two chart canvases were laid out with a real size.
        const sizes: number[][] = await page.evaluate("Array.from(document.querySelectorAll('.chart')).map((e) => [e.clientWidth, e.clientHeight, e.querySelectorAll('canvas').length])");
        expect(sizes).to.have.length(2);
        for (const [w, h, canvases] of sizes) {
          expect(w).to.be.greaterThan(800);
          expect(h).to.be.greaterThan(300);
          expect(canvases).to.be.greaterThan(0);
        }
        const net: { text: string; exact: string } = await page.evaluate(`(() => { const td = document.querySelector('#metrics tr[data-metric="netPnl"] td'); return { text: td.textContent, exact: td.dataset.exact }; })()`);
        expect(net.exact).to.equal(summary.metrics.netPnlExact);
        expect(net.text).to.equal(usdText(summary.metrics.netPnlExact));
        const stats = await page.evaluate("document.getElementById('stats-line').textContent");
        expect(stats).to.include(`Total PnL: ${usdText(summary.metrics.netPnlExact)}`);
        expect(stats).to.not.include('$-');

        // Sorting by net PnL orders the rows by trades.csv's netPnl.
        await page.click('#trades th[data-col="9"]');
        const sorted: string[] = await page.evaluate(ROW_IDS);
        const byPnl = parseCsv(readFileSync(path.join(runDir, 'trades.csv'), 'utf8'))
          .sort((a, b) => Number(a.netPnl) - Number(b.netPnl) || Number(a.id) - Number(b.id))
          .map((t) => t.id);
        expect(sorted).to.deep.equal(byPnl);
        await page.click('#trades th[data-col="0"]');

        const shot = path.join(tmp.dir, 'report.png');
        await page.screenshot({ path: shot, fullPage: true });
        expect(readFileSync(shot).subarray(1, 4).toString()).to.equal('PNG');
        if (process.env.PYR_SCREENSHOT_DIR) copyFileSync(shot, path.join(process.env.PYR_SCREENSHOT_DIR, 'report.png'));
        await page.evaluate('window.scrollTo(0, 0)');
        await page.locator('section').first().screenshot({ path: '/tmp/pyr-report-seed.png' });
      } finally {
        await context.close();
      }
    });

    it('without the candle file, draws the trades on their fill prices and says the candles are missing', async () => {
      const moved = path.join(tmp.dir, 'run-moved');
      mkdirSync(moved, { recursive: true });
      for (const f of ['trades.csv', 'equity.csv']) copyFileSync(path.join(runDir, f), path.join(moved, f));
      const s = JSON.parse(readFileSync(path.join(runDir, 'summary.json'), 'utf8'));
      s.meta.source = path.join(tmp.dir, 'gone', 'BTCUSDT-15m.csv');
      writeFileSync(path.join(moved, 'summary.json'), JSON.stringify(s));
      const r = await pyr(['report', moved], tmp.dir);
      expect(r.code, r.stderr).to.equal(0);
      const file = r.stdout.trim();
      const { page, context, problems } = await open(file);
      try {
        const state: PageState = await page.evaluate('window.__pyr');
        expect(state.error, String(state.error)).to.equal(null);
        expect(problems).to.deep.equal([]);
        expect(state.markers).to.equal(tradeIds.length * 2);
        expect(state.candles).to.equal(0);
        expect(await page.evaluate('window.__pyr.panes')).to.deep.equal([]);
        expect(await page.evaluate(ROW_IDS)).to.deep.equal(tradeIds);
        const notes = await page.evaluate("document.querySelector('.notes').textContent");
        expect(notes).to.include(`Candles missing: the run’s candle file ${s.meta.source} is gone`);
      } finally {
        await context.close();
      }
    });

    it('draws a pivot-bounce report: its levels over the price, no pane below it', async () => {
      const { page, context, problems } = await open(path.join(pivotDir, 'report.html'));
      try {
        await page.waitForFunction('window.__pyr.layouts > 0');
        const state: PageState = await page.evaluate('window.__pyr');
        expect(state.error, String(state.error)).to.equal(null);
        expect(problems).to.deep.equal([]);
        expect(state.panes).to.deep.equal([]);
        expect(state.plots).to.deep.equal(['P', 'R1', 'R2', 'R3', 'S1', 'S2', 'S3']);
        expect(await page.evaluate('window.__pyrCharts.price.panes().length')).to.equal(1);
        expect(await page.evaluate('window.__pyrCharts.plots.every((p) => p.series.getPane().paneIndex() === 0)')).to.equal(true);
        // The legend shows the levels in force under the crosshair.
        const box = (await page.locator('#price-chart').boundingBox())!;
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.waitForFunction("/P .*R1 .*S3 /.test(document.getElementById('price-legend').textContent)");
        expectReadable(await page.evaluate(LABEL_BOXES));
        await page.locator('section').first().screenshot({ path: '/tmp/pyr-report-pivot.png' });
      } finally {
        await context.close();
      }
    });

    it('draws a report of a strategy without plots: candles, trades and equity only', async () => {
      const { page, context, problems } = await open(path.join(plainDir, 'report.html'));
      try {
        const state: PageState = await page.evaluate('window.__pyr');
        expect(state.error, String(state.error)).to.equal(null);
        expect(problems).to.deep.equal([]);
        expect(state.candles).to.equal(960);
        expect(state.panes).to.deep.equal([]);
        expect(state.plots).to.deep.equal([]);
        expect(await page.evaluate('window.__pyrCharts.price.panes().length')).to.equal(1);
        expect(await page.evaluate('window.__pyrCharts.equity.panes().length')).to.equal(2);
      } finally {
        await context.close();
      }
    });

    describe('a year of 15-minute candles (2024, the seed strategy)', function () {
      const yearDir = path.join(tmp.dir, 'run-2024');
      let year: { metrics: { trades: number } };

      before(async function () {
        requireShared(this, DATA_15M);
        this.timeout(300_000);
        const r = await runCli(['backtest', '--candles', DATA_15M, '--from', '2024-01-01', '--to', '2024-12-31', '--out', yearDir, '--report'], tmp.dir);
        expect(r.code, r.stderr).to.equal(0);
        year = JSON.parse(readFileSync(path.join(yearDir, 'summary.json'), 'utf8'));
        expect(year.metrics.trades, 'a year of trades').to.be.greaterThan(1000);
      });

      /** Waits until the page has laid the charts out again after `action` (it counts its layouts). */
      async function relaidOut(page: import('playwright-core').Page, action: string): Promise<void> {
        const n: number = await page.evaluate('window.__pyr.layouts');
        await page.evaluate(action);
        await page.waitForFunction(`window.__pyr.layouts > ${n}`);
      }

      it('is readable: trade labels never overlap (none when zoomed out), no value or time label is cut, one price-scale width', async () => {
        const file = path.join(yearDir, 'report.html');
        const { page, context, problems } = await open(file);
        try {
          await page.waitForFunction('window.__pyr.layouts > 0');
          const state: PageState = await page.evaluate('window.__pyr');
          expect(state.error, String(state.error)).to.equal(null);
          expect(state.markers).to.equal(year.metrics.trades * 2);
          expect(state.panes).to.deep.equal(['StochRSI']);

          // Opening view (the last 1,500 candles): 1,500 candles on ~1,280 px are too dense for labels.
          const opening: LabelLayout = await page.evaluate(LABEL_BOXES);
          expect(opening.markers).to.equal(year.metrics.trades * 2);
          expectReadable(opening);
          // The whole year: markers only, no text at all.
          await relaidOut(page, 'window.__pyrCharts.price.timeScale().fitContent()');
          const whole: LabelLayout = await page.evaluate(LABEL_BOXES);
          expect(whole.boxes, 'no label on a whole year').to.deep.equal([]);
          expect(whole.markers).to.equal(year.metrics.trades * 2);
          // Zoomed in (as a click on a trade does): labels appear, and none overlaps another.
          await relaidOut(page, "document.querySelectorAll('#trades tbody tr')[1000].click()");
          const zoomed: LabelLayout = await page.evaluate(LABEL_BOXES);
          expect(zoomed.boxes.length, 'labels once zoomed in').to.be.greaterThan(4);
          expectReadable(zoomed);
          await relaidOut(page, 'window.__pyrCharts.price.timeScale().setVisibleLogicalRange({ from: 20000, to: 20300 })');
          const medium: LabelLayout = await page.evaluate(LABEL_BOXES);
          expect(medium.boxes.length, 'labels on 300 candles').to.be.greaterThan(4);
          expectReadable(medium);
          const zoomShot = path.join(tmp.dir, 'report-year-zoomed.png');
          await page.locator('#price-chart').screenshot({ path: zoomShot });
          copyFileSync(zoomShot, '/tmp/pyr-report-year-zoomed.png');

          // Back to the opening view for the checks of the axes and the screenshot.
          await page.reload();
          await page.waitForFunction('window.__pyr !== undefined && window.__pyr.layouts > 0');
          const axes: Axes = await page.evaluate(AXES);
          // Every pane of both charts has the same price-scale width, wide enough for the widest value label.
          expect(new Set(axes.scaleWidths).size, JSON.stringify(axes.scaleWidths)).to.equal(1);
          expect(axes.scaleWidths[0]!, `widest label ${axes.widestValue}`).to.be.at.least(Math.ceil(axes.widestValue) + 8);
          // The last candle (and the last equity point) sits at least half the widest time label from the right edge.
          for (const c of axes.charts) expect(c.width - c.lastX, `${c.name}: ${JSON.stringify(c)}`).to.be.at.least(axes.widestTime / 2);

          const shot = path.join(tmp.dir, 'report-year.png');
          await page.screenshot({ path: shot, fullPage: true });
          expect(readFileSync(shot).subarray(1, 4).toString()).to.equal('PNG');
          copyFileSync(shot, '/tmp/pyr-report-year.png');
          expect(problems).to.deep.equal([]);
        } finally {
          await context.close();
        }
      });
    });
  });
});
