// Hostile input, class 7 of SECURITY.md §4 (the in-process half): slow clients, idle and aborted connections, the
// connection cap, the handler deadline and a burst of mixed traffic, against a running server over raw TCP. The
// limits are small so that each deadline passes in about a second; every wait has a deadline far beyond it. After
// each case the server must still answer at once, and GET /items must show only the items created on purpose.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, type Limits, type Listening, type Logger, stream, text } from "briskjs";
import { z } from "zod";
import { within } from "./raw-client.ts";
import {
  assertJsonError,
  assertSafeErrorBody,
  DEADLINE_MS,
  exchange,
  RawSocket,
  request,
  saysClose,
  serve,
} from "./raw-socket.ts";

const LIMITS = {
  headersTimeout: 1_000,
  requestTimeout: 2_000,
  keepAliveTimeout: 2_000,
  sendTimeout: 1_000,
  handlerTimeout: 500,
} as const satisfies Limits;

const BIG = 24 * 1024 * 1024;
const ITEM = JSON.stringify({ name: "slow", price: 1 });

interface Recorded {
  readonly errors: string[];
  readonly warnings: string[];
  /** Generators that ended (their `finally` ran), by name. */
  readonly finished: string[];
  /** Set by /hang when its signal aborts. */
  aborted: Promise<string> | undefined;
}

function slowApp(recorded: Recorded, limits: Limits = LIMITS): App {
  const logger: Logger = {
    info: () => {},
    warn: (message) => void recorded.warnings.push(message),
    error: (message, error) =>
      void recorded.errors.push(error instanceof Error ? `${message}: ${error.message}` : message),
  };
  const Item = z.object({ name: z.string().min(1), price: z.number().gt(0) });
  const items: unknown[] = [];
  const chunk = "x".repeat(64 * 1024);
  const big = "y".repeat(BIG);
  return new App({ logger, limits })
    .post("/items", { body: Item, status: 201 }, ({ body }) => {
      items.push(body);
      return { id: items.length, ...body };
    })
    .get("/items", {}, () => ({ total: items.length }))
    .get("/big", {}, () => text(big))
    .get("/bytes", {}, () =>
      stream(
        (async function* () {
          try {
            for (;;) yield chunk;
          } finally {
            recorded.finished.push("bytes");
          }
        })(),
        "application/octet-stream",
      ),
    )
    .get("/lines", { stream: z.object({ n: z.int(), pad: z.string() }) }, async function* () {
      try {
        for (let n = 0; ; n++) yield { n, pad: chunk };
      } finally {
        recorded.finished.push("lines");
      }
    })
    .get("/hang", {}, ({ signal }) => {
      recorded.aborted = new Promise((resolve) =>
        signal.addEventListener("abort", () => resolve(String(signal.reason)), { once: true }),
      );
      return new Promise<never>(() => {});
    })
    .post("/items-hang", { body: Item }, ({ body, signal }) => {
      // Would create the item only if it ever resumed: it never does, and the deadline answers.
      return new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => reject(new Error(`abandoned ${body.name}`)), { once: true });
      });
    });
}

// ---------------------------------------------------------------------------------------------------------------

const recorded: Recorded = { errors: [], warnings: [], finished: [], aborted: undefined };
let server: Listening;
let created = 0;

before(async () => {
  server = await serve(slowApp(recorded));
});

/** The server answers a normal request on a fresh connection at once, and holds only the items made on purpose. */
async function assertServes(listening: Listening = server, total: number = created): Promise<void> {
  const response = await exchange(listening.url, request("GET", "/items"));
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(JSON.parse(response.text), { total });
}

/** The server side of a client connection, once the server has accepted it. */
async function serverSocketOf(listening: Listening, client: RawSocket): Promise<Socket> {
  const port = client.socket.localPort;
  const until = performance.now() + DEADLINE_MS;
  for (;;) {
    const found = acceptedSockets.get(listening)?.find((socket) => socket.remotePort === port);
    if (found !== undefined) return found;
    if (performance.now() > until) assert.fail(`the server never accepted the connection from port ${port}`);
    await sleep(10);
  }
}

