// Streamed responses: JSON Lines (`stream: schema`), raw streams (`stream()`) and Server-Sent Events (`sse: schema`),
// checked over real sockets wherever only a socket shows the behaviour (backpressure, a cut connection, a client
// that goes away, a real EventSource reconnecting), and in-process through `app.fetch` for the rest.
import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, dependency, type Listening, listen, stream } from "briskjs";
import { EventSource } from "undici";
import { z } from "zod";
import { call, recordingLogger } from "./helpers/app.ts";

const Item = z.object({ id: z.int(), name: z.string() });
type Item = z.infer<typeof Item>;
const Tick = z.object({ n: z.int() });
type Tick = z.infer<typeof Tick>;

const encoder = new TextEncoder();

/** Polls `check` until it holds; fails once `deadlineMs` has passed (a deadline for waiting, not a speed check). */
async function waitFor(check: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/** A response as Node's HTTP client read it off the socket. */
interface Received {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  /** Whether the body arrived in full: false when the server cut the connection mid-body. */
  readonly complete: boolean;
  /** Why no response arrived at all (status 0): the connection closed before the head. */
  readonly error?: string;
}

/** Sends a request on a fresh connection and reads the whole answer, or as much as arrives before a cut. */
function send(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<Received> {
  return new Promise((resolve) => {
    const req = httpRequest(
      new URL(path, base),
      { method: init.method ?? "GET", headers: init.headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (chunk: Buffer) => parts.push(chunk));
        // A cut connection is reported as an error on the response; `complete` tells it apart.
        res.on("error", () => {});
        res.on("close", () => {
          const body = Buffer.concat(parts);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString("utf8"),
            complete: res.complete,
          });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${path} within 10 s`)));
    // No answer at all is a result too: the assertions on it say what was expected.
    req.on("error", (error) =>
      resolve({
        status: 0,
        headers: {},
        body: Buffer.alloc(0),
        text: "",
        complete: false,
        error: error.message,
      }),
    );
    req.end();
  });
}

/** Starts a request and goes away as soon as the first bytes of the body arrive; resolves with those bytes. */
function readFirstThenLeave(base: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { agent: false }, (res) => {
      res.once("data", (chunk: Buffer) => {
        req.destroy();
        resolve(chunk.toString("utf8"));
      });
      res.on("error", () => {});
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no body from ${path} within 10 s`)));
    // Leaving on purpose raises no error; one before the first bytes fails the test (a promise settles once).
    req.on("error", reject);
    req.end();
  });
}

/** Starts a server for a describe block; closes any connection a failed test left open. */
function serve(app: App): { readonly url: () => string } {
  let server: Listening | undefined;
  before(async () => {
    server = await listen(app, { port: 0 });
  });
  after(async () => {
    server?.server.closeAllConnections();
    await server?.close();
  });
  return { url: () => server!.url };
}

