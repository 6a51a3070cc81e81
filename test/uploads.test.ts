// Uploads over real sockets: `multipart()` bodies of text fields, JSON fields and files; every limit, with its
// status and body; the temporary files large uploads are spilled to (removed after the response, after background
// tasks, after errors and when the client goes away; kept when moved with saveTo); a 413 sent while the client is
// still sending; and a 200 MiB upload to a server in a process of its own, whose memory stays flat.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, form, type Listening, listen, multipart, type UploadFile, upload } from "briskjs";
import { z } from "zod";
import { expectJson, recordingLogger } from "./helpers/app.ts";
import { isRunning, killOnExit, type Spawned, start, stop, waitFor } from "./helpers/processes.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

// ---------------------------------------------------------------------------------------------------------------
// Temporary directories and servers, removed and closed after the file.

const dirs: string[] = [];
const servers: Listening[] = [];

after(async () => {
  await Promise.allSettled(servers.map((server) => server.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed after the file: each app's `tempDir`, so a test knows every file in it. */
function freshDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `brisk-uploads-${label}-`));
  dirs.push(dir);
  return dir;
}

async function serve(app: App): Promise<Listening> {
  const server = await listen(app, { port: 0 });
  servers.push(server);
  return server;
}

const TEMP_NAME = /^brisk-upload-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Polls until `dir` is empty; fails with what is left after `ms`. */
async function waitEmpty(dir: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = await readdir(dir);
    if (left.length === 0) return;
    if (Date.now() > deadline) assert.fail(`${dir} still holds ${left.join(", ")} after ${ms} ms`);
    await sleep(20);
  }
}

/** Polls until `dir` holds at least `count` files (temporary files being written), and returns them. */
async function waitFiles(dir: string, count = 1, ms = 10_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await readdir(dir);
    if (found.length >= count) return found;
    if (Date.now() > deadline) assert.fail(`${dir} holds ${found.length} files after ${ms} ms, not ${count}`);
    await sleep(20);
  }
}

/** A promise with its resolve and reject at hand (Promise.withResolvers is Node 22). */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

// ---------------------------------------------------------------------------------------------------------------
// Multipart bodies written by hand, sent with node:http (chunked or with a Content-Length) or a raw socket.

const BOUNDARY = "----brisk-test-9f2c1d7e5a3b";
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

type Part =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly filename: string; readonly type?: string; readonly data: Uint8Array };

