// examples/uploads over a real socket: POST /files stores a multipart upload on disk under a safe name (with its
// size, SHA-256 and note), GET /files lists what is stored, GET /files/{name} downloads one with Content-Disposition,
// byte ranges and conditional requests and reaches nothing outside the uploads directory, /static serves the upload
// form, and the OpenAPI document describes the multipart body.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Listening, listen } from "briskjs";
import { hasDotSegment } from "../src/internal/percent.ts";

// The example reads UPLOADS_DIR when it is imported: a fresh directory inside a fresh parent, so that a test can
// check that nothing is ever written next to it.
const PARENT = mkdtempSync(join(tmpdir(), "brisk-uploads-example-test-"));
const UPLOADS = join(PARENT, "uploads");
mkdirSync(UPLOADS);
// A file next to the uploads directory that no request may reach.
const SECRET = "the secret next door\n";
writeFileSync(join(PARENT, "secret.txt"), SECRET);
process.env.UPLOADS_DIR = UPLOADS;
const { app } = await import("../examples/uploads/app.ts");
delete process.env.UPLOADS_DIR;

const PUBLIC = new URL("../examples/uploads/public/", import.meta.url);
/** What the example's FileName accepts: the names GET /files/{name} serves. */
const STORED_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

let server: Listening | undefined;
let base = "";

before(async () => {
  server = await listen(app, { port: 0 });
  base = server.url;
});

after(async () => {
  await server?.close();
  rmSync(PARENT, { recursive: true, force: true });
});

interface Stored {
  name: string;
  size: number;
  sha256: string;
  note?: string;
}

/** Every file stored by a test so far, by name, as POST /files described it. */
const stored = new Map<string, Stored>();

const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

/** POSTs one file (and a note) as a browser form would, and returns the raw response. */
function postFile(filename: string, content: Uint8Array | string, note?: string): Promise<Response> {
  const body = new FormData();
  const part = typeof content === "string" ? content : new Uint8Array(content);
  body.append("file", new File([part], filename, { type: "application/octet-stream" }));
  if (note !== undefined) body.append("note", note);
  return fetch(`${base}/files`, { method: "POST", body });
}

/** Uploads a file, checks the 201 and its description (with the right SHA-256), and returns it. */
async function store(filename: string, content: Uint8Array | string, note?: string): Promise<Stored> {
  const response = await postFile(filename, content, note);
  const text = await response.text();
  assert.equal(response.status, 201, `POST /files ${JSON.stringify(filename)}: ${text}`);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  const body = JSON.parse(text) as Stored;
  const expected: Stored = {
    name: body.name,
    size: typeof content === "string" ? Buffer.byteLength(content) : content.byteLength,
    sha256: sha256(content),
    ...(note === undefined ? {} : { note }),
  };
  assert.deepEqual(body, expected, `the description of ${JSON.stringify(filename)}`);
  assert.match(
    body.name,
    STORED_NAME,
    `the name ${JSON.stringify(filename)} was stored as is one GET /files/{name} serves and GET /files lists`,
  );
  assert.ok(!stored.has(body.name), `${body.name} was given twice`);
  stored.set(body.name, body);
  return body;
}

/** The file as it is on disk in the uploads directory. */
function onDisk(name: string): Promise<Buffer> {
  return readFile(join(UPLOADS, name));
}

/** A GET with the path sent exactly as written (fetch would resolve `..` and `%2E%2E` segments first). */
function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: hostname, port, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end();
  });
}

/** Nothing was written next to the uploads directory, and the metadata directory is still a directory. */
async function assertNothingOutside(): Promise<void> {
  assert.deepEqual((await readdir(PARENT)).sort(), ["secret.txt", "uploads"]);
  assert.equal(await readFile(join(PARENT, "secret.txt"), "utf8"), SECRET);
  assert.ok((await stat(join(UPLOADS, ".meta"))).isDirectory(), "uploads/.meta is still a directory");
}

