// Hostile input, class 6 of SECURITY.md §4: paths, redirects, proxy headers and CORS, against running servers over
// raw TCP with exact bytes. After each case: the exact status, a safe error body, the server still answers at once,
// and GET /items shows that nothing was created.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { App, cors, isBriskError, type Listening, type Logger, staticFiles } from "briskjs";
import { z } from "zod";
import {
  assertJsonError,
  assertSafeErrorBody,
  exchange,
  type RawResponse,
  request,
  serve,
} from "./raw-socket.ts";

const errors: string[] = [];
const logger: Logger = {
  info: () => {},
  warn: () => {},
  error: (message, error) =>
    void errors.push(error instanceof Error ? `${message}: ${error.message}` : message),
};

/** examples/items's routes, plus routes for the redirect and proxy cases. */
function itemsApp(options: { title?: string } = {}): App {
  const Item = z.object({ name: z.string().min(1).max(100), price: z.number().gt(0) });
  const items = new Map<number, z.infer<typeof Item> & { id: number }>();
  let nextId = 1;
  return new App({ title: options.title ?? "Items", logger })
    .post("/items", { body: Item, status: 201 }, ({ body }) => {
      const item = { id: nextId++, ...body };
      items.set(item.id, item);
      return item;
    })
    .get(
      "/items",
      { query: { limit: z.int().min(1).max(100).default(10), offset: z.int().min(0).default(0) } },
      ({ query }) => ({
        limit: query.limit,
        offset: query.offset,
        total: items.size,
        items: [...items.values()].slice(query.offset, query.offset + query.limit),
      }),
    )
    .get("/items/{item_id}", { params: { item_id: z.int() } }, ({ params }) => ({ item_id: params.item_id }))
    .get("/url", {}, ({ request }) => ({ url: request.url }));
}

const dirs: string[] = [];

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function get(target: string, headers: readonly string[] = []): string {
  return request("GET", target, { headers });
}

/** GET /items on a fresh connection: answered at once (within the deadline), with `total` items. */
async function assertServes(server: Listening, total = 0): Promise<void> {
  const response = await exchange(server.url, get("/items?limit=1"));
  assert.equal(response.status, 200, response.text);
  assert.equal(
    (JSON.parse(response.text) as { total: number }).total,
    total,
    "a rejected request created data",
  );
}

