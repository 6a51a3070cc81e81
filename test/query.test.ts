import assert from "node:assert/strict";
import { test } from "node:test";
import { parseQuery } from "../src/internal/query.ts";
import { seededRandom } from "./helpers/random.ts";

// brisk parses query strings itself (faster than URLSearchParams); it must read them exactly as the WHATWG
// URLSearchParams does, which is also how Starlette reads them. (Raw non-ASCII characters, which clients never send
// unencoded, are left out: Node's URLSearchParams turns some of them into U+FFFD, brisk keeps them.)
function reference(search: string): [string, string[]][] {
  const map = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(search)) {
    const values = map.get(key);
    if (values === undefined) map.set(key, [value]);
    else values.push(value);
  }
  return [...map];
}

test("parseQuery reads every query string as URLSearchParams does", () => {
  const alphabet = [
    "a",
    "b",
    "=",
    "&",
    "+",
    "%",
    "%2",
    "%41",
    "%E4%BD%A0",
    "%E0%A4",
    "%zz",
    "%F0%9F%98%80",
    " ",
    "~",
  ];
  const random = seededRandom(12345);
  for (let round = 0; round < 5000; round++) {
    const length = Math.floor(random() * 12);
    const search = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    assert.deepEqual([...parseQuery(search)], reference(search), `query string ${JSON.stringify(search)}`);
  }
});
