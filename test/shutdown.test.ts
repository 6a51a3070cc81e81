// `listen(app, { healthPath })` and `close()`: the health check the server answers itself, and what shutting down
// does to every kind of connection (in flight, pipelined, idle keep-alive, new, event streams, WebSockets, an upload
// still arriving). Raw `node:net` sockets where the bytes on the wire are the point.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { App, type Listening, listen, multipart, upload } from "briskjs";
import WebSocket from "ws";
import { z } from "zod";
import { STEP_MS, waitFor } from "./helpers/processes.ts";

const HEALTH = "/healthz";

// ---------------------------------------------------------------------------------------------------------------
// Servers and sockets, closed after the file whatever a test left open.

const servers: Listening[] = [];
const sockets: Socket[] = [];

after(async () => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) server.server.closeAllConnections();
  await Promise.allSettled(servers.map((server) => server.close()));
});

/**
 * Far longer than any wait in this file: the drain deadline of `close()` and the limits that end connections on a
 * timer (keep-alive, a request's deadline) must not be what closes a connection a test waits on. What closes it
 * has to be `close()` itself.
 */
const PATIENT_MS = 600_000;
const PATIENT = { keepAliveTimeout: PATIENT_MS, requestTimeout: PATIENT_MS } as const;

async function serve(app: App): Promise<Listening> {
  const server = await listen(app, { port: 0, healthPath: HEALTH, drainMs: PATIENT_MS });
  servers.push(server);
  return server;
}

/** Fails (rather than hanging the run) if `promise` has not settled within `ms`; a deadline, not a speed check. */
async function within<T>(promise: Promise<T>, what: string, ms: number = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve at hand (Promise.withResolvers is Node 22). */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((yes) => (resolve = yes));
  return { promise, resolve };
}

/** Tracks whether a promise has settled, for asserting that something has not happened yet. */
function track<T>(promise: Promise<T>): { readonly promise: Promise<T>; readonly settled: () => boolean } {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  tracked.catch(() => {});
  return { promise: tracked, settled: () => settled };
}

// ---------------------------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client on one connection.

interface RawResponse {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: string;
}

/** One complete response at the start of `raw`, and its length in bytes; undefined while incomplete. */
function parseOne(raw: Buffer): { response: RawResponse; length: number } | undefined {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const head = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? "")?.[1]);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let offset = end + 4;
  if (headers.get("transfer-encoding") === "chunked") {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = raw.indexOf("\r\n", offset);
      if (lineEnd === -1) return undefined;
      const size = Number.parseInt(raw.subarray(offset, lineEnd).toString("latin1"), 16);
      if (raw.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
      if (size === 0) break;
    }
    return { response: { status, headers, body: Buffer.concat(parts).toString("utf8") }, length: offset };
  }
  const length = Number(headers.get("content-length") ?? "0");
  if (raw.length < offset + length) return undefined;
  const body = raw.subarray(offset, offset + length).toString("utf8");
  return { response: { status, headers, body }, length: offset + length };
}

