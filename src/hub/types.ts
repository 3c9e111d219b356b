/**
 * The hub's public types: what its methods take and answer, what it reports, and the two words
 * of its own that a resume speaks (RESET_EVENT, EARLIEST). Apart from the Hub class, so that a
 * transport or a plug-in needs only these, not the class.
 * @module
 */
import type { Bus, BusRestartReason } from "../bus/bus.js";
import type { HistoryStore } from "../history/history-store.js";
import type { Sink } from "./sink.js";
import type { PrivateAccess, TopicPattern } from "./subscriber.js";

export { RESET_EVENT, type ResetReason } from "../protocol/hub-events.js";

/**
 * The Last-Event-ID that asks for all the history kept (Mercure's `earliest`): replayed as far
 * back as history goes, with no reset for what it no longer holds.
 */
export const EARLIEST = "earliest";

/** What publish answers. */
export interface PublishResult {
  readonly id: string;
  readonly topics: readonly string[];
}

/** A subscription to open. */
export interface SubscribeRequest {
  readonly topics: readonly string[];
  /** Resume after this id (from the Last-Event-ID header or the lastEventId query parameter). */
  readonly lastEventId?: string | undefined;
  /**
   * Topic selectors besides `topics` (`*`, URI templates): the subscriber also gets every event
   * with a topic one of them matches. With patterns, `topics` may be empty.
   */
  readonly patterns?: readonly TopicPattern[] | undefined;
  readonly sink: Sink;
  /** Which private events the subscriber may receive; without it, public events only. */
  readonly access?: PrivateAccess | undefined;
}

/** An open subscription. */
export interface Subscription {
  readonly topics: readonly string[];
  readonly isClosed: boolean;
  /** Events written to the subscriber so far, replayed and live. */
  readonly eventsSent: number;
  /** Unregisters the subscriber; the sink is the caller's (it has usually closed already). */
  close(): void;
}

/** What the hub knows of one topic. */
export interface TopicInfo {
  readonly topic: string;
  readonly subscribers: number;
  readonly historySize: number;
  /** Id of the newest event published to the topic that history still knows of. */
  readonly lastEventId: string | null;
}

/** One page of Hub.topicsPage(): topics in name order after a cursor. */
export interface TopicPage {
  readonly topics: TopicInfo[];
  /**
   * The name of the last topic of this page when more follow (pass it as `after` for the next
   * page), else undefined.
   */
  readonly next: string | undefined;
}

/** Counters and gauges of the hub. */
export interface HubStats {
  /** Open subscriptions (connections). */
  readonly subscribers: number;
  /** Topic-subscriber pairs. */
  readonly subscriptions: number;
  /** Topics with a subscriber or history. */
  readonly topics: number;
  readonly eventsPublished: number;
  /** Events written to subscribers, one per event per subscriber. */
  readonly deliveries: number;
  readonly bytesWritten: number;
  readonly slowConsumerDisconnects: number;
  /** Events skipped under policy `drop`. */
  readonly slowConsumerDrops: number;
  /** Entries kept in history, summed over all topics: an event of two topics counts twice. */
  readonly historyEvents: number;
  /** Bytes of history's files on disk (`--data-dir`); 0 when history is not on disk. */
  readonly historyDiskBytes: number;
  /** Batches of events the history on disk refused to keep (their publishes answered 503). */
  readonly historyWriteFailures: number;
  /** Reset notices sent to resuming subscribers. */
  readonly resets: number;
  /** Events replaced under policy `conflate` (a newer event of the same key superseded them). */
  readonly slowConsumerConflated: number;
  /** Publishes refused because the hub was overloaded. */
  readonly publishesRefused: number;
}

/** Background conditions, reported as `status` events of the hub. */
export type HubStatus =
  | {
      /** The bus started over; every stream was ended so that its client resumes. */
      readonly type: "bus-restarted";
      readonly reason: BusRestartReason;
      readonly subscribersEnded: number;
    }
  | {
      /** A resume could not read history (its store is unreachable); the stream was ended. */
      readonly type: "resume-failed";
      readonly topics: readonly string[];
      readonly message: string;
    }
  | {
      readonly type: "slow-consumer-disconnected";
      readonly topics: readonly string[];
      readonly queuedBytes: number;
    }
  | {
      readonly type: "slow-consumer-dropping" | "slow-consumer-conflating";
      readonly topics: readonly string[];
      readonly queuedBytes: number;
    };

/** Implementations a hub plugs in; the defaults keep everything in this process. */
export interface HubPlugins {
  /** How events are ordered and shared with other hubs. Default: a LocalBus. */
  readonly bus?: Bus;
  /**
   * Where history is kept. Default: a MemoryHistory bounded by `historyMaxEvents` and
   * `historyMaxAgeMs`.
   */
  readonly history?: HistoryStore;
  /**
   * The share of the hub's subscribers this process serves: 1 for a hub alone (the default),
   * 1/N for each of N processes that split one hub's subscribers evenly (`--workers N`). Write
   * coalescing reckons its hold from the whole hub's cost (see write-coalescer.ts).
   */
  readonly fanOutShare?: number;
}
