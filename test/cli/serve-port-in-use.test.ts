/**
 * `ssehub serve` on a port another process holds: one line on stderr that names the address and
 * what to do, exit code 1 (docs/operations.md), and no shutdown log of a server that never ran.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { test } from "node:test";
import { ssehub } from "../helpers/ssehub-process.js";

test("ssehub serve on a port in use prints one line naming the address and the fix, exits 1, logs no shutdown", async (t) => {
  const holder = net.createServer();
  holder.listen(0, "127.0.0.1");
  await once(holder, "listening");
  t.after(() => holder.close());
  const { port } = holder.address() as net.AddressInfo;

  const run = ssehub(t, ["serve", "--host", "127.0.0.1", "--port", String(port)]);
  assert.equal(await run.exited, 1);
  assert.deepEqual(run.stderr, [
    `ssehub: Cannot listen on 127.0.0.1:${port}: the address is in use by another process: stop it (\`ss -ltnp 'sport = :${port}'\` names it) or choose another port with --port or SSEHUB_PORT (EADDRINUSE)`,
  ]);
  assert.deepEqual(run.stdout, [], "no log of a shutdown of a server that never started");

  const page = (await import("node:fs")).readFileSync(
    new URL("../../../docs/operations.md", import.meta.url),
    "utf8",
  );
  assert.match(
    page,
    /exit code 1 means the hub could not listen \(its port is in use/,
    "documented",
  );
});

test("ssehub serve --workers 2 on a port in use prints the same one line and exits 1, without forking a crash loop", async (t) => {
  const holder = net.createServer();
  holder.listen(0, "127.0.0.1");
  await once(holder, "listening");
  t.after(() => holder.close());
  const { port } = holder.address() as net.AddressInfo;

  const run = ssehub(t, ["serve", "--host", "127.0.0.1", "--port", String(port), "--workers", "2"]);
  assert.equal(await run.exited, 1);
  assert.deepEqual(run.stderr, [
    `ssehub: Cannot listen on 127.0.0.1:${port}: the address is in use by another process: stop it (\`ss -ltnp 'sport = :${port}'\` names it) or choose another port with --port or SSEHUB_PORT (EADDRINUSE)`,
  ]);
  assert.deepEqual(run.stdout, [], "no worker was started, so none exited");
});
