import type { $ZodType } from "zod/v4/core";
import type { ValidationIssue } from "../errors.ts";
import type { StandardSchemaV1 } from "./standard.ts";
import { zodIssueMessage, zodKind, zodSchemaAt } from "./zod.ts";

/** What turning a library's issues into FastAPI's `detail` entries needs to know about where they came from. */
export interface IssueSource {
  /** The start of every `loc`: `["query"]`, `["body"]`, or `["query", "limit"]` for a field validated alone. */
  readonly loc: readonly (string | number)[];
  /** The value as received, before coercion: Pydantic reports `input` as the client sent it. */
  readonly raw: unknown;
  /** The Zod schema that was run, to tell integers from numbers and enums from literals. */
  readonly zod: $ZodType | undefined;
  /** Maps the first path key to its wire name (`user_agent` → `user-agent` for headers). */
  readonly wireName?: (key: string) => string;
  /**
   * What was validated. `text` (path, query, headers, cookies): strings that failed to coerce are `*_parsing`
   * errors and a missing field's `input` is null. `body` and `response` (JSON values): a string where a number is
   * expected is `*_type`, a missing field's `input` is the enclosing object, and a `null` body counts as missing.
   */
  readonly kind: "text" | "body" | "response";
}

/**
 * An issue as a schema library reports it: the Standard Schema fields plus Zod's own. Zod's issues reach this
 * module raw, before Zod composes their messages (`messageOf` does that, only for the few errors that show it).
 */
interface LibraryIssue extends Omit<StandardSchemaV1.Issue, "message"> {
  readonly message?: string;
  readonly code?: string;
  readonly expected?: string;
  readonly origin?: string;
  readonly format?: string;
  readonly pattern?: string;
  readonly minimum?: number | bigint;
  readonly maximum?: number | bigint;
  readonly inclusive?: boolean;
  readonly divisor?: number;
  readonly values?: readonly unknown[];
  readonly keys?: readonly string[];
  readonly errors?: readonly (readonly LibraryIssue[])[];
}

const MISSING = Symbol("missing");

function messageOf(issue: LibraryIssue): string {
  return issue.message ?? zodIssueMessage(issue);
}

function pathKeys(issue: LibraryIssue): PropertyKey[] {
  return (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment));
}

function lookup(raw: unknown, path: readonly PropertyKey[]): { value: unknown; parent: unknown } {
  let parent: unknown = MISSING;
  let value: unknown = raw;
  for (const key of path) {
    parent = value;
    value =
      typeof value === "object" && value !== null && Object.hasOwn(value, key)
        ? (value as Record<PropertyKey, unknown>)[key]
        : MISSING;
  }
  return { value, parent };
}

/** Python's `repr` of a literal, as Pydantic prints expected values: `'a'`, `1`, `True`, `None`. */
function pythonRepr(value: unknown): string {
  if (typeof value === "string") return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null || value === undefined) return "None";
  return String(value);
}

