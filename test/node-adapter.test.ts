import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, type Listening, listen } from "briskjs";
import { z } from "zod";
import { recordingLogger } from "./helpers/app.ts";
import { seededRandom } from "./helpers/random.ts";

interface RawResponse {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: string;
}

/**
 * Reads the final HTTP/1.1 response written on a socket, skipping interim 1xx ones (`100 Continue`). The body is
 * returned as sent: brisk writes Content-Length bodies.
 */
function parseRaw(raw: string): RawResponse | undefined {
  const match = /^HTTP\/1\.1 (\d{3})[^\r\n]*\r\n/.exec(raw);
  if (match === null) return undefined;
  if (match[1]!.startsWith("1") && raw.includes("\r\n\r\n"))
    return parseRaw(raw.slice(raw.indexOf("\r\n\r\n") + 4));
  const end = raw.indexOf("\r\n\r\n");
  const head = raw.slice(match[0].length, end === -1 ? raw.length : end);
  const headers = new Map<string, string>();
  for (const line of head.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headers, body: end === -1 ? "" : raw.slice(end + 4) };
}

/**
 * Writes bytes on a fresh TCP connection and collects everything the server sends until it closes the connection.
 * `closeAfterWrite` destroys the socket right after writing instead (a client that goes away).
 */
function rawExchange(
  base: string,
  payload: string | Buffer,
  options: { timeoutMs?: number; closeAfterWrite?: boolean } = {},
): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(parts).toString("latin1"));
    };
    socket.on("data", (chunk: Buffer) => parts.push(chunk));
    socket.on("end", finish);
    socket.on("close", finish);
    // A reset after the answer arrived is the server closing a connection it did not read to the end.
    socket.on("error", () => finish());
    socket.on("connect", () => {
      socket.write(payload);
      if (options.closeAfterWrite) finish();
    });
  });
}

interface NodeResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** POSTs a body in separate chunks (Transfer-Encoding: chunked, no Content-Length), pausing between them. */
function postChunked(
  base: string,
  path: string,
  chunks: readonly string[],
  pauseMs = 5,
): Promise<NodeResponse> {
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = httpRequest(
      new URL(path, base),
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
      },
      (res) => {
        responded = true;
        const parts: Buffer[] = [];
        res.on("data", (chunk: Buffer) => parts.push(chunk));
        res.on("end", () => {
          req.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts).toString("utf8"),
          });
        });
        res.on("error", reject);
      },
    );
    // The server may close the connection while chunks are still going out: only an error before the answer counts.
    req.on("error", (error) => {
      if (!responded) reject(error);
    });
    void (async () => {
      for (const chunk of chunks) {
        if (responded || req.destroyed) return;
        req.write(chunk);
        await sleep(pauseMs);
      }
      if (!responded) req.end();
    })();
  });
}

/** Asserts that the server still answers a plain request normally. */
async function assertServesOk(server: Listening): Promise<void> {
  const response = await fetch(`${server.url}/ok`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true });
}

const Item = z.object({
  name: z.string().min(1).max(100),
  price: z.number().gt(0),
  tags: z.array(z.string()).max(10).default([]),
});

