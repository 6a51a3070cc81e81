import { createRequire } from "node:module";
import type { $ZodType } from "zod/v4/core";
import { ResponseValidationError } from "../errors.ts";
import { toValidationIssues } from "../schema/issues.ts";
import { toJsonSchema } from "../schema/json-schema.ts";
import { compileFastWrite, FAIL } from "../schema/plain.ts";
import type { StandardSchemaV1, Validated } from "../schema/standard.ts";
import { compileValidator } from "../schema/validator.ts";
import { isZodSchema } from "../schema/zod.ts";

/** Turns a handler's returned data into the JSON text of the success body. */
export type Serializer = (value: unknown) => string | Promise<string>;

/** Statuses whose responses never carry a body (RFC 9110 §15.3.5, §15.4.5, §6.4.1). */
export function forbidsBody(status: number): boolean {
  return status < 200 || status === 204 || status === 205 || status === 304;
}

function stringify(value: unknown): string {
  // `undefined` (a handler that returns nothing) is JSON null, as FastAPI sends None.
  return JSON.stringify(value) ?? "null";
}

type FastJson = typeof import("fast-json-stringify").default;
let fastJsonModule: FastJson | undefined;

/** fast-json-stringify (and the ajv it loads) costs startup time and memory: loaded only when a schema needs it. */
function loadFastJson(): FastJson {
  fastJsonModule ??= createRequire(import.meta.url)("fast-json-stringify") as FastJson;
  return fastJsonModule;
}

/**
 * A serializer generated from the schema's output JSON Schema (fast-json-stringify), which writes each known
 * field directly instead of walking the value generically. It only ever sees values the schema has validated;
 * a schema it cannot compile falls back to `JSON.stringify`.
 */
function compileJsonWriter(schema: StandardSchemaV1): (value: unknown) => string {
  const jsonSchema = toJsonSchema(schema, "output");
  if (jsonSchema === undefined) return stringify;
  try {
    const fastJson = loadFastJson();
    // A JSON Schema object from Zod or Standard JSON Schema is what fast-json-stringify reads; its own type is narrower.
    const write = fastJson(jsonSchema as unknown as Parameters<typeof fastJson>[0]);
    return (value) => (value === undefined ? "null" : write(value));
  } catch {
    return stringify;
  }
}

/**
 * Compiles a route's serializer. With a `response` schema the value is validated and the schema's output is sent,
 * so keys the schema does not declare never reach the client; a mismatch is a {@link ResponseValidationError}.
 * A plain Zod schema validates and writes in one generated pass; others validate, then write with a serializer
 * generated from their JSON Schema.
 */
export function compileSerializer(route: string, schema: StandardSchemaV1 | undefined): Serializer {
  if (schema === undefined) return stringify;
  const zod: $ZodType | undefined = isZodSchema(schema) ? schema : undefined;
  const validate = compileValidator(schema);
  const fast = zod === undefined ? undefined : compileFastWrite(zod);
  // A plain schema's fast writer agrees with Zod, so its slow path only ever reports issues.
  const write = fast === undefined ? compileJsonWriter(schema) : stringify;
  const finish = (value: unknown, result: Validated): string => {
    if (result.issues === undefined) return write(result.value);
    const source = { loc: ["response"], raw: value, zod, kind: "response" } as const;
    throw new ResponseValidationError(route, toValidationIssues(result.issues, source));
  };
  return (value) => {
    if (fast !== undefined) {
      const json = fast(value);
      if (json !== FAIL) return json;
    }
    const result = validate(value);
    return result instanceof Promise ? result.then((done) => finish(value, done)) : finish(value, result);
  };
}
