/**
 * Every core: `ssehub serve --workers N` runs a primary that orders events (the one sequencer)
 * and forks N workers that serve the port, each a full hub joined to the primary by the cluster
 * bus. The serve command uses this folder; the library's users compose a hub with createHub
 * and a bus of their choice instead.
 * @module
 */
import cluster from "node:cluster";
import diagnosticsChannel from "node:diagnostics_channel";
import { type IpcChannel, joinClusterBus } from "../bus/cluster-bus.js";
import { type HubPlugins, INTERNALS_FALLBACK_CHANNEL, type InternalsFallback } from "../index.js";
import { type GatherChannel, WorkerSnapshots } from "./gather.js";

export {
  DEFAULT_GATHER_TIMEOUT_MS,
  type GatherChannel,
  type GatherWorker,
  SnapshotGatherer,
  type SnapshotProvider,
  type WorkerSnapshot,
  WorkerSnapshots,
} from "./gather.js";
export {
  type ClusterPrimaryOptions,
  type DataDirFacts,
  logDataDirOpened,
  runClusterPrimary,
} from "./primary.js";

/** What a worker reads of the serve command's options: its hub's history limits, the workers. */
export interface ClusterWorkerOptions {
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
  /** Workers of the cluster: the primary hands each about 1/workers of the connections. */
  readonly workers: number;
}

/**
 * The plugins of a worker's hub: the cluster bus to the primary, a history loaded with the
 * primary's copy of the recent events, so that the worker resumes clients that come to it
 * from a worker that died, and its share of the subscribers (the primary deals connections
 * round-robin), by which write coalescing holds as long as one process would. Call it before
 * the server listens. Rejects when the primary is gone.
 */
export async function joinClusterAsWorker(options: ClusterWorkerOptions): Promise<HubPlugins> {
  const { bus, history } = await joinClusterBus(process as unknown as IpcChannel, options);
  return { bus, history, fanOutShare: 1 / Math.max(1, options.workers) };
}

/**
 * This worker's side of gathering snapshots from every worker (gather.ts): provide a name, and
 * gather one from all. Call it once in a cluster worker.
 */
export function joinWorkerSnapshots(
  channel: GatherChannel = process as unknown as GatherChannel,
): WorkerSnapshots {
  return new WorkerSnapshots(channel);
}

/** The worker's process as primaryGone sees it: where `disconnect` comes from. */
export interface DisconnectSource {
  prependOnceListener(event: "disconnect", listener: () => void): unknown;
}

/**
 * Resolves when this worker's primary is gone (its IPC channel closed): the worker should then
 * shut down gracefully. Call it once, early, in a cluster worker.
 *
 * Node's cluster module makes a worker exit at once (code 0) when its channel closes without
 * the worker having asked for it (lib/internal/cluster/child.js, Node 20 and 24), which ends
 * every stream without the `retry:` hint. This listener runs first and marks the disconnect as
 * expected, so the worker can close its streams itself. That flag (`exitedAfterDisconnect`) is
 * an internal of Node's worker object: when this Node's worker has no such field, the worker
 * keeps Node's own exit, and the fallback is reported on INTERNALS_FALLBACK_CHANNEL
 * (`cluster-disconnect`), so that /metrics shows it.
 * @param worker this process's cluster worker (for tests)
 * @param source where `disconnect` comes from (for tests)
 */
export function primaryGone(
  worker: object | undefined = cluster.worker,
  source: DisconnectSource = process,
): Promise<void> {
  return new Promise((resolve) => {
    source.prependOnceListener("disconnect", () => {
      const state = worker as { exitedAfterDisconnect?: boolean } | undefined;
      if (state === undefined) return;
      if (!("exitedAfterDisconnect" in state)) {
        diagnosticsChannel.channel(INTERNALS_FALLBACK_CHANNEL).publish({
          feature: "cluster-disconnect",
          reason: "no exitedAfterDisconnect on the worker",
        } satisfies InternalsFallback);
        return;
      }
      if (state.exitedAfterDisconnect !== true) {
        state.exitedAfterDisconnect = true;
        resolve();
      }
    });
  });
}
