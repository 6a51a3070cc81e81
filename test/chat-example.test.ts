// examples/chat over a real socket: messages sent over WS /ws/{room} or POSTed to /rooms/{room}/messages are
// broadcast, with increasing ids, to every WebSocket of the room (and no other) and to the room's event stream
// (GET /rooms/{room}/events, read with undici's EventSource); invalid messages and room names close the WebSocket
// with 1008 after a `{"detail": [...]}` frame, or are a 422 over HTTP; a reconnecting EventSource gets what it
// missed through Last-Event-ID; GET / is the page; and shutting the server down closes the sockets with 1001.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { type Listening, listen } from "briskjs";
import { EventSource } from "undici";
import WebSocket from "ws";
import { app } from "../examples/chat/app.ts";
import { type RawEventStream, readEventStream, type WireEvent } from "./helpers/event-stream.ts";
import { waitFor } from "./helpers/processes.ts";

interface StoredMessage {
  id: number;
  user: string;
  text: string;
}

interface Close {
  code: number;
  reason: string;
}

let server: Listening | undefined;
let base = "";
let wsBase = "";

/** Everything a test opened, closed after the file whatever happened. */
const peers = new Set<WebSocket>();
const sources = new Set<EventSource>();
const aborts = new Set<AbortController>();

before(async () => {
  // The rooms in memory, whatever DATABASE_URL says: test/chat-postgres.test.ts covers them on PostgreSQL.
  const databaseUrl = process.env.DATABASE_URL;
  delete process.env.DATABASE_URL;
  server = await listen(app, { port: 0 }).finally(() => {
    if (databaseUrl !== undefined) process.env.DATABASE_URL = databaseUrl;
  });
  base = server.url;
  wsBase = base.replace(/^http/, "ws");
});

after(async () => {
  for (const source of sources) source.close();
  for (const abort of aborts) abort.abort();
  for (const ws of peers) ws.terminate();
  if (server !== undefined) {
    const closing = server.close();
    server.server.closeAllConnections();
    await closing;
  }
});

/** A room no other test uses: rooms live as long as the server. */
function freshRoom(label: string): string {
  return `${label}-${randomBytes(4).toString("hex")}`;
}

// ---------------------------------------------------------------------------------------------------------------
// WebSocket clients.

/** A `ws` client and everything it received (JSON frames, parsed), and how it closed. */
interface Peer {
  readonly ws: WebSocket;
  readonly received: unknown[];
  readonly closed: Promise<Close>;
  readonly label: string;
}

/** Opens a WebSocket on `path` and resolves once the handshake is done; a refused handshake rejects. */
function connectPeer(path: string, origin = wsBase): Promise<Peer> {
  const ws = new WebSocket(`${origin}${path}`);
  peers.add(ws);
  const received: unknown[] = [];
  ws.on("message", (data) => {
    const text = String(data);
    try {
      received.push(JSON.parse(text));
    } catch {
      received.push(text);
    }
  });
  const closed = new Promise<Close>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })),
  );
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, received, closed, label: path }));
    ws.once("unexpected-response", (_request, response) => {
      response.resume();
      reject(new Error(`the handshake of ${path} was refused with ${response.statusCode}`));
    });
    ws.once("error", reject);
  });
}

