import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, dependency, HTTPException, json, type OpenApiDocument, Router } from "briskjs";
import { z } from "zod";
import { call, expectJson } from "./helpers/app.ts";

/** Asserts a plain-text response: status and the whole body. */
async function expectText(response: Response, status: number, body: string): Promise<void> {
  assert.equal(response.status, status);
  assert.equal(await response.text(), body);
}

type Operation = {
  operationId?: string;
  tags?: string[];
  deprecated?: boolean;
  parameters?: { name: string; in: string }[];
  responses: Record<string, { description: string }>;
};

/** The document's operation for a path and method, failing when there is none. */
function operation(document: OpenApiDocument, path: string, method: string): Operation {
  const paths = document.paths as Record<string, Record<string, Operation>> | undefined;
  const found = paths?.[path]?.[method];
  assert.ok(found, `${method.toUpperCase()} ${path} is documented`);
  return found;
}

/** The documented paths, in document order. */
function pathsOf(document: OpenApiDocument): string[] {
  return Object.keys((document.paths as Record<string, unknown> | undefined) ?? {});
}

/** The operationIds of the document, in document order. */
function operationIds(document: OpenApiDocument): string[] {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Operation>>;
  return Object.values(paths).flatMap((methods) =>
    Object.values(methods).map((entry) => entry.operationId ?? ""),
  );
}

const NOT_FOUND = { detail: "Not Found" };
const INVALID_PATH = { name: "BriskError", code: "BRISK_INVALID_PATH" };

describe("prefixes", () => {
  test("a router's prefix goes in front of each route path", async () => {
    const items = new Router({ prefix: "/items" }).get("/{item_id}", {}, ({ params }) => ({
      item_id: params.item_id,
    }));
    const app = new App().include(items);
    await expectJson(await call(app, "/items/7"), 200, { item_id: "7" });
    await expectJson(await call(app, "/7"), 404, NOT_FOUND);
    assert.deepEqual(pathsOf(app.openapi()), ["/items/{item_id}"]);
  });

  test("the include prefix goes in front of the router's", async () => {
    const items = new Router({ prefix: "/items" }).get("/all", {}, () => "all");
    const app = new App().include(items, { prefix: "/v1" });
    await expectJson(await call(app, "/v1/items/all"), 200, "all");
    await expectJson(await call(app, "/items/all"), 404, NOT_FOUND);
    assert.deepEqual(pathsOf(app.openapi()), ["/v1/items/all"]);
  });

  test("three levels of routers join their prefixes outermost first", async () => {
    const leaf = new Router({ prefix: "/c" }).get("/leaf", {}, () => "leaf");
    const middle = new Router({ prefix: "/b" }).include(leaf, { prefix: "/inc2" });
    const top = new Router({ prefix: "/a" }).include(middle);
    const app = new App().include(top, { prefix: "/inc1" });
    await expectJson(await call(app, "/inc1/a/b/inc2/c/leaf"), 200, "leaf");
    assert.deepEqual(pathsOf(app.openapi()), ["/inc1/a/b/inc2/c/leaf"]);
  });

  test('a route path "" under a prefix is the prefix itself', async () => {
    const items = new Router({ prefix: "/items" }).get("", {}, () => "list");
    const app = new App().include(items);
    await expectJson(await call(app, "/items"), 200, "list");
    assert.deepEqual(pathsOf(app.openapi()), ["/items"]);
  });

  test('a route path "" with no prefix anywhere is refused when included', () => {
    const bare = new Router().get("", {}, () => "list");
    assert.throws(() => new App().include(bare), INVALID_PATH);
  });

  test('a route path "/" under a prefix is the prefix with a trailing slash', async () => {
    const items = new Router({ prefix: "/items" }).get("/", {}, () => "slash");
    const app = new App().include(items);
    await expectJson(await call(app, "/items/"), 200, "slash");
    assert.deepEqual(pathsOf(app.openapi()), ["/items/"]);
    // The slash-less form is redirected to the route, as for any route ending in "/".
    const redirected = await call(app, "/items");
    assert.equal(redirected.status, 307);
    assert.equal(redirected.headers.get("location"), "/items/");
  });

  test("an empty prefix adds nothing", async () => {
    const app = new App().include(
      new Router({ prefix: "" }).get("/x", {}, () => "x"),
      { prefix: "" },
    );
    await expectJson(await call(app, "/x"), 200, "x");
  });

  test("invalid prefixes are refused with BRISK_INVALID_PATH by Router, include and mount", () => {
    const handler = () => new Response("ok");
    for (const prefix of ["items", "/items/", "/"]) {
      const label = `prefix ${JSON.stringify(prefix)}`;
      assert.throws(() => new Router({ prefix }), INVALID_PATH, label);
      assert.throws(() => new Router().include(new Router(), { prefix }), INVALID_PATH, label);
      assert.throws(() => new App().include(new Router(), { prefix }), INVALID_PATH, label);
      assert.throws(() => new App().mount(prefix, handler), INVALID_PATH, label);
    }
    assert.throws(() => new App().mount("", handler), INVALID_PATH);
  });

  test("a route path without a leading slash is refused by the router", () => {
    assert.throws(() => new Router().get("items", {}, () => null), INVALID_PATH);
  });

  test("the same router may be included twice under different prefixes", async () => {
    const items = new Router({ prefix: "/items" }).get("", {}, () => "list");
    const app = new App().include(items, { prefix: "/v1" }).include(items, { prefix: "/v2" });
    await expectJson(await call(app, "/v1/items"), 200, "list");
    await expectJson(await call(app, "/v2/items"), 200, "list");
  });
});

