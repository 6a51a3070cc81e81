// Serving an app with Node's `http`: the request listener, and `listen()`, which also answers WebSocket upgrades.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { App } from "../app.ts";
import { byteLength, type Outgoing } from "../exchange.ts";
import { NodeIncoming, type ProxyOptions, proxyView } from "./node-incoming.ts";
import { NodeWebSockets } from "./node-websocket.ts";

export type { ProxyOptions } from "./node-incoming.ts";

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
  if (outgoing.body === null || res.req.method === "HEAD") {
    // A HEAD answer has no body: the stream is not read (an endless event stream would never finish).
    if (outgoing.body !== null) void outgoing.body.cancel().catch(() => {});
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
export function toNodeListener(
  app: App,
  options: ProxyOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const view = proxyView(options);
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
    const outgoing = app.handle(new NodeIncoming(req, res, view));
    if (outgoing instanceof Promise) outgoing.then((done) => write(req, res, done));
    else write(req, res, outgoing);
  };
}

/** Options of {@link listen}. */
export interface ListenOptions extends ProxyOptions {
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
  /**
   * Stops accepting, lets in-flight requests finish (closing idle keep-alive sockets at once, and WebSockets
   * with 1001), runs the app's lifespan shutdown, then resolves.
   */
  close(): Promise<void>;
}

/** Serves an app over Node's `http` until {@link Listening.close} is called. */
export async function listen(app: App, options: ListenOptions = {}): Promise<Listening> {
  // The lifespan's startup runs before the port opens: if it fails, the server never accepts a request.
  await app.start();
  const server = createServer(toNodeListener(app, options));
  const sockets = new NodeWebSockets(app, options);
  server.on("upgrade", sockets.upgrade);
  const host = options.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 8000, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    // The port could not be had (in use, say): what the lifespan started is shut down again.
    await app.stop().catch(() => {});
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    server,
    url: `http://${shown}:${port}`,
    close: async () => {
      const drained = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      // Open WebSockets would hold the server open: they are told the server is going away.
      await sockets.close();
      await drained;
      // Shutdown code runs once in-flight requests have finished.
      await app.stop();
    },
  };
}
