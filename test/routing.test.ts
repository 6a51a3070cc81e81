import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { App, html, json, redirect, text } from "briskjs";
import { z } from "zod";
import { call, expectJson } from "./helpers/app.ts";

function postJson(
  app: App,
  target: string,
  body: unknown,
  contentType = "application/json",
): Promise<Response> {
  return call(app, target, {
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const NOT_FOUND = { detail: "Not Found" };
const METHOD_NOT_ALLOWED = { detail: "Method Not Allowed" };

describe("path templates", () => {
  test("{name} captures one segment as a string", async () => {
    const app = new App().get("/greet/{name}", {}, ({ params }) => ({ name: params.name }));
    await expectJson(await call(app, "/greet/ada"), 200, { name: "ada" });
    await expectJson(await call(app, "/greet/ada/extra"), 404, NOT_FOUND);
  });

  test("{name:path} captures the rest of the path, slashes included", async () => {
    const app = new App().get("/files/{file_path:path}", {}, ({ params }) => ({
      file_path: params.file_path,
    }));
    await expectJson(await call(app, "/files/home/a/b.txt"), 200, { file_path: "home/a/b.txt" });
    await expectJson(await call(app, "/files/x"), 200, { file_path: "x" });
  });

  test(":name is the same parameter as {name}", async () => {
    const app = new App().get("/users/:id/posts/:post", {}, ({ params }) => ({
      id: params.id,
      post: params.post,
    }));
    await expectJson(await call(app, "/users/42/posts/hello"), 200, { id: "42", post: "hello" });
    assert.deepEqual(
      app.routes.map((route) => route.path.template),
      ["/users/{id}/posts/{post}"],
    );
  });

  test("{id:int} matches digits only and converts them to a number", async () => {
    const app = new App().get("/items/{id:int}", {}, ({ params }) => ({
      id: params.id,
      type: typeof params.id,
    }));
    await expectJson(await call(app, "/items/42"), 200, { id: 42, type: "number" });
    await expectJson(await call(app, "/items/abc"), 404, NOT_FOUND);
    await expectJson(await call(app, "/items/-1"), 404, NOT_FOUND);
    await expectJson(await call(app, "/items/4.5"), 404, NOT_FOUND);
  });

  test("percent-encoded parameters are decoded", async () => {
    const app = new App().get("/greet/{name}", {}, ({ params }) => ({ name: params.name }));
    await expectJson(await call(app, "/greet/%E4%BD%A0"), 200, { name: "你" });
    await expectJson(await call(app, "/greet/a%20b"), 200, { name: "a b" });
  });

  test("static segments with non-ASCII characters match their percent-encoded form", async () => {
    const app = new App()
      .get("/café", {}, () => ({ route: "café" }))
      .get("/menü/{item}", {}, ({ params }) => ({ item: params.item }));
    // The URL parser percent-encodes the path: this is what every client sends.
    assert.equal(new URL("http://test/café").pathname, "/caf%C3%A9");
    await expectJson(await call(app, "/café"), 200, { route: "café" });
    await expectJson(await call(app, "/men%C3%BC/tea"), 200, { item: "tea" });
  });

  test("%2F inside a {name} parameter is part of the value, not a separator", async () => {
    const app = new App().get("/greet/{name}", {}, ({ params }) => ({ name: params.name }));
    await expectJson(await call(app, "/greet/a%2Fb"), 200, { name: "a/b" });
    await expectJson(await call(app, "/greet/a/b"), 404, NOT_FOUND);
  });

  test("invalid templates are refused at registration with BRISK_INVALID_PATH", () => {
    const invalid = [
      "items",
      "items/{id}",
      "/items/{id:nope}",
      "/items/{id}/{id}",
      "/items/{id",
      "/items/id}",
      "/items/{}",
    ];
    for (const path of invalid) {
      const app = new App();
      assert.throws(
        () => app.get(path, {}, () => null),
        { name: "BriskError", code: "BRISK_INVALID_PATH" },
        `path ${JSON.stringify(path)}`,
      );
    }
  });

  test("the same method and path registered twice is refused with BRISK_DUPLICATE_ROUTE", () => {
    const app = new App().get("/items/{id}", {}, () => null);
    assert.throws(() => app.get("/items/{id}", {}, () => null), {
      name: "BriskError",
      code: "BRISK_DUPLICATE_ROUTE",
    });
    assert.throws(() => app.get("/items/:id", {}, () => null), {
      name: "BriskError",
      code: "BRISK_DUPLICATE_ROUTE",
    });
    assert.doesNotThrow(() => app.post("/items/{id}", {}, () => null));
  });

  test("a params shape naming a key missing from the path is refused with BRISK_UNKNOWN_PATH_PARAM", () => {
    const app = new App();
    assert.throws(() => app.get("/items/{id}", { params: { item_id: z.int() } }, () => null), {
      name: "BriskError",
      code: "BRISK_UNKNOWN_PATH_PARAM",
    });
  });
});

describe("route precedence", () => {
  test("a static route registered before an overlapping parameterized one wins", async () => {
    const app = new App()
      .get("/users/me", {}, () => ({ route: "me" }))
      .get("/users/{id}", {}, ({ params }) => ({ route: "id", id: params.id }));
    await expectJson(await call(app, "/users/me"), 200, { route: "me" });
    await expectJson(await call(app, "/users/7"), 200, { route: "id", id: "7" });
  });

  test("a parameterized route registered first shadows a later static one, as in FastAPI", async () => {
    const app = new App()
      .get("/users/{id}", {}, ({ params }) => ({ route: "id", id: params.id }))
      .get("/users/me", {}, () => ({ route: "me" }));
    await expectJson(await call(app, "/users/me"), 200, { route: "id", id: "me" });
  });

  test("GET and POST on the same path reach their own handlers", async () => {
    const app = new App()
      .get("/items", {}, () => ({ method: "GET" }))
      .post("/items", {}, () => ({ method: "POST" }));
    await expectJson(await call(app, "/items"), 200, { method: "GET" });
    await expectJson(await call(app, "/items", { method: "POST" }), 200, { method: "POST" });
  });

  test("route() registers one handler for several methods", async () => {
    const app = new App().route(["PUT", "PATCH"], "/items/{id}", {}, ({ request, params }) => ({
      method: request.method,
      id: params.id,
    }));
    await expectJson(await call(app, "/items/1", { method: "PUT" }), 200, { method: "PUT", id: "1" });
    await expectJson(await call(app, "/items/1", { method: "PATCH" }), 200, { method: "PATCH", id: "1" });
  });
});

describe("HEAD", () => {
  test("every GET route answers HEAD with the GET status and headers and an empty body", async () => {
    const app = new App()
      .get("/hello", {}, () => ({ hello: "world", text: "你好" }))
      .get("/page", {}, () => text("plain page", { status: 203, headers: { "x-page": "1" } }));
    for (const target of ["/hello", "/page"]) {
      const get = await call(app, target);
      const getBody = new Uint8Array(await get.arrayBuffer());
      const head = await call(app, target, { method: "HEAD" });
      assert.equal(head.status, get.status);
      assert.deepEqual([...head.headers], [...get.headers]);
      assert.equal(head.headers.get("content-length"), String(getBody.byteLength));
      assert.equal(await head.text(), "");
    }
  });

  test("HEAD on an unknown path is 404", async () => {
    const app = new App().get("/hello", {}, () => "hi");
    const response = await call(app, "/nope", { method: "HEAD" });
    assert.equal(response.status, 404);
    assert.equal(await response.text(), "");
  });

  test("HEAD on a POST-only path is 405 with Allow", async () => {
    const app = new App().post("/items", {}, () => null);
    const response = await call(app, "/items", { method: "HEAD" });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
    assert.equal(await response.text(), "");
  });
});

describe("405 Method Not Allowed", () => {
  test("lists every method of the path in Allow", async () => {
    const app = new App()
      .get("/items", {}, () => [])
      .post("/items", {}, () => null)
      .delete("/items/{id}", {}, () => null);
    const response = await call(app, "/items", { method: "PUT" });
    assert.equal(response.headers.get("allow"), "GET, HEAD, POST");
    await expectJson(response, 405, METHOD_NOT_ALLOWED);
  });

  test("collects the methods of every route whose template matches the path", async () => {
    const app = new App().get("/things/{id}", {}, () => null).delete("/things/special", {}, () => null);
    const response = await call(app, "/things/special", { method: "PATCH" });
    assert.equal(response.headers.get("allow"), "GET, HEAD, DELETE");
    await expectJson(response, 405, METHOD_NOT_ALLOWED);
  });
});

describe("query coercion", () => {
  const app = new App()
    .get(
      "/numbers",
      { query: { count: z.int(), price: z.number(), limit: z.int().default(10) } },
      ({ query }) => query,
    )
    .get("/flag", { query: { flag: z.boolean() } }, ({ query }) => ({ flag: query.flag }))
    .get("/tags", { query: { tag: z.array(z.string()).default([]) } }, ({ query }) => ({ tag: query.tag }))
    .get("/last", { query: { n: z.int(), s: z.string() } }, ({ query }) => query)
    .get("/optional", { query: { q: z.string().optional() } }, ({ query }) => ({ q: query.q ?? null }))
    .get(
      "/object",
      {
        query: z.object({
          page: z.int().default(1),
          tags: z.array(z.string()).default([]),
          flag: z.boolean().default(false),
          q: z.string().optional(),
        }),
      },
      ({ query }) => query,
    );

  test("integers and numbers are parsed from text, defaults fill absent keys", async () => {
    await expectJson(await call(app, "/numbers?count=5&price=2.5"), 200, { count: 5, price: 2.5, limit: 10 });
    await expectJson(await call(app, "/numbers?count=5&price=3&limit=20"), 200, {
      count: 5,
      price: 3,
      limit: 20,
    });
  });

  test("text that is not an integer is 422 int_parsing with the text as input", async () => {
    await expectJson(await call(app, "/numbers?count=abc&price=1"), 422, {
      detail: [
        {
          type: "int_parsing",
          loc: ["query", "count"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "abc",
        },
      ],
    });
  });

  test("integer text must be written as an integer, as Pydantic parses it", async () => {
    const intParsing = (input: string) => ({
      detail: [
        {
          type: "int_parsing",
          loc: ["query", "count"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input,
        },
      ],
    });
    await expectJson(await call(app, "/numbers?count=1e3&price=1"), 422, intParsing("1e3"));
    await expectJson(await call(app, "/numbers?count=1.5&price=1"), 422, intParsing("1.5"));
    await expectJson(await call(app, "/numbers?count=&price=1"), 422, intParsing(""));
  });

  test("missing required query keys are 422 missing", async () => {
    await expectJson(await call(app, "/numbers"), 422, {
      detail: [
        { type: "missing", loc: ["query", "count"], msg: "Field required", input: null },
        { type: "missing", loc: ["query", "price"], msg: "Field required", input: null },
      ],
    });
  });

  test("booleans accept every FastAPI word, case-insensitively", async () => {
    const words: [string, boolean][] = [
      ["1", true],
      ["true", true],
      ["t", true],
      ["yes", true],
      ["y", true],
      ["on", true],
      ["0", false],
      ["false", false],
      ["f", false],
      ["no", false],
      ["n", false],
      ["off", false],
      ["TRUE", true],
      ["Yes", true],
      ["On", true],
      ["FALSE", false],
      ["No", false],
      ["OFF", false],
    ];
    for (const [word, value] of words) {
      await expectJson(await call(app, `/flag?flag=${word}`), 200, { flag: value });
    }
  });

  test("any other boolean word is 422 bool_parsing", async () => {
    await expectJson(await call(app, "/flag?flag=maybe"), 422, {
      detail: [
        {
          type: "bool_parsing",
          loc: ["query", "flag"],
          msg: "Input should be a valid boolean, unable to interpret input",
          input: "maybe",
        },
      ],
    });
  });

  test("repeated keys fill an array; an absent array takes its default", async () => {
    await expectJson(await call(app, "/tags?tag=a&tag=b"), 200, { tag: ["a", "b"] });
    await expectJson(await call(app, "/tags?tag=a"), 200, { tag: ["a"] });
    await expectJson(await call(app, "/tags"), 200, { tag: [] });
  });

  test("a scalar key given twice takes the last value, as Starlette does", async () => {
    await expectJson(await call(app, "/last?n=1&n=2&s=a&s=b"), 200, { n: 2, s: "b" });
  });

  test("an empty value is a value: ?q= is the empty string", async () => {
    await expectJson(await call(app, "/optional?q="), 200, { q: "" });
    await expectJson(await call(app, "/optional"), 200, { q: null });
  });

  test("query values are percent- and plus-decoded", async () => {
    await expectJson(await call(app, "/optional?q=a+b%26c%E4%BD%A0"), 200, { q: "a b&c你" });
  });

  test("a whole z.object query is coerced like a shape", async () => {
    await expectJson(await call(app, "/object?page=3&tags=x&tags=y&flag=yes&q=hi"), 200, {
      page: 3,
      tags: ["x", "y"],
      flag: true,
      q: "hi",
    });
    await expectJson(await call(app, "/object"), 200, { page: 1, tags: [], flag: false });
    await expectJson(await call(app, "/object?page=x"), 422, {
      detail: [
        {
          type: "int_parsing",
          loc: ["query", "page"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "x",
        },
      ],
    });
  });
});

describe("path, header and cookie coercion", () => {
  test("path params with a params schema are coerced and validated", async () => {
    const app = new App().get("/items/{item_id}", { params: { item_id: z.int() } }, ({ params }) => ({
      item_id: params.item_id,
    }));
    await expectJson(await call(app, "/items/42"), 200, { item_id: 42 });
    await expectJson(await call(app, "/items/abc"), 422, {
      detail: [
        {
          type: "int_parsing",
          loc: ["path", "item_id"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: "abc",
        },
      ],
    });
  });

  test("header keys read hyphenated names, case-insensitively", async () => {
    const app = new App().get(
      "/headers",
      { headers: { user_agent: z.string(), x_token: z.string(), x_count: z.int().default(0) } },
      ({ headers }) => headers,
    );
    await expectJson(
      await call(app, "/headers", {
        headers: { "User-Agent": "probe/1", "X-TOKEN": "secret", "x-count": "3" },
      }),
      200,
      { user_agent: "probe/1", x_token: "secret", x_count: 3 },
    );
    await expectJson(await call(app, "/headers", { headers: { "user-agent": "probe/1" } }), 422, {
      detail: [{ type: "missing", loc: ["header", "x-token"], msg: "Field required", input: null }],
    });
  });

  test("cookies are read by exact name and percent-decoded", async () => {
    const app = new App().get(
      "/cookies",
      { cookies: { session: z.string(), theme: z.string().optional() } },
      ({ cookies }) => ({ session: cookies.session, theme: cookies.theme ?? null }),
    );
    await expectJson(
      await call(app, "/cookies", { headers: { cookie: "session=a%20b%E4%BD%A0; other=1" } }),
      200,
      {
        session: "a b你",
        theme: null,
      },
    );
    await expectJson(await call(app, "/cookies", { headers: { cookie: "Session=x" } }), 422, {
      detail: [{ type: "missing", loc: ["cookie", "session"], msg: "Field required", input: null }],
    });
  });
});

/** A hand-made Standard Schema (no library): an object with a string `name`. */
const NamedThing: StandardSchemaV1<unknown, { name: string; length: number }> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate(value) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return { issues: [{ message: "expected an object" }] };
      }
      const { name, size } = value as Record<string, unknown>;
      const issues: StandardSchemaV1.Issue[] = [];
      if (typeof name !== "string") issues.push({ message: "name must be text", path: ["name"] });
      if (size !== undefined && typeof size !== "number") {
        issues.push({ message: "size must be a number", path: [{ key: "size" }] });
      }
      if (issues.length > 0) return { issues };
      return { value: { name: name as string, length: (name as string).length } };
    },
  },
};

describe("JSON body", () => {
  const Item = z.object({
    name: z.string().transform((name) => name.toUpperCase()),
    qty: z.int().default(1),
  });

  test("is parsed for application/json, with a charset, and for +json types", async () => {
    const app = new App()
      .post("/items", { body: Item }, ({ body }) => body)
      .patch("/items", { body: Item }, ({ body }) => body);
    await expectJson(await postJson(app, "/items", { name: "a", qty: 2 }), 200, { name: "A", qty: 2 });
    await expectJson(await postJson(app, "/items", { name: "b" }, "application/json; charset=utf-8"), 200, {
      name: "B",
      qty: 1,
    });
    const patched = await call(app, "/items", {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ name: "c" }),
    });
    await expectJson(patched, 200, { name: "C", qty: 1 });
  });

  test("the handler receives the schema's output, typed", async () => {
    const app = new App().post("/items", { body: Item }, ({ body }) => {
      const name: string = body.name;
      const qty: number = body.qty;
      return { name, qty, doubled: qty * 2 };
    });
    await expectJson(await postJson(app, "/items", { name: "widget" }), 200, {
      name: "WIDGET",
      qty: 1,
      doubled: 2,
    });
  });

  test("a missing required body is 422 missing at body", async () => {
    const app = new App().post("/items", { body: Item }, ({ body }) => body);
    await expectJson(await call(app, "/items", { method: "POST" }), 422, {
      detail: [{ type: "missing", loc: ["body"], msg: "Field required", input: null }],
    });
  });

  test("a non-Zod Standard Schema validates the body, its issues located under body", async () => {
    const app = new App().post("/things", { body: NamedThing }, ({ body }) => ({
      name: body.name,
      length: body.length,
    }));
    await expectJson(await postJson(app, "/things", { name: "abc" }), 200, { name: "abc", length: 3 });
    await expectJson(await postJson(app, "/things", { name: 5, size: "big" }), 422, {
      detail: [
        {
          type: "value_error",
          loc: ["body", "name"],
          msg: "Value error, name must be text",
          input: 5,
          ctx: { error: "name must be text" },
        },
        {
          type: "value_error",
          loc: ["body", "size"],
          msg: "Value error, size must be a number",
          input: "big",
          ctx: { error: "size must be a number" },
        },
      ],
    });
    await expectJson(await postJson(app, "/things", [1]), 422, {
      detail: [
        {
          type: "value_error",
          loc: ["body"],
          msg: "Value error, expected an object",
          input: [1],
          ctx: { error: "expected an object" },
        },
      ],
    });
  });
});

describe("hostile bodies in-process", () => {
  test("a 10,000-deep JSON body is answered with a 4xx Response, never a rejected fetch", async () => {
    const app = new App().post("/items", { body: z.object({ name: z.string() }) }, ({ body }) => body);
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    let response: Response | undefined;
    await assert.doesNotReject(async () => {
      response = await postJson(app, "/items", deep);
    });
    assert.ok(
      response !== undefined && response.status >= 400 && response.status < 500,
      `status ${response?.status}`,
    );
  });
});

describe("responses", () => {
  test("a returned object is compact JSON with status 200", async () => {
    const app = new App().get("/obj", {}, () => ({ a: 1, b: [1, 2], c: { d: null } }));
    const response = await call(app, "/obj");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(await response.text(), '{"a":1,"b":[1,2],"c":{"d":null}}');
  });

  test("the spec's status is the success status", async () => {
    const app = new App().post("/items", { status: 201 }, () => ({ id: 1 }));
    await expectJson(await call(app, "/items", { method: "POST" }), 201, { id: 1 });
  });

  test("a response schema drops undeclared keys and applies defaults", async () => {
    const User = z.object({ id: z.int(), name: z.string(), role: z.string().default("user") });
    const app = new App().get("/me", { response: User }, () => {
      const stored = { id: 1, name: "ada", secret: "hunter2" };
      return stored;
    });
    const response = await call(app, "/me");
    const raw = await response.text();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.deepEqual(JSON.parse(raw), { id: 1, name: "ada", role: "user" });
    assert.ok(!raw.includes("hunter2"));
  });

  test("a returned web Response passes through untouched", async () => {
    const app = new App().get(
      "/raw",
      { response: z.object({ id: z.int() }) },
      () =>
        new Response("raw <body>", { status: 418, headers: { "content-type": "text/x-raw", "x-raw": "1" } }),
    );
    const response = await call(app, "/raw");
    assert.equal(response.status, 418);
    assert.deepEqual(
      [...response.headers],
      [
        ["content-type", "text/x-raw"],
        ["x-raw", "1"],
      ],
    );
    assert.equal(await response.text(), "raw <body>");
  });

  test("text() and html() set their media types", async () => {
    const app = new App()
      .get("/text", {}, () => text("héllo"))
      .get("/html", {}, () => html("<p>hi</p>", { status: 202 }));
    const plain = await call(app, "/text");
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(plain.headers.get("content-length"), "6");
    assert.equal(await plain.text(), "héllo");
    const page = await call(app, "/html");
    assert.equal(page.status, 202);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await page.text(), "<p>hi</p>");
  });

  test("redirect() is 307 with a location by default, and takes another status", async () => {
    const app = new App()
      .get("/old", {}, () => redirect("/new?a=1"))
      .get("/moved", {}, () => redirect("https://example.com/x", 301));
    const temporary = await call(app, "/old");
    assert.equal(temporary.status, 307);
    assert.equal(temporary.headers.get("location"), "/new?a=1");
    assert.equal(await temporary.text(), "");
    const permanent = await call(app, "/moved");
    assert.equal(permanent.status, 301);
    assert.equal(permanent.headers.get("location"), "https://example.com/x");
  });

  test("json() sends any value with the given status, bypassing the response schema", async () => {
    const app = new App().get("/made", { response: z.object({ id: z.int() }) }, () =>
      json({ error: "teapot", list: [1] }, { status: 418 }),
    );
    await expectJson(await call(app, "/made"), 418, { error: "teapot", list: [1] });
  });

  test("context.response sets status, headers and a percent-encoded cookie", async () => {
    const app = new App().post("/session", { status: 201 }, ({ response }) => {
      response.status = 202;
      response.headers.set("x-a", "b");
      response.setCookie("sid", "a b");
      return { ok: true };
    });
    const result = await call(app, "/session", { method: "POST" });
    assert.equal(result.headers.get("x-a"), "b");
    assert.deepEqual(result.headers.getSetCookie(), ["sid=a%20b; Path=/; HttpOnly; SameSite=Lax"]);
    await expectJson(result, 202, { ok: true });
  });

  test("context.response.status overrides the spec's status, as FastAPI's Response does", async () => {
    const app = new App().post("/override", { status: 201 }, ({ response }) => {
      response.status = 200;
      return { ok: true };
    });
    await expectJson(await call(app, "/override", { method: "POST" }), 200, { ok: true });
  });

  test("two cookies become two set-cookie headers", async () => {
    const app = new App().get("/cookies", {}, ({ response }) => {
      response.setCookie("a", "1");
      response.setCookie("b", "2", { secure: true, sameSite: "strict", maxAge: 60 });
      return null;
    });
    const result = await call(app, "/cookies");
    assert.deepEqual(result.headers.getSetCookie(), [
      "a=1; Path=/; HttpOnly; SameSite=Lax",
      "b=2; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Strict",
    ]);
    await expectJson(result, 200, null);
  });

  test("a 204 route sends no body and no content-type", async () => {
    const app = new App().delete("/items/{id}", { status: 204 }, () => ({ ignored: true }));
    const response = await call(app, "/items/1", { method: "DELETE" });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("content-type"), null);
    assert.equal(await response.text(), "");
  });

  test("non-ASCII output is UTF-8, not \\u-escaped", async () => {
    const app = new App().get("/hi", {}, () => ({ text: "héllo 你好 😀" }));
    const response = await call(app, "/hi");
    const bytes = Buffer.from(await response.arrayBuffer());
    const expected = '{"text":"héllo 你好 😀"}';
    assert.equal(response.status, 200);
    assert.equal(bytes.toString("utf8"), expected);
    assert.equal(response.headers.get("content-length"), String(Buffer.byteLength(expected)));
  });

  test("a handler that returns nothing sends JSON null", async () => {
    const app = new App().get("/nothing", {}, () => undefined);
    const response = await call(app, "/nothing");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(await response.text(), "null");
  });
});

