/**
 * The SharedWorker script of shared subscriptions (`createSharedClient` with `sharedWorker`):
 * one connection per key (hub URL, topics, headers) for every tab of the origin that asks for
 * it, each event posted to each tab's port. A worker must come from the page's own origin, so
 * the app serves this module (and the modules it imports, beside it) itself; see docs/client.md.
 * @module
 */
import { ConnectionHolder } from "./connection-holder.js";
import type { HolderMessage, WorkerRequest } from "./shared-messages.js";

/** One shared connection and the ports of the tabs it serves. */
interface SharedConnection {
  readonly key: string;
  readonly holder: ConnectionHolder;
  readonly ports: Set<MessagePort>;
}

/** The parts of a worker's global scope used here (the DOM typings do not describe workers). */
interface WorkerScope {
  onconnect: ((event: MessageEvent) => void) | null;
  readonly navigator?: { readonly locks?: LockManager | undefined } | undefined;
}

const connections = new Map<string, SharedConnection>();
/** Which connection each port subscribed to: a port serves one subscription of one tab. */
const subscriptionOf = new Map<MessagePort, SharedConnection>();

function post(ports: Iterable<MessagePort>, message: HolderMessage): void {
  for (const port of ports) port.postMessage(message);
}

function subscribe(port: MessagePort, request: Extract<WorkerRequest, { kind: "subscribe" }>) {
  if (subscriptionOf.has(port)) return;
  let connection = connections.get(request.key);
  if (connection === undefined) {
    const ports = new Set<MessagePort>();
    const holder = new ConnectionHolder(request.spec, (message) => post(ports, message));
    const created: SharedConnection = { key: request.key, holder, ports };
    connection = created;
    connections.set(request.key, created);
    // A refusal stops the connection for good: the next tab to ask opens a new one.
    void holder.closed.then(() => forget(created));
  }
  connection.ports.add(port);
  subscriptionOf.set(port, connection);
  port.postMessage(connection.holder.status());
  const locks = (globalThis as unknown as WorkerScope).navigator?.locks;
  if (request.tabLock !== undefined && locks !== undefined) {
    // The tab holds this lock while it lives: getting it means the tab is gone, even when it
    // could not say so (a crash, a killed process).
    void locks.request(request.tabLock, () => unsubscribe(port));
  }
}

function unsubscribe(port: MessagePort): void {
  const connection = subscriptionOf.get(port);
  if (connection === undefined) return;
  subscriptionOf.delete(port);
  connection.ports.delete(port);
  port.close();
  if (connection.ports.size === 0) {
    connection.holder.close();
    forget(connection);
  }
}

function forget(connection: SharedConnection): void {
  if (connections.get(connection.key) === connection) connections.delete(connection.key);
}

(globalThis as unknown as WorkerScope).onconnect = (event) => {
  const port = event.ports[0];
  if (port === undefined) return;
  port.onmessage = (message: MessageEvent<WorkerRequest>) => {
    const request = message.data;
    if (request.kind === "subscribe") subscribe(port, request);
    else if (request.kind === "unsubscribe") unsubscribe(port);
  };
};
