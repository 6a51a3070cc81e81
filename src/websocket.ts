// WebSocket routes: `app.ws(path, spec, handler)`. The handshake's inputs are validated and its dependencies
// solved as for HTTP; messages in and out are validated by the spec's `message` and `send` schemas.

import secureJson from "secure-json-parse";
import type { $ZodType } from "zod/v4/core";
import type { Dependency, DependencyMap } from "./dependency.ts";
import type { ValidationIssue } from "./errors.ts";
import { consoleLogger } from "./logger.ts";
import type { PathParams } from "./path.ts";
import type { DepsOf, InputContext, ParamSchema } from "./route.ts";
import { toValidationIssues } from "./schema/issues.ts";
import type { StandardSchemaV1 } from "./schema/standard.ts";
import { compileValidator } from "./schema/validator.ts";
import { isZodSchema } from "./schema/zod.ts";

/** What a WebSocket route declares. Every key is optional. */
export interface WebSocketSpec {
  /** Path parameters, as for HTTP routes. */
  readonly params?: ParamSchema;
  /** Query parameters of the handshake request. */
  readonly query?: ParamSchema;
  /** Headers of the handshake request. */
  readonly headers?: ParamSchema;
  /** Cookies of the handshake request. */
  readonly cookies?: ParamSchema;
  /** Dependencies whose values the handler receives, solved once, at the handshake. */
  readonly deps?: DependencyMap;
  /** Dependencies run for their effect (an auth check) before `deps`. */
  readonly dependencies?: readonly Dependency<unknown>[];
  /**
   * Incoming messages: JSON text, validated by this schema. An invalid message closes the connection with 1008
   * after a last message `{"detail": [...]}` naming the problems. Without it, messages arrive as they are (text
   * as strings, binary as bytes).
   */
  readonly message?: StandardSchemaV1;
  /** Outgoing messages: validated and filtered by this schema, sent as JSON text. */
  readonly send?: StandardSchemaV1;
  /**
   * Largest incoming message in bytes; a bigger one closes the connection with 1009, as soon as its declared
   * length (or the bytes of its fragments so far) passes the limit. Overrides the app's `messageLimit`.
   * @default the app's messageLimit (its bodyLimit, 1 MiB, unless set)
   */
  readonly messageLimit?: number;
}

type In<Schema> = StandardSchemaV1.InferOutput<Schema & StandardSchemaV1>;
type Out<Schema> = StandardSchemaV1.InferInput<Schema & StandardSchemaV1>;

/** A message as the handler receives it: the `message` schema's output, or the raw text or bytes. */
export type Received<Spec> = Spec extends { readonly message: infer Schema }
  ? In<Schema>
  : string | Uint8Array;

/** A message the handler may send: the `send` schema's input, or any JSON value, text or bytes. */
export type Sendable<Spec> = Spec extends { readonly send: infer Schema } ? Out<Schema> : unknown;

/** What a WebSocket handler receives: the handshake's validated inputs, and the connection. */
export interface WebSocketContext<Path extends string, Spec extends WebSocketSpec>
  extends Pick<
    InputContext<Spec, PathParams<Path>>,
    "params" | "query" | "headers" | "cookies" | "request" | "state" | "signal"
  > {
  readonly socket: WebSocketConnection<Received<Spec>, Sendable<Spec>>;
}

/** A WebSocket handler: it owns the connection until it returns (the connection is then closed with 1000). */
export type WebSocketHandler<Path extends string, Spec extends WebSocketSpec> = (
  context: WebSocketContext<Path, Spec> & DepsOf<Spec>,
) => void | Promise<void>;

/** What the core needs of an accepted WebSocket, whatever library holds it. */
export interface SocketPort {
  /**
   * Sends a text (string) or binary message. Resolves `true` once it is handed to the socket, `false` when it
   * could not be (the peer has gone or the connection is closing); never rejects.
   */
  send(data: string | Uint8Array): Promise<boolean>;
  close(code: number, reason: string): void;
  /** Stops reading from the peer (backpressure), and starts again. */
  pause(): void;
  resume(): void;
  onMessage(listener: (data: string | Uint8Array) => void): void;
  onClose(listener: (code: number, reason: string) => void): void;
}

