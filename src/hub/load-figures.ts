/**
 * The load of one hub as the admin diagnosis shows it: bytes waiting in subscribers' sockets,
 * the publish backlog, the topics with the most subscribers. One pass over the topics and the
 * subscribers when asked: for the admin endpoints, never for the hot path.
 * @module
 */
import type { Subscriber } from "./subscriber.js";
import { EXPRESS_LANE, type Lane, NORMAL_LANE, type TopicIndex } from "./topic-index.js";

const LANES: readonly Lane[] = [NORMAL_LANE, EXPRESS_LANE];

/** What HubLoadFigures reads of the hub. */
export interface LoadSource {
  readonly index: TopicIndex<Subscriber>;
  readonly patternSubscribers: ReadonlySet<Subscriber>;
  readonly publishBacklog: number;
  readonly maxPublishBacklog: number;
  readonly maxQueueBytes: number;
}

/** The load of one hub now (Hub.loadFigures). */
export interface HubLoadFigures {
  /** Events handed to the bus and not yet ordered, and the cap past which publishes get 503. */
  readonly publishBacklog: number;
  readonly maxPublishBacklog: number;
  /** Bytes waiting in subscribers' sockets, over all of them and at the worst one. */
  readonly queuedBytes: number;
  readonly maxQueuedBytes: number;
  /** Topics of the subscriber with the most bytes waiting (empty when none waits). */
  readonly maxQueuedTopics: readonly string[];
  /** Subscribers past half of `maxQueueBytes`. */
  readonly subscribersPastHalfCap: number;
  readonly maxQueueBytes: number;
  /** The topics with the most subscribers, most first. */
  readonly topTopics: readonly { readonly topic: string; readonly subscribers: number }[];
}

/** Keeps the `limit` largest of what it is offered, largest first (insertion: limit is small). */
function offer(
  top: { topic: string; subscribers: number }[],
  limit: number,
  topic: string,
  subscribers: number,
): void {
  if (top.length === limit && top[limit - 1]!.subscribers >= subscribers) return;
  let i = top.length === limit ? limit - 1 : top.length;
  if (top.length === limit) top.pop();
  while (i > 0 && top[i - 1]!.subscribers < subscribers) i--;
  top.splice(i, 0, { topic, subscribers });
}

/** Reads the load of the hub behind `source`, with the `limit` topics with most subscribers. */
export function loadFiguresOf(source: LoadSource, limit: number): HubLoadFigures {
  const top: { topic: string; subscribers: number }[] = [];
  const seen = new Set<Subscriber>();
  let queuedBytes = 0;
  let maxQueuedBytes = 0;
  let maxQueuedTopics: readonly string[] = [];
  let pastHalf = 0;
  const half = source.maxQueueBytes / 2;
  const visit = (subscriber: Subscriber): void => {
    if (seen.has(subscriber)) return;
    seen.add(subscriber);
    const queued = subscriber.sink.queuedBytes;
    queuedBytes += queued;
    if (queued > half) pastHalf++;
    if (queued > maxQueuedBytes) {
      maxQueuedBytes = queued;
      maxQueuedTopics = subscriber.topics;
    }
  };
  for (const topic of source.index.topics()) {
    if (limit > 0) offer(top, limit, topic, source.index.subscriberCountOf(topic));
    for (const lane of LANES) {
      const subscribers = source.index.subscribersOf(topic, lane);
      if (subscribers !== undefined) for (const subscriber of subscribers) visit(subscriber);
    }
  }
  for (const subscriber of source.patternSubscribers) visit(subscriber);
  return {
    publishBacklog: source.publishBacklog,
    maxPublishBacklog: source.maxPublishBacklog,
    queuedBytes,
    maxQueuedBytes,
    maxQueuedTopics,
    subscribersPastHalfCap: pastHalf,
    maxQueueBytes: source.maxQueueBytes,
    topTopics: top,
  };
}
