// Property-based tests (fast-check) of the text parsers in src/internal/: none of them throws on any input (other
// than decodePath's documented 400), each stays linear on large hostile input, each round-trips what a client
// encodes, and parseMediaType agrees with an oracle written from the RFC 9110 grammar. The seed is fixed, so a
// failure replays; a property that found a brisk bug keeps the counterexample fast-check found as an example.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { HTTPException } from "../src/errors.ts";
import { parseCookies } from "../src/internal/cookies.ts";
import { isValidHost } from "../src/internal/host.ts";
import { checkJsonShape, type JsonLimits } from "../src/internal/json-limits.ts";
import {
  isJsonMediaType,
  isUtf8,
  MAX_MEDIA_TYPE_LENGTH,
  type MediaType,
  parseMediaType,
} from "../src/internal/media-type.ts";
import { decodePath, decodeSegment, hasDotSegment } from "../src/internal/percent.ts";
import { parseQuery } from "../src/internal/query.ts";
import { splitTarget } from "../src/internal/target.ts";

const SEED = 0x0b415c;

/** Runs a property with the fixed seed; `examples` are checked first, as fixed cases. */
function check<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void, numRuns = 2000, examples?: T[]) {
  fc.assert(fc.property(arbitrary, predicate), {
    seed: SEED,
    numRuns,
    ...(examples === undefined ? {} : { examples: examples.map((example) => [example] as [T]) }),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitrary strings

/** Code points worth more than their 1-in-a-million share of random unicode. */
const INTERESTING = [
  "\u0000",
  "\u007f",
  "\u0080",
  "\u00a0",
  "\u00e9",
  "\u00ff",
  "\u0100",
  "\u2028",
  "\ufeff",
  "\ufffd",
  "\uffff",
  "\u{1f600}",
  "\u{10ffff}",
];

/** Fragments that the parsers treat specially. */
const SPECIAL = [
  "%",
  "%2",
  "%2F",
  "%2f",
  "%25",
  "%2e",
  "%2E",
  "%41",
  "%C3%A9",
  "%EF%BB%BF",
  "%E0%A4",
  "%F0%9F%98%80",
  "%FF",
  "%00",
  "%zz",
  "/",
  ".",
  "..",
  "?",
  "#",
  "&",
  "=",
  "+",
  ";",
  ",",
  ":",
  "@",
  "[",
  "]",
  "{",
  "}",
  '"',
  "\\",
  " ",
  "\t",
  "\r",
  "\n",
  "1e999",
  "-",
  "e",
  "a",
  "B",
  "0",
];

const hex = (byte: number) => `%${byte.toString(16).padStart(2, "0").toUpperCase()}`;

/** A UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const control = fc
  .oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
  .map((code) => String.fromCharCode(code));
const latin1 = fc.integer({ min: 0, max: 0xff }).map((code) => String.fromCharCode(code));
const special = fc.constantFrom(...SPECIAL);
const percentByte = fc.integer({ min: 0, max: 0xff }).map(hex);

/** Any string: full unicode (with and without lone surrogates), control, latin1 and `%`-heavy ones. */
const anyString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: codeUnit, maxLength: 40 }),
  fc.string({ unit: control, maxLength: 20 }),
  fc.string({ unit: latin1, maxLength: 40 }),
  fc.string({ unit: fc.oneof(special, percentByte, fc.constantFrom(...INTERESTING)), maxLength: 30 }),
  fc.string({ unit: fc.oneof(special, fc.constantFrom(...INTERESTING), codeUnit), maxLength: 30 }),
);

/** Full unicode without lone surrogates (what URLSearchParams and encodeURIComponent can carry), biased. */
const unicodeString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 20 }) },
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.oneof(
        fc.constantFrom(...INTERESTING),
        fc.constantFrom(...SPECIAL),
        fc.string({ unit: "binary" }),
      ),
      maxLength: 12,
    }),
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Never throws

/** Calls `decodePath`, turning its documented refusal (HTTPException 400) into undefined; anything else throws. */
function tryDecodePath(raw: string): string | undefined {
  try {
    return decodePath(raw);
  } catch (error) {
    assert.ok(error instanceof HTTPException, `decodePath threw ${String(error)}`);
    assert.equal(error.status, 400);
    return undefined;
  }
}

