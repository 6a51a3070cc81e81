// brisk/testing: requests to an app in-process, through `app.fetch`, with its lifespan and dependency overrides.
import { fromWebRequest } from "./adapters/fetch.ts";
import type { App } from "./app.ts";
import type { Dependency } from "./dependency.ts";
import { toWebResponse } from "./exchange.ts";
import type { BodyInit } from "./internal/web-types.ts";
import type { PathParams } from "./path.ts";
import { CLOSE, type CloseInfo, type SocketPort } from "./websocket.ts";

type Scalar = string | number | boolean;

/** What a test request may carry. */
export interface TestRequestOptions<Path extends string = string> {
  /** Values for the path's `{name}` parameters, percent-encoded into it. */
  readonly params?: string extends Path
    ? Readonly<Record<string, Scalar>>
    : { readonly [K in keyof PathParams<Path>]: Scalar };
  /** Query parameters; an array repeats the key. */
  readonly query?: Readonly<Record<string, Scalar | readonly Scalar[] | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: Readonly<Record<string, string>>;
  /** A JSON body (sets `content-type: application/json`). */
  readonly json?: unknown;
  /** A URL-encoded form body; an array repeats the field. */
  readonly form?: Readonly<Record<string, Scalar | readonly Scalar[] | undefined>>;
  /** Any other body, sent as is. */
  readonly body?: BodyInit;
}

/** A replacement for a dependency during a test. */
export type Override = readonly [Dependency<unknown>, Dependency<unknown> | ((context: never) => unknown)];

/** Options of {@link testClient}. */
export interface TestClientOptions {
  /** @default "http://testserver" */
  readonly baseUrl?: string;
  /** Sent with every request (a request's own headers win). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Dependency overrides, set now and removed by `stop()`. */
  readonly overrides?: Iterable<Override>;
}

type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** Sends requests to an app in-process. */
export interface TestClient {
  readonly app: App;
  request<Path extends string>(
    method: Method,
    path: Path,
    options?: TestRequestOptions<Path>,
  ): Promise<Response>;
  get<Path extends string>(path: Path, options?: TestRequestOptions<Path>): Promise<Response>;
  head<Path extends string>(path: Path, options?: TestRequestOptions<Path>): Promise<Response>;
  post<Path extends string>(path: Path, options?: TestRequestOptions<Path>): Promise<Response>;
  put<Path extends string>(path: Path, options?: TestRequestOptions<Path>): Promise<Response>;
  patch<Path extends string>(path: Path, options?: TestRequestOptions<Path>): Promise<Response>;
  delete<Path extends string>(path: Path, options?: TestRequestOptions<Path>): Promise<Response>;
  options<Path extends string>(path: Path, options?: TestRequestOptions<Path>): Promise<Response>;
  /**
   * Opens a WebSocket to one of the app's `ws` routes, in-process. Rejects with {@link WebSocketRefused} (holding
   * the HTTP response) when the app refuses the handshake: no such route, a failed dependency.
   */
  websocket<Path extends string>(
    path: Path,
    options?: Omit<TestRequestOptions<Path>, "json" | "form" | "body">,
  ): Promise<TestWebSocket>;
  /** Runs the app's lifespan startup; resolves to the client, for `await using client = await testClient(app).start()`. */
  start(): Promise<TestClient>;
  /** Runs the lifespan shutdown and removes the overrides this client set. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|(?<=\/):([A-Za-z_][A-Za-z0-9_]*)(?=\/|$)/g;

function fillPath(path: string, params: Readonly<Record<string, Scalar>> | undefined): string {
  return path.replace(PARAM, (_whole, braced: string | undefined, colon: string | undefined) => {
    const name = (braced ?? colon)!;
    const value = params?.[name];
    if (value === undefined)
      throw new TypeError(`testClient: no value for the path parameter "${name}" of ${path}`);
    return encodeURIComponent(String(value));
  });
}

function appendAll(target: URLSearchParams, values: TestRequestOptions["query"]): void {
  for (const [key, value] of Object.entries(values ?? {})) {
    if (value === undefined) continue;
    for (const each of Array.isArray(value) ? value : [value]) target.append(key, String(each));
  }
}

/**
 * A client for tests: `await client.get("/items/{item_id}", { params: { item_id: 1 } })` sends the request through
 * `app.fetch` and resolves to the web `Response`. Redirects are returned, not followed.
 *
 * @example
 * await using client = await testClient(app, { overrides: [[db, fakeDb]] }).start();
 * const response = await client.post("/items", { json: { name: "Widget", price: 9.99 } });
 * assert.equal(response.status, 201);
 */
export function testClient(app: App, options: TestClientOptions = {}): TestClient {
  const baseUrl = (options.baseUrl ?? "http://testserver").replace(/\/+$/, "");
  const previous = new Map<
    Dependency<unknown>,
    Dependency<unknown> | ((context: never) => unknown) | undefined
  >();
  for (const [dependency, replacement] of options.overrides ?? []) {
    if (!previous.has(dependency)) previous.set(dependency, app.overrides.get(dependency));
    app.overrides.set(dependency, replacement);
  }
  let started = false;

  const prepare = <Path extends string>(method: Method, path: Path, init: TestRequestOptions<Path>) => {
    const url = new URL(
      `${baseUrl}${fillPath(path, init.params as Readonly<Record<string, Scalar>> | undefined)}`,
    );
    appendAll(url.searchParams, init.query);
    const headers = new Headers(options.headers);
    for (const [name, value] of Object.entries(init.headers ?? {})) headers.set(name, value);
    const cookies = Object.entries(init.cookies ?? {});
    if (cookies.length > 0)
      headers.set("cookie", cookies.map(([name, value]) => `${name}=${value}`).join("; "));
    let body: BodyInit | undefined = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    } else if (init.form !== undefined) {
      const fields = new URLSearchParams();
      appendAll(fields, init.form);
      body = fields.toString();
      if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded");
    }
    return new Request(url, { method, headers, ...(body === undefined ? {} : { body }) });
  };
  const request = <Path extends string>(method: Method, path: Path, init: TestRequestOptions<Path> = {}) =>
    app.fetch(prepare(method, path, init));

