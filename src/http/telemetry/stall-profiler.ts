/**
 * A CPU profile of the seconds after a stall (option `stallProfileMs`, off by default), taken
 * in the process through node:inspector, so that an operator sees what runs when the loop
 * blocks again: the stall already passed, but a loop that blocked once usually blocks again
 * under the same load. The profile is Chrome DevTools' `.cpuprofile` format (open it in the
 * Performance panel, or in VS Code).
 *
 * Bounded: one profile at a time, at most one start per PROFILE_COOLDOWN_MS, only the latest
 * kept, and a profile larger than MAX_PROFILE_BYTES is dropped. Profiling costs CPU while it
 * runs (V8 samples the stack about every millisecond), which is why it is off by default.
 * @module
 */
import { Session } from "node:inspector";
import type { StallReport } from "../../diagnostics/diagnosis.js";
import type { Logger } from "./logger.js";

/** Least time between the starts of two profiles, in ms. */
const PROFILE_COOLDOWN_MS = 60_000;
/** Largest profile kept, in bytes of JSON. */
const MAX_PROFILE_BYTES = 32 * 1_048_576;

/** The latest profile taken: when, how long, which stall started it. */
export interface StallProfileInfo {
  /** When profiling started, ISO 8601. */
  readonly startedAt: string;
  readonly durationMs: number;
  /** The stall that started it. */
  readonly trigger: StallReport;
  /** Size of the profile, in bytes of JSON. */
  readonly bytes: number;
}

/** Takes CPU profiles after stalls (see the module comment). */
export class StallProfiler {
  readonly #durationMs: number;
  readonly #logger: Logger;
  #session: Session | undefined;
  #lastStartAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #profile: string | undefined;
  #info: StallProfileInfo | undefined;
  #isClosed = false;

  /** @param durationMs how long each profile runs, in ms; 0: never profile */
  constructor(durationMs: number, logger: Logger) {
    this.#durationMs = durationMs;
    this.#logger = logger;
  }

  /** The latest profile's description, or undefined before the first. */
  get info(): StallProfileInfo | undefined {
    return this.#info;
  }

  /** The latest profile as `.cpuprofile` JSON, or undefined before the first. */
  get profile(): string | undefined {
    return this.#profile;
  }

  /** Starts a profile after `stall`, unless one runs, one started lately, or profiling is off. */
  onStall(stall: StallReport): void {
    if (this.#durationMs === 0 || this.#isClosed || this.#session !== undefined) return;
    const now = Date.now();
    if (now - this.#lastStartAt < PROFILE_COOLDOWN_MS) return;
    this.#lastStartAt = now;
    const session = new Session();
    this.#session = session;
    try {
      session.connect();
    } catch (error) {
      // Another inspector session may hold the profiler (a debugger attached): skip this one.
      this.#session = undefined;
      this.#logger.warn({ err: error }, "Cannot take a CPU profile after a stall");
      return;
    }
    const startedAt = new Date(now).toISOString();
    session.post("Profiler.enable", () => {
      session.post("Profiler.start", () => {
        this.#timer = setTimeout(() => this.#stop(startedAt, stall), this.#durationMs);
        this.#timer.unref();
      });
    });
  }

  /** Stops a profile under way (dropping it) and takes no more. */
  close(): void {
    this.#isClosed = true;
    clearTimeout(this.#timer);
    this.#session?.disconnect();
    this.#session = undefined;
  }

  #stop(startedAt: string, trigger: StallReport): void {
    const session = this.#session;
    if (session === undefined) return;
    const startedMs = Date.parse(startedAt);
    session.post("Profiler.stop", (error, result) => {
      session.disconnect();
      this.#session = undefined;
      if (error !== null || this.#isClosed) return;
      const json = JSON.stringify(result.profile);
      if (json.length > MAX_PROFILE_BYTES) {
        this.#logger.warn({ bytes: json.length }, "Dropped a CPU profile larger than 32 MiB");
        return;
      }
      this.#profile = json;
      this.#info = {
        startedAt,
        durationMs: Date.now() - startedMs,
        trigger,
        bytes: json.length,
      };
      this.#logger.info(
        { profile: this.#info },
        "Took a CPU profile after a stall: GET /admin/stalls/profile",
      );
    });
  }
}
