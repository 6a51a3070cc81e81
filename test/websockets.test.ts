// WebSocket routes (`app.ws`, `router.ws`): the handshake's inputs and dependencies, typed messages in and out,
// refusals as HTTP responses, routing, the connection's lifecycle, backpressure, state and signal. Over real
// sockets (`listen` on port 0, `ws` as the client) and in-process through `testClient(app).websocket(...)`.
import assert from "node:assert/strict";
import { once } from "node:events";
import { type Socket, connect as tcpConnect } from "node:net";
import type { Duplex } from "node:stream";
import { describe, test } from "node:test";
import { setTimeout as sleep, setImmediate as tick } from "node:timers/promises";
import {
  App,
  apiKey,
  type CloseInfo,
  dependency,
  HTTPException,
  httpBearer,
  type Listening,
  type ListenOptions,
  listen,
  Router,
  WebSocketGroup,
} from "briskjs";
import { testClient, WebSocketRefused } from "briskjs/testing";
import { type ClientOptions, WebSocket } from "ws";
import { z } from "zod";
import { residentBytes } from "../bench/lib/process.ts";
import { compileMessageCodec, type SocketPort, WebSocketConnection } from "../src/websocket.ts";
import { asState, recordingLogger, stateRecord } from "./helpers/app.ts";
import { launch, waitForStdout } from "./helpers/cli.ts";
import { clientFrame, OPCODE, upgradeRequest, ZERO_MASK } from "./helpers/ws-frames.ts";

/** How long any single wait may take: the machine is slow and shared, so this is generous. */
const WAIT = 30_000;

/** Settles with `promise`, or fails naming what was awaited once `ms` have passed. */
async function within<T>(promise: Promise<T>, what: string, ms = WAIT): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise and the function that resolves it: how a test hears from a handler running on the server. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Waits until `check()` holds (work brisk does after a connection ends), failing after `ms`. */
async function eventually(check: () => boolean, what: string, ms = WAIT): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Opens a raw TCP connection and completes a WebSocket handshake on it by hand, for frames a client library would not send. */
async function rawWebSocket(base: string, path: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  const socket = tcpConnect(Number(port), hostname);
  socket.on("error", () => {});
  await within(once(socket, "connect"), "the connection");
  socket.write(upgradeRequest(path, ZERO_MASK));
  let head = Buffer.alloc(0);
  while (head.indexOf("\r\n\r\n") === -1) {
    const [chunk] = (await within(once(socket, "data"), "the handshake's answer")) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 101 /);
  // Anything after the head is the first frame: put back for whoever reads frames.
  const rest = head.subarray(head.indexOf("\r\n\r\n") + 4);
  if (rest.length > 0) socket.unshift(rest);
  return socket;
}

/** The code and reason of the first close frame the server sends on a raw connection. */
async function closeFrameOf(socket: Socket): Promise<CloseInfo> {
  let bytes = Buffer.alloc(0);
  for (;;) {
    // Server frames are not masked; a close frame's payload is short (two bytes of code and a reason).
    for (let at = 0; at + 2 <= bytes.length; ) {
      const opcode = bytes[at]! & 0x0f;
      const length = bytes[at + 1]! & 0x7f;
      const start = at + (length === 126 ? 4 : length === 127 ? 10 : 2);
      const size =
        length === 126
          ? bytes.readUInt16BE(at + 2)
          : length === 127
            ? Number(bytes.readBigUInt64BE(at + 2))
            : length;
      if (start + size > bytes.length) break;
      if (opcode === 0x8) {
        const payload = bytes.subarray(start, start + size);
        return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString("utf8") };
      }
      at = start + size;
    }
    const chunk = await within(
      new Promise<Buffer | undefined>((resolve) => {
        const onData = (data: Buffer) => {
          socket.off("close", onClose);
          resolve(data);
        };
        const onClose = () => {
          socket.off("data", onData);
          resolve(undefined);
        };
        socket.once("data", onData);
        socket.once("close", onClose);
      }),
      "a close frame",
    );
    if (chunk === undefined) throw new Error("the connection closed without a close frame");
    bytes = Buffer.concat([bytes, chunk]);
  }
}

/** One message as the client received it. */
interface Frame {
  readonly data: Buffer;
  readonly binary: boolean;
}

/** The client's end of a real WebSocket: the messages it received, in order, and how it closed. */
class Peer {
  readonly ws: WebSocket;
  readonly closed: Promise<CloseInfo>;
  readonly #inbox: Frame[] = [];
  readonly #waiting: { resolve: (frame: Frame) => void; reject: (error: Error) => void }[] = [];
  #ended: CloseInfo | undefined;

  constructor(ws: WebSocket) {
    this.ws = ws;
    // A protocol error the server causes (a 1009, say) must not become an uncaught exception.
    ws.on("error", () => {});
    ws.on("message", (data, binary) => {
      const frame = { data: Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer), binary };
      const reader = this.#waiting.shift();
      if (reader === undefined) this.#inbox.push(frame);
      else reader.resolve(frame);
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.#ended = { code, reason: reason.toString("utf8") };
        for (const reader of this.#waiting.splice(0)) {
          reader.reject(new Error(`the connection closed with ${code} before a message came`));
        }
        resolve(this.#ended);
      });
    });
  }

  /** The next message; fails if the connection closes first. */
  next(ms = WAIT): Promise<Frame> {
    const frame = this.#inbox.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.#ended !== undefined) {
      return Promise.reject(new Error(`the connection closed with ${this.#ended.code}, no message left`));
    }
    const next = new Promise<Frame>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    return within(next, "a message from the server", ms);
  }

  /** The next message, which must be a text frame. */
  async text(ms = WAIT): Promise<string> {
    const frame = await this.next(ms);
    assert.equal(frame.binary, false, "a text frame");
    return frame.data.toString("utf8");
  }

  /** The next message: a text frame of JSON. */
  async json(ms = WAIT): Promise<unknown> {
    return JSON.parse(await this.text(ms));
  }

  /** Messages received and not read yet. */
  get unread(): number {
    return this.#inbox.length;
  }

  /** How the connection closed, waiting for it. */
  end(ms = WAIT): Promise<CloseInfo> {
    return within(this.closed, "the connection to close", ms);
  }
}

/** What a refused handshake answered. */
interface Refusal {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A running server and a client for it. */
interface Served {
  readonly listening: Listening;
  /** The ws:// URL of a path. */
  url(path: string): string;
  /** Opens a WebSocket; fails if the handshake is refused. */
  connect(path: string, options?: ClientOptions): Promise<Peer>;
  /** Opens a WebSocket expecting the handshake to be refused, and reads the HTTP response. */
  refusal(path: string, options?: ClientOptions): Promise<Refusal>;
}

/** Serves `app` on a free port for the duration of `run`, then closes every client and the server. */
async function serving(
  app: App,
  run: (served: Served) => Promise<void>,
  options: ListenOptions = {},
): Promise<void> {
  const listening = await listen(app, { port: 0, ...options });
  const clients: WebSocket[] = [];
  const url = (path: string) => `${listening.url.replace(/^http/, "ws")}${path}`;
  const served: Served = {
    listening,
    url,
    connect(path, init) {
      const ws = new WebSocket(url(path), init);
      clients.push(ws);
      const peer = new Peer(ws);
      const opened = new Promise<Peer>((resolve, reject) => {
        ws.once("open", () => resolve(peer));
        ws.once("unexpected-response", (request, response) => {
          response.resume();
          request.destroy();
          reject(new Error(`the handshake to ${path} was refused with ${response.statusCode}`));
        });
        ws.once("error", reject);
      });
      return within(opened, `the handshake to ${path}`);
    },
    refusal(path, init) {
      const ws = new WebSocket(url(path), init);
      clients.push(ws);
      ws.on("error", () => {});
      const refused = new Promise<Refusal>((resolve, reject) => {
        ws.once("open", () => reject(new Error(`the handshake to ${path} was accepted`)));
        ws.once("unexpected-response", (request, response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString("utf8"),
            });
            request.destroy();
          });
        });
      });
      return within(refused, `the refusal of ${path}`);
    },
  };
  try {
    await run(served);
  } finally {
    for (const ws of clients) ws.terminate();
    await within(listening.close(), "the server to close");
  }
}

