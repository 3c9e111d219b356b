/**
 * One connection for every tab of an origin: browsers allow six HTTP/1.1 connections per
 * origin, so a page open in seven tabs, each with its own stream, would stall. Tabs that ask
 * for the same hub URL, topics and headers share one connection, held by a SharedWorker where
 * the app provides one, else by a leader tab elected over Web Locks and BroadcastChannel.
 *
 * Why one connection per set of topics rather than one for the union of all tabs' topics: an
 * event on the wire does not name its topic, so a union connection could not tell which tab
 * an event is for, and every tab opening a new set would reconnect all the others.
 * @module
 */
import { GAP_EVENT } from "../protocol/hub-events.js";
import type { ParsedEvent } from "../protocol/parse.js";
import {
  type ClientState,
  checkClientOptions,
  SsehubClient,
  type SsehubClientOptions,
} from "./client.js";
import { SsehubClientError } from "./client-error.js";
import { canElectLeader, LeaderTab } from "./leader-tab.js";
import { reportHandlerError, routeEvent } from "./route-event.js";
import {
  type HolderMessage,
  randomName,
  type SharedConnectionSpec,
  sharedConnectionKey,
  type WorkerRequest,
} from "./shared-messages.js";

/** How a shared client gets its events: see {@link SharedSsehubClient.transport}. */
export type SharedTransport = "shared-worker" | "leader-tab" | "own-connection";

/** Options of {@link createSharedClient}: those of a client, but `fetch`, and these. */
export interface SharedClientOptions extends Omit<SsehubClientOptions, "fetch"> {
  /**
   * The SharedWorker that holds the connection: the URL of the script
   * (`ssehub/client/shared-worker`, served by the app from the page's origin, as a module), or
   * a function that creates the worker (for bundlers, which find
   * `new SharedWorker(new URL(...), { type: "module" })` in your code). Unset, or where the
   * browser has no SharedWorker: a leader tab holds the connection.
   */
  readonly sharedWorker?: string | URL | (() => SharedWorker) | undefined;
  /**
   * Names the shared connections of this app, so that two apps on one origin never share
   * one. Tabs share a connection only when name, hub URL, topics and headers are all equal.
   * @default "ssehub"
   */
  readonly name?: string | undefined;
  /**
   * How long the SharedWorker may stay silent after this tab subscribed before it is taken as
   * not loading, in ms: the tab then shares through a leader tab instead. A loaded worker
   * answers at once; this covers a script that neither loads nor fails (a request that hangs,
   * an `error` event the browser never fires).
   * @default 10000
   */
  readonly sharedWorkerTimeoutMs?: number | undefined;
}

/** Default of SharedClientOptions.sharedWorkerTimeoutMs. */
const WORKER_SILENCE_MS = 10_000;

/** Ids remembered per tab to drop the events that a takeover's resume brings twice. */
const RECENT_IDS = 256;

/**
 * A subscription whose connection is shared by every tab of the origin that subscribes with
 * the same hub URL, topics and headers. The same callbacks and members as an
 * {@link SsehubClient}: each tab gets every event of its topics, in order, from the moment it
 * subscribed, and reset and gap notices as its own client would.
 */
export class SharedSsehubClient {
  readonly #options: SharedClientOptions;
  readonly #url: string;
  #transport: SharedTransport;
  /** True once the SharedWorker spoke: from then on a worker error is not a failed load. */
  #heardFromWorker = false;
  /** Stops waiting for the SharedWorker's first word (see sharedWorkerTimeoutMs). */
  #stopWorkerTimer: (() => void) | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #state: ClientState = "connecting";
  #lastEventId: string;
  /** True once this tab got the connection's status or an open: it knows where it stands. */
  #joined = false;
  /** The ids of the last events handed to the app, oldest first, each with its holder. */
  readonly #recentIds = new Map<string, string>();
  #leaderTab: LeaderTab | undefined;
  #port: MessagePort | undefined;
  #releaseTabLock: (() => void) | undefined;
  #ownClient: SsehubClient | undefined;
  #onPageHide: ((event: PageTransitionEvent) => void) | undefined;

