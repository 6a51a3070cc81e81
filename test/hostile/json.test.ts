// Hostile input, class 2 of SECURITY.md §4: JSON parsing hazards (strict syntax, empty bodies, duplicate keys,
// prototype keys, nesting, key counts, long numbers, invalid UTF-8, surrogates, BOM), over raw TCP against the
// items example and a small app whose route takes any JSON (`z.unknown()`) and echoes it. After every case: the exact
// status, a JSON error body with a `detail` and no stack trace, the connection still usable, the server serving at
// once, and nothing stored by a refused POST /items.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App } from "briskjs";
import { z } from "zod";
import { app as items } from "../../examples/items/app.ts";
import { recordingLogger } from "../helpers/app.ts";
import {
  assertServes,
  assertValidationError,
  chunked,
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

const logger = recordingLogger();
/** Echoes whatever JSON it is sent; also reports whether Object.prototype was touched. */
const anyApp = new App({ logger })
  .get("/ok", {}, () => ({ ok: true, polluted: ({} as Record<string, unknown>).polluted !== undefined }))
  .post("/any", { body: z.unknown() }, ({ body }) => ({ body }));
const ANY_HEALTH: Health = { target: "/ok" };

const itemsServer = serve(items);
const anyServer = serve(anyApp);

interface Stored {
  readonly id: number;
  readonly name: string;
  readonly price: number;
}

/** A refused POST /items: exact status, nothing stored, connection still usable. Returns the detail. */
async function refusedItem(
  body: string | Buffer,
  status: number,
  fields?: readonly string[],
): Promise<unknown> {
  const { detail } = await expectRefusal(
    itemsServer.server,
    ITEMS_HEALTH,
    postJson("/items", body, fields),
    status,
    {
      connection: "keep",
    },
  );
  return detail;
}

/** A refused POST /any. Returns the detail. */
async function refusedAny(body: string | Buffer, status: number): Promise<unknown> {
  const { detail } = await expectRefusal(anyServer.server, ANY_HEALTH, postJson("/any", body), status, {
    connection: "keep",
  });
  return detail;
}

/** A POST /any accepted: returns the body echoed. */
async function echoed(body: string | Buffer): Promise<unknown> {
  const { json } = await expectAccepted(anyServer.server, ANY_HEALTH, postJson("/any", body), 200);
  return (json as { body: unknown }).body;
}

/** POST /items accepted: returns the item as stored (re-read by id), and checks one item was added. */
async function createdItem(body: string | Buffer): Promise<Stored> {
  const before = (await assertServes(itemsServer.server, ITEMS_HEALTH))!;
  const { json } = await expectAccepted(itemsServer.server, ITEMS_HEALTH, postJson("/items", body), 201);
  const item = json as Stored;
  assert.equal(await assertServes(itemsServer.server, ITEMS_HEALTH), before + 1);
  const { response, connection } = await exchange(
    itemsServer.server,
    request({ target: `/items/${item.id}` }),
  );
  await connection.destroy();
  assert.equal(response.status, 200);
  assert.deepEqual(JSON.parse(response.text), item, "what was answered is what was stored");
  return item;
}

/** Asserts FastAPI's json_invalid 422 body: one issue at ["body", position] with CPython's message. */
function assertJsonInvalid(detail: unknown, position: number, message: string): void {
  assert.deepEqual(detail, [
    {
      type: "json_invalid",
      loc: ["body", position],
      msg: "JSON decode error",
      input: {},
      ctx: { error: message },
    },
  ]);
}

describe("class 2: strict syntax", () => {
  const cases: [string, string, number, string][] = [
    [
      "a trailing comma in an object",
      '{"name":"a","price":1,}',
      22,
      "Expecting property name enclosed in double quotes",
    ],
    ["single quotes", "{'name':'a','price':1}", 1, "Expecting property name enclosed in double quotes"],
    [
      "a block comment",
      '{"name":"a",/* x */"price":1}',
      12,
      "Expecting property name enclosed in double quotes",
    ],
    [
      "a line comment",
      '{"name":"a", // x\n"price":1}',
      13,
      "Expecting property name enclosed in double quotes",
    ],
    ["unquoted keys", '{name:"a",price:1}', 1, "Expecting property name enclosed in double quotes"],
    ["a leading plus", '{"name":"a","price":+1}', 20, "Expecting value"],
    ["a leading decimal point", '{"name":"a","price":.5}', 20, "Expecting value"],
    ["a hex number", '{"name":"a","price":0x10}', 21, "Expecting ',' delimiter"],
    ["a leading zero", '{"name":"a","price":01}', 21, "Expecting ',' delimiter"],
    ["a truncated document", '{"name":"a","price":1', 21, "Expecting ',' delimiter"],
    ["an unterminated string", '{"name":"a', 8, "Unterminated string starting at"],
    ["a raw tab inside a string", '{"name":"a\tb","price":1}', 10, "Invalid control character at"],
    ["an invalid escape", '{"name":"a\\x41","price":1}', 10, "Invalid \\escape"],
    ["a short \\u escape", '{"name":"\\u12","price":1}', 10, "Invalid \\uXXXX escape"],
    ["two documents", '{"name":"a","price":1}{"name":"b","price":1}', 22, "Extra data"],
    ["undefined", '{"name":"a","price":undefined}', 20, "Expecting value"],
  ];
  for (const [what, body, position, message] of cases) {
    test(`${what} is 422 json_invalid: ${message} at ${position}`, async () => {
      assertJsonInvalid(await refusedItem(body, 422), position, message);
    });
  }

  test("a trailing comma in an array is 422 json_invalid: Expecting value", async () => {
    assertJsonInvalid(await refusedAny("[1,]", 422), 3, "Expecting value");
  });

  test("a body of whitespace only is 422 json_invalid, not a missing body", async () => {
    assertJsonInvalid(await refusedItem("   \r\n\t", 422), 6, "Expecting value");
  });

  test("an empty body with Content-Type application/json is 422 missing body", async () => {
    const detail = await refusedItem("", 422);
    assert.deepEqual(detail, [{ type: "missing", loc: ["body"], msg: "Field required", input: null }]);
  });

  test("an empty chunked body is 422 missing body too", async () => {
    const bytes = request({
      method: "POST",
      target: "/items",
      fields: ["Content-Type: application/json", "Transfer-Encoding: chunked"],
      body: chunked("", 1),
    });
    const { detail } = await expectRefusal(itemsServer.server, ITEMS_HEALTH, bytes, 422, {
      connection: "keep",
    });
    assert.deepEqual(detail, [{ type: "missing", loc: ["body"], msg: "Field required", input: null }]);
  });

  test("a body split across many small chunks is parsed as one document", async () => {
    const bytes = request({
      method: "POST",
      target: "/any",
      fields: ["Content-Type: application/json", "Transfer-Encoding: chunked"],
      body: chunked('{"a":[1,2,{"b":"😀"}]}', 1),
    });
    const { json } = await expectAccepted(anyServer.server, ANY_HEALTH, bytes, 200);
    assert.deepEqual(json, { body: { a: [1, 2, { b: "😀" }] } });
  });
});

describe("class 2: duplicate keys", () => {
  test("the last of duplicate keys wins, and the value validated is the value stored", async () => {
    const item = await createdItem('{"name":"first","price":-1,"name":"second","price":2}');
    assert.equal(item.name, "second");
    assert.equal(item.price, 2);
  });

  test("a valid first value does not hide an invalid last one: 422, nothing stored", async () => {
    const detail = (await refusedItem('{"name":"ok","price":2,"price":-1}', 422)) as Issue[];
    assert.deepEqual(detail, [
      {
        type: "greater_than",
        loc: ["body", "price"],
        msg: "Input should be greater than 0",
        input: -1,
        ctx: { gt: 0 },
      },
    ]);
  });

  test("a duplicate written with a \\u escape is the same key: last wins", async () => {
    const item = await createdItem('{"name":"plain","price":1,"n\\u0061me":"escaped"}');
    assert.equal(item.name, "escaped");
  });
});

describe("class 2: prototype keys", () => {
  const FORBIDDEN = "The body contains a forbidden key (__proto__ or constructor.prototype)";
  const cases: [string, string][] = [
    ["__proto__", '{"name":"a","price":1,"__proto__":{"polluted":1}}'],
    ["__proto__ first", '{"__proto__":{"polluted":1},"name":"a","price":1}'],
    [
      "__proto__ written with \\u escapes",
      '{"name":"a","price":1,"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":1}}',
    ],
    ["constructor.prototype", '{"name":"a","price":1,"constructor":{"prototype":{"polluted":1}}}'],
    ["__proto__ nested in an array", '{"name":"a","price":1,"tags":[{"__proto__":{"polluted":1}}]}'],
    ["__proto__ with a null value", '{"name":"a","price":1,"__proto__":null}'],
  ];
  for (const [what, body] of cases) {
    test(`${what} is 400 and stores nothing`, async () => {
      assert.equal(await refusedItem(body, 400), FORBIDDEN);
    });
  }

  test("__proto__ deep inside any JSON is 400", async () => {
    assert.equal(await refusedAny('{"a":{"b":[{"c":{"__proto__":{"polluted":1}}}]}}', 400), FORBIDDEN);
  });

  test("a plain constructor key (without prototype) is an ordinary unknown key: accepted and dropped", async () => {
    const item = await createdItem('{"name":"ctor","price":1,"constructor":{"name":"x"}}');
    assert.deepEqual(Object.keys(item).toSorted(), ["id", "name", "price", "tags"]);
  });

  test("__proto__ as a string value (not a key) is accepted", async () => {
    const item = await createdItem('{"name":"__proto__","price":1}');
    assert.equal(item.name, "__proto__");
  });

  test("after all of the above, Object.prototype is untouched in the server process", async () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const { json } = await expectAccepted(anyServer.server, ANY_HEALTH, request({ target: "/ok" }), 200);
    assert.deepEqual(json, { ok: true, polluted: false });
  });
});

