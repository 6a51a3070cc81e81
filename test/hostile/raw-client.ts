// A raw HTTP/1.1 client for the hostile-input suite (classes 1–4 of SECURITY.md §4) and test/limits.test.ts: exact
// bytes are written to a TCP socket and the answers are parsed here, since a fetch client would normalize away what
// matters (a second Content-Type, a tab in a header value, a Content-Length that lies, chunked framing, invalid
// UTF-8).
// Self-contained: it depends on nothing else under test/.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, afterEach, before } from "node:test";
import type { App, Listening } from "briskjs";
import { listen } from "briskjs";

/** How long anything the server is expected to do may take on a slow, busy machine before a test gives up. */
export const DEADLINE = 10_000;

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Header names lower-cased; a repeated header keeps its values joined with ", ". */
  readonly headers: Map<string, string>;
  readonly body: Buffer;
  /** The body as UTF-8. */
  readonly text: string;
  /** Whether the body came in chunked framing. */
  readonly chunked: boolean;
  /** `performance.now()` when the whole response had arrived. */
  readonly at: number;
}

/** A header field as written on the wire, `Name: value` (anything goes: tabs, spaces, raw bytes as latin1). */
export type Field = string;

export interface RequestSpec {
  readonly method?: string;
  readonly target: string;
  /** Header lines after `Host`. */
  readonly fields?: readonly Field[];
  /** The body; a string is sent as UTF-8. */
  readonly body?: string | Buffer;
  /**
   * The Content-Length field: computed from the body by default (when there is one and no Content-Length or
   * Transfer-Encoding among `fields`); a number to lie; false for none.
   */
  readonly contentLength?: number | false;
  /** The Host field's value; false for none. @default "test" */
  readonly host?: string | false;
}

/** The bytes of one request: the head in latin1 (so any byte can be put in a header), the body as given. */
export function request(spec: RequestSpec): Buffer {
  const body = spec.body === undefined ? undefined : toBytes(spec.body);
  const fields = [...(spec.fields ?? [])];
  const framed = fields.some((field) => /^(content-length|transfer-encoding)\s*:/i.test(field));
  if (spec.contentLength !== false && !framed) {
    if (spec.contentLength !== undefined) fields.push(`Content-Length: ${spec.contentLength}`);
    else if (body !== undefined) fields.push(`Content-Length: ${body.byteLength}`);
  }
  const host = spec.host ?? "test";
  const lines = [
    `${spec.method ?? "GET"} ${spec.target} HTTP/1.1`,
    ...(host === false ? [] : [`Host: ${host}`]),
    ...fields,
  ];
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return body === undefined ? head : Buffer.concat([head, body]);
}

/** A JSON POST: `Content-Type: application/json` unless `fields` says otherwise. */
export function postJson(target: string, body: string | Buffer, fields: readonly Field[] = []): Buffer {
  const typed = fields.some((field) => /^content-type\s*:/i.test(field));
  return request({
    method: "POST",
    target,
    fields: typed ? fields : ["Content-Type: application/json", ...fields],
    body,
  });
}

