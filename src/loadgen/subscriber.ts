/**
 * One subscriber of a worker: its socket, its StreamScanner and its sequence accounting, and,
 * on the sampled subscribers, the full SseParser that cross-checks the scanner. The pool that
 * owns it (subscriber-pool.ts) does everything that involves more than one subscriber.
 * @module
 */
import type { Socket } from "node:net";
import { RESET_EVENT } from "../protocol/hub-events.js";
import { SseParser } from "../protocol/parse.js";
import { parsePayload } from "./payload.js";
import { SeqTracker } from "./seq-tracker.js";
import { type ScanHandler, StreamScanner } from "./stream-scanner.js";

/** What a subscriber needs from the pool that owns it. */
export interface SubscriberHost {
  /** Keep the last event id, for Last-Event-ID on reconnect. */
  readonly trackIds: boolean;
  /** Read the hub's notices (`ssehub-reset`) and report them with recordReset. */
  readonly trackNotices: boolean;
  /** Foreign events of the phase, counted by the pool. */
  foreign: number;
  /** The response head of `sub` arrived with `status`. */
  onHead(sub: Subscriber, status: number): void;
  /** The tracker slot of `stream` for `sub`, or -1 when the subscriber does not follow it. */
  slotOf(sub: Subscriber, stream: number): number;
  /** An event sent at `sentUs` arrived at `sub` (latency histogram, recovery after a mark). */
  recordDelivery(sentUs: number, sub: Subscriber): void;
  /** A `ssehub-reset` notice arrived, with the reason it gave ("" when none could be read). */
  recordReset(reason: string): void;
}

/**
 * The URL that subscriber `index` connects to first, of `urlCount`: round robin over the
 * subscribers' global indexes (i mod n), so every URL gets the same share within one, however
 * the subscribers are split over worker processes.
 */
export function firstUrlIndex(index: number, urlCount: number): number {
  return index % urlCount;
}

/**
 * The URL a reconnect goes to: the one after `current`, wrapping around. With several nodes of
 * one hub, a subscriber thus resumes with its Last-Event-ID on another node than the one that
 * gave it that id.
 */
export function nextUrlIndex(current: number, urlCount: number): number {
  return (current + 1) % urlCount;
}

/** Subscriber states. */
export const IDLE = 0;
export const CONNECTING = 1;
export const OPEN = 2;
export const CLOSED = 3;

/** Counts of the full parser beside the scanner, for one subscriber. */
class Verifier {
  readonly parser: SseParser;
  events = 0;
  foreign = 0;
  seqSum = 0;

  constructor() {
    this.parser = new SseParser({
      onEvent: (event) => {
        const payload = parsePayload(event.data);
        if (payload === undefined) {
          this.foreign++;
        } else {
          this.events++;
          this.seqSum += payload.seq;
        }
      },
    });
  }
}

/** One subscriber: its socket, scanner and sequence accounting. */
export class Subscriber implements ScanHandler {
  readonly index: number;
  readonly pool: SubscriberHost;
  readonly scanner: StreamScanner;
  readonly tracker: SeqTracker;
  /** The first topic of this subscriber (`topic` mode). */
  readonly topicBase: number;
  readonly verifier: Verifier | undefined;
  /** The URL (index into the pool's targets) of the current or next connection. */
  urlIndex: number;
  socket: Socket | undefined;
  state = IDLE;
  /** Set once a first 200 arrived. */
  wasOpen = false;
  /** Counted in the current phase. */
  inPhase = false;
  /** Closed by us on purpose: its close event is not a drop. */
  closing = false;
  startedUs = 0;
  /** The last connect failed because its local port was taken. */
  portTaken = false;
  /** Ports tried in a row for the current connect. */
  portAttempts = 0;
  /** Monotonic µs of the first event sent after the phase's mark that arrived; 0: none yet. */
  firstAfterMarkUs = 0;
  /** The scanner's own counts, compared with the verifier's. */
  events = 0;
  foreign = 0;
  seqSum = 0;

  constructor(
    pool: SubscriberHost,
    index: number,
    slots: number,
    topicBase: number,
    verify: boolean,
    urlIndex = 0,
  ) {
    this.pool = pool;
    this.index = index;
    this.urlIndex = urlIndex;
    this.topicBase = topicBase;
    this.tracker = new SeqTracker(slots);
    this.verifier = verify ? new Verifier() : undefined;
    const verifier = this.verifier;
    this.scanner = new StreamScanner(this, {
      trackIds: pool.trackIds,
      trackNotices: pool.trackNotices,
      tap: verifier === undefined ? undefined : (bytes) => verifier.parser.feed(bytes),
    });
  }

  onHead(status: number): void {
    this.pool.onHead(this, status);
  }

  onEvent(stream: number, seq: number, sentUs: number): void {
    const slot = this.pool.slotOf(this, stream);
    if (slot < 0) {
      this.onForeignEvent();
      return;
    }
    this.events++;
    this.seqSum += seq;
    this.tracker.record(slot, seq);
    this.pool.recordDelivery(sentUs, this);
  }

  onForeignEvent(): void {
    this.foreign++;
    this.pool.foreign++;
  }

  onNotice(type: string, data: string): void {
    if (type !== RESET_EVENT) return;
    let reason = "";
    try {
      const parsed: unknown = JSON.parse(data);
      if (typeof parsed === "object" && parsed !== null && "reason" in parsed) {
        reason = String(parsed.reason);
      }
    } catch {
      // A reset whose data is not JSON: counted, with no reason.
    }
    this.pool.recordReset(reason);
  }
}
