/**
 * Targets: what the load tool needs to know about an SSE server to subscribe, publish and
 * resume. An adapter builds the subscribe path for a list of topics, the publish request for a
 * topic and its data, and says how Last-Event-ID travels.
 *
 * Adapters: `ssehub`, `nchan` (nginx + nchan, bench/peers/nchan), `better-sse`
 * (bench/peers/better-sse/server.mjs) and `custom` (URL templates given on the command line).
 * Every target must be on a loopback address: the load tool never loads another machine.
 * @module
 */
import { SsehubError } from "../errors.js";

/** The adapters shipped. */
export type TargetName = "ssehub" | "nchan" | "better-sse" | "custom";

/** The names accepted by `--target`. */
export const TARGET_NAMES: readonly TargetName[] = ["ssehub", "nchan", "better-sse", "custom"];

/** How the body of a publish request carries the event. */
export type PublishBodyKind = "raw" | "ssehub-json";

/**
 * A target as plain data, so that it crosses to the worker processes; createTarget() turns it
 * into a Target.
 */
export interface TargetSpec {
  readonly name: TargetName;
  /** Base URL of the server, `http://127.0.0.1:8080` by default. */
  readonly url: string;
  /** custom: the subscribe URL, `{topic}` standing for the (URL-encoded) topic. */
  readonly subscribeUrl?: string | undefined;
  /** custom: the publish URL, `{topic}` standing for the (URL-encoded) topic. */
  readonly publishUrl?: string | undefined;
  /** custom: the publish body. @default "raw" */
  readonly publishBody?: PublishBodyKind | undefined;
  /** Headers added to every subscribe and publish request (a token). @default {} */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** Where to connect: a loopback address and port, and the Host header to send. */
export interface Endpoint {
  /** An IP address (`localhost` is resolved to 127.0.0.1). */
  readonly host: string;
  readonly port: number;
  /** The `Host` header value. */
  readonly hostHeader: string;
  /** IPv6 address. */
  readonly isIpv6: boolean;
}

/** A publish request, before HTTP framing (the publisher adds Host and Content-Length). */
export interface PublishRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  /** Header lines other than Host and Content-Length. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** How a reconnecting subscriber tells the server the last event it got. */
export interface ResumeRule {
  /** Only the header form is used by the shipped adapters. */
  readonly via: "header";
  readonly name: string;
}

/** An SSE server as the load tool sees it. */
export interface Target {
  readonly name: TargetName;
  readonly subscribe: Endpoint;
  readonly publish: Endpoint;
  /** How many topics one subscribe request may carry. */
  readonly maxTopicsPerSubscriber: number;
  readonly resume: ResumeRule;
  /** Header lines of every subscribe request (besides Host and Last-Event-ID). */
  readonly subscribeHeaders: Readonly<Record<string, string>>;
  /** The path and query that subscribe to `topics`. */
  subscribePath(topics: readonly string[]): string;
  /** The request that publishes `data` on `topic`. */
  publishRequest(topic: string, data: string): PublishRequest;
}

const EVENT_STREAM_HEADERS = { Accept: "text/event-stream", "Cache-Control": "no-cache" };
const TOPIC_PLACEHOLDER = "{topic}";
/** Stands for the topic while a template goes through `new URL()`, which would encode braces. */
const MARKER = "__SSEHUB_TOPIC__";
const RESUME_HEADER: ResumeRule = { via: "header", name: "Last-Event-ID" };

function optionsError(message: string): SsehubError {
  return new SsehubError("SSEHUB_ERR_OPTIONS_INVALID", message);
}

/** `127.0.0.0/8`, `::1` or `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const parts = host.split(".");
  return (
    parts.length === 4 &&
    parts[0] === "127" &&
    parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)
  );
}

/**
 * The endpoint of `url`. Throws SSEHUB_ERR_OPTIONS_INVALID when it is not an http URL on a
 * loopback address.
 * @param what names the option in the message (`--url`)
 */
export function endpointOf(url: URL, what: string): Endpoint {
  if (url.protocol !== "http:") {
    throw optionsError(
      `Cannot use ${what} ${JSON.stringify(url.href)}: the load tool speaks plain http only`,
    );
  }
  if (!isLoopbackHost(url.hostname)) {
    throw optionsError(
      `Cannot load ${JSON.stringify(url.host)} (${what}): the load tool targets loopback addresses only (127.0.0.0/8, ::1, localhost)`,
    );
  }
  const bare = url.hostname.replace(/^\[|\]$/g, "");
  const host = bare.toLowerCase() === "localhost" ? "127.0.0.1" : bare;
  const port = url.port === "" ? 80 : Number(url.port);
  return { host, port, hostHeader: url.host, isIpv6: host.includes(":") };
}

function parseUrl(text: string, what: string): URL {
  try {
    return new URL(text);
  } catch {
    throw optionsError(`Cannot use ${what} ${JSON.stringify(text)}: give an absolute http URL`);
  }
}

/** `base` + `path`, keeping the base's own path as a prefix. */
function prefixOf(base: URL): string {
  return base.pathname.replace(/\/+$/, "");
}

/** A URL template with `{topic}`: its endpoint, and a function from topic to path. */
function template(
  text: string,
  what: string,
): { endpoint: Endpoint; path: (topic: string) => string } {
  if (!text.includes(TOPIC_PLACEHOLDER)) {
    throw optionsError(
      `Cannot use ${what} ${JSON.stringify(text)}: put {topic} where the topic goes`,
    );
  }
  const url = parseUrl(text.replaceAll(TOPIC_PLACEHOLDER, MARKER), what);
  const endpoint = endpointOf(url, what);
  const parts = `${url.pathname}${url.search}`.split(MARKER);
  return { endpoint, path: (topic) => parts.join(encodeURIComponent(topic)) };
}

function ssehubTarget(base: URL): Target {
  const endpoint = endpointOf(base, "--url");
  const prefix = prefixOf(base);
  return {
    name: "ssehub",
    subscribe: endpoint,
    publish: endpoint,
    // The hub's default maxTopicsPerSubscription.
    maxTopicsPerSubscriber: 64,
    resume: RESUME_HEADER,
    subscribeHeaders: EVENT_STREAM_HEADERS,
    subscribePath(topics) {
      if (topics.length === 1) return `${prefix}/events/${encodeURIComponent(topics[0]!)}`;
      return `${prefix}/events?${topics.map((t) => `topic=${encodeURIComponent(t)}`).join("&")}`;
    },
    publishRequest(topic, data) {
      return {
        method: "POST",
        path: `${prefix}/publish`,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ topic, data }),
      };
    },
  };
}

