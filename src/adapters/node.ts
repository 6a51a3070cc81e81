// Serving an app with Node's `http`: the request listener, and `listen()`, which also answers WebSocket upgrades.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { App } from "../app.ts";
import { BriskError } from "../errors.ts";
import { byteLength, type Outgoing } from "../exchange.ts";
import { drained } from "../internal/drained.ts";
import { BAD_HOST_DETAIL, isValidHost } from "../internal/host.ts";
import { isWebResponse } from "../internal/web-response.ts";
import type { ReadResult } from "../internal/web-types.ts";
import type { ResolvedLimits } from "../limits.ts";
import { type AccessEntry, type AppLogger, clientAddress, formatAccess, type Logger } from "../logger.ts";
import { FastLane } from "./fast-lane.ts";
import { closeAfter, isClosing, NodeIncoming, type ProxyOptions, proxyView } from "./node-incoming.ts";
import { NodeWebSockets } from "./node-websocket.ts";
import { closingAnswerText, HEADERS_TOO_LARGE_BODY, healthAnswer, LINGER_MS } from "./server-answers.ts";

export type { ProxyOptions } from "./node-incoming.ts";

/**
 * Writes a plain outgoing response to a Node response; HEAD answers carry headers only (Node drops the body). A
 * response the socket could not take at once is given `sendTimeout` to be read, then its connection is closed.
 */
function writePlainResponse(
  res: ServerResponse,
  outgoing: Exclude<Outgoing, Response>,
  sendTimeout: number,
): void {
  const flat: string[] = [];
  for (const [name, value] of outgoing.headers) flat.push(name, value);
  if (outgoing.body !== null) flat.push("content-length", String(byteLength(outgoing.body)));
  res.writeHead(outgoing.status, flat);
  res.end(outgoing.body ?? undefined);
  // Usually the kernel took it all in the write itself; only what is left waiting needs a timer.
  if ((res.socket?.writableLength ?? 0) > 0) whenUnread(res, sendTimeout);
}

/** Closes the connection unless the response is sent in full within `sendTimeout` (a client that stopped reading). */
function whenUnread(res: ServerResponse, sendTimeout: number): void {
  const timer = setTimeout(() => res.destroy(), sendTimeout);
  timer.unref();
  res.once("close", () => clearTimeout(timer));
}

/**
 * Writes a web Response, streaming its body with backpressure. When the client goes away the body is cancelled,
 * and the write settles only once the cancel has run (a generator's `finally` included), so that what runs after
 * the response (dependency cleanup) comes after it. A body that fails midway cuts the connection once what was
 * written has been flushed, so the client sees an incomplete response; the failure is thrown.
 */
async function writeWebResponse(
  res: ServerResponse,
  outgoing: Response,
  incoming: NodeIncoming,
  eventStreams: Set<() => void> | undefined,
  sendTimeout: number,
  logger: AppLogger,
): Promise<void> {
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
  // The client may have gone already (while the handler ran), or go at any moment, also while this response waits
  // behind a pipelined one (Node then never closes it). Normal, not an error: the body's source is told (a
  // generator's `finally` runs, a file is closed), and nothing else happens.
  const gone = new AbortController();
  incoming.whenOver(() => {
    if (res.writableFinished) return;
    logger.debug(`${res.req.method} ${res.req.url}: the client left before the response was complete`);
    gone.abort();
    cancelled ??= reader.cancel().catch(() => {});
  });
  // An event stream never ends on its own: a server shutting down ends it (its client will reconnect elsewhere).
  const end = () => {
    // The handler is told (a generator waiting for its next event wakes up), the stream ends cleanly, and the
    // connection closes after it rather than waiting, idle, for another request.
    incoming.abort();
    // Taken now: Node detaches the socket from the response as it finishes.
    const socket = res.socket;
    res.once("finish", () => socket?.end());
    cancelled ??= reader.cancel().catch(() => {});
  };
  const isEvents = outgoing.headers.get("content-type")?.startsWith("text/event-stream") === true;
  if (isEvents) eventStreams?.add(end);
  // Node holds the headers back until the first chunk: a stream with nothing to say yet (a quiet event stream)
  // gets them sent at once, so the client knows the request was answered.
  let first: ReadResult | undefined;
  const reading = reader.read().then((step) => (first = step));
  reading.catch(() => {});
  await new Promise((resolve) => setImmediate(resolve));
  if (first === undefined && !gone.signal.aborted) res.flushHeaders();
  try {
    for (let step = await reading; ; step = await reader.read()) {
      const { done, value } = step;
      if (done || gone.signal.aborted) break;
      // Honour backpressure: wait for the socket to drain (or the client to leave) before reading more.
      if (!res.write(value)) await drained(res, sendTimeout, gone.signal);
    }
    res.end();
    if ((res.socket?.writableLength ?? 0) > 0) whenUnread(res, sendTimeout);
  } catch (error) {
    // Node sends what was written on its next tick: it is let through before the connection is cut.
    await new Promise((resolve) => setImmediate(resolve));
    if (res.socket === null) res.destroy();
    else res.socket.destroySoon();
    throw error;
  } finally {
    eventStreams?.delete(end);
    await cancelled;
  }
}

