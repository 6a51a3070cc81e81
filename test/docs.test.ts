import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, type AppOptions } from "briskjs";
import { z } from "zod";
import { call } from "./helpers/app.ts";

type Json = Record<string, unknown>;

/** A small app with one route of each kind the document describes. */
function itemsApp(options: AppOptions = {}): App {
  return new App({ title: "Items", ...options })
    .get("/items", { query: { q: z.string().optional() } }, () => [])
    .post("/items", { body: z.object({ name: z.string() }), status: 201 }, ({ body }) => body);
}

async function expectNotFound(app: App, target: string): Promise<void> {
  const response = await call(app, target);
  assert.equal(response.status, 404, target);
  assert.deepEqual(await response.json(), { detail: "Not Found" }, target);
}

/** Fetches an HTML page and checks the parts every docs page shares. */
async function htmlPage(app: App, target: string): Promise<string> {
  const response = await call(app, target);
  const text = await response.text();
  assert.equal(response.status, 200, `${target}: ${text}`);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  // Everything the page loads comes from brisk: no URL with a scheme, and no protocol-relative one.
  assert.doesNotMatch(text, /https?:\/\//i, `${target} names another host`);
  assert.doesNotMatch(text, /(?:src|href)="\/\//, `${target} has a protocol-relative URL`);
  // Only brisk's own script files run: no inline script, nothing from elsewhere.
  assert.match(response.headers.get("content-security-policy") ?? "", /(^|; )script-src 'self'(;|$)/);
  assert.doesNotMatch(
    text,
    /<script(?![^>]*\b(?:src=|type="application\/json"))[^>]*>/,
    `${target} has an inline script`,
  );
  return text;
}

/** The URLs a page's `src` and `href` attributes load. */
function loadedUrls(page: string): string[] {
  return [...page.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((match) => match[1]!);
}

/** The JSON configuration a page carries in its `<script type="application/json">` element. */
function pageConfig(page: string, id: string): Json {
  const match = new RegExp(`<script id="${id}" type="application/json">([^<]*)</script>`).exec(page);
  assert.ok(match !== null, `no ${id} element`);
  return JSON.parse(match[1]!) as Json;
}

const CONTENT_TYPES: Record<string, RegExp> = {
  js: /^text\/javascript(;|$)/,
  css: /^text\/css(;|$)/,
  png: /^image\/png$/,
};

/** Fetches an asset and checks it is served whole with the content type of its extension. */
async function expectAsset(app: App, url: string): Promise<Uint8Array> {
  const response = await call(app, url);
  assert.equal(response.status, 200, url);
  const extension = url.slice(url.lastIndexOf(".") + 1);
  const type = CONTENT_TYPES[extension];
  assert.ok(type !== undefined, `unexpected asset ${url}`);
  assert.match(response.headers.get("content-type") ?? "", type, url);
  const body = new Uint8Array(await response.arrayBuffer());
  assert.ok(body.byteLength > 0, `${url} is empty`);
  return body;
}

describe("GET /openapi.json", () => {
  test("serves app.openapi() as JSON", async () => {
    const app = itemsApp();
    const response = await call(app, "/openapi.json");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.deepEqual(await response.json(), app.openapi());
  });

  test("HEAD is answered too, without a body", async () => {
    const response = await call(itemsApp(), "/openapi.json", { method: "HEAD" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(await response.text(), "");
  });

  test("a route added after the first request is in the next document served", async () => {
    const app = itemsApp();
    await call(app, "/openapi.json");
    app.get("/later", {}, () => 1);
    const document = (await (await call(app, "/openapi.json")).json()) as { paths: Json };
    assert.deepEqual(Object.keys(document.paths), ["/items", "/later"]);
  });

  test("a schema the document cannot hold fails at startup, not on the first visit", () => {
    const app = new App()
      .get("/a", { operationId: "same" }, () => 1)
      .get("/b", { operationId: "same" }, () => 1);
    assert.throws(() => app.compile(), { code: "BRISK_DUPLICATE_OPERATION_ID" });
  });
});

describe("Swagger UI", () => {
  test("/docs: titled, loading the document and its assets from brisk under /docs/", async () => {
    const app = itemsApp();
    const page = await htmlPage(app, "/docs");
    assert.match(page, /<title>Items - Swagger UI<\/title>/);
    const config = pageConfig(page, "brisk-swagger-config");
    assert.deepEqual(config, {
      parameters: {
        url: "/openapi.json",
        dom_id: "#swagger-ui",
        layout: "BaseLayout",
        deepLinking: true,
        showExtensions: true,
        showCommonExtensions: true,
        validatorUrl: null,
        oauth2RedirectUrl: "/docs/oauth2-redirect",
      },
      initOAuth: null,
    });
    const urls = loadedUrls(page);
    assert.ok(urls.length >= 4, `${urls}`);
    for (const url of urls) assert.ok(url.startsWith("/docs/"), url);
    assert.ok(urls.some((url) => url.endsWith(".css")));
    assert.ok(urls.some((url) => url.endsWith("swagger-ui-bundle.js")));
  });

  test("every asset the page references is served, with its content type", async () => {
    const app = itemsApp();
    const page = await htmlPage(app, "/docs");
    for (const url of loadedUrls(page)) await expectAsset(app, url);
    const css = new TextDecoder().decode(await expectAsset(app, "/docs/swagger-ui.css"));
    // The stylesheet pulls in nothing from other hosts (its images are data: URLs).
    assert.doesNotMatch(css, /url\(\s*["']?(?:https?:)?\/\//i);
    assert.doesNotMatch(css, /@import/);
  });

  test("the init script reads the page's configuration element", async () => {
    const app = itemsApp();
    const script = new TextDecoder().decode(await expectAsset(app, "/docs/swagger-init.js"));
    assert.match(script, /brisk-swagger-config/);
    assert.match(script, /SwaggerUIBundle/);
  });

  test("/docs/oauth2-redirect is a page loading Swagger's redirect script from brisk", async () => {
    const app = itemsApp();
    const page = await htmlPage(app, "/docs/oauth2-redirect");
    const urls = loadedUrls(page);
    assert.deepEqual(urls, ["/docs/oauth2-redirect.js"]);
    const script = new TextDecoder().decode(await expectAsset(app, urls[0]!));
    assert.match(script, /opener/);
  });

  test("swaggerUiParameters are merged over the defaults and escaped: nothing in them can end the element", async () => {
    const hostile = "</script><script>alert(1)</script>";
    const parameters = {
      deepLinking: false,
      hostile,
      "</script><script>alert(2)</script>": "key",
      amp: "a&b&amp;<!--",
      separators: "line\u2028paragraph\u2029end",
      nested: { list: [hostile, 1, null] },
    };
    const app = itemsApp({ title: "<b>&Items</b>", swaggerUiParameters: parameters });
    const page = await htmlPage(app, "/docs");
    assert.doesNotMatch(page, /<\/script><script>alert/);
    assert.doesNotMatch(page, /<!--/);
    assert.doesNotMatch(page, /[\u2028\u2029]/);
    assert.equal(page.match(/<\/script>/g)?.length, 3, "one </script> per script element");
    assert.match(page, /<title>&lt;b&gt;&amp;Items&lt;\/b&gt; - Swagger UI<\/title>/);
    const config = pageConfig(page, "brisk-swagger-config").parameters as Json;
    for (const [key, value] of Object.entries(parameters)) assert.deepEqual(config[key], value, key);
    assert.equal(config.url, "/openapi.json");
    assert.equal(config.layout, "BaseLayout");
  });

  test("swaggerUiInitOAuth is passed to the page's configuration", async () => {
    const initOAuth = { clientId: "brisk</script>", usePkceWithAuthorizationCodeGrant: true };
    const page = await htmlPage(itemsApp({ swaggerUiInitOAuth: initOAuth }), "/docs");
    assert.deepEqual(pageConfig(page, "brisk-swagger-config").initOAuth, initOAuth);
  });

  test("swaggerUiOauth2RedirectUrl: null drops the redirect page and its setting", async () => {
    const app = itemsApp({ swaggerUiOauth2RedirectUrl: null });
    const page = await htmlPage(app, "/docs");
    assert.equal(
      Object.hasOwn(pageConfig(page, "brisk-swagger-config").parameters as Json, "oauth2RedirectUrl"),
      false,
    );
    await expectNotFound(app, "/docs/oauth2-redirect");
  });
});

describe("ReDoc", () => {
  test("/redoc: titled, loading the document and its assets from brisk under /redoc/", async () => {
    const app = itemsApp();
    const page = await htmlPage(app, "/redoc");
    assert.match(page, /<title>Items - ReDoc<\/title>/);
    assert.deepEqual(pageConfig(page, "brisk-redoc-config"), { specUrl: "/openapi.json", options: {} });
    const urls = loadedUrls(page);
    assert.ok(
      urls.some((url) => url.endsWith("redoc.standalone.js")),
      `${urls}`,
    );
    for (const url of urls) {
      assert.ok(url.startsWith("/redoc/"), url);
      await expectAsset(app, url);
    }
    const init = new TextDecoder().decode(await expectAsset(app, "/redoc/redoc-init.js"));
    assert.match(init, /brisk-redoc-config/);
  });

  test("the ReDoc bundle as served loads no image from Redocly's CDN (its footer logo)", async () => {
    const bundle = new TextDecoder().decode(await expectAsset(itemsApp(), "/redoc/redoc.standalone.js"));
    assert.doesNotMatch(bundle, /cdn\.redoc\.ly/);
    assert.ok(bundle.length > 500_000, "the whole bundle is served");
  });
});

describe("docs URLs", () => {
  test("custom URLs move the document and the pages; redocUrl: null turns ReDoc off", async () => {
    const app = itemsApp({ openapiUrl: "/api/schema.json", docsUrl: "/swagger", redocUrl: null });
    const response = await call(app, "/api/schema.json");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), app.openapi());
    const page = await htmlPage(app, "/swagger");
    assert.equal((pageConfig(page, "brisk-swagger-config").parameters as Json).url, "/api/schema.json");
    for (const url of loadedUrls(page)) {
      assert.ok(url.startsWith("/swagger/"), url);
      await expectAsset(app, url);
    }
    // The OAuth2 redirect page keeps its own URL and loads its script from where Swagger UI's assets are.
    const redirect = await htmlPage(app, "/docs/oauth2-redirect");
    assert.deepEqual(loadedUrls(redirect), ["/swagger/oauth2-redirect.js"]);
    await expectAsset(app, "/swagger/oauth2-redirect.js");
    for (const gone of [
      "/openapi.json",
      "/docs",
      "/docs/swagger-ui.css",
      "/redoc",
      "/redoc/redoc.standalone.js",
    ]) {
      await expectNotFound(app, gone);
    }
  });

  test("docsUrl: null turns Swagger UI off and keeps ReDoc", async () => {
    const app = itemsApp({ docsUrl: null });
    await expectNotFound(app, "/docs");
    await expectNotFound(app, "/docs/swagger-ui-bundle.js");
    await htmlPage(app, "/redoc");
  });

  test("openapiUrl: null turns off the document and both pages", async () => {
    const app = itemsApp({ openapiUrl: null });
    for (const gone of [
      "/openapi.json",
      "/docs",
      "/docs/oauth2-redirect",
      "/docs/swagger-ui.css",
      "/docs/swagger-ui-bundle.js",
      "/redoc",
      "/redoc/redoc.standalone.js",
    ]) {
      await expectNotFound(app, gone);
    }
    assert.equal((await call(app, "/items")).status, 200);
    assert.equal(app.openapi().openapi, "3.1.0");
  });

  test("a user's route wins over a docs route at the same path", async () => {
    const app = new App().get("/docs", {}, () => ({ mine: true }));
    const response = await call(app, "/docs");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { mine: true });
  });

  test("URL options that are not paths are refused", () => {
    assert.throws(() => new App({ openapiUrl: "openapi.json" }), { code: "BRISK_INVALID_OPTION" });
    assert.throws(() => new App({ docsUrl: "/docs?x=1" }), { code: "BRISK_INVALID_OPTION" });
    assert.throws(() => new App({ rootPath: "content" }), { code: "BRISK_INVALID_OPTION" });
  });
});

describe("root path", () => {
  const ROOT = "/content/abc";

  test("servers starts with the root path in the served document; app.openapi() has none", async () => {
    const app = itemsApp({ rootPath: ROOT });
    for (const target of ["/openapi.json", `${ROOT}/openapi.json`]) {
      const response = await call(app, target);
      assert.equal(response.status, 200, target);
      const document = (await response.json()) as Json;
      assert.deepEqual(document.servers, [{ url: ROOT }], target);
      assert.deepEqual(Object.keys(document).slice(0, 4), ["openapi", "info", "servers", "paths"]);
      assert.deepEqual(Object.keys(document.paths as Json), ["/items"], "paths never include the root path");
      assert.deepEqual({ ...document, servers: undefined }, { ...app.openapi(), servers: undefined });
    }
    assert.equal(app.openapi().servers, undefined);
  });

  test("a trailing slash of the root path is dropped", async () => {
    const app = itemsApp({ rootPath: `${ROOT}/` });
    const document = (await (await call(app, "/openapi.json")).json()) as Json;
    assert.deepEqual(document.servers, [{ url: ROOT }]);
  });

  test("listed servers keep their entries after the root path, which is not repeated", async () => {
    const listed = [{ url: "https://api.example.com", description: "Production" }];
    const app = itemsApp({ rootPath: ROOT, servers: listed });
    const document = (await (await call(app, "/openapi.json")).json()) as Json;
    assert.deepEqual(document.servers, [{ url: ROOT }, ...listed]);
    assert.deepEqual(app.openapi().servers, listed);

    const already = itemsApp({ rootPath: ROOT, servers: [{ url: ROOT }, ...listed] });
    const again = (await (await call(already, "/openapi.json")).json()) as Json;
    assert.deepEqual(again.servers, [{ url: ROOT }, ...listed]);
  });

  test("the pages load the document and the assets through the root path", async () => {
    const app = itemsApp({ rootPath: ROOT });
    for (const target of ["/docs", `${ROOT}/docs`]) {
      const page = await htmlPage(app, target);
      const { parameters } = pageConfig(page, "brisk-swagger-config") as { parameters: Json };
      assert.equal(parameters.url, `${ROOT}/openapi.json`);
      assert.equal(parameters.oauth2RedirectUrl, `${ROOT}/docs/oauth2-redirect`);
      for (const url of loadedUrls(page)) {
        assert.ok(url.startsWith(`${ROOT}/docs/`), url);
        await expectAsset(app, url);
      }
    }
    const redoc = await htmlPage(app, "/redoc");
    assert.equal(pageConfig(redoc, "brisk-redoc-config").specUrl, `${ROOT}/openapi.json`);
    for (const url of loadedUrls(redoc)) {
      assert.ok(url.startsWith(`${ROOT}/redoc/`), url);
      await expectAsset(app, url);
    }
    const redirect = await htmlPage(app, `${ROOT}/docs/oauth2-redirect`);
    assert.deepEqual(loadedUrls(redirect), [`${ROOT}/docs/oauth2-redirect.js`]);
  });

  test("requests are routed with the prefix stripped by a proxy and with it still present", async () => {
    const app = itemsApp({ rootPath: ROOT });
    for (const target of ["/items", `${ROOT}/items`, `${ROOT}/items?q=x`]) {
      const response = await call(app, target);
      assert.equal(response.status, 200, target);
      assert.deepEqual(await response.json(), []);
    }
    // Only a whole path segment is the prefix.
    await expectNotFound(app, "/content/abcd/items");
  });

  test("the trailing-slash redirect keeps the root path", async () => {
    const app = itemsApp({ rootPath: ROOT });
    for (const [target, location] of [
      [`${ROOT}/items/`, `${ROOT}/items`],
      ["/items/", `${ROOT}/items`],
      [`${ROOT}/items/?q=x`, `${ROOT}/items?q=x`],
    ] as const) {
      const response = await call(app, target);
      assert.equal(response.status, 307, target);
      assert.equal(response.headers.get("location"), location, target);
    }
  });
});
