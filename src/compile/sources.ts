// How a route's and a dependency's declared inputs are read from the request and validated.

import type { ValidationIssue } from "../errors.ts";
import type { Incoming } from "../exchange.ts";
import { formSchemaOf } from "../form.ts";
import { parseCookies } from "../internal/cookies.ts";
import { parseQuery } from "../internal/query.ts";
import type { ParamSchema } from "../route.ts";
import { compileBodyValidator } from "./body.ts";
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
  if (formFields !== undefined) {
    const validate = compileSource("body", formFields);
    steps.push({
      key: "body",
      run: (_incoming, _texts, body) =>
        validate(new MapValues(body as ReadonlyMap<string, readonly string[]>)),
    });
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
