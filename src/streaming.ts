// Bodies sent while they are produced: raw streams (`stream()`), JSON Lines (`stream: schema`) and Server-Sent
// Events (`sse: schema`). Each becomes a web ReadableStream that pulls one item at a time, so a slow reader holds
// the producer back instead of making the server buffer, and a reader that goes away cancels the stream, which
// ends the iteration (an async generator's `finally` runs).

import { Reply, type ReplyInit } from "./responses.ts";

/** What can be streamed: sync or async iterables (generators included) and web streams. */
export type StreamSource<T> = AsyncIterable<T> | Iterable<T> | ReadableStream<T>;

const encoder = new TextEncoder();

function iteratorOf<T>(source: StreamSource<T>): AsyncIterator<T> | Iterator<T> {
  if (source instanceof ReadableStream) {
    return (source as unknown as AsyncIterable<T>)[Symbol.asyncIterator]();
  }
  if (typeof source === "object" && source !== null) {
    if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
    if (Symbol.iterator in source) return source[Symbol.iterator]();
  }
  throw new TypeError("A stream needs an iterable, an async iterable or a ReadableStream");
}

/** Whether a value can be streamed (a string is iterable, but not a stream of items). */
export function isStreamSource(value: unknown): value is StreamSource<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    (value instanceof ReadableStream || Symbol.asyncIterator in value || Symbol.iterator in value)
  );
}

/** Bytes of a chunk; text is sent as UTF-8. */
function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return encoder.encode(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError(`A stream chunk must be a string or bytes, got ${typeof chunk}`);
}

/** Options of {@link readableFrom}. */
export interface ReadableOptions {
  /**
   * While the source has nothing to give for this long, `heartbeat` is sent (SSE's keep-alive comment), so that
   * proxies and clients do not take the idle connection for a dead one.
   */
  readonly heartbeatMs?: number;
  readonly heartbeat?: string;
}

const TICK: unique symbol = Symbol("heartbeat");

/**
 * A byte stream of `source`'s items, each turned into a chunk by `encode`. Pull-based: an item is requested only
 * when the reader wants one. Cancelling the stream (the client left) returns the iterator.
 */
export function readableFrom<T>(
  source: StreamSource<T>,
  encode: (item: T) => Uint8Array | string | Promise<Uint8Array | string>,
  options: ReadableOptions = {},
): ReadableStream<Uint8Array> {
  const iterator = iteratorOf(source);
  const { heartbeatMs, heartbeat } = options;
  // With a heartbeat, a `next()` that outlives the wait is kept for the following pull rather than asked again.
  let pending: Promise<IteratorResult<T>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const nextOrTick = (): Promise<IteratorResult<T> | typeof TICK> => {
    pending ??= Promise.resolve(iterator.next());
    if (heartbeatMs === undefined) return pending;
    const tick = new Promise<typeof TICK>((resolve) => {
      timer = setTimeout(resolve, heartbeatMs, TICK);
    });
    return Promise.race([pending, tick]).finally(() => clearTimeout(timer));
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const step = await nextOrTick();
        if (step === TICK) {
          controller.enqueue(toBytes(heartbeat ?? ""));
          return;
        }
        pending = undefined;
        if (step.done === true) {
          controller.close();
          return;
        }
        let chunk: Uint8Array;
        try {
          chunk = toBytes(await encode(step.value));
        } catch (error) {
          // The stream fails with this item: the producer is ended too, so that its `finally` runs.
          await iterator.return?.();
          throw error;
        }
        controller.enqueue(chunk);
      },
      async cancel() {
        clearTimeout(timer);
        await iterator.return?.();
      },
    },
    // Nothing is produced ahead of the reader.
    { highWaterMark: 0 },
  );
}

/**
 * A streamed response of raw chunks (strings are sent as UTF-8): `stream(generate(), "text/plain")`. The body is
 * sent as it is produced, with backpressure; a client that disconnects ends the iteration.
 */
export function stream(
  source: StreamSource<Uint8Array | string>,
  type = "application/octet-stream",
  init: ReplyInit = {},
): Reply {
  const headers = new Headers(init.headers);
  if (!headers.has("content-type")) headers.set("content-type", type);
  return new Reply(init.status ?? 200, readableFrom(source, toBytes), headers);
}

/** A Server-Sent Event with more than data: an event name, an id, a reconnection delay, a comment. */
export interface ServerSentEvent<Data = unknown> {
  /** Sent as JSON, validated by the route's `sse` schema. */
  readonly data?: Data;
  /** Sent as it is, not validated (one `data:` line per line of text); excludes `data`. */
  readonly rawData?: string;
  /** The event type (`event:`); the client's `message` listener sees events without one. */
  readonly event?: string;
  /** The event id (`id:`), which a reconnecting client sends back as `Last-Event-ID`. */
  readonly id?: string;
  /** How long the client waits before reconnecting, in milliseconds (`retry:`). */
  readonly retry?: number;
  /** A comment line (`: ...`), ignored by clients. */
  readonly comment?: string;
}

const EVENT_KEYS = new Set(["data", "rawData", "event", "id", "retry", "comment"]);

/**
 * Whether an item a handler yielded is an event rather than plain data: a plain object with `data`, `rawData`
 * or `comment` and no keys other than those of {@link ServerSentEvent}. Data shaped like that must be wrapped:
 * `{ data: value }`.
 */
export function isServerSentEvent(item: unknown): item is ServerSentEvent {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return false;
  const proto = Object.getPrototypeOf(item);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(item);
  return (
    keys.every((key) => EVENT_KEYS.has(key)) && ("data" in item || "rawData" in item || "comment" in item)
  );
}

function singleLine(field: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new TypeError(`A Server-Sent Event's ${field} must be a single line`);
  return value;
}

/**
 * One event in the `text/event-stream` format: comment, `event:`, one `data:` per line, `id:`, `retry:`, then a
 * blank line. `data` is the JSON text already written from the event's data.
 */
export function encodeEvent(event: ServerSentEvent, data: string | undefined): string {
  if (event.data !== undefined && event.rawData !== undefined) {
    throw new TypeError("A Server-Sent Event has either data or rawData, not both");
  }
  let text = "";
  if (event.comment !== undefined)
    for (const line of event.comment.split(/\r\n|\r|\n/)) text += `: ${line}\n`;
  if (event.event !== undefined) text += `event: ${singleLine("event", event.event)}\n`;
  const payload = data ?? event.rawData;
  if (payload !== undefined) for (const line of payload.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  if (event.id !== undefined) {
    if (event.id.includes("\0")) throw new TypeError("A Server-Sent Event's id must not contain NUL");
    text += `id: ${singleLine("id", event.id)}\n`;
  }
  if (event.retry !== undefined) {
    if (!Number.isInteger(event.retry) || event.retry < 0) {
      throw new TypeError("A Server-Sent Event's retry must be a non-negative integer");
    }
    text += `retry: ${event.retry}\n`;
  }
  return `${text}\n`;
}

/** The headers of an event stream: no caching, and no buffering by nginx. */
export const EVENT_STREAM_HEADERS: readonly (readonly [string, string])[] = [
  ["content-type", "text/event-stream; charset=utf-8"],
  ["cache-control", "no-cache"],
  ["x-accel-buffering", "no"],
];

/** The interval between keep-alive comments on an idle event stream (FastAPI's 15 s). */
export const DEFAULT_PING_MS = 15_000;