/** Writes raw bytes on a fresh TCP connection and returns everything the server sends until it closes. */
function rawExchange(base: string, payload: string): Promise<string> {
  const { hostname, port } = new URL(base);
  const exchange = new Promise<string>((resolve) => {
    const socket = tcpConnect({ host: hostname, port: Number(port) });
    const parts: Buffer[] = [];
    const finish = () => {
      socket.destroy();
      resolve(Buffer.concat(parts).toString("latin1"));
    };
    socket.on("data", (chunk: Buffer) => parts.push(chunk));
    socket.on("end", finish);
    socket.on("close", finish);
    socket.on("error", finish);
    socket.on("connect", () => socket.write(payload));
  });
  return within(exchange, "a raw HTTP answer");
}

/** The status and JSON body of a raw HTTP/1.1 answer. */
function parseRaw(raw: string): { status: number; head: string; body: string } {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  assert.ok(match !== null, `an HTTP answer, got ${JSON.stringify(raw)}`);
  const end = raw.indexOf("\r\n\r\n");
  return { status: Number(match[1]), head: raw.slice(0, end).toLowerCase(), body: raw.slice(end + 4) };
}

/** Asserts a refusal: its status and its JSON body. */
function assertRefusal(refusal: Refusal, status: number, body: unknown): void {
  assert.equal(refusal.status, status, `status (body: ${refusal.body})`);
  assert.equal(refusal.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(refusal.body), body);
}

/** Asserts that an in-process handshake is refused with this status and JSON body. */
async function assertRefusedInProcess(opening: Promise<unknown>, status: number, body: unknown) {
  const error = await within(
    opening.then(
      () => assert.fail("the handshake was accepted"),
      (failure: unknown) => failure,
    ),
    "the in-process refusal",
  );
  assert.ok(error instanceof WebSocketRefused, `a WebSocketRefused, got ${String(error)}`);
  assert.equal(error.response.status, status);
  assert.equal(error.response.headers.get("content-type"), "application/json");
  assert.deepEqual(await error.response.json(), body);
}

const NOT_FOUND = { detail: "Not Found" };

const Said = z.object({ text: z.string().min(1) });
const Echo = z.object({ echo: z.string(), count: z.int() });

/** An echo route typed both ways: the reply carries a key `send` does not declare, which must be filtered. */
function echoApp(options: ConstructorParameters<typeof App>[0] = {}): App {
  return new App(options).ws("/echo", { message: Said, send: Echo }, async ({ socket }) => {
    let count = 0;
    for await (const message of socket) {
      const reply = { echo: message.text, count: ++count, secret: "for the server only" };
      await socket.send(reply);
    }
  });
}

describe("typed messages", () => {
  test("echo over a socket: messages are parsed by `message`, replies written and filtered by `send`", async () => {
    const logger = recordingLogger();
    await serving(echoApp({ logger }), async ({ connect }) => {
      const peer = await connect("/echo");
      peer.ws.send(JSON.stringify({ text: "hello", extra: true }));
      const first = await peer.next();
      assert.equal(first.binary, false);
      assert.deepEqual(JSON.parse(first.data.toString()), { echo: "hello", count: 1 });
      assert.ok(!first.data.toString().includes("secret"), "keys outside `send` are not sent");
      peer.ws.send(JSON.stringify({ text: "again" }));
      assert.deepEqual(await peer.json(), { echo: "again", count: 2 });
      peer.ws.close(1000);
      assert.deepEqual(await peer.end(), { code: 1000, reason: "" });
    });
    assert.deepEqual(logger.errors, []);
  });

  test("echo in-process, through the test client", async () => {
    const logger = recordingLogger();
    const client = testClient(echoApp({ logger }));
    const socket = await within(client.websocket("/echo"), "the in-process handshake");
    socket.send({ text: "hi" });
    assert.deepEqual(await within(socket.receiveJson(), "the echo"), { echo: "hi", count: 1 });
    socket.send({ text: "you" });
    assert.deepEqual(await within(socket.receiveJson(), "the echo"), { echo: "you", count: 2 });
    socket.close();
    assert.deepEqual(await within(socket.closed, "the close"), { code: 1000, reason: "" });
    assert.deepEqual(logger.errors, []);
  });

  test("a handler sending what `send` refuses: nothing is sent, 1011 Internal error, the error logged, and send resolves false (it never rejects)", async () => {
    const logger = recordingLogger();
    const cleanups: unknown[] = [];
    const session = dependency(function* () {
      try {
        yield "session";
        cleanups.push("clean");
      } catch (error) {
        cleanups.push(error);
        throw error;
      }
    });
    const outcome = deferred<{ sent: boolean; open: boolean }>();
    const app = new App({ logger }).ws("/bad", { send: Echo, deps: { session } }, async ({ socket }) => {
      const sent = await socket.send({ echo: 5 } as unknown as { echo: string; count: number });
      outcome.resolve({ sent, open: socket.open });
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/bad");
      assert.deepEqual(await peer.end(), { code: 1011, reason: "Internal error" });
      assert.equal(peer.unread, 0, "the invalid message was not sent");
    });
    assert.deepEqual(await within(outcome.promise, "the handler"), { sent: false, open: false });
    await eventually(() => cleanups.length === 1, "the cleanup");
    assert.deepEqual(cleanups, ["clean"], "the handler went on: its cleanup sees no error");
    assert.equal(logger.errors.length, 1, logger.errors.join("\n"));
    assert.match(logger.errors[0]!, /^WEBSOCKET \/bad: a message could not be sent/);
    assert.match(logger.errors[0]!, /does not match its response schema/);
  });

  test("in-process too: a send that fails `send` closes with 1011 and is logged", async () => {
    const logger = recordingLogger();
    const app = new App({ logger }).ws("/bad", { send: Echo }, async ({ socket }) => {
      await socket.send({ echo: "fine", count: 1.5 });
    });
    const socket = await within(testClient(app).websocket("/bad"), "the in-process handshake");
    assert.deepEqual(await within(socket.closed, "the close"), { code: 1011, reason: "Internal error" });
    await assert.rejects(socket.receive(), /closed with 1011/);
    assert.equal(logger.errors.length, 1);
    assert.match(logger.errors[0]!, /^WEBSOCKET \/bad: a message could not be sent/);
  });

  test("a handler that throws closes with 1011; one that returns closes with 1000", async () => {
    const logger = recordingLogger();
    const app = new App({ logger })
      .ws("/throws", {}, () => {
        throw new Error("boom");
      })
      .ws("/returns", {}, async ({ socket }) => {
        await socket.send("bye");
      });
    await serving(app, async ({ connect }) => {
      assert.deepEqual(await (await connect("/throws")).end(), { code: 1011, reason: "Internal error" });
      const returns = await connect("/returns");
      assert.equal(await returns.text(), "bye");
      assert.deepEqual(await returns.end(), { code: 1000, reason: "" });
    });
    assert.deepEqual(logger.errors, ["WEBSOCKET /throws: the handler failed: boom"]);
  });
});

