import { RequestContext } from "../context.ts";
import type { Dependency, DependencyOverrides } from "../dependency.ts";
import {
  BriskError,
  HTTPException,
  isHTTPException,
  RequestValidationError,
  type ValidationIssue,
} from "../errors.ts";
import type { Incoming, Outgoing, PlainResponse } from "../exchange.ts";
import { FileReply, fileResponse } from "../files.ts";
import type { Deadlines } from "../internal/deadlines.ts";
import { decodeSegment } from "../internal/percent.ts";
import { isWebResponse } from "../internal/web-response.ts";
import type { State } from "../lifespan.ts";
import type { ResolvedLimits } from "../limits.ts";
import type { AppLogger, Logger } from "../logger.ts";
import { compilePath, type PathTemplate } from "../path.ts";
import { appendHeaders, dedupeContentType, Reply, replyToOutgoing } from "../responses.ts";
import type { ResponseControl, RouteSpec } from "../route.ts";
import { isStandardSchema, type StandardSchemaV1 } from "../schema/standard.ts";
import { compileBodyReader } from "./body.ts";
import { checkDependencyNames, checkDependencyTree, DependencySolver } from "./dependencies.ts";
import { ParsedForm } from "./form-body.ts";
import { compileSerializer, forbidsBody, type Serializer } from "./response.ts";
import { compileSteps, NO_VALUES, record } from "./sources.ts";
import { compileStreamResponder, type StreamResponder } from "./streams.ts";

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

/**
 * A route of brisk's own (the docs pages, a mount): served, never documented, and answered by `run` directly, with
 * no inputs to validate.
 */
export function internalRoute(
  methods: readonly string[],
  path: string,
  run: (incoming: Incoming) => Outgoing | Promise<Outgoing>,
): CompiledRoute {
  const handler = () => undefined;
  return { definition: { methods, path: compilePath(path), spec: { hidden: true }, handler }, run };
}

const JSON_HEADERS: readonly (readonly [string, string])[] = [["content-type", "application/json"]];

const NO_PARAMS: Readonly<Record<string, never>> = Object.freeze({});

/** What a route's compiled plan takes from its app. */
export interface RouteOptions {
  /** The app's `bodyLimit`, unless the route sets its own. */
  readonly bodyLimit: number;
  /** The app's `messageLimit` for WebSocket messages, unless the route sets its own. */
  readonly messageLimit: number;
  /** The app's limits. */
  readonly limits: ResolvedLimits;
  /** Whether request bodies may be compressed (the app's `decompressRequests`). */
  readonly decompressRequests: boolean;
  /** The handler deadline's watch, shared by the app's routes. */
  readonly deadlines: Deadlines;
  readonly logger: AppLogger;
  /** Consulted on every request, so overrides set after startup apply. */
  readonly overrides: DependencyOverrides;
  /** Run for effect before every route's own dependencies (the app's `dependencies`). */
  readonly dependencies: readonly Dependency<unknown>[];
  /** The app's lifespan state (throws when the lifespan has not run). */
  readonly state: () => State;
}

/**
 * After the response: the background tasks in order, then the dependencies' cleanup (last entered first), as in
 * FastAPI. Failures are logged; they cannot reach the client, whose response is gone, nor stop the process.
 */
async function finishRequest(
  tasks: readonly (() => unknown)[] | undefined,
  solver: DependencySolver | undefined,
  error: unknown,
  logger: Logger,
  where: string,
): Promise<void> {
  for (const task of tasks ?? []) {
    try {
      await task();
    } catch (failure) {
      logger.error(`${where}: a background task failed`, failure);
    }
  }
  await solver?.exit(error, logger, where);
}

/**
 * Compiles a route: validators for each declared source, the body reader, the serializer. The compiled `run`
 * stays synchronous until something is really asynchronous (reading a body, an async handler or refinement), so a
 * plain GET allocates no promise.
 */
