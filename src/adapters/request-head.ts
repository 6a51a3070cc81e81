// Reading a request head for the fast lane (see fast-lane.ts): a strict subset of HTTP/1.1 that is simple to read
// correctly. Whatever falls outside it is not refused here but left to Node's parser, which knows the whole
// protocol and its error answers; the subset only ever has to be right about what it accepts.

import { isValidHost } from "../internal/host.ts";
import type { ResolvedLimits } from "../limits.ts";

/** A request the fast lane can answer: its head read, its body (by Content-Length) received in full. */
export interface LaneRequest {
  readonly method: string;
  /** The origin-form target as sent. */
  readonly target: string;
  /** Name/value pairs in the order sent; names lower-case, values without surrounding whitespace; no name twice. */
  readonly headers: readonly string[];
  /** The body's bytes, a view into the receive buffer (empty when there is none). */
  readonly body: Buffer;
  /** The client asked to close the connection after this request (`Connection: close`, or Proxy-Connection's). */
  readonly close: boolean;
  /** Where the next request starts in the buffer. */
  readonly end: number;
}

/** What the lane does with the bytes at the head of its buffer. */
export type HeadReading = LaneRequest | "partial" | "other";

/** The largest body the lane receives whole; a longer one is left to Node, which streams it. */
export const LANE_BODY_BYTES: number = 64 * 1024;

// RFC 9110 §5.6.2 tchar, by char code.
const TOKEN = new Uint8Array(128);
for (const char of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN[char.charCodeAt(0)] = 1;
}

/** Header names after which Node's handling is needed: framing, protocol switches, and the expectation of a 100. */
function isLeftToNode(name: string): boolean {
  return (
    name === "transfer-encoding" ||
    name === "upgrade" ||
    name === "expect" ||
    name === "http2-settings" ||
    name === "te" ||
    name === "trailer"
  );
}

/** A header name, lower-case, if every character is a token character; undefined otherwise. */
function headerName(line: string, colon: number): string | undefined {
  if (colon === 0) return undefined;
  let upper = false;
  for (let index = 0; index < colon; index++) {
    const code = line.charCodeAt(index);
    if (code >= 128 || TOKEN[code] === 0) return undefined;
    if (code >= 65 && code <= 90) upper = true;
  }
  const name = line.slice(0, colon);
  return upper ? name.toLowerCase() : name;
}

/** A header value without its surrounding spaces and tabs, if it holds only visible ASCII, spaces and tabs. */
function headerValue(line: string, from: number): string | undefined {
  let start = from;
  let end = line.length;
  while (start < end && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
  for (let index = start; index < end; index++) {
    const code = line.charCodeAt(index);
    if ((code < 32 && code !== 9) || code > 126) return undefined;
  }
  return line.slice(start, end);
}

/** The methods the lane takes; Node's parser knows others, and refuses methods it does not know. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/** Whether a request target is origin-form (`/path?query`) of visible ASCII characters. */
function isPlainTarget(target: string): boolean {
  if (target.charCodeAt(0) !== 47 /* "/" */) return false;
  for (let index = 1; index < target.length; index++) {
    const code = target.charCodeAt(index);
    if (code <= 32 || code > 126) return false;
  }
  return true;
}

/**
 * Reads the request that starts at `start` in `buffer`: the request, when it is all there and inside the subset;
 * "partial" when more bytes are needed to tell; "other" when it is outside the subset (another HTTP version, an
 * absolute-form target, a repeated or unusual header, a chunked or large body, an upgrade, anything malformed, or
 * past a limit), for Node to read.
 */
export function readRequestHead(buffer: Buffer, start: number, limits: ResolvedLimits): HeadReading {
  const headEnd = buffer.indexOf("\r\n\r\n", start, "latin1");
  if (headEnd === -1) return buffer.length - start > limits.headerBytes ? "other" : "partial";
  // The head and its line ends, as the listener counts it: beyond the limit Node refuses it, in JSON.
  if (headEnd + 4 - start > limits.headerBytes) return "other";
  const head = buffer.toString("latin1", start, headEnd);
  const lineEnd = head.indexOf("\r\n");
  const requestLine = lineEnd === -1 ? head : head.slice(0, lineEnd);
  const space = requestLine.indexOf(" ");
  const secondSpace = requestLine.indexOf(" ", space + 1);
  if (space === -1 || secondSpace === -1) return "other";
  const method = requestLine.slice(0, space);
  const target = requestLine.slice(space + 1, secondSpace);
  if (requestLine.length - secondSpace !== 9 || !requestLine.endsWith("HTTP/1.1")) return "other";
  if (!METHODS.has(method) || !isPlainTarget(target) || target.length > limits.urlBytes) return "other";

  const headers: string[] = [];
  let contentLength = 0;
  let hosts = 0;
  let close = false;
  for (let from = lineEnd + 2; lineEnd !== -1 && from <= head.length; ) {
    let to = head.indexOf("\r\n", from);
    if (to === -1) to = head.length;
    const line = head.slice(from, to);
    from = to + 2;
    const colon = line.indexOf(":");
    if (colon === -1) return "other";
    const name = headerName(line, colon);
    const value = name === undefined ? undefined : headerValue(line, colon + 1);
    if (name === undefined || value === undefined) return "other";
    // Node joins some repeated headers, keeps the first of others, and refuses yet others: it decides.
    for (let index = 0; index < headers.length; index += 2) if (headers[index] === name) return "other";
    if (headers.length >= limits.headerCount * 2) return "other";
    switch (name.length) {
      case 4:
        if (name === "host") {
          if (!isValidHost(value)) return "other";
          hosts++;
        }
        break;
      case 10:
      case 16:
        // Node's parser reads Proxy-Connection as Connection (a relic of HTTP/1.0 proxies): so does the lane.
        if (name === "connection" || name === "proxy-connection") {
          const option = value.toLowerCase();
          if (option === "close") close = true;
          else if (option !== "keep-alive") return "other";
        }
        break;
      case 14:
        if (name === "content-length") {
          if (value.length === 0 || value.length > 6 || !/^[0-9]+$/.test(value)) return "other";
          contentLength = Number(value);
          if (contentLength > LANE_BODY_BYTES) return "other";
        } else if (isLeftToNode(name)) return "other";
        break;
      default:
        if (isLeftToNode(name)) return "other";
    }
    headers.push(name, value);
  }
  if (hosts !== 1) return "other";
  const bodyStart = headEnd + 4;
  const end = bodyStart + contentLength;
  if (end > buffer.length) return "partial";
  return { method, target, headers, body: buffer.subarray(bodyStart, end), close, end };
}
