import secureJson from "secure-json-parse";
import type { $ZodType } from "zod/v4/core";
import { BriskError, HTTPException, RequestValidationError, type ValidationIssue } from "../errors.ts";
import type { Incoming } from "../exchange.ts";
import { formSchemaOf } from "../form.ts";
import { type Decoding, readDecoded, streamDecoded } from "../internal/content-encoding.ts";
import { findJsonSyntaxError } from "../internal/json-error.ts";
import { checkJsonShape, type JsonLimits } from "../internal/json-limits.ts";
import { isJsonMediaType, isUtf8, parseMediaType } from "../internal/media-type.ts";
import { multipartSpecOf } from "../multipart.ts";
import { toValidationIssues } from "../schema/issues.ts";
import type { StandardSchemaV1, Validated } from "../schema/standard.ts";
import { compileValidator } from "../schema/validator.ts";
import { isZodSchema } from "../schema/zod.ts";
import {
  DEFAULT_LIMITS,
  isMultipart,
  type MultipartReading,
  parseMultipart,
  parseUrlEncoded,
} from "./form-body.ts";
import type { SourceResult } from "./params.ts";

const POISONED = "Object contains forbidden prototype property";
const decoder = new TextDecoder("utf-8", { fatal: true });

const SHAPE_LIMITS = {
  depth: (limits: JsonLimits) => `The JSON body is nested deeper than ${limits.depth} levels`,
  keys: (limits: JsonLimits) => `The JSON body has an object of more than ${limits.keys} keys`,
  numberLength: (limits: JsonLimits) =>
    `The JSON body has a number of more than ${limits.numberLength} characters`,
};

/**
 * Turns the bytes of a JSON body into a value. Empty means absent (the schema decides whether that is allowed);
 * another media type or charset is 415; malformed JSON, or a number beyond a double's range (JSON.parse would make
 * it Infinity, which JSON.stringify writes as null), is FastAPI's `json_invalid` 422; prototype-poisoning keys and
 * bodies beyond the shape limits are 400.
 */
export function parseJsonBody(
  bytes: Uint8Array,
  contentType: string | undefined,
  limits: JsonLimits,
): unknown {
  if (bytes.byteLength === 0) return undefined;
  const media = parseMediaType(contentType);
  if (!isJsonMediaType(media)) {
    throw new HTTPException(415, "Unsupported Media Type: the body must be application/json");
  }
  if (!isUtf8(media!)) {
    throw new HTTPException(415, "Unsupported Media Type: a JSON body must be UTF-8");
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new HTTPException(400, "There was an error parsing the body");
  }
  const problem = checkJsonShape(text, limits);
  if (problem?.kind === "nonFinite") throw jsonInvalid(problem.position, "Number out of range");
  if (problem !== undefined) throw new HTTPException(400, SHAPE_LIMITS[problem.kind](limits));
  try {
    return secureJson.parse(text, null, { protoAction: "error", constructorAction: "error" });
  } catch (error) {
    if (error instanceof SyntaxError && error.message === POISONED) {
      throw new HTTPException(400, "The body contains a forbidden key (__proto__ or constructor.prototype)");
    }
    const found = findJsonSyntaxError(text) ?? { position: 0, message: "Expecting value" };
    throw jsonInvalid(found.position, found.message);
  }
}

/** FastAPI's 422 for a body that is not JSON it can use. */
function jsonInvalid(position: number, message: string): RequestValidationError {
  const issue: ValidationIssue = {
    type: "json_invalid",
    loc: ["body", position],
    msg: "JSON decode error",
    input: {},
    ctx: { error: message },
  };
  return new RequestValidationError([issue]);
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

/** Reads and parses a route's body, once per request, before any validation. */
export type BodyReader = (incoming: Incoming) => Promise<unknown>;

/**
 * Compiles how a route reads its body, from every body schema it and its dependencies declare: JSON, or a form
 * (URL-encoded or multipart, whichever the request sends). A form's file fields are those of any `multipart()`
 * among them; the limits are the route's own body's, its `bodyLimit` overriding the total.
 */
export function compileBodyReader(
  route: string,
  bodies: readonly StandardSchemaV1[],
  bodyLimit: number | undefined,
  appBodyLimit: number,
  jsonLimits: JsonLimits,
  encodings: { readonly decompress: boolean; readonly ratio: number },
): BodyReader | undefined {
  if (bodies.length === 0) return undefined;
  const forms = bodies.filter(
    (body) => formSchemaOf(body) !== undefined || multipartSpecOf(body) !== undefined,
  );
  if (forms.length === 0) {
    const limit = bodyLimit ?? appBodyLimit;
    const decoding: Decoding = { enabled: encodings.decompress, limit, ratio: encodings.ratio };
    return (incoming) =>
      readDecoded(incoming, decoding).then((bytes) =>
        parseJsonBody(bytes, incoming.header("content-type"), jsonLimits),
      );
  }
  if (forms.length < bodies.length) {
    throw new BriskError(
      "BRISK_INVALID_SCHEMA",
      `${route}: its body is declared both as a form and as JSON (by the route or its dependencies)`,
    );
  }
  const multiparts = forms.map(multipartSpecOf).filter((spec) => spec !== undefined);
  const uploads = new Map(multiparts.flatMap((spec) => [...spec.uploads]));
  const own = multiparts[0]?.options;
  const limits = { ...DEFAULT_LIMITS, ...own?.limits };
  // A form of text fields only is held in memory whole, so the app's limit applies; files have their own.
  const total = bodyLimit ?? (multiparts.length > 0 ? limits.totalSize : appBodyLimit);
  const reading: MultipartReading = { uploads, limits, tempDir: own?.tempDir };
  const decoding: Decoding = { enabled: encodings.decompress, limit: total, ratio: encodings.ratio };
  return (incoming) => {
    const contentType = incoming.header("content-type");
    if (isMultipart(contentType)) {
      return parseMultipart(streamDecoded(incoming, decoding), contentType!, reading);
    }
    return readDecoded(incoming, decoding).then((bytes) => parseUrlEncoded(bytes, contentType, limits));
  };
}
