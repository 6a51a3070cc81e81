import { toJSONSchema } from "zod/v4/core";
import { type JsonSchema, jsonSchemaConverter, type StandardSchemaV1 } from "./standard.ts";
import { isZodSchema } from "./zod.ts";

/**
 * The JSON Schema (2020-12) of a schema's input or output form: from Zod directly, or from Standard JSON Schema
 * for other libraries. Undefined when the library cannot describe the schema.
 */
export function toJsonSchema(schema: StandardSchemaV1, io: "input" | "output"): JsonSchema | undefined {
  if (isZodSchema(schema)) {
    return toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" }) as JsonSchema;
  }
  const converter = jsonSchemaConverter(schema);
  if (converter === undefined) return undefined;
  try {
    return converter[io]({ target: "draft-2020-12" }) as JsonSchema;
  } catch {
    return undefined;
  }
}

/** Follows a local `$ref` (`#/$defs/Name`) within `root`. */
export function resolveRef(root: JsonSchema, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let depth = 0; depth < 32 && typeof current.$ref === "string"; depth++) {
    const ref: string = current.$ref;
    if (!ref.startsWith("#")) return current;
    let target: unknown = root;
    for (const part of ref.slice(1).split("/").filter(Boolean)) {
      target = (target as JsonSchema | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    if (typeof target !== "object" || target === null) return current;
    current = target as JsonSchema;
  }
  return current;
}

/** The JSON types a schema admits (`type`, `anyOf`/`oneOf` branches, `const`/`enum` values). */
export function admittedTypes(
  root: JsonSchema,
  schema: JsonSchema,
  into: Set<string> = new Set(),
): Set<string> {
  const resolved = resolveRef(root, schema);
  const { type } = resolved;
  if (typeof type === "string") into.add(type);
  else if (Array.isArray(type)) for (const each of type) into.add(String(each));
  for (const key of ["anyOf", "oneOf", "allOf"] as const) {
    const branches = resolved[key];
    if (Array.isArray(branches))
      for (const branch of branches) admittedTypes(root, branch as JsonSchema, into);
  }
  const values = "const" in resolved ? [resolved.const] : Array.isArray(resolved.enum) ? resolved.enum : [];
  for (const value of values)
    into.add(value === null ? "null" : typeof value === "number" ? "number" : typeof value);
  return into;
}

/** The schema of a property of an object schema, if it declares one. */
export function propertySchema(root: JsonSchema, schema: JsonSchema, name: string): JsonSchema | undefined {
  const properties = resolveRef(root, schema).properties as Record<string, JsonSchema> | undefined;
  return properties !== undefined && Object.hasOwn(properties, name) ? properties[name] : undefined;
}
