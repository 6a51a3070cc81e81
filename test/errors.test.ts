// Behaviour tests for brisk's error responses, through the front door only (`app.fetch`).
// Expected bodies are FastAPI 0.141 / Pydantic v2 ones, except where docs/decisions.md records a deliberate
// departure (HEAD for GET routes, 415 and 400 for bodies, JSON 500s, JSON bodies validated without coercion).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  App,
  HTTPException,
  json,
  type Logger,
  RequestValidationError,
  ResponseValidationError,
  type ValidationIssue,
} from "briskjs";
import { z } from "zod";

interface Result {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: unknown;
}

async function call(app: App, path: string, init?: RequestInit): Promise<Result> {
  const response = await app.fetch(new Request(`http://test${path}`, init));
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    // Parsed only when it is JSON; a HEAD answer or an empty 204 keeps its JSON type but has no text.
    body:
      text !== "" && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined,
  };
}

/** POSTs `text` as it is; with no `contentType` the request carries no Content-Type header at all. */
function postRaw(app: App, path: string, text: string, contentType?: string): Promise<Result> {
  const headers: Record<string, string> = contentType === undefined ? {} : { "content-type": contentType };
  // Bytes, not a string: a string body would make `Request` add `text/plain;charset=UTF-8` on its own.
  return call(app, path, { method: "POST", headers, body: new TextEncoder().encode(text) });
}

function postJson(app: App, path: string, value: unknown): Promise<Result> {
  return postRaw(app, path, JSON.stringify(value), "application/json");
}

function assert422(result: Result, detail: ValidationIssue[]): void {
  assert.equal(result.status, 422);
  assert.equal(result.headers.get("content-type"), "application/json");
  assert.deepEqual(result.body, { detail });
}

function capturingLogger(): { logger: Logger; logged: [string, unknown][] } {
  const logged: [string, unknown][] = [];
  return {
    logged,
    logger: {
      info() {},
      warn() {},
      error: (message, error) => {
        logged.push([message, error]);
      },
    },
  };
}

const INT_PARSING = "Input should be a valid integer, unable to parse string as an integer";
const FLOAT_PARSING = "Input should be a valid number, unable to parse string as a number";
const MODEL_ATTRIBUTES = "Input should be a valid dictionary or object to extract fields from";
const INTERNAL_ERROR = { detail: "Internal Server Error" };
const UNSUPPORTED = { detail: "Unsupported Media Type: the body must be application/json" };
const POISONED = { detail: "The body contains a forbidden key (__proto__ or constructor.prototype)" };

describe("missing values", () => {
  const app = new App();
  app.get("/query", { query: { q: z.string() } }, ({ query }) => query);
  app.get("/header", { headers: { x_token: z.string() } }, ({ headers }) => headers);
  app.get("/cookie", { cookies: { session: z.string() } }, ({ cookies }) => cookies);
  app.post("/items", { body: z.object({ name: z.string(), price: z.number() }) }, ({ body }) => body);

  test("a missing required query parameter is `missing` with input null", async () => {
    assert422(await call(app, "/query"), [
      { type: "missing", loc: ["query", "q"], msg: "Field required", input: null },
    ]);
  });

  test("a missing required header is `missing` at its hyphenated wire name", async () => {
    assert422(await call(app, "/header"), [
      { type: "missing", loc: ["header", "x-token"], msg: "Field required", input: null },
    ]);
  });

  test("a missing required cookie is `missing` at its exact name", async () => {
    assert422(await call(app, "/cookie"), [
      { type: "missing", loc: ["cookie", "session"], msg: "Field required", input: null },
    ]);
  });

  test("other cookies do not satisfy a missing one", async () => {
    assert422(await call(app, "/cookie", { headers: { cookie: "other=1; Session=2" } }), [
      { type: "missing", loc: ["cookie", "session"], msg: "Field required", input: null },
    ]);
  });

  test("a missing field inside the body reports the enclosing object as input", async () => {
    assert422(await postJson(app, "/items", { price: 1 }), [
      { type: "missing", loc: ["body", "name"], msg: "Field required", input: { price: 1 } },
    ]);
  });

  test("several missing body fields are each reported, with the same enclosing input", async () => {
    assert422(await postJson(app, "/items", {}), [
      { type: "missing", loc: ["body", "name"], msg: "Field required", input: {} },
      { type: "missing", loc: ["body", "price"], msg: "Field required", input: {} },
    ]);
  });

  test("an empty body without a content type is a missing body, not 415", async () => {
    const result = await call(app, "/items", { method: "POST" });
    assert422(result, [{ type: "missing", loc: ["body"], msg: "Field required", input: null }]);
  });

  test("an empty body with a JSON content type is a missing body", async () => {
    assert422(await postRaw(app, "/items", "", "application/json"), [
      { type: "missing", loc: ["body"], msg: "Field required", input: null },
    ]);
  });
});

