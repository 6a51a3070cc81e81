// Hostile input, class 1 of SECURITY.md §4: contract and validation edge cases, against the items example served
// over raw TCP. Every case asserts the exact status, a JSON error body with a `detail` and no stack trace, that the
// connection is closed or still usable as announced, that the server answers a normal request at once, and that a
// refused POST /items stored nothing (GET /items `total` unchanged).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App } from "briskjs";
import { z } from "zod";
import { app } from "../../examples/items/app.ts";
import {
  assertServes,
  assertValidationError,
  exchange,
  expectAccepted,
  expectRefusal,
  type Health,
  type Issue,
  ITEMS_HEALTH,
  postJson,
  request,
  serve,
} from "./raw-client.ts";

const served = serve(app);

/** A route that takes any JSON (no schema to catch a non-finite number) and echoes it. */
const anyApp = new App()
  .get("/ok", {}, () => ({ ok: true }))
  .post("/any", { body: z.unknown() }, ({ body }) => ({ body }));
const anyServed = serve(anyApp);
const ANY_HEALTH: Health = { target: "/ok" };

interface Stored {
  readonly id: number;
  readonly name: string;
  readonly price: number;
  readonly tags: readonly string[];
  readonly description?: string;
}

/** A refused request: the exact status, and nothing stored. Returns the answer's detail. */
async function refused(bytes: string | Buffer, status: number): Promise<unknown> {
  const { detail } = await expectRefusal(served.server, ITEMS_HEALTH, bytes, status, { connection: "keep" });
  return detail;
}

/** A refused request answered 422 (FastAPI's shape), nothing stored: returns its issues. */
async function invalid(bytes: string | Buffer): Promise<Issue[]> {
  const { response } = await expectRefusal(served.server, ITEMS_HEALTH, bytes, 422, { connection: "keep" });
  return assertValidationError(response);
}

/** POST /items accepted with 201: returns what was stored, re-read with GET /items/{id}, and checks the total. */
async function created(body: string | Buffer): Promise<{ readonly item: Stored; readonly raw: string }> {
  const before = (await assertServes(served.server, ITEMS_HEALTH))!;
  const { response, json } = await expectAccepted(served.server, ITEMS_HEALTH, postJson("/items", body), 201);
  const item = json as Stored;
  assert.equal(typeof item.id, "number");
  assert.equal(await assertServes(served.server, ITEMS_HEALTH), before + 1, "exactly one item stored");
  const { response: again, connection } = await exchange(
    served.server,
    request({ target: `/items/${item.id}` }),
  );
  await connection.destroy();
  assert.equal(again.status, 200);
  assert.deepEqual(JSON.parse(again.text), item, "what was answered is what was stored");
  return { item, raw: response.text };
}

const INT_PARSING = "Input should be a valid integer, unable to parse string as an integer";

