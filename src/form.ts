import type { StandardSchemaV1 } from "./schema/standard.ts";

const FORM: unique symbol = Symbol.for("brisk.form");

/** A body declared as an HTML form rather than JSON. */
export interface FormSchema<Schema extends StandardSchemaV1 = StandardSchemaV1>
  extends StandardSchemaV1<StandardSchemaV1.InferInput<Schema>, StandardSchemaV1.InferOutput<Schema>> {
  readonly [FORM]: Schema;
}

/**
 * Declares a form body: `body: form(z.object({ username: z.string(), password: z.string() }))`, read from an
 * `application/x-www-form-urlencoded` or a `multipart/form-data` body (files in it are not read: declare them with
 * `multipart()`). Fields arrive as text and are coerced like query parameters (numbers, booleans, repeated keys
 * as arrays); an empty field counts as missing, as FastAPI treats HTML forms; errors are located at
 * `["body", field]`. As in FastAPI, a body of another media type (JSON) has no fields, so required ones are
 * reported missing.
 */
export function form<const Schema extends StandardSchemaV1>(schema: Schema): FormSchema<Schema> {
  return { "~standard": schema["~standard"], [FORM]: schema } as FormSchema<Schema>;
}

/** The object schema inside {@link form}, or undefined for a JSON body schema. */
export function formSchemaOf(schema: StandardSchemaV1 | undefined): StandardSchemaV1 | undefined {
  return schema !== undefined && FORM in schema ? (schema as FormSchema)[FORM] : undefined;
}
