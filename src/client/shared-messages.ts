/**
 * What the tabs of a shared subscription and the holder of its connection (a SharedWorker or
 * the leader tab) say to each other, and the key that tells which tabs may share a connection.
 * Every message is a plain object, so that it survives `postMessage` (structured clone).
 * @module
 */
import type { ParsedEvent } from "../protocol/parse.js";
import type { ClientState } from "./client.js";
import type { ClientErrorCode } from "./client-error.js";

/** What the holder of a shared connection needs to open it: the plain options of a client. */
export interface SharedConnectionSpec {
  /** The hub's base URL, absolute (a worker resolves relative URLs against its own script). */
  readonly url: string;
  readonly topics: readonly string[];
  readonly lastEventId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly backoffBaseMs?: number | undefined;
  readonly backoffMaxMs?: number | undefined;
}

/** An SsehubClientError as plain fields: the class does not survive postMessage. */
export interface ErrorFields {
  readonly code: ClientErrorCode;
  readonly message: string;
  readonly willReconnect: boolean;
  readonly status: number | undefined;
  readonly hubCode: string | undefined;
  readonly hubMessage: string | undefined;
}

/** From the holder of a connection to its tabs. */
export type HolderMessage =
  /**
   * An event of the stream, reset and gap notices included, with the id of the holder that
   * got it, so that a tab can tell the copy of a new holder (a takeover's resume) from a
   * repeated id of one stream.
   */
  | { readonly kind: "event"; readonly event: ParsedEvent; readonly holder: string }
  /** The connection opened (the first time or again). */
  | { readonly kind: "open" }
  /** The connection failed or dropped. */
  | { readonly kind: "error"; readonly error: ErrorFields }
  /** Where the connection stands: sent to a tab that joins, and when a new holder starts. */
  | { readonly kind: "status"; readonly state: ClientState; readonly lastEventId: string };

/** From a tab to the SharedWorker. */
export type WorkerRequest =
  | {
      readonly kind: "subscribe";
      readonly key: string;
      readonly spec: SharedConnectionSpec;
      /** A Web Lock the tab holds while it lives: the worker forgets the tab once it gets it. */
      readonly tabLock: string | undefined;
    }
  | { readonly kind: "unsubscribe" };

/** From a tab to the other tabs over the BroadcastChannel: who leads, tell me where you stand. */
export interface HelloMessage {
  readonly kind: "hello";
}

/**
 * A random name, unique among the tabs of a browser. Not `crypto.randomUUID`, which pages
 * served over plain HTTP lack.
 */
export function randomName(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

/**
 * 53 bits of a string's hash (cyrb53, public domain), as hex. Not cryptographic: it tells keys
 * apart, and anyone who could read the key itself is a script of the same origin anyway.
 */
function hash53(text: string, seed: number): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0");
}

/**
 * The key of a shared connection: tabs share one only when they ask for the same hub URL, the
 * same set of topics (in any order) and the same headers, so that a connection authorized by
 * one token never serves a tab holding another. Hashed, so that no header value (a token)
 * shows in the name of a lock, a channel or a worker.
 */
export function sharedConnectionKey(name: string, spec: SharedConnectionSpec): string {
  const topics = [...new Set(spec.topics)].sort();
  const headers = Object.entries(spec.headers)
    .map(([header, value]) => [header.toLowerCase(), value])
    .sort(([a = ""], [b = ""]) => (a < b ? -1 : a > b ? 1 : 0));
  const identity = JSON.stringify([spec.url, topics, headers]);
  // Two seeds: 106 bits, so that two identities never meet by chance.
  return `${name}:${hash53(identity, 1)}${hash53(identity, 2)}`;
}
