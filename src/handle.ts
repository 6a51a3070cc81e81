import type { CompiledRoute, Invalid } from "./compile/plan.ts";
import { forbidsBody } from "./compile/response.ts";
import {
  HTTPException,
  isHTTPException,
  isRequestValidationError,
  isResponseValidationError,
  RequestValidationError,
  type ValidationIssue,
} from "./errors.ts";
import type { Incoming, Outgoing, PlainResponse } from "./exchange.ts";
import { quote } from "./internal/json-text.ts";
import { decodePath, hasDotSegment } from "./internal/percent.ts";
import { isWebResponse } from "./internal/web-response.ts";
import type { Logger } from "./logger.ts";
import type { Matcher } from "./matcher.ts";
import { type Reply, replyToOutgoing } from "./responses.ts";

/** What an exception handler receives besides the error. */
export interface ErrorContext {
  /** The request, as a web `Request` (built on access). */
  readonly request: Request;
}

/** Maps an error to the response the client gets. */
export type ExceptionHandler<E = Error> = (
  error: E,
  context: ErrorContext,
) => Response | Reply | Promise<Response | Reply>;

/** Exception handlers by error class or by status code (for {@link HTTPException}s). */
export interface ExceptionHandlers {
  readonly byClass: ReadonlyMap<abstract new (...args: never[]) => unknown, ExceptionHandler<never>>;
  readonly byStatus: ReadonlyMap<number, ExceptionHandler<never>>;
}

const JSON_TYPE = ["content-type", "application/json"] as const;
const JSON_HEADERS: readonly (readonly [string, string])[] = [JSON_TYPE];

/** `{"detail": detail}` with the given status and headers: the shape of every error brisk sends. */
export function detailResponse(
  status: number,
  detail: unknown,
  headers?: Readonly<Record<string, string>>,
): PlainResponse {
  const pairs: [string, string][] =
    headers === undefined ? [] : Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]);
  if (forbidsBody(status)) return { status, headers: pairs, body: null };
  let body: string;
  try {
    body = JSON.stringify({ detail });
  } catch {
    // A validation error echoes the client's input, which may nest deeper than the serializer's stack allows.
    body = JSON.stringify({ detail: elideDeep(detail, MAX_DETAIL_DEPTH) });
  }
  return { status, headers: pairs.length === 0 ? JSON_HEADERS : [JSON_TYPE, ...pairs], body };
}

const MAX_DETAIL_DEPTH = 32;

/** FastAPI's 422: `{"detail": issues}`. */
function validationResponse(issues: readonly ValidationIssue[]): PlainResponse {
  try {
    return { status: 422, headers: JSON_HEADERS, body: issuesJson(issues) };
  } catch {
    return detailResponse(422, issues);
  }
}

/** `JSON.stringify({ detail: issues })`, written field by field: the 422 body is the hot part of the error path. */
function issuesJson(issues: readonly ValidationIssue[]): string {
  let out = '{"detail":[';
  for (let index = 0; index < issues.length; index++) {
    const { type, loc, msg, input, ctx } = issues[index]!;
    out += `${index === 0 ? "" : ","}{"type":${quote(type)},"loc":${JSON.stringify(loc)},"msg":${quote(msg)}`;
    const inputText = typeof input === "string" ? quote(input) : JSON.stringify(input);
    if (inputText !== undefined) out += `,"input":${inputText}`;
    if (ctx !== undefined) out += `,"ctx":${JSON.stringify(ctx)}`;
    out += "}";
  }
  return `${out}]}`;
}

/** A copy of `value` with whatever lies deeper than `depth` levels replaced by the text `"[too deep]"`. */
function elideDeep(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth === 0) return "[too deep]";
  if (Array.isArray(value)) return value.map((item) => elideDeep(item, depth - 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, elideDeep(item, depth - 1)]));
}

/**
 * FastAPI's `redirect_slashes`: when nothing matches but the path with its trailing slash toggled does, redirect
 * there with 307 (which keeps the method and body). The location is relative, so it keeps the scheme and host the
 * client used, and it never starts with `//` or `/\\`, which a browser would read as another host.
 */
function slashRedirect(
  matcher: Matcher<CompiledRoute>,
  incoming: Incoming,
  routed: string,
  path: string,
  root: string,
): string | undefined {
  if (path === "/" || path.length === 0) return undefined;
  const toggle = (text: string) => (text.endsWith("/") ? text.slice(0, -1) : `${text}/`);
  // The client's view of the path: behind a proxy that strips the root path, it is put back.
  const target = root + toggle(routed);
  if (target === "" || /^\/[\\/]/.test(target)) return undefined;
  if (matcher.match(incoming.method, toggle(path)).kind === "not-found") return undefined;
  return incoming.search === "" ? target : `${target}?${incoming.search}`;
}

/**
 * The path to route: without the root path when the proxy left it on (a proxy that strips it sends the path as
 * routed already), so the same app answers both.
 */