export function compileRoute(definition: RouteDefinition, options: RouteOptions): CompiledRoute {
  const { spec, path } = definition;
  const name = `${definition.methods.join(",")} ${path.template}`;
  checkDependencyNames(spec.deps, name);
  const effects = [...options.dependencies, ...(spec.dependencies ?? [])];
  for (const effect of effects) checkDependencyNames({ dependency: effect }, name);
  const named = Object.entries(spec.deps ?? {});
  checkDependencyTree([...effects, ...named.map(([, dep]) => dep)], path, name);
  const usesDependencies = effects.length > 0 || named.length > 0;
  const { logger, overrides, deadlines } = options;
  const { paramLength, handlerTimeout } = options.limits;
  const timedOut: PlainResponse = {
    status: 503,
    headers: JSON_HEADERS,
    body: `{"detail":"Service Unavailable: no response within ${handlerTimeout} ms"}`,
  };
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
  const bodies = [
    spec.body,
    ...[...effects, ...named.map(([, dep]) => dep)].flatMap((dep) => bodiesOf(dep)),
  ].filter((body) => body !== undefined);
  const readBody = compileBodyReader(
    name,
    bodies,
    spec.bodyLimit,
    options.bodyLimit,
    {
      depth: options.limits.jsonDepth,
      keys: options.limits.jsonKeys,
      numberLength: options.limits.jsonNumberLength,
    },
    { decompress: options.decompressRequests, ratio: options.limits.compressionRatio },
  );
  const validatesParams = spec.params !== undefined;
  const serialize: Serializer = compileSerializer(name, spec.response);
  const streamer = compileStreamResponder(name, spec);
  const status = spec.status ?? 200;
  const answer = (result: unknown, context: RequestContext, incoming: Incoming) =>
    toOutgoing(result, context, incoming, status, serialize, streamer);
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
    // A thenable is awaited as `await` would: a query builder's (Drizzle's) is one, and runs when awaited.
    return result instanceof Promise || isThenable(result)
      ? Promise.resolve(result).then((value) => sent(answer(value, context, incoming), incoming, context))
      : sent(answer(result, context, incoming), incoming, context);
  }

  /** Schedules the background tasks once the response exists: a response that failed its schema runs none. */
  function sent(
    outgoing: Outgoing | Promise<Outgoing>,
    incoming: Incoming,
    context: RequestContext,
  ): Outgoing | Promise<Outgoing> {
    if (outgoing instanceof Promise) {
      return outgoing.then((done) => {
        scheduleTasks(incoming, context);
        return done;
      });
    }
    scheduleTasks(incoming, context);
    return outgoing;
  }

  /**
   * Background tasks of a route without dependencies (with them, the dependency path schedules everything). A
   * streaming handler's generator runs while the response is sent and may add tasks then: they are read after.
   */
  function scheduleTasks(incoming: Incoming, context: RequestContext): void {
    if (usesDependencies) return;
    if (streamer !== undefined) {
      incoming.afterResponse(() =>
        finishRequest(RequestContext.tasksOf(context), undefined, undefined, logger, name),
      );
      return;
    }
    const tasks = RequestContext.tasksOf(context);
    if (tasks !== undefined) {
      incoming.afterResponse(() => finishRequest(tasks, undefined, undefined, logger, name));
    }
  }

  /** A route with dependencies: they are solved before the route's own inputs are checked, then cleaned up. */
  async function withDependencies(
    context: RequestContext,
    incoming: Incoming,
    pathTexts: ReadonlyMap<string, readonly string[]>,
    pathValues: Readonly<Record<string, string | number>>,
    body: unknown,
    invalid: Invalid,
  ): Promise<Outgoing> {
    const issues: ValidationIssue[] = [];
    const solver = new DependencySolver(
      { incoming, context, pathTexts, pathValues, body, issues },
      overrides,
    );
    let failure: unknown;
    let succeeded = false;
    try {
      for (const effect of effects) await solver.solve(effect);
      for (const [key, dep] of named) {
        const solved = await solver.solve(dep);
        if (solved.ok) (context as unknown as Record<string, unknown>)[key] = solved.value;
      }
      await validateFrom(0, context, incoming, pathTexts, body, issues);
      if (issues.length > 0) {
        // The generators see the 422 as FastAPI's do (a RequestValidationError), and no background task runs.
        const rejected = new RequestValidationError(issues, body);
        failure = await solver.exitFunctionScope(rejected, logger, name);
        if (failure !== rejected) throw failure;
        return await invalid(issues, body, incoming);
      }
      let outgoing: Outgoing;
      try {
        outgoing = await respond(context, issues, body, invalid, incoming);
      } catch (error) {
        throw await solver.exitFunctionScope(error, logger, name);
      }
      // `scope: "function"` generators finish before the response is written: one that fails (a commit) is the
      // response instead, and what the handler produced is dropped.
      const failed = await solver.exitFunctionScope(undefined, logger, name);
      if (failed !== undefined) {
        if (isWebResponse(outgoing)) void outgoing.body?.cancel().catch(() => {});
        throw failed;
      }
      succeeded = true;
      return outgoing;
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      // Read when the response is done: a streaming handler's generator may have added tasks while it ran.
      incoming.afterResponse(() =>
        finishRequest(succeeded ? RequestContext.tasksOf(context) : undefined, solver, failure, logger, name),
      );
    }
  }

  function afterBody(
    incoming: Incoming,
    params: readonly string[],
    body: unknown,
    invalid: Invalid,
  ): Outgoing | Promise<Outgoing> {
    const context = new RequestContext(incoming, options.state);
    let pathTexts = NO_VALUES;
    if (path.params.length === 0) {
      context.params = NO_PARAMS;
    } else if (validatesParams || usesDependencies) {
      const texts = new Map<string, string[]>();
      path.params.forEach((param, index) => {
        texts.set(param.name, [decodeSegment(params[index] ?? "")]);
      });
      pathTexts = texts;
    }
    let typed: Record<string, string | number> = NO_PARAMS;
    if (path.params.length > 0 && (!validatesParams || usesDependencies)) {
      typed = {};
      for (let index = 0; index < path.params.length; index++) {
        const param = path.params[index]!;
        typed[param.name] = param.convert(decodeSegment(params[index] ?? ""));
      }
      if (!validatesParams) context.params = typed;
    }
    if (usesDependencies) return withDependencies(context, incoming, pathTexts, typed, body, invalid);
    const issues: ValidationIssue[] = [];
    const pending = validateFrom(0, context, incoming, pathTexts, body, issues);
    return pending === undefined
      ? respond(context, issues, body, invalid, incoming)
      : pending.then(() => respond(context, issues, body, invalid, incoming));
  }

  function afterReading(
    incoming: Incoming,
    params: readonly string[],
    body: unknown,
    invalid: Invalid,
  ): Outgoing | Promise<Outgoing> {
    if (!(body instanceof ParsedForm)) return afterBody(incoming, params, body, invalid);
    // Uploaded files outlive the handler: they are removed after the response, once background tasks and
    // dependency cleanup (added to the request's after-response work before this) have run.
    const dispose = () => incoming.afterResponse(() => body.dispose());
    let outgoing: Outgoing | Promise<Outgoing>;
    try {
      outgoing = afterBody(incoming, params, body, invalid);
    } catch (error) {
      dispose();
      throw error;
    }
    if (outgoing instanceof Promise) return outgoing.finally(dispose);
    dispose();
    return outgoing;
  }

  /**
   * Gives asynchronous work until the handler deadline: then the client gets 503 and the request's signal aborts.
   * What the handler still produces is dropped (a streamed body cancelled); a failure is logged.
   */
  function withDeadline(
    outgoing: Outgoing | Promise<Outgoing>,
    incoming: Incoming,
  ): Outgoing | Promise<Outgoing> {
    if (!(outgoing instanceof Promise)) return outgoing;
    return deadlines.watch(outgoing, () => {
      incoming.abort();
      logger.warn(
        `${incoming.method} ${incoming.path}: no response within ${handlerTimeout} ms; answered 503`,
      );
      outgoing.then(
        (late) => {
          if (isWebResponse(late)) void late.body?.cancel().catch(() => {});
        },
        (error: unknown) => {
          if (!isHTTPException(error)) logger.error(`${name}: failed after its deadline`, error);
        },
      );
      return timedOut;
    });
  }

  return {
    definition,
    run(incoming, params, invalid) {
      for (let index = 0; index < params.length; index++) {
        const param = params[index]!;
        // Characters are code points (an emoji is one); counted only when the UTF-16 length says it may be over.
        if (
          param.length > paramLength &&
          path.params[index]?.convertor !== "path" &&
          codePoints(param) > paramLength
        ) {
          throw new HTTPException(414, `Path parameter longer than ${paramLength} characters`);
        }
      }
      if (readBody === undefined)
        return withDeadline(afterBody(incoming, params, undefined, invalid), incoming);
      // The body is read and parsed first, as FastAPI does: malformed JSON is reported even if params are bad too.
      return readBody(incoming).then((body) =>
        withDeadline(afterReading(incoming, params, body, invalid), incoming),
      );
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as PromiseLike<unknown>).then === "function"
  );
}