describe("path parameters under a prefix", () => {
  test("are typed and validated from the route's params schema", async () => {
    const items = new Router({ prefix: "/items" }).get(
      "/{item_id}",
      { params: { item_id: z.coerce.number().int() } },
      ({ params }) => {
        const id: number = params.item_id;
        return { item_id: id, type: typeof id };
      },
    );
    const app = new App().include(items, { prefix: "/v1" });
    await expectJson(await call(app, "/v1/items/42"), 200, { item_id: 42, type: "number" });
    const invalid = await call(app, "/v1/items/abc");
    assert.equal(invalid.status, 422);
    const body = (await invalid.json()) as { detail: { loc: unknown[]; input: unknown }[] };
    assert.deepEqual(
      body.detail.map(({ loc, input }) => ({ loc, input })),
      [{ loc: ["path", "item_id"], input: "abc" }],
    );
    const parameters = operation(app.openapi(), "/v1/items/{item_id}", "get").parameters ?? [];
    assert.deepEqual(
      parameters.map(({ name, in: where }) => ({ name, in: where })),
      [{ name: "item_id", in: "path" }],
    );
  });

  test("convertors in the route path work under a prefix", async () => {
    const files = new Router({ prefix: "/files" })
      .get("/{id:int}", {}, ({ params }) => ({ id: params.id, type: typeof params.id }))
      .get("/raw/{rest:path}", {}, ({ params }) => ({ rest: params.rest }));
    const app = new App().include(files);
    await expectJson(await call(app, "/files/5"), 200, { id: 5, type: "number" });
    await expectJson(await call(app, "/files/x"), 404, NOT_FOUND);
    await expectJson(await call(app, "/files/raw/a/b.txt"), 200, { rest: "a/b.txt" });
  });

  test("a parameter in the prefix reaches the handler at run time", async () => {
    const posts = new Router({ prefix: "/users/{user_id}" }).get("/posts", {}, ({ params }) => params);
    const app = new App().include(posts);
    await expectJson(await call(app, "/users/ada/posts"), 200, { user_id: "ada" });
  });
});