function partHead(part: Part): Buffer {
  if ("value" in part) {
    return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n`);
  }
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
      `Content-Type: ${part.type ?? "application/octet-stream"}\r\n\r\n`,
  );
}

/** The parts one after another, without the closing delimiter. */
function openBody(parts: readonly Part[]): Buffer {
  return Buffer.concat(
    parts.flatMap((part) => [
      partHead(part),
      "value" in part ? Buffer.from(part.value) : Buffer.from(part.data),
      Buffer.from("\r\n"),
    ]),
  );
}

const CLOSING = Buffer.from(`--${BOUNDARY}--\r\n`);

function multipartBody(parts: readonly Part[]): Buffer {
  return Buffer.concat([openBody(parts), CLOSING]);
}

function textPart(name: string, value: string): Part {
  return { name, value };
}

function filePart(name: string, data: Uint8Array, filename = `${name}.bin`, type?: string): Part {
  return type === undefined ? { name, filename, data } : { name, filename, type, data };
}

/** `bytes` split in pieces of `size`. */
function* pieces(bytes: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size);
}

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
  /** Whether the whole body had been sent when the answer came. */
  readonly sentAll: boolean;
}

/**
 * POSTs `chunks` with node:http: with a Content-Length when `length` is given, chunked otherwise. The server may
 * answer before it has read everything (a limit): sending then stops, and an error writing the rest after the
 * answer arrived does not count. An error before any answer (a reset that lost it) rejects.
 */
function post(
  url: string,
  headers: Record<string, string>,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  length?: number,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    let sentAll = false;
    const all = length === undefined ? headers : { ...headers, "content-length": String(length) };
    const req = httpRequest(url, { method: "POST", agent: false, headers: all }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on("data", (chunk: Buffer) => parts.push(chunk));
      res.on("end", () => {
        req.destroy();
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers["content-type"],
          body: Buffer.concat(parts).toString("utf8"),
          sentAll,
        });
      });
      res.on("error", reject);
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    const drainedOrClosed = () =>
      new Promise<void>((done) => {
        const finish = () => {
          req.off("drain", finish);
          req.off("close", finish);
          done();
        };
        req.on("drain", finish);
        req.on("close", finish);
      });
    void (async () => {
      for await (const chunk of chunks) {
        if (answered || req.destroyed) return;
        if (!req.write(chunk)) await drainedOrClosed();
      }
      if (answered || req.destroyed) return;
      sentAll = true;
      req.end();
    })().catch((error: unknown) => {
      req.destroy();
      if (!answered) reject(error);
    });
  });
}

/** POSTs a multipart body in chunks of 16 KiB, chunked or with its Content-Length. */
function postParts(
  url: string,
  body: Buffer,
  { lengthKnown = false, contentType = MULTIPART }: { lengthKnown?: boolean; contentType?: string } = {},
): Promise<Answer> {
  return post(
    url,
    { "content-type": contentType },
    pieces(body, 16 * KiB),
    lengthKnown ? body.length : undefined,
  );
}

/** Asserts a JSON answer received with node:http: status, media type and the whole parsed body. */
function expectAnswer(answer: Answer, status: number, body: unknown): void {
  assert.equal(answer.status, status, `status (body: ${answer.body})`);
  assert.equal(answer.contentType, "application/json");
  assert.deepEqual(JSON.parse(answer.body), body);
}

/** Sends `fields` (text, or files) as a FormData with fetch. */
async function postForm(
  url: string,
  fields: readonly (readonly [string, string | File])[],
): Promise<Response> {
  const data = new FormData();
  for (const [name, value] of fields) data.append(name, value);
  return fetch(url, { method: "POST", body: data });
}

async function assertServesOk(server: Listening): Promise<void> {
  const response = await fetch(`${server.url}/ok`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true });
}

// ---------------------------------------------------------------------------------------------------------------

describe("multipart fields and files", () => {
  const dir = freshDir("fields");
  const logger = recordingLogger();
  const options = { tempDir: dir, limits: { memory: 1024 } };
  const Meta = z.object({ title: z.string(), tags: z.array(z.string()) });
  const describeFile = async (file: UploadFile) => ({
    filename: file.filename,
    type: file.type,
    size: file.size,
    onDisk: file.onDisk,
    text: await file.text(),
  });
  const app = new App({ logger })
    .post(
      "/document",
      {
        body: multipart(
          { meta: Meta, file: upload(), note: z.string().optional(), count: z.int().optional() },
          options,
        ),
      },
      async ({ body }) => ({
        meta: body.meta,
        hasNote: "note" in body,
        note: body.note ?? null,
        count: body.count ?? null,
        file: await describeFile(body.file),
      }),
    )
    .post(
      "/gallery",
      { body: multipart({ photos: upload.many({ maxCount: 3, types: ["image/*"] }) }, options) },
      ({ body }) => ({ photos: body.photos.map((photo) => [photo.filename, photo.type, photo.size]) }),
    )
    .post(
      "/attachments",
      { body: multipart({ files: upload.many({ optional: true }) }, options) },
      ({ body }) => ({ count: body.files.length }),
    )
    .post(
      "/profile",
      {
        body: multipart(
          { name: z.string(), avatar: upload({ optional: true, types: ["image/png"] }) },
          options,
        ),
      },
      async ({ body }) => ({
        name: body.name,
        avatar: body.avatar === undefined ? null : await describeFile(body.avatar),
      }),
    )
    .post(
      "/images",
      { body: multipart({ image: upload({ types: ["image/*"] }) }, options) },
      async ({ body }) => ({
        type: body.image.type,
        size: body.image.size,
        temporaryFiles: (await readdir(dir)).length,
      }),
    )
    .post(
      "/ordered",
      {
        body: multipart({ first: upload(), count: z.int(), second: upload(), label: z.string() }, options),
      },
      () => ({ ok: true }),
    )
    .post(
      "/login",
      { body: form(z.object({ username: z.string(), remember: z.boolean().default(false) })) },
      ({ body }) => body,
    );
  let server: Listening;
  before(async () => {
    server = await serve(app);
  });

  const png = (name: string, size = 10) => new File([randomBytes(size)], name, { type: "image/png" });

  test("a JSON field, text fields coerced like query parameters and a file, in one request", async () => {
    const meta = { title: "Report", tags: ["q1", "draft"] };
    const response = await postForm(`${server.url}/document`, [
      ["meta", JSON.stringify(meta)],
      ["count", "3"],
      ["file", new File(["hello, world"], "report.txt", { type: "text/plain" })],
    ]);
    await expectJson(response, 200, {
      meta,
      hasNote: false,
      note: null,
      count: 3,
      file: { filename: "report.txt", type: "text/plain", size: 12, onDisk: false, text: "hello, world" },
    });
  });

  test("an empty text field counts as missing: left out when optional, 422 missing when required", async () => {
    const optional = await postForm(`${server.url}/document`, [
      ["meta", '{"title":"t","tags":[]}'],
      ["note", ""],
      ["count", ""],
      ["file", new File(["x"], "x.txt", { type: "text/plain" })],
    ]);
    const body = (await optional.json()) as { hasNote: boolean; note: unknown; count: unknown };
    assert.equal(optional.status, 200, JSON.stringify(body));
    assert.deepEqual([body.hasNote, body.note, body.count], [false, null, null]);

    const required = await postForm(`${server.url}/profile`, [["name", ""]]);
    await expectJson(required, 422, {
      detail: [{ type: "missing", loc: ["body", "name"], msg: "Field required", input: null }],
    });
  });

  test("a JSON field against its schema: a wrong member is a 422 located inside the field", async () => {
    const response = await postForm(`${server.url}/document`, [
      ["meta", '{"title": 5, "tags": []}'],
      ["file", new File(["x"], "x.txt")],
    ]);
    assert.equal(response.status, 422);
    const { detail } = (await response.json()) as { detail: { loc: unknown[] }[] };
    assert.deepEqual(
      detail.map((issue) => issue.loc),
      [["body", "meta", "title"]],
    );
  });

  test("upload.many takes the repeated parts of one name, in order", async () => {
    const response = await postForm(`${server.url}/gallery`, [
      ["photos", png("a.png", 3)],
      ["photos", new File([randomBytes(2000)], "b.jpg", { type: "image/jpeg" })],
      ["photos", png("c.png", 5)],
    ]);
    await expectJson(response, 200, {
      photos: [
        ["a.png", "image/png", 3],
        ["b.jpg", "image/jpeg", 2000],
        ["c.png", "image/png", 5],
      ],
    });
  });

  test("upload.many over its maxCount is 422 too_long", async () => {
    const response = await postForm(`${server.url}/gallery`, [
      ["photos", png("a.png")],
      ["photos", png("b.png")],
      ["photos", png("c.png")],
      ["photos", png("d.png")],
    ]);
    await expectJson(response, 422, {
      detail: [
        {
          type: "too_long",
          loc: ["body", "photos"],
          msg: "List should have at most 3 items after validation, not 4",
          input: ["a.png", "b.png", "c.png", "d.png"],
          ctx: { field_type: "List", max_length: 3, actual_length: 4 },
        },
      ],
    });
  });

  test("upload.many: none sent is 422 missing, or an empty list when optional", async () => {
    await expectJson(await postForm(`${server.url}/gallery`, [["other", "x"]]), 422, {
      detail: [{ type: "missing", loc: ["body", "photos"], msg: "Field required", input: null }],
    });
    await expectJson(await postForm(`${server.url}/attachments`, [["other", "x"]]), 200, { count: 0 });
    await expectJson(
      await postForm(`${server.url}/attachments`, [
        ["files", new File(["1"], "1.txt")],
        ["files", new File(["2"], "2.txt")],
      ]),
      200,
      { count: 2 },
    );
  });

  test("an optional upload: left out, the handler gets undefined; sent, it gets the file", async () => {
    await expectJson(await postForm(`${server.url}/profile`, [["name", "ada"]]), 200, {
      name: "ada",
      avatar: null,
    });
    const response = await postForm(`${server.url}/profile`, [
      ["name", "ada"],
      ["avatar", new File(["\u0089PNG"], "me.png", { type: "image/png" })],
    ]);
    await expectJson(response, 200, {
      name: "ada",
      avatar: { filename: "me.png", type: "image/png", size: 5, onDisk: false, text: "\u0089PNG" },
    });
  });

  test("types: a file of another media type is 422 file_type, also for an optional upload", async () => {
    const response = await postForm(`${server.url}/profile`, [
      ["name", "ada"],
      ["avatar", new File(["not an image"], "me.txt", { type: "text/plain" })],
    ]);
    await expectJson(response, 422, {
      detail: [
        {
          type: "file_type",
          loc: ["body", "avatar"],
          msg: "File type should be one of image/png",
          input: "text/plain",
          ctx: { expected: "image/png" },
        },
      ],
    });
  });

  test("types with image/* accepts every image type and refuses others", async () => {
    for (const type of ["image/png", "image/jpeg", "image/svg+xml"]) {
      const response = await postForm(`${server.url}/images`, [["image", new File(["img"], "i", { type })]]);
      await expectJson(response, 200, { type, size: 3, temporaryFiles: 0 });
    }
    for (const type of ["text/plain", "application/octet-stream", "imagery/png"]) {
      const response = await postForm(`${server.url}/images`, [["image", new File(["x"], "x", { type })]]);
      await expectJson(response, 422, {
        detail: [
          {
            type: "file_type",
            loc: ["body", "image"],
            msg: "File type should be one of image/*",
            input: type,
            ctx: { expected: "image/*" },
          },
        ],
      });
    }
    await waitEmpty(dir);
  });

  test("upload.many with types: one file of another type refuses the field", async () => {
    const response = await postForm(`${server.url}/gallery`, [
      ["photos", png("a.png")],
      ["photos", new File(["x"], "b.txt", { type: "text/plain" })],
    ]);
    assert.equal(response.status, 422);
    const { detail } = (await response.json()) as {
      detail: { type: string; loc: unknown[]; input: unknown }[];
    };
    assert.deepEqual(
      detail.map((issue) => [issue.type, issue.loc, issue.input]),
      [["file_type", ["body", "photos"], "text/plain"]],
    );
  });

  test("a missing file is 422 missing; a text value for a file field is 422 value_error", async () => {
    await expectJson(await postForm(`${server.url}/images`, [["other", "x"]]), 422, {
      detail: [{ type: "missing", loc: ["body", "image"], msg: "Field required", input: null }],
    });
    await expectJson(await postForm(`${server.url}/images`, [["image", "just text"]]), 422, {
      detail: [
        {
          type: "value_error",
          loc: ["body", "image"],
          msg: "Value error, Expected a file, received a text field",
          input: "just text",
        },
      ],
    });
  });

  test("errors come in the order the fields were declared, files and text fields mixed", async () => {
    const response = await postForm(`${server.url}/ordered`, [["count", "many"]]);
    assert.equal(response.status, 422);
    const { detail } = (await response.json()) as { detail: { type: string; loc: unknown[] }[] };
    assert.deepEqual(
      detail.map((issue) => [issue.type, issue.loc]),
      [
        ["missing", ["body", "first"]],
        ["int_parsing", ["body", "count"]],
        ["missing", ["body", "second"]],
        ["missing", ["body", "label"]],
      ],
    );
  });

  test("a file sent under an undeclared name is read past, never written to disk", async () => {
    const response = await postForm(`${server.url}/images`, [
      ["extra", new File([randomBytes(64 * KiB)], "extra.bin")],
      ["image", new File(["img"], "i.png", { type: "image/png" })],
    ]);
    await expectJson(response, 200, { type: "image/png", size: 3, temporaryFiles: 0 });
  });

  test("form() reads a multipart body too, ignoring its files", async () => {
    const response = await postForm(`${server.url}/login`, [
      ["username", "ada"],
      ["attachment", new File([randomBytes(4 * KiB)], "a.bin")],
      ["remember", "on"],
    ]);
    await expectJson(response, 200, { username: "ada", remember: true });
    const empty = await postForm(`${server.url}/login`, [
      ["username", ""],
      ["attachment", new File(["x"], "a.bin")],
    ]);
    await expectJson(empty, 422, {
      detail: [{ type: "missing", loc: ["body", "username"], msg: "Field required", input: null }],
    });
  });

  test("no temporary file was left, and nothing was logged as a server error", async () => {
    await waitEmpty(dir);
    assert.deepEqual(logger.errors, []);
  });
});

// ---------------------------------------------------------------------------------------------------------------

/** A body to send, and where to pause: once that much is sent, until the route's tempDir holds a file. */
interface Staged {
  readonly body: Buffer;
  readonly pauseAt?: number;
}

interface LimitCase {
  readonly name: string;
  readonly limits?: Record<string, number>;
  /** upload({ maxSize }) of the `file` field. */
  readonly maxSize?: number;
  readonly bodyLimit?: number;
  readonly body: () => Staged;
  /** Sent with its Content-Length rather than chunked. */
  readonly lengthKnown?: boolean;
  readonly contentType?: string;
  readonly status: number;
  /** The expected detail, or a test of it. */
  readonly detail: string | ((detail: string) => boolean);
}

/** `first`, then `then` once a file of `first` has been spilled to disk, then the closing delimiter (or not). */
function afterSpill(first: readonly Part[], then: readonly Part[], close = true): Staged {
  const head = openBody(first);
  return {
    body: Buffer.concat([head, openBody(then), close ? CLOSING : Buffer.alloc(0)]),
    pauseAt: head.length,
  };
}

/** One file of `size` bytes, paused after `pauseAfter` of them (past the memory threshold). */
function fileSpilledAt(size: number, pauseAfter: number): Staged {
  const part = filePart("file", randomBytes(size));
  return { body: multipartBody([part]), pauseAt: partHead(part).length + pauseAfter };
}

describe("every limit: its status, its body, and no temporary file left", () => {
  const logger = recordingLogger();
  const big = (size: number) => randomBytes(size);
  // Files are spilled past 256 bytes. A staged body stops after a file has been spilled, until its temporary file
  // is there, and only then sends what breaks the limit: so the file to remove surely exists.
  const memory = 256;
  const cases: LimitCase[] = [
    {
      name: "too many parts",
      limits: { parts: 3 },
      body: () =>
        afterSpill(
          [filePart("file", big(4 * KiB))],
          [textPart("a", "1"), textPart("b", "2"), textPart("c", "3")],
        ),
      status: 400,
      detail: "Too many parts. Maximum number of parts is 3.",
    },
    {
      name: "too many fields",
      limits: { fields: 2 },
      body: () =>
        afterSpill(
          [filePart("file", big(4 * KiB))],
          [textPart("a", "1"), textPart("b", "2"), textPart("c", "3")],
        ),
      status: 400,
      detail: "Too many fields. Maximum number of fields is 2.",
    },
    {
      name: "too many files",
      limits: { files: 2 },
      body: () =>
        afterSpill(
          [filePart("file", big(4 * KiB)), filePart("files", big(4 * KiB))],
          [filePart("files", big(4 * KiB))],
        ),
      status: 400,
      detail: "Too many files. Maximum number of files is 2.",
    },
    {
      name: "a text field over fieldSize",
      limits: { fieldSize: 8 },
      body: () => afterSpill([filePart("file", big(4 * KiB))], [textPart("note", "123456789")]),
      status: 413,
      detail: 'The field "note" is larger than the limit of 8 bytes',
    },
    {
      name: "a file over fileSize",
      limits: { fileSize: 5000 },
      body: () => fileSpilledAt(5001, 4000),
      status: 413,
      detail: 'The file "file" is larger than the limit of 5000 bytes',
    },
    {
      name: "one of many files over fileSize",
      limits: { fileSize: 5000 },
      body: () =>
        afterSpill(
          [filePart("file", big(100)), filePart("files", big(4000))],
          [filePart("files", big(5001))],
        ),
      status: 413,
      detail: 'The file "files" is larger than the limit of 5000 bytes',
    },
    {
      name: "a file over its upload's maxSize, under fileSize",
      limits: { fileSize: 5000 },
      maxSize: 3000,
      body: () => fileSpilledAt(3001, 2000),
      status: 413,
      detail: 'The file "file" is larger than the limit of 3000 bytes',
    },
    {
      name: "a chunked body over totalSize",
      limits: { totalSize: 10_000 },
      body: () => fileSpilledAt(20_000, 8000),
      status: 413,
      detail: "Request body is larger than the limit of 10000 bytes",
    },
    {
      name: "a Content-Length over totalSize",
      limits: { totalSize: 10_000 },
      body: () => ({ body: multipartBody([filePart("file", big(20_000))]) }),
      lengthKnown: true,
      status: 413,
      detail: "Request body is larger than the limit of 10000 bytes",
    },
    {
      name: "a body over the route's bodyLimit, which overrides totalSize",
      limits: { totalSize: 10 * MiB },
      bodyLimit: 10_000,
      body: () => fileSpilledAt(20_000, 8000),
      status: 413,
      detail: "Request body is larger than the limit of 10000 bytes",
    },
    {
      name: "a body cut short, without its closing delimiter",
      body: () => afterSpill([filePart("file", big(4 * KiB))], [textPart("note", "n")], false),
      status: 400,
      detail: "There was an error parsing the body",
    },
    {
      name: "a body that is not multipart at all",
      body: () => ({ body: Buffer.from("this is not a multipart body, there is no boundary in here") }),
      status: 400,
      detail: "There was an error parsing the body",
    },
    {
      name: "a part whose headers never end",
      body: () => ({
        body: Buffer.concat([
          Buffer.from(
            `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\nX-Pad: `,
          ),
          Buffer.alloc(64 * KiB, "a"),
          CLOSING,
        ]),
      }),
      status: 400,
      detail: "There was an error parsing the body",
    },
    {
      name: "a multipart Content-Type without a boundary",
      contentType: "multipart/form-data",
      body: () => ({ body: multipartBody([filePart("file", big(4 * KiB))]) }),
      status: 400,
      detail: (detail) => detail.startsWith("There was an error parsing the body"),
    },
  ];
  // The same limits, just met: accepted (the limits are not off by one).
  const metCases: { name: string; limits?: Record<string, number>; maxSize?: number; body: () => Buffer }[] =
    [
      {
        name: "exactly parts",
        limits: { parts: 3 },
        body: () => multipartBody([filePart("file", big(4 * KiB)), textPart("a", "1"), textPart("b", "2")]),
      },
      {
        name: "exactly fields",
        limits: { fields: 2 },
        body: () => multipartBody([filePart("file", big(4 * KiB)), textPart("a", "1"), textPart("b", "2")]),
      },
      {
        name: "exactly files",
        limits: { files: 2 },
        body: () => multipartBody([filePart("file", big(4 * KiB)), filePart("files", big(4 * KiB))]),
      },
      {
        name: "a text field of exactly fieldSize",
        limits: { fieldSize: 8 },
        body: () => multipartBody([filePart("file", big(4 * KiB)), textPart("note", "12345678")]),
      },
      {
        name: "a file of exactly fileSize",
        limits: { fileSize: 5000 },
        body: () => multipartBody([filePart("file", big(5000))]),
      },
      {
        name: "a file of exactly maxSize",
        limits: { fileSize: 5000 },
        maxSize: 3000,
        body: () => multipartBody([filePart("file", big(3000))]),
      },
    ];
  const exactTotal = multipartBody([filePart("file", big(20_000))]);

  const shape = (maxSize: number | undefined) => ({
    file: maxSize === undefined ? upload() : upload({ maxSize }),
    files: upload.many({ optional: true }),
    note: z.string().optional(),
  });
  const app = new App({ logger }).get("/ok", {}, () => ({ ok: true }));
  const routeDirs: string[] = [];
  const all = [
    ...cases,
    ...metCases,
    { name: "a body of exactly totalSize", limits: { totalSize: exactTotal.length }, body: () => exactTotal },
  ];
  all.forEach((each, index) => {
    const dir = freshDir(`limit${index}`);
    routeDirs.push(dir);
    const body = multipart(shape(each.maxSize), { tempDir: dir, limits: { memory, ...each.limits } });
    const bodyLimit = "bodyLimit" in each ? each.bodyLimit : undefined;
    app.post(
      `/case/${index}`,
      bodyLimit === undefined ? { body } : { body, bodyLimit },
      async ({ body }) => ({
        size: body.file.size,
        files: body.files.length,
        note: body.note ?? null,
        sha256: sha256(await body.file.bytes()),
      }),
    );
  });
  let server: Listening;
  before(async () => {
    server = await serve(app);
  });

  cases.forEach((each, index) => {
    test(`${each.name}: ${each.status}`, async () => {
      const dir = routeDirs[index]!;
      const { body, pauseAt } = each.body();
      async function* chunks(): AsyncGenerator<Buffer> {
        if (pauseAt !== undefined) {
          yield* pieces(body.subarray(0, pauseAt), 16 * KiB);
          const spilled = await waitFiles(dir);
          assert.match(spilled[0]!, TEMP_NAME);
        }
        yield* pieces(body.subarray(pauseAt ?? 0), 16 * KiB);
      }
      const answer = await post(
        `${server.url}/case/${index}`,
        { "content-type": each.contentType ?? MULTIPART },
        chunks(),
        each.lengthKnown ? body.length : undefined,
      );
      assert.equal(answer.status, each.status, `status (body: ${answer.body})`);
      assert.equal(answer.contentType, "application/json");
      const parsed = JSON.parse(answer.body) as { detail: unknown };
      if (typeof each.detail === "string") assert.deepEqual(parsed, { detail: each.detail });
      else {
        assert.deepEqual(Object.keys(parsed), ["detail"]);
        assert.ok(typeof parsed.detail === "string" && each.detail(parsed.detail), answer.body);
      }
      await waitEmpty(dir);
      await assertServesOk(server);
    });
  });

  metCases.forEach((each, index) => {
    const route = cases.length + index;
    test(`${each.name}: accepted`, async () => {
      const sent = each.body();
      const answer = await postParts(`${server.url}/case/${route}`, sent);
      assert.equal(answer.status, 200, answer.body);
      const { size } = JSON.parse(answer.body) as { size: number };
      assert.ok(size > 0);
      await waitEmpty(routeDirs[route]!);
    });
  });

  test("a body of exactly totalSize: accepted, chunked or with its Content-Length", async () => {
    const route = all.length - 1;
    for (const lengthKnown of [false, true]) {
      const answer = await postParts(`${server.url}/case/${route}`, exactTotal, { lengthKnown });
      assert.equal(answer.status, 200, answer.body);
    }
    await waitEmpty(routeDirs[route]!);
  });

  test("the file the handler reads is the file sent", async () => {
    const data = big(5000);
    const answer = await postParts(
      `${server.url}/case/${cases.length + metCases.findIndex((each) => each.name === "a file of exactly fileSize")}`,
      multipartBody([filePart("file", data)]),
    );
    expectAnswer(answer, 200, { size: 5000, files: 0, note: null, sha256: sha256(data) });
  });

  test("nothing was logged as a server error", () => {
    assert.deepEqual(logger.errors, []);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("temporary files", () => {
  const dir = freshDir("temp");
  const keep = freshDir("keep");
  const logger = recordingLogger();
  const options = { tempDir: dir, limits: { memory: 1024 } };
  let handled = 0;
  let later: { gate: Promise<void>; seen: ReturnType<typeof deferred<unknown>> } | undefined;
  const app = new App({ logger })
    .get("/ok", {}, () => ({ ok: true }))
    .post("/inspect", { body: multipart({ file: upload() }, options) }, async ({ body }) => {
      handled++;
      return {
        onDisk: body.file.onDisk,
        size: body.file.size,
        during: await readdir(dir),
        sha256: sha256(await body.file.bytes()),
      };
    })
    .post("/pair", { body: multipart({ first: upload(), second: upload() }, options) }, () => {
      handled++;
      return { ok: true };
    })
    .post("/fail", { body: multipart({ file: upload(), count: z.int() }, options) }, ({ body }) => {
      handled++;
      if (body.count === 13) throw new Error("unlucky");
      return { count: body.count };
    })
    .post("/save", { body: multipart({ file: upload(), name: z.string() }, options) }, async ({ body }) => {
      const target = join(keep, body.name);
      await body.file.saveTo(target);
      // The upload keeps reading from where it was saved.
      return { onDisk: body.file.onDisk, sha256: sha256(await body.file.bytes()) };
    })
    .post("/later", { body: multipart({ file: upload() }, options), status: 202 }, ({ body, background }) => {
      const { gate, seen } = later!;
      background(async () => {
        try {
          // The test opens the gate once it has the response: the task surely runs after it was sent.
          await gate;
          const listing = await readdir(dir);
          seen.resolve({ onDisk: body.file.onDisk, listing, sha256: sha256(await body.file.bytes()) });
        } catch (error) {
          seen.reject(error);
        }
      });
      return { queued: true };
    });
  let server: Listening;
  before(async () => {
    server = await serve(app);
  });

  /** A chunked upload whose first part is sent, then waits for its temporary file before the rest. */
  async function* staged(first: Buffer, rest: Buffer, files = 1): AsyncGenerator<Buffer> {
    yield first;
    await waitFiles(dir, files);
    yield rest;
  }

  test("a file of exactly `memory` bytes stays in memory: no temporary file, ever", async () => {
    const data = randomBytes(1024);
    const answer = await postParts(`${server.url}/inspect`, multipartBody([filePart("file", data)]));
    expectAnswer(answer, 200, { onDisk: false, size: 1024, during: [], sha256: sha256(data) });
  });

  test("a file over `memory` is on disk while the handler runs, and removed after the response", async () => {
    const data = randomBytes(1025);
    const answer = await postParts(`${server.url}/inspect`, multipartBody([filePart("file", data)]));
    assert.equal(answer.status, 200, answer.body);
    const body = JSON.parse(answer.body) as {
      onDisk: boolean;
      size: number;
      during: string[];
      sha256: string;
    };
    assert.deepEqual([body.onDisk, body.size, body.sha256], [true, 1025, sha256(data)]);
    assert.equal(body.during.length, 1, `temporary files during the handler: ${body.during.join(", ")}`);
    assert.match(body.during[0]!, TEMP_NAME);
    await waitEmpty(dir);
  });

  test("after a 422, the temporary file written before validation is removed", async () => {
    const data = randomBytes(256 * KiB);
    const whole = multipartBody([filePart("file", data), textPart("count", "many")]);
    const split = openBody([filePart("file", data)]).length - 2;
    const answer = await post(
      `${server.url}/fail`,
      { "content-type": MULTIPART },
      staged(whole.subarray(0, split), whole.subarray(split)),
    );
    expectAnswer(answer, 422, {
      detail: [
        {
          type: "int_parsing",
          loc: ["body", "count"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "many",
        },
      ],
    });
    await waitEmpty(dir);
  });

  test("after the handler throws (500), the temporary file is removed", async () => {
    const data = randomBytes(256 * KiB);
    const whole = multipartBody([filePart("file", data), textPart("count", "13")]);
    const split = openBody([filePart("file", data)]).length - 2;
    const answer = await post(
      `${server.url}/fail`,
      { "content-type": MULTIPART },
      staged(whole.subarray(0, split), whole.subarray(split)),
    );
    expectAnswer(answer, 500, { detail: "Internal Server Error" });
    await waitEmpty(dir);
    assert.ok(
      logger.errors.some((error) => error.includes("unlucky")),
      `logged: ${logger.errors.join("; ")}`,
    );
    logger.errors.length = 0;
  });

  test("a client that goes away mid-upload: its temporary files are removed, the handler never runs", async () => {
    const before = handled;
    const first = randomBytes(8 * KiB);
    const second = randomBytes(4 * MiB);
    const body = multipartBody([filePart("first", first), filePart("second", second)]);
    const sent = body.subarray(0, body.length / 2);
    const head =
      `POST /pair HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${MULTIPART}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`;
    const { hostname, port } = new URL(server.url);
    const socket: Socket = connect({ host: hostname, port: Number(port) });
    try {
      let answered = "";
      socket.on("data", (chunk: Buffer) => (answered += chunk.toString("latin1")));
      socket.on("error", () => {});
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      socket.write(head);
      socket.write(sent);
      // Both files are being written: the first whole, the second in part.
      const during = await waitFiles(dir, 2);
      assert.ok(
        during.every((name) => TEMP_NAME.test(name)),
        during.join(", "),
      );
      assert.equal(answered, "", "no answer before the body is complete");
    } finally {
      socket.destroy();
    }
    await waitEmpty(dir);
    assert.equal(handled, before, "the handler ran");
    await assertServesOk(server);
  });

  test("a spilled file moved with saveTo stays where it was saved; nothing is left in tempDir", async () => {
    const data = randomBytes(64 * KiB);
    const response = await postForm(`${server.url}/save`, [
      ["name", "big.bin"],
      ["file", new File([data], "big.bin")],
    ]);
    await expectJson(response, 200, { onDisk: true, sha256: sha256(data) });
    await waitEmpty(dir);
    // Long enough for a removal after the response to have happened, had it targeted the saved file.
    await sleep(200);
    assert.equal(sha256(await readFile(join(keep, "big.bin"))), sha256(data));
  });

  test("a small file saved with saveTo is written there", async () => {
    const data = randomBytes(100);
    const response = await postForm(`${server.url}/save`, [
      ["name", "small.bin"],
      ["file", new File([data], "small.bin")],
    ]);
    await expectJson(response, 200, { onDisk: false, sha256: sha256(data) });
    assert.equal(sha256(await readFile(join(keep, "small.bin"))), sha256(data));
    assert.deepEqual(await readdir(dir), []);
  });

  test("a background task can still read the upload; it is removed after the task", async () => {
    const gate = deferred<void>();
    const seen = deferred<unknown>();
    later = { gate: gate.promise, seen };
    const data = randomBytes(32 * KiB);
    const response = await postForm(`${server.url}/later`, [["file", new File([data], "later.bin")]]);
    await expectJson(response, 202, { queued: true });
    // The response is here and the task has not read the file yet: it is still on disk.
    const waiting = await readdir(dir);
    assert.equal(waiting.length, 1, `tempDir while the task waits: ${waiting.join(", ")}`);
    gate.resolve();
    const result = (await Promise.race([
      seen.promise,
      sleep(10_000).then(() => assert.fail("the background task did not finish")),
    ])) as { onDisk: boolean; listing: string[]; sha256: string };
    assert.equal(result.onDisk, true);
    assert.equal(result.sha256, sha256(data));
    assert.deepEqual(result.listing, waiting);
    await waitEmpty(dir);
  });

  test("nothing else was logged as a server error", async () => {
    assert.deepEqual(logger.errors, []);
    await waitEmpty(dir);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("a 413 while the client is still sending", () => {
  const dir = freshDir("midbody");
  const logger = recordingLogger();
  const limit = 256 * KiB;
  const app = new App({ logger })
    .get("/ok", {}, () => ({ ok: true }))
    .post(
      "/upload",
      {
        body: multipart({ file: upload() }, { tempDir: dir, limits: { fileSize: limit, memory: 64 * KiB } }),
      },
      ({ body }) => ({ size: body.file.size }),
    );
  let server: Listening;
  before(async () => {
    server = await serve(app);
  });

  /** A 16 MiB file in 64 KiB pieces, generated as it is sent. */
  function* tooBig(): Generator<Buffer> {
    yield partHead(filePart("file", new Uint8Array()));
    for (let index = 0; index < 256; index++) yield randomBytes(64 * KiB);
    yield Buffer.from("\r\n");
    yield CLOSING;
  }
  const tooBigLength = partHead(filePart("file", new Uint8Array())).length + 16 * MiB + 2 + CLOSING.length;

  for (const lengthKnown of [false, true]) {
    const how = lengthKnown ? "with a Content-Length" : "chunked";
    test(`${how}: the 413 reaches the client, and the server goes on serving`, async () => {
      for (let round = 0; round < 3; round++) {
        const answer = await post(
          `${server.url}/upload`,
          { "content-type": MULTIPART },
          tooBig(),
          lengthKnown ? tooBigLength : undefined,
        );
        expectAnswer(answer, 413, { detail: `The file "file" is larger than the limit of ${limit} bytes` });
        assert.equal(answer.sentAll, false, "the answer came before the body was sent");
        await waitEmpty(dir);
        await assertServesOk(server);
      }
      const data = randomBytes(200 * KiB);
      expectAnswer(await postParts(`${server.url}/upload`, multipartBody([filePart("file", data)])), 200, {
        size: 200 * KiB,
      });
      await waitEmpty(dir);
    });
  }

  test("nothing was logged as a server error", () => {
    assert.deepEqual(logger.errors, []);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("a client that leaves in the middle of a file part nobody reads", () => {
  const dir = freshDir("abandoned");
  const app = new App()
    .get("/ok", {}, () => ({ ok: true }))
    .post(
      "/photo",
      { body: multipart({ photo: upload({ types: ["image/png"] }) }, { tempDir: dir }) },
      () => ({ stored: true }),
    );
  let server: Listening;
  before(async () => {
    server = await serve(app);
  });

  // busboy ends the unfinished part's stream with an error: read past or not, it must not crash the server.
  for (const [what, field, type] of [
    ["a file of a refused media type", "photo", "text/plain"],
    ["a file under a name the route does not declare", "other", "image/png"],
    ["a file being received", "photo", "image/png"],
  ] as const) {
    test(`${what}: the server stays up and keeps no file`, async () => {
      const { port } = new URL(server.url);
      const part = `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${field}"; filename="a.bin"\r\ncontent-type: ${type}\r\n\r\n${"x".repeat(4096)}`;
      const socket = connect(Number(port), "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.write(
        `POST /photo HTTP/1.1\r\nhost: test\r\ncontent-type: ${MULTIPART}\r\ntransfer-encoding: chunked\r\n\r\n`,
      );
      socket.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
      await sleep(100);
      socket.destroy();
      await sleep(100);
      const ok = await fetch(`${server.url}/ok`);
      assert.equal(ok.status, 200);
      await waitFor(
        async () => ((await readdir(dir)).length === 0 ? true : undefined),
        () => "the temporary directory empties",
      );
    });
  }
});

