// A raw HTTP/1.1 client for the hostile-input suite: exact bytes go out on a `net` socket, and responses are parsed
// here, keep-alive aware (Content-Length, chunked, or delimited by the connection closing), so that nothing
// normalizes away the bytes a test is about. Every socket opened is tracked and destroyed by `destroyAllSockets()`,
// which each test file runs after its tests (also when one failed).
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after } from "node:test";
import { type App, type Listening, type ListenOptions, listen } from "briskjs";
import { within } from "./raw-client.ts";

/** How long anything the server is expected to do may take on a slow, busy machine before a wait gives up. */
export const DEADLINE_MS = 15_000;

/** One parsed response. */
export interface RawResponse {
  readonly httpVersion: string;
  readonly status: number;
  readonly reason: string;
  /** Lower-case names; a repeated field's values joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  /** The header lines as sent, in order. */
  readonly rawHeaders: readonly (readonly [name: string, value: string])[];
  readonly body: Buffer;
  /** The body as UTF-8. */
  readonly text: string;
  /** How the body was delimited. */
  readonly framing: "none" | "content-length" | "chunked" | "close";
  /** `performance.now()` when the whole response had arrived. */
  readonly at: number;
}

/** Whether the response says the connection closes after it. */
export function saysClose(response: RawResponse): boolean {
  return (response.headers.get("connection") ?? "")
    .toLowerCase()
    .split(/\s*,\s*/)
    .includes("close");
}

const sockets = new Set<RawSocket>();

/** Destroys every socket this module opened that is still open. */
export async function destroyAllSockets(): Promise<void> {
  await Promise.all([...sockets].map((socket) => socket.destroy()));
  sockets.clear();
}

const servers: Listening[] = [];

/**
 * Serves `app` on a free port for the rest of the file; after it, every socket is destroyed and every server
 * closed (a short drain: tests leave connections behind on purpose).
 */
export async function serve(app: App, options: ListenOptions = {}): Promise<Listening> {
  const listening = await listen(app, { port: 0, drainMs: 2_000, ...options });
  servers.push(listening);
  return listening;
}

after(async () => {
  await destroyAllSockets();
  for (const each of servers) each.server.closeAllConnections();
  await Promise.allSettled(servers.map((each) => each.close()));
});

/** Where to connect: a listening URL (`http://127.0.0.1:1234`) or a port on 127.0.0.1. */
export type Address = string | number;

function hostPort(address: Address): { host: string; port: number } {
  if (typeof address === "number") return { host: "127.0.0.1", port: address };
  const url = new URL(address);
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port) };
}

interface Parsed {
  readonly response: RawResponse;
  readonly length: number;
}

/** More bytes are needed; `needed` is the whole response's length when the head already says it. */
interface Incomplete {
  readonly incomplete: true;
  readonly needed?: number;
}

const INCOMPLETE: Incomplete = { incomplete: true };

/**
 * Parses one response at the start of `buffer`. `closed` says the connection has ended (a body without length
 * runs to the end); `head` that the request was HEAD (no body whatever the headers say). Returns INCOMPLETE while
 * more bytes are needed, and throws on bytes that are not an HTTP response.
 */
