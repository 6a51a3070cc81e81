import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import {
  App,
  BriskError,
  cors,
  gzip,
  httpsRedirect,
  isBriskError,
  type Logger,
  type Middleware,
  trustedHost,
} from "briskjs";
import { z } from "zod";
import { call } from "./helpers/app.ts";

const silent: Logger = { info() {}, warn() {}, error() {} };

const ITEMS = Array.from({ length: 200 }, (_, id) => ({ id, name: `item ${id}`, tags: ["a", "b"] }));
const CHUNKS = Array.from({ length: 40 }, (_, index) => `line ${index}: ${"streamed text ".repeat(8)}\n`);

function streamOf(chunks: readonly string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

/** An app with the routes every test uses, behind the given middleware (first outermost). */
function makeApp(...middleware: Middleware[]): App {
  const app = new App({ openapiUrl: null, logger: silent });
  for (const layer of middleware) app.use(layer);
  return app
    .get("/hello", {}, () => ({ hello: "world" }))
    .get("/boom", {}, () => {
      throw new Error("boom");
    })
    .get("/items", {}, () => ITEMS)
    .get("/count", { query: { n: z.number() } }, ({ query }) => ({ n: query.n }))
    .get("/stream", {}, () => new Response(streamOf(CHUNKS), { headers: { "content-type": "text/plain" } }))
    .get("/small-stream", {}, () => new Response(streamOf(["tiny", " body"])))
    .get("/moved", {}, () => Response.redirect("http://test/hello", 302))
    .get("/vary", {}, () => new Response("x".repeat(1000), { headers: { vary: "Accept-Language" } }))
    .post("/echo", {}, () => ({ ok: true }));
}

/** The CORS headers of a response, in a stable shape for whole-object comparison. */
function corsHeaders(response: Response): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of response.headers) {
    if (name.startsWith("access-control-") || name === "vary") picked[name] = value;
  }
  return picked;
}

async function expectText(response: Response, status: number, body: string): Promise<void> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await response.text(), body);
}

function expectBriskError(make: () => unknown, pattern: RegExp): void {
  assert.throws(make, (error: unknown) => {
    assert.ok(isBriskError(error) && error instanceof BriskError);
    assert.equal(error.code, "BRISK_INVALID_OPTION");
    assert.match(error.message, pattern);
    return true;
  });
}

const SITE = "https://site.example";

function preflight(
  app: App,
  origin: string,
  method: string,
  requestHeaders?: string,
  target = "/hello",
): Promise<Response> {
  const headers: Record<string, string> = { origin, "access-control-request-method": method };
  if (requestHeaders !== undefined) headers["access-control-request-headers"] = requestHeaders;
  return call(app, target, { method: "OPTIONS", headers });
}

