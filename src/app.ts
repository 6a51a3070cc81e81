import { fromWebRequest } from "./adapters/fetch.ts";
import { type CompiledRoute, compileRoute, type RouteDefinition, type RouteOptions } from "./compile/plan.ts";
import { type CompiledWebSocketRoute, compileWebSocketRoute } from "./compile/websocket.ts";
import type { Dependency, DependencyOverrides } from "./dependency.ts";
import { docsRoutes } from "./docs/routes.ts";
import { BriskError, HTTPException } from "./errors.ts";
import { type Incoming, type Outgoing, toWebResponse } from "./exchange.ts";
import { createDispatcher, type ExceptionHandler, withoutRoot } from "./handle.ts";
import { Deadlines } from "./internal/deadlines.ts";
import { BAD_HOST_DETAIL, isValidHost } from "./internal/host.ts";
import { decodePath } from "./internal/percent.ts";
import { type Lifespan, LifespanRunner, type State } from "./lifespan.ts";
import { type Limits, type ResolvedLimits, resolveLimits } from "./limits.ts";
import { type AppLogger, consoleLogger, guardLogger, type Logger } from "./logger.ts";
import { Matcher } from "./matcher.ts";
import { type Middleware, streamedByRoute, withMiddleware } from "./middleware.ts";
import { type Mountable, mountRoutes } from "./mount.ts";
import { buildOpenApi, type OpenApiDocument, type OpenApiInfo } from "./openapi/document.ts";
import { compilePath } from "./path.ts";
import type { Handler, RouteSpec } from "./route.ts";
import { checkPrefix, Router, type RouterOptions } from "./router.ts";
import { type Method, Routes, WEBSOCKET } from "./routes.ts";
import { StaticFiles } from "./static-files.ts";
import type { AcceptOptions, SocketPort } from "./websocket.ts";

/** Options of an {@link App}. */
export interface AppOptions {
  /**
   * The API's title, shown in the OpenAPI document.
   * @default "brisk"
   */
  readonly title?: string;
  /**
   * The API's version, shown in the OpenAPI document.
   * @default "0.1.0"
   */
  readonly version?: string;
  readonly summary?: string;
  /** The API's description (Markdown), shown in the OpenAPI document and the docs pages. */
  readonly description?: string;
  readonly termsOfService?: string;
  readonly contact?: OpenApiInfo["contact"];
  readonly license?: OpenApiInfo["license"];
  /** Descriptions of the tags routes use, in the order the docs should show them. */
  readonly tags?: OpenApiInfo["tags"];
  /** The document's `servers`; at request time the root path is put first (see `rootPath`). */
  readonly servers?: OpenApiInfo["servers"];
  readonly externalDocs?: OpenApiInfo["externalDocs"];
  /**
   * Where the OpenAPI document is served; `null` turns off the document and both docs pages.
   * @default "/openapi.json"
   */
  readonly openapiUrl?: string | null;
  /**
   * Where Swagger UI is served (its assets under this path); `null` turns it off.
   * @default "/docs"
   */
  readonly docsUrl?: string | null;
  /**
   * Where ReDoc is served (its assets under this path); `null` turns it off.
   * @default "/redoc"
   */
  readonly redocUrl?: string | null;
  /**
   * The page Swagger UI's OAuth2 flows return to; `null` turns it off.
   * @default "/docs/oauth2-redirect"
   */
  readonly swaggerUiOauth2RedirectUrl?: string | null;
  /** Swagger UI configuration merged over brisk's defaults (FastAPI's `swagger_ui_parameters`); JSON values only. */
  readonly swaggerUiParameters?: Readonly<Record<string, unknown>>;
  /** Passed to Swagger UI's `initOAuth` (e.g. `{ clientId, usePkceWithAuthorizationCodeGrant }`). */
  readonly swaggerUiInitOAuth?: Readonly<Record<string, unknown>>;
  /**
   * The path prefix under which clients reach the app, when a proxy serves it there (e.g. "/content/abc").
   * Requests are routed with or without it; the docs and the document's `servers` use it. The Node server's
   * `rootPath` option (`brisk serve --root-path`) and a trusted `X-Forwarded-Prefix` take precedence.
   */
  readonly rootPath?: string;
  /**
   * Largest accepted request body in bytes, counted as received; routes may override it.
   * @default 1048576
   */
  readonly bodyLimit?: number;
  /**
   * Largest incoming WebSocket message in bytes; routes may override it. A longer one closes its connection with
   * 1009 as soon as its declared length passes the limit.
   * @default bodyLimit (1 MiB unless set)
   */
  readonly messageLimit?: number;
  /**
   * Accept request bodies compressed with gzip, deflate or br (`Content-Encoding`), decoded as they arrive. The
   * decoded bytes are held to the body limit and to `limits.compressionRatio` times the bytes received. Off by
   * default: any `Content-Encoding` but `identity` is then 415.
   * @default false
   */
  readonly decompressRequests?: boolean;
  /** What the server accepts besides the body: URL and header sizes, timeouts, connections (see {@link Limits}). */
  readonly limits?: Limits;
  /** Where errors and server messages go. Defaults to standard error. */
  readonly logger?: Logger;
  /**
   * Startup and shutdown: `async function* (app) { ...startup; yield state; ...shutdown }`. The state reaches
   * handlers and dependencies as `state` (typed through the {@link State} interface); a failing startup stops the
   * server from starting.
   */
  readonly lifespan?: Lifespan;
  /** Dependencies run for their effect before every route (FastAPI's app-level `dependencies`). */
  readonly dependencies?: readonly Dependency<unknown>[];
}