/** A Location never leaves the origin: no `//`, `\` or scheme at its start, no control characters. */
function assertLocalLocation(response: RawResponse): void {
  const location = response.headers.get("location");
  if (location === undefined) return;
  assert.match(location, /^\/(?![\\/])/, `Location ${JSON.stringify(location)}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  assert.doesNotMatch(location, /[\u0000-\u0020\u007f]/, `Location ${JSON.stringify(location)}`);
}

// ---------------------------------------------------------------------------------------------------------------

describe("paths: encoded separators, dot segments, repeated slashes", () => {
  let server: Listening;
  before(async () => {
    server = await serve(itemsApp());
  });

  test("/items%2F1 does not reach /items/{item_id}: 404", async () => {
    const response = await exchange(server.url, get("/items%2F1"));
    assert.deepEqual(assertJsonError(response, 404), "Not Found");
    await assertServes(server);
  });

  test("/items%2f1 (lower case) does not either", async () => {
    const response = await exchange(server.url, get("/items%2f1"));
    assertJsonError(response, 404);
    await assertServes(server);
  });

  test("/items/1%2F2 is one parameter, not two segments: 422 for a non-integer id", async () => {
    const response = await exchange(server.url, get("/items/1%2F2"));
    const detail = assertJsonError(response, 422) as { input: unknown }[];
    assert.equal(detail[0]?.input, "1/2");
    await assertServes(server);
  });

  test("/items%5C1 does not reach /items/{item_id}: 404", async () => {
    assertJsonError(await exchange(server.url, get("/items%5C1")), 404);
    await assertServes(server);
  });

  for (const target of [
    "/items/../items",
    "/./items",
    "/items/.",
    "/items/..",
    "/items/%2e%2e/x",
    "/items/%2E%2E/items",
    "/%2E/items",
    "/%2e%2E/items",
    "/items/.%2e/x",
    "/items/%2e./x",
    "/x/../items?limit=1",
    "/x/%2e%2e/items?limit=1",
  ]) {
    test(`dot segment ${target}: 400`, async () => {
      const response = await exchange(server.url, get(target));
      assertJsonError(response, 400);
      assertLocalLocation(response);
      await assertServes(server);
    });
  }

  for (const target of ["/items/...", "/items/.x", "/items/%2e%2e%2e"]) {
    test(`${target} is no dot segment: routed (422 for a non-integer id)`, async () => {
      assertJsonError(await exchange(server.url, get(target)), 422);
    });
  }

  test("//items is not /items: 404, and no redirect", async () => {
    for (const target of ["//items", "//items/", "///items", "/items//", "//items?limit=1"]) {
      const response = await exchange(server.url, get(target));
      assert.equal(response.status, 404, `${target}: ${response.status} ${response.text}`);
      assertSafeErrorBody(response);
      assert.equal(response.headers.get("location"), undefined, target);
    }
    await assertServes(server);
  });

  test("POSTs through any of these create nothing", async () => {
    for (const target of ["/items%2F", "/./items", "//items", "/items/../items", "/%69tems/.."]) {
      const response = await exchange(server.url, request("POST", target, { json: { name: "x", price: 1 } }));
      assert.ok([400, 404, 405].includes(response.status), `${target}: ${response.status}`);
      assertSafeErrorBody(response);
    }
    await assertServes(server);
  });
});

describe("redirects never leave the origin", () => {
  let server: Listening;
  before(async () => {
    const app = new App({ logger })
      .get("/evil.com", {}, () => ({ page: "evil.com" }))
      .get("/items", {}, () => ({ total: 0 }))
      .get("/{name}", {}, ({ params }) => ({ name: params.name }))
      .get("/{a}/evil.com", {}, ({ params }) => ({ a: params.a }));
    server = await serve(app);
  });

  test("a trailing-slash redirect is relative: GET /evil.com/ → /evil.com", async () => {
    const response = await exchange(server.url, get("/evil.com/"));
    assert.equal(response.status, 307);
    assert.equal(response.headers.get("location"), "/evil.com");
  });

  test("the guard matters: /\\evil.com itself is served by /{name}, so its slash redirect would be /\\evil.com", async () => {
    const response = await exchange(server.url, get("/\\evil.com"));
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.text), { name: "\\evil.com" });
  });

  for (const target of [
    "//evil.com/",
    "//evil.com",
    "///evil.com/",
    "/\\evil.com/",
    "/\\/evil.com/",
    "//evil.com/%2e%2e",
    "//evil.com/%2e%2e/",
    "/%2F%2Fevil.com/",
    "/%5Cevil.com/",
    "/%5C%5Cevil.com/",
    "//evil.com/?next=/",
  ]) {
    test(`GET ${target}: no Location starting with // or \\`, async () => {
      const response = await exchange(server.url, get(target));
      assert.ok([200, 307, 400, 404].includes(response.status), `${response.status} ${response.text}`);
      assertLocalLocation(response);
      if (response.status !== 307) assert.equal(response.headers.get("location"), undefined);
      if (response.status >= 400) assertSafeErrorBody(response);
    });
  }

  test("the server still answers", async () => {
    const response = await exchange(server.url, get("/items"));
    assert.equal(response.status, 200);
  });
});