/** A Node `request` listener serving an app. */
export function toNodeListener(
  app: App,
  options: ProxyOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return createListener(app, options, undefined);
}

/** Whether a request's body is still on its way: it announced one, and not all of it has been received. */
function isReceiving(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/**
 * Closes a connection answered before its request body was received (a 413, a malformed upload) the way RFC 9112
 * §9.6 asks: the response is sent and the sending side closed, but what the client still sends is read and
 * dropped for a while. Closing at once would make the kernel answer the unread bytes with a reset, and a reset
 * makes the client's kernel discard the response it has not read yet: the client would see a broken connection
 * instead of the 413. A connection whose request was received whole is left to Node.
 */
function lingerOnClose(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null || !isReceiving(res.req)) return;
  // Node closes a connection that is not kept alive with `destroySoon` once the response is finished.
  socket.destroySoon = () => {
    socket.end();
    // The rest of the body flows through the request, which drops it (no reader is left).
    res.req.resume();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("end", () => socket.destroy());
    socket.once("close", () => clearTimeout(timer));
  };
}

/** Writes one access log entry when the response is done (sent, or abandoned by the client). */
function logAccess(req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  const start = performance.now();
  const socket = req.socket;
  const client = clientAddress(socket);
  const before = socket.bytesWritten;
  res.once("close", () => {
    const entry: AccessEntry = {
      client,
      method: req.method ?? "",
      target: req.url ?? "",
      httpVersion: req.httpVersion,
      status: res.headersSent ? res.statusCode : 0,
      bytes: socket.bytesWritten - before,
      durationMs: performance.now() - start,
    };
    try {
      if (logger.access !== undefined) logger.access(entry);
      else logger.info(formatAccess(entry));
    } catch {
      // A logger that fails must not take the server with it.
    }
  });
}

/** What `listen` shares with its listener: how to end event streams, whether it is closing, the health path. */
interface ServerState {
  readonly eventStreams: Set<() => void>;
  /** Open connections, each with its latest exchange (undefined until it sends a request). */
  readonly connections: Map<Socket, ServerResponse | undefined>;
  /** Connections beyond `limits.connections`: their requests are answered 503. */
  readonly refused: WeakSet<object>;
  /** Set once `close()` has begun: responses then close their connection, and the health check says 503. */
  draining: boolean;
  readonly healthPath: string | undefined;
  /** Where access log entries go; none when the access log is off. */
  readonly accessLog: Logger | undefined;
}

const URI_TOO_LONG = '{"detail":"URI Too Long"}';
const HEADERS_TOO_LARGE = [431, HEADERS_TOO_LARGE_BODY] as const;
const BAD_HOST = [400, JSON.stringify({ detail: BAD_HOST_DETAIL })] as const;
const MISSING_HOST = [400, '{"detail":"Bad Request: an HTTP/1.1 request needs a Host header"}'] as const;
const UNKNOWN_TRANSFER_CODING = [
  400,
  '{"detail":"Bad Request: only the chunked transfer coding is supported"}',
] as const;
const REPEATED_CONTENT_TYPE = [400, '{"detail":"Bad Request: repeated Content-Type header"}'] as const;
const OVERLOADED = '{"detail":"Service Unavailable: too many connections"}';

