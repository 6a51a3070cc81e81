import { STATUS_CODES } from "node:http";
import { object as zodObject } from "zod";
import type { $ZodType } from "zod/v4/core";
import type { ParamLocation } from "../compile/params.ts";
import { headerWire } from "../compile/params.ts";
import type { RouteDefinition } from "../compile/plan.ts";
import { forbidsBody } from "../compile/response.ts";
import type { InputSpec } from "../compile/sources.ts";
import type { Dependency } from "../dependency.ts";
import { BriskError } from "../errors.ts";
import { formSchemaOf } from "../form.ts";
import { canonicalJson } from "../internal/canonical-json.ts";
import { multipartSpecOf } from "../multipart.ts";
import type { ParamSchema, RouteSpec, SchemaShape } from "../route.ts";
import { isStandardSchema, type JsonSchema, type StandardSchemaV1 } from "../schema/standard.ts";
import { isZodSchema } from "../schema/zod.ts";
import { acceptsUndefined, requestBodyObject, successContent } from "./bodies.ts";
import { assignOperationIds, type Operation } from "./operation-id.ts";
import { SchemaCollector } from "./schemas.ts";

/** An OpenAPI 3.1 document, as plain JSON data. */
export type OpenApiDocument = { openapi: string; info: JsonSchema; paths: JsonSchema } & JsonSchema;

/** `info.contact` of the document. */
export interface OpenApiContact {
  readonly name?: string;
  readonly url?: string;
  readonly email?: string;
}

/** `info.license`: `identifier` (an SPDX expression) or `url`, not both. */
export interface OpenApiLicense {
  readonly name: string;
  readonly identifier?: string;
  readonly url?: string;
}

/** A `tags` entry: documentation for a tag that operations use. */
export interface OpenApiTag {
  readonly name: string;
  readonly description?: string;
  readonly externalDocs?: { readonly url: string; readonly description?: string };
}

/** A `servers` entry. */
export interface OpenApiServer {
  readonly url: string;
  readonly description?: string;
}

/** What the document says about the API as a whole (App options). */
export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly summary?: string | undefined;
  readonly description?: string | undefined;
  readonly termsOfService?: string | undefined;
  readonly contact?: OpenApiContact | undefined;
  readonly license?: OpenApiLicense | undefined;
  readonly tags?: readonly OpenApiTag[] | undefined;
  readonly servers?: readonly OpenApiServer[] | undefined;
  readonly externalDocs?: { readonly url: string; readonly description?: string } | undefined;
}

const JSON_MEDIA = "application/json";
const PARAM_SOURCES = [
  ["params", "path"],
  ["query", "query"],
  ["headers", "header"],
  ["cookies", "cookie"],
] as const;

/** Path parameter schemas when the route declares none: what each convertor admits. */
const CONVERTOR_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  str: { type: "string" },
  path: { type: "string" },
  int: { type: "integer", minimum: 0 },
  float: { type: "number", minimum: 0 },
  uuid: { type: "string", format: "uuid" },
};

/** FastAPI's validation error schemas, key for key (reference section 3.3). */
const VALIDATION_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  HTTPValidationError: {
    title: "HTTPValidationError",
    type: "object",
    properties: {
      detail: { title: "Detail", type: "array", items: { $ref: "#/components/schemas/ValidationError" } },
    },
  },
  ValidationError: {
    title: "ValidationError",
    type: "object",
    properties: {
      loc: {
        title: "Location",
        type: "array",
        items: { anyOf: [{ type: "string" }, { type: "integer" }] },
      },
      msg: { title: "Message", type: "string" },
      type: { title: "Error Type", type: "string" },
      input: { title: "Input" },
      ctx: { title: "Context", type: "object" },
    },
    required: ["loc", "msg", "type"],
  },
};

/** The `{"detail": "..."}` body of brisk's other client errors (401 from a security scheme, 413, 415). */
const HTTP_ERROR_SCHEMA: JsonSchema = {
  title: "HTTPError",
  type: "object",
  properties: { detail: { title: "Detail", type: "string" } },
  required: ["detail"],
};

const RANGE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  "1XX": "Information",
  "2XX": "Success",
  "3XX": "Redirection",
  "4XX": "Client Error",
  "5XX": "Server Error",
  DEFAULT: "Default Response",
};

/** RFC 9110's names where Node's table still has the older ones. */
const REASONS: Readonly<Record<string, string>> = {
  "413": "Content Too Large",
  "422": "Unprocessable Content",
};

