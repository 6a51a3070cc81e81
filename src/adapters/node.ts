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

/**
 * Writes a web Response, streaming its body with backpressure. When the client goes away the body is cancelled,
 * and the write settles only once the cancel has run (a generator's \`finally\` included), so that what runs after
 * the response (dependency cleanup) comes after it. A body that fails midway cuts the connection once what was
 * written has been flushed, so the client sees an incomplete response; the failure is thrown.
 */
async function writeWebResponse(res: ServerResponse, outgoing: Response): Promise<void> {
  const flat: string[] = [];
  for (const [name, value] of outgoing.headers) if (name !== "set-cookie") flat.push(name, value);
  for (const cookie of outgoing.headers.getSetCookie()) flat.push("set-cookie", cookie);
  res.writeHead(outgoing.status, outgoing.statusText || undefined, flat);
  if (outgoing.body === null || res.req.method === "HEAD") {
    // A HEAD answer has no body: the stream is not read (an endless event stream would never finish).
    const cancelled = outgoing.body?.cancel().catch(() => {});
    res.end();
    await cancelled;
    return;
  }
  const reader = outgoing.body.getReader();
  let cancelled: Promise<void> | undefined;
  const gone = new Promise<void>((resolve) =>
    res.once("close", () => {
      if (!res.writableFinished) cancelled = reader.cancel().catch(() => {});
      resolve();
    }),
  );
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      // Honour backpressure: wait for the socket to drain (or the client to leave) before reading more.
      if (!res.write(value)) await Promise.race([new Promise((resolve) => res.once("drain", resolve)), gone]);
    }
    res.end();
  } catch (error) {
    // Node sends what was written on its next tick: it is let through before the connection is cut.
    await new Promise((resolve) => setImmediate(resolve));
    if (res.socket === null) res.destroy();
    else res.socket.destroySoon();
    throw error;
  } finally {
    await cancelled;
  }
}

/** A Node `request` listener serving an app. */
export function toNodeListener(
  app: App,
  options: ProxyOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const view = proxyView(options);
  const failed = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    app.logger.error(`${req.method} ${req.url}: the response failed while being sent`, error);
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"detail":"Internal Server Error"}');
    } else {
      res.destroy();
    }
  };
  const write = (req: IncomingMessage, res: ServerResponse, outgoing: Outgoing, incoming: NodeIncoming) => {
    try {
      const written = writeNodeResponse(res, outgoing);
      if (written instanceof Promise) {
        // What runs after the response waits for a streamed body to be done with, cancelled or not.
        incoming.writing(written.catch((error: unknown) => failed(req, res, error)));
      }
    } catch (error) {
      failed(req, res, error);
    }
  };
  return (req, res) => {
    const incoming = new NodeIncoming(req, res, view);
    const outgoing = app.handle(incoming);
    if (outgoing instanceof Promise) outgoing.then((done) => write(req, res, done, incoming));
    else write(req, res, outgoing, incoming);
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