describe("string errors", () => {
  const app = new App();
  app.post("/names", { body: z.object({ name: z.string().min(3) }) }, ({ body }) => body);
  app.get("/search", { query: { q: z.string().min(1).max(5) } }, ({ query }) => query);
  app.get("/initial", { query: { c: z.string().max(1) } }, ({ query }) => query);
  app.get("/codes", { query: { code: z.string().regex(/^[a-z]+$/) } }, ({ query }) => query);
  app.get("/session", { cookies: { session: z.string().min(3) } }, ({ cookies }) => cookies);

  test("a number where a string is expected is `string_type`", async () => {
    assert422(await postJson(app, "/names", { name: 1 }), [
      { type: "string_type", loc: ["body", "name"], msg: "Input should be a valid string", input: 1 },
    ]);
  });

  test("null where a string is expected is `string_type`, not `missing`", async () => {
    assert422(await postJson(app, "/names", { name: null }), [
      { type: "string_type", loc: ["body", "name"], msg: "Input should be a valid string", input: null },
    ]);
  });

  test("`string_too_short` with a minimum of 1 says `character`, singular", async () => {
    assert422(await call(app, "/search?q="), [
      {
        type: "string_too_short",
        loc: ["query", "q"],
        msg: "String should have at least 1 character",
        input: "",
        ctx: { min_length: 1 },
      },
    ]);
  });

  test("`string_too_short` with a minimum of 3 says `characters`", async () => {
    assert422(await postJson(app, "/names", { name: "ab" }), [
      {
        type: "string_too_short",
        loc: ["body", "name"],
        msg: "String should have at least 3 characters",
        input: "ab",
        ctx: { min_length: 3 },
      },
    ]);
  });

  test("`string_too_short` on a cookie reports the cookie text", async () => {
    assert422(await call(app, "/session", { headers: { cookie: "session=ab" } }), [
      {
        type: "string_too_short",
        loc: ["cookie", "session"],
        msg: "String should have at least 3 characters",
        input: "ab",
        ctx: { min_length: 3 },
      },
    ]);
  });

  test("`string_too_long` reports the maximum", async () => {
    assert422(await call(app, "/search?q=abcdef"), [
      {
        type: "string_too_long",
        loc: ["query", "q"],
        msg: "String should have at most 5 characters",
        input: "abcdef",
        ctx: { max_length: 5 },
      },
    ]);
  });

  test("`string_too_long` with a maximum of 1 says `character`, singular", async () => {
    assert422(await call(app, "/initial?c=ab"), [
      {
        type: "string_too_long",
        loc: ["query", "c"],
        msg: "String should have at most 1 character",
        input: "ab",
        ctx: { max_length: 1 },
      },
    ]);
  });

  test("`string_pattern_mismatch` carries the regex source in msg and ctx", async () => {
    assert422(await call(app, "/codes?code=ABC"), [
      {
        type: "string_pattern_mismatch",
        loc: ["query", "code"],
        msg: "String should match pattern '^[a-z]+$'",
        input: "ABC",
        ctx: { pattern: "^[a-z]+$" },
      },
    ]);
  });
});

describe("integer errors", () => {
  const app = new App();
  app.get("/items/{item_id}", { params: { item_id: z.int() } }, ({ params }) => params);
  app.get("/list", { query: { limit: z.int() } }, ({ query }) => query);
  app.get("/optional", { query: { n: z.int().optional() } }, ({ query }) => query);
  app.post("/counts", { body: z.object({ count: z.int() }) }, ({ body }) => body);

  test("a path parameter that is not an integer is `int_parsing` with the raw text", async () => {
    assert422(await call(app, "/items/foo"), [
      { type: "int_parsing", loc: ["path", "item_id"], msg: INT_PARSING, input: "foo" },
    ]);
  });

  test("a query parameter that is not an integer is `int_parsing` with the raw text", async () => {
    assert422(await call(app, "/list?limit=abc"), [
      { type: "int_parsing", loc: ["query", "limit"], msg: INT_PARSING, input: "abc" },
    ]);
  });

  test("a query integer with a fractional part is `int_parsing` of the text", async () => {
    assert422(await call(app, "/list?limit=1.5"), [
      { type: "int_parsing", loc: ["query", "limit"], msg: INT_PARSING, input: "1.5" },
    ]);
  });

  test("an empty query value for an optional integer is `int_parsing` of '', not absent", async () => {
    assert422(await call(app, "/optional?n="), [
      { type: "int_parsing", loc: ["query", "n"], msg: INT_PARSING, input: "" },
    ]);
  });

  test("an object where an integer is expected is `int_type`", async () => {
    assert422(await postJson(app, "/counts", { count: { n: 1 } }), [
      { type: "int_type", loc: ["body", "count"], msg: "Input should be a valid integer", input: { n: 1 } },
    ]);
  });

  test("null where an integer is expected is `int_type`", async () => {
    assert422(await postJson(app, "/counts", { count: null }), [
      { type: "int_type", loc: ["body", "count"], msg: "Input should be a valid integer", input: null },
    ]);
  });

  test("a body number with a fractional part is `int_from_float`", async () => {
    assert422(await postJson(app, "/counts", { count: 1.5 }), [
      {
        type: "int_from_float",
        loc: ["body", "count"],
        msg: "Input should be a valid integer, got a number with a fractional part",
        input: 1.5,
      },
    ]);
  });

  test("true where an integer is expected is `int_type` (JSON bodies are not coerced)", async () => {
    assert422(await postJson(app, "/counts", { count: true }), [
      { type: "int_type", loc: ["body", "count"], msg: "Input should be a valid integer", input: true },
    ]);
  });

  test("a body string where an integer is expected is `int_type`, not `int_parsing` (not coerced)", async () => {
    assert422(await postJson(app, "/counts", { count: "10" }), [
      { type: "int_type", loc: ["body", "count"], msg: "Input should be a valid integer", input: "10" },
    ]);
  });

  test("1e309 for a body integer is json_invalid: JavaScript cannot hold it, and it is not silently changed", async () => {
    const result = await postRaw(app, "/counts", '{"count": 1e309}', "application/json");
    assert.equal(result.status, 422);
    // JSON.parse would make it Infinity (which JSON.stringify writes as null): it is refused where it stands.
    assert.deepEqual(result.body, {
      detail: [
        {
          type: "json_invalid",
          loc: ["body", 10],
          msg: "JSON decode error",
          input: {},
          ctx: { error: "Number out of range" },
        },
      ],
    });
  });
});

describe("number errors", () => {
  const app = new App();
  app.get("/n", { query: { n: z.number() } }, ({ query }) => query);
  app.post("/prices", { body: z.object({ price: z.number() }) }, ({ body }) => body);

  test("a query value that is not a number is `float_parsing`", async () => {
    assert422(await call(app, "/n?n=abc"), [
      { type: "float_parsing", loc: ["query", "n"], msg: FLOAT_PARSING, input: "abc" },
    ]);
  });

  test("?n=inf is `float_parsing` of the text", async () => {
    assert422(await call(app, "/n?n=inf"), [
      { type: "float_parsing", loc: ["query", "n"], msg: FLOAT_PARSING, input: "inf" },
    ]);
  });

  test("?n=NaN is `float_parsing` of the text", async () => {
    assert422(await call(app, "/n?n=NaN"), [
      { type: "float_parsing", loc: ["query", "n"], msg: FLOAT_PARSING, input: "NaN" },
    ]);
  });

  test("a body string where a number is expected is `float_type` (JSON bodies are not coerced)", async () => {
    assert422(await postJson(app, "/prices", { price: "abc" }), [
      { type: "float_type", loc: ["body", "price"], msg: "Input should be a valid number", input: "abc" },
    ]);
  });

  test("a numeric body string where a number is expected is `float_type` too", async () => {
    assert422(await postJson(app, "/prices", { price: "5" }), [
      { type: "float_type", loc: ["body", "price"], msg: "Input should be a valid number", input: "5" },
    ]);
  });

  test("null where a number is expected is `float_type`", async () => {
    assert422(await postJson(app, "/prices", { price: null }), [
      { type: "float_type", loc: ["body", "price"], msg: "Input should be a valid number", input: null },
    ]);
  });

  test("a list where a number is expected is `float_type`", async () => {
    assert422(await postJson(app, "/prices", { price: [1] }), [
      { type: "float_type", loc: ["body", "price"], msg: "Input should be a valid number", input: [1] },
    ]);
  });

  test("1e309 for a body number is json_invalid", async () => {
    const result = await postRaw(app, "/prices", '{"price": -1e309}', "application/json");
    assert.equal(result.status, 422);
    assert.deepEqual(result.body, {
      detail: [
        {
          type: "json_invalid",
          loc: ["body", 10],
          msg: "JSON decode error",
          input: {},
          ctx: { error: "Number out of range" },
        },
      ],
    });
  });
});

