import { BriskError } from "./errors.ts";
import type { InputContext, ParamSchema, RouteSpec } from "./route.ts";
import type { StandardSchemaV1 } from "./schema/standard.ts";

const DEPENDENCY: unique symbol = Symbol.for("brisk.dependency");

/** What a dependency declares: its own inputs, like a route's, and the dependencies it needs. */
export interface DependencySpec {
  readonly params?: ParamSchema;
  readonly query?: ParamSchema;
  readonly headers?: ParamSchema;
  readonly cookies?: ParamSchema;
  /** The JSON body, validated with this schema (the route and other dependencies may validate it too). */
  readonly body?: StandardSchemaV1;
  /** Responses the dependency may answer with (a 403, say), documented on every route that uses it. */
  readonly responses?: RouteSpec["responses"];
  /** Sub-dependencies, solved first; their values reach this dependency's context by name. */
  readonly deps?: DependencyMap;
  /**
   * Once per request: a dependency used by several others runs once and they share its value. `false` runs it
   * for every use.
   * @default true
   */
  readonly cache?: boolean;
  /**
   * When a generator's code after `yield` runs. `"request"`: once the response has been sent (the value lives as
   * long as the response, a streamed one included). `"function"`: as soon as the handler has returned (or thrown),
   * before the response is written, and an error thrown there becomes the response: what a database transaction
   * wants, so that a success response means the commit has happened. FastAPI's `Depends(scope=...)`.
   * @default "request"
   */
  readonly scope?: DependencyScope;
}

/** When a dependency's code after `yield` runs: after the response is sent, or when the handler returns. */
export type DependencyScope = "request" | "function";

/** Named dependencies, as a route's or a dependency's `deps`. */
export type DependencyMap = { readonly [name: string]: Dependency<unknown> };

/**
 * A value a request needs, computed per request by a function that declares its own inputs: a database session, the
 * current user, a pagination object. Created with {@link dependency}.
 */
export interface Dependency<out Value> {
  readonly [DEPENDENCY]: true;
  readonly spec: DependencySpec;
  readonly run: (context: never) => unknown;
  /** The dependency this one is a variant of (`withScopes`): overrides and the cache treat them as one. */
  readonly origin?: Dependency<unknown>;
  /** For security schemes: how the dependency appears in the OpenAPI document. */
  readonly security?: SecurityRequirement;
  /** Type-level only: the value the dependency provides. */
  readonly value?: Value;
}

/** A security scheme as a dependency documents it: `components.securitySchemes[name]` and the scopes it needs. */
export interface SecurityRequirement {
  readonly name: string;
  /** The OpenAPI Security Scheme Object. */
  readonly scheme: Readonly<Record<string, unknown>>;
  readonly scopes: readonly string[];
  /** True when the dependency lets requests without credentials through (`autoError: false`). */
  readonly optional: boolean;
}

/** The value of a dependency: what its function returns, resolves to, or yields first. */
export type DependencyValue<D> = D extends Dependency<infer Value> ? Value : never;

/** The values of a `deps` map, by name. */
export type DependencyValues<Deps> = { -readonly [K in keyof Deps]: DependencyValue<Deps[K]> };

/** What a dependency's function receives: its own inputs (path values as the route's convertors make them), and the values of its `deps`. */
export type DependencyContext<Spec extends DependencySpec> = InputContext<
  Spec,
  Readonly<Record<string, string | number>>
> &
  (Spec extends { readonly deps: infer Deps } ? DependencyValues<Deps> : unknown);

/** What a dependency's function may return: a value, a promise, or a generator whose code after `yield` cleans up. */
type Provided<Result> =
  Result extends AsyncGenerator<infer Yielded, unknown, unknown>
    ? Yielded
    : Result extends Generator<infer Yielded, unknown, unknown>
      ? Yielded
      : Awaited<Result>;

/**
 * Declares a dependency. `run` may be a plain or async function, or a generator (sync or async): the value it
 * yields is injected, and the code after `yield` runs once the response has been sent (or, with
 * `scope: "function"`, once the handler has returned), in reverse order of entry, with the error (thrown into the
 * generator) if the request failed.
 *
 * @example
 * const db = dependency({ scope: "function" }, async function* () {
 *   const client = await pool.connect();
 *   try {
 *     await client.query("BEGIN");
 *     yield client;
 *     await client.query("COMMIT"); // before the response: a failed commit is an error response, not a 200
 *   } catch (error) {
 *     await client.query("ROLLBACK");
 *     throw error;
 *   } finally {
 *     client.release();
 *   }
 * });
 * const currentUser = dependency({ headers: { authorization: z.string() }, deps: { db } }, ({ headers, db }) =>
 *   db.userForToken(headers.authorization));
 * app.get("/me", { deps: { user: currentUser } }, ({ user }) => user);
 */
export function dependency<const Spec extends DependencySpec, Result>(
  spec: Spec,
  run: (context: DependencyContext<Spec>) => Result,
): Dependency<Provided<Result>>;
export function dependency<Result>(
  run: (context: DependencyContext<Record<never, never>>) => Result,
): Dependency<Provided<Result>>;
export function dependency(
  specOrRun: DependencySpec | ((context: never) => unknown),
  maybeRun?: (context: never) => unknown,
): Dependency<unknown> {
  const [spec, run] = typeof specOrRun === "function" ? [{}, specOrRun] : [specOrRun, maybeRun];
  if (typeof run !== "function") {
    throw new BriskError("BRISK_INVALID_HANDLER", "A dependency needs a function that computes its value");
  }
  for (const [name, child] of Object.entries(spec.deps ?? {})) {
    if (!isDependency(child)) {
      throw new BriskError(
        "BRISK_INVALID_DEPENDENCY",
        `deps.${name} is not a dependency (use dependency(...))`,
      );
    }
  }
  return { [DEPENDENCY]: true, spec, run };
}

/** True for what {@link dependency} returns. */
export function isDependency(value: unknown): value is Dependency<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Partial<Dependency<unknown>>)[DEPENDENCY] === true
  );
}

/**
 * Replacements for dependencies, consulted on every request (for tests): `app.overrides.set(db, fakeDb)`. A
 * replacement is another dependency, or a function of the same context.
 */
export type DependencyOverrides = Map<
  Dependency<unknown>,
  Dependency<unknown> | ((context: never) => unknown)
>;
