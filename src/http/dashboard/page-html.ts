/**
 * The dashboard's page: markup only. Its script (page-script.ts) fills it from the stats
 * stream; its style is page-style.ts. Every URL is relative, so the page works behind a proxy
 * that mounts the hub under a prefix. `{{scriptVersion}}` and `{{styleVersion}}` become the
 * hashes of the two files (dashboard-routes.ts), so that a browser caches each version for good.
 * @module
 */

/** The page's icon, so that the browser does not ask the hub for /favicon.ico (a 404). */
export const DASHBOARD_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2563eb"/><polyline points="2,11 5,7 8,9 11,4 14,6" fill="none" stroke="#fff" stroke-width="1.6"/></svg>
`;

/** The page's HTML, with the two version placeholders. */
export const DASHBOARD_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssehub dashboard</title>
<link rel="icon" href="dashboard/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="dashboard/app.css?v={{styleVersion}}">
<script type="module" src="dashboard/app.js?v={{scriptVersion}}"></script>
</head>
<body>
<header>
  <h1>ssehub</h1>
  <span id="status" class="status" data-state="connecting">connecting</span>
  <span id="summary" class="summary"></span>
</header>
<section id="token-panel" class="panel" hidden>
  <form id="token-form">
    <label for="admin-token">Admin token</label>
    <input id="admin-token" name="token" type="password" autocomplete="off" required>
    <button type="submit">Show stats</button>
  </form>
  <p class="hint">This hub asks for its admin token (<code>--admin-token</code>). The page keeps it in this tab only (sessionStorage).</p>
  <p id="token-error" class="error" role="alert"></p>
</section>
<p id="fatal" class="error panel" role="alert" hidden></p>
<main id="stats">
  <section class="cards" id="cards"></section>
  <section>
    <h2>Nodes</h2>
    <table id="nodes">
      <thead><tr><th>node</th><th>workers</th><th>connections</th><th>subscriptions</th><th>deliveries/s</th><th>bytes/s</th><th>loop p99 ms</th><th>slow/s</th><th>stalls</th><th>rss</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Workers</h2>
    <table id="workers">
      <thead><tr><th>process</th><th>worker</th><th>connections</th><th>subscriptions</th><th>events/s</th><th>deliveries/s</th><th>bytes/s</th><th>loop p50 / p99 / max ms</th><th>slow/s</th><th>stalls</th><th>rss</th><th>heap</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Top topics</h2>
    <table id="top-topics">
      <thead><tr><th>topic</th><th>subscribers</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="top-topics-note" class="hint" hidden>Some processes hold too many topics to rank them.</p>
  </section>
</main>
<section class="try">
  <div class="panel">
    <h2>Publish</h2>
    <form id="publish-form">
      <label>Topic <input name="topic" required value="dashboard-test"></label>
      <label>Event type <input name="event" placeholder="message"></label>
      <label>Data <textarea name="data" rows="3" required>hello</textarea></label>
      <label class="inline"><input name="private" type="checkbox"> private</label>
      <label>Publisher token <input name="token" type="password" autocomplete="off" placeholder="none"></label>
      <button type="submit">Publish</button>
    </form>
    <p id="publish-result" class="result" role="status"></p>
  </div>
  <div class="panel">
    <h2>Tail a topic</h2>
    <form id="tail-form">
      <label>Topic <input name="topic" required value="dashboard-test"></label>
      <label>Subscriber token <input name="token" type="password" autocomplete="off" placeholder="none"></label>
      <button type="submit" id="tail-start">Subscribe</button>
      <button type="button" id="tail-stop" disabled>Stop</button>
    </form>
    <p id="tail-status" class="result" role="status"></p>
    <ol id="tail-events" class="events"></ol>
  </div>
</section>
</body>
</html>
`;