/** What the core asks of an adapter as it accepts a handshake. */
export interface AcceptOptions {
  /** Largest incoming message in bytes: an adapter that can refuse a longer one before receiving it does. */
  readonly messageLimit: number;
}

/** How a connection closed. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** WebSocket close codes brisk uses (RFC 6455 §7.4.1). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
} as const;

/** Messages waiting for the handler past this many stop the reading from the peer until it catches up. */
const QUEUE_HIGH = 64;

/** Checks and writes messages of one route; compiled once. */
export interface MessageCodec {
  /** The received message's value, or its validation issues. */
  decode(data: string | Uint8Array): Promise<{ value: unknown } | { issues: ValidationIssue[] }>;
  /** The frame for a message the handler sends (throws when it does not match `send`). */
  encode(message: unknown): string | Uint8Array | Promise<string | Uint8Array>;
  /** Largest incoming message in bytes. */
  readonly messageLimit: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Compiles the message checks of a route's spec; `serialize` writes outgoing messages (validated by `send`), and
 * `messageLimit` is the app's, for a route that sets none.
 */
export function compileMessageCodec(
  spec: WebSocketSpec,
  serialize: (value: unknown) => string | Promise<string>,
  messageLimit: number,
): MessageCodec {
  const schema = spec.message;
  const validate = schema === undefined ? undefined : compileValidator(schema);
  const zod: $ZodType | undefined = schema !== undefined && isZodSchema(schema) ? schema : undefined;
  const decode: MessageCodec["decode"] = async (data) => {
    if (validate === undefined) return { value: data };
    let text: string;
    try {
      text = typeof data === "string" ? data : decoder.decode(data);
    } catch {
      return {
        issues: [{ type: "json_invalid", loc: ["message"], msg: "Message is not UTF-8", input: null }],
      };
    }
    let value: unknown;
    try {
      value = secureJson.parse(text, null, { protoAction: "error", constructorAction: "error" });
    } catch {
      return { issues: [{ type: "json_invalid", loc: ["message"], msg: "JSON decode error", input: text }] };
    }
    const result = await validate(value);
    if (result.issues === undefined) return { value: result.value };
    return { issues: toValidationIssues(result.issues, { loc: ["message"], raw: value, zod, kind: "body" }) };
  };
  const encode: MessageCodec["encode"] = (message) => {
    if (spec.send === undefined && (typeof message === "string" || message instanceof Uint8Array))
      return message;
    return serialize(message);
  };
  return { decode, encode, messageLimit: spec.messageLimit ?? messageLimit };
}

/**
 * An accepted WebSocket as the handler sees it: iterate it for the messages (the loop ends when the peer closes),
 * `send` typed messages, `close` it.
 *
 * @example
 * for await (const message of socket) await socket.send({ echo: message.text });
 */
export class WebSocketConnection<Receive = unknown, Send = unknown> implements AsyncIterable<Receive> {
  readonly #port: SocketPort;
  readonly #codec: MessageCodec;
  readonly #queue: Receive[] = [];
  #waiting: ((step: IteratorResult<Receive>) => void) | undefined;
  #decoding: Promise<void> = Promise.resolve();
  #closed: CloseInfo | undefined;
  #paused = false;
  readonly #done: Promise<CloseInfo>;
  readonly #report: (what: string, error: unknown) => void;

