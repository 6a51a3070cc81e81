import { type $ZodType, util } from "zod/v4/core";
import { quote } from "../internal/json-text.ts";

/**
 * Fast paths for "plain" Zod schemas: objects, arrays, strings, numbers, booleans, enums and literals with the
 * common checks, wrapped in optional, nullable or default. For those, brisk generates (once, at startup) a parser
 * that returns exactly what Zod's parse would return, and a writer that returns exactly the JSON text of it,
 * without Zod's general machinery. Anything else (refinements, transforms, unions, formats, recursion...) is not
 * plain, and Zod itself runs.
 *
 * A fast path only ever answers "valid, and here is the result" or {@link FAIL}; on FAIL the caller runs Zod, which
 * is the authority on what is wrong. So the fast path must never accept what Zod rejects, and must produce what
 * Zod produces; `test/plain-schemas.test.ts` compares both on many generated inputs.
 */

/** Returned by a fast path for any value it does not accept; Zod then decides and explains. */
export const FAIL: unique symbol = Symbol("brisk.fail");

/** Parses like Zod: the output value, or FAIL. */
export type FastParse = (value: unknown) => unknown;
/** Validates like Zod and writes `JSON.stringify` of Zod's output, or returns FAIL. */
export type FastWrite = (value: unknown) => string | typeof FAIL;

class NotPlain extends Error {}

interface Def {
  readonly type: string;
  readonly format?: string;
  readonly check?: string;
  readonly checks?: readonly { _zod: { def: CheckDef } }[];
  readonly innerType?: $ZodType;
  readonly element?: $ZodType;
  readonly shape?: Readonly<Record<string, $ZodType>>;
  readonly catchall?: $ZodType;
  readonly defaultValue?: unknown;
  readonly coerce?: boolean;
}

interface CheckDef {
  readonly check: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly length?: number;
  readonly value?: number;
  readonly inclusive?: boolean;
  readonly format?: string;
  readonly pattern?: RegExp;
}

// Zod's integer and float formats and their ranges (zod/v4/core util.NUMBER_FORMAT_RANGES).
const NUMBER_FORMATS: Readonly<Record<string, readonly [number, number]>> = {
  safeint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  float32: [-3.4028234663852886e38, 3.4028234663852886e38],
  float64: [-Number.MAX_VALUE, Number.MAX_VALUE],
};

/** Generated source plus the values it refers to (`k[0]`, `k[1]`, ...). */
class Emitter {
  readonly lines: string[] = [];
  readonly constants: unknown[] = [];
  /** Schemas being emitted: meeting one again means recursion, which is not plain (the code would be infinite). */
  readonly open = new Set<$ZodType>();
  #next = 0;

  name(prefix: string): string {
    return `${prefix}${this.#next++}`;
  }
  constant(value: unknown): string {
    this.constants.push(value);
    return `k[${this.constants.length - 1}]`;
  }
  line(code: string): void {
    this.lines.push(code);
  }
}

function defOf(schema: $ZodType): Def {
  return schema._zod.def as unknown as Def;
}

/**
 * Emits the checks every value of a number, string or array node must pass. A string's length is counted in code
 * points, as Zod counts it; like Zod, the count is only made when the UTF-16 length leaves the answer in doubt.
 */
function emitChecks(def: Def, value: string, isString: boolean, e: Emitter): void {
  const units = `${value}.length`;
  const points = isString ? `${e.constant(util.codePointLength)}(${value})` : units;
  for (const { _zod } of def.checks ?? []) {
    const check = _zod.def;
    switch (check.check) {
      case "min_length": {
        const min = check.minimum!;
        e.line(
          isString
            ? `if (${units} < ${min} || (${units} < ${min * 2} && ${points} < ${min})) return F;`
            : `if (${units} < ${min}) return F;`,
        );
        break;
      }
      case "max_length": {
        const max = check.maximum!;
        e.line(
          isString
            ? `if (${units} > ${max} && (${units} > ${max * 2} || ${points} > ${max})) return F;`
            : `if (${units} > ${max}) return F;`,
        );
        break;
      }
      case "length_equals": {
        const length = check.length!;
        e.line(
          isString
            ? `if (${units} < ${length} || ${units} > ${length * 2} || ${points} !== ${length}) return F;`
            : `if (${units} !== ${length}) return F;`,
        );
        break;
      }
      case "greater_than":
        e.line(`if (!(${value} ${check.inclusive ? ">=" : ">"} ${e.constant(check.value)})) return F;`);
        break;
      case "less_than":
        e.line(`if (!(${value} ${check.inclusive ? "<=" : "<"} ${e.constant(check.value)})) return F;`);
        break;
      case "number_format":
        emitNumberFormat(check.format, value, e);
        break;
      case "string_format": {
        if (check.format !== "regex" || !(check.pattern instanceof RegExp)) throw new NotPlain();
        const pattern = e.constant(check.pattern);
        // As Zod does: a global or sticky pattern must not carry state from the previous test.
        e.line(`${pattern}.lastIndex = 0; if (!${pattern}.test(${value})) return F;`);
        break;
      }
      default:
        throw new NotPlain();
    }
  }
}