describe("numeric bounds", () => {
  const app = new App();
  app.get(
    "/bounds",
    {
      query: {
        gt: z.int().gt(5).optional(),
        ge: z.int().min(1).optional(),
        lt: z.int().lt(10).optional(),
        le: z.int().max(10).optional(),
        step: z.int().multipleOf(5).optional(),
        ratio: z.number().gt(0.5).optional(),
      },
    },
    ({ query }) => query,
  );
  app.get("/items/{item_id}", { params: { item_id: z.int().min(1) } }, ({ params }) => params);

  test("`greater_than` has ctx {gt}", async () => {
    assert422(await call(app, "/bounds?gt=5"), [
      {
        type: "greater_than",
        loc: ["query", "gt"],
        msg: "Input should be greater than 5",
        input: "5",
        ctx: { gt: 5 },
      },
    ]);
  });

  test("`greater_than_equal` has ctx {ge}", async () => {
    assert422(await call(app, "/bounds?ge=0"), [
      {
        type: "greater_than_equal",
        loc: ["query", "ge"],
        msg: "Input should be greater than or equal to 1",
        input: "0",
        ctx: { ge: 1 },
      },
    ]);
  });

  test("`greater_than_equal` on a path parameter reports the raw text", async () => {
    assert422(await call(app, "/items/0"), [
      {
        type: "greater_than_equal",
        loc: ["path", "item_id"],
        msg: "Input should be greater than or equal to 1",
        input: "0",
        ctx: { ge: 1 },
      },
    ]);
  });

  test("`less_than` has ctx {lt}", async () => {
    assert422(await call(app, "/bounds?lt=10"), [
      {
        type: "less_than",
        loc: ["query", "lt"],
        msg: "Input should be less than 10",
        input: "10",
        ctx: { lt: 10 },
      },
    ]);
  });

  test("`less_than_equal` has ctx {le}", async () => {
    assert422(await call(app, "/bounds?le=11"), [
      {
        type: "less_than_equal",
        loc: ["query", "le"],
        msg: "Input should be less than or equal to 10",
        input: "11",
        ctx: { le: 10 },
      },
    ]);
  });

  test("`multiple_of` has ctx {multiple_of}", async () => {
    assert422(await call(app, "/bounds?step=7"), [
      {
        type: "multiple_of",
        loc: ["query", "step"],
        msg: "Input should be a multiple of 5",
        input: "7",
        ctx: { multiple_of: 5 },
      },
    ]);
  });

  test("a fractional bound is written as it is", async () => {
    assert422(await call(app, "/bounds?ratio=0.25"), [
      {
        type: "greater_than",
        loc: ["query", "ratio"],
        msg: "Input should be greater than 0.5",
        input: "0.25",
        ctx: { gt: 0.5 },
      },
    ]);
  });

  test("the exact raw FastAPI text of a 422, keys in Pydantic's order", async () => {
    const result = await call(app, "/bounds?ge=0");
    assert.equal(
      result.text,
      '{"detail":[{"type":"greater_than_equal","loc":["query","ge"],' +
        '"msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]}',
    );
  });
});

describe("boolean errors", () => {
  const app = new App();
  app.get("/flags", { query: { flag: z.boolean() } }, ({ query }) => query);
  app.post("/flags", { body: z.object({ flag: z.boolean() }) }, ({ body }) => body);

  test("a query value that is not a boolean word is `bool_parsing`", async () => {
    assert422(await call(app, "/flags?flag=maybe"), [
      {
        type: "bool_parsing",
        loc: ["query", "flag"],
        msg: "Input should be a valid boolean, unable to interpret input",
        input: "maybe",
      },
    ]);
  });

  test("a body string where a boolean is expected is `bool_type`, even a boolean word (not coerced)", async () => {
    assert422(await postJson(app, "/flags", { flag: "true" }), [
      { type: "bool_type", loc: ["body", "flag"], msg: "Input should be a valid boolean", input: "true" },
    ]);
  });

  test("null where a boolean is expected is `bool_type`", async () => {
    assert422(await postJson(app, "/flags", { flag: null }), [
      { type: "bool_type", loc: ["body", "flag"], msg: "Input should be a valid boolean", input: null },
    ]);
  });

  test("the number 1 for a body boolean is `bool_type` (Pydantic's lax mode would accept it)", async () => {
    assert422(await postJson(app, "/flags", { flag: 1 }), [
      { type: "bool_type", loc: ["body", "flag"], msg: "Input should be a valid boolean", input: 1 },
    ]);
  });
});

