import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App } from "briskjs";
import { z } from "zod";

// The response body is written by a serializer generated from the response schema; whatever it writes must be
// exactly what JSON.stringify would write for the schema's output.
const Item = z
  .object({ name: z.string(), price: z.number(), tags: z.array(z.string()).default([]) })
  .meta({ id: "SItem" });
const Tree: z.ZodType<{ value: number; children: unknown[] }> = z.object({
  value: z.number(),
  get children() {
    return z.array(Tree);
  },
});

const cases: [string, z.ZodType, unknown][] = [
  [
    "strings with quotes, control characters and non-ASCII",
    z.object({ s: z.string() }),
    { s: 'a"b\\c\n\u0001\u2028é你好' },
  ],
  [
    "numbers: negative, fractional, large",
    z.object({ a: z.number(), b: z.number(), c: z.int() }),
    { a: -0.5, b: 1e21, c: 9007199254740991 },
  ],
  [
    "nullable and optional fields",
    z.object({ n: z.string().nullable(), o: z.string().optional() }),
    { n: null },
  ],
  ["unions of scalars", z.object({ u: z.union([z.string(), z.number()]) }), { u: 5 }],
  ["records", z.object({ r: z.record(z.string(), z.number()) }), { r: { x: 1, "y z": 2 } }],
  ["dates through a transform-free schema", z.object({ d: z.date() }), { d: new Date(0) }],
  [
    "named schemas and defaults",
    z.array(Item),
    [
      { name: "a", price: 1 },
      { name: "b", price: 2, tags: ["t"] },
    ],
  ],
  ["recursive schemas", Tree, { value: 1, children: [{ value: 2, children: [] }] }],
  [
    "booleans and literals",
    z.object({ b: z.boolean(), l: z.literal("x"), e: z.enum(["p", "q"]) }),
    { b: false, l: "x", e: "q" },
  ],
  ["tuples", z.object({ t: z.tuple([z.string(), z.number()]) }), { t: ["a", 1] }],
];

describe("response serialization", () => {
  for (const [name, schema, value] of cases) {
    test(name, async () => {
      const app = new App();
      app.get("/", { response: schema }, () => value);
      const response = await app.fetch(new Request("http://test/"));
      assert.equal(response.status, 200);
      assert.equal(await response.text(), JSON.stringify(schema.parse(value)));
    });
  }

  test("every UTF-16 code unit is written as JSON.stringify writes it, alone, inside short text and long", async () => {
    const strings: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      const unit = String.fromCharCode(code);
      strings.push(unit, `ab${unit}cd`, `${"x".repeat(40)}${unit}`, `${unit}${"y".repeat(41)}`);
    }
    // Surrogates in pairs are characters, and are written as they are.
    strings.push("😀", `a😀b`, `${"z".repeat(39)}😀`);
    const app = new App();
    app.get("/", { response: z.array(z.string()) }, () => strings);
    const response = await app.fetch(new Request("http://test/"));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), JSON.stringify(strings));
  });

  test("keys outside the schema are dropped, also inside arrays and nested objects", async () => {
    const app = new App();
    const schema = z.object({ items: z.array(z.object({ id: z.int() })), meta: z.object({ n: z.int() }) });
    app.get("/", { response: schema }, () => ({
      items: [{ id: 1, secret: "s" }],
      meta: { n: 1, token: "t" },
      password: "p",
    }));
    const response = await app.fetch(new Request("http://test/"));
    assert.equal(await response.text(), '{"items":[{"id":1}],"meta":{"n":1}}');
  });

  test("a handler's thenable (a query builder's) is awaited as `await` would, with or without a schema", async () => {
    /** Like Drizzle's queries: not a Promise, and it runs only when `then` is called. */
    const query = <T>(value: T): PromiseLike<T> => ({
      // biome-ignore lint/suspicious/noThenProperty: the point is an object with a `then` that is not a Promise.
      then: (resolve, reject) => Promise.resolve(value).then(resolve, reject),
    });
    const app = new App()
      .get("/typed", { response: z.array(z.object({ id: z.int() })) }, () => query([{ id: 1, secret: "s" }]))
      .get("/plain", {}, () => query({ ok: true }));
    assert.equal(await (await app.fetch(new Request("http://test/typed"))).text(), '[{"id":1}]');
    assert.equal(await (await app.fetch(new Request("http://test/plain"))).text(), '{"ok":true}');
  });

  test("a response that fails its schema with a value JSON cannot write (a cycle) is still a 500, logged", async () => {
    const errors: string[] = [];
    const logger = {
      info() {},
      warn() {},
      error: (message: string, error?: unknown) => void errors.push(`${message} ${error}`),
    };
    const cyclic: Record<string, unknown> = { name: 1 };
    cyclic.self = cyclic;
    const app = new App({ logger }).get(
      "/",
      { response: z.object({ name: z.string() }) },
      () => cyclic as never,
    );
    const response = await app.fetch(new Request("http://test/"));
    assert.equal(response.status, 500);
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]!,
      /ResponseValidationError: Response of GET,HEAD \/ does not match its response schema/,
    );
  });
});

describe("422 bodies", () => {
  test("are exactly what JSON.stringify writes for them, with unusual inputs and contexts", async () => {
    const app = new App();
    app.post(
      "/items",
      {
        query: { n: z.int().gte(1) },
        body: z.strictObject({
          name: z
            .string()
            .min(3)
            .regex(/^[a-z"]+$/),
          tags: z.array(z.string()).max(1),
        }),
      },
      () => ({}),
    );
    const bodies = [
      '{"name":"é\\u0001\\"","tags":["a","b"],"extra":{"deep":[1,null]}}',
      '{"name":"\\ud800","tags":"x"}',
      "[1,2]",
      '{"tags":[]}',
    ];
    for (const body of bodies) {
      const response = await app.fetch(
        new Request("http://test/items?n=0", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        }),
      );
      assert.equal(response.status, 422);
      const text = await response.text();
      assert.equal(text, JSON.stringify(JSON.parse(text)), `body for ${body}`);
    }
  });
});
