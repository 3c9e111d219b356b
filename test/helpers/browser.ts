/**
 * A real browser for the browser tests: Debian's headless Chromium driven by playwright-core,
 * and a static site on its own port, so that the page and the hub are different origins and
 * CORS is the real thing. Everything started here is closed after the test.
 *
 * The browser is never downloaded: CI installs Debian's package (see .ci/run), and a missing
 * binary fails the test with the command that installs it.
 * @module
 */
import { accessSync, constants, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { HUNG_AFTER_MS } from "./wait-for.js";

/** Where Debian's package `chromium` puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** The flags Chromium runs with: headless, as root, and nothing that reaches the network. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox", // CI runs as root, where Chromium's sandbox refuses to start
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * How long one wait for the page may take, in ms, unless a test says otherwise: only against a
 * hung test (a loaded machine may take long, and that is no failure).
 */
export const PAGE_WAIT_MS = HUNG_AFTER_MS;
/** How long Chromium may take to start, in ms: only against a hung test. */
const LAUNCH_TIMEOUT_MS = HUNG_AFTER_MS;

/** The compiled project (dist/), two levels above this file once compiled to dist/test/helpers. */
const DIST_DIR = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
/** The compiled sources, which the static site serves under `/src/`. */
const DIST_SRC_DIR = join(DIST_DIR, "src");

interface TestContext {
  after(fn: () => unknown): void;
}

/** A browser page, with what the page threw or logged, for failure messages. */
export interface OpenedBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Uncaught errors of the page and console lines of level error or warning, in order. */
  readonly pageLog: readonly string[];
}

/** Fails with the package to install when Debian's Chromium is not there. */
export function assertChromiumInstalled(): void {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `Cannot run the browser tests: ${CHROMIUM_PATH} is missing. Install Debian's package ` +
        '"chromium" (apt-get install -y --no-install-recommends chromium); .ci/run does it in CI',
    );
  }
}

/**
 * Starts Chromium with a fresh profile in a temporary folder and opens a page. The browser and
 * the folder are removed after the test.
 */
export async function openBrowser(t: TestContext): Promise<OpenedBrowser> {
  assertChromiumInstalled();
  const profileDir = await mkdtemp(join(tmpdir(), "ssehub-chromium-"));
  let context: BrowserContext;
  try {
    // A persistent context is how playwright takes --user-data-dir: here a fresh, empty one.
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: LAUNCH_TIMEOUT_MS,
    });
  } catch (error) {
    await rm(profileDir, { recursive: true, force: true });
    throw error;
  }
  t.after(async () => {
    await context.close();
    await rm(profileDir, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(PAGE_WAIT_MS);
  const pageLog: string[] = [];
  page.on("pageerror", (error) => pageLog.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    const type = message.type();
    if (type === "error" || type === "warning") pageLog.push(`console.${type}: ${message.text()}`);
  });
  return { context, page, pageLog };
}

/**
 * Waits until `predicate` holds in the page, for at most `timeoutMs`. On timeout it fails
 * naming what it waited for, with `state` read from the page and the page's log, so that a
 * failure says what the browser had got.
 */
export async function waitInPage<Arg>(
  browser: OpenedBrowser,
  what: string,
  predicate: (arg: Arg) => boolean,
  arg: Arg,
  state: () => unknown,
  timeoutMs = PAGE_WAIT_MS,
): Promise<void> {
  try {
    // Playwright types the argument as it arrives in the page; ours are plain JSON values.
    const inPage = predicate as (arg: unknown) => boolean;
    await browser.page.waitForFunction(inPage, arg, { timeout: timeoutMs, polling: 20 });
  } catch (error) {
    let seen: unknown;
    try {
      seen = await browser.page.evaluate(state);
    } catch (cause) {
      seen = `(cannot read the page: ${String(cause)})`;
    }
    throw new Error(
      `Timed out after ${timeoutMs} ms waiting for ${what}; the page has ` +
        `${clip(JSON.stringify(seen))}; page log (last ${LOG_LINES_SHOWN} lines): ` +
        clip(JSON.stringify(browser.pageLog.slice(-LOG_LINES_SHOWN))),
      { cause: error },
    );
  }
}

/** Most characters of page state or log quoted in a failure message. */
const MAX_QUOTED_CHARS = 2000;
/** Lines of the page log quoted in a failure message. */
const LOG_LINES_SHOWN = 6;

function clip(text: string): string {
  return text.length <= MAX_QUOTED_CHARS ? text : `${text.slice(0, MAX_QUOTED_CHARS)}...`;
}

/** A static site on 127.0.0.1: a few HTML pages and the compiled sources under `/src/`. */
export interface StaticSite {
  /** `http://127.0.0.1:<port>`, the origin the hub must allow. */
  readonly origin: string;
}

/** Content types of the files the site serves, by extension. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/** A compiled file under dist/src for a URL path `/src/...`, or undefined when there is none. */
function distFile(pathname: string): { body: Buffer; contentType: string } | undefined {
  if (!pathname.startsWith("/src/")) return undefined;
  const extension = Object.keys(CONTENT_TYPES).find((ext) => pathname.endsWith(ext));
  if (extension === undefined) return undefined;
  const file = resolve(DIST_SRC_DIR, `.${decodeURIComponent(pathname.slice("/src".length))}`);
  if (!file.startsWith(DIST_SRC_DIR + sep)) return undefined;
  try {
    return { body: readFileSync(file), contentType: CONTENT_TYPES[extension] as string };
  } catch {
    return undefined;
  }
}

/**
 * Serves `pages` (URL path -> HTML) and the compiled sources (`/src/client/index.js` is
 * dist/src/client/index.js) on 127.0.0.1, port 0. Everything else is 404. Closed after the test.
 */
export async function serveStatic(
  t: TestContext,
  pages: Readonly<Record<string, string>>,
): Promise<StaticSite> {
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? "/", "http://site.invalid");
    if (pathname === "/favicon.ico") {
      // Browsers ask for it by themselves; a 404 would be logged as a page error.
      res.writeHead(204).end();
      return;
    }
    const page = pages[pathname];
    const file =
      page === undefined
        ? distFile(pathname)
        : { body: Buffer.from(page), contentType: "text/html; charset=utf-8" };
    if (req.method !== "GET" || file === undefined) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("not found");
      return;
    }
    res.writeHead(200, {
      "Content-Type": file.contentType,
      "Content-Length": file.body.length,
      "Cache-Control": "no-store",
    });
    res.end(file.body);
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => done());
  });
  t.after(
    () =>
      new Promise<void>((done) => {
        server.close(() => done());
        // The browser keeps connections alive; they are of no use once the test is over.
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}` };
}

/** One request as the hub saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly origin: string | undefined;
  readonly lastEventId: string | undefined;
  /** performance.now() when it arrived. */
  readonly at: number;
}

/** Records every request `server` gets from now on, to check what the browser sent. */
export function recordRequests(server: http.Server): SeenRequest[] {
  const seen: SeenRequest[] = [];
  server.on("request", (req: http.IncomingMessage) => {
    const header = req.headers["last-event-id"];
    seen.push({
      method: req.method ?? "",
      url: req.url ?? "",
      origin: req.headers.origin,
      lastEventId: Array.isArray(header) ? header.join(",") : header,
      at: performance.now(),
    });
  });
  return seen;
}