export function withoutRoot(path: string, root: string): string {
  if (root === "" || !path.startsWith(root)) return path;
  if (path.length === root.length) return "/";
  return path.charCodeAt(root.length) === 47 /* "/" */ ? path.slice(root.length) : path;
}

/** The request path, and how it turns errors into responses (for the layers around it). */
export interface Dispatcher {
  /** Matches, runs the route's plan, and turns any error into a response. */
  readonly dispatch: (incoming: Incoming) => Outgoing | Promise<Outgoing>;
  /** The response for an error: the app's exception handlers, else brisk's defaults (a logged 500 for bugs). */
  readonly renderError: (error: unknown, incoming: Incoming) => Outgoing | Promise<Outgoing>;
}

/** Builds the request path: match, run the route's plan, and turn any error into a response. */
export function createDispatcher(
  matcher: Matcher<CompiledRoute>,
  handlers: ExceptionHandlers,
  logger: Logger,
  defaultRoot: string,
): Dispatcher {
  /**
   * Starlette's lookup: an HTTPException's status first, then the error's classes from the most specific. brisk's
   * own client-error classes end the walk at their default, so a handler for `Error` does not swallow 404s and
   * 422s; any other error may be handled as status 500.
   */
  function findHandler(error: unknown): ExceptionHandler<never> | undefined {
    if (typeof error !== "object" || error === null) return undefined;
    if (isHTTPException(error)) {
      const handler = handlers.byStatus.get(error.status);
      if (handler !== undefined) return handler;
    }
    for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
      const handler = handlers.byClass.get(proto.constructor);
      if (handler !== undefined) return handler;
      if (proto.constructor === HTTPException || proto.constructor === RequestValidationError)
        return undefined;
    }
    return undefined;
  }

  /** Errors no handler claimed are server bugs: logged with their stack, and offered to a handler for 500. */
  function logUnexpected(error: unknown, incoming: Incoming): void {
    const where = `${incoming.method} ${incoming.path}`;
    if (isResponseValidationError(error)) logger.error(`${where}: ${error.message}`, error);
    else logger.error(`${where}: unhandled error`, error);
  }

  function defaultResponse(error: unknown): PlainResponse {
    if (isHTTPException(error)) return detailResponse(error.status, error.detail, error.headers);
    if (isRequestValidationError(error)) return validationResponse(error.issues);
    return detailResponse(500, "Internal Server Error");
  }

  /** Turns an error into its response; synchronous unless a user handler is async. */
  function renderError(error: unknown, incoming: Incoming): Outgoing | Promise<Outgoing> {
    let handler = findHandler(error);
    if (handler === undefined && !isHTTPException(error) && !isRequestValidationError(error)) {
      logUnexpected(error, incoming);
      handler = handlers.byStatus.get(500);
    }
    if (handler === undefined) return defaultResponse(error);
    const failed = (handlerError: unknown): Outgoing => {
      logger.error(`${incoming.method} ${incoming.path}: the exception handler failed`, handlerError);
      return detailResponse(500, "Internal Server Error");
    };
    const toOutgoing = (result: Response | Reply): Outgoing =>
      isWebResponse(result) ? result : replyToOutgoing(result);
    try {
      const result = (handler as ExceptionHandler<unknown>)(error, {
        get request() {
          return incoming.toRequest();
        },
      });
      return result instanceof Promise ? result.then(toOutgoing, failed) : toOutgoing(result);
    } catch (handlerError) {
      return failed(handlerError);
    }
  }

  // Without a handler of its own, invalid input is answered without building a RequestValidationError at all.
  const invalid: Invalid =
    handlers.byClass.get(RequestValidationError) === undefined
      ? validationResponse
      : (issues, body, incoming) => renderError(new RequestValidationError(issues, body), incoming);

  const dispatch = (incoming: Incoming): Outgoing | Promise<Outgoing> => {
    try {
      const root = incoming.rootPath ?? defaultRoot;
      const routed = withoutRoot(incoming.path, root);
      if (hasDotSegment(routed)) throw new HTTPException(400, "The request path has a dot segment (. or ..)");
      const path = decodePath(routed);
      const match = matcher.match(incoming.method, path);
      if (match.kind === "found") {
        const outgoing = match.value.run(incoming, match.params, invalid);
        return outgoing instanceof Promise
          ? outgoing.catch((error) => renderError(error, incoming))
          : outgoing;
      }
      if (match.kind === "method-not-allowed") {
        throw new HTTPException(405, undefined, { allow: match.allow.join(", ") });
      }
      const location = slashRedirect(matcher, incoming, routed, path, root);
      if (location !== undefined) return { status: 307, headers: [["location", location]], body: null };
      throw new HTTPException(404);
    } catch (error) {
      return renderError(error, incoming);
    }
  };
  return { dispatch, renderError };
}
