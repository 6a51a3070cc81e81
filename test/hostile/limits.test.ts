// Hostile input, class 4 of SECURITY.md §4: size limits, over raw TCP. Off-by-one at each limit, the declared
// Content-Length against the bytes sent, chunked bodies over the limit, a body that never comes, header bytes and
// counts, URL and path-parameter length. After every case: the exact status, a JSON error body with a `detail` and
// no stack trace, the connection closed (framing-level refusals) or still usable, the server serving at once, and
// nothing stored by a refused POST /items.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App } from "briskjs";
import { z } from "zod";
import { app as items } from "../../examples/items/app.ts";
import { recordingLogger } from "../helpers/app.ts";
import {
  assertConnection,
  assertError,
  assertServes,
  assertValidationError,
  chunked,
  DEADLINE,
  exchange,
  expectAccepted,
  expectRefusal,
  type Health,
  ITEMS_HEALTH,
  postJson,
  RawConnection,
  request,
  serve,
} from "./raw-client.ts";

const OK_HEALTH: Health = { target: "/ok" };
/** The items example, served once for the whole file. */
const itemsServed = serve(items);

describe("class 4: bodyLimit (a small app limit of 64 bytes)", () => {
  const bodyLimit = 64;
  const logger = recordingLogger();
  const app = new App({ logger, bodyLimit })
    .get("/ok", {}, () => ({ ok: true }))
    .post("/any", { body: z.unknown() }, ({ body }) => ({ length: JSON.stringify(body).length }));
  const served = serve(app);
  /** A JSON string of exactly `size` bytes. */
  const document = (size: number) => `"${"b".repeat(size - 2)}"`;
  const OVER = `Request body is larger than the limit of ${bodyLimit} bytes`;
  const chunkedPost = (body: Buffer) =>
    request({
      method: "POST",
      target: "/any",
      fields: ["Content-Type: application/json", "Transfer-Encoding: chunked"],
      body,
    });

  test("a body of exactly bodyLimit bytes is accepted", async () => {
    const { json } = await expectAccepted(
      served.server,
      OK_HEALTH,
      postJson("/any", document(bodyLimit)),
      200,
    );
    assert.deepEqual(json, { length: bodyLimit });
  });

  test("a body of bodyLimit multi-byte characters' bytes (not characters) is what counts", async () => {
    // 20 × "€" (3 bytes each) + quotes = 62 bytes: within; 21 × = 65 bytes: over, though only 23 characters.
    await expectAccepted(served.server, OK_HEALTH, postJson("/any", `"${"€".repeat(20)}"`), 200);
    const { detail } = await expectRefusal(
      served.server,
      OK_HEALTH,
      postJson("/any", `"${"€".repeat(21)}"`),
      413,
      {
        connection: "close",
      },
    );
    assert.equal(detail, OVER);
  });

  test("a body one byte over bodyLimit is 413 and the connection is closed", async () => {
    const { detail } = await expectRefusal(
      served.server,
      OK_HEALTH,
      postJson("/any", document(bodyLimit + 1)),
      413,
      {
        connection: "close",
      },
    );
    assert.equal(detail, OVER);
  });

  test("a declared Content-Length over the limit is 413 before a byte of the body is sent", async () => {
    const bytes = request({
      method: "POST",
      target: "/any",
      fields: ["Content-Type: application/json"],
      contentLength: 10_000_000,
    });
    // The default requestTimeout is 60 s: an answer within the deadline can only come from the declared length.
    const { detail } = await expectRefusal(served.server, OK_HEALTH, bytes, 413, { connection: "close" });
    assert.equal(detail, OVER);
  });

  test("a declared Content-Length beyond 2^64 is 400 or 413, never a 500, and the connection is closed", async () => {
    const bytes = request({
      method: "POST",
      target: "/any",
      fields: ["Content-Type: application/json", "Content-Length: 99999999999999999999999"],
    });
    const connection = await RawConnection.open(served.server);
    connection.write(bytes);
    const response = await connection.response();
    assert.ok([400, 413].includes(response.status), `400 or 413, got ${response.status}`);
    assertError(response, response.status);
    await assertConnection(connection, response, "close", { bytes: "", status: 0 });
    await assertServes(served.server, OK_HEALTH);
  });

  test("a chunked body of exactly bodyLimit bytes is accepted", async () => {
    const { json } = await expectAccepted(
      served.server,
      OK_HEALTH,
      chunkedPost(chunked(document(bodyLimit), 7)),
      200,
    );
    assert.deepEqual(json, { length: bodyLimit });
  });

  for (const size of [1, 10, bodyLimit + 1]) {
    test(`a chunked body one byte over bodyLimit (chunks of ${size}) is 413 and the connection is closed`, async () => {
      const { detail } = await expectRefusal(
        served.server,
        OK_HEALTH,
        chunkedPost(chunked(document(bodyLimit + 1), size)),
        413,
        { connection: "close" },
      );
      assert.equal(detail, OVER);
    });
  }

  test("a chunked body that never ends is 413 once past bodyLimit", async () => {
    const head = request({
      method: "POST",
      target: "/any",
      fields: ["Content-Type: application/json", "Transfer-Encoding: chunked"],
    });
    // One chunk announced as 1 MiB, of which a little more than the limit is sent; no last chunk ever.
    const bytes = Buffer.concat([head, Buffer.from(`100000\r\n"${"b".repeat(bodyLimit * 2)}`)]);
    const { detail } = await expectRefusal(served.server, OK_HEALTH, bytes, 413, { connection: "close" });
    assert.equal(detail, OVER);
  });

  test("a Content-Length shorter than the body: the extra bytes are a new (malformed) request, and the connection is closed", async () => {
    // The server reads 10 bytes ('{"a":"bbbb'), then takes '"}garbage' as the start of the next request.
    const bytes = request({
      method: "POST",
      target: "/any",
      fields: ["Content-Type: application/json"],
      body: '{"a":"bbbb"}garbage\r\n\r\n',
      contentLength: 10,
    });
    const connection = await RawConnection.open(served.server);
    connection.write(bytes);
    // The 10 bytes read are answered (422: a truncated document), then the garbage is refused (400) and the
    // connection closed; nothing else.
    const first = await connection.response();
    const issues = assertValidationError(first);
    assert.equal(issues[0]!.type, "json_invalid");
    const second = await connection.response();
    const { detail } = assertError(second, 400);
    assert.equal(detail, "Bad Request: malformed HTTP request");
    await assertConnection(connection, second, "close", { bytes: "", status: 0 });
    await assertServes(served.server, OK_HEALTH);
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(logger.errors, []);
  });
});

