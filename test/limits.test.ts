// The server limits (`new App({ bodyLimit, limits })`), exercised over raw TCP: exact bytes are written, since a
// fetch client would normalize away what matters (the request target, the header block, chunked framing, stalls).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, afterEach, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, type AppOptions, isBriskError, type Listening, listen } from "briskjs";
import { z } from "zod";
import { type Limits, resolveLimits } from "../src/limits.ts";
import { recordingLogger } from "./helpers/app.ts";
import { DEADLINE, dropConnections, RawConnection, type RawResponse, within } from "./hostile/raw-client.ts";

/** Clock slack when asserting that a deadline was not enforced early. */
const EARLY = 50;

/** A request head: the request line, `Host`, the given fields, and the blank line. */
function head(target: string, fields: readonly string[] = [], method = "GET"): string {
  return `${method} ${target} HTTP/1.1\r\nHost: test\r\n${fields.map((field) => `${field}\r\n`).join("")}\r\n`;
}

/** Asserts a JSON answer brisk wrote itself: status, media type, length and the whole body. */
function assertJson(response: RawResponse, status: number, body: unknown): void {
  assert.equal(response.status, status, `status (body: ${response.text})`);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("content-length"), String(Buffer.byteLength(response.text)));
  assert.deepEqual(JSON.parse(response.text), body);
}

/** Asserts a refusal that ends the connection: `Connection: close`, then the server closes the socket. */
async function assertClosedAfter(connection: RawConnection, response: RawResponse): Promise<void> {
  assert.equal(response.headers.get("connection")?.toLowerCase(), "close");
  await connection.closedWithin();
  assert.equal(connection.pending.toString("latin1"), "", "nothing follows the refusal");
}

/** Asserts that the server answers a normal request on a fresh connection, and keeps that connection open. */
async function assertServes(listening: Listening): Promise<RawResponse> {
  const connection = await RawConnection.open(listening);
  try {
    connection.write(head("/ok"));
    const response = await connection.response();
    assertJson(response, 200, { ok: true });
    assert.equal(response.headers.get("connection")?.toLowerCase(), "keep-alive");
    return response;
  } finally {
    await connection.destroy();
  }
}

/** The app every server here serves: a plain route, a route with a query, and one reading a JSON string body. */
function limitedApp(options: AppOptions = {}): App & { readonly errors: string[] } {
  const logger = recordingLogger();
  const app = new App({ logger, ...options })
    .get("/ok", {}, () => ({ ok: true }))
    .get("/u", { query: { q: z.string() } }, ({ query }) => ({ length: query.q.length }))
    .post("/echo", { body: z.string() }, ({ body }) => ({ length: body.length }));
  return Object.assign(app, { errors: logger.errors });
}

/** Starts `app` on a free port for the tests of the enclosing `describe`. */
function serving(app: App): { readonly server: Listening } {
  const holder = {} as { server: Listening };
  before(async () => {
    holder.server = await listen(app, { port: 0 });
  });
  afterEach(dropConnections);
  after(() => holder.server.close());
  return holder;
}

