/**
 * Hands one received event to the application's handlers: the hub's reset and gap notices to
 * their own handler when it is set, everything else to `onEvent`. Shared by the client and by
 * each tab of a shared subscription, so that both route alike.
 * @module
 */
import { GAP_EVENT, RESET_EVENT } from "../protocol/hub-events.js";
import type { ParsedEvent } from "../protocol/parse.js";
import type { GapNotice, ResetNotice } from "./client.js";

/** The handlers an event may go to. */
export interface EventHandlers {
  readonly onEvent?: ((event: ParsedEvent) => void) | undefined;
  readonly onReset?: ((notice: ResetNotice) => void) | undefined;
  readonly onGap?: ((notice: GapNotice) => void) | undefined;
}

/** Field `key` of a JSON object as a string; "" when absent or not a string. */
function stringField(json: Record<string, unknown>, key: string): string {
  const value = json[key];
  return typeof value === "string" ? value : "";
}

/** The data of a notice as a JSON object; an empty object when it is not one. */
function noticeData(data: string): Record<string, unknown> {
  try {
    const json: unknown = JSON.parse(data);
    if (typeof json === "object" && json !== null && !Array.isArray(json)) {
      return json as Record<string, unknown>;
    }
  } catch {
    // Not JSON: a notice from a hub of another version. The raw event stays available.
  }
  return {};
}

/**
 * Calls the handler `event` belongs to. A handler that throws is reported (see
 * reportHandlerError) and does not stop the stream.
 */
export function routeEvent(handlers: EventHandlers, event: ParsedEvent): void {
  const { onEvent, onReset, onGap } = handlers;
  try {
    if (event.type === RESET_EVENT && onReset !== undefined) {
      const data = noticeData(event.data);
      onReset({
        reason: stringField(data, "reason") || "unknown",
        lastEventId: stringField(data, "lastEventId"),
        currentEventId: stringField(data, "currentEventId"),
        event,
      });
    } else if (event.type === GAP_EVENT && onGap !== undefined) {
      const data = noticeData(event.data);
      const dropped = data.dropped;
      onGap({
        dropped: typeof dropped === "number" && Number.isFinite(dropped) ? dropped : 0,
        lastEventId: stringField(data, "lastEventId"),
        event,
      });
    } else {
      onEvent?.(event);
    }
  } catch (error) {
    reportHandlerError(error);
  }
}

/** Reports an error thrown by an application handler without stopping the stream. */
export function reportHandlerError(error: unknown): void {
  // The same path as an exception in an EventTarget listener: uncaught, but not ours to eat.
  queueMicrotask(() => {
    throw error;
  });
}

/** Reads the JSON error body of a refused request: its `code` and `message`, "" when absent. */
export function hubErrorFields(body: string): { code: string; message: string } {
  const json = noticeData(body);
  return { code: stringField(json, "code"), message: stringField(json, "message") };
}
