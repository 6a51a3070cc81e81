// A request answered by the fast lane, as the core sees it: its head already read, its body already received.

import type { Socket } from "node:net";
import type { Incoming } from "../exchange.ts";
import { AfterResponseQueue } from "../internal/after-response.ts";
import { type Forwarded, readForwarded } from "../internal/forwarded.ts";
import { splitTarget } from "../internal/target.ts";
import { tooLarge } from "./fetch.ts";
import { clientUrl, NOT_FORWARDED, type ProxyView } from "./node-incoming.ts";
import type { LaneRequest } from "./request-head.ts";

export class LaneIncoming implements Incoming {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly rootPath: string | undefined;
  /** When the response began (performance.now()), for the access log. */
  readonly startedAt: number;
  /** The client sent `Connection: close`, or its body was refused: the connection closes after the response. */
  closeAfter: boolean;
  /** The answer's status and where the socket's byte count stood before it, for the access log. */
  status = 0;
  bytesBefore = 0;
  readonly #sent: LaneRequest;
  readonly #socket: Socket;
  readonly #view: ProxyView;
  #forwarded: Forwarded | undefined;
  #request: Request | undefined;
  #aborts: AbortController | undefined;
  #after: AfterResponseQueue | undefined;
  #written: Promise<void> | undefined;
  /** The response went out in full (to the kernel), or the connection closed first. */
  #over = false;

  constructor(sent: LaneRequest, socket: Socket, view: ProxyView) {
    this.#sent = sent;
    this.#socket = socket;
    this.#view = view;
    this.method = sent.method;
    this.closeAfter = sent.close;
    this.startedAt = performance.now();
    [this.path, this.search] = splitTarget(sent.target);
    const prefix =
      view.trusted !== undefined && this.header("x-forwarded-prefix") !== undefined
        ? this.#proxied().prefix
        : undefined;
    this.rootPath = prefix ?? view.rootPath;
  }

  get target(): string {
    return this.#sent.target;
  }

  #proxied(): Forwarded {
    const { trusted } = this.#view;
    if (trusted === undefined) return NOT_FORWARDED;
    this.#forwarded ??= readForwarded((name) => this.header(name), this.#socket.remoteAddress, trusted);
    return this.#forwarded;
  }

  header(name: string): string | undefined {
    // No name is there twice (see readRequestHead), and heads are short: a scan beats building a map.
    const headers = this.#sent.headers;
    for (let index = 0; index < headers.length; index += 2) {
      if (headers[index] === name) return headers[index + 1];
    }
    return undefined;
  }

  *headerNames(): Iterable<string> {
    const headers = this.#sent.headers;
    for (let index = 0; index < headers.length; index += 2) yield headers[index]!;
  }

  readBody(limit: number): Promise<Uint8Array> {
    const body = this.#sent.body;
    if (body.byteLength > limit) {
      // Answered as Node's side answers it, which cannot read the rest: the connection closes after the 413.
      this.closeAfter = true;
      return Promise.reject(tooLarge(limit));
    }
    return Promise.resolve(body);
  }

  async *readBodyStream(limit: number): AsyncIterable<Uint8Array> {
    const body = this.#sent.body;
    if (body.byteLength > limit) {
      this.closeAfter = true;
      throw tooLarge(limit);
    }
    if (body.byteLength > 0) yield body;
  }

  abort(): void {
    this.#aborts ??= new AbortController();
    this.#aborts.abort();
  }

  get signal(): AbortSignal {
    if (this.#aborts === undefined) {
      this.#aborts = new AbortController();
      if (this.#socket.destroyed && !this.#over) this.#aborts.abort();
    }
    return this.#aborts.signal;
  }

  /** Records the writing of a streamed body: the after-response tasks wait for it to settle. */
  writing(written: Promise<void>): void {
    this.#written = written;
  }

  /** Called by the lane once the response has gone out in full (to the kernel). */
  over(): void {
    if (this.#over) return;
    this.#over = true;
    this.#startAfter();
  }

  /** Called by the lane when the connection closes: an exchange not over by then was abandoned. */
  gone(): void {
    if (!this.#over) this.#aborts?.abort();
    this.over();
  }

  afterResponse(task: () => void | Promise<void>): void {
    if (this.#after === undefined) {
      this.#after = new AfterResponseQueue();
      if (this.#over || this.#socket.destroyed) this.#startAfter();
    }
    this.#after.add(task);
  }

  /** Starts the after-response tasks; after a streamed body, once it is done with, cancelled or not. */
  #startAfter(): void {
    const after = this.#after;
    if (after !== undefined) void (this.#written ?? Promise.resolve()).then(() => after.start());
  }

  toRequest(): Request {
    // The body is bytes in hand: a Request whose body was read is rebuilt around them.
    if (this.#request !== undefined && !this.#request.bodyUsed) return this.#request;
    const headers = new Headers();
    const pairs = this.#sent.headers;
    for (let index = 0; index < pairs.length; index += 2) headers.append(pairs[index]!, pairs[index + 1]!);
    const hasBody = this.method !== "GET" && this.method !== "HEAD";
    const init = { method: this.method, headers, body: hasBody ? this.#sent.body : null, duplex: "half" };
    const url = clientUrl(this, this.#proxied(), "http", this.header("host"));
    this.#request = new Request(url, init as RequestInit);
    return this.#request;
  }
}
