/**
 * The worker process of the load tool, started by WorkerGroup with child_process.fork: it holds
 * a share of the subscribers (a SubscriberPool) and follows the controller's messages
 * (messages.ts). It exits when the controller says `close` or goes away.
 * @module
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { ControllerMessage, WorkerMessage } from "./messages.js";
import { SubscriberPool } from "./subscriber-pool.js";

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

function fatal(error: unknown): void {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  void send({ type: "fatal", message }).then(() => process.exit(1));
}

let pool: SubscriberPool | undefined;
let statsTimer: NodeJS.Timeout | undefined;
/** The sampling interval of the event-loop delay monitor, in ms. */
const LOOP_DELAY_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

/** p99 event-loop delay in ms: the monitor's samples include its own interval, taken off here. */
function loopDelayP99Ms(): number {
  if (loopDelay.count === 0) return 0;
  return Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS);
}

async function handle(message: ControllerMessage): Promise<void> {
  switch (message.type) {
    case "init": {
      pool = new SubscriberPool(message.config);
      const current = pool;
      statsTimer = setInterval(() => {
        void send({ type: "stats", stats: current.stats() });
      }, message.config.statsIntervalMs);
      loopDelay.enable();
      return;
    }
    case "connect": {
      const report = await pool!.connectAll();
      await send({ type: "connected", report });
      return;
    }
    case "phase-start":
      pool!.startPhase(message.base);
      loopDelay.reset();
      await send({ type: "phase-started" });
      return;
    case "phase-end": {
      const report = await pool!.endPhase(
        message.final,
        message.drainMs,
        loopDelayP99Ms(),
        message.refused,
      );
      await send({ type: "phase-result", report });
      return;
    }
    case "churn":
      pool!.churn(message.ratePerSec);
      return;
    case "mark":
      pool!.mark(message.atUs);
      return;
    case "close": {
      if (statsTimer !== undefined) clearInterval(statsTimer);
      const stats = pool === undefined ? undefined : await pool.close();
      if (stats !== undefined) await send({ type: "closed", stats });
      process.exit(0);
    }
  }
}

process.on("message", (message: ControllerMessage) => {
  handle(message).catch(fatal);
});
// The controller went away (killed, crashed): nothing left to report to.
process.on("disconnect", () => process.exit(0));
process.on("uncaughtException", fatal);
void send({ type: "ready" });