describe("JSON Lines (stream: schema) over a socket", () => {
  const logger = recordingLogger();
  const seen = {
    completedSignal: undefined as AbortSignal | undefined,
    abortedAtTask: undefined as boolean | undefined,
    badFinally: false,
  };
  const app = new App({ logger })
    .get("/items", { stream: Item }, ({ signal, background }) => {
      seen.completedSignal = signal;
      background(() => {
        seen.abortedAtTask = signal.aborted;
      });
      return (async function* () {
        const items = [
          { id: 1, name: "one", secret: "never sent" },
          { id: 2, name: "two", secret: "never sent" },
          { id: 3, name: "three\nwith a newline", secret: "never sent" },
        ];
        for (const item of items) {
          await sleep(1);
          yield item;
        }
      })();
    })
    .get("/bad/{when}", { stream: Item }, async function* ({ params }) {
      try {
        yield { id: 1, name: "fine" };
        // "later": the valid line has surely gone out before the failure; "at-once": right behind it.
        if (params.when === "later") await sleep(20);
        yield { id: "not a number", name: "leaked?" } as unknown as Item;
        yield { id: 3, name: "after the failure" };
      } finally {
        seen.badFinally = true;
      }
    })
    .get("/sync", { stream: Item }, function* () {
      yield { id: 1, name: "a" };
      yield { id: 2, name: "b" };
    })
    .get("/array", { stream: Item }, () => [{ id: 7, name: "from an array" }])
    .get("/empty", { stream: Item }, async function* () {})
    .get("/controlled", { stream: Item }, ({ response }) => {
      response.headers.set("x-total", "1");
      // The format is the route's: a handler's content-type does not replace application/jsonl.
      response.headers.set("content-type", "text/plain");
      response.status = 201;
      return [{ id: 1, name: "a" }];
    });
  const server = serve(app);

  test("each item is one line of JSON, filtered by the schema, as application/jsonl", async () => {
    const res = await send(server.url(), "/items");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/jsonl");
    assert.equal(res.headers["content-length"], undefined, "a stream has no length known in advance");
    assert.equal(res.headers["transfer-encoding"], "chunked");
    assert.ok(res.complete);
    assert.equal(
      res.text,
      '{"id":1,"name":"one"}\n{"id":2,"name":"two"}\n{"id":3,"name":"three\\nwith a newline"}\n',
    );
    const lines = res.text.split("\n");
    assert.equal(lines.pop(), "", "the last line ends with a newline too");
    assert.deepEqual(
      lines.map((line) => JSON.parse(line)),
      [
        { id: 1, name: "one" },
        { id: 2, name: "two" },
        { id: 3, name: "three\nwith a newline" },
      ],
    );
    // A response that completed is not an abort, not even once the connection closes afterwards.
    await waitFor(() => seen.abortedAtTask !== undefined, "the background task");
    assert.equal(seen.abortedAtTask, false);
    assert.equal(seen.completedSignal?.aborted, false);
    assert.deepEqual(logger.errors, []);
  });

  test("an item failing the schema cuts the connection: invalid data is never sent", async () => {
    const res = await send(server.url(), "/bad/later");
    assert.equal(res.status, 200, "the headers went out with the first item");
    assert.equal(res.headers["content-type"], "application/jsonl");
    assert.equal(res.complete, false, "the client must see an incomplete body, not a clean end");
    assert.equal(res.text, '{"id":1,"name":"fine"}\n');
  });

  test("an item failing the schema is logged", async () => {
    const before = logger.errors.length;
    const res = await send(server.url(), "/bad/later");
    assert.equal(res.complete, false);
    await waitFor(() => logger.errors.length > before, "the failure to be logged", 2000);
    assert.equal(logger.errors.length, before + 1, logger.errors.join("\n"));
  });

  test("an item failing right behind valid ones: what was valid still reaches the client", async () => {
    const res = await send(server.url(), "/bad/at-once");
    assert.equal(res.status, 200, `the headers went out with the first item (${res.error ?? "no error"})`);
    assert.equal(res.complete, false);
    assert.equal(res.text, '{"id":1,"name":"fine"}\n');
  });

  test("an item failing the schema ends the iteration: the generator's finally runs", async () => {
    seen.badFinally = false;
    const res = await send(server.url(), "/bad/later");
    assert.equal(res.complete, false);
    await waitFor(() => seen.badFinally, "the generator's finally after the failed item");
  });

  test("sync iterables stream too: a generator, an array", async () => {
    const generated = await send(server.url(), "/sync");
    assert.ok(generated.complete);
    assert.equal(generated.headers["content-type"], "application/jsonl");
    assert.equal(generated.text, '{"id":1,"name":"a"}\n{"id":2,"name":"b"}\n');
    const array = await send(server.url(), "/array");
    assert.ok(array.complete);
    assert.equal(array.text, '{"id":7,"name":"from an array"}\n');
  });

  test("an empty stream is an empty, complete body", async () => {
    const res = await send(server.url(), "/empty");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/jsonl");
    assert.ok(res.complete);
    assert.equal(res.text, "");
  });

  test("the handler's status and headers apply; its content-type does not", async () => {
    const res = await send(server.url(), "/controlled");
    assert.equal(res.status, 201);
    assert.equal(res.headers["x-total"], "1");
    assert.equal(res.headers["content-type"], "application/jsonl");
    assert.equal(res.text, '{"id":1,"name":"a"}\n');
  });
});