  const websocket = async <Path extends string>(
    path: Path,
    init: Omit<TestRequestOptions<Path>, "json" | "form" | "body"> = {},
  ): Promise<TestWebSocket> => {
    const handshake = prepare("GET", path, init);
    handshake.headers.set("upgrade", "websocket");
    handshake.headers.set("connection", "Upgrade");
    const [server, socket] = socketPair();
    let accepted: (() => void) | undefined;
    const opened = new Promise<void>((resolve) => {
      accepted = resolve;
    });
    const served = app.upgrade(fromWebRequest(handshake), async () => {
      accepted?.();
      return server;
    });
    const refusal = await Promise.race([opened.then(() => undefined), served]);
    if (refusal !== undefined) throw new WebSocketRefused(toWebResponse(refusal, false));
    return socket;
  };

  const stop = async () => {
    for (const [dependency, replaced] of previous) {
      if (replaced === undefined) app.overrides.delete(dependency);
      else app.overrides.set(dependency, replaced);
    }
    previous.clear();
    if (started) {
      started = false;
      await app.stop();
    }
  };

  const client: TestClient = {
    app,
    request,
    get: (path, init) => request("GET", path, init),
    head: (path, init) => request("HEAD", path, init),
    post: (path, init) => request("POST", path, init),
    put: (path, init) => request("PUT", path, init),
    patch: (path, init) => request("PATCH", path, init),
    delete: (path, init) => request("DELETE", path, init),
    options: (path, init) => request("OPTIONS", path, init),
    websocket,
    start: async () => {
      await app.start();
      started = true;
      return client;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return client;
}

/** Thrown by {@link TestClient.websocket} when the app refuses the handshake with an HTTP response. */
export class WebSocketRefused extends Error {
  readonly response: Response;
  constructor(response: Response) {
    super(`The WebSocket handshake was refused with ${response.status}`);
    this.name = "WebSocketRefused";
    this.response = response;
  }
}

/** The test's end of an in-process WebSocket. */
export interface TestWebSocket {
  /** Sends a message: text and bytes as they are, anything else as JSON text. */
  send(message: unknown): void;
  /** The next message from the app (text or bytes); rejects once the connection is closed and none is left. */
  receive(): Promise<string | Uint8Array>;
  /** The next message, parsed as JSON. */
  receiveJson(): Promise<unknown>;
  /** Closes the connection from the test's side. */
  close(code?: number, reason?: string): void;
  /** Resolves with the close code and reason, whichever side closed. */
  readonly closed: Promise<CloseInfo>;
}

type Listener<T extends unknown[]> = (...args: T) => void;

/**
 * Two connected ends: the app's, as a {@link SocketPort}, and the test's. Messages are delivered asynchronously
 * and in order, as a network would.
 */
function socketPair(): [SocketPort, TestWebSocket] {
  const toApp: Listener<[string | Uint8Array]>[] = [];
  const appClosed: Listener<[number, string]>[] = [];
  const inbox: (string | Uint8Array)[] = [];
  const waiting: { resolve: (data: string | Uint8Array) => void; reject: (error: Error) => void }[] = [];
  let closeInfo: CloseInfo | undefined;
  /** Set once the close has reached the test's end, after every message sent before it. */
  let ended = false;
  let settleClosed: (info: CloseInfo) => void = () => {};
  const closed = new Promise<CloseInfo>((resolve) => {
    settleClosed = resolve;
  });
  const finish = (code: number, reason: string) => {
    if (closeInfo !== undefined) return;
    closeInfo = { code, reason };
    setImmediate(() => {
      ended = true;
      for (const listener of appClosed) listener(code, reason);
      for (const each of waiting.splice(0)) each.reject(new Error(`The WebSocket closed with ${code}`));
      settleClosed(closeInfo!);
    });
  };
  const server: SocketPort = {
    send: async (data) => {
      if (closeInfo !== undefined) return false;
      setImmediate(() => {
        const reader = waiting.shift();
        if (reader !== undefined) reader.resolve(data);
        else inbox.push(data);
      });
      return true;
    },
    close: (code, reason) => finish(code, reason),
    pause: () => {},
    resume: () => {},
    onMessage: (listener) => toApp.push(listener),
    onClose: (listener) => appClosed.push(listener),
  };
  const receive = () => {
    const next = inbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (ended) return Promise.reject(new Error(`The WebSocket closed with ${closeInfo!.code}`));
    return new Promise<string | Uint8Array>((resolve, reject) => waiting.push({ resolve, reject }));
  };
  const socket: TestWebSocket = {
    send: (message) => {
      if (closeInfo !== undefined) throw new Error("The WebSocket is closed");
      const data =
        typeof message === "string" || message instanceof Uint8Array ? message : JSON.stringify(message);
      setImmediate(() => {
        for (const listener of toApp) listener(data);
      });
    },
    receive,
    receiveJson: async () => {
      const data = await receive();
      return JSON.parse(typeof data === "string" ? data : Buffer.from(data).toString("utf8"));
    },
    close: (code = CLOSE.normal, reason = "") => finish(code, reason),
    closed,
  };
  return [server, socket];
}
