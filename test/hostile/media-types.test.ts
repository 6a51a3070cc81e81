// Hostile input, class 3 of SECURITY.md §4: media types and content encodings, over raw TCP. The Fastify
// content-type advisories (CVE-2025-32442, CVE-2026-25223, CVE-2026-3419, CVE-2026-33806: a body parsed as JSON but
// never validated), the CSRF shapes (CVE-2021-32677, CVE-2022-41919), ReDoS-shaped parameters (CVE-2024-24762),
// urlencoded and multipart floods (CVE-2023-30798, CVE-2026-54283), and compressed bodies. After every case: the exact
// status, a JSON error body with a `detail` and no stack trace, the connection closed or still usable as announced,
// the server serving at once, and nothing stored by a refused POST /items.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import zlib from "node:zlib";
import { App, form, multipart, upload } from "briskjs";
import { z } from "zod";
import { app as items } from "../../examples/items/app.ts";
import { recordingLogger } from "../helpers/app.ts";
import {
  assertServes,
  assertValidationError,
  DEADLINE,
  exchange,
  expectAccepted,
  expectRefusal,
  type Health,
  ITEMS_HEALTH,
  postJson,
  request,
  serve,
} from "./raw-client.ts";

const itemsServer = serve(items);

/** Forms and JSON, with request decompression off (the default). */
const plainLogger = recordingLogger();
const Fields = z.object({ a: z.string().optional() });
const plainApp = new App({ logger: plainLogger })
  .get("/ok", {}, () => ({ ok: true }))
  .post("/any", { body: z.unknown() }, ({ body }) => ({ body }))
  .post("/form", { body: form(Fields) }, ({ body }) => ({ a: body.a ?? null }))
  .post("/login", { body: form(z.object({ user: z.string() })) }, ({ body }) => ({ user: body.user }))
  .post(
    "/mp",
    { body: multipart({ a: z.string().optional(), docs: upload.many({ optional: true }) }) },
    ({ body }) => ({
      a: body.a ?? null,
      files: body.docs.length,
    }),
  );
const plainServer = serve(plainApp);

/** The same routes with `decompressRequests: true`. */
const zipLogger = recordingLogger();
const zipApp = new App({ logger: zipLogger, decompressRequests: true })
  .get("/ok", {}, () => ({ ok: true }))
  .post("/any", { body: z.unknown() }, ({ body }) => ({ body }))
  .post("/form", { body: form(Fields) }, ({ body }) => ({ a: body.a ?? null }));
const zipServer = serve(zipApp);

/** Room for very long header values, so that the media-type parser itself meets them. */
const wideLogger = recordingLogger();
const wideApp = new App({ logger: wideLogger, limits: { headerBytes: 256 * 1024 } })
  .get("/ok", {}, () => ({ ok: true }))
  .post("/any", { body: z.unknown() }, ({ body }) => ({ body }));
const wideServer = serve(wideApp);

const OK_HEALTH: Health = { target: "/ok" };
const NOT_JSON = "Unsupported Media Type: the body must be application/json";
const NOT_UTF8 = "Unsupported Media Type: a JSON body must be UTF-8";

/** POST /items with one Content-Type line (raw), refused with `status`; returns the detail. */
async function refusedItem(
  contentType: string | undefined,
  body: string | Buffer,
  status: number,
): Promise<unknown> {
  const fields = contentType === undefined ? [] : [`Content-Type: ${contentType}`];
  const bytes = request({ method: "POST", target: "/items", fields, body });
  const { detail } = await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, status, {
    connection: "keep",
  });
  return detail;
}

/** POST /items with one Content-Type line (raw), accepted with 201 and stored once. */
async function acceptedItem(contentType: string, name: string): Promise<void> {
  const before = (await assertServes(itemsServer.server, ITEMS_HEALTH))!;
  const bytes = postJson("/items", JSON.stringify({ name, price: 1 }), [`Content-Type: ${contentType}`]);
  const { json } = await expectAccepted(itemsServer.server, ITEMS_HEALTH, bytes, 201);
  assert.equal((json as { name: string }).name, name);
  assert.equal(await assertServes(itemsServer.server, ITEMS_HEALTH), before + 1);
}

const ITEM = '{"name":"media","price":1}';