describe("stream(): raw streamed responses", () => {
  const logger = recordingLogger();
  const app = new App({ logger })
    .get("/text", {}, () => stream(["héllo ", "wörld ", "✓"], "text/plain; charset=utf-8"))
    .get("/bytes", {}, () =>
      stream(
        (async function* () {
          yield new Uint8Array([0, 1, 2, 255]);
          yield new Uint8Array([10, 13]);
        })(),
      ),
    )
    .get("/web", {}, () =>
      stream(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(encoder.encode("from a "));
            controller.enqueue(encoder.encode("ReadableStream"));
            controller.close();
          },
        }),
        "text/plain",
      ),
    )
    .get("/init", {}, () =>
      stream(["a,b\n", "1,2\n"], "text/csv", { status: 202, headers: { "x-kind": "report" } }),
    );
  const server = serve(app);

  test("strings are sent as UTF-8, with the given media type", async () => {
    const res = await send(server.url(), "/text");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/plain; charset=utf-8");
    assert.ok(res.complete);
    assert.deepEqual(res.body, Buffer.from("héllo wörld ✓", "utf8"));
  });

  test("bytes are sent as they are, as application/octet-stream by default", async () => {
    const res = await send(server.url(), "/bytes");
    assert.equal(res.headers["content-type"], "application/octet-stream");
    assert.ok(res.complete);
    assert.deepEqual([...res.body], [0, 1, 2, 255, 10, 13]);
  });

  test("a web ReadableStream is streamed", async () => {
    const res = await send(server.url(), "/web");
    assert.equal(res.headers["content-type"], "text/plain");
    assert.ok(res.complete);
    assert.equal(res.text, "from a ReadableStream");
  });

  test("init sets the status and headers", async () => {
    const res = await send(server.url(), "/init");
    assert.equal(res.status, 202);
    assert.equal(res.headers["content-type"], "text/csv");
    assert.equal(res.headers["x-kind"], "report");
    assert.equal(res.text, "a,b\n1,2\n");
    assert.deepEqual(logger.errors, []);
  });
});

describe("backpressure over a socket", () => {
  const CHUNK = 64 * 1024;
  /** Far more than socket buffers hold: a server that ignored backpressure would go well past it. */
  const BOUND = (50 * 1024 * 1024) / CHUNK;
  const chunk = new Uint8Array(CHUNK).fill(0x61);
  const state = { produced: 0, closed: false, signal: undefined as AbortSignal | undefined };
  const jsonl = { produced: 0, closed: false };
  const Blob = z.object({ n: z.int(), pad: z.string() });
  const pad = "x".repeat(CHUNK);
  const app = new App({ logger: recordingLogger() })
    .get("/endless", {}, ({ signal }) => {
      state.signal = signal;
      return stream(
        (async function* () {
          try {
            for (;;) {
              // Back to the event loop between chunks, so that a server without backpressure fails the test
              // (the count runs past the bound) instead of starving the timers that check it.
              await new Promise((resolve) => setImmediate(resolve));
              state.produced++;
              yield chunk;
            }
          } finally {
            state.closed = true;
          }
        })(),
      );
    })
    .get("/endless.jsonl", { stream: Blob }, async function* () {
      try {
        for (let n = 0; ; n++) {
          await new Promise((resolve) => setImmediate(resolve));
          jsonl.produced++;
          yield { n, pad };
        }
      } finally {
        jsonl.closed = true;
      }
    });
  const server = serve(app);

  /**
   * Connects, asks for `path` and never reads a byte. Waits until `count()` has stopped growing (or has passed the
   * bound, or the deadline has passed) and returns the socket, still open.
   */
  async function stallingClient(
    path: string,
    count: () => number,
  ): Promise<{ destroy(): void; stable: boolean }> {
    const { hostname, port } = new URL(server.url());
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.pause();
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
    await waitFor(() => count() > 0, "the first chunk");
    const deadline = Date.now() + 20_000;
    let last = -1;
    let since = Date.now();
    let stable = false;
    while (Date.now() < deadline && count() < BOUND) {
      await sleep(50);
      const now = count();
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= 500) {
        stable = true;
        break;
      }
    }
    return { destroy: () => socket.destroy(), stable };
  }

  test("a client that reads nothing holds the generator back; leaving runs its finally and aborts the signal", async () => {
    const client = await stallingClient("/endless", () => state.produced);
    try {
      assert.ok(
        state.produced < BOUND,
        `the producer ran ahead of the reader: ${state.produced} chunks of 64 KiB for a client that read none`,
      );
      assert.ok(client.stable, `the producer never stopped (${state.produced} chunks)`);
      assert.equal(state.closed, false, "the stream is still open while the client is connected");
      assert.equal(state.signal?.aborted, false);
    } finally {
      client.destroy();
    }
    await waitFor(() => state.closed, "the generator's finally after the client left");
    assert.equal(state.signal?.aborted, true, "context.signal aborts when the client goes away");
    const after = state.produced;
    await sleep(50);
    assert.equal(state.produced, after, "nothing is produced once the stream is cancelled");
  });

  test("the same for JSON Lines", async () => {
    const client = await stallingClient("/endless.jsonl", () => jsonl.produced);
    try {
      assert.ok(jsonl.produced < BOUND, `the producer ran ahead of the reader: ${jsonl.produced} lines`);
      assert.ok(client.stable, `the producer never stopped (${jsonl.produced} lines)`);
      assert.equal(jsonl.closed, false);
    } finally {
      client.destroy();
    }
    await waitFor(() => jsonl.closed, "the generator's finally after the client left");
  });
});

