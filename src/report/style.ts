/** The report's stylesheet, inlined so the page needs nothing but itself. */
export const REPORT_CSS = `
:root {
  --text: #1d2330; --muted: #5b6475; --line: #e3e6ec; --bg: #f6f7f9; --card: #ffffff;
  --blue: #1f4fd1; --red: #d11f2a; --green: #2a9d6f; --amber: #b26a00;
  font-family: 'DejaVu Sans', system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
  color: var(--text); background: var(--bg); font-size: 15px; line-height: 1.5;
}
* { box-sizing: border-box; }
body { margin: 0; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 28px; }
header { background: #10203f; color: #fff; padding: 28px 0 0; margin-bottom: 28px; }
header .kicker { margin: 0; text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: #a9b8d8; }
header h1 { margin: 4px 0 2px; font-size: 28px; font-weight: 700; word-break: break-all; }
header .meta { margin: 0 0 18px; color: #c9d3ea; font-size: 14px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 10px 0 12px; border-top: 1px solid rgba(255,255,255,.14); }
nav a { color: #dfe6f5; text-decoration: none; font-size: 13px; }
nav a:hover { color: #fff; text-decoration: underline; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 22px 26px 24px; margin: 0 0 22px; }
h2 { font-size: 19px; margin: 0 0 6px; }
.lead { margin: 0 0 14px; color: var(--muted); font-size: 14px; }
.missing { color: var(--muted); font-style: italic; margin: 6px 0 0; }
.note { color: var(--muted); font-size: 13px; margin: 10px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 14px; margin-top: 8px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; background: #fbfcfd; }
.card .value { font-size: 28px; font-weight: 700; letter-spacing: -.01em; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 13px; }
.card .note { color: var(--muted); font-size: 12px; margin: 2px 0 0; }
table { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
thead th { white-space: nowrap; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
tbody th { font-weight: 600; }
.num { text-align: right; }
.muted { color: var(--muted); }
table.config { width: 100%; }
table.config th { width: 32%; color: var(--muted); font-weight: 500; }
table.config code { font-family: 'DejaVu Sans Mono', ui-monospace, Menlo, Consolas, monospace; font-size: 13px; word-break: break-word; }
table.comparison { width: 100%; }
table.comparison tr.best { background: #eef3ff; }
table.comparison tr.below { background: #fff1f1; }
table.comparison tr.below .delta { color: var(--red); font-weight: 600; }
table.comparison tr.best th { color: var(--blue); }
.barcell { width: 34%; }
.bar { height: 10px; background: #eef0f4; border-radius: 5px; overflow: hidden; }
.bar span { display: block; height: 100%; background: #8fa6e8; }
tr.best .bar span { background: var(--blue); }
tr.below .bar span { background: #e58b90; }
tr.baseline .bar span { background: #8b93a3; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 7px; border-radius: 9px; margin-left: 6px; vertical-align: 1px; }
.badge.best { background: var(--blue); color: #fff; }
.badge.baseline { background: #e3e6ec; color: var(--text); }
.badge.below { background: var(--red); color: #fff; }
.badge.live { background: #8b93a3; color: #fff; text-transform: none; letter-spacing: 0; }
html[data-live=connected] .badge.live { background: var(--green); }
figure { margin: 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figure.chart.wide svg { width: 100%; }
figure.grid img { display: block; max-width: 100%; height: auto; border-radius: 6px; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--blue); font-size: 14px; }
table.history { margin-top: 8px; }
.split { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.split > table { flex: 0 0 auto; }
.split > figure { flex: 1 1 420px; min-width: 0; }
tr.macro th, tr.macro td { border-top: 2px solid var(--line); font-weight: 600; }
@media print { body { background: #fff; } section { break-inside: avoid; border: none; } header { background: #fff; color: var(--text); } }
`;