describe("a socket answers as app.fetch does", () => {
  const app = new App({ logger: recordingLogger() })
    .get("/items/{item_id}", { params: { item_id: z.int() }, response: Item }, ({ params }) => ({
      name: `item ${params.item_id}`,
      price: 2.5,
      secret: "never sent",
    }))
    .post("/items", { body: Item, status: 201 }, ({ body }) => body);
  let server: Listening;
  before(async () => {
    server = await listen(app, { port: 0 });
  });
  after(() => server.close());

  const cases: [string, RequestInit][] = [
    ["/items/1", {}],
    ["/items/abc", {}],
    ["/nope", {}],
    ["/items/1", { method: "DELETE" }],
    ["/items/1", { method: "HEAD" }],
    [
      "/items",
      { method: "POST", headers: { "content-type": "application/json" }, body: '{"name": "a", "price": 1}' },
    ],
    ["/items", { method: "POST", headers: { "content-type": "application/json" }, body: '{"name": "a",' }],
    [
      "/items",
      { method: "POST", headers: { "content-type": "application/json" }, body: '{"name": "", "price": 0}' },
    ],
  ];
  for (const [path, init] of cases) {
    const label = [init.method ?? "GET", path, init.body ?? ""].join(" ").trim();
    test(`${label} gets the same status, headers and body`, async () => {
      const local = await app.fetch(new Request(`http://test${path}`, init));
      const remote = await fetch(`${server.url}${path}`, init);
      assert.equal(remote.status, local.status);
      for (const name of ["content-type", "content-length", "allow", "location"]) {
        assert.equal(remote.headers.get(name), local.headers.get(name), name);
      }
      assert.equal(await remote.text(), await local.text());
    });
  }

  test("the expected answers, for the record", async () => {
    const get = await fetch(`${server.url}/items/1`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("content-type"), "application/json");
    assert.deepEqual(await get.json(), { name: "item 1", price: 2.5, tags: [] });

    const head = await fetch(`${server.url}/items/1`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(
      head.headers.get("content-length"),
      String(Buffer.byteLength('{"name":"item 1","price":2.5,"tags":[]}')),
    );
    assert.equal(await head.text(), "");

    const invalid = await fetch(`${server.url}/items/abc`);
    assert.equal(invalid.status, 422);
    assert.deepEqual(await invalid.json(), {
      detail: [
        {
          type: "int_parsing",
          loc: ["path", "item_id"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "abc",
        },
      ],
    });

    const missing = await fetch(`${server.url}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { detail: "Not Found" });

    const wrongMethod = await fetch(`${server.url}/items/1`, { method: "DELETE" });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "GET, HEAD");
    assert.deepEqual(await wrongMethod.json(), { detail: "Method Not Allowed" });
  });
});

describe("body limit over a socket", () => {
  const logger = recordingLogger();
  const app = new App({ logger })
    .get("/ok", {}, () => ({ ok: true }))
    .post("/upload", { body: z.object({ data: z.string() }), bodyLimit: 1000 }, ({ body }) => ({
      length: body.data.length,
    }));
  let server: Listening;
  before(async () => {
    server = await listen(app, { port: 0 });
  });
  after(() => server.close());

  const document = (size: number) => `{"data":"${"x".repeat(size)}"}`;
  const split = (text: string, size: number) => text.match(new RegExp(`[^]{1,${size}}`, "g")) ?? [];

  test("a chunked body under the limit is read whole", async () => {
    const response = await postChunked(server.url, "/upload", split(document(900), 200));
    assert.equal(response.headers["content-type"], "application/json");
    assert.deepEqual(
      { status: response.status, body: JSON.parse(response.body) },
      { status: 200, body: { length: 900 } },
    );
  });

  test("a chunked body over the limit is 413, counted on bytes received, and the server stays up", async () => {
    const response = await postChunked(server.url, "/upload", split(document(3000), 300));
    assert.equal(response.headers["content-type"], "application/json");
    assert.deepEqual(
      { status: response.status, body: JSON.parse(response.body) },
      { status: 413, body: { detail: "Request body is larger than the limit of 1000 bytes" } },
    );
    await assertServesOk(server);
  });

  test("a Content-Length over the limit is 413 at once, without waiting for the body", async () => {
    const head =
      "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
      "Content-Length: 10000000\r\n\r\n";
    // No body byte is ever sent: an answer can only come from the announced length.
    const response = parseRaw(await rawExchange(server.url, head, { timeoutMs: 3000 }));
    assert.ok(response !== undefined, "an HTTP answer");
    assert.equal(response.status, 413);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.deepEqual(JSON.parse(response.body), {
      detail: "Request body is larger than the limit of 1000 bytes",
    });
    await assertServesOk(server);
  });

  test("nothing was logged as a server error", () => {
    assert.deepEqual(logger.errors, []);
  });
});

describe("malformed traffic does not take the server down", () => {
  const logger = recordingLogger();
  const app = new App({ logger })
    .get("/ok", {}, () => ({ ok: true }))
    .post("/items", { body: Item }, ({ body }) => body);
  /** Bodies whose reading ended in a 400 (the client went away before sending all of it). */
  let unfinished = 0;
  app.exceptionHandler(400, (error) => {
    unfinished += 1;
    return Response.json({ detail: error.message }, { status: 400 });
  });
  let server: Listening;
  before(async () => {
    server = await listen(app, { port: 0 });
  });
  after(() => server.close());

  test("garbage instead of a request line gets 400, then the server answers normally", async () => {
    const response = parseRaw(await rawExchange(server.url, "GARBAGE\r\n\r\n"));
    assert.equal(response?.status, 400);
    await assertServesOk(server);
  });

  test("an invalid header gets 400, then the server answers normally", async () => {
    const response = parseRaw(
      await rawExchange(server.url, "GET /ok HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n"),
    );
    assert.equal(response?.status, 400);
    const control = parseRaw(
      await rawExchange(server.url, "GET /ok HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n"),
    );
    assert.equal(control?.status, 400);
    await assertServesOk(server);
  });

  test("a truncated body whose client goes away does not crash the server", async () => {
    const request =
      "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
      'Content-Length: 100\r\n\r\n{"name": "trunc';
    await rawExchange(server.url, request, { closeAfterWrite: true });
    await sleep(50);
    await assertServesOk(server);
    // The read of the body ended rather than waiting forever for bytes that will never come.
    assert.equal(unfinished, 1);
  });

  test("a client that closes before sending its headers does not crash the server", async () => {
    await rawExchange(server.url, "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le", {
      closeAfterWrite: true,
    });
    await sleep(50);
    await assertServesOk(server);
  });

  test("nothing was logged as a server error", () => {
    assert.deepEqual(logger.errors, []);
  });
});

describe("deeply nested JSON over a socket", () => {
  const logger = recordingLogger();
  const app = new App({ logger })
    .get("/ok", {}, () => ({ ok: true }))
    .post("/items", { body: Item }, ({ body }) => body);
  let server: Listening;
  before(async () => {
    server = await listen(app, { port: 0 });
  });
  after(() => server.close());

  const nested: [string, string][] = [
    ["arrays", `${"[".repeat(10_000)}${"]".repeat(10_000)}`],
    ["objects", `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`],
    ["a field", `{"name":${"[".repeat(10_000)}${"]".repeat(10_000)},"price":1}`],
  ];
  for (const [what, body] of nested) {
    test(`10,000 nested ${what} where an object is expected is a client error, not a 5xx`, async () => {
      const response = await fetch(`${server.url}/items`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await response.text();
      assert.ok(
        response.status >= 400 && response.status < 500,
        `status ${response.status}: ${text.slice(0, 200)}`,
      );
      await assertServesOk(server);
    });
  }

  test("nothing was logged as a server error", () => {
    assert.deepEqual(logger.errors, []);
  });
});

describe("context.request over the Node adapter", () => {
  const app = new App()
    .post("/inspect/{id}", {}, async ({ request }) => {
      const url = new URL(request.url);
      return {
        method: request.method,
        path: url.pathname,
        search: url.search,
        header: request.headers.get("x-custom"),
        contentType: request.headers.get("content-type"),
        text: await request.text(),
      };
    })
    .get("/inspect", {}, ({ request }) => ({ method: request.method, url: request.url, body: request.body }))
    .post("/parsed", { body: z.object({ n: z.int() }) }, async ({ body, request }) => ({
      n: body.n,
      text: await request.text(),
    }));
  let server: Listening;
  before(async () => {
    server = await listen(app, { port: 0 });
  });
  after(() => server.close());

  test("sees the method, path, query and headers, and reads the body", async () => {
    const response = await fetch(`${server.url}/inspect/7?a=1&b=%20`, {
      method: "POST",
      headers: { "x-custom": "yes", "content-type": "text/plain" },
      body: "raw body 你好",
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      method: "POST",
      path: "/inspect/7",
      search: "?a=1&b=%20",
      header: "yes",
      contentType: "text/plain",
      text: "raw body 你好",
    });
  });

  test("has the full URL and no body on a GET", async () => {
    const response = await fetch(`${server.url}/inspect?x=1`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { method: "GET", url: `${server.url}/inspect?x=1`, body: null });
  });

  test("still yields the body's bytes after brisk has read the JSON body", async () => {
    const raw = '{ "n" : 5 }';
    const response = await fetch(`${server.url}/parsed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: raw,
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { n: 5, text: raw });
  });
});

describe("no bad request makes the server answer 5xx or exit", () => {
  const SEED = 0x5eed_b215;
  const RUNS = 300;
  const logger = recordingLogger();
  const app = new App({ logger, bodyLimit: 64 * 1024 })
    .get("/ok", {}, () => ({ ok: true }))
    .post("/items", { body: Item, status: 201 }, ({ body }) => body)
    .get(
      "/search",
      {
        query: {
          q: z.string().max(50).optional(),
          limit: z.int().min(1).max(100).default(10),
          tag: z.array(z.string()).default([]),
          flag: z.boolean().default(false),
          price: z.number().optional(),
        },
      },
      ({ query }) => query,
    )
    .get("/strict", { query: z.object({ a: z.string().optional() }).strict() }, ({ query }) => query)
    .get("/items/{item_id}", { params: { item_id: z.int() } }, ({ params }) => params)
    .get(
      "/me",
      {
        headers: { x_token: z.string().optional(), x_count: z.int().optional() },
        cookies: { session: z.string().optional() },
      },
      ({ headers, cookies }) => ({ headers, cookies }),
    );
  let server: Listening;
  before(async () => {
    server = await listen(app, { port: 0 });
  });
  after(() => server.close());

  test(`${RUNS} seeded hostile requests (seed ${SEED}) all get an answer below 500`, async () => {
    const random = seededRandom(SEED);
    const int = (below: number) => Math.floor(random() * below);
    const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
    const randomBytes = (size: number) => Buffer.from(Array.from({ length: size }, () => int(256)));
    const percentGarbage = [
      "%E0%A4%A",
      "%",
      "%%",
      "%zz",
      "%00",
      "%FF%FE",
      "%C0%AF",
      "%ED%A0%80",
      "%2",
      "+",
      "&",
      "=",
      ";",
    ];
    const queryPieces = [
      "limit=abc",
      "limit=1e999",
      "limit=-0",
      `limit=${"9".repeat(400)}`,
      "limit=",
      "flag=maybe",
      "flag=",
      "price=NaN",
      "price=Infinity",
      "price=0x10",
      "tag=",
      "tag=a&tag=b",
      "__proto__=1",
      "__proto__[x]=1",
      "constructor=x",
      "constructor[prototype][x]=1",
      "toString=1",
      "hasOwnProperty=1",
      `q=${"a".repeat(2000)}`,
      "a=1&a=2",
      "&&&",
      "=",
      "==",
    ];
    const bodies = (): [string, string | Buffer] => {
      const depth = pick([100, 1000, 10_000]);
      const choices: [string, () => string | Buffer][] = [
        ["random bytes", () => randomBytes(int(2000))],
        [
          "random ascii",
          () =>
            randomBytes(int(500))
              .toString("latin1")
              .replace(/[^\x20-\x7e]/g, "{"),
        ],
        ["deep arrays", () => `${"[".repeat(depth)}${"]".repeat(depth)}`],
        ["deep objects", () => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`],
        ["deep field", () => `{"name":"n","price":1,"tags":${"[".repeat(depth)}${"]".repeat(depth)}}`],
        ["proto key", () => '{"__proto__":{"admin":true},"name":"x","price":1}'],
        ["escaped proto key", () => '{"\\u005f_proto__":{"admin":true},"name":"x","price":1}'],
        ["constructor.prototype", () => '{"name":"x","price":1,"constructor":{"prototype":{"admin":true}}}'],
        ["nested proto", () => '{"name":"x","price":1,"tags":[{"__proto__":null}]}'],
        ["huge number", () => `{"name":"x","price":1e400}`],
        ["huge integer", () => `{"name":"x","price":${"9".repeat(int(5000) + 1)}}`],
        ["negative huge", () => `{"name":"x","price":-1e400}`],
        ["tiny number", () => `{"name":"x","price":1e-400}`],
        ["wrong types", () => `{"name":${pick(["1", "null", "[]", "{}", "true"])},"price":"1"}`],
        ["truncated json", () => '{"name":"x","price":1'.slice(0, int(22))],
        ["lone surrogate", () => '{"name":"\\ud800","price":1}'],
        ["nul byte", () => '{"name":"a\u0000b","price":1}'],
        ["bom", () => '\ufeff{"name":"x","price":1}'],
        ["empty", () => ""],
        ["over the limit", () => `{"name":"${"x".repeat(70_000)}","price":1}`],
      ];
      const [label, make] = pick(choices);
      return [label, make()];
    };
    const contentTypes = [
      "application/json",
      "application/json; charset=utf-8",
      "application/vnd.api+json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json; charset=latin1",
      "%%%",
      "application/",
      "/json",
      `application/json; ${"x=1; ".repeat(400)}`,
      "",
    ];
    const methods = [
      "GET",
      "POST",
      "PUT",
      "PATCH",
      "DELETE",
      "OPTIONS",
      "HEAD",
      "TRACE",
      "PROPFIND",
      "FOO",
      "get",
    ];
    const paths = [
      "/items",
      "/search",
      "/strict",
      "/me",
      "/ok",
      "/items/1",
      "/items/%E0%A4%A",
      "/items/%",
      "/items/1%2F2",
      "/items/99999999999999999999999",
      "/nope",
      "/%",
      "//",
      "/..%2f..%2fetc",
      "/items/",
      "*",
      "http://evil.example/items",
    ];

    const requests: { label: string; bytes: Buffer }[] = [];
    const build = (method: string, target: string, headers: string[], body: string | Buffer | undefined) => {
      const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", ...headers];
      const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
      if (body !== undefined) lines.push(`Content-Length: ${payload.byteLength}`);
      return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), payload]);
    };
    for (let index = 0; index < RUNS; index++) {
      switch (index % 6) {
        case 0:
        case 1: {
          const [label, body] = bodies();
          const type = index % 6 === 0 ? "application/json" : pick(contentTypes);
          requests.push({
            label: `POST /items ${label} (${type.slice(0, 40)})`,
            bytes: build("POST", "/items", type === "" ? [] : [`Content-Type: ${type}`], body),
          });
          break;
        }
        case 2: {
          const parts = Array.from({ length: 1 + int(6) }, () =>
            random() < 0.5
              ? pick(queryPieces)
              : `${pick(["q", "limit", "tag", "flag", "price", "a", pick(percentGarbage)])}=${pick(percentGarbage)}${pick(percentGarbage)}`,
          );
          const target = `${pick(["/search", "/strict", "/search", "/me"])}?${parts.join("&")}`;
          requests.push({ label: `GET ${target.slice(0, 120)}`, bytes: build("GET", target, [], undefined) });
          break;
        }
        case 3: {
          const size = pick([100, 4000, 12_000, 20_000, 70_000]);
          const headers = [
            `X-Token: ${"t".repeat(size)}`,
            `X-Count: ${pick(["1", "abc", "1e999", "-", "9".repeat(500)])}`,
            `Cookie: session=${pick(percentGarbage)}; __proto__=x; constructor=y; session=second`,
            `User-Agent: ${"u".repeat(int(3000))}`,
          ];
          requests.push({
            label: `GET /me with ${size}-byte header`,
            bytes: build("GET", "/me", headers, undefined),
          });
          break;
        }
        case 4: {
          const method = pick(methods);
          const target = pick(paths);
          const withBody = random() < 0.5;
          const [label, body] = bodies();
          requests.push({
            label: `${method} ${target}${withBody ? ` with ${label}` : ""}`,
            bytes: build(
              method,
              target,
              withBody ? ["Content-Type: application/json"] : [],
              withBody ? body : undefined,
            ),
          });
          break;
        }
        default: {
          const header = pick([
            "Content-Length: abc",
            "Content-Length: -1",
            "Content-Length: 5\r\nContent-Length: 6",
            "Transfer-Encoding: chunked\r\nContent-Length: 3",
            "Transfer-Encoding: gzip",
            "Content-Type: application/json\r\nContent-Type: text/plain",
            `X-Bin: ${randomBytes(40)
              .toString("latin1")
              .replace(/[\r\n]/g, "x")}`,
            "Expect: 100-continue",
          ]);
          requests.push({
            label: `POST /items with ${JSON.stringify(header).slice(0, 80)}`,
            bytes: Buffer.concat([
              Buffer.from(
                `POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${header}\r\n\r\n`,
                "latin1",
              ),
              Buffer.from('{"name":"x","price":1}'),
            ]),
          });
        }
      }
    }

    const failures: string[] = [];
    for (const [index, { label, bytes }] of requests.entries()) {
      let answer: RawResponse | undefined;
      try {
        answer = parseRaw(await rawExchange(server.url, bytes));
      } catch (error) {
        failures.push(`#${index} ${label}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      if (answer === undefined) failures.push(`#${index} ${label}: no HTTP answer`);
      else if (answer.status >= 500)
        failures.push(`#${index} ${label}: ${answer.status} ${answer.body.slice(0, 100)}`);
    }
    assert.deepEqual(failures, [], `seed ${SEED}`);
    await assertServesOk(server);
  });

  test("nothing was logged as a server error", () => {
    assert.deepEqual(logger.errors, []);
  });
});
