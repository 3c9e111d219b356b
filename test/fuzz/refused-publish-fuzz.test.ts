/**
 * Hostile and careless publishes against `ssehub serve` in its own process, sent with Node's
 * fetch (undici), seeded: bodies past maxBodyBytes (sized and chunked, JSON and forms), large
 * bodies of the wrong type, headers past the limit, and forged publishes (the cookie, or no
 * credentials, from a foreign origin, a named allowed one, or none). After each case:
 * - the publisher read the answer the case calls for, with its JSON code: never a reset;
 * - the hub still answers /healthz, and published only what the contract accepts.
 *
 * SSEHUB_FUZZ_SEED picks the seed; SSEHUB_FUZZ_HOSTILE_RUNS the number of cases.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import { listeningUrl, ssehub } from "../helpers/ssehub-process.js";
import { envInteger, Random } from "./random.js";

const DEFAULT_SEED = 20_261_206;
const DEFAULT_RUNS = 60;
const MAX_BODY_BYTES = 65_536;
const PUBLISHER_KEY = "publisher-secret-of-at-least-32-bytes!";
const APP = "https://app.example";
const FOREIGN = ["https://evil.example", "null", "http://app.example", "https://app.example.evil"];

const SEED = envInteger("SSEHUB_FUZZ_SEED", DEFAULT_SEED);
const RUNS = envInteger("SSEHUB_FUZZ_HOSTILE_RUNS", DEFAULT_RUNS);

interface HostileCase {
  readonly what: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | ReadableStream<Uint8Array>;
  /** The status and code the publisher must read; 200 publishes one event. */
  readonly status: number;
  readonly code: string | undefined;
}

function chunkedBody(bytes: Buffer, rng: Random): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      const size = Math.min(bytes.length - offset, rng.between(1024, 262_144));
      controller.enqueue(bytes.subarray(offset, offset + size));
      offset += size;
    },
  });
}

/** A JSON body of `size` bytes that would publish if it were small enough. */
function jsonOfSize(size: number): Buffer {
  const head = '{"topic":"fuzz","data":"';
  return Buffer.from(`${head}${"a".repeat(Math.max(0, size - head.length - 2))}"}`);
}

/** A case for `path`: the Mercure route takes forms only, /publish JSON and forms. */
function makeCase(rng: Random, path: string, cookie: string): HostileCase {
  const kind = rng.pick(["too-large", "wrong-type", "headers", "cookie", "anonymous"] as const);
  const small = Buffer.from("topic=fuzz&data=forged");
  const form = { "Content-Type": "application/x-www-form-urlencoded" };
  switch (kind) {
    case "too-large": {
      const size = rng.between(MAX_BODY_BYTES + 1, 6 * 1_048_576);
      const bytes = jsonOfSize(size);
      const chunked = rng.chance(0.5);
      const type =
        path === "/publish" && rng.chance(0.5) ? "application/json" : form["Content-Type"];
      return {
        what: `${size} bytes of ${type}, ${chunked ? "chunked" : "sized"}`,
        headers: { "Content-Type": type },
        body: chunked ? chunkedBody(bytes, rng) : bytes,
        status: 413,
        code: "SSEHUB_ERR_PUBLISH_TOO_LARGE",
      };
    }
    case "wrong-type": {
      const size = rng.between(1, 6 * 1_048_576);
      const type = rng.pick(["text/csv", "application/xml", "multipart/form-data; boundary=x"]);
      return {
        what: `${size} bytes of ${type}`,
        headers: { "Content-Type": type },
        body: rng.bytes(size),
        status: 415,
        code: "SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE",
      };
    }
    case "headers": {
      const size = rng.between(20_000, 60_000);
      return {
        what: `${size} bytes of headers and a 4 MiB body`,
        headers: { ...form, "X-Padding": "h".repeat(size) },
        body: Buffer.alloc(4 * 1_048_576, 0x61),
        status: 431,
        code: "SSEHUB_ERR_REQUEST_HEADERS_TOO_LARGE",
      };
    }
    case "cookie": {
      const from = rng.pick(["allowed", "allowed-referer", "foreign", "foreign-referer", "none"]);
      const headers: Record<string, string> = { ...form, Cookie: cookie };
      if (from === "allowed") headers.Origin = APP;
      if (from === "allowed-referer") headers.Referer = `${APP}/page`;
      if (from === "foreign") headers.Origin = rng.pick(FOREIGN);
      if (from === "foreign-referer") headers.Referer = `${rng.pick(FOREIGN)}/page`;
      const allowed = from.startsWith("allowed");
      return {
        what: `a cookie publish from ${from} ${headers.Origin ?? headers.Referer ?? ""}`,
        headers,
        body: small,
        status: allowed ? 200 : 403,
        code: allowed ? undefined : "SSEHUB_ERR_AUTH_ORIGIN_REFUSED",
      };
    }
    case "anonymous": {
      const from = rng.pick(["allowed", "foreign", "none"]);
      const headers: Record<string, string> = { ...form };
      if (from === "allowed") headers.Origin = APP;
      if (from === "foreign") headers.Origin = rng.pick(FOREIGN);
      const refused = from === "foreign";
      return {
        what: `an anonymous publish from ${from} ${headers.Origin ?? ""}`,
        headers,
        body: small,
        status: refused ? 403 : 200,
        code: refused ? "SSEHUB_ERR_AUTH_ORIGIN_REFUSED" : undefined,
      };
    }
  }
}

describe("hostile publishes fuzz", () => {
  test(`every one of ${RUNS} hostile publishes (seed ${SEED}) reads its answer, and only allowed ones publish`, async (t) => {
    const run = ssehub(t, [
      "serve",
      "--port",
      "0",
      "--max-body-bytes",
      String(MAX_BODY_BYTES),
      "--publisher-jwt-key",
      PUBLISHER_KEY,
      "--anonymous-publish",
      "--cors-origins",
      APP,
    ]);
    const url = await listeningUrl(run);
    const token = await new SignJWT({ mercure: { publish: ["*"] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(PUBLISHER_KEY));
    let published = 0;
    for (let index = 0; index < RUNS; index++) {
      const rng = new Random(SEED + index);
      const path = rng.pick(["/publish", "/.well-known/mercure"]);
      const c = makeCase(rng, path, `mercureAuthorization=${token}`);
      const where = `case ${index} (${c.what}) to ${path}; replay: SSEHUB_FUZZ_SEED=${SEED}`;
      let status: number;
      let text: string;
      try {
        const response = await fetch(`${url}${path}`, {
          method: "POST",
          headers: c.headers,
          body: c.body,
          duplex: "half",
        } as RequestInit);
        status = response.status;
        text = await response.text();
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        assert.fail(`No answer (${cause?.code ?? cause?.message ?? String(error)}): ${where}`);
      }
      assert.equal(status, c.status, `${where}: ${text.slice(0, 300)}`);
      if (c.code !== undefined) {
        assert.equal((JSON.parse(text) as { code: string }).code, c.code, where);
      } else {
        published++;
      }
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200, `/healthz after ${where}`);
      await health.arrayBuffer();
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const counted = /^ssehub_events_published_total(?:\{[^}]*\})? (\d+)/m.exec(metrics);
    if (counted !== null) assert.equal(Number(counted[1]), published, "events published");
    t.diagnostic(`seed ${SEED}: ${RUNS} cases, ${published} published`);
  });
});