describe("cors: preflight", () => {
  const listed = makeApp(
    cors({ allowOrigins: [SITE], allowMethods: ["GET", "POST"], allowHeaders: ["X-Token"] }),
  );

  test("an allowed preflight answers 200 OK with the origin echoed and Vary: Origin", async () => {
    const response = await preflight(listed, SITE, "POST", "x-token, Content-Type");
    assert.deepEqual(corsHeaders(response), {
      "access-control-allow-headers": "Accept, Accept-Language, Content-Language, Content-Type, X-Token",
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-origin": SITE,
      "access-control-max-age": "600",
      vary: "Origin",
    });
    await expectText(response, 200, "OK");
  });

  test("a disallowed origin, method or header answers 400 naming each failure", async () => {
    await expectText(await preflight(listed, "https://evil.example", "GET"), 400, "Disallowed CORS origin");
    await expectText(await preflight(listed, SITE, "DELETE"), 400, "Disallowed CORS method");
    await expectText(
      await preflight(listed, SITE, "GET", "X-Token, X-Other"),
      400,
      "Disallowed CORS headers",
    );
    const all = await preflight(listed, "https://evil.example", "PUT", "X-Other");
    assert.equal(all.headers.get("access-control-allow-origin"), null);
    assert.equal(all.headers.get("vary"), "Origin");
    await expectText(all, 400, "Disallowed CORS origin, method, headers");
  });

  test("defaults: only GET and the safelisted headers, max age 600", async () => {
    const app = makeApp(cors({ allowOrigins: [SITE] }));
    const response = await preflight(app, SITE, "GET", "Accept");
    assert.deepEqual(corsHeaders(response), {
      "access-control-allow-headers": "Accept, Accept-Language, Content-Language, Content-Type",
      "access-control-allow-methods": "GET",
      "access-control-allow-origin": SITE,
      "access-control-max-age": "600",
      vary: "Origin",
    });
    await expectText(await preflight(app, SITE, "POST"), 400, "Disallowed CORS method");
  });

  test('wildcards: origin "*" without Vary, every method, requested headers echoed', async () => {
    const app = makeApp(cors({ allowOrigins: "*", allowMethods: "*", allowHeaders: "*", maxAge: 60 }));
    const response = await preflight(app, "https://any.example", "PATCH", "X-Anything, X-Else");
    assert.deepEqual(corsHeaders(response), {
      "access-control-allow-headers": "X-Anything, X-Else",
      "access-control-allow-methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
      "access-control-allow-origin": "*",
      "access-control-max-age": "60",
    });
    await expectText(response, 200, "OK");
    const noHeaders = await preflight(app, "https://any.example", "GET");
    assert.equal(noHeaders.headers.get("access-control-allow-headers"), null);
  });

  test("an origin regex must match the whole origin, as a string or a RegExp", async () => {
    for (const allowOriginRegex of ["https://.*\\.example\\.com", /https:\/\/.*\.example\.com/g]) {
      const app = makeApp(cors({ allowOriginRegex }));
      const ok = await preflight(app, "https://api.example.com", "GET");
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("access-control-allow-origin"), "https://api.example.com");
      for (let i = 0; i < 2; i++)
        assert.equal((await preflight(app, "https://b.example.com", "GET")).status, 200);
      await expectText(
        await preflight(app, "https://api.example.com.evil.org", "GET"),
        400,
        "Disallowed CORS origin",
      );
    }
  });

  test("credentials: Allow-Credentials on the preflight, origin echoed", async () => {
    const app = makeApp(cors({ allowOrigins: [SITE], allowCredentials: true }));
    const response = await preflight(app, SITE, "GET");
    assert.equal(response.headers.get("access-control-allow-credentials"), "true");
    assert.equal(response.headers.get("access-control-allow-origin"), SITE);
  });

  test("a preflight is answered before routing: no route needs to accept OPTIONS", async () => {
    const response = await preflight(listed, SITE, "POST", undefined, "/nowhere");
    await expectText(response, 200, "OK");
  });
});

