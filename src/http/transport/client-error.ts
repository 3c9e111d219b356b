/**
 * What node:http's server answers a request it could not parse (its `clientError` event). Node's
 * own answer writes a bare status line and destroys the socket at once: a client still sending
 * (headers past the limit, then a body) gets a reset instead of the 431 and never learns why.
 * Here the 431 is ssehub's JSON error, and the connection closes lingeringly (see
 * lingering-close.ts). Every other parse error is answered as Node does.
 * @module
 */
import type { Socket } from "node:net";
import { SsehubError } from "../../errors.js";
import { errorBody } from "../messages/error-response.js";
import { lingerAfterAnswer } from "./lingering-close.js";

/** Node's answers to the parse errors it names (lib/_http_server.js), for the others. */
const NODE_ANSWERS: Readonly<Record<string, string>> = {
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
  ERR_HTTP_REQUEST_TIMEOUT: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
};
const BAD_REQUEST = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";

/** Sockets already answered: Node reports each later parse of the same bytes again. */
const answered = new WeakSet<Socket>();

/** The raw 431 answer, with ssehub's JSON error body. */
function headersTooLargeAnswer(): string {
  const text = JSON.stringify(
    errorBody(
      new SsehubError(
        "SSEHUB_ERR_REQUEST_HEADERS_TOO_LARGE",
        "Cannot read the request: its headers are too large; send fewer or shorter headers (cookies, tokens)",
      ),
    ),
  );
  return (
    "HTTP/1.1 431 Request Header Fields Too Large\r\n" +
    "Content-Type: application/json; charset=utf-8\r\n" +
    `Content-Length: ${Buffer.byteLength(text)}\r\n` +
    "Cache-Control: no-store\r\n" +
    `Connection: close\r\n\r\n${text}`
  );
}

/**
 * A `clientError` listener for a node:http server: 431 with a JSON body for headers past the
 * limit (then a lingering close), Node's own answer for the rest.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  // A response already begun on this socket (a pipelined request) cannot take another status.
  const busy = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (!socket.writable || busy === true) {
    socket.destroy();
    return;
  }
  if (error.code === "HPE_HEADER_OVERFLOW") {
    socket.end(headersTooLargeAnswer());
    lingerAfterAnswer(socket, socket, socket);
    return;
  }
  socket.end(NODE_ANSWERS[error.code ?? ""] ?? BAD_REQUEST);
  socket.destroy();
}