describe("list errors", () => {
  const app = new App();
  app.post(
    "/tags",
    {
      body: z.object({
        tags: z.array(z.string()).max(10).optional(),
        some: z.array(z.string()).min(1).optional(),
        pair: z.array(z.int()).min(2).optional(),
      }),
    },
    ({ body }) => body,
  );
  app.get("/q", { query: { q: z.array(z.int()).max(2).optional() } }, ({ query }) => query);

  test("`too_long` for a list names the field type, the maximum and the actual length", async () => {
    const tags = Array.from({ length: 11 }, (_, index) => `t${index}`);
    assert422(await postJson(app, "/tags", { tags }), [
      {
        type: "too_long",
        loc: ["body", "tags"],
        msg: "List should have at most 10 items after validation, not 11",
        input: tags,
        ctx: { field_type: "List", max_length: 10, actual_length: 11 },
      },
    ]);
  });

  test("`too_short` for a list with a minimum of 1 says `item`, singular", async () => {
    assert422(await postJson(app, "/tags", { some: [] }), [
      {
        type: "too_short",
        loc: ["body", "some"],
        msg: "List should have at least 1 item after validation, not 0",
        input: [],
        ctx: { field_type: "List", min_length: 1, actual_length: 0 },
      },
    ]);
  });

  test("`too_short` for a list with a minimum of 2 says `items`", async () => {
    assert422(await postJson(app, "/tags", { pair: [1] }), [
      {
        type: "too_short",
        loc: ["body", "pair"],
        msg: "List should have at least 2 items after validation, not 1",
        input: [1],
        ctx: { field_type: "List", min_length: 2, actual_length: 1 },
      },
    ]);
  });

  test("a string where a list is expected is `list_type`", async () => {
    assert422(await postJson(app, "/tags", { tags: "x" }), [
      { type: "list_type", loc: ["body", "tags"], msg: "Input should be a valid list", input: "x" },
    ]);
  });

  test("a bad item of a repeated query key is located by its index", async () => {
    assert422(await call(app, "/q?q=1&q=x"), [
      { type: "int_parsing", loc: ["query", "q", 1], msg: INT_PARSING, input: "x" },
    ]);
  });

  test("`too_long` for a repeated query key reports the texts received", async () => {
    assert422(await call(app, "/q?q=1&q=2&q=3"), [
      {
        type: "too_long",
        loc: ["query", "q"],
        msg: "List should have at most 2 items after validation, not 3",
        input: ["1", "2", "3"],
        ctx: { field_type: "List", max_length: 2, actual_length: 3 },
      },
    ]);
  });
});

describe("object errors", () => {
  const app = new App();
  app.post("/items", { body: z.object({ name: z.string() }) }, ({ body }) => body);
  app.post("/outer", { body: z.object({ sub: z.object({ x: z.int() }).optional() }) }, ({ body }) => body);
  app.post("/strict", { body: z.strictObject({ name: z.string() }) }, ({ body }) => body);
  app.post("/strict-nested", { body: z.object({ sub: z.strictObject({ x: z.int() }) }) }, ({ body }) => body);
  app.get("/filter", { query: z.strictObject({ q: z.string().optional() }) }, ({ query }) => query);

  test("a JSON array body for an object schema is `model_attributes_type` at ['body']", async () => {
    assert422(await postJson(app, "/items", [1]), [
      { type: "model_attributes_type", loc: ["body"], msg: MODEL_ATTRIBUTES, input: [1] },
    ]);
  });

  test("a JSON string body for an object schema is `model_attributes_type` with the string as input", async () => {
    assert422(await postJson(app, "/items", "x"), [
      { type: "model_attributes_type", loc: ["body"], msg: MODEL_ATTRIBUTES, input: "x" },
    ]);
  });

  test("a JSON null body for a required body is a missing body, as FastAPI treats None", async () => {
    assert422(await postRaw(app, "/items", "null", "application/json"), [
      { type: "missing", loc: ["body"], msg: "Field required", input: null },
    ]);
  });

  test("a number where a nested object is expected is `model_attributes_type` at its field", async () => {
    assert422(await postJson(app, "/outer", { sub: 5 }), [
      { type: "model_attributes_type", loc: ["body", "sub"], msg: MODEL_ATTRIBUTES, input: 5 },
    ]);
  });

  test("each extra key of a strict body is one `extra_forbidden` with its value", async () => {
    assert422(await postJson(app, "/strict", { name: "a", extra: 1, more: [true] }), [
      { type: "extra_forbidden", loc: ["body", "extra"], msg: "Extra inputs are not permitted", input: 1 },
      {
        type: "extra_forbidden",
        loc: ["body", "more"],
        msg: "Extra inputs are not permitted",
        input: [true],
      },
    ]);
  });

  test("an extra key of a nested strict object is located inside it", async () => {
    assert422(await postJson(app, "/strict-nested", { sub: { x: 1, y: "z" } }), [
      {
        type: "extra_forbidden",
        loc: ["body", "sub", "y"],
        msg: "Extra inputs are not permitted",
        input: "z",
      },
    ]);
  });

  test("an unknown key of a strict query schema is `extra_forbidden` with its text", async () => {
    assert422(await call(app, "/filter?foo=bar"), [
      { type: "extra_forbidden", loc: ["query", "foo"], msg: "Extra inputs are not permitted", input: "bar" },
    ]);
  });

  test("unknown query keys are ignored by a non-strict query declaration", async () => {
    const ok = new App();
    ok.get("/q", { query: { q: z.string().optional() } }, ({ query }) => query);
    const result = await call(ok, "/q?foo=bar");
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, {});
  });
});

describe("enum and literal errors", () => {
  const app = new App();
  app.get(
    "/models/{model_name}",
    { params: { model_name: z.enum(["alexnet", "lenet"]) } },
    ({ params }) => params,
  );
  app.post(
    "/choices",
    { body: z.object({ letter: z.enum(["a", "b", "c"]).optional(), kind: z.literal("x").optional() }) },
    ({ body }) => body,
  );

  test("a value outside a two-value enum is `enum` with `'a' or 'b'`", async () => {
    assert422(await call(app, "/models/resnet"), [
      {
        type: "enum",
        loc: ["path", "model_name"],
        msg: "Input should be 'alexnet' or 'lenet'",
        input: "resnet",
        ctx: { expected: "'alexnet' or 'lenet'" },
      },
    ]);
  });

  test("a value outside a three-value enum lists them as `'a', 'b' or 'c'`", async () => {
    assert422(await postJson(app, "/choices", { letter: "d" }), [
      {
        type: "enum",
        loc: ["body", "letter"],
        msg: "Input should be 'a', 'b' or 'c'",
        input: "d",
        ctx: { expected: "'a', 'b' or 'c'" },
      },
    ]);
  });

  test("a value other than a literal is `literal_error`", async () => {
    assert422(await postJson(app, "/choices", { kind: "y" }), [
      {
        type: "literal_error",
        loc: ["body", "kind"],
        msg: "Input should be 'x'",
        input: "y",
        ctx: { expected: "'x'" },
      },
    ]);
  });
});

