/** The report page's stylesheet (inlined into report.html): a dark, chart-first layout. */
export const PAGE_CSS = `
:root { color-scheme: dark; --bg: #0f1117; --panel: #131722; --line: #2a2e39; --text: #d1d4dc; --dim: #8a8f9c;
  --green: #26a69a; --red: #ef5350; --blue: #42a5f5; --orange: #ffa726; --grey: #9e9e9e; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { padding: 16px 24px 8px; border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; }
h1 .sym { color: var(--orange); }
h2 { margin: 18px 0 8px; font-size: 15px; font-weight: 600; color: #e8eaf0; }
.dim { color: var(--dim); font-weight: 400; font-size: 14px; }
.stats { margin: 6px 0; font: 600 15px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.pos { color: var(--green); } .neg { color: var(--red); }
table.kv td.small-sample { color: #ffcc80; }
.notes { margin: 6px 0 4px; padding-left: 20px; color: #ffcc80; font-size: 13px; }
.notes li.note { color: #ffb74d; font-weight: 600; }
main { padding: 0 24px 24px; max-width: 1600px; margin: 0 auto; }
section { margin-top: 8px; }
.chart { width: 100%; height: 380px; border: 1px solid var(--line); border-radius: 4px; overflow: hidden; }
.chart.tall { height: 640px; }
.legend { min-height: 20px; font: 12px/1.6 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--dim); white-space: pre-wrap; }
.legend b { color: var(--text); font-weight: 500; }
.key { color: var(--dim); font-size: 12.5px; margin: 6px 0 0; }
.g { color: var(--green); } .r { color: var(--red); } .b { color: var(--blue); } .o { color: var(--orange); } .n { color: var(--grey); }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 32px; }
@media (max-width: 1000px) { .cols { grid-template-columns: 1fr; } }
table { border-collapse: collapse; width: 100%; }
table.kv th { text-align: left; font-weight: 400; color: var(--dim); padding: 3px 12px 3px 0; width: 40%; vertical-align: top; }
table.kv td { padding: 3px 0; font-variant-numeric: tabular-nums; word-break: break-word; }
table.kv tr { border-bottom: 1px solid #1c2030; }
.table-wrap { max-height: 560px; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
table.list { font-size: 13px; font-variant-numeric: tabular-nums; }
table.list th { position: sticky; top: 0; background: #1b1f2b; text-align: right; padding: 6px 8px; font-weight: 500; color: #c5c8d0;
  cursor: pointer; user-select: none; white-space: nowrap; border-bottom: 1px solid var(--line); }
table.list th:hover { color: #fff; }
table.list th.asc::after { content: " ▲"; font-size: 10px; } table.list th.desc::after { content: " ▼"; font-size: 10px; }
table.list td { text-align: right; padding: 4px 8px; white-space: nowrap; border-bottom: 1px solid #1c2030; }
table.list td.t, table.list th.t { text-align: left; }
table.list tbody tr { cursor: pointer; }
table.list tbody tr:hover { background: #1e2433; }
table.list tbody tr.sel { background: #25304a; }
footer { color: var(--dim); font-size: 12px; padding: 12px 24px 20px; border-top: 1px solid var(--line); }
`;