describe("limits: request target, header count and header bytes", () => {
  const urlBytes = 64;
  const headerCount = 10;
  const headerBytes = 1024;
  const app = limitedApp({ limits: { urlBytes, headerCount, headerBytes } });
  const served = serving(app);
  /** A target of exactly `size` bytes, answered by `/u` with the length of its `q`. */
  const target = (size: number) => `/u?q=${"a".repeat(size - "/u?q=".length)}`;

  test("a target of exactly urlBytes bytes is served", async () => {
    const connection = await RawConnection.open(served.server);
    try {
      assert.equal(target(urlBytes).length, urlBytes);
      connection.write(head(target(urlBytes)));
      assertJson(await connection.response(), 200, { length: urlBytes - "/u?q=".length });
      // The connection is kept for another request.
      connection.write(head("/ok"));
      assertJson(await connection.response(), 200, { ok: true });
    } finally {
      await connection.destroy();
    }
  });

  test("a target one byte longer is 414 with a JSON body, and the connection is closed", async () => {
    const connection = await RawConnection.open(served.server);
    connection.write(head(target(urlBytes + 1)));
    const response = await connection.response();
    assertJson(response, 414, { detail: "URI Too Long" });
    await assertClosedAfter(connection, response);
    await assertServes(served.server);
  });

  test("a request pipelined after a 414 is not answered: the connection is closed", async () => {
    const connection = await RawConnection.open(served.server);
    connection.write(head(target(urlBytes * 4)) + head("/ok"));
    const response = await connection.response();
    assertJson(response, 414, { detail: "URI Too Long" });
    await assertClosedAfter(connection, response);
    await assertServes(served.server);
  });

  /** `count` header fields in all, `Host` included. */
  const fields = (count: number) =>
    Array.from({ length: count - 1 }, (_, index) => `X-Field-${index}: ${index}`);

  test("exactly headerCount header fields are served", async () => {
    const connection = await RawConnection.open(served.server);
    try {
      connection.write(head("/ok", fields(headerCount)));
      assertJson(await connection.response(), 200, { ok: true });
    } finally {
      await connection.destroy();
    }
  });

  for (const count of [headerCount + 1, headerCount * 5]) {
    test(`${count} header fields (limit ${headerCount}) are 431 with a JSON body, and the connection is closed`, async () => {
      const connection = await RawConnection.open(served.server);
      connection.write(head("/ok", fields(count)));
      const response = await connection.response();
      assertJson(response, 431, { detail: "Request Header Fields Too Large" });
      await assertClosedAfter(connection, response);
      await assertServes(served.server);
    });
  }

  /** A request line and headers of exactly `size` bytes, padded in one field. */
  const sizedHead = (size: number) => {
    const bare = head("/ok", ["X-Pad: "]);
    const padded = head("/ok", [`X-Pad: ${"p".repeat(size - bare.length)}`]);
    assert.equal(padded.length, size);
    return padded;
  };

  test("a request line and headers of exactly headerBytes bytes are served", async () => {
    const connection = await RawConnection.open(served.server);
    try {
      connection.write(sizedHead(headerBytes));
      assertJson(await connection.response(), 200, { ok: true });
    } finally {
      await connection.destroy();
    }
  });

  // The README and `Limits`: "Bytes of the request line and headers together: 431 beyond". One byte beyond is
  // the boundary asserted, not what Node happens to count (the target, field names and values, without the method,
  // the version, ": " and line ends, refused from `headerBytes` counted bytes on).
  for (const size of [headerBytes + 1, headerBytes * 4]) {
    test(`a request line and headers of ${size} bytes (limit ${headerBytes}) are 431, and the connection is closed`, async () => {
      const connection = await RawConnection.open(served.server);
      connection.write(sizedHead(size));
      // Node's own answer (no body), or brisk's JSON one.
      const response = await connection.response();
      assert.equal(response.status, 431, `status (body: ${response.text})`);
      await assertClosedAfter(connection, response);
      await assertServes(served.server);
    });
  }

  test("nothing above was logged as an error", () => {
    assert.deepEqual(app.errors, []);
  });
});

describe("limits: header and request deadlines", () => {
  const headersTimeout = 500;
  const requestTimeout = 1500;
  const app = limitedApp({ limits: { headersTimeout, requestTimeout } });
  const served = serving(app);

  test("a client that stalls in its headers gets 408 after headersTimeout, and its connection is closed", async () => {
    const stalled = await RawConnection.open(served.server);
    const started = performance.now();
    stalled.write("GET /ok HTTP/1.1\r\nHost: test\r\nX-Slow: 1\r\n");
    // Another connection is served meanwhile, at once.
    await sleep(100);
    await assertServes(served.server);
    const response = await stalled.response(headersTimeout + DEADLINE);
    assert.equal(response.status, 408);
    assert.ok(response.at - started >= headersTimeout - EARLY, `408 after ${response.at - started} ms`);
    await assertClosedAfter(stalled, response);
    await assertServes(served.server);
  });

  test("a connection that sends nothing at all is answered 408 after headersTimeout and closed", async () => {
    const silent = await RawConnection.open(served.server);
    const started = performance.now();
    const response = await silent.response(headersTimeout + DEADLINE);
    assert.equal(response.status, 408);
    assert.ok(response.at - started >= headersTimeout - EARLY, `408 after ${response.at - started} ms`);
    await assertClosedAfter(silent, response);
    await assertServes(served.server);
  });

  test("a client that stalls in its body gets 408 after requestTimeout, and its connection is closed", async () => {
    const stalled = await RawConnection.open(served.server);
    const started = performance.now();
    stalled.write(`${head("/echo", ["Content-Type: application/json", "Content-Length: 10"], "POST")}"ab`);
    // Past headersTimeout the request is still waited for (its headers are complete), and others are served.
    await sleep(headersTimeout + 200);
    await assertServes(served.server);
    const response = await stalled.response(requestTimeout + DEADLINE);
    assert.equal(response.status, 408);
    assert.ok(response.at - started >= requestTimeout - EARLY, `408 after ${response.at - started} ms`);
    await assertClosedAfter(stalled, response);
    await assertServes(served.server);
  });

  test("a request whose body arrives in pieces within requestTimeout is served", async () => {
    const connection = await RawConnection.open(served.server);
    try {
      connection.write(head("/echo", ["Content-Type: application/json", "Content-Length: 10"], "POST"));
      await sleep(100);
      connection.write('"abc');
      await sleep(100);
      connection.write('defgh"');
      assertJson(await connection.response(), 200, { length: 8 });
    } finally {
      await connection.destroy();
    }
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(app.errors, []);
  });
});

