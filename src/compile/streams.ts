// The responses of routes declared with `stream: schema` (JSON Lines) or `sse: schema` (Server-Sent Events): the
// handler returns an iterable, each item is validated and written by the schema's serializer as it is sent.

import type { Outgoing } from "../exchange.ts";
import { appendHeaders } from "../responses.ts";
import type { ResponseControl, RouteSpec } from "../route.ts";
import {
  DEFAULT_PING_MS,
  EVENT_STREAM_HEADERS,
  encodeEvent,
  isServerSentEvent,
  isStreamSource,
  readableFrom,
  type StreamSource,
} from "../streaming.ts";
import { compileSerializer } from "./response.ts";

/** Turns what a streaming route's handler returned into the streamed response. */
export type StreamResponder = (
  result: unknown,
  status: number,
  control: ResponseControl | undefined,
) => Outgoing;

function streamResponse(
  body: ReadableStream<Uint8Array>,
  status: number,
  base: readonly (readonly [string, string])[],
  control: ResponseControl | undefined,
): Response {
  const headers: [string, string][] = base.map(([name, value]) => [name, value]);
  if (control !== undefined) {
    const extra: [string, string][] = [];
    appendHeaders(extra, control.headers);
    // The stream's own media type stands: the format is the route's, not the handler's choice.
    headers.push(...extra.filter(([name]) => name !== "content-type"));
  }
  return new Response(body, { status, headers });
}

function checkSource(route: string, result: unknown): StreamSource<unknown> {
  if (isStreamSource(result)) return result;
  throw new TypeError(
    `${route} streams its response: its handler must return an iterable, got ${typeof result}`,
  );
}

const JSON_LINES_HEADERS: readonly (readonly [string, string])[] = [["content-type", "application/jsonl"]];

/**
 * The responder of a route that streams, or undefined for one that answers with one body. With `stream`, each
 * item is a line of JSON; with `sse`, an event. An item that fails the schema ends the stream (its headers are
 * gone, so the error cannot be a 500): the connection is cut rather than invalid data sent.
 */
export function compileStreamResponder(route: string, spec: RouteSpec): StreamResponder | undefined {
  if (spec.stream !== undefined) {
    const serialize = compileSerializer(route, spec.stream);
    const encode = async (item: unknown) => `${await serialize(item)}\n`;
    return (result, status, control) =>
      streamResponse(readableFrom(checkSource(route, result), encode), status, JSON_LINES_HEADERS, control);
  }
  if (spec.sse !== undefined) {
    const serialize = compileSerializer(route, spec.sse);
    const encode = async (item: unknown) => {
      if (!isServerSentEvent(item)) return encodeEvent({}, await serialize(item));
      const data = item.data === undefined ? undefined : await serialize(item.data);
      return encodeEvent(item, data);
    };
    const ping = { heartbeatMs: spec.pingInterval ?? DEFAULT_PING_MS, heartbeat: ": ping\n\n" };
    return (result, status, control) =>
      streamResponse(
        readableFrom(checkSource(route, result), encode, ping),
        status,
        EVENT_STREAM_HEADERS,
        control,
      );
  }
  return undefined;
}
