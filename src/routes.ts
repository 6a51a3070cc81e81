import type { Handler, RouteSpec } from "./route.ts";
import type { WebSocketHandler, WebSocketSpec } from "./websocket.ts";

/** The HTTP methods a route can be registered for with a verb method. */
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/**
 * How a WebSocket route travels through `route` (and a router's entries) among the HTTP ones; never a method a
 * request can have.
 */
export const WEBSOCKET = "WEBSOCKET";

/** The verb methods apps and routers share; each registers through `route`. */
export abstract class Routes {
  /** Registers a GET route; HEAD requests are answered by it too, without a body. */
  get<const Path extends string, const Spec extends RouteSpec>(
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this {
    return this.route(["GET"], path, spec, handler);
  }
  /** Registers a POST route. */
  post<const Path extends string, const Spec extends RouteSpec>(
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this {
    return this.route(["POST"], path, spec, handler);
  }
  /** Registers a PUT route. */
  put<const Path extends string, const Spec extends RouteSpec>(
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this {
    return this.route(["PUT"], path, spec, handler);
  }
  /** Registers a PATCH route. */
  patch<const Path extends string, const Spec extends RouteSpec>(
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this {
    return this.route(["PATCH"], path, spec, handler);
  }
  /** Registers a DELETE route. */
  delete<const Path extends string, const Spec extends RouteSpec>(
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this {
    return this.route(["DELETE"], path, spec, handler);
  }
  /** Registers an OPTIONS route. */
  options<const Path extends string, const Spec extends RouteSpec>(
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this {
    return this.route(["OPTIONS"], path, spec, handler);
  }

  /**
   * Registers a WebSocket route. The handshake's inputs (`params`, `query`, `headers`, `cookies`) and dependencies
   * are checked as for HTTP routes; the handler then owns the connection (`context.socket`) until it returns.
   *
   * @example
   * app.ws("/echo", { message: Message, send: Echo }, async ({ socket }) => {
   *   for await (const message of socket) await socket.send({ echo: message.text });
   * });
   */
  ws<const Path extends string, const Spec extends WebSocketSpec>(
    path: Path,
    spec: Spec,
    handler: WebSocketHandler<Path, Spec>,
  ): this {
    return this.route([WEBSOCKET as Method], path, spec as RouteSpec, handler as never);
  }

  /** Registers one route for several methods. */
  abstract route<const Path extends string, const Spec extends RouteSpec>(
    methods: readonly Method[],
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this;
}
