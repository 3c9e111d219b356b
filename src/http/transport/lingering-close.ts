/**
 * Closing a connection whose client is still sending, so that the client reads our answer
 * first: nginx's `lingering_close`. A socket closed while unread bytes sit in its receive buffer,
 * or arrive after, makes the kernel answer with RST, and the client's kernel then drops whatever
 * it had received and not yet read: our 413 included. A client that writes its whole body before
 * it reads (Node's fetch, undici) then sees EPIPE or "socket hang up" and never learns why.
 *
 * So the answer goes first; then the write side is shut down (FIN: the client learns nothing more
 * comes), and what the client still sends is read and thrown away until it stops, and at most
 * `maxBytes` or `maxMs`, whichever comes first: a client cannot make the hub read gigabytes or
 * hold the socket forever. A client that has read the answer drops the rest of its body itself
 * (undici does as soon as the answer is complete).
 *
 * node:http closes a `Connection: close` response's socket by itself once the answer has gone
 * (`socket.destroySoon()`: end, then destroy on `finish`, which resets the connection when
 * unread bytes remain). lingerAfterAnswer takes that last step back: it removes the pending
 * `destroy`, checked rather than assumed, and falls back to Node's close when it is not there
 * (reported on INTERNALS_FALLBACK_CHANNEL, feature `lingering-close`: the client may then see
 * a reset instead of the answer).
 * @see https://nginx.org/en/docs/http/ngx_http_core_module.html#lingering_close
 * @module
 */
import type { Socket } from "node:net";
import { reportInternalsFallback } from "./internals-fallback.js";

/** How long and how much a refused body is read after the answer before the socket closes. */
export interface LingerLimits {
  /** Most body bytes read and thrown away after the answer, in bytes. */
  readonly maxBytes: number;
  /** Longest time the socket stays open after the answer, in ms. */
  readonly maxMs: number;
}

/** The hub's lingering limits (nginx reads for up to 30 s; a publisher needs far less). */
export const LINGER_LIMITS: LingerLimits = Object.freeze({
  maxBytes: 16_777_216, // 16 MiB
  maxMs: 5_000, // 5 seconds
});

/**
 * Reads and discards what remains of `body` (an HTTP/1.1 request's body, or the socket itself
 * when no parser reads it any more) once `answer` has gone, then closes `socket`: when the body
 * ends, past `limits.maxBytes` read after the call, or `limits.maxMs` after the answer.
 * @param answer emits `finish` when the answer has been handed to the kernel (a ServerResponse,
 *   or the socket itself for a raw answer written with `socket.end()`).
 */
export function lingerAfterAnswer(
  socket: Socket,
  body: NodeJS.ReadableStream & { readonly readableEnded: boolean },
  answer: NodeJS.EventEmitter & { readonly writableFinished: boolean },
  limits: LingerLimits = LINGER_LIMITS,
): void {
  let discarded = 0;
  let answered = answer.writableFinished;
  let overLimit = false;
  const close = (): void => {
    if (!socket.destroyed) socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded <= limits.maxBytes) return;
    overLimit = true;
    if (answered) close();
    // Until the answer has gone, more bytes cost nothing but buffer space: stop reading them.
    else body.pause();
  };
  const onAnswered = (): void => {
    answered = true;
    if (socket.destroyed) return;
    // node:http's destroySoon() registered `destroy` for the end of our writes: take it back,
    // or the connection is reset under the client's feet while it is still sending. Only a
    // response that closes its connection has one (a raw answer, the socket itself, has none).
    if (closesConnection(answer) && !socket.listeners("finish").includes(socket.destroy)) {
      // Node queued its close some other way: it will happen as Node does it.
      reportInternalsFallback("lingering-close", "no queued destroy on the socket");
    }
    socket.removeListener("finish", socket.destroy);
    if (socket.writable) socket.end();
    if (overLimit || body.readableEnded) {
      close();
      return;
    }
    const timer = setTimeout(close, limits.maxMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    body.resume();
  };
  body.on("data", onData);
  body.once("end", () => {
    if (answered) close();
  });
  body.resume();
  if (answered) onAnswered();
  else answer.once("finish", onAnswered);
}

/**
 * True for a node:http response that ends its connection once it has gone (`_last`, set by
 * node:http when it writes the head, Node 20 and 24).
 */
function closesConnection(answer: object): boolean {
  return (answer as { _last?: unknown })._last === true;
}