describe("malformed JSON", () => {
  const app = new App();
  app.post(
    "/items",
    { query: { q: z.int().optional() }, body: z.object({ a: z.int() }) },
    ({ body }) => body,
  );

  function jsonInvalid(position: number, error: string): ValidationIssue[] {
    return [
      { type: "json_invalid", loc: ["body", position], msg: "JSON decode error", input: {}, ctx: { error } },
    ];
  }

  test("a trailing comma in an object expects a property name at the brace (offset 8)", async () => {
    assert422(
      await postRaw(app, "/items", '{"a": 1,}', "application/json"),
      jsonInvalid(8, "Expecting property name enclosed in double quotes"),
    );
  });

  test("a trailing comma and a space expect a property name after the space (offset 9)", async () => {
    assert422(
      await postRaw(app, "/items", '{"a": 1, }', "application/json"),
      jsonInvalid(9, "Expecting property name enclosed in double quotes"),
    );
  });

  test("a missing comma between members is `Expecting ',' delimiter`", async () => {
    assert422(
      await postRaw(app, "/items", '{"name": "x" "b": 2}', "application/json"),
      jsonInvalid(13, "Expecting ',' delimiter"),
    );
  });

  test("a body of only whitespace is `Expecting value` at its end", async () => {
    assert422(await postRaw(app, "/items", "   ", "application/json"), jsonInvalid(3, "Expecting value"));
  });

  test("malformed JSON is reported alone, before parameter errors", async () => {
    assert422(
      await postRaw(app, "/items?q=abc", "{a:1}", "application/json"),
      jsonInvalid(1, "Expecting property name enclosed in double quotes"),
    );
  });
});

describe("locations and ordering", () => {
  const app = new App();
  app.post(
    "/nested",
    {
      body: z.object({
        tags: z.array(z.string()).optional(),
        subs: z.array(z.object({ x: z.int() })).optional(),
      }),
    },
    ({ body }) => body,
  );
  app.post(
    "/all/{id}",
    {
      params: { id: z.int() },
      query: { q: z.string() },
      headers: { x_token: z.string() },
      cookies: { session: z.string() },
      body: z.object({ name: z.string() }),
    },
    () => null,
  );
  app.get("/two", { query: { a: z.int(), b: z.int() } }, ({ query }) => query);
  app.get("/headers", { headers: { x_count: z.int() } }, ({ headers }) => headers);

  test("a bad list item in the body is located by its index", async () => {
    assert422(await postJson(app, "/nested", { tags: ["a", "b", "c", 4] }), [
      { type: "string_type", loc: ["body", "tags", 3], msg: "Input should be a valid string", input: 4 },
    ]);
  });

  test("a bad field of an object inside a list is located by index and key", async () => {
    assert422(await postJson(app, "/nested", { subs: [{ x: 1 }, { x: 2.5 }] }), [
      {
        type: "int_from_float",
        loc: ["body", "subs", 1, "x"],
        msg: "Input should be a valid integer, got a number with a fractional part",
        input: 2.5,
      },
    ]);
  });

  test("a missing field of an object inside a list reports that object as input", async () => {
    assert422(await postJson(app, "/nested", { subs: [{ x: 1 }, {}] }), [
      { type: "missing", loc: ["body", "subs", 1, "x"], msg: "Field required", input: {} },
    ]);
  });

  test("all errors of a request come together, in the order path, query, header, cookie, body", async () => {
    assert422(await postJson(app, "/all/abc", {}), [
      { type: "int_parsing", loc: ["path", "id"], msg: INT_PARSING, input: "abc" },
      { type: "missing", loc: ["query", "q"], msg: "Field required", input: null },
      { type: "missing", loc: ["header", "x-token"], msg: "Field required", input: null },
      { type: "missing", loc: ["cookie", "session"], msg: "Field required", input: null },
      { type: "missing", loc: ["body", "name"], msg: "Field required", input: {} },
    ]);
  });

  test("a request that satisfies every source reaches the handler", async () => {
    const result = await call(app, "/all/1?q=s", {
      method: "POST",
      headers: { "content-type": "application/json", "x-token": "t", cookie: "session=s" },
      body: '{"name": "n"}',
    });
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, null);
  });

  test("errors of one source follow the declaration order, not the query order", async () => {
    assert422(await call(app, "/two?b=x&a=y"), [
      { type: "int_parsing", loc: ["query", "a"], msg: INT_PARSING, input: "y" },
      { type: "int_parsing", loc: ["query", "b"], msg: INT_PARSING, input: "x" },
    ]);
  });

  test("an invalid header value is located at the hyphenated header name", async () => {
    assert422(await call(app, "/headers", { headers: { "X-Count": "many" } }), [
      { type: "int_parsing", loc: ["header", "x-count"], msg: INT_PARSING, input: "many" },
    ]);
  });

  test("a header sent with an underscore does not satisfy an underscored field", async () => {
    assert422(await call(app, "/headers", { headers: { x_count: "1" } }), [
      { type: "missing", loc: ["header", "x-count"], msg: "Field required", input: null },
    ]);
  });
});

describe("routing errors", () => {
  const app = new App();
  app.get("/things", {}, () => []);
  app.post("/things", {}, () => ({}));
  app.get("/things/{id}", {}, () => ({}));
  app.delete("/things/{id}", {}, () => null);
  app.post("/submit", {}, () => ({}));
  app.get("/typed/{id:int}", {}, ({ params }) => params);

  test("an unknown path is 404 {detail: 'Not Found'}", async () => {
    const result = await call(app, "/nowhere");
    assert.equal(result.status, 404);
    assert.equal(result.headers.get("content-type"), "application/json");
    assert.deepEqual(result.body, { detail: "Not Found" });
  });

  test("a path parameter failing its convertor is 404, not 422", async () => {
    const result = await call(app, "/typed/abc");
    assert.equal(result.status, 404);
    assert.deepEqual(result.body, { detail: "Not Found" });
  });

  test("a known path with another method is 405 with every allowed method, HEAD included for GET", async () => {
    const result = await call(app, "/things", { method: "PUT" });
    assert.equal(result.status, 405);
    assert.equal(result.headers.get("content-type"), "application/json");
    assert.equal(result.headers.get("allow"), "GET, HEAD, POST");
    assert.deepEqual(result.body, { detail: "Method Not Allowed" });
  });

  test("405 on a parameterized path lists the methods of every route matching it", async () => {
    const result = await call(app, "/things/7", { method: "PATCH" });
    assert.equal(result.status, 405);
    assert.equal(result.headers.get("allow"), "GET, HEAD, DELETE");
    assert.deepEqual(result.body, { detail: "Method Not Allowed" });
  });

  test("GET on a POST-only route is 405 with Allow: POST", async () => {
    const result = await call(app, "/submit");
    assert.equal(result.status, 405);
    assert.equal(result.headers.get("allow"), "POST");
    assert.deepEqual(result.body, { detail: "Method Not Allowed" });
  });

  test("HEAD on a POST-only route is 405 with an empty body and Allow: POST", async () => {
    const result = await call(app, "/submit", { method: "HEAD" });
    assert.equal(result.status, 405);
    assert.equal(result.headers.get("allow"), "POST");
    assert.equal(result.text, "");
  });
});

