/**
 * Locates the first syntax error of a JSON text the way CPython's `json.loads` does, so that a 422
 * `json_invalid` error carries the same position and wording as FastAPI's.
 *
 * `json.loads` runs the C scanner (`Modules/_json.c`) on top of `json/decoder.py`; where the C and
 * pure-Python scanners disagree (messages of string errors, a truncated `\uXXXX`), the C one wins.
 * Two deliberate departures: nesting depth is unlimited (CPython raises `RecursionError`), and
 * `NaN`/`Infinity`/`-Infinity` are not values (CPython accepts them; JSON does not).
 */

/** Where and why a JSON text fails to parse, in the words of Python's `json` module (FastAPI's 422 `json_invalid` uses them). */
export interface JsonSyntaxError {
  readonly position: number;
  readonly message: string;
}

/** Thrown internally to unwind from wherever the first error is found. */
class Failure extends Error {
  readonly error: JsonSyntaxError;

  constructor(message: string, position: number) {
    super(message);
    this.error = { position, message };
  }
}

function fail(message: string, position: number): never {
  throw new Failure(message, position);
}

// Sticky; ASCII digits only, as in the C scanner (the pure-Python regex `\d` would take any script's digits).
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const SIMPLE_ESCAPES = '"\\/bfnrt';

/** Index of the first character at or after `i` that is not JSON whitespace. */
function skipWhitespace(text: string, i: number): number {
  while (i < text.length) {
    const c = text[i];
    if (c !== " " && c !== "\t" && c !== "\n" && c !== "\r") break;
    i++;
  }
  return i;
}

/** Scans the string whose opening quote is at `start`; returns the index after its closing quote. */
function scanString(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    if (i >= text.length) fail("Unterminated string starting at", start);
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code === 0x5c) {
      const escaped = text[i + 1];
      if (escaped === undefined) fail("Unterminated string starting at", start);
      if (escaped === "u") {
        // The C scanner wants a character after the four digits before it reads them, so a
        // text ending in `"\u1234` is an invalid escape rather than an unterminated string.
        if (i + 6 >= text.length || !HEX4.test(text.slice(i + 2, i + 6))) {
          fail("Invalid \\uXXXX escape", i + 1);
        }
        // Surrogates need no pairing check: unpaired ones are accepted, as by JSON.parse.
        i += 6;
      } else if (SIMPLE_ESCAPES.includes(escaped)) {
        i += 2;
      } else {
        fail("Invalid \\escape", i);
      }
      continue;
    }
    if (code <= 0x1f) fail("Invalid control character at", i);
    i++;
  }
}

/** Scans a string, number or literal at `i`; returns the index after it. */
function scanScalar(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return scanString(text, i);
  for (const literal of ["null", "true", "false"]) {
    if (text.startsWith(literal, i)) return i + literal.length;
  }
  NUMBER.lastIndex = i;
  // A failed match also covers NaN, Infinity and -Infinity, and the end of the text.
  if (!NUMBER.test(text)) fail("Expecting value", i);
  return NUMBER.lastIndex;
}

/** Scans `"key" :` at `i` (whitespace already skipped); returns where the member's value starts. */
function scanKey(text: string, i: number): number {
  if (text[i] !== '"') fail("Expecting property name enclosed in double quotes", i);
  i = skipWhitespace(text, scanString(text, i));
  if (text[i] !== ":") fail("Expecting ':' delimiter", i);
  return skipWhitespace(text, i + 1);
}

/** Throws a `Failure` at the first error; nesting is tracked on an explicit stack, not the call stack. */
function check(text: string): void {
  // json.loads rejects a str that starts with a BOM before parsing anything.
  if (text.startsWith("\ufeff")) fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
  const open: string[] = []; // closing bracket of each enclosing container, innermost last
  let i = skipWhitespace(text, 0);
  for (;;) {
    // A value starts at `i`. Containers push a frame and go on to their first value.
    const c = text[i];
    if (c === "[" || c === "{") {
      const close = c === "[" ? "]" : "}";
      i = skipWhitespace(text, i + 1);
      if (text[i] === close) {
        i++;
      } else {
        open.push(close);
        if (c === "{") i = scanKey(text, i);
        continue;
      }
    } else {
      i = scanScalar(text, i);
    }
    // A value ended at `i`: close finished containers until one needs another value.
    for (;;) {
      const close = open.at(-1);
      i = skipWhitespace(text, i);
      if (close === undefined) {
        if (i !== text.length) fail("Extra data", i);
        return;
      }
      if (text[i] === close) {
        open.pop();
        i++;
        continue;
      }
      if (text[i] !== ",") fail("Expecting ',' delimiter", i);
      i = skipWhitespace(text, i + 1);
      // CPython 3.12 has no trailing-comma message: `[1,]` expects a value, `{"a":1,}` a key.
      if (close === "}") i = scanKey(text, i);
      break;
    }
  }
}

/** Returns the first syntax error of `text`, or undefined when `text` is valid JSON (RFC 8259). */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    check(text);
    return undefined;
  } catch (error) {
    if (error instanceof Failure) return error.error;
    throw error;
  }
}
