/**
 * better-sse on node:http: the reference a Node user would pick today, as a side-by-side peer
 * for `ssehub bench` (see bench/README.md). better-sse is used the way its README shows:
 * createSession per request, createChannel per topic, channel.register, channel.broadcast,
 * with its defaults (keep-alive comment every 10 s, `retry: 2000`, a random UUID id per
 * broadcast, one serialization and one write per session per event). It keeps no history, so
 * Last-Event-ID resumes nothing.
 *
 *   GET  /events/<topic>    event stream of <topic>
 *   POST /publish/<topic>   raw body -> one event on <topic>; answers 200
 *
 *   node bench/peers/better-sse/server.mjs [port]   port: argv, else $BETTER_SSE_PORT, else 8082
 *
 * The one departure from the defaults: the body goes out as the event's data unchanged, as it
 * does on ssehub and nchan, instead of JSON.stringify'd into a quoted string. better-sse writes
 * the serialized text into a single `data:` field, so line breaks start new `data:` lines here.
 * @module
 */
import { createServer } from "node:http";
import { createChannel, createSession } from "better-sse";

const HOST = "127.0.0.1";
const MAX_BODY_BYTES = 1024 * 1024;
const LINE_BREAK = /\r\n|\r|\n/g;

const port = Number(process.argv[2] ?? process.env.BETTER_SSE_PORT ?? 8082);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`better-sse: port must be an integer from 0 to 65535, got ${process.argv[2]}`);
  process.exit(2);
}

/** Raw text as data; line breaks become new `data:` lines (better-sse adds the first one). */
function serializeRaw(data) {
  const text = String(data);
  return text.includes("\n") || text.includes("\r") ? text.replace(LINE_BREAK, "\ndata:") : text;
}

/** @type {Map<string, import("better-sse").Channel>} */
const channels = new Map();

function channelOf(topic) {
  let channel = channels.get(topic);
  if (channel === undefined) {
    channel = createChannel();
    channel.on("session-deregistered", () => {
      if (channel.sessionCount === 0) channels.delete(topic);
    });
    channels.set(topic, channel);
  }
  return channel;
}

function topicOf(path, prefix) {
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  try {
    return decodeURIComponent(path.slice(prefix.length));
  } catch {
    return undefined;
  }
}

function answer(res, status, text = "") {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

async function subscribe(req, res, topic) {
  const session = await createSession(req, res, { serializer: serializeRaw });
  channelOf(topic).register(session);
}

function publish(req, res, topic) {
  const chunks = [];
  let size = 0;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      answer(res, 413, `body larger than ${MAX_BODY_BYTES} bytes\n`);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (res.headersSent) return;
    channels.get(topic)?.broadcast(Buffer.concat(chunks).toString("utf8"));
    answer(res, 200);
  });
}

const server = createServer((req, res) => {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  let topic = topicOf(path, "/events/");
  if (topic !== undefined) {
    if (req.method !== "GET") return answer(res, 405, "use GET\n");
    subscribe(req, res, topic).catch((error) => {
      if (!res.headersSent) answer(res, 500, `${error.message}\n`);
      else res.destroy();
    });
    return;
  }
  topic = topicOf(path, "/publish/");
  if (topic !== undefined) {
    if (req.method !== "POST") return answer(res, 405, "use POST\n");
    return publish(req, res, topic);
  }
  answer(res, 404, "GET /events/<topic> or POST /publish/<topic>\n");
});

server.listen(port, HOST, () => {
  console.log(`better-sse listening on http://${HOST}:${server.address().port} pid ${process.pid}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
