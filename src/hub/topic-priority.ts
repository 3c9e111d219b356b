/**
 * Priority topics (DESIGN principle 6): the operator names the topics whose events must not
 * wait behind the fan-out of others, with option `priorityTopics`. Each entry is a topic, or
 * a prefix followed by `*` (`alerts/*` names every topic that starts with `alerts/`).
 *
 * The hub gives those topics an express lane (dispatcher.ts): a subscriber whose topics are
 * all priority topics is served by the express dispatcher, which is never held by write
 * coalescing or the write delay and whose due work runs before each slice of the normal
 * fan-out. A subscriber that mixes priority and other topics, or gives patterns, stays in the
 * normal lane for all of its events: one lane per subscriber is what keeps its events in seq
 * order and each once.
 *
 * Priority belongs to topics, set by the operator, not to subscriptions: a client that could
 * ask for it would ask for it always.
 * @module
 */

/** Which topics are priority topics. */
export class TopicPriority {
  readonly #exact: ReadonlySet<string>;
  readonly #prefixes: readonly string[];

  /** @param entries topics, or prefixes followed by `*` */
  constructor(entries: readonly string[]) {
    const exact = new Set<string>();
    const prefixes: string[] = [];
    for (const entry of entries) {
      if (entry.endsWith("*")) prefixes.push(entry.slice(0, -1));
      else exact.add(entry);
    }
    this.#exact = exact;
    this.#prefixes = prefixes;
  }

  /** False when no topic is a priority topic: the hub then has one lane and checks nothing. */
  get isEnabled(): boolean {
    return this.#exact.size > 0 || this.#prefixes.length > 0;
  }

  /** True when `topic` is a priority topic. */
  isPriority(topic: string): boolean {
    if (this.#exact.has(topic)) return true;
    for (const prefix of this.#prefixes) if (topic.startsWith(prefix)) return true;
    return false;
  }

  /** True when one of `topics` is a priority topic (an event for the express lane). */
  anyPriority(topics: readonly string[]): boolean {
    for (const topic of topics) if (this.isPriority(topic)) return true;
    return false;
  }

  /** True when `topics` is not empty and each is a priority topic (a subscriber for it). */
  allPriority(topics: readonly string[]): boolean {
    if (topics.length === 0) return false;
    for (const topic of topics) if (!this.isPriority(topic)) return false;
    return true;
  }
}