const acceptedSockets = new Map<Listening, Socket[]>();
function watchConnections(listening: Listening): void {
  const list: Socket[] = [];
  acceptedSockets.set(listening, list);
  listening.server.on("connection", (socket: Socket) => {
    list.push(socket);
    socket.once("close", () => list.splice(list.indexOf(socket), 1));
  });
}

/** Writes `bytes` one at a time, `intervalMs` apart, until done or the connection closes. */
async function trickle(socket: RawSocket, bytes: string, intervalMs: number): Promise<number> {
  let sent = 0;
  for (const byte of bytes) {
    if (socket.isClosed) break;
    await socket.write(byte);
    sent++;
    await sleep(intervalMs);
  }
  return sent;
}

function closed(socket: Socket): Promise<void> {
  return socket.destroyed
    ? Promise.resolve()
    : new Promise((resolve) => socket.once("close", () => resolve()));
}

// ---------------------------------------------------------------------------------------------------------------

describe("slow senders", () => {
  test("slowloris: a head sent one byte per 200 ms gets 408 after headersTimeout, and its connection is closed", async () => {
    const socket = await RawSocket.open(server.url);
    const head = request("POST", "/items", { json: { name: "loris", price: 1 } });
    const sending = trickle(socket, head, 200);
    const responses = await socket.untilClosed();
    const sent = await sending;
    assert.ok(sent < head.indexOf("\r\n\r\n"), `the head was not complete: ${sent} bytes sent`);
    assert.equal(responses.length, 1, JSON.stringify(responses.map((each) => each.status)));
    assertJsonError(responses[0]!, 408);
    await assertServes();
  });

  test("a connection that sends nothing gets 408 and is closed", async () => {
    const socket = await RawSocket.open(server.url);
    const responses = await socket.untilClosed();
    assert.deepEqual(
      responses.map((each) => each.status),
      [408],
    );
    await assertServes();
  });

  for (const chunked of [false, true]) {
    const what = chunked ? "a slow chunked body" : "a slow body (Content-Length, one byte per 200 ms)";
    test(`${what} gets 408 at requestTimeout, its connection closed, and creates nothing`, async () => {
      const socket = await RawSocket.open(server.url);
      const body = JSON.stringify({ name: "slow body", price: 1, pad: "p".repeat(100) });
      const framing = chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${body.length}`;
      await socket.write(
        `POST /items HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`,
      );
      const bytes = chunked ? [...body].map((char) => `1\r\n${char}\r\n`).join("") : body;
      const sending = trickle(socket, bytes, 200);
      const responses = await socket.untilClosed();
      const sent = await sending;
      assert.ok(sent < bytes.length, `the body was not complete: ${sent} bytes`);
      assert.deepEqual(
        responses.map((each) => each.status),
        [408],
      );
      assertJsonError(responses[0]!, 408);
      await assertServes();
    });
  }
});

describe("slow readers", () => {
  before(() => watchConnections(server));

  test("a large body to a client that reads nothing is cut off after sendTimeout; the server stays responsive", async () => {
    const client = await RawSocket.open(server.url, { paused: true });
    await client.write(request("GET", "/big"));
    const serverSide = await serverSocketOf(server, client);
    // While the response waits for the client, others are answered.
    await assertServes();
    await within(
      closed(serverSide),
      DEADLINE_MS,
      "the server kept the connection of a client that reads nothing",
    );
    // What the kernel had taken before the cut arrives; then the connection ends, short of the whole body.
    client.resume();
    await client.closedWithin();
    assert.ok(client.bytesReceived < BIG, `${client.bytesReceived} bytes of ${BIG} arrived`);
    await assertServes();
  });

  test("the same body to a client that reads is sent whole (the control)", async () => {
    const client = await RawSocket.open(server.url);
    await client.write(request("GET", "/big"));
    const response = await client.response({ timeoutMs: 30_000 });
    assert.equal(response.status, 200);
    assert.equal(response.body.length, BIG);
    await client.destroy();
  });

  for (const [path, name] of [
    ["/bytes", "bytes"],
    ["/lines", "lines"],
  ] as const) {
    test(`an endless stream (${path}) to a client that reads nothing is cut after sendTimeout, and its generator ends`, async () => {
      const client = await RawSocket.open(server.url, { paused: true });
      await client.write(request("GET", path));
      const serverSide = await serverSocketOf(server, client);
      await assertServes();
      await within(
        closed(serverSide),
        DEADLINE_MS,
        "the server kept streaming to a client that reads nothing",
      );
      await waitUntil(() => recorded.finished.includes(name), `the ${name} generator's finally`);
      client.resume();
      await client.closedWithin();
      await assertServes();
    });
  }
});

