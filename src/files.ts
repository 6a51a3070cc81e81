// Files as responses: `file(path)` from a handler, and the static file server of `staticFiles`. Validators
// (ETag, Last-Modified) and conditional requests, byte ranges, Content-Disposition (RFC 9110 §13, §14; RFC 6266).

import { randomBytes } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { basename } from "node:path";
import { HTTPException } from "./errors.ts";
import type { Outgoing } from "./exchange.ts";
import { mediaTypeOf } from "./internal/mime.ts";
import { type ByteRange, parseRanges } from "./internal/ranges.ts";
import type { HeadersInit } from "./internal/web-types.ts";
import { appendHeaders, dedupeContentType, Reply } from "./responses.ts";

/** Options of {@link file}. */
export interface FileOptions {
  /** The name the client is given: sent in `Content-Disposition`, and used to guess the type. */
  readonly filename?: string;
  /** The media type; guessed from the file name's extension when absent. */
  readonly type?: string;
  /**
   * `attachment` asks the browser to download, `inline` to display.
   * @default "attachment" with a `filename`, otherwise no Content-Disposition
   */
  readonly disposition?: "attachment" | "inline";
  readonly headers?: HeadersInit;
}

/** A file as a handler's result; it is opened and sent when the response is written. */
export class FileReply extends Reply {
  readonly path: string;
  readonly options: FileOptions;
  constructor(path: string, options: FileOptions) {
    super(200, null, options.headers);
    this.path = path;
    this.options = options;
  }
}

/**
 * Sends a file (FastAPI's `FileResponse`): streamed in 64 KiB chunks, with `ETag`, `Last-Modified`,
 * `Accept-Ranges`, 304 for a matching conditional request, and 206 for byte ranges (several ranges as
 * `multipart/byteranges`). A path that is not a readable file is a 404.
 *
 * @example
 * app.get("/report", {}, () => file("./report.pdf", { filename: "report-2026.pdf" }));
 */
export function file(path: string, options: FileOptions = {}): FileReply {
  return new FileReply(path, options);
}

/** What sending a file needs of the request. */
export interface FileRequest {
  readonly method: string;
  header(name: string): string | undefined;
}

/** More ranges than this in one request are ignored (the whole file is sent): they only serve to amplify. */
const MAX_RANGES = 16;
const CHUNK = 64 * 1024;

/** Errors of `open` that mean there is no file to send. */
const MISSING = new Set(["ENOENT", "ENOTDIR", "EISDIR", "ENAMETOOLONG", "ELOOP", "EACCES", "EPERM"]);

/** Opens a regular file for reading, or undefined when the path names none. */
export async function openFile(
  path: string,
): Promise<{ handle: FileHandle; size: number; mtime: Date } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (MISSING.has((error as NodeJS.ErrnoException).code ?? "")) return undefined;
    throw error;
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    return undefined;
  }
  return { handle, size: stats.size, mtime: stats.mtime };
}

/** The response for a file reply, with the headers a handler set through `context.response`. */
export async function fileResponse(
  reply: FileReply,
  request: FileRequest,
  extra?: Headers,
): Promise<Outgoing> {
  const opened = await openFile(reply.path);
  if (opened === undefined) throw new HTTPException(404);
  return sendOpenFile(opened, reply.options, request, {
    status: reply.status,
    name: basename(reply.path),
    extra,
  });
}