describe("class 4: the default bodyLimit (1 MiB) on the items example", () => {
  const served = itemsServed;
  const MiB = 1024 * 1024;
  /** An item whose JSON is exactly `size` bytes. */
  const item = (size: number) => {
    const bare = '{"name":"big","price":1,"description":""}';
    return `{"name":"big","price":1,"description":"${"d".repeat(size - bare.length)}"}`;
  };

  test("an item of exactly 1 MiB is stored", async () => {
    const before = (await assertServes(served.server, ITEMS_HEALTH))!;
    assert.equal(Buffer.byteLength(item(MiB)), MiB);
    const { json } = await expectAccepted(served.server, ITEMS_HEALTH, postJson("/items", item(MiB)), 201);
    assert.equal((json as { description: string }).description.length, MiB - 41);
    assert.equal(await assertServes(served.server, ITEMS_HEALTH), before + 1);
  });

  test("a declared Content-Length of 1 MiB + 1 is 413 at once, the connection closed, nothing stored", async () => {
    const bytes = request({
      method: "POST",
      target: "/items",
      fields: ["Content-Type: application/json"],
      contentLength: MiB + 1,
    });
    const { detail } = await expectRefusal(served.server, ITEMS_HEALTH, bytes, 413, { connection: "close" });
    assert.equal(detail, `Request body is larger than the limit of ${MiB} bytes`);
  });

  test("a chunked item past 1 MiB is 413, the connection closed, nothing stored", async () => {
    const head = request({
      method: "POST",
      target: "/items",
      fields: ["Content-Type: application/json", "Transfer-Encoding: chunked"],
    });
    // Chunks are sent until the server answers (it stops reading there); the last chunk never comes.
    const before = await assertServes(served.server, ITEMS_HEALTH);
    const connection = await RawConnection.open(served.server);
    connection.write(head);
    const chunk = Buffer.from(`10000\r\n${"d".repeat(0x10000)}\r\n`);
    const answered = connection.response();
    answered.catch(() => {});
    for (let sent = 0; sent <= MiB + 0x10000; sent += 0x10000) {
      // Stop once answered: bytes the server will not read make its close a reset.
      if (connection.isClosed || connection.pending.byteLength > 0) break;
      connection.write(chunk);
      await sleep(1);
    }
    const response = await answered;
    assertError(response, 413);
    await assertConnection(connection, response, "close", { bytes: "", status: 0 });
    assert.equal(await assertServes(served.server, ITEMS_HEALTH), before);
  });
});