/** A documented status's description: the reason phrase, a range's name, or a generic one. */
function statusDescription(status: string): string {
  return (
    REASONS[status] ??
    STATUS_CODES[status] ??
    RANGE_DESCRIPTIONS[status.toUpperCase()] ??
    "Additional Response"
  );
}

/** Keys that drop out of an object's entries so that absent fields are not written as `undefined`. */
function defined<T extends Record<string, unknown>>(object: T): T {
  for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
  return object;
}

/**
 * Builds the OpenAPI 3.1 document of a list of routes. Deterministic: the same routes and info give the same
 * document, key order included.
 */
export function buildOpenApi(
  routes: readonly RouteDefinition[],
  info: OpenApiInfo,
  appDependencies: readonly Dependency<unknown>[] = [],
): OpenApiDocument {
  const collector = new SchemaCollector();
  const operations = assignOperationIds(routes.filter((route) => route.spec.hidden !== true));
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const schemes = new Map<string, Readonly<Record<string, unknown>>>();
  let validates = false;
  let hasBodies = false;
  for (const operation of operations) {
    const built = buildOperation(operation, collector, appDependencies, schemes);
    validates ||= built.answers422;
    hasBodies ||= built.answers413;
    const item = (paths[operation.route.path.openapiPath] ??= {});
    item[operation.method.toLowerCase()] = built.object;
  }
  const { schemas, resolve } = collector.finish();
  const components: Record<string, JsonSchema> = { ...schemas };
  for (const [name, schema] of Object.entries(VALIDATION_SCHEMAS)) {
    if (validates) claimComponent(components, name, schema);
  }
  if (hasBodies) claimComponent(components, "HTTPError", HTTP_ERROR_SCHEMA);
  const resolvedPaths = resolve(paths) as JsonSchema;
  // Only what the operations refer to, directly or through other components: a named object of parameters is
  // documented field by field and needs no entry of its own.
  const reachable = reachableComponents(resolvedPaths, components);
  const sorted = Object.fromEntries(
    Object.entries(components)
      .filter(([name]) => reachable.has(name))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return defined({
    openapi: "3.1.0",
    info: defined({
      title: info.title,
      summary: info.summary || undefined,
      description: info.description || undefined,
      termsOfService: info.termsOfService || undefined,
      contact: info.contact === undefined ? undefined : { ...info.contact },
      license: info.license === undefined ? undefined : { ...info.license },
      version: info.version,
    }),
    servers: info.servers === undefined || info.servers.length === 0 ? undefined : info.servers.map(copy),
    paths: resolvedPaths,
    components: componentsObject(sorted, schemes),
    tags: info.tags === undefined || info.tags.length === 0 ? undefined : info.tags.map(copy),
    externalDocs: info.externalDocs === undefined ? undefined : { ...info.externalDocs },
  });
}

/** `components`, with its parts only when they have entries; security schemes sorted by name like schemas. */
function componentsObject(
  schemas: Record<string, JsonSchema>,
  schemes: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
): JsonSchema | undefined {
  const securitySchemes = Object.fromEntries(
    [...schemes].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, scheme]) => [name, copy(scheme)]),
  );
  const parts = defined({
    schemas: Object.keys(schemas).length === 0 ? undefined : schemas,
    securitySchemes: schemes.size === 0 ? undefined : securitySchemes,
  });
  return Object.keys(parts).length === 0 ? undefined : parts;
}

const copy = <T extends object>(value: T): JsonSchema => JSON.parse(JSON.stringify(value)) as JsonSchema;

/** Adds one of brisk's own components, refusing a user schema of the same name. */
function claimComponent(components: Record<string, JsonSchema>, name: string, schema: JsonSchema): void {
  if (Object.hasOwn(components, name)) {
    throw new BriskError(
      "BRISK_SCHEMA_NAME_CLASH",
      `The schema name "${name}" is brisk's own in the OpenAPI document; give your schema another id`,
    );
  }
  components[name] = copy(schema);
}

interface BuiltOperation {
  readonly object: JsonSchema;
  /** Whether the operation documents brisk's 422, and its 401, 413 or 415 (which need their component schemas). */
  readonly answers422: boolean;
  readonly answers413: boolean;
}

