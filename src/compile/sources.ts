// How a route's and a dependency's declared inputs are read from the request and validated.

import type { ValidationIssue } from "../errors.ts";
import type { Incoming } from "../exchange.ts";
import { formSchemaOf } from "../form.ts";
import { parseCookies } from "../internal/cookies.ts";
import { parseQuery } from "../internal/query.ts";
import { type MultipartSpec, multipartSpecOf, type UploadSpec } from "../multipart.ts";
import type { ParamSchema } from "../route.ts";
import { compileBodyValidator } from "./body.ts";
import type { ParsedForm } from "./form-body.ts";
import { compileSource, type ParamLocation, type ParamValues, type SourceResult } from "./params.ts";

export const NO_VALUES: ReadonlyMap<string, readonly string[]> = new Map();

/** Values held in a map of wire name → every occurrence (path parameters, query strings). */
class MapValues implements ParamValues {
  readonly #map: ReadonlyMap<string, readonly string[]>;
  constructor(map: ReadonlyMap<string, readonly string[]>) {
    this.#map = map;
  }
  get(wire: string): readonly string[] | undefined {
    return this.#map.get(wire);
  }
  keys(): Iterable<string> {
    return this.#map.keys();
  }
}

/** Form fields: as FastAPI does for HTML forms, an empty value counts as missing. */
class FormValues implements ParamValues {
  readonly #fields: ReadonlyMap<string, readonly string[]>;
  constructor(fields: ReadonlyMap<string, readonly string[]>) {
    this.#fields = fields;
  }
  get(wire: string): readonly string[] | undefined {
    const values = this.#fields.get(wire)?.filter((value) => value !== "");
    return values === undefined || values.length === 0 ? undefined : values;
  }
  *keys(): Iterable<string> {
    for (const key of this.#fields.keys()) if (this.get(key) !== undefined) yield key;
  }
}

/** Header values; repeated headers arrive joined with ", " and a list-typed header splits them back. */
class HeaderValues implements ParamValues {
  readonly #incoming: Incoming;
  constructor(incoming: Incoming) {
    this.#incoming = incoming;
  }
  get(wire: string): readonly string[] | undefined {
    const value = this.#incoming.header(wire);
    return value === undefined ? undefined : value.split(/\s*,\s*/);
  }
  keys(): Iterable<string> {
    return this.#incoming.headerNames();
  }
}

/** Cookie values: one per name. */
class CookieValues implements ParamValues {
  readonly #cookies: ReadonlyMap<string, string>;
  constructor(cookies: ReadonlyMap<string, string>) {
    this.#cookies = cookies;
  }
  get(wire: string): readonly string[] | undefined {
    const value = this.#cookies.get(wire);
    return value === undefined ? undefined : [value];
  }
  keys(): Iterable<string> {
    return this.#cookies.keys();
  }
}

export type SourceKey = "params" | "query" | "headers" | "cookies" | "body";
type ValuesReader = (incoming: Incoming, pathTexts: ReadonlyMap<string, readonly string[]>) => ParamValues;

/** The parameter sources in FastAPI's order (which is also the order of their errors), and how each is read. */
const SOURCES: readonly (readonly [Exclude<SourceKey, "body">, ParamLocation, ValuesReader])[] = [
  ["params", "path", (_, pathTexts) => new MapValues(pathTexts)],
  [
    "query",
    "query",
    (incoming) => new MapValues(incoming.search === "" ? NO_VALUES : parseQuery(incoming.search)),
  ],
  ["headers", "header", (incoming) => new HeaderValues(incoming)],
  ["cookies", "cookie", (incoming) => new CookieValues(parseCookies(incoming.header("cookie")))],
];

/** One validation of a route's (or a dependency's) inputs: reads its source from the request and validates it. */
export interface Step {
  readonly key: SourceKey;
  readonly run: (
    incoming: Incoming,
    pathTexts: ReadonlyMap<string, readonly string[]>,
    body: unknown,
  ) => SourceResult | Promise<SourceResult>;
}

/** What a route or a dependency declares about its inputs. */
export interface InputSpec {
  readonly params?: ParamSchema | undefined;
  readonly query?: ParamSchema | undefined;
  readonly headers?: ParamSchema | undefined;
  readonly cookies?: ParamSchema | undefined;
  readonly body?: import("../schema/standard.ts").StandardSchemaV1 | undefined;
}

/** The validations of the sources a spec declares, in FastAPI's order. */
export function compileSteps(spec: InputSpec): Step[] {
  const steps: Step[] = [];
  for (const [key, location, read] of SOURCES) {
    const declared = spec[key];
    if (declared === undefined) continue;
    const validate = compileSource(location, declared);
    steps.push({ key, run: (incoming, pathTexts) => validate(read(incoming, pathTexts)) });
  }
  const formFields = formSchemaOf(spec.body);
  const multipart = multipartSpecOf(spec.body);
  if (formFields !== undefined) {
    const validate = compileSource("body", formFields);
    steps.push({
      key: "body",
      run: (_incoming, _texts, body) => validate(new FormValues((body as ParsedForm).fields)),
    });
  } else if (multipart !== undefined) {
    const validate = compileMultipart(multipart);
    steps.push({ key: "body", run: (_incoming, _texts, body) => validate(body as ParsedForm) });
  } else if (spec.body !== undefined) {
    const validate = compileBodyValidator(spec.body);
    steps.push({ key: "body", run: (_incoming, _texts, body) => validate(body) });
  }
  return steps;
}

/** Keeps a validated value, or the issues. */
export function record(
  target: { [key in SourceKey]: unknown },
  key: SourceKey,
  result: SourceResult,
  issues: ValidationIssue[],
): void {
  if (result.issues === undefined) target[key] = result.value;
  else issues.push(...result.issues);
}

/**
 * The validation of a multipart body: its text fields like a form's, then its file fields, with the issues of
 * both in the order the fields were declared.
 */
function compileMultipart(spec: MultipartSpec): (form: ParsedForm) => SourceResult | Promise<SourceResult> {
  const { order } = spec;
  const validateFields =
    Object.keys(spec.fields).length === 0 ? undefined : compileSource("body", spec.fields);
  const checkFiles = (form: ParsedForm, fields: SourceResult): SourceResult => {
    const value: Record<string, unknown> = fields.issues === undefined ? { ...(fields.value as object) } : {};
    const issues = fields.issues ?? [];
    for (const [name, upload] of spec.uploads) {
      const result = checkUpload(name, upload, form);
      if (result.issues === undefined) {
        if (result.value !== undefined) value[name] = result.value;
      } else issues.push(...result.issues);
    }
    if (issues.length === 0) return { value };
    issues.sort((a, b) => order.indexOf(String(a.loc[1])) - order.indexOf(String(b.loc[1])));
    return { issues };
  };
  return (form) => {
    const fields = validateFields?.(new FormValues(form.fields)) ?? { value: {} };
    return fields instanceof Promise
      ? fields.then((done) => checkFiles(form, done))
      : checkFiles(form, fields);
  };
}

/** The file (or files) of one file field, or the issue with it. */
function checkUpload(name: string, upload: UploadSpec, form: ParsedForm): SourceResult {
  const loc = ["body", name];
  const refusedType = form.refused.get(name);
  if (refusedType !== undefined) {
    const expected = upload.types?.join(", ") ?? "";
    const issue = {
      type: "file_type",
      loc,
      msg: `File type should be one of ${expected}`,
      input: refusedType,
      ctx: { expected },
    };
    return { issues: [issue] };
  }
  const files = form.files.get(name) ?? [];
  if (files.length === 0) {
    if (upload.optional) return { value: upload.many ? [] : undefined };
    const sentText = form.fields.has(name);
    const issue = sentText
      ? {
          type: "value_error",
          loc,
          msg: "Value error, Expected a file, received a text field",
          input: form.fields.get(name)!.at(-1),
        }
      : { type: "missing", loc, msg: "Field required", input: null };
    return { issues: [issue] };
  }
  if (!upload.many) return { value: files[files.length - 1] };
  if (upload.maxCount !== undefined && files.length > upload.maxCount) {
    const issue = {
      type: "too_long",
      loc,
      msg: `List should have at most ${upload.maxCount} items after validation, not ${files.length}`,
      input: files.map((file) => file.filename),
      ctx: { field_type: "List", max_length: upload.maxCount, actual_length: files.length },
    };
    return { issues: [issue] };
  }
  return { value: files };
}