/** `data` in chunked framing, in chunks of `size` bytes, with the last chunk. */
export function chunked(data: string | Buffer, size: number): Buffer {
  const bytes = toBytes(data);
  const parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += size) {
    const chunk = bytes.subarray(offset, offset + size);
    parts.push(Buffer.from(`${chunk.byteLength.toString(16)}\r\n`, "latin1"), chunk, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

function toBytes(data: string | Buffer): Buffer {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

/** Rejects with `message` unless `promise` settles within `ms`. */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  message: string | (() => string),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(typeof message === "string" ? message : message())), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every connection opened, so that a failed test leaves none open to hold its server's `close()`. */
const opened = new Set<RawConnection>();

/** Destroys every connection still open; registered as an `afterEach` by {@link serve}. */
export async function dropConnections(): Promise<void> {
  await Promise.all([...opened].map((connection) => connection.destroy()));
  opened.clear();
}

/**
 * One client TCP connection: writes exact bytes, reads whole HTTP/1.1 responses as they arrive (delimited by
 * Content-Length, by chunked framing, or by the connection closing), and can be kept alive for more.
 */
export class RawConnection {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  /** `performance.now()` when the connection closed (the server closed it, or it was reset). */
  closedAt: number | undefined;
  /** Resolves with {@link closedAt}. */
  readonly closed: Promise<number>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.closedAt = performance.now();
        this.#wake?.();
        resolve(this.closedAt);
      });
    });
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    // A reset (the server closing a connection it did not read to the end) counts as the connection closing.
    socket.on("error", () => {});
  }

  /** Whether the connection has closed. */
  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  /** Connects; the connection is destroyed after the test, passed or failed (see {@link dropConnections}). */
  static open(server: Listening): Promise<RawConnection> {
    const { hostname, port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.setNoDelay(true);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        const connection = new RawConnection(socket);
        opened.add(connection);
        resolve(connection);
      });
    });
  }

  /** Writes bytes; a string is written as latin1 (one byte per character). */
  write(bytes: string | Buffer): void {
    if (this.isClosed || this.#socket.destroyed) return;
    this.#socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  /** Bytes received and not yet taken as a response. */
  get pending(): Buffer {
    return this.#buffer;
  }

  /** The next whole response; fails if the connection closes first or nothing whole arrives within `timeoutMs`. */
  async response(timeoutMs: number = DEADLINE): Promise<RawResponse> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const parsed = this.#take();
      if (parsed !== undefined) return parsed;
      if (this.isClosed) {
        throw new Error(
          `the connection closed without a whole response; received ${JSON.stringify(this.#buffer.toString("latin1").slice(0, 500))}`,
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `no whole response within ${timeoutMs} ms; received ${JSON.stringify(this.#buffer.toString("latin1").slice(0, 500))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Resolves with the time the server closed the connection; fails if it is still open after `timeoutMs`. */
  closedWithin(timeoutMs: number = DEADLINE): Promise<number> {
    return within(this.closed, timeoutMs, `the server did not close the connection within ${timeoutMs} ms`);
  }

  destroy(): Promise<number> {
    this.#socket.destroy();
    opened.delete(this);
    return this.closed;
  }

  #take(): RawResponse | undefined {
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end === -1) return undefined;
    const head = this.#buffer.subarray(0, end).toString("latin1");
    const [statusLine = "", ...lines] = head.split("\r\n");
    const match = /^HTTP\/1\.1 (\d{3})(?: (.*))?$/.exec(statusLine);
    if (match === null) throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(head.slice(0, 500))}`);
    const status = Number(match[1]);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const before = headers.get(name);
      headers.set(name, before === undefined ? value : `${before}, ${value}`);
    }
    const start = end + 4;
    let body: Buffer;
    let rest: number;
    const isChunked = headers.get("transfer-encoding")?.toLowerCase() === "chunked";
    if (isChunked) {
      const decoded = decodeChunked(this.#buffer, start);
      if (decoded === undefined) return undefined;
      [body, rest] = decoded;
    } else if (headers.has("content-length")) {
      const length = Number(headers.get("content-length"));
      if (this.#buffer.byteLength < start + length) return undefined;
      body = this.#buffer.subarray(start, start + length);
      rest = start + length;
    } else if ((status >= 100 && status < 200) || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      rest = start;
    } else {
      // No framing: the body runs to the end of the connection (Node's own 400/408/431 have none, then close).
      if (!this.isClosed) return undefined;
      body = this.#buffer.subarray(start);
      rest = this.#buffer.byteLength;
    }
    this.#buffer = this.#buffer.subarray(rest);
    return {
      status,
      reason: match[2] ?? "",
      headers,
      body: Buffer.from(body),
      text: body.toString("utf8"),
      chunked: isChunked,
      at: performance.now(),
    };
  }
}

/** A chunked body from `start`: the decoded bytes and the index after the framing, or undefined if incomplete. */
function decodeChunked(buffer: Buffer, start: number): [Buffer, number] | undefined {
  const parts: Buffer[] = [];
  let index = start;
  for (;;) {
    const lineEnd = buffer.indexOf("\r\n", index);
    if (lineEnd === -1) return undefined;
    const size = Number.parseInt(buffer.subarray(index, lineEnd).toString("latin1").split(";")[0]!, 16);
    if (Number.isNaN(size)) throw new Error("malformed chunk size in a response");
    index = lineEnd + 2;
    if (size === 0) {
      // Trailers (none expected), then the final CRLF.
      const trailerEnd = buffer.indexOf("\r\n\r\n", index - 2);
      if (trailerEnd === -1) return undefined;
      return [Buffer.concat(parts), trailerEnd + 4];
    }
    if (buffer.byteLength < index + size + 2) return undefined;
    parts.push(buffer.subarray(index, index + size));
    index += size + 2;
  }
}

/** Opens a connection, writes `bytes`, and reads one response. The connection is left open for more. */
export async function exchange(
  server: Listening,
  bytes: string | Buffer,
  timeoutMs: number = DEADLINE,
): Promise<{ readonly response: RawResponse; readonly connection: RawConnection }> {
  const connection = await RawConnection.open(server);
  connection.write(bytes);
  const response = await connection.response(timeoutMs);
  return { response, connection };
}

/** Starts `app` on a free port before the enclosing suite's tests, and closes it (and every connection) after. */
export function serve(app: App): { readonly server: Listening } {
  const holder = {} as { server: Listening };
  before(async () => {
    holder.server = await listen(app, { port: 0 });
  });
  afterEach(dropConnections);
  after(async () => {
    await dropConnections();
    await holder.server?.close();
  });
  return holder;
}

// ---------------------------------------------------------------------------------------------------------------
// Assertions shared by every case.

/** Asserts a text has no stack trace and no source path in it. */
export function assertNoLeak(text: string): void {
  assert.doesNotMatch(text, /\n\s*at /, "no stack trace lines");
  assert.doesNotMatch(text, /\bat [\w.<>]+ \(/, "no stack frames");
  assert.doesNotMatch(
    text,
    /(file:\/\/|\/work\/|node_modules|node:internal|\.ts:\d+|\.js:\d+)/,
    "no file paths",
  );
}

/**
 * Asserts an error answer: the exact status, a JSON body with a `detail`, no stack trace or file path. Returns the
 * parsed body.
 */
export function assertError(response: RawResponse, status: number): { detail: unknown } {
  assert.equal(response.status, status, `status (body: ${response.text.slice(0, 500)})`);
  assertNoLeak(response.text);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json\b/, "a JSON error body");
  const parsed = JSON.parse(response.text) as { detail: unknown };
  assert.equal(typeof parsed, "object");
  assert.ok(parsed !== null && "detail" in parsed, `the body has a detail: ${response.text.slice(0, 500)}`);
  assert.ok(
    parsed.detail !== undefined && parsed.detail !== null && parsed.detail !== "",
    "a non-empty detail",
  );
  return parsed;
}

/** One FastAPI validation issue, as brisk writes them. */
export interface Issue {
  readonly type: string;
  readonly loc: readonly (string | number)[];
  readonly msg: string;
  readonly input: unknown;
  readonly ctx?: Record<string, unknown>;
}

/** Asserts a FastAPI-shaped 422: `{"detail": [{type, loc, msg, input, ctx?}, ...]}`; returns the issues. */
export function assertValidationError(response: RawResponse): Issue[] {
  const { detail } = assertError(response, 422);
  assert.ok(Array.isArray(detail), "a 422 detail is a list of issues");
  assert.ok(detail.length > 0, "at least one issue");
  for (const issue of detail as Issue[]) {
    assert.equal(typeof issue.type, "string", "issue.type");
    assert.ok(Array.isArray(issue.loc) && issue.loc.length > 0, "issue.loc");
    assert.equal(typeof issue.msg, "string", "issue.msg");
    assert.ok("input" in issue, "issue.input");
    for (const key of Object.keys(issue)) {
      assert.ok(["type", "loc", "msg", "input", "ctx", "url"].includes(key), `unexpected issue key ${key}`);
    }
  }
  return detail as Issue[];
}

/**
 * Asserts what happens to the connection after an answer. `close`: the answer says `Connection: close` and the
 * server closes the socket with nothing after the answer. `keep`: the connection is reusable, proved by answering
 * `next` (a normal request) on it with `expectStatus`. `either`: whichever the answer announces is what happens.
 */
export async function assertConnection(
  connection: RawConnection,
  response: RawResponse,
  expected: "close" | "keep" | "either",
  next: { readonly bytes: string | Buffer; readonly status: number },
): Promise<void> {
  const announcesClose = response.headers.get("connection")?.toLowerCase() === "close";
  if (expected === "close" || (expected === "either" && announcesClose)) {
    assert.ok(announcesClose || response.body.byteLength === 0, "the answer says Connection: close");
    await connection.closedWithin();
    assert.equal(connection.pending.byteLength, 0, "nothing follows the refusal on the connection");
    return;
  }
  assert.ok(!announcesClose, "the connection is kept alive");
  connection.write(next.bytes);
  const again = await connection.response();
  assert.equal(again.status, next.status, `the next request on the same connection (body: ${again.text})`);
}

/**
 * The normal request each case is followed by: a GET answered 200 on a fresh connection, and, for an app that
 * stores things, how many it holds (so that a refused request can be shown to have created nothing).
 */
export interface Health {
  readonly target: string;
  readonly count?: (body: unknown) => number;
}

/** The items example: `GET /items?limit=1` answers 200 with the `total` stored. */
export const ITEMS_HEALTH: Health = {
  target: "/items?limit=1",
  count: (body) => (body as { total: number }).total,
};

/** Sends the health request on a fresh connection: it must be answered 200 within the deadline. */
export async function assertServes(server: Listening, health: Health): Promise<number | undefined> {
  const { response, connection } = await exchange(server, request({ target: health.target }));
  try {
    assert.equal(response.status, 200, `the server still serves ${health.target} (body: ${response.text})`);
    return health.count?.(JSON.parse(response.text));
  } finally {
    await connection.destroy();
  }
}

export interface CaseOptions {
  /** What happens to the connection after the answer (see {@link assertConnection}). @default "either" */
  readonly connection?: "close" | "keep" | "either";
  readonly timeoutMs?: number;
}

/**
 * One hostile case, with what every case asserts: the exact status, an error body that is JSON with a `detail`
 * and no stack trace, the connection closed or still usable as expected, the server still serving at once, and
 * nothing created (the health count unchanged). Returns the answer and its parsed body.
 */
export async function expectRefusal(
  server: Listening,
  health: Health,
  bytes: string | Buffer,
  status: number,
  options: CaseOptions = {},
): Promise<{ readonly response: RawResponse; readonly detail: unknown }> {
  const before = await assertServes(server, health);
  const { response, connection } = await exchange(server, bytes, options.timeoutMs);
  const { detail } = assertError(response, status);
  await assertConnection(connection, response, options.connection ?? "either", {
    bytes: request({ target: health.target }),
    status: 200,
  });
  await connection.destroy();
  const afterwards = await assertServes(server, health);
  assert.equal(afterwards, before, "the refused request created nothing");
  return { response, detail };
}

/**
 * One accepted case: the exact status, a JSON body, the connection still usable, the server still serving.
 * Returns the answer and its parsed body.
 */
export async function expectAccepted(
  server: Listening,
  health: Health,
  bytes: string | Buffer,
  status: number,
): Promise<{ readonly response: RawResponse; readonly json: unknown }> {
  const { response, connection } = await exchange(server, bytes);
  assert.equal(response.status, status, `status (body: ${response.text.slice(0, 500)})`);
  assertNoLeak(response.text);
  const json: unknown = response.body.byteLength === 0 ? undefined : JSON.parse(response.text);
  await assertConnection(connection, response, "keep", {
    bytes: request({ target: health.target }),
    status: 200,
  });
  await connection.destroy();
  await assertServes(server, health);
  return { response, json };
}