describe("a client that goes away mid-stream", () => {
  const logger = recordingLogger();
  const jsonl = { closed: false, signal: undefined as AbortSignal | undefined, sent: 0 };
  const sse = { closed: false, signal: undefined as AbortSignal | undefined, sent: 0 };
  const log: string[] = [];
  const session = dependency(async function* () {
    log.push("dep open");
    yield "session";
    log.push("dep close");
  });
  const app = new App({ logger })
    .get("/ticks", { stream: Tick }, async function* ({ signal }) {
      jsonl.signal = signal;
      try {
        for (let n = 0; ; n++) {
          jsonl.sent++;
          yield { n };
          await sleep(10);
        }
      } finally {
        jsonl.closed = true;
      }
    })
    .get("/events", { sse: Tick }, async function* ({ signal }) {
      sse.signal = signal;
      try {
        for (let n = 0; ; n++) {
          sse.sent++;
          yield { n };
          await sleep(10);
        }
      } finally {
        sse.closed = true;
      }
    })
    .get("/with-cleanup", { stream: Tick, deps: { session } }, ({ background }) => {
      background(() => log.push("task"));
      return (async function* () {
        try {
          for (let n = 0; ; n++) {
            yield { n };
            await sleep(10);
          }
        } finally {
          // Still using what the dependency provides: its cleanup must wait for this.
          await sleep(20);
          log.push("finally");
        }
      })();
    });
  const server = serve(app);

  test("JSON Lines: finally runs and context.signal aborts", async () => {
    const first = await readFirstThenLeave(server.url(), "/ticks");
    assert.match(first, /^\{"n":0\}\n/);
    await waitFor(() => jsonl.closed, "the generator's finally");
    assert.equal(jsonl.signal?.aborted, true);
    const sent = jsonl.sent;
    await sleep(50);
    assert.equal(jsonl.sent, sent, "the generator is not pulled after the cancel");
  });

  test("Server-Sent Events: finally runs and context.signal aborts", async () => {
    const first = await readFirstThenLeave(server.url(), "/events");
    assert.match(first, /^data: \{"n":0\}\n\n/);
    await waitFor(() => sse.closed, "the generator's finally");
    assert.equal(sse.signal?.aborted, true);
    const sent = sse.sent;
    await sleep(50);
    assert.equal(sse.sent, sent, "the generator is not pulled after the cancel");
  });

  test("background tasks and dependency cleanup wait for the cancelled stream's finally", async () => {
    log.length = 0;
    await readFirstThenLeave(server.url(), "/with-cleanup");
    await waitFor(() => log.includes("dep close") && log.includes("finally"), "the cleanup");
    assert.deepEqual([...log], ["dep open", "finally", "task", "dep close"]);
    assert.deepEqual(logger.errors, []);
  });
});

