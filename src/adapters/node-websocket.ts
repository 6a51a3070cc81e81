// WebSockets on Node's `http` server, through `ws`: the server's "upgrade" event hands brisk the handshake.

import { type IncomingMessage, STATUS_CODES } from "node:http";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import type { App } from "../app.ts";
import { type Outgoing, toWebResponse } from "../exchange.ts";
import { CLOSE, type SocketPort } from "../websocket.ts";
import { NodeIncoming, type ProxyOptions, proxyView } from "./node-incoming.ts";

/** The largest message `ws` reads at all; each route refuses what passes its own `maxMessageSize` (1009). */
const MAX_PAYLOAD = 64 * 1024 * 1024;

function portOf(socket: WebSocket): SocketPort {
  return {
    send: (data) =>
      new Promise((resolve, reject) => {
        // A message sent as the peer leaves is dropped, as it would be on the wire.
        if (socket.readyState !== socket.OPEN) return resolve();
        socket.send(data, { binary: typeof data !== "string" }, (error) =>
          error === undefined || error === null || socket.readyState !== socket.OPEN
            ? resolve()
            : reject(error),
        );
      }),
    close: (code, reason) => socket.close(code, reason),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    onMessage: (listener) =>
      socket.on("message", (data, isBinary) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        listener(
          isBinary
            ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
            : bytes.toString("utf8"),
        );
      }),
    onClose: (listener) => socket.on("close", (code, reason) => listener(code, reason.toString("utf8"))),
  };
}

/** Writes an HTTP response that refuses a handshake, then closes the connection. */
async function refuse(socket: Duplex, outgoing: Outgoing): Promise<void> {
  const response = toWebResponse(outgoing, false);
  const body = Buffer.from(await response.arrayBuffer());
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}\r\nconnection: close\r\n`;
  for (const [name, value] of response.headers)
    if (name !== "content-length") head += `${name}: ${value}\r\n`;
  head += `content-length: ${body.byteLength}\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]));
}

/**
 * The WebSocket side of a Node server serving an app: answers its "upgrade" events, and closes the open
 * connections (1001, going away) when the server shuts down.
 */
export class NodeWebSockets {
  readonly #app: App;
  readonly #view: ReturnType<typeof proxyView>;
  #server: WebSocketServer | undefined;
  readonly #open = new Set<WebSocket>();
  #closing = false;

  constructor(app: App, options: ProxyOptions = {}) {
    this.#app = app;
    this.#view = proxyView(options);
  }

  /** ws's server, loaded by the first handshake: an app that serves no WebSocket does not pay for it. */
  #webSockets(): WebSocketServer {
    if (this.#server === undefined) {
      const { WebSocketServer: Server } = createRequire(import.meta.url)("ws") as typeof import("ws");
      this.#server = new Server({ noServer: true, maxPayload: MAX_PAYLOAD });
    }
    return this.#server;
  }

  /** The server's "upgrade" listener. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A connection reset during the handshake must not become an uncaught error.
    socket.on("error", () => socket.destroy());
    if (req.headers.upgrade?.toLowerCase() !== "websocket") {
      void refuse(socket, {
        status: 400,
        headers: [["content-type", "application/json"]],
        body: '{"detail":"Only WebSocket upgrades are served"}',
      });
      return;
    }
    const incoming = new NodeIncoming(req, undefined, this.#view, socket);
    const accept = () =>
      new Promise<SocketPort>((resolve, reject) => {
        // ws answers a malformed handshake itself (400) and drops a client that left: it then never calls back.
        const left = () => reject(new Error("The WebSocket handshake did not complete"));
        socket.once("close", left);
        this.#webSockets().handleUpgrade(req, socket, head, (ws) => {
          socket.off("close", left);
          this.#open.add(ws);
          ws.on("close", () => this.#open.delete(ws));
          ws.on("error", () => ws.terminate());
          resolve(portOf(ws));
          // Accepted while the server shuts down: told at once.
          if (this.#closing) ws.close(CLOSE.goingAway, "Server shutting down");
        });
      });
    this.#app.upgrade(incoming, accept).then(
      (refusal) => (refusal === undefined ? undefined : refuse(socket, refusal)),
      (error: unknown) => {
        this.#app.logger.error(`WEBSOCKET ${req.url}: the handshake failed`, error);
        socket.destroy();
      },
    );
  };

  /**
   * Closes every open connection with 1001 (going away) and waits for them to end, at most `graceMs`, after
   * which the remaining ones are cut.
   */
  async close(graceMs = 5000): Promise<void> {
    this.#closing = true;
    const open = [...this.#open];
    if (open.length === 0) return;
    const ended = open.map((ws) => new Promise<void>((resolve) => ws.once("close", () => resolve())));
    for (const ws of open) ws.close(CLOSE.goingAway, "Server shutting down");
    const timer = setTimeout(() => {
      for (const ws of open) ws.terminate();
    }, graceMs);
    await Promise.all(ended);
    clearTimeout(timer);
  }
}