describe("a 200 MiB upload to a server in its own process", () => {
  const dir = freshDir("big");
  let spawned: Spawned | undefined;
  let url = "";
  killOnExit(() => [spawned]);

  before(async () => {
    const started = start(process.execPath, ["--import", "tsx", "test/fixtures/upload-server.ts", dir]);
    spawned = started;
    url = await waitFor(
      () => /listening (http:\/\/\S+)/.exec(started.output())?.[1],
      started.output,
      () => isRunning(started),
    );
  });
  after(() => stop(spawned));

  /** The server's resident set size: from /proc where there is one, else from its /rss route. */
  async function rss(): Promise<number> {
    const pid = spawned?.child.pid;
    try {
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
      if (kib !== undefined) return Number(kib) * KiB;
    } catch {
      // No /proc: ask the server.
    }
    const response = await fetch(`${url}/rss`);
    return ((await response.json()) as { rss: number }).rss;
  }

  /** Resets the kernel's record of the peak RSS (VmHWM), where it can be; whether it could. */
  async function resetPeak(): Promise<boolean> {
    try {
      await writeFile(`/proc/${spawned?.child.pid}/clear_refs`, "5");
      return true;
    } catch {
      return false;
    }
  }

  async function kernelPeak(): Promise<number | undefined> {
    try {
      const status = await readFile(`/proc/${spawned?.child.pid}/status`, "utf8");
      const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
      return kib === undefined ? undefined : Number(kib) * KiB;
    } catch {
      return undefined;
    }
  }

  /** Uploads `size` random bytes as `file`, generated as they are sent; the answer and their SHA-256. */
  async function uploadRandom(size: number): Promise<{ answer: Answer; sent: string }> {
    const hash = createHash("sha256");
    const head = partHead(filePart("file", new Uint8Array(), "big.bin"));
    const tail = Buffer.concat([Buffer.from("\r\n"), CLOSING]);
    async function* body(): AsyncGenerator<Buffer> {
      yield head;
      for (let done = 0; done < size; done += 256 * KiB) {
        const chunk = randomBytes(Math.min(256 * KiB, size - done));
        hash.update(chunk);
        yield chunk;
      }
      yield tail;
    }
    const answer = await post(
      `${url}/hash`,
      { "content-type": MULTIPART },
      body(),
      head.length + size + tail.length,
    );
    return { answer, sent: hash.digest("hex") };
  }

  test("is streamed to disk: the server's memory stays under idle + 100 MiB, and the file arrives whole", {
    timeout: 180_000,
  }, async (t) => {
    // A first upload loads and compiles everything the big one uses.
    const warm = await uploadRandom(4 * MiB);
    assert.equal(warm.answer.status, 200, warm.answer.body);
    await waitEmpty(dir);
    const idle = await rss();
    const kernel = await resetPeak();

    let uploading = true;
    let peak = idle;
    let samples = 0;
    const sampler = (async () => {
      while (uploading) {
        peak = Math.max(peak, await rss());
        samples++;
        await sleep(50);
      }
    })();
    const size = 200 * MiB;
    let result: { answer: Answer; sent: string };
    try {
      result = await uploadRandom(size);
    } finally {
      uploading = false;
      await sampler;
    }
    const highWater = kernel ? await kernelPeak() : undefined;
    if (highWater !== undefined) peak = Math.max(peak, highWater);

    assert.equal(result.answer.status, 200, result.answer.body);
    assert.deepEqual(JSON.parse(result.answer.body), { sha256: result.sent, size, onDisk: true });
    const shown = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    t.diagnostic(`idle ${shown(idle)}, peak ${shown(peak)} while receiving ${shown(size)}`);
    assert.ok(samples > 0, "the memory was sampled");
    assert.ok(
      peak < idle + 100 * MiB,
      `peak RSS ${shown(peak)} (idle ${shown(idle)}, ${samples} samples, kernel peak ${highWater === undefined ? "unknown" : shown(highWater)})`,
    );
    await waitEmpty(dir);
  });
});