describe("a client that is gone before its stream begins, or whose answer waits behind a pipelined one", () => {
  // Each generator counts its start and its end, and each request adds a background task: a client leaving must
  // leave none of them hanging (a file open, a cleanup never run), on either request path.
  const counts = { started: 0, finished: 0, tasks: 0, handlers: 0 };
  let release: () => void = () => {};
  const chunk = "x".repeat(64 * 1024);
  const bigStream = () =>
    stream(
      (async function* () {
        counts.started++;
        try {
          for (let index = 0; index < 64; index++) yield chunk;
        } finally {
          counts.finished++;
        }
      })(),
      "text/plain",
    );
  const app = new App()
    .get("/late", {}, async ({ background }) => {
      counts.handlers++;
      background(() => void counts.tasks++);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return bigStream();
    })
    .get("/big", {}, ({ background }) => {
      counts.handlers++;
      background(() => void counts.tasks++);
      return bigStream();
    });

  for (const fastLane of [true, false]) {
    describe(`lane ${fastLane ? "on" : "off"}`, () => {
      let server: Listening | undefined;
      before(async () => {
        server = await listen(app, { port: 0, fastLane });
      });
      after(async () => {
        server?.server.closeAllConnections();
        await server?.close();
      });
      const settled = () =>
        waitFor(
          () => counts.finished === counts.started && counts.tasks === counts.handlers,
          "every stream to end and every background task to run",
        );

      test("gone while the handler ran: the stream it returns is cancelled unread, and its tasks run", async () => {
        Object.assign(counts, { started: 0, finished: 0, tasks: 0, handlers: 0 });
        const { port } = new URL(server!.url);
        const socket = connect(Number(port), "127.0.0.1");
        socket.on("error", () => {});
        socket.write("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
        await waitFor(() => counts.handlers === 1, "the handler to start");
        socket.destroy();
        await sleep(20);
        release();
        await settled();
        assert.equal(counts.tasks, 1);
      });

      test("three pipelined, none read, then gone: every stream that began ends, every task runs", async () => {
        Object.assign(counts, { started: 0, finished: 0, tasks: 0, handlers: 0 });
        const { port } = new URL(server!.url);
        const socket = connect(Number(port), "127.0.0.1");
        socket.on("error", () => {});
        socket.pause();
        socket.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3));
        await waitFor(() => counts.started >= 1, "the first stream to begin");
        await sleep(50);
        socket.destroy();
        await settled();
      });
    });
  }
});

