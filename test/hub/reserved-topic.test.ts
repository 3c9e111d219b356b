import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  HUB_TOPIC_NAMESPACE,
  isReservedTopic,
  removeDotSegments,
} from "../../src/hub/reserved-topic.js";
import { subscriptionsPath } from "../../src/mercure/presence.js";

/** Spellings of the hub's namespace: each must be refused to a publisher. */
const RESERVED: readonly string[] = [
  "/.well-known/mercure",
  "/.well-known/mercure/",
  "/.well-known/mercure/subscriptions",
  "/.well-known/mercure/subscriptions/",
  "/.well-known/mercure/subscriptions/x",
  "/.well-known/mercure/subscriptions/%2Fa/urn%3Auuid%3A1",
  "/.well-known/mercure/anything-the-hub-adds-later",
  // absolute URLs, any scheme and host, with user, port, query, fragment
  "https://example.com/.well-known/mercure/subscriptions/x",
  "http://hub.local:8080/.well-known/mercure/subscriptions",
  "HTTPS://EXAMPLE.COM/.well-known/mercure/subscriptions/x",
  "wss://user:pw@example.com/.well-known/mercure/subscriptions/x",
  "ftp://example.com/.well-known/mercure",
  "urn:/.well-known/mercure/subscriptions/x",
  "x-custom+scheme.v1://a/.well-known/mercure/subscriptions/x",
  "//example.com/.well-known/mercure/subscriptions/x",
  "/.well-known/mercure/subscriptions?x=1",
  "/.well-known/mercure/subscriptions#f",
  "/.well-known/mercure?topic=a",
  "https://example.com/.well-known/mercure#x",
  // percent-escapes of unreserved characters, either case of hex
  "/.well-known/%6Dercure/subscriptions/x",
  "/.well-known/%6dercure/subscriptions/x",
  "/%2Ewell-known/mercure/subscriptions",
  "/%2ewell-known/mercure/subscriptions",
  "/.well%2Dknown/mercure/subscriptions",
  "/.well%2dknown/mercure/subscriptions",
  "/%2E%77%65%6C%6C%2D%6B%6E%6F%77%6E/%6D%65%72%63%75%72%65/%73ubscriptions",
  "/%2e%77%65%6c%6c%2d%6b%6e%6f%77%6e/%6d%65%72%63%75%72%65",
  "https://example.com/.well-known/merc%75re/subscriptions/x",
  // dot segments, plain and escaped
  "/a/../.well-known/mercure/subscriptions",
  "/./.well-known/mercure/subscriptions",
  "/.well-known/./mercure/subscriptions",
  "/.well-known/mercure/./subscriptions/x",
  "/.well-known/x/../mercure/subscriptions",
  "/a/b/../../.well-known/mercure",
  "/../.well-known/mercure/subscriptions",
  "/../../../.well-known/mercure",
  "/.well-known/mercure/subscriptions/..",
  "/.well-known/mercure/x/..",
  "/a/%2E%2E/.well-known/mercure/subscriptions",
  "/a/%2e./.well-known/mercure/subscriptions",
  "/%2E/.well-known/mercure",
  "https://example.com/a/../.well-known/mercure/subscriptions",
  // repeated slashes, backslashes
  "//.well-known/mercure/subscriptions",
  "/.well-known//mercure/subscriptions",
  "/.well-known/mercure//subscriptions/x",
  "///.well-known///mercure///subscriptions",
  "/a//../.well-known/mercure",
  "https:////example.com/.well-known/mercure/subscriptions",
  "https:/.well-known/mercure/subscriptions",
  "https:///.well-known/mercure/subscriptions",
  "/.well-known\\mercure\\subscriptions",
  "https://example.com\\.well-known\\mercure\\subscriptions",
  "\\.well-known/mercure",
  "/.well-known/ssehub",
  "/.well-known/ssehub/stats",
  "https://example.com/.well-known/ssehub/stats",
  "/.well-known/%73sehub/stats",
  "/x/../.well-known/ssehub/stats",
];

/** Near misses: names a publisher may use. */
const NOT_RESERVED: readonly string[] = [
  "news",
  "mercure",
  "mercure/subscriptions/x",
  ".well-known/mercure/subscriptions/x",
  "./.well-known/mercure",
  "../.well-known/mercure",
  "/.well-known/mercure-other",
  "/.well-known/mercurex/subscriptions",
  "/.well-known/mercur",
  "/.well-known/ssehubx/stats",
  "/x/.well-known/ssehub/stats",
  "/.well-known",
  "/.well-known/",
  "/.well-known/other/subscriptions",
  "/x/.well-known/mercure/subscriptions",
  "https://example.com/x/.well-known/mercure/subscriptions",
  "/.well-known/Mercure/subscriptions",
  "/.WELL-KNOWN/mercure/subscriptions",
  "/.well-known/%4Dercure/subscriptions",
  "/.well-known%2Fmercure%2Fsubscriptions",
  "/.well-known%2fmercure/subscriptions",
  "/.well-known/%256Dercure/subscriptions",
  "/%252E%252E/.well-known/mercure",
  "%2F.well-known/mercure/subscriptions",
  "/x#/.well-known/mercure/subscriptions",
  "/x?/.well-known/mercure/subscriptions",
  "https://example.com?/.well-known/mercure",
  "https://.well-known/mercure/subscriptions",
  "https:.well-known/mercure/subscriptions",
  "%68ttps://example.com/.well-known/mercure/subscriptions",
  "urn:uuid:.well-known/mercure",
  "https://example.com/books/1",
  "/.well-known/mercure.json",
  "a%",
  "%zz/.well-known",
];

describe("isReservedTopic()", () => {
  for (const topic of RESERVED) {
    it(`refuses ${JSON.stringify(topic)}`, () => {
      assert.equal(isReservedTopic(topic), true);
    });
  }
  for (const topic of NOT_RESERVED) {
    it(`leaves ${JSON.stringify(topic)} to publishers`, () => {
      assert.equal(isReservedTopic(topic), false);
    });
  }

  it("covers every topic of the hub's own subscription events", () => {
    assert.equal(HUB_TOPIC_NAMESPACE, "/.well-known/mercure");
    for (const topic of ["https://example.com/{id}", "a", "*", "../../x", "é"]) {
      assert.equal(isReservedTopic(subscriptionsPath(topic, "urn:uuid:1")), true, topic);
      assert.equal(isReservedTopic(subscriptionsPath(topic)), true, topic);
    }
    assert.equal(isReservedTopic(subscriptionsPath()), true);
  });
});

describe("removeDotSegments()", () => {
  it("follows RFC 3986, section 5.2.4, and its examples", () => {
    const cases: [string, string][] = [
      ["/a/b/c/./../../g", "/a/g"],
      ["mid/content=5/../6", "mid/6"],
      ["/a/b/c/../../../../g", "/g"],
      ["/./g", "/g"],
      ["/../g", "/g"],
      ["/g.", "/g."],
      ["/.g", "/.g"],
      ["/g..", "/g.."],
      ["/..g", "/..g"],
      ["/a/./b/", "/a/b/"],
      ["/a/..", "/"],
      ["/a/.", "/a/"],
      ["../x", "x"],
      ["./x", "x"],
      [".", ""],
      ["..", ""],
      ["//a/../b", "//b"],
      ["", ""],
    ];
    for (const [path, want] of cases) assert.equal(removeDotSegments(path), want, path);
  });
});
