import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { StandardJSONSchemaV1, StandardSchemaV1 } from "@standard-schema/spec";
import { App, isBriskError } from "briskjs";
import { z } from "zod";

type Json = Record<string, unknown>;

/** The operation object of one method of one path. */
function operation(app: App, path: string, method: string): Json {
  const item = (app.openapi().paths as Record<string, Json | undefined>)[path];
  assert.ok(item !== undefined, `no path ${path} in ${Object.keys(app.openapi().paths)}`);
  const found = item[method];
  assert.ok(found !== undefined, `no ${method} under ${path}`);
  return found as Json;
}

function parameters(app: App, path: string, method = "get"): Json[] {
  return (operation(app, path, method).parameters ?? []) as Json[];
}

function responses(app: App, path: string, method = "get"): Record<string, Json> {
  return operation(app, path, method).responses as Record<string, Json>;
}

function components(app: App): Record<string, Json> {
  return ((app.openapi().components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
}

/** The JSON schema of a response's `application/json` content. */
function responseSchema(app: App, path: string, method: string, status: string): Json {
  const content = responses(app, path, method)[status]?.content as Record<string, Json> | undefined;
  assert.ok(content !== undefined, `no content for ${status} of ${method} ${path}`);
  return content["application/json"]!.schema as Json;
}

function bodySchema(app: App, path: string, method = "post"): Json {
  const body = operation(app, path, method).requestBody as Json;
  return (body.content as Record<string, Json>)["application/json"]!.schema as Json;
}

/** Every value of `key` anywhere in the document, with the JSON pointer where it was found. */
function findKeys(node: unknown, key: string, at = "#"): [string, unknown][] {
  if (Array.isArray(node)) return node.flatMap((item, index) => findKeys(item, key, `${at}/${index}`));
  if (typeof node !== "object" || node === null) return [];
  return Object.entries(node).flatMap(([name, value]) => [
    ...(name === key ? ([[at, value]] as [string, unknown][]) : []),
    ...findKeys(value, key, `${at}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`),
  ]);
}

/** Asserts every `$ref` in the document points to an existing entry of `components/schemas`. */
function assertRefsResolve(document: unknown): string[] {
  const schemas = ((document as Json).components as Json | undefined)?.schemas as Json | undefined;
  const refs = findKeys(document, "$ref");
  for (const [at, ref] of refs) {
    assert.equal(typeof ref, "string", `$ref at ${at}`);
    const match = /^#\/components\/schemas\/(.+)$/.exec(ref as string);
    assert.ok(match !== null, `$ref at ${at} is not a component reference: ${ref}`);
    assert.ok(
      schemas !== undefined && Object.hasOwn(schemas, match[1]!),
      `$ref at ${at} is dangling: ${ref}`,
    );
  }
  return refs.map(([, ref]) => ref as string);
}

/** Asserts `fn` throws a BriskError with this code. */
function assertBriskError(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isBriskError(error), `not a BriskError: ${error}`);
    assert.equal(error.code, code);
    return true;
  });
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const VALIDATION_ERROR_422 = {
  description: "Validation Error",
  content: { "application/json": { schema: ref("HTTPValidationError") } },
};

/** Reference section 3.3, verbatim. */
const REFERENCE_VALIDATION_SCHEMAS = JSON.parse(`{
"ValidationError": {"title": "ValidationError", "type": "object",
  "properties": {
    "loc":   {"title": "Location", "type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
    "msg":   {"title": "Message", "type": "string"},
    "type":  {"title": "Error Type", "type": "string"},
    "input": {"title": "Input"},
    "ctx":   {"title": "Context", "type": "object"}},
  "required": ["loc", "msg", "type"]},
"HTTPValidationError": {"title": "HTTPValidationError", "type": "object",
  "properties": {"detail": {"title": "Detail", "type": "array",
                            "items": {"$ref": "#/components/schemas/ValidationError"}}}}
}`);

