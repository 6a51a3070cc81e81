import { RequestContext } from "../context.ts";
import { BriskError, RequestValidationError, type ValidationIssue } from "../errors.ts";
import type { Incoming, Outgoing } from "../exchange.ts";
import { parseCookies } from "../internal/cookies.ts";
import { decodeSegment } from "../internal/percent.ts";
import { parseQuery } from "../internal/query.ts";
import type { PathTemplate } from "../path.ts";
import { appendHeaders, dedupeContentType, isReply, replyToPlain } from "../responses.ts";
import type { RouteSpec } from "../route.ts";
import { isStandardSchema } from "../schema/standard.ts";
import { compileBodyValidator, parseJsonBody } from "./body.ts";
import { compileSource, type ParamLocation, type ParamValues, type SourceResult } from "./params.ts";
import { compileSerializer, forbidsBody, type Serializer } from "./response.ts";

/** A route as registered: what the user wrote, before compiling. */
export interface RouteDefinition {
  readonly methods: readonly string[];
  readonly path: PathTemplate;
  readonly spec: RouteSpec;
  readonly handler: (context: never) => unknown;
}

/** Everything the request path needs for one route, computed once at startup. */
export interface CompiledRoute {
  readonly definition: RouteDefinition;
  /** Runs the route for a matched request; `params` are the texts captured from the decoded path. */
  run(incoming: Incoming, params: readonly string[]): Promise<Outgoing>;
}

const JSON_HEADERS: readonly (readonly [string, string])[] = [["content-type", "application/json"]];
const EMPTY: ReadonlyMap<string, readonly string[]> = new Map();

function valuesOf(map: ReadonlyMap<string, readonly string[]>): ParamValues {
  return { get: (wire) => map.get(wire), keys: () => map.keys() };
}

function headerValues(incoming: Incoming): ParamValues {
  return {
    // Repeated headers arrive joined with ", "; a list-typed header splits them back (Starlette's getlist).
    get: (wire) => {
      const value = incoming.header(wire);
      return value === undefined ? undefined : value.split(/\s*,\s*/);
    },
    keys: () => incoming.headerNames(),
  };
}

function singleValues(map: ReadonlyMap<string, string>): ParamValues {
  return {
    get: (wire) => {
      const value = map.get(wire);
      return value === undefined ? undefined : [value];
    },
    keys: () => map.keys(),
  };
}

type SourceKey = "params" | "query" | "headers" | "cookies";
type ValuesReader = (incoming: Incoming, pathTexts: ReadonlyMap<string, readonly string[]>) => ParamValues;

/** The parameter sources in FastAPI's order (which is also the order of their errors), and how each is read. */
const SOURCES: readonly (readonly [SourceKey, ParamLocation, ValuesReader])[] = [
  ["params", "path", (_, pathTexts) => valuesOf(pathTexts)],
  ["query", "query", (incoming) => valuesOf(incoming.search === "" ? EMPTY : parseQuery(incoming.search))],
  ["headers", "header", headerValues],
  ["cookies", "cookie", (incoming) => singleValues(parseCookies(incoming.header("cookie")))],
];

/** Compiles a route: validators for each declared source, the body reader, the serializer. */
export function compileRoute(definition: RouteDefinition, appBodyLimit: number): CompiledRoute {
  const { spec, path } = definition;
  const name = `${definition.methods.join(",")} ${path.template}`;
  if (spec.params !== undefined && !isStandardSchema(spec.params)) {
    for (const key of Object.keys(spec.params)) {
      if (!path.params.some((param) => param.name === key)) {
        throw new BriskError(
          "BRISK_UNKNOWN_PATH_PARAM",
          `${name} declares params.${key}, which its path lacks`,
        );
      }
    }
  }
  const steps = SOURCES.flatMap(([key, location, read]) => {
    const declared = spec[key];
    return declared === undefined ? [] : [{ key, read, validate: compileSource(location, declared) }];
  });
  const validateBody = spec.body === undefined ? undefined : compileBodyValidator(spec.body);
  const bodyLimit = spec.bodyLimit ?? appBodyLimit;
  const serialize: Serializer = compileSerializer(name, spec.response);
  const status = spec.status ?? 200;
  const handler = definition.handler as (context: RequestContext) => unknown;

  return {
    definition,
    async run(incoming, params) {
      const context = new RequestContext(incoming);
      // The body is read and parsed first, as FastAPI does: malformed JSON is reported even if params are bad too.
      const body =
        validateBody === undefined
          ? undefined
          : parseJsonBody(await incoming.readBody(bodyLimit), incoming.header("content-type"));
      const pathTexts = new Map<string, string[]>();
      const typedPath: Record<string, string | number> = {};
      path.params.forEach((param, index) => {
        const text = decodeSegment(params[index] ?? "");
        pathTexts.set(param.name, [text]);
        typedPath[param.name] = param.convert(text);
      });
      context.params = typedPath;
      const issues: ValidationIssue[] = [];
      const collect = async (result: SourceResult | Promise<SourceResult>) => {
        const done = await result;
        if (done.issues !== undefined) issues.push(...done.issues);
        return done.issues === undefined ? done.value : undefined;
      };
      for (const step of steps)
        context[step.key] = await collect(step.validate(step.read(incoming, pathTexts)));
      if (validateBody !== undefined) context.body = await collect(validateBody(body));
      if (issues.length > 0) throw new RequestValidationError(issues, body);

      const result = await handler(context);
      return toOutgoing(result, context, status, serialize);
    },
  };
}

async function toOutgoing(
  result: unknown,
  context: RequestContext,
  defaultStatus: number,
  serialize: Serializer,
): Promise<Outgoing> {
  if (result instanceof Response) return result;
  const control = RequestContext.responseOf(context);
  if (isReply(result)) return replyToPlain(result, control?.headers);
  const status = control?.status ?? defaultStatus;
  const body = forbidsBody(status) ? null : await serialize(result);
  if (control === undefined) return { status, headers: body === null ? [] : JSON_HEADERS, body };
  const headers: [string, string][] = body === null ? [] : [["content-type", "application/json"]];
  appendHeaders(headers, control.headers);
  return { status, headers: dedupeContentType(headers), body };
}