describe("tags, responses, deprecated and hidden", () => {
  test("tags are the include's, then the router's, then the route's, each once", () => {
    const items = new Router({ tags: ["items", "shared"] })
      .get("/a", { tags: ["own", "items"] }, () => null)
      .get("/b", {}, () => null);
    const app = new App().include(items, { tags: ["v1", "shared"] });
    const document = app.openapi();
    assert.deepEqual(operation(document, "/a", "get").tags, ["v1", "shared", "items", "own"]);
    assert.deepEqual(operation(document, "/b", "get").tags, ["v1", "shared", "items"]);
  });

  test("nested routers put the outer tags first", () => {
    const inner = new Router({ tags: ["inner"] }).get("/x", { tags: ["route"] }, () => null);
    const outer = new Router({ tags: ["outer"] }).include(inner, { tags: ["inner-include"] });
    const app = new App().include(outer, { tags: ["outer-include"] });
    assert.deepEqual(operation(app.openapi(), "/x", "get").tags, [
      "outer-include",
      "outer",
      "inner-include",
      "inner",
      "route",
    ]);
  });

  test("responses are merged, the route's entry winning for the same status", () => {
    const items = new Router({
      responses: { "404": { description: "Router 404" }, "418": { description: "Router teapot" } },
    }).get("/x", { responses: { "404": { description: "Route 404" } } }, () => null);
    const app = new App().include(items, {
      responses: { "401": { description: "Include 401" }, "418": { description: "Include teapot" } },
    });
    const responses = operation(app.openapi(), "/x", "get").responses;
    assert.equal(responses["200"]?.description, "Successful Response");
    assert.equal(responses["401"]?.description, "Include 401");
    assert.equal(responses["404"]?.description, "Route 404");
    assert.equal(responses["418"]?.description, "Router teapot");
  });

  test("a deprecated router marks all its routes deprecated", () => {
    const old = new Router({ prefix: "/old", deprecated: true })
      .get("/a", {}, () => null)
      .get("/b", { deprecated: false }, () => null);
    const app = new App().include(old).get("/new", {}, () => null);
    const document = app.openapi();
    assert.equal(operation(document, "/old/a", "get").deprecated, true);
    assert.equal(operation(document, "/old/b", "get").deprecated, true);
    assert.equal(operation(document, "/new", "get").deprecated, undefined);
  });

  test("deprecated on the include marks the router's routes deprecated", () => {
    const app = new App().include(
      new Router().get("/a", {}, () => null),
      { deprecated: true },
    );
    assert.equal(operation(app.openapi(), "/a", "get").deprecated, true);
  });

  test("a hidden router's routes are served but left out of the document", async () => {
    const internal = new Router({ prefix: "/internal", hidden: true }).get("/health", {}, () => "ok");
    const app = new App().include(internal).get("/public", {}, () => "public");
    await expectJson(await call(app, "/internal/health"), 200, "ok");
    assert.deepEqual(pathsOf(app.openapi()), ["/public"]);
  });

  test("hidden on the include hides the router's routes", async () => {
    const app = new App().include(
      new Router().get("/a", {}, () => "a"),
      { hidden: true },
    );
    await expectJson(await call(app, "/a"), 200, "a");
    assert.deepEqual(pathsOf(app.openapi()), []);
  });
});