function emitNumberFormat(format: string | undefined, value: string, e: Emitter): void {
  const range = NUMBER_FORMATS[format ?? "float64"];
  if (range === undefined) throw new NotPlain();
  if (format?.includes("int")) e.line(`if (!Number.isInteger(${value})) return F;`);
  e.line(`if (${value} < ${range[0]} || ${value} > ${range[1]}) return F;`);
}

/**
 * Emits code that validates `value` against `schema` (returning F from the generated function on failure) and
 * returns the expression of the result: Zod's output in parse mode, its JSON text (or undefined) in write mode.
 */
function emit(schema: $ZodType, value: string, mode: "parse" | "write", e: Emitter): string {
  if (e.open.has(schema)) throw new NotPlain();
  e.open.add(schema);
  const result = emitNode(schema, value, mode, e);
  e.open.delete(schema);
  return result;
}

function emitNode(schema: $ZodType, value: string, mode: "parse" | "write", e: Emitter): string {
  const def = defOf(schema);
  if (def.coerce) throw new NotPlain();
  switch (def.type) {
    case "string": {
      if (def.format !== undefined) throw new NotPlain();
      e.line(`if (typeof ${value} !== "string") return F;`);
      emitChecks(def, value, true, e);
      return mode === "parse" ? value : `${e.constant(quote)}(${value})`;
    }
    case "number": {
      if (def.check === "number_format" && def.format === "safeint") {
        // z.int(): one test covers the type, finiteness, integrality and the range.
        e.line(`if (typeof ${value} !== "number" || !Number.isSafeInteger(${value})) return F;`);
      } else {
        e.line(`if (typeof ${value} !== "number" || !Number.isFinite(${value})) return F;`);
        if (def.check === "number_format") emitNumberFormat(def.format, value, e);
        else if (def.format !== undefined) throw new NotPlain();
      }
      emitChecks(def, value, false, e);
      return mode === "parse" ? value : `("" + ${value})`;
    }
    case "boolean":
      e.line(`if (typeof ${value} !== "boolean") return F;`);
      return mode === "parse" ? value : `(${value} ? "true" : "false")`;
    case "null":
      e.line(`if (${value} !== null) return F;`);
      return mode === "parse" ? value : `"null"`;
    case "enum":
    case "literal": {
      const values = schema._zod.values;
      if (!(values instanceof Set) || def.checks?.length) throw new NotPlain();
      e.line(`if (!${e.constant(values)}.has(${value})) return F;`);
      return mode === "parse" ? value : `JSON.stringify(${value})`;
    }
    case "optional":
    case "nullable": {
      const empty = def.type === "optional" ? "undefined" : "null";
      const result = e.name("r");
      // In write mode undefined means "leave out" (as JSON.stringify does), and null is written.
      const emptyResult = mode === "parse" || empty === "undefined" ? empty : '"null"';
      e.line(`let ${result};`);
      e.line(`if (${value} === ${empty}) ${result} = ${emptyResult};`);
      e.line("else {");
      e.line(`${result} = ${emit(def.innerType!, value, mode, e)};`);
      e.line("}");
      return result;
    }
    case "default": {
      const result = e.name("r");
      const source = e.constant(def);
      e.line(`let ${result};`);
      // Zod returns the default without validating it; `defaultValue` is a getter (a fresh copy or a new call).
      e.line(
        `if (${value} === undefined) ${result} = ${mode === "parse" ? `${source}.defaultValue` : `JSON.stringify(${source}.defaultValue)`};`,
      );
      e.line("else {");
      e.line(`${result} = ${emit(def.innerType!, value, mode, e)};`);
      e.line("}");
      return result;
    }
    case "array":
      return emitArray(def, value, mode, e);
    case "object":
      return emitObject(def, value, mode, e);
    default:
      throw new NotPlain();
  }
}

