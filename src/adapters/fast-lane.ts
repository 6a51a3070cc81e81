// The fast lane: plain HTTP/1.1 requests answered straight from the socket, without Node's per-request objects.
//
// Node's `http` server spends more of each request than the framework does: an IncomingMessage and a
// ServerResponse (two streams, with their state and events), the header validation and assembly, corking, and
// the bookkeeping of both. A request that arrives whole, in the common subset of HTTP/1.1 (see request-head.ts),
// needs none of it: the lane reads it from the bytes received, hands it to the app, and writes the answer in one
// piece. Everything else (a head or body still arriving, chunked bodies, upgrades, anything unusual or malformed)
// is Node's: the connection is handed to Node's server at that point, with the bytes not yet used put back, and
// stays with it. So Node's parser, timeouts and error answers still stand for every request the lane does not
// take, and the lane only ever has to be right about the simple ones.

import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { App } from "../app.ts";
import { forbidsBody } from "../compile/response.ts";
import { byteLength, type Outgoing, type PlainResponse } from "../exchange.ts";
import { drained } from "../internal/drained.ts";
import { isWebResponse } from "../internal/web-response.ts";
import type { ResolvedLimits } from "../limits.ts";
import { type AccessEntry, clientAddress, formatAccess, type Logger } from "../logger.ts";
import { LaneIncoming } from "./lane-incoming.ts";
import type { ProxyView } from "./node-incoming.ts";
import { LANE_BODY_BYTES, type LaneRequest, readRequestHead } from "./request-head.ts";
import { closingAnswerText, healthAnswer } from "./server-answers.ts";

/** What the lane needs from the server it works for. */
export interface LaneOptions {
  readonly app: App;
  readonly view: ProxyView;
  /** Gives a connection to Node's `http` server, which reads it from then on. */
  readonly handOff: (socket: Socket) => void;
  /** Where an event stream registers the function that ends it when the server shuts down. */
  readonly eventStreams: Set<() => void>;
  /** The server's own health path, answered before the app. */
  readonly healthPath: string | undefined;
  /** Where access log entries go; none when the access log is off. */
  readonly accessLog: Logger | undefined;
}

const FAILED = '{"detail":"Internal Server Error"}';

// Node's header checks (validateHeaderName, validateHeaderValue): a response header outside them fails the response.
const HEADER_NAME = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const NOT_ASCII = /[^\t\x20-\x7e]/;

/** The Date header's value, computed at most once a second as Node does. */
let dateText: string | undefined;
function httpDate(): string {
  if (dateText === undefined) {
    const now = new Date();
    dateText = now.toUTCString();
    setTimeout(() => (dateText = undefined), 1000 - now.getMilliseconds()).unref();
  }
  return dateText;
}

/** A header block in progress: the text, and whether it needs latin1 (a value with bytes past ASCII). */
class Head {
  text: string;
  latin1 = false;
  /** The app set Date, Connection or Content-Length itself. */
  hasDate = false;
  closes = false;
  hasLength = false;

  constructor(status: number) {
    this.text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "unknown"}\r\n`;
  }

  /** Adds a header; false when Node would refuse it (a name that is not a token, a value with control characters). */
  add(name: string, value: string): boolean {
    if (!HEADER_NAME.test(name)) return false;
    if (NOT_ASCII.test(value)) {
      if (HEADER_VALUE.test(value)) return false;
      this.latin1 = true;
    }
    if (name.length === 4 || name.length === 10 || name.length === 14 || name.length === 17) {
      const lower = name.toLowerCase();
      if (lower === "date") this.hasDate = true;
      else if (lower === "connection") this.closes ||= value.toLowerCase().includes("close");
      else if (lower === "content-length") this.hasLength = true;
      // The lane frames the body itself.
      else if (lower === "transfer-encoding") return true;
    }
    this.text += `${name}: ${value}\r\n`;
    return true;
  }

  /** Ends the block with Date and the connection's fate. */
  end(close: boolean, keepAlive: string): string {
    if (!this.hasDate) this.text += `Date: ${httpDate()}\r\n`;
    return this.text + (close ? "Connection: close\r\n\r\n" : keepAlive);
  }
}

/** The lane of one server: its connections, and whether the server is shutting down. */
export class FastLane {
  readonly options: LaneOptions;
  readonly limits: ResolvedLimits;
  /** The tail of every kept-alive response's head. */
  readonly keepAlive: string;
  readonly #connections = new Map<Socket, LaneConnection>();
  #draining = false;

  constructor(options: LaneOptions) {
    this.options = options;
    this.limits = options.app.limits;
    this.keepAlive = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(this.limits.keepAliveTimeout / 1000)}\r\n\r\n`;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Takes a new connection. */
  accept(socket: Socket): void {
    this.#connections.set(socket, new LaneConnection(this, socket));
  }