describe("the handshake's inputs", () => {
  const cleanups: string[] = [];
  const session = dependency(function* () {
    try {
      yield "session";
    } finally {
      cleanups.push("session");
    }
  });
  let runs = 0;
  const app = new App().ws(
    "/items/{n:int}",
    {
      params: { n: z.int().min(1) },
      query: { q: z.string().min(2), limit: z.int().default(5) },
      headers: { x_token: z.string() },
      cookies: { session: z.string() },
      deps: { session },
    },
    async ({ socket, params, query, headers, cookies }) => {
      runs++;
      await socket.send({
        n: params.n,
        type: typeof params.n,
        q: query.q,
        limit: query.limit,
        token: headers.x_token,
        session: cookies.session,
      });
    },
  );
  app.ws("/raw/{n:int}", {}, async ({ socket, params }) => {
    await socket.send({ n: params.n, type: typeof params.n });
  });

  const VALID = { n: 7, type: "number", q: "hello", limit: 5, token: "t0k", session: "abc" };
  const INVALID = {
    detail: [
      {
        type: "greater_than_equal",
        loc: ["path", "n"],
        msg: "Input should be greater than or equal to 1",
        input: "0",
        ctx: { ge: 1 },
      },
      {
        type: "string_too_short",
        loc: ["query", "q"],
        msg: "String should have at least 2 characters",
        input: "x",
        ctx: { min_length: 2 },
      },
      {
        type: "int_parsing",
        loc: ["query", "limit"],
        msg: "Input should be a valid integer, unable to parse string as an integer",
        input: "a",
      },
      { type: "missing", loc: ["header", "x-token"], msg: "Field required", input: null },
      { type: "missing", loc: ["cookie", "session"], msg: "Field required", input: null },
    ],
  };

  test("valid params (through the convertor), query, headers and cookies reach the handler over a socket", async () => {
    await serving(app, async ({ connect, refusal }) => {
      const peer = await connect("/items/7?q=hello", {
        headers: { "X-Token": "t0k", cookie: "session=abc" },
      });
      assert.deepEqual(await peer.json(), VALID);
      assert.deepEqual(await peer.end(), { code: 1000, reason: "" });
      const raw = await connect("/raw/42");
      assert.deepEqual(await raw.json(), { n: 42, type: "number" });
      // The convertor matches digits only: anything else is no route at all.
      assertRefusal(await refusal("/raw/abc"), 404, NOT_FOUND);
    });
  });

  test("invalid inputs over a socket: accepted, then {detail} with FastAPI's issues, then 1008 Invalid request", async () => {
    cleanups.length = 0;
    const before = runs;
    await serving(app, async ({ connect }) => {
      const peer = await connect("/items/0?q=x&limit=a");
      assert.deepEqual(await peer.json(), INVALID);
      assert.deepEqual(await peer.end(), { code: 1008, reason: "Invalid request" });
      assert.equal(peer.unread, 0);
    });
    assert.equal(runs, before, "the handler did not run");
    await eventually(() => cleanups.length === 1, "the dependency's cleanup");
  });

  test("the same in-process", async () => {
    const client = testClient(app);
    const good = await within(
      client.websocket("/items/{n}", {
        params: { n: 7 },
        query: { q: "hello" },
        headers: { "x-token": "t0k" },
        cookies: { session: "abc" },
      }),
      "the in-process handshake",
    );
    assert.deepEqual(await within(good.receiveJson(), "the reply"), VALID);
    assert.deepEqual(await within(good.closed, "the close"), { code: 1000, reason: "" });
    const bad = await within(
      client.websocket("/items/{n}", { params: { n: 0 }, query: { q: "x", limit: "a" } }),
      "the in-process handshake",
    );
    assert.deepEqual(await within(bad.receiveJson(), "the detail"), INVALID);
    assert.deepEqual(await within(bad.closed, "the close"), { code: 1008, reason: "Invalid request" });
  });

  test("a dependency's own invalid inputs are reported the same way", async () => {
    const token = dependency({ query: { token: z.string() } }, ({ query }) => query.token);
    const guarded = new App().ws("/guarded", { deps: { token } }, async ({ socket, token }) => {
      await socket.send(token);
    });
    const client = testClient(guarded);
    const ok = await within(client.websocket("/guarded", { query: { token: "abc" } }), "the handshake");
    assert.equal(await within(ok.receive(), "the token"), "abc");
    const bad = await within(client.websocket("/guarded"), "the handshake");
    assert.deepEqual(await within(bad.receiveJson(), "the detail"), {
      detail: [{ type: "missing", loc: ["query", "token"], msg: "Field required", input: null }],
    });
    assert.deepEqual(await within(bad.closed, "the close"), { code: 1008, reason: "Invalid request" });
  });
});