describe("Server-Sent Events", () => {
  const logger = recordingLogger();
  const connections: (string | undefined)[] = [];
  const quiet = { closed: false };
  const withExtra = { n: 2, extra: "dropped" };
  const bad: Record<string, unknown> = {
    schema: { n: "not a number" },
    event: { event: "two\nlines", data: { n: 2 } },
    id: { id: "two\nlines", data: { n: 2 } },
    retry: { retry: -1, data: { n: 2 } },
    both: { data: { n: 2 }, rawData: "and raw" },
  };
  const app = new App({ logger })
    .get("/feed", { sse: Tick }, async function* ({ lastEventId, signal }) {
      connections.push(lastEventId);
      if (lastEventId === undefined) {
        yield { event: "tick", id: "1", data: { n: 1 }, retry: 20 };
        yield withExtra;
        yield { id: "3", data: { n: 3 } };
        // The stream ends here: the EventSource reconnects, sending the last id it saw.
        return;
      }
      yield { id: "4", data: { n: Number(lastEventId) + 1 } };
      await aborted(signal);
    })
    .get("/wire", { sse: Tick }, async function* () {
      yield { n: 1 };
      yield { comment: "first\nsecond", event: "update", data: { n: 2 }, id: "7", retry: 1000 };
      yield { rawData: "line one\nline two\r\nline three", event: "raw" };
      yield { comment: "only a comment" };
      yield withExtra;
    })
    .get("/bad/{kind}", { sse: Tick }, async function* ({ params }) {
      yield { n: 1 };
      await sleep(20);
      yield bad[params.kind] as Tick;
      yield { data: { n: 99 }, comment: "after the failure" };
    })
    .get("/quiet", { sse: Tick, pingInterval: 40 }, async function* () {
      try {
        yield { n: 1 };
        // Idle for a few ping intervals: the pending item is kept, not asked for again.
        await sleep(200);
        yield { n: 2 };
      } finally {
        quiet.closed = true;
      }
    })
    .get("/unpinged", { sse: Tick }, async function* () {
      yield { n: 1 };
      await sleep(100);
      yield { n: 2 };
    })
    .get("/resume", { sse: Tick }, async function* ({ lastEventId }) {
      yield { data: { n: lastEventId === undefined ? -1 : Number(lastEventId) }, id: lastEventId ?? "none" };
    });
  const server = serve(app);

  test("a real EventSource receives named and plain events, and resumes with Last-Event-ID", async () => {
    const received: { type: string; data: string; lastEventId: string }[] = [];
    const source = new EventSource(`${server.url()}/feed`);
    const keep = (event: Event) => {
      const message = event as MessageEvent<string>;
      received.push({ type: message.type, data: message.data, lastEventId: message.lastEventId });
    };
    source.addEventListener("tick", keep);
    source.addEventListener("message", keep);
    try {
      await waitFor(() => received.length >= 4, "four events across a reconnection", 10_000);
    } finally {
      source.close();
    }
    assert.deepEqual(received, [
      { type: "tick", data: '{"n":1}', lastEventId: "1" },
      { type: "message", data: '{"n":2}', lastEventId: "1" },
      { type: "message", data: '{"n":3}', lastEventId: "3" },
      { type: "message", data: '{"n":4}', lastEventId: "4" },
    ]);
    assert.deepEqual(
      connections,
      [undefined, "3"],
      "the handler saw the reconnecting client's Last-Event-ID",
    );
  });

  test("the wire format: comment, event, data (one line per line), id, retry, blank line", async () => {
    const res = await send(server.url(), "/wire");
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
    assert.equal(res.headers["cache-control"], "no-cache");
    assert.equal(res.headers["x-accel-buffering"], "no");
    assert.ok(res.complete);
    assert.equal(
      res.text,
      [
        'data: {"n":1}\n\n',
        ": first\n: second\n",
        'event: update\ndata: {"n":2}\nid: 7\nretry: 1000\n\n',
        "event: raw\ndata: line one\ndata: line two\ndata: line three\n\n",
        ": only a comment\n\n",
        'data: {"n":2}\n\n',
      ].join(""),
    );
  });

  for (const kind of Object.keys(bad)) {
    test(`an invalid event (${kind}) cuts the stream after what was valid`, async () => {
      const res = await send(server.url(), `/bad/${kind}`);
      assert.equal(res.status, 200);
      assert.equal(res.complete, false, "the client must see the stream cut, not a clean end");
      assert.equal(res.text, 'data: {"n":1}\n\n');
    });
  }

  test("an invalid event is logged", async () => {
    const before = logger.errors.length;
    const res = await send(server.url(), "/bad/id");
    assert.equal(res.complete, false);
    await waitFor(() => logger.errors.length > before, "the failure to be logged", 2000);
    assert.equal(logger.errors.length, before + 1, logger.errors.join("\n"));
  });

  test("an idle stream sends a ping comment every pingInterval, and keeps the item it waits for", async () => {
    const res = await send(server.url(), "/quiet");
    assert.ok(res.complete);
    assert.match(res.text, /^data: \{"n":1\}\n\n(: ping\n\n)+data: \{"n":2\}\n\n$/);
    assert.ok(quiet.closed);
  });

  test("without pingInterval, a short pause sends no ping (the default is 15 s)", async () => {
    const res = await send(server.url(), "/unpinged");
    assert.equal(res.text, 'data: {"n":1}\n\ndata: {"n":2}\n\n');
  });

  test("context.lastEventId is the Last-Event-ID header", async () => {
    const resumed = await send(server.url(), "/resume", { headers: { "last-event-id": "41" } });
    assert.equal(resumed.text, 'data: {"n":41}\nid: 41\n\n');
    const fresh = await send(server.url(), "/resume");
    assert.equal(fresh.text, 'data: {"n":-1}\nid: none\n\n');
  });
});

