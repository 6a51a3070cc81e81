import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import type { $ZodType } from "zod/v4/core";
import { compileFastParse, compileFastWrite, FAIL } from "../src/schema/plain.ts";
import { seededRandom } from "./helpers/random.ts";

// The fast paths must agree with Zod exactly: accept what Zod accepts, reject what it rejects, and produce Zod's
// output (parse) or the JSON text of it (write). Checked on values generated from each schema, most of them valid,
// some mutated, some arbitrary.

const ODD_VALUES: unknown[] = [
  undefined,
  null,
  0,
  -0,
  1,
  -1,
  1.5,
  100,
  101,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  "a",
  "abc",
  "x".repeat(101),
  "é😀",
  true,
  false,
  [],
  [1],
  ["a"],
  {},
  { a: 1 },
  "alexnet",
  "lenet",
  "x",
  7,
];

type Def = { type: string; shape?: Record<string, $ZodType>; element?: $ZodType; innerType?: $ZodType };

/** A value shaped by the schema, with a chance of a wrong leaf, a missing key or an extra key. */
function generate(schema: $ZodType, random: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  if (random() < 0.06 / (depth + 1) || depth > 6) return pick(ODD_VALUES);
  const def = schema._zod.def as unknown as Def;
  switch (def.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(def.shape ?? {})) {
        if (random() < 0.08 / (depth + 1)) continue;
        out[key] = generate(child, random, depth + 1);
      }
      if (random() < 0.15) out.extra = pick(ODD_VALUES);
      return out;
    }
    case "array":
      return Array.from({ length: Math.floor(random() * 13) }, () =>
        generate(def.element!, random, depth + 1),
      );
    case "optional":
    case "nullable":
    case "default":
      return random() < 0.25
        ? def.type === "nullable"
          ? null
          : undefined
        : generate(def.innerType!, random, depth + 1);
    case "string":
      return pick(["", "a", "ab", "abc", "hello", "x".repeat(100), "x".repeat(101), "é😀", 'a"b\\c\n']);
    case "number":
      return pick([0, 1, -1, 0.5, 2, 99.5, 100, 101, -3, 1e21, 2 ** 53 - 1, 2 ** 53, 7]);
    case "boolean":
      return random() < 0.5;
    case "enum":
    case "literal":
      return pick([...(schema._zod.values ?? []), "other", 1]);
    default:
      return pick(ODD_VALUES);
  }
}

const Item = z.object({
  name: z.string().min(1).max(100),
  price: z.number().gt(0),
  tags: z.array(z.string()).max(10).default([]),
  description: z.string().optional(),
});

const Tree: z.ZodType<{ value: number; children: unknown[] }> = z.object({
  value: z.number(),
  get children() {
    return z.array(Tree);
  },
});

const plain: [string, $ZodType][] = [
  ["the items example's Item", Item],
  ["a stored item (extend, int)", Item.extend({ id: z.int() })],
  [
    "a page of items",
    z.object({ limit: z.int().min(1).max(100), offset: z.int().min(0), items: z.array(Item) }),
  ],
  [
    "query parameters with defaults",
    z.object({ limit: z.int().min(1).max(100).default(10), q: z.string().optional() }),
  ],
  [
    "strings with length and pattern checks",
    z.object({ code: z.string().length(3), slug: z.string().regex(/^[a-z]+$/g) }),
  ],
  ["numbers with bounds", z.object({ a: z.number().gte(-1).lt(100), b: z.number().int(), c: z.int32() })],
  [
    "enums, literals and booleans",
    z.object({ model: z.enum(["alexnet", "lenet"]), kind: z.literal("x"), on: z.boolean() }),
  ],
  [
    "nullable and optional in every combination",
    z.object({
      a: z.string().nullable(),
      b: z.string().nullable().optional(),
      c: z.number().optional().nullable(),
    }),
  ],
  ["nested arrays with length bounds", z.array(z.array(z.int()).min(1).max(3)).max(5)],
  ["a strict object", z.strictObject({ a: z.string(), b: z.number().optional() })],
  ["a top-level optional", z.string().optional()],
  ["an array of optionals", z.array(z.number().optional())],
  ["defaults that are objects", z.object({ meta: z.object({ n: z.int() }).default({ n: 1 }) })],
  ["the null type", z.object({ nothing: z.null() })],
];

describe("plain Zod schemas: generated fast paths agree with Zod", () => {
  for (const [name, schema] of plain) {
    test(name, () => {
      const parse = compileFastParse(schema);
      const write = compileFastWrite(schema);
      assert.ok(parse !== undefined && write !== undefined, "the schema should be plain");
      const random = seededRandom(name.length * 7919);
      let accepted = 0;
      for (let round = 0; round < 3000; round++) {
        const value = generate(schema, random);
        const expected = schema["~standard"].validate(value) as { value?: unknown; issues?: unknown };
        const fast: unknown = parse(structuredCloneish(value));
        const text: string | typeof FAIL = write(value);
        if (expected.issues !== undefined) {
          assert.equal(fast, FAIL, `parse accepted what Zod rejects: ${show(value)}`);
          assert.equal(text, FAIL, `write accepted what Zod rejects: ${show(value)}`);
          continue;
        }
        accepted++;
        assert.notEqual(fast, FAIL, `parse rejected what Zod accepts: ${show(value)}`);
        assert.deepStrictEqual(fast, expected.value, `parse output differs for ${show(value)}`);
        assert.equal(
          text,
          JSON.stringify(expected.value) ?? "null",
          `write output differs for ${show(value)}`,
        );
      }
      assert.ok(accepted > 30, `too few valid samples (${accepted}) to mean anything`);
    });
  }
});

describe("schemas that are not plain run through Zod", () => {
  const others: [string, $ZodType][] = [
    ["refinements", z.string().refine((text) => text.length > 0)],
    ["transforms", z.string().transform((text) => text.length)],
    ["unions", z.union([z.string(), z.number()])],
    ["string formats", z.email()],
    ["records", z.record(z.string(), z.number())],
    ["dates", z.date()],
    ["loose objects", z.looseObject({ a: z.string() })],
    ["coercion", z.coerce.number()],
    [
      "a refinement deep inside",
      z.object({ items: z.array(z.object({ n: z.number().refine((n) => n > 0) })) }),
    ],
    ["multipleOf", z.number().multipleOf(0.1)],
    ["recursive objects", Tree],
  ];
  for (const [name, schema] of others) {
    test(name, () => {
      assert.equal(compileFastParse(schema), undefined);
      assert.equal(compileFastWrite(schema), undefined);
    });
  }
});

/** A copy for parse, so that a parser that mutated its input could not hide behind the shared value. */
function structuredCloneish(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(structuredCloneish);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, structuredCloneish(item)]));
  }
  return value;
}

function show(value: unknown): string {
  return JSON.stringify(value, (_, item) => (item === undefined ? "<undefined>" : item)) ?? String(value);
}