describe("class 4: a body that never comes (requestTimeout 1500 ms)", () => {
  const requestTimeout = 1500;
  const logger = recordingLogger();
  const app = new App({ logger, limits: { headersTimeout: 1000, requestTimeout } })
    .get("/ok", {}, () => ({ ok: true }))
    .post("/any", { body: z.unknown() }, ({ body }) => ({ body }));
  const served = serve(app);

  test("a Content-Length larger than the bytes sent, then a stall: others are served meanwhile, then 408 and closed", async () => {
    const stalled = await RawConnection.open(served.server);
    stalled.write(
      request({
        method: "POST",
        target: "/any",
        fields: ["Content-Type: application/json"],
        body: '"abc',
        contentLength: 100,
      }),
    );
    // Another client is served at once while this one stalls.
    await sleep(200);
    await assertServes(served.server, OK_HEALTH);
    const response = await stalled.response(requestTimeout + DEADLINE);
    const { detail } = assertError(response, 408);
    assert.equal(detail, "Request Timeout");
    await assertConnection(stalled, response, "close", { bytes: "", status: 0 });
    await assertServes(served.server, OK_HEALTH);
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(logger.errors, []);
  });
});

describe("class 4: header bytes, header count and URL length (defaults, on the items example)", () => {
  const served = itemsServed;

  /** A GET /items head of exactly `size` bytes, padded in one field. */
  const sizedHead = (size: number) => {
    const bare = request({ target: "/items", fields: ["X-Pad: "] });
    const padded = request({ target: "/items", fields: [`X-Pad: ${"p".repeat(size - bare.length)}`] });
    assert.equal(padded.length, size);
    return padded;
  };
  /** A GET /items with `count` header fields, Host included. */
  const withFields = (count: number) =>
    request({
      target: "/items",
      fields: Array.from({ length: count - 1 }, (_, index) => `X-Field-${index}: ${index}`),
    });
  /** A target of exactly `size` bytes. */
  const target = (size: number) => `/items?limit=1&pad=${"a".repeat(size - "/items?limit=1&pad=".length)}`;

  test("a request line and headers of exactly 16 KiB are served", async () => {
    await expectAccepted(served.server, ITEMS_HEALTH, sizedHead(16 * 1024), 200);
  });

  for (const size of [16 * 1024 + 1, 64 * 1024, 200 * 1024]) {
    test(`a request line and headers of ${size} bytes are 431 and the connection is closed`, async () => {
      const { detail } = await expectRefusal(served.server, ITEMS_HEALTH, sizedHead(size), 431, {
        connection: "close",
      });
      assert.equal(detail, "Request Header Fields Too Large");
    });
  }

  test("16 KiB of headers on a POST /items is 431 and stores nothing", async () => {
    const bare = postJson("/items", "", ["Content-Type: application/json", "X-Pad: "]).length;
    const bytes = postJson("/items", '{"name":"h","price":1}', [
      "Content-Type: application/json",
      `X-Pad: ${"p".repeat(16 * 1024 - bare + 10)}`,
    ]);
    await expectRefusal(served.server, ITEMS_HEALTH, bytes, 431, { connection: "close" });
  });

  test("exactly 100 header fields are served", async () => {
    await expectAccepted(served.server, ITEMS_HEALTH, withFields(100), 200);
  });

  for (const count of [101, 500, 2100]) {
    test(`${count} header fields are 431 and the connection is closed`, async () => {
      const { detail } = await expectRefusal(served.server, ITEMS_HEALTH, withFields(count), 431, {
        connection: "close",
      });
      assert.equal(detail, "Request Header Fields Too Large");
    });
  }

  test("101 empty header fields are 431 too", async () => {
    const bytes = request({
      target: "/items",
      fields: Array.from({ length: 100 }, (_, index) => `X-E${index}:`),
    });
    await expectRefusal(served.server, ITEMS_HEALTH, bytes, 431, { connection: "close" });
  });

  test("a target of exactly 8 KiB is served", async () => {
    const { json } = await expectAccepted(
      served.server,
      ITEMS_HEALTH,
      request({ target: target(8192) }),
      200,
    );
    assert.equal((json as { limit: number }).limit, 1);
  });

  for (const size of [8193, 12_000]) {
    test(`a target of ${size} bytes is 414 and the connection is closed`, async () => {
      const { detail } = await expectRefusal(
        served.server,
        ITEMS_HEALTH,
        request({ target: target(size) }),
        414,
        {
          connection: "close",
        },
      );
      assert.equal(detail, "URI Too Long");
    });
  }

  test("a target longer than the header limit (20,000 bytes) is 431, the connection closed", async () => {
    await expectRefusal(served.server, ITEMS_HEALTH, request({ target: target(20_000) }), 431, {
      connection: "close",
    });
  });

  test("a POST /items with a target over 8 KiB is 414 and stores nothing", async () => {
    const long = `/items?pad=${"a".repeat(8193 - "/items?pad=".length)}`;
    assert.equal(long.length, 8193);
    const bytes = postJson(long, '{"name":"u","price":1}');
    await expectRefusal(served.server, ITEMS_HEALTH, bytes, 414, { connection: "close" });
  });
});