/**
 * Checks a request's head in one pass over its raw headers: the field count, the size as sent (request line and
 * header lines with their line ends; Node's own `maxHeaderSize` counts fewer bytes, so it is checked here,
 * exactly), the Host (at most one, and a valid host) and the Content-Type (at most one). Node passes a Host with a
 * path in it, or two Host headers, through; code that builds a URL from them would disagree with the router about
 * what was asked. Node keeps the first of two Content-Types, where another reader might take the second. Returns
 * the refusal, or undefined.
 */
function checkHead(req: IncomingMessage, limits: ResolvedLimits): readonly [number, string] | undefined {
  const raw = req.rawHeaders;
  if (raw.length > limits.headerCount * 2) return HEADERS_TOO_LARGE;
  // "METHOD SP target SP HTTP/x.y CRLF", each "name: value CRLF", and the final CRLF.
  let size = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12 + 2;
  let host: string | undefined;
  let hosts = 0;
  let contentTypes = 0;
  const codings: string[] = [];
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!;
    const value = raw[index + 1]!;
    size += name.length + value.length + 4;
    if (name.length === 4 && name.toLowerCase() === "host") {
      hosts += 1;
      host = value;
    } else if (name.length === 12 && name.toLowerCase() === "content-type") contentTypes += 1;
    else if (name.length === 17 && name.toLowerCase() === "transfer-encoding") codings.push(value);
  }
  if (size > limits.headerBytes) return HEADERS_TOO_LARGE;
  if (hosts > 1 || (host !== undefined && !isValidHost(host))) return BAD_HOST;
  // HTTP/1.1 requires a Host (RFC 9112 §3.2); Node's own check is off so that the answer is JSON like the others.
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) return MISSING_HOST;
  if (contentTypes > 1) return REPEATED_CONTENT_TYPE;
  // Node reads any coding list that ends in "chunked" as chunked alone: a body sent "gzip, chunked" would be taken
  // as plain, where a proxy that decodes gzip sees another body. Only "chunked" itself is accepted.
  if (codings.length > 0 && (codings.length > 1 || codings[0]!.trim().toLowerCase() !== "chunked")) {
    return UNKNOWN_TRANSFER_CODING;
  }
  return undefined;
}

/**
 * Answers what Node's parser refused (bad framing, a stalled head) with a JSON body like every other error, and
 * closes the connection: after a framing error nothing more on it can be trusted. A request parsed before the bad
 * bytes (pipelined) is answered first; bytes after a `Connection: close` request are dropped without a word.
 */
function answerClientError(
  error: Error & { code?: string },
  socket: Duplex,
  latest: ServerResponse | undefined,
): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  // The request was refused already (a bad Transfer-Encoding is seen before its body fails to parse): that
  // answer stands, and the connection is closing.
  if (isClosing(socket)) return;
  if (latest !== undefined && !latest.writableFinished) {
    // A request received whole before the bad bytes is answered first. One still being received (a stalled
    // body) will never be complete: it is answered now, unless its response has begun.
    if (latest.req.complete) {
      latest.once("close", () => answerClientError(error, socket, undefined));
      return;
    }
    if (latest.headersSent) {
      socket.destroy();
      return;
    }
  }
  if (error.code === "HPE_CLOSED_CONNECTION") {
    socket.destroy();
    return;
  }
  socket.end(closingAnswerText(error.code));
  // Whatever the client still sends is not read; the connection goes once the answer is out.
  socket.once("finish", () => socket.destroy());
}

/** Answers a request the server refuses before the app sees it, and closes the connection. */
function refuse(res: ServerResponse, status: number, body: string): void {
  closeAfter(res);
  lingerOnClose(res);
  res.writeHead(status, ["content-type", "application/json", "content-length", String(body.length)]);
  res.end(body);
}

