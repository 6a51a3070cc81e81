import { object as zodObject } from "zod";
import type { $ZodType } from "zod/v4/core";
import { BriskError, type ValidationIssue } from "../errors.ts";
import type { ParamSchema, SchemaShape } from "../route.ts";
import { compileCoercion, type FieldCoercion } from "../schema/coerce.ts";
import { type IssueSource, toValidationIssues } from "../schema/issues.ts";
import { propertySchema, toJsonSchema } from "../schema/json-schema.ts";
import { isStandardSchema, type StandardSchemaV1, type Validated } from "../schema/standard.ts";
import { compileValidator } from "../schema/validator.ts";
import { isZodSchema } from "../schema/zod.ts";

/** Where a parameter comes from; also the first element of its errors' `loc`. */
export type ParamLocation = "path" | "query" | "header" | "cookie";

/** Where text fields come from: a parameter source, or the fields of a form body (located at `["body", field]`). */
export type TextLocation = ParamLocation | "body";

/** The text a request carries for one source: every occurrence of a wire name, and the names present. */
export interface ParamValues {
  get(wire: string): readonly string[] | undefined;
  keys(): Iterable<string>;
}

/** The result of validating one source: its typed value, or its FastAPI-shaped issues. */
export type SourceResult = { value: unknown; issues?: undefined } | { issues: ValidationIssue[] };

/** A compiled parameter source: reads the request's text, coerces it, validates it. */
export type SourceValidator = (values: ParamValues) => SourceResult | Promise<SourceResult>;

interface Field {
  readonly key: string;
  readonly wire: string;
  readonly coercion: FieldCoercion;
}

/** FastAPI's header rule: `user_agent` reads `user-agent`, case-insensitively. */
export const headerWire = (key: string): string => key.replace(/_/g, "-").toLowerCase();

function rawField(values: ParamValues, field: Field): unknown {
  const all = values.get(field.wire);
  if (all === undefined || all.length === 0) return undefined;
  return field.coercion.multiple ? all : all[all.length - 1];
}

function coerceField(raw: unknown, field: Field): unknown {
  if (raw === undefined) return undefined;
  return Array.isArray(raw) ? raw.map(field.coercion.coerce) : field.coercion.coerce(raw as string);
}

function finish(result: Validated, source: IssueSource): SourceResult {
  return result.issues === undefined
    ? { value: result.value }
    : { issues: toValidationIssues(result.issues, source) };
}

/**
 * Compiles a `params`, `query`, `headers` or `cookies` declaration. A shape of Zod schemas becomes one Zod object
 * (one validation per request); a whole object schema gets its fields from its JSON Schema, and unknown query keys
 * are passed on so that a strict schema can report `extra_forbidden`.
 */
export function compileSource(location: TextLocation, declared: ParamSchema): SourceValidator {
  const wireOf = location === "header" ? headerWire : (key: string) => key;
  if (isStandardSchema(declared)) return compileObjectSource(location, declared, wireOf);
  const shape = declared as SchemaShape;
  for (const [key, schema] of Object.entries(shape)) {
    if (!isStandardSchema(schema)) {
      throw new BriskError("BRISK_INVALID_SCHEMA", `The ${location} field "${key}" is not a Standard Schema`);
    }
  }
  const schemas = Object.values(shape);
  if (schemas.every((schema) => isZodSchema(schema))) {
    return compileObjectSource(
      location,
      zodObject(shape as Record<string, $ZodType>) as StandardSchemaV1,
      wireOf,
    );
  }
  return compileFieldSources(location, shape, wireOf);
}

function compileObjectSource(
  location: TextLocation,
  schema: StandardSchemaV1,
  wireOf: (key: string) => string,
): SourceValidator {
  const root = toJsonSchema(schema, "input");
  const properties = Object.keys((root?.properties as Record<string, unknown> | undefined) ?? {});
  const fields: Field[] = properties.map((key) => ({
    key,
    wire: wireOf(key),
    coercion: compileCoercion(root ?? {}, root && propertySchema(root, root, key)),
  }));
  const known = new Set(fields.map((field) => field.wire));
  // Unknown keys reach the schema (as text) so that strict objects can reject them; headers are too many to pass.
  const passUnknown = location !== "header";
  const zod = isZodSchema(schema) ? schema : undefined;
  const wireName = (key: string) => fields.find((field) => field.key === key)?.wire ?? key;
  const validate = compileValidator(schema);

  return (values) => {
    const raw: Record<string, unknown> = {};
    const input: Record<string, unknown> = {};
    for (const field of fields) {
      const value = rawField(values, field);
      if (value === undefined) continue;
      raw[field.key] = value;
      input[field.key] = coerceField(value, field);
    }
    if (passUnknown) {
      for (const wire of values.keys()) {
        if (known.has(wire)) continue;
        const all = values.get(wire)!;
        raw[wire] = input[wire] = all[all.length - 1];
      }
    }
    const source: IssueSource = { loc: [location], raw, zod, wireName, kind: "text" };
    const result = validate(input);
    return result instanceof Promise ? result.then((done) => finish(done, source)) : finish(result, source);
  };
}

function compileFieldSources(
  location: TextLocation,
  shape: SchemaShape,
  wireOf: (key: string) => string,
): SourceValidator {
  const fields = Object.entries(shape).map(([key, schema]) => {
    const root = toJsonSchema(schema, "input");
    return {
      key,
      wire: wireOf(key),
      validate: compileValidator(schema),
      coercion: compileCoercion(root ?? {}, root),
      zod: isZodSchema(schema) ? schema : undefined,
    };
  });
  return async (values) => {
    const value: Record<string, unknown> = {};
    const issues: ValidationIssue[] = [];
    for (const field of fields) {
      const raw = rawField(values, field);
      const result = await field.validate(coerceField(raw, field));
      if (result.issues === undefined) {
        if (result.value !== undefined) value[field.key] = result.value;
        continue;
      }
      const source: IssueSource = {
        loc: [location, field.wire],
        raw,
        zod: field.zod,
        kind: "text",
      };
      issues.push(...toValidationIssues(result.issues, source));
    }
    return issues.length === 0 ? { value } : { issues };
  };
}
