/**
 * Which topic names the hub accepts. Names are opaque strings (Mercure uses URLs) of 1 to
 * `maxTopicLength` characters without white space or control characters, so that they travel
 * unchanged in query strings, paths, logs and metrics, and without a lone surrogate, which
 * UTF-8 cannot carry.
 * @module
 */
import { SsehubError } from "../errors.js";
import { isWellFormed } from "../protocol/field-rules.js";

// White space or a control character (C0, DEL or C1). Intended: topic names must be printable.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const FORBIDDEN = /[\s\u0000-\u001f\u007f-\u009f]/;

/** What a list of topics is checked for. */
export interface TopicRules {
  readonly maxTopicLength: number;
  readonly maxTopics: number;
  /** Names the action in messages: "subscribe" or "publish". */
  readonly action: "subscribe" | "publish";
}

/**
 * Checks every name and the count, and returns the names without duplicates, in first-seen
 * order. Throws SSEHUB_ERR_TOPIC_MISSING (no list, or an empty one), SSEHUB_ERR_TOPIC_INVALID
 * (not a list, or a bad name), or SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS /
 * SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS.
 */
export function checkTopicList(topics: unknown, rules: TopicRules): readonly string[] {
  if (topics !== undefined && !Array.isArray(topics)) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      `Cannot ${rules.action}: topics must be a list of topic names`,
    );
  }
  if (topics === undefined || topics.length === 0) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_MISSING",
      `Cannot ${rules.action}: name at least one topic`,
    );
  }
  const unique = [...new Set<unknown>(topics)];
  if (unique.length > rules.maxTopics) {
    throw new SsehubError(
      rules.action === "subscribe"
        ? "SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS"
        : "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS",
      `Cannot ${rules.action} to ${unique.length} topics: at most ${rules.maxTopics} are allowed`,
      { details: { limit: rules.maxTopics } },
    );
  }
  for (const topic of unique) assertValidTopic(topic, rules);
  return unique as string[];
}

function assertValidTopic(topic: unknown, rules: TopicRules): asserts topic is string {
  if (typeof topic !== "string") {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      `Cannot ${rules.action} to topic ${String(topic)}: a topic name must be a string`,
    );
  }
  if (topic.length === 0 || topic.length > rules.maxTopicLength) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      `Cannot ${rules.action} to topic ${JSON.stringify(topic.slice(0, 64))}: a topic name has 1 to ${rules.maxTopicLength} characters`,
    );
  }
  if (FORBIDDEN.test(topic)) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      `Cannot ${rules.action} to topic ${JSON.stringify(topic)}: topic names may not contain white space or control characters`,
    );
  }
  if (!isWellFormed(topic)) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      `Cannot ${rules.action} to topic ${JSON.stringify(topic)}: it holds a lone surrogate (an escape such as \\ud800 without its pair), which UTF-8 cannot carry`,
    );
  }
}
