import { type $ZodType, globalRegistry, toJSONSchema } from "zod/v4/core";
import { BriskError } from "../errors.ts";
import { canonicalJson } from "../internal/canonical-json.ts";
import { type JsonSchema, jsonSchemaConverter, type StandardSchemaV1 } from "../schema/standard.ts";
import { isZodSchema } from "../schema/zod.ts";

/** Which form of a schema: what a client sends (input) or what the server returns (output). */
export type SchemaIo = "input" | "output";

/**
 * A `$ref` as written while the document is built: the final component name is only known once every schema has
 * been seen (a named schema whose input and output forms differ becomes `Name-Input` and `Name-Output`).
 */
const PENDING = "brisk-pending:";
const pendingRef = (name: string, io: SchemaIo) => `${PENDING}${io}:${name}`;

/** Component names keep to the characters OpenAPI allows in a component key. */
const componentName = (name: string) => name.replace(/[^A-Za-z0-9.\-_]/g, "_");

const clash = (name: string) =>
  new BriskError(
    "BRISK_SCHEMA_NAME_CLASH",
    `Two different schemas are named "${name}" in the OpenAPI document; give one of them another id`,
  );

interface NamedForms {
  input?: JsonSchema;
  output?: JsonSchema;
}

/**
 * Collects the JSON Schemas of a document. Named schemas (Zod's `.meta({ id })`, or any `$defs` entry) become
 * `components/schemas` entries referenced by `$ref`; everything else is inlined where it is used.
 */
export class SchemaCollector {
  readonly #named = new Map<string, NamedForms>();
  /** For names given by the user: both forms of the schema behind the name, to tell two schemas apart. */
  readonly #fingerprints = new Map<string, string>();
  /** Names brisk made up for unnamed schemas that refer to themselves. */
  readonly #generated = new Set<string>();

  /**
   * The JSON Schema of `schema` in its `io` form, ready to place in the document; `{}` when the library cannot
   * describe it. `fallbackName` names the schema if it refers to itself without having a name of its own.
   */
  add(schema: StandardSchemaV1, io: SchemaIo, fallbackName: string): JsonSchema {
    const sources = new Map<string, $ZodType>();
    const raw = rawJsonSchema(schema, io, sources);
    if (raw === undefined) return {};
    const { $defs, $schema: _dialect, ...root } = raw as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const names = new Map<string, string>();
    for (const key of Object.keys($defs ?? {})) {
      // Names Zod makes up for unnamed shared schemas (`__schema0`) are scoped to the route.
      names.set(key, componentName(key.startsWith("__schema") ? `${fallbackName}${key.slice(8)}` : key));
    }
    const selfReferent = containsRef(root, "#");
    const rewrite = (node: unknown): unknown => rewriteRefs(node, io, names, fallbackName);
    for (const [key, definition] of Object.entries($defs ?? {})) {
      const name = names.get(key)!;
      const source = sources.get(key);
      if (source !== undefined) this.#identify(name, fingerprint(source));
      else if (key.startsWith("__schema")) this.#identify(name, undefined);
      this.#record(name, io, rewrite(definition) as JsonSchema);
    }
    if (!selfReferent) return rewrite(root) as JsonSchema;
    this.#identify(componentName(fallbackName), undefined);
    this.#record(componentName(fallbackName), io, rewrite(root) as JsonSchema);
    return { $ref: pendingRef(componentName(fallbackName), io) };
  }

  /**
   * Checks that a name always stands for one schema: a user's name for schemas with the same two forms, a made-up
   * name (`fingerprint` undefined) for nothing the user named.
   */
  #identify(name: string, print: string | undefined): void {
    if (print === undefined) {
      if (this.#fingerprints.has(name)) throw clash(name);
      this.#generated.add(name);
      return;
    }
    const known = this.#fingerprints.get(name);
    if (this.#generated.has(name) || (known !== undefined && known !== print)) throw clash(name);
    this.#fingerprints.set(name, print);
  }

  /**
   * The properties of an object schema, each ready to place in the document, and which are required: parameters
   * are documented one by one, so an object of parameters is taken apart even when it is a named schema.
   */
  objectFields(
    schema: StandardSchemaV1,
    io: SchemaIo,
    fallbackName: string,
  ): { fields: [string, JsonSchema][]; required: Set<string> } | undefined {
    let form = this.add(schema, io, fallbackName);
    const ref = form.$ref;
    if (typeof ref === "string" && ref.startsWith(PENDING)) {
      form = this.#named.get(ref.slice(ref.indexOf(":", PENDING.length) + 1))?.[io] ?? {};
    }
    const properties = form.properties;
    if (typeof properties !== "object" || properties === null) return undefined;
    const required = new Set(Array.isArray(form.required) ? (form.required as string[]) : []);
    return { fields: Object.entries(properties as Record<string, JsonSchema>), required };
  }

  #record(name: string, io: SchemaIo, form: JsonSchema): void {
    const forms = this.#named.get(name) ?? {};
    const existing = forms[io];
    if (existing !== undefined && canonicalJson(existing) !== canonicalJson(form)) throw clash(name);
    forms[io] = form;
    this.#named.set(name, forms);
  }

