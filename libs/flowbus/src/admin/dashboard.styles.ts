/** Styles of the dashboard page (inline, allowed by hash in its CSP). Light and dark. */
export const DASHBOARD_STYLES = `
:root {
  --bg: #f5f6f8; --panel: #ffffff; --text: #1d2330; --muted: #6a7282; --border: #e3e6eb; --hover: #f8f9fb;
  --accent: #4f46e5; --accent-text: #ffffff; --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .08);
  --green: #047857; --green-bg: #e7f7ef; --amber: #a16207; --amber-bg: #fdf5dc; --blue: #1d4ed8; --blue-bg: #e8effd;
  --red: #c81e1e; --red-bg: #fdecec; --purple: #6d28d9; --purple-bg: #f1ebfd; --grey: #4b5563; --grey-bg: #eef0f3;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  color-scheme: light;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1218; --panel: #171b23; --text: #e6e8ee; --muted: #9097a6; --border: #272d39; --hover: #1c212b;
    --accent: #818cf8; --accent-text: #0f1218; --shadow: none;
    --green: #34d399; --green-bg: #0f2a20; --amber: #fbbf24; --amber-bg: #2d2410; --blue: #93b4fd; --blue-bg: #172340;
    --red: #f87171; --red-bg: #351616; --purple: #c4b5fd; --purple-bg: #251c3d; --grey: #a3aab8; --grey-bg: #232833;
    color-scheme: dark;
  }
}
* { box-sizing: border-box; }
.stalled { padding: 12px 16px; margin-bottom: 16px; border-left: 4px solid var(--red); }
.stalled h2 { font-size: 14px; margin: 0 0 6px; color: var(--red); }
.stalled ul { margin: 0; padding-left: 18px; }
.stalled li { margin: 3px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 12px; margin-bottom: 20px; }
.chart { padding: 10px 14px 8px; }
.chart h3 { font-size: 13px; margin: 0 0 4px; display: flex; justify-content: space-between; gap: 8px; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .axis { stroke: var(--border); stroke-width: 1; }
.chart text { fill: var(--muted); font-size: 10px; font-family: var(--mono); }
.chart .delivered { stroke: var(--green); } .chart .failed { stroke: var(--red); } .chart .backlog { stroke: var(--amber); }
.chart polyline { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
.legend { display: flex; gap: 10px; font-size: 11.5px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 3px; margin-right: 4px; vertical-align: middle; }
.legend .delivered { background: var(--green); } .legend .failed { background: var(--red); } .legend .backlog { background: var(--amber); }
.conversation { padding: 14px 18px; }
.conversation h2 { font-size: 15px; margin: 0 0 10px; }
.tree, .tree ul { list-style: none; margin: 0; padding-left: 18px; }
.tree { padding-left: 0; }
.tree li { margin: 4px 0; }
.tree .node { display: inline-flex; gap: 8px; align-items: center; flex-wrap: wrap; padding: 3px 8px; border: 1px solid var(--border); border-radius: 8px; background: var(--hover); }
.tree .node.step { border-color: var(--purple); }
.tree .node .type { font-weight: 600; }
.timeline { list-style: none; margin: 0; padding: 0; }
.timeline li { display: flex; gap: 8px; align-items: center; padding: 3px 0; border-bottom: 1px dashed var(--border); }
html, body { margin: 0; }
body {
  background: var(--bg); color: var(--text); min-height: 100vh;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
}
[hidden] { display: none !important; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
h1 { font-size: 20px; margin: 0 0 6px; }
.muted { color: var(--muted); }

.top {
  display: flex; align-items: center; justify-content: space-between; gap: 16px; flex-wrap: wrap;
  padding: 12px 24px; background: var(--panel); border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 5;
}
.brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 16px; letter-spacing: -.01em; }
.logo { width: 22px; height: 22px; border-radius: 6px; background: linear-gradient(135deg, var(--accent), #06b6d4); }
.where { color: var(--muted); font-weight: 400; font-family: var(--mono); font-size: 12.5px; }
.top-actions { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.updated { color: var(--muted); font-size: 12.5px; min-width: 120px; text-align: right; }
.switch { display: inline-flex; align-items: center; gap: 6px; color: var(--muted); cursor: pointer; user-select: none; }

.btn {
  font: inherit; font-weight: 550; font-size: 13px; padding: 6px 12px; border-radius: 7px; cursor: pointer;
  border: 1px solid var(--border); background: var(--panel); color: var(--text); white-space: nowrap;
}
.btn:hover:not(:disabled) { background: var(--hover); }
.btn:disabled { opacity: .5; cursor: not-allowed; }
.btn:focus-visible, input:focus-visible, select:focus-visible, [role=tab]:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
.btn.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
.btn.ghost { background: transparent; }
.btn.small { padding: 3px 9px; font-size: 12px; }
.btn.danger { color: var(--red); }
.btn.danger:hover:not(:disabled) { background: var(--red-bg); }

.banner {
  margin: 16px 24px 0; padding: 10px 14px; border-radius: 8px; border: 1px solid var(--red);
  background: var(--red-bg); color: var(--red); font-weight: 500;
}
.banner.info { border-color: var(--blue); background: var(--blue-bg); color: var(--blue); }

.login { display: flex; justify-content: center; padding: 12vh 16px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 12px; box-shadow: var(--shadow); }
.login-card { width: 100%; max-width: 400px; padding: 28px; display: flex; flex-direction: column; gap: 14px; }
.login-card p { margin: 0; }
.field { display: flex; flex-direction: column; gap: 6px; font-weight: 550; font-size: 13px; }

input, select {
  font: inherit; font-size: 13px; color: var(--text); background: var(--panel);
  border: 1px solid var(--border); border-radius: 7px; padding: 6px 9px; min-width: 0;
}
.login-card input { padding: 9px 11px; font-size: 14px; }

.app { padding: 20px 24px 48px; max-width: 1440px; margin: 0 auto; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; margin-bottom: 20px; }
.tile { padding: 15px 16px 13px; position: relative; overflow: hidden; }
.tile::before { content: ""; position: absolute; inset: 0 0 auto 0; height: 3px; background: var(--border); }
.tile .label, .tile .sub { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile .label { color: var(--muted); font-size: 12.5px; font-weight: 600; }
.tile .value { font-size: 26px; font-weight: 650; letter-spacing: -.02em; margin-top: 2px; font-variant-numeric: tabular-nums; }
.tile .sub { color: var(--muted); font-size: 12px; margin-top: 1px; }
.tile.amber::before { background: var(--amber); } .tile.blue::before { background: var(--blue); }
.tile.green::before { background: var(--green); } .tile.red::before { background: var(--red); }
.tile.purple::before { background: var(--purple); } .tile.grey::before { background: var(--grey); }
.tile.alert .value { color: var(--red); }

.tabs { display: flex; gap: 4px; border-bottom: 1px solid var(--border); margin-bottom: 14px; overflow-x: auto; }
[role=tab] {
  font: inherit; font-weight: 550; background: none; border: 0; border-bottom: 2px solid transparent;
  padding: 8px 12px; color: var(--muted); cursor: pointer; margin-bottom: -1px; white-space: nowrap;
}
[role=tab][aria-selected=true] { color: var(--text); border-bottom-color: var(--accent); }
.count { display: inline-block; min-width: 20px; padding: 0 6px; border-radius: 10px; background: var(--grey-bg); color: var(--grey); font-size: 11.5px; text-align: center; }
.count.alert { background: var(--red-bg); color: var(--red); }

.filters { display: flex; align-items: end; gap: 10px; flex-wrap: wrap; margin-bottom: 12px; }
.filters label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); font-weight: 550; }
.filters input { width: 170px; }
.spacer { flex: 1; }

.table-wrap { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; box-shadow: var(--shadow); overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th {
  text-align: left; font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  font-weight: 600; padding: 9px 12px; border-bottom: 1px solid var(--border); white-space: nowrap;
}
td { padding: 9px 12px; border-bottom: 1px solid var(--border); vertical-align: middle; }
tbody tr.row { cursor: pointer; }
tbody tr.row:hover { background: var(--hover); }
tbody tr:last-child td { border-bottom: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.actions { text-align: right; white-space: nowrap; }
td.actions .btn + .btn { margin-left: 6px; }
.id { font-family: var(--mono); font-size: 12px; color: var(--muted); }
.error-text { color: var(--red); max-width: 420px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.time { white-space: nowrap; color: var(--muted); }
.caret { display: inline-block; width: 12px; color: var(--muted); transition: transform .12s; }
tr.open .caret { transform: rotate(90deg); }

.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.pill.pending, .pill.compensating, .pill.half-open { color: var(--amber); background: var(--amber-bg); }
.pill.in-flight, .pill.running { color: var(--blue); background: var(--blue-bg); }
.pill.delivered, .pill.completed, .pill.closed { color: var(--green); background: var(--green-bg); }
.pill.failed, .pill.open, .pill.dead { color: var(--red); background: var(--red-bg); }
.pill.blocks { color: var(--red); background: var(--red-bg); }
tr.blocking td:first-child { box-shadow: inset 3px 0 0 var(--red); }
.panel-note { margin: 0 0 10px; font-size: 13px; }
.pill.compensated { color: var(--purple); background: var(--purple-bg); }

tr.detail > td { background: var(--hover); padding: 14px 16px 16px 36px; }
.detail-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 16px; }
.detail-grid h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 6px; }
.detail-grid * + h3 { margin-top: 16px; }
pre {
  margin: 0; padding: 10px 12px; background: var(--panel); border: 1px solid var(--border); border-radius: 7px;
  max-height: 320px; overflow: auto; white-space: pre-wrap; word-break: break-word;
}
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; word-break: break-all; }
ol.history { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
ol.history li { background: var(--panel); border: 1px solid var(--border); border-left: 3px solid var(--red); border-radius: 7px; padding: 8px 10px; }
ol.history li.marker { border-left-color: var(--blue); }
ol.history .head { display: flex; gap: 10px; flex-wrap: wrap; color: var(--muted); font-size: 12px; margin-bottom: 2px; }
ol.history .msg { word-break: break-word; }
ol.history details summary { cursor: pointer; color: var(--muted); font-size: 12px; margin-top: 4px; }
ol.history details pre { margin-top: 6px; font-size: 11.5px; }

.empty { padding: 44px 16px; text-align: center; color: var(--muted); }
.empty strong { display: block; color: var(--text); font-size: 15px; margin-bottom: 4px; }
.more { display: flex; justify-content: center; padding: 12px; border-top: 1px solid var(--border); }

.breakers { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 12px; }
.breaker { padding: 14px 16px; display: flex; flex-direction: column; gap: 8px; }
.breaker .name { font-weight: 650; display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.breaker dl.meta { font-size: 12.5px; grid-template-columns: max-content 1fr max-content 1fr; }
.breaker dl.meta dd { font-variant-numeric: tabular-nums; }
.breakers .empty { grid-column: 1 / -1; }

.toasts { position: fixed; right: 20px; bottom: 20px; display: flex; flex-direction: column; gap: 8px; z-index: 10; }
.toast {
  background: var(--text); color: var(--bg); padding: 10px 14px; border-radius: 8px; box-shadow: var(--shadow);
  max-width: 380px; font-weight: 500; animation: toast-in .15s ease-out;
}
.toast.error { background: var(--red); color: #fff; }
@keyframes toast-in { from { transform: translateY(6px); opacity: 0; } to { transform: none; opacity: 1; } }
`;