/** The listener; `state` is the server's when `listen` made it. */
function createListener(
  app: App,
  options: ProxyOptions,
  state: ServerState | undefined,
): (req: IncomingMessage, res: ServerResponse) => void {
  const view = proxyView(options);
  const { limits } = app;
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
    // A server draining closes every connection after its answer, and says so, unless the client has pipelined
    // another request behind this one: that one is answered too, and says it instead.
    if (state?.draining && state.connections.get(req.socket) === res) res.shouldKeepAlive = false;
    if (!res.shouldKeepAlive) lingerOnClose(res);
    try {
      if (isWebResponse(outgoing)) {
        // What runs after the response waits for a streamed body to be done with, cancelled or not.
        const written = writeWebResponse(
          res,
          outgoing,
          incoming,
          state?.eventStreams,
          limits.sendTimeout,
          app.logger,
        );
        incoming.writing(written.catch((error: unknown) => failed(req, res, error)));
      } else writePlainResponse(res, outgoing, limits.sendTimeout);
    } catch (error) {
      failed(req, res, error);
    }
  };
  const healthPath = state?.healthPath;
  const accessLog = state?.accessLog;
  return (req, res) => {
    if (isClosing(req.socket)) return;
    if (accessLog !== undefined) logAccess(req, res, accessLog);
    if ((req.url?.length ?? 0) > limits.urlBytes) return refuse(res, 414, URI_TOO_LONG);
    const refusal = checkHead(req, limits);
    if (refusal !== undefined) return refuse(res, refusal[0], refusal[1]);
    if (state !== undefined) {
      // The exchange a connection is in, for a server that is closing to tell receiving from answering. Kept in a
      // map, not on the socket: a property added to Node's sockets would give its own code another shape to handle.
      state.connections.set(req.socket, res);
      if (state.refused.has(req.socket)) return refuse(res, 503, OVERLOADED);
      // A server shutting down answers what reaches it, but keeps no connection open for more.
      if (state.draining) res.shouldKeepAlive = false;
      if (req.url === healthPath && (req.method === "GET" || req.method === "HEAD")) {
        writePlainResponse(res, healthAnswer(state.draining), limits.sendTimeout);
        return;
      }
    }
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
  /**
   * A path answered by the server itself, before the app: 200 `{"status":"ok"}`, and 503
   * `{"status":"draining"}` once `close()` has begun, so that a load balancer stops sending requests. Off unless
   * given.
   */
  readonly healthPath?: string;
  /**
   * How long `close()` lets in-flight requests finish before closing their connections. Requests still being
   * received are cut when their `requestTimeout` would have ended them: Node stops checking it once closing.
   * @default 25000
   */
  readonly drainMs?: number;
  /**
   * Write an access log entry per request (client, method, target, status, bytes, duration) to the app's logger:
   * its `access` method, or `info` as a line of text. `brisk serve` turns it on (`--no-access-log` to not).
   * @default false
   */
  readonly accessLog?: boolean;
  /**
   * Answer requests that arrive whole, in the common subset of HTTP/1.1, straight from the socket (the fast lane,
   * see docs/decisions.md); off, Node's `http` server reads every request. Both give the same answers, but
   * requests answered in the lane are not emitted as `request` events of {@link Listening.server}.
   * @default true
   */
  readonly fastLane?: boolean;
}

/** A running server. */
export interface Listening {
  readonly server: Server;
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /**
   * Stops accepting, lets in-flight requests finish (closing idle keep-alive sockets at once, answering what
   * still arrives on busy ones with `Connection: close`, ending event streams, closing WebSockets with 1001), runs
   * the app's lifespan shutdown, then resolves.
   */
  close(): Promise<void>;
}