describe("body size limits", () => {
  const app = new App({ bodyLimit: 10 });
  app.post("/small", { body: z.unknown() }, ({ body }) => ({ got: body }));
  app.post("/tiny", { body: z.unknown(), bodyLimit: 5 }, ({ body }) => ({ got: body }));
  app.post("/large", { body: z.unknown(), bodyLimit: 100 }, ({ body }) => ({ got: body }));

  test("a body over the app's bodyLimit is 413", async () => {
    const result = await postRaw(app, "/small", '"abcdefghi"', "application/json");
    assert.equal(result.status, 413);
    assert.deepEqual(result.body, { detail: "Request body is larger than the limit of 10 bytes" });
  });

  test("a body of exactly the app's bodyLimit is accepted", async () => {
    const result = await postRaw(app, "/small", '"abcdefgh"', "application/json");
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { got: "abcdefgh" });
  });

  test("a route's own smaller bodyLimit applies", async () => {
    const result = await postRaw(app, "/tiny", '"abcd"', "application/json");
    assert.equal(result.status, 413);
    assert.deepEqual(result.body, { detail: "Request body is larger than the limit of 5 bytes" });
  });

  test("a route's own larger bodyLimit lets a body over the app's limit through", async () => {
    const result = await postRaw(app, "/large", '"abcdefghijklmnop"', "application/json");
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { got: "abcdefghijklmnop" });
  });

  test("the limit counts bytes, not characters", async () => {
    // 4 characters, 10 bytes: "é" is two bytes in UTF-8, so '"éééé"' is 10 bytes and '"ééééé"' is 12.
    assert.equal((await postRaw(app, "/small", '"éééé"', "application/json")).status, 200);
    assert.equal((await postRaw(app, "/small", '"ééééé"', "application/json")).status, 413);
  });
});

describe("content types", () => {
  const app = new App();
  app.post("/items", { body: z.object({ a: z.int() }) }, ({ body }) => body);

  test("a body sent as text/plain is 415", async () => {
    const result = await postRaw(app, "/items", '{"a": 1}', "text/plain");
    assert.equal(result.status, 415);
    assert.deepEqual(result.body, UNSUPPORTED);
  });

  test("a body without a content type is 415", async () => {
    const result = await postRaw(app, "/items", '{"a": 1}');
    assert.equal(result.status, 415);
    assert.deepEqual(result.body, UNSUPPORTED);
  });

  test("application/jsonx is 415", async () => {
    const result = await postRaw(app, "/items", '{"a": 1}', "application/jsonx");
    assert.equal(result.status, 415);
    assert.deepEqual(result.body, UNSUPPORTED);
  });

  test("text/json is 415", async () => {
    const result = await postRaw(app, "/items", '{"a": 1}', "text/json");
    assert.equal(result.status, 415);
    assert.deepEqual(result.body, UNSUPPORTED);
  });

  for (const type of ["application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json"]) {
    test(`${type} is accepted as JSON`, async () => {
      const result = await postRaw(app, "/items", '{"a": 1}', type);
      assert.equal(result.status, 200);
      assert.deepEqual(result.body, { a: 1 });
    });
  }

  test("a body that is not valid UTF-8 is 400 with FastAPI's parse-error detail", async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]); // {"a":"<0xff>"}
    const result = await call(app, "/items", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: bytes,
    });
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, { detail: "There was an error parsing the body" });
  });

  test("a UTF-8 byte order mark before the JSON is not an error", async () => {
    const result = await postRaw(app, "/items", '\ufeff{"a": 1}', "application/json");
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { a: 1 });
  });

  test("a JSON media type does not excuse invalid content: it is still validated", async () => {
    assert422(await postRaw(app, "/items", '{"a": 1.5}', "application/vnd.api+json"), [
      {
        type: "int_from_float",
        loc: ["body", "a"],
        msg: "Input should be a valid integer, got a number with a fractional part",
        input: 1.5,
      },
    ]);
  });
});

describe("prototype poisoning", () => {
  const app = new App();
  app.post("/any", { body: z.record(z.string(), z.unknown()) }, ({ body }) => body);

  test("a __proto__ key is 400", async () => {
    const result = await postRaw(app, "/any", '{"__proto__": {"x": 1}}', "application/json");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, POISONED);
  });

  test("a constructor.prototype key is 400", async () => {
    const result = await postRaw(app, "/any", '{"constructor": {"prototype": {"x": 1}}}', "application/json");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, POISONED);
  });

  test("a __proto__ key written with a JSON escape is 400", async () => {
    const result = await postRaw(app, "/any", '{"\\u005f_proto__": {"x": 1}}', "application/json");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, POISONED);
  });

  test("a nested __proto__ key is 400", async () => {
    const result = await postRaw(app, "/any", '{"a": [{"__proto__": {"x": 1}}]}', "application/json");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, POISONED);
  });

  test("a plain `constructor` key without `prototype` is accepted", async () => {
    const result = await postRaw(app, "/any", '{"constructor": 1}', "application/json");
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { constructor: 1 });
  });
});