describe("class 1: query and path coercion", () => {
  test("limit=abc is 422 in FastAPI's exact shape", async () => {
    const { response, connection } = await exchange(served.server, request({ target: "/items?limit=abc" }));
    await connection.destroy();
    assertValidationError(response);
    assert.deepEqual(JSON.parse(response.text), {
      detail: [{ type: "int_parsing", loc: ["query", "limit"], msg: INT_PARSING, input: "abc" }],
    });
    await refused(request({ target: "/items?limit=abc" }), 422);
  });

  for (const value of ["1.5", "1e1", "0x10", "", "five", "%00", "1%00"]) {
    test(`limit=${value} is 422 int_parsing with the raw text as input`, async () => {
      const issues = await invalid(request({ target: `/items?limit=${value}` }));
      assert.deepEqual(issues, [
        { type: "int_parsing", loc: ["query", "limit"], msg: INT_PARSING, input: decodeURIComponent(value) },
      ]);
    });
  }

  test("limit=0 and offset=-1 are 422 with both issues at once", async () => {
    const issues = await invalid(request({ target: "/items?limit=0&offset=-1" }));
    assert.deepEqual(issues, [
      {
        type: "greater_than_equal",
        loc: ["query", "limit"],
        msg: "Input should be greater than or equal to 1",
        input: "0",
        ctx: { ge: 1 },
      },
      {
        type: "greater_than_equal",
        loc: ["query", "offset"],
        msg: "Input should be greater than or equal to 0",
        input: "-1",
        ctx: { ge: 0 },
      },
    ]);
  });

  test("limit=101 is 422 less_than_equal", async () => {
    const issues = await invalid(request({ target: "/items?limit=101" }));
    assert.deepEqual(issues, [
      {
        type: "less_than_equal",
        loc: ["query", "limit"],
        msg: "Input should be less than or equal to 100",
        input: "101",
        ctx: { le: 100 },
      },
    ]);
  });

  test("a limit beyond any integer (23 digits) is 422 at query.limit, never a 500 or a rounded value", async () => {
    const huge = "99999999999999999999999";
    const issues = await invalid(request({ target: `/items?limit=${huge}` }));
    for (const issue of issues) {
      assert.deepEqual(issue.loc, ["query", "limit"]);
      assert.equal(issue.input, huge, "the input is the text as sent");
    }
    assert.ok(
      issues.some((issue) => issue.type === "less_than_equal" && issue.ctx?.le === 100),
      JSON.stringify(issues),
    );
  });

  test("a path id that is not an integer is 422 at path.item_id", async () => {
    const issues = await invalid(request({ target: "/items/abc" }));
    assert.deepEqual(issues, [
      { type: "int_parsing", loc: ["path", "item_id"], msg: INT_PARSING, input: "abc" },
    ]);
  });

  test("a repeated scalar query parameter takes the last value, as FastAPI does, and it is the one validated", async () => {
    const { json } = await expectAccepted(
      served.server,
      ITEMS_HEALTH,
      request({ target: "/items?limit=500&limit=7" }),
      200,
    );
    assert.equal((json as { limit: number }).limit, 7);
    const issues = await invalid(request({ target: "/items?limit=7&limit=500" }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.input, "500");
  });
});

describe("class 1: string length in code points", () => {
  test("a name of 100 emoji (100 code points, 200 UTF-16 units) is accepted and stored whole", async () => {
    const name = "😀".repeat(100);
    const { item } = await created(JSON.stringify({ name, price: 1 }));
    assert.equal(item.name, name);
    assert.equal([...item.name].length, 100);
  });

  test("a name of 101 emoji is 422 string_too_long, counted in code points", async () => {
    const name = "😀".repeat(101);
    const issues = await invalid(postJson("/items", JSON.stringify({ name, price: 1 })));
    assert.deepEqual(issues, [
      {
        type: "string_too_long",
        loc: ["body", "name"],
        msg: "String should have at most 100 characters",
        input: name,
        ctx: { max_length: 100 },
      },
    ]);
  });

  test("a name of 100 code points mixing ASCII, 2-byte, 3-byte and 4-byte characters is accepted; 101 is not", async () => {
    const name = "a".repeat(25) + "é".repeat(25) + "€".repeat(25) + "𝄞".repeat(25);
    assert.equal([...name].length, 100);
    const { item } = await created(JSON.stringify({ name, price: 2 }));
    assert.equal(item.name, name);
    const issues = await invalid(postJson("/items", JSON.stringify({ name: `${name}𝄞`, price: 2 })));
    assert.equal(issues[0]!.type, "string_too_long");
  });

  test("a name of 100 code points written as \\u escapes (surrogate pairs) is accepted", async () => {
    const escaped = "\\ud83d\\ude00".repeat(100);
    const { item } = await created(`{"name":"${escaped}","price":1}`);
    assert.equal(item.name, "😀".repeat(100));
  });

  test("a combining sequence counts each code point (e + U+0301 is two): 50 of them fit, 51 do not", async () => {
    const fits = "e\u0301".repeat(50);
    await created(JSON.stringify({ name: fits, price: 1 }));
    const issues = await invalid(postJson("/items", JSON.stringify({ name: `${fits}e\u0301`, price: 1 })));
    assert.equal(issues[0]!.type, "string_too_long");
  });

  test("an empty name is 422 string_too_short", async () => {
    const issues = await invalid(postJson("/items", '{"name":"","price":1}'));
    assert.deepEqual(issues, [
      {
        type: "string_too_short",
        loc: ["body", "name"],
        msg: "String should have at least 1 character",
        input: "",
        ctx: { min_length: 1 },
      },
    ]);
  });
});

describe("class 1: non-finite and huge numbers", () => {
  const outOfRange = (position: number) => ({
    detail: [
      {
        type: "json_invalid",
        loc: ["body", position],
        msg: "JSON decode error",
        input: {},
        ctx: { error: "Number out of range" },
      },
    ],
  });

  test('{"name":"a","price":1e400} is 422 json_invalid "Number out of range" at the number', async () => {
    const body = '{"name":"a","price":1e400}';
    const detail = await refused(postJson("/items", body), 422);
    assert.deepEqual({ detail }, outOfRange(body.indexOf("1e400")));
  });

  for (const literal of ["-1e400", "1E400", "1e+400", "2e308", "1.8e308", "-2e308"]) {
    test(`price ${literal} (beyond a double) is 422 json_invalid "Number out of range"`, async () => {
      const body = `{"name":"a","price":${literal}}`;
      const detail = await refused(postJson("/items", body), 422);
      assert.deepEqual({ detail }, outOfRange(body.indexOf(literal)));
    });
  }

  test("a number out of range anywhere in the body (inside tags) is refused before validation", async () => {
    const body = '{"name":"a","price":1,"tags":["x",1e999]}';
    const detail = await refused(postJson("/items", body), 422);
    assert.deepEqual({ detail }, outOfRange(body.indexOf("1e999")));
  });

  for (const literal of ["1e400", "-1e400", "[1, 2e308]", '{"a":{"b":1e999}}']) {
    test(`${literal} sent to a z.unknown() route is 422 json_invalid, never echoed as null`, async () => {
      const { detail, response } = await expectRefusal(
        anyServed.server,
        ANY_HEALTH,
        postJson("/any", literal),
        422,
        {
          connection: "keep",
        },
      );
      assert.doesNotMatch(response.text, /null/);
      const match = /-?\d(?:\.\d+)?[eE]\d+/.exec(literal)!;
      assert.deepEqual({ detail }, outOfRange(match.index));
    });
  }

  for (const literal of ["NaN", "Infinity", "-Infinity", "-NaN", "nan", "inf"]) {
    test(`the literal ${literal} is 422 json_invalid (not a JSON value)`, async () => {
      const body = `{"name":"a","price":${literal}}`;
      const detail = (await refused(postJson("/items", body), 422)) as Issue[];
      assert.equal(detail.length, 1);
      assert.equal(detail[0]!.type, "json_invalid");
      assert.equal(detail[0]!.msg, "JSON decode error");
      assert.deepEqual(detail[0]!.loc, ["body", body.indexOf(literal)]);
    });
  }

  test('a quoted "1e400" price is 422 float_type or similar, never Infinity stored', async () => {
    const issues = await invalid(postJson("/items", '{"name":"a","price":"1e400"}'));
    assert.deepEqual(issues[0]!.loc, ["body", "price"]);
  });

  test("the largest double (1.7976931348623157e308) is accepted and stored exactly", async () => {
    const { item, raw } = await created('{"name":"max","price":1.7976931348623157e308}');
    assert.equal(item.price, Number.MAX_VALUE);
    assert.doesNotMatch(raw, /null|Infinity/);
  });

  test("1e308 is accepted and stored as 1e308", async () => {
    const { item } = await created('{"name":"big","price":1e308}');
    assert.equal(item.price, 1e308);
  });

  test("a 23-digit integer price is accepted as the nearest double", async () => {
    const { item } = await created('{"name":"digits","price":12345678901234567890123}');
    assert.equal(item.price, Number("12345678901234567890123"));
  });

  test("the smallest subnormal (5e-324) is accepted: it is greater than 0", async () => {
    const { item } = await created('{"name":"tiny","price":5e-324}');
    assert.equal(item.price, 5e-324);
  });

  test("1e-400 underflows to 0, and that 0 is what is validated: 422 greater_than", async () => {
    const issues = await invalid(postJson("/items", '{"name":"a","price":1e-400}'));
    assert.deepEqual(issues, [
      {
        type: "greater_than",
        loc: ["body", "price"],
        msg: "Input should be greater than 0",
        input: 0,
        ctx: { gt: 0 },
      },
    ]);
  });

  test("-0 is 422 greater_than", async () => {
    const issues = await invalid(postJson("/items", '{"name":"a","price":-0}'));
    assert.equal(issues[0]!.type, "greater_than");
  });
});

describe("class 1: bodies that are not objects", () => {
  for (const body of ["[]", '"x"', "1", "true", '[{"name":"a","price":1}]']) {
    test(`a body of ${body} is 422 model_attributes_type at ["body"]`, async () => {
      const issues = await invalid(postJson("/items", body));
      assert.deepEqual(issues, [
        {
          type: "model_attributes_type",
          loc: ["body"],
          msg: "Input should be a valid dictionary or object to extract fields from",
          input: JSON.parse(body),
        },
      ]);
    });
  }

  test('a body of null is 422 missing at ["body"]', async () => {
    const issues = await invalid(postJson("/items", "null"));
    assert.deepEqual(issues, [{ type: "missing", loc: ["body"], msg: "Field required", input: null }]);
  });

  test("an object missing every field is 422 with each field reported", async () => {
    const issues = await invalid(postJson("/items", "{}"));
    assert.deepEqual(
      issues.map((issue) => [issue.type, issue.loc]),
      [
        ["missing", ["body", "name"]],
        ["missing", ["body", "price"]],
      ],
    );
  });

  test("wrong types in every field are reported at once, none coerced from JSON strings", async () => {
    const issues = await invalid(postJson("/items", '{"name":1,"price":"2","tags":"x","description":[]}'));
    assert.deepEqual(
      issues.map((issue) => issue.loc),
      [
        ["body", "name"],
        ["body", "price"],
        ["body", "tags"],
        ["body", "description"],
      ],
    );
  });

  test("eleven tags are 422 too_long", async () => {
    const tags = Array.from({ length: 11 }, (_, index) => `t${index}`);
    const issues = await invalid(postJson("/items", JSON.stringify({ name: "a", price: 1, tags })));
    assert.equal(issues[0]!.type, "too_long");
    assert.deepEqual(issues[0]!.loc, ["body", "tags"]);
  });
});

describe("class 1: unknown keys", () => {
  test("unknown keys are dropped: not stored, not echoed, and a client-sent id is not used", async () => {
    const { item, raw } = await created(
      '{"name":"u","price":1,"secret":"s3cr3t-value","id":999999,"isAdmin":true,"nested":{"x":"hidden"}}',
    );
    assert.notEqual(item.id, 999999);
    assert.deepEqual(Object.keys(item).toSorted(), ["id", "name", "price", "tags"]);
    assert.doesNotMatch(raw, /s3cr3t-value|isAdmin|hidden|999999/);
    // Nor in the listing.
    const { response, connection } = await exchange(served.server, request({ target: "/items?limit=100" }));
    await connection.destroy();
    assert.doesNotMatch(response.text, /s3cr3t-value|isAdmin|hidden|999999/);
  });

  test("an unknown key's value is not echoed by a 422 about another field", async () => {
    const before = await assertServes(served.server, ITEMS_HEALTH);
    const { response, connection } = await exchange(
      served.server,
      postJson("/items", '{"name":"","price":1,"secret":"s3cr3t-value"}'),
    );
    await connection.destroy();
    const issues = assertValidationError(response);
    assert.deepEqual(issues[0]!.loc, ["body", "name"]);
    assert.doesNotMatch(response.text, /s3cr3t-value/);
    assert.equal(await assertServes(served.server, ITEMS_HEALTH), before);
  });
});