/** Weak comparison (RFC 9110 §8.8.3.2): the opaque tags equal, with or without `W/`. */
function weakMatch(list: string, etag: string): boolean {
  if (list.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return list.split(",").some((each) => each.trim().replace(/^W\//, "") === opaque);
}

/** Strong comparison: both tags strong and equal. */
function strongMatch(list: string, etag: string): boolean {
  if (list.trim() === "*") return true;
  return !etag.startsWith("W/") && list.split(",").some((each) => each.trim() === etag);
}

/** An HTTP date in seconds, or undefined when it does not parse. */
function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000);
}

/** `Content-Disposition` with an ASCII `filename` and, for other names, the exact one as `filename*` (RFC 6266). */
export function contentDisposition(disposition: string, filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  if (ascii === filename) return `${disposition}; filename="${filename}"`;
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

interface SendOptions {
  readonly status: number;
  /** The file's own name, to guess its type from when the options name none. */
  readonly name: string;
  readonly extra?: Headers | undefined;
}

/**
 * Answers a request with an open file, which this takes over (it is closed once sent, or at once when no body
 * is sent).
 */
export async function sendOpenFile(
  opened: { handle: FileHandle; size: number; mtime: Date },
  options: FileOptions,
  request: FileRequest,
  send: SendOptions,
): Promise<Outgoing> {
  const { handle, size, mtime } = opened;
  const etag = `"${size.toString(16)}-${Math.floor(mtime.getTime()).toString(16)}"`;
  const modified = Math.floor(mtime.getTime() / 1000);
  const lastModified = mtime.toUTCString();
  let headers: [string, string][] = [
    ["content-type", options.type ?? mediaTypeOf(options.filename ?? send.name)],
    ["etag", etag],
    ["last-modified", lastModified],
    ["accept-ranges", "bytes"],
  ];
  const disposition = options.disposition ?? (options.filename === undefined ? undefined : "attachment");
  if (disposition !== undefined) {
    headers.push(["content-disposition", contentDisposition(disposition, options.filename ?? "download")]);
  }
  if (options.headers !== undefined) appendHeaders(headers, new Headers(options.headers));
  if (send.extra !== undefined) appendHeaders(headers, send.extra);
  // A Content-Type given as a header replaces the guessed one.
  headers = dedupeContentType(headers);
  const type = headers.find(([name]) => name === "content-type")![1];
  const done = (status: number, extraHeaders: [string, string][] = []): Outgoing => {
    void handle.close().catch(() => {});
    return { status, headers: [...headers, ...extraHeaders], body: null };
  };

  // Preconditions, in RFC 9110 §13.2.2's order; they concern the file, so not an error page made of one.
  if (send.status === 200) {
    const safe = request.method === "GET" || request.method === "HEAD";
    const ifMatch = request.header("if-match");
    const unmodifiedSince = parseDate(request.header("if-unmodified-since"));
    const failed =
      ifMatch !== undefined
        ? !strongMatch(ifMatch, etag)
        : unmodifiedSince !== undefined && modified > unmodifiedSince;
    if (failed) return done(412);
    const ifNoneMatch = request.header("if-none-match");
    const notModified =
      ifNoneMatch !== undefined
        ? weakMatch(ifNoneMatch, etag)
        : safe && modified <= (parseDate(request.header("if-modified-since")) ?? -1);
    if (notModified) return done(safe ? 304 : 412);
  }

  let ranges: readonly ByteRange[] | "unsatisfiable" | undefined;
  if (request.method === "GET" && send.status === 200) {
    const ifRange = request.header("if-range");
    const current =
      ifRange === undefined ||
      (ifRange.startsWith('"') || ifRange.startsWith("W/")
        ? strongMatch(ifRange, etag)
        : parseDate(ifRange) === modified);
    if (current) ranges = parseRanges(request.header("range"), size, MAX_RANGES);
  }
  if (ranges === "unsatisfiable") return done(416, [["content-range", `bytes */${size}`]]);
  if (request.method === "HEAD") return done(send.status, [["content-length", String(size)]]);

  if (ranges === undefined) {
    return streamed(send.status, headers, size, handle, [{ start: 0, end: size - 1 }]);
  }
  if (ranges.length === 1) {
    const [range] = ranges as [ByteRange];
    headers.push(["content-range", `bytes ${range.start}-${range.end}/${size}`]);
    return streamed(206, headers, range.end - range.start + 1, handle, ranges);
  }
  // Several ranges: one multipart/byteranges body, each part with its own type and range.
  const boundary = randomBytes(12).toString("hex");
  const heads = ranges.map(
    (range) =>
      `--${boundary}\r\ncontent-type: ${type}\r\ncontent-range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`,
  );
  const tail = `--${boundary}--\r\n`;
  const length =
    heads.reduce((sum, head) => sum + head.length, 0) +
    ranges.reduce((sum, range) => sum + range.end - range.start + 1 + 2, 0) +
    tail.length;
  const partHeaders = headers.filter(([name]) => name !== "content-type");
  partHeaders.unshift(["content-type", `multipart/byteranges; boundary=${boundary}`]);
  return streamed(206, partHeaders, length, handle, ranges, { heads, tail });
}

/** The file's bytes in the given ranges (framed as multipart parts when `parts` is given), then the file closed. */
function streamed(
  status: number,
  headers: [string, string][],
  length: number,
  handle: FileHandle,
  ranges: readonly ByteRange[],
  parts?: { heads: readonly string[]; tail: string },
): Response {
  const encoder = new TextEncoder();
  let index = 0;
  let position = ranges[0]?.start ?? 0;
  let started = false;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      void handle.close().catch(() => {});
    }
  };
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const range = ranges[index];
          if (range === undefined || range.end < range.start) {
            if (parts !== undefined) controller.enqueue(encoder.encode(parts.tail));
            close();
            controller.close();
            return;
          }
          if (parts !== undefined && !started) {
            controller.enqueue(encoder.encode(parts.heads[index]!));
            started = true;
            return;
          }
          const want = Math.min(CHUNK, range.end - position + 1);
          const buffer = Buffer.allocUnsafe(want);
          const { bytesRead } = await handle.read(buffer, 0, want, position);
          // The file shrank while being sent: the response cannot be completed, so it is cut short.
          if (bytesRead === 0) throw new Error("The file changed while it was being sent");
          position += bytesRead;
          controller.enqueue(buffer.subarray(0, bytesRead));
          if (position > range.end) {
            if (parts !== undefined) controller.enqueue(encoder.encode("\r\n"));
            index += 1;
            position = ranges[index]?.start ?? 0;
            started = false;
          }
        } catch (error) {
          close();
          controller.error(error);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status, headers: [...headers, ["content-length", String(length)]] });
}
