// What the server answers itself, before or instead of the app, on Node's path and in the fast lane alike.

import type { PlainResponse } from "../exchange.ts";

const HEALTHY: PlainResponse = {
  status: 200,
  headers: [
    ["content-type", "application/json"],
    ["cache-control", "no-store"],
  ],
  body: '{"status":"ok"}',
};
const DRAINING: PlainResponse = { ...HEALTHY, status: 503, body: '{"status":"draining"}' };

/** The health path's answer: 200, and 503 once the server is shutting down, so a load balancer stops sending. */
export function healthAnswer(draining: boolean): PlainResponse {
  return draining ? DRAINING : HEALTHY;
}

/**
 * How long a connection the server refused stays open for its client to read why (a 413 sent before the body
 * arrived, a WebSocket close frame), before it is closed. Closing at once, with the client's bytes unread, sends a
 * reset, and a reset can make the client's kernel drop the answer before the client reads it.
 */
export const LINGER_MS = 5000;

export const HEADERS_TOO_LARGE_BODY = '{"detail":"Request Header Fields Too Large"}';

/** A refusal of the connection's bytes (a parser error, a silent client), by Node's error code: status, reason, body. */
export function clientErrorAnswer(code: string | undefined): readonly [number, string, string] {
  if (code === "HPE_HEADER_OVERFLOW") return [431, "Request Header Fields Too Large", HEADERS_TOO_LARGE_BODY];
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return [408, "Request Timeout", '{"detail":"Request Timeout"}'];
  if (code === "HPE_CHUNK_EXTENSIONS_OVERFLOW") {
    return [413, "Content Too Large", '{"detail":"Content Too Large: chunk extensions too long"}'];
  }
  return [400, "Bad Request", '{"detail":"Bad Request: malformed HTTP request"}'];
}

/** The bytes of a JSON answer that ends the connection, written straight to a socket no request object owns. */
export function closingAnswerText(code: string | undefined): string {
  const [status, reason, body] = clientErrorAnswer(code);
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
}
