import assert from "node:assert/strict";
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { SocketAddress } from "node:net";
import { describe, test } from "node:test";
import { SsehubError } from "../../src/errors.js";
import {
  canonicalAddress,
  clientAddress,
  limitKey,
  MAX_FORWARDED_HOPS,
  parseTrustedProxies,
  TrustedProxies,
} from "../../src/http/limits/client-address.js";

const PROXY = "10.0.0.2";
const CLIENT = "203.0.113.7";
const trusted = parseTrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48"]);

function xff(value: string | string[]): IncomingHttpHeaders {
  return { "x-forwarded-for": value };
}

function forwarded(value: string): IncomingHttpHeaders {
  return { forwarded: value };
}

/** A small xorshift generator, so that the random inputs are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

describe("parseTrustedProxies()", () => {
  test("parseTrustedProxies() accepts addresses, CIDR ranges of both families and keywords", () => {
    const list = parseTrustedProxies([
      "192.0.2.1",
      "198.51.100.0/24",
      "2001:DB8::1",
      "2001:db8:1::/48",
      "::ffff:192.0.2.200",
      "::ffff:100.64.0.0/106",
      "loopback",
      "private",
      "linklocal",
    ]);
    for (const yes of [
      "192.0.2.1",
      "198.51.100.255",
      "2001:db8::1",
      "2001:0db8:0000::0001",
      "2001:db8:1:ffff::9",
      "192.0.2.200",
      "::ffff:192.0.2.200",
      "100.127.255.255",
      "127.0.0.1",
      "127.9.9.9",
      "::1",
      "::ffff:127.0.0.1",
      "10.255.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "fd00::1",
      "169.254.1.1",
      "fe80::1",
      "fe80::1%eth0",
    ]) {
      assert.equal(list.has(yes), true, yes);
    }
    for (const no of [
      "192.0.2.2",
      "198.51.101.0",
      "2001:db8::2",
      "2001:db8:2::1",
      "100.128.0.0",
      "172.32.0.1",
      "8.8.8.8",
      "2606:4700::1111",
      "",
      "garbage",
      "1.2.3.4.5",
    ]) {
      assert.equal(list.has(no), false, no);
    }
  });

  test("parseTrustedProxies() throws SSEHUB_ERR_OPTIONS_INVALID naming the invalid entry", () => {
    for (const entry of [
      "",
      " 10.0.0.1",
      "10.0.0.256",
      "10.0.0.0/33",
      "10.0.0.0/",
      "10.0.0.0/-1",
      "10.0.0.0/+8",
      "10.0.0.0/8/8",
      "10.0.0.0/1e1",
      "2001:db8::/129",
      "fe80::1%eth0",
      "::ffff:10.0.0.0/64",
      "localhost",
      "LOOPBACK",
      "__proto__",
      "constructor",
      "010.0.0.1",
      "0x7f.0.0.1",
      "[::1]",
      "*",
    ]) {
      assert.throws(
        () => parseTrustedProxies(["127.0.0.1", entry]),
        (error: unknown) => {
          assert.ok(error instanceof SsehubError);
          assert.equal(error.code, "SSEHUB_ERR_OPTIONS_INVALID");
          assert.ok(error.message.includes(JSON.stringify(entry)), error.message);
          assert.deepEqual(error.details, { entry, index: 1 });
          return true;
        },
        entry,
      );
    }
  });

  test("parseTrustedProxies() refuses a non-string entry and an unknown header choice", () => {
    assert.throws(() => parseTrustedProxies([42 as unknown as string]), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
    });
    assert.throws(() => parseTrustedProxies("10.0.0.1" as unknown as string[]), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
    });
    assert.throws(
      () => parseTrustedProxies([], { header: "x-real-ip" as unknown as "forwarded" }),
      { code: "SSEHUB_ERR_OPTIONS_INVALID" },
    );
  });

  test("TrustedProxies.NONE trusts nobody, loopback included", () => {
    assert.equal(TrustedProxies.NONE.isEmpty, true);
    assert.equal(TrustedProxies.NONE.has("127.0.0.1"), false);
    assert.equal(parseTrustedProxies([]).has("::1"), false);
  });
});

describe("clientAddress()", () => {
  test("clientAddress() answers the socket's peer and ignores headers when the peer is not trusted", () => {
    const spoofs: IncomingHttpHeaders[] = [
      xff("10.0.0.9"),
      xff("1.2.3.4"),
      forwarded("for=1.2.3.4"),
      { forwarded: "for=1.2.3.4", "x-forwarded-for": "5.6.7.8" },
      xff(["1.2.3.4", "10.0.0.3"]),
    ];
    for (const headers of spoofs) {
      assert.equal(clientAddress(CLIENT, headers, trusted), CLIENT);
      assert.equal(clientAddress(CLIENT, headers, TrustedProxies.NONE), CLIENT);
      // Trusting nobody, even a peer on a private network cannot pick its address.
      assert.equal(clientAddress(PROXY, headers, TrustedProxies.NONE), PROXY);
    }
  });

  test("clientAddress() answers a trusted peer itself when it sends no forwarding header", () => {
    assert.equal(clientAddress(PROXY, {}, trusted), PROXY);
    assert.equal(clientAddress(PROXY, { "x-real-ip": CLIENT }, trusted), PROXY);
  });

  test("clientAddress() answers the right-most untrusted hop of X-Forwarded-For", () => {
    assert.equal(clientAddress(PROXY, xff(CLIENT), trusted), CLIENT);
    assert.equal(clientAddress(PROXY, xff(`${CLIENT}, 10.1.1.1, 10.2.2.2`), trusted), CLIENT);
    // The client wrote the left part; the trusted proxy appended the address it saw.
    assert.equal(clientAddress(PROXY, xff(`10.9.9.9, 8.8.8.8,${CLIENT}`), trusted), CLIENT);
    assert.equal(clientAddress(PROXY, xff(`  ${CLIENT}  `), trusted), CLIENT);
  });

  test("clientAddress() answers the left-most hop when every hop is trusted", () => {
    assert.equal(clientAddress(PROXY, xff("10.0.0.7, 10.0.0.8"), trusted), "10.0.0.7");
  });

  test("clientAddress() reads several header lines as one list, in order", () => {
    assert.equal(clientAddress(PROXY, xff(["8.8.8.8", `${CLIENT}, 10.0.0.3`]), trusted), CLIENT);
    assert.equal(clientAddress(PROXY, xff([]), trusted), PROXY);
  });

  test("clientAddress() reads Forwarded before X-Forwarded-For unless the header is pinned", () => {
    const headers = { forwarded: `for=${CLIENT}`, "x-forwarded-for": "198.51.100.1" };
    assert.equal(clientAddress(PROXY, headers, trusted), CLIENT);
    const xffOnly = parseTrustedProxies(["10.0.0.0/8"], { header: "x-forwarded-for" });
    assert.equal(clientAddress(PROXY, headers, xffOnly), "198.51.100.1");
    const forwardedOnly = parseTrustedProxies(["10.0.0.0/8"], { header: "forwarded" });
    assert.equal(clientAddress(PROXY, headers, forwardedOnly), CLIENT);
    assert.equal(clientAddress(PROXY, xff(CLIENT), forwardedOnly), PROXY);
  });

  test("clientAddress() reads RFC 7239 elements: parameters, case, quotes, IPv6 with ports", () => {
    const cases: [string, string][] = [
      [`for=${CLIENT}`, CLIENT],
      [`For=${CLIENT};proto=https;by=10.0.0.2`, CLIENT],
      [`proto=http; for="${CLIENT}:8080" ;host=example.com`, CLIENT],
      ['for="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"],
      ['for="[2001:DB8:CAFE:0:0:0:0:17]"', "2001:db8:cafe::17"],
      ["for=[2001:db8:cafe::17]:_port", "2001:db8:cafe::17"],
      [`for=192.0.2.43, for="${CLIENT}"`, CLIENT],
      [`for=8.8.8.8, FOR=${CLIENT}, for=10.0.0.3;by=10.0.0.2`, CLIENT],
      [`for="\\2\\03.0.113.7"`, CLIENT],
      ['for="[::ffff:203.0.113.7]"', CLIENT],
      ['for="[fe80::1%25eth0]:80"', "fe80::1"],
    ];
    for (const [header, expected] of cases) {
      assert.equal(clientAddress(PROXY, forwarded(header), trusted), expected, header);
    }
  });

  test("clientAddress() stops at unknown, obfuscated or broken hops and answers the last trusted one", () => {
    const stops: [IncomingHttpHeaders, string][] = [
      [forwarded("for=unknown"), PROXY],
      [forwarded("for=_hidden"), PROXY],
      [forwarded('for="_SEVKISEK"'), PROXY],
      [forwarded(`for=${CLIENT}, for=unknown, for=10.0.0.4`), "10.0.0.4"],
      [forwarded("proto=https"), PROXY],
      [forwarded(`for=${CLIENT};for=8.8.8.8`), PROXY],
      [forwarded(`for="${CLIENT}`), PROXY],
      [forwarded(`for=${CLIENT}"`), PROXY],
      [forwarded('for="1.2\\"3.4"'), PROXY],
      [forwarded("for"), PROXY],
      [forwarded(""), PROXY],
      [forwarded(`for=${CLIENT},`), PROXY],
      [xff("unknown"), PROXY],
      [xff(`${CLIENT}, garbage`), PROXY],
      [xff(`${CLIENT}, , 10.0.0.3`), "10.0.0.3"],
      [xff(""), PROXY],
      [xff(","), PROXY],
      [xff("[2001:db8::1"), PROXY],
      [xff("[2001:db8::1]:port"), PROXY],
      [xff("203.0.113.7:99999999"), PROXY],
      [xff("[203.0.113.7]"), PROXY],
      [xff("203.0.113.007"), PROXY],
      [xff("0x7f000001"), PROXY],
      [xff("2130706433"), PROXY],
      [xff('"203.0.113.7"'), PROXY],
    ];
    for (const [headers, expected] of stops) {
      assert.equal(clientAddress(PROXY, headers, trusted), expected, JSON.stringify(headers));
    }
  });

  test("clientAddress() cannot be fooled by an unbalanced quote the client put on the left", () => {
    // The client sent `Forwarded: for="1.1.1.1`; the proxy appended its element.
    const header = `for="1.1.1.1, for=${CLIENT}`;
    assert.equal(clientAddress(PROXY, forwarded(header), trusted), CLIENT);
    assert.equal(clientAddress(PROXY, forwarded(`for="a,b,c", for=${CLIENT}`), trusted), CLIENT);
  });

  test("clientAddress() answers canonical addresses: IPv4-mapped as IPv4, IPv6 compressed, zones dropped", () => {
    const loopback = parseTrustedProxies(["loopback"]);
    assert.equal(clientAddress("::ffff:127.0.0.1", {}, loopback), "127.0.0.1");
    assert.equal(clientAddress("::ffff:127.0.0.1", xff(CLIENT), loopback), CLIENT);
    assert.equal(clientAddress("::1", xff("::FFFF:203.0.113.7"), loopback), CLIENT);
    assert.equal(clientAddress("::1", xff("2001:0DB8:0:0:0:0:0:1"), loopback), "2001:db8::1");
    assert.equal(clientAddress("::1", xff("fe80::1%eth0"), loopback), "fe80::1");
    assert.equal(clientAddress("::1", xff("[fe80::1%25en0]:443"), loopback), "fe80::1");
    assert.equal(clientAddress("fe80::9%lo", {}, loopback), "fe80::9");
    assert.equal(clientAddress("::FFFF:8.8.8.8", xff(CLIENT), loopback), "8.8.8.8");
  });

  test("clientAddress() answers a socket address that is not an IP address as it is", () => {
    assert.equal(clientAddress("", xff(CLIENT), trusted), "");
    assert.equal(clientAddress("/run/ssehub.sock", xff(CLIENT), trusted), "/run/ssehub.sock");
  });

  test("clientAddress() walks at most MAX_FORWARDED_HOPS hops of a 10,000-entry header", () => {
    const trustedHops = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
    const answer = clientAddress(PROXY, xff(trustedHops.join(", ")), trusted);
    assert.equal(answer, trustedHops[10_000 - MAX_FORWARDED_HOPS]);
    const untrustedHops = Array.from({ length: 10_000 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);
    assert.equal(clientAddress(PROXY, xff(untrustedHops.join(",")), trusted), untrustedHops.at(-1));
    const elements = untrustedHops.map((hop) => `for=${hop};proto=https`).join(", ");
    assert.equal(clientAddress(PROXY, forwarded(elements), trusted), untrustedHops.at(-1));
    // The client cannot push the real hop out of reach with a long left part.
    const padded = `${untrustedHops.join(",")}, ${CLIENT}, 10.0.0.3`;
    assert.equal(clientAddress(PROXY, xff(padded), trusted), CLIENT);
  });

  test("clientAddress() answers the peer or a canonical IP for random garbage headers, and never throws", () => {
    const next = random(0x5eed);
    const alphabet = ' ,;="[]:%_\\\t\r\n\0.0123456789abcdefABCDEF:unknownfor=\u00ff\u{1f600}';
    for (let run = 0; run < 5000; run++) {
      let text = "";
      const length = Math.floor(next() * 60);
      for (let i = 0; i < length; i++) {
        text += alphabet[Math.floor(next() * alphabet.length)] ?? "";
      }
      for (const headers of [xff(text), forwarded(text)]) {
        const answer = clientAddress(PROXY, headers, trusted);
        assert.ok(
          answer === PROXY || canonicalAddress(answer) === answer,
          `${JSON.stringify(text)} gave ${JSON.stringify(answer)}`,
        );
        assert.equal(clientAddress(CLIENT, headers, trusted), CLIENT);
      }
    }
  });

  test("a client that does not come through a trusted proxy cannot choose its address over a real socket", async (t) => {
    const trustLocalhost = parseTrustedProxies(["127.0.0.1"]);
    const server = http.createServer((req, res) => {
      res.end(clientAddress(req.socket.remoteAddress ?? "", req.headers, trustLocalhost));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const ask = (localAddress: string, headers: Record<string, string>): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = http.get(
          { host: "127.0.0.1", port, localAddress, headers, agent: false },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              body += chunk;
            });
            res.on("end", () => resolve(body));
          },
        );
        req.on("error", reject);
      });
    const forged = { "x-forwarded-for": "127.0.0.1", forwarded: "for=198.51.100.1" };
    assert.equal(await ask("127.0.0.2", forged), "127.0.0.2");
    assert.equal(await ask("127.0.0.3", { "x-forwarded-for": CLIENT }), "127.0.0.3");
    // Through the trusted proxy (127.0.0.1) the header counts.
    assert.equal(await ask("127.0.0.1", { "x-forwarded-for": CLIENT }), CLIENT);
  });
});

describe("canonicalAddress()", () => {
  test("canonicalAddress() gives one spelling per address, as Node's SocketAddress does", () => {
    const next = random(42);
    const hex = (): string => Math.floor(next() * 0x10000).toString(16);
    for (let run = 0; run < 2000; run++) {
      const groups = Array.from({ length: 8 }, () => (next() < 0.4 ? "0" : hex()));
      const full = groups.map((g) => (next() < 0.5 ? g.padStart(4, "0") : g)).join(":");
      const spelled = next() < 0.5 ? full.toUpperCase() : full;
      const canonical = canonicalAddress(spelled);
      assert.ok(canonical !== undefined, spelled);
      assert.equal(canonicalAddress(canonical), canonical, "canonical is a fixed point");
      if (!canonical.includes(".")) {
        assert.equal(canonical, new SocketAddress({ address: full, family: "ipv6" }).address);
      }
    }
    assert.equal(canonicalAddress("0:0:0:0:0:ffff:c000:0201"), "192.0.2.1");
    assert.equal(canonicalAddress("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(canonicalAddress("192.0.2.1"), "192.0.2.1");
    for (const bad of ["", "::ffff:1.2.3", "1.2.3.4/8", "example.com", "1::2::3", "[::1]"]) {
      assert.equal(canonicalAddress(bad), undefined, bad);
    }
  });
});

describe("limitKey()", () => {
  test("limitKey() keeps IPv4 addresses and groups IPv6 addresses by /64", () => {
    assert.equal(limitKey("192.0.2.1"), "192.0.2.1");
    assert.equal(limitKey("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(limitKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert.equal(limitKey("2001:DB8:1:2:ffff::1"), "2001:db8:1:2::/64");
    assert.equal(limitKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(limitKey("::1"), "0:0:0:0::/64");
    assert.equal(limitKey("::"), "0:0:0:0::/64");
    assert.equal(limitKey("1:2:3:4::"), "1:2:3:4::/64");
    assert.equal(limitKey("::1.2.3.4"), "0:0:0:0::/64");
    assert.equal(limitKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(limitKey("not an address"), "not an address");
  });
});
