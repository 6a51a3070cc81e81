import { type Incoming, type Outgoing, toWebResponse } from "./exchange.ts";

/** What a middleware sees of the request. */
export interface MiddlewareContext {
  /**
   * The request as a web `Request`. Its body is a copy (a tee of the original), so a middleware that reads it
   * leaves the body whole for the route: reading the body in middleware neither hangs nor empties it.
   */
  readonly request: Request;
}

/** Calls the rest of the onion: the next middleware, or the route. */
export type Next = () => Promise<Response>;

/**
 * A layer of the onion around every request: it may answer at once, or call `next()` and return (or change) the
 * response the inner layers made. Errors the inner layers throw are already responses by then (a 500 included),
 * so a middleware's headers reach error responses too.
 */
export type Middleware = (context: MiddlewareContext, next: Next) => Response | Promise<Response>;

/**
 * Requests whose route answered with a streamed body of its own (a web `Response`), as opposed to one brisk built
 * in memory; `app.fetch` reads it to know when the response counts as sent, since middleware hands back web
 * responses either way.
 */
export const streamedByRoute: WeakSet<Incoming> = new WeakSet();

class OnionContext implements MiddlewareContext {
  readonly #incoming: Incoming;
  #request: Request | undefined;
  constructor(incoming: Incoming) {
    this.#incoming = incoming;
  }
  get request(): Request {
    if (this.#request !== undefined) return this.#request;
    const original = this.#incoming.toRequest();
    this.#request = original.body === null ? original : original.clone();
    return this.#request;
  }
}

/**
 * Wraps a dispatcher in middleware, the first added outermost (Hono's and Koa's order; Starlette's is the
 * reverse, which surprises). Without middleware the dispatcher is returned as is: no cost per request.
 */
export function withMiddleware(
  middleware: readonly Middleware[],
  dispatch: (incoming: Incoming) => Outgoing | Promise<Outgoing>,
): (incoming: Incoming) => Outgoing | Promise<Outgoing> {
  if (middleware.length === 0) return dispatch;
  const layers = [...middleware];
  return async (incoming) => {
    const context = new OnionContext(incoming);
    const head = incoming.method === "HEAD";
    let reached = -1;
    const call = async (index: number): Promise<Response> => {
      if (index <= reached) throw new Error("a middleware called next() twice");
      reached = index;
      const layer = layers[index];
      if (layer === undefined) {
        const outgoing = await dispatch(incoming);
        if (outgoing instanceof Response && outgoing.body !== null) streamedByRoute.add(incoming);
        return toWebResponse(outgoing, head);
      }
      return layer(context, () => call(index + 1));
    };
    return call(0);
  };
}
