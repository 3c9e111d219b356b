/**
 * The hooks of one request handler, from its options (`subscribeHookUrl`, `publishHookUrl`,
 * `hook*`): each absent when its URL is empty. The routes ask them through routes/hook-checks.ts.
 * @module
 */
import type { ResolvedHandlerOptions } from "../server-options.js";
import {
  BackendHook,
  type BackendHookSettings,
  HOOK_ANSWER_MAX_BYTES,
  type HookName,
} from "./backend-hook.js";

/** The subscribe and publish hooks of a handler. */
export interface BackendHooks {
  readonly subscribe: BackendHook | undefined;
  readonly publish: BackendHook | undefined;
}

/** The hooks `options` configure; `now` is the breaker's and the cache's clock. */
export function backendHooksOf(
  options: ResolvedHandlerOptions,
  now: () => number = Date.now,
): BackendHooks {
  const hook = (name: HookName, url: string): BackendHook | undefined => {
    if (url === "") return undefined;
    const settings: BackendHookSettings = {
      url,
      forwardHeaders: options.hookForwardHeaders.map((header) => header.toLowerCase()),
      timeoutMs: options.hookTimeoutMs,
      cacheSize: options.hookCacheSize,
      cacheTtlMs: options.hookCacheTtlMs,
      failureThreshold: options.hookFailureThreshold,
      cooldownMs: options.hookCooldownMs,
      failOpen: options.hookFailOpen,
      // A publish answer may rewrite every event of a batch: as much as the publish itself.
      maxAnswerBytes:
        name === "publish"
          ? Math.max(HOOK_ANSWER_MAX_BYTES, options.maxBodyBytes)
          : HOOK_ANSWER_MAX_BYTES,
      now,
    };
    return new BackendHook(name, settings);
  };
  return Object.freeze({
    subscribe: hook("subscribe", options.subscribeHookUrl),
    publish: hook("publish", options.publishHookUrl),
  });
}