describe("class 2: nesting depth (limits.jsonDepth = 64)", () => {
  const DEEP = "The JSON body is nested deeper than 64 levels";
  const arrays = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

  test("exactly 64 nested arrays are accepted by a z.unknown() route and echoed intact", async () => {
    const body = await echoed(arrays(64));
    assert.equal(JSON.stringify(body), arrays(64));
  });

  test("64 levels mixing objects and arrays are accepted", async () => {
    let text = "1";
    for (let level = 0; level < 64; level++) text = level % 2 === 0 ? `{"k":${text}}` : `[${text}]`;
    assert.equal(JSON.stringify(await echoed(text)), text);
  });

  test("65 nested arrays are 400", async () => {
    assert.equal(await refusedAny(arrays(65), 400), DEEP);
  });

  test("65 levels on the items route are 400, nothing stored", async () => {
    assert.equal(await refusedItem(`{"name":"a","price":1,"tags":${arrays(64)}}`, 400), DEEP);
  });

  test("64 levels on the items route pass the parser and reach validation: 422 at body.tags", async () => {
    const detail = (await refusedItem(`{"name":"a","price":1,"tags":${arrays(63)}}`, 422)) as Issue[];
    assert.ok(detail.length > 0);
    for (const issue of detail) assert.deepEqual(issue.loc.slice(0, 2), ["body", "tags"]);
  });

  test("100,000 nested arrays are 400 (no stack overflow)", async () => {
    assert.equal(await refusedAny(arrays(100_000), 400), DEEP);
  });

  test("100,000 unclosed brackets are 400", async () => {
    assert.equal(await refusedAny("[".repeat(100_000), 400), DEEP);
  });

  test("brackets inside strings do not count as nesting", async () => {
    // Also after an escaped quote, which a naive scanner would take for the end of the string.
    const value = { s: "[".repeat(1000), t: `\\"${"{".repeat(1000)}`, u: "\\" };
    assert.deepEqual(await echoed(JSON.stringify(value)), value);
  });
});

