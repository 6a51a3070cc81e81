// Reading form bodies (`form()` and `multipart()`): URL-encoded forms from their bytes, multipart forms as they
// stream in, through busboy, with every limit enforced while reading.

import { setMaxListeners } from "node:events";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import type { Readable } from "node:stream";
import type busboy from "busboy";
import { HTTPException } from "../errors.ts";
import { isUtf8, parseMediaType } from "../internal/media-type.ts";
import { parseQuery } from "../internal/query.ts";
import type { MultipartLimits, UploadSpec } from "../multipart.ts";
import { UploadFile } from "../upload-file.ts";

/** The fields and files of a form body, however it was encoded. */
export class ParsedForm {
  /** Text fields: every value of each name, in order. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
  /** Files of the declared file fields. */
  readonly files: ReadonlyMap<string, readonly UploadFile[]>;
  /** File fields whose file was refused for its media type, with that type. */
  readonly refused: ReadonlyMap<string, string>;
  readonly #received: readonly UploadFile[];

  constructor(
    fields: ReadonlyMap<string, readonly string[]>,
    files: ReadonlyMap<string, readonly UploadFile[]> = new Map(),
    refused: ReadonlyMap<string, string> = new Map(),
    received: readonly UploadFile[] = [],
  ) {
    this.fields = fields;
    this.files = files;
    this.refused = refused;
    this.#received = received;
  }

  /** Removes the temporary files. */
  async dispose(): Promise<void> {
    await Promise.allSettled(this.#received.map((file) => file.dispose()));
  }
}

const FORM_MEDIA = "application/x-www-form-urlencoded";
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Whether a Content-Type announces a multipart body. */
export function isMultipart(contentType: string | undefined): boolean {
  return parseMediaType(contentType)?.essence === "multipart/form-data";
}

/**
 * The fields of a URL-encoded form. As in FastAPI, a body of another media type (JSON, say) has no form fields,
 * so the required ones are reported missing. Bytes that are not UTF-8 are 400. The limits of a multipart body's
 * fields apply here too (Starlette's CVE-2026-54283 was a form encoding without them): a field count past `fields`
 * is 400, a value past `fieldSize` bytes 413.
 */
export function parseUrlEncoded(
  bytes: Uint8Array,
  contentType: string | undefined,
  limits: Pick<ResolvedLimits, "fields" | "fieldSize">,
): ParsedForm {
  const media = parseMediaType(contentType);
  let fields: ReadonlyMap<string, readonly string[]> = new Map();
  if (media?.essence === FORM_MEDIA) {
    if (!isUtf8(media)) throw new HTTPException(415, "Unsupported Media Type: a form must be UTF-8");
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new HTTPException(400, "There was an error parsing the body");
    }
    const parsed = parseQuery(text);
    let count = 0;
    for (const [name, values] of parsed) {
      count += values.length;
      if (count > limits.fields) {
        throw new HTTPException(400, `Too many fields. Maximum number of fields is ${limits.fields}.`);
      }
      for (const value of values) {
        if (Buffer.byteLength(value) > limits.fieldSize) {
          throw new HTTPException(
            413,
            `The field "${name}" is larger than the limit of ${limits.fieldSize} bytes`,
          );
        }
      }
    }
    fields = parsed;
  }
  return new ParsedForm(fields);
}

/** Every limit of a multipart body, defaults applied. */
export type ResolvedLimits = Required<MultipartLimits>;

export const DEFAULT_LIMITS: ResolvedLimits = {
  parts: 1000,
  fields: 1000,
  files: 1000,
  fieldSize: 1024 * 1024,
  fileSize: 100 * 1024 * 1024,
  totalSize: 1024 * 1024 * 1024,
  memory: 1024 * 1024,
};

/** How one multipart body is read. */
export interface MultipartReading {
  /** The spec of a file field; files sent for any other name are read past and dropped. */
  readonly uploads: ReadonlyMap<string, UploadSpec>;
  readonly limits: ResolvedLimits;
  readonly tempDir: string | undefined;
}

let busboyModule: typeof busboy | undefined;

/** busboy, loaded by the first multipart body: an app that reads none does not pay for it. */
function loadBusboy(): typeof busboy {
  busboyModule ??= createRequire(import.meta.url)("busboy") as typeof busboy;
  return busboyModule;
}

function accepts(types: readonly string[], type: string): boolean {
  return types.some((each) => each === type || (each.endsWith("/*") && type.startsWith(each.slice(0, -1))));
}

function push<T>(map: Map<string, T[]>, name: string, value: T): void {
  const list = map.get(name);
  if (list === undefined) map.set(name, [value]);
  else list.push(value);
}

/**
 * Parses a multipart body as it arrives. Files are written while the body is read, and reading waits for each
 * write, so a large upload never sits in memory. On any failure (a limit, a malformed body, the client leaving)
 * reading stops, the files written so far are removed, and the error is thrown: 400 for counts and malformed
 * bodies, 413 for sizes.
 */
