import { promisify } from "node:util";
import zlib from "node:zlib";
import { BriskError } from "../errors.ts";
import { parseMediaType } from "../internal/media-type.ts";
import type { BodyInit } from "../internal/web-types.ts";
import type { Middleware } from "../middleware.ts";
import { appendVary, editHeaders } from "./headers.ts";

/** Options of {@link gzip}. */
export interface GzipOptions {
  /**
   * Responses with fewer bytes than this are sent as they are (compression would not pay). For a body of unknown
   * length, up to this many bytes are read first to decide.
   * @default 500
   */
  readonly minimumSize?: number;
  /**
   * The gzip level, 1 (fastest) to 9 (smallest). Starlette uses 9; zlib's 6 gives nearly the same size for
   * JSON at a fraction of the CPU time.
   * @default 6
   */
  readonly level?: number;
  /**
   * The brotli quality, 0 to 11; past 5 it gets slow for responses made per request.
   * @default 4
   */
  readonly brotliQuality?: number;
}

type Coding = "br" | "gzip";

/** Bodies of a known length up to this size are compressed in one piece and get a Content-Length. */
const BUFFER_LIMIT = 1024 * 1024;
const gzipAsync = promisify(zlib.gzip);
const brotliAsync = promisify(zlib.brotliCompress);

/**
 * Compresses responses with brotli or gzip, as the request's `Accept-Encoding` allows (Starlette's
 * `GZipMiddleware`, plus brotli). Brotli is chosen when the client lists `br` with a q-value at least as high as
 * gzip's. Bodies of unknown length (streams) are compressed as they stream, each chunk flushed so that the client
 * sees it without waiting for more. Sent as they are: HEAD answers, 204 and 304, bodies under `minimumSize`,
 * `text/event-stream`, responses that already have a `Content-Encoding` or a `Content-Range`, and
 * `Cache-Control: no-transform`. Compressed responses get `Content-Encoding`, the compressed `Content-Length`
 * (or none when streamed), `Vary: Accept-Encoding` and a weak ETag (the bytes differ from the uncompressed ones).
 *
 * @example
 * app.use(gzip({ minimumSize: 1000 }));
 */
export function gzip(options: GzipOptions = {}): Middleware {
  const minimumSize = checkRange("minimumSize", options.minimumSize ?? 500, 0, Number.MAX_SAFE_INTEGER);
  const level = checkRange("level", options.level ?? 6, 1, 9);
  const quality = checkRange("brotliQuality", options.brotliQuality ?? 4, 0, 11);
  const create = (coding: Coding, size?: number): zlib.Gzip | zlib.BrotliCompress =>
    coding === "gzip" ? zlib.createGzip({ level }) : zlib.createBrotliCompress(brotliOptions(quality, size));
  const compressWhole = (coding: Coding, bytes: Uint8Array): Promise<Uint8Array> =>
    coding === "gzip"
      ? gzipAsync(bytes, { level })
      : brotliAsync(bytes, brotliOptions(quality, bytes.length));

  return async ({ request }, next) => {
    const response = await next();
    if (request.method === "HEAD" || response.body === null || !isCompressible(response.headers))
      return response;
    const { coding, identityRefused } = negotiate(request.headers.get("accept-encoding"));
    // A client that refuses the uncompressed form gets even a small body compressed.
    const minimum = identityRefused ? 0 : minimumSize;
    const declared = contentLength(response.headers);
    if (declared !== undefined && declared < minimum) return response;
    if (coding === undefined)
      return editHeaders(response, (headers) => appendVary(headers, "Accept-Encoding"));
    if (declared !== undefined && declared <= BUFFER_LIMIT) {
      const compressed = await compressWhole(coding, new Uint8Array(await response.arrayBuffer()));
      return rebuild(
        response,
        compressed,
        compressedHeaders(response.headers, coding, compressed.byteLength),
      );
    }
    const reader = response.body.getReader();
    const head: Uint8Array[] = [];
    let size = 0;
    // Of a body of unknown length, read just enough to know whether it reaches the minimum.
    while (declared === undefined && size < minimum) {
      const { done, value } = await reader.read();
      if (done) {
        const body = Buffer.concat(head, size);
        const headers = new Headers(response.headers);
        headers.set("content-length", String(size));
        return rebuild(response, body, headers);
      }
      head.push(value);
      size += value.byteLength;
    }
    const stream = compressStream(head, reader, create(coding, declared), FLUSH[coding]);
    return rebuild(response, stream, compressedHeaders(response.headers, coding, undefined));
  };
}

const FLUSH: Record<Coding, number> = {
  gzip: zlib.constants.Z_SYNC_FLUSH,
  br: zlib.constants.BROTLI_OPERATION_FLUSH,
};