function parseResponse(buffer: Buffer, closed: boolean, head: boolean): Parsed | Incomplete {
  const end = buffer.indexOf("\r\n\r\n");
  if (end === -1) {
    if (closed && buffer.length > 0) {
      throw new Error(`the connection closed inside a response head: ${JSON.stringify(latin1(buffer))}`);
    }
    return INCOMPLETE;
  }
  const [statusLine = "", ...lines] = latin1(buffer.subarray(0, end)).split("\r\n");
  const match = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (match === null) throw new Error(`not an HTTP response: ${JSON.stringify(latin1(buffer))}`);
  const status = Number(match[2]);
  const rawHeaders: [string, string][] = [];
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`a malformed response header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    rawHeaders.push([name, value]);
    const key = name.toLowerCase();
    const before = headers.get(key);
    headers.set(key, before === undefined ? value : `${before}, ${value}`);
  }
  const start = end + 4;
  const done = (body: Buffer, length: number, framing: RawResponse["framing"]): Parsed => ({
    response: {
      httpVersion: match[1]!,
      status,
      reason: match[3] ?? "",
      headers,
      rawHeaders,
      body,
      text: body.toString("utf8"),
      framing,
      at: performance.now(),
    },
    length,
  });
  if (head || (status >= 100 && status < 200) || status === 204 || status === 304) {
    return done(Buffer.alloc(0), start, "none");
  }
  const transferEncoding = headers.get("transfer-encoding");
  if (transferEncoding !== undefined) {
    assert.equal(transferEncoding.toLowerCase(), "chunked", "a response's only transfer coding is chunked");
    const parts: Buffer[] = [];
    let offset = start;
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", offset);
      if (lineEnd === -1) return incompleteOrFail(closed, buffer);
      const sizeText = latin1(buffer.subarray(offset, lineEnd)).split(";")[0]!.trim();
      assert.match(sizeText, /^[0-9A-Fa-f]+$/, `a chunk size line: ${JSON.stringify(sizeText)}`);
      const size = Number.parseInt(sizeText, 16);
      if (size === 0) {
        // Trailer fields, then the blank line.
        let trailer = lineEnd + 2;
        for (;;) {
          const next = buffer.indexOf("\r\n", trailer);
          if (next === -1) return incompleteOrFail(closed, buffer);
          if (next === trailer) return done(Buffer.concat(parts), next + 2, "chunked");
          trailer = next + 2;
        }
      }
      if (buffer.length < lineEnd + 2 + size + 2) return incompleteOrFail(closed, buffer);
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      assert.equal(latin1(buffer.subarray(lineEnd + 2 + size, lineEnd + 4 + size)), "\r\n", "a chunk's CRLF");
      offset = lineEnd + 2 + size + 2;
    }
  }
  const contentLength = headers.get("content-length");
  if (contentLength !== undefined) {
    assert.match(contentLength, /^\d+$/, "a response Content-Length");
    const length = Number(contentLength);
    if (buffer.length < start + length) {
      incompleteOrFail(closed, buffer);
      return { incomplete: true, needed: start + length };
    }
    return done(buffer.subarray(start, start + length), start + length, "content-length");
  }
  // Neither: the body runs until the connection closes (Node's own 400/408/431 have none).
  if (!closed) return INCOMPLETE;
  return done(buffer.subarray(start), buffer.length, "close");
}

function incompleteOrFail(closed: boolean, buffer: Buffer): Incomplete {
  if (closed)
    throw new Error(`the connection closed inside a response body: ${JSON.stringify(latin1(buffer))}`);
  return INCOMPLETE;
}

function latin1(bytes: Buffer): string {
  return bytes.toString("latin1");
}

/** One client connection: writes exact bytes, reads responses in order. */
export class RawSocket {
  readonly socket: Socket;
  /** Received and not yet taken as a response, in the pieces it came in (joined only when parsed). */
  #chunks: Buffer[] = [];
  #length = 0;
  #received = 0;
  #wake: (() => void) | undefined;
  #error: Error | undefined;
  /** `performance.now()` when the connection closed (the server closed it, reset it, or we destroyed it). */
  closedAt: number | undefined;
  /** Resolves once the connection has closed. */
  readonly closed: Promise<number>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.closedAt = performance.now();
        sockets.delete(this);
        this.#notify();
        resolve(this.closedAt);
      });
    });
    socket.on("data", (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
      this.#received += chunk.length;
      this.#notify();
    });
    // A reset (the server closing a connection it did not read to the end) counts as the connection closing.
    socket.on("error", (error) => (this.#error = error));
  }

  /** Connects; `paused` leaves the response unread in the kernel until {@link resume} (a client that reads nothing). */
  static open(address: Address, options: { paused?: boolean } = {}): Promise<RawSocket> {
    const { host, port } = hostPort(address);
    const socket = connect({ host, port });
    const raw = new RawSocket(socket);
    if (options.paused === true) socket.pause();
    sockets.add(raw);
    return within(
      new Promise<RawSocket>((resolve, reject) => {
        socket.once("connect", () => resolve(raw));
        socket.once("error", reject);
      }),
      DEADLINE_MS,
      `could not connect to ${host}:${port} within ${DEADLINE_MS} ms`,
    ).catch((error: unknown) => {
      socket.destroy();
      throw error;
    });
  }

  /** What was received and not yet taken, as one buffer. */
  get #buffer(): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return this.#chunks[0]!;
  }

  #take(length: number): void {
    const rest = this.#buffer.subarray(length);
    this.#chunks = [rest];
    this.#length = rest.length;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #waitChange(until: number): Promise<void> {
    const left = until - performance.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Whether the connection has closed. */
  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  /** The error that ended the connection, if it ended with one (ECONNRESET, say). */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Bytes received so far, in all. */
  get bytesReceived(): number {
    return this.#received;
  }

  /** Bytes received and not yet taken as a response. */
  get pending(): Buffer {
    return this.#buffer;
  }

  /** Writes bytes as given (a string as latin1: one byte per char); resolves once handed to the kernel. */
  write(bytes: string | Uint8Array): Promise<void> {
    const data = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve();
      // A write to a connection the server closed fails: that is for the reads to find out.
      this.socket.write(data, () => resolve());
    });
  }

  /** Ends our side of the connection (FIN) after what was written. */
  end(): void {
    this.socket.end();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /**
   * The next whole response. Fails if the connection closes first, or nothing whole arrives within `timeoutMs`.
   * `head` for the answer to a HEAD request (no body).
   */
  async response(options: { timeoutMs?: number; head?: boolean } = {}): Promise<RawResponse> {
    const timeoutMs = options.timeoutMs ?? DEADLINE_MS;
    const until = performance.now() + timeoutMs;
    let needed = 0;
    for (;;) {
      const closed = this.isClosed;
      if (closed || this.#length >= needed) {
        const parsed = parseResponse(this.#buffer, closed, options.head === true);
        if (!("incomplete" in parsed)) {
          this.#take(parsed.length);
          return parsed.response;
        }
        needed = parsed.needed ?? 0;
      }
      if (closed) {
        throw new Error(
          `the connection closed without a (further) response${this.#error ? ` (${this.#error.message})` : ""}`,
        );
      }
      if (performance.now() >= until) {
        throw new Error(
          `no whole response within ${timeoutMs} ms; received ${JSON.stringify(latin1(this.#buffer.subarray(0, 2000)))}`,
        );
      }
      await this.#waitChange(until);
    }
  }

  /**
   * Every response until the server closes the connection (it must, within `timeoutMs`), and what followed the
   * last of them.
   */
  async untilClosed(timeoutMs: number = DEADLINE_MS): Promise<RawResponse[]> {
    await this.closedWithin(timeoutMs);
    const responses: RawResponse[] = [];
    while (this.#length > 0) responses.push(await this.response({ timeoutMs: 0 }));
    return responses;
  }

  /** Resolves with the time the connection closed; fails if it is still open after `timeoutMs`. */
  closedWithin(timeoutMs: number = DEADLINE_MS): Promise<number> {
    return within(
      this.closed,
      timeoutMs,
      () =>
        `the server did not close the connection within ${timeoutMs} ms; received ${JSON.stringify(
          latin1(this.#buffer.subarray(0, 2000)),
        )}`,
    );
  }

  /** Whether the connection is still open `ms` from now (the server did not close it in that time). */
  async stillOpenAfter(ms: number): Promise<boolean> {
    await Promise.race([this.closed, new Promise((resolve) => setTimeout(resolve, ms))]);
    return !this.isClosed;
  }

  destroy(): Promise<number> {
    this.socket.destroy();
    return this.closed;
  }
}