/** A route's dependencies, depth first, each once, the app's first: in the order they are solved. */
function dependenciesOf(
  route: RouteDefinition,
  appDependencies: readonly Dependency<unknown>[],
): Dependency<unknown>[] {
  const found: Dependency<unknown>[] = [];
  const seen = new Set<Dependency<unknown>>();
  const visit = (dep: Dependency<unknown>) => {
    if (seen.has(dep)) return;
    seen.add(dep);
    for (const child of Object.values(dep.spec.deps ?? {})) visit(child);
    found.push(dep);
  };
  for (const dep of [
    ...appDependencies,
    ...(route.spec.dependencies ?? []),
    ...Object.values(route.spec.deps ?? {}),
  ]) {
    visit(dep);
  }
  return found;
}

/**
 * The operation's `security`: every scheme its dependencies enforce, in ONE requirement object, since they all
 * must pass (FastAPI lists one object per scheme, which OpenAPI reads as "any of them", #2835). Scopes of the same
 * scheme are merged. When every scheme lets requests without credentials through, "none" is an alternative.
 */
function securityOf(
  dependencies: readonly Dependency<unknown>[],
  schemes: Map<string, Readonly<Record<string, unknown>>>,
): Record<string, string[]>[] | undefined {
  const needed = dependencies.flatMap((dep) => (dep.security === undefined ? [] : [dep.security]));
  if (needed.length === 0) return undefined;
  const requirement: Record<string, string[]> = {};
  for (const { name, scheme, scopes } of needed) {
    const known = schemes.get(name);
    if (known !== undefined && canonicalJson(known) !== canonicalJson(scheme)) {
      throw new BriskError(
        "BRISK_SCHEMA_NAME_CLASH",
        `Two different security schemes are named "${name}"; give one of them another schemeName`,
      );
    }
    schemes.set(name, scheme);
    const merged = (requirement[name] ??= []);
    for (const scope of scopes) if (!merged.includes(scope)) merged.push(scope);
  }
  return needed.every((each) => each.optional) ? [requirement, {}] : [requirement];
}

function buildOperation(
  { route, operationId, summary }: Operation,
  collector: SchemaCollector,
  appDependencies: readonly Dependency<unknown>[],
  schemes: Map<string, Readonly<Record<string, unknown>>>,
): BuiltOperation {
  const { spec } = route;
  const dependencies = dependenciesOf(route, appDependencies);
  // The route's own parameters first, then its dependencies' (FastAPI's order).
  const specs: InputSpec[] = [spec, ...dependencies.map((dep) => dep.spec)];
  const security = securityOf(dependencies, schemes);
  const parameters: JsonSchema[] = [];
  for (const [key, location] of PARAM_SOURCES) {
    // A parameter several declarations read is documented once, required if any of them requires it.
    const fields: ParamField[] = [];
    for (const each of specs) {
      const declared = each[key];
      if (declared === undefined) continue;
      for (const field of sourceFields(location, declared, collector, `Params_${location}_${operationId}`)) {
        const index = fields.findIndex((known) => known.name === field.name);
        if (index === -1) fields.push(field);
        else if (field.required && !fields[index]!.required)
          fields[index] = { ...fields[index]!, required: true };
      }
    }
    if (location === "path") {
      // Every parameter of the template is documented, typed by its convertor unless `params` declares it.
      for (const param of route.path.params) {
        if (fields.some((field) => field.name === param.name)) continue;
        fields.push({ name: param.name, required: true, schema: { ...CONVERTOR_SCHEMAS[param.convertor] } });
      }
    }
    for (const field of fields) parameters.push(parameterObject(field, location));
  }
  // The route's body schema, else the first a dependency declares (they all validate the same JSON).
  const body = spec.body ?? specs.find((each) => each.body !== undefined)?.body;
  const hasBody = body !== undefined;
  const requestBody = hasBody ? requestBodyObject(body, collector, operationId) : undefined;

  const responses: Record<string, JsonSchema> = {};
  const status = String(spec.status ?? 200);
  responses[status] = defined({
    description: "Successful Response",
    content: forbidsBody(Number(status)) ? undefined : successContent(spec, collector, operationId),
  });
  // The dependencies' documented responses (an auth dependency's 403, say), under the route's own.
  const documented = Object.assign(
    {},
    ...dependencies.map((dep) => dep.spec.responses ?? {}),
    spec.responses,
  );
  for (const [key, doc] of Object.entries(documented as NonNullable<RouteSpec["responses"]>)) {
    const code = key.toLowerCase() === "default" ? "default" : key.toUpperCase();
    const existing = responses[code] ?? {};
    const content =
      doc.schema === undefined
        ? existing.content
        : {
            [JSON_MEDIA]: { schema: collector.add(doc.schema, "output", `Response_${code}_${operationId}`) },
          };
    responses[code] = defined({
      description: doc.description ?? (existing.description as string | undefined) ?? statusDescription(code),
      content,
    });
  }
  const declares = (code: string) => Object.hasOwn(responses, code);
  const coversClientErrors = declares("4XX") || declares("default");
  let answers413 = false;
  // A scheme that turns requests away answers 401 with brisk's {"detail": ...} body.
  const enforced = dependencies.some((dep) => dep.security !== undefined && !dep.security.optional);
  // A JSON body of another media type is a 415; a form's fields are simply missing from one (a 422).
  const isJson = hasBody && formSchemaOf(body) === undefined && multipartSpecOf(body) === undefined;
  const errorCodes = [...(enforced ? ["401"] : []), ...(hasBody ? ["413"] : []), ...(isJson ? ["415"] : [])];
  if (!coversClientErrors) {
    for (const code of errorCodes) {
      if (declares(code)) continue;
      responses[code] = errorResponse(code, "HTTPError");
      answers413 = true;
    }
  }
  const answers422 = (parameters.length > 0 || hasBody) && !declares("422") && !coversClientErrors;
  if (answers422) responses["422"] = errorResponse("422", "HTTPValidationError", "Validation Error");

  return {
    object: defined({
      tags: spec.tags === undefined || spec.tags.length === 0 ? undefined : [...spec.tags],
      summary,
      description: spec.description,
      operationId,
      parameters: parameters.length === 0 ? undefined : parameters,
      requestBody,
      responses,
      deprecated: spec.deprecated === true ? true : undefined,
      security,
    }),
    answers422,
    answers413,
  };
}