describe("HEAD on a streaming route", () => {
  const spy = { nexts: 0, returned: 0 };
  /** An endless source that counts what is asked of it. */
  const endless = (): AsyncIterable<Tick> => ({
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        spy.nexts++;
        return { done: false, value: { n: spy.nexts } };
      },
      return: async () => {
        spy.returned++;
        return { done: true, value: undefined };
      },
    }),
  });
  const app = new App({ logger: recordingLogger() })
    .get("/lines", { stream: Tick }, () => endless())
    .get("/events", { sse: Tick }, () => endless())
    .get("/raw", {}, () => stream((async function* () {})(), "text/plain"));
  const server = serve(app);

  for (const [path, type] of [
    ["/lines", "application/jsonl"],
    ["/events", "text/event-stream; charset=utf-8"],
  ] as const) {
    test(`over a socket, ${path} sends headers only and cancels the stream`, async () => {
      spy.nexts = 0;
      spy.returned = 0;
      const res = await send(server.url(), path, { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], type);
      assert.ok(res.complete, "an endless stream must not keep a HEAD answer open");
      assert.equal(res.body.length, 0);
      await waitFor(() => spy.returned === 1, "the source's return()");
      assert.equal(spy.nexts, 0, "nothing is produced for a HEAD answer");
    });

    test(`through app.fetch, ${path} has no body and cancels the stream`, async () => {
      spy.nexts = 0;
      spy.returned = 0;
      const res = await call(app, path, { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), type);
      assert.equal(res.body, null);
      await waitFor(() => spy.returned === 1, "the source's return()");
      assert.equal(spy.nexts, 0);
    });
  }
});

describe("streaming through app.fetch", () => {
  const state = { closed: false, produced: 0 };
  const app = new App({ logger: recordingLogger() })
    .get("/items", { stream: Item }, async function* () {
      yield { id: 1, name: "a" };
      yield { id: 2, name: "b", extra: true } as Item;
    })
    .get("/bad", { stream: Item }, async function* () {
      yield { id: 1, name: "a" };
      yield { id: "x" } as unknown as Item;
    })
    .get("/events", { sse: Tick }, function* () {
      yield { data: { n: 1 }, event: "e", id: "1" };
    })
    .get("/endless", { stream: Tick }, async function* () {
      try {
        for (let n = 0; ; n++) {
          state.produced++;
          yield { n };
        }
      } finally {
        state.closed = true;
      }
    });

  test("the body reads as JSON Lines", async () => {
    const res = await call(app, "/items");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/jsonl");
    assert.equal(await res.text(), '{"id":1,"name":"a"}\n{"id":2,"name":"b"}\n');
  });

  test("an invalid item errors the body rather than ending it cleanly", async () => {
    const res = await call(app, "/bad");
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), '{"id":1,"name":"a"}\n');
    await assert.rejects(reader.read());
  });

  test("events read as text/event-stream", async () => {
    const res = await call(app, "/events");
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(await res.text(), 'event: e\ndata: {"n":1}\nid: 1\n\n');
  });

  test("items are pulled as read, and cancelling the body runs the generator's finally", async () => {
    const res = await call(app, "/endless");
    const reader = res.body!.getReader();
    for (let read = 0; read < 3; read++) {
      const { value } = await reader.read();
      assert.equal(new TextDecoder().decode(value), `{"n":${read}}\n`);
    }
    // Pull-based: at most one item beyond what was read is ever asked for.
    assert.ok(state.produced <= 4, `produced ${state.produced} for 3 read`);
    assert.equal(state.closed, false);
    await reader.cancel();
    await waitFor(() => state.closed, "the generator's finally");
  });
});

