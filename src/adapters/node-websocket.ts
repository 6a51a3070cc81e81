// WebSockets on Node's `http` server, through `ws`: the server's "upgrade" event hands brisk the handshake.

import { type IncomingMessage, STATUS_CODES } from "node:http";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import type { App } from "../app.ts";
import { type Outgoing, toWebResponse } from "../exchange.ts";
import { type AcceptOptions, CLOSE, type SocketPort } from "../websocket.ts";
import { NodeIncoming, type ProxyOptions, proxyView } from "./node-incoming.ts";
import { LINGER_MS } from "./server-answers.ts";

/**
 * A connection whose sends have waited this many bytes in memory (a peer that reads slower than it is written to)
 * is closed: without it, a broadcast to a peer that stopped reading would hold every message for it.
 */
const SEND_BACKLOG_BYTES = 16 * 1024 * 1024;

/**
 * The port of an accepted `ws` connection. Sends never reject: a message that cannot be written (the peer has
 * gone, its connection is closing) resolves `false`, since a peer leaving is normal and the connection's close says
 * so. A peer that reads none of what was sent for `sendTimeout` is cut off.
 */
function portOf(socket: WebSocket, sendTimeout: number): SocketPort {
  /** Sends written to ws and not yet flushed to the kernel, each settled when it is (or when the connection ends). */
  const unsent = new Set<(sent: boolean) => void>();
  /** Armed while sends are waiting; every flush restarts it, so it fires only when nothing moved for sendTimeout. */
  let stalled: NodeJS.Timeout | undefined;
  socket.once("close", () => {
    clearTimeout(stalled);
    for (const settle of unsent) settle(false);
    unsent.clear();
  });
  return {
    send: (data) =>
      new Promise<boolean>((resolve) => {
        if (socket.readyState !== socket.OPEN) return resolve(false);
        if (socket.bufferedAmount > SEND_BACKLOG_BYTES) {
          socket.close(CLOSE.policyViolation, "Messages were sent faster than they were read");
          return resolve(false);
        }
        const settle = (sent: boolean) => {
          if (!unsent.delete(settle)) return;
          if (unsent.size === 0) clearTimeout(stalled);
          else stalled?.refresh();
          resolve(sent);
        };
        unsent.add(settle);
        if (unsent.size === 1) {
          stalled = setTimeout(() => socket.terminate(), sendTimeout);
          stalled.unref();
        }
        socket.send(data, { binary: typeof data !== "string" }, (error) =>
          settle(error === undefined || error === null),
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
  /** ws's servers, one per message limit in use (ws takes the limit per server). */
  readonly #servers = new Map<number, WebSocketServer>();
  readonly #open = new Set<WebSocket>();
  #closing = false;

  constructor(app: App, options: ProxyOptions = {}) {
    this.#app = app;
    this.#view = proxyView(options);
  }

  /**
   * ws's server for a message limit, loaded by the first handshake: an app that serves no WebSocket does not pay
   * for it. ws refuses a message as soon as its declared length, or the bytes of its fragments, pass the limit, so
   * an oversized message is never held in memory.
   */
  #webSockets(messageLimit: number): WebSocketServer {
    let server = this.#servers.get(messageLimit);
    if (server === undefined) {
      const { WebSocketServer: Server } = createRequire(import.meta.url)("ws") as typeof import("ws");
      server = new Server({ noServer: true, maxPayload: messageLimit });
      this.#servers.set(messageLimit, server);
    }
    return server;
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
    const incoming = new NodeIncoming(req, undefined, this.#view);
    const { sendTimeout } = this.#app.limits;
    const accept = ({ messageLimit }: AcceptOptions) =>
      new Promise<SocketPort>((resolve, reject) => {
        // ws answers a malformed handshake itself (400) and drops a client that left: it then never calls back.
        const left = () => reject(new Error("The WebSocket handshake did not complete"));
        if (socket.destroyed) return left();
        socket.once("close", left);
        this.#webSockets(messageLimit).handleUpgrade(req, socket, head, (ws) => {
          socket.off("close", left);
          this.#open.add(ws);
          ws.on("close", () => this.#open.delete(ws));
          watchProtocolErrors(ws, socket, messageLimit);
          resolve(portOf(ws, sendTimeout));
          // Accepted while the server shuts down: told at once.
          if (this.#closing) ws.close(CLOSE.goingAway, "Server shutting down");
        });
      });
    this.#app
      .upgrade(incoming, accept)
      .then((refusal) => (refusal === undefined ? undefined : refuse(socket, refusal)))
      .catch((error: unknown) => {
        this.#app.logger.error(`WEBSOCKET ${req.url}: the handshake failed`, error);
        socket.destroy();
      });
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

/**
 * What happens when a peer breaks the protocol (a message past the limit, bad UTF-8, an unmasked frame): ws has
 * already sent the close frame (1009, 1007, 1002) and ended its side. The connection is then left unread (ws
 * would read and drop whatever the peer still sends, and a peer sending a huge frame would have the server
 * allocate all of it as garbage) and closed {@link LINGER_MS} later, once the peer has had time to read the close
 * code. The error is the peer's, not the server's: nothing is logged.
 */
function watchProtocolErrors(ws: WebSocket, socket: Duplex, messageLimit: number): void {
  // ws closes an oversized message's connection with 1009 and no reason; the reason says what the limit is, as
  // brisk's own check does for a message delivered whole.
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) =>
    close(
      code,
      code === CLOSE.tooBig && reason === undefined ? `Message larger than ${messageLimit} bytes` : reason,
    );
  ws.on("error", () => {
    // After ws's own resume of the socket, which it schedules as it closes.
    setImmediate(() => socket.pause());
    const timer = setTimeout(() => ws.terminate(), LINGER_MS);
    timer.unref();
    ws.once("close", () => clearTimeout(timer));
  });
}