describe("messages", () => {
  const Numbered = z.object({ text: z.string().min(1), n: z.int() });
  const typed = () =>
    new App().ws("/typed", { message: Numbered }, async ({ socket }) => {
      for await (const message of socket) await socket.send({ got: message.n });
    });

  test("invalid JSON: {detail} at loc [message], then 1008 Invalid message; later messages are not delivered", async () => {
    const ended = deferred();
    const app = typed().ws("/count", { message: Numbered }, async ({ socket }) => {
      for await (const message of socket) await socket.send({ got: message.n });
      ended.resolve();
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/count");
      peer.ws.send(JSON.stringify({ text: "one", n: 1 }));
      peer.ws.send("{nope");
      peer.ws.send(JSON.stringify({ text: "three", n: 3 }));
      assert.deepEqual(await peer.json(), { got: 1 });
      assert.deepEqual(await peer.json(), {
        detail: [{ type: "json_invalid", loc: ["message"], msg: "JSON decode error", input: "{nope" }],
      });
      assert.deepEqual(await peer.end(), { code: 1008, reason: "Invalid message" });
      assert.equal(peer.unread, 0, "the message after the invalid one was not handled");
    });
    await within(ended.promise, "the handler's loop to end");
  });

  test("a message failing the schema: FastAPI's issues at loc [message, ...], then 1008", async () => {
    await serving(typed(), async ({ connect }) => {
      const peer = await connect("/typed");
      peer.ws.send(JSON.stringify({ text: "", n: 1.5, extra: 1 }));
      assert.deepEqual(await peer.json(), {
        detail: [
          {
            type: "string_too_short",
            loc: ["message", "text"],
            msg: "String should have at least 1 character",
            input: "",
            ctx: { min_length: 1 },
          },
          {
            type: "int_from_float",
            loc: ["message", "n"],
            msg: "Input should be a valid integer, got a number with a fractional part",
            input: 1.5,
          },
        ],
      });
      assert.deepEqual(await peer.end(), { code: 1008, reason: "Invalid message" });

      const array = await connect("/typed");
      array.ws.send("[1]");
      assert.deepEqual(await array.json(), {
        detail: [
          {
            type: "model_attributes_type",
            loc: ["message"],
            msg: "Input should be a valid dictionary or object to extract fields from",
            input: [1],
          },
        ],
      });
      assert.deepEqual(await array.end(), { code: 1008, reason: "Invalid message" });

      // With a schema, a binary message is JSON too, and must be UTF-8.
      const bytes = await connect("/typed");
      bytes.ws.send(Buffer.from(JSON.stringify({ text: "b", n: 2 })));
      assert.deepEqual(await bytes.json(), { got: 2 });
      bytes.ws.send(Buffer.from([0xff, 0xfe]));
      assert.deepEqual(await bytes.json(), {
        detail: [{ type: "json_invalid", loc: ["message"], msg: "Message is not UTF-8", input: null }],
      });
      assert.deepEqual(await bytes.end(), { code: 1008, reason: "Invalid message" });
    });
  });

  test("in-process, an invalid message closes with 1008 after its {detail}", async () => {
    const socket = await within(testClient(typed()).websocket("/typed"), "the handshake");
    socket.send({ text: "ok", n: "2" });
    assert.deepEqual(await within(socket.receiveJson(), "the detail"), {
      detail: [
        { type: "int_type", loc: ["message", "n"], msg: "Input should be a valid integer", input: "2" },
      ],
    });
    assert.deepEqual(await within(socket.closed, "the close"), { code: 1008, reason: "Invalid message" });
  });

  test("messages reach the handler in the order sent, even when the schema's checks take different times", async () => {
    const Slow = z.object({ n: z.int(), delay: z.int() }).refine(async ({ delay }) => {
      await sleep(delay);
      return true;
    });
    const app = new App().ws("/ordered", { message: Slow }, async ({ socket }) => {
      const seen: number[] = [];
      for await (const message of socket) {
        seen.push(message.n);
        if (seen.length === 20) break;
      }
      await socket.send(seen);
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/ordered");
      for (let n = 0; n < 20; n++) peer.ws.send(JSON.stringify({ n, delay: (20 - n) * 3 }));
      assert.deepEqual(
        await peer.json(),
        Array.from({ length: 20 }, (_, n) => n),
      );
      assert.deepEqual(await peer.end(), { code: 1000, reason: "" });
    });
  });

  test("without a `message` schema, text arrives as a string and binary as a Uint8Array; values other than text and bytes are sent as JSON", async () => {
    const app = new App().ws("/raw", {}, async ({ socket }) => {
      for await (const message of socket) {
        if (typeof message === "string") {
          await socket.send({ kind: "text", value: message });
          await socket.send(message.toUpperCase());
          await socket.send(42);
          await socket.send(null);
        } else {
          await socket.send({
            kind: message instanceof Uint8Array ? "Uint8Array" : typeof message,
            bytes: [...message],
          });
          await socket.send(Uint8Array.from(message).reverse());
        }
      }
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/raw");
      peer.ws.send("héllo {not json");
      assert.deepEqual(await peer.json(), { kind: "text", value: "héllo {not json" });
      assert.equal(await peer.text(), "HÉLLO {NOT JSON");
      assert.equal(await peer.text(), "42");
      assert.equal(await peer.text(), "null");
      peer.ws.send(Buffer.from([1, 2, 3, 255]));
      assert.deepEqual(await peer.json(), { kind: "Uint8Array", bytes: [1, 2, 3, 255] });
      const back = await peer.next();
      assert.equal(back.binary, true, "bytes are sent as a binary frame");
      assert.deepEqual([...back.data], [255, 3, 2, 1]);
    });
  });

  test("a message over `messageLimit` bytes closes with 1009; one at the limit is delivered", async () => {
    const app = new App()
      .ws("/small", { messageLimit: 16 }, async ({ socket }) => {
        for await (const message of socket) await socket.send(message);
      })
      .ws("/default", {}, async ({ socket }) => {
        for await (const message of socket)
          await socket.send({ size: typeof message === "string" ? message.length : message.byteLength });
      });
    await serving(app, async ({ connect }) => {
      const text = await connect("/small");
      text.ws.send("x".repeat(16));
      assert.equal(await text.text(), "x".repeat(16));
      // Nine characters, eighteen bytes: the limit counts bytes.
      text.ws.send("é".repeat(9));
      assert.deepEqual(await text.end(), { code: 1009, reason: "Message larger than 16 bytes" });
      assert.equal(text.unread, 0);

      const binary = await connect("/small");
      binary.ws.send(Buffer.alloc(17));
      assert.deepEqual(await binary.end(), { code: 1009, reason: "Message larger than 16 bytes" });

      const big = await connect("/default");
      big.ws.send(Buffer.alloc(1024 * 1024));
      assert.deepEqual(await big.json(), { size: 1024 * 1024 });
      big.ws.send(Buffer.alloc(1024 * 1024 + 1));
      assert.deepEqual(await big.end(), { code: 1009, reason: "Message larger than 1048576 bytes" });
    });
  });
});

describe("message limits, enforced before a message is received", () => {
  test("the app's messageLimit applies to every route, defaults to its bodyLimit, and a route's own wins", async () => {
    const sizes = (app: App) =>
      app.ws("/size", {}, async ({ socket }) => {
        for await (const message of socket) await socket.send({ size: String(message).length });
      });
    const cases = [
      [new App({ messageLimit: 100 }), 100],
      [new App({ bodyLimit: 200 }), 200],
      [new App({ bodyLimit: 200, messageLimit: 50 }), 50],
    ] as const;
    for (const [app, limit] of cases) {
      await serving(sizes(app), async ({ connect }) => {
        const peer = await connect("/size");
        peer.ws.send("x".repeat(limit));
        assert.deepEqual(await peer.json(), { size: limit });
        peer.ws.send("x".repeat(limit + 1));
        assert.deepEqual(await peer.end(), { code: 1009, reason: `Message larger than ${limit} bytes` });
      });
    }
    const own = new App({ messageLimit: 10 }).ws("/own", { messageLimit: 1000 }, async ({ socket }) => {
      for await (const message of socket) await socket.send({ size: String(message).length });
    });
    await serving(own, async ({ connect }) => {
      const peer = await connect("/own");
      peer.ws.send("x".repeat(1000));
      assert.deepEqual(await peer.json(), { size: 1000 });
    });
    assert.throws(() => new App({ messageLimit: -1 }), /messageLimit must be a whole number of bytes/);
  });

  test("a frame that declares more than the limit is refused with 1009 before its payload is sent", async () => {
    const received: unknown[] = [];
    const app = new App().ws("/in", {}, async ({ socket }) => {
      for await (const message of socket) received.push(message);
    });
    await serving(app, async ({ listening }) => {
      const socket = await rawWebSocket(listening.url, "/in");
      // A binary frame announcing 60 MiB, and not one byte of it.
      socket.write(clientFrame(OPCODE.binary, "", ZERO_MASK, { declared: 60 * 1024 * 1024 }));
      assert.deepEqual(await closeFrameOf(socket), {
        code: 1009,
        reason: "Message larger than 1048576 bytes",
      });
    });
    assert.deepEqual(received, []);
  });

  test("fragments are counted together: a message past the limit in small fragments is refused with 1009", async () => {
    const app = new App({ messageLimit: 64 * 1024 }).ws("/in", {}, async ({ socket }) => {
      for await (const _ of socket);
    });
    await serving(app, async ({ listening }) => {
      const socket = await rawWebSocket(listening.url, "/in");
      const part = Buffer.alloc(16 * 1024, 1);
      // A text message begun, then continued, never finished: 80 KiB in 16 KiB fragments.
      socket.write(clientFrame(OPCODE.text, part, ZERO_MASK, { fin: false }));
      for (let index = 0; index < 4; index++)
        socket.write(clientFrame(OPCODE.continuation, part, ZERO_MASK, { fin: false }));
      assert.deepEqual(await closeFrameOf(socket), { code: 1009, reason: "Message larger than 65536 bytes" });
    });
  });
});

