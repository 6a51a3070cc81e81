import { BriskError } from "../errors.ts";
import type { Middleware } from "../middleware.ts";
import { appendVary, editHeaders, plainText } from "./headers.ts";

/** Options of {@link cors}; names and defaults are Starlette's `CORSMiddleware`'s. */
export interface CorsOptions {
  /**
   * Origins allowed to make cross-origin requests (`"https://example.com"`), or `"*"` for any.
   * @default []
   */
  readonly allowOrigins?: readonly string[] | "*";
  /** Origins matching this pattern as a whole (Python's `fullmatch`) are allowed too. */
  readonly allowOriginRegex?: RegExp | string;
  /**
   * Methods allowed in cross-origin requests; `"*"` for DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT.
   * @default ["GET"]
   */
  readonly allowMethods?: readonly string[] | "*";
  /**
   * Request headers allowed in cross-origin requests, besides the always-allowed Accept, Accept-Language,
   * Content-Language and Content-Type; `"*"` for any (the requested ones are echoed).
   * @default []
   */
  readonly allowHeaders?: readonly string[] | "*";
  /**
   * Whether cookies and `Authorization` may be sent cross-origin (`Access-Control-Allow-Credentials: true`).
   * Cannot be combined with any origin (`"*"`): browsers reject that, so brisk refuses it at startup.
   * @default false
   */
  readonly allowCredentials?: boolean;
  /**
   * Response headers the browser lets scripts read (`Access-Control-Expose-Headers`).
   * @default []
   */
  readonly exposeHeaders?: readonly string[];
  /**
   * How long browsers may cache a preflight answer, in seconds.
   * @default 600
   */
  readonly maxAge?: number;
}

const ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];
const SAFELISTED_HEADERS = ["Accept", "Accept-Language", "Content-Language", "Content-Type"];

/**
 * Cross-origin resource sharing, with Starlette's `CORSMiddleware` behaviour: only requests with an `Origin`
 * header are touched; a preflight (OPTIONS with `Access-Control-Request-Method`) is answered here, 200 `OK` or
 * 400 `Disallowed CORS origin, method, headers` (the failing parts); other requests go on to the routes and get
 * the CORS headers added to their response.
 *
 * Where brisk differs from Starlette:
 * - `allowOrigins: "*"` with `allowCredentials: true` throws `BRISK_INVALID_OPTION` at startup (browsers refuse a
 *   credentialed response with `Access-Control-Allow-Origin: *`, so that configuration never works).
 * - Error responses (404, 422, 500) carry the CORS headers too: errors are responses by the time a middleware sees
 *   them, so the browser shows the real error rather than a CORS failure (FastAPI #775, Starlette #1116).
 * - A response to a disallowed origin passes through without any CORS header (Starlette still adds
 *   `Access-Control-Allow-Credentials` and `Access-Control-Expose-Headers`, which mean nothing without an origin),
 *   but with `Vary: Origin` when origins are listed, so that a cache keeps it from allowed origins.
 * - The origin `"null"` is never allowed (listing it throws at startup): sandboxed frames and `file:` pages send it.
 *
 * @example
 * app.use(cors({ allowOrigins: ["https://example.com"], allowMethods: "*", allowCredentials: true }));
 */