describe("idle and aborted connections", () => {
  test("an idle keep-alive connection is closed after keepAliveTimeout, without a response", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/items"));
    const response = await socket.response();
    assert.equal(response.status, 200);
    assert.equal(saysClose(response), false);
    const responses = await socket.untilClosed();
    assert.deepEqual(
      responses.map((each) => each.status),
      [],
      "nothing is sent on an idle connection before it is closed",
    );
    await assertServes();
  });

  test("a client that aborts mid-body creates nothing and breaks nothing", async () => {
    for (let index = 0; index < 5; index++) {
      const socket = await RawSocket.open(server.url);
      await socket.write(
        `POST /items HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${ITEM.length}\r\n\r\n${ITEM.slice(0, 5 + index)}`,
      );
      await sleep(20 * index);
      await socket.destroy();
    }
    await assertServes();
  });

  test("a client that aborts a chunked body midway creates nothing", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(
      `POST /items HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n${ITEM.slice(0, 5)}\r\n`,
    );
    await sleep(50);
    socket.socket.resetAndDestroy();
    await socket.closed;
    await assertServes();
  });

  test("clients that abort mid-response (a large body, endless streams) break nothing; the generators end", async () => {
    const before = recorded.finished.length;
    for (const path of ["/big", "/bytes", "/lines"]) {
      const socket = await RawSocket.open(server.url);
      await socket.write(request("GET", path));
      await waitUntil(() => socket.bytesReceived > 100_000, `some of ${path}`);
      socket.socket.resetAndDestroy();
      await socket.closed;
    }
    await waitUntil(() => recorded.finished.length >= before + 2, "both generators' finally");
    await assertServes();
  });
});

describe("the handler deadline", () => {
  test("a handler that never resolves gets 503 after handlerTimeout, and its signal is aborted", async () => {
    recorded.aborted = undefined;
    const response = await exchange(server.url, request("GET", "/hang"));
    assert.deepEqual(assertJsonError(response, 503), "Service Unavailable: no response within 500 ms");
    assert.ok(recorded.aborted !== undefined, "the handler ran");
    await within(recorded.aborted, DEADLINE_MS, "the handler's signal was not aborted");
    assert.ok(
      recorded.warnings.some((each) => /GET \/hang: no response within 500 ms/.test(each)),
      JSON.stringify(recorded.warnings),
    );
    await assertServes();
  });

  test("the connection stays usable after the 503", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/hang"));
    const first = await socket.response();
    assert.equal(first.status, 503);
    await socket.write(request("GET", "/items"));
    const second = await socket.response();
    assert.equal(second.status, 200);
    await socket.destroy();
  });

  test("a body route that never resolves gets 503 and creates nothing; its late failure is not a crash", async () => {
    const response = await exchange(
      server.url,
      request("POST", "/items-hang", { json: { name: "never", price: 1 } }),
    );
    assertJsonError(response, 503);
    await assertServes();
    // The handler's rejection after its deadline is logged, not thrown.
    await waitUntil(
      () => recorded.errors.some((each) => /abandoned never/.test(each)),
      "the late failure to be logged",
    );
    recorded.errors.splice(0);
  });
});