describe("router dependencies", () => {
  test("run outermost first, before the route's own, each once per request", async () => {
    const order: string[] = [];
    const recorder = (name: string) =>
      dependency(() => {
        order.push(name);
      });
    const [app1, include1, outer, include2, inner, own] = [
      "app",
      "include1",
      "outer",
      "include2",
      "inner",
      "own",
    ].map(recorder);
    const leaf = new Router({ dependencies: [inner!] }).get("/x", { dependencies: [own!] }, () => {
      order.push("handler");
      return null;
    });
    const middle = new Router({ dependencies: [outer!] }).include(leaf, { dependencies: [include2!] });
    const app = new App({ dependencies: [app1!] }).include(middle, { dependencies: [include1!] });
    await expectJson(await call(app, "/x"), 200, null);
    assert.deepEqual(order, ["app", "include1", "outer", "include2", "inner", "own", "handler"]);
    order.length = 0;
    await call(app, "/x");
    assert.deepEqual(order, ["app", "include1", "outer", "include2", "inner", "own", "handler"]);
  });

  test("a dependency listed by the router, the include and the route runs once, its value shared", async () => {
    let runs = 0;
    const counted = dependency(() => ++runs);
    const items = new Router({ dependencies: [counted] }).get(
      "/x",
      { dependencies: [counted], deps: { value: counted } },
      ({ value }) => ({ value }),
    );
    const app = new App().include(items, { dependencies: [counted] });
    await expectJson(await call(app, "/x"), 200, { value: 1 });
    assert.equal(runs, 1);
    await expectJson(await call(app, "/x"), 200, { value: 2 });
  });

  test("a failing router dependency stops the request before the handler", async () => {
    let reached = false;
    const guard = dependency({ headers: { x_token: z.string() } }, ({ headers }) => {
      if (headers.x_token !== "secret") throw new HTTPException(403, "Forbidden token");
    });
    const items = new Router({ prefix: "/items", dependencies: [guard] }).get("", {}, () => {
      reached = true;
      return "items";
    });
    const app = new App().include(items);
    await expectJson(await call(app, "/items", { headers: { "x-token": "nope" } }), 403, {
      detail: "Forbidden token",
    });
    assert.equal(reached, false);
    const missing = await call(app, "/items");
    assert.equal(missing.status, 422);
    await expectJson(await call(app, "/items", { headers: { "x-token": "secret" } }), 200, "items");
  });

  test("router and include dependencies' parameters are in the document", () => {
    const token = dependency({ headers: { x_token: z.string() } }, () => undefined);
    const page = dependency({ query: { page: z.coerce.number().int().default(1) } }, () => undefined);
    const items = new Router({ dependencies: [token] }).get(
      "/items",
      { query: { q: z.string().optional() } },
      () => null,
    );
    const app = new App().include(items, { dependencies: [page] });
    const parameters = operation(app.openapi(), "/items", "get").parameters ?? [];
    assert.deepEqual(
      parameters
        .map(({ name, in: where }) => ({ name, in: where }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      [
        { name: "page", in: "query" },
        { name: "q", in: "query" },
        { name: "x-token", in: "header" },
      ],
    );
  });
});

describe("operationIds across routers", () => {
  test("anonymous handlers at the root of two prefixed routers get distinct ids", () => {
    const a = new Router({ prefix: "/a" }).get("/", {}, () => "a");
    const b = new Router({ prefix: "/b" }).get("/", {}, () => "b");
    const app = new App().include(a).include(b);
    const ids = operationIds(app.openapi());
    assert.equal(ids.length, 2);
    assert.equal(new Set(ids).size, 2, `ids ${JSON.stringify(ids)}`);
  });

  test("paths whose generated ids clash still get distinct ids", () => {
    const dashed = new Router({ prefix: "/a-b" }).get("", {}, () => "dash");
    const underscored = new Router({ prefix: "/a_b" }).get("", {}, () => "underscore");
    const app = new App().include(dashed).include(underscored);
    const ids = operationIds(app.openapi());
    assert.equal(ids.length, 2);
    assert.equal(new Set(ids).size, 2, `ids ${JSON.stringify(ids)}`);
  });

  test("the same named handler in two routers gets distinct ids", () => {
    function listItems() {
      return [];
    }
    const v1 = new Router({ prefix: "/v1" }).get("/items", {}, listItems);
    const v2 = new Router({ prefix: "/v2" }).get("/items", {}, listItems);
    const app = new App().include(v1).include(v2);
    const document = app.openapi();
    const first = operation(document, "/v1/items", "get").operationId;
    const second = operation(document, "/v2/items", "get").operationId;
    assert.equal(first, "listItems");
    assert.ok(second !== undefined && second !== first, `second id ${second}`);
  });

  test("one router included twice gets distinct ids for each copy", () => {
    function listItems() {
      return [];
    }
    const items = new Router({ prefix: "/items" }).get("", {}, listItems);
    const app = new App().include(items, { prefix: "/v1" }).include(items, { prefix: "/v2" });
    const ids = operationIds(app.openapi());
    assert.equal(new Set(ids).size, 2, `ids ${JSON.stringify(ids)}`);
  });

  test("an explicit operationId used in two routers is refused by openapi()", () => {
    const a = new Router({ prefix: "/a" }).get("/x", { operationId: "readThing" }, () => null);
    const b = new Router({ prefix: "/b" }).get("/x", { operationId: "readThing" }, () => null);
    const app = new App().include(a).include(b);
    assert.throws(() => app.openapi(), { name: "BriskError", code: "BRISK_DUPLICATE_OPERATION_ID" });
  });
});

describe("registration errors", () => {
  test("adding a route to a router after it was included is refused with BRISK_ROUTER_INCLUDED", () => {
    const included = { name: "BriskError", code: "BRISK_ROUTER_INCLUDED" };
    const items = new Router().get("/a", {}, () => null);
    new App().include(items);
    assert.throws(() => items.get("/b", {}, () => null), included);
    assert.throws(() => items.post("/a", {}, () => null), included);

    const inner = new Router().get("/a", {}, () => null);
    new Router().include(inner);
    assert.throws(() => inner.get("/b", {}, () => null), included);
  });

  test("the same method and path from two routers is refused with BRISK_DUPLICATE_ROUTE", () => {
    const a = new Router({ prefix: "/items" }).get("/{id}", {}, () => "a");
    const b = new Router().get("/items/{id}", {}, () => "b");
    const app = new App().include(a);
    assert.throws(() => app.include(b), { name: "BriskError", code: "BRISK_DUPLICATE_ROUTE" });
    const post = new Router().post("/items/{id}", {}, () => "post");
    assert.doesNotThrow(() => app.include(post));
  });

  test("the same method and path from a router and the app is refused with BRISK_DUPLICATE_ROUTE", () => {
    const app = new App().get("/items", {}, () => null);
    const items = new Router({ prefix: "/items" }).get("", {}, () => null);
    assert.throws(() => app.include(items), { name: "BriskError", code: "BRISK_DUPLICATE_ROUTE" });
  });
});

/** A small brisk app to mount: a root route, `/x`, a teapot error, and its own 404 handler. */
function subApp(options: ConstructorParameters<typeof App>[0] = {}): App {
  class Teapot extends Error {}
  return new App({ title: "sub", ...options })
    .get("/", {}, () => "sub root")
    .get("/x", {}, () => "sub x")
    .get("/teapot", {}, () => {
      throw new Teapot();
    })
    .exceptionHandler(Teapot, () => json({ sub: "teapot" }, { status: 418 }))
    .exceptionHandler(404, () => json({ sub: "not found" }, { status: 404 }));
}

describe("mounting a brisk app", () => {
  test("serves the sub-app's routes below the prefix, the prefix itself being its root", async () => {
    const app = new App().get("/", {}, () => "parent root").mount("/sub", subApp());
    await expectJson(await call(app, "/sub/x"), 200, "sub x");
    await expectJson(await call(app, "/sub"), 200, "sub root");
    await expectJson(await call(app, "/sub/"), 200, "sub root");
    await expectJson(await call(app, "/"), 200, "parent root");
  });

  test("does not route a path that only starts with the prefix's text", async () => {
    const app = new App().mount("/sub", subApp());
    await expectJson(await call(app, "/subx"), 404, NOT_FOUND);
    await expectJson(await call(app, "/subx/x"), 404, NOT_FOUND);
  });

  test("the sub-app's exception handlers and 404s apply below the prefix", async () => {
    const app = new App().mount("/sub", subApp());
    await expectJson(await call(app, "/sub/teapot"), 418, { sub: "teapot" });
    await expectJson(await call(app, "/sub/nope"), 404, { sub: "not found" });
    await expectJson(await call(app, "/nope"), 404, NOT_FOUND);
  });

  test("the sub-app reads and validates the request body", async () => {
    const sub = new App().post("/items", { body: z.object({ n: z.number() }) }, ({ body }) => body);
    const app = new App().mount("/sub", sub);
    const post = (body: string) =>
      call(app, "/sub/items", { method: "POST", headers: { "content-type": "application/json" }, body });
    await expectJson(await post('{"n":1}'), 200, { n: 1 });
    assert.equal((await post('{"n":"x"}')).status, 422);
  });

  test("the parent's middleware wraps the mounted app", async () => {
    const app = new App()
      .use(async (_context, next) => {
        const response = await next();
        return new Response(response.body, { status: response.status, headers: { "x-parent": "yes" } });
      })
      .mount("/sub", subApp());
    const response = await call(app, "/sub/x");
    assert.equal(response.headers.get("x-parent"), "yes");
    assert.equal(await response.text(), '"sub x"');
  });

  test("the sub-app answers 405 with its own Allow", async () => {
    const app = new App().mount("/sub", subApp());
    const response = await call(app, "/sub/x", { method: "POST" });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "GET, HEAD");
  });

  test("the sub-app's trailing-slash redirect keeps the prefix", async () => {
    const app = new App().mount("/sub", subApp());
    const response = await call(app, "/sub/x/?a=1");
    assert.equal(response.status, 307);
    assert.equal(response.headers.get("location"), "/sub/x?a=1");
  });

  test("the sub-app serves its own document, with the prefix as its server and only its routes", async () => {
    const app = new App({ title: "parent" }).get("/parent", {}, () => null).mount("/sub", subApp());
    const response = await call(app, "/sub/openapi.json");
    assert.equal(response.status, 200);
    const document = (await response.json()) as OpenApiDocument;
    assert.deepEqual(document.servers, [{ url: "/sub" }]);
    assert.equal(document.info.title, "sub");
    assert.deepEqual(pathsOf(document), ["/", "/x", "/teapot"]);
  });

  test("the parent's document leaves out the sub-app's routes and the mount", async () => {
    const app = new App({ title: "parent" }).get("/parent", {}, () => null).mount("/sub", subApp());
    assert.deepEqual(pathsOf(app.openapi()), ["/parent"]);
    const served = (await (await call(app, "/openapi.json")).json()) as OpenApiDocument;
    assert.deepEqual(pathsOf(served), ["/parent"]);
    assert.equal(served.servers, undefined);
  });

  test("the sub-app's docs page loads the sub-app's document under the prefix", async () => {
    const app = new App().mount("/sub", subApp());
    const response = await call(app, "/sub/docs");
    assert.equal(response.status, 200);
    const page = await response.text();
    assert.ok(page.includes("/sub/openapi.json"), "the page loads /sub/openapi.json");
    assert.ok(!/["']\/openapi\.json/.test(page), "the page does not load the parent's /openapi.json");
  });

  test("under a parent with rootPath, the sub-app's root path is the parent's plus the prefix", async () => {
    const app = new App({ rootPath: "/root" }).mount("/sub", subApp());
    for (const target of ["/root/sub/openapi.json", "/sub/openapi.json"]) {
      const document = (await (await call(app, target)).json()) as OpenApiDocument;
      assert.deepEqual(document.servers, [{ url: "/root/sub" }], target);
    }
    await expectJson(await call(app, "/root/sub/x"), 200, "sub x");
    const parent = (await (await call(app, "/openapi.json")).json()) as OpenApiDocument;
    assert.deepEqual(parent.servers, [{ url: "/root" }]);
  });

  test("apps mount inside mounted apps, root paths adding up", async () => {
    const inner = subApp();
    const middle = new App().mount("/inner", inner);
    const app = new App().mount("/middle", middle);
    await expectJson(await call(app, "/middle/inner/x"), 200, "sub x");
    const document = (await (await call(app, "/middle/inner/openapi.json")).json()) as OpenApiDocument;
    assert.deepEqual(document.servers, [{ url: "/middle/inner" }]);
  });
});

/** A plain fetch handler that echoes what it receives. */
async function echo(request: Request): Promise<Response> {
  const url = new URL(request.url);
  return Response.json({
    method: request.method,
    path: url.pathname,
    search: url.search,
    body: request.body === null ? null : await request.text(),
    contentType: request.headers.get("content-type"),
  });
}

describe("mounting a fetch handler", () => {
  test("sees the path with the prefix stripped and the query kept", async () => {
    const app = new App().mount("/sub", (request) => new Response(new URL(request.url).pathname));
    await expectText(await call(app, "/sub/a/b"), 200, "/a/b");
    await expectText(await call(app, "/sub"), 200, "/");
    await expectText(await call(app, "/sub/"), 200, "/");
    const echoed = new App().mount("/sub", echo);
    await expectJson(await call(echoed, "/sub/a?x=1&y=2"), 200, {
      method: "GET",
      path: "/a",
      search: "?x=1&y=2",
      body: null,
      contentType: null,
    });
  });

  test("is reached for every method, a POST body intact", async () => {
    const app = new App().mount("/sub", echo);
    await expectJson(
      await call(app, "/sub/upload?k=v", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ hello: "world" }),
      }),
      200,
      {
        method: "POST",
        path: "/upload",
        search: "?k=v",
        body: '{"hello":"world"}',
        contentType: "application/json",
      },
    );
    for (const method of ["PUT", "PATCH", "DELETE", "OPTIONS"]) {
      const response = await call(app, "/sub/m", { method });
      assert.equal(response.status, 200, method);
      const body = (await response.json()) as { method: string; path: string };
      assert.deepEqual([body.method, body.path], [method, "/m"]);
    }
    const head = await call(app, "/sub/m", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  test("keeps percent-encoding in the stripped path", async () => {
    const app = new App().mount("/sub", (request) => new Response(new URL(request.url).pathname));
    await expectText(await call(app, "/sub/a%2Fb/caf%C3%A9"), 200, "/a%2Fb/caf%C3%A9");
  });

  test("a prefix matched in its decoded form is stripped from the path as received", {}, async () => {
    const pathname = (request: Request) => new Response(new URL(request.url).pathname);
    await expectText(await call(new App().mount("/sub", pathname), "/s%75b/x"), 200, "/x");
    await expectText(await call(new App().mount("/café", pathname), "/caf%C3%A9/x"), 200, "/x");
    await expectText(await call(new App().mount("/a b", pathname), "/a%20b/x"), 200, "/x");
  });

  test("a prefix with a parameter is either refused by mount() or stripped whole", {}, async () => {
    const pathname = (request: Request) => new Response(new URL(request.url).pathname);
    for (const prefix of ["/t/{tenant}", "/t/:tenant"]) {
      let app: App;
      try {
        app = new App().mount(prefix, pathname);
      } catch (error) {
        assert.equal((error as { code?: string }).code, "BRISK_INVALID_PATH", prefix);
        continue;
      }
      await expectText(await call(app, "/t/acme/a"), 200, "/a");
    }
  });

  test("is not reached for a path that only starts with the prefix's text", async () => {
    const app = new App().mount("/sub", () => new Response("mounted"));
    await expectJson(await call(app, "/subx"), 404, NOT_FOUND);
  });

  test("a route registered before the mount on an overlapping path wins", async () => {
    const app = new App().get("/sub/own", {}, () => "route").mount("/sub", () => new Response("mounted"));
    await expectJson(await call(app, "/sub/own"), 200, "route");
    await expectText(await call(app, "/sub/other"), 200, "mounted");
  });

  test("a route registered after the mount on an overlapping path loses to it (registration order)", {}, async () => {
    const app = new App().mount("/sub", () => new Response("mounted")).get("/sub/own", {}, () => "route");
    await expectText(await call(app, "/sub/own"), 200, "mounted");
  });

  test("a mount does not hide the parent's routes beside it", async () => {
    const app = new App().mount("/sub", () => new Response("mounted")).get("/other", {}, () => "other");
    await expectJson(await call(app, "/other"), 200, "other");
  });

  test("mount needs an App or a function", () => {
    assert.throws(() => new App().mount("/sub", {} as never), {
      name: "BriskError",
      code: "BRISK_INVALID_HANDLER",
    });
  });
});
