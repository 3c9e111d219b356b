/**
 * Every core: `ssehub serve --workers N` runs a primary that orders events (the one sequencer)
 * and forks N workers that serve the port, each a full hub joined to the primary by the cluster
 * bus. The serve command uses this folder; the library's users compose a hub with createHub
 * and a bus of their choice instead.
 * @module
 */
import {
  CLUSTER_EPOCH_ENV,
  CLUSTER_SEQ_ENV,
  ClusterBus,
  type IpcChannel,
} from "../bus/cluster-bus.js";
import type { HubPlugins } from "../index.js";

export { type ClusterPrimaryOptions, runClusterPrimary } from "./primary.js";

/** Environment variables the primary sets for its workers (not options: never warned about). */
export const CLUSTER_ENV_NAMES: readonly string[] = [CLUSTER_EPOCH_ENV, CLUSTER_SEQ_ENV];

/** The plugins of a worker's hub: the cluster bus to the primary, joined where it said. */
export function clusterWorkerPlugins(): HubPlugins {
  return { bus: ClusterBus.fromEnv(process.env, process as unknown as IpcChannel) };
}