describe("class 3: the Content-Type advisories (parsed as JSON means validated, else 415)", () => {
  for (const contentType of [
    "application/json\tx",
    "application/json garbage",
    "application/json x",
    "application/json,text/plain",
    "application/json, application/json",
    "application/json;charset",
    "application/json; charset",
    "application/json; =utf-8",
    "application/json; charset=",
    'application/json; charset="utf-8',
    "application/json/x",
    "application/",
    "/json",
    "json",
    "application /json",
    "application/ json",
    "application\\json",
  ]) {
    test(`${JSON.stringify(contentType)} is 415 and stores nothing`, async () => {
      assert.equal(await refusedItem(contentType, ITEM, 415), NOT_JSON);
    });
  }

  // Node strips optional whitespace around a header value (RFC 9110 §5.5), so these reach brisk as the bare type.
  // Whatever brisk does, it must be one of two things: parse AND validate, or refuse with 415; never parse a body
  // it then leaves unvalidated (the CVE-2026-33806 shape).
  for (const contentType of [
    " application/json",
    "\tapplication/json",
    "application/json ",
    "application/json\t",
  ]) {
    test(`${JSON.stringify(contentType)} is either parsed and validated, or 415, consistently`, async () => {
      const fields = [`Content-Type:${contentType}`];
      const before = await assertServes(itemsServer.server, ITEMS_HEALTH);
      const bad = request({ method: "POST", target: "/items", fields, body: '{"name":"ws","price":-1}' });
      const { response, connection } = await exchange(itemsServer.server, bad);
      await connection.destroy();
      assert.ok([415, 422].includes(response.status), `415 or 422, got ${response.status}: ${response.text}`);
      if (response.status === 422) {
        // Parsed, and validated: the invalid price is reported.
        const issues = assertValidationError(response);
        assert.deepEqual(
          issues.map((issue) => [issue.type, issue.loc]),
          [["greater_than", ["body", "price"]]],
        );
      }
      assert.equal(await assertServes(itemsServer.server, ITEMS_HEALTH), before, "nothing stored");
      const good = request({ method: "POST", target: "/items", fields, body: '{"name":"ws","price":1}' });
      const answer = await exchange(itemsServer.server, good);
      await answer.connection.destroy();
      assert.equal(answer.response.status, response.status === 422 ? 201 : 415, answer.response.text);
      await assertServes(itemsServer.server, ITEMS_HEALTH);
    });
  }

  for (const contentType of [
    "Application/JSON",
    "APPLICATION/JSON; CHARSET=UTF-8",
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    'application/json; charset="utf-8"',
    "application/json; charset=utf8",
    "application/json ; charset=utf-8",
    "application/json;;",
    "application/json;",
    "application/json; ;charset=utf-8",
    "application/json; foo=bar",
    'application/json; foo="a;b=c\\"d"',
    "application/problem+json",
    "application/vnd.api+json; charset=utf-8",
  ]) {
    test(`${JSON.stringify(contentType)} is accepted as JSON (and validated)`, async () => {
      await acceptedItem(contentType, `ct ${contentType.length}`);
    });
  }

  for (const charset of ["utf-16", "UTF-16LE", "iso-8859-1", "us-ascii", '""', "utf-8x"]) {
    test(`charset=${charset} is 415`, async () => {
      assert.equal(await refusedItem(`application/json; charset=${charset}`, ITEM, 415), NOT_UTF8);
    });
  }

  for (const contentType of [
    "application/json; charset=utf-8; charset=utf-8",
    "application/json; charset=utf-8; CHARSET=utf-16",
    "application/json; a=1; a=2",
  ]) {
    test(`a parameter given twice (${JSON.stringify(contentType)}) is 415`, async () => {
      assert.equal(await refusedItem(contentType, ITEM, 415), NOT_JSON);
    });
  }

  for (const contentType of [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/json",
    "application/x-json",
    "application/jsonx",
    "application/json-patch",
  ]) {
    test(`${JSON.stringify(contentType)} with a JSON body is 415 (no CSRF through simple requests)`, async () => {
      assert.equal(await refusedItem(contentType, ITEM, 415), NOT_JSON);
    });
  }

  test("no Content-Type with a JSON body is 415", async () => {
    assert.equal(await refusedItem(undefined, ITEM, 415), NOT_JSON);
  });

  test("an empty Content-Type with a JSON body is 415", async () => {
    assert.equal(await refusedItem("", ITEM, 415), NOT_JSON);
  });

  test("a 2,000-character Content-Type is 415", async () => {
    assert.equal(await refusedItem(`application/json; a=${"b".repeat(2000 - 20)}`, ITEM, 415), NOT_JSON);
  });

  test("a Content-Type of exactly 1,024 characters is parsed; 1,025 is 415", async () => {
    const sized = (length: number) => `application/json; a=${"b".repeat(length - 20)}`;
    assert.equal(sized(1024).length, 1024);
    await acceptedItem(sized(1024), "ct 1024");
    assert.equal(await refusedItem(sized(1025), ITEM, 415), NOT_JSON);
  });

  test("obs-text (a latin1 byte) in a quoted parameter is grammatical: accepted", async () => {
    await acceptedItem('application/json; a="\xe9"', "ct obs-text");
  });

  test("two Content-Type headers are 400 and the connection is closed", async () => {
    const bytes = postJson("/items", ITEM, [
      "Content-Type: application/json",
      "Content-Type: application/json",
    ]);
    const { detail } = await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, 400, {
      connection: "close",
    });
    assert.equal(detail, "Bad Request: repeated Content-Type header");
  });

  test("two different Content-Type headers (text/plain, then JSON) are 400 and the connection is closed", async () => {
    const bytes = postJson("/items", ITEM, ["Content-Type: text/plain", "content-type: application/json"]);
    await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, 400, { connection: "close" });
  });

  test("a NUL in the Content-Type is refused by the HTTP parser: 400, connection closed", async () => {
    const bytes = postJson("/items", ITEM, ["Content-Type: application/json\x00"]);
    await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, 400, { connection: "close" });
  });

  test("a text/plain form body is not read as a form (CSRF): the form's field is missing", async () => {
    const bytes = request({
      method: "POST",
      target: "/login",
      fields: ["Content-Type: text/plain"],
      body: "user=ada",
    });
    const { response } = await expectRefusal(plainServer.server, OK_HEALTH, bytes, 422, {
      connection: "keep",
    });
    assert.deepEqual(
      assertValidationError(response).map((issue) => [issue.type, issue.loc]),
      [["missing", ["body", "user"]]],
    );
  });
});

