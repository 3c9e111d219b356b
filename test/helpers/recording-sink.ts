/**
 * A Sink that records what the hub writes, for unit tests of src/hub. Its backlog is set by the
 * test (`queuedBytes`) to play a reader that stops reading. Behaviour tests use real sockets.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Sink } from "../../src/hub/sink.js";

export class RecordingSink implements Sink {
  readonly chunks: Buffer[] = [];
  queuedBytes = 0;
  closed = false;
  destroyed = false;
  /** When set, every write adds its size to queuedBytes (a reader that does not read). */
  stalled = false;

  get isClosed(): boolean {
    return this.closed || this.destroyed;
  }

  write(chunk: Buffer | string): void {
    if (this.isClosed) return;
    const bytes = Buffer.from(chunk);
    this.chunks.push(bytes);
    if (this.stalled) this.queuedBytes += bytes.length;
  }

  close(): void {
    this.closed = true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }

  /** The events written so far, decoded by eventsource-parser (an independent parser). */
  events(): EventSourceMessage[] {
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    parser.feed(this.text());
    return events;
  }

  /** Data of the plain (type message) events. */
  data(): string[] {
    return this.events()
      .filter((e) => e.event === undefined)
      .map((e) => e.data);
  }
}

/** Resolves after pending setImmediate callbacks (one dispatcher turn) have run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
