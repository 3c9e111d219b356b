/**
 * The dashboard's routes, mounted only with the `dashboard` option (off: they answer 404 as
 * unknown paths do):
 *
 * | route | what |
 * |---|---|
 * | `GET /dashboard` | the page (page-html.ts); open to anyone: it holds no data |
 * | `GET /dashboard/app.js`, `/dashboard/app.css` | its script and style, cached for good under `?v=<hash>` |
 * | `GET /dashboard/favicon.svg` | its icon |
 * | `GET /admin/stats/stream` | an SSE stream, one `stats` event (DashboardStats) per second, behind the admin gate |
 *
 * Every answer of the page carries a Content-Security-Policy that lets it load its own script
 * and style and talk to its own origin only, and nothing else (no inline script, no frame).
 * @module
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Hub } from "../../hub/hub.js";
import type { Route } from "../routes/route.js";
import { DASHBOARD_ICON_SVG, DASHBOARD_PAGE_HTML } from "./page-html.js";
import { DASHBOARD_SCRIPT } from "./page-script.js";
import { DASHBOARD_STYLE } from "./page-style.js";
import { StatsExchange, type StatsExchangeOptions } from "./stats-exchange.js";

/** The path of the page. */
export const DASHBOARD_PATH = "/dashboard";
/** The path of the stats stream. */
export const STATS_STREAM_PATH = "/admin/stats/stream";

/** The page's own origin for script, style and requests; nothing inline, nothing framed. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers of every file of the page. */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": DASHBOARD_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

/** A file of the page, its ETag, and how long a browser may keep it. */
interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** The hash that `?v=` must carry for the file to be cached for good. */
  readonly version: string;
}

function staticFile(text: string, contentType: string): StaticFile {
  const body = Buffer.from(text, "utf8");
  const version = createHash("sha256").update(body).digest("base64url").slice(0, 16);
  return { body, contentType, etag: `"${version}"`, version };
}

/** The script and style first, so that the page can name them by version. */
function dashboardFiles(): ReadonlyMap<string, StaticFile> {
  const script = staticFile(DASHBOARD_SCRIPT, "text/javascript; charset=utf-8");
  const style = staticFile(DASHBOARD_STYLE, "text/css; charset=utf-8");
  const html = DASHBOARD_PAGE_HTML.replace("{{scriptVersion}}", script.version).replace(
    "{{styleVersion}}",
    style.version,
  );
  return new Map([
    [DASHBOARD_PATH, staticFile(html, "text/html; charset=utf-8")],
    [`${DASHBOARD_PATH}/app.js`, script],
    [`${DASHBOARD_PATH}/app.css`, style],
    [`${DASHBOARD_PATH}/favicon.svg`, staticFile(DASHBOARD_ICON_SVG, "image/svg+xml")],
  ]);
}

/**
 * Answers a file: 304 when the browser holds this version, else the file. The page itself is
 * revalidated at each load (`no-cache`); its script and style, named by `?v=<hash>` in the
 * page, are kept for a year, since another version has another URL.
 */
function serveFile(req: IncomingMessage, res: ServerResponse, file: StaticFile): void {
  const version = new URL(req.url ?? "/", "http://dashboard.invalid").searchParams.get("v");
  const isHtml = file.contentType.startsWith("text/html");
  const headers: Record<string, string | number> = {
    ...PAGE_HEADERS,
    "Content-Type": file.contentType,
    ETag: file.etag,
    "Cache-Control":
      !isHtml && version === file.version ? "public, max-age=31536000, immutable" : "no-cache",
  };
  if (req.headers["if-none-match"] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers["Content-Length"] = file.body.length;
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : file.body);
}

/** `GET /admin/stats/stream`: the exchange's rows, as one SSE `stats` event per interval. */
function statsStreamRoute(exchange: StatsExchange): Route {
  return {
    methods: ["GET"],
    handle({ req, res, admin }) {
      admin.check(req);
      res.writeHead(200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no", // nginx would otherwise hold the events back
      });
      res.write(": ssehub stats\n\n");
      const unwatch = exchange.watch({
        onStats(stats) {
          res.write(`event: stats\ndata: ${JSON.stringify(stats)}\n\n`);
        },
        onEnd() {
          res.end();
        },
      });
      res.on("close", unwatch);
    },
  };
}

/**
 * The dashboard's routes for `hub`, with the exchange that feeds them (closed by itself when
 * the hub closes).
 */
export function createDashboardRoutes(
  hub: Hub,
  options: StatsExchangeOptions = {},
): (readonly [path: string, route: Route])[] {
  const exchange = new StatsExchange(hub, options);
  const routes: (readonly [string, Route])[] = [[STATS_STREAM_PATH, statsStreamRoute(exchange)]];
  for (const [path, file] of dashboardFiles()) {
    routes.push([
      path,
      {
        methods: ["GET", "HEAD"],
        handle({ req, res }) {
          serveFile(req, res, file);
        },
      },
    ]);
  }
  return routes;
}
