import { type $ZodType, config, util } from "zod/v4/core";
import { compileFastParse, FAIL } from "./plain.ts";
import type { StandardSchemaV1, Validated, Validator } from "./standard.ts";

/** The parts of a Zod 4 definition brisk reads: its kind and the children needed to walk a path. */
interface ZodDef {
  readonly type: string;
  readonly format?: string;
  readonly innerType?: $ZodType;
  readonly in?: $ZodType;
  readonly getter?: () => $ZodType;
  readonly shape?: Readonly<Record<string, $ZodType>>;
  readonly element?: $ZodType;
  readonly items?: readonly $ZodType[];
  readonly rest?: $ZodType | null;
  readonly valueType?: $ZodType;
  readonly options?: readonly $ZodType[];
  readonly checks?: readonly { _zod: { def: { check: string; format?: string } } }[];
}

/** True for a Zod 4 schema (classic or mini). */
export function isZodSchema(schema: StandardSchemaV1): schema is StandardSchemaV1 & $ZodType {
  return typeof (schema as Partial<$ZodType>)._zod?.def === "object";
}

function defOf(schema: $ZodType): ZodDef {
  return schema._zod.def as unknown as ZodDef;
}

/** The schema behind wrappers that do not change what a value must look like (optional, default, pipe input...). */
function unwrapZod(schema: $ZodType): $ZodType {
  let current = schema;
  for (let depth = 0; depth < 64; depth++) {
    const def = defOf(current);
    const next =
      def.type === "lazy" ? def.getter?.() : def.type === "pipe" ? def.in : (def.innerType ?? undefined);
    if (next === undefined) return current;
    current = next;
  }
  return current;
}

/**
 * The Zod schema that validates the value at `path` inside `schema`, or undefined when the path goes through a
 * union or another shape brisk cannot follow. Used only to name errors precisely (integer vs number, enum vs literal).
 */
export function zodSchemaAt(schema: $ZodType, path: readonly PropertyKey[]): $ZodType | undefined {
  let current: $ZodType | undefined = unwrapZod(schema);
  for (const key of path) {
    if (current === undefined) return undefined;
    const def = defOf(current);
    let next: $ZodType | undefined;
    if (def.type === "object") next = def.shape?.[String(key)];
    else if (def.type === "array" || def.type === "set") next = def.element;
    else if (def.type === "tuple") next = def.items?.[Number(key)] ?? def.rest ?? undefined;
    else if (def.type === "record" || def.type === "map") next = def.valueType;
    current = next === undefined ? undefined : unwrapZod(next);
  }
  return current;
}

/** The kind of a Zod schema after unwrapping: `"string"`, `"number"`, `"enum"`, `"literal"`, ...; `"int"` for integers. */
export function zodKind(schema: $ZodType): string {
  const def = defOf(unwrapZod(schema));
  if (def.type === "number") {
    const integer = (format: string | undefined) => format !== undefined && /int/.test(format);
    if (integer(def.format) || def.checks?.some((check) => integer(check._zod.def.format))) return "int";
  }
  return def.type;
}

const SYNC = { async: false } as const;
const ASYNC = { async: true } as const;

/**
 * Validates a Zod schema. A plain schema first takes its generated fast path (`plain.ts`); anything the fast path
 * does not accept goes through Zod's own entry point rather than `~standard.validate`, which builds an Error (and
 * its stack) for every failure: the request path pays only for the issues, finalized only when there are some.
 */
export function zodValidator(schema: $ZodType): Validator {
  const fast = compileFastParse(schema);
  // Zod's raw issues go out as they are: composing their messages (finalizeIssue) costs more than the rest of a
  // 422, and only custom and format errors show one (issues.ts calls zodIssueMessage for those).
  const finish = (payload: { value: unknown; issues: unknown[] }): Validated =>
    payload.issues.length === 0
      ? { value: payload.value }
      : { issues: payload.issues as unknown as StandardSchemaV1.Issue[] };
  return (value) => {
    if (fast !== undefined) {
      const output = fast(value);
      if (output !== FAIL) return { value: output };
    }
    try {
      const payload = schema._zod.run({ value, issues: [] }, SYNC);
      if (!(payload instanceof Promise)) return finish(payload);
      // A synchronous run that met an async refinement: its result is not trusted (as in Zod's own safeParse).
      payload.catch(() => {});
    } catch {
      // A synchronous run over async refinements or transforms throws ($ZodAsyncError, or a TypeError from deep
      // inside an object parser); like Zod's own `~standard.validate`, try again asynchronously, where a real
      // error surfaces.
    }
    const pending = schema._zod.run({ value, issues: [] }, ASYNC);
    return Promise.resolve(pending).then(finish);
  };
}

/** The message Zod would give a raw issue (its locale's words, or the schema's own error message). */
export function zodIssueMessage(issue: object): string {
  return (util.finalizeIssue(issue as never, SYNC, config()) as { message: string }).message;
}
