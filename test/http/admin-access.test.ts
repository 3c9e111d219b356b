import assert from "node:assert/strict";
import { test } from "node:test";
import { startServer } from "./start-server.js";

const ADMIN_TOKEN = "a-long-admin-token-for-tests";

async function getStats(url: string, authorization?: string): Promise<Response> {
  return fetch(`${url}/admin/stats`, {
    headers: authorization === undefined ? {} : { authorization },
  });
}

test("admin stats answer anyone while publishing and subscribing need no token", async (t) => {
  const { url } = await startServer(t);
  const response = await getStats(url);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { pid: number; hub: { subscribers: number } };
  assert.equal(body.pid, process.pid);
  assert.equal(body.hub.subscribers, 0);
});

test("admin stats are refused, naming the option, when auth is on and no admin token is set", async (t) => {
  const { url } = await startServer(t, {
    publisherJwtKey: "a-publisher-key-of-32-bytes-at-least!",
  });
  const response = await getStats(url);
  assert.equal(response.status, 403);
  const body = (await response.json()) as { code: string; message: string };
  assert.equal(body.code, "SSEHUB_ERR_ADMIN_DISABLED");
  assert.match(body.message, /adminToken/);
});

test("admin stats need the admin token once it is set", async (t) => {
  const { url } = await startServer(t, {
    subscriberJwtKey: "a-subscriber-key-of-32-bytes-at-least",
    adminToken: ADMIN_TOKEN,
  });
  const missing = await getStats(url);
  assert.equal(missing.status, 401);
  assert.equal(((await missing.json()) as { code: string }).code, "SSEHUB_ERR_AUTH_MISSING");
  assert.match(missing.headers.get("www-authenticate") ?? "", /Bearer/);

  const wrong = await getStats(url, `Bearer ${ADMIN_TOKEN}x`);
  assert.equal(wrong.status, 401);
  assert.equal(((await wrong.json()) as { code: string }).code, "SSEHUB_ERR_AUTH_INVALID");

  const notBearer = await getStats(url, `Basic ${ADMIN_TOKEN}`);
  assert.equal(notBearer.status, 401);

  const right = await getStats(url, `Bearer ${ADMIN_TOKEN}`);
  assert.equal(right.status, 200);
});

test("an admin token guards the admin endpoints even when auth is off", async (t) => {
  const { url } = await startServer(t, { adminToken: ADMIN_TOKEN });
  assert.equal((await getStats(url)).status, 401);
  assert.equal((await getStats(url, `bearer ${ADMIN_TOKEN}`)).status, 200);
});
