// The Node adapter's view of a request: IncomingMessage wrapped for the core, its body read with limits, and the
// proxy settings it is read under.

import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { BriskError, HTTPException } from "../errors.ts";
import type { Incoming } from "../exchange.ts";
import { AfterResponseQueue } from "../internal/after-response.ts";
import {
  type Forwarded,
  parseTrustedProxies,
  readForwarded,
  type TrustedProxies,
} from "../internal/forwarded.ts";
import { splitTarget } from "../internal/target.ts";
import { readRequestBody, streamWebBody, tooLarge } from "./fetch.ts";

/** How a server sees its place behind proxies: computed once per server from {@link ServeOptions}. */
export interface ProxyView {
  /** `--root-path`; undefined leaves the App's own `rootPath`. */
  readonly rootPath: string | undefined;
  /** Peers whose X-Forwarded-* headers count; undefined when proxy headers are off. */
  readonly trusted: TrustedProxies | undefined;
}

export const NOT_FORWARDED: Forwarded = {
  proto: undefined,
  host: undefined,
  client: undefined,
  prefix: undefined,
};

/**
 * A Node request as the core sees it. A class rather than an object of closures: one allocation per request,
 * and a web `Request` only if a handler asks for one.
 */
export class NodeIncoming implements Incoming {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly rootPath: string | undefined;
  readonly #req: IncomingMessage;
  /** The response; none for a WebSocket handshake, whose exchange is over when its connection closes. */
  readonly #res: ServerResponse | undefined;
  readonly #view: ProxyView;
  #forwarded: Forwarded | undefined;
  #received: Uint8Array | undefined;
  #request: Request | undefined;
  #aborts: AbortController | undefined;
  #after: AfterResponseQueue | undefined;
  #written: Promise<void> | undefined;

  constructor(req: IncomingMessage, res: ServerResponse | undefined, view: ProxyView) {
    this.#req = req;
    this.#res = res;
    this.#view = view;
    this.method = req.method ?? "GET";
    [this.path, this.search] = splitTarget(req.url ?? "/");
    // Most requests carry no X-Forwarded-Prefix: only then is the peer checked. The raw list is searched because
    // Node builds `req.headers` lazily, on first access, and a GET that reads no header need not pay for it.
    const prefix =
      view.trusted !== undefined && hasRawHeader(req.rawHeaders, "x-forwarded-prefix")
        ? this.#proxied().prefix
        : undefined;
    this.rootPath = prefix ?? view.rootPath;
  }