const LIMITS: JsonLimits = { depth: 64, keys: 10_000, numberLength: 100 };

function callEveryParser(text: string): void {
  const path = tryDecodePath(text);
  if (path !== undefined) {
    assert.equal(typeof path, "string");
    decodeSegment(path);
  }
  assert.equal(typeof decodeSegment(text), "string");
  assert.equal(typeof hasDotSegment(text), "boolean");
  const [rawPath, search] = splitTarget(text);
  assert.equal(typeof rawPath, "string");
  assert.equal(typeof search, "string");
  const media = parseMediaType(text);
  assert.equal(typeof isJsonMediaType(media), "boolean");
  if (media !== undefined) assert.equal(typeof isUtf8(media), "boolean");
  assert.ok(parseQuery(text) instanceof Map);
  assert.equal(typeof isValidHost(text), "boolean");
  assert.ok(parseCookies(text) instanceof Map);
  const problem = checkJsonShape(text, LIMITS);
  assert.ok(problem === undefined || typeof kindOf(problem) === "string");
  checkJsonShape(text, { depth: 2, keys: 1, numberLength: 3 });
}

describe("no parser throws (other than decodePath's 400)", () => {
  test("on arbitrary strings", () => check(anyString, callEveryParser, 6000));

  test("on arbitrary strings inside a plausible shape", () => {
    const shaped = fc
      .tuple(
        fc.constantFrom("/", "http://h/", "a/b;", "k=", '{"k":[', "[", "a=1; b=", "h:", ""),
        anyString,
        fc.constantFrom("", "]", "}", '"', "?q=1", ";", "#f"),
      )
      .map((parts) => parts.join(""));
    check(shaped, callEveryParser, 3000);
  });

  // No timing assertion: a super-linear parser makes this test time out (or the suite run long) instead.
  test("on 200 KB hostile inputs (each parser returns: linear time)", () => {
    const size = 200 * 1024;
    const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length));
    const inputs = [
      fill("%"),
      fill(";"),
      fill('"'),
      fill("\\"),
      fill('"\\'),
      fill("%%2"),
      fill("%41"),
      fill("%2F"),
      fill("%2e/"),
      fill("/."),
      fill("%FF"),
      fill("%E0%A4"),
      fill("%EF%BB%BF"),
      fill("="),
      fill("&"),
      `${fill("a&")}=`,
      `${fill("&a")}=`,
      fill("a=%FF&"),
      fill("+"),
      fill("a; "),
      fill('a="\\"; '),
      `a/b${fill('; c="\\')}`,
      fill("["),
      fill("{"),
      fill('{"a":'),
      fill("1e"),
      fill("9"),
      fill("-1e999,"),
      `"${fill("\\")}`,
      `[${fill("1")}e999]`,
      fill("a:"),
      fill(":"),
      fill("[::1]"),
      `http://${fill("a")}`,
      fill("?#"),
      fill("\u{1f600}"),
      fill("\ud800"),
    ];
    for (const input of inputs) callEveryParser(input);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// percent.ts and target.ts

describe("decodePath, decodeSegment, hasDotSegment", () => {
  const segment = fc.oneof(
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: fc.constantFrom(...INTERESTING, "/", "%", "%2F", "."), maxLength: 6 }),
    },
  );
  const segments = fc.array(segment, { minLength: 1, maxLength: 6 });
  const roundTrip = (parts: string[]) => {
    const raw = `/${parts.map(encodeURIComponent).join("/")}`;
    const decoded = decodePath(raw);
    assert.deepEqual(decoded.split("/").slice(1).map(decodeSegment), parts, `path ${raw}`);
  };

  test("encodeURIComponent segments come back from decodePath + split + decodeSegment", () =>
    check(
      segments.filter((parts) => !parts.some((part) => part.includes("\ufeff"))),
      roundTrip,
      4000,
    ));

  test("... including segments with U+FEFF (a byte order mark)", () =>
    // The first is what fast-check found (raw path /%EF%BB%BF/).
    check(segments, roundTrip, 4000, [["\ufeff", ""], ["admin\ufeff"], ["a\ufeffb"]]));

  test("decodePath never turns an escape into a separator, and leaves text without % alone", () =>
    check(anyString, (raw) => {
      const decoded = tryDecodePath(raw);
      if (decoded === undefined) return;
      assert.equal(decoded.split("/").length, raw.split("/").length);
      if (!raw.includes("%")) assert.equal(decoded, raw);
    }));

  test("decodePath refuses exactly the escape runs that are not UTF-8", () =>
    check(
      fc.array(fc.oneof(percentByte, fc.constantFrom("a", "/", "%", "é")), { maxLength: 12 }),
      (parts) => {
        const raw = parts.join("");
        const runs = raw.match(/(?:%[0-9A-Fa-f]{2})+/g) ?? [];
        const valid = runs.every((run) =>
          run.split(/%2F|%25/i).every((piece) => {
            try {
              decodeURIComponent(piece);
              return true;
            } catch {
              return false;
            }
          }),
        );
        assert.equal(tryDecodePath(raw) !== undefined, valid, `path ${raw}`);
      },
    ));

  // Its input is a raw origin-form path, which starts with "/" (Node refuses a target like "../x" with 400, and a
  // web Request's path always starts with "/"); a bare "." or "../x" is not a case it has to see.
  test("hasDotSegment agrees with splitting on / and decoding %2e", () =>
    check(
      fc
        .oneof(
          anyString,
          fc.string({ unit: fc.constantFrom("/", ".", "%2e", "%2E", "a", "%", "2e"), maxLength: 10 }),
        )
        .map((text) => `/${text}`),
      (raw) => {
        const expected = raw.split("/").some((part) => {
          const dots = part.replace(/%2e/gi, ".");
          return dots === "." || dots === "..";
        });
        assert.equal(hasDotSegment(raw), expected, `path ${JSON.stringify(raw)}`);
      },
      4000,
    ));

  test("splitTarget cuts an origin-form target into path and query without changing them", () =>
    check(
      anyString.map((text) => `/${text}`),
      (target) => {
        const [path, search] = splitTarget(target);
        assert.ok(!path.includes("?") && !path.includes("#") && !search.includes("#"));
        const withoutFragment = target.split("#")[0]!;
        if (withoutFragment.includes("?")) assert.equal(`${path}?${search}`, withoutFragment);
        else assert.deepEqual([path, search], [withoutFragment, ""]);
      },
      3000,
    ));

  const absoluteForm = fc
    .tuple(fc.constantFrom("http", "https", "ws", "x+y.z-1"), anyString)
    .map(([scheme, rest]) => `${scheme}://${rest}`);
  const routesLikeOriginForm = (target: string) => {
    const [path, search] = splitTarget(target);
    assert.ok(!path.includes("?") && !path.includes("#") && !search.includes("#"));
    assert.ok(path.startsWith("/"), `path ${JSON.stringify(path)} of ${JSON.stringify(target)}`);
  };

  test("splitTarget gives an absolute-form target with a path the path", () =>
    check(
      absoluteForm.filter((target) => /^[^:]*:\/\/[^/?#]*\//.test(target)),
      routesLikeOriginForm,
      3000,
    ));

  test("splitTarget gives an absolute-form target with an empty path the path /", () =>
    // The first is what fast-check found.
    check(absoluteForm, routesLikeOriginForm, 3000, ["http://#", "http://h?q=1"]));
});

// ---------------------------------------------------------------------------------------------------------------
// query.ts

describe("parseQuery", () => {
  const multimap = (pairs: Iterable<readonly [string, string]>) => {
    const map = new Map<string, string[]>();
    for (const [key, value] of pairs) {
      const values = map.get(key);
      if (values === undefined) map.set(key, [value]);
      else values.push(value);
    }
    return map;
  };

  test("URLSearchParams-encoded pairs of unicode strings come back as the same multimap", () =>
    check(
      fc.array(fc.tuple(unicodeString, unicodeString), { maxLength: 8 }),
      (pairs) => {
        const text = new URLSearchParams(pairs).toString();
        const parsed = parseQuery(text);
        assert.deepEqual(parsed, multimap(pairs), `query ${text}`);
        assert.deepEqual(parsed, multimap(new URLSearchParams(text)), `query ${text}`);
      },
      4000,
    ));

  test("the same with encodeURIComponent (%20 for spaces) and repeated keys", () =>
    check(
      fc.array(fc.tuple(fc.constantFrom("a", "b", "é", ""), unicodeString), { maxLength: 8 }),
      (pairs) => {
        const text = pairs
          .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
          .join("&");
        assert.deepEqual(parseQuery(text), multimap(pairs), `query ${text}`);
      },
    ));

  // The oracle for any ASCII query string: raw non-ASCII characters are left out, as Node's URLSearchParams turns
  // some of them (lone surrogates) into U+FFFD where brisk keeps them (see query.test.ts).
  const asciiQuery = fc.string({
    unit: fc.oneof(
      fc.constantFrom("a", "b", "=", "&", "+", "%", "%2", "%zz", " ", "~", "%41", "%E4%BD%A0", "%E0%A4"),
      percentByte,
    ),
    maxLength: 16,
  });
  const sameAsUrlSearchParams = (search: string) =>
    assert.deepEqual(
      parseQuery(search),
      multimap(new URLSearchParams(search)),
      `query ${JSON.stringify(search)}`,
    );

  test("reads any ASCII query string as URLSearchParams does", () =>
    check(asciiQuery, sameAsUrlSearchParams, 4000));

  test("... including an encoded U+FEFF next to invalid UTF-8", () =>
    check(
      fc.string({ unit: fc.constantFrom("a", "=", "&", "%FF", "%EF%BB%BF", "%E0%A4"), maxLength: 8 }),
      sameAsUrlSearchParams,
      4000,
      // The first is what fast-check found.
      ["%EF%BB%BF%E0%A4", "a=%EF%BB%BF%FF"],
    ));

  // Time is too noisy to assert, so this counts work: the characters String.prototype.indexOf scans while
  // parseQuery runs (parseQuery finds "&" and "=" with it). A linear parser scans each character a bounded number of
  // times. parseQuery looks for each pair's "=" from the pair's start to the next "=" (or the end), past the "&"
  // that ends the pair: "a&a&…a&" or "a&a&…a&=" costs n²/4, seconds of blocked event loop for a 1 MB form body.
  const scanned = (search: string): number => {
    const indexOf = String.prototype.indexOf;
    let total = 0;
    String.prototype.indexOf = function (this: string, needle: string, from = 0) {
      const found = indexOf.call(this, needle, from);
      total += (found === -1 ? this.length : found) - Math.min(Math.max(from, 0), this.length);
      return found;
    };
    try {
      parseQuery(search);
    } finally {
      String.prototype.indexOf = indexOf;
    }
    return total;
  };

  test("parseQuery scans each character of a query a bounded number of times (linear time)", () =>
    check(
      fc.string({
        unit: fc.oneof(
          { weight: 20, arbitrary: fc.constantFrom("a", "%41", "+") },
          { weight: 10, arbitrary: fc.constant("&") },
          { weight: 1, arbitrary: fc.constant("=") },
        ),
        maxLength: 300,
        size: "max",
      }),
      (search) => assert.ok(scanned(search) <= 4 * search.length, `query ${JSON.stringify(search)}`),
      2000,
      // The first is what fast-check found; the second is the shape of the slow form body.
      ["a&a&a&a&a&%41", `${"a&".repeat(100)}=`],
    ));
});

// ---------------------------------------------------------------------------------------------------------------
// media-type.ts

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const isTokenText = (text: string) => text.length > 0 && [...text].every((char) => TCHARS.includes(char));
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 10 });
const ows = fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 2 });
/** Any character a quoted-string can carry (unescaped or as a quoted-pair): HTAB, SP, VCHAR, obs-text. */
const quotableChar = fc
  .oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.constant(0x09) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    { weight: 2, arbitrary: fc.constantFrom(0x22, 0x5c) },
  )
  .map((code) => String.fromCharCode(code));