function emitArray(def: Def, value: string, mode: "parse" | "write", e: Emitter): string {
  const out = e.name("a");
  const index = e.name("i");
  const item = e.name("v");
  e.line(`if (!Array.isArray(${value})) return F;`);
  emitChecks(def, value, false, e);
  e.line(mode === "parse" ? `const ${out} = new Array(${value}.length);` : `let ${out} = "[";`);
  e.line(`for (let ${index} = 0; ${index} < ${value}.length; ${index}++) {`);
  e.line(`const ${item} = ${value}[${index}];`);
  const result = emit(def.element!, item, mode, e);
  if (mode === "parse") {
    e.line(`${out}[${index}] = ${result};`);
  } else {
    // JSON.stringify writes an undefined array element as null.
    e.line(`${out} += (${index} === 0 ? "" : ",") + (${result} ?? "null");`);
  }
  e.line("}");
  return mode === "parse" ? out : `(${out} + "]")`;
}

function emitObject(def: Def, value: string, mode: "parse" | "write", e: Emitter): string {
  const shape = def.shape ?? {};
  const keys = Object.keys(shape);
  if (keys.includes("__proto__") || Object.getOwnPropertySymbols(shape).length > 0) throw new NotPlain();
  const strict = def.catchall !== undefined;
  if (strict && defOf(def.catchall!).type !== "never") throw new NotPlain();
  e.line(`if (typeof ${value} !== "object" || ${value} === null || Array.isArray(${value})) return F;`);
  if (strict) {
    // A strict object rejects unknown keys (Zod reports them as unrecognized_keys).
    e.line(`for (const key of Object.keys(${value})) if (!${e.constant(new Set(keys))}.has(key)) return F;`);
  }
  const out = e.name("o");
  e.line(mode === "parse" ? `const ${out} = {};` : `let ${out} = "";`);
  // In write mode the separators are settled at startup where they can be: after a field that is always written,
  // the next one always needs a comma.
  let written: "never" | "maybe" | "always" = "never";
  for (const key of keys) {
    const literal = JSON.stringify(key);
    const item = e.name("v");
    e.line(`const ${item} = ${value}[${literal}];`);
    const result = emit(shape[key]!, item, mode, e);
    if (mode === "parse") {
      // Zod keeps a key whose value came out undefined only if the input had it.
      e.line(`if (${result} !== undefined) ${out}[${literal}] = ${result};`);
      e.line(`else if (${literal} in ${value}) ${out}[${literal}] = undefined;`);
      continue;
    }
    const separator =
      written === "always" ? `","` : written === "maybe" ? `(${out} === "" ? "" : ",")` : `""`;
    const field = `${separator} + ${JSON.stringify(`${literal}:`)} + `;
    if (mayBeLeftOut(shape[key]!)) {
      const text = e.name("t");
      e.line(`const ${text} = ${result};`);
      e.line(`if (${text} !== undefined) ${out} += ${field}${text};`);
      if (written === "never") written = "maybe";
    } else {
      e.line(`${out} += ${field}${result};`);
      written = "always";
    }
  }
  return mode === "parse" ? out : `("{" + ${out} + "}")`;
}

/** Whether a field's JSON can be absent (an optional field left undefined), so its comma is decided at run time. */
function mayBeLeftOut(schema: $ZodType): boolean {
  const def = defOf(schema);
  if (def.type === "optional") return true;
  if (def.type === "nullable") return mayBeLeftOut(def.innerType!);
  return def.type === "default" && def.defaultValue === undefined;
}

function generate<T>(schema: $ZodType, mode: "parse" | "write"): T | undefined {
  const e = new Emitter();
  let result: string;
  try {
    result = emit(schema, "input", mode, e);
  } catch (error) {
    if (error instanceof NotPlain) return undefined;
    throw error;
  }
  const body = [...e.lines, mode === "write" ? `return ${result} ?? "null";` : `return ${result};`].join(
    "\n",
  );
  // Generated once per route at startup from the schema's own definition; no request data reaches the source.
  const factory = new Function("k", "F", `return function fast(input) {\n${body}\n};`);
  return factory(e.constants, FAIL) as T;
}

/** A parser equivalent to Zod's for a plain schema; undefined when the schema is not plain. */
export function compileFastParse(schema: $ZodType): FastParse | undefined {
  return generate<FastParse>(schema, "parse");
}

/** A validating JSON writer equivalent to `JSON.stringify(zod.parse(value))`; undefined when not plain. */
export function compileFastWrite(schema: $ZodType): FastWrite | undefined {
  return generate<FastWrite>(schema, "write");
}