describe("class 4: path parameter length (limits.paramLength = 256)", () => {
  const logger = recordingLogger();
  const app = new App({ logger })
    .get("/ok", {}, () => ({ ok: true }))
    .get("/p/{name}", { params: { name: z.string() } }, ({ params }) => ({ length: params.name.length }))
    .get("/f/{rest:path}", {}, ({ params }) => ({ length: (params as { rest: string }).rest.length }));
  const served = serve(app);
  const TOO_LONG = "Path parameter longer than 256 characters";

  test("a path parameter of exactly 256 characters is accepted", async () => {
    const { json } = await expectAccepted(
      served.server,
      OK_HEALTH,
      request({ target: `/p/${"a".repeat(256)}` }),
      200,
    );
    assert.deepEqual(json, { length: 256 });
  });

  test("a path parameter of 257 characters is 414", async () => {
    const { detail } = await expectRefusal(
      served.server,
      OK_HEALTH,
      request({ target: `/p/${"a".repeat(257)}` }),
      414,
      {
        connection: "either",
      },
    );
    assert.equal(detail, TOO_LONG);
  });

  test("the length is counted decoded: 256 × %61 (768 bytes sent) is accepted, 257 × %61 is 414", async () => {
    const { json } = await expectAccepted(
      served.server,
      OK_HEALTH,
      request({ target: `/p/${"%61".repeat(256)}` }),
      200,
    );
    assert.deepEqual(json, { length: 256 });
    const { detail } = await expectRefusal(
      served.server,
      OK_HEALTH,
      request({ target: `/p/${"%61".repeat(257)}` }),
      414,
      {
        connection: "either",
      },
    );
    assert.equal(detail, TOO_LONG);
  });

  test("characters are code points: 256 emoji (512 UTF-16 units) are accepted, 257 are 414", async () => {
    const emoji = encodeURIComponent("😀");
    const { json } = await expectAccepted(
      served.server,
      OK_HEALTH,
      request({ target: `/p/${emoji.repeat(256)}` }),
      200,
    );
    assert.deepEqual(json, { length: 512 });
    const { detail } = await expectRefusal(
      served.server,
      OK_HEALTH,
      request({ target: `/p/${emoji.repeat(257)}` }),
      414,
      { connection: "either" },
    );
    assert.equal(detail, TOO_LONG);
  });

  test("a {name:path} parameter is exempt: 4,000 characters are accepted", async () => {
    const { json } = await expectAccepted(
      served.server,
      OK_HEALTH,
      request({ target: `/f/${"a/".repeat(2000)}` }),
      200,
    );
    assert.deepEqual(json, { length: 4000 });
  });

  test("an item id of 256 digits passes the length check (404 for item 0); 257 digits is 414", async () => {
    const { response, connection } = await exchange(
      itemsServed.server,
      request({ target: `/items/${"0".repeat(256)}` }),
    );
    await connection.destroy();
    assert.equal(response.status, 404, response.text);
    assert.deepEqual(JSON.parse(response.text), { detail: "Item 0 not found" });
    const { detail } = await expectRefusal(
      itemsServed.server,
      ITEMS_HEALTH,
      request({ target: `/items/${"0".repeat(257)}` }),
      414,
      { connection: "either" },
    );
    assert.equal(detail, TOO_LONG);
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(logger.errors, []);
  });
});