describe("HTTPException", () => {
  const app = new App();
  app.get("/missing", {}, () => {
    throw new HTTPException(404, "Item not found", { "x-error": "e" });
  });
  app.get("/bad", {}, () => {
    throw new HTTPException(400);
  });
  app.get("/teapot", {}, () => {
    throw new HTTPException(418, { msg: "teapot" });
  });
  app.get("/null-detail", {}, () => {
    throw new HTTPException(400, null);
  });
  app.get("/no-content", {}, () => {
    throw new HTTPException(204, "ignored", { "x-reason": "none" });
  });
  app.get("/not-modified", {}, () => {
    throw new HTTPException(304, undefined, { etag: '"v1"' });
  });
  app.get("/async", {}, async () => {
    await Promise.resolve();
    throw new HTTPException(401, "Not authenticated", { "WWW-Authenticate": "Bearer" });
  });

  test("detail and headers are sent as given", async () => {
    const result = await call(app, "/missing");
    assert.equal(result.status, 404);
    assert.equal(result.headers.get("content-type"), "application/json");
    assert.equal(result.headers.get("x-error"), "e");
    assert.deepEqual(result.body, { detail: "Item not found" });
  });

  test("the default detail is the reason phrase (400 Bad Request)", async () => {
    const result = await call(app, "/bad");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, { detail: "Bad Request" });
  });

  test("a null detail also defaults to the reason phrase, as FastAPI's detail=None", async () => {
    const result = await call(app, "/null-detail");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, { detail: "Bad Request" });
  });

  test("an object detail is sent as JSON", async () => {
    const result = await call(app, "/teapot");
    assert.equal(result.status, 418);
    assert.deepEqual(result.body, { detail: { msg: "teapot" } });
  });

  test("a 204 HTTPException has an empty body and keeps its headers", async () => {
    const result = await call(app, "/no-content");
    assert.equal(result.status, 204);
    assert.equal(result.text, "");
    assert.equal(result.headers.get("x-reason"), "none");
    assert.equal(result.headers.get("content-type"), null);
  });

  test("a 304 HTTPException has an empty body and keeps its headers", async () => {
    const result = await call(app, "/not-modified");
    assert.equal(result.status, 304);
    assert.equal(result.text, "");
    assert.equal(result.headers.get("etag"), '"v1"');
  });

  test("an HTTPException from an async handler is rendered the same way", async () => {
    const result = await call(app, "/async");
    assert.equal(result.status, 401);
    assert.equal(result.headers.get("www-authenticate"), "Bearer");
    assert.deepEqual(result.body, { detail: "Not authenticated" });
  });
});

describe("exception handlers", () => {
  class AppError extends Error {}
  class NotFoundError extends AppError {}

  test("a RequestValidationError handler replaces the 422", async () => {
    const app = new App();
    app.exceptionHandler(RequestValidationError, (error) =>
      json({ errors: error.errors() }, { status: 400 }),
    );
    app.get("/q", { query: { limit: z.int() } }, ({ query }) => query);
    const result = await call(app, "/q?limit=x");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, {
      errors: [{ type: "int_parsing", loc: ["query", "limit"], msg: INT_PARSING, input: "x" }],
    });
  });

  test("a RequestValidationError handler also receives malformed-JSON errors", async () => {
    const app = new App();
    app.exceptionHandler(RequestValidationError, (error) =>
      json({ errors: error.errors() }, { status: 400 }),
    );
    app.post("/b", { body: z.object({ a: z.int() }) }, ({ body }) => body);
    const result = await postRaw(app, "/b", "[1 2]", "application/json");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, {
      errors: [
        {
          type: "json_invalid",
          loc: ["body", 3],
          msg: "JSON decode error",
          input: {},
          ctx: { error: "Expecting ',' delimiter" },
        },
      ],
    });
  });

  test("a status handler handles an HTTPException of that status", async () => {
    const app = new App();
    app.exceptionHandler(404, (error: HTTPException) => json({ missing: error.detail }, { status: 404 }));
    app.get("/item", {}, () => {
      throw new HTTPException(404, "Item not found");
    });
    const result = await call(app, "/item");
    assert.equal(result.status, 404);
    assert.deepEqual(result.body, { missing: "Item not found" });
  });

  test("a status handler also handles the router's own 404 for an unknown path", async () => {
    const app = new App();
    app.exceptionHandler(404, (error: HTTPException) => json({ missing: error.detail }, { status: 404 }));
    app.get("/item", {}, () => ({}));
    const result = await call(app, "/nowhere");
    assert.equal(result.status, 404);
    assert.deepEqual(result.body, { missing: "Not Found" });
  });

  test("a status handler leaves HTTPExceptions of other statuses alone", async () => {
    const app = new App();
    app.exceptionHandler(404, () => json({ custom: true }, { status: 404 }));
    app.get("/bad", {}, () => {
      throw new HTTPException(400, "nope");
    });
    const result = await call(app, "/bad");
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, { detail: "nope" });
  });

  test("a status handler takes precedence over an HTTPException class handler (Starlette's lookup order)", async () => {
    const app = new App();
    app.exceptionHandler(HTTPException, () => json({ by: "class" }, { status: 499 }));
    app.exceptionHandler(404, () => json({ by: "status" }, { status: 404 }));
    app.get("/item", {}, () => {
      throw new HTTPException(404);
    });
    const result = await call(app, "/item");
    assert.equal(result.status, 404);
    assert.deepEqual(result.body, { by: "status" });
  });

  test("a handler for a custom error class also catches its subclasses", async () => {
    const app = new App();
    app.exceptionHandler(AppError, (error) =>
      json({ kind: error.constructor.name, message: error.message }, { status: 409 }),
    );
    app.get("/thing", {}, () => {
      throw new NotFoundError("no thing");
    });
    const result = await call(app, "/thing");
    assert.equal(result.status, 409);
    assert.deepEqual(result.body, { kind: "NotFoundError", message: "no thing" });
  });

  test("a handler receives the request", async () => {
    const app = new App();
    app.exceptionHandler(AppError, (_error, { request }) =>
      json({ method: request.method, url: request.url }, { status: 400 }),
    );
    app.delete("/thing/{id}", {}, () => {
      throw new AppError("x");
    });
    const result = await call(app, "/thing/3?force=1", { method: "DELETE" });
    assert.equal(result.status, 400);
    assert.deepEqual(result.body, { method: "DELETE", url: "http://test/thing/3?force=1" });
  });

  test("a handler may return a web Response", async () => {
    const app = new App();
    app.exceptionHandler(AppError, () => new Response("gone", { status: 410 }));
    app.get("/thing", {}, () => {
      throw new AppError("x");
    });
    const result = await call(app, "/thing");
    assert.equal(result.status, 410);
    assert.equal(result.text, "gone");
  });

  test("a handler that throws gives 500 Internal Server Error and is logged", async () => {
    const { logger, logged } = capturingLogger();
    const app = new App({ logger });
    const failure = new Error("handler broke");
    app.exceptionHandler(AppError, () => {
      throw failure;
    });
    app.get("/thing", {}, () => {
      throw new AppError("x");
    });
    const result = await call(app, "/thing");
    assert.equal(result.status, 500);
    assert.equal(result.headers.get("content-type"), "application/json");
    assert.deepEqual(result.body, INTERNAL_ERROR);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.[1], failure);
  });

  test("a handler for Error does not take over the default 404 (FastAPI keeps HTTPException's own handler)", async () => {
    const { logger } = capturingLogger();
    const app = new App({ logger });
    app.exceptionHandler(Error, () => json({ caught: true }, { status: 500 }));
    app.get("/item", {}, () => ({}));
    const result = await call(app, "/nowhere");
    assert.equal(result.status, 404);
    assert.deepEqual(result.body, { detail: "Not Found" });
  });

  test("a handler for Error does not take over the default 422", async () => {
    const { logger } = capturingLogger();
    const app = new App({ logger });
    app.exceptionHandler(Error, () => json({ caught: true }, { status: 500 }));
    app.get("/q", { query: { q: z.string() } }, ({ query }) => query);
    assert422(await call(app, "/q"), [
      { type: "missing", loc: ["query", "q"], msg: "Field required", input: null },
    ]);
  });

  test("a handler for Error catches an unexpected error", async () => {
    const { logger } = capturingLogger();
    const app = new App({ logger });
    app.exceptionHandler(Error, (error) => json({ caught: error.message }, { status: 500 }));
    app.get("/boom", {}, () => {
      throw new TypeError("boom");
    });
    const result = await call(app, "/boom");
    assert.equal(result.status, 500);
    assert.deepEqual(result.body, { caught: "boom" });
  });

  test("a handler for status 500 catches an unexpected error (FastAPI installs it in ServerErrorMiddleware)", async () => {
    const { logger } = capturingLogger();
    const app = new App({ logger });
    app.exceptionHandler(500, () => json({ custom: "500" }, { status: 500 }));
    app.get("/boom", {}, () => {
      throw new TypeError("boom");
    });
    const result = await call(app, "/boom");
    assert.equal(result.status, 500);
    assert.deepEqual(result.body, { custom: "500" });
  });

  test("a ResponseValidationError handler replaces the generic 500", async () => {
    const app = new App();
    app.exceptionHandler(ResponseValidationError, (error) =>
      json({ issues: error.issues.length }, { status: 502 }),
    );
    app.get("/r", { response: z.object({ id: z.int() }) }, () => ({ id: "x" }) as unknown as { id: number });
    const result = await call(app, "/r");
    assert.equal(result.status, 502);
    assert.deepEqual(result.body, { issues: 1 });
  });
});