export function cors(options: CorsOptions = {}): Middleware {
  const origins = options.allowOrigins ?? [];
  const allowAllOrigins = origins === "*" || origins.includes("*");
  const listedOrigins = new Set(origins === "*" ? [] : origins);
  const allowCredentials = options.allowCredentials ?? false;
  if (allowAllOrigins && allowCredentials) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      'cors: allowOrigins "*" cannot be combined with allowCredentials: true (browsers reject credentialed ' +
        "responses to any origin); list the allowed origins, or use allowOriginRegex",
    );
  }
  if (listedOrigins.has("null")) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      'cors: the origin "null" cannot be allowed: sandboxed frames, file: pages and cross-origin redirects all send it',
    );
  }
  const originRegex = compileOriginRegex(options.allowOriginRegex);
  const methods = options.allowMethods ?? ["GET"];
  const allowMethods = methods === "*" || methods.includes("*") ? ALL_METHODS : [...methods];
  const headers = options.allowHeaders ?? [];
  const allowAllHeaders = headers === "*" || headers.includes("*");
  const maxAge = options.maxAge ?? 600;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) {
    throw new BriskError("BRISK_INVALID_OPTION", `cors: maxAge must be whole seconds, got ${maxAge}`);
  }
  const exposeHeaders = options.exposeHeaders ?? [];
  const explicitOrigin = !allowAllOrigins;

  const simpleHeaders: [string, string][] = [];
  if (allowAllOrigins) simpleHeaders.push(["access-control-allow-origin", "*"]);
  if (allowCredentials) simpleHeaders.push(["access-control-allow-credentials", "true"]);
  if (exposeHeaders.length > 0)
    simpleHeaders.push(["access-control-expose-headers", exposeHeaders.join(", ")]);

  // Starlette sorts the union of the safelisted and configured headers; a case-insensitive duplicate is kept once.
  const allowedHeaders = [...SAFELISTED_HEADERS];
  if (headers !== "*") {
    for (const name of headers) {
      if (!allowedHeaders.some((each) => each.toLowerCase() === name.toLowerCase()))
        allowedHeaders.push(name);
    }
  }
  allowedHeaders.sort();
  const allowedLower = new Set(allowedHeaders.map((name) => name.toLowerCase()));

  const preflightHeaders: [string, string][] = [
    explicitOrigin ? ["vary", "Origin"] : ["access-control-allow-origin", "*"],
    ["access-control-allow-methods", allowMethods.join(", ")],
    ["access-control-max-age", String(maxAge)],
  ];
  if (!allowAllHeaders) preflightHeaders.push(["access-control-allow-headers", allowedHeaders.join(", ")]);
  if (allowCredentials) preflightHeaders.push(["access-control-allow-credentials", "true"]);

  // "null" is never an allowed origin, whatever matches it: any sandboxed page can send it.
  const isAllowedOrigin = (origin: string): boolean =>
    origin !== "null" && (allowAllOrigins || originRegex?.test(origin) === true || listedOrigins.has(origin));

  const preflight = (request: Request, origin: string): Response => {
    const headers = new Headers(preflightHeaders);
    const failures: string[] = [];
    if (!isAllowedOrigin(origin)) failures.push("origin");
    else if (explicitOrigin) headers.set("access-control-allow-origin", origin);
    if (!allowMethods.includes(request.headers.get("access-control-request-method") ?? "")) {
      failures.push("method");
    }
    const requested = request.headers.get("access-control-request-headers");
    if (requested !== null) {
      if (allowAllHeaders) headers.set("access-control-allow-headers", requested);
      else if (requested.split(",").some((name) => !allowedLower.has(name.trim().toLowerCase()))) {
        failures.push("headers");
      }
    }
    // A 400 is not required (the browser enforces CORS), but it tells the developer what was refused.
    return failures.length > 0
      ? plainText(400, `Disallowed CORS ${failures.join(", ")}`, headers)
      : plainText(200, "OK", headers);
  };

  return async ({ request }, next) => {
    const origin = request.headers.get("origin");
    if (origin === null) return next();
    if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
      return preflight(request, origin);
    }
    const response = await next();
    if (!isAllowedOrigin(origin)) {
      // The answer depends on the origin either way: a cache must not give this one to an allowed origin.
      return explicitOrigin ? editHeaders(response, (headers) => appendVary(headers, "Origin")) : response;
    }
    // With any origin allowed, a request carrying cookies still gets its origin echoed (Starlette's rule).
    const echo = explicitOrigin || request.headers.has("cookie");
    return editHeaders(response, (headers) => {
      for (const [name, value] of simpleHeaders) headers.set(name, value);
      if (echo) {
        headers.set("access-control-allow-origin", origin);
        appendVary(headers, "Origin");
      }
    });
  };
}

/** Compiles the origin pattern to match whole origins only, as Python's `re.fullmatch`. */
function compileOriginRegex(pattern: RegExp | string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined;
  const source = typeof pattern === "string" ? pattern : pattern.source;
  // Global and sticky flags would make `test` stateful between requests.
  const flags = typeof pattern === "string" ? "" : pattern.flags.replace(/[gy]/g, "");
  try {
    return new RegExp(`^(?:${source})$`, flags);
  } catch (error) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      `cors: allowOriginRegex is not a valid regular expression: ${(error as Error).message}`,
    );
  }
}
