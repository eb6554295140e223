/**
 * The report page's script (inlined into report.html after lightweight-charts' standalone build, which
 * defines window.LightweightCharts). It reads the page data from <script id="pyr-data">, draws the
 * price chart (candles, trade markers, the series the strategy declared over the price, and one pane
 * below per other pane it declared, titled, with its guides) and the equity chart (equity, balance,
 * drawdown pane), fills the sortable trade list, and publishes what it drew in `window.__pyr`
 * ({ ready, markers, trades, tableRows, candles, plots, panes, labels, layouts, priceScaleWidth }) for
 * tests and for whoever inspects the page; the chart objects are in `window.__pyrCharts`.
 *
 * Plain ES2017 in a string (no build step, no template literals inside), so the page runs as written.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var state = { ready: false, markers: 0, trades: 0, tableRows: 0, candles: 0, error: null, timings: {} };
  function mark(name) { state.timings[name] = Math.round(performance.now()); }
  window.__pyr = state;
  try {
    main();
    state.ready = true;
  } catch (err) {
    state.error = String(err && err.stack || err);
    console.error('pyr report: ' + state.error);
  }

  function main() {
    var LW = window.LightweightCharts;
    var data = JSON.parse(document.getElementById('pyr-data').textContent);
    state.trades = data.trades.length;
    mark('data');
    var bg = '#131722', grid = '#1c2030', border = '#2a2e39';
    // Text is measured in the charts' own font (lightweight-charts' default family, set explicitly).
    var FONT_FAMILY = "-apple-system, BlinkMacSystemFont, 'Trebuchet MS', Roboto, Ubuntu, sans-serif", FONT_SIZE = 12;
    var measurer = document.createElement('canvas').getContext('2d');
    function textWidth(text) { measurer.font = FONT_SIZE + 'px ' + FONT_FAMILY; return measurer.measureText(text).width; }
    // Room right of the last candle for half the widest time-axis label, so it is never cut at the edge.
    var EDGE_PX = Math.ceil(Math.max.apply(null, ['00:00', '2025', 'Sep', '30'].map(textWidth)) / 2) + 10;
    function pad(n) { return n < 10 ? '0' + n : String(n); }
    function fmtTime(ms) {
      var d = new Date(ms);
      return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
    }
    function fmtDuration(ms) {
      var m = Math.round(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
      return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + mm + 'm';
    }
    function fmtNum(x, digits) { return x === null || x === undefined || !isFinite(x) ? '–' : Number(x).toFixed(digits); }
    function chartOptions() {
      return {
        autoSize: true,
        layout: { background: { type: 'solid', color: bg }, textColor: '#b2b5be', fontSize: FONT_SIZE, fontFamily: FONT_FAMILY, panes: { separatorColor: border, separatorHoverColor: '#3a4050', enableResize: true } },
        grid: { vertLines: { color: grid }, horzLines: { color: grid } },
        crosshair: { mode: LW.CrosshairMode.Normal },
        rightPriceScale: { borderColor: border },
        // fixLeftEdge: the first label is kept inside the axis (and nothing scrolls into the empty past).
        timeScale: { borderColor: border, timeVisible: true, secondsVisible: false, minBarSpacing: 0.05, rightOffsetPixels: EDGE_PX, fixLeftEdge: true },
        localization: { timeFormatter: function (t) { return fmtTime(t * 1000) + ' UTC'; } }
      };
    }
    var priceFormat = { type: 'price', precision: data.price.precision, minMove: data.price.minMove };

    // ---- price chart: candles (or fills), markers, the strategy's plots (over the price, and in panes below it)
    var chart = LW.createChart(document.getElementById('price-chart'), chartOptions());
    var main;
    if (data.candles) {
      var c = data.candles, rows = new Array(c.t.length);
      for (var i = 0; i < c.t.length; i++) rows[i] = { time: c.t[i], open: c.o[i], high: c.h[i], low: c.l[i], close: c.c[i] };
      main = chart.addSeries(LW.CandlestickSeries, {
        upColor: '#26a69a', downColor: '#ef5350', borderVisible: false, wickUpColor: '#26a69a', wickDownColor: '#ef5350', priceFormat: priceFormat
      });
      main.setData(rows);
      state.candles = rows.length;
    } else {
      main = chart.addSeries(LW.LineSeries, { color: '#787b86', lineWidth: 1, lineStyle: LW.LineStyle.Dotted, priceFormat: priceFormat, title: 'fills' });
      main.setData(data.fills);
    }
    // ---- the strategy's plots: over the candles (pane 0), or in panes below them (1..n)
    var P = data.plots, plotApis = [];
    var LINE_STYLE = { solid: LW.LineStyle.Solid, dashed: LW.LineStyle.Dashed, dotted: LW.LineStyle.Dotted };
    function guidesOf(pane) { return pane === 0 ? P.priceGuides : P.panes[pane - 1].guides; }
    if (P && data.candles) {
      P.series.forEach(function (d) {
        var onPrice = d.pane === 0, guides = guidesOf(d.pane);
        var opts = {
          color: d.color, lineWidth: 1, lineStyle: LINE_STYLE[d.dash], priceLineVisible: false,
          priceFormat: onPrice ? priceFormat : { type: 'price', precision: d.precision, minMove: Math.pow(10, -d.precision) },
          title: onPrice ? '' : d.name
        };
        if (d.style === 'step') opts.lineType = LW.LineType.WithSteps;
        if (onPrice) {
          // The candles set the price scale; far levels are clipped rather than squashing the candles.
          opts.lastValueVisible = false;
          opts.crosshairMarkerVisible = false;
          opts.autoscaleInfoProvider = function () { return null; };
        } else {
          // A pane's scale holds its values and its guides.
          opts.autoscaleInfoProvider = function (original) {
            var r = original();
            if (!guides.length) return r;
            var lo = Math.min.apply(null, guides.map(function (g) { return g.value; })), hi = Math.max.apply(null, guides.map(function (g) { return g.value; }));
            if (!r || !r.priceRange) return { priceRange: { minValue: lo, maxValue: hi } };
            return { priceRange: { minValue: Math.min(r.priceRange.minValue, lo), maxValue: Math.max(r.priceRange.maxValue, hi) }, margins: r.margins };
          };
        }
        var api = chart.addSeries(LW.LineSeries, opts, d.pane);
        var times = d.t || data.candles.t;
        var points = new Array(times.length);
        for (var j = 0; j < times.length; j++) points[j] = d.v[j] === null ? { time: times[j] } : { time: times[j], value: d.v[j] };
        api.setData(points);
        plotApis.push({ name: d.name, pane: d.pane, series: api, data: d });
      });
      // Dashed guides on the first series of their pane (on the candles for the price pane).
      var guideLine = function (series, g) {
        series.createPriceLine({ price: g.value, color: '#9598a1', lineWidth: 1, lineStyle: LW.LineStyle.Dashed, axisLabelVisible: true, title: g.label });
      };
      P.priceGuides.forEach(function (g) { guideLine(main, g); });
      P.panes.forEach(function (pane, k) {
        var first = plotApis.filter(function (p) { return p.pane === k + 1; })[0];
        if (!first) return;
        pane.guides.forEach(function (g) { guideLine(first.series, g); });
        first.series.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.08 } });
      });
      var chartPanes = chart.panes();
      if (chartPanes.length > 1) {
        chartPanes[0].setStretchFactor(3);
        for (var pi = 1; pi < chartPanes.length; pi++) {
          chartPanes[pi].setStretchFactor(1);
          // The pane's title, top left inside it.
          LW.createTextWatermark(chartPanes[pi], { horzAlign: 'left', vertAlign: 'top', lines: [{ text: P.panes[pi - 1].title, color: 'rgba(178,181,190,0.6)', fontSize: FONT_SIZE, fontFamily: FONT_FAMILY }] });
        }
      }
    }
    state.plots = plotApis.map(function (p) { return p.name; });
    state.panes = chart.panes().length > 1 ? P.panes.map(function (p) { return p.title; }) : [];
    mark('series');
    // Trade markers are drawn without text; their labels are laid out for the visible range (layoutLabels).
    var M = data.markers, markers = new Array(M.time.length), labelText = new Array(M.time.length), labelWidth = new Float64Array(M.time.length);
    for (var m = 0; m < M.time.length; m++) {
      var ms = M.styles[M.style[m]];
      markers[m] = { time: M.time[m], position: ms.position, shape: ms.shape, color: ms.color, text: '' };
      labelText[m] = M.text ? M.text[m] : '';
      labelWidth[m] = labelText[m] ? textWidth(labelText[m]) : 0;
    }
    // Above the series: a label is never hidden behind a candle.
    var markersApi = LW.createSeriesMarkers(main, markers, { zOrder: 'aboveSeries' });
    mark('markers');
    state.markers = markersApi.markers().length;
    state.labels = 0;
    state.layouts = 0;

    var bars = data.candles ? data.candles.t.length : 0;
    if (data.initialBars && bars > data.initialBars) {
      // The last initialBars candles, with EDGE_PX of room right of the last one.
      var w0 = chart.timeScale().width() || document.getElementById('price-chart').clientWidth;
      var per = Math.max(w0 - EDGE_PX, 1) / data.initialBars;
      chart.timeScale().setVisibleLogicalRange({ from: bars - data.initialBars, to: bars - 1 + EDGE_PX / per });
    } else chart.timeScale().fitContent();

    // ---- trade labels: "L12" / "S12" on entries, "TP" / "SL" / "X" / "END" on exits, only where they fit.
    // Markers on one candle and side stack vertically (lightweight-charts puts each text against its
    // shape, the stack growing away from the candle), so a group of them gets one box: as wide as its
    // widest label, as tall as the stack. Labels are drawn only when the visible groups of each side
    // could all sit side by side (zoomed in far enough; zoomed out over a long run the markers come without
    // text); then, left to right, a group is labelled when its box lies inside the pane and clears by
    // LABEL_GAP px every label already placed and every other marker.
    var LABEL_GAP = 4, labelShown = new Uint8Array(markers.length);
    function ceiledOdd(x) { var c = Math.ceil(x); return c % 2 === 0 ? c - 1 : c; }
    function ceiledEven(x) { var c = Math.ceil(x); return c % 2 !== 0 ? c - 1 : c; }
    /** The geometry lightweight-charts gives markers at this bar spacing (its size() and shapeMargin()). */
    function markerGeometry(barSpacing) {
      var size = function (coeff) { return ceiledOdd(Math.min(Math.max(barSpacing, 12), 30) * coeff); };
      return { shape: ceiledEven(size(1)), margin: Math.max(size(0.1), 3), text: FONT_SIZE * 1.2 };
    }
    /** The candle's (or fill's) price a marker on this side sits against, at time t. */
    function anchorPrice(t, side) {
      var d = main.dataByIndex(chart.timeScale().timeToIndex(t, false), 0);
      if (!d) return null;
      if (d.high !== undefined) return side === 'aboveBar' ? d.high : d.low;
      return d.value !== undefined ? d.value : null;
    }
    function layoutLabels() {
      var ts = chart.timeScale(), width = ts.width(), height = chart.panes()[0].getHeight();
      if (!M.text || !(width > 0) || markers.length === 0) return;
      var range = ts.getVisibleRange(), geo = markerGeometry(ts.options().barSpacing);
      var sides = { aboveBar: [], belowBar: [] };
      if (range) {
        for (var i = 0; i < markers.length; i++) {
          var mk = markers[i];
          if (mk.time < range.from || mk.time > range.to) continue;
          var list = sides[mk.position], last = list[list.length - 1];
          if (last && last.time === mk.time) {
            last.idx.push(i);
            if (labelWidth[i] > last.w) last.w = labelWidth[i];
          } else {
            list.push({ time: mk.time, side: mk.position, w: labelWidth[i], idx: [i] });
          }
        }
      }
      var next = new Uint8Array(markers.length), count = 0;
      var fits = ['aboveBar', 'belowBar'].every(function (side) {
        return sides[side].reduce(function (sum, g) { return sum + g.w + LABEL_GAP; }, 0) <= width;
      });
      if (fits) {
        // Each group: its labelled box (shapes and texts) and its bare shapes (what it covers unlabelled).
        var groups = sides.aboveBar.concat(sides.belowBar), placed = [];
        groups.forEach(function (g) {
          var x = ts.timeToCoordinate(g.time), p = anchorPrice(g.time, g.side);
          var y = p === null ? null : main.priceToCoordinate(p);
          if (x === null || y === null) return;
          var up = g.side === 'aboveBar' ? -1 : 1;
          var stack = g.idx.length * (geo.shape + geo.margin + geo.text) + geo.margin;
          var bare = g.idx.length * (geo.shape + geo.margin) + geo.margin;
          g.x = x;
          g.left = x - Math.max(g.w, geo.shape) / 2;
          g.right = x + Math.max(g.w, geo.shape) / 2;
          g.top = up < 0 ? y - stack : y;
          g.bottom = up < 0 ? y : y + stack;
          g.shape = { left: x - geo.shape / 2, right: x + geo.shape / 2, top: up < 0 ? y - bare : y, bottom: up < 0 ? y : y + bare };
        });
        groups = groups.filter(function (g) { return g.x !== undefined; }).sort(function (a, b) { return a.left - b.left; });
        var hits = function (a, b) { return a.right + LABEL_GAP > b.left && a.left < b.right + LABEL_GAP && a.bottom + LABEL_GAP > b.top && a.top < b.bottom + LABEL_GAP; };
        groups.forEach(function (g, gi) {
          if (g.left < 0 || g.right > width || g.top < 0 || g.bottom > height) return;
          // Not over another label, nor over another marker (boxes are narrower than 100 px: nothing
          // further than that to the left or right can touch this one).
          for (var k = placed.length - 1; k >= 0; k--) {
            if (placed[k].left < g.left - 100) break;
            if (hits(placed[k], g)) return;
          }
          for (var o = gi - 1; o >= 0 && groups[o].left >= g.left - 100; o--) if (hits(groups[o].shape, g)) return;
          for (var q = gi + 1; q < groups.length && groups[q].left <= g.right + LABEL_GAP; q++) if (hits(groups[q].shape, g)) return;
          placed.push(g);
          g.idx.forEach(function (k2) { next[k2] = 1; count++; });
        });
      }
      var changed = false;
      for (var j = 0; j < next.length && !changed; j++) if (next[j] !== labelShown[j]) changed = true;
      if (changed) {
        labelShown = next;
        markersApi.setMarkers(markers.map(function (mk, k) { return next[k] ? { time: mk.time, position: mk.position, shape: mk.shape, color: mk.color, text: labelText[k] } : mk; }));
      }
      state.labels = count;
    }

    // A step's value at time t: the last point at or before it (the points are sparse); a line's, from the crosshair.
    function plotValueAt(p, param) {
      if (!p.data.t) { var v = param.seriesData ? param.seriesData.get(p.series) : null; return v ? v.value : null; }
      var ts = p.data.t, lo = 0, hi = ts.length - 1, found = -1, t = param.time;
      if (!ts.length || t < ts[0] || t > ts[ts.length - 1]) return null;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (ts[mid] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
      }
      return found < 0 ? null : p.data.v[found];
    }
    function esc(text) { return String(text).replace(/[&<>"']/g, function (ch) { return '&#' + ch.charCodeAt(0) + ';'; }); }
    var priceLegend = document.getElementById('price-legend');
    function setPriceLegend(param) {
      var parts = [];
      var bar = param && param.seriesData ? param.seriesData.get(main) : null;
      if (param && param.time !== undefined) parts.push('<b>' + fmtTime(param.time * 1000) + '</b>');
      if (bar && bar.open !== undefined) {
        var p = data.price.precision;
        parts.push('O <b>' + bar.open.toFixed(p) + '</b> H <b>' + bar.high.toFixed(p) + '</b> L <b>' + bar.low.toFixed(p) + '</b> C <b>' + bar.close.toFixed(p) + '</b>');
      } else if (bar && bar.value !== undefined) {
        parts.push('fill <b>' + bar.value + '</b>');
      }
      if (plotApis.length && param && param.time !== undefined) {
        // The values over the price, then each pane's, under its title.
        for (var pane = 0; pane <= P.panes.length; pane++) {
          var own = plotApis.filter(function (p) { return p.pane === pane; });
          if (!own.length) continue;
          parts.push((pane > 0 ? esc(P.panes[pane - 1].title) + ' ' : '') + own.map(function (p) {
            return '<span style="color:' + esc(p.data.color) + '">' + esc(p.name) + '</span> <b>' + fmtNum(plotValueAt(p, param), p.data.precision) + '</b>';
          }).join(' '));
        }
      }
      priceLegend.innerHTML = parts.length ? parts.join('   ') : 'Move over the chart for values; scroll to zoom, drag to pan.';
    }
    chart.subscribeCrosshairMove(setPriceLegend);
    setPriceLegend(null);

    mark('price chart');
    // ---- equity chart: equity and balance in pane 0, drawdown in pane 1
    var eqChart = LW.createChart(document.getElementById('equity-chart'), chartOptions());
    var money = { type: 'price', precision: 2, minMove: 0.01 };
    var eqSeries = eqChart.addSeries(LW.AreaSeries, { lineColor: '#42a5f5', topColor: 'rgba(66,165,245,0.25)', bottomColor: 'rgba(66,165,245,0.02)', lineWidth: 2, priceFormat: money, title: 'equity' });
    eqSeries.setData(data.equity.t.map(function (t, j) { return { time: t, value: data.equity.v[j] }; }));
    eqSeries.createPriceLine({ price: data.initialBalance, color: '#787b86', lineWidth: 1, lineStyle: LW.LineStyle.Dashed, axisLabelVisible: true, title: 'start' });
    var balSeries = eqChart.addSeries(LW.LineSeries, { color: '#ffa726', lineWidth: 1, lineType: LW.LineType.WithSteps, priceFormat: money, priceLineVisible: false, title: 'balance' });
    balSeries.setData(data.balance.t.map(function (t, j) { return { time: t, value: data.balance.v[j] }; }));
    var ddSeries = eqChart.addSeries(LW.HistogramSeries, { color: 'rgba(239,83,80,0.7)', priceFormat: { type: 'price', precision: 2, minMove: 0.01 }, priceLineVisible: false, title: 'drawdown %' }, 1);
    ddSeries.setData(data.equity.t.map(function (t, j) { return { time: t, value: data.equity.dd[j] }; }));
    eqChart.panes()[0].setStretchFactor(3);
    eqChart.panes()[1].setStretchFactor(1);
    eqChart.timeScale().fitContent();

    // ---- one price-scale width for both charts (and so for every pane: a chart's panes share it), at
    // least as wide as the widest value label either chart can show, so no label is cut and the two time
    // axes line up. It only grows (zooming to wider labels widens both charts alike).
    var scaleWidth = 0;
    function widestValueLabel() {
      var texts = [];
      function add(series, values) {
        var f = series.priceFormatter(), lo = Infinity, hi = -Infinity;
        values.forEach(function (v) { if (typeof v === 'number' && isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } });
        if (lo <= hi) texts.push(f.format(lo), f.format(hi));
      }
      if (data.candles) add(main, data.candles.h.concat(data.candles.l));
      else add(main, data.fills.map(function (p) { return p.value; }));
      plotApis.forEach(function (p) { add(p.series, p.data.v.concat(guidesOf(p.pane).map(function (g) { return g.value; }))); });
      add(eqSeries, data.equity.v.concat(data.balance.v, [data.initialBalance]));
      add(ddSeries, data.equity.dd);
      return Math.max.apply(null, texts.map(textWidth));
    }
    var widestLabel = widestValueLabel();
    state.widestValueLabel = widestLabel;
    function alignScales() {
      var w = Math.ceil(Math.max(chart.priceScale('right').width(), eqChart.priceScale('right').width(), widestLabel + 18));
      if (w > scaleWidth) {
        scaleWidth = w;
        chart.priceScale('right').applyOptions({ minimumWidth: w });
        eqChart.priceScale('right').applyOptions({ minimumWidth: w });
      }
      state.priceScaleWidth = scaleWidth;
    }

    var pending = false;
    function relayout() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () {
        pending = false;
        try {
          alignScales();
          layoutLabels();
        } catch (err) {
          state.error = String(err && err.stack || err);
        }
        state.layouts++;
      });
    }
    chart.timeScale().subscribeVisibleLogicalRangeChange(relayout);
    chart.timeScale().subscribeSizeChange(relayout);
    eqChart.timeScale().subscribeSizeChange(relayout);
    relayout();
    window.__pyrCharts = { price: chart, equity: eqChart, candles: main, markers: markersApi, plots: plotApis.map(function (p) { return { name: p.name, pane: p.pane, series: p.series }; }), equitySeries: eqSeries, drawdown: ddSeries, fontFamily: FONT_FAMILY, fontSize: FONT_SIZE, edgePx: EDGE_PX };
    var eqLegend = document.getElementById('equity-legend');
    function setEqLegend(param) {
      if (!param || param.time === undefined || !param.seriesData) { eqLegend.innerHTML = 'Start ' + data.initialBalance.toFixed(2) + ' USDT'; return; }
      var e = param.seriesData.get(eqSeries), b = param.seriesData.get(balSeries), dd = param.seriesData.get(ddSeries);
      eqLegend.innerHTML = '<b>' + fmtTime(param.time * 1000) + '</b>   equity <b>' + fmtNum(e && e.value, 2) + '</b>   balance <b>' + fmtNum(b && b.value, 2) + '</b>   drawdown <b>' + fmtNum(dd && dd.value, 2) + '%</b>';
    }
    eqChart.subscribeCrosshairMove(setEqLegend);
    setEqLegend(null);

    mark('equity chart');
    // ---- trade list: sortable; a click shows the trade on the price chart
    var table = document.getElementById('trades');
    var tbody = table.tBodies[0];
    var T = data.trades;
    function cell(text, cls, title) {
      var td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      if (title) td.title = title;
      return td;
    }
    function money4(s) { return s === '' ? '' : Number(s).toFixed(4); }
    var rowsEls = T.map(function (t) {
      var tr = document.createElement('tr');
      var net = Number(t[9]);
      tr.appendChild(cell(String(t[0])));
      tr.appendChild(cell(t[1], 't ' + (t[1] === 'long' ? 'g' : 'r')));
      tr.appendChild(cell(fmtTime(t[2]), 't'));
      tr.appendChild(cell(fmtTime(t[3]), 't'));
      tr.appendChild(cell(t[4]));
      tr.appendChild(cell(t[5]));
      tr.appendChild(cell(t[6]));
      tr.appendChild(cell(t[7], 't', t[12]));
      tr.appendChild(cell(money4(t[8]), '', t[8]));
      tr.appendChild(cell(money4(t[9]), net > 0 ? 'pos' : net < 0 ? 'neg' : '', t[9]));
      tr.appendChild(cell(money4(t[10]), '', t[10]));
      tr.appendChild(cell(fmtDuration(t[13])));
      tr.appendChild(cell(t[11], 't'));
      tr.dataset.id = String(t[0]);
      tr.addEventListener('click', function () { showTrade(t, tr); });
      return { tr: tr, t: t };
    });
    var frag = document.createDocumentFragment();
    rowsEls.forEach(function (r) { frag.appendChild(r.tr); });
    tbody.appendChild(frag);
    state.tableRows = tbody.rows.length;
    mark('trade list');
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      if (!th.dataset.type) th.className = 't';
      th.addEventListener('click', function () {
        var col = Number(th.dataset.col), numeric = th.dataset.type === 'n';
        var dir = th.classList.contains('asc') ? -1 : 1;
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (o) { o.classList.remove('asc', 'desc'); });
        th.classList.add(dir === 1 ? 'asc' : 'desc');
        rowsEls.sort(function (a, b) {
          var x = a.t[col], y = b.t[col];
          if (numeric) { x = Number(x); y = Number(y); return (x - y) * dir || (a.t[0] - b.t[0]); }
          return String(x).localeCompare(String(y)) * dir || (a.t[0] - b.t[0]);
        });
        var f = document.createDocumentFragment();
        rowsEls.forEach(function (r) { f.appendChild(r.tr); });
        tbody.appendChild(f);
      });
    });
    var selected = null;
    function showTrade(t, tr) {
      if (selected) selected.classList.remove('sel');
      selected = tr;
      tr.classList.add('sel');
      var span = Math.max(t[3] - t[2], 0) / 1000, padding = Math.max(span, data.barSeconds * 40);
      chart.timeScale().setVisibleRange({ from: t[2] / 1000 - padding, to: t[3] / 1000 + padding });
      document.getElementById('price-chart').scrollIntoView({ behavior: 'smooth', block: 'center' });
    }
  }
})();
`;