interface Parameter {
  readonly name: string;
  readonly value: string;
}
interface GeneratedType {
  readonly type: string;
  readonly subtype: string;
  readonly parameters: readonly Parameter[];
}

const generatedType: fc.Arbitrary<GeneratedType> = fc.record({
  type: token,
  subtype: token,
  parameters: fc.uniqueArray(
    fc.record({ name: token, value: fc.oneof(token, fc.string({ unit: quotableChar, maxLength: 10 })) }),
    { selector: (parameter) => parameter.name.toLowerCase(), maxLength: 5 },
  ),
});

/** Serializes a media type with random OWS, letter case, quoting, optional escapes and empty parameters. */
function writeRandomly(media: GeneratedType, g: fc.GeneratorValue): string {
  const recase = (text: string) =>
    [...text].map((char) => (g(fc.boolean) ? char.toUpperCase() : char.toLowerCase())).join("");
  let text = `${g(() => ows)}${recase(media.type)}/${recase(media.subtype)}`;
  for (const { name, value } of media.parameters) {
    if (g(fc.boolean) && g(fc.boolean)) text += `${g(() => ows)};`;
    let written: string;
    if (isTokenText(value) && g(fc.boolean)) written = value;
    else {
      written = `"${[...value]
        .map((char) => (char === '"' || char === "\\" || g(() => fc.nat(4)) === 0 ? `\\${char}` : char))
        .join("")}"`;
    }
    text += `${g(() => ows)};${g(() => ows)}${recase(name)}=${written}`;
  }
  if (g(() => fc.nat(4)) === 0) text += `${g(() => ows)};`;
  return text + g(() => ows);
}