/** nginx + nchan: `GET /sub/<topic>` (eventsource subscriber), `POST /pub/<topic>` raw body. */
function nchanTarget(base: URL): Target {
  const endpoint = endpointOf(base, "--url");
  const prefix = prefixOf(base);
  return {
    name: "nchan",
    subscribe: endpoint,
    publish: endpoint,
    maxTopicsPerSubscriber: 1,
    resume: RESUME_HEADER,
    subscribeHeaders: EVENT_STREAM_HEADERS,
    subscribePath: (topics) => `${prefix}/sub/${encodeURIComponent(topics[0]!)}`,
    publishRequest: (topic, data) => ({
      method: "POST",
      path: `${prefix}/pub/${encodeURIComponent(topic)}`,
      headers: { "Content-Type": "text/plain" },
      body: data,
    }),
  };
}

/** The better-sse peer: `GET /events/<topic>`, `POST /publish/<topic>` raw body. */
function betterSseTarget(base: URL): Target {
  const endpoint = endpointOf(base, "--url");
  const prefix = prefixOf(base);
  return {
    name: "better-sse",
    subscribe: endpoint,
    publish: endpoint,
    maxTopicsPerSubscriber: 1,
    resume: RESUME_HEADER,
    subscribeHeaders: EVENT_STREAM_HEADERS,
    subscribePath: (topics) => `${prefix}/events/${encodeURIComponent(topics[0]!)}`,
    publishRequest: (topic, data) => ({
      method: "POST",
      path: `${prefix}/publish/${encodeURIComponent(topic)}`,
      headers: { "Content-Type": "text/plain" },
      body: data,
    }),
  };
}

function customTarget(spec: TargetSpec): Target {
  if (spec.subscribeUrl === undefined || spec.publishUrl === undefined) {
    throw optionsError(
      "Cannot use --target custom without --subscribe-url and --publish-url: give both templates, with {topic}",
    );
  }
  const subscribe = template(spec.subscribeUrl, "--subscribe-url");
  const publish = template(spec.publishUrl, "--publish-url");
  const asJson = spec.publishBody === "ssehub-json";
  return {
    name: "custom",
    subscribe: subscribe.endpoint,
    publish: publish.endpoint,
    maxTopicsPerSubscriber: 1,
    resume: RESUME_HEADER,
    subscribeHeaders: EVENT_STREAM_HEADERS,
    subscribePath: (topics) => subscribe.path(topics[0]!),
    publishRequest: (topic, data) => ({
      method: "POST",
      path: publish.path(topic),
      headers: { "Content-Type": asJson ? "application/json" : "text/plain" },
      body: asJson ? JSON.stringify({ topic, data }) : data,
    }),
  };
}

/**
 * The Target that `spec` describes. Throws SSEHUB_ERR_OPTIONS_INVALID for an unknown adapter,
 * a malformed or non-loopback URL, or a custom target without its templates.
 *
 * @example
 * ```ts
 * const target = createTarget({ name: "nchan", url: "http://127.0.0.1:8081" });
 * target.subscribePath(["prices"]); // "/sub/prices"
 * ```
 */
export function createTarget(spec: TargetSpec): Target {
  const target = adapterTarget(spec);
  const extra = spec.headers;
  if (extra === undefined || Object.keys(extra).length === 0) return target;
  checkHeaders(extra);
  return {
    ...target,
    // The adapter's own headers win: they say what the request is.
    subscribeHeaders: { ...extra, ...target.subscribeHeaders },
    publishRequest(topic, data) {
      const request = target.publishRequest(topic, data);
      return { ...request, headers: { ...extra, ...request.headers } };
    },
  };
}

/** A header name (an RFC 9110 token) and a value the raw request writers can frame. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/;

/** Throws SSEHUB_ERR_OPTIONS_INVALID for a header that would break the request's framing. */
function checkHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) {
      throw optionsError(
        `Cannot send the header ${JSON.stringify(name)}: a name is letters, digits and !#$%&'*+-.^_\`|~, a value holds no line break or control character`,
      );
    }
  }
}

function adapterTarget(spec: TargetSpec): Target {
  const base = parseUrl(spec.url, "--url");
  switch (spec.name) {
    case "ssehub":
      return ssehubTarget(base);
    case "nchan":
      return nchanTarget(base);
    case "better-sse":
      return betterSseTarget(base);
    case "custom":
      return customTarget(spec);
    default:
      throw optionsError(
        `Cannot use --target ${JSON.stringify(spec.name)}: choose one of ${TARGET_NAMES.join(", ")}`,
      );
  }
}