  /**
   * `report` hears of the server's own failures on this connection: a message the handler sent that could not be
   * written (it failed the `send` schema, or could not be serialized), or a received one whose check threw. The
   * connection is then closed with 1011.
   */
  constructor(
    port: SocketPort,
    codec: MessageCodec,
    report: (what: string, error: unknown) => void = (what, error) =>
      consoleLogger.error(`WebSocket: ${what}`, error),
  ) {
    this.#port = port;
    this.#codec = codec;
    this.#report = report;
    let settle: (info: CloseInfo) => void = () => {};
    this.#done = new Promise((resolve) => {
      settle = resolve;
    });
    port.onMessage((data) => {
      // Decoded in arrival order, even when a schema's checks are asynchronous.
      this.#decoding = this.#decoding
        .then(() => this.#receive(data))
        .catch((error: unknown) => {
          this.#report("a received message could not be checked", error);
          this.close(CLOSE.internalError, "Internal error");
        });
    });
    port.onClose((code, reason) => {
      this.#closed ??= { code, reason };
      // Messages already received are still delivered; the loop ends after them.
      void this.#decoding.then(() => {
        this.#waiting?.({ done: true, value: undefined });
        this.#waiting = undefined;
        settle(this.#closed!);
      });
    });
  }

  /** Whether the connection is still open (neither side has closed it). */
  get open(): boolean {
    return this.#closed === undefined;
  }

  /** Resolves with the close code and reason once the connection has closed. */
  get closed(): Promise<CloseInfo> {
    return this.#done;
  }

  async #receive(data: string | Uint8Array): Promise<void> {
    if (this.#closed !== undefined) return;
    const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
    // Adapters that can refuse an oversized message before it is received (Node's, through ws) do; this check
    // is for those that hand over whole messages.
    if (size > this.#codec.messageLimit) {
      this.close(CLOSE.tooBig, `Message larger than ${this.#codec.messageLimit} bytes`);
      return;
    }
    const decoded = await this.#codec.decode(data);
    if ("issues" in decoded) {
      await this.#port.send(JSON.stringify({ detail: decoded.issues }));
      this.close(CLOSE.policyViolation, "Invalid message");
      return;
    }
    const message = decoded.value as Receive;
    if (this.#waiting !== undefined) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting({ done: false, value: message });
      return;
    }
    this.#queue.push(message);
    if (this.#queue.length >= QUEUE_HIGH && !this.#paused) {
      this.#paused = true;
      this.#port.pause();
    }
  }

  /** The next message, or `undefined` once the connection has closed. */
  async receive(): Promise<Receive | undefined> {
    const step = await this.#next();
    return step.done === true ? undefined : step.value;
  }

  #next(): Promise<IteratorResult<Receive>> {
    const queued = this.#queue.shift();
    if (this.#paused && this.#queue.length < QUEUE_HIGH / 2) {
      this.#paused = false;
      this.#port.resume();
    }
    if (queued !== undefined) return Promise.resolve({ done: false, value: queued });
    if (this.#closed !== undefined) {
      return this.#decoding.then(() => {
        const late = this.#queue.shift();
        return late === undefined ? { done: true, value: undefined } : { done: false, value: late };
      });
    }
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Receive> {
    return {
      next: () => this.#next(),
      return: async () => ({ done: true, value: undefined }),
    };
  }

  /**
   * Sends a message: validated and filtered by the route's `send` schema and written as JSON (without one, text
   * and bytes go as they are and other values as JSON).
   *
   * Resolves `true` once the message is handed to the socket, and `false` when it was not sent: the connection
   * is closing or closed (a peer may leave at any moment; the message is dropped, as it would be on the wire), or
   * the message failed the `send` schema (a bug in the handler: it is logged, and the connection closed with
   * 1011). It never rejects, so a loop or a broadcast that sends needs no try/catch. A peer that reads nothing of
   * what is sent for `limits.sendTimeout` is cut off, so an awaited send cannot wait forever.
   */
  async send(message: Send): Promise<boolean> {
    if (this.#closed !== undefined) return false;
    let frame: string | Uint8Array;
    try {
      frame = await this.#codec.encode(message);
    } catch (error) {
      this.#report("a message could not be sent", error);
      this.close(CLOSE.internalError, "Internal error");
      return false;
    }
    if (this.#closed !== undefined) return false;
    return this.#port.send(frame);
  }

  /** Closes the connection (1000 by default); the reason is cut to the 123 bytes a close frame can carry. */
  close(code: number = CLOSE.normal, reason = ""): void {
    if (this.#closed !== undefined) return;
    this.#closed = { code, reason };
    this.#port.close(code, fitReason(reason));
  }
}

/** A close reason cut to the 123 bytes of UTF-8 a close frame holds, without splitting a character. */
function fitReason(reason: string): string {
  let fitted = reason;
  while (Buffer.byteLength(fitted) > 123) fitted = [...fitted].slice(0, -1).join("");
  return fitted;
}
