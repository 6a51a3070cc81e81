import type { StandardJSONSchemaV1, StandardSchemaV1 } from "@standard-schema/spec";

export type { StandardSchemaV1 };

/** A JSON Schema (2020-12) object, as brisk reads and writes it. */
export type JsonSchema = { [key: string]: unknown };

/** What a validation returns: the output, or the library's issues. */
export type Validated =
  | { readonly value: unknown; readonly issues?: undefined }
  | {
      readonly issues: readonly StandardSchemaV1.Issue[];
    };

/** True when `value` implements Standard Schema v1 (Zod, Valibot, ArkType, ...). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Partial<StandardSchemaV1>)["~standard"]?.validate === "function"
  );
}

/** The Standard JSON Schema converter of a schema, when its library offers one. */
export function jsonSchemaConverter(schema: StandardSchemaV1): StandardJSONSchemaV1.Converter | undefined {
  const props = schema["~standard"] as Partial<StandardJSONSchemaV1.Props>;
  return typeof props.jsonSchema?.input === "function" ? props.jsonSchema : undefined;
}

/** A compiled validation: synchronous when the schema is (the common case), so no promise is made per request. */
export type Validator = (value: unknown) => Validated | Promise<Validated>;

/** Validates through the Standard Schema interface, for libraries other than Zod. */
export function standardValidator(schema: StandardSchemaV1): Validator {
  const { validate } = schema["~standard"];
  return (value) => validate(value) as Validated | Promise<Validated>;
}