describe("static files: nothing outside the directory is served", () => {
  const SECRET = "TOP-SECRET-CONTENT";
  let server: Listening;
  before(async () => {
    const root = mkdtempSync(join(tmpdir(), "brisk-hostile-static-"));
    dirs.push(root);
    const site = join(root, "public");
    mkdirSync(join(site, "sub"), { recursive: true });
    writeFileSync(join(site, "a.txt"), "public a");
    writeFileSync(join(site, "sub", "index.html"), "<h1>sub</h1>");
    writeFileSync(join(site, "sub", "b.txt"), "public b");
    writeFileSync(join(root, "secret.txt"), SECRET);
    // A sibling whose name starts with the served directory's (CVE-2023-29159).
    mkdirSync(join(root, "public-secret"));
    writeFileSync(join(root, "public-secret", "x.txt"), SECRET);
    symlinkSync(join(root, "secret.txt"), join(site, "link-out.txt"));
    symlinkSync(join(root, "public-secret"), join(site, "dir-out"));
    symlinkSync(join(site, "a.txt"), join(site, "link-in.txt"));
    const app = itemsApp();
    app.mount("/static", staticFiles(site, { html: true }));
    server = await serve(app);
  });

  test("what is inside is served (the controls)", async () => {
    for (const [target, body] of [
      ["/static/a.txt", "public a"],
      ["/static/sub/b.txt", "public b"],
      ["/static/sub/", "<h1>sub</h1>"],
      ["/static/link-in.txt", "public a"],
      ["/static/%61.txt", "public a"],
    ] as const) {
      const response = await exchange(server.url, get(target));
      assert.equal(response.status, 200, `${target}: ${response.text}`);
      assert.equal(response.text, body);
    }
    const directory = await exchange(server.url, get("/static/sub?x=1"));
    assert.equal(directory.status, 307);
    assert.equal(directory.headers.get("location"), "/static/sub/?x=1");
  });

  for (const target of [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/.%2e/secret.txt",
    "/static/sub/../../secret.txt",
    "/static/./a.txt",
    "/static/..%2Fsecret.txt",
    "/static/..%2fsecret.txt",
    "/static/%2e%2e%2Fsecret.txt",
    "/static/sub%2F..%2F..%2Fsecret.txt",
    "/static/..%5Csecret.txt",
    "/static/..%5csecret.txt",
    "/static/%5C..%5Csecret.txt",
    "/static/..\\secret.txt",
    "/static/sub\\..\\..\\secret.txt",
    "/static/%252e%252e/secret.txt",
    "/static/%252e%252e%252fsecret.txt",
    "/static/%c0%ae%c0%ae/secret.txt",
    "/static/%2Fsecret.txt",
    "/static//secret.txt",
    "/static//etc/passwd",
    "/static/%2Fetc%2Fpasswd",
    "/static/link-out.txt",
    "/static/dir-out/x.txt",
    "/static/dir-out/",
    "/static/../public-secret/x.txt",
    "/static/..%2Fpublic-secret%2Fx.txt",
    "/static-secret/x.txt",
    "/static/a.txt%00",
    "/static/a.txt%00.html",
    "/static/%00",
    "/static/..;/secret.txt",
    "http://x/static/../secret.txt",
  ]) {
    test(`GET ${target}: 400 or 404, never the file`, async () => {
      const response = await exchange(server.url, get(target));
      assert.ok([400, 404].includes(response.status), `${target}: ${response.status} ${response.text}`);
      assert.ok(!response.text.includes(SECRET), `${target} served the secret`);
      assertSafeErrorBody(response);
      assertLocalLocation(response);
      await assertServes(server);
    });
  }

  test("HEAD and byte ranges reach nothing outside either", async () => {
    for (const bytes of [
      request("HEAD", "/static/..%2Fsecret.txt"),
      get("/static/..%2Fsecret.txt", ["Range: bytes=0-5"]),
      get("/static/link-out.txt", ["Range: bytes=0-5"]),
    ]) {
      const response = await exchange(server.url, bytes, { head: bytes.startsWith("HEAD") });
      assert.equal(response.status, 404, bytes);
      assert.ok(!response.text.includes(SECRET.slice(0, 6)));
    }
  });

  test("methods other than GET and HEAD are 405 and create nothing", async () => {
    const response = await exchange(server.url, request("POST", "/static/a.txt", { body: "x" }));
    assertJsonError(response, 405);
    await assertServes(server);
  });
});