/** Serves an app over Node's `http` until {@link Listening.close} is called. */
export async function listen(app: App, options: ListenOptions = {}): Promise<Listening> {
  const healthPath = options.healthPath;
  if (healthPath !== undefined && (!healthPath.startsWith("/") || /[?#\s]/.test(healthPath))) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      `healthPath must be a path starting with "/", got "${healthPath}"`,
    );
  }
  // The lifespan's startup runs before the port opens: if it fails, the server never accepts a request.
  await app.start();
  const connections = new Map<Socket, ServerResponse | undefined>();
  const state: ServerState = {
    eventStreams: new Set(),
    connections,
    refused: new WeakSet(),
    draining: false,
    healthPath,
    accessLog: options.accessLog === true ? app.logger : undefined,
  };
  const { limits } = app;
  const server = createServer(
    {
      // Node counts fewer bytes than the head has: with this, it refuses only what the listener would refuse too.
      maxHeaderSize: limits.headerBytes + 1,
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      // Node checks the two deadlines on this interval (30 s by default, which would make them up to 30 s late).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeout),
      keepAliveTimeout: limits.keepAliveTimeout,
      // Checked by the listener instead (see checkHead), which answers in JSON.
      requireHostHeader: false,
    },
    createListener(app, options, state),
  );
  // One more than the limit, so that the listener can tell a request that has too many (Node drops the rest).
  server.maxHeadersCount = limits.headerCount + 1;
  // Node's own connection listener reads a connection with its parser; the fast lane takes each one first, and
  // hands it to Node's listener when a request needs more than the lane does (see fast-lane.ts).
  const [nodeConnection] = server.listeners("connection") as ((socket: Socket) => void)[];
  const toNode = (socket: Socket) => nodeConnection!.call(server, socket);
  const lane =
    options.fastLane === false || nodeConnection === undefined
      ? undefined
      : new FastLane({
          app,
          view: proxyView(options),
          handOff: toNode,
          eventStreams: state.eventStreams,
          healthPath,
          accessLog: state.accessLog,
        });
  if (lane !== undefined) server.removeListener("connection", nodeConnection!);
  server.on("connection", (socket: Socket) => {
    connections.set(socket, undefined);
    socket.once("close", () => connections.delete(socket));
    // Still read, so that the client gets an answer rather than a reset; the answer is 503.
    if (connections.size > limits.connections) state.refused.add(socket);
    if (lane === undefined) return;
    if (state.refused.has(socket)) toNode(socket);
    else lane.accept(socket);
  });
  server.on("clientError", (error: Error, socket: Duplex) =>
    answerClientError(error, socket, connections.get(socket as Socket)),
  );
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
      state.draining = true;
      // The lane closes its idle connections now, and its busy ones after their answers.
      lane?.drain();
      const allClosed = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      for (const [socket, exchange] of connections) {
        if (lane?.owns(socket)) continue;
        // A connection that never sent a request (a browser's preconnect) is idle too, though Node does not say so.
        if (exchange === undefined && socket.bytesRead === 0) socket.destroy();
        // One whose response is under way is closed once the response is out (which says so, see `write`).
        else if (exchange !== undefined && !exchange.writableFinished) {
          exchange.once("finish", () => setImmediate(() => server.closeIdleConnections()));
        }
      }
      // Node stops enforcing requestTimeout once closing: a request still being received by then is cut when it
      // would have been; one being answered gets until the drain deadline.
      const cut = setTimeout(() => {
        for (const [socket, exchange] of connections) {
          if (lane?.owns(socket)) continue;
          if (exchange === undefined || exchange.writableFinished || !exchange.req.complete) socket.destroy();
        }
      }, limits.requestTimeout);
      const deadline = setTimeout(() => {
        app.logger.warn("the drain deadline passed: closing the connections still open");
        server.closeAllConnections();
        lane?.destroyAll();
      }, options.drainMs ?? 25_000);
      cut.unref();
      deadline.unref();
      void allClosed.then(() => {
        clearTimeout(cut);
        clearTimeout(deadline);
      });
      // Open WebSockets and event streams would hold the server open: they are ended.
      for (const end of state.eventStreams) end();
      await sockets.close();
      await allClosed;
      // Shutdown code runs once in-flight requests have finished.
      await app.stop();
    },
  };
}
