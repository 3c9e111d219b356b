/**
 * The access log never shows a token sent in the `access_token` query parameter, which Mercure
 * draft-08 clients may try (the hub refuses it, but the request is still logged).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { waitFor } from "../helpers/wait-for.js";
import { startServer } from "./start-server.js";

describe("access log and access_token", () => {
  it("redacts the access_token query parameter of every request", async (t) => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("info", {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const { url } = await startServer(t, {
      accessLog: true,
      logger,
      mercureIssuers: JSON.stringify([
        { issuer: "https://app.example.com", key: "a-secret-of-at-least-thirty-two-bytes!" },
      ]),
      mercureResource: "https://hub.example.com/.well-known/mercure",
    });
    const answer = await fetch(`${url}/.well-known/mercure?topic=a&access_token=s3cret.tok.en`);
    assert.equal(answer.status, 400);
    await answer.text();
    await waitFor(() => lines.some((line) => line.msg === "access"), "the access line");
    const line = lines.find((entry) => entry.msg === "access")!;
    assert.equal(line.path, "/.well-known/mercure?topic=a&access_token=%5Bredacted%5D");
    assert.doesNotMatch(JSON.stringify(lines), /s3cret/);
  });
});
