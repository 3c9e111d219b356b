/**
 * The address of the client behind a request, for per-address limits and logs. The peer of the
 * socket is the client, unless the peer is a proxy the operator trusts: then the proxy's
 * forwarding header says who came before it, and the chain is walked from the right (the hop
 * nearest to us) while each hop is trusted. The first hop that is not trusted is the client.
 *
 * ```
 *   trusted proxies: 10.0.0.0/8
 *   X-Forwarded-For: 203.0.113.7, 198.51.100.9, 10.0.0.5     (socket peer 10.0.0.2)
 *                    never read   not trusted   trusted       trusted
 *                                 = the client  <------ walk from the right -------
 * ```
 *
 * Everything left of the answer was written by the client or by proxies we cannot vouch for,
 * so it is never read. A client that does not come through a trusted proxy cannot choose its
 * address with headers: its headers are not read at all.
 * @module
 */
import type { IncomingHttpHeaders } from "node:http";
import { BlockList, isIPv4, isIPv6, SocketAddress } from "node:net";
import { SsehubError } from "../../errors.js";

/** Most hops of a forwarding header walked; a longer chain of trusted hops stops there. */
export const MAX_FORWARDED_HOPS = 64;

/** Which header trusted proxies write the chain in. */
export type ForwardedHeader = "auto" | "forwarded" | "x-forwarded-for";

/** Options of parseTrustedProxies. */
export interface TrustedProxyOptions {
  /**
   * The header to read: `forwarded` (RFC 7239), `x-forwarded-for`, or `auto`: `Forwarded`
   * when the request has one, else `X-Forwarded-For`. Pin the header your proxies write when
   * they pass a client's own `Forwarded` (or `X-Forwarded-For`) through untouched, as nginx
   * does with `Forwarded` by default: with `auto`, such a client would choose its address.
   * @default "auto"
   */
  readonly header?: ForwardedHeader | undefined;
}

/** Ranges behind the keywords of a trusted-proxy list. */
const KEYWORD_RANGES: ReadonlyMap<string, readonly (readonly [string, number])[]> = new Map([
  [
    "loopback",
    [
      ["127.0.0.0", 8],
      ["::1", 128],
    ],
  ],
  // RFC 1918 and RFC 4193 (unique local).
  [
    "private",
    [
      ["10.0.0.0", 8],
      ["172.16.0.0", 12],
      ["192.168.0.0", 16],
      ["fc00::", 7],
    ],
  ],
  [
    "linklocal",
    [
      ["169.254.0.0", 16],
      ["fe80::", 10],
    ],
  ],
]);

const PREFIX_DIGITS = /^\d{1,3}$/;
const PORT = /^:(?:\d{1,5}|_[\w.-]+)$/;
const MAPPED_PREFIX = "::ffff:";
const MAPPED_PREFIX_BITS = 96;

/**
 * The proxies whose forwarding headers are believed (see parseTrustedProxies). Matching is one
 * `BlockList` lookup; an empty set (the default) makes the client the socket's peer.
 */
export class TrustedProxies {
  /** Trusts nobody: every request's address is its socket's peer. */
  static readonly NONE: TrustedProxies = new TrustedProxies([]);

  /** The entries as given, for logs and diagnostics. */
  readonly entries: readonly string[];
  /** The header that carries the chain. */
  readonly header: ForwardedHeader;
  readonly #list = new BlockList();

