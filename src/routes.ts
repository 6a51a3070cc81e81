import type { Handler, RouteSpec } from "./route.ts";

/** The HTTP methods a route can be registered for with a verb method. */
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

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

  /** Registers one route for several methods. */
  abstract route<const Path extends string, const Spec extends RouteSpec>(
    methods: readonly Method[],
    path: Path,
    spec: Spec,
    handler: Handler<Path, Spec>,
  ): this;
}
