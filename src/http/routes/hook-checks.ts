/**
 * What the routes ask the backend hooks (access/backend-hook.ts), after the token checks of
 * the Authorizer: a hook refuses what the token allowed, never the other way round.
 *
 * - Subscribe: the backend gets the asked topics (or Mercure selectors); its allow may narrow
 *   them to a subset (`topics`) and grant private events (`private`: `true` for all of the
 *   stream's topics, or a list). The stream reads a private event when the token or the hook
 *   grants it.
 * - Publish: the backend gets every event (data past HOOK_DATA_BYTES cut, `dataTruncated`); its
 *   allow may replace an event's `data` or `topics` (`events`, one entry per event, in order).
 *   Rewritten topics go through the token check again, and the hub checks every field as usual.
 * @module
 */
import { SsehubError } from "../../errors.js";
import type { PublishInput } from "../../hub/publish-input.js";
import type { PrivateAccess } from "../../hub/subscriber.js";
import type { BackendHook, HookAnswer, HookRewrite } from "../access/backend-hook.js";
import type { RouteContext } from "./route.js";

/** How much of an event's data the publish hook sees, in UTF-16 units. */
export const HOOK_DATA_BYTES = 65_536;

/** What the subscribe hook left of a subscription. */
export interface HookedSubscription {
  /** The asked topics the stream may have (all of them without a hook). */
  readonly topics: readonly string[];
  /** The private events the stream may read: the token's, widened by the hook's. */
  readonly access: PrivateAccess | undefined;
}

/** Private events a hook granted: every one (`true`) or those of the listed topics. */
class HookAccess implements PrivateAccess {
  readonly #granted: true | ReadonlySet<string>;
  readonly #token: PrivateAccess | undefined;

  constructor(granted: true | readonly string[], token: PrivateAccess | undefined) {
    this.#granted = granted === true ? true : new Set(granted);
    this.#token = token;
  }

  allows(topics: readonly string[]): boolean {
    if (this.#granted === true) return true;
    for (const topic of topics) if (this.#granted.has(topic)) return true;
    return this.#token?.allows(topics) ?? false;
  }
}

function baseBody(ctx: RouteContext, hook: BackendHook): Record<string, unknown> {
  return {
    hook: hook.name,
    requestId: ctx.requestId,
    clientAddress: ctx.limits.clientAddress(ctx.req),
    method: ctx.req.method,
    path: (ctx.req.url ?? "/").split("?")[0],
    headers: hook.forwarded(ctx.req),
  };
}

/**
 * Asks the subscribe hook, if any, about `asked` (topics or selectors). Throws the hook's
 * refusal (401, 403), 403 when its answer leaves no asked topic, 503 when its backend fails
 * (unless `hookFailOpen`).
 */
export async function askSubscribeHook(
  ctx: RouteContext,
  asked: readonly string[],
  tokenAccess: PrivateAccess | undefined,
): Promise<HookedSubscription> {
  const hook = ctx.auth.hooks.subscribe;
  if (hook === undefined) return { topics: asked, access: tokenAccess };
  const body = { ...baseBody(ctx, hook), topics: asked };
  // The answer depends on who asks (their credentials, as forwarded) and what they ask.
  const cacheKey = JSON.stringify([hook.forwarded(ctx.req), asked]);
  const { answer } = await hook.decide(body, cacheKey, (outcome) =>
    ctx.metrics.hookCalled(hook.name, outcome),
  );
  if (answer === undefined) return { topics: asked, access: tokenAccess };
  return { topics: narrowed(asked, answer), access: accessOf(answer, tokenAccess) };
}

function narrowed(asked: readonly string[], answer: HookAnswer): readonly string[] {
  if (answer.topics === undefined) return asked;
  // A subset of what was asked: a topic the client did not ask for is never added.
  const allowed = new Set(answer.topics);
  const topics = asked.filter((topic) => allowed.has(topic));
  if (topics.length === 0) {
    throw new SsehubError(
      "SSEHUB_ERR_HOOK_DENIED",
      "Cannot subscribe: the subscribe hook allowed none of the topics asked",
    );
  }
  return topics;
}

function accessOf(
  answer: HookAnswer,
  tokenAccess: PrivateAccess | undefined,
): PrivateAccess | undefined {
  const granted = answer.private;
  if (granted === undefined || granted === false) return tokenAccess;
  return new HookAccess(granted, tokenAccess);
}

/** One event as the publish hook sees it. */
function hookEventOf(input: PublishInput): Record<string, unknown> {
  if (typeof input !== "object" || input === null) return {};
  const topics =
    input.topics !== undefined ? input.topics : input.topic === undefined ? [] : [input.topic];
  const data = typeof input.data === "string" ? input.data : JSON.stringify(input.data ?? null);
  return {
    topics,
    ...(input.event === undefined ? {} : { type: input.event }),
    ...(input.id === undefined ? {} : { id: input.id }),
    private: input.private === true,
    data: data.length > HOOK_DATA_BYTES ? data.slice(0, HOOK_DATA_BYTES) : data,
    ...(data.length > HOOK_DATA_BYTES ? { dataTruncated: true } : {}),
  };
}

/**
 * Asks the publish hook, if any, about `inputs`. Answers the inputs to publish: as they came,
 * or with the backend's rewrites. Throws as askSubscribeHook does.
 */
export async function askPublishHook(
  ctx: RouteContext,
  inputs: readonly PublishInput[],
): Promise<readonly PublishInput[]> {
  const hook = ctx.auth.hooks.publish;
  if (hook === undefined) return inputs;
  const body = { ...baseBody(ctx, hook), events: inputs.map(hookEventOf) };
  const { answer } = await hook.decide(body, undefined, (outcome) =>
    ctx.metrics.hookCalled(hook.name, outcome),
  );
  if (answer?.events === undefined) return inputs;
  const rewrites = answer.events;
  return inputs.map((input, index) => rewritten(input, rewrites[index]));
}

function rewritten(input: PublishInput, rewrite: HookRewrite | null | undefined): PublishInput {
  if (rewrite === null || rewrite === undefined) return input;
  const { topic: _replaced, ...rest } = input;
  return {
    ...(rewrite.topics === undefined ? input : rest),
    ...(rewrite.data === undefined ? {} : { data: rewrite.data }),
    ...(rewrite.topics === undefined ? {} : { topics: rewrite.topics }),
  };
}

/** True when the hook changed the topics of one of the inputs. */
export function topicsRewritten(
  before: readonly PublishInput[],
  after: readonly PublishInput[],
): boolean {
  return before.some((input, index) => input.topics !== after[index]?.topics);
}
