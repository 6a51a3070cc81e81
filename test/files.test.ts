// Files as responses: `file()` from a handler and `staticFiles` mounted under a prefix. Validators, conditional
// requests (RFC 9110 §13), byte ranges (RFC 9110 §14), Content-Disposition (RFC 6266), and a static file server
// that never serves anything outside its directory, checked both in-process and over a real socket (where the
// request target reaches brisk exactly as written, `..` and all).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { App, BriskError, file, type Listening, listen, staticFiles } from "briskjs";
import { hasDotSegment } from "../src/internal/percent.ts";
import { call, expectJson } from "./helpers/app.ts";
import { seededRandom } from "./helpers/random.ts";

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

const SECRET = "TOP-SECRET-OUTSIDE-THE-SERVED-DIRECTORY";
const DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"; // 36 bytes: a byte's offset is easy to read off
/** A fixed mtime with milliseconds, so that the ETag and the second-granular Last-Modified are both known. */
const MTIME = new Date("2024-05-06T07:08:09.123Z");
const LAST_MODIFIED = "Mon, 06 May 2024 07:08:09 GMT";
const NOT_FOUND = { detail: "Not Found" };

const root = mkdtempSync(join(tmpdir(), "brisk-files-"));
const publicDir = join(root, "public");
const plainDir = join(root, "plain");
const outsideDir = join(root, "outside-dir");
const secretPath = join(root, "secret.txt");

/** A few MiB of seeded pseudo-random bytes: not a multiple of the 64 KiB chunk. */
const big = (() => {
  const random = seededRandom(0x5eed);
  const bytes = Buffer.alloc(5 * 1024 * 1024 + 12_345);
  for (let index = 0; index < bytes.length; index++) bytes[index] = Math.floor(random() * 256);
  return bytes;
})();

function setUpFixtures(): void {
  mkdirSync(publicDir);
  mkdirSync(plainDir);
  mkdirSync(outsideDir);
  writeFileSync(secretPath, SECRET);
  writeFileSync(join(outsideDir, "secret2.txt"), SECRET);
  writeFileSync(join(outsideDir, "index.html"), `<p>${SECRET}</p>`);

  writeFileSync(join(publicDir, "digits.txt"), DIGITS);
  utimesSync(join(publicDir, "digits.txt"), MTIME, MTIME);
  writeFileSync(join(publicDir, "empty.txt"), "");
  writeFileSync(join(publicDir, "index.html"), "<h1>root index</h1>");
  writeFileSync(join(publicDir, "404.html"), "<h1>custom not found</h1>");
  writeFileSync(join(publicDir, "data.json"), '{"a":1}');
  writeFileSync(join(publicDir, "blob.xyz"), "unknown type");
  writeFileSync(join(publicDir, "héllo world.txt"), "unicode name");
  // A file literally named `%2e%2e`: what a double-encoded `%252e%252e` names once decoded once.
  writeFileSync(join(publicDir, "%2e%2e"), "literal percent name");
  writeFileSync(join(publicDir, "big.bin"), big);
  mkdirSync(join(publicDir, "sub"));
  writeFileSync(join(publicDir, "sub", "index.html"), "<h1>sub index</h1>");
  writeFileSync(join(publicDir, "sub", "other.txt"), "other");
  mkdirSync(join(publicDir, "noindex"));
  writeFileSync(join(publicDir, "noindex", "file.txt"), "in noindex");

  // Symbolic links: inside → inside is served, anything leading out is not.
  symlinkSync("digits.txt", join(publicDir, "link-inside.txt"));
  symlinkSync("sub", join(publicDir, "link-subdir"));
  symlinkSync("../secret.txt", join(publicDir, "link-out.txt"));
  symlinkSync(secretPath, join(publicDir, "link-out-absolute.txt"));
  symlinkSync("../outside-dir", join(publicDir, "link-outdir"));
  symlinkSync("missing-target.txt", join(publicDir, "link-dangling.txt"));

  // A site without a 404.html.
  writeFileSync(join(plainDir, "index.html"), "<h1>plain</h1>");
}

setUpFixtures();
after(() => rmSync(root, { recursive: true, force: true }));

/** The strong ETag brisk is documented to send: `"<size hex>-<mtime ms hex>"`. */
function etagOf(size: number, mtime: Date): string {
  return `"${size.toString(16)}-${mtime.getTime().toString(16)}"`;
}
const DIGITS_ETAG = etagOf(DIGITS.length, MTIME);

function makeApp(): App {
  return new App()
    .mount("/static", staticFiles(publicDir))
    .mount(
      "/site",
      staticFiles(publicDir, { html: true, headers: { "cache-control": "public, max-age=60" } }),
    )
    .mount("/plain", staticFiles(plainDir, { html: true }))
    .get("/file/digits", {}, () => file(join(publicDir, "digits.txt")))
    .post("/file/digits", {}, () => file(join(publicDir, "digits.txt")))
    .get("/file/big", {}, () => file(join(publicDir, "big.bin")))
    .get("/file/missing", {}, () => file(join(publicDir, "no-such-file.txt")))
    .get("/file/directory", {}, () => file(join(publicDir, "sub")))
    .get("/file/report", {}, () => file(join(publicDir, "blob.xyz"), { filename: "report.pdf" }))
    .get("/file/inline", {}, () =>
      file(join(publicDir, "blob.xyz"), { filename: "report.pdf", disposition: "inline" }),
    )
    .get("/file/unicode", {}, () => file(join(publicDir, "digits.txt"), { filename: "résumé 2026.txt" }))
    .get("/file/quotes", {}, () =>
      file(join(publicDir, "digits.txt"), { filename: 'a"b\\c\r\nX-Evil: 1.txt' }),
    )
    .get("/file/typed", {}, () => file(join(publicDir, "digits.txt"), { type: "application/x-digits" }))
    .get("/file/typed-name", {}, () =>
      file(join(publicDir, "digits.txt"), { filename: "x.png", type: "text/x-custom; charset=ascii" }),
    )
    .get("/file/headers", {}, () =>
      file(join(publicDir, "digits.txt"), { headers: { "cache-control": "no-store", "x-extra": "1" } }),
    )
    .get("/file/typed-by-header", {}, () =>
      file(join(publicDir, "digits.txt"), { headers: { "content-type": "application/x-from-headers" } }),
    )
    .get("/file/typed-by-context", {}, ({ response }) => {
      response.headers.set("content-type", "application/x-from-context");
      return file(join(publicDir, "digits.txt"));
    })
    .get("/file/context", {}, ({ response }) => {
      response.headers.set("x-trace", "abc");
      response.setCookie("seen", "1");
      return file(join(publicDir, "digits.txt"));
    })
    .get("/file/by-name/{name}", {}, ({ params }) => file(join(publicDir, params.name)));
}