describe("POST /files", () => {
  test("stores the file and answers 201 with its name, size, SHA-256 and note", async () => {
    const content = randomBytes(200 * 1024 + 17);
    const body = await store("photo.bin", content, "holiday, day 2");
    assert.equal(body.name, "photo.bin");
    assert.equal(body.note, "holiday, day 2");
    assert.ok((await onDisk("photo.bin")).equals(content), "the stored bytes are the uploaded ones");
    // What the client said is kept next to the files, in the hidden metadata directory.
    assert.deepEqual(JSON.parse(await readFile(join(UPLOADS, ".meta", "photo.bin.json"), "utf8")), body);
  });

  test("without a note, the description has no note", async () => {
    const body = await store("plain.txt", "just text\n");
    assert.deepEqual(Object.keys(body).sort(), ["name", "sha256", "size"]);
    assert.equal(await onDisk("plain.txt").then(String), "just text\n");
  });

  test("an empty file is stored too", async () => {
    const body = await store("empty.dat", new Uint8Array(0));
    assert.equal(body.size, 0);
    assert.equal(body.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal((await onDisk("empty.dat")).byteLength, 0);
  });

  for (const [what, filename, expected] of [
    ["spaces become underscores", "my report 2026.txt", "my_report_2026.txt"],
    ["each non-ASCII letter becomes one underscore", "résumé.pdf", "r_sum_.pdf"],
    ["CJK letters become underscores", "名前.txt", "__.txt"],
    ["leading dots are removed", ".bashrc", "bashrc"],
    ["a name like the metadata directory's is made plain", ".meta", "meta"],
    ["a name of dots only becomes 'upload'", "...", "upload"],
    ["shell and URL characters become underscores", "a;b&c$(d)`e'f?g#h%i.txt", "a_b_c__d__e_f_g_h_i.txt"],
  ] as const) {
    test(`the stored name is made safe: ${what}`, async () => {
      const body = await store(filename, `content of ${filename}`);
      assert.equal(body.name, expected);
      assert.equal(await onDisk(expected).then(String), `content of ${filename}`);
      await assertNothingOutside();
    });
  }

  for (const filename of [
    "../escaped.txt",
    "../../../../../../tmp/escaped-too.txt",
    "..\\..\\windows.ini",
    "sub/dir/nested.txt",
    "/etc/absolute.txt",
    "../.hidden-after-dots",
  ]) {
    test(`a name with directories stays inside the uploads directory: ${JSON.stringify(filename)}`, async () => {
      const content = `content of ${filename}`;
      const body = await store(filename, content);
      assert.doesNotMatch(body.name, /[/\\]|^\./, "no directory part, no leading dot");
      assert.equal(await onDisk(body.name).then(String), content);
      await assertNothingOutside();
      // And it can be downloaded under the name it was given.
      const download = await fetch(`${base}/files/${body.name}`);
      assert.equal(download.status, 200);
      assert.equal(await download.text(), content);
    });
  }

  test("a second upload of the same name gets -1, a third -2; the first is left as it was", async () => {
    const first = await store("report.csv", "a,b\n1,2\n");
    const second = await store("report.csv", "a,b\n3,4\n");
    const third = await store("report.csv", "a,b\n5,6\n");
    assert.deepEqual([first.name, second.name, third.name], ["report.csv", "report-1.csv", "report-2.csv"]);
    assert.equal(await onDisk("report.csv").then(String), "a,b\n1,2\n");
    assert.equal(await onDisk("report-1.csv").then(String), "a,b\n3,4\n");
    assert.equal(await onDisk("report-2.csv").then(String), "a,b\n5,6\n");
    // Without an extension, the number goes at the end.
    assert.equal((await store("README", "one")).name, "README");
    assert.equal((await store("README", "two")).name, "README-1");
    // Names that only become equal once made safe are numbered too.
    assert.equal((await store("my file.txt", "one")).name, "my_file.txt");
    assert.equal((await store("my?file.txt", "two")).name, "my_file-1.txt");
  });

  test("uploads of one name at the same time each get a name of their own", async () => {
    const contents = Array.from({ length: 6 }, (_, index) => `concurrent upload ${index}\n`);
    const bodies = await Promise.all(contents.map((content) => store("same.log", content)));
    const names = bodies.map((body) => body.name);
    assert.deepEqual([...names].sort(), [
      "same-1.log",
      "same-2.log",
      "same-3.log",
      "same-4.log",
      "same-5.log",
      "same.log",
    ]);
    for (const [index, body] of bodies.entries()) {
      assert.equal(await onDisk(body.name).then(String), contents[index]);
    }
  });

  test("a missing file is a 422 naming body.file, and nothing is stored", async () => {
    const before = await readdir(UPLOADS);
    const body = new FormData();
    body.append("note", "no file with this one");
    const response = await fetch(`${base}/files`, { method: "POST", body });
    assert.equal(response.status, 422);
    assert.deepEqual(await response.json(), {
      detail: [{ type: "missing", loc: ["body", "file"], msg: "Field required", input: null }],
    });
    assert.deepEqual(await readdir(UPLOADS), before);
  });

  test("a text field named file is not a file: 422 on body.file", async () => {
    const body = new FormData();
    body.append("file", "I am only text");
    const response = await fetch(`${base}/files`, { method: "POST", body });
    assert.equal(response.status, 422);
    const detail = ((await response.json()) as { detail: { loc: unknown[] }[] }).detail;
    assert.deepEqual(
      detail.map((issue) => issue.loc),
      [["body", "file"]],
    );
  });

  test("a note longer than 500 characters is a 422 naming body.note, and nothing is stored", async () => {
    const before = await readdir(UPLOADS);
    const response = await postFile("long-note.txt", "content", "n".repeat(501));
    assert.equal(response.status, 422);
    const detail = ((await response.json()) as { detail: { type: string; loc: unknown[] }[] }).detail;
    assert.deepEqual(
      detail.map((issue) => [issue.type, issue.loc]),
      [["string_too_long", ["body", "note"]]],
    );
    assert.deepEqual(await readdir(UPLOADS), before);
  });

  test("a JSON body has no form fields, as in FastAPI: 422 with body.file missing, nothing stored", async () => {
    const before = await readdir(UPLOADS);
    const response = await fetch(`${base}/files`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ file: "x" }),
    });
    assert.equal(response.status, 422);
    assert.deepEqual(await response.json(), {
      detail: [{ type: "missing", loc: ["body", "file"], msg: "Field required", input: null }],
    });
    assert.deepEqual(await readdir(UPLOADS), before);
  });
});