describe("message limits: the chat example under clients sending huge frames", () => {
  test("8 clients each sending an unfinished 60 MiB frame are closed with 1009, and the server's memory stays where it was", async () => {
    const server = launch(["serve", "examples/chat/app.ts:app", "--port", "0", "--no-access-log"]);
    const [, url] = await waitForStdout(server, /serving \S+ at (http:\/\/\S+)/);
    const pid = server.child.pid!;
    // Warm up: ws loaded, a room made, a message through.
    const warm = await rawWebSocket(url!, "/ws/big");
    warm.write(clientFrame(OPCODE.text, '{"user":"a","text":"warm"}', ZERO_MASK));
    await sleep(200);
    warm.destroy();
    await sleep(500);
    const before = residentBytes(pid);
    const clients = await Promise.all(Array.from({ length: 8 }, () => rawWebSocket(url!, "/ws/big")));
    const closes = clients.map((socket) => closeFrameOf(socket));
    const payload = Buffer.alloc(4 * 1024 * 1024, 7);
    for (const socket of clients) {
      socket.write(clientFrame(OPCODE.binary, "", ZERO_MASK, { declared: 60 * 1024 * 1024 }));
      // Past the head, the client goes on sending: the server reads and drops it, holding none of it.
      socket.write(payload);
    }
    for (const close of closes)
      assert.deepEqual(await within(close, "the 1009"), {
        code: 1009,
        reason: "Message larger than 1048576 bytes",
      });
    await sleep(500);
    const grown = (residentBytes(pid) - before) / 2 ** 20;
    assert.ok(grown < 8, `the server grew by ${grown.toFixed(1)} MiB`);
    for (const socket of clients) socket.destroy();
    assert.equal(server.child.exitCode, null, server.output());
    assert.doesNotMatch(server.stderr(), /critical|error/i, server.output());
  });
});

describe("dependencies", () => {
  test("values reach the handler; a generator dependency is cleaned up after the connection ends", async () => {
    const log: string[] = [];
    const closedSeen = deferred<CloseInfo>();
    const db = dependency(async function* () {
      log.push("db open");
      try {
        yield { name: "db" };
      } finally {
        log.push("db closed");
      }
    });
    const user = dependency({ deps: { db } }, ({ db }) => `user of ${db.name}`);
    const app = new App().ws("/deps", { deps: { db, user } }, async ({ socket, db, user }) => {
      await socket.send({ db: db.name, user });
      for await (const message of socket) await socket.send(message);
      log.push("handler done");
      closedSeen.resolve(await socket.closed);
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/deps");
      assert.deepEqual(await peer.json(), { db: "db", user: "user of db" });
      peer.ws.send("ping");
      assert.equal(await peer.text(), "ping");
      assert.deepEqual(log, ["db open"], "the dependency is open while the connection is");
      peer.ws.close(1000, "done");
      assert.deepEqual(await peer.end(), { code: 1000, reason: "done" });
      assert.deepEqual(await within(closedSeen.promise, "the handler"), { code: 1000, reason: "done" });
      await eventually(() => log.length === 3, "the cleanup");
      assert.deepEqual(log, ["db open", "handler done", "db closed"]);
    });
  });

  test("a dependency raising HTTPException(403) refuses the handshake with that response; what was entered is cleaned up", async () => {
    const logger = recordingLogger();
    const log: string[] = [];
    const session = dependency(function* () {
      try {
        yield 1;
      } catch (error) {
        log.push(`session saw ${error instanceof HTTPException ? error.status : String(error)}`);
        throw error;
      }
    });
    const forbidden = dependency({ deps: { session } }, () => {
      throw new HTTPException(403, "Not your room", { "X-Reason": "membership" });
    });
    let ran = false;
    const app = new App({ logger }).ws("/room", { deps: { session, forbidden } }, () => {
      ran = true;
    });
    await serving(app, async ({ refusal }) => {
      const refused = await refusal("/room");
      assertRefusal(refused, 403, { detail: "Not your room" });
      assert.equal(refused.headers["x-reason"], "membership");
    });
    await assertRefusedInProcess(testClient(app).websocket("/room"), 403, { detail: "Not your room" });
    assert.equal(ran, false);
    assert.deepEqual(log, ["session saw 403", "session saw 403"]);
    assert.deepEqual(logger.errors, [], "a refusal is not a server error");
  });

  test("a dependency failing with another error refuses with 500, logged", async () => {
    const logger = recordingLogger();
    const broken = dependency(() => {
      throw new Error("database down");
    });
    const app = new App({ logger }).ws("/broken", { dependencies: [broken] }, () => {});
    await serving(app, async ({ refusal }) => {
      assertRefusal(await refusal("/broken"), 500, { detail: "Internal Server Error" });
    });
    assert.equal(logger.errors.length, 1);
    assert.match(logger.errors[0]!, /database down/);
  });

  test("security schemes refuse with 401 when credentials are missing, and give the handler their value", async () => {
    const key = apiKey({ in: "header", name: "X-API-Key" });
    const bearer = httpBearer();
    const app = new App()
      .ws("/keyed", { deps: { key } }, async ({ socket, key }) => {
        await socket.send({ key });
      })
      .ws("/bearer", { deps: { bearer } }, async ({ socket, bearer }) => {
        await socket.send({ token: bearer.credentials });
      });
    await serving(app, async ({ connect, refusal }) => {
      const missing = await refusal("/keyed");
      assertRefusal(missing, 401, { detail: "Not authenticated" });
      assert.equal(missing.headers["www-authenticate"], "APIKey");
      const keyed = await connect("/keyed", { headers: { "X-API-Key": "s3cret" } });
      assert.deepEqual(await keyed.json(), { key: "s3cret" });

      const noToken = await refusal("/bearer", { headers: { authorization: "Basic abc" } });
      assertRefusal(noToken, 401, { detail: "Not authenticated" });
      assert.equal(noToken.headers["www-authenticate"], "Bearer");
      const bearing = await connect("/bearer", { headers: { authorization: "Bearer tok" } });
      assert.deepEqual(await bearing.json(), { token: "tok" });
    });
    const client = testClient(app);
    await assertRefusedInProcess(client.websocket("/bearer"), 401, { detail: "Not authenticated" });
    const ok = await within(
      client.websocket("/bearer", { headers: { authorization: "Bearer tok" } }),
      "the handshake",
    );
    assert.deepEqual(await within(ok.receiveJson(), "the token"), { token: "tok" });
  });

  test("the app's `dependencies` apply to WebSocket routes", async () => {
    const seen: string[] = [];
    const key = apiKey({ in: "query", name: "key" });
    const audit = dependency({ deps: { key } }, ({ key }) => {
      seen.push(key);
    });
    const app = new App({ dependencies: [audit] }).ws("/feed", {}, async ({ socket }) => {
      await socket.send("welcome");
    });
    const client = testClient(app);
    await assertRefusedInProcess(client.websocket("/feed"), 401, { detail: "Not authenticated" });
    const socket = await within(client.websocket("/feed", { query: { key: "k1" } }), "the handshake");
    assert.equal(await within(socket.receive(), "the welcome"), "welcome");
    await serving(app, async ({ connect, refusal }) => {
      assertRefusal(await refusal("/feed"), 401, { detail: "Not authenticated" });
      const peer = await connect("/feed?key=k2");
      assert.equal(await peer.text(), "welcome");
    });
    assert.deepEqual(seen, ["k1", "k2"]);
  });
});