describe("cors: simple requests", () => {
  test("a request without Origin is not touched", async () => {
    const app = makeApp(cors({ allowOrigins: "*", exposeHeaders: ["X-Total"] }));
    const response = await call(app, "/hello");
    assert.deepEqual(corsHeaders(response), {});
    assert.deepEqual(await response.json(), { hello: "world" });
  });

  test('wildcard: "*" and no Vary; a request with cookies gets its origin echoed', async () => {
    const app = makeApp(cors({ allowOrigins: "*" }));
    const plain = await call(app, "/hello", { headers: { origin: SITE } });
    assert.deepEqual(corsHeaders(plain), { "access-control-allow-origin": "*" });
    assert.deepEqual(await plain.json(), { hello: "world" });
    const withCookie = await call(app, "/hello", { headers: { origin: SITE, cookie: "session=1" } });
    assert.deepEqual(corsHeaders(withCookie), { "access-control-allow-origin": SITE, vary: "Origin" });
  });

  test("listed origin: echoed with Vary, credentials and exposed headers", async () => {
    const app = makeApp(
      cors({ allowOrigins: [SITE], allowCredentials: true, exposeHeaders: ["X-Total", "X-Page"] }),
    );
    const response = await call(app, "/hello", { headers: { origin: SITE } });
    assert.deepEqual(corsHeaders(response), {
      "access-control-allow-credentials": "true",
      "access-control-allow-origin": SITE,
      "access-control-expose-headers": "X-Total, X-Page",
      vary: "Origin",
    });
  });

  test("a disallowed origin gets the response without any CORS header, but Vary: Origin for caches", async () => {
    const app = makeApp(cors({ allowOrigins: [SITE], allowCredentials: true, exposeHeaders: ["X-Total"] }));
    const response = await call(app, "/hello", { headers: { origin: "https://evil.example" } });
    assert.equal(response.status, 200);
    assert.deepEqual(corsHeaders(response), { vary: "Origin" });
    assert.deepEqual(await response.json(), { hello: "world" });
  });

  test('the origin "null" is never allowed: listing it throws, and no pattern admits it', async () => {
    expectBriskError(() => cors({ allowOrigins: ["null"] }), /"null"/);
    const app = makeApp(cors({ allowOriginRegex: ".*", allowCredentials: true }));
    const response = await call(app, "/hello", { headers: { origin: "null" } });
    assert.equal(response.headers.get("access-control-allow-origin"), null);
    const allowed = await call(app, "/hello", { headers: { origin: SITE } });
    assert.equal(allowed.headers.get("access-control-allow-origin"), SITE);
  });

  test("Origin is appended to the route's Vary", async () => {
    const app = makeApp(cors({ allowOrigins: [SITE] }));
    const response = await call(app, "/vary", { headers: { origin: SITE } });
    assert.equal(response.headers.get("vary"), "Accept-Language, Origin");
  });

  test("OPTIONS without Access-Control-Request-Method is a simple request, routed as usual", async () => {
    const app = makeApp(cors({ allowOrigins: [SITE] }));
    const response = await call(app, "/hello", { method: "OPTIONS", headers: { origin: SITE } });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("access-control-allow-origin"), SITE);
  });

  test("a response with immutable headers is copied to take the CORS headers", async () => {
    const app = makeApp(cors({ allowOrigins: [SITE] }));
    const response = await call(app, "/moved", { headers: { origin: SITE } });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get("location"), "http://test/hello");
    assert.equal(response.headers.get("access-control-allow-origin"), SITE);
  });

  test("error responses carry the CORS headers: 404, 422 and a 500 from a throwing route", async () => {
    const app = makeApp(cors({ allowOrigins: [SITE], allowCredentials: true }));
    const expected = {
      "access-control-allow-credentials": "true",
      "access-control-allow-origin": SITE,
      vary: "Origin",
    };
    const cases: [string, number, unknown][] = [
      ["/nowhere", 404, { detail: "Not Found" }],
      ["/boom", 500, "Internal Server Error"],
    ];
    for (const [target, status, body] of cases) {
      const response = await call(app, target, { headers: { origin: SITE } });
      assert.equal(response.status, status);
      assert.deepEqual(corsHeaders(response), expected);
      const raw = await response.text();
      if (typeof body === "string") assert.match(raw, new RegExp(body));
      else assert.deepEqual(JSON.parse(raw), body);
    }
    const invalid = await call(app, "/count?n=abc", { headers: { origin: SITE } });
    assert.equal(invalid.status, 422);
    assert.deepEqual(corsHeaders(invalid), expected);
  });
});

describe("cors: configuration refused at startup", () => {
  test('any origin with credentials throws BRISK_INVALID_OPTION (browsers reject "*" with credentials)', () => {
    expectBriskError(() => cors({ allowOrigins: "*", allowCredentials: true }), /allowCredentials/);
    expectBriskError(() => cors({ allowOrigins: [SITE, "*"], allowCredentials: true }), /allowCredentials/);
  });

  test("a bad origin regex or max age throws", () => {
    expectBriskError(() => cors({ allowOriginRegex: "(" }), /allowOriginRegex/);
    expectBriskError(() => cors({ maxAge: -1 }), /maxAge/);
  });
});

