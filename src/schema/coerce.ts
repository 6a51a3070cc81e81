import secureJson from "secure-json-parse";
import { admittedTypes, resolveRef } from "./json-schema.ts";
import type { JsonSchema } from "./standard.ts";

/**
 * How the text values of one path, query, header, cookie or form field become the value its schema expects.
 * `multiple` fields take every occurrence of a repeated key as an array; the others take the last, as
 * Starlette's multi-dicts do.
 */
export interface FieldCoercion {
  readonly multiple: boolean;
  readonly coerce: (text: string) => unknown;
}

const TRUE_WORDS = new Set(["1", "true", "t", "yes", "y", "on"]);
const FALSE_WORDS = new Set(["0", "false", "f", "no", "n", "off"]);
// Python's float() grammar without "inf" and "nan" (non-finite numbers are refused): sign, digits with optional
// underscores between them, fraction, exponent, surrounding whitespace.
const DIGITS = "\\d+(?:_\\d+)*";
const NUMBER_TEXT = new RegExp(
  `^\\s*[+-]?(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?\\s*$`,
);
// Pydantic's integer text: digits, optionally followed by a zero fraction ("5.00"); no exponent.
const INTEGER_TEXT = new RegExp(`^\\s*[+-]?${DIGITS}(?:\\.0*)?\\s*$`);

const identity = (text: string): unknown => text;

/** A number when the text is one, else the text itself, which the schema then reports as `*_parsing`. */
function toNumber(text: string): unknown {
  if (!NUMBER_TEXT.test(text)) return text;
  const value = Number(text.replace(/_/g, ""));
  return Number.isFinite(value) ? value : text;
}

/** An integer when the text is one (`"1e3"` is not, as in Pydantic), else the text itself. */
function toInteger(text: string): unknown {
  return INTEGER_TEXT.test(text) ? toNumber(text) : text;
}

/** FastAPI's boolean words, case-insensitive; anything else stays text and fails as `bool_parsing`. */
function toBoolean(text: string): unknown {
  const word = text.toLowerCase();
  return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : text;
}

/**
 * A JSON document for a field whose schema wants an object: how a multipart body carries structured data next
 * to files. Text that is not JSON stays text, and the schema reports it.
 */
function toJson(text: string): unknown {
  try {
    return secureJson.parse(text, null, { protoAction: "remove", constructorAction: "remove" });
  } catch {
    return text;
  }
}

function scalarCoercion(types: Set<string>): (text: string) => unknown {
  // A schema that accepts text takes the text as it is (Pydantic's smart unions prefer the exact type).
  if (types.has("string") || types.size === 0) return identity;
  if (types.has("object")) return toJson;
  const numeric = types.has("number") ? toNumber : types.has("integer") ? toInteger : undefined;
  const boolean = types.has("boolean");
  if (numeric !== undefined && boolean) {
    return (text) => {
      const number = numeric(text);
      return typeof number === "number" ? number : toBoolean(text);
    };
  }
  return numeric ?? (boolean ? toBoolean : identity);
}

/** Compiles the coercion of one field from its JSON Schema (undefined: keep text, take the last value). */
export function compileCoercion(root: JsonSchema, schema: JsonSchema | undefined): FieldCoercion {
  if (schema === undefined) return { multiple: false, coerce: identity };
  const types = admittedTypes(root, schema);
  if (types.has("array")) {
    const resolved = resolveRef(root, schema);
    const arrayBranch = [resolved, ...((resolved.anyOf as JsonSchema[] | undefined) ?? [])]
      .map((branch) => resolveRef(root, branch))
      .find(
        (branch) => branch.type === "array" || (Array.isArray(branch.type) && branch.type.includes("array")),
      );
    const items = arrayBranch?.items as JsonSchema | undefined;
    return {
      multiple: true,
      coerce: items === undefined ? identity : scalarCoercion(admittedTypes(root, items)),
    };
  }
  return { multiple: false, coerce: scalarCoercion(types) };
}