describe("document: info, tags, servers", () => {
  test("an empty app: OpenAPI 3.1.0, default title and version 0.1.0, nothing else", () => {
    assert.deepEqual(new App().openapi(), {
      openapi: "3.1.0",
      info: { title: "brisk", version: "0.1.0" },
      paths: {},
    });
  });

  test("every info field from the App options, in the reference's key order", () => {
    const app = new App({
      title: "Demo",
      version: "2.0.0",
      summary: "sum",
      description: "desc",
      termsOfService: "https://example.com/terms",
      contact: { name: "a", email: "a@example.com" },
      license: { name: "MIT", identifier: "MIT" },
    });
    const { info } = app.openapi();
    assert.deepEqual(info, {
      title: "Demo",
      summary: "sum",
      description: "desc",
      termsOfService: "https://example.com/terms",
      contact: { name: "a", email: "a@example.com" },
      license: { name: "MIT", identifier: "MIT" },
      version: "2.0.0",
    });
    assert.deepEqual(Object.keys(info), [
      "title",
      "summary",
      "description",
      "termsOfService",
      "contact",
      "license",
      "version",
    ]);
  });

  test("empty summary and description, and empty tags and servers lists, are omitted", () => {
    const app = new App({ title: "T", summary: "", description: "", tags: [], servers: [] });
    assert.deepEqual(app.openapi(), { openapi: "3.1.0", info: { title: "T", version: "0.1.0" }, paths: {} });
  });

  test("an empty termsOfService is omitted like the other empty info fields", {}, () => {
    assert.deepEqual(new App({ termsOfService: "" }).openapi().info, { title: "brisk", version: "0.1.0" });
  });

  test("tags metadata, servers and externalDocs are emitted as given, in the skeleton's key order", () => {
    const tags = [
      {
        name: "items",
        description: "Item ops",
        externalDocs: { description: "more", url: "https://example.com/" },
      },
      { name: "users" },
    ];
    const servers = [{ url: "/api/v1" }, { url: "https://api.example.com", description: "Production" }];
    const externalDocs = { url: "https://example.com/docs" };
    const app = new App({ tags, servers, externalDocs }).get("/x", {}, () => 1);
    const document = app.openapi();
    assert.deepEqual(document.tags, tags);
    assert.deepEqual(document.servers, servers);
    assert.deepEqual(document.externalDocs, externalDocs);
    assert.deepEqual(Object.keys(document), ["openapi", "info", "servers", "paths", "tags", "externalDocs"]);
  });

  test("the document is rebuilt when a route is added", () => {
    const app = new App().get("/a", {}, () => 1);
    assert.deepEqual(Object.keys(app.openapi().paths), ["/a"]);
    app.get("/b", {}, () => 1);
    assert.deepEqual(Object.keys(app.openapi().paths), ["/a", "/b"]);
  });

  test("identical apps built separately give byte-identical documents", () => {
    const build = () => {
      const Item = z.object({ name: z.string(), n: z.int().default(0) }).meta({ id: "Item" });
      return new App({ title: "Same", tags: [{ name: "t" }] })
        .post("/items", { body: Item, response: Item, status: 201, tags: ["t"] }, () => ({ name: "", n: 0 }))
        .get("/items/{id:int}", { query: { q: z.string().optional() }, response: Item }, () => ({
          name: "",
          n: 0,
        }))
        .get("/z", { response: z.object({ b: z.string(), a: z.string() }) }, () => ({ a: "", b: "" }));
    };
    assert.equal(JSON.stringify(build().openapi()), JSON.stringify(build().openapi()));
  });
});

describe("document: paths", () => {
  test("convertor suffixes are stripped and :name is written {name}", () => {
    const app = new App()
      .get("/files/{p:path}", {}, () => 1)
      .get("/items/{id:int}/{rest}", {}, () => 1)
      .get("/users/:id/posts/:post", {}, () => 1);
    assert.deepEqual(Object.keys(app.openapi().paths), [
      "/files/{p}",
      "/items/{id}/{rest}",
      "/users/{id}/posts/{post}",
    ]);
  });

  test("path parameters without a params spec are typed by their convertor", () => {
    const app = new App().get("/c/{a}/{b:int}/{c:float}/{d:uuid}/{e:path}", {}, () => 1);
    assert.deepEqual(parameters(app, "/c/{a}/{b}/{c}/{d}/{e}"), [
      { name: "a", in: "path", required: true, schema: { type: "string" } },
      { name: "b", in: "path", required: true, schema: { type: "integer", minimum: 0 } },
      { name: "c", in: "path", required: true, schema: { type: "number", minimum: 0 } },
      { name: "d", in: "path", required: true, schema: { type: "string", format: "uuid" } },
      { name: "e", in: "path", required: true, schema: { type: "string" } },
    ]);
  });

  test("two methods on one path share its path item; HEAD is not documented", () => {
    const app = new App().get("/things", {}, () => 1).post("/things", {}, () => 1);
    assert.deepEqual(Object.keys(app.openapi().paths["/things"] as Json), ["get", "post"]);
  });

  test("hidden routes are served but absent from the document, with their schemas", async () => {
    const Secret = z.object({ s: z.string() }).meta({ id: "Secret" });
    const app = new App()
      .get("/public", {}, () => ({ ok: true }))
      .get("/internal", { hidden: true, response: Secret }, () => ({ s: "x" }));
    const response = await app.fetch(new Request("http://test/internal"));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { s: "x" });
    assert.deepEqual(Object.keys(app.openapi().paths), ["/public"]);
    assert.equal(app.openapi().components, undefined);
  });

  test("brisk's own docs routes are not in the document", async () => {
    const app = new App().get("/a", {}, () => 1);
    assert.equal((await app.fetch(new Request("http://test/openapi.json"))).status, 200);
    assert.deepEqual(Object.keys(app.openapi().paths), ["/a"]);
  });
});

