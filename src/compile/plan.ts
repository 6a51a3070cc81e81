import { RequestContext } from "../context.ts";
import { BriskError, type ValidationIssue } from "../errors.ts";
import type { Incoming, Outgoing } from "../exchange.ts";
import { decodeSegment } from "../internal/percent.ts";
import type { PathTemplate } from "../path.ts";
import { appendHeaders, dedupeContentType, Reply, replyToPlain } from "../responses.ts";
import type { ResponseControl, RouteSpec } from "../route.ts";
import { isStandardSchema } from "../schema/standard.ts";
import { parseJsonBody } from "./body.ts";
import { compileSerializer, forbidsBody, type Serializer } from "./response.ts";
import { compileSteps, NO_VALUES, record } from "./sources.ts";

/** A route as registered: what the user wrote, before compiling. */
export interface RouteDefinition {
  readonly methods: readonly string[];
  readonly path: PathTemplate;
  readonly spec: RouteSpec;
  readonly handler: (context: never) => unknown;
}

/** Answers a request whose input failed validation (by default FastAPI's 422). */
export type Invalid = (
  issues: readonly ValidationIssue[],
  body: unknown,
  incoming: Incoming,
) => Outgoing | Promise<Outgoing>;

/** Everything the request path needs for one route, computed once at startup. */
export interface CompiledRoute {
  readonly definition: RouteDefinition;
  /**
   * Runs the route for a matched request; `params` are the texts captured from the decoded path. Invalid input is
   * handed to `invalid` rather than thrown, since throwing costs more than the whole 422 (other errors are thrown).
   */
  run(incoming: Incoming, params: readonly string[], invalid: Invalid): Outgoing | Promise<Outgoing>;
}

const JSON_HEADERS: readonly (readonly [string, string])[] = [["content-type", "application/json"]];

const NO_PARAMS: Readonly<Record<string, never>> = Object.freeze({});

/**
 * Compiles a route: validators for each declared source, the body reader, the serializer. The compiled `run`
 * stays synchronous until something is really asynchronous (reading a body, an async handler or refinement), so a
 * plain GET allocates no promise.
 */
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
  const steps = compileSteps(spec);
  const readsBody = spec.body !== undefined;
  const bodyLimit = spec.bodyLimit ?? appBodyLimit;
  const validatesParams = spec.params !== undefined;
  const serialize: Serializer = compileSerializer(name, spec.response);
  const status = spec.status ?? 200;
  const handler = definition.handler as (context: RequestContext) => unknown;

  /** Validates steps from `index` on, recording values and issues; a promise only once a step is async. */
  function validateFrom(
    index: number,
    context: RequestContext,
    incoming: Incoming,
    pathTexts: ReadonlyMap<string, readonly string[]>,
    body: unknown,
    issues: ValidationIssue[],
  ): Promise<void> | undefined {
    for (let at = index; at < steps.length; at++) {
      const step = steps[at]!;
      const result = step.run(incoming, pathTexts, body);
      if (result instanceof Promise) {
        return result.then((done) => {
          record(context, step.key, done, issues);
          return validateFrom(at + 1, context, incoming, pathTexts, body, issues);
        });
      }
      record(context, step.key, result, issues);
    }
    return undefined;
  }

  function respond(
    context: RequestContext,
    issues: ValidationIssue[],
    body: unknown,
    invalid: Invalid,
    incoming: Incoming,
  ): Outgoing | Promise<Outgoing> {
    if (issues.length > 0) return invalid(issues, body, incoming);
    const result = handler(context);
    return result instanceof Promise
      ? result.then((value) => toOutgoing(value, context, status, serialize))
      : toOutgoing(result, context, status, serialize);
  }

  function afterBody(
    incoming: Incoming,
    params: readonly string[],
    body: unknown,
    invalid: Invalid,
  ): Outgoing | Promise<Outgoing> {
    const context = new RequestContext(incoming);
    let pathTexts = NO_VALUES;
    if (path.params.length === 0) {
      context.params = NO_PARAMS;
    } else if (validatesParams) {
      const texts = new Map<string, string[]>();
      path.params.forEach((param, index) => {
        texts.set(param.name, [decodeSegment(params[index] ?? "")]);
      });
      pathTexts = texts;
    } else {
      const typed: Record<string, string | number> = {};
      path.params.forEach((param, index) => {
        typed[param.name] = param.convert(decodeSegment(params[index] ?? ""));
      });
      context.params = typed;
    }
    const issues: ValidationIssue[] = [];
    const pending = validateFrom(0, context, incoming, pathTexts, body, issues);
    return pending === undefined
      ? respond(context, issues, body, invalid, incoming)
      : pending.then(() => respond(context, issues, body, invalid, incoming));
  }

  return {
    definition,
    run(incoming, params, invalid) {
      if (!readsBody) return afterBody(incoming, params, undefined, invalid);
      // The body is read and parsed first, as FastAPI does: malformed JSON is reported even if params are bad too.
      return incoming
        .readBody(bodyLimit)
        .then((bytes) =>
          afterBody(incoming, params, parseJsonBody(bytes, incoming.header("content-type")), invalid),
        );
    },
  };
}

function toOutgoing(
  result: unknown,
  context: RequestContext,
  defaultStatus: number,
  serialize: Serializer,
): Outgoing | Promise<Outgoing> {
  if (result instanceof Response) return result;
  const control = RequestContext.responseOf(context);
  if (result instanceof Reply) return replyToPlain(result, control?.headers);
  const status = control?.status ?? defaultStatus;
  if (forbidsBody(status)) return withControl(status, null, control);
  const body = serialize(result);
  return typeof body === "string"
    ? withControl(status, body, control)
    : body.then((text) => withControl(status, text, control));
}

function withControl(status: number, body: string | null, control: ResponseControl | undefined): Outgoing {
  if (control === undefined) return { status, headers: body === null ? [] : JSON_HEADERS, body };
  const headers: [string, string][] = body === null ? [] : [["content-type", "application/json"]];
  appendHeaders(headers, control.headers);
  return { status, headers: dedupeContentType(headers), body };
}
