// Compressed request bodies (`Content-Encoding: gzip`, `deflate`, `br`). Off unless the app turns it on: a
// decompressor is where a small request becomes a large one, so the decoded bytes are held to the same limit as the
// body, and to a ratio of the bytes received (a "zip bomb" is refused early, not after a gigabyte). A coding brisk
// does not decode is 415, never passed to a parser as if it were plain.

import { Readable } from "node:stream";
import zlib from "node:zlib";
import { HTTPException } from "../errors.ts";
import type { Incoming } from "../exchange.ts";

type Coding = "gzip" | "deflate" | "br";

/** How a route's body is decoded: whether it may be compressed, and the limits of the decoded bytes. */
export interface Decoding {
  readonly enabled: boolean;
  /** Decoded bytes, at most. */
  readonly limit: number;
  /** Decoded bytes per received byte, at most. */
  readonly ratio: number;
}

const CODINGS: ReadonlyMap<string, Coding | "identity"> = new Map([
  ["gzip", "gzip"],
  ["x-gzip", "gzip"],
  ["deflate", "deflate"],
  ["br", "br"],
  ["identity", "identity"],
]);

/**
 * The one coding of a `Content-Encoding` value; undefined for none (or `identity`). Several codings stacked, an
 * unknown one, or any coding while decoding is off, is 415.
 */
function requestCoding(header: string | undefined, decoding: Decoding): Coding | undefined {
  if (header === undefined) return undefined;
  const coding = CODINGS.get(header.trim().toLowerCase());
  if (coding === "identity") return undefined;
  if (coding === undefined || !decoding.enabled) {
    const accepted = decoding.enabled ? "gzip, deflate or br" : "none (the app does not decompress requests)";
    throw new HTTPException(
      415,
      `Unsupported Media Type: Content-Encoding ${JSON.stringify(header.slice(0, 100))}; accepted: ${accepted}`,
    );
  }
  return coding;
}

function decoder(coding: Coding): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress {
  if (coding === "gzip") return zlib.createGunzip();
  if (coding === "deflate") return zlib.createInflate();
  return zlib.createBrotliDecompress();
}

/** The 413 of a decoded body past its limits. */
function tooLargeDecoded(decoding: Decoding): HTTPException {
  return new HTTPException(
    413,
    `The decompressed request body is larger than the limit of ${decoding.limit} bytes, or than ${decoding.ratio} times the bytes received`,
  );
}

/**
 * The decoded chunks of an encoded body, as they come. Fails with 413 past the limit or the ratio (checked as each
 * chunk is decoded, so the decoder stops there), and with 400 when the bytes are not valid in their coding.
 */
async function* decodeBody(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  coding: Coding,
  decoding: Decoding,
): AsyncGenerator<Uint8Array> {
  let received = 0;
  async function* counted() {
    for await (const chunk of chunks) {
      received += chunk.byteLength;
      yield chunk;
    }
  }
  const source = Readable.from(counted());
  const inflate = decoder(coding);
  // The source's own errors (413 past the encoded limit, a client that went away) are the ones reported.
  let sourceError: unknown;
  source.on("error", (error) => {
    sourceError = error;
    inflate.destroy();
  });
  source.pipe(inflate);
  let decoded = 0;
  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      decoded += chunk.byteLength;
      // A few kilobytes always pass the ratio: a tiny body may decode to a normal one.
      if (decoded > decoding.limit || decoded > Math.max(received, 1024) * decoding.ratio) {
        throw tooLargeDecoded(decoding);
      }
      yield chunk;
    }
  } catch (error) {
    if (sourceError !== undefined) throw sourceError;
    if (error instanceof HTTPException) throw error;
    throw new HTTPException(400, `The request body is not valid ${coding} data`);
  } finally {
    source.destroy();
    inflate.destroy();
  }
  if (sourceError !== undefined) throw sourceError;
}

/** A whole encoded body, decoded. */
async function decodeWhole(bytes: Uint8Array, coding: Coding, decoding: Decoding): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of decodeBody([bytes], coding, decoding)) {
    parts.push(chunk);
    total += chunk.byteLength;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

/** A request's whole body, decoded when it is compressed (refused, 415, when it may not be). */
export function readDecoded(incoming: Incoming, decoding: Decoding): Promise<Uint8Array> {
  const coding = requestCoding(incoming.header("content-encoding"), decoding);
  const read = incoming.readBody(decoding.limit);
  return coding === undefined ? read : read.then((bytes) => decodeWhole(bytes, coding, decoding));
}

/** A request's body as it arrives, decoded when it is compressed (refused, 415, when it may not be). */
export function streamDecoded(incoming: Incoming, decoding: Decoding): AsyncIterable<Uint8Array> {
  const coding = requestCoding(incoming.header("content-encoding"), decoding);
  const stream = incoming.readBodyStream(decoding.limit);
  return coding === undefined ? stream : decodeBody(stream, coding, decoding);
}