  /** What a trusted proxy says about the original request; nothing when the peer is not trusted. */
  #proxied(): Forwarded {
    const { trusted } = this.#view;
    if (trusted === undefined) return NOT_FORWARDED;
    this.#forwarded ??= readForwarded((name) => this.header(name), this.#req.socket.remoteAddress, trusted);
    return this.#forwarded;
  }

  header(name: string): string | undefined {
    const value = this.#req.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }

  headerNames(): Iterable<string> {
    return Object.keys(this.#req.headers);
  }

  readBody(limit: number): Promise<Uint8Array> {
    // Once a web Request exists (a middleware asked for one), the body flows through it: reading the Node stream
    // as well would split the chunks between two readers.
    const body = this.#request?.body;
    if (this.#res === undefined) return Promise.resolve(new Uint8Array(0));
    const read =
      body === undefined || body === null
        ? readNodeBody(this.#req, this.#res, limit)
        : readRequestBody(this.#request!, limit);
    return read.then((bytes) => (this.#received = bytes));
  }

  readBodyStream(limit: number): AsyncIterable<Uint8Array> {
    const body = this.#request?.body;
    if (this.#res === undefined) return streamWebBody(null, limit);
    return body === undefined || body === null
      ? streamNodeBody(this.#req, this.#res, limit)
      : streamWebBody(body, limit);
  }

  abort(): void {
    this.#aborts ??= new AbortController();
    this.#aborts.abort();
  }

  get signal(): AbortSignal {
    if (this.#aborts === undefined) {
      const aborts = new AbortController();
      // A response that was sent in full was not abandoned; a WebSocket's connection ending always ends the exchange.
      this.whenOver(() => this.#res?.writableFinished === true || aborts.abort());
      this.#aborts = aborts;
    }
    return this.#aborts.signal;
  }

  /**
   * Calls `listener` once the exchange is over (at once if it is): its response has closed (sent in full, or
   * abandoned), or its connection has. Node says nothing to a response queued behind a pipelined one when the
   * connection goes: only the connection's close tells.
   */
  whenOver(listener: () => void): void {
    const res = this.#res;
    // A WebSocket handshake's request holds the upgraded connection too.
    const socket = this.#req.socket;
    if (socket.destroyed || res?.closed === true) {
      listener();
      return;
    }
    const over = () => {
      res?.off("close", over);
      socket.off("close", over);
      listener();
    };
    res?.once("close", over);
    socket.once("close", over);
  }

  /** Records the writing of a streamed body: the after-response tasks wait for it to settle. */
  writing(written: Promise<void>): void {
    this.#written = written;
  }

  afterResponse(task: () => void | Promise<void>): void {
    if (this.#after === undefined) {
      const after = new AfterResponseQueue();
      // An exchange that is already over (a handler finishing after its deadline was answered) starts at once.
      this.whenOver(() => void (this.#written ?? Promise.resolve()).then(() => after.start()));
      this.#after = after;
    }
    this.#after.add(task);
  }

  toRequest(): Request {
    // A request whose body brisk has read is rebuilt around the bytes, so the handler can still read them.
    if (this.#request !== undefined && !(this.#request.bodyUsed && this.#received !== undefined)) {
      return this.#request;
    }
    const req = this.#req;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      for (const each of Array.isArray(value) ? value : [value]) headers.append(name, each);
    }
    const hasBody = this.method !== "GET" && this.method !== "HEAD";
    const body = !hasBody ? null : (this.#received ?? (Readable.toWeb(req) as ReadableStream<Uint8Array>));
    const init = { method: this.method, headers, body, duplex: "half" } as RequestInit;
    this.#request = new Request(this.#clientUrl(), init);
    return this.#request;
  }

  #clientUrl(): string {
    const encrypted = (this.#req.socket as { encrypted?: boolean }).encrypted === true;
    return clientUrl(this, this.#proxied(), encrypted ? "https" : "http", this.#req.headers.host);
  }
}

/**
 * The URL as the client wrote it: the scheme and host a trusted proxy forwarded (else the connection's scheme and
 * the Host header), and the root path.
 */
export function clientUrl(
  incoming: Pick<Incoming, "path" | "search" | "rootPath">,
  forwarded: Forwarded,
  scheme: string,
  host: string | undefined,
): string {
  // The path and query as routed: an absolute-form target (`GET http://host/x`) keeps only those.
  const { path, search } = incoming;
  const target = search === "" ? path : `${path}?${search}`;
  const root = incoming.rootPath ?? "";
  const prefixed =
    root !== "" && !(target === root || target.startsWith(`${root}/`) || target.startsWith(`${root}?`));
  return `${forwarded.proto ?? scheme}://${forwarded.host ?? host ?? "localhost"}${prefixed ? root : ""}${target}`;
}

/**
 * Connections whose request was refused before the app could use it (a body over its limit, a head the server
 * will not accept): they close after that answer, and requests the client pipelined behind it are not run, since
 * their answers could never be sent.
 */
const closing = new WeakSet<object>();

/** Marks the connection of `res` to close after its answer, running no request pipelined behind it. */
export function closeAfter(res: ServerResponse): void {
  closing.add(res.req.socket);
  res.shouldKeepAlive = false;
}

/** Whether a connection is closing after a refused request (see {@link closeAfter}). */
export function isClosing(socket: object): boolean {
  return closing.has(socket);
}

/** Whether a header (lower-case name) is among Node's raw name/value pairs. */
function hasRawHeader(raw: readonly string[], name: string): boolean {
  for (let index = 0; index < raw.length; index += 2) {
    const each = raw[index]!;
    if (each.length === name.length && each.toLowerCase() === name) return true;
  }
  return false;
}

/** Collects a Node request body, refusing a declared or received size over `limit` with 413. */
function readNodeBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > limit) {
    // The rest of the body will not be read, so the connection cannot be reused.
    closeAfter(res);
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    // The listeners stay with the request, which is dropped after its response, and ignore what follows the
    // outcome: removing them would delete keys from the emitter's listener object, turning it into a slow
    // dictionary for Node's own events that follow. A client that goes away makes the request emit "error".
    let settled = false;
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      total += chunk.byteLength;
      if (total > limit) {
        settled = true;
        closeAfter(res);
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    });
    req.on("error", () => {
      if (settled) return;
      settled = true;
      reject(new HTTPException(400, "The request body was not received in full"));
    });
  });
}

/**
 * A Node request body as it arrives, chunk by chunk, paused while the reader is busy. Not `for await` over the
 * request: ending that early destroys the socket, and with it the 413 the reader is about to send.
 */
async function* streamNodeBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): AsyncGenerator<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > limit) {
    closeAfter(res);
    throw tooLarge(limit);
  }
  let ended = false;
  let failed = false;
  let wake: (() => void) | undefined;
  const onReadable = () => wake?.();
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onError = () => {
    failed = true;
    wake?.();
  };
  req.on("readable", onReadable);
  req.on("end", onEnd);
  req.on("error", onError);
  req.on("aborted", onError);
  let total = 0;
  try {
    for (;;) {
      for (let chunk: Buffer | null = req.read(); chunk !== null; chunk = req.read()) {
        total += chunk.byteLength;
        if (total > limit) throw tooLarge(limit);
        yield chunk;
      }
      if (failed) throw new HTTPException(400, "The request body was not received in full");
      if (ended || req.readableEnded) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    req.off("readable", onReadable);
    req.off("end", onEnd);
    req.off("error", onError);
    req.off("aborted", onError);
    // The rest of the body will not be read, so the connection cannot be reused.
    if (!ended && !req.readableEnded) closeAfter(res);
  }
}

/** How a Node server serving an app behind proxies reads requests. */
export interface ProxyOptions {
  /**
   * The path prefix a proxy serves the app under (uvicorn's `--root-path`); overrides the App's `rootPath`.
   * Requests are routed with or without it.
   */
  readonly rootPath?: string;
  /**
   * Honour X-Forwarded-Proto, -Host, -For and -Prefix from trusted peers.
   * @default true
   */
  readonly proxyHeaders?: boolean;
  /**
   * The peers trusted with those headers: comma-separated addresses and CIDR networks, or `*` for every peer.
   * @default process.env.FORWARDED_ALLOW_IPS ?? "127.0.0.1"
   */
  readonly forwardedAllowIps?: string;
}

export function proxyView(options: ProxyOptions): ProxyView {
  const rootPath = options.rootPath?.replace(/\/+$/, "");
  if (rootPath !== undefined && rootPath !== "" && !rootPath.startsWith("/")) {
    throw new BriskError(
      "BRISK_INVALID_OPTION",
      `rootPath must start with "/", got ${JSON.stringify(rootPath)}`,
    );
  }
  const allow = options.forwardedAllowIps ?? process.env.FORWARDED_ALLOW_IPS ?? "127.0.0.1";
  return {
    rootPath,
    trusted: options.proxyHeaders === false ? undefined : parseTrustedProxies(allow),
  };
}
