/**
 * The one connection of a shared subscription, held by a SharedWorker or by the leader tab: an
 * SsehubClient whose every event, open and error goes out as a message to the tabs.
 * @module
 */
import { SsehubClient } from "./client.js";
import type { SsehubClientError } from "./client-error.js";
import {
  type ErrorFields,
  type HolderMessage,
  randomName,
  type SharedConnectionSpec,
} from "./shared-messages.js";

/** The plain fields of an error, for postMessage. */
function errorFields(error: SsehubClientError): ErrorFields {
  return {
    code: error.code,
    message: error.message,
    willReconnect: error.willReconnect,
    status: error.status,
    hubCode: error.hubCode,
    hubMessage: error.hubMessage,
  };
}

/**
 * Opens the connection at once and tells `send` everything that happens to it, starting with
 * a `status` message (so that the tabs learn a new holder took over). Reset and gap notices go
 * out as events: each tab routes them to its own handlers. A refusal goes out as an error with
 * `willReconnect: false`, after which the holder is closed.
 */
export class ConnectionHolder {
  readonly #client: SsehubClient;
  readonly #send: (message: HolderMessage) => void;

  /** Throws SSEHUB_ERR_OPTIONS_INVALID for options the client refuses. */
  constructor(spec: SharedConnectionSpec, send: (message: HolderMessage) => void) {
    this.#send = send;
    const holder = randomName();
    // The client reports nothing before its first await, so the status goes out first.
    this.#client = new SsehubClient({
      ...spec,
      onEvent: (event) => send({ kind: "event", event, holder }),
      onOpen: () => send({ kind: "open" }),
      onError: (error) => send({ kind: "error", error: errorFields(error) }),
    });
    this.announce();
  }

  /** Where the connection stands now, for a tab that joins. */
  status(): HolderMessage {
    return { kind: "status", state: this.#client.state, lastEventId: this.#client.lastEventId };
  }

  /** Tells `send` where the connection stands now. */
  announce(): void {
    this.#send(this.status());
  }

  /** Settles once the connection stopped for good (close(), or a refusal). */
  get closed(): Promise<void> {
    return this.#client.closed;
  }

  /** Stops the connection. */
  close(): void {
    this.#client.close();
  }
}