const COMPONENT_REF = "#/components/schemas/";

/** The component names `root` refers to, and those they refer to in turn. */
function reachableComponents(root: unknown, components: Readonly<Record<string, JsonSchema>>): Set<string> {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) for (const item of node) visit(item);
    else if (typeof node === "object" && node !== null) {
      for (const [key, value] of Object.entries(node)) {
        if (key === "$ref" && typeof value === "string" && value.startsWith(COMPONENT_REF)) {
          const name = value.slice(COMPONENT_REF.length);
          if (!found.has(name)) {
            found.add(name);
            visit(components[name]);
          }
        } else visit(value);
      }
    }
  };
  visit(root);
  return found;
}

function errorResponse(code: string, schema: string, description = statusDescription(code)): JsonSchema {
  return { description, content: { [JSON_MEDIA]: { schema: { $ref: `#/components/schemas/${schema}` } } } };
}

interface ParamField {
  readonly name: string;
  readonly required: boolean;
  readonly schema: JsonSchema;
}

/** The documented fields of a parameter source, by wire name, in declaration order. */
function sourceFields(
  location: ParamLocation,
  declared: ParamSchema,
  collector: SchemaCollector,
  fallbackName: string,
): ParamField[] {
  const wire = location === "header" ? headerWire : (key: string) => key;
  let object: StandardSchemaV1 | undefined;
  if (isStandardSchema(declared)) object = declared;
  else if (Object.values(declared).every(isZodSchema)) {
    object = zodObject(declared as Record<string, $ZodType>) as StandardSchemaV1;
  }
  if (object === undefined) {
    // A shape with schemas from other libraries: each field on its own.
    return Object.entries(declared as SchemaShape).map(([key, schema]) => ({
      name: wire(key),
      required: !acceptsUndefined(schema),
      schema: collector.add(schema, "input", `${fallbackName}_${key}`),
    }));
  }
  const form = collector.objectFields(object, "input", fallbackName);
  if (form === undefined) return [];
  return form.fields.map(([key, schema]) => ({
    name: wire(key),
    required: location === "path" || form.required.has(key),
    schema,
  }));
}

function parameterObject(field: ParamField, location: ParamLocation): JsonSchema {
  const { description, deprecated } = field.schema;
  return defined({
    name: field.name,
    in: location,
    required: location === "path" ? true : field.required,
    description: typeof description === "string" ? description : undefined,
    deprecated: deprecated === true ? true : undefined,
    schema: field.schema,
  });
}