const app = makeApp();

// ---------------------------------------------------------------------------------------------------------------
// Helpers

async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** GETs a path with the given request headers. */
function get(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Response> {
  return call(app, path, { method, headers });
}

/** Asserts a whole-file 200 answer: no Content-Range, the exact bytes, and a Content-Length matching them. */
async function expectFull(response: Response, expected: string | Buffer): Promise<void> {
  const body = await bytesOf(response);
  assert.equal(response.status, 200, `status (body: ${body.toString("latin1").slice(0, 200)})`);
  assert.equal(response.headers.get("content-range"), null);
  assert.equal(response.headers.get("content-length"), String(Buffer.byteLength(expected)));
  assert.ok(body.equals(Buffer.from(expected)), "the whole file");
}

/** Asserts a single-range 206 answer. */
async function expectPartial(response: Response, start: number, end: number, source: Buffer): Promise<void> {
  const body = await bytesOf(response);
  assert.equal(response.status, 206, `status (body: ${body.toString("latin1").slice(0, 200)})`);
  assert.equal(response.headers.get("content-range"), `bytes ${start}-${end}/${source.length}`);
  assert.equal(response.headers.get("content-length"), String(end - start + 1));
  assert.ok(body.equals(source.subarray(start, end + 1)), `bytes ${start}-${end}`);
  assert.doesNotMatch(response.headers.get("content-type") ?? "", /multipart/);
}

interface Part {
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

/**
 * Parses a multipart/byteranges body strictly (RFC 9110 §14.6, RFC 2046 §5.1.1): each part opens with
 * `--boundary CRLF`, its headers end with an empty line, and the CRLF before the next delimiter belongs to it.
 */
function parseByteranges(body: Buffer, boundary: string): Part[] {
  const text = body.toString("latin1"); // one char per byte, so offsets are byte offsets
  const delimiter = `--${boundary}`;
  assert.ok(text.startsWith(`${delimiter}\r\n`), "the body opens with the first delimiter");
  const close = `\r\n${delimiter}--`;
  const end = text.lastIndexOf(close);
  assert.ok(end !== -1, "the body ends with the closing delimiter");
  assert.match(text.slice(end + close.length), /^(\r\n)?$/, "nothing but a CRLF after the closing delimiter");
  const parts: Part[] = [];
  let position = delimiter.length + 2;
  for (;;) {
    const next = text.indexOf(`\r\n${delimiter}`, position);
    assert.ok(next !== -1, "a delimiter ends each part");
    const raw = text.slice(position, next);
    const split = raw.indexOf("\r\n\r\n");
    assert.ok(split !== -1, "a part has a header section");
    const headers = new Map<string, string>();
    for (const line of raw.slice(0, split).split("\r\n")) {
      const colon = line.indexOf(":");
      assert.ok(colon > 0, `a part header line: ${JSON.stringify(line)}`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    parts.push({ headers, body: Buffer.from(raw.slice(split + 4), "latin1") });
    if (next === end) break;
    assert.equal(text.slice(next + 2 + delimiter.length, next + 4 + delimiter.length), "\r\n");
    position = next + 4 + delimiter.length;
  }
  return parts;
}

/** Asserts a multipart/byteranges 206 and returns its parts, having checked their headers and bytes. */
async function expectMultipart(
  response: Response,
  ranges: readonly [number, number][],
  source: Buffer,
  partType: string,
): Promise<Part[]> {
  const body = await bytesOf(response);
  assert.equal(response.status, 206);
  const type = response.headers.get("content-type") ?? "";
  const match = /^multipart\/byteranges;\s*boundary=("?)([^";]+)\1$/.exec(type);
  assert.ok(match !== null, `a multipart/byteranges type, got ${type}`);
  assert.equal(response.headers.get("content-range"), null, "no Content-Range on a multipart response");
  assert.equal(response.headers.get("content-length"), String(body.length), "an exact Content-Length");
  const parts = parseByteranges(body, match[2]!);
  assert.equal(parts.length, ranges.length, "one part per range");
  for (const [index, [start, end]] of ranges.entries()) {
    const part = parts[index]!;
    assert.equal(part.headers.get("content-type"), partType);
    assert.equal(part.headers.get("content-range"), `bytes ${start}-${end}/${source.length}`);
    assert.ok(part.body.equals(source.subarray(start, end + 1)), `part ${index}: bytes ${start}-${end}`);
  }
  return parts;
}

interface RawResponse {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

/** Writes a request on a fresh TCP connection, exactly as given, and reads the answer until the server closes. */
function rawRequest(base: string, head: string): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${JSON.stringify(head.split("\r\n")[0])}`));
    }, 10_000);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf("\r\n\r\n");
      const headText = raw.subarray(0, split === -1 ? raw.length : split).toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(headText);
      if (status === null) {
        reject(new Error(`not an HTTP response: ${JSON.stringify(headText.slice(0, 200))}`));
        return;
      }
      const headers = new Map<string, string>();
      for (const line of headText.split("\r\n").slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({
        status: Number(status[1]),
        headers,
        body: split === -1 ? Buffer.alloc(0) : raw.subarray(split + 4),
      });
    };
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", finish);
    socket.on("close", finish);
    socket.on("error", finish);
    socket.on("connect", () => socket.write(head, "latin1"));
  });
}

function rawGet(
  base: string,
  target: string,
  method = "GET",
  headers: readonly string[] = [],
): Promise<RawResponse> {
  const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", ...headers];
  return rawRequest(base, `${lines.join("\r\n")}\r\n\r\n`);
}

/** Downloads a URL with node:http, hashing the body as it streams in. */
function download(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  sha256: string;
  length: number;
}> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { agent: false, headers }, (res) => {
      const hash = createHash("sha256");
      let length = 0;
      res.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, sha256: hash.digest("hex"), length }),
      );
      res.on("error", reject);
    });
    request.on("error", reject);
  });
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// ---------------------------------------------------------------------------------------------------------------
// Path traversal

/**
 * Request paths below `/static` that try to reach outside the served directory (or use a dot segment at all).
 * Every one must be a 404 and must not leak the secret. Some are normalized away by `fetch`/`URL` before brisk
 * sees them; over the socket they all reach brisk as written.
 */
const TRAVERSALS: readonly string[] = [
  "/../secret.txt",
  "/../../secret.txt",
  "/..",
  "/../",
  "/.",
  "/./digits.txt",
  "/sub/./other.txt",
  "/sub/..",
  "/sub/../digits.txt",
  "/sub/../../secret.txt",
  "/../static/digits.txt",
  "/..%2Fsecret.txt",
  "/..%2fsecret.txt",
  "/%2e%2e/secret.txt",
  "/%2E%2E/secret.txt",
  "/%2e%2E/secret.txt",
  "/.%2e/secret.txt",
  "/%2e./secret.txt",
  "/%2e%2e%2fsecret.txt",
  "/%2E%2E%2Fsecret.txt",
  "/%2e%2e%5csecret.txt",
  "/%2e",
  "/%2e/digits.txt",
  "/sub/%2e%2e/%2e%2e/secret.txt",
  "/sub%2F..%2F..%2Fsecret.txt",
  "/sub%2fother.txt",
  "/%252e%252e/secret.txt",
  "/%252e%252e%252fsecret.txt",
  "/%252E%252E%252Fsecret.txt",
  "/..%5Csecret.txt",
  "/..%5csecret.txt",
  "/sub%5C..%5C..%5Csecret.txt",
  "/..\\secret.txt",
  "/sub\\..\\..\\secret.txt",
  "/secret.txt%00",
  "/digits.txt%00",
  "/digits.txt%00.html",
  "/%00",
  "/..%00/secret.txt",
  "/%",
  "/%2",
  "//etc/passwd",
  "//secret.txt",
  "/sub//other.txt",
  "/%2Fetc%2Fpasswd",
  "/%2fetc/passwd",
  `/${encodeURIComponent(secretPath)}`,
  "/link-out.txt",
  "/link-out-absolute.txt",
  "/link-outdir",
  "/link-outdir/",
  "/link-outdir/secret2.txt",
  "/link-outdir/index.html",
  "/link-outdir/../secret.txt",
  "/link-dangling.txt",
];

/**
 * Overlong UTF-8 spellings of `.` and `/` (the old IIS traversal). They are not valid percent-encoded UTF-8, so
 * brisk's router refuses them before the mount with a 400; either that or a 404 is fine, as long as nothing leaks.
 */
const OVERLONG: readonly string[] = [
  "/..%c0%afsecret.txt",
  "/%c0%ae%c0%ae/secret.txt",
  "/%c0%2e%c0%2e/secret.txt",
];

/** Whether `fetch`'s URL parsing leaves a path as written (it resolves `.`/`..`, `%2e` segments, backslashes). */
function keptByUrl(path: string): boolean {
  return new URL(`http://test${path}`).pathname === path;
}

/** Paths that must be served: the table above would pass on a server that serves nothing. */
const ALLOWED: readonly [path: string, body: string][] = [
  ["/digits.txt", DIGITS],
  ["/sub/other.txt", "other"],
  ["/link-inside.txt", DIGITS],
  ["/link-subdir/other.txt", "other"],
  ["/%252e%252e", "literal percent name"],
  ["/h%C3%A9llo%20world.txt", "unicode name"],
  ["/s%75b/other.txt", "other"],
];

describe("staticFiles: nothing outside the directory (in-process)", () => {
  // Through `app.fetch` the URL is parsed first, which resolves dot segments: what it leaves as written must be a
  // 404 from the mount; what it rewrites can only be checked not to leak (the socket tests below send them raw).
  for (const path of TRAVERSALS) {
    const target = `/static${path}`;
    test(`GET ${target} is 404${keptByUrl(target) ? "" : " (normalized by URL: no leak)"}`, async () => {
      const response = await call(app, target);
      const body = await response.clone().text();
      assert.ok(!body.includes(SECRET), "the secret is not sent");
      if (keptByUrl(target)) await expectJson(response, 404, NOT_FOUND);
    });
  }

  test("the same paths are 404 in html mode too, and never send the secret", async () => {
    for (const path of TRAVERSALS) {
      const target = `/site${path}`;
      const response = await call(app, target);
      const body = await response.text();
      if (keptByUrl(target)) assert.equal(response.status, 404, `GET ${target}`);
      assert.ok(!body.includes(SECRET), `GET ${target} leaks the secret`);
    }
  });

  test("overlong UTF-8 dots and slashes are refused", async () => {
    for (const prefix of ["/static", "/site"]) {
      for (const path of OVERLONG) {
        const response = await call(app, `${prefix}${path}`);
        const body = await response.text();
        assert.ok([400, 404].includes(response.status), `GET ${prefix}${path}: ${response.status}`);
        assert.ok(!body.includes(SECRET), `GET ${prefix}${path} leaks the secret`);
      }
    }
  });

  for (const [path, body] of ALLOWED) {
    test(`GET /static${path} is served`, async () => {
      const response = await call(app, `/static${path}`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), body);
    });
  }
});

describe("staticFiles over a real socket: raw request targets", () => {
  let server: Listening;
  before(async () => {
    server = await listen(makeApp(), { port: 0 });
  });
  after(() => server.close());

  test("every traversal target written on the wire is a 404 (400 with a dot segment) and leaks nothing", async () => {
    const failures: string[] = [];
    for (const prefix of ["/static", "/site"]) {
      for (const path of TRAVERSALS) {
        for (const method of ["GET", "HEAD"]) {
          const target = `${prefix}${path}`;
          const response = await rawGet(server.url, target, method);
          const body = response.body.toString("latin1");
          // A dot segment is refused before routing, for every route alike.
          const dots = hasDotSegment(target.split("?")[0]!);
          const expected = dots ? 400 : 404;
          if (response.status !== expected) failures.push(`${method} ${target}: status ${response.status}`);
          if (body.includes(SECRET)) failures.push(`${method} ${target}: leaked the secret`);
          if (method === "HEAD" && response.body.length !== 0) failures.push(`HEAD ${target}: sent a body`);
          const detail = dots ? "The request path has a dot segment (. or ..)" : "Not Found";
          if (prefix === "/static" && method === "GET" && body !== JSON.stringify({ detail })) {
            failures.push(`GET ${target}: body ${JSON.stringify(body.slice(0, 100))}`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  test("overlong UTF-8 dots and slashes on the wire are refused", async () => {
    for (const prefix of ["/static", "/site"]) {
      for (const path of OVERLONG) {
        const response = await rawGet(server.url, `${prefix}${path}`);
        assert.ok([400, 404].includes(response.status), `GET ${prefix}${path}: ${response.status}`);
        assert.ok(
          !response.body.toString("latin1").includes(SECRET),
          `GET ${prefix}${path} leaks the secret`,
        );
      }
    }
  });

  test("an absolute-form request target is confined the same way", async () => {
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2Fsecret.txt", "/link-out.txt"]) {
      const response = await rawGet(server.url, `http://127.0.0.1/static${path}`);
      assert.equal(response.status, hasDotSegment(path) ? 400 : 404, path);
      assert.ok(!response.body.toString("latin1").includes(SECRET), path);
    }
  });

  test("a percent-encoded mount prefix is confined the same way", async () => {
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2Fsecret.txt", "/link-out.txt"]) {
      const response = await rawGet(server.url, `/st%61tic${path}`);
      assert.equal(response.status, hasDotSegment(path) ? 400 : 404, path);
      assert.ok(!response.body.toString("latin1").includes(SECRET), path);
    }
    const allowed = await rawGet(server.url, "/st%61tic/sub/other.txt");
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.toString(), "other");
  });

  test("legitimate paths written on the wire are served", async () => {
    for (const [path, body] of ALLOWED) {
      const response = await rawGet(server.url, `/static${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.body.toString("utf8"), body, path);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Validators and headers

describe("validators and representation headers", () => {
  test("a file is sent with ETag, Last-Modified, Accept-Ranges, type and length", async () => {
    for (const path of ["/static/digits.txt", "/file/digits"]) {
      const response = await get(path);
      assert.equal(response.headers.get("etag"), DIGITS_ETAG, path);
      assert.equal(response.headers.get("last-modified"), LAST_MODIFIED, path);
      assert.equal(response.headers.get("accept-ranges"), "bytes", path);
      assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8", path);
      assert.equal(response.headers.get("content-disposition"), null, path);
      await expectFull(response, DIGITS);
    }
  });

  test("the ETag changes with the file's size and mtime", async () => {
    const path = join(publicDir, "changing.txt");
    writeFileSync(path, "one");
    const first = new Date("2020-01-01T00:00:00.000Z");
    utimesSync(path, first, first);
    const etagNow = async () => {
      const response = await get("/static/changing.txt");
      await response.arrayBuffer();
      return response.headers.get("etag");
    };
    const a = await etagNow();
    assert.equal(a, etagOf(3, first));
    const second = new Date("2020-01-01T00:00:00.500Z");
    utimesSync(path, second, second);
    const b = await etagNow();
    assert.equal(b, etagOf(3, second));
    writeFileSync(path, "four");
    utimesSync(path, second, second);
    const c = await etagNow();
    assert.equal(c, etagOf(4, second));
    assert.equal(new Set([a, b, c]).size, 3);
  });

  test("the media type is guessed from the extension", async () => {
    const cases: [string, string][] = [
      ["/static/index.html", "text/html; charset=utf-8"],
      ["/static/data.json", "application/json; charset=utf-8"],
      ["/static/blob.xyz", "application/octet-stream"],
      ["/static/%252e%252e", "application/octet-stream"],
      ["/static/big.bin", "application/octet-stream"],
    ];
    for (const [path, type] of cases) {
      const response = await get(path, {}, "HEAD");
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get("content-type"), type, path);
    }
  });

  test("an empty file is a 200 with Content-Length 0", async () => {
    const response = await get("/static/empty.txt");
    assert.equal(response.headers.get("etag"), etagOf(0, statSync(join(publicDir, "empty.txt")).mtime));
    await expectFull(response, "");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Ranges

describe("byte ranges (RFC 9110 §14)", () => {
  const digits = Buffer.from(DIGITS);

  test("a single range: first-last", async () => {
    const response = await get("/static/digits.txt", { range: "bytes=0-9" });
    assert.equal(response.headers.get("etag"), DIGITS_ETAG);
    assert.equal(response.headers.get("accept-ranges"), "bytes");
    assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
    await expectPartial(response, 0, 9, digits);
  });

  test("an open-ended range, a suffix, a last byte, a last-pos past the end", async () => {
    await expectPartial(await get("/static/digits.txt", { range: "bytes=30-" }), 30, 35, digits);
    await expectPartial(await get("/static/digits.txt", { range: "bytes=-5" }), 31, 35, digits);
    await expectPartial(await get("/static/digits.txt", { range: "bytes=35-35" }), 35, 35, digits);
    await expectPartial(await get("/static/digits.txt", { range: "bytes=10-1000" }), 10, 35, digits);
    // A suffix longer than the file is the whole file, still as a 206.
    await expectPartial(await get("/static/digits.txt", { range: "bytes=-100" }), 0, 35, digits);
    await expectPartial(await get("/static/digits.txt", { range: "bytes=0-" }), 0, 35, digits);
  });

  test("the range unit is case-insensitive", async () => {
    await expectPartial(await get("/static/digits.txt", { range: "Bytes=1-2" }), 1, 2, digits);
  });

  test("ranges work the same for file() from a handler", async () => {
    await expectPartial(await get("/file/digits", { range: "bytes=3-7" }), 3, 7, digits);
  });

  test("several ranges are a multipart/byteranges body with each part's type and range", async () => {
    const response = await get("/static/digits.txt", { range: "bytes=0-1, 5-6,-2" });
    assert.equal(response.headers.get("etag"), DIGITS_ETAG);
    const parts = await expectMultipart(
      response,
      [
        [0, 1],
        [5, 6],
        [34, 35],
      ],
      digits,
      "text/plain; charset=utf-8",
    );
    assert.deepEqual(
      parts.map((part) => part.body.toString()),
      ["01", "56", "yz"],
    );
  });

  test("several ranges over chunk boundaries of a large binary file", async () => {
    const response = await get("/static/big.bin", {
      range: `bytes=65530-65545,131000-400000,${big.length - 70_000}-${big.length - 1}`,
    });
    await expectMultipart(
      response,
      [
        [65530, 65545],
        [131000, 400000],
        [big.length - 70_000, big.length - 1],
      ],
      big,
      "application/octet-stream",
    );
  });

  test("a single range across chunk boundaries of a large file", async () => {
    await expectPartial(await get("/static/big.bin", { range: "bytes=65535-1000000" }), 65535, 1000000, big);
  });

  test("overlapping and adjacent ranges are merged into one", async () => {
    await expectPartial(await get("/static/digits.txt", { range: "bytes=0-5,3-9" }), 0, 9, digits);
    await expectPartial(await get("/static/digits.txt", { range: "bytes=0-4,5-9" }), 0, 9, digits);
    await expectPartial(await get("/static/digits.txt", { range: "bytes=0-9,0-9,0-9" }), 0, 9, digits);
    await expectPartial(await get("/static/digits.txt", { range: "bytes=4-6,0-35" }), 0, 35, digits);
    await expectPartial(await get("/static/digits.txt", { range: "bytes=30-,-10" }), 26, 35, digits);
    // Overlaps merged, the rest kept apart.
    await expectMultipart(
      await get("/static/digits.txt", { range: "bytes=0-2,1-3,10-12,12-14" }),
      [
        [0, 3],
        [10, 14],
      ],
      digits,
      "text/plain; charset=utf-8",
    );
  });

  test("unsatisfiable ranges among satisfiable ones are dropped", async () => {
    await expectPartial(await get("/static/digits.txt", { range: "bytes=100-200,0-1" }), 0, 1, digits);
  });

  test("an unsatisfiable range is a 416 with Content-Range: bytes */size", async () => {
    for (const range of ["bytes=36-", "bytes=36-40", "bytes=100-200", "bytes=-0", "bytes=100-,200-300"]) {
      const response = await get("/static/digits.txt", { range });
      const body = await bytesOf(response);
      assert.equal(response.status, 416, range);
      assert.equal(response.headers.get("content-range"), "bytes */36", range);
      assert.ok(!body.toString().includes(DIGITS), `${range}: the file is not sent with the 416`);
    }
  });

  test("any byte range of an empty file is unsatisfiable", async () => {
    for (const range of ["bytes=0-", "bytes=-1", "bytes=0-0"]) {
      const response = await get("/static/empty.txt", { range });
      assert.equal(response.status, 416, range);
      assert.equal(response.headers.get("content-range"), "bytes */0", range);
      await response.arrayBuffer();
    }
  });

  test("a malformed Range, another unit or an invalid range-spec is ignored: the whole file", async () => {
    const ignored = [
      "bytes=abc",
      "bytes=",
      "bytes=-",
      "bytes=5-2",
      "bytes=0-1,5-2",
      "bytes=1-2-3",
      "bytes=0x0-0x5",
      "bytes=+1-2",
      "bytes=1.5-2",
      "bytes 0-5",
      "0-5",
      "items=0-5",
      "lines=1-2",
      "",
    ];
    for (const range of ignored) {
      await expectFull(await get("/static/digits.txt", { range }), DIGITS).catch((error: Error) => {
        throw new Error(`Range: ${JSON.stringify(range)}: ${error.message}`);
      });
    }
  });

  test("more than 16 ranges are ignored; exactly 16 are served", async () => {
    const starts = Array.from({ length: 17 }, (_, index) => index * 2);
    const seventeen = `bytes=${starts.map((start) => `${start}-${start}`).join(",")}`;
    await expectFull(await get("/static/digits.txt", { range: seventeen }), DIGITS);
    // Even when they would all merge into one.
    await expectFull(
      await get("/static/digits.txt", { range: `bytes=${Array(17).fill("0-1").join(",")}` }),
      DIGITS,
    );
    const sixteen = `bytes=${starts
      .slice(0, 16)
      .map((start) => `${start}-${start}`)
      .join(",")}`;
    await expectMultipart(
      await get("/static/digits.txt", { range: sixteen }),
      starts.slice(0, 16).map((start) => [start, start]),
      digits,
      "text/plain; charset=utf-8",
    );
  });

  test("If-Range with the current strong ETag or the exact Last-Modified date allows the range", async () => {
    await expectPartial(
      await get("/static/digits.txt", { range: "bytes=0-3", "if-range": DIGITS_ETAG }),
      0,
      3,
      digits,
    );
    await expectPartial(
      await get("/static/digits.txt", { range: "bytes=0-3", "if-range": LAST_MODIFIED }),
      0,
      3,
      digits,
    );
  });

  test("If-Range that does not match sends the whole file", async () => {
    const stale = [
      '"other-etag"',
      `W/${DIGITS_ETAG}`, // a weak tag never matches for If-Range (strong comparison)
      new Date(MTIME.getTime() - 60_000).toUTCString(),
      new Date(MTIME.getTime() + 60_000).toUTCString(), // only an exact date validates
      "not a date",
    ];
    for (const ifRange of stale) {
      await expectFull(
        await get("/static/digits.txt", { range: "bytes=0-3", "if-range": ifRange }),
        DIGITS,
      ).catch((error: Error) => {
        throw new Error(`If-Range: ${ifRange}: ${error.message}`);
      });
    }
  });

  test("If-Range that does not match also ignores an unsatisfiable range", async () => {
    await expectFull(await get("/static/digits.txt", { range: "bytes=100-", "if-range": '"old"' }), DIGITS);
  });

  test("Range is for GET only: HEAD and POST ignore it", async () => {
    const head = await get("/static/digits.txt", { range: "bytes=0-3" }, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-range"), null);
    assert.equal(head.headers.get("content-length"), "36");
    assert.equal((await bytesOf(head)).length, 0);
    const unsatisfiableHead = await get("/static/digits.txt", { range: "bytes=100-" }, "HEAD");
    assert.equal(unsatisfiableHead.status, 200);
    await expectFull(await get("/file/digits", { range: "bytes=0-3" }, "POST"), DIGITS);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Conditional requests

describe("conditional requests (RFC 9110 §13)", () => {
  async function expectNotModified(response: Response, label: string): Promise<void> {
    const body = await bytesOf(response);
    assert.equal(response.status, 304, label);
    assert.equal(body.length, 0, `${label}: a 304 has no body`);
    assert.equal(response.headers.get("etag"), DIGITS_ETAG, `${label}: a 304 carries the ETag`);
  }

  async function expectPreconditionFailed(response: Response, label: string): Promise<void> {
    const body = await bytesOf(response);
    assert.equal(response.status, 412, label);
    assert.ok(!body.toString().includes(DIGITS), `${label}: the file is not sent`);
  }

  test("If-None-Match that matches is a 304, by weak comparison, for GET and HEAD", async () => {
    const matching = [
      DIGITS_ETAG,
      `W/${DIGITS_ETAG}`,
      `"nope", ${DIGITS_ETAG}`,
      `"a",W/${DIGITS_ETAG} , "b"`,
      "*",
    ];
    for (const path of ["/static/digits.txt", "/file/digits"]) {
      for (const method of ["GET", "HEAD"]) {
        for (const tag of matching) {
          await expectNotModified(
            await get(path, { "if-none-match": tag }, method),
            `${method} ${path} ${tag}`,
          );
        }
      }
    }
  });

  test("If-None-Match that does not match sends the file", async () => {
    for (const tag of ['"nope"', `"${DIGITS_ETAG}"`, '"24-0"', `W/"nope", "x"`]) {
      await expectFull(await get("/static/digits.txt", { "if-none-match": tag }), DIGITS);
    }
  });

  test("If-Modified-Since at or after Last-Modified is a 304", async () => {
    for (const date of [LAST_MODIFIED, new Date(MTIME.getTime() + 3_600_000).toUTCString()]) {
      await expectNotModified(await get("/static/digits.txt", { "if-modified-since": date }), date);
      await expectNotModified(await get("/static/digits.txt", { "if-modified-since": date }, "HEAD"), date);
    }
  });

  test("If-Modified-Since before Last-Modified, or not a date, sends the file", async () => {
    for (const date of [new Date(MTIME.getTime() - 1000).toUTCString(), "yesterday", ""]) {
      await expectFull(await get("/static/digits.txt", { "if-modified-since": date }), DIGITS);
    }
  });

  test("If-Modified-Since is ignored when If-None-Match is present", async () => {
    await expectFull(
      await get("/static/digits.txt", { "if-none-match": '"nope"', "if-modified-since": LAST_MODIFIED }),
      DIGITS,
    );
    await expectNotModified(
      await get("/static/digits.txt", {
        "if-none-match": DIGITS_ETAG,
        "if-modified-since": new Date(0).toUTCString(),
      }),
      "If-None-Match wins",
    );
  });

  test("If-Modified-Since is ignored for a method other than GET and HEAD", async () => {
    await expectFull(await get("/file/digits", { "if-modified-since": LAST_MODIFIED }, "POST"), DIGITS);
  });

  test("If-None-Match that matches on an unsafe method is a 412", async () => {
    await expectPreconditionFailed(await get("/file/digits", { "if-none-match": "*" }, "POST"), "POST *");
    await expectPreconditionFailed(
      await get("/file/digits", { "if-none-match": DIGITS_ETAG }, "POST"),
      "POST tag",
    );
  });

  test("If-Match uses strong comparison: a failing one is a 412", async () => {
    for (const tag of ['"nope"', `W/${DIGITS_ETAG}`, `"a", "b"`]) {
      await expectPreconditionFailed(
        await get("/static/digits.txt", { "if-match": tag }),
        `If-Match: ${tag}`,
      );
      await expectPreconditionFailed(
        await get("/file/digits", { "if-match": tag }, "HEAD"),
        `HEAD If-Match: ${tag}`,
      );
    }
    for (const tag of [DIGITS_ETAG, "*", `"nope", ${DIGITS_ETAG}`]) {
      await expectFull(await get("/static/digits.txt", { "if-match": tag }), DIGITS);
    }
  });

  test("If-Unmodified-Since before Last-Modified is a 412; at or after it, or not a date, it passes", async () => {
    await expectPreconditionFailed(
      await get("/static/digits.txt", {
        "if-unmodified-since": new Date(MTIME.getTime() - 1000).toUTCString(),
      }),
      "earlier",
    );
    for (const date of [LAST_MODIFIED, new Date(MTIME.getTime() + 1000).toUTCString(), "garbage"]) {
      await expectFull(await get("/static/digits.txt", { "if-unmodified-since": date }), DIGITS);
    }
  });

  test("If-Unmodified-Since is ignored when If-Match is present", async () => {
    await expectFull(
      await get("/static/digits.txt", {
        "if-match": DIGITS_ETAG,
        "if-unmodified-since": new Date(0).toUTCString(),
      }),
      DIGITS,
    );
  });

  test("preconditions are evaluated before ranges, If-Match first", async () => {
    await expectPreconditionFailed(
      await get("/static/digits.txt", { "if-match": '"nope"', "if-none-match": DIGITS_ETAG }),
      "If-Match before If-None-Match",
    );
    await expectPreconditionFailed(
      await get("/static/digits.txt", { "if-match": '"nope"', range: "bytes=0-1" }),
      "412 before a range",
    );
    await expectNotModified(
      await get("/static/digits.txt", { "if-none-match": DIGITS_ETAG, range: "bytes=0-1" }),
      "304 before a range",
    );
    await expectNotModified(
      await get("/static/digits.txt", { "if-none-match": DIGITS_ETAG, range: "bytes=100-" }),
      "304 before a 416",
    );
    await expectPartial(
      await get("/static/digits.txt", { "if-match": DIGITS_ETAG, range: "bytes=0-1" }),
      0,
      1,
      Buffer.from(DIGITS),
    );
  });

  test("HEAD answers with the headers a GET would have, and no body", async () => {
    for (const path of ["/static/digits.txt", "/file/digits"]) {
      const response = await get(path, {}, "HEAD");
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-length"), "36");
      assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(response.headers.get("etag"), DIGITS_ETAG);
      assert.equal(response.headers.get("last-modified"), LAST_MODIFIED);
      assert.equal(response.headers.get("accept-ranges"), "bytes");
      assert.equal((await bytesOf(response)).length, 0);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// file()

describe("file() from a handler", () => {
  test("a filename asks for a download and names the type", async () => {
    const response = await get("/file/report");
    assert.equal(response.headers.get("content-disposition"), 'attachment; filename="report.pdf"');
    assert.equal(response.headers.get("content-type"), "application/pdf");
    await expectFull(response, "unknown type");
  });

  test("disposition: inline", async () => {
    const response = await get("/file/inline");
    assert.equal(response.headers.get("content-disposition"), 'inline; filename="report.pdf"');
    await response.arrayBuffer();
  });

  test("a non-ASCII filename gets an ASCII fallback and an RFC 8187 filename*", async () => {
    const response = await get("/file/unicode");
    const header = response.headers.get("content-disposition") ?? "";
    await response.arrayBuffer();
    assert.match(header, /^attachment; /);
    const fallback = /; filename="([^"]*)"/.exec(header);
    assert.ok(fallback !== null, `an ASCII filename: ${header}`);
    assert.match(fallback[1]!, /^[\x20-\x7e]+$/);
    assert.equal(fallback[1]!.length, "résumé 2026.txt".length);
    const extended = /; filename\*=UTF-8''([^;\s]+)$/.exec(header);
    assert.ok(extended !== null, `a filename*: ${header}`);
    assert.equal(extended[1], "r%C3%A9sum%C3%A9%202026.txt");
    assert.equal(decodeURIComponent(extended[1]!), "résumé 2026.txt");
    assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  });

  test("quotes, backslashes and line breaks in a filename cannot break the header", async () => {
    const response = await get("/file/quotes");
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    const header = response.headers.get("content-disposition") ?? "";
    assert.equal(response.headers.get("x-evil"), null);
    assert.doesNotMatch(header, /[\r\n]/);
    const fallback = /^attachment; filename="((?:[^"\\]|\\.)*)"/.exec(header);
    assert.ok(fallback !== null, header);
    const extended = /; filename\*=UTF-8''([^;\s]+)$/.exec(header);
    assert.ok(extended !== null, header);
    assert.equal(decodeURIComponent(extended[1]!), 'a"b\\c\r\nX-Evil: 1.txt');
  });

  test("without a filename there is no Content-Disposition and the type comes from the path", async () => {
    const response = await get("/file/by-name/data.json");
    assert.equal(response.headers.get("content-disposition"), null);
    assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
    await expectFull(response, '{"a":1}');
  });

  test("type is sent as given, over the guess from the filename", async () => {
    const typed = await get("/file/typed");
    assert.equal(typed.headers.get("content-type"), "application/x-digits");
    await expectFull(typed, DIGITS);
    const named = await get("/file/typed-name");
    assert.equal(named.headers.get("content-type"), "text/x-custom; charset=ascii");
    assert.equal(named.headers.get("content-disposition"), 'attachment; filename="x.png"');
    await named.arrayBuffer();
  });

  test("the multipart parts carry the given type", async () => {
    await expectMultipart(
      await get("/file/typed", { range: "bytes=0-0,2-2" }),
      [
        [0, 0],
        [2, 2],
      ],
      Buffer.from(DIGITS),
      "application/x-digits",
    );
  });

  test("a missing path or a directory is a 404", async () => {
    await expectJson(await get("/file/missing"), 404, NOT_FOUND);
    await expectJson(await get("/file/directory"), 404, NOT_FOUND);
    const head = await get("/file/missing", {}, "HEAD");
    assert.equal(head.status, 404);
    assert.equal((await bytesOf(head)).length, 0);
    await expectJson(await get("/file/missing", { range: "bytes=0-1" }), 404, NOT_FOUND);
  });

  test("headers given to file() are sent", async () => {
    const response = await get("/file/headers");
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(response.headers.get("x-extra"), "1");
    assert.equal(response.headers.get("etag"), DIGITS_ETAG);
    await expectFull(response, DIGITS);
  });

  test("a Content-Type given as a header replaces the guessed one rather than joining it", async () => {
    // Content-Type is a single media type (RFC 9110 §8.3): two joined with a comma make an invalid header.
    // brisk's other responses let the handler's own Content-Type win; a file should do the same.
    for (const [path, type] of [
      ["/file/typed-by-header", "application/x-from-headers"],
      ["/file/typed-by-context", "application/x-from-context"],
    ] as const) {
      const response = await get(path);
      await response.arrayBuffer();
      assert.equal(response.headers.get("content-type"), type, path);
    }
  });

  test("headers and cookies set through context.response are sent with the file", async () => {
    const response = await get("/file/context");
    assert.equal(response.headers.get("x-trace"), "abc");
    assert.deepEqual(response.headers.getSetCookie(), ["seen=1; Path=/; HttpOnly; SameSite=Lax"]);
    await expectFull(response, DIGITS);
    const partial = await get("/file/context", { range: "bytes=0-1" });
    assert.equal(partial.headers.get("x-trace"), "abc");
    await expectPartial(partial, 0, 1, Buffer.from(DIGITS));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// staticFiles modes

describe("staticFiles", () => {
  test("without html, a directory is a 404, with or without its slash", async () => {
    for (const path of ["/static/sub", "/static/sub/", "/static/", "/static", "/static/link-subdir/"]) {
      await expectJson(await get(path), 404, NOT_FOUND).catch((error: Error) => {
        throw new Error(`${path}: ${error.message}`);
      });
    }
  });

  test("without html, a missing file is the JSON 404 even though a 404.html exists", async () => {
    await expectJson(await get("/static/missing.txt"), 404, NOT_FOUND);
  });

  test("html: a directory without its trailing slash is redirected (307) to it, query kept", async () => {
    const plain = await get("/site/sub");
    assert.equal(plain.status, 307);
    assert.equal(plain.headers.get("location"), "/site/sub/");
    const query = await get("/site/sub?a=1&b=%20");
    assert.equal(query.status, 307);
    assert.equal(query.headers.get("location"), "/site/sub/?a=1&b=%20");
    const viaLink = await get("/site/link-subdir");
    assert.equal(viaLink.status, 307);
    assert.equal(viaLink.headers.get("location"), "/site/link-subdir/");
  });

  test("html: the mount root itself is a directory, redirected to its trailing slash", async () => {
    const response = await get("/site");
    const body = await response.text();
    assert.equal(
      response.status,
      307,
      `relative links in index.html need the slash (got ${JSON.stringify(body)})`,
    );
    assert.equal(response.headers.get("location"), "/site/");
  });

  test("html: a directory with its slash is its index.html", async () => {
    const sub = await get("/site/sub/");
    assert.equal(sub.status, 200);
    assert.equal(sub.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(sub.headers.get("cache-control"), "public, max-age=60");
    assert.equal(await sub.text(), "<h1>sub index</h1>");
    const top = await get("/site/");
    assert.equal(top.status, 200);
    assert.equal(await top.text(), "<h1>root index</h1>");
    const linked = await get("/site/link-subdir/");
    assert.equal(await linked.text(), "<h1>sub index</h1>");
  });

  test("html: index.html honours conditional requests and ranges", async () => {
    const first = await get("/site/sub/");
    const etag = first.headers.get("etag")!;
    await first.arrayBuffer();
    const again = await get("/site/sub/", { "if-none-match": etag });
    assert.equal(again.status, 304);
    await expectPartial(
      await get("/site/sub/", { range: "bytes=4-6" }),
      4,
      6,
      Buffer.from("<h1>sub index</h1>"),
    );
  });

  test("html: a missing file is 404.html with status 404", async () => {
    for (const path of [
      "/site/missing.txt",
      "/site/sub/missing/",
      "/site/noindex/",
      "/site/link-outdir/secret2.txt",
    ]) {
      const response = await get(path);
      assert.equal(response.status, 404, path);
      assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8", path);
      assert.equal(await response.text(), "<h1>custom not found</h1>", path);
    }
  });

  test("html: the 404 page is never a 304 or a 206", async () => {
    const first = await get("/site/missing.txt");
    const etag = first.headers.get("etag");
    await first.arrayBuffer();
    const conditional = await get("/site/missing.txt", etag === null ? {} : { "if-none-match": etag });
    assert.equal(conditional.status, 404);
    assert.equal(await conditional.text(), "<h1>custom not found</h1>");
    const ranged = await get("/site/missing.txt", { range: "bytes=0-1" });
    assert.equal(ranged.status, 404);
    assert.equal(await ranged.text(), "<h1>custom not found</h1>");
  });

  test("html: HEAD of a missing file is a 404 without a body", async () => {
    const response = await get("/site/missing.txt", {}, "HEAD");
    assert.equal(response.status, 404);
    assert.equal((await bytesOf(response)).length, 0);
  });

  test("html without a 404.html falls back to the JSON 404", async () => {
    await expectJson(await get("/plain/missing.txt"), 404, NOT_FOUND);
    assert.equal(await (await get("/plain/")).text(), "<h1>plain</h1>");
  });

  test("the headers option is added to every file sent", async () => {
    const response = await get("/site/digits.txt");
    assert.equal(response.headers.get("cache-control"), "public, max-age=60");
    await expectFull(response, DIGITS);
    const partial = await get("/site/digits.txt", { range: "bytes=0-0" });
    assert.equal(partial.headers.get("cache-control"), "public, max-age=60");
    await partial.arrayBuffer();
  });

  test("methods other than GET and HEAD are a 405 with Allow: GET, HEAD", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      for (const path of [
        "/static/digits.txt",
        "/static/missing.txt",
        "/site/sub/",
        "/static/..%2Fsecret.txt",
      ]) {
        const response = await get(path, {}, method);
        assert.equal(response.headers.get("allow"), "GET, HEAD", `${method} ${path}`);
        await expectJson(response, 405, { detail: "Method Not Allowed" });
      }
    }
  });

  test("a directory that does not exist, or is a file, is refused at construction", () => {
    for (const path of [join(root, "does-not-exist"), join(publicDir, "digits.txt")]) {
      assert.throws(
        () => staticFiles(path),
        (error: unknown) => error instanceof BriskError && error.code === "BRISK_INVALID_OPTION",
        path,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Over a socket

describe("files over a real socket", () => {
  let server: Listening;
  before(async () => {
    server = await listen(makeApp(), { port: 0 });
  });
  after(() => server.close());

  test("a file of several MiB downloads intact, through staticFiles and file()", async () => {
    const expected = sha256(big);
    for (const path of ["/static/big.bin", "/file/big"]) {
      const result = await download(`${server.url}${path}`);
      assert.equal(result.status, 200, path);
      assert.equal(result.headers["content-length"], String(big.length), path);
      assert.equal(result.length, big.length, path);
      assert.equal(result.sha256, expected, path);
    }
  });

  test("a large range downloads intact", async () => {
    const start = 1_000_001;
    const end = 3_500_000;
    const result = await download(`${server.url}/static/big.bin`, { range: `bytes=${start}-${end}` });
    assert.equal(result.status, 206);
    assert.equal(result.headers["content-range"], `bytes ${start}-${end}/${big.length}`);
    assert.equal(result.length, end - start + 1);
    assert.equal(result.sha256, sha256(big.subarray(start, end + 1)));
  });

  test("HEAD on the wire: Content-Length of the file, and not one body byte", async () => {
    const response = await rawGet(server.url, "/static/big.bin", "HEAD");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-length"), String(big.length));
    assert.equal(response.body.length, 0);
  });

  test("304 and 416 on the wire carry no body", async () => {
    const notModified = await rawGet(server.url, "/static/digits.txt", "GET", [
      `If-None-Match: ${DIGITS_ETAG}`,
    ]);
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.length, 0);
    const unsatisfiable = await rawGet(server.url, "/static/digits.txt", "GET", ["Range: bytes=500-"]);
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers.get("content-range"), "bytes */36");
    assert.ok(!unsatisfiable.body.toString().includes(DIGITS));
  });

  test("a multipart/byteranges answer on the wire has an exact Content-Length", async () => {
    const response = await rawGet(server.url, "/static/digits.txt", "GET", ["Range: bytes=0-0,10-11,-1"]);
    assert.equal(response.status, 206);
    assert.equal(response.headers.get("content-length"), String(response.body.length));
    const boundary = /boundary=([^;\s]+)/.exec(response.headers.get("content-type") ?? "")?.[1];
    assert.ok(boundary !== undefined);
    const parts = parseByteranges(response.body, boundary);
    assert.deepEqual(
      parts.map((part) => [part.headers.get("content-range"), part.body.toString()]),
      [
        ["bytes 0-0/36", "0"],
        ["bytes 10-11/36", "ab"],
        ["bytes 35-35/36", "z"],
      ],
    );
  });
});
