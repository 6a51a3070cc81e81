import type { HeadersInit } from "../internal/web-types.ts";
/**
 * Header editing shared by the built-in middleware. A web `Response` may have immutable headers (one made by
 * `Response.redirect`, or a `fetch` result a route passes through), so edits go through {@link editHeaders}.
 */

/**
 * Applies `edit` to a response's headers: in place when they are mutable, otherwise on a copy of the response
 * (same status, status text, headers and body stream).
 */
export function editHeaders(response: Response, edit: (headers: Headers) => void): Response {
  try {
    edit(response.headers);
    return response;
  } catch (error) {
    // Immutable headers throw a TypeError on the first change, so nothing has been half-applied.
    if (!(error instanceof TypeError)) throw error;
    const headers = new Headers(response.headers);
    edit(headers);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

/** Adds a token to `Vary`, keeping what is there; nothing to do when it is listed already or `Vary: *`. */
export function appendVary(headers: Headers, token: string): void {
  const current = headers.get("vary");
  if (current === null || current.trim() === "") {
    headers.set("vary", token);
    return;
  }
  const listed = current.split(",").map((each) => each.trim().toLowerCase());
  if (listed.includes("*") || listed.includes(token.toLowerCase())) return;
  headers.set("vary", `${current}, ${token}`);
}

/** A `text/plain; charset=utf-8` response, as Starlette's `PlainTextResponse`. */
export function plainText(status: number, body: string, headers?: HeadersInit): Response {
  const all = new Headers(headers);
  all.set("content-type", "text/plain; charset=utf-8");
  return new Response(body, { status, headers: all });
}