describe("limits: keep-alive", () => {
  // Shorter header and request deadlines than the keep-alive one: an idle connection is not subject to them.
  const keepAliveTimeout = 1500;
  const app = limitedApp({ limits: { keepAliveTimeout, headersTimeout: 300, requestTimeout: 600 } });
  const served = serving(app);

  test("an idle keep-alive connection is kept for another request, then closed after keepAliveTimeout", async () => {
    const connection = await RawConnection.open(served.server);
    connection.write(head("/ok"));
    const first = await connection.response();
    assertJson(first, 200, { ok: true });
    assert.equal(first.headers.get("connection")?.toLowerCase(), "keep-alive");
    // Node advertises the server's own keepAliveTimeout, in whole seconds.
    assert.equal(first.headers.get("keep-alive"), `timeout=${Math.floor(keepAliveTimeout / 1000)}`);
    // Idle past the header and request deadlines, and still open for another request.
    await sleep(700);
    assert.equal(connection.closedAt, undefined, "still open");
    connection.write(head("/ok"));
    const second = await connection.response();
    assertJson(second, 200, { ok: true });
    const closedAt = await connection.closedWithin(keepAliveTimeout + DEADLINE);
    assert.ok(
      closedAt - second.at >= keepAliveTimeout - EARLY,
      `closed after ${closedAt - second.at} ms idle`,
    );
    assert.equal(connection.pending.toString("latin1"), "", "closed without a word (no 408)");
    await assertServes(served.server);
  });
});

describe("limits: connections", () => {
  const connections = 3;
  const app = limitedApp({ limits: { connections } });
  const served = serving(app);

  test("a connection beyond the limit is answered 503 and closed; one freed is used again", async () => {
    const open: RawConnection[] = [];
    try {
      for (let index = 0; index < connections; index++) {
        const connection = await RawConnection.open(served.server);
        open.push(connection);
        // A request answered: the server has counted this connection; it then stays open, idle.
        connection.write(head("/ok"));
        assertJson(await connection.response(), 200, { ok: true });
      }
      const extra = await RawConnection.open(served.server);
      extra.write(head("/ok"));
      const refused = await extra.response();
      assertJson(refused, 503, { detail: "Service Unavailable: too many connections" });
      await assertClosedAfter(extra, refused);

      // The connections within the limit are still served.
      open[0]!.write(head("/ok"));
      assertJson(await open[0]!.response(), 200, { ok: true });

      // One closes: the server sees it go, and a new connection is served.
      await open.pop()!.destroy();
      const deadline = performance.now() + DEADLINE;
      while ((await countConnections(served.server)) > connections - 1) {
        assert.ok(performance.now() < deadline, "the server still counts the closed connection");
        await sleep(20);
      }
      const fresh = await RawConnection.open(served.server);
      open.push(fresh);
      fresh.write(head("/ok"));
      assertJson(await fresh.response(), 200, { ok: true });

      // Full again: the next one is refused.
      const another = await RawConnection.open(served.server);
      another.write(head("/ok"));
      const again = await another.response();
      assertJson(again, 503, { detail: "Service Unavailable: too many connections" });
      await assertClosedAfter(another, again);
    } finally {
      await Promise.all(open.map((connection) => connection.destroy()));
    }
    // All closed: the count is back to zero, and every new connection is served.
    const deadline = performance.now() + DEADLINE;
    while ((await countConnections(served.server)) > 0) {
      assert.ok(performance.now() < deadline, "the server still counts closed connections");
      await sleep(20);
    }
    await Promise.all(Array.from({ length: connections }, () => assertServes(served.server)));
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(app.errors, []);
  });
});

/** How many connections the Node server has open. */
function countConnections(listening: Listening): Promise<number> {
  return new Promise((resolve, reject) => {
    listening.server.getConnections((error, count) => (error ? reject(error) : resolve(count)));
  });
}

