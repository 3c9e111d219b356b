#!/usr/bin/env node
// Regenerates docs/dashboard.png: the dashboard of `ssehub serve --workers 2 --dashboard` under a
// light load (subscribers on a few topics, a publisher at about 100 events/s), photographed by
// Debian's headless Chromium through playwright-core. Everything it starts runs on 127.0.0.1
// and is stopped when it is done.
//
//   npx tsc -p tsconfig.json && node scripts/dashboard-screenshot.mjs [out.png]
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(process.argv[2] ?? join(root, "docs/dashboard.png"));
/** Subscribers per topic: uneven, so that the top topics have an order. */
const SUBSCRIBERS = { prices: 120, orders: 60, "chat/lobby": 30, alerts: 12, "user/42": 3 };
/** Time the page gathers a minute-long sparkline's first part before the picture, in ms. */
const WARM_UP_MS = 25_000;

const hub = spawn(
  process.execPath,
  [
    join(root, "dist/src/cli/main.js"),
    "serve",
    "--port",
    "0",
    "--workers",
    "2",
    "--dashboard",
    "--publish-origins",
    "*",
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const sockets = [];
let publishing = true;
let browser;
let profile;

async function main() {
  const url = await listeningUrl();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  for (const [topic, count] of Object.entries(SUBSCRIBERS)) {
    for (let i = 0; i < count; i++)
      sockets.push(subscribe(`${url}/events/${encodeURIComponent(topic)}`));
  }
  const topics = Object.keys(SUBSCRIBERS);
  const publisher = (async () => {
    for (let i = 0; publishing; i++) {
      const topic =
        topics[Math.min(topics.length - 1, Math.floor(Math.random() ** 2 * topics.length))];
      await post(agent, `${url}/publish`, { topic, data: { n: i, at: Date.now() } });
      await new Promise((done) => setTimeout(done, 8 + 4 * Math.sin(i / 200)));
    }
  })();

  profile = await mkdtemp(join(tmpdir(), "ssehub-screenshot-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    viewport: { width: 1280, height: 1100 },
    colorScheme: "light",
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${url}/dashboard`);
  await page.fill("#tail-form [name=topic]", "prices");
  await page.click("#tail-start");
  await page.waitForTimeout(WARM_UP_MS);
  await page.fill("#publish-form [name=topic]", "prices");
  await page.fill("#publish-form [name=data]", '{"eur": 1.08}');
  await page.click("#publish-form button[type=submit]");
  await page.waitForTimeout(1500);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
  publishing = false;
  await publisher;
}

function listeningUrl() {
  return new Promise((done, fail) => {
    let url;
    createInterface({ input: hub.stdout }).on("line", (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.url !== undefined && entry.msg?.includes("listening")) url = entry.url;
        if (url !== undefined && entry.msg?.includes("cluster of 2 workers")) done(url);
      } catch {
        // not a log line
      }
    });
    hub.once("exit", (code) => fail(new Error(`ssehub exited with ${code}`)));
  });
}

function subscribe(url) {
  const req = http.get(url, { agent: false }, (res) => res.resume());
  req.on("error", () => {});
  return req;
}

function post(agent, url, body) {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((done) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json" } },
      (res) => res.resume().on("end", done),
    );
    req.on("error", done);
    req.end(payload);
  });
}

try {
  await main();
} finally {
  publishing = false;
  for (const req of sockets) req.destroy();
  await browser?.close();
  if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  hub.kill("SIGTERM");
}