describe("document: parameters", () => {
  test("order is path, query, header, cookie whatever the spec's order", () => {
    const app = new App().get(
      "/p/{id}",
      {
        cookies: { session: z.string() },
        headers: { x_token: z.string() },
        query: { q: z.string() },
        params: { id: z.string() },
      },
      () => 1,
    );
    assert.deepEqual(
      parameters(app, "/p/{id}").map((param) => [param.in, param.name]),
      [
        ["path", "id"],
        ["query", "q"],
        ["header", "x-token"],
        ["cookie", "session"],
      ],
    );
  });

  test("header fields are documented by their wire name", () => {
    const app = new App()
      .get("/h", { headers: { user_agent: z.string(), X_Request_Id: z.string().optional() } }, () => 1)
      .get("/o", { headers: z.object({ accept_language: z.string() }) }, () => 1);
    assert.deepEqual(
      parameters(app, "/h").map((param) => param.name),
      ["user-agent", "x-request-id"],
    );
    assert.deepEqual(
      parameters(app, "/o").map((param) => param.name),
      ["accept-language"],
    );
  });

  test("required follows the schema: optional and defaulted fields are not required; path ones always are", () => {
    const app = new App().get(
      "/r/{id}",
      {
        params: { id: z.int() },
        query: { a: z.string(), b: z.string().optional(), c: z.int().default(3) },
        cookies: z.object({ k: z.string(), l: z.string().optional() }),
      },
      () => 1,
    );
    assert.deepEqual(
      parameters(app, "/r/{id}").map((param) => [param.name, param.required]),
      [
        ["id", true],
        ["a", true],
        ["b", false],
        ["c", false],
        ["k", true],
        ["l", false],
      ],
    );
  });

  test("description, deprecated and examples come from the field's schema", () => {
    const app = new App().get(
      "/d",
      {
        query: {
          q: z
            .string()
            .describe("Search text")
            .meta({ deprecated: true, examples: ["shoes", "hats"] }),
          plain: z.string(),
        },
      },
      () => 1,
    );
    const [q, plain] = parameters(app, "/d");
    assert.equal(q!.description, "Search text");
    assert.equal(q!.deprecated, true);
    assert.deepEqual((q!.schema as Json).examples, ["shoes", "hats"]);
    assert.deepEqual(plain, { name: "plain", in: "query", required: true, schema: { type: "string" } });
    assert.deepEqual(Object.keys(q!), ["name", "in", "required", "description", "deprecated", "schema"]);
  });

  test("a params spec types the declared path parameters; undeclared ones fall back to the convertor", () => {
    const app = new App().get("/v/{a}/{b:int}", { params: { a: z.enum(["x", "y"]) } }, () => 1);
    assert.deepEqual(parameters(app, "/v/{a}/{b}"), [
      { name: "a", in: "path", required: true, schema: { type: "string", enum: ["x", "y"] } },
      { name: "b", in: "path", required: true, schema: { type: "integer", minimum: 0 } },
    ]);
  });

  test("a schema from another library is documented through Standard JSON Schema, input form for requests", () => {
    const app = new App()
      .get("/other", { query: { code: otherLibraryString() } }, () => 1)
      .get("/other/out", { response: otherLibraryString() }, () => "x");
    assert.deepEqual(parameters(app, "/other"), [
      {
        name: "code",
        in: "query",
        required: true,
        description: "input form",
        schema: { type: "string", description: "input form" },
      },
    ]);
    assert.deepEqual(responseSchema(app, "/other/out", "get", "200"), {
      type: "string",
      description: "output form",
    });
  });

  test("a schema whose library cannot describe it is documented as {}", () => {
    const opaque: StandardSchemaV1<string> = {
      "~standard": {
        version: 1,
        vendor: "opaque",
        validate: (value) =>
          typeof value === "string" ? { value } : { issues: [{ message: "Expected a string" }] },
      },
    };
    const app = new App().get("/opaque", { query: { o: opaque } }, () => 1);
    assert.deepEqual(parameters(app, "/opaque"), [{ name: "o", in: "query", required: true, schema: {} }]);
  });
});