describe("routing", () => {
  test("an unknown path refuses the handshake with 404", async () => {
    const app = echoApp().get("/http", {}, () => ({ ok: true }));
    await serving(app, async ({ refusal }) => {
      assertRefusal(await refusal("/nowhere"), 404, NOT_FOUND);
      // An HTTP route is not a WebSocket route.
      assertRefusal(await refusal("/http"), 404, NOT_FOUND);
    });
    await assertRefusedInProcess(testClient(app).websocket("/nowhere"), 404, NOT_FOUND);
  });

  test("a Router's ws routes are included under the prefixes, with the router's dependencies", async () => {
    const members: string[] = [];
    const member = dependency({ headers: { x_user: z.string().optional() } }, ({ headers }) => {
      if (headers.x_user === undefined) throw new HTTPException(403, "Members only");
      members.push(headers.x_user);
    });
    const rooms = new Router({ prefix: "/rooms", dependencies: [member] });
    rooms.ws("/{room}", { params: { room: z.string().min(2) } }, async ({ socket, params }) => {
      await socket.send({ room: params.room });
    });
    const app = new App().include(rooms, { prefix: "/v1" });
    await serving(app, async ({ connect, refusal }) => {
      const peer = await connect("/v1/rooms/lobby", { headers: { "x-user": "ann" } });
      assert.deepEqual(await peer.json(), { room: "lobby" });
      assertRefusal(await refusal("/v1/rooms/lobby"), 403, { detail: "Members only" });
      assertRefusal(await refusal("/rooms/lobby", { headers: { "x-user": "ann" } }), 404, NOT_FOUND);
      const invalid = await connect("/v1/rooms/x", { headers: { "x-user": "bob" } });
      assert.deepEqual(await invalid.json(), {
        detail: [
          {
            type: "string_too_short",
            loc: ["path", "room"],
            msg: "String should have at least 2 characters",
            input: "x",
            ctx: { min_length: 2 },
          },
        ],
      });
      assert.deepEqual(await invalid.end(), { code: 1008, reason: "Invalid request" });
    });
    assert.deepEqual(members, ["ann", "bob"]);
  });

  const whereApp = (options: ConstructorParameters<typeof App>[0] = {}) =>
    new App(options).ws("/where", {}, async ({ socket, request }) => {
      await socket.send({ path: new URL(request.url).pathname });
    });

  test("the app's rootPath: a handshake routes with the prefix or without it", async () => {
    const app = whereApp({ rootPath: "/api" });
    await serving(app, async ({ connect, refusal }) => {
      assert.ok(await (await connect("/api/where")).json());
      assert.ok(await (await connect("/where")).json());
      assertRefusal(await refusal("/other/where"), 404, NOT_FOUND);
    });
    const socket = await within(testClient(app).websocket("/api/where"), "the handshake");
    assert.deepEqual(await within(socket.receiveJson(), "the path"), { path: "/api/where" });
  });

  test("listen({ rootPath }) and a trusted X-Forwarded-Prefix: the prefix may be left on, and the request URL has it", async () => {
    await serving(
      whereApp(),
      async ({ connect }) => {
        assert.deepEqual(await (await connect("/proxy/where")).json(), { path: "/proxy/where" });
        assert.deepEqual(await (await connect("/where")).json(), { path: "/proxy/where" });
      },
      { rootPath: "/proxy" },
    );
    await serving(
      whereApp(),
      async ({ connect }) => {
        const headers = { "X-Forwarded-Prefix": "/fwd" };
        assert.deepEqual(await (await connect("/fwd/where", { headers })).json(), { path: "/fwd/where" });
        assert.deepEqual(await (await connect("/where", { headers })).json(), { path: "/fwd/where" });
        assert.deepEqual(await (await connect("/where")).json(), { path: "/where" });
      },
      { forwardedAllowIps: "127.0.0.1" },
    );
  });

  test("a WebSocket path registered twice is BRISK_DUPLICATE_ROUTE; an HTTP route may share it", async () => {
    const duplicate = { name: "BriskError", code: "BRISK_DUPLICATE_ROUTE" };
    const app = new App().ws("/feed/{id}", {}, async ({ socket }) => {
      await socket.send("ws");
    });
    assert.throws(() => app.ws("/feed/{id}", {}, () => {}), duplicate);
    assert.throws(() => app.ws("/feed/:id", {}, () => {}), duplicate);
    const router = new Router({ prefix: "/feed" }).ws("/{id}", {}, () => {});
    assert.throws(() => app.include(router), duplicate);
    app.get("/feed/{id}", {}, () => ({ via: "http" }));
    await serving(app, async ({ connect, listening }) => {
      assert.equal(await (await connect("/feed/1")).text(), "ws");
      const response = await fetch(`${listening.url}/feed/1`);
      assert.deepEqual(await response.json(), { via: "http" });
    });
  });

  test("an HTTP GET to a WebSocket-only path is 404: ws routes are not HTTP routes", async () => {
    const app = echoApp();
    await serving(app, async ({ listening }) => {
      const response = await fetch(`${listening.url}/echo`);
      assert.equal(response.status, 404);
      assert.deepEqual(await response.json(), NOT_FOUND);
    });
    const inProcess = await app.fetch(new Request("http://test/echo"));
    assert.equal(inProcess.status, 404);
    assert.deepEqual(await inProcess.json(), NOT_FOUND);
    assert.equal((await testClient(app).get("/echo")).status, 404);
  });

  test("an Upgrade to anything but websocket is answered 400", async () => {
    let ran = false;
    const app = new App().ws("/echo", {}, () => {
      ran = true;
    });
    await serving(app, async ({ listening }) => {
      const { host } = new URL(listening.url);
      const raw = await rawExchange(
        listening.url,
        `GET /echo HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`,
      );
      const answer = parseRaw(raw);
      assert.equal(answer.status, 400);
      assert.match(answer.head, /content-type: application\/json/);
      assert.deepEqual(JSON.parse(answer.body), { detail: "Only WebSocket upgrades are served" });
    });
    assert.equal(ran, false);
  });

  test("a malformed WebSocket handshake (no Sec-WebSocket-Key) is answered 400 and what the route entered is cleaned up", async () => {
    const log: string[] = [];
    const session = dependency(function* () {
      log.push("enter");
      try {
        yield 1;
      } finally {
        log.push("exit");
      }
    });
    const app = new App().ws("/guarded", { deps: { session } }, () => {
      log.push("handler");
    });
    await serving(app, async ({ listening }) => {
      const { host } = new URL(listening.url);
      const raw = await rawExchange(
        listening.url,
        `GET /guarded HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      assert.equal(parseRaw(raw).status, 400);
      await eventually(() => log.includes("exit"), "the dependency's cleanup");
      assert.deepEqual(log, ["enter", "exit"]);
    });
  });

  test("a client that goes away while the handshake's dependencies run: they are still cleaned up", async () => {
    const log: string[] = [];
    const entered = deferred();
    const gate = deferred();
    const session = dependency(async function* () {
      log.push("enter");
      entered.resolve();
      await gate.promise;
      try {
        yield 1;
      } finally {
        log.push("exit");
      }
    });
    const app = new App().ws("/slow", { deps: { session } }, () => {
      log.push("handler");
    });
    await serving(app, async ({ listening, url }) => {
      const gone = deferred();
      listening.server.once("upgrade", (_request, socket: Duplex) =>
        socket.once("end", () => gone.resolve()),
      );
      const ws = new WebSocket(url("/slow"));
      ws.on("error", () => {});
      await within(entered.promise, "the dependency to start");
      ws.terminate();
      // The server has read the end of the connection before the dependency finishes.
      await within(gone.promise, "the server to see the client leave");
      gate.resolve();
      await eventually(() => log.includes("exit"), "the dependency's cleanup");
      assert.equal(log[0], "enter");
      assert.equal(log.at(-1), "exit");
    });
  });
});

describe("lifecycle", () => {
  test("the client closing ends the handler's loop; socket.closed has its code and reason; sending after it does nothing", async () => {
    const logger = recordingLogger();
    const report = deferred<{ messages: string[]; closed: CloseInfo; open: boolean; openBefore: boolean }>();
    const app = new App({ logger }).ws("/talk", {}, async ({ socket }) => {
      const openBefore = socket.open;
      const messages: string[] = [];
      for await (const message of socket) messages.push(String(message));
      const closed = await socket.closed;
      await socket.send("too late");
      report.resolve({ messages, closed, open: socket.open, openBefore });
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/talk");
      peer.ws.send("a");
      peer.ws.send("b");
      peer.ws.close(4000, "bye");
      assert.deepEqual(await peer.end(), { code: 4000, reason: "bye" });
      assert.deepEqual(await within(report.promise, "the handler"), {
        messages: ["a", "b"],
        closed: { code: 4000, reason: "bye" },
        open: false,
        openBefore: true,
      });
    });
    assert.deepEqual(logger.errors, []);

    // In-process: the test client's close reaches the handler the same way.
    const done = deferred<CloseInfo>();
    const inProcess = new App({ logger }).ws("/talk", {}, async ({ socket }) => {
      for await (const message of socket) await socket.send(message);
      done.resolve(await socket.closed);
    });
    const socket = await within(testClient(inProcess).websocket("/talk"), "the handshake");
    socket.send("x");
    assert.equal(await within(socket.receive(), "the echo"), "x");
    socket.close(4001, "leaving");
    assert.deepEqual(await within(done.promise, "the handler"), { code: 4001, reason: "leaving" });
    assert.throws(() => socket.send("after"), /closed/);
  });

  test("the handler closing: the client sees its code and the reason, cut to 123 bytes", async () => {
    const app = new App()
      .ws("/short", {}, ({ socket }) => {
        socket.close(4002, "done here");
      })
      .ws("/long", {}, ({ socket }) => {
        socket.close(4003, "é".repeat(100));
      });
    await serving(app, async ({ connect }) => {
      assert.deepEqual(await (await connect("/short")).end(), { code: 4002, reason: "done here" });
      // 61 two-byte characters fit in 123 bytes; half a character is not sent.
      assert.deepEqual(await (await connect("/long")).end(), { code: 4003, reason: "é".repeat(61) });
    });
  });

  test("close() from listen() closes open connections with 1001 and resolves, then runs the lifespan shutdown", async () => {
    const log: string[] = [];
    const ended: CloseInfo[] = [];
    const app = new App({
      lifespan: function* () {
        log.push("up");
        yield undefined;
        log.push("down");
      },
    }).ws("/hold", {}, async ({ socket }) => {
      await socket.send("held");
      for await (const message of socket) await socket.send(message);
      ended.push(await socket.closed);
    });
    const listening = await listen(app, { port: 0 });
    const url = `${listening.url.replace(/^http/, "ws")}/hold`;
    const peers = [new Peer(new WebSocket(url)), new Peer(new WebSocket(url))];
    try {
      for (const peer of peers) assert.equal(await peer.text(), "held");
      await within(listening.close(), "close()");
      for (const peer of peers) {
        assert.deepEqual(await peer.end(), { code: 1001, reason: "Server shutting down" });
      }
      await eventually(() => ended.length === 2, "the handlers to end");
      assert.deepEqual(ended, [
        { code: 1001, reason: "Server shutting down" },
        { code: 1001, reason: "Server shutting down" },
      ]);
      assert.deepEqual(log, ["up", "down"]);
    } finally {
      for (const peer of peers) peer.ws.terminate();
    }
  });

  test("close() while a handshake is being answered: that connection is refused or closed with 1001, and close() resolves", async () => {
    const entered = deferred();
    const gate = deferred();
    const slow = dependency(async () => {
      entered.resolve();
      await gate.promise;
      return 1;
    });
    const app = new App().ws("/slow", { deps: { slow } }, async ({ socket }) => {
      for await (const message of socket) await socket.send(message);
    });
    const listening = await listen(app, { port: 0 });
    const ws = new WebSocket(`${listening.url.replace(/^http/, "ws")}/slow`);
    ws.on("error", () => {});
    const outcome = new Promise<string>((resolve) => {
      ws.once("unexpected-response", (request, response) => {
        response.resume();
        request.destroy();
        resolve(`refused ${response.statusCode}`);
      });
      ws.once("close", (code) => resolve(`closed ${code}`));
    });
    let closing: Promise<void> | undefined;
    try {
      await within(entered.promise, "the dependency to start");
      closing = listening.close();
      gate.resolve();
      await within(closing, "close() to resolve", 20_000);
      assert.match(
        await within(outcome, "the client to hear of the shutdown"),
        /^(refused \d{3}|closed 1001)$/,
      );
    } finally {
      ws.terminate();
      await within(closing ?? listening.close(), "the server to close");
    }
  });

  test("WebSocket routes are not in the OpenAPI document nor among the HTTP routes", async () => {
    const Live = z.object({ text: z.string() }).meta({ id: "LiveMessage" });
    const Outgoing = z.object({ text: z.string() }).meta({ id: "LiveReply" });
    const app = new App()
      .get("/items", {}, () => [])
      .ws("/items", {}, () => {})
      .ws("/live/{room}", { message: Live, send: Outgoing, query: { since: z.int().optional() } }, () => {});
    const document = app.openapi();
    assert.deepEqual(Object.keys(document.paths), ["/items"]);
    assert.deepEqual(Object.keys((document.paths as Record<string, object>)["/items"]!), ["get"]);
    const text = JSON.stringify(document);
    assert.ok(!text.includes("LiveMessage") && !text.includes("LiveReply") && !text.includes("/live"));
    assert.deepEqual(
      app.routes.map((route) => [route.methods, route.path.template]),
      [[["GET", "HEAD"], "/items"]],
    );
    const served = await testClient(app).get("/openapi.json");
    assert.deepEqual(Object.keys(((await served.json()) as { paths: object }).paths), ["/items"]);
  });
});

describe("backpressure", () => {
  test("a handler that reads slowly is not flooded: the server stops reading, then all 1000 messages arrive in order", {
    timeout: 240_000,
  }, async () => {
    const COUNT = 1000;
    const SIZE = 32 * 1024;
    const go = deferred();
    const app = new App().ws("/slow", {}, async ({ socket }) => {
      await go.promise;
      let received = 0;
      let ordered = true;
      for (let index = 0; index < COUNT; index++) {
        const message = await socket.receive();
        if (!(message instanceof Uint8Array) || message.byteLength !== SIZE) break;
        received++;
        const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
        if (view.getUint32(0) !== index) ordered = false;
        if (index % 10 === 0) await sleep(1);
      }
      await socket.send({ received, ordered });
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/slow");
      for (let index = 0; index < COUNT; index++) {
        const message = Buffer.alloc(SIZE, index % 251);
        message.writeUInt32BE(index, 0);
        peer.ws.send(message);
      }
      // Until the handler reads, the server holds a bounded number of messages and stops reading the rest:
      // 32 MB cannot all fit in the socket buffers, so some stays queued in the client once nothing moves.
      let last = -1;
      let steady = 0;
      for (let polls = 0; steady < 10 && polls < 600; polls++) {
        await sleep(200);
        const now = peer.ws.bufferedAmount;
        steady = now === last ? steady + 1 : 0;
        last = now;
      }
      assert.ok(last > 0, `the server stopped reading (client still buffers ${last} bytes)`);
      go.resolve();
      assert.deepEqual(await peer.json(180_000), { received: COUNT, ordered: true });
      assert.equal(peer.ws.bufferedAmount, 0);
    });
  });

  test("WebSocketConnection pauses its socket once messages pile up, and resumes as the handler catches up", async () => {
    const events: string[] = [];
    let deliver: (data: string | Uint8Array) => void = () => {};
    let closePort: (code: number, reason: string) => void = () => {};
    const port: SocketPort = {
      send: async () => true,
      close: () => {},
      pause: () => events.push("pause"),
      resume: () => events.push("resume"),
      onMessage: (listener) => {
        deliver = listener;
      },
      onClose: (listener) => {
        closePort = listener;
      },
    };
    const connection = new WebSocketConnection<string | Uint8Array>(
      port,
      compileMessageCodec({}, (value) => JSON.stringify(value), 1024 * 1024),
    );
    let pausedAt: number | undefined;
    for (let index = 0; index < 200; index++) {
      deliver(String(index));
      await tick();
      if (pausedAt === undefined && events.includes("pause")) pausedAt = index + 1;
    }
    assert.ok(pausedAt !== undefined && pausedAt <= 64, `paused after ${pausedAt} waiting messages`);
    assert.deepEqual(events, ["pause"], "paused once, not once per message");
    const received: unknown[] = [];
    let resumedAfter: number | undefined;
    for (let index = 0; index < 200; index++) {
      received.push(await connection.receive());
      if (resumedAfter === undefined && events.includes("resume")) resumedAfter = index + 1;
    }
    assert.ok(resumedAfter !== undefined, "resumed");
    assert.deepEqual(events, ["pause", "resume"]);
    assert.deepEqual(
      received,
      Array.from({ length: 200 }, (_, index) => String(index)),
    );
    closePort(1000, "");
    assert.equal(await within(connection.receive(), "the end"), undefined);
    assert.deepEqual(await within(connection.closed, "closed"), { code: 1000, reason: "" });
  });
});

describe("state and signal", () => {
  const lifespanApp = () =>
    new App({
      lifespan: async function* () {
        yield asState({ greeting: "hello" });
      },
    }).ws(
      "/state",
      { deps: { fromDependency: dependency(({ state }) => stateRecord(state).greeting) } },
      async ({ socket, state, fromDependency }) => {
        await socket.send({ handler: stateRecord(state).greeting, fromDependency });
      },
    );

  test("the lifespan's state reaches the handler and its dependencies, over a socket and in-process", async () => {
    await serving(lifespanApp(), async ({ connect }) => {
      assert.deepEqual(await (await connect("/state")).json(), { handler: "hello", fromDependency: "hello" });
    });
    const client = await testClient(lifespanApp()).start();
    try {
      const socket = await within(client.websocket("/state"), "the handshake");
      assert.deepEqual(await within(socket.receiveJson(), "the state"), {
        handler: "hello",
        fromDependency: "hello",
      });
    } finally {
      await client.stop();
    }
  });

  test("context.signal is open while the client is connected and aborts when it goes away", async () => {
    const seen = deferred<{ isSignal: boolean; aborted: boolean }>();
    const aborted = deferred();
    const app = new App().ws("/signal", {}, async ({ socket, signal }) => {
      seen.resolve({ isSignal: signal instanceof AbortSignal, aborted: signal.aborted });
      await socket.send("ready");
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve));
      aborted.resolve();
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/signal");
      assert.equal(await peer.text(), "ready");
      assert.deepEqual(await within(seen.promise, "the handler"), { isSignal: true, aborted: false });
      peer.ws.terminate();
      await within(aborted.promise, "the signal to abort");
    });

    const inProcess = deferred<boolean>();
    const app2 = new App().ws("/signal", {}, ({ signal }) => {
      inProcess.resolve(signal instanceof AbortSignal && !signal.aborted);
    });
    await within(testClient(app2).websocket("/signal"), "the handshake");
    assert.equal(await within(inProcess.promise, "the handler"), true);
  });
});

describe("peers that vanish", () => {
  /** Every unhandled rejection while `run` runs: a send that failed where nobody awaited it. */
  async function rejectionsDuring(run: () => Promise<void>): Promise<unknown[]> {
    const seen: unknown[] = [];
    const spy = (reason: unknown) => void seen.push(reason);
    process.on("unhandledRejection", spy);
    try {
      await run();
      // A rejection is reported after the microtasks of the turn it happened in.
      await sleep(50);
    } finally {
      process.off("unhandledRejection", spy);
    }
    return seen;
  }

  test("a send to a peer that has gone resolves false and never rejects, awaited or not", async () => {
    const logger = recordingLogger();
    const report = deferred<{ awaited: boolean[]; unawaited: boolean[] }>();
    const app = new App({ logger }).ws("/flood", {}, async ({ socket }) => {
      await socket.receive();
      const unawaited: Promise<boolean>[] = [];
      const awaited: boolean[] = [];
      // Large enough that the kernel's buffers fill and the writes are still pending when the peer goes.
      const chunk = "x".repeat(64 * 1024);
      for (let index = 0; index < 200; index++) unawaited.push(socket.send(chunk));
      for (let sent = true; sent; ) {
        sent = await socket.send(chunk);
        awaited.push(sent);
      }
      report.resolve({ awaited, unawaited: await Promise.all(unawaited) });
    });
    const rejections = await rejectionsDuring(() =>
      serving(app, async ({ connect }) => {
        const peer = await connect("/flood");
        peer.ws.send("go");
        await peer.next();
        // Gone without a close frame, with the server's writes still queued.
        (peer.ws as unknown as { _socket: Duplex })._socket.destroy();
        const { awaited, unawaited } = await within(report.promise, "the handler to see the peer gone");
        assert.equal(awaited.at(-1), false, "the last awaited send says it was not sent");
        assert.ok(unawaited.includes(false), "sends queued when the peer left resolve false");
      }),
    );
    assert.deepEqual(rejections, []);
    assert.deepEqual(logger.errors, [], "a peer leaving is not a server error");
  });

  test("a WebSocketGroup delivers to the live sockets and forgets the ones whose peer vanished", async () => {
    const room = new WebSocketGroup<{ text: string }>();
    const Said = z.object({ text: z.string() });
    const app = new App().ws("/room", { message: Said, send: Said }, async ({ socket }) => {
      room.add(socket);
      for await (const message of socket) void room.send(message);
    });
    const rejections = await rejectionsDuring(() =>
      serving(app, async ({ connect }) => {
        const listener = await connect("/room");
        const peers = await Promise.all(Array.from({ length: 20 }, () => connect("/room")));
        await eventually(() => room.size === 21, "every socket to join");
        // The reproduction: half of them send, then all twenty vanish at once.
        peers.forEach((peer, index) => {
          if (index % 2 === 0) peer.ws.send(JSON.stringify({ text: `from ${index}` }));
        });
        for (const peer of peers) (peer.ws as unknown as { _socket: Duplex })._socket.destroy();
        await eventually(() => room.size === 1, "the vanished sockets to leave the group");
        // Messages from peers that vanished right after sending may or may not have arrived: either is normal.
        assert.equal(await room.send({ text: "still here" }), 1);
        let last: unknown;
        do last = await listener.json();
        while ((last as { text: string }).text !== "still here");
      }),
    );
    assert.deepEqual(rejections, []);
    assert.equal(room.size, 0, "the listener left the group when the server closed it");
  });

  test("a peer that reads nothing is cut off after sendTimeout, so an awaited send cannot wait forever", async () => {
    const report = deferred<{ last: boolean; closed: CloseInfo }>();
    const app = new App({ limits: { sendTimeout: 300 } }).ws("/flood", {}, async ({ socket }) => {
      await socket.receive();
      const chunk = Buffer.alloc(256 * 1024);
      let sent = true;
      while (sent) sent = await socket.send(chunk);
      report.resolve({ last: sent, closed: await socket.closed });
    });
    await serving(app, async ({ connect }) => {
      const peer = await connect("/flood");
      peer.ws.send("go");
      // The client stops reading: its kernel buffer fills, then the server's.
      (peer.ws as unknown as { _socket: Duplex })._socket.pause();
      // Cut off without a closing handshake: 1006, as the peer would not have read a close frame either.
      assert.deepEqual(await within(report.promise, "the server to give up on the peer"), {
        last: false,
        closed: { code: 1006, reason: "" },
      });
    });
  });
});
