import { z } from "zod";
import { INCOMING } from "./compile/dependencies.ts";
import { type Dependency, dependency, type SecurityRequirement } from "./dependency.ts";
import { HTTPException } from "./errors.ts";
import type { Incoming } from "./exchange.ts";
import { form } from "./form.ts";
import { parseCookies } from "./internal/cookies.ts";
import { parseQuery } from "./internal/query.ts";

/** Options every scheme takes. */
export interface SchemeOptions {
  /** The key under `components.securitySchemes`; defaults to FastAPI's (the scheme's class name there). */
  readonly schemeName?: string;
  readonly description?: string;
  /**
   * With `false`, a request without credentials gets `undefined` instead of a 401, for routes where signing in
   * is optional; the document then lists "no credentials" as an alternative too.
   * @default true
   */
  readonly autoError?: boolean;
}

/** What `autoError: false` does to a scheme's value. */
type MaybeMissing<Options, Value> = Options extends { readonly autoError: false } ? Value | undefined : Value;

/** The parts of an `Authorization: Bearer <token>` header. */
export interface AuthorizationCredentials {
  /** The scheme as sent, e.g. "Bearer". */
  readonly scheme: string;
  readonly credentials: string;
}

/** The parts of an `Authorization: Basic ...` header. */
export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

function incomingOf(context: object): Incoming {
  return (context as { [INCOMING]: Incoming })[INCOMING];
}

/** FastAPI's 401 for missing credentials. */
function notAuthenticated(challenge: string): HTTPException {
  return new HTTPException(401, "Not authenticated", { "WWW-Authenticate": challenge });
}

/** `Authorization: <scheme> <credentials>`, the scheme compared case-insensitively and the credentials trimmed. */
function authorization(incoming: Incoming): AuthorizationCredentials | undefined {
  const header = incoming.header("authorization")?.trim();
  if (header === undefined || header === "") return undefined;
  const space = header.search(/\s/);
  if (space === -1) return { scheme: header, credentials: "" };
  return { scheme: header.slice(0, space), credentials: header.slice(space + 1).trim() };
}

/** A dependency that enforces a scheme and documents it. */
function securityDependency<Value>(
  requirement: SecurityRequirement,
  read: (incoming: Incoming) => Value | undefined,
  challenge: string,
): Dependency<Value> {
  const base = dependency((context) => {
    const value = read(incomingOf(context));
    if (value === undefined && !requirement.optional) throw notAuthenticated(challenge);
    return value as Value;
  });
  return { ...base, security: requirement } as Dependency<Value>;
}

function requirement(
  name: string,
  scheme: Record<string, unknown>,
  options: SchemeOptions,
  scopes: readonly string[] = [],
): SecurityRequirement {
  const described =
    options.description === undefined ? scheme : { ...scheme, description: options.description };
  return {
    name: options.schemeName ?? name,
    scheme: described,
    scopes,
    optional: options.autoError === false,
  };
}

/** `Authorization: Bearer <token>`: the scheme and the token. */
export function httpBearer<const Options extends SchemeOptions & { readonly bearerFormat?: string }>(
  options: Options = {} as Options,
): Dependency<MaybeMissing<Options, AuthorizationCredentials>> {
  const scheme = {
    type: "http",
    scheme: "bearer",
    ...(options.bearerFormat ? { bearerFormat: options.bearerFormat } : {}),
  };
  return securityDependency(
    requirement("HTTPBearer", scheme, options),
    (incoming) => {
      const found = authorization(incoming);
      return found !== undefined && found.scheme.toLowerCase() === "bearer" && found.credentials !== ""
        ? found
        : undefined;
    },
    "Bearer",
  ) as Dependency<MaybeMissing<Options, AuthorizationCredentials>>;
}

/**
 * `Authorization: Basic base64(username:password)`. Missing credentials are a 401 (`undefined` with
 * `autoError: false`); malformed ones are a 401 either way, as in FastAPI.
 */