async function uncompressed(app: App, target: string): Promise<Buffer> {
  return Buffer.from(await (await call(app, target)).arrayBuffer());
}

function getEncoded(
  app: App,
  target: string,
  acceptEncoding: string,
  extra?: HeadersInit,
): Promise<Response> {
  const headers = new Headers(extra);
  headers.set("accept-encoding", acceptEncoding);
  return call(app, target, { headers });
}

describe("gzip: compression", () => {
  const app = makeApp(gzip());

  test("a large JSON body round-trips through gzip, with the compressed Content-Length", async () => {
    const plain = await uncompressed(app, "/items");
    assert.deepEqual(JSON.parse(plain.toString()), ITEMS);
    const response = await getEncoded(app, "/items", "gzip, deflate");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-encoding"), "gzip");
    assert.equal(response.headers.get("vary"), "Accept-Encoding");
    assert.equal(response.headers.get("content-type"), "application/json");
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(response.headers.get("content-length"), String(body.length));
    assert.ok(body.length < plain.length / 3);
    assert.deepEqual(gunzipSync(body), plain);
  });

  test("brotli is chosen when listed at least as high as gzip, and round-trips", async () => {
    const plain = await uncompressed(app, "/items");
    const response = await getEncoded(app, "/items", "gzip, deflate, br");
    assert.equal(response.headers.get("content-encoding"), "br");
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(response.headers.get("content-length"), String(body.length));
    assert.deepEqual(brotliDecompressSync(body), plain);
  });

  test("q-values decide the coding", async () => {
    const cases: [string, string | null][] = [
      ["br;q=0.5, gzip;q=0.8", "gzip"],
      ["gzip;q=0.5, br", "br"],
      ["GZIP", "gzip"],
      ["x-gzip", "gzip"],
      ["*", "gzip"],
      ["*;q=0.1, br;q=0.2", "br"],
      ["br;q=0, gzip", "gzip"],
      ["gzip;q=0", null],
      ["gzip;q=0, *", null],
      ["gzip;q=0.5, br;q=0", "gzip"],
      ["gzip;q=abc", null],
      ["gzip;q=1.5", null],
      ["identity", null],
      ["", null],
    ];
    for (const [acceptEncoding, coding] of cases) {
      const response = await getEncoded(app, "/items", acceptEncoding);
      assert.equal(response.headers.get("content-encoding"), coding, acceptEncoding);
      // Whether compressed or not, the answer depended on Accept-Encoding.
      assert.equal(response.headers.get("vary"), "Accept-Encoding", acceptEncoding);
      await response.arrayBuffer();
    }
    const none = await call(app, "/items");
    assert.equal(none.headers.get("content-encoding"), null);
    assert.deepEqual(await none.json(), ITEMS);
  });

  test("a client refusing identity gets even a small body compressed", async () => {
    const response = await getEncoded(app, "/hello", "gzip, identity;q=0");
    assert.equal(response.headers.get("content-encoding"), "gzip");
    assert.deepEqual(JSON.parse(gunzipSync(Buffer.from(await response.arrayBuffer())).toString()), {
      hello: "world",
    });
  });

  test("a streaming body is compressed as it streams, without Content-Length", async () => {
    const response = await getEncoded(app, "/stream", "gzip");
    assert.equal(response.headers.get("content-encoding"), "gzip");
    assert.equal(response.headers.get("content-length"), null);
    assert.equal(gunzipSync(Buffer.from(await response.arrayBuffer())).toString(), CHUNKS.join(""));
    const br = await getEncoded(app, "/stream", "br");
    assert.equal(brotliDecompressSync(Buffer.from(await br.arrayBuffer())).toString(), CHUNKS.join(""));
  });

  test("compressed chunks reach the client before the source stream ends", async () => {
    let source!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (source = controller) });
    const live = makeApp(gzip()).get("/live", {}, () => new Response(body));
    source.enqueue(new TextEncoder().encode("a".repeat(600)));
    const responsePromise = getEncoded(live, "/live", "gzip");
    const response = await responsePromise;
    const reader = response.body!.getReader();
    const received: Uint8Array[] = [];
    const first = await reader.read();
    assert.ok(first.value !== undefined && first.value.byteLength > 0);
    received.push(first.value);
    source.enqueue(new TextEncoder().encode("b".repeat(600)));
    source.close();
    for (let next = await reader.read(); !next.done; next = await reader.read()) received.push(next.value);
    assert.equal(gunzipSync(Buffer.concat(received)).toString(), `${"a".repeat(600)}${"b".repeat(600)}`);
  });

  test("a body over 1 MiB with a known length is streamed, without Content-Length", async () => {
    const huge = "0123456789abcdef".repeat(128 * 1024);
    const large = makeApp(gzip()).get(
      "/huge",
      {},
      () => new Response(huge, { headers: { "content-length": String(huge.length) } }),
    );
    const response = await getEncoded(large, "/huge", "br;q=0.9, gzip;q=0.8");
    assert.equal(response.headers.get("content-encoding"), "br");
    assert.equal(response.headers.get("content-length"), null);
    assert.equal(brotliDecompressSync(Buffer.from(await response.arrayBuffer())).toString(), huge);
  });

  test("a short body of unknown length is sent as it is", async () => {
    const response = await getEncoded(app, "/small-stream", "gzip");
    assert.equal(response.headers.get("content-encoding"), null);
    assert.equal(response.headers.get("content-length"), "9");
    assert.equal(await response.text(), "tiny body");
  });

  test("Accept-Encoding is appended to the route's Vary; a strong ETag becomes weak", async () => {
    const tagged = makeApp(gzip()).get(
      "/tagged",
      {},
      () => new Response("y".repeat(2000), { headers: { etag: '"v1"', "content-length": "2000" } }),
    );
    const vary = await getEncoded(makeApp(gzip()), "/vary", "gzip");
    assert.equal(vary.headers.get("vary"), "Accept-Language, Accept-Encoding");
    const response = await getEncoded(tagged, "/tagged", "gzip");
    assert.equal(response.headers.get("etag"), 'W/"v1"');
    assert.equal(gunzipSync(Buffer.from(await response.arrayBuffer())).toString(), "y".repeat(2000));
  });

  test("with cors outside, the compressed response also carries the CORS headers", async () => {
    const both = makeApp(cors({ allowOrigins: [SITE] }), gzip());
    const response = await getEncoded(both, "/items", "gzip", { origin: SITE });
    assert.equal(response.headers.get("content-encoding"), "gzip");
    assert.equal(response.headers.get("access-control-allow-origin"), SITE);
    assert.equal(response.headers.get("vary"), "Accept-Encoding, Origin");
  });
});

