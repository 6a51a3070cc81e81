import type { App } from "./app.ts";
import { type CompiledRoute, internalRoute } from "./compile/plan.ts";
import type { Incoming, Outgoing } from "./exchange.ts";
import { StaticFiles } from "./static-files.ts";

const EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** Something a prefix can be mounted to: another brisk app, a static file directory, or any web-standard handler. */
export type Mountable = App | StaticFiles | ((request: Request) => Response | Promise<Response>);

/** The request as a mounted brisk app sees it: the path after the prefix, and the prefix added to the root path. */
class MountedIncoming implements Incoming {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly rootPath: string;
  readonly #outer: Incoming;
  constructor(outer: Incoming, path: string, rootPath: string) {
    this.#outer = outer;
    this.method = outer.method;
    this.path = path;
    this.search = outer.search;
    this.rootPath = rootPath;
  }
  header(name: string): string | undefined {
    return this.#outer.header(name);
  }
  headerNames(): Iterable<string> {
    return this.#outer.headerNames();
  }
  readBody(limit: number): Promise<Uint8Array> {
    return this.#outer.readBody(limit);
  }
  readBodyStream(limit: number): AsyncIterable<Uint8Array> {
    return this.#outer.readBodyStream(limit);
  }
  get signal(): AbortSignal {
    return this.#outer.signal;
  }
  abort(): void {
    this.#outer.abort();
  }
  toRequest(): Request {
    return this.#outer.toRequest();
  }
  afterResponse(task: () => void): void {
    this.#outer.afterResponse(task);
  }
}

/**
 * The path below a prefix, percent-encoded as received: "/" for the prefix itself. The prefix is matched on the
 * decoded path, so its segments are counted off the raw path rather than its characters (`/s%75b/x` under `/sub`).
 */
function below(path: string, rootPath: string, prefix: string): string {
  const segments = path.split("/");
  const rootDepth = rootPath === "" ? 0 : rootPath.split("/").length - 1;
  const prefixDepth = prefix.split("/").length - 1;
  // Behind a proxy that left the root path on, it comes first; the matcher routed without it.
  const underRoot = rootDepth > 0 && `/${segments.slice(1, 1 + rootDepth).join("/")}` === rootPath;
  return `/${segments.slice(1 + prefixDepth + (underRoot ? rootDepth : 0)).join("/")}`;
}

/** The two routes of a mount: the prefix itself and everything under it, for every method. */
export function mountRoutes(prefix: string, target: Mountable, defaultRoot: string): CompiledRoute[] {
  const run = (incoming: Incoming): Outgoing | Promise<Outgoing> => {
    const root = incoming.rootPath ?? defaultRoot;
    let rest = below(incoming.path, root, prefix);
    // A directory is reached with its trailing slash: static files see the bare prefix as such, to redirect it.
    if (target instanceof StaticFiles && rest === "/" && !incoming.path.endsWith("/")) rest = "";
    if (typeof target !== "function") {
      return target.handle(new MountedIncoming(incoming, rest, `${root}${prefix}`));
    }
    const original = incoming.toRequest();
    const url = new URL(original.url);
    url.pathname = rest;
    return target(new Request(url, original));
  };
  return [prefix, `${prefix}/{path:path}`].map((path) => internalRoute(EVERY_METHOD, path, run));
}