function expectedList(values: readonly unknown[]): string {
  const parts = values.map(pythonRepr);
  return parts.length <= 1 ? (parts[0] ?? "") : `${parts.slice(0, -1).join(", ")} or ${parts.at(-1)}`;
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
const FIELD_TYPES: Readonly<Record<string, string>> = {
  array: "List",
  set: "Set",
  map: "Dict",
  record: "Dict",
};

type Shape = Pick<ValidationIssue, "type" | "msg" | "ctx">;

function typeError(expected: string, kind: string | undefined, input: unknown, fromText: boolean): Shape {
  const target = kind === "int" || expected === "int" || expected === "bigint" ? "int" : expected;
  const nonFinite = typeof input === "number" && !Number.isFinite(input);
  const text = fromText && typeof input === "string";
  switch (target) {
    case "int":
      if (text) {
        return {
          type: "int_parsing",
          msg: "Input should be a valid integer, unable to parse string as an integer",
        };
      }
      if (nonFinite) return { type: "finite_number", msg: "Input should be a finite number" };
      if (typeof input === "number") {
        return {
          type: "int_from_float",
          msg: "Input should be a valid integer, got a number with a fractional part",
        };
      }
      return { type: "int_type", msg: "Input should be a valid integer" };
    case "number":
      if (text) {
        return {
          type: "float_parsing",
          msg: "Input should be a valid number, unable to parse string as a number",
        };
      }
      if (nonFinite) return { type: "finite_number", msg: "Input should be a finite number" };
      return { type: "float_type", msg: "Input should be a valid number" };
    case "boolean":
      return text
        ? { type: "bool_parsing", msg: "Input should be a valid boolean, unable to interpret input" }
        : { type: "bool_type", msg: "Input should be a valid boolean" };
    case "string":
      return { type: "string_type", msg: "Input should be a valid string" };
    case "array":
      return { type: "list_type", msg: "Input should be a valid list" };
    case "set":
      return { type: "set_type", msg: "Input should be a valid set" };
    case "object":
      return kind === "record" || kind === "map"
        ? { type: "dict_type", msg: "Input should be a valid dictionary" }
        : {
            type: "model_attributes_type",
            msg: "Input should be a valid dictionary or object to extract fields from",
          };
    case "null":
      return { type: "none_required", msg: "Input should be None" };
    default:
      return { type: `${target}_type`, msg: `Input should be a valid ${target}` };
  }
}

function boundError(issue: LibraryIssue, lower: boolean, input: unknown): Shape {
  const bound = Number(lower ? issue.minimum : issue.maximum);
  const origin = issue.origin ?? typeof input;
  if (origin === "string") {
    const key = lower ? "min_length" : "max_length";
    const words = lower ? "at least" : "at most";
    return {
      type: lower ? "string_too_short" : "string_too_long",
      msg: `String should have ${words} ${plural(bound, "character")}`,
      ctx: { [key]: bound },
    };
  }
  if (origin === "number" || origin === "bigint" || origin === "int") {
    const name = lower ? (issue.inclusive ? "ge" : "gt") : issue.inclusive ? "le" : "lt";
    const words = {
      ge: "greater than or equal to",
      gt: "greater than",
      le: "less than or equal to",
      lt: "less than",
    };
    const type = { ge: "greater_than_equal", gt: "greater_than", le: "less_than_equal", lt: "less_than" };
    return { type: type[name], msg: `Input should be ${words[name]} ${bound}`, ctx: { [name]: bound } };
  }
  const fieldType = FIELD_TYPES[origin] ?? "Value";
  const actual = Array.isArray(input)
    ? input.length
    : input instanceof Set || input instanceof Map
      ? input.size
      : 0;
  const key = lower ? "min_length" : "max_length";
  const words = lower ? "at least" : "at most";
  return {
    type: lower ? "too_short" : "too_long",
    msg: `${fieldType} should have ${words} ${plural(bound, "item")} after validation, not ${actual}`,
    ctx: { field_type: fieldType, [key]: bound, actual_length: actual },
  };
}

function formatError(issue: LibraryIssue): Shape {
  switch (issue.format) {
    case "regex": {
      const pattern = /^\/(.*)\/[a-z]*$/s.exec(issue.pattern ?? "")?.[1] ?? issue.pattern ?? "";
      return {
        type: "string_pattern_mismatch",
        msg: `String should match pattern '${pattern}'`,
        ctx: { pattern },
      };
    }
    case "uuid":
    case "guid":
      return { type: "uuid_parsing", msg: "Input should be a valid UUID" };
    case "url":
      return { type: "url_parsing", msg: "Input should be a valid URL" };
    case "datetime":
      return { type: "datetime_from_date_parsing", msg: "Input should be a valid datetime" };
    case "date":
      return { type: "date_from_datetime_parsing", msg: "Input should be a valid date" };
    case "email":
      return {
        type: "value_error",
        msg: "value is not a valid email address",
        ctx: { reason: messageOf(issue) },
      };
    default:
      return {
        type: "value_error",
        msg: `Value error, ${messageOf(issue)}`,
        ctx: { error: messageOf(issue) },
      };
  }
}

/** Appends the FastAPI-shaped entries for one library issue to `out`. */
function convert(
  issue: LibraryIssue,
  prefix: readonly PropertyKey[],
  source: IssueSource,
  out: ValidationIssue[],
) {
  const path = [...prefix, ...pathKeys(issue)];
  const loc = [...source.loc, ...path.map((key, index) => toLocPart(key, index, source))];
  const { value, parent } = lookup(source.raw, path);
  const zod = source.zod === undefined ? undefined : zodSchemaAt(source.zod, path);
  const kind = zod === undefined ? undefined : zodKind(zod);

  const absent = value === undefined || (value === null && path.length === 0 && source.kind === "body");
  if (value === MISSING || (absent && issue.code === "invalid_type")) {
    const top = path.length <= 1 && source.kind === "text";
    out.push({
      type: "missing",
      loc,
      msg: "Field required",
      input: top || parent === MISSING ? null : parent,
    });
    return;
  }
  let shape: Shape;
  switch (issue.code) {
    case "invalid_type":
      shape = typeError(issue.expected ?? "value", kind, value, source.kind === "text");
      break;
    case "too_small":
    case "too_big":
      shape = boundError(issue, issue.code === "too_small", value);
      break;
    case "invalid_format":
      shape = formatError(issue);
      break;
    case "not_multiple_of":
      shape = {
        type: "multiple_of",
        msg: `Input should be a multiple of ${issue.divisor}`,
        ctx: { multiple_of: issue.divisor },
      };
      break;
    case "invalid_value": {
      const values = issue.values ?? [];
      const enumLike = kind === "enum" || (kind !== "literal" && values.length > 1);
      const expected = expectedList(values);
      shape = {
        type: enumLike ? "enum" : "literal_error",
        msg: `Input should be ${expected}`,
        ctx: { expected },
      };
      break;
    }
    case "unrecognized_keys":
      for (const key of issue.keys ?? []) {
        out.push({
          type: "extra_forbidden",
          loc: [...loc, toLocPart(key, path.length, source)],
          msg: "Extra inputs are not permitted",
          input: lookup(value, [key]).value,
        });
      }
      return;
    case "invalid_union": {
      // Report the branch that got furthest (fewest issues), as one readable list rather than Pydantic's per-branch dump.
      const branches = issue.errors ?? [];
      const best = branches.reduce<readonly LibraryIssue[] | undefined>(
        (a, b) => (a === undefined || b.length < a.length ? b : a),
        undefined,
      );
      if (best !== undefined && best.length > 0) {
        for (const inner of best) convert(inner, path, source, out);
        return;
      }
      shape = { type: "union_tag_invalid", msg: "Input does not match any of the allowed types" };
      break;
    }
    default:
      shape = {
        type: "value_error",
        msg: `Value error, ${messageOf(issue)}`,
        ctx: { error: messageOf(issue) },
      };
  }
  const entry: ValidationIssue = { type: shape.type, loc, msg: shape.msg, input: value };
  if (shape.ctx !== undefined) entry.ctx = shape.ctx;
  out.push(entry);
}

function toLocPart(key: PropertyKey, index: number, source: IssueSource): string | number {
  if (typeof key === "number") return key;
  const text = String(key);
  return index === 0 && source.wireName !== undefined ? source.wireName(text) : text;
}

/** Turns a schema library's issues into FastAPI's 422 `detail` entries. */
export function toValidationIssues(
  issues: readonly StandardSchemaV1.Issue[],
  source: IssueSource,
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) convert(issue as LibraryIssue, [], source, out);
  return out;
}