/** A request's bytes: the request line, `Host` (unless `host` is null), the fields, and a body with its length. */
export function request(
  method: string,
  target: string,
  options: {
    readonly host?: string | null;
    readonly headers?: readonly string[];
    readonly body?: string;
    /** Adds `Content-Type: application/json` and the Content-Length. */
    readonly json?: unknown;
    readonly version?: string;
  } = {},
): string {
  const lines = [`${method} ${target} HTTP/${options.version ?? "1.1"}`];
  if (options.host !== null) lines.push(`Host: ${options.host ?? "test"}`);
  lines.push(...(options.headers ?? []));
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    lines.push("Content-Type: application/json");
  }
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body, "latin1")}`);
  return `${lines.join("\r\n")}\r\n\r\n${body ?? ""}`;
}

/** Opens a connection, writes `bytes`, reads one response, and closes the connection. */
export async function exchange(
  address: Address,
  bytes: string | Uint8Array,
  options: { head?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const socket = await RawSocket.open(address);
  try {
    await socket.write(bytes);
    return await socket.response(options);
  } finally {
    await socket.destroy();
  }
}

/** Stack-trace shapes that must never reach a client. */
const STACK = /\n\s+at\s|\bat [\w.<>]+ \(|node:internal|\.ts:\d+:\d+|Error: /;

/**
 * Asserts an error body is safe: empty (Node's own answers to unparsable requests have none) or brisk's JSON
 * `{"detail": ...}`, and no stack trace either way.
 */
export function assertSafeErrorBody(response: RawResponse): void {
  assert.doesNotMatch(response.text, STACK, `a stack trace in the body: ${response.text}`);
  if (response.body.length === 0) return;
  assert.match(response.headers.get("content-type") ?? "", /^application\/json\b/, response.text);
  const parsed = JSON.parse(response.text) as unknown;
  assert.ok(typeof parsed === "object" && parsed !== null && "detail" in parsed, response.text);
}

/** Asserts a JSON error body from brisk itself: `application/json`, `{"detail": ...}`, no stack trace. */
export function assertJsonError(response: RawResponse, status: number): unknown {
  assert.equal(response.status, status, `status (body: ${response.text})`);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json\b/, response.text);
  assert.doesNotMatch(response.text, STACK, `a stack trace in the body: ${response.text}`);
  const parsed = JSON.parse(response.text) as { detail?: unknown };
  assert.ok("detail" in parsed, response.text);
  return parsed.detail;
}