export function httpBasic<const Options extends SchemeOptions & { readonly realm?: string }>(
  options: Options = {} as Options,
): Dependency<MaybeMissing<Options, BasicCredentials>> {
  const challenge =
    options.realm === undefined ? "Basic" : `Basic realm="${options.realm.replace(/["\\]/g, "\\$&")}"`;
  const needed = requirement("HTTPBasic", { type: "http", scheme: "basic" }, options);
  const base = dependency((context) => {
    const found = authorization(incomingOf(context));
    if (found === undefined || found.scheme.toLowerCase() !== "basic" || found.credentials === "") {
      if (needed.optional) return undefined;
      throw notAuthenticated(challenge);
    }
    const decoded = /^[A-Za-z0-9+/]*={0,2}$/.test(found.credentials)
      ? Buffer.from(found.credentials, "base64").toString("utf8")
      : "";
    const colon = decoded.indexOf(":");
    if (colon === -1) {
      throw new HTTPException(401, "Invalid authentication credentials", { "WWW-Authenticate": challenge });
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  });
  return { ...base, security: needed } as Dependency<MaybeMissing<Options, BasicCredentials>>;
}

/** Where an API key travels, and under which name. */
export interface ApiKeyOptions extends SchemeOptions {
  readonly in: "header" | "query" | "cookie";
  readonly name: string;
}

const API_KEY_NAMES = { header: "APIKeyHeader", query: "APIKeyQuery", cookie: "APIKeyCookie" } as const;

/** An API key in a header, query parameter or cookie: the key. */
export function apiKey<const Options extends ApiKeyOptions>(
  options: Options,
): Dependency<MaybeMissing<Options, string>> {
  const where = options.in;
  const read = (incoming: Incoming): string | undefined => {
    let value: string | undefined;
    if (where === "header") value = incoming.header(options.name.toLowerCase());
    else if (where === "query") value = parseQuery(incoming.search).get(options.name)?.at(-1);
    else value = parseCookies(incoming.header("cookie")).get(options.name);
    return value === undefined || value === "" ? undefined : value;
  };
  const scheme = { type: "apiKey", in: where, name: options.name };
  return securityDependency(requirement(API_KEY_NAMES[where], scheme, options), read, "APIKey") as Dependency<
    MaybeMissing<Options, string>
  >;
}

/** The OAuth2 password flow's token endpoint and scopes. */
export interface OAuth2PasswordOptions extends SchemeOptions {
  /** Where Swagger UI's Authorize dialog posts the form; relative URLs keep working behind a proxy. */
  readonly tokenUrl: string;
  readonly refreshUrl?: string;
  /** The scopes a client may ask for, with their descriptions. */
  readonly scopes?: Readonly<Record<string, string>>;
}

/**
 * OAuth2's password flow: `Authorization: Bearer <token>` gives the token, and the document describes the token
 * endpoint, so that Swagger UI's Authorize dialog can sign in. The token endpoint itself is a route reading
 * {@link passwordForm}.
 */
export function oauth2PasswordBearer<const Options extends OAuth2PasswordOptions>(
  options: Options,
): Dependency<MaybeMissing<Options, string>> {
  const flow = {
    password: {
      scopes: { ...options.scopes },
      tokenUrl: options.tokenUrl,
      ...(options.refreshUrl === undefined ? {} : { refreshUrl: options.refreshUrl }),
    },
  };
  return securityDependency(
    requirement("OAuth2PasswordBearer", { type: "oauth2", flows: flow }, options),
    (incoming) => {
      const found = authorization(incoming);
      return found !== undefined && found.scheme.toLowerCase() === "bearer" && found.credentials !== ""
        ? found.credentials
        : undefined;
    },
    "Bearer",
  ) as Dependency<MaybeMissing<Options, string>>;
}

/** OpenID Connect: the whole `Authorization` header, for the application to verify. */
export function openIdConnect<const Options extends SchemeOptions & { readonly url: string }>(
  options: Options,
): Dependency<MaybeMissing<Options, string>> {
  return securityDependency(
    requirement("OpenIdConnect", { type: "openIdConnect", openIdConnectUrl: options.url }, options),
    (incoming) => incoming.header("authorization") || undefined,
    "Bearer",
  ) as Dependency<MaybeMissing<Options, string>>;
}

/**
 * The same scheme, requiring these scopes on the routes that use this dependency. Scopes from every use on a route
 * are merged in its document.
 */
export function withScopes<Value>(scheme: Dependency<Value>, scopes: readonly string[]): Dependency<Value> {
  if (scheme.security === undefined) throw new TypeError("withScopes() takes a security scheme");
  // The same dependency for overrides and the per-request cache: only the documented scopes differ.
  return {
    ...scheme,
    origin: scheme.origin ?? scheme,
    security: { ...scheme.security, scopes: [...scheme.security.scopes, ...scopes] },
  };
}

/** What a client sends to an OAuth2 password-flow token endpoint. */
export interface PasswordForm {
  readonly grantType: "password" | undefined;
  readonly username: string;
  readonly password: string;
  /** `scope`, split on spaces. */
  readonly scopes: string[];
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

const PasswordFormFields = z.object({
  grant_type: z
    .string()
    .regex(/^password$/)
    .optional(),
  username: z.string(),
  password: z.string().meta({ format: "password" }),
  scope: z.string().default(""),
  client_id: z.string().optional(),
  client_secret: z.string().meta({ format: "password" }).optional(),
});

/**
 * The OAuth2 password-flow form (FastAPI's `OAuth2PasswordRequestForm`), read from an
 * `application/x-www-form-urlencoded` body: `app.post("/token", { deps: { form: passwordForm } }, ...)`.
 */
export const passwordForm: Dependency<PasswordForm> = dependency(
  { body: form(PasswordFormFields) },
  ({ body }): PasswordForm => ({
    grantType: body.grant_type as "password" | undefined,
    username: body.username,
    password: body.password,
    scopes: body.scope.split(" ").filter((scope) => scope !== ""),
    clientId: body.client_id,
    clientSecret: body.client_secret,
  }),
);