describe("background tasks and dependency cleanup wait for the stream", () => {
  const log: string[] = [];
  const session = dependency(async function* () {
    log.push("dep open");
    yield "session";
    log.push("dep close");
  });
  const app = new App({ logger: recordingLogger() })
    .get("/plain", { stream: Tick }, ({ background }) => {
      background(() => log.push("task"));
      return (async function* () {
        try {
          for (let n = 0; n < 3; n++) {
            await sleep(5);
            log.push(`item ${n}`);
            yield { n };
          }
        } finally {
          log.push("finally");
        }
      })();
    })
    .get("/with-deps", { sse: Tick, deps: { session } }, ({ background, session }) => {
      background(() => log.push("task"));
      return (async function* () {
        log.push(`streaming with ${session}`);
        for (let n = 0; n < 2; n++) {
          await sleep(5);
          log.push(`item ${n}`);
          yield { n };
        }
        log.push("end");
      })();
    })
    .get("/added-while-streaming", { stream: Tick }, async function* ({ background }) {
      // The handler is the generator: its body, and so this call, runs once the response is under way.
      background(() => log.push("task"));
      log.push("item 0");
      yield { n: 0 };
      log.push("end");
    });
  const server = serve(app);

  test("over a socket, a background task runs after the last item", async () => {
    log.length = 0;
    const res = await send(server.url(), "/plain");
    assert.ok(res.complete);
    await waitFor(() => log.includes("task"), "the background task");
    assert.deepEqual([...log], ["item 0", "item 1", "item 2", "finally", "task"]);
  });

  test("over a socket, with dependencies: tasks, then cleanup, after the stream ends", async () => {
    log.length = 0;
    const res = await send(server.url(), "/with-deps");
    assert.equal(res.text, 'data: {"n":0}\n\ndata: {"n":1}\n\n');
    await waitFor(() => log.includes("dep close"), "the dependency's cleanup");
    assert.deepEqual(
      [...log],
      ["dep open", "streaming with session", "item 0", "item 1", "end", "task", "dep close"],
    );
  });

  test("through app.fetch, tasks wait until the body has been read", async () => {
    log.length = 0;
    const res = await call(app, "/with-deps");
    await sleep(20);
    assert.ok(!log.includes("task") && !log.includes("dep close"), `ran before the body was read: ${log}`);
    assert.equal(await res.text(), 'data: {"n":0}\n\ndata: {"n":1}\n\n');
    await waitFor(() => log.includes("dep close"), "the dependency's cleanup");
    assert.deepEqual(
      [...log],
      ["dep open", "streaming with session", "item 0", "item 1", "end", "task", "dep close"],
    );
  });

  test("a task added from a generator handler's body runs after the stream, not never", async () => {
    log.length = 0;
    const res = await send(server.url(), "/added-while-streaming");
    assert.equal(res.text, '{"n":0}\n');
    await waitFor(() => log.includes("task"), "the background task added while streaming");
    assert.deepEqual([...log], ["item 0", "end", "task"]);
  });
});

describe("OpenAPI", () => {
  const app = new App()
    .get("/lines", { stream: Item }, async function* () {})
    .get("/events", { sse: Tick }, async function* () {})
    .get("/raw", {}, () => stream([], "text/plain"));
  const doc = app.openapi() as unknown as {
    paths: Record<
      string,
      { get: { responses: Record<string, { content?: Record<string, { schema: Schema }> }> } }
    >;
    components?: { schemas?: Record<string, Schema> };
  };
  type Schema = { $ref?: string; [key: string]: unknown };
  const resolve = (schema: Schema): Schema => {
    if (schema.$ref === undefined) return schema;
    const name = schema.$ref.replace("#/components/schemas/", "");
    const found = doc.components?.schemas?.[name];
    assert.ok(found !== undefined, `unresolved ${schema.$ref}`);
    return found;
  };
  const content = (path: string) => doc.paths[path]!.get.responses["200"]!.content!;

  test("a stream route's success content is application/jsonl with the item schema", () => {
    const media = content("/lines");
    assert.deepEqual(Object.keys(media), ["application/jsonl"]);
    const item = resolve(media["application/jsonl"]!.schema);
    assert.equal(item.type, "object");
    assert.deepEqual(Object.keys(item.properties as object).sort(), ["id", "name"]);
    assert.deepEqual([...(item.required as string[])].sort(), ["id", "name"]);
  });

  test("an sse route's success content is text/event-stream, an object whose data is the item schema", () => {
    const media = content("/events");
    assert.deepEqual(Object.keys(media), ["text/event-stream"]);
    const event = resolve(media["text/event-stream"]!.schema);
    assert.equal(event.type, "object");
    const properties = event.properties as Record<string, Schema>;
    const data = resolve(properties.data!);
    assert.equal(data.type, "object");
    assert.deepEqual(Object.keys(data.properties as object), ["n"]);
    assert.deepEqual(properties.event, { type: "string" });
    assert.deepEqual(properties.id, { type: "string" });
    assert.equal((properties.retry as Schema).type, "integer");
  });
});