describe("limits: bodyLimit", () => {
  const bodyLimit = 32;
  // Long deadlines: a server waiting for a body it should have refused would show as a test timing out.
  const app = limitedApp({ bodyLimit });
  const served = serving(app);
  /** A JSON string of exactly `size` bytes. */
  const document = (size: number) => `"${"b".repeat(size - 2)}"`;
  const post = (fields: readonly string[]) =>
    head("/echo", ["Content-Type: application/json", ...fields], "POST");
  /** `text` in chunked framing, in chunks of `size` bytes, with the last chunk. */
  const chunked = (text: string, size: number) => {
    let framed = "";
    for (let offset = 0; offset < text.length; offset += size) {
      const chunk = text.slice(offset, offset + size);
      framed += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    }
    return `${framed}0\r\n\r\n`;
  };

  test("a body of exactly bodyLimit bytes is read, with Content-Length and chunked", async () => {
    const connection = await RawConnection.open(served.server);
    try {
      connection.write(post([`Content-Length: ${bodyLimit}`]) + document(bodyLimit));
      assertJson(await connection.response(), 200, { length: bodyLimit - 2 });
      connection.write(post(["Transfer-Encoding: chunked"]) + chunked(document(bodyLimit), 7));
      const response = await connection.response();
      assertJson(response, 200, { length: bodyLimit - 2 });
      assert.equal(response.headers.get("connection")?.toLowerCase(), "keep-alive");
    } finally {
      await connection.destroy();
    }
  });

  const over = { detail: `Request body is larger than the limit of ${bodyLimit} bytes` };

  test("a Content-Length body one byte over bodyLimit is 413, and the connection is closed", async () => {
    const connection = await RawConnection.open(served.server);
    connection.write(post([`Content-Length: ${bodyLimit + 1}`]) + document(bodyLimit + 1));
    const response = await connection.response();
    assertJson(response, 413, over);
    await assertClosedAfter(connection, response);
    await assertServes(served.server);
  });

  for (const size of [1, 7, bodyLimit + 1]) {
    test(`a chunked body one byte over bodyLimit, in chunks of ${size}, is 413 on the bytes received`, async () => {
      const connection = await RawConnection.open(served.server);
      connection.write(post(["Transfer-Encoding: chunked"]) + chunked(document(bodyLimit + 1), size));
      const response = await connection.response();
      assertJson(response, 413, over);
      await assertClosedAfter(connection, response);
      await assertServes(served.server);
    });
  }

  test("a chunked body that goes on without end is 413 once past bodyLimit", async () => {
    const connection = await RawConnection.open(served.server);
    // The chunked body is never finished: the answer can only come from counting what arrived.
    connection.write(
      `${post(["Transfer-Encoding: chunked"])}${(bodyLimit * 2).toString(16)}\r\n"${"b".repeat(bodyLimit * 2 - 1)}`,
    );
    const response = await connection.response();
    assertJson(response, 413, over);
    await assertClosedAfter(connection, response);
    await assertServes(served.server);
  });

  test("a Content-Length over bodyLimit is 413 at once, without a byte of the body sent", async () => {
    const connection = await RawConnection.open(served.server);
    connection.write(post(["Content-Length: 1000000"]));
    // The default requestTimeout is 60 s: an answer within the deadline can only come from the announced length.
    const response = await connection.response();
    assertJson(response, 413, over);
    await assertClosedAfter(connection, response);
    await assertServes(served.server);
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(app.errors, []);
  });
});

describe("limits: deadlines while shutting down", () => {
  const headersTimeout = 300;
  const requestTimeout = 600;
  afterEach(dropConnections);

  const stalls: [string, string][] = [
    ["in its headers", "GET /ok HTTP/1.1\r\nHost: test\r\nX-Slow: 1\r\n"],
    ["in its body", `${head("/echo", ["Content-Type: application/json", "Content-Length: 10"], "POST")}"ab`],
  ];
  for (const [where, bytes] of stalls) {
    test(`close() does not wait past the deadlines for a client stalled ${where}`, async () => {
      const server = await listen(limitedApp({ limits: { headersTimeout, requestTimeout } }), { port: 0 });
      const stalled = await RawConnection.open(server);
      // A request answered first: the connection is known to the server, and what follows is a request under way.
      stalled.write(head("/ok"));
      assertJson(await stalled.response(), 200, { ok: true });
      stalled.write(bytes);
      await sleep(300);
      const closing = server.close();
      try {
        await within(
          closing,
          requestTimeout + DEADLINE,
          `close() still waits for the client stalled ${where}, ${requestTimeout + DEADLINE} ms on`,
        );
        await stalled.closedWithin();
      } finally {
        // Let the server finish closing either way.
        await stalled.destroy();
        await closing;
      }
    });
  }
});