type ErrorClass = abstract new (...args: never[]) => Error;

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const EMPTY_STATE: State = Object.freeze({}) as State;

/**
 * A brisk application: routes declared with schemas, exception handlers, and the `fetch` entry every adapter
 * calls. Routes are compiled once, on the first request (or by {@link App.compile} at startup).
 *
 * @example
 * const app = new App({ title: "Greetings" });
 * app.get("/greetings/{lang}", { response: Greeting }, ({ params }) => find(params.lang));
 */
export class App extends Routes {
  readonly settings: Readonly<AppOptions>;
  /** The server limits, defaults applied. */
  readonly limits: ResolvedLimits;
  readonly logger: AppLogger;
  /**
   * Replacements for dependencies, consulted on every request: `app.overrides.set(db, fakeDb)` in a test, and
   * `app.overrides.clear()` after it.
   */
  readonly overrides: DependencyOverrides = new Map();
  readonly #lifespan = new LifespanRunner();
  readonly #routes: CompiledRoute[] = [];
  readonly #sockets: CompiledWebSocketRoute[] = [];
  #socketMatcher: Matcher<CompiledWebSocketRoute> | undefined;
  #renderError: ((error: unknown, incoming: Incoming) => Outgoing | Promise<Outgoing>) | undefined;
  readonly #byClass = new Map<ErrorClass, ExceptionHandler<never>>();
  readonly #byStatus = new Map<number, ExceptionHandler<never>>();
  readonly #middleware: Middleware[] = [];
  readonly #mounts: { readonly prefix: string; readonly target: Mountable; readonly before: number }[] = [];
  #dispatch: ((incoming: Incoming) => Outgoing | Promise<Outgoing>) | undefined;
  readonly #deadlines: Deadlines;
  #document: OpenApiDocument | undefined;

