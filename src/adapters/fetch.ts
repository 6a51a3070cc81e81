import { HTTPException } from "../errors.ts";
import type { Incoming } from "../exchange.ts";
import { splitTarget } from "../internal/target.ts";

/**
 * Reads a web stream to its end, failing with 413 as soon as more than `limit` bytes have arrived: the limit is
 * decided on bytes actually received, whatever a Content-Length header claims.
 */
async function readLimited(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** The 413 sent when a body exceeds its limit. */
export function tooLarge(limit: number): HTTPException {
  return new HTTPException(413, `Request body is larger than the limit of ${limit} bytes`);
}

/** Reads a web request's whole body, refusing a declared or received size over `limit` with 413. */
export function readRequestBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return readLimited(request.body, limit);
}

/** Wraps a web `Request` for the core (the fetch adapter, used by `app.fetch`). */
export function fromWebRequest(request: Request): Incoming {
  const [path, search] = splitTarget(request.url);
  let received: Uint8Array | undefined;
  let rebuilt: Request | undefined;
  return {
    method: request.method,
    path,
    search,
    header: (name) => request.headers.get(name) ?? undefined,
    headerNames: () => request.headers.keys(),
    readBody: (limit) => readRequestBody(request, limit).then((bytes) => (received = bytes)),
    // Once brisk has read the body, the handler's Request carries the bytes it read.
    toRequest: () =>
      received === undefined
        ? request
        : (rebuilt ??= new Request(request.url, {
            method: request.method,
            headers: request.headers,
            // A Uint8Array is a valid body; lib.dom's typing wants one backed by a plain ArrayBuffer.
            body: received as BodyInit,
            signal: request.signal,
          })),
  };
}