export async function parseMultipart(
  body: AsyncIterable<Uint8Array>,
  contentType: string,
  reading: MultipartReading,
): Promise<ParsedForm> {
  const { limits, uploads } = reading;
  const tempDir = reading.tempDir ?? tmpdir();
  let parser: busboy.Busboy;
  try {
    parser = loadBusboy()({
      headers: { "content-type": contentType },
      defParamCharset: "utf8",
      limits: {
        // busboy reports these two on reaching the limit; brisk refuses only what passes it.
        parts: limits.parts + 1,
        fields: limits.fields,
        files: limits.files,
        fieldSize: limits.fieldSize + 1,
      },
    });
  } catch {
    throw new HTTPException(400, "There was an error parsing the body: a multipart body needs a boundary");
  }

  const fields = new Map<string, string[]>();
  const files = new Map<string, UploadFile[]>();
  const refused = new Map<string, string>();
  const received: UploadFile[] = [];
  const writing: Promise<void>[] = [];
  let failure: unknown;
  const failures = new AbortController();
  // One listener per file being received (up to `limits.files` at once); removed as each read settles.
  setMaxListeners(0, failures.signal);
  const stop = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    failures.abort();
  };
  /**
   * `promise`, or the failure if one comes first. Not `Promise.race` with a pending failure promise: each race
   * would stay attached to it, keeping every chunk it ever resolved with alive until the request ends.
   */
  const unlessFailed = <T>(promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure !== undefined) {
        // Not waited for any more, but it may still fail (busboy ends an unfinished file with an error).
        promise.catch(() => {});
        return reject(failure);
      }
      const onFailure = () => reject(failure);
      failures.signal.addEventListener("abort", onFailure, { once: true });
      promise.then(
        (value) => {
          failures.signal.removeEventListener("abort", onFailure);
          resolve(value);
        },
        (error: unknown) => {
          failures.signal.removeEventListener("abort", onFailure);
          reject(error);
        },
      );
    });

  /** Writes one file's stream into its upload, refusing it once it passes its size limit. */
  const receive = async (name: string, stream: Readable, file: UploadFile, maxSize: number) => {
    const writer = UploadFile.writer(file, limits.memory, tempDir);
    const chunks = stream[Symbol.asyncIterator]();
    try {
      for (;;) {
        const step = await unlessFailed(chunks.next());
        if (step.done === true) break;
        const chunk = step.value as Buffer;
        if (file.size + chunk.byteLength > maxSize) {
          throw new HTTPException(413, `The file "${name}" is larger than the limit of ${maxSize} bytes`);
        }
        await writer.write(chunk);
      }
    } finally {
      await writer.close();
    }
  };

  parser.on("field", (name, value, info) => {
    if (info.valueTruncated) {
      stop(
        new HTTPException(413, `The field "${name}" is larger than the limit of ${limits.fieldSize} bytes`),
      );
    } else push(fields, name, value);
  });
  parser.on("file", (name, stream, info) => {
    // busboy ends an unfinished file with an error when the body stops short: one read past (or abandoned after
    // a failure) must not take the process down with an unhandled "error" event.
    stream.on("error", () => {});
    const spec = uploads.get(name);
    const type = (info.mimeType || "application/octet-stream").toLowerCase();
    if (spec === undefined || failure !== undefined) {
      stream.resume();
      return;
    }
    if (spec.types !== undefined && !accepts(spec.types, type)) {
      refused.set(name, type);
      stream.resume();
      return;
    }
    const file = new UploadFile(name, info.filename ?? "", type);
    received.push(file);
    push(files, name, file);
    writing.push(receive(name, stream, file, spec.maxSize ?? limits.fileSize).catch(stop));
  });
  parser.on("partsLimit", () =>
    stop(new HTTPException(400, `Too many parts. Maximum number of parts is ${limits.parts}.`)),
  );
  parser.on("filesLimit", () =>
    stop(new HTTPException(400, `Too many files. Maximum number of files is ${limits.files}.`)),
  );
  parser.on("fieldsLimit", () =>
    stop(new HTTPException(400, `Too many fields. Maximum number of fields is ${limits.fields}.`)),
  );
  parser.on("error", () => stop(new HTTPException(400, "There was an error parsing the body")));
  const closed = new Promise<void>((resolve) => parser.once("close", resolve));

  const drained = () => unlessFailed(new Promise<void>((resolve) => parser.once("drain", resolve)));

  try {
    for await (const chunk of body) {
      if (failure !== undefined) break;
      if (!parser.write(chunk)) await drained();
    }
    if (failure === undefined) {
      parser.end();
      await unlessFailed(closed);
      await unlessFailed(Promise.all(writing));
    }
  } catch (error) {
    stop(error);
  }
  if (failure !== undefined) {
    parser.destroy();
    // Every writer has stopped (each races the failure) before the files they wrote are removed.
    await Promise.allSettled(writing);
    await Promise.allSettled(received.map((file) => file.dispose()));
    throw failure;
  }
  return new ParsedForm(fields, files, refused, received);
}
