/**
 * The dashboard's style sheet: system fonts, light and dark by the browser's setting, no
 * external resource (the page's Content-Security-Policy allows none).
 * @module
 */

/** The page's CSS. */
export const DASHBOARD_STYLE = `:root {
  color-scheme: light dark;
  --bg: #f6f7f9;
  --panel: #ffffff;
  --text: #1b1f24;
  --muted: #5f6b7a;
  --line: #d9dee5;
  --accent: #2563eb;
  --ok: #15803d;
  --bad: #b91c1c;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418;
    --panel: #1a1f25;
    --text: #e6e9ee;
    --muted: #9aa5b1;
    --line: #2c333c;
    --accent: #60a5fa;
    --ok: #4ade80;
    --bad: #f87171;
  }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 24px 48px; background: var(--bg); color: var(--text); }
header { display: flex; align-items: baseline; gap: 16px; margin-bottom: 16px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 15px; margin: 20px 0 8px; }
code { font-size: 13px; }
.status { padding: 2px 10px; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); }
.status[data-state="live"] { color: var(--ok); border-color: var(--ok); }
.status[data-state="error"] { color: var(--bad); border-color: var(--bad); }
.summary { color: var(--muted); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.panel h2 { margin-top: 0; }
.error { color: var(--bad); }
.error:empty { display: none; }
.hint { color: var(--muted); font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { display: block; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { display: block; font-size: 24px; font-variant-numeric: tabular-nums; margin: 2px 0 4px; }
.card svg { display: block; width: 100%; height: 32px; }
.card polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.card polygon { fill: var(--accent); opacity: 0.12; stroke: none; }
table { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 5px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
tbody tr:last-child td { border-bottom: none; }
td.topic { max-width: 40ch; overflow: hidden; text-overflow: ellipsis; }
.try { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; margin-top: 24px; }
form { display: grid; gap: 8px; }
#token-panel, #fatal { margin-bottom: 16px; }
#token-form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
#token-form label { font-size: 14px; color: var(--text); }
#token-form input { width: 320px; max-width: 100%; }
label { display: grid; gap: 2px; color: var(--muted); font-size: 12px; }
label.inline { display: flex; gap: 6px; align-items: center; }
input, textarea, button { font: inherit; color: inherit; }
input, textarea { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; }
button { background: var(--accent); color: #fff; border: none; border-radius: 6px; padding: 6px 12px; cursor: pointer; justify-self: start; }
button:disabled { opacity: 0.5; cursor: default; }
.result { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
.events { list-style: none; margin: 0; padding: 0; max-height: 280px; overflow: auto; font-family: ui-monospace, monospace; font-size: 12px; }
.events li { padding: 4px 0; border-bottom: 1px solid var(--line); word-break: break-all; }
.events .meta { color: var(--muted); margin-right: 8px; }
[hidden] { display: none !important; }
`;
