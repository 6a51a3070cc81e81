import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { App } from "../app.ts";
import { HTTPException } from "../errors.ts";
import { byteLength, type Incoming, type Outgoing } from "../exchange.ts";
import { splitTarget } from "../internal/target.ts";
import { tooLarge } from "./fetch.ts";

/**
 * A Node request as the core sees it. A class rather than an object of closures: one allocation per request,
 * and a web `Request` only if a handler asks for one.
 */
class NodeIncoming implements Incoming {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  #received: Uint8Array | undefined;
  #request: Request | undefined;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req;
    this.#res = res;
    this.method = req.method ?? "GET";
    [this.path, this.search] = splitTarget(req.url ?? "/");
  }

  header(name: string): string | undefined {
    const value = this.#req.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }

  headerNames(): Iterable<string> {
    return Object.keys(this.#req.headers);
  }

  readBody(limit: number): Promise<Uint8Array> {
    return readNodeBody(this.#req, this.#res, limit).then((bytes) => (this.#received = bytes));
  }

  toRequest(): Request {
    if (this.#request !== undefined) return this.#request;
    const req = this.#req;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      for (const each of Array.isArray(value) ? value : [value]) headers.append(name, each);
    }
    const hasBody = this.method !== "GET" && this.method !== "HEAD";
    const body = !hasBody ? null : (this.#received ?? (Readable.toWeb(req) as ReadableStream<Uint8Array>));
    const init = { method: this.method, headers, body, duplex: "half" } as RequestInit;
    this.#request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, init);
    return this.#request;
  }
}

/** Collects a Node request body, refusing a declared or received size over `limit` with 413. */
function readNodeBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > limit) {
    // The rest of the body will not be read, so the connection cannot be reused.
    res.shouldKeepAlive = false;
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onError);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > limit) {
        cleanup();
        res.shouldKeepAlive = false;
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = () => {
      cleanup();
      reject(new HTTPException(400, "The request body was not received in full"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onError);
  });
}

/** Writes an outgoing response to a Node response; HEAD answers carry headers only (Node drops the body). */
function writeNodeResponse(res: ServerResponse, outgoing: Outgoing): void | Promise<void> {
  if (outgoing instanceof Response) return writeWebResponse(res, outgoing);
  const flat: string[] = [];
  for (const [name, value] of outgoing.headers) flat.push(name, value);
  if (outgoing.body !== null) flat.push("content-length", String(byteLength(outgoing.body)));
  res.writeHead(outgoing.status, flat);
  res.end(outgoing.body ?? undefined);
}

async function writeWebResponse(res: ServerResponse, outgoing: Response): Promise<void> {
  const flat: string[] = [];
  for (const [name, value] of outgoing.headers) if (name !== "set-cookie") flat.push(name, value);
  for (const cookie of outgoing.headers.getSetCookie()) flat.push("set-cookie", cookie);
  res.writeHead(outgoing.status, outgoing.statusText || undefined, flat);
  if (outgoing.body === null) {
    res.end();
    return;
  }
  const reader = outgoing.body.getReader();
  res.on("close", () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Honour backpressure: wait for the socket to drain before reading more from the stream.
      if (!res.write(value)) await new Promise((resolve) => res.once("drain", resolve));
      if (res.destroyed) return;
    }
    res.end();
  } catch {
    res.destroy();
  }
}

/** A Node `request` listener serving an app. */
export function toNodeListener(app: App): (req: IncomingMessage, res: ServerResponse) => void {
  const failed = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    app.logger.error(`${req.method} ${req.url}: failed to write the response`, error);
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"detail":"Internal Server Error"}');
    } else {
      res.destroy();
    }
  };
  const write = (req: IncomingMessage, res: ServerResponse, outgoing: Outgoing) => {
    try {
      const written = writeNodeResponse(res, outgoing);
      if (written instanceof Promise) written.catch((error: unknown) => failed(req, res, error));
    } catch (error) {
      failed(req, res, error);
    }
  };
  return (req, res) => {
    const outgoing = app.handle(new NodeIncoming(req, res));
    if (outgoing instanceof Promise) outgoing.then((done) => write(req, res, done));
    else write(req, res, outgoing);
  };
}

/** Options of {@link listen}. */
export interface ListenOptions {
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** 0 picks any free port. @default 8000 */
  readonly port?: number;
}

/** A running server. */
export interface Listening {
  readonly server: Server;
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (closing idle keep-alive sockets at once), then resolves. */
  close(): Promise<void>;
}

/** Serves an app over Node's `http` until {@link Listening.close} is called. */
export async function listen(app: App, options: ListenOptions = {}): Promise<Listening> {
  app.compile();
  const server = createServer(toNodeListener(app));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8000, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    server,
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