describe("class 3: ReDoS-shaped parameters are answered promptly", () => {
  const cases: [string, string][] = [
    ["a= and 50,000 spaces", `application/json; a=${" ".repeat(50_000)}`],
    ["a quoted string of 50,000 backslashes", `application/json; a="${"\\".repeat(50_000)}"`],
    [
      "an unterminated quoted string of 25,000 escaped backslashes",
      `application/json; a="${"\\\\".repeat(25_000)}`,
    ],
    ["50,000 semicolons", `application/json${";".repeat(50_000)}`],
    [
      "5,000 parameters",
      `application/json${Array.from({ length: 5_000 }, (_, index) => `; p${index}=v`).join("")}`,
    ],
    ["50,000 spaces then x", `application/json${" ".repeat(50_000)}x`],
    ["a type of 50,000 tchars", `application/${"j".repeat(50_000)}`],
  ];
  for (const [what, contentType] of cases) {
    test(`${what}: 415 within the deadline (headers allowed up to 256 KiB)`, async () => {
      const bytes = postJson("/any", '{"a":1}', [`Content-Type: ${contentType}`]);
      const { detail } = await expectRefusal(wideServer.server, OK_HEALTH, bytes, 415, {
        connection: "keep",
        timeoutMs: DEADLINE,
      });
      assert.equal(detail, NOT_JSON);
    });
  }

  test("a= and 50,000 spaces with the default header limit is 431 and the connection is closed", async () => {
    const bytes = postJson("/items", ITEM, [`Content-Type: application/json; a=${" ".repeat(50_000)}`]);
    await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, 431, { connection: "close" });
  });

  test("a multipart boundary parameter of 900 backslash pairs is answered within the deadline", async () => {
    const bytes = request({
      method: "POST",
      target: "/mp",
      fields: [`Content-Type: multipart/form-data; boundary="${"\\\\".repeat(450)}"`],
      body: "--x--\r\n",
    });
    const { response, connection } = await exchange(plainServer.server, bytes);
    await connection.destroy();
    assert.ok(
      response.status >= 400 && response.status < 500,
      `a 4xx, got ${response.status}: ${response.text}`,
    );
    await assertServes(plainServer.server, OK_HEALTH);
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(wideLogger.errors, []);
  });
});