  constructor(options: AppOptions = {}) {
    super();
    const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    for (const [key, value] of [
      ["bodyLimit", bodyLimit],
      ["messageLimit", options.messageLimit ?? bodyLimit],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new BriskError("BRISK_INVALID_OPTION", `${key} must be a whole number of bytes, got ${value}`);
      }
    }
    for (const key of [
      "openapiUrl",
      "docsUrl",
      "redocUrl",
      "swaggerUiOauth2RedirectUrl",
      "rootPath",
    ] as const) {
      const value = options[key];
      if (value !== undefined && value !== null && (!value.startsWith("/") || /[?#\s]/.test(value))) {
        throw new BriskError(
          "BRISK_INVALID_OPTION",
          `${key} must be a path starting with "/" (without query, fragment or spaces), got ${JSON.stringify(value)}`,
        );
      }
    }
    this.limits = resolveLimits(options.limits);
    this.#deadlines = new Deadlines(this.limits.handlerTimeout);
    const rootPath = options.rootPath?.replace(/\/+$/, "");
    this.settings = { ...options, bodyLimit, ...(rootPath === undefined ? {} : { rootPath }) };
    if (options.lifespan !== undefined) this.#lifespan.add(options.lifespan);
    this.logger = guardLogger(options.logger ?? consoleLogger);
  }

  /** Registers one route for several methods. Earlier routes win where paths overlap, as in FastAPI. */
  route<const Path extends string, const Spec extends RouteSpec>(
    methods: readonly Method[],
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this {
    if (typeof handler !== "function") {
      throw new BriskError(
        "BRISK_INVALID_HANDLER",
        `The handler of ${methods.join(",")} ${path} is not a function`,
      );
    }
    const template = compilePath(path);
    if (methods.includes(WEBSOCKET as Method)) {
      if (this.#sockets.some((route) => route.path.template === template.template)) {
        throw new BriskError("BRISK_DUPLICATE_ROUTE", `WEBSOCKET ${path} is registered twice`);
      }
      this.#sockets.push(compileWebSocketRoute(template, spec, handler, this.#routeOptions()));
      this.#socketMatcher = undefined;
      return this;
    }
    const all: string[] = [...methods];
    if (all.includes("GET") && !all.includes("HEAD")) all.push("HEAD");
    for (const { definition: existing } of this.#routes) {
      const clash = existing.methods.find((method) => all.includes(method));
      if (clash !== undefined && existing.path.template === template.template) {
        throw new BriskError("BRISK_DUPLICATE_ROUTE", `${clash} ${path} is registered twice`);
      }
    }
    // Compiled now, so that a bad schema fails at registration, where its stack points at the user's code.
    const definition: RouteDefinition = { methods: all, path: template, spec, handler: handler as never };
    this.#routes.push(compileRoute(definition, this.#routeOptions()));
    this.#dispatch = undefined;
    this.#document = undefined;
    return this;
  }

  #routeOptions(): RouteOptions {
    return {
      bodyLimit: this.settings.bodyLimit ?? DEFAULT_BODY_LIMIT,
      messageLimit: this.settings.messageLimit ?? this.settings.bodyLimit ?? DEFAULT_BODY_LIMIT,
      limits: this.limits,
      deadlines: this.#deadlines,
      decompressRequests: this.settings.decompressRequests ?? false,
      logger: this.logger,
      overrides: this.overrides,
      dependencies: this.settings.dependencies ?? [],
      state: () => this.#currentState(),
    };
  }

  /**
   * Adds a router's routes, with `options` (a prefix, tags, dependencies, responses) applied on top of the router's
   * own. Route paths and operationIds stay unique across routers.
   */
  include(router: Router, options: RouterOptions = {}): this {
    checkPrefix(options.prefix, "An include prefix");
    for (const entry of Router.entriesOf(router, options)) {
      this.route(entry.methods, entry.path, entry.spec, entry.handler);
    }
    for (const lifespan of Router.lifespansOf(router)) this.#lifespan.add(lifespan);
    return this;
  }

  /**
   * Serves another app, a directory of files ({@link staticFiles}), or any web-standard handler
   * (`(request) => Response`, such as a Hono app's `fetch`), under `prefix`: it sees the path with the prefix
   * stripped. A mounted brisk app keeps its own docs and document, with
   * the prefix as its root path; its routes are not in this app's document.
   */
  mount(prefix: string, target: Mountable): this {
    if (!prefix.startsWith("/") || prefix.endsWith("/") || /[{}]|\/:/.test(prefix)) {
      throw new BriskError(
        "BRISK_INVALID_PATH",
        `A mount prefix must start with "/", must not end with one and takes no parameters, got "${prefix}"`,
      );
    }
    if (!isApp(target) && !(target instanceof StaticFiles) && typeof target !== "function") {
      throw new BriskError(
        "BRISK_INVALID_HANDLER",
        `mount("${prefix}") needs an App, staticFiles(...) or a fetch handler`,
      );
    }
    // Where it stands among the routes: earlier registrations win, mounts included.
    this.#mounts.push({ prefix, target, before: this.#routes.length });
    this.#dispatch = undefined;
    return this;
  }

  /**
   * Maps errors of a class (and its subclasses), or {@link HTTPException}s of a status, to a response.
   * Replaces brisk's default for that class or status: e.g. `RequestValidationError` to answer 400 instead of 422.
   */
  exceptionHandler<E extends Error>(
    key: (abstract new (...args: never[]) => E) | number,
    handler: ExceptionHandler<E>,
  ): this {
    if (typeof key === "number") this.#byStatus.set(key, handler as ExceptionHandler<never>);
    else this.#byClass.set(key, handler as ExceptionHandler<never>);
    this.#dispatch = undefined;
    return this;
  }

  /**
   * Adds a middleware around every request, routes and docs alike; the first added is the outermost. Errors from
   * the routes reach it as responses (a 500 included), so its headers reach error responses too; an error thrown
   * by a middleware itself goes to the exception handlers.
   */
  use(middleware: Middleware): this {
    if (typeof middleware !== "function") {
      throw new BriskError(
        "BRISK_INVALID_HANDLER",
        "A middleware must be a function (context, next) => Response",
      );
    }
    this.#middleware.push(middleware);
    this.#dispatch = undefined;
    return this;
  }

  /**
   * Runs the lifespans (the app's, then included routers' in order) up to their `yield`; `listen` and `brisk serve`
   * call it before accepting requests, tests call it themselves (or use `testClient`). Idempotent.
   */
  async start(): Promise<State> {
    this.compile();
    return this.#lifespan.start(this);
  }

  /** Runs the lifespans' shutdown code, the last started first. */
  stop(): Promise<void> {
    return this.#lifespan.stop();
  }

  #currentState(): State {
    const state = this.#lifespan.state;
    if (state !== undefined) return state;
    if (!this.#lifespan.defined) return EMPTY_STATE;
    throw new BriskError(
      "BRISK_NOT_STARTED",
      "The app's lifespan has not run, so there is no state: await app.start() first (listen and brisk serve do)",
    );
  }

  /** Compiles every route now, so that configuration mistakes surface at startup rather than on a request. */
  compile(): void {
    this.#dispatcher();
  }

  /**
   * The OpenAPI 3.1 document of the routes, built once and cached until a route is added. The root path is not in
   * it: `GET /openapi.json` adds it to `servers` per request.
   */
  openapi(): OpenApiDocument {
    this.#document ??= buildOpenApi(
      this.routes,
      { ...this.settings, title: this.settings.title ?? "brisk", version: this.settings.version ?? "0.1.0" },
      this.settings.dependencies,
    );
    return this.#document;
  }

  /** The registered routes, in registration order. */
  get routes(): readonly RouteDefinition[] {
    return this.#routes.map((route) => route.definition);
  }

  /**
   * The web-standard handler: `Request` in, `Response` out. Used by tests, by other runtimes (Bun, Deno,
   * workers) and by `app.mount` in other apps. Bound, so it can be passed around on its own.
   */
  readonly fetch = async (request: Request): Promise<Response> => {
    // A runtime that serves `fetch` (Bun, Deno) passes the client's Host through, as Node does: it is checked here.
    const host = request.headers.get("host");
    if (host !== null && !isValidHost(host)) {
      return Response.json({ detail: BAD_HOST_DETAIL }, { status: 400 });
    }
    const incoming = fromWebRequest(request);
    const outgoing = await this.#dispatcher()(incoming);
    // With middleware every answer is a web Response: whether the route streamed is recorded on the way out.
    const streamed =
      outgoing instanceof Response && (this.#middleware.length === 0 || streamedByRoute.has(incoming));
    return incoming.settle(toWebResponse(outgoing, request.method === "HEAD"), streamed);
  };

  /**
   * Handles a request given in brisk's adapter-neutral shape; for adapters. Never throws or rejects: every error
   * becomes a response. Synchronous when nothing in the route is asynchronous.
   */
  handle(incoming: Incoming): Outgoing | Promise<Outgoing> {
    return this.#dispatcher()(incoming);
  }

  /**
   * Answers a WebSocket handshake given in brisk's adapter-neutral shape; for adapters. `accept` completes the
   * handshake. Resolves with the HTTP response that refuses it (no such route, a failed dependency), or with
   * undefined once an accepted connection's handler is done. Never rejects.
   */
  async upgrade(
    incoming: Incoming,
    accept: (options: AcceptOptions) => Promise<SocketPort>,
  ): Promise<Outgoing | undefined> {
    this.#dispatcher();
    const renderError = this.#renderError!;
    try {
      if (this.#socketMatcher === undefined) {
        const matcher = new Matcher<CompiledWebSocketRoute>();
        for (const route of this.#sockets) matcher.add(["GET"], route.path, route);
        this.#socketMatcher = matcher;
      }
      const root = incoming.rootPath ?? this.settings.rootPath ?? "";
      const match = this.#socketMatcher.match("GET", decodePath(withoutRoot(incoming.path, root)));
      if (match.kind !== "found") return await renderError(new HTTPException(404), incoming);
      return await match.value.run(incoming, match.params, accept, renderError);
    } catch (error) {
      return renderError(error, incoming);
    }
  }

  #dispatcher(): (incoming: Incoming) => Outgoing | Promise<Outgoing> {
    if (this.#dispatch !== undefined) return this.#dispatch;
    const matcher = new Matcher<CompiledRoute>();
    const add = (route: CompiledRoute) => matcher.add(route.definition.methods, route.definition.path, route);
    const root = this.settings.rootPath ?? "";
    this.#routes.forEach((route, index) => {
      for (const mount of this.#mounts) {
        if (mount.before === index)
          for (const each of mountRoutes(mount.prefix, mount.target, root)) add(each);
      }
      add(route);
    });
    for (const mount of this.#mounts) {
      if (mount.before >= this.#routes.length)
        for (const each of mountRoutes(mount.prefix, mount.target, root)) add(each);
    }
    if (this.settings.openapiUrl !== null) {
      // Built now, so that a schema the document cannot hold fails at startup rather than on the first visit.
      this.openapi();
      for (const route of docsRoutes(this.settings, () => this.openapi())) {
        matcher.add(route.definition.methods, route.definition.path, route);
      }
    }
    const { dispatch, renderError } = createDispatcher(
      matcher,
      { byClass: this.#byClass, byStatus: this.#byStatus },
      this.logger,
      this.settings.rootPath ?? "",
    );
    this.#renderError = renderError;
    const layered = withMiddleware(this.#middleware, dispatch);
    this.#dispatch =
      layered === dispatch
        ? dispatch
        : (incoming) => {
            try {
              const outgoing = layered(incoming);
              return outgoing instanceof Promise
                ? outgoing.catch((error: unknown) => renderError(error, incoming))
                : outgoing;
            } catch (error) {
              return renderError(error, incoming);
            }
          };
    return this.#dispatch;
  }
}

/** True for an {@link App}, also one from another copy of brisk. */
export function isApp(value: unknown): value is App {
  return (
    value instanceof App ||
    (typeof value === "object" &&
      value !== null &&
      typeof (value as App).handle === "function" &&
      typeof (value as App).fetch === "function" &&
      Array.isArray((value as App).routes))
  );
}
