import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { sendJson } from "../../src/http/messages/send-json.js";

describe("sendJson()", () => {
  test("sendJson() writes the answers of a turn together at its end, each with its own body", async (t) => {
    const heldBack: boolean[] = [];
    const server = createServer((req, res) => {
      sendJson(res, 201, { path: req.url });
      heldBack.push(!res.headersSent);
    });
    t.after(() => server.close());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;

    const answers = await Promise.all(
      ["/a", "/b", "/c"].map(async (path) => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        return {
          status: response.status,
          type: response.headers.get("content-type"),
          body: await response.json(),
        };
      }),
    );
    assert.deepEqual(heldBack, [true, true, true]);
    for (const [i, path] of ["/a", "/b", "/c"].entries()) {
      assert.deepEqual(answers[i], {
        status: 201,
        type: "application/json; charset=utf-8",
        body: { path },
      });
    }
  });

  test("sendJson() skips an answer whose client went away before the end of the turn", async (t) => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      sendJson(res, 200, { request: requests });
      // The first client is gone before its answer is written; the second is answered.
      if (requests === 1) res.destroy();
    });
    t.after(() => server.close());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;

    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.deepEqual(await response.json(), { request: 2 });
  });

  test("sendJson() throws at once for a body that cannot be serialized", () => {
    const res = {} as ServerResponse;
    assert.throws(() => sendJson(res, 200, { big: 1n }), TypeError);
  });
});