describe("class 3: urlencoded and multipart floods", () => {
  const FORM = "Content-Type: application/x-www-form-urlencoded";
  const pairs = (count: number) => Array.from({ length: count }, (_, index) => `f${index}=x`).join("&");
  const BOUNDARY = "hostile-boundary";
  const MULTIPART = `Content-Type: multipart/form-data; boundary=${BOUNDARY}`;
  /** `count` parts: text fields, or files of the declared `docs` field. */
  const parts = (count: number, kind: "field" | "file") => {
    let body = "";
    for (let index = 0; index < count; index++) {
      body +=
        kind === "field"
          ? `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f${index}"\r\n\r\nx\r\n`
          : `--${BOUNDARY}\r\nContent-Disposition: form-data; name="docs"; filename="f${index}.txt"\r\nContent-Type: text/plain\r\n\r\nx\r\n`;
    }
    return `${body}--${BOUNDARY}--\r\n`;
  };

  test("a urlencoded form of 1,000 fields is accepted", async () => {
    const bytes = request({ method: "POST", target: "/form", fields: [FORM], body: `a=1&${pairs(999)}` });
    const { json } = await expectAccepted(plainServer.server, OK_HEALTH, bytes, 200);
    assert.deepEqual(json, { a: "1" });
  });

  test("a urlencoded form of 1,001 fields is 400 with Starlette's wording, as a multipart one is", async () => {
    const bytes = request({ method: "POST", target: "/form", fields: [FORM], body: pairs(1001) });
    const { detail } = await expectRefusal(plainServer.server, OK_HEALTH, bytes, 400, {
      connection: "either",
    });
    assert.equal(detail, "Too many fields. Maximum number of fields is 1000.");
  });

  test("a multipart body of 1,000 fields is accepted", async () => {
    const bytes = request({ method: "POST", target: "/mp", fields: [MULTIPART], body: parts(1000, "field") });
    await expectAccepted(plainServer.server, OK_HEALTH, bytes, 200);
  });

  test("a multipart body of 1,001 fields is 400 with Starlette's wording", async () => {
    const bytes = request({ method: "POST", target: "/mp", fields: [MULTIPART], body: parts(1001, "field") });
    const { detail } = await expectRefusal(plainServer.server, OK_HEALTH, bytes, 400, {
      connection: "either",
    });
    assert.equal(detail, "Too many fields. Maximum number of fields is 1000.");
  });

  test("a multipart body of 1,001 fields sent to a form() route is 400 too", async () => {
    const bytes = request({
      method: "POST",
      target: "/form",
      fields: [MULTIPART],
      body: parts(1001, "field"),
    });
    const { detail } = await expectRefusal(plainServer.server, OK_HEALTH, bytes, 400, {
      connection: "either",
    });
    assert.equal(detail, "Too many fields. Maximum number of fields is 1000.");
  });

  test("a multipart body of 1,001 files is 400 with Starlette's wording", async () => {
    const bytes = request({ method: "POST", target: "/mp", fields: [MULTIPART], body: parts(1001, "file") });
    const { detail } = await expectRefusal(plainServer.server, OK_HEALTH, bytes, 400, {
      connection: "either",
    });
    assert.equal(detail, "Too many files. Maximum number of files is 1000.");
  });

  test("a multipart body of 1,001 parts (600 fields, 401 files) is 400 with Starlette's wording", async () => {
    const body = parts(600, "field").replace(`--${BOUNDARY}--\r\n`, "") + parts(401, "file");
    const bytes = request({ method: "POST", target: "/mp", fields: [MULTIPART], body });
    const { detail } = await expectRefusal(plainServer.server, OK_HEALTH, bytes, 400, {
      connection: "either",
    });
    assert.equal(detail, "Too many parts. Maximum number of parts is 1000.");
  });

  test("a multipart body without a boundary is 400", async () => {
    const bytes = request({
      method: "POST",
      target: "/mp",
      fields: ["Content-Type: multipart/form-data"],
      body: "x",
    });
    await expectRefusal(plainServer.server, OK_HEALTH, bytes, 400, { connection: "either" });
  });

  test("a part header starting with a space (the dicer crash, CVE-2022-24434) is 400, the server stays up", async () => {
    const body = `--${BOUNDARY}\r\n Content-Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--\r\n`;
    const bytes = request({ method: "POST", target: "/mp", fields: [MULTIPART], body });
    const { response, connection } = await exchange(plainServer.server, bytes);
    await connection.destroy();
    assert.ok([200, 400].includes(response.status), `200 or 400, got ${response.status}: ${response.text}`);
    if (response.status === 200) assert.deepEqual(JSON.parse(response.text), { a: null, files: 0 });
    await assertServes(plainServer.server, OK_HEALTH);
  });

  test("a multipart body cut short (no closing boundary) is 400", async () => {
    const body = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx`;
    const bytes = request({ method: "POST", target: "/mp", fields: [MULTIPART], body });
    await expectRefusal(plainServer.server, OK_HEALTH, bytes, 400, { connection: "either" });
  });

  test("100,000 empty pairs (&&&…) in a urlencoded form are answered promptly", async () => {
    const bytes = request({
      method: "POST",
      target: "/form",
      fields: [FORM],
      body: `${"&".repeat(100_000)}a=1`,
    });
    const { json } = await expectAccepted(plainServer.server, OK_HEALTH, bytes, 200);
    assert.deepEqual(json, { a: "1" });
  });

  test("a urlencoded form in charset=utf-16 is 415", async () => {
    const bytes = request({
      method: "POST",
      target: "/form",
      fields: ["Content-Type: application/x-www-form-urlencoded; charset=utf-16"],
      body: "a=1",
    });
    await expectRefusal(plainServer.server, OK_HEALTH, bytes, 415, { connection: "keep" });
  });
});

describe("class 3: Content-Encoding without decompressRequests", () => {
  test("Content-Encoding: gzip on a JSON body is 415, nothing stored", async () => {
    const bytes = postJson("/items", zlib.gzipSync(ITEM), [
      "Content-Type: application/json",
      "Content-Encoding: gzip",
    ]);
    await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, 415, { connection: "either" });
  });

  test("Content-Encoding: gzip on a plain (uncompressed) JSON body is 415, nothing stored", async () => {
    const bytes = postJson("/items", ITEM, ["Content-Type: application/json", "Content-Encoding: gzip"]);
    await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, 415, { connection: "either" });
  });

  test("an unknown coding (zstd) on a JSON body is 415, nothing stored", async () => {
    const bytes = postJson("/items", ITEM, ["Content-Type: application/json", "Content-Encoding: zstd"]);
    await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, 415, { connection: "either" });
  });

  test("Content-Encoding: identity on a JSON body is accepted", async () => {
    const before = (await assertServes(itemsServer.server, ITEMS_HEALTH))!;
    const bytes = postJson("/items", '{"name":"identity","price":1}', [
      "Content-Type: application/json",
      "Content-Encoding: identity",
    ]);
    await expectAccepted(itemsServer.server, ITEMS_HEALTH, bytes, 201);
    assert.equal(await assertServes(itemsServer.server, ITEMS_HEALTH), before + 1);
  });

  for (const coding of ["gzip", "deflate", "br", "zstd", "gzip, gzip"]) {
    test(`Content-Encoding: ${coding} on a form is 415`, async () => {
      const bytes = request({
        method: "POST",
        target: "/form",
        fields: ["Content-Type: application/x-www-form-urlencoded", `Content-Encoding: ${coding}`],
        body: zlib.gzipSync("a=1"),
      });
      const { detail } = await expectRefusal(plainServer.server, OK_HEALTH, bytes, 415, {
        connection: "either",
      });
      assert.match(String(detail), /^Unsupported Media Type: Content-Encoding/);
    });
  }

  test("nothing above was logged as an error", () => {
    assert.deepEqual(plainLogger.errors, []);
  });
});

describe("class 3: Content-Encoding with decompressRequests: true", () => {
  const document = { a: [1, 2, 3], b: "compressed 😀" };
  const codings: [string, (data: Buffer) => Buffer][] = [
    ["gzip", (data) => zlib.gzipSync(data)],
    ["x-gzip", (data) => zlib.gzipSync(data)],
    ["deflate", (data) => zlib.deflateSync(data)],
    ["br", (data) => zlib.brotliCompressSync(data)],
  ];
  for (const [coding, compress] of codings) {
    test(`a ${coding} JSON body is decoded and accepted`, async () => {
      const bytes = postJson("/any", compress(Buffer.from(JSON.stringify(document))), [
        "Content-Type: application/json",
        `Content-Encoding: ${coding}`,
      ]);
      const { json } = await expectAccepted(zipServer.server, OK_HEALTH, bytes, 200);
      assert.deepEqual(json, { body: document });
    });

    test(`a ${coding} form body is decoded and accepted`, async () => {
      const bytes = request({
        method: "POST",
        target: "/form",
        fields: ["Content-Type: application/x-www-form-urlencoded", `Content-Encoding: ${coding}`],
        body: compress(Buffer.from("a=%F0%9F%98%80")),
      });
      const { json } = await expectAccepted(zipServer.server, OK_HEALTH, bytes, 200);
      assert.deepEqual(json, { a: "😀" });
    });
  }

  const bomb = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024));
  const TOO_LARGE = /^The decompressed request body is larger than the limit/;

  test("a gzip bomb (10 MB of zeros) as JSON is 413", async () => {
    const bytes = postJson("/any", bomb, ["Content-Type: application/json", "Content-Encoding: gzip"]);
    const { detail } = await expectRefusal(zipServer.server, OK_HEALTH, bytes, 413, { connection: "either" });
    assert.match(String(detail), TOO_LARGE);
  });

  test("a gzip bomb (10 MB of zeros) as a form is 413", async () => {
    const bytes = request({
      method: "POST",
      target: "/form",
      fields: ["Content-Type: application/x-www-form-urlencoded", "Content-Encoding: gzip"],
      body: bomb,
    });
    const { detail } = await expectRefusal(zipServer.server, OK_HEALTH, bytes, 413, { connection: "either" });
    assert.match(String(detail), TOO_LARGE);
  });

  test("a small body past the compression ratio (100 KiB of zeros in ~100 bytes) is 413", async () => {
    const bytes = request({
      method: "POST",
      target: "/form",
      fields: ["Content-Type: application/x-www-form-urlencoded", "Content-Encoding: gzip"],
      body: zlib.gzipSync(Buffer.alloc(200 * 1024, 0x61)),
    });
    const { detail } = await expectRefusal(zipServer.server, OK_HEALTH, bytes, 413, { connection: "either" });
    assert.match(String(detail), TOO_LARGE);
  });

  test("invalid gzip bytes as JSON are 400, about the coding", async () => {
    const bytes = postJson("/any", "this is not gzip", [
      "Content-Type: application/json",
      "Content-Encoding: gzip",
    ]);
    const { detail } = await expectRefusal(zipServer.server, OK_HEALTH, bytes, 400, { connection: "either" });
    assert.equal(detail, "The request body is not valid gzip data");
  });

  for (const [coding, body] of [
    ["gzip", "this is not gzip"],
    ["deflate", "this is not deflate"],
    ["br", "\xff\xff\xff\xff this is not brotli"],
  ] as const) {
    test(`invalid ${coding} bytes as a form are 400`, async () => {
      const bytes = request({
        method: "POST",
        target: "/form",
        fields: ["Content-Type: application/x-www-form-urlencoded", `Content-Encoding: ${coding}`],
        body: Buffer.from(body, "latin1"),
      });
      const { detail } = await expectRefusal(zipServer.server, OK_HEALTH, bytes, 400, {
        connection: "either",
      });
      assert.equal(detail, `The request body is not valid ${coding} data`);
    });
  }

  test("a truncated gzip stream as a form is 400", async () => {
    const whole = zlib.gzipSync(Buffer.from("a=1".repeat(1000)));
    const bytes = request({
      method: "POST",
      target: "/form",
      fields: ["Content-Type: application/x-www-form-urlencoded", "Content-Encoding: gzip"],
      body: whole.subarray(0, whole.length - 10),
    });
    await expectRefusal(zipServer.server, OK_HEALTH, bytes, 400, { connection: "either" });
  });

  test("stacked codings (gzip, gzip) on JSON are 415", async () => {
    const bytes = postJson("/any", zlib.gzipSync(zlib.gzipSync('{"a":1}')), [
      "Content-Type: application/json",
      "Content-Encoding: gzip, gzip",
    ]);
    await expectRefusal(zipServer.server, OK_HEALTH, bytes, 415, { connection: "either" });
  });

  for (const fields of [
    ["Content-Encoding: gzip, gzip"],
    ["Content-Encoding: gzip", "Content-Encoding: gzip"],
  ]) {
    test(`stacked codings on a form (${fields.join(" / ")}) are 415`, async () => {
      const bytes = request({
        method: "POST",
        target: "/form",
        fields: ["Content-Type: application/x-www-form-urlencoded", ...fields],
        body: zlib.gzipSync(zlib.gzipSync("a=1")),
      });
      await expectRefusal(zipServer.server, OK_HEALTH, bytes, 415, { connection: "either" });
    });
  }

  test("an unknown coding (zstd) on a form is still 415", async () => {
    const bytes = request({
      method: "POST",
      target: "/form",
      fields: ["Content-Type: application/x-www-form-urlencoded", "Content-Encoding: zstd"],
      body: "a=1",
    });
    await expectRefusal(zipServer.server, OK_HEALTH, bytes, 415, { connection: "either" });
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(zipLogger.errors, []);
  });
});