/** The number of code points of a string (a surrogate pair is one). */
function codePoints(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    count++;
  }
  return count;
}

/** The body schemas a dependency and those it needs declare (the body must then be read for the route). */
function bodiesOf(dep: Dependency<unknown>, seen: Set<Dependency<unknown>> = new Set()): StandardSchemaV1[] {
  if (seen.has(dep)) return [];
  seen.add(dep);
  const children = Object.values(dep.spec.deps ?? {}).flatMap((child) => bodiesOf(child, seen));
  return dep.spec.body === undefined ? children : [dep.spec.body, ...children];
}

/** Turns what a handler returned into the response: its own, a helper's, a stream, or its data as JSON. */
function toOutgoing(
  result: unknown,
  context: RequestContext,
  incoming: Incoming,
  defaultStatus: number,
  serialize: Serializer,
  streamer: StreamResponder | undefined,
): Outgoing | Promise<Outgoing> {
  if (isWebResponse(result)) return result;
  const control = RequestContext.responseOf(context);
  if (result instanceof FileReply) return fileResponse(result, incoming, control?.headers);
  if (result instanceof Reply) return replyToOutgoing(result, control?.headers);
  const status = control?.status ?? defaultStatus;
  if (forbidsBody(status)) return withControl(status, null, control);
  if (streamer !== undefined) return streamer(result, status, control);
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
