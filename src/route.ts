import type { Dependency, DependencyMap, DependencyValues } from "./dependency.ts";
import type { State } from "./lifespan.ts";
import type { PathParams } from "./path.ts";
import type { Reply } from "./responses.ts";
import type { StandardSchemaV1 } from "./schema/standard.ts";
import type { ServerSentEvent, StreamSource } from "./streaming.ts";

/** A map of field names to schemas, the short way to declare `params`, `query`, `headers` or `cookies`. */
export type SchemaShape = { readonly [name: string]: StandardSchemaV1 };

/** A parameter source: one object schema for all fields, or a {@link SchemaShape} of one schema per field. */
export type ParamSchema = StandardSchemaV1 | SchemaShape;

/** A documented extra response (`responses` in the spec), by status code or `"4XX"` / `"default"`. */
export interface ResponseDoc {
  readonly description?: string;
  readonly schema?: StandardSchemaV1;
}

/**
 * Everything a route declares besides its path and handler. Every key is optional; verb methods share this one
 * interface, so each option is documented once, here.
 */
export interface RouteSpec {
  /** Path parameters; without it, each `{name}` of the path is a `string` (`{id:int}`: a `number`). */
  readonly params?: ParamSchema;
  /** Query parameters; text is coerced to the schema's type, repeated keys fill arrays. */
  readonly query?: ParamSchema;
  /** Request headers, looked up case-insensitively; `user_agent` reads `user-agent`. */
  readonly headers?: ParamSchema;
  /** Cookies, by exact name. */
  readonly cookies?: ParamSchema;
  /** The JSON body (`application/json` or `application/*+json`). */
  readonly body?: StandardSchemaV1;
  /** The success body: validates and filters what the handler returns, and drives serialization. */
  readonly response?: StandardSchemaV1;
  /**
   * Streams the response as JSON Lines (`application/jsonl`): the handler returns an iterable (an async generator,
   * say) and each item is validated by this schema and sent as one line.
   */
  readonly stream?: StandardSchemaV1;
  /**
   * Streams the response as Server-Sent Events (`text/event-stream`): the handler returns an iterable of data
   * (validated by this schema) or of {@link ServerSentEvent}s.
   */
  readonly sse?: StandardSchemaV1;
  /**
   * Milliseconds between keep-alive comments on an idle `sse` stream.
   * @default 15000
   */
  readonly pingInterval?: number;
  /** Extra documented responses. */
  readonly responses?: { readonly [status: string]: ResponseDoc };
  /**
   * Success status.
   * @default 200
   */
  readonly status?: number;
  /**
   * Largest accepted request body in bytes, counted as received; overrides the app's `bodyLimit`.
   * @default 1048576
   */
  readonly bodyLimit?: number;
  readonly tags?: readonly string[];
  readonly summary?: string;
  readonly description?: string;
  readonly deprecated?: boolean;
  readonly operationId?: string;
  /** Served, but left out of the OpenAPI document. */
  readonly hidden?: boolean;
  /** Dependencies whose values the handler receives in its context, by these names. */
  readonly deps?: DependencyMap;
  /** Dependencies run for their effect (an auth check, a rate limit) before `deps`; their values are dropped. */
  readonly dependencies?: readonly Dependency<unknown>[];
}

type Out<Schema> = Schema extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<Schema> : never;

/** A shape's output, with fields whose schema may produce `undefined` optional, as `z.object` types them. */
type ShapeOutput<Shape extends SchemaShape> = {
  -readonly [K in keyof Shape as undefined extends Out<Shape[K]> ? never : K]: Out<Shape[K]>;
} & {
  -readonly [K in keyof Shape as undefined extends Out<Shape[K]> ? K : never]?: Out<Shape[K]>;
};

