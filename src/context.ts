import type { Incoming } from "./exchange.ts";
import type { State } from "./lifespan.ts";
import { serializeCookie } from "./responses.ts";
import type { CookieOptions, ResponseControl } from "./route.ts";

/** Status, headers and cookies a handler sets for its success response; created only when a handler asks. */
class ResponseState implements ResponseControl {
  status: number | undefined = undefined;
  readonly headers: Headers = new Headers();

  setCookie(name: string, value: string, options?: CookieOptions): void {
    this.headers.append("set-cookie", serializeCookie(name, value, options));
  }

  deleteCookie(name: string, options: Pick<CookieOptions, "path" | "domain"> = {}): void {
    this.headers.append(
      "set-cookie",
      serializeCookie(name, "", { ...options, maxAge: 0, expires: new Date(0) }),
    );
  }
}

/**
 * The context a handler receives. Inputs are filled in by the route's plan; `request` and `response` are built
 * on first access, so a handler that uses neither costs neither.
 */
export class RequestContext {
  params: unknown = undefined;
  query: unknown = undefined;
  headers: unknown = undefined;
  cookies: unknown = undefined;
  body: unknown = undefined;
  readonly #incoming: Incoming;
  readonly #state: () => State;
  #response: ResponseState | undefined;
  #tasks: (() => unknown)[] | undefined;
  #background: ((task: () => unknown) => void) | undefined;

  constructor(incoming: Incoming, state: () => State) {
    this.#incoming = incoming;
    this.#state = state;
  }

  /** What the app's lifespan yielded. */
  get state(): State {
    return this.#state();
  }

  get request(): Request {
    return this.#incoming.toRequest();
  }

  /** Aborted when the client goes away before the response is complete. */
  get signal(): AbortSignal {
    return this.#incoming.signal;
  }

  /** The `Last-Event-ID` a reconnecting event stream client sends. */
  get lastEventId(): string | undefined {
    return this.#incoming.header("last-event-id");
  }

  get response(): ResponseControl {
    return (this.#response ??= new ResponseState());
  }

  /**
   * Runs a task after the response has been sent (FastAPI's background tasks); tasks run one after another. A
   * function of its own, made on first access, so that `({ background }) => ...` works.
   */
  get background(): (task: () => unknown) => void {
    this.#background ??= (task) => {
      if (typeof task !== "function") throw new TypeError("background() takes a function");
      (this.#tasks ??= []).push(task);
    };
    return this.#background;
  }

  /** The background tasks added so far, if any. */
  static tasksOf(context: RequestContext): readonly (() => unknown)[] | undefined {
    return context.#tasks;
  }

  /** What the handler set through `response`, if it touched it. */
  static responseOf(context: RequestContext): ResponseControl | undefined {
    return context.#response;
  }
}