describe("server errors", () => {
  test("an unexpected throw is 500 Internal Server Error and the error is logged with its stack", async () => {
    const { logger, logged } = capturingLogger();
    const app = new App({ logger });
    const failure = new TypeError("secret internal detail");
    app.get("/boom", {}, () => {
      throw failure;
    });
    const result = await call(app, "/boom");
    assert.equal(result.status, 500);
    assert.equal(result.headers.get("content-type"), "application/json");
    assert.deepEqual(result.body, INTERNAL_ERROR);
    assert.equal(logged.length, 1);
    const [message, error] = logged[0]!;
    assert.equal(error, failure);
    assert.ok(failure.stack?.includes("secret internal detail"));
    assert.ok(message.includes("/boom"), `log message names the path: ${message}`);
  });

  test("a rejected async handler is 500 and logged", async () => {
    const { logger, logged } = capturingLogger();
    const app = new App({ logger });
    const failure = new Error("async failure");
    app.get("/boom", {}, async () => {
      await Promise.resolve();
      throw failure;
    });
    const result = await call(app, "/boom");
    assert.equal(result.status, 500);
    assert.deepEqual(result.body, INTERNAL_ERROR);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.[1], failure);
  });

  test("a thrown non-Error value is 500 and logged as it was thrown", async () => {
    const { logger, logged } = capturingLogger();
    const app = new App({ logger });
    app.get("/boom", {}, () => {
      throw "plain string";
    });
    const result = await call(app, "/boom");
    assert.equal(result.status, 500);
    assert.deepEqual(result.body, INTERNAL_ERROR);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.[1], "plain string");
  });

  test("a 4xx or 422 is not logged as an error", async () => {
    const { logger, logged } = capturingLogger();
    const app = new App({ logger });
    app.get("/q", { query: { q: z.string() } }, () => {
      throw new HTTPException(403);
    });
    assert.equal((await call(app, "/q")).status, 422);
    assert.equal((await call(app, "/q?q=1")).status, 403);
    assert.equal((await call(app, "/nowhere")).status, 404);
    assert.deepEqual(logged, []);
  });

  test("data that fails the response schema is 500 without leaking it, and the issues are logged", async () => {
    const { logger, logged } = capturingLogger();
    const app = new App({ logger });
    const Out = z.object({ id: z.int(), name: z.string() });
    app.get(
      "/items/{id}",
      { response: Out },
      () => ({ id: 1.5, secret: "leaked-secret" }) as unknown as z.input<typeof Out>,
    );
    const result = await call(app, "/items/1");
    assert.equal(result.status, 500);
    assert.deepEqual(result.body, INTERNAL_ERROR);
    assert.ok(!result.text.includes("leaked"));
    assert.equal(logged.length, 1);
    const error = logged[0]?.[1];
    assert.ok(error instanceof ResponseValidationError);
    assert.ok(typeof error.stack === "string");
    assert.deepEqual(error.issues, [
      {
        type: "int_from_float",
        loc: ["response", "id"],
        msg: "Input should be a valid integer, got a number with a fractional part",
        input: 1.5,
      },
      {
        type: "missing",
        loc: ["response", "name"],
        msg: "Field required",
        input: { id: 1.5, secret: "leaked-secret" },
      },
    ]);
    for (const issue of error.issues) assert.equal(issue.loc[0], "response");
  });
});