/** The validated, typed value of a parameter source. */
export type SourceOutput<Source> = Source extends StandardSchemaV1
  ? StandardSchemaV1.InferOutput<Source>
  : Source extends SchemaShape
    ? { [K in keyof ShapeOutput<Source>]: ShapeOutput<Source>[K] }
    : Record<never, never>;

type Field<Spec, Key extends string, Fallback> = Spec extends { readonly [K in Key]: infer Source }
  ? SourceOutput<Source>
  : Fallback;

/** Response status, headers and cookies a handler sets without building a `Response`. */
export interface ResponseControl {
  /** Overrides the route's success status. */
  status: number | undefined;
  readonly headers: Headers;
  /** Adds a `Set-Cookie` header. */
  setCookie(name: string, value: string, options?: CookieOptions): void;
  /** Expires a cookie. */
  deleteCookie(name: string, options?: Pick<CookieOptions, "path" | "domain">): void;
}

/** `Set-Cookie` attributes. */
export interface CookieOptions {
  readonly maxAge?: number;
  readonly expires?: Date;
  /** @default "/" */
  readonly path?: string;
  readonly domain?: string;
  readonly secure?: boolean;
  /** @default true */
  readonly httpOnly?: boolean;
  /** @default "lax" */
  readonly sameSite?: "strict" | "lax" | "none";
}

/**
 * What handlers and dependencies both receive: their declared inputs, validated and typed (`params` falls back to
 * `Params` when none are declared), and the request's shared parts.
 */
export interface InputContext<Spec, Params> {
  readonly params: Field<Spec, "params", Params>;
  readonly query: Field<Spec, "query", Record<never, never>>;
  readonly headers: Field<Spec, "headers", Record<never, never>>;
  readonly cookies: Field<Spec, "cookies", Record<never, never>>;
  readonly body: Spec extends { readonly body: infer Body extends StandardSchemaV1 }
    ? StandardSchemaV1.InferOutput<Body>
    : undefined;
  /** The web-standard request, built on first access (the Node adapter builds none otherwise). */
  readonly request: Request;
  /** Status, headers and cookies for the success response. */
  readonly response: ResponseControl;
  /** Runs `task` after the response has been sent, in the order added; a failing task is logged. */
  background(task: () => unknown): void;
  /** What the app's lifespan yielded (see {@link State}). */
  readonly state: State;
  /**
   * Aborted when the client goes away before the response is complete: a long-running handler or stream can stop
   * waiting for work nobody will read.
   */
  readonly signal: AbortSignal;
}

/** What a handler receives: every input validated and typed from the route's path and spec. */
export interface Context<Path extends string, Spec extends RouteSpec>
  extends InputContext<Spec, PathParams<Path>> {
  /**
   * The `Last-Event-ID` header a reconnecting `EventSource` sends: the id of the last event it received. Meant for
   * `sse` routes, to resume where the client left off.
   */
  readonly lastEventId: string | undefined;
}

/** The values of a route's `deps`, by name. */
export type DepsOf<Spec> = Spec extends { readonly deps: infer Deps } ? DependencyValues<Deps> : unknown;

type In<Schema> = StandardSchemaV1.InferInput<Schema & StandardSchemaV1>;

/**
 * What a handler may return: data for the `response` schema (or any JSON value); for a `stream` or `sse` route, an
 * iterable of its items; or a helper result or a `Response`.
 */
export type HandlerResult<Spec extends RouteSpec> =
  | (Spec extends { readonly stream: infer Item }
      ? StreamSource<In<Item>>
      : Spec extends { readonly sse: infer Item }
        ? StreamSource<In<Item> | ServerSentEvent<In<Item>>>
        : Spec extends { readonly response: infer Out }
          ? In<Out>
          : unknown)
  | Reply
  | Response;

/** A route handler; may be async. */
export type Handler<Path extends string, Spec extends RouteSpec> = (
  context: Context<Path, Spec> & DepsOf<Spec>,
) => HandlerResult<Spec> | PromiseLike<HandlerResult<Spec>>;