describe("GET /files", () => {
  test("lists every stored file with its description, in name order", async () => {
    // Stored out of order, so that the order of the list is the server's doing.
    await store("zebra.txt", "z");
    await store("Apple.txt", "A", "capital");
    await store("apple.txt", "a");
    const response = await fetch(`${base}/files`);
    assert.equal(response.status, 200);
    const list = (await response.json()) as Stored[];
    const names = list.map((each) => each.name);
    assert.deepEqual(names, [...stored.keys()].sort(), "every stored file, in name order");
    for (const each of list) assert.deepEqual(each, stored.get(each.name));
    // Code-unit order: capitals first.
    assert.ok(names.indexOf("Apple.txt") < names.indexOf("apple.txt"));
    assert.ok(names.indexOf("apple.txt") < names.indexOf("zebra.txt"));
  });

  test("files in the directory that no upload described are not listed, nor is the metadata", async () => {
    writeFileSync(join(UPLOADS, "dropped-in.txt"), "not uploaded");
    try {
      const list = (await (await fetch(`${base}/files`)).json()) as Stored[];
      const names = list.map((each) => each.name);
      assert.ok(!names.includes("dropped-in.txt"));
      assert.ok(!names.includes(".meta"));
    } finally {
      rmSync(join(UPLOADS, "dropped-in.txt"));
    }
  });
});