  /** Whether a socket is still the lane's (not yet handed to Node, nor closed). */
  owns(socket: Socket): boolean {
    return this.#connections.has(socket);
  }

  forget(connection: LaneConnection): void {
    this.#connections.delete(connection.socket);
  }

  /** The server is closing: idle connections close now, busy ones after their answer. */
  drain(): void {
    this.#draining = true;
    for (const connection of this.#connections.values()) connection.drain();
  }

  /** The drain deadline passed: every connection still here is closed. */
  destroyAll(): void {
    for (const socket of this.#connections.keys()) socket.destroy();
  }
}

/** One connection in the lane: reads requests off its bytes, one at a time, and answers each in turn. */
class LaneConnection {
  readonly socket: Socket;
  readonly #lane: FastLane;
  /** Bytes received and not yet used, from `#start`. */
  #buffer: Buffer | undefined;
  #start = 0;
  /** A request is being answered: bytes that arrive meanwhile wait. */
  #busy = false;
  /** The client has closed its side. */
  #ended = false;
  /** Requests answered so far; a connection that has none yet is waiting for its first. */
  #answered = 0;
  #current: LaneIncoming | undefined;
  /** Answers written and not yet flushed to the kernel, oldest first. */
  readonly #unflushed: LaneIncoming[] = [];

  constructor(lane: FastLane, socket: Socket) {
    this.#lane = lane;
    this.socket = socket;
    socket.on("data", this.#onData);
    socket.on("timeout", this.#onTimeout);
    socket.on("close", this.#onClose);
    socket.on("end", this.#onEnd);
    // A reset by the client: the close that follows says what there is to say.
    socket.on("error", this.#onError);
    // Like Node: a connection that sends no request head within headersTimeout is answered 408.
    socket.setTimeout(lane.limits.headersTimeout);
  }

  drain(): void {
    if (!this.#busy) this.close();
  }

  readonly #onError = (): void => {};

  readonly #onData = (chunk: Buffer): void => {
    const buffer = this.#buffer;
    if (buffer === undefined) {
      this.#buffer = chunk;
      this.#start = 0;
    } else {
      this.#buffer = Buffer.concat([buffer.subarray(this.#start), chunk]);
      this.#start = 0;
    }
    if (!this.#busy) this.#serve();
    // A client that sends request after request while one is answered waits until the lane catches up.
    else if (this.#buffer.length - this.#start > 2 * LANE_BODY_BYTES) this.socket.pause();
  };

  readonly #onTimeout = (): void => {
    if (this.#busy) return;
    const socket = this.socket;
    if (this.#answered > 0 || this.#buffer !== undefined) {
      // Idle after an answer: closed without a word, as Node closes its idle keep-alive connections.
      socket.destroy();
      return;
    }
    socket.end(closingAnswerText("ERR_HTTP_REQUEST_TIMEOUT"));
    socket.once("finish", () => socket.destroy());
  };

  /** The client will send nothing more (Node's servers allow half-open connections): it gets its answers, then the end. */
  readonly #onEnd = (): void => {
    this.#ended = true;
    if (!this.#busy) this.close();
  };

  readonly #onClose = (): void => {
    this.#lane.forget(this);
    this.#current?.gone();
    for (const incoming of this.#unflushed) incoming.gone();
    this.#unflushed.length = 0;
  };

  /** Every write's callback, in order: the oldest answer not yet flushed now is. */
  readonly #onFlushed = (): void => {
    const incoming = this.#unflushed.shift();
    if (incoming !== undefined) this.#finished(incoming);
  };

  /** Answers the requests at the head of the buffer until it is empty, one is pending, or the rest is Node's. */
  #serve(): void {
    const socket = this.socket;
    for (;;) {
      const buffer = this.#buffer;
      if (buffer === undefined || this.#start >= buffer.length) {
        this.#buffer = undefined;
        if (this.#ended || this.#lane.draining) this.close();
        return;
      }
      const reading = readRequestHead(buffer, this.#start, this.#lane.limits);
      if (typeof reading === "string") {
        // Node cannot be given a connection whose client has ended (the bytes could not be put back): a request
        // the lane cannot take is then not run, and the connection closes, as Node's server would have closed it.
        if (this.#ended) this.close();
        else this.#handOff();
        return;
      }
      this.#start = reading.end;
      if (this.#answered++ === 0) socket.setTimeout(this.#lane.limits.keepAliveTimeout);
      const pending = this.#answer(reading);
      if (pending !== undefined) {
        this.#busy = true;
        pending.then(this.#resume, this.#resume);
        return;
      }
      if (socket.destroyed || socket.writableEnded) return;
      // A client that does not read its answers gets no more until it does.
      if (socket.writableNeedDrain) {
        this.#busy = true;
        socket.once("drain", this.#resume);
        return;
      }
    }
  }

  readonly #resume = (): void => {
    this.#busy = false;
    this.#current = undefined;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    if (socket.isPaused()) socket.resume();
    this.#serve();
  };

  /** Gives the connection to Node, with the bytes not yet used put back in front of what comes next. */
  #handOff(): void {
    const socket = this.socket;
    this.#lane.forget(this);
    socket.off("data", this.#onData);
    socket.off("timeout", this.#onTimeout);
    socket.off("close", this.#onClose);
    socket.off("error", this.#onError);
    socket.off("end", this.#onEnd);
    socket.setTimeout(0);
    socket.pause();
    const buffer = this.#buffer;
    if (buffer !== undefined && this.#start < buffer.length) socket.unshift(buffer.subarray(this.#start));
    this.#buffer = undefined;
    this.#lane.options.handOff(socket);
    socket.resume();
  }

  /** Answers one request: undefined when the answer is written, or a promise of it. */
  #answer(request: LaneRequest): Promise<void> | undefined {
    const { app, view, healthPath } = this.#lane.options;
    const incoming = new LaneIncoming(request, this.socket, view);
    this.#current = incoming;
    if (request.target === healthPath && (request.method === "GET" || request.method === "HEAD")) {
      this.#writePlain(incoming, healthAnswer(this.#lane.draining));
      return undefined;
    }
    const outgoing = app.handle(incoming);
    if (outgoing instanceof Promise) return outgoing.then((done) => this.#write(incoming, done));
    return this.#write(incoming, outgoing);
  }

  #write(incoming: LaneIncoming, outgoing: Outgoing): Promise<void> | undefined {
    if (this.socket.destroyed) {
      // The client left while the app was answering: a streamed body is cancelled unread (a file is closed).
      if (isWebResponse(outgoing)) void outgoing.body?.cancel().catch(() => {});
      incoming.gone();
      return undefined;
    }
    if (!isWebResponse(outgoing)) {
      this.#writePlain(incoming, outgoing);
      return undefined;
    }
    const written = this.#writeStreamed(incoming, outgoing).catch((error: unknown) => {
      this.#lane.options.app.logger.error(
        `${incoming.method} ${incoming.target}: the response failed while being sent`,
        error,
      );
    });
    incoming.writing(written);
    return written;
  }

  /** Whether this answer is the connection's last: the client or the app asked, or the server is closing. */
  #closesAfter(incoming: LaneIncoming, head: Head): boolean {
    // A server shutting down answers what was pipelined behind this request too, and the last answer says so.
    const more = this.#buffer !== undefined && this.#start < this.#buffer.length;
    return incoming.closeAfter || head.closes || (this.#lane.draining && !more);
  }

  #writePlain(incoming: LaneIncoming, outgoing: PlainResponse): void {
    const head = new Head(outgoing.status);
    let valid = true;
    for (const [name, value] of outgoing.headers) valid &&= head.add(name, value);
    if (!valid) {
      this.#failed(incoming, new TypeError("a response header has an invalid name or value"));
      return;
    }
    const mayHaveBody = !forbidsBody(outgoing.status);
    const body = mayHaveBody ? outgoing.body : null;
    // An empty body is framed too: with neither length nor end, the client could not tell where the answer ends.
    if (mayHaveBody && !head.hasLength)
      head.text += `content-length: ${body === null ? 0 : byteLength(body)}\r\n`;
    const close = this.#closesAfter(incoming, head);
    const text = head.end(close, this.#lane.keepAlive);
    const socket = this.socket;
    const sendBody = body !== null && incoming.method !== "HEAD";
    this.#unflushed.push(incoming);
    incoming.status = outgoing.status;
    incoming.bytesBefore = socket.bytesWritten;
    if (!sendBody) socket.write(text, "latin1", this.#onFlushed);
    else if (typeof body === "string" && !head.latin1) socket.write(text + body, "utf8", this.#onFlushed);
    else {
      socket.cork();
      socket.write(text, "latin1");
      socket.write(body, this.#onFlushed);
      socket.uncork();
    }
    if (close) this.close();
    // Usually the kernel took it all in the write itself; only what is left waiting needs a timer.
    else if (socket.writableLength > 0) this.#whenUnread();
  }

  /** A response that could not be written: logged, and answered 500 if nothing was sent yet. */
  #failed(incoming: LaneIncoming, error: unknown): void {
    this.#lane.options.app.logger.error(
      `${incoming.method} ${incoming.target}: the response failed while being sent`,
      error,
    );
    this.#writePlain(incoming, {
      status: 500,
      headers: [["content-type", "application/json"]],
      body: FAILED,
    });
  }

  /** Ends the connection once what was written has gone out; requests pipelined behind are not answered. */
  close(): void {
    const socket = this.socket;
    this.#buffer = undefined;
    if (socket.writableEnded) return;
    socket.end();
    socket.once("finish", () => socket.destroy());
  }

  /** Closes the connection unless what is waiting to be sent is read within `sendTimeout`. */
  #whenUnread(): void {
    const socket = this.socket;
    const timer = setTimeout(() => socket.destroy(), this.#lane.limits.sendTimeout);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      socket.off("drain", done);
      socket.off("close", done);
    };
    socket.on("drain", done);
    socket.on("close", done);
  }

  /** An answer went out whole: the exchange is over, and the access log hears of it. */
  #finished(incoming: LaneIncoming): void {
    incoming.over();
    const log = this.#lane.options.accessLog;
    if (log === undefined) return;
    const socket = this.socket;
    const entry: AccessEntry = {
      client: clientAddress(socket),
      method: incoming.method,
      target: incoming.target,
      httpVersion: "1.1",
      status: incoming.status,
      bytes: socket.bytesWritten - incoming.bytesBefore,
      durationMs: performance.now() - incoming.startedAt,
    };
    try {
      if (log.access !== undefined) log.access(entry);
      else log.info(formatAccess(entry));
    } catch {
      // A logger that fails must not take the server with it.
    }
  }

  /**
   * Writes a web Response, its body streamed with backpressure: chunked, unless the app gave its length. When the
   * client goes away the body is cancelled, and the write settles only once the cancel has run (a generator's
   * `finally` included). A body that fails midway cuts the connection after what was written, so the client sees
   * an incomplete response; the failure is thrown.
   */
  async #writeStreamed(incoming: LaneIncoming, outgoing: Response): Promise<void> {
    const socket = this.socket;
    const head = new Head(outgoing.status);
    let valid = true;
    for (const [name, value] of outgoing.headers) if (name !== "set-cookie") valid &&= head.add(name, value);
    for (const cookie of outgoing.headers.getSetCookie()) valid &&= head.add("set-cookie", cookie);
    if (!valid) {
      // Nothing was sent yet: the client gets a 500 instead.
      void outgoing.body?.cancel().catch(() => {});
      this.#failed(incoming, new TypeError("a response header has an invalid name or value"));
      return;
    }
    const hasBody = incoming.method !== "HEAD" && !forbidsBody(outgoing.status);
    const chunked = hasBody && !head.hasLength && outgoing.body !== null;
    if (chunked) head.text += "transfer-encoding: chunked\r\n";
    else if (hasBody && !head.hasLength) head.text += "content-length: 0\r\n";
    const isEvents = outgoing.headers.get("content-type")?.startsWith("text/event-stream") === true;
    incoming.status = outgoing.status;
    incoming.bytesBefore = socket.bytesWritten;
    const body = outgoing.body;
    if (body === null || !hasBody) {
      // The body of a HEAD answer is not read: an endless event stream would never finish.
      const cancelled = body?.cancel().catch(() => {});
      const close = this.#closesAfter(incoming, head);
      this.#unflushed.push(incoming);
      socket.write(head.end(close, this.#lane.keepAlive), "latin1", this.#onFlushed);
      if (close) this.close();
      await cancelled;
      return;
    }
    socket.write(head.end(this.#closesAfter(incoming, head), this.#lane.keepAlive), "latin1");
    const reader = body.getReader();
    let cancelled: Promise<void> | undefined;
    /** The client left mid-body. Normal, not an error: the body's source is told (a generator's `finally` runs). */
    const onClose = () => {
      if (cancelled !== undefined) return;
      this.#lane.options.app.logger.debug(
        `${incoming.method} ${incoming.target}: the client left before the response was complete`,
      );
      cancelled = reader.cancel().catch(() => {});
    };
    socket.once("close", onClose);
    // An event stream never ends on its own: a server shutting down ends it (its client will reconnect elsewhere).
    let ended = false;
    const end = () => {
      ended = true;
      incoming.abort();
      cancelled ??= reader.cancel().catch(() => {});
    };
    if (isEvents) this.#lane.options.eventStreams.add(end);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (socket.destroyed) {
          // Destroyed before its "close" is emitted (whose listener goes in `finally`): the body is told here.
          onClose();
          break;
        }
        if (value.byteLength === 0) continue;
        let flowing: boolean;
        if (chunked) {
          socket.cork();
          socket.write(`${value.byteLength.toString(16)}\r\n`, "latin1");
          socket.write(value);
          flowing = socket.write("\r\n", "latin1");
          socket.uncork();
        } else flowing = socket.write(value);
        // Honour backpressure: wait for the socket to drain (or the client to leave) before reading more.
        if (!flowing) await drained(socket, this.#lane.limits.sendTimeout);
      }
      if (socket.destroyed) return;
      this.#unflushed.push(incoming);
      socket.write(chunked ? "0\r\n\r\n" : "", "latin1", this.#onFlushed);
      // An event stream ended by a shutdown closes its connection rather than waiting, idle, for another request.
      if (ended || this.#closesAfter(incoming, head)) this.close();
      else if (socket.writableLength > 0) this.#whenUnread();
    } catch (error) {
      // What was written goes out; then the connection is cut, short of the body's end.
      this.close();
      throw error;
    } finally {
      socket.off("close", onClose);
      this.#lane.options.eventStreams.delete(end);
      await cancelled;
    }
  }
}