/** A string schema of a made-up library that offers Standard JSON Schema, with distinct input and output forms. */
function otherLibraryString(): StandardSchemaV1<string> {
  const dialect = "https://json-schema.org/draft/2020-12/schema";
  const schema: StandardSchemaV1<string> & StandardJSONSchemaV1<string> = {
    "~standard": {
      version: 1,
      vendor: "other",
      validate: (value) =>
        typeof value === "string" ? { value } : { issues: [{ message: "Expected a string" }] },
      jsonSchema: {
        input: () => ({ $schema: dialect, type: "string", description: "input form" }),
        output: () => ({ $schema: dialect, type: "string", description: "output form" }),
      },
    },
  };
  return schema;
}

describe("document: request body and responses", () => {
  test("requestBody is required when the body schema is, and not otherwise", () => {
    const Body = z.object({ a: z.string() });
    const app = new App()
      .post("/required", { body: Body }, () => 1)
      .post("/optional", { body: Body.optional() }, () => 1);
    assert.deepEqual(operation(app, "/required", "post").requestBody, {
      content: {
        "application/json": {
          schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        },
      },
      required: true,
    });
    const optional = operation(app, "/optional", "post").requestBody as Json;
    assert.equal(Object.hasOwn(optional, "required"), false);
  });

  test("the success response: status 200 with the response schema, or {} without one", () => {
    const app = new App()
      .get("/typed", { response: z.object({ a: z.string() }) }, () => ({ a: "" }))
      .get("/untyped", {}, () => 1);
    assert.deepEqual(responses(app, "/typed"), {
      200: {
        description: "Successful Response",
        content: {
          "application/json": {
            schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
          },
        },
      },
    });
    assert.deepEqual(responses(app, "/untyped"), {
      200: { description: "Successful Response", content: { "application/json": { schema: {} } } },
    });
  });

  test("the route's status is the success response's key; 204 documents no content", () => {
    const app = new App()
      .post("/created", { status: 201, response: z.object({ id: z.int() }) }, () => ({ id: 1 }))
      .delete("/gone", { status: 204 }, () => undefined);
    assert.deepEqual(Object.keys(responses(app, "/created", "post")), ["201"]);
    assert.deepEqual(responses(app, "/gone", "delete"), { 204: { description: "Successful Response" } });
  });

  test("extra responses: description, or the reason phrase; schema as JSON content", () => {
    const Message = z.object({ message: z.string() }).meta({ id: "Message" });
    const app = new App().get(
      "/extra/{id}",
      {
        responses: {
          404: { description: "Item not found", schema: Message },
          409: {},
          "5xx": {},
          418: { schema: z.object({ tea: z.boolean() }) },
        },
      },
      () => 1,
    );
    const all = responses(app, "/extra/{id}");
    assert.deepEqual(all["404"], {
      description: "Item not found",
      content: { "application/json": { schema: ref("Message") } },
    });
    assert.deepEqual(all["409"], { description: "Conflict" });
    assert.deepEqual(all["5XX"], { description: "Server Error" });
    assert.equal(all["418"]!.description, "I'm a Teapot");
    assert.deepEqual(responseSchema(app, "/extra/{id}", "get", "418"), {
      type: "object",
      properties: { tea: { type: "boolean" } },
      required: ["tea"],
    });
    // A path parameter still gets the automatic 422.
    assert.deepEqual(all["422"], VALIDATION_ERROR_422);
  });

  test("an extra response for the success status is merged into it", () => {
    const app = new App().get(
      "/merged",
      { response: z.object({ a: z.string() }), responses: { 200: { description: "The thing" } } },
      () => ({ a: "" }),
    );
    const ok = responses(app, "/merged")["200"]!;
    assert.equal(ok.description, "The thing");
    assert.deepEqual((ok.content as Record<string, Json>)["application/json"]!.schema, {
      type: "object",
      properties: { a: { type: "string" } },
      required: ["a"],
    });
  });

  test('"4XX" or "default" suppress the automatic 422, 413 and 415; an explicit 422 replaces it', () => {
    const body = z.object({ a: z.string() });
    const app = new App()
      .post("/range", { body, responses: { "4XX": { description: "Client error" } } }, () => 1)
      .post("/default", { body, responses: { DEFAULT: {} } }, () => 1)
      .post("/own422", { body, responses: { 422: { description: "Mine" } } }, () => 1);
    assert.deepEqual(Object.keys(responses(app, "/range", "post")), ["200", "4XX"]);
    assert.deepEqual(responses(app, "/default", "post").default, { description: "Default Response" });
    assert.deepEqual(Object.keys(responses(app, "/default", "post")), ["200", "default"]);
    assert.deepEqual(responses(app, "/own422", "post")["422"], { description: "Mine" });
    assert.deepEqual(Object.keys(responses(app, "/own422", "post")), ["200", "413", "415", "422"]);
  });

  test("brisk's error components are only added when an operation refers to them", {}, () => {
    const app = new App().post(
      "/a",
      { body: z.object({ a: z.string() }), responses: { "4XX": {} } },
      () => 1,
    );
    assert.deepEqual(Object.keys(components(app)), []);
  });
});