describe("GET /files/{name}", () => {
  // 1000 bytes whose values are their offsets mod 256, so any slice names where it came from.
  const CONTENT = Buffer.from(Array.from({ length: 1000 }, (_, index) => index % 256));
  let name = "";

  before(async () => {
    name = (await store("numbers.bin", CONTENT)).name;
  });

  test("downloads the file as an attachment under its stored name", async () => {
    const response = await fetch(`${base}/files/${name}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-disposition"), 'attachment; filename="numbers.bin"');
    assert.equal(response.headers.get("content-type"), "application/octet-stream");
    assert.equal(response.headers.get("content-length"), "1000");
    assert.equal(response.headers.get("accept-ranges"), "bytes");
    assert.match(response.headers.get("etag") ?? "", /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(response.headers.get("last-modified"));
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(CONTENT));
  });

  test("the media type is guessed from the stored name", async () => {
    const text = await fetch(`${base}/files/plain.txt`);
    assert.equal(text.status, 200);
    assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(text.headers.get("content-disposition"), 'attachment; filename="plain.txt"');
    assert.equal(await text.text(), "just text\n");
  });

  test("HEAD gives the headers without the body", async () => {
    const response = await fetch(`${base}/files/${name}`, { method: "HEAD" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-length"), "1000");
    assert.equal((await response.arrayBuffer()).byteLength, 0);
  });

  test("a single range is a 206 with Content-Range and just those bytes", async () => {
    for (const [range, start, end] of [
      ["bytes=10-19", 10, 19],
      ["bytes=990-", 990, 999],
      ["bytes=-5", 995, 999],
      ["bytes=900-5000", 900, 999],
    ] as const) {
      const response = await fetch(`${base}/files/${name}`, { headers: { range } });
      assert.equal(response.status, 206, range);
      assert.equal(response.headers.get("content-range"), `bytes ${start}-${end}/1000`, range);
      assert.equal(response.headers.get("content-length"), String(end - start + 1), range);
      assert.ok(
        Buffer.from(await response.arrayBuffer()).equals(CONTENT.subarray(start, end + 1)),
        `the bytes of ${range}`,
      );
    }
  });

  test("several ranges are a 206 multipart/byteranges, one part per range", async () => {
    const response = await fetch(`${base}/files/${name}`, { headers: { range: "bytes=0-3, 500-509, -2" } });
    assert.equal(response.status, 206);
    const type = response.headers.get("content-type") ?? "";
    const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(type)?.[1];
    assert.ok(boundary !== undefined, `content-type ${type}`);
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(response.headers.get("content-length"), String(body.byteLength));
    const text = body.toString("latin1");
    assert.ok(text.endsWith(`--${boundary}--\r\n`), "the closing delimiter");
    const parts = text
      .slice(0, -`--${boundary}--\r\n`.length)
      .split(`--${boundary}\r\n`)
      .slice(1)
      .map((part) => {
        const split = part.indexOf("\r\n\r\n");
        const head = part.slice(0, split).toLowerCase();
        assert.ok(part.endsWith("\r\n"));
        return { head, data: Buffer.from(part.slice(split + 4, -2), "latin1") };
      });
    const expected = [
      [0, 3],
      [500, 509],
      [998, 999],
    ] as const;
    assert.equal(parts.length, expected.length);
    for (const [index, [start, end]] of expected.entries()) {
      const part = parts[index]!;
      assert.match(part.head, /content-type: application\/octet-stream/);
      assert.match(part.head, new RegExp(`content-range: bytes ${start}-${end}/1000`));
      assert.ok(part.data.equals(CONTENT.subarray(start, end + 1)), `part ${index}`);
    }
  });

  test("a range past the end is a 416 with Content-Range: bytes */size", async () => {
    const response = await fetch(`${base}/files/${name}`, { headers: { range: "bytes=1000-" } });
    assert.equal(response.status, 416);
    assert.equal(response.headers.get("content-range"), "bytes */1000");
    await response.arrayBuffer();
  });

  test("If-None-Match with the file's ETag is a 304 without a body; another ETag gets the file", async () => {
    const first = await fetch(`${base}/files/${name}`);
    const etag = first.headers.get("etag");
    await first.arrayBuffer();
    assert.ok(etag !== null);
    const again = await fetch(`${base}/files/${name}`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get("etag"), etag);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    const weak = await fetch(`${base}/files/${name}`, { headers: { "if-none-match": `W/${etag}` } });
    assert.equal(weak.status, 304);
    await weak.arrayBuffer();
    const other = await fetch(`${base}/files/${name}`, { headers: { "if-none-match": '"0-0"' } });
    assert.equal(other.status, 200);
    assert.equal((await other.arrayBuffer()).byteLength, 1000);
  });

  test("If-Range with a stale ETag ignores the range and sends the whole file", async () => {
    const response = await fetch(`${base}/files/${name}`, {
      headers: { range: "bytes=0-9", "if-range": '"stale-etag"' },
    });
    assert.equal(response.status, 200);
    assert.equal((await response.arrayBuffer()).byteLength, 1000);
  });

  test("an unknown name is a 404", async () => {
    const response = await fetch(`${base}/files/never-uploaded.txt`);
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { detail: "Not Found" });
  });

  test("names that are not stored names are a 422 naming path.name", async () => {
    for (const bad of [".meta", ".hidden", "a%20b.txt", "x".repeat(101)]) {
      const response = await fetch(`${base}/files/${bad}`);
      assert.equal(response.status, 422, bad);
      const detail = ((await response.json()) as { detail: { loc: unknown[] }[] }).detail;
      assert.deepEqual(
        detail.map((issue) => issue.loc),
        [["path", "name"]],
        bad,
      );
    }
  });

  test("nothing outside the stored files can be reached: traversal is a 404 or a 422 (400 for a dot segment)", async () => {
    // A hidden file and the metadata in the uploads directory, and a file next to it, all with known content.
    writeFileSync(join(UPLOADS, ".hidden"), "hidden content");
    try {
      for (const path of [
        "/files/..%2Fsecret.txt",
        "/files/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/files/%2E%2E%2Fsecret.txt",
        "/files/..%5Csecret.txt",
        "/files/%2Fetc%2Fpasswd",
        "/files/..",
        "/files/%2E%2E",
        "/files/.",
        "/files/.hidden",
        "/files/%2Ehidden",
        "/files/.meta",
        "/files/.meta%2Fnumbers.bin.json",
        "/files/..%2Fuploads%2F.meta%2Fnumbers.bin.json",
        "/files/../secret.txt",
        "/files/numbers.bin%00.txt",
      ]) {
        const response = await rawGet(path);
        const expected = hasDotSegment(path) ? [400] : [404, 422];
        assert.ok(expected.includes(response.status), `${path}: status ${response.status}`);
        const body = response.body.toString("utf8");
        assert.ok(!body.includes("secret next door"), `${path} sent the file next door`);
        assert.ok(!body.includes("hidden content"), `${path} sent the hidden file`);
        assert.ok(!body.includes("sha256"), `${path} sent metadata`);
        assert.ok(!body.includes("root:"), `${path} sent /etc/passwd`);
      }
    } finally {
      rmSync(join(UPLOADS, ".hidden"));
    }
  });
});

describe("/static", () => {
  test("/static/ is the upload form's page, as HTML", async () => {
    const response = await fetch(`${base}/static/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    const page = await response.text();
    assert.equal(page, await readFile(new URL("index.html", PUBLIC), "utf8"));
    assert.match(page, /<form action="..\/files" method="post" enctype="multipart\/form-data">/);
    // The form's relative action, resolved against the page's URL, is POST /files.
    assert.equal(new URL("../files", `${base}/static/`).href, `${base}/files`);
  });

  test("/static redirects to /static/, so that the page's relative links resolve", async () => {
    const response = await fetch(`${base}/static`, { redirect: "manual" });
    assert.ok([301, 302, 307, 308].includes(response.status), `status ${response.status}`);
    assert.equal(new URL(response.headers.get("location") ?? "", `${base}/static`).href, `${base}/static/`);
    await response.arrayBuffer();
    const followed = await fetch(`${base}/static`);
    assert.equal(followed.status, 200);
    assert.equal(followed.url, `${base}/static/`);
    assert.match(await followed.text(), /<h1>Uploads<\/h1>/);
  });

  test("/static/style.css is the stylesheet, as CSS", async () => {
    const response = await fetch(`${base}/static/style.css`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(await response.text(), await readFile(new URL("style.css", PUBLIC), "utf8"));
  });

  test("a missing file is a 404, and nothing above public/ can be reached", async () => {
    assert.equal((await rawGet("/static/missing.css")).status, 404);
    for (const path of ["/static/../app.ts", "/static/..%2Fapp.ts", "/static/%2E%2E/app.ts"]) {
      const response = await rawGet(path);
      assert.equal(response.status, hasDotSegment(path) ? 400 : 404, path);
      assert.ok(!response.body.toString("utf8").includes("import"), `${path} sent app.ts`);
    }
  });
});

describe("the OpenAPI document", () => {
  test("POST /files takes multipart/form-data with a required binary file and an optional note", () => {
    const document = app.openapi() as {
      paths: Record<string, Record<string, { requestBody?: Record<string, unknown> }>>;
    };
    const requestBody = document.paths["/files"]?.post?.requestBody as {
      required?: boolean;
      content: Record<string, { schema: Record<string, unknown> }>;
    };
    assert.ok(requestBody !== undefined, "POST /files has a request body");
    assert.deepEqual(Object.keys(requestBody.content), ["multipart/form-data"]);
    assert.equal(requestBody.required, true);
    const schema = requestBody.content["multipart/form-data"]!.schema as {
      type: string;
      properties: Record<string, unknown>;
      required: string[];
    };
    assert.equal(schema.type, "object");
    assert.deepEqual(schema.properties.file, {
      type: "string",
      contentMediaType: "application/octet-stream",
    });
    assert.deepEqual(schema.properties.note, { type: "string", maxLength: 500 });
    assert.deepEqual(schema.required, ["file"]);
  });

  test("POST /files answers 201 with a StoredFile; GET /files/{name} documents the name's pattern", () => {
    const document = app.openapi() as unknown as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
    };
    const responses = document.paths["/files"]?.post?.responses as Record<string, unknown>;
    assert.deepEqual((responses["201"] as { content: unknown }).content, {
      "application/json": { schema: { $ref: "#/components/schemas/StoredFile" } },
    });
    assert.deepEqual(document.components.schemas.StoredFile?.required?.sort(), ["name", "sha256", "size"]);
    const parameters = document.paths["/files/{name}"]?.get?.parameters as {
      name: string;
      in: string;
      schema: { pattern?: string };
    }[];
    assert.deepEqual(
      parameters.map((each) => [each.in, each.name, each.schema.pattern]),
      [["path", "name", STORED_NAME.source]],
    );
  });
});

// Last, as it stores names that may be missing from the list if the example mishandles them.
describe("long names", () => {
  test("a name longer than 100 characters is cut to a stored name that keeps its extension", async () => {
    const filename = `${"long".repeat(40)}.txt`;
    const body = await store(filename, "long one");
    assert.ok(body.name.length <= 100, `${body.name.length} characters`);
    assert.ok(body.name.endsWith(".txt"));
    const download = await fetch(`${base}/files/${body.name}`);
    assert.equal(download.status, 200);
    assert.equal(await download.text(), "long one");
  });

  test("a second upload of a 100-character name gets a name that can still be listed and downloaded", async () => {
    const filename = `${"w".repeat(96)}.txt`;
    const first = await store(filename, "first");
    assert.equal(first.name, filename);
    const second = await store(filename, "second");
    assert.notEqual(second.name, first.name);
    assert.match(second.name, STORED_NAME, "the numbered name is still a stored name");
    const download = await fetch(`${base}/files/${second.name}`);
    assert.equal(download.status, 200, `GET /files/${second.name}`);
    assert.equal(await download.text(), "second");
    const list = (await (await fetch(`${base}/files`)).json()) as Stored[];
    assert.ok(
      list.some((each) => each.name === second.name),
      "the numbered file is listed",
    );
  });
});