describe("class 2: keys per object (limits.jsonKeys = 10,000)", () => {
  const MANY = "The JSON body has an object of more than 10000 keys";
  const object = (count: number, prefix = "k") =>
    `{${Array.from({ length: count }, (_, index) => `"${prefix}${index}":0`).join(",")}}`;

  test("an object of exactly 10,000 keys is accepted", async () => {
    const body = (await echoed(object(10_000))) as Record<string, number>;
    assert.equal(Object.keys(body).length, 10_000);
  });

  test("an object of 10,001 keys is 400", async () => {
    assert.equal(await refusedAny(object(10_001), 400), MANY);
  });

  test("10,001 keys in the items body are 400, nothing stored", async () => {
    const extra = Array.from({ length: 9_999 }, (_, index) => `"x${index}":0`).join(",");
    assert.equal(await refusedItem(`{"name":"a","price":1,${extra}}`, 400), MANY);
  });

  test("the limit is per object: two sibling objects of 6,000 keys are accepted", async () => {
    const body = (await echoed(`[${object(6_000, "a")},${object(6_000, "b")}]`)) as object[];
    assert.equal(body.length, 2);
  });

  test("colons inside strings are not keys", async () => {
    const body = await echoed(JSON.stringify({ s: ":".repeat(20_000) }));
    assert.deepEqual(body, { s: ":".repeat(20_000) });
  });

  test("10,001 duplicates of one key count as 10,001 keys: 400", async () => {
    assert.equal(await refusedAny(`{${Array.from({ length: 10_001 }, () => '"k":0').join(",")}}`, 400), MANY);
  });
});

