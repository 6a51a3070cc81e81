import type { Dependency } from "./dependency.ts";
import { BriskError } from "./errors.ts";
import type { Lifespan } from "./lifespan.ts";
import type { Handler, RouteSpec } from "./route.ts";
import { type Method, Routes } from "./routes.ts";

/** What a router (or an `include`) adds to each of its routes. */
export interface RouterOptions {
  /** Put in front of every path: starts with "/", does not end with one. */
  readonly prefix?: string;
  /** Put before each route's own tags. */
  readonly tags?: readonly string[];
  /** Run for effect before each route's own dependencies. */
  readonly dependencies?: readonly Dependency<unknown>[];
  /** Documented on every route, under the route's own (a route's entry for the same status wins). */
  readonly responses?: RouteSpec["responses"];
  /** Marks every route deprecated. */
  readonly deprecated?: boolean;
  /** Leaves every route out of the OpenAPI document. */
  readonly hidden?: boolean;
  /** Startup and shutdown for this router's resources; run with the app's, after it, when the router is included. */
  readonly lifespan?: Lifespan;
}

/** A route as a router holds it, before it reaches an app. */
export interface RouteEntry {
  readonly methods: readonly Method[];
  readonly path: string;
  readonly spec: RouteSpec;
  readonly handler: Handler<string, RouteSpec>;
}

/** A router's, include's or mount's prefix starts with "/" and does not end with one ("" for none). */
export function checkPrefix(prefix: string | undefined, what = "A router prefix"): void {
  if (prefix === undefined || prefix === "") return;
  if (!prefix.startsWith("/") || prefix.endsWith("/")) {
    throw new BriskError(
      "BRISK_INVALID_PATH",
      `${what} must start with "/" and must not end with one, got "${prefix}"`,
    );
  }
}

/** A route with a router's (or an include's) options applied: theirs first, the route's own after. */
function applyOptions(entry: RouteEntry, options: RouterOptions): RouteEntry {
  const { spec } = entry;
  const tags = [...new Set([...(options.tags ?? []), ...(spec.tags ?? [])])];
  const dependencies = [...(options.dependencies ?? []), ...(spec.dependencies ?? [])];
  const responses = { ...options.responses, ...spec.responses };
  return {
    methods: entry.methods,
    path: `${options.prefix ?? ""}${entry.path}`,
    handler: entry.handler,
    spec: {
      ...spec,
      ...(tags.length === 0 ? {} : { tags }),
      ...(dependencies.length === 0 ? {} : { dependencies }),
      ...(Object.keys(responses).length === 0 ? {} : { responses }),
      ...(options.deprecated === true ? { deprecated: true } : {}),
      ...(options.hidden === true ? { hidden: true } : {}),
    },
  };
}

/**
 * A group of routes with a common prefix, tags, dependencies and documented responses, for splitting an API into
 * modules: `app.include(router)`. Routers nest with `router.include(other)`. Including copies the routes, so add
 * them first: adding a route to a router that has been included is an error rather than a route that silently
 * never exists.
 *
 * @example
 * const items = new Router({ prefix: "/items", tags: ["items"] });
 * items.get("/{item_id}", { params: { item_id: z.coerce.number() } }, ({ params }) => find(params.item_id));
 * app.include(items);
 */
export class Router extends Routes {
  readonly settings: RouterOptions;
  readonly #entries: RouteEntry[] = [];
  readonly #lifespans: Lifespan[] = [];
  #included = false;

  constructor(options: RouterOptions = {}) {
    super();
    checkPrefix(options.prefix);
    this.settings = options;
  }

  route<const Path extends string, const Spec extends RouteSpec>(
    methods: readonly Method[],
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this {
    if (this.#included) {
      throw new BriskError(
        "BRISK_ROUTER_INCLUDED",
        `${methods.join(",")} ${path} is added to a router that was already included; add routes before including it`,
      );
    }
    if (path !== "" && !path.startsWith("/")) {
      throw new BriskError("BRISK_INVALID_PATH", `Route path "${path}" must start with "/"`);
    }
    this.#entries.push({ methods, path, spec, handler: handler as unknown as Handler<string, RouteSpec> });
    return this;
  }

  /** Adds another router's routes to this one, with `options` applied on top of that router's own. */
  include(router: Router, options: RouterOptions = {}): this {
    checkPrefix(options.prefix);
    for (const entry of Router.entriesOf(router, options)) {
      this.route(entry.methods, entry.path, entry.spec, entry.handler);
    }
    this.#lifespans.push(...Router.lifespansOf(router));
    return this;
  }

  /** The lifespans of a router and of the routers it includes, in order. */
  static lifespansOf(router: Router): Lifespan[] {
    const own = router.settings.lifespan;
    return own === undefined ? [...router.#lifespans] : [own, ...router.#lifespans];
  }

  /** A router's routes with its own options applied, then `outer`'s; the router takes no more routes after. */
  static entriesOf(router: Router, outer: RouterOptions = {}): RouteEntry[] {
    router.#included = true;
    return router.#entries.map((entry) => applyOptions(applyOptions(entry, router.settings), outer));
  }
}