describe("proxy headers from a peer that is not trusted are ignored", () => {
  const SPOOFED = [
    "X-Forwarded-For: 203.0.113.9",
    "X-Forwarded-Proto: https",
    "X-Forwarded-Host: evil.example",
    "X-Forwarded-Prefix: /evil",
  ];
  let untrusted: Listening;
  let trusted: Listening;
  before(async () => {
    untrusted = await serve(itemsApp(), { forwardedAllowIps: "10.0.0.1" });
    trusted = await serve(itemsApp(), { forwardedAllowIps: "127.0.0.1" });
  });

  test("request.url keeps the real scheme, Host and path", async () => {
    const response = await exchange(untrusted.url, get("/url", SPOOFED));
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(JSON.parse(response.text), { url: "http://test/url" });
  });

  test("the same headers from a trusted peer do change it (the control)", async () => {
    const response = await exchange(trusted.url, get("/url", SPOOFED));
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(JSON.parse(response.text), { url: "https://evil.example/evil/url" });
  });

  test("the OpenAPI document's servers and the docs pages do not pick up a spoofed prefix", async () => {
    const document = await exchange(untrusted.url, get("/openapi.json", SPOOFED));
    assert.equal(document.status, 200);
    const servers = (JSON.parse(document.text) as { servers?: { url: string }[] }).servers ?? [];
    assert.ok(!servers.some((each) => each.url.includes("evil")), JSON.stringify(servers));
    for (const page of ["/docs", "/redoc", "/docs/oauth2-redirect"]) {
      const response = await exchange(untrusted.url, get(page, SPOOFED));
      assert.equal(response.status, 200, page);
      assert.ok(!response.text.includes("/evil"), `${page} names the spoofed prefix`);
      assert.ok(!response.text.includes("evil.example"), `${page} names the spoofed host`);
    }
    // From a trusted proxy the prefix is taken (the control).
    const trustedDocument = await exchange(trusted.url, get("/openapi.json", SPOOFED));
    assert.deepEqual((JSON.parse(trustedDocument.text) as { servers?: unknown }).servers, [{ url: "/evil" }]);
  });

  test("the slash redirect keeps the real root path", async () => {
    const response = await exchange(untrusted.url, get("/items/", SPOOFED));
    assert.equal(response.status, 307);
    assert.equal(response.headers.get("location"), "/items");
  });

  test("a spoofed prefix does not route: /evil/items is 404 from an untrusted peer", async () => {
    const response = await exchange(untrusted.url, get("/evil/items", SPOOFED));
    assertJsonError(response, 404);
  });

  test("a trusted proxy's prefix that would make a scheme-relative URL is ignored", async () => {
    for (const prefix of ["//evil.example", "/\\evil.example", "/a/../b", "http://evil.example"]) {
      const response = await exchange(trusted.url, get("/url", [`X-Forwarded-Prefix: ${prefix}`]));
      assert.equal(response.status, 200, `${prefix}: ${response.text}`);
      assert.deepEqual(JSON.parse(response.text), { url: "http://test/url" }, prefix);
      const redirect = await exchange(trusted.url, get("/items/", [`X-Forwarded-Prefix: ${prefix}`]));
      assert.equal(redirect.status, 307);
      assertLocalLocation(redirect);
    }
  });

  test("the servers still answer, with nothing created", async () => {
    await assertServes(untrusted);
    await assertServes(trusted);
  });
});