describe("document: operation fields", () => {
  test("tags, summary, description, deprecated, in the reference's key order", () => {
    const app = new App().get(
      "/op/{id}",
      {
        tags: ["items", "admin"],
        summary: "Read one",
        description: "Reads **one** item.",
        deprecated: true,
        operationId: "readOne",
        body: z.object({ a: z.string() }),
      },
      () => 1,
    );
    const op = operation(app, "/op/{id}", "get");
    assert.deepEqual(op.tags, ["items", "admin"]);
    assert.equal(op.summary, "Read one");
    assert.equal(op.description, "Reads **one** item.");
    assert.equal(op.deprecated, true);
    assert.deepEqual(Object.keys(op), [
      "tags",
      "summary",
      "description",
      "operationId",
      "parameters",
      "requestBody",
      "responses",
      "deprecated",
    ]);
  });

  test("deprecated: false, empty tags and no summary are omitted; a handler's name gives the summary", () => {
    const app = new App()
      .get("/plain", { deprecated: false, tags: [] }, () => 1)
      .get("/named", {}, function listAllItems() {
        return 1;
      });
    assert.deepEqual(Object.keys(operation(app, "/plain", "get")), ["operationId", "responses"]);
    assert.equal(operation(app, "/named", "get").summary, "List All Items");
  });
});

describe("document: operationId", () => {
  const ids = (app: App) =>
    Object.values(app.openapi().paths as Record<string, Record<string, Json>>).flatMap((item) =>
      Object.values(item).map((op) => op.operationId as string),
    );

  test("an explicit operationId is kept", () => {
    const app = new App().get("/a", { operationId: "fetch_the_a" }, function named() {
      return 1;
    });
    assert.equal(operation(app, "/a", "get").operationId, "fetch_the_a");
  });

  test("generated from the handler's name, else from the method and path", () => {
    const app = new App()
      .get("/items", {}, function listItems() {
        return 1;
      })
      .get("/items/{item_id:int}", {}, () => 1)
      .post("/items", {}, () => 1)
      .get("/", {}, () => 1)
      .get("/user-files/:file_name", {}, () => 1);
    assert.deepEqual(ids(app), [
      "listItems",
      "postItems",
      "getItemsByItemId",
      "getRoot",
      "getUserFilesByFileName",
    ]);
  });

  test("generated ids that would clash get distinct ids", () => {
    function handler() {
      return 1;
    }
    const app = new App()
      .get("/a", {}, handler)
      .get("/b", {}, handler)
      .get("/a-b", {}, () => 1)
      .get("/a_b", {}, () => 1)
      .get("/other", { operationId: "getItems" }, () => 1)
      .get("/items", {}, () => 1);
    const all = ids(app);
    assert.equal(new Set(all).size, all.length, `duplicates in ${all}`);
    assert.equal(operation(app, "/other", "get").operationId, "getItems");
    assert.notEqual(operation(app, "/items", "get").operationId, "getItems");
    assert.deepEqual(all, ["handler", "handler2", "getAB", "getAB2", "getItems", "getItems2"]);
  });

  test("an explicit duplicate throws BRISK_DUPLICATE_OPERATION_ID from app.openapi()", () => {
    const app = new App()
      .get("/a", { operationId: "same" }, () => 1)
      .get("/b", { operationId: "same" }, () => 1);
    assertBriskError(() => app.openapi(), "BRISK_DUPLICATE_OPERATION_ID");
  });

  test("a hidden route's operationId does not clash", () => {
    const app = new App()
      .get("/a", { operationId: "same" }, () => 1)
      .get("/b", { operationId: "same", hidden: true }, () => 1);
    assert.deepEqual(ids(app), ["same"]);
  });

  test("a route with several methods gets one operationId per method", () => {
    function things() {
      return 1;
    }
    const app = new App()
      .route(["GET", "POST"], "/things", {}, things)
      .route(["PUT", "DELETE"], "/own", { operationId: "own" }, () => 1)
      .route(["GET", "PATCH"], "/anon/{id}", {}, () => 1);
    assert.deepEqual(ids(app), [
      "getThings",
      "postThings",
      "own_put",
      "own_delete",
      "getAnonById",
      "patchAnonById",
    ]);
    assert.deepEqual(Object.keys(app.openapi().paths["/things"] as Json), ["get", "post"]);
  });
});

