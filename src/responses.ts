import type { Outgoing } from "./exchange.ts";
import type { HeadersInit } from "./internal/web-types.ts";
import type { CookieOptions } from "./route.ts";

/** A response body: text or bytes in memory, or a stream produced while it is sent. */
export type ReplyBody = string | Uint8Array | ReadableStream<Uint8Array> | null;

/**
 * A response built by a helper (`json`, `text`, `html`, `redirect`, `stream`). Lighter than a web `Response`: the
 * Node adapter writes one with a body in memory directly.
 */
export class Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: ReplyBody;
  constructor(status: number, body: ReplyBody, headers?: HeadersInit) {
    this.status = status;
    this.body = body;
    this.headers = new Headers(headers);
  }
}

/** Options shared by the response helpers. */
export interface ReplyInit {
  readonly status?: number;
  readonly headers?: HeadersInit;
}

function withType(headers: HeadersInit | undefined, type: string): Headers {
  const merged = new Headers(headers);
  if (!merged.has("content-type")) merged.set("content-type", type);
  return merged;
}

/** A JSON response of any value, bypassing the route's `response` schema. */
export function json(value: unknown, init: ReplyInit = {}): Reply {
  return new Reply(
    init.status ?? 200,
    JSON.stringify(value) ?? "null",
    withType(init.headers, "application/json"),
  );
}

/** A `text/plain; charset=utf-8` response. */
export function text(body: string, init: ReplyInit = {}): Reply {
  return new Reply(init.status ?? 200, body, withType(init.headers, "text/plain; charset=utf-8"));
}

/** A `text/html; charset=utf-8` response. */
export function html(body: string, init: ReplyInit = {}): Reply {
  return new Reply(init.status ?? 200, body, withType(init.headers, "text/html; charset=utf-8"));
}

/**
 * A redirect (307 by default, as FastAPI's `RedirectResponse`, which keeps the method and body).
 * The location is sent as given, percent-encoding characters that may not appear in a header.
 */
export function redirect(
  location: string,
  status: 301 | 302 | 303 | 307 | 308 = 307,
  init: ReplyInit = {},
): Reply {
  const headers = new Headers(init.headers);
  headers.set("location", encodeURI(decodeURIOrKeep(location)));
  return new Reply(status, null, headers);
}

function decodeURIOrKeep(text: string): string {
  try {
    return decodeURI(text);
  } catch {
    return text;
  }
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Serializes a `Set-Cookie` value; the value is percent-encoded so that no client text can add attributes. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!COOKIE_NAME.test(name)) throw new TypeError(`Invalid cookie name: ${JSON.stringify(name)}`);
  let cookie = `${name}=${encodeURIComponent(value)}`;
  if (options.maxAge !== undefined) cookie += `; Max-Age=${Math.trunc(options.maxAge)}`;
  if (options.expires !== undefined) cookie += `; Expires=${options.expires.toUTCString()}`;
  cookie += `; Path=${options.path ?? "/"}`;
  if (options.domain !== undefined) cookie += `; Domain=${options.domain}`;
  if (options.secure) cookie += "; Secure";
  if (options.httpOnly ?? true) cookie += "; HttpOnly";
  cookie += `; SameSite=${options.sameSite === "strict" ? "Strict" : options.sameSite === "none" ? "None" : "Lax"}`;
  return cookie;
}

/**
 * A helper result as the core's response, with the headers a handler set through `context.response` added: a
 * plain response, or a web `Response` when the body is a stream.
 */
export function replyToOutgoing(reply: Reply, extra?: Headers): Outgoing {
  const headers: [string, string][] = [];
  appendHeaders(headers, reply.headers);
  if (extra !== undefined) appendHeaders(headers, extra);
  const { status, body } = reply;
  if (body instanceof ReadableStream)
    return new Response(body, { status, headers: dedupeContentType(headers) });
  return { status, headers: dedupeContentType(headers), body };
}

/** Appends the pairs of a `Headers`, one per `set-cookie`. */
export function appendHeaders(into: [string, string][], headers: Headers): void {
  for (const [name, value] of headers) if (name !== "set-cookie") into.push([name, value]);
  for (const cookie of headers.getSetCookie()) into.push(["set-cookie", cookie]);
}

/** A handler's own content-type replaces the default one rather than adding a second. */
export function dedupeContentType(headers: [string, string][]): [string, string][] {
  const types = headers.filter(([name]) => name === "content-type");
  if (types.length <= 1) return headers;
  const last = types[types.length - 1];
  return headers.filter((pair) => pair[0] !== "content-type" || pair === last);
}