describe("context.request", () => {
  test("is the web Request with the original URL, method and headers", async () => {
    const app = new App().get("/where/{id}", {}, ({ request }) => ({
      url: request.url,
      method: request.method,
      header: request.headers.get("x-custom"),
    }));
    await expectJson(await call(app, "/where/1?x=%20y&z", { headers: { "X-Custom": "v" } }), 200, {
      url: "http://test/where/1?x=%20y&z",
      method: "GET",
      header: "v",
    });
  });

  test("still yields the body's bytes after brisk has read the JSON body", async () => {
    const raw = '{ "name" : "a",\n  "qty": 2 }';
    const app = new App().post(
      "/echo",
      { body: z.object({ name: z.string(), qty: z.int() }) },
      async ({ body, request }) => ({ body, text: await request.text() }),
    );
    await expectJson(await postJson(app, "/echo", raw), 200, { body: { name: "a", qty: 2 }, text: raw });
  });

  test("reads the body of a route without a body schema", async () => {
    const app = new App().post("/raw", {}, async ({ request }) => ({ text: await request.text() }));
    const response = await call(app, "/raw", { method: "POST", body: "plain words" });
    await expectJson(response, 200, { text: "plain words" });
  });
});

describe("async handlers", () => {
  test("a handler returning a Promise is awaited like a plain one", async () => {
    const app = new App()
      .get("/slow/{id:int}", { query: { q: z.string().default("none") } }, async ({ params, query }) => {
        await sleep(5);
        return { id: params.id, q: query.q };
      })
      .get("/slow-text", {}, async () => {
        await sleep(1);
        return text("done");
      })
      .get("/slow-status", {}, async ({ response }) => {
        await sleep(1);
        response.status = 202;
        return [1, 2];
      });
    await expectJson(await call(app, "/slow/3?q=x"), 200, { id: 3, q: "x" });
    const done = await call(app, "/slow-text");
    assert.equal(done.status, 200);
    assert.equal(await done.text(), "done");
    await expectJson(await call(app, "/slow-status"), 202, [1, 2]);
  });
});