/** A TCP connection to the server, keeping everything it received. */
class RawClient {
  readonly socket: Socket;
  #received = Buffer.alloc(0);
  #closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => (this.#received = Buffer.concat([this.#received, chunk])));
    // A reset is the server closing too.
    socket.on("error", () => {});
    socket.on("close", () => (this.#closed = true));
  }

  static async open(url: string): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    sockets.push(socket);
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      }),
      `connecting to ${url}`,
    );
    return new RawClient(socket);
  }

  /** Whether the connection has closed (the server ended or reset it). */
  get closed(): boolean {
    return this.#closed;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The complete responses received so far. */
  responses(): RawResponse[] {
    const found: RawResponse[] = [];
    let rest = this.#received;
    for (let one = parseOne(rest); one !== undefined; one = parseOne(rest)) {
      found.push(one.response);
      rest = rest.subarray(one.length);
    }
    return found;
  }

  /** Waits until `count` complete responses have arrived and returns them. */
  async waitResponses(count: number): Promise<RawResponse[]> {
    return waitFor(
      () => {
        const found = this.responses();
        return found.length >= count ? found : undefined;
      },
      () => `${count} responses; received: ${JSON.stringify(this.#received.toString("latin1"))}`,
      () => !this.#closed || this.responses().length >= count,
    );
  }

  /** Waits until the server has closed the connection. */
  async waitClosed(): Promise<void> {
    await waitFor(
      () => (this.#closed ? true : undefined),
      () =>
        `the server to close the connection; received: ${JSON.stringify(this.#received.toString("latin1"))}`,
    );
  }
}

function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** A request with node:http on a fresh connection. */
function send(url: string, method = "GET"): Promise<Answer> {
  return within(
    new Promise((resolve, reject) => {
      const req = httpRequest(url, { method, agent: false }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on("error", reject);
      req.end();
    }),
    `${method} ${url}`,
  );
}

/** Resolves with the error code of a refused connection, or "connected" if it is accepted. */
function tryConnect(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return within(
    new Promise((resolve) => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    }),
    `connecting to ${url}`,
  );
}

/** A lifespan that records its startup and shutdown in `log`. */
function lifespanInto(log: string[]) {
  return function* () {
    log.push("up");
    yield undefined;
    log.push("down");
  };
}

/** A GET /slow that waits for the test: `started` resolves when it begins, `release()` lets it answer. */
function slowRoute(log: string[]) {
  const started = deferred();
  const gate = deferred();
  const handler = async () => {
    log.push("slow started");
    started.resolve();
    await gate.promise;
    log.push("slow done");
    return { slow: true };
  };
  return { handler, started: started.promise, release: () => gate.resolve() };
}

// ---------------------------------------------------------------------------------------------------------------

describe("listen({ healthPath })", () => {
  const app = new App()
    .get("/items", {}, () => ({ items: [] }))
    .get("/healthz/{name}", {}, ({ params }) => ({ name: params.name }));

  test("GET answers 200 {status: ok} as JSON; HEAD answers 200 with no body", async () => {
    const server = await serve(app);
    const ok = await send(`${server.url}${HEALTH}`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(ok.text), { status: "ok" });
    assert.equal(ok.text, '{"status":"ok"}');

    const head = await send(`${server.url}${HEALTH}`, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-type"], "application/json");
    assert.equal(head.text, "");
  });

  test("only GET and HEAD of exactly the path: anything else goes to the app (404 here)", async () => {
    const server = await serve(app);
    for (const [method, path] of [
      ["GET", `${HEALTH}?x=1`],
      ["GET", `${HEALTH}/`],
      ["GET", `${HEALTH}.json`],
      ["GET", "/HEALTHZ"],
      ["GET", `/api${HEALTH}`],
      ["POST", HEALTH],
      ["PUT", HEALTH],
      ["DELETE", HEALTH],
    ] as const) {
      const answer = await send(`${server.url}${path}`, method);
      assert.equal(answer.status, 404, `${method} ${path}: ${answer.text}`);
      assert.deepEqual(JSON.parse(answer.text), { detail: "Not Found" }, `${method} ${path}`);
    }
    // The app's own routes under the same prefix are untouched.
    const named = await send(`${server.url}${HEALTH}/db`);
    assert.equal(named.status, 200, named.text);
    assert.deepEqual(JSON.parse(named.text), { name: "db" });
  });

  test("the health path is not in the OpenAPI document", async () => {
    const server = await serve(app);
    assert.deepEqual(Object.keys(app.openapi().paths ?? {}).sort(), ["/healthz/{name}", "/items"]);
    const document = await send(`${server.url}/openapi.json`);
    assert.equal(document.status, 200);
    const paths = Object.keys((JSON.parse(document.text) as { paths: Record<string, unknown> }).paths);
    assert.deepEqual(paths.sort(), ["/healthz/{name}", "/items"]);
  });

  test("an invalid healthPath is refused, and leaves no lifespan started", async () => {
    for (const healthPath of ["healthz", "/health?x", "/health z", "/health#x"]) {
      const log: string[] = [];
      const lifespanApp = new App({ lifespan: lifespanInto(log) });
      await assert.rejects(listen(lifespanApp, { port: 0, healthPath }), (error: unknown) => {
        assert.equal((error as { code?: string }).code, "BRISK_INVALID_OPTION");
        assert.match((error as Error).message, /healthPath/);
        return true;
      });
      // Either never started, or shut down again (as when the port is taken): not left running.
      assert.ok(
        log.length === 0 || (log.length === 2 && log[1] === "down"),
        `${healthPath}: the lifespan was left started: ${JSON.stringify(log)}`,
      );
    }
  });
});

describe("close()", () => {
  test("a request pipelined behind an in-flight one gets Connection: close (the health check says 503); the in-flight one completes, then the lifespan shutdown runs", async () => {
    const log: string[] = [];
    const slow = slowRoute(log);
    const app = new App({ lifespan: lifespanInto(log), limits: PATIENT }).get("/slow", {}, slow.handler);
    const server = await serve(app);
    const client = await RawClient.open(server.url);
    client.write(get("/slow"));
    await within(slow.started, "the slow request to start");

    const closing = track(server.close());
    // Pipelined on the same connection, behind the unanswered /slow.
    client.write(get(HEALTH));
    // The server has read it (an unread request would not hold anything up); give it a few turns.
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    assert.equal(closing.settled(), false, "close() waits for the in-flight request");
    assert.deepEqual(log, ["up", "slow started"]);

    slow.release();
    const [first, second] = await client.waitResponses(2);
    assert.equal(first?.status, 200);
    assert.deepEqual(JSON.parse(first!.body), { slow: true });
    assert.equal(second?.status, 503, second?.body);
    assert.equal(second?.headers.get("content-type"), "application/json");
    assert.equal(second?.body, '{"status":"draining"}');
    assert.equal(second?.headers.get("connection"), "close");
    await client.waitClosed();
    await within(closing.promise, "close()");
    assert.deepEqual(log, ["up", "slow started", "slow done", "down"]);
  });

  test("the connection of a request in flight when close() began is closed once it is answered: close() does not wait for the client", async () => {
    const log: string[] = [];
    const slow = slowRoute(log);
    const app = new App({ lifespan: lifespanInto(log), limits: PATIENT }).get("/slow", {}, slow.handler);
    const server = await serve(app);
    // A keep-alive client that leaves its connection open until the server closes it (a proxy's pool does).
    const client = await RawClient.open(server.url);
    client.write(get("/slow"));
    await within(slow.started, "the slow request to start");
    const closing = track(server.close());
    slow.release();
    const [answer] = await client.waitResponses(1);
    assert.equal(answer?.status, 200);
    assert.deepEqual(JSON.parse(answer!.body), { slow: true });
    await client.waitClosed();
    await within(closing.promise, "close()");
    assert.deepEqual(log, ["up", "slow started", "slow done", "down"]);
  });

  test("idle keep-alive connections are closed at once, and new connections are refused, while a request is in flight", async () => {
    const log: string[] = [];
    const slow = slowRoute(log);
    const app = new App({ lifespan: lifespanInto(log), limits: PATIENT })
      .get("/fast", {}, () => ({ fast: true }))
      .get("/slow", {}, slow.handler);
    const server = await serve(app);
    // Two keep-alive connections left idle after their answers.
    const idle = [await RawClient.open(server.url), await RawClient.open(server.url)];
    for (const client of idle) {
      client.write(get("/fast"));
      client.write(get("/fast"));
      const answers = await client.waitResponses(2);
      assert.deepEqual(
        answers.map((answer) => [answer.status, answer.headers.get("connection")]),
        [
          [200, "keep-alive"],
          [200, "keep-alive"],
        ],
      );
    }
    const busy = await RawClient.open(server.url);
    busy.write(get("/slow"));
    await within(slow.started, "the slow request to start");

    const closing = track(server.close());
    // Promptly: while the in-flight request still holds the server open.
    for (const client of idle) await client.waitClosed();
    assert.equal(await tryConnect(server.url), "ECONNREFUSED");
    assert.equal(busy.closed, false, "the busy connection stays open for its answer");
    assert.equal(closing.settled(), false);
    assert.deepEqual(log, ["up", "slow started"]);

    slow.release();
    const [answer] = await busy.waitResponses(1);
    assert.equal(answer?.status, 200);
    assert.deepEqual(JSON.parse(answer!.body), { slow: true });
    // The client goes away (whether the server closes first is another test).
    busy.socket.destroy();
    await within(closing.promise, "close()");
    assert.deepEqual(log, ["up", "slow started", "slow done", "down"]);
  });

  test("a connection that has not sent a request yet (a browser's preconnect) is closed at once too", async () => {
    const log: string[] = [];
    const slow = slowRoute(log);
    const app = new App({ lifespan: lifespanInto(log), limits: PATIENT }).get("/slow", {}, slow.handler);
    const server = await serve(app);
    const silent = await RawClient.open(server.url);
    const busy = await RawClient.open(server.url);
    busy.write(get("/slow"));
    await within(slow.started, "the slow request to start");

    const closing = track(server.close());
    try {
      // While the in-flight request still holds the server open: nothing waits on the silent connection.
      await silent.waitClosed();
      assert.equal(closing.settled(), false);
    } finally {
      slow.release();
    }
    await busy.waitResponses(1);
    busy.socket.destroy();
    await within(closing.promise, "close()");
    assert.deepEqual(log, ["up", "slow started", "slow done", "down"]);
  });

  test("an open event stream and an open WebSocket do not hold close(): the stream ends, the WebSocket gets 1001", async () => {
    const log: string[] = [];
    const Tick = z.object({ n: z.int() });
    const app = new App({ lifespan: lifespanInto(log), limits: PATIENT })
      .get("/events", { sse: Tick }, async function* ({ signal }) {
        try {
          yield { n: 1 };
          // Nothing more to say until the client leaves or the server shuts down.
          await new Promise<void>((resolve) => {
            if (signal.aborted) resolve();
            signal.addEventListener("abort", () => resolve(), { once: true });
          });
        } finally {
          log.push("events finally");
        }
      })
      .ws("/socket", {}, async ({ socket }) => {
        await socket.send("hello");
        for await (const message of socket) await socket.send(message);
        log.push("socket handler done");
      });
    const server = await serve(app);

    // The event stream: headers and the first event arrive, and the response stays open.
    let events = "";
    const streamEnded = deferred<{ complete: boolean }>();
    const firstEvent = deferred();
    const eventsRequest = httpRequest(`${server.url}/events`, { agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(res.headers["content-type"] ?? "", /^text\/event-stream/);
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        events += chunk;
        if (events.includes("\n\n")) firstEvent.resolve();
      });
      res.on("end", () => streamEnded.resolve({ complete: res.complete }));
      res.on("error", () => streamEnded.resolve({ complete: false }));
    });
    eventsRequest.on("error", () => streamEnded.resolve({ complete: false }));
    eventsRequest.end();
    await within(firstEvent.promise, "the first event");
    assert.equal(events, 'data: {"n":1}\n\n');

    // The WebSocket: open, greeted, echoing.
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/socket`);
    const wsClosed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })),
    );
    ws.on("error", () => {});
    const messages: string[] = [];
    ws.on("message", (data) => messages.push(String(data)));
    await waitFor(
      () => (messages.includes("hello") ? true : undefined),
      () => "the WebSocket greeting",
    );

    await within(server.close(), "close() with an open event stream and an open WebSocket");
    const ended = await within(streamEnded.promise, "the event stream to end");
    assert.equal(ended.complete, true, "the stream ends cleanly (its last chunk sent), not cut");
    assert.equal(events, 'data: {"n":1}\n\n');
    assert.equal((await within(wsClosed, "the WebSocket to close")).code, 1001);
    assert.ok(log.includes("events finally"), JSON.stringify(log));
    assert.equal(log.at(-1), "down", `the shutdown runs last: ${JSON.stringify(log)}`);
    ws.terminate();
  });

  test("an upload still arriving when close() begins completes and gets its 201", async () => {
    const log: string[] = [];
    const app = new App({ lifespan: lifespanInto(log), limits: PATIENT }).post(
      "/upload",
      { body: multipart({ title: z.string(), file: upload() }), status: 201 },
      async ({ body }) => {
        const bytes = await body.file.bytes();
        log.push("upload handled");
        return {
          title: body.title,
          name: body.file.filename,
          size: body.file.size,
          sha256: createHash("sha256").update(bytes).digest("hex"),
        };
      },
    );
    const server = await serve(app);
    const content = Buffer.alloc(256 * 1024);
    for (let index = 0; index < content.length; index++) content[index] = (index * 31 + 7) % 251;
    const boundary = "----brisk-shutdown-test";
    const payload = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nreport\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="data.bin"\r\n` +
          "Content-Type: application/octet-stream\r\n\r\n",
      ),
      content,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const head =
      "POST /upload HTTP/1.1\r\nHost: test\r\n" +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${payload.length}\r\n\r\n`;
    const half = Math.floor(payload.length / 2);

    const client = await RawClient.open(server.url);
    const arrived = deferred();
    server.server.once("request", () => arrived.resolve());
    client.write(Buffer.concat([Buffer.from(head), payload.subarray(0, half)]));
    await within(arrived.promise, "the server to read the request's head");

    const closing = track(server.close());
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    assert.equal(client.closed, false, "the connection of the upload stays open");
    assert.equal(closing.settled(), false, "close() waits for the upload");
    assert.deepEqual(log, ["up"]);
    client.write(payload.subarray(half));

    const [answer] = await client.waitResponses(1);
    assert.equal(answer?.status, 201, answer?.body);
    assert.deepEqual(JSON.parse(answer!.body), {
      title: "report",
      name: "data.bin",
      size: content.length,
      sha256: createHash("sha256").update(content).digest("hex"),
    });
    // The client goes away (whether the server closes first is the test above).
    client.socket.destroy();
    await within(closing.promise, "close()");
    assert.deepEqual(log, ["up", "upload handled", "down"]);
  });
});