describe("limits: defaults and validation", () => {
  /** Every key of `Limits`: tsc fails here when one is added or removed. */
  const keys = {
    urlBytes: true,
    headerBytes: true,
    headerCount: true,
    headersTimeout: true,
    requestTimeout: true,
    keepAliveTimeout: true,
    connections: true,
    paramLength: true,
    jsonDepth: true,
    jsonKeys: true,
    jsonNumberLength: true,
    compressionRatio: true,
    handlerTimeout: true,
    sendTimeout: true,
  } as const satisfies Record<keyof Limits, true>;

  /** The README's "## Limits" table: each limit's name and its default, in bytes, milliseconds or a count. */
  async function readmeTable(): Promise<Map<string, number>> {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const start = readme.indexOf("\n## Limits\n");
    assert.notEqual(start, -1, 'README has a "## Limits" section');
    const end = readme.indexOf("\n## ", start + 1);
    const section = readme.slice(start, end === -1 ? undefined : end);
    const table = new Map<string, number>();
    const units: Record<string, number> = { "": 1, KiB: 1024, MiB: 1024 * 1024, s: 1000 };
    for (const [, name, text] of section.matchAll(/^\|\s*`([^`]+)`\s*\|\s*([^|]*?)\s*\|/gm)) {
      const match = /^(\d[\d,]*)(?:\s*(KiB|MiB|s))?$/.exec(text!);
      assert.ok(match !== null, `the default of ${name} reads as a number: ${text}`);
      table.set(name!, Number(match[1]!.replaceAll(",", "")) * units[match[2] ?? ""]!);
    }
    return table;
  }

  test("the defaults are the README table's, and the table lists every limit", async () => {
    const table = await readmeTable();
    const listed = [...table.keys()]
      .filter((name) => name.startsWith("limits."))
      .map((name) => name.slice(7));
    assert.deepEqual(listed.toSorted(), Object.keys(keys).toSorted());
    const app = new App();
    assert.deepEqual(Object.keys(app.limits).toSorted(), Object.keys(keys).toSorted());
    assert.deepEqual(
      app.limits,
      Object.fromEntries(listed.map((name) => [name, table.get(`limits.${name}`)])),
    );
    assert.deepEqual(resolveLimits(), app.limits);
    assert.equal(table.get("bodyLimit"), 1024 * 1024);
    assert.equal(app.settings.bodyLimit, table.get("bodyLimit"));
  });

  test("a value given replaces its default only", () => {
    const app = new App({ limits: { urlBytes: 100, connections: 5 } });
    assert.deepEqual(app.limits, { ...new App().limits, urlBytes: 100, connections: 5 });
  });

  test("a limit given as undefined keeps its default, as an unset bodyLimit does", () => {
    const defaults = resolveLimits();
    for (const name of Object.keys(keys) as (keyof Limits)[]) {
      assert.deepEqual(resolveLimits({ [name]: undefined }), defaults, name);
    }
    assert.equal(new App({ bodyLimit: undefined }).settings.bodyLimit, new App().settings.bodyLimit);
  });

  const invalid = (error: unknown) => isBriskError(error) && error.code === "BRISK_INVALID_OPTION";

  for (const name of Object.keys(keys) as (keyof Limits)[]) {
    for (const value of [
      0,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 53,
      "10" as unknown as number,
    ]) {
      test(`limits.${name} = ${String(value)} is refused with BRISK_INVALID_OPTION`, () => {
        assert.throws(() => resolveLimits({ [name]: value }), invalid);
        assert.throws(() => new App({ limits: { [name]: value } }), invalid);
      });
    }
    test(`limits.${name} = 1 is accepted`, () => {
      // headersTimeout may not exceed requestTimeout, so requestTimeout = 1 goes with headersTimeout = 1.
      const limits = name === "requestTimeout" ? { requestTimeout: 1, headersTimeout: 1 } : { [name]: 1 };
      assert.equal(resolveLimits(limits)[name], 1);
      assert.equal(new App({ limits }).limits[name], 1);
    });
  }

  test("headersTimeout longer than requestTimeout is refused; equal is accepted", () => {
    for (const limits of [
      { headersTimeout: 1001, requestTimeout: 1000 },
      { headersTimeout: 60_001 },
      { requestTimeout: 19_999 },
    ]) {
      assert.throws(() => resolveLimits(limits), invalid, JSON.stringify(limits));
      assert.throws(() => new App({ limits }), invalid, JSON.stringify(limits));
    }
    assert.equal(
      new App({ limits: { headersTimeout: 1000, requestTimeout: 1000 } }).limits.headersTimeout,
      1000,
    );
  });
});