/** The canonical text of a parsed media type: lower-case, no OWS, values quoted only when not tokens. */
function writeCanonically(media: MediaType): string {
  let text = media.essence;
  for (const [name, value] of media.parameters) {
    text += `;${name}=${isTokenText(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`}`;
  }
  return text;
}

const T = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const ORACLE_MEDIA_TYPE = new RegExp(
  `^[ \\t]*(${T})/(${T})((?:[ \\t]*;[ \\t]*(?:${T}=(?:${T}|${QUOTED}))?)*)[ \\t]*$`,
);
const ORACLE_PARAMETER = new RegExp(`(${T})=(${T}|${QUOTED})`, "g");

/** RFC 9110 §8.3.1 media-type, by regular expression: what brisk's scanner must accept, and nothing else. */
function oracle(value: string): { essence: string; parameters: Map<string, string> } | undefined {
  if (value.length > MAX_MEDIA_TYPE_LENGTH) return undefined;
  const match = ORACLE_MEDIA_TYPE.exec(value);
  if (match === null) return undefined;
  const parameters = new Map<string, string>();
  for (const [, name, raw] of match[3]!.matchAll(ORACLE_PARAMETER)) {
    const key = name!.toLowerCase();
    if (parameters.has(key)) return undefined;
    parameters.set(key, raw!.startsWith('"') ? raw!.slice(1, -1).replace(/\\(.)/gs, "$1") : raw!);
  }
  return { essence: `${match[1]}/${match[2]}`.toLowerCase(), parameters };
}

describe("parseMediaType", () => {
  test("reads back every generated media type: lower-case essence, exact (unescaped) parameter values", () =>
    check(
      fc.tuple(generatedType, fc.gen()),
      ([media, g]) => {
        const text = writeRandomly(media, g);
        const parsed = parseMediaType(text);
        assert.ok(parsed !== undefined, `refused ${JSON.stringify(text)}`);
        assert.equal(parsed.type, media.type.toLowerCase());
        assert.equal(parsed.subtype, media.subtype.toLowerCase());
        assert.equal(parsed.essence, `${media.type}/${media.subtype}`.toLowerCase());
        assert.deepEqual(
          parsed.parameters,
          new Map(media.parameters.map(({ name, value }) => [name.toLowerCase(), value])),
          `parameters of ${JSON.stringify(text)}`,
        );
      },
      4000,
    ));

  test("serialize → parse → serialize is stable", () =>
    check(
      fc.oneof(
        fc.tuple(generatedType, fc.gen()).map(([media, g]) => writeRandomly(media, g)),
        anyString,
      ),
      (text) => {
        const parsed = parseMediaType(text);
        if (parsed === undefined) return;
        const canonical = writeCanonically(parsed);
        const again = parseMediaType(canonical);
        assert.ok(again !== undefined, `refused its own canonical form ${JSON.stringify(canonical)}`);
        assert.deepEqual(
          { essence: again.essence, parameters: again.parameters },
          { essence: parsed.essence, parameters: parsed.parameters },
        );
        assert.equal(writeCanonically(again), canonical);
      },
      3000,
    ));

  test("a repeated parameter name (in any case) is refused", () =>
    check(fc.tuple(generatedType, token, token, token, fc.gen()), ([media, name, first, second, g]) => {
      const text = `${writeRandomly(media, g)};${name.toLowerCase()}=${first};${name.toUpperCase()}=${second}`;
      assert.equal(parseMediaType(text), undefined, JSON.stringify(text));
    }));

  test("a value longer than 1024 characters is refused, a valid one up to 1024 is not", () =>
    check(
      fc.tuple(token, fc.integer({ min: 0, max: 40 })),
      ([name, extra]) => {
        const base = `text/plain;${name}=`;
        const fits = base + "x".repeat(MAX_MEDIA_TYPE_LENGTH - base.length);
        assert.equal(
          parseMediaType(fits)?.parameters.get(name.toLowerCase())?.length,
          fits.length - base.length,
        );
        assert.equal(parseMediaType(`${fits}${"x".repeat(extra + 1)}`), undefined);
      },
      200,
    ));

  // Inputs near the grammar: fragments of it at random, and generated media types with one character changed.
  const nearMediaType = fc.oneof(
    fc.string({
      unit: fc.constantFrom(
        "a",
        "B",
        "json",
        "+",
        "/",
        ";",
        "=",
        '"',
        "\\",
        " ",
        "\t",
        "\r",
        "\n",
        "(",
        ",",
        "1",
        "text/plain",
        "charset",
        "utf-8",
        "\u00e9",
        "\u0100",
        "\u007f",
        "\u0000",
      ),
      maxLength: 24,
    }),
    fc
      .tuple(
        generatedType,
        fc.gen(),
        fc.nat(),
        fc.oneof(special, quotableChar, control, codeUnit, fc.constant("")),
      )
      .map(([media, g, at, char]) => {
        const text = writeRandomly(media, g);
        const index = at % (text.length + 1);
        return g(fc.boolean)
          ? text.slice(0, index) + char + text.slice(index + 1)
          : text.slice(0, index) + char + text.slice(index);
      }),
    anyString,
  );

  test("agrees with a regular-expression oracle of the RFC 9110 grammar", () =>
    check(
      nearMediaType,
      (text) => {
        const parsed = parseMediaType(text);
        const expected = oracle(text);
        assert.deepEqual(
          parsed === undefined ? undefined : { essence: parsed.essence, parameters: parsed.parameters },
          expected,
          `media type ${JSON.stringify(text)}`,
        );
      },
      8000,
    ));

  test("isJsonMediaType and isUtf8 agree with the parsed parameters", () =>
    check(
      fc.oneof(nearMediaType, fc.constantFrom("application/json", "application/x+json;charset=UTF8")),
      (text) => {
        const parsed = parseMediaType(text);
        assert.equal(
          isJsonMediaType(parsed),
          parsed !== undefined && /^application\/(?:json|.*\+json)$/.test(parsed.essence),
        );
        if (parsed !== undefined) {
          const charset = parsed.parameters.get("charset")?.toLowerCase();
          assert.equal(isUtf8(parsed), charset === undefined || charset === "utf-8" || charset === "utf8");
        }
      },
    ));
});

// ---------------------------------------------------------------------------------------------------------------
// host.ts

describe("isValidHost", () => {
  const name = fc.oneof(
    fc.domain(),
    fc.string({ unit: fc.constantFrom(..."abcxyzABCXYZ0189-."), minLength: 1, maxLength: 63 }),
  );
  const address = fc.oneof(
    name,
    fc.ipV4(),
    fc.ipV6().map((ip) => `[${ip}]`),
  );
  const host = fc
    .tuple(address, fc.option(fc.integer({ min: 0, max: 65535 })))
    .map(([where, port]) => (port === null ? where : `${where}:${port}`));
  const FORBIDDEN = ["/", "?", "#", "@", " ", "\\", "\r", "\n"];

  test("accepts every generated hostname[:port], IPv4 and bracketed IPv6", () =>
    check(host, (value) => assert.ok(isValidHost(value), JSON.stringify(value)), 4000));

  test("refuses a host with / ? # @ space \\ CR or LF anywhere in it", () =>
    check(
      fc.tuple(fc.oneof(host, anyString), fc.constantFrom(...FORBIDDEN), fc.nat()),
      ([value, bad, at]) => {
        const index = at % (value.length + 1);
        const text = value.slice(0, index) + bad + value.slice(index);
        assert.equal(isValidHost(text), false, JSON.stringify(text));
      },
      4000,
    ));
});

// ---------------------------------------------------------------------------------------------------------------
// cookies.ts

describe("parseCookies", () => {
  // cookie-octet (RFC 6265 §4.1.1) without %, which parseCookies decodes.
  const COOKIE_OCTETS = Array.from({ length: 0x7f - 0x21 }, (_, index) =>
    String.fromCharCode(0x21 + index),
  ).filter((char) => !'",;\\%'.includes(char));
  const cookieName = token;
  const safeValue = fc.string({ unit: fc.constantFrom(...COOKIE_OCTETS), maxLength: 12 });
  const encodedValue = unicodeString.map((value) => ({ written: encodeURIComponent(value), value }));
  const cookie = fc.record({
    name: cookieName,
    value: fc.oneof(
      safeValue.map((value) => ({ written: value, value })),
      encodedValue,
    ),
    quoted: fc.boolean(),
    before: ows,
    after: ows,
  });
  const firstWins = (pairs: readonly { name: string; value: { value: string } }[]) => {
    const map = new Map<string, string>();
    for (const { name, value } of pairs) if (!map.has(name)) map.set(name, value.value);
    return map;
  };

  test("round-trips name=value pairs (quoted or not, %-encoded or not); the first of a name wins", () =>
    check(
      fc.array(cookie, { maxLength: 8 }),
      (pairs) => {
        const header = pairs
          .map(({ name, value, quoted, before, after }) =>
            quoted
              ? `${before}${name}="${value.written}"${after}`
              : `${before}${name}=${value.written}${after}`,
          )
          .join(";");
        assert.deepEqual(parseCookies(header), firstWins(pairs), `Cookie: ${header}`);
      },
      4000,
    ));

  test("names are trimmed and never empty, a value has no raw ';', pairs without = are skipped", () =>
    check(anyString, (header) => {
      for (const [name, value] of parseCookies(header)) {
        assert.ok(name !== "" && name === name.trim() && !name.includes(";") && !name.includes("="));
        assert.ok(!value.includes(";") || header.includes("%3B") || header.includes("%3b"));
      }
      assert.equal(parseCookies(header.replace(/=/g, "")).size, 0);
    }));
});

// ---------------------------------------------------------------------------------------------------------------
// json-limits.ts

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Shape {
  depth: number;
  keys: number;
  numberLength: number;
}

/** A checkJsonShape result's kind. */
function kindOf(problem: { readonly kind: string } | undefined): string | undefined {
  return problem?.kind;
}

/** The reference measurement: nesting depth, most keys of one object, longest number literal JSON.stringify writes. */
function measure(value: Json): Shape {
  if (typeof value === "number") return { depth: 0, keys: 0, numberLength: JSON.stringify(value).length };
  if (value === null || typeof value !== "object") return { depth: 0, keys: 0, numberLength: 0 };
  const children = Array.isArray(value) ? value : Object.values(value);
  const shape = { depth: 1, keys: Array.isArray(value) ? 0 : Object.keys(value).length, numberLength: 0 };
  for (const child of children) {
    const inner = measure(child);
    shape.depth = Math.max(shape.depth, inner.depth + 1);
    shape.keys = Math.max(shape.keys, inner.keys);
    shape.numberLength = Math.max(shape.numberLength, inner.numberLength);
  }
  return shape;
}

describe("checkJsonShape", () => {
  const nested: fc.Arbitrary<Json> = fc
    .tuple(fc.integer({ min: 0, max: 12 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, fc.boolean())
    .map(([levels, leaf, objects]) => {
      let value = leaf;
      for (let level = 0; level < levels; level++)
        value = objects && level % 2 === 0 ? { k: value } : [value];
      return value;
    });
  const json: fc.Arbitrary<Json> = fc.oneof(
    fc.jsonValue({ maxDepth: 5, stringUnit: "binary" }) as fc.Arbitrary<Json>,
    fc.jsonValue({ maxDepth: 3, depthSize: "large" }) as fc.Arbitrary<Json>,
    fc.dictionary(
      fc.string({ maxLength: 3 }),
      fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()),
      { maxKeys: 20 },
    ),
    nested,
  );
  const limits = fc.record({
    depth: fc.integer({ min: 1, max: 8 }),
    keys: fc.integer({ min: 1, max: 12 }),
    numberLength: fc.integer({ min: 1, max: 25 }),
  });
  const written = fc
    .tuple(json, fc.constantFrom(undefined, 0, 2, "\t"))
    .map(([value, space]) => ({ value, text: JSON.stringify(value, null, space) }));

  test("is silent exactly when the reference measurement is within every limit", () =>
    check(
      fc.tuple(written, limits),
      ([{ value, text }, limit]) => {
        const shape = measure(value);
        const problem = kindOf(checkJsonShape(text, limit));
        const over: string[] = (["depth", "keys", "numberLength"] as const).filter(
          (kind) => shape[kind] > limit[kind],
        );
        if (over.length === 0) assert.equal(problem, undefined, text);
        else assert.ok(problem !== undefined && over.includes(problem), text);
      },
      3000,
    ));

  for (const kind of ["depth", "keys", "numberLength"] as const) {
    test(`reports ${kind} exactly when that measurement passes its limit`, () =>
      check(
        fc.tuple(written, limits),
        ([{ value, text }, limit]) => {
          const only = { depth: Infinity, keys: Infinity, numberLength: Infinity, [kind]: limit[kind] };
          const problem = kindOf(checkJsonShape(text, only));
          assert.equal(problem, measure(value)[kind] > limit[kind] ? kind : undefined, text);
        },
        2000,
      ));
  }

  const numberLiteral = fc
    .tuple(
      fc.constantFrom("", "-"),
      fc.oneof(
        fc.constant("0"),
        fc.stringMatching(/^[1-9][0-9]{0,20}$/),
        fc.integer({ min: 290, max: 330 }).map((digits) => `1${"0".repeat(digits)}`),
        fc.integer({ min: 290, max: 330 }).map((digits) => "9".repeat(digits)),
      ),
      fc.option(fc.stringMatching(/^\.[0-9]{1,20}$/), { nil: "" }),
      fc.option(
        fc
          .tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.integer({ min: 0, max: 400 }))
          .map(([e, sign, exponent]) => `${e}${sign}${exponent}`),
        { nil: "" },
      ),
    )
    .map((parts) => parts.join(""));

  test("reports nonFinite (at the literal) exactly for number literals that Number() makes ±Infinity", () =>
    check<[string, string, boolean]>(
      fc.tuple(
        numberLiteral,
        fc.constantFrom('{"1e999":"1e999","k":[', "[", '{"a":', '["\\"1e999",'),
        fc.boolean(),
      ),
      ([literal, prefix, wrap]) => {
        const text = wrap ? `${prefix}${literal}` : literal;
        const position = text.length - literal.length;
        const expected = Number.isFinite(Number(literal)) ? undefined : { kind: "nonFinite", position };
        const problem: unknown = checkJsonShape(text, { depth: 10, keys: 10, numberLength: 1000 });
        assert.deepEqual(problem, expected, text);
      },
      4000,
      [
        ["1e309", "[", true],
        ["-1E400", "", false],
        ["9".repeat(309), "[", true],
        ["1".repeat(301), "[", true],
      ],
    ));

  test("brackets, colons and number characters inside strings are not counted", () =>
    check(
      fc.string({ unit: fc.constantFrom("[", "{", ":", "1", "e", "9", "\\", '"', "a"), maxLength: 40 }),
      (inner) => {
        const text = JSON.stringify([inner, { [inner]: inner }]);
        assert.equal(kindOf(checkJsonShape(text, { depth: 2, keys: 1, numberLength: 1 })), undefined, text);
      },
    ));
});
