import assert from "node:assert/strict";
import { test } from "node:test";
import { findJsonSyntaxError } from "../src/internal/json-error.ts";

// [text, position, message] as reported by CPython's json.loads (JSONDecodeError.pos / .msg).
const MALFORMED: ReadonlyArray<readonly [string, number, string]> = [
  ["", 0, "Expecting value"],
  ["   ", 3, "Expecting value"],
  ["\t\n\r ", 4, "Expecting value"],
  ['{"a": 1,}', 8, "Expecting property name enclosed in double quotes"],
  ["{a:1}", 1, "Expecting property name enclosed in double quotes"],
  ['{"a" 1}', 5, "Expecting ':' delimiter"],
  ['{"a": 1 "b": 2}', 8, "Expecting ',' delimiter"],
  ["[1 2]", 3, "Expecting ',' delimiter"],
  ["[1,]", 3, "Expecting value"],
  ['{"a": }', 6, "Expecting value"],
  ["1 2", 2, "Extra data"],
  ['"abc', 0, "Unterminated string starting at"],
  ['"a\u0001b"', 2, "Invalid control character at"],
  ['"\\x"', 1, "Invalid \\escape"],
  ['"\\u12"', 2, "Invalid \\uXXXX escape"],
  ['"\\u12"]', 2, "Invalid \\uXXXX escape"],
  ['"\\uzzzz"', 2, "Invalid \\uXXXX escape"],
  ['"\\u1234', 2, "Invalid \\uXXXX escape"],
  ['"\\ud800\\u12"', 8, "Invalid \\uXXXX escape"],
  ['"\\ud800\\uzzzz"', 8, "Invalid \\uXXXX escape"],
  ["01", 1, "Extra data"],
  ["[01]", 2, "Expecting ',' delimiter"],
  ["-", 0, "Expecting value"],
  ["1.", 1, "Extra data"],
  ["1e", 1, "Extra data"],
  ["1e+", 1, "Extra data"],
  ["-01", 2, "Extra data"],
  [".5", 0, "Expecting value"],
  ["+1", 0, "Expecting value"],
  ["[", 1, "Expecting value"],
  ["[1", 2, "Expecting ',' delimiter"],
  ["[1,", 3, "Expecting value"],
  ["{", 1, "Expecting property name enclosed in double quotes"],
  ['{"a"', 4, "Expecting ':' delimiter"],
  ['{"a":', 5, "Expecting value"],
  ['{"a":1', 6, "Expecting ',' delimiter"],
  ['{"a":1,', 7, "Expecting property name enclosed in double quotes"],
  ["{,}", 1, "Expecting property name enclosed in double quotes"],
  ["[,]", 1, "Expecting value"],
  ["]", 0, "Expecting value"],
  ["}", 0, "Expecting value"],
  ["nul", 0, "Expecting value"],
  ["True", 0, "Expecting value"],
  ["'a'", 0, "Expecting value"],
  ["[1]]", 3, "Extra data"],
  ['{"a":1}}', 7, "Extra data"],
  ["\ufeff[]", 0, "Unexpected UTF-8 BOM (decode using utf-8-sig)"],
  ["[\u00a01]", 1, "Expecting value"],
  ["[\f1]", 1, "Expecting value"],
  ['"\\', 0, "Unterminated string starting at"],
  ['"abc\\"', 0, "Unterminated string starting at"],
  ['{"a\u0000":1}', 3, "Invalid control character at"],
  ["[1] x", 4, "Extra data"],
  ['"\n"', 1, "Invalid control character at"],
  ["1.5e", 3, "Extra data"],
  ["[-]", 1, "Expecting value"],
  ["[1.]", 2, "Expecting ',' delimiter"],
  ["{}{}", 2, "Extra data"],
  ['{"a":1 , }', 9, "Expecting property name enclosed in double quotes"],
  ["[1,\n]", 4, "Expecting value"],
  ["tru", 0, "Expecting value"],
  ["nulll", 4, "Extra data"],
  ['["a" "b"]', 5, "Expecting ',' delimiter"],
  ["[[[]]", 5, "Expecting ',' delimiter"],
  ['{"a":{"b":[1,2}}', 14, "Expecting ',' delimiter"],
];

// Python accepts these; we report them as missing values on purpose.
const NON_FINITE: ReadonlyArray<readonly [string, number, string]> = [
  ["NaN", 0, "Expecting value"],
  ["[1, Infinity]", 4, "Expecting value"],
  ['{"a": -Infinity}', 6, "Expecting value"],
];

test("reports CPython's position and message for malformed texts", () => {
  for (const [text, position, message] of [...MALFORMED, ...NON_FINITE]) {
    assert.deepEqual(findJsonSyntaxError(text), { position, message }, `for ${JSON.stringify(text)}`);
  }
});

test("every malformed case is also rejected by JSON.parse", () => {
  for (const [text] of [...MALFORMED, ...NON_FINITE]) {
    assert.throws(() => JSON.parse(text), SyntaxError, `for ${JSON.stringify(text)}`);
  }
});

test("returns undefined for valid JSON", () => {
  const valid = [
    "0",
    "-0.0e+1",
    " \t\n\r1E-7 ",
    '""',
    '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00"',
    '"\\ud800 lone surrogate escape"',
    '"\ud800 raw lone surrogate"',
    "null",
    "[]",
    "{}",
    "[ ]",
    "{ }",
    '{"a": [1, 2.5, true, false, null, {"b": {}}], "c": "\u00e9"}',
    "[[[[1]]], [[]]]",
  ];
  for (const text of valid) {
    JSON.parse(text);
    assert.equal(findJsonSyntaxError(text), undefined, `for ${JSON.stringify(text)}`);
  }
});

test("handles 1,000,000 levels of nesting without recursion", () => {
  const depth = 1_000_000;
  const started = performance.now();
  assert.deepEqual(findJsonSyntaxError("[".repeat(depth)), { position: depth, message: "Expecting value" });
  assert.equal(findJsonSyntaxError("[".repeat(depth) + "]".repeat(depth)), undefined);
  const objects = '{"a":'.repeat(depth);
  assert.deepEqual(findJsonSyntaxError(`${objects}1${"}".repeat(depth - 1)}]`), {
    position: objects.length + depth,
    message: "Expecting ',' delimiter",
  });
  assert.ok(performance.now() - started < 5_000);
});
