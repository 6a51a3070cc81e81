import secureJson from "secure-json-parse";
import type { $ZodType } from "zod/v4/core";
import { HTTPException, RequestValidationError, type ValidationIssue } from "../errors.ts";
import { findJsonSyntaxError } from "../internal/json-error.ts";
import { isJsonMediaType, parseMediaType } from "../internal/media-type.ts";
import { parseQuery } from "../internal/query.ts";
import { toValidationIssues } from "../schema/issues.ts";
import type { StandardSchemaV1, Validated } from "../schema/standard.ts";
import { compileValidator } from "../schema/validator.ts";
import { isZodSchema } from "../schema/zod.ts";
import type { SourceResult } from "./params.ts";

const POISONED = "Object contains forbidden prototype property";
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Turns the bytes of a JSON body into a value. Empty means absent (the schema decides whether that is allowed);
 * any other media type is 415; malformed JSON is FastAPI's `json_invalid` 422; prototype-poisoning keys are 400.
 */
export function parseJsonBody(bytes: Uint8Array, contentType: string | undefined): unknown {
  if (bytes.byteLength === 0) return undefined;
  if (!isJsonMediaType(contentType)) {
    throw new HTTPException(415, "Unsupported Media Type: the body must be application/json");
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new HTTPException(400, "There was an error parsing the body");
  }
  try {
    return secureJson.parse(text, null, { protoAction: "error", constructorAction: "error" });
  } catch (error) {
    if (error instanceof SyntaxError && error.message === POISONED) {
      throw new HTTPException(400, "The body contains a forbidden key (__proto__ or constructor.prototype)");
    }
    const found = findJsonSyntaxError(text) ?? { position: 0, message: "Expecting value" };
    const issue: ValidationIssue = {
      type: "json_invalid",
      loc: ["body", found.position],
      msg: "JSON decode error",
      input: {},
      ctx: { error: found.message },
    };
    throw new RequestValidationError([issue]);
  }
}

const FORM_MEDIA = "application/x-www-form-urlencoded";

const NO_FIELDS: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * Turns the bytes of a form body into its fields, every occurrence of each name in order. As in FastAPI, a body of
 * another media type (JSON, say) has no form fields, so the required ones are reported missing; multipart bodies
 * are refused with 415, since brisk reads only URL-encoded forms. Bytes that are not UTF-8 are 400.
 */
export function parseFormBody(
  bytes: Uint8Array,
  contentType: string | undefined,
): ReadonlyMap<string, readonly string[]> {
  const media = parseMediaType(contentType);
  if (media?.type === "multipart") {
    throw new HTTPException(415, `Unsupported Media Type: the body must be ${FORM_MEDIA}`);
  }
  if (media === undefined || `${media.type}/${media.subtype}` !== FORM_MEDIA) return NO_FIELDS;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new HTTPException(400, "There was an error parsing the body");
  }
  return parseQuery(text);
}

/** Compiles the validation of a parsed body against the route's `body` schema. */
export function compileBodyValidator(
  schema: StandardSchemaV1,
): (value: unknown) => SourceResult | Promise<SourceResult> {
  const zod: $ZodType | undefined = isZodSchema(schema) ? schema : undefined;
  const validate = compileValidator(schema);
  const finish = (value: unknown, result: Validated): SourceResult =>
    result.issues === undefined
      ? { value: result.value }
      : { issues: toValidationIssues(result.issues, { loc: ["body"], raw: value, zod, kind: "body" }) };
  return (value) => {
    const result = validate(value);
    return result instanceof Promise ? result.then((done) => finish(value, done)) : finish(value, result);
  };
}