describe("gzip: responses sent as they are", () => {
  const big = "z".repeat(2000);
  const app = makeApp(gzip())
    .get("/events", {}, () => new Response(big, { headers: { "content-type": "text/event-stream" } }))
    .get("/encoded", {}, () => new Response(big, { headers: { "content-encoding": "identity" } }))
    .get(
      "/no-transform",
      {},
      () => new Response(big, { headers: { "cache-control": "public, No-Transform" } }),
    )
    .get(
      "/range",
      {},
      () => new Response(big, { status: 206, headers: { "content-range": "bytes 0-1999/4000" } }),
    )
    .get("/empty", {}, () => new Response(null, { status: 204 }))
    .get("/unchanged", {}, () => new Response(null, { status: 304 }));

  test("each skip rule", async () => {
    for (const target of [
      "/hello",
      "/events",
      "/encoded",
      "/no-transform",
      "/range",
      "/empty",
      "/unchanged",
    ]) {
      const response = await getEncoded(app, target, "gzip, br");
      assert.notEqual(response.headers.get("content-encoding"), "gzip", target);
      assert.notEqual(response.headers.get("content-encoding"), "br", target);
      assert.equal(response.headers.get("vary"), null, target);
      await response.arrayBuffer();
    }
    const events = await getEncoded(app, "/events", "gzip");
    assert.equal(await events.text(), big);
  });

  test("HEAD is not compressed", async () => {
    const response = await call(app, "/items", { method: "HEAD", headers: { "accept-encoding": "gzip" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-encoding"), null);
  });

  test("bad options throw at startup", () => {
    expectBriskError(() => gzip({ level: 10 }), /level/);
    expectBriskError(() => gzip({ minimumSize: -1 }), /minimumSize/);
    expectBriskError(() => gzip({ brotliQuality: 12 }), /brotliQuality/);
  });
});

describe("trustedHost", () => {
  const withHost = (app: App, host: string | undefined, target = "/hello"): Promise<Response> =>
    call(app, target, host === undefined ? {} : { headers: { host } });

  test("listed hosts pass, the port ignored and case too; others get 400", async () => {
    const app = makeApp(trustedHost(["example.com", "::1"]));
    for (const host of ["example.com", "example.com:8000", "EXAMPLE.com", "[::1]:8000"]) {
      const response = await withHost(app, host);
      assert.equal(response.status, 200, host);
      assert.deepEqual(await response.json(), { hello: "world" });
    }
    for (const host of ["evil.com", "example.com.evil.com", "www.example.com"]) {
      await expectText(await withHost(app, host), 400, "Invalid host header");
    }
    // An empty Host never reaches a middleware: the app refuses it first, as it does any malformed Host.
    assert.equal((await withHost(app, "")).status, 400);
    await expectText(await withHost(app, undefined), 400, "Invalid host header");
  });

  test('"*.example.com" allows subdomains only; "*" allows any host', async () => {
    const app = makeApp(trustedHost(["*.example.com"]));
    assert.equal((await withHost(app, "api.example.com")).status, 200);
    assert.equal((await withHost(app, "a.b.example.com:9000")).status, 200);
    assert.equal((await withHost(app, "example.com")).status, 400);
    assert.equal((await withHost(app, "evilexample.com")).status, 400);
    const any = makeApp(trustedHost(["*"]));
    assert.equal((await withHost(any, "whatever.test")).status, 200);
    assert.equal((await withHost(any, undefined)).status, 200);
  });

  test("www redirect: 307 to the www host, port, path and query kept; off when wwwRedirect is false", async () => {
    const app = makeApp(trustedHost(["www.example.com"]));
    const response = await call(app, "http://example.com:8000/hello?a=1", {
      headers: { host: "example.com:8000" },
    });
    assert.equal(response.status, 307);
    assert.equal(response.headers.get("location"), "http://www.example.com:8000/hello?a=1");
    const off = makeApp(trustedHost(["www.example.com"], { wwwRedirect: false }));
    await expectText(await withHost(off, "example.com"), 400, "Invalid host header");
  });

  test("a misplaced wildcard or an empty list throws at startup", () => {
    for (const pattern of ["example.*", "*example.com", "a*.example.com", "**"]) {
      expectBriskError(() => trustedHost([pattern]), /wildcard/);
    }
    expectBriskError(() => trustedHost([]), /at least one/);
  });
});

describe("httpsRedirect", () => {
  const app = makeApp(httpsRedirect());

  test("http is redirected to https with 307, query kept, :80 and :443 dropped", async () => {
    const cases: [string, string][] = [
      ["http://example.com/hello?a=1&b=2", "https://example.com/hello?a=1&b=2"],
      ["http://example.com:80/hello", "https://example.com/hello"],
      ["http://example.com:443/hello", "https://example.com/hello"],
      ["http://example.com:8080/hello?x", "https://example.com:8080/hello?x"],
    ];
    for (const [from, to] of cases) {
      const response = await call(app, from, { method: "POST" });
      assert.equal(response.status, 307, from);
      assert.equal(response.headers.get("location"), to);
      assert.equal(await response.text(), "");
    }
  });

  test("https requests (as a TLS proxy's X-Forwarded-Proto makes them) pass through", async () => {
    const response = await call(app, "https://example.com/hello");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { hello: "world" });
  });
});