describe("limits.connections", () => {
  const limited: Recorded = { errors: [], warnings: [], finished: [], aborted: undefined };
  let capped: Listening;
  before(async () => {
    capped = await serve(slowApp(limited, { ...LIMITS, connections: 3, keepAliveTimeout: 60_000 }));
  });

  test("a connection beyond the limit is answered 503 and closed; a freed one is usable again", async () => {
    const held: RawSocket[] = [];
    for (let index = 0; index < 3; index++) {
      const socket = await RawSocket.open(capped.url);
      await socket.write(request("GET", "/items"));
      assert.equal((await socket.response()).status, 200);
      held.push(socket);
    }
    const extra = await RawSocket.open(capped.url);
    // A POST, and another pipelined behind it: neither may run on a refused connection.
    await extra.write(
      request("POST", "/items", { json: { name: "over", price: 1 } }) +
        request("POST", "/items", { json: { name: "pipelined", price: 1 } }),
    );
    const responses = await extra.untilClosed();
    assert.equal(responses.length, 1);
    assertJsonError(responses[0]!, 503);
    assert.ok(saysClose(responses[0]!));
    // The held connections still work, and nothing was created.
    await held[0]!.write(request("GET", "/items"));
    assert.deepEqual(JSON.parse((await held[0]!.response()).text), { total: 0 });
    // Freed: a new connection is served once the server has seen the close.
    await held.pop()!.destroy();
    await waitUntilAsync(async () => {
      const response = await exchange(capped.url, request("GET", "/items"));
      return response.status === 200;
    }, "a freed connection slot");
    for (const socket of held) await socket.destroy();
    assert.deepEqual(limited.errors, []);
  });
});

describe("a burst of 100 connections, valid and invalid mixed", () => {
  test("every one is answered with its expected status, and only the valid POSTs create items", async () => {
    const kinds: readonly (readonly [bytes: string, status: number, creates: boolean])[] = [
      [request("GET", "/items"), 200, false],
      [request("POST", "/items", { json: { name: "burst", price: 1 } }), 201, true],
      [request("POST", "/items", { json: { name: "", price: 0 } }), 422, false],
      [
        request("POST", "/items", {
          body: '{"name": "x", "price": 1',
          headers: ["Content-Type: application/json"],
        }),
        422,
        false,
      ],
      [request("POST", "/items", { body: ITEM }), 415, false],
      [request("POST", "/items", { host: "a@b", json: { name: "bad host", price: 1 } }), 400, false],
      [`POST /items HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx`, 400, false],
      [request("GET", "/items/../items"), 400, false],
      [request("GET", "/nowhere"), 404, false],
      [request("GET", `/items?x=${"a".repeat(9000)}`), 414, false],
    ];
    const createdBefore = created;
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, index) => {
        const [bytes, status, creates] = kinds[index % kinds.length]!;
        const socket = await RawSocket.open(server.url);
        try {
          await socket.write(bytes);
          const response = await socket.response();
          return { index, expected: status, response, creates };
        } finally {
          await socket.destroy();
        }
      }),
    );
    const wrong = results.filter(({ expected, response }) => expected !== response.status);
    assert.deepEqual(
      wrong.map(({ index, expected, response }) => ({
        index,
        expected,
        got: response.status,
        body: response.text,
      })),
      [],
    );
    for (const { response } of results) if (response.status >= 400) assertSafeErrorBody(response);
    created = createdBefore + results.filter((each) => each.creates).length;
    await assertServes();
  });
});

describe("after the hostile clients", () => {
  test("nothing was logged as an error, and the server still answers", async () => {
    assert.deepEqual(recorded.errors, []);
    await assertServes();
  });
});

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const until = performance.now() + DEADLINE_MS;
  while (!condition()) {
    if (performance.now() > until) assert.fail(`not within ${DEADLINE_MS} ms: ${what}`);
    await sleep(10);
  }
}

async function waitUntilAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  const until = performance.now() + DEADLINE_MS;
  while (!(await condition().catch(() => false))) {
    if (performance.now() > until) assert.fail(`not within ${DEADLINE_MS} ms: ${what}`);
    await sleep(50);
  }
}