/** Resolves with the status of the HTTP response that refuses a handshake; fails if it is accepted. */
function refusedStatus(path: string): Promise<number> {
  const ws = new WebSocket(`${wsBase}${path}`);
  peers.add(ws);
  return new Promise((resolve, reject) => {
    ws.once("open", () => reject(new Error(`the handshake of ${path} was accepted`)));
    ws.once("unexpected-response", (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

/** Waits until `peer` received `count` frames, and returns them. */
function frames(peer: Peer, count: number): Promise<unknown[]> {
  return waitFor(
    () => (peer.received.length >= count ? peer.received.slice(0, count) : undefined),
    () => `${peer.label} receives ${count} frames; it has ${JSON.stringify(peer.received)}`,
  );
}

/** Waits for `promise` with the generous deadline of every wait here, naming what was awaited. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let settled: { value: T } | undefined;
  let failure: { error: unknown } | undefined;
  promise.then(
    (value) => (settled = { value }),
    (error: unknown) => (failure = { error }),
  );
  return waitFor(
    () => {
      if (failure !== undefined) throw failure.error;
      return settled;
    },
    () => what,
  ).then(({ value }) => value);
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP: posting, and reading the event stream.

async function postMessage(room: string, user: string, text: string): Promise<StoredMessage> {
  const response = await fetch(`${base}/rooms/${room}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, text }),
  });
  const body = await response.text();
  assert.equal(response.status, 201, `POST /rooms/${room}/messages: ${body}`);
  const message = JSON.parse(body) as StoredMessage;
  assert.deepEqual(Object.keys(message).sort(), ["id", "text", "user"]);
  assert.equal(message.user, user);
  assert.equal(message.text, text);
  return message;
}

/** An EventSource on a room's stream, and the message events it received. */
interface Feed {
  readonly source: EventSource;
  readonly events: { type: string; lastEventId: string; data: StoredMessage }[];
  /** The id of the last message posted before the test's own: the feed gets every message after it. */
  readonly after: number;
  /** The messages received after `after`. */
  messages(): StoredMessage[];
}

/**
 * Opens an EventSource on the room's stream, and makes sure it is subscribed: it starts from the room's last
 * message when the server handles it, so marker messages are posted until one comes through (whether the stream's
 * head is sent before the first event is a test of its own).
 */
async function subscribe(room: string, url = `${base}/rooms/${room}/events`): Promise<Feed> {
  const source = new EventSource(url, { node: { reconnectionTime: 50 } });
  sources.add(source);
  const events: Feed["events"] = [];
  source.addEventListener("message", (event) => {
    events.push({
      type: event.type,
      lastEventId: event.lastEventId,
      data: JSON.parse(event.data as string) as StoredMessage,
    });
  });
  let posted = 0;
  await waitFor(
    async () => {
      if (events.length > 0) return true;
      // Every few polls, one more marker.
      if (posted++ % 5 === 0) await postMessage(room, "sync", "are you there?");
      return undefined;
    },
    () => `the event stream of ${room} delivers a message`,
  );
  // Everything from the last marker on comes through, in order.
  const ready = await postMessage(room, "sync", "ready");
  await waitFor(
    () => (events.some((event) => event.data.id === ready.id) ? true : undefined),
    () => `the event stream of ${room} delivers message ${ready.id}`,
  );
  return {
    source,
    events,
    after: ready.id,
    messages: () => events.map((event) => event.data).filter((message) => message.id > ready.id),
  };
}

/** Waits until the feed received `count` messages after its markers, and returns them. */
function feedMessages(feed: Feed, count: number): Promise<StoredMessage[]> {
  return waitFor(
    () => {
      const messages = feed.messages();
      return messages.length >= count ? messages.slice(0, count) : undefined;
    },
    () => `the event stream delivers ${count} messages; it has ${JSON.stringify(feed.messages())}`,
  );
}

/** Opens a room's stream without waiting for its head (which may only come with the first event). */
function openStream(room: string, headers: Record<string, string> = {}): RawEventStream {
  const stream = readEventStream(`${base}/rooms/${room}/events`, headers);
  aborts.add(stream.abort);
  return stream;
}

function wireEvents(stream: { events: WireEvent[] }, count: number, what: string): Promise<WireEvent[]> {
  return waitFor(
    () => (stream.events.length >= count ? stream.events.slice(0, count) : undefined),
    () => `${what}: ${count} events; got ${JSON.stringify(stream.events)}`,
  );
}

const asWire = (message: StoredMessage): WireEvent => ({
  event: "message",
  id: String(message.id),
  data: JSON.stringify(message),
});

// ---------------------------------------------------------------------------------------------------------------

describe("GET /", () => {
  test("is the chat page, as HTML, and not in the OpenAPI document", async () => {
    const response = await fetch(`${base}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    const page = await response.text();
    assert.equal(page, readFileSync(new URL("../examples/chat/index.html", import.meta.url), "utf8"));
    assert.match(page, /<ul id="messages"><\/ul>/);
    assert.equal((app.openapi() as { paths: Record<string, unknown> }).paths["/"], undefined);
  });
});

describe("WS /ws/{room}", () => {
  test("a message is broadcast to every socket of the room, sender included, and to its event stream", async () => {
    const room = freshRoom("broadcast");
    const other = freshRoom("elsewhere");
    const feed = await subscribe(room);
    const ann = await connectPeer(`/ws/${room}`);
    const bob = await connectPeer(`/ws/${room}`);
    const stranger = await connectPeer(`/ws/${other}`);

    ann.ws.send(JSON.stringify({ user: "ann", text: "hello, room" }));
    const [fromAnn] = (await frames(ann, 1)) as [StoredMessage];
    assert.deepEqual(fromAnn, { id: feed.after + 1, user: "ann", text: "hello, room" });
    assert.deepEqual(await frames(bob, 1), [fromAnn]);

    bob.ws.send(JSON.stringify({ user: "bob", text: "hi ann" }));
    const expected = [fromAnn, { id: fromAnn.id + 1, user: "bob", text: "hi ann" }];
    assert.deepEqual(await frames(ann, 2), expected);
    assert.deepEqual(await frames(bob, 2), expected);

    // Through the event stream: events named "message", whose id is the message's.
    assert.deepEqual(await feedMessages(feed, 2), expected);
    const streamed = feed.events.filter((event) => event.data.id > feed.after);
    assert.deepEqual(
      streamed.map((event) => [event.type, event.lastEventId]),
      expected.map((message) => ["message", String(message.id)]),
    );

    // The other room saw none of it: the first thing its socket gets is its own room's first message.
    const own = await postMessage(other, "carol", "anyone here?");
    assert.deepEqual(own, { id: 1, user: "carol", text: "anyone here?" });
    assert.deepEqual(await frames(stranger, 1), [own]);
    assert.equal(stranger.received.length, 1);
    // Nor did the other room's message reach this one: the next frame this room's sockets get is its own.
    const next = await postMessage(room, "ann", "still just us");
    assert.deepEqual(await frames(ann, 3), [...expected, next]);
    assert.deepEqual(await frames(bob, 3), [...expected, next]);
  });

  test("messages from several sockets get consecutive ids, and every socket sees them in the same order", async () => {
    const room = freshRoom("order");
    const sockets = await Promise.all([1, 2, 3].map(() => connectPeer(`/ws/${room}`)));
    const PER_SOCKET = 10;
    for (let round = 0; round < PER_SOCKET; round++) {
      for (const [index, peer] of sockets.entries()) {
        peer.ws.send(JSON.stringify({ user: `user${index}`, text: `message ${round}` }));
      }
    }
    const total = PER_SOCKET * sockets.length;
    const seen = await Promise.all(sockets.map((peer) => frames(peer, total)));
    const first = seen[0] as StoredMessage[];
    assert.deepEqual(
      first.map((message) => message.id),
      Array.from({ length: total }, (_, index) => index + 1),
    );
    for (const other of seen.slice(1)) assert.deepEqual(other, first);
    // Each socket's own messages keep the order it sent them in.
    for (const index of [0, 1, 2]) {
      assert.deepEqual(
        first.filter((message) => message.user === `user${index}`).map((message) => message.text),
        Array.from({ length: PER_SOCKET }, (_, round) => `message ${round}`),
      );
    }
  });

  test("keys other than user and text are not broadcast", async () => {
    const room = freshRoom("extra");
    const peer = await connectPeer(`/ws/${room}`);
    peer.ws.send(JSON.stringify({ user: "eve", text: "hi", id: 999, admin: true }));
    assert.deepEqual(await frames(peer, 1), [{ id: 1, user: "eve", text: "hi" }]);
  });

  test("a socket that joins gets what is posted from then on; one that leaves does not stop the room", async () => {
    const room = freshRoom("join-leave");
    const early = await connectPeer(`/ws/${room}`);
    const before = await postMessage(room, "ann", "before the late one");
    assert.deepEqual(await frames(early, 1), [before]);
    const late = await connectPeer(`/ws/${room}`);
    const afterJoin = await postMessage(room, "ann", "after the late one");
    assert.deepEqual(await frames(late, 1), [afterJoin]);
    assert.deepEqual(await frames(early, 2), [before, afterJoin]);

    early.ws.close(1000, "bye");
    assert.equal((await within(early.closed, "the early socket closes")).code, 1000);
    const afterLeave = await postMessage(room, "ann", "after the early one left");
    assert.deepEqual(await frames(late, 2), [afterJoin, afterLeave]);
    assert.equal(afterLeave.id, afterJoin.id + 1);
  });

  for (const [what, data, issue] of [
    [
      "an empty user",
      JSON.stringify({ user: "", text: "hi" }),
      {
        type: "string_too_short",
        loc: ["message", "user"],
        msg: "String should have at least 1 character",
        input: "",
        ctx: { min_length: 1 },
      },
    ],
    [
      "a user of 33 characters",
      JSON.stringify({ user: "u".repeat(33), text: "hi" }),
      {
        type: "string_too_long",
        loc: ["message", "user"],
        msg: "String should have at most 32 characters",
        input: "u".repeat(33),
        ctx: { max_length: 32 },
      },
    ],
    [
      "a text of 501 characters",
      JSON.stringify({ user: "ann", text: "t".repeat(501) }),
      {
        type: "string_too_long",
        loc: ["message", "text"],
        msg: "String should have at most 500 characters",
        input: "t".repeat(501),
        ctx: { max_length: 500 },
      },
    ],
    [
      "an empty text",
      JSON.stringify({ user: "ann", text: "" }),
      {
        type: "string_too_short",
        loc: ["message", "text"],
        msg: "String should have at least 1 character",
        input: "",
        ctx: { min_length: 1 },
      },
    ],
    [
      "a missing text",
      JSON.stringify({ user: "ann" }),
      { type: "missing", loc: ["message", "text"], msg: "Field required", input: { user: "ann" } },
    ],
    [
      "a binary frame that is not UTF-8",
      Buffer.from([0xff, 0xfe, 0x7b]),
      { type: "json_invalid", loc: ["message"], msg: "Message is not UTF-8", input: null },
    ],
    [
      "text that is not JSON",
      "hello, not JSON",
      { type: "json_invalid", loc: ["message"], msg: "JSON decode error", input: "hello, not JSON" },
    ],
  ] as const) {
    test(`${what} closes the socket with 1008 after a detail frame; the room goes on without it`, async () => {
      const room = freshRoom("invalid");
      const sender = await connectPeer(`/ws/${room}`);
      const listener = await connectPeer(`/ws/${room}`);
      sender.ws.send(data);
      const closed = await within(sender.closed, `the server closes the socket that sent ${what}`);
      assert.deepEqual(closed, { code: 1008, reason: "Invalid message" });
      assert.deepEqual(sender.received, [{ detail: [issue] }], "the last frame names the problem");
      // Nothing was posted: the next message is the room's first, and the other socket is still there.
      const next = await postMessage(room, "ann", "still here");
      assert.equal(next.id, 1);
      assert.deepEqual(await frames(listener, 1), [next]);
      assert.equal(listener.ws.readyState, WebSocket.OPEN);
    });
  }

  test("a valid message after an invalid one is not posted: the socket is closed at the first", async () => {
    const room = freshRoom("after-invalid");
    const sender = await connectPeer(`/ws/${room}`);
    sender.ws.send("{");
    sender.ws.send(JSON.stringify({ user: "ann", text: "too late" }));
    assert.equal((await within(sender.closed, "the socket closes")).code, 1008);
    const next = await postMessage(room, "ann", "first");
    assert.equal(next.id, 1);
  });

  for (const [what, segment, input] of [
    ["a space", "has%20space", "has space"],
    ["33 characters", "r".repeat(33), "r".repeat(33)],
    ["a dot", "dots.here", "dots.here"],
    ["a non-ASCII letter", "caf%C3%A9", "café"],
  ] as const) {
    test(`a room name with ${what} in the path: 1008 Invalid request after a detail frame`, async () => {
      const peer = await connectPeer(`/ws/${segment}`);
      const closed = await within(peer.closed, "the server closes the socket");
      assert.deepEqual(closed, { code: 1008, reason: "Invalid request" });
      assert.equal(peer.received.length, 1);
      const [frame] = peer.received as [{ detail: { type: string; loc: unknown[]; input: unknown }[] }];
      assert.deepEqual(
        frame.detail.map((issue) => [issue.type, issue.loc, issue.input]),
        [["string_pattern_mismatch", ["path", "room"], input]],
      );
    });
  }

  test("a path that is no WebSocket route is refused with an HTTP 404", async () => {
    assert.equal(await refusedStatus("/ws"), 404);
    assert.equal(await refusedStatus("/ws/a/b"), 404);
    assert.equal(await refusedStatus("/rooms/lobby/events"), 404);
  });
});

describe("POST /rooms/{room}/messages", () => {
  test("is a 201 with the stored message, broadcast to the room's sockets and event stream", async () => {
    const room = freshRoom("post");
    const feed = await subscribe(room);
    const ann = await connectPeer(`/ws/${room}`);
    const bob = await connectPeer(`/ws/${room}`);
    const first = await postMessage(room, "dave", "posted over HTTP");
    assert.equal(first.id, feed.after + 1);
    const second = await postMessage(room, "dave", "and again");
    assert.equal(second.id, first.id + 1);
    assert.deepEqual(await frames(ann, 2), [first, second]);
    assert.deepEqual(await frames(bob, 2), [first, second]);
    assert.deepEqual(await feedMessages(feed, 2), [first, second]);
  });

  test("an invalid body is a 422 naming the field, and nothing is posted", async () => {
    const room = freshRoom("post-invalid");
    for (const [body, loc] of [
      [{ user: "", text: "hi" }, ["body", "user"]],
      [{ user: "u".repeat(33), text: "hi" }, ["body", "user"]],
      [{ user: "ann", text: "t".repeat(501) }, ["body", "text"]],
      [{ text: "hi" }, ["body", "user"]],
    ] as const) {
      const response = await fetch(`${base}/rooms/${room}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 422, JSON.stringify(body));
      const detail = ((await response.json()) as { detail: { loc: unknown[] }[] }).detail;
      assert.deepEqual(
        detail.map((issue) => issue.loc),
        [loc],
      );
    }
    assert.equal((await postMessage(room, "ann", "the first")).id, 1);
  });

  test("a bad room name is a 422 naming path.room", async () => {
    for (const [segment, input] of [
      ["bad.room", "bad.room"],
      ["r".repeat(33), "r".repeat(33)],
      ["has%20space", "has space"],
    ] as const) {
      const response = await fetch(`${base}/rooms/${segment}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "ann", text: "hi" }),
      });
      assert.equal(response.status, 422, segment);
      const detail = (
        (await response.json()) as { detail: { type: string; loc: unknown[]; input: unknown }[] }
      ).detail;
      assert.deepEqual(
        detail.map((issue) => [issue.type, issue.loc, issue.input]),
        [["string_pattern_mismatch", ["path", "room"], input]],
      );
    }
  });
});

describe("GET /rooms/{room}/events", () => {
  test("a bad room name is a 422 naming path.room", async () => {
    for (const [segment, input] of [
      ["bad.room", "bad.room"],
      ["r".repeat(33), "r".repeat(33)],
    ] as const) {
      const response = await fetch(`${base}/rooms/${segment}/events`);
      assert.equal(response.status, 422, segment);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      const detail = (
        (await response.json()) as { detail: { type: string; loc: unknown[]; input: unknown }[] }
      ).detail;
      assert.deepEqual(
        detail.map((issue) => [issue.type, issue.loc, issue.input]),
        [["string_pattern_mismatch", ["path", "room"], input]],
      );
    }
  });

  test("Last-Event-ID replays the messages after it, as `event: message` with their ids, then new ones", async () => {
    const room = freshRoom("replay");
    const posted = [];
    for (const text of ["one", "two", "three", "four"]) posted.push(await postMessage(room, "ann", text));
    const stream = openStream(room, { "last-event-id": "2" });
    assert.deepEqual(await wireEvents(stream, 2, "the replay"), posted.slice(2).map(asWire));
    const head = await stream.head;
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(head.headers.get("cache-control"), "no-cache");
    const five = await postMessage(room, "ann", "five");
    assert.deepEqual(await wireEvents(stream, 3, "the replay, then the new one"), [
      ...posted.slice(2).map(asWire),
      asWire(five),
    ]);
  });

  test("Last-Event-ID: 0 replays the room's last 100 messages", async () => {
    const room = freshRoom("kept");
    for (let index = 1; index <= 105; index++) await postMessage(room, "ann", `message ${index}`);
    const stream = openStream(room, { "last-event-id": "0" });
    const events = await wireEvents(stream, 100, "the kept messages");
    assert.deepEqual(
      events.map((event) => event.id),
      Array.from({ length: 100 }, (_, index) => String(index + 6)),
    );
  });

  test("without a usable Last-Event-ID the stream starts at the next message", async () => {
    const room = freshRoom("from-now");
    const old = await postMessage(room, "ann", "before anyone listened");
    for (const lastEventId of [undefined, "", "not a number", "-3"]) {
      const stream = openStream(room, lastEventId === undefined ? {} : { "last-event-id": lastEventId });
      // Markers until one comes through: the stream is subscribed from some message on.
      let posted = 0;
      await waitFor(
        async () => {
          if (stream.events.length > 0) return true;
          if (posted++ % 5 === 0) await postMessage(room, "marker", "here?");
          return undefined;
        },
        () => `the stream of ${room} (Last-Event-ID ${lastEventId}) delivers a marker`,
      );
      stream.abort.abort();
      assert.ok(
        stream.events.every((event) => Number(event.id) > old.id && event.data?.includes('"marker"')),
        `Last-Event-ID ${lastEventId}: nothing from before the stream: ${JSON.stringify(stream.events)}`,
      );
    }
  });

  test("an EventSource that reconnects sends Last-Event-ID and gets what it missed, once", async () => {
    const room = freshRoom("reconnect");
    const proxy = await startProxy(base);
    try {
      const feed = await subscribe(room, `${proxy.url}/rooms/${room}/events`);
      const seen = await postMessage(room, "ann", "seen before the cut");
      await feedMessages(feed, 1);
      const lastId = feed.events.at(-1)?.lastEventId;
      assert.equal(lastId, String(seen.id));

      // The proxy ends the response (cleanly, as a server would) and holds the EventSource's next request.
      proxy.hold();
      proxy.cut();
      const held = await waitFor(
        () => proxy.held(),
        () => "the EventSource reconnects",
      );
      assert.equal(held["last-event-id"], String(seen.id), "the reconnection names the last id it saw");
      const missed = [
        await postMessage(room, "ann", "missed one"),
        await postMessage(room, "bob", "missed two"),
      ];
      proxy.release();
      const live = await postMessage(room, "ann", "after the reconnection");
      assert.deepEqual(await feedMessages(feed, 4), [seen, ...missed, live]);
      // No message twice.
      const ids = feed.events.map((event) => event.data.id);
      assert.deepEqual(ids, [...new Set(ids)]);
    } finally {
      await proxy.close();
    }
  });

  test("the stream's head is sent before any message, so that a client knows it is connected", async () => {
    // An EventSource is open (and the page says "in the room") only once the head arrives. A quiet room sends its
    // first bytes only with a message or with the keep-alive ping: the first data on the socket must be the head
    // alone, not the head with the first event or ping.
    const room = freshRoom("head");
    const { port } = new URL(base);
    const first = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write(
          `GET /rooms/${room}/events HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\n\r\n`,
        ),
      );
      // Whatever came up to the end of the data that completed the head.
      let received = "";
      socket.on("data", (data) => {
        received += data.toString("latin1");
        if (!received.includes("\r\n\r\n")) return;
        resolve(received);
        socket.destroy();
      });
      socket.on("error", reject);
    });
    assert.match(first, /^HTTP\/1\.1 200 /);
    assert.match(first, /content-type: text\/event-stream/i);
    const body = first.slice(first.indexOf("\r\n\r\n") + 4);
    assert.equal(body, "", `the first data on the socket carried a body already:\n${JSON.stringify(first)}`);
  });
});

/**
 * An HTTP proxy in front of the server that can end the response it is relaying (as a server ends a stream) and
 * hold the next request until released: a reconnecting EventSource's request, while messages are posted.
 */
async function startProxy(upstream: string): Promise<{
  url: string;
  cut(): void;
  hold(): void;
  held(): IncomingHttpHeaders | undefined;
  release(): void;
  close(): Promise<void>;
}> {
  const target = new URL(upstream);
  let current: { response: ServerResponse; upstream: ClientRequest } | undefined;
  let holding = false;
  let waiting: { headers: IncomingHttpHeaders; go: () => void } | undefined;
  const proxy: Server = createServer((req, res) => {
    const forward = () => {
      const headers = { ...req.headers };
      delete headers.connection;
      delete headers["keep-alive"];
      headers.host = target.host;
      const outgoing = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers,
          agent: false,
        },
        (answer) => {
          const passed = { ...answer.headers };
          for (const hop of ["connection", "keep-alive", "transfer-encoding", "content-length"])
            delete passed[hop];
          res.writeHead(answer.statusCode ?? 502, passed);
          res.flushHeaders();
          answer.on("data", (chunk: Buffer) => res.write(chunk));
          answer.on("end", () => res.end());
          answer.on("error", () => res.destroy());
        },
      );
      outgoing.on("error", () => res.destroy());
      res.on("close", () => outgoing.destroy());
      req.pipe(outgoing);
      current = { response: res, upstream: outgoing };
    };
    if (holding) {
      holding = false;
      waiting = { headers: req.headers, go: forward };
    } else forward();
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      const relaying = current;
      current = undefined;
      relaying?.upstream.destroy();
      relaying?.response.end();
    },
    hold: () => {
      holding = true;
    },
    held: () => waiting?.headers,
    release: () => {
      const held = waiting;
      waiting = undefined;
      held?.go();
    },
    close: async () => {
      const closing = new Promise<void>((resolve) => proxy.close(() => resolve()));
      proxy.closeAllConnections();
      await closing;
    },
  };
}

// Last: it stops a server of its own.
describe("shutdown", () => {
  test("closing the server closes the open WebSockets with 1001", async () => {
    const own = await listen(app, { port: 0 });
    let closed = false;
    try {
      const ownWs = own.url.replace(/^http/, "ws");
      const room = freshRoom("shutdown");
      const ann = await connectPeer(`/ws/${room}`, ownWs);
      const bob = await connectPeer(`/ws/${freshRoom("shutdown-other")}`, ownWs);
      // The connections are in use: a message goes round before the shutdown.
      ann.ws.send(JSON.stringify({ user: "ann", text: "going soon" }));
      assert.deepEqual(await frames(ann, 1), [{ id: 1, user: "ann", text: "going soon" }]);
      await within(own.close(), "listen()'s close() resolves");
      closed = true;
      for (const peer of [ann, bob]) {
        assert.deepEqual(await within(peer.closed, `${peer.label} closes`), {
          code: 1001,
          reason: "Server shutting down",
        });
      }
      // The server no longer accepts connections.
      await assert.rejects(connectPeer(`/ws/${room}`, ownWs));
    } finally {
      if (!closed) {
        own.server.closeAllConnections();
        await own.close();
      }
    }
  });
});