function brotliOptions(quality: number, size: number | undefined): zlib.BrotliOptions {
  const params: Record<number, number> = { [zlib.constants.BROTLI_PARAM_QUALITY]: quality };
  if (size !== undefined) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = size;
  return { params };
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      `gzip: ${name} must be a whole number from ${min} to ${max}`,
    );
  }
  return value;
}

function isCompressible(headers: Headers): boolean {
  if (headers.has("content-encoding") || headers.has("content-range")) return false;
  const type = parseMediaType(headers.get("content-type") ?? undefined)?.essence;
  if (type === "text/event-stream") return false;
  const cacheControl = headers.get("cache-control");
  return (
    cacheControl === null ||
    !cacheControl.split(",").some((directive) => directive.trim().toLowerCase() === "no-transform")
  );
}

function contentLength(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** A q-value as RFC 9110 §12.4.2 writes it; anything else makes its entry ignored. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Picks the coding for an `Accept-Encoding` header (RFC 9110 §12.5.3): brotli when listed with a q-value at
 * least as high as gzip's, gzip when it (or `*`) is acceptable; none when the header is missing.
 */
function negotiate(header: string | null): { coding: Coding | undefined; identityRefused: boolean } {
  if (header === null) return { coding: undefined, identityRefused: false };
  const weights = new Map<string, number>();
  for (const entry of header.split(",")) {
    const [name = "", ...params] = entry.split(";");
    const coding = name.trim().toLowerCase();
    let weight = 1;
    for (const param of params) {
      const [key = "", value = ""] = param.split("=");
      if (key.trim().toLowerCase() === "q") weight = QVALUE.test(value.trim()) ? Number(value) : Number.NaN;
    }
    if (coding === "" || Number.isNaN(weight)) continue;
    // RFC 9110 §8.4.1.3: x-gzip is gzip.
    const key = coding === "x-gzip" ? "gzip" : coding;
    if (!weights.has(key)) weights.set(key, weight);
  }
  const any = weights.get("*");
  const gzipWeight = weights.get("gzip") ?? any ?? 0;
  // Brotli only when named: `*` alone picks gzip, which every client that sends `*` surely decodes.
  const brWeight = weights.get("br") ?? 0;
  const identity = weights.get("identity") ?? (any === 0 ? 0 : 1);
  const coding = brWeight > 0 && brWeight >= gzipWeight ? "br" : gzipWeight > 0 ? "gzip" : undefined;
  return { coding, identityRefused: identity === 0 };
}

function compressedHeaders(source: Headers, coding: Coding, length: number | undefined): Headers {
  const headers = new Headers(source);
  headers.set("content-encoding", coding);
  if (length === undefined) headers.delete("content-length");
  else headers.set("content-length", String(length));
  appendVary(headers, "Accept-Encoding");
  // The compressed bytes are another representation: a strong validator must not match the uncompressed one.
  const etag = headers.get("etag");
  if (etag !== null && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`);
  return headers;
}

function rebuild(
  response: Response,
  body: Uint8Array | ReadableStream<Uint8Array>,
  headers: Headers,
): Response {
  // A Uint8Array is a valid body; lib.dom's typing wants one backed by a plain ArrayBuffer.
  return new Response(body as BodyInit, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/**
 * The compressed form of a body, read as the client reads: one source chunk per pull, compressed and flushed,
 * so memory holds at most a chunk whatever the body's length.
 */
function compressStream(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  transform: zlib.Gzip | zlib.BrotliCompress,
  flushKind: number,
): ReadableStream<Uint8Array> {
  const pending = [...head];
  const failed = new Promise<never>((_resolve, reject) => transform.once("error", reject));
  failed.catch(() => {});
  const ended = new Promise<void>((resolve) => transform.once("end", resolve));
  return new ReadableStream<Uint8Array>({
    start(controller) {
      transform.on("data", (chunk: Buffer) => controller.enqueue(chunk));
      ended.then(() => {
        // After a failed pull the stream is errored already, and closing it would throw.
        try {
          controller.close();
        } catch {}
      });
    },
    async pull() {
      try {
        const chunk = pending.shift() ?? (await reader.read()).value;
        if (chunk === undefined) {
          transform.end();
          return await Promise.race([ended, failed]);
        }
        const flushed = new Promise<void>((resolve) => {
          transform.write(chunk);
          transform.flush(flushKind, () => resolve());
        });
        await Promise.race([flushed, failed]);
      } catch (error) {
        transform.destroy();
        throw error;
      }
    },
    cancel(reason) {
      transform.destroy();
      return reader.cancel(reason);
    },
  });
}