  /**
   * Decides the component names and returns `components.schemas` (sorted by name) and a function that turns the
   * pending `$ref`s anywhere in the document into final ones.
   */
  finish(): { schemas: Record<string, JsonSchema>; resolve: (node: unknown) => unknown } {
    const split = this.#splitNames();
    const finalName = (name: string, io: SchemaIo) =>
      split.has(name) ? `${name}-${io === "input" ? "Input" : "Output"}` : name;
    const resolve = (node: unknown): unknown => resolvePending(node, finalName);
    const schemas: Record<string, JsonSchema> = {};
    const entries: [string, JsonSchema][] = [];
    for (const [name, forms] of this.#named) {
      if (split.has(name)) {
        entries.push([finalName(name, "input"), forms.input!], [finalName(name, "output"), forms.output!]);
      } else {
        entries.push([name, (forms.input ?? forms.output)!]);
      }
    }
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [name, form] of entries) schemas[name] = resolve(form) as JsonSchema;
    return { schemas, resolve };
  }

  /**
   * Names whose input and output forms differ, directly or through a schema they refer to (FastAPI's
   * `separate_input_output_schemas`). A schema seen in one form only keeps its plain name.
   */
  #splitNames(): Set<string> {
    const split = new Set<string>();
    const refsOf = new Map<string, Set<string>>();
    for (const [name, { input, output }] of this.#named) {
      const refs = new Set<string>();
      collectPendingNames(input, refs);
      collectPendingNames(output, refs);
      refsOf.set(name, refs);
      if (input !== undefined && output !== undefined && canonicalJson(input) !== canonicalJson(output)) {
        split.add(name);
      }
    }
    for (let changed = true; changed; ) {
      changed = false;
      for (const [name, refs] of refsOf) {
        const forms = this.#named.get(name)!;
        if (split.has(name) || forms.input === undefined || forms.output === undefined) continue;
        if ([...refs].some((ref) => split.has(ref))) {
          split.add(name);
          changed = true;
        }
      }
    }
    return split;
  }
}

const fingerprints = new WeakMap<$ZodType, string>();

/** Both forms of a Zod schema, as one text: equal for schemas that document alike. */
function fingerprint(schema: $ZodType): string {
  let print = fingerprints.get(schema);
  if (print === undefined) {
    print = `${canonicalJson(rawJsonSchema(schema, "input"))}|${canonicalJson(rawJsonSchema(schema, "output"))}`;
    fingerprints.set(schema, print);
  }
  return print;
}

/**
 * The 2020-12 JSON Schema of a schema's input or output form, straight from its library. `sources` receives the
 * Zod schema behind each named definition.
 */
function rawJsonSchema(
  schema: StandardSchemaV1 | $ZodType,
  io: SchemaIo,
  sources?: Map<string, $ZodType>,
): JsonSchema | undefined {
  if (isZodSchema(schema)) {
    return toJSONSchema(schema, {
      io,
      target: "draft-2020-12",
      unrepresentable: "any",
      cycles: "ref",
      reused: "inline",
      override: (context) => {
        // Zod marks every output object closed, since parsing drops unknown keys. That is true but says nothing to
        // a client, and it would split every named object into -Input and -Output; only strict objects say it.
        const definition = (context.zodSchema as { _zod: { def: { type: string; catchall?: unknown } } })._zod
          .def;
        if (io === "output" && definition.type === "object" && definition.catchall === undefined) {
          delete context.jsonSchema.additionalProperties;
        }
        const id = globalRegistry.get(context.zodSchema)?.id;
        if (sources !== undefined && typeof id === "string") sources.set(id, context.zodSchema);
      },
    }) as JsonSchema;
  }
  const converter = jsonSchemaConverter(schema as StandardSchemaV1);
  if (converter === undefined) return undefined;
  try {
    return converter[io]({ target: "draft-2020-12" }) as JsonSchema;
  } catch {
    return undefined;
  }
}

function rewriteRefs(node: unknown, io: SchemaIo, names: ReadonlyMap<string, string>, self: string): unknown {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, io, names, self));
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string") {
      if (value === "#") out[key] = pendingRef(componentName(self), io);
      else if (value.startsWith("#/$defs/")) {
        const name = names.get(decodePointer(value.slice(8)));
        out[key] = name === undefined ? value : pendingRef(name, io);
      } else out[key] = value;
    } else {
      out[key] = rewriteRefs(value, io, names, self);
    }
  }
  return out;
}

function resolvePending(node: unknown, finalName: (name: string, io: SchemaIo) => string): unknown {
  if (Array.isArray(node)) return node.map((item) => resolvePending(item, finalName));
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string" && value.startsWith(PENDING)) {
      const rest = value.slice(PENDING.length);
      const io = rest.slice(0, rest.indexOf(":")) as SchemaIo;
      out[key] = `#/components/schemas/${finalName(rest.slice(io.length + 1), io)}`;
    } else {
      out[key] = resolvePending(value, finalName);
    }
  }
  return out;
}

function collectPendingNames(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) for (const item of node) collectPendingNames(item, into);
  else if (typeof node === "object" && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith(PENDING)) {
        const rest = value.slice(PENDING.length);
        into.add(rest.slice(rest.indexOf(":") + 1));
      } else collectPendingNames(value, into);
    }
  }
}

function containsRef(node: unknown, ref: string): boolean {
  if (Array.isArray(node)) return node.some((item) => containsRef(item, ref));
  if (typeof node !== "object" || node === null) return false;
  return Object.entries(node).some(([key, value]) =>
    key === "$ref" ? value === ref : containsRef(value, ref),
  );
}

const decodePointer = (text: string) => text.replace(/~1/g, "/").replace(/~0/g, "~");
