/**
 * Every core: `ssehub serve --workers N` runs a primary that orders events (the one sequencer)
 * and forks N workers that serve the port, each a full hub joined to the primary by the cluster
 * bus. The serve command uses this folder; the library's users compose a hub with createHub
 * and a bus of their choice instead.
 * @module
 */
import cluster from "node:cluster";
import { type IpcChannel, joinClusterBus } from "../bus/cluster-bus.js";
import type { HubPlugins } from "../index.js";

export { type ClusterPrimaryOptions, runClusterPrimary } from "./primary.js";

/** What a worker reads of the serve command's options: its hub's history limits. */
export interface ClusterWorkerOptions {
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
}

/**
 * The plugins of a worker's hub: the cluster bus to the primary, and a history loaded with the
 * primary's copy of the recent events, so that the worker resumes clients that come to it
 * from a worker that died. Call it before the server listens. Rejects when the primary is gone.
 */
export async function joinClusterAsWorker(options: ClusterWorkerOptions): Promise<HubPlugins> {
  const { bus, history } = await joinClusterBus(process as unknown as IpcChannel, options);
  return { bus, history };
}

/**
 * Resolves when this worker's primary is gone (its IPC channel closed): the worker should then
 * shut down gracefully. Call it once, early, in a cluster worker.
 *
 * Node's cluster module makes a worker exit at once (code 0) when its channel closes without
 * the worker having asked for it (lib/internal/cluster/child.js, Node 20 and 24), which ends
 * every stream without the `retry:` hint. This listener runs first and marks the disconnect as
 * expected, so the worker can close its streams itself.
 */
export function primaryGone(): Promise<void> {
  return new Promise((resolve) => {
    process.prependOnceListener("disconnect", () => {
      const worker = cluster.worker as { exitedAfterDisconnect?: boolean } | undefined;
      if (worker !== undefined && worker.exitedAfterDisconnect !== true) {
        worker.exitedAfterDisconnect = true;
        resolve();
      }
    });
  });
}
