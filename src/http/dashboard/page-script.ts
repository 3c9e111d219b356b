/**
 * The dashboard's script: one ES module, no framework, no build step. It reads the stats
 * stream (`GET /admin/stats/stream`) with fetch() and a streaming reader rather than an
 * EventSource, because an EventSource cannot send `Authorization`: the admin token the operator
 * types in (kept in sessionStorage, so in this tab only) goes in that header. When the admin
 * gate is open, no token is asked.
 *
 * It sums the rows of every process into the figures at the top (the publish rate is the
 * highest row's: every process takes every event), draws a sparkline of the last minute under
 * each as inline SVG, and lists nodes, workers and top topics. Its publish form and topic tail
 * use the hub's ordinary `/publish` and `/events`, with an optional token.
 *
 * Data from the hub (topic names, event data) only ever reaches the page as text
 * (textContent), never as markup. The JavaScript is written without template literals, so
 * that it can sit in this TypeScript template string as it is.
 * @module
 */

/** The page's JavaScript. */
export const DASHBOARD_SCRIPT = String.raw`// ssehub dashboard
const TOKEN_KEY = "ssehub.adminToken";
const POINTS = 60;
const RETRY_MS = 2000;
const TAIL_MAX = 100;

const FIGURES = [
  { key: "connections", label: "Connections", format: count },
  { key: "subscriptions", label: "Subscriptions", format: count },
  { key: "eventsPerSecond", label: "Events published/s", format: perSecond },
  { key: "deliveriesPerSecond", label: "Deliveries/s", format: perSecond },
  { key: "bytesPerSecond", label: "Bytes written/s", format: bytesPerSecond },
  { key: "loopDelayP99", label: "Event-loop delay p99", format: ms },
  { key: "slowConsumerActionsPerSecond", label: "Slow-consumer actions/s", format: perSecond },
  { key: "stalls", label: "Loop stalls", format: count },
];

const $ = (selector) => document.querySelector(selector);
const series = new Map(FIGURES.map((figure) => [figure.key, []]));
let streamController;
let retryTimer;
let tailController;

function count(value) {
  if (value === null || value === undefined) return "\u2014";
  if (value >= 1e6) return (value / 1e6).toFixed(2) + "M";
  if (value >= 1e4) return (value / 1e3).toFixed(1) + "k";
  return String(Math.round(value));
}
function perSecond(value) {
  return count(value);
}
function bytesPerSecond(value) {
  return bytes(value) + "/s";
}
function bytes(value) {
  if (value >= 1073741824) return (value / 1073741824).toFixed(2) + " GiB";
  if (value >= 1048576) return (value / 1048576).toFixed(1) + " MiB";
  if (value >= 1024) return (value / 1024).toFixed(1) + " KiB";
  return Math.round(value) + " B";
}
function ms(value) {
  return value.toFixed(value < 10 ? 2 : 0) + " ms";
}

/** An element with attributes and children (strings become text, never markup). */
function el(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children || []) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}
function svg(tag, attributes) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function buildCards() {
  const cards = $("#cards");
  for (const figure of FIGURES) {
    const chart = svg("svg", { viewBox: "0 0 " + (POINTS - 1) + " 30", preserveAspectRatio: "none", "aria-hidden": "true" });
    chart.append(svg("polygon", { points: "" }), svg("polyline", { points: "" }));
    cards.append(
      el("div", { class: "card", "data-figure": figure.key }, [
        el("span", { class: "label" }, [figure.label]),
        el("span", { class: "value", "data-value": "" }, ["\u2014"]),
        chart,
      ]),
    );
  }
}

function drawSparkline(card, values) {
  const top = Math.max(1, ...values);
  const start = POINTS - values.length;
  const points = values.map((value, i) => (start + i) + "," + (29 - (value / top) * 27).toFixed(2));
  card.querySelector("polyline").setAttribute("points", points.join(" "));
  const area = values.length > 1 ? [start + ",30", ...points, (POINTS - 1) + ",30"] : [];
  card.querySelector("polygon").setAttribute("points", area.join(" "));
}

/** The hub's figures from the rows of every process. */
function aggregate(stats) {
  const rows = stats.processes;
  const sum = (read) => rows.reduce((total, row) => total + read(row), 0);
  const max = (read) => rows.reduce((top, row) => Math.max(top, read(row)), 0);
  const withStalls = rows.filter((row) => typeof row.stalls === "number");
  return {
    connections: sum((row) => row.connections),
    subscriptions: sum((row) => row.subscriptions),
    eventsPerSecond: max((row) => row.eventsPerSecond),
    deliveriesPerSecond: sum((row) => row.deliveriesPerSecond),
    bytesPerSecond: sum((row) => row.bytesPerSecond),
    loopDelayP99: max((row) => row.loopDelayMs.p99),
    slowConsumerActionsPerSecond: sum((row) => row.slowConsumerActionsPerSecond),
    stalls: withStalls.length === 0 ? null : withStalls.reduce((t, row) => t + row.stalls, 0),
  };
}

function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el("tr", {}, cells.map((cell) =>
    typeof cell === "string" ? el("td", {}, [cell]) : el("td", cell.attributes, [cell.text])))));
}

function render(stats) {
  const figures = aggregate(stats);
  for (const figure of FIGURES) {
    const value = figures[figure.key];
    const card = document.querySelector('[data-figure="' + figure.key + '"]');
    const shown = card.querySelector(".value");
    shown.textContent = value === null ? "\u2014" : figure.format(value);
    shown.dataset.value = value === null ? "" : String(value);
    const values = series.get(figure.key);
    values.push(value === null ? 0 : value);
    if (values.length > POINTS) values.shift();
    drawSparkline(card, values);
  }
  const nodes = new Map();
  for (const row of stats.processes) {
    const node = nodes.get(row.node) || { node: row.node, rows: [] };
    node.rows.push(row);
    nodes.set(row.node, node);
  }
  fillRows($("#nodes tbody"), [...nodes.values()].map(({ node, rows }) => {
    const part = aggregate({ processes: rows });
    return [node, String(rows.length), count(part.connections), count(part.subscriptions),
      perSecond(part.deliveriesPerSecond), bytesPerSecond(part.bytesPerSecond), ms(part.loopDelayP99),
      perSecond(part.slowConsumerActionsPerSecond), count(part.stalls),
      bytes(rows.reduce((t, row) => t + row.memory.rss, 0))];
  }));
  fillRows($("#workers tbody"), stats.processes.map((row) => [
    { text: row.process + (row.process === stats.self ? " (this)" : ""), attributes: { "data-process": row.process } },
    row.worker === null ? "\u2014" : String(row.worker), count(row.connections), count(row.subscriptions),
    perSecond(row.eventsPerSecond), perSecond(row.deliveriesPerSecond), bytesPerSecond(row.bytesPerSecond),
    row.loopDelayMs.p50.toFixed(1) + " / " + row.loopDelayMs.p99.toFixed(1) + " / " + row.loopDelayMs.max.toFixed(1),
    perSecond(row.slowConsumerActionsPerSecond), count(row.stalls), bytes(row.memory.rss), bytes(row.memory.heapUsed),
  ]));
  const topics = new Map();
  let unranked = false;
  for (const row of stats.processes) {
    if (row.topTopics === null) unranked = true;
    for (const { topic, subscribers } of row.topTopics || []) {
      topics.set(topic, (topics.get(topic) || 0) + subscribers);
    }
  }
  const top = [...topics].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
  fillRows($("#top-topics tbody"), top.map(([topic, subscribers]) =>
    [{ text: topic, attributes: { class: "topic", title: topic } }, count(subscribers)]));
  $("#top-topics-note").hidden = !unranked;
  $("#summary").textContent = stats.processes.length + " process" + (stats.processes.length === 1 ? "" : "es") +
    " in " + nodes.size + " node" + (nodes.size === 1 ? "" : "s") + ", updated " + new Date(stats.at).toLocaleTimeString();
}

function setStatus(state, text) {
  const status = $("#status");
  status.dataset.state = state;
  status.textContent = text;
}

/** Reads an SSE response body, calling onEvent({ type, data, id }) per event. */
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { type: "message", data: [], id: "" };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (event.data.length > 0) onEvent({ type: event.type, data: event.data.join("\n"), id: event.id });
        event = { type: "message", data: [], id: event.id };
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let text = colon === -1 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "data") event.data.push(text);
      else if (field === "event") event.type = text || "message";
      else if (field === "id") event.id = text;
    }
  }
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return { code: body.code || "", message: body.message || response.statusText };
  } catch {
    return { code: "", message: response.status + " " + response.statusText };
  }
}

function showTokenPanel(error) {
  $("#token-panel").hidden = false;
  $("#token-error").textContent = error;
  setStatus(error ? "error" : "connecting", error ? "token refused" : "admin token needed");
}

async function connect() {
  clearTimeout(retryTimer);
  if (streamController) streamController.abort();
  const controller = new AbortController();
  streamController = controller;
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { Authorization: "Bearer " + token } : {};
  setStatus("connecting", "connecting");
  let response;
  try {
    response = await fetch(new URL("admin/stats/stream", location.href), { headers, signal: controller.signal, cache: "no-store" });
  } catch (error) {
    if (controller.signal.aborted) return;
    return retry("cannot reach the hub");
  }
  if (!response.ok) {
    const { code, message } = await errorMessage(response);
    if (code === "SSEHUB_ERR_ADMIN_DISABLED" || response.status === 404) {
      $("#fatal").hidden = false;
      $("#fatal").textContent = message;
      setStatus("error", "unavailable");
      return;
    }
    if (response.status === 401) {
      if (token) sessionStorage.removeItem(TOKEN_KEY);
      showTokenPanel(token ? "The hub refused this token: " + message : "");
      return;
    }
    return retry(message);
  }
  $("#token-panel").hidden = true;
  $("#token-error").textContent = "";
  setStatus("live", "live");
  try {
    await readEvents(response, (event) => {
      if (event.type === "stats") render(JSON.parse(event.data));
    });
  } catch (error) {
    if (controller.signal.aborted) return;
  }
  if (!controller.signal.aborted) retry("stream ended");
}

function retry(reason) {
  setStatus("error", reason + ", retrying");
  retryTimer = setTimeout(connect, RETRY_MS);
}

function authorization(form) {
  const token = form.elements.token.value.trim();
  return token ? { Authorization: "Bearer " + token } : {};
}

async function publish(event) {
  event.preventDefault();
  const form = event.target;
  const body = { topic: form.elements.topic.value, data: form.elements.data.value };
  if (form.elements.event.value) body.event = form.elements.event.value;
  if (form.elements.private.checked) body.private = true;
  const result = $("#publish-result");
  result.textContent = "publishing";
  try {
    const response = await fetch(new URL("publish", location.href), {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authorization(form) },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    result.textContent = response.ok ? "published, id " + answer.id : response.status + " " + (answer.code || "") + ": " + (answer.message || "");
    result.dataset.state = response.ok ? "ok" : "error";
  } catch (error) {
    result.textContent = "cannot reach the hub: " + error.message;
    result.dataset.state = "error";
  }
}

async function startTail(event) {
  event.preventDefault();
  stopTail();
  const form = event.target;
  const controller = new AbortController();
  tailController = controller;
  const status = $("#tail-status");
  const list = $("#tail-events");
  list.replaceChildren();
  $("#tail-stop").disabled = false;
  const topic = form.elements.topic.value;
  status.textContent = "subscribing to " + topic;
  try {
    const url = new URL("events", location.href);
    url.searchParams.set("topic", topic);
    const response = await fetch(url, { headers: authorization(form), signal: controller.signal, cache: "no-store" });
    if (!response.ok) {
      const { code, message } = await errorMessage(response);
      status.textContent = response.status + " " + code + ": " + message;
      $("#tail-stop").disabled = true;
      return;
    }
    status.textContent = "subscribed to " + topic;
    await readEvents(response, (received) => {
      const meta = el("span", { class: "meta" }, [new Date().toLocaleTimeString() + " " + received.type + (received.id ? " #" + received.id : "")]);
      list.prepend(el("li", { "data-type": received.type }, [meta, received.data]));
      while (list.children.length > TAIL_MAX) list.lastChild.remove();
    });
    if (!controller.signal.aborted) status.textContent = "the hub ended the stream";
  } catch (error) {
    if (!controller.signal.aborted) status.textContent = "stream failed: " + error.message;
  }
  if (tailController === controller) $("#tail-stop").disabled = true;
}

function stopTail() {
  if (tailController) tailController.abort();
  tailController = undefined;
  $("#tail-stop").disabled = true;
}

buildCards();
$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#admin-token").value.trim());
  $("#admin-token").value = "";
  connect();
});
$("#publish-form").addEventListener("submit", publish);
$("#tail-form").addEventListener("submit", startTail);
$("#tail-stop").addEventListener("click", () => {
  stopTail();
  $("#tail-status").textContent = "stopped";
});
connect();
`;