describe("class 2: number literal length (limits.jsonNumberLength = 100)", () => {
  const LONG = "The JSON body has a number of more than 100 characters";

  test("a number literal of exactly 100 characters is accepted", async () => {
    assert.equal(await echoed("1".repeat(100)), Number("1".repeat(100)));
  });

  test("a number literal of 101 characters is 400", async () => {
    assert.equal(await refusedAny("1".repeat(101), 400), LONG);
  });

  test("a 101-character price on the items route is 400, nothing stored", async () => {
    assert.equal(await refusedItem(`{"name":"a","price":0.${"1".repeat(99)}}`, 400), LONG);
  });

  test("a million-digit number is 400, answered promptly", async () => {
    assert.equal(await refusedAny("9".repeat(1_000_000 - 2), 400), LONG);
  });

  test("a long run of digits inside a string is not a number", async () => {
    assert.equal(await echoed(JSON.stringify("1".repeat(5_000))), "1".repeat(5_000));
  });
});

describe("class 2: encodings (invalid UTF-8, surrogates, BOM)", () => {
  const PARSE = "There was an error parsing the body";
  const around = (bytes: number[]) =>
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from(bytes), Buffer.from('","price":1}')]);
  const invalidUtf8: [string, number[]][] = [
    ["a lone 0xFF byte", [0xff]],
    ["a lone continuation byte", [0x80]],
    ["an overlong encoding of /", [0xc0, 0xaf]],
    ["a UTF-8-encoded surrogate (CESU)", [0xed, 0xa0, 0x80]],
    ["a truncated 3-byte sequence", [0xe2, 0x82]],
    ["a code point beyond U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["latin1 é", [0xe9]],
  ];
  for (const [what, bytes] of invalidUtf8) {
    test(`${what} in a string is 400, nothing stored`, async () => {
      assert.equal(await refusedItem(around(bytes), 400), PARSE);
    });
  }

  test("invalid UTF-8 as the last byte of the body is 400", async () => {
    assert.equal(
      await refusedAny(Buffer.concat([Buffer.from('"ab'), Buffer.from([0xe2, 0x82])]), 400),
      PARSE,
    );
  });

  test("UTF-16 (with its BOM) is not UTF-8: 400", async () => {
    const body = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"a":1}', "utf16le")]);
    assert.equal(await refusedAny(body, 400), PARSE);
  });

  test("a lone high surrogate escape (\\ud800) is stored and answered without a crash, as valid JSON", async () => {
    const item = await createdItem('{"name":"\\ud800","price":1}');
    assert.equal(item.name, "\ud800");
  });

  test("lone, reversed and paired surrogate escapes are echoed as valid JSON", async () => {
    const { response } = await expectAccepted(
      anyServer.server,
      ANY_HEALTH,
      postJson("/any", '["\\ud800","\\udfff","\\udc00\\ud800","\\ud83d\\ude00"]'),
      200,
    );
    // The answer is well-formed UTF-8 JSON: lone surrogates escaped, the pair as its character.
    assert.equal(Buffer.from(response.text, "utf8").equals(response.body), true);
    assert.deepEqual(JSON.parse(response.text), { body: ["\ud800", "\udfff", "\udc00\ud800", "😀"] });
  });

  test("an escaped NUL (\\u0000) is an ordinary character", async () => {
    const item = await createdItem('{"name":"a\\u0000b","price":1}');
    assert.equal(item.name, "a\u0000b");
  });

  test("a raw NUL byte inside a string is 422 json_invalid (a control character)", async () => {
    assertJsonInvalid(
      await refusedItem('{"name":"a\u0000b","price":1}', 422),
      10,
      "Invalid control character at",
    );
  });

  test("a leading UTF-8 BOM is accepted, as FastAPI's json.loads(bytes) does, and is not part of any value", async () => {
    const item = await createdItem(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"bom","price":1}')]),
    );
    assert.equal(item.name, "bom");
  });

  test("a BOM inside the document is 422 json_invalid", async () => {
    const body = Buffer.concat([
      Buffer.from('{"name":"a",'),
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('"price":1}'),
    ]);
    const detail = (await refusedItem(body, 422)) as Issue[];
    assert.equal(detail[0]!.type, "json_invalid");
  });

  test("nothing above was logged as an error", () => {
    assert.deepEqual(logger.errors, []);
  });
});

test("a 422 body never echoes the raw invalid bytes", async () => {
  const { response, connection } = await exchange(
    itemsServer.server,
    postJson("/items", '{"name":"a","price":1,,"secret":"s3cr3t"}'),
  );
  await connection.destroy();
  assertValidationError(response);
  assert.doesNotMatch(response.text, /s3cr3t/);
});
