import { STATUS_CODES } from "node:http";

/** One entry of a 422 body's `detail` list, shaped as FastAPI (Pydantic v2) shapes it. */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

/** The reason phrase of an HTTP status (`404` → `"Not Found"`), as FastAPI uses for a default `detail`. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? "Unknown Status";
}

/**
 * An error meant for the client: rendered as `{"detail": detail}` with `status` and `headers`.
 *
 * @example
 * throw new HTTPException(404, `No greeting for '${lang}'`);
 */
export class HTTPException extends Error {
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Readonly<Record<string, string>> | undefined;

  /** `detail` defaults to the status's reason phrase (also for `null`, as FastAPI's `None`); any JSON value. */
  constructor(status: number, detail?: unknown, headers?: Record<string, string>) {
    const text = detail === undefined || detail === null ? reasonPhrase(status) : detail;
    const limit = Error.stackTraceLimit;
    // A client error is control flow, not a server bug: capturing a stack would cost more than the response.
    Error.stackTraceLimit = 0;
    super(typeof text === "string" ? text : JSON.stringify(text));
    Error.stackTraceLimit = limit;
    this.name = "HTTPException";
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new BriskError(
        "BRISK_INVALID_STATUS",
        `HTTPException status must be an integer from 100 to 599, got ${status}`,
      );
    }
    this.status = status;
    this.detail = text;
    this.headers = headers;
  }
}

/** The request did not match its route's schemas; the default handler answers 422 with `{"detail": issues}`. */
export class RequestValidationError extends Error {
  readonly issues: readonly ValidationIssue[];
  /** The parsed request body, if the route has one (FastAPI's `RequestValidationError.body`). */
  readonly body: unknown;
  constructor(issues: readonly ValidationIssue[], body?: unknown) {
    const limit = Error.stackTraceLimit;
    // Invalid input is the client's doing; a stack trace would say nothing and cost more than the 422 itself.
    Error.stackTraceLimit = 0;
    super(`${issues.length} validation error${issues.length === 1 ? "" : "s"} in the request`);
    Error.stackTraceLimit = limit;
    this.name = "RequestValidationError";
    this.issues = issues;
    this.body = body;
  }
  /** The issues, as FastAPI's `RequestValidationError.errors()` returns them. */
  errors(): readonly ValidationIssue[] {
    return this.issues;
  }
}

/**
 * A handler returned data that does not fit its `response` schema. This is a server bug: the client gets a
 * generic 500 and the issues (with `loc` starting at `"response"`) go to the log, never to the client.
 */
export class ResponseValidationError extends Error {
  override name = "ResponseValidationError";
  readonly issues: readonly ValidationIssue[];
  constructor(route: string, issues: readonly ValidationIssue[]) {
    super(`Response of ${route} does not match its response schema: ${describeIssues(issues)}`);
    this.issues = issues;
  }
}

/**
 * The issues as JSON for the log. An issue's `input` is whatever the handler returned, which JSON may not be able
 * to write (a cycle, a BigInt): such a value is shown by its type, so describing the mistake cannot fail too.
 */
function describeIssues(issues: readonly ValidationIssue[]): string {
  try {
    return JSON.stringify(issues);
  } catch {
    return JSON.stringify(issues.map((issue) => ({ ...issue, input: describeValue(issue.input) })));
  }
}

function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    const name = typeof value === "object" && value !== null ? value.constructor?.name : undefined;
    return `<${name ?? typeof value} that JSON cannot represent>`;
  }
}

/**
 * A developer mistake found at startup (a bad path template, a duplicate route, an unusable schema).
 * `code` is stable; docs/errors.md explains each one.
 */
export class BriskError extends Error {
  override name = "BriskError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function hasName(value: unknown, name: string): boolean {
  return value instanceof Error && value.name === name;
}

/** True for an {@link HTTPException}, also one from another copy of brisk. */
export function isHTTPException(value: unknown): value is HTTPException {
  return hasName(value, "HTTPException");
}
/** True for a {@link RequestValidationError}, also one from another copy of brisk. */
export function isRequestValidationError(value: unknown): value is RequestValidationError {
  return hasName(value, "RequestValidationError");
}
/** True for a {@link ResponseValidationError}, also one from another copy of brisk. */
export function isResponseValidationError(value: unknown): value is ResponseValidationError {
  return hasName(value, "ResponseValidationError");
}
/** True for a {@link BriskError}, also one from another copy of brisk. */
export function isBriskError(value: unknown): value is BriskError {
  return hasName(value, "BriskError");
}