  /** Same as parseTrustedProxies(list, options). */
  constructor(list: readonly string[], options: TrustedProxyOptions = {}) {
    const header = options.header ?? "auto";
    if (header !== "auto" && header !== "forwarded" && header !== "x-forwarded-for") {
      throw new SsehubError(
        "SSEHUB_ERR_OPTIONS_INVALID",
        `Cannot read trusted proxies from header ${JSON.stringify(header)}: use auto, forwarded or x-forwarded-for`,
        { details: { header } },
      );
    }
    if (!Array.isArray(list)) {
      throw new SsehubError(
        "SSEHUB_ERR_OPTIONS_INVALID",
        `Cannot read trusted proxies: expected a list of addresses, got ${typeof list}`,
      );
    }
    for (const [index, entry] of list.entries()) addEntry(this.#list, entry, index);
    this.entries = Object.freeze([...list]);
    this.header = header;
  }

  /** True when nobody is trusted. */
  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** True when `address` (any spelling, IPv4-mapped included) is a trusted proxy. */
  has(address: string): boolean {
    const canonical = canonicalAddress(address);
    return canonical !== undefined && this.#hasCanonical(canonical);
  }

  /** See clientAddress. */
  clientAddress(socketAddress: string, headers: IncomingHttpHeaders): string {
    let current = canonicalAddress(socketAddress);
    if (current === undefined) return socketAddress;
    if (!this.#hasCanonical(current)) return current;
    const chain = chainHeader(headers, this.header);
    if (chain === undefined) return current;
    const { text, isForwarded } = chain;
    let end = text.length;
    for (let hops = 0; hops < MAX_FORWARDED_HOPS && end >= 0; hops++) {
      // Split on commas without regard to quotes, on purpose: trusted proxies write the right
      // end of the header, and no comma or quote that the client put on the left reaches it.
      const comma = end === 0 ? -1 : text.lastIndexOf(",", end - 1);
      const element = text.slice(comma + 1, end);
      end = comma;
      const node = isForwarded ? forwardedFor(element) : element.trim();
      const address = node === undefined ? undefined : nodeAddress(node);
      if (address === undefined) return current;
      current = address;
      if (!this.#hasCanonical(current)) return current;
    }
    return current;
  }

  #hasCanonical(canonical: string): boolean {
    return (
      this.entries.length !== 0 && this.#list.check(canonical, isIPv4(canonical) ? "ipv4" : "ipv6")
    );
  }
}

/**
 * Builds the set of trusted proxies from a list of IP addresses (`10.0.0.2`, `::1`), CIDR
 * ranges (`10.0.0.0/8`, `2001:db8::/32`) and the keywords `loopback` (127.0.0.0/8, ::1),
 * `private` (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7) and `linklocal`
 * (169.254.0.0/16, fe80::/10). An IPv4-mapped IPv6 entry (`::ffff:10.0.0.2`,
 * `::ffff:10.0.0.0/104`) means its IPv4 address or range. Throws SSEHUB_ERR_OPTIONS_INVALID
 * naming the first entry that is none of these.
 * @example
 * const trusted = parseTrustedProxies(["loopback", "10.0.0.0/8"]);
 * const address = clientAddress(req.socket.remoteAddress ?? "", req.headers, trusted);
 */
export function parseTrustedProxies(
  list: readonly string[],
  options: TrustedProxyOptions = {},
): TrustedProxies {
  return new TrustedProxies(list, options);
}

function addEntry(list: BlockList, entry: unknown, index: number): void {
  const invalid = (why: string): SsehubError =>
    new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot trust proxy ${JSON.stringify(String(entry))} (entry ${index}): ${why}`,
      { details: { entry: String(entry), index } },
    );
  if (typeof entry !== "string") throw invalid(`expected a string, got ${typeof entry}`);
  const keyword = KEYWORD_RANGES.get(entry);
  if (keyword !== undefined) {
    for (const [network, prefix] of keyword) {
      list.addSubnet(network, prefix, isIPv4(network) ? "ipv4" : "ipv6");
    }
    return;
  }
  const slash = entry.indexOf("/");
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  // A zone (fe80::1%eth0) names an interface of this machine: it has no place in a range.
  const canonical = addressText.includes("%") ? undefined : canonicalAddress(addressText);
  if (canonical === undefined) {
    throw invalid(
      "expected an IP address, a CIDR range such as 10.0.0.0/8, or loopback, private or linklocal",
    );
  }
  const wasIPv6 = !isIPv4(addressText);
  const maxBits = wasIPv6 ? 128 : 32;
  let bits = maxBits;
  if (slash !== -1) {
    const prefixText = entry.slice(slash + 1);
    if (!PREFIX_DIGITS.test(prefixText) || Number(prefixText) > maxBits) {
      throw invalid(`the prefix length must be an integer from 0 to ${maxBits}`);
    }
    bits = Number(prefixText);
  }
  if (wasIPv6 && isIPv4(canonical)) {
    // ::ffff:a.b.c.d/n is the IPv4 range a.b.c.d/(n - 96).
    if (bits < MAPPED_PREFIX_BITS) {
      throw invalid(
        `an IPv4-mapped range needs a prefix length of at least ${MAPPED_PREFIX_BITS}; list IPv4 ranges as IPv4`,
      );
    }
    list.addSubnet(canonical, bits - MAPPED_PREFIX_BITS, "ipv4");
    return;
  }
  list.addSubnet(canonical, bits, wasIPv6 ? "ipv6" : "ipv4");
}

/**
 * The canonical text of an IP address, or undefined when `text` is not one: IPv4 as it is
 * (Node accepts only dotted decimal without leading zeros), IPv4-mapped IPv6 as its IPv4
 * address, other IPv6 lowercase and compressed (RFC 5952) without its zone. Two spellings of
 * one address give one string, so that a per-address limit cannot be dodged by respelling.
 */
export function canonicalAddress(text: string): string | undefined {
  if (isIPv4(text)) return text;
  if (!isIPv6(text)) return undefined;
  const lower = text.toLowerCase();
  // The common case needs no parsing: 127.0.0.1 as a dual-stack socket reports it.
  if (lower.startsWith(MAPPED_PREFIX) && isIPv4(lower.slice(MAPPED_PREFIX.length))) {
    return lower.slice(MAPPED_PREFIX.length);
  }
  let address: string;
  try {
    address = new SocketAddress({ address: text, family: "ipv6" }).address;
  } catch {
    return undefined;
  }
  if (address.startsWith(MAPPED_PREFIX) && isIPv4(address.slice(MAPPED_PREFIX.length))) {
    return address.slice(MAPPED_PREFIX.length);
  }
  return address;
}

/**
 * The address of the client of a request.
 *
 * When `socketAddress` (the socket's peer, `req.socket.remoteAddress`) is not a trusted proxy,
 * it is the answer and no header is read. Otherwise the forwarding chain is read (the header
 * chosen by `trustedProxies.header`; with `auto`, RFC 7239 `Forwarded` when present, else
 * `X-Forwarded-For`) from the right, hop by hop, while the hops are trusted: the answer is the
 * right-most address that is not trusted, or the left-most one when all are.
 *
 * The walk stops, answering the last address it reached (a trusted proxy), at a hop that is not
 * an IP address: `unknown`, an obfuscated identifier (`_hidden`), garbage, an empty entry; and
 * after MAX_FORWARDED_HOPS hops. The hub then treats that proxy as the client rather than
 * believe a value it cannot check. Hops may carry ports (`1.2.3.4:80`, `[2001:db8::1]:80`) and
 * zones; the answer is canonical (see canonicalAddress). A socket address that is not an IP
 * address (empty once the socket has gone) is answered as it is.
 *
 * Cost: O(hops walked), whatever the length of the header.
 * @see https://www.rfc-editor.org/rfc/rfc7239
 */
export function clientAddress(
  socketAddress: string,
  headers: IncomingHttpHeaders,
  trustedProxies: TrustedProxies,
): string {
  return trustedProxies.clientAddress(socketAddress, headers);
}

/** The chain header of a request, joined into one string, or undefined when absent. */
function chainHeader(
  headers: IncomingHttpHeaders,
  choice: ForwardedHeader,
): { readonly text: string; readonly isForwarded: boolean } | undefined {
  if (choice !== "x-forwarded-for") {
    const forwarded = joined(headers.forwarded);
    if (forwarded !== undefined) return { text: forwarded, isForwarded: true };
    if (choice === "forwarded") return undefined;
  }
  const xff = joined(headers["x-forwarded-for"]);
  return xff === undefined ? undefined : { text: xff, isForwarded: false };
}

function joined(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Several header lines form one list, in order (RFC 9110, section 5.3).
  return typeof value === "string" ? value : value.length === 0 ? undefined : value.join(",");
}

/**
 * The `for` value of one `Forwarded` element (`for=192.0.2.60;proto=http`), unquoted, or
 * undefined when the element has none, has several, or is malformed.
 */
function forwardedFor(element: string): string | undefined {
  let found: string | undefined;
  for (const pair of element.split(";")) {
    const equals = pair.indexOf("=");
    if (equals === -1) return undefined;
    if (pair.slice(0, equals).trim().toLowerCase() !== "for") continue;
    if (found !== undefined) return undefined;
    found = unquote(pair.slice(equals + 1).trim());
    if (found === undefined) return undefined;
  }
  return found;
}

/** A token as it is, a quoted-string without its quotes and escapes; undefined if broken. */
function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return value.includes('"') ? undefined : value;
  if (value.length < 2 || !value.endsWith('"')) return undefined;
  const inner = value.slice(1, -1);
  if (!inner.includes("\\")) return inner.includes('"') ? undefined : inner;
  let out = "";
  for (let i = 0; i < inner.length; i++) {
    let char = inner[i] as string;
    if (char === "\\") {
      i++;
      if (i === inner.length) return undefined;
      char = inner[i] as string;
    } else if (char === '"') {
      return undefined;
    }
    out += char;
  }
  return out;
}

/**
 * The canonical IP address of a node (`1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`,
 * `2001:db8::1`, `[fe80::1%eth0]`), or undefined for `unknown`, obfuscated identifiers and
 * anything else.
 */
function nodeAddress(node: string): string | undefined {
  if (node.startsWith("[")) {
    const close = node.indexOf("]");
    if (close === -1) return undefined;
    const rest = node.slice(close + 1);
    if (rest !== "" && !isPort(rest)) return undefined;
    // RFC 6874 writes a zone in brackets as %25: the zone is dropped anyway.
    const inner = node.slice(1, close);
    return isIPv6(inner) ? canonicalAddress(inner) : undefined;
  }
  const colon = node.indexOf(":");
  if (colon !== -1 && node.indexOf(":", colon + 1) === -1) {
    // host:port, where only IPv4 can be the host.
    const host = node.slice(0, colon);
    return isIPv4(host) && isPort(node.slice(colon)) ? host : undefined;
  }
  return canonicalAddress(node);
}

/** `:80` or an obfuscated port `:_abc` (RFC 7239, section 6). */
function isPort(text: string): boolean {
  return PORT.test(text);
}

/**
 * The key that per-address limits count under: an IPv4 address itself, and the /64 network of
 * an IPv6 address (`2001:db8:1:2::/64`). One customer line usually gets a whole /64, so a limit
 * per IPv6 address would let one client take 2^64 slots by rotating its address. Anything that
 * is not an IP address is its own key.
 */
export function limitKey(address: string): string {
  const canonical = canonicalAddress(address);
  if (canonical === undefined) return address;
  if (isIPv4(canonical)) return canonical;
  return `${ipv6Groups(canonical).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of a canonical IPv6 address, in hex without leading zeros. */
function ipv6Groups(canonical: string): string[] {
  let text = canonical;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    // An IPv4-compatible tail (::1.2.3.4) is two groups.
    const [a = 0, b = 0, c = 0, d = 0] = tail.split(".").map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const gap = text.indexOf("::");
  if (gap === -1) return text.split(":");
  const head = gap === 0 ? [] : text.slice(0, gap).split(":");
  const rest = gap + 2 === text.length ? [] : text.slice(gap + 2).split(":");
  return [...head, ...new Array<string>(8 - head.length - rest.length).fill("0"), ...rest];
}
