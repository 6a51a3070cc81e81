// Limits on the shape of a JSON body, checked in one linear pass over the text before it is parsed. JSON.parse
// itself survives any depth, but what comes after it does not: Zod, serializers and any recursive code of the
// app's throw RangeError on deep nesting; an object of a million keys or a number of a million digits costs
// whoever touches it next. Numbers JavaScript cannot hold (`1e400` parses to Infinity) are refused too: they
// would be silently changed (JSON.stringify writes Infinity as null).

/** The shape limits of a JSON body. */
export interface JsonLimits {
  /** Arrays and objects inside one another. */
  readonly depth: number;
  /** Keys of one object. */
  readonly keys: number;
  /** Characters of one number literal. */
  readonly numberLength: number;
}

/** What is wrong with a JSON text: which limit it passes, or a number out of range (and where it starts). */
export type JsonShapeProblem =
  | { readonly kind: "depth" | "keys" | "numberLength" }
  | { readonly kind: "nonFinite"; readonly position: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const EXPONENT = /[0-9][eE]/;

/** Whether a character can be part of a JSON number literal. */
function isNumberChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2d ||
    code === 0x2b ||
    code === 0x2e ||
    code === 0x65 ||
    code === 0x45
  );
}

/**
 * Checks a JSON text against the limits; undefined when it is within them. The text need not be valid JSON: the
 * scan only counts brackets, colons and number characters outside strings, so it stays linear on any input, and
 * JSON.parse judges the syntax afterwards.
 */
export function checkJsonShape(text: string, limits: JsonLimits): JsonShapeProblem | undefined {
  // Most bodies are short: too short to nest past the depth (two characters a level), to hold a longer number or
  // more keys (four characters a key), so only an exponent (always after a digit) needs the scan.
  const length = text.length;
  if (
    length <= 2 * limits.depth &&
    length <= limits.numberLength &&
    length <= limits.keys &&
    !EXPONENT.test(text)
  ) {
    return undefined;
  }
  let depth = 0;
  // Keys counted per open container (a colon outside strings ends a key; an array's count stays 0).
  const counts: number[] = [];
  let numberStart = -1;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (isNumberChar(code)) {
      if (numberStart === -1) numberStart = index;
      continue;
    }
    if (numberStart !== -1) {
      const problem = checkNumber(text, numberStart, index, limits);
      if (problem !== undefined) return problem;
      numberStart = -1;
    }
    if (code === QUOTE) {
      index++;
      while (index < length) {
        const inner = text.charCodeAt(index);
        if (inner === QUOTE) break;
        index += inner === BACKSLASH ? 2 : 1;
      }
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (++depth > limits.depth) return { kind: "depth" };
      counts.push(0);
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth--;
      counts.pop();
    } else if (code === COLON && counts.length > 0) {
      const keys = counts[counts.length - 1]! + 1;
      if (keys > limits.keys) return { kind: "keys" };
      counts[counts.length - 1] = keys;
    }
  }
  return numberStart === -1 ? undefined : checkNumber(text, numberStart, length, limits);
}

function checkNumber(
  text: string,
  start: number,
  end: number,
  limits: JsonLimits,
): JsonShapeProblem | undefined {
  if (end - start > limits.numberLength) return { kind: "numberLength" };
  // Only a literal with an exponent, or of more than 300 characters, can leave the range of a double.
  let exponent = end - start > 300;
  for (let index = start; index < end && !exponent; index++) {
    const code = text.charCodeAt(index);
    exponent = code === 0x65 || code === 0x45;
  }
  if (!exponent) return undefined;
  const value = Number(text.slice(start, end));
  return value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY
    ? { kind: "nonFinite", position: start }
    : undefined;
}
