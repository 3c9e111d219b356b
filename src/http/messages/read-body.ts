/**
 * Request bodies, read with a hard limit. A body past the limit is refused without being
 * buffered: a declared `Content-Length` over the limit is refused before a byte is read, and a
 * chunked body is refused at the first chunk that passes it.
 *
 * A request answered before its body arrived in full leaves the rest of the body on the wire.
 * `settleUnreadBody` decides what happens to it: a small remainder is read and thrown away, so
 * that the client reads our answer and the connection serves its next request; a large one
 * closes the connection lingeringly after the answer (transport/lingering-close.ts), so that
 * the client still reads the answer and we never read more than a bounded amount for nothing.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2Stream } from "node:http2";
import { SsehubError } from "../../errors.js";
import {
  LINGER_LIMITS,
  type LingerLimits,
  lingerAfterAnswer,
} from "../transport/lingering-close.js";

/** Most bytes of a refused body read and discarded to keep the connection, in bytes. */
export const DRAIN_LIMIT_BYTES = 1_048_576; // 1 MiB

/** The declared `Content-Length`, or undefined when absent (chunked) or not a number. */
function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers["content-length"];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

function tooLarge(limitBytes: number): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_PUBLISH_TOO_LARGE",
    `Cannot accept a request body over ${limitBytes} bytes: send less or raise maxBodyBytes`,
    { details: { maxBodyBytes: limitBytes } },
  );
}

function resetStream(stream: Http2Stream): void {
  if (!stream.closed) stream.close();
}

/** True when the client reset the request mid-body (node:http2's compat request says so). */
function wasAborted(req: IncomingMessage): boolean {
  return (req as { aborted?: boolean }).aborted === true;
}

/**
 * Reads the whole body of `req`. Rejects with SSEHUB_ERR_PUBLISH_TOO_LARGE past `limitBytes`
 * and with SSEHUB_ERR_PUBLISH_MALFORMED when the client goes away mid-body.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limitBytes) return Promise.reject(tooLarge(limitBytes));
  if (req.readableEnded && declared !== 0) {
    // Something before us (a framework's body parser) read the body: waiting would hang.
    return Promise.reject(
      new SsehubError(
        "SSEHUB_ERR_PUBLISH_MALFORMED",
        "Cannot read the publish body: it was already read before the ssehub handler (mount ssehub before any body parser)",
      ),
    );
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        cleanup();
        chunks.length = 0;
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      // node:http2's compat request ends (rather than failing) when its stream is reset
      // mid-body, and says so in `aborted`: a body cut short is never taken for a whole one.
      if (wasAborted(req)) {
        reject(
          new SsehubError(
            "SSEHUB_ERR_PUBLISH_MALFORMED",
            "Cannot read the request body: the client closed the connection before sending it all",
          ),
        );
        return;
      }
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (cause: Error): void => {
      cleanup();
      reject(
        new SsehubError(
          "SSEHUB_ERR_PUBLISH_MALFORMED",
          "Cannot read the request body: the connection failed",
          { cause },
        ),
      );
    };
    const onClose = (): void => {
      // Over HTTP/2 `complete` is also true for a request whose stream was reset.
      if (req.complete && !wasAborted(req)) return;
      cleanup();
      reject(
        new SsehubError(
          "SSEHUB_ERR_PUBLISH_MALFORMED",
          "Cannot read the request body: the client closed the connection before sending it all",
        ),
      );
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * Call before answering a request whose body may not have arrived in full, so that the client
 * reads the answer whatever its body (see lingering-close.ts). A body declared no longer than
 * DRAIN_LIMIT_BYTES is read and discarded and the connection stays usable. A longer one, or a
 * chunked one (its length is unknown), is answered with `Connection: close`, and the connection
 * closes lingeringly once the answer has gone: the write side first, then the rest of the body
 * read and thrown away within `linger`'s bounds. Over HTTP/2, the request's stream alone is
 * reset once the answer has gone.
 */
export function settleUnreadBody(
  req: IncomingMessage,
  res: ServerResponse,
  linger: LingerLimits = LINGER_LIMITS,
): void {
  if (req.complete || req.destroyed) return;
  const stream = (req as { stream?: Http2Stream }).stream;
  if (req.httpVersionMajor >= 2 && stream !== undefined) {
    // HTTP/2 has no `Connection: close`, and the connection carries other streams: once the
    // answer has gone, RST_STREAM NO_ERROR asks the client to stop sending this body (RFC 9113,
    // section 8.1). Node does so by itself only when nothing of the body was read. Until then,
    // flow control bounds what the client can send unread. A turn after `finish`: from within
    // it, Node 20 holds a NO_ERROR reset back until the session next writes.
    stream.once("finish", () => setImmediate(resetStream, stream));
    return;
  }
  const declared = declaredLength(req);
  if (declared === undefined || declared > DRAIN_LIMIT_BYTES) {
    // A chunked body may run on for ever: the answer cannot promise to keep the connection,
    // or the client would send its next request on a socket about to close.
    if (!res.headersSent) res.setHeader("Connection", "close");
    lingerAfterAnswer(req.socket, req, res, linger);
    return;
  }
  req.resume();
}
