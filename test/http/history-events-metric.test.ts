/**
 * ssehub_history_events says what it counts: entries summed over every topic, with no topic
 * label (one series per topic would grow without bound), in /metrics and in docs/http-api.md.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { startServer } from "./start-server.js";

test("ssehub_history_events counts history entries over all topics, with no topic label", async (t) => {
  const { ssehub, url } = await startServer(t);
  await ssehub.hub.publish({ topics: ["a", "b"], data: "x" });
  await ssehub.hub.publish({ topic: "a", data: "y" });
  const text = await (await fetch(`${url}/metrics`)).text();
  const lines = text.split("\n").filter((line) => line.includes("ssehub_history_events"));
  assert.deepEqual(lines, [
    "# HELP ssehub_history_events Entries kept in history, summed over all topics (an event of two topics counts twice)",
    "# TYPE ssehub_history_events gauge",
    "ssehub_history_events 3",
  ]);

  const page = readFileSync(new URL("../../../docs/http-api.md", import.meta.url), "utf8");
  const row = page.split("\n").find((line) => line.startsWith("| `ssehub_history_events`"));
  assert.ok(row, "docs/http-api.md lists ssehub_history_events");
  assert.doesNotMatch(row, /\(per topic\)/);
  assert.match(row, /summed over all topics/);
});
