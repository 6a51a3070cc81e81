import { type StandardSchemaV1, standardValidator, type Validator } from "./standard.ts";
import { isZodSchema, zodValidator } from "./zod.ts";

/** Compiles a schema's validation once: Zod's direct path for Zod, the Standard Schema interface otherwise. */
export function compileValidator(schema: StandardSchemaV1): Validator {
  return isZodSchema(schema) ? zodValidator(schema) : standardValidator(schema);
}