describe("CORS", () => {
  const ALLOWED = "https://app.example.com";
  let server: Listening;
  before(async () => {
    const app = itemsApp();
    app.use(
      cors({
        allowOrigins: [ALLOWED],
        allowOriginRegex: "https://[a-z]+\\.partner\\.example",
        allowCredentials: true,
        allowMethods: ["GET", "POST"],
      }),
    );
    server = await serve(app);
  });

  function corsHeaders(response: RawResponse): Record<string, string> {
    const found: Record<string, string> = {};
    for (const [name, value] of response.headers) if (name.startsWith("access-control-")) found[name] = value;
    return found;
  }

  function varyHasOrigin(response: RawResponse): boolean {
    return (response.headers.get("vary") ?? "")
      .split(",")
      .some((each) => each.trim().toLowerCase() === "origin");
  }

  test("an allow-listed origin is reflected, with credentials and Vary: Origin", async () => {
    const response = await exchange(server.url, get("/items", [`Origin: ${ALLOWED}`]));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), ALLOWED);
    assert.equal(response.headers.get("access-control-allow-credentials"), "true");
    assert.ok(varyHasOrigin(response), `Vary: ${response.headers.get("vary")}`);
  });

  test("an origin matching the pattern as a whole is reflected", async () => {
    const origin = "https://a.partner.example";
    const response = await exchange(server.url, get("/items", [`Origin: ${origin}`]));
    assert.equal(response.headers.get("access-control-allow-origin"), origin);
    assert.ok(varyHasOrigin(response));
  });

  for (const origin of [
    "null",
    "https://evil.example",
    `${ALLOWED}.evil.example`,
    `${ALLOWED}:8443`,
    `http://app.example.com`,
    "https://app.example.com@evil.example",
    "https://evilapp.example.com",
    "https://a.partner.example.evil.example",
    "https://x.partner.example:1",
    "https://a-b.partner.example",
    `${ALLOWED}/`,
    "*",
    "",
  ]) {
    test(`Origin ${JSON.stringify(origin)} is not reflected, on a response or a preflight`, async () => {
      const response = await exchange(server.url, get("/items", [`Origin: ${origin}`]));
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(corsHeaders(response), {}, "no CORS header for an origin not allowed");
      const preflight = await exchange(
        server.url,
        request("OPTIONS", "/items", {
          headers: [`Origin: ${origin}`, "Access-Control-Request-Method: POST"],
        }),
      );
      assert.equal(preflight.status, 400, preflight.text);
      assert.equal(preflight.headers.get("access-control-allow-origin"), undefined);
      // A simple POST from it is answered, but the browser cannot read the answer; the items stay as they are.
      const post = await exchange(
        server.url,
        request("POST", "/items", { headers: [`Origin: ${origin}`], body: "name=x&price=1" }),
      );
      assert.equal(post.status, 415, post.text);
      assert.deepEqual(corsHeaders(post), {});
      await assertServes(server);
    });
  }

  test("a preflight from the allowed origin is answered with it and Vary: Origin", async () => {
    const preflight = await exchange(
      server.url,
      request("OPTIONS", "/items", {
        headers: [`Origin: ${ALLOWED}`, "Access-Control-Request-Method: POST"],
      }),
    );
    assert.equal(preflight.status, 200, preflight.text);
    assert.equal(preflight.headers.get("access-control-allow-origin"), ALLOWED);
    assert.equal(preflight.headers.get("access-control-allow-credentials"), "true");
    assert.ok(varyHasOrigin(preflight));
  });

  test("error responses to the allowed origin keep Vary: Origin (a cache must not serve them to another)", async () => {
    const response = await exchange(server.url, get("/items/x", [`Origin: ${ALLOWED}`]));
    assertJsonError(response, 422);
    assert.equal(response.headers.get("access-control-allow-origin"), ALLOWED);
    assert.ok(varyHasOrigin(response));
  });

  test("any origin with credentials is refused at startup, in every spelling", () => {
    for (const allowOrigins of [["*"], "*", [ALLOWED, "*"]] as const) {
      assert.throws(
        () => cors({ allowOrigins, allowCredentials: true }),
        (error: unknown) => isBriskError(error) && error.code === "BRISK_INVALID_OPTION",
        JSON.stringify(allowOrigins),
      );
    }
    // Without credentials it is allowed, and answers `*` rather than reflecting the origin.
    assert.doesNotThrow(() => cors({ allowOrigins: ["*"] }));
  });

  test("with any origin allowed (no credentials), the answer is *, not a reflection of the origin", async () => {
    const app = itemsApp().use(cors({ allowOrigins: "*" }));
    const open = await serve(app);
    const response = await exchange(open.url, get("/items", ["Origin: https://evil.example"]));
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.equal(response.headers.get("access-control-allow-credentials"), undefined);
  });
});

describe("after the hostile requests", () => {
  test("nothing was logged as an error", () => {
    assert.deepEqual(errors, []);
  });
});