  /** Checks the options, then joins or opens the shared connection. */
  constructor(options: SharedClientOptions) {
    const checked = checkClientOptions(options);
    this.#options = options;
    this.#url = checked.url;
    this.#lastEventId = checked.lastEventId;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const location = (globalThis as { location?: { href?: string } }).location?.href;
    const spec: SharedConnectionSpec = {
      // Absolute: the worker would resolve a relative URL against its own script.
      url: new URL(options.url, location).href,
      topics: [...options.topics],
      lastEventId: checked.lastEventId,
      headers: { ...options.headers },
      backoffBaseMs: options.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs,
    };
    const key = sharedConnectionKey(options.name ?? "ssehub", spec);
    const worker = options.sharedWorker;
    if (worker !== undefined && typeof SharedWorker === "function") {
      this.#transport = "shared-worker";
      this.#joinWorker(worker, key, spec);
    } else {
      this.#transport = this.#shareWithoutWorker(key, spec);
    }
  }

  /** Joins the leader tab's connection where the browser can elect one, else opens its own. */
  #shareWithoutWorker(key: string, spec: SharedConnectionSpec): SharedTransport {
    if (canElectLeader()) {
      this.#leaderTab = new LeaderTab(
        key,
        { ...spec, lastEventId: this.#lastEventId },
        () => this.#lastEventId,
        (message) => this.#receive(message),
      );
      return "leader-tab";
    }
    this.#ownClient = new SsehubClient({
      ...spec,
      lastEventId: this.#lastEventId,
      onEvent: (event) => this.#receive({ kind: "event", event, holder: "" }),
      onOpen: () => this.#receive({ kind: "open" }),
      onError: (error) => this.#receive({ kind: "error", error }),
    });
    return "own-connection";
  }

  /**
   * How this tab gets its events: from the SharedWorker, from the leader tab (which may be
   * this one), or over a connection of its own where the browser can share none (no
   * SharedWorker given or available, and no BroadcastChannel or Web Locks). A worker script
   * that fails to load turns `shared-worker` into one of the others.
   */
  get transport(): SharedTransport {
    return this.#transport;
  }

  /** True while this tab holds the shared connection for the others (transport leader-tab). */
  get leading(): boolean {
    return this.#leaderTab?.leading ?? this.#transport === "own-connection";
  }

  /** The id of the last event this tab got; the shared connection resumes from it on takeover. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** `connecting` (also while waiting to reconnect), `open`, or `closed` for good. */
  get state(): ClientState {
    return this.#state;
  }

  /** Settles once this tab's subscription stopped for good: close(), or a refusal. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** The URL the shared connection requests. */
  get url(): string {
    return this.#url;
  }

  /**
   * Stops this tab's subscription. The connection goes on for the other tabs; when this tab
   * held it, another takes over. Idempotent.
   */
  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#stopWorkerTimer?.();
    this.#leaderTab?.close();
    this.#ownClient?.close();
    if (this.#port !== undefined) {
      this.#port.postMessage({ kind: "unsubscribe" } satisfies WorkerRequest);
      this.#port.close();
    }
    this.#releaseTabLock?.();
    if (this.#onPageHide !== undefined) {
      globalThis.removeEventListener?.("pagehide", this.#onPageHide);
    }
    this.#resolveClosed();
  }

  #joinWorker(
    worker: string | URL | (() => SharedWorker),
    key: string,
    spec: SharedConnectionSpec,
  ): void {
    const shared =
      typeof worker === "function"
        ? worker()
        : new SharedWorker(worker, { type: "module", name: "ssehub" });
    const port = shared.port;
    this.#port = port;
    port.onmessage = (event: MessageEvent<HolderMessage>) => {
      if (!this.#heardFromWorker) this.#stopWorkerTimer?.();
      this.#heardFromWorker = true;
      this.#receive(event.data);
    };
    const giveUpOnWorker = (): void => {
      clearTimeout(silence);
      // The script did not load (a wrong URL, a server that does not serve it as JavaScript):
      // share without it rather than wait forever.
      if (this.#heardFromWorker || this.#state === "closed" || this.#port !== port) return;
      this.#releaseTabLock?.();
      this.#releaseTabLock = undefined;
      port.close();
      this.#port = undefined;
      this.#transport = this.#shareWithoutWorker(key, spec);
    };
    shared.onerror = giveUpOnWorker;
    const silence = setTimeout(
      giveUpOnWorker,
      this.#options.sharedWorkerTimeoutMs ?? WORKER_SILENCE_MS,
    );
    this.#stopWorkerTimer = () => clearTimeout(silence);
    const locks = globalThis.navigator?.locks;
    if (typeof locks?.request !== "function") {
      port.postMessage({
        kind: "subscribe",
        key,
        spec,
        tabLock: undefined,
      } satisfies WorkerRequest);
      // Without Web Locks the worker cannot see a tab go: say so while the page can. A page
      // kept in the back-forward cache stays subscribed, to go on where it was when it returns.
      this.#onPageHide = (event: PageTransitionEvent) => {
        if (!event.persisted) this.close();
      };
      // Optional: a worker or another runtime has no pages to hide.
      globalThis.addEventListener?.("pagehide", this.#onPageHide);
      return;
    }
    // The worker learns that this tab is gone when it gets this lock, which the tab holds
    // from before it subscribes until it closes or dies.
    const tabLock = `${key}:tab:${randomName()}`;
    void locks.request(tabLock, () => {
      if (this.#state === "closed" || this.#port !== port) return undefined;
      port.postMessage({ kind: "subscribe", key, spec, tabLock } satisfies WorkerRequest);
      return new Promise<void>((resolve) => {
        this.#releaseTabLock = resolve;
      });
    });
  }

  /** A message of the connection, from whichever side holds it. */
  #receive(message: HolderMessage | { kind: "error"; error: SsehubClientError }): void {
    if (this.#state === "closed") return;
    switch (message.kind) {
      case "event":
        this.#deliver(message.event, message.holder);
        return;
      case "open":
        this.#joined = true;
        this.#state = "open";
        this.#call(this.#options.onOpen);
        return;
      case "status":
        if (message.lastEventId !== "") this.#lastEventId = message.lastEventId;
        this.#state = message.state === "closed" ? "connecting" : message.state;
        if (!this.#joined) {
          this.#joined = true;
          // This tab joined a connection that was already open: to the app, it just opened.
          if (message.state === "open") this.#call(this.#options.onOpen);
        }
        return;
      case "error": {
        const { error } = message;
        const report =
          error instanceof SsehubClientError
            ? error
            : new SsehubClientError(error.code, error.message, error);
        if (report.willReconnect) this.#state = "connecting";
        this.#callWith(this.#options.onError, report);
        if (!report.willReconnect) this.close();
        return;
      }
    }
  }

  /** Hands an event to the app, unless this tab got it already from another holder. */
  #deliver(event: ParsedEvent, holder: string): void {
    const id = event.lastEventId;
    // After a takeover, the new holder resumes from the last id it had got, and the old
    // leader's last broadcasts may still be on their way to this tab: the same event can come
    // from both. An id seen twice from one holder is no such copy (a publisher may reuse an
    // id), and a gap notice carries no id of its own.
    if (id !== "" && event.type !== GAP_EVENT) {
      const from = this.#recentIds.get(id);
      if (from !== undefined && from !== holder) return;
      this.#recentIds.delete(id);
      this.#recentIds.set(id, holder);
      // A Map iterates in insertion order: the first key is the oldest.
      if (this.#recentIds.size > RECENT_IDS) {
        this.#recentIds.delete(this.#recentIds.keys().next().value as string);
      }
    }
    this.#lastEventId = id;
    routeEvent(this.#options, event);
  }

  #call(handler: (() => void) | undefined): void {
    this.#callWith(handler && (() => handler()), undefined);
  }

  #callWith<T>(handler: ((value: T) => void) | undefined, value: T): void {
    if (handler === undefined) return;
    try {
      handler(value);
    } catch (error) {
      reportHandlerError(error);
    }
  }
}

/**
 * Subscribes to topics of a hub over one connection shared by every tab of the origin that
 * subscribes alike: shorthand for `new SharedSsehubClient(options)`.
 * @example
 * ```ts
 * const client = createSharedClient({
 *   url: "https://hub.example",
 *   topics: ["orders"],
 *   sharedWorker: "/assets/ssehub/client/shared-worker.js",
 *   onEvent: (event) => render(JSON.parse(event.data)),
 * });
 * ```
 */
export function createSharedClient(options: SharedClientOptions): SharedSsehubClient {
  return new SharedSsehubClient(options);
}