describe("document: schemas and components", () => {
  test("a named schema becomes a component referenced by $ref", () => {
    const Item = z.object({ name: z.string() }).meta({ id: "Item" });
    const app = new App().get("/items", { response: z.array(Item) }, () => []);
    assert.deepEqual(responseSchema(app, "/items", "get", "200"), { type: "array", items: ref("Item") });
    assert.deepEqual(components(app), {
      Item: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
    });
    assertRefsResolve(app.openapi());
  });

  test("components are sorted by name and names are sanitised", () => {
    const named = (id: string) => z.object({ [id.length]: z.string() }).meta({ id });
    const app = new App()
      .get("/z", { response: named("Zebra") }, () => ({}) as never)
      .get("/m", { response: named("mango") }, () => ({}) as never)
      .get("/a", { response: named("Apple") }, () => ({}) as never)
      .get("/g", { response: named("Page<Item>") }, () => ({}) as never)
      .get("/q/{id}", { response: named("a.b-c_d") }, () => ({}) as never);
    const names = Object.keys(components(app));
    assert.deepEqual(
      names,
      [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    assert.ok(names.includes("Page_Item_"), `${names}`);
    assert.ok(names.includes("a.b-c_d"), `${names}`);
    for (const name of names) assert.match(name, /^[A-Za-z0-9.\-_]+$/);
    assert.deepEqual(responseSchema(app, "/g", "get", "200"), ref("Page_Item_"));
    assertRefsResolve(app.openapi());
  });

  test("the same named schema used by several routes is one component", () => {
    const Item = z.object({ name: z.string() }).meta({ id: "Item" });
    const app = new App()
      .get("/a", { response: Item }, () => ({ name: "" }))
      .get("/b", { response: z.array(Item) }, () => []);
    assert.deepEqual(Object.keys(components(app)), ["Item"]);
  });

  test("two different schemas with the same id throw BRISK_SCHEMA_NAME_CLASH", () => {
    const app = new App()
      .get("/a", { response: z.object({ a: z.string() }).meta({ id: "Thing" }) }, () => ({ a: "" }))
      .get("/b", { response: z.object({ b: z.string() }).meta({ id: "Thing" }) }, () => ({ b: "" }));
    assertBriskError(() => app.openapi(), "BRISK_SCHEMA_NAME_CLASH");
  });

  test("two different schemas with the same id, one a body and one a response, also clash", {}, () => {
    const app = new App().post(
      "/a",
      {
        body: z.object({ a: z.string() }).meta({ id: "Thing" }),
        response: z.object({ b: z.int() }).meta({ id: "Thing" }),
      },
      () => ({ b: 1 }),
    );
    assertBriskError(() => app.openapi(), "BRISK_SCHEMA_NAME_CLASH");
  });

  test("a user schema named like brisk's HTTPValidationError throws BRISK_SCHEMA_NAME_CLASH", () => {
    const app = new App().get(
      "/a/{id}",
      { response: z.object({ a: z.string() }).meta({ id: "HTTPValidationError" }) },
      () => ({ a: "" }),
    );
    assertBriskError(() => app.openapi(), "BRISK_SCHEMA_NAME_CLASH");
  });

  test("a named object schema of parameters leaves no unreferenced component", {}, () => {
    const Query = z.object({ q: z.string() }).meta({ id: "SearchQuery" });
    const app = new App().get("/s", { query: Query }, () => 1);
    assert.deepEqual(parameters(app, "/s"), [
      { name: "q", in: "query", required: true, schema: { type: "string" } },
    ]);
    const referenced = new Set(assertRefsResolve(app.openapi()));
    for (const name of Object.keys(components(app))) {
      assert.ok(referenced.has(`#/components/schemas/${name}`), `${name} is never referenced`);
    }
  });
});

describe("document: input and output forms", () => {
  test("a named schema with a default, used as body and response, splits into Name-Input and Name-Output", () => {
    const Item = z.object({ name: z.string(), tags: z.array(z.string()).default([]) }).meta({ id: "Item" });
    const app = new App().post("/items", { body: Item, response: Item }, ({ body }) => body);
    assert.deepEqual(bodySchema(app, "/items"), ref("Item-Input"));
    assert.deepEqual(responseSchema(app, "/items", "post", "200"), ref("Item-Output"));
    const schemas = components(app);
    assert.equal(Object.hasOwn(schemas, "Item"), false);
    assert.deepEqual(schemas["Item-Input"]!.required, ["name"]);
    assert.deepEqual(schemas["Item-Output"]!.required, ["name", "tags"]);
  });

  test("a transform splits too: the input is what the client sends", () => {
    const Code = z.object({ code: z.string().transform((text) => text.length) }).meta({ id: "Code" });
    const app = new App().post("/codes", { body: Code, response: Code }, ({ body }) => body as never);
    const schemas = components(app);
    assert.deepEqual((schemas["Code-Input"]!.properties as Json).code, { type: "string" });
    assert.notDeepEqual((schemas["Code-Output"]!.properties as Json).code, { type: "string" });
  });

  test("coercion: a query field is documented by what it accepts on the wire", () => {
    const app = new App().get("/n", { query: { n: z.coerce.number() } }, () => 1);
    assert.deepEqual(parameters(app, "/n"), [
      { name: "n", in: "query", required: true, schema: { type: "number" } },
    ]);
  });

  test("a named schema used one way only, or the same both ways, keeps its plain name", () => {
    const Defaulted = z.object({ n: z.int().default(1) }).meta({ id: "Defaulted" });
    const Plain = z.object({ s: z.string() }).meta({ id: "Plain" });
    const app = new App()
      .post("/d", { body: Defaulted }, () => 1)
      .post("/p", { body: Plain, response: Plain }, ({ body }) => body);
    assert.deepEqual(bodySchema(app, "/d"), ref("Defaulted"));
    assert.deepEqual(bodySchema(app, "/p"), ref("Plain"));
    assert.deepEqual(responseSchema(app, "/p", "post", "200"), ref("Plain"));
    assert.deepEqual(
      Object.keys(components(app)).filter((name) => !/Error$/.test(name)),
      ["Defaulted", "Plain"],
    );
  });

  test("a parent referencing a split child splits too, and each form refers to the matching child", () => {
    const Child = z.object({ n: z.int().default(0) }).meta({ id: "Child" });
    const Parent = z.object({ child: Child }).meta({ id: "Parent" });
    const app = new App().post("/p", { body: Parent, response: Parent }, ({ body }) => body);
    const schemas = components(app);
    assert.deepEqual(bodySchema(app, "/p"), ref("Parent-Input"));
    assert.deepEqual(responseSchema(app, "/p", "post", "200"), ref("Parent-Output"));
    assert.deepEqual((schemas["Parent-Input"]!.properties as Json).child, ref("Child-Input"));
    assert.deepEqual((schemas["Parent-Output"]!.properties as Json).child, ref("Child-Output"));
    assertRefsResolve(app.openapi());
  });
});

describe("document: recursion, nullable", () => {
  test("a recursive named schema refers to its own component", () => {
    const Node: z.ZodType = z
      .object({
        name: z.string(),
        get children() {
          return z.array(Node);
        },
      })
      .meta({ id: "Node" });
    const app = new App().get("/tree", { response: Node }, () => ({}) as never);
    assert.deepEqual(responseSchema(app, "/tree", "get", "200"), ref("Node"));
    assert.deepEqual((components(app).Node!.properties as Json).children, {
      type: "array",
      items: ref("Node"),
    });
    assertRefsResolve(app.openapi());
  });

  test("a recursive named schema split into input and output refers to the matching form", () => {
    const Node: z.ZodType = z
      .object({
        n: z.int().default(0),
        get kids() {
          return z.array(Node);
        },
      })
      .meta({ id: "Node" });
    const app = new App().post("/n", { body: Node, response: Node }, () => ({}) as never);
    const schemas = components(app);
    assert.deepEqual((schemas["Node-Input"]!.properties as Json).kids, {
      type: "array",
      items: ref("Node-Input"),
    });
    assert.deepEqual((schemas["Node-Output"]!.properties as Json).kids, {
      type: "array",
      items: ref("Node-Output"),
    });
    assertRefsResolve(app.openapi());
  });

  test("recursive unnamed schemas (getter and z.lazy) get a component and valid $refs", () => {
    const Tree = z.object({
      value: z.int(),
      get children(): z.ZodArray<typeof Tree> {
        return z.array(Tree);
      },
    });
    const List: z.ZodType = z.lazy(() => z.object({ head: z.string(), tail: List.nullable() }));
    const app = new App()
      .post("/tree", { body: Tree, response: Tree }, ({ body }) => body)
      .get("/list", { response: List }, () => ({}) as never);
    const document = app.openapi();
    const refs = assertRefsResolve(document);
    assert.ok(refs.length >= 4, `${refs}`);
    const body = bodySchema(app, "/tree");
    const out = responseSchema(app, "/list", "get", "200");
    assert.ok(typeof body.$ref === "string" && typeof out.$ref === "string");
    // Each component refers to itself.
    for (const target of [body.$ref, out.$ref] as string[]) {
      const name = target.split("/").pop()!;
      assert.ok(JSON.stringify(components(app)[name]).includes(JSON.stringify(target)), name);
    }
  });

  test('nullable is 3.1-style: type [..., "null"] or anyOf with null; no "nullable" key anywhere', () => {
    const Named = z.object({ a: z.string() }).meta({ id: "Named" });
    const app = new App().post(
      "/n",
      {
        query: { q: z.string().nullable().optional() },
        body: z.object({ n: z.int().nullable(), o: Named.nullable() }),
        response: z.object({ s: z.string().nullable() }),
      },
      () => ({ s: null }),
    );
    const isNullable = (schema: Json) =>
      (Array.isArray(schema.type) && schema.type.includes("null")) ||
      (Array.isArray(schema.anyOf) && (schema.anyOf as Json[]).some((branch) => branch.type === "null"));
    assert.ok(isNullable(parameters(app, "/n", "post")[0]!.schema as Json));
    const body = bodySchema(app, "/n").properties as Record<string, Json>;
    assert.ok(isNullable(body.n!), JSON.stringify(body.n));
    assert.ok(isNullable(body.o!), JSON.stringify(body.o));
    assert.ok(isNullable((responseSchema(app, "/n", "post", "200").properties as Record<string, Json>).s!));
    assert.deepEqual(findKeys(app.openapi(), "nullable"), []);
    assertRefsResolve(app.openapi());
  });
});

describe("document: automatic error responses", () => {
  test("422 iff the operation has parameters or a body; components exactly as the reference's 3.3", () => {
    const app = new App()
      .get("/none", {}, () => 1)
      .get("/path/{id}", {}, () => 1)
      .get("/query", { query: { q: z.string().optional() } }, () => 1)
      .get("/header", { headers: { x_a: z.string() } }, () => 1)
      .get("/cookie", { cookies: { c: z.string() } }, () => 1)
      .post("/body", { body: z.object({ a: z.string() }) }, () => 1);
    assert.equal(Object.hasOwn(responses(app, "/none"), "422"), false);
    for (const path of ["/path/{id}", "/query", "/header", "/cookie"]) {
      assert.deepEqual(responses(app, path)["422"], VALIDATION_ERROR_422, path);
    }
    assert.deepEqual(responses(app, "/body", "post")["422"], VALIDATION_ERROR_422);
    const schemas = components(app);
    assert.deepEqual(schemas.ValidationError, REFERENCE_VALIDATION_SCHEMAS.ValidationError);
    assert.deepEqual(schemas.HTTPValidationError, REFERENCE_VALIDATION_SCHEMAS.HTTPValidationError);
    assertRefsResolve(app.openapi());
  });

  test("an app whose routes take no input has no validation components", () => {
    const app = new App().get("/a", { response: z.object({ a: z.string() }) }, () => ({ a: "" }));
    assert.equal(app.openapi().components, undefined);
  });

  test("413 and 415 only on routes with a body, referring to an HTTPError component", () => {
    const app = new App()
      .post("/body", { body: z.object({ a: z.string() }) }, () => 1)
      .post("/nobody", { query: { q: z.string() } }, () => 1);
    const withBody = responses(app, "/body", "post");
    assert.deepEqual(Object.keys(withBody), ["200", "413", "415", "422"]);
    assert.deepEqual(withBody["413"], {
      description: "Content Too Large",
      content: { "application/json": { schema: ref("HTTPError") } },
    });
    assert.deepEqual(withBody["415"], {
      description: "Unsupported Media Type",
      content: { "application/json": { schema: ref("HTTPError") } },
    });
    assert.deepEqual(Object.keys(responses(app, "/nobody", "post")), ["200", "422"]);
    assert.deepEqual(components(app).HTTPError, {
      title: "HTTPError",
      type: "object",
      properties: { detail: { title: "Detail", type: "string" } },
      required: ["detail"],
    });
  });

  test("the documented 413, 415 and 422 bodies are the ones brisk sends", async () => {
    const app = new App().post("/b", { body: z.object({ a: z.string() }), bodyLimit: 4 }, () => 1);
    const send = (body: string, type: string) =>
      app.fetch(new Request("http://test/b", { method: "POST", body, headers: { "content-type": type } }));
    const tooLarge = await send('{"a":"long"}', "application/json");
    assert.equal(tooLarge.status, 413);
    assert.equal(typeof ((await tooLarge.json()) as Json).detail, "string");
    const unsupported = await send("a", "text/plain");
    assert.equal(unsupported.status, 415);
    assert.equal(typeof ((await unsupported.json()) as Json).detail, "string");
    const invalid = await send("{}", "application/json");
    assert.equal(invalid.status, 422);
    const detail = ((await invalid.json()) as { detail: Json[] }).detail;
    for (const entry of detail) {
      for (const key of REFERENCE_VALIDATION_SCHEMAS.ValidationError.required) assert.ok(key in entry, key);
    }
  });
});
