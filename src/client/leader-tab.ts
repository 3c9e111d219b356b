/**
 * A shared subscription without a SharedWorker: the tabs that share a key elect a leader with
 * a Web Lock; the leader holds the connection and broadcasts what it gets over a
 * BroadcastChannel. The lock is released when the leader's tab closes (or crashes), and the
 * next tab in the lock's queue takes over, resuming from the last id it got: the tabs got the
 * same broadcasts, so no event is lost, and the tab side drops the few that a resume could
 * bring twice (see SharedSsehubClient).
 * @module
 */
import { ConnectionHolder } from "./connection-holder.js";
import type { HelloMessage, HolderMessage, SharedConnectionSpec } from "./shared-messages.js";

/** True when this runtime can elect a leader tab: BroadcastChannel and Web Locks. */
export function canElectLeader(): boolean {
  return (
    typeof BroadcastChannel === "function" &&
    typeof globalThis.navigator?.locks?.request === "function"
  );
}

/**
 * One tab's part in a shared subscription over a BroadcastChannel: a follower until the lock
 * is granted, then the leader until close().
 */
export class LeaderTab {
  readonly #channel: BroadcastChannel;
  readonly #abort = new AbortController();
  #holder: ConnectionHolder | undefined;
  #release: (() => void) | undefined;
  #closed = false;

  /**
   * @param key the shared connection's key: the channel's and the lock's name
   * @param spec the connection to open when this tab leads; its lastEventId is `lastEventId()`
   * @param lastEventId the id this tab got last, read when it takes over
   * @param receive gets every message of the connection, whichever tab holds it
   */
  constructor(
    key: string,
    spec: SharedConnectionSpec,
    lastEventId: () => string,
    receive: (message: HolderMessage) => void,
  ) {
    this.#channel = new BroadcastChannel(key);
    this.#channel.onmessage = (event: MessageEvent<HolderMessage | HelloMessage>) => {
      const message = event.data;
      if (message.kind === "hello") this.#holder?.announce();
      else receive(message);
    };
    void navigator.locks
      .request(key, { signal: this.#abort.signal }, () => {
        if (this.#closed) return undefined;
        this.#holder = new ConnectionHolder({ ...spec, lastEventId: lastEventId() }, (message) => {
          // A BroadcastChannel does not deliver to its own sender: this tab gets it directly.
          this.#channel.postMessage(message);
          receive(message);
        });
        // Held until close(), or until the tab goes away and the browser releases it.
        return new Promise<void>((resolve) => {
          this.#release = resolve;
        });
      })
      .catch(() => {
        // AbortError: close() came while this tab waited in the queue.
      });
    // The leader, if there is one, answers with where the connection stands.
    this.#channel.postMessage({ kind: "hello" } satisfies HelloMessage);
  }

  /** True while this tab holds the connection. */
  get leading(): boolean {
    return this.#holder !== undefined;
  }

  /** Leaves: stops the connection if this tab held it, so that the next tab takes over. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#holder?.close();
    this.#holder = undefined;
    this.#release?.();
    this.#channel.close();
  }
}
