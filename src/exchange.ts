import type { BodyInit } from "./internal/web-types.ts";
/**
 * The request and response as they pass between an adapter (Node's `http`, the web `fetch` interface) and the core.
 * Plain shapes rather than web `Request`/`Response` objects, so the Node adapter builds none it does not need.
 */

/** A request as an adapter hands it to brisk. */
export interface Incoming {
  /** Upper-case method. */
  readonly method: string;
  /** The path as received, still percent-encoded, without the query. */
  readonly path: string;
  /** The raw query string, without `?`. */
  readonly search: string;
  /**
   * The path prefix the client used to reach the app through a proxy (`--root-path`, or a trusted
   * `X-Forwarded-Prefix`), without a trailing slash; undefined to use the App's `rootPath`.
   */
  readonly rootPath?: string | undefined;
  /** A header's value by lower-case name; repeated headers joined with ", " (cookies with "; "). */
  header(name: string): string | undefined;
  /** Names of the headers present, lower-case. */
  headerNames(): Iterable<string>;
  /**
   * Reads the whole body, failing with 413 as soon as more than `limit` bytes have arrived (or are announced).
   * Called at most once.
   */
  readBody(limit: number): Promise<Uint8Array>;
  /**
   * The body as it arrives, for parsers that must not hold it whole (multipart uploads); fails with 413 past
   * `limit` bytes, and with 400 when the client stops sending. A reader that stops early leaves the rest unread,
   * and the connection is then not reused. Called at most once, instead of `readBody`.
   */
  readBodyStream(limit: number): AsyncIterable<Uint8Array>;
  /** Aborted when the client goes away before the response is complete, or when {@link abort} is called. */
  readonly signal: AbortSignal;
  /** Aborts `signal`: the server is ending the exchange (a handler past its deadline, a server shutting down). */
  abort(): void;
  /** The request as a web `Request`, built on first call. */
  toRequest(): Request;
  /**
   * Runs `task` once the response has been sent (or the client has gone): background tasks, dependency cleanup,
   * removing uploaded files. Tasks run one after another in the order added, each awaited; none throws.
   */
  afterResponse(task: () => void | Promise<void>): void;
}

/** A response as the core hands it to an adapter: either a web `Response`, passed through, or this plain shape. */
export interface PlainResponse {
  readonly status: number;
  /** Header name/value pairs; a name may repeat (`set-cookie`). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string | Uint8Array | null;
}

export type Outgoing = PlainResponse | Response;

/** Converts an outgoing response to a web `Response` (for the fetch adapter); HEAD answers carry no body. */
export function toWebResponse(outgoing: Outgoing, head: boolean): Response {
  if (outgoing instanceof Response) {
    if (!head || outgoing.body === null) return outgoing;
    // The body of a HEAD answer is never read: cancelling it ends its producer (a generator's `finally` runs).
    void outgoing.body.cancel().catch(() => {});
    return new Response(null, {
      status: outgoing.status,
      statusText: outgoing.statusText,
      headers: outgoing.headers,
    });
  }
  const headers = new Headers();
  for (const [name, value] of outgoing.headers) headers.append(name, value);
  if (outgoing.body !== null && !headers.has("content-length")) {
    headers.set("content-length", String(byteLength(outgoing.body)));
  }
  // A Uint8Array is a valid body; lib.dom's typing wants one backed by a plain ArrayBuffer.
  return new Response(head ? null : (outgoing.body as BodyInit | null), { status: outgoing.status, headers });
}

/** The size in bytes of a body as it goes on the wire. */
export function byteLength(body: string | Uint8Array): number {
  return typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
}
