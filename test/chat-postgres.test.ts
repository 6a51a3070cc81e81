// examples/chat on PostgreSQL: several `brisk serve examples/chat/app.ts:app` processes with DATABASE_URL on one
// database serve one chat. Event streams (undici's EventSource) and WebSockets (`ws`) on one process receive, once
// each and in the order of their ids, the messages posted over HTTP and sent over WebSockets to any process; each
// stream's event ids are numbers that increase across every process's messages; an event stream that reconnects
// to another process with Last-Event-ID gets what it missed from the table (a Last-Event-ID past PostgreSQL's
// integer is no error); `--workers 2` serves one chat on one port; a process that loses its LISTEN connection
// exits with 1, and under `--workers` its replacement carries the chat on, event streams catching up. Skipped
// without DATABASE_URL (see test/helpers/postgres.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { EventSource } from "undici";
import WebSocket from "ws";
import { exitCode, freePort, type Launched, launch, waitForStdout } from "./helpers/cli.ts";
import { readEventStream } from "./helpers/event-stream.ts";
import { createTestDatabase, postgresOptions, type TestDatabase } from "./helpers/postgres.ts";
import { waitFor } from "./helpers/processes.ts";

interface StoredMessage {
  id: number;
  user: string;
  text: string;
}

/** What a subscriber (an event stream or a WebSocket) received, and how to let go of it. */
interface Subscriber {
  readonly label: string;
  readonly messages: StoredMessage[];
  close(): void;
}

interface Stream extends Subscriber {
  /** The id of each event, as received. */
  readonly eventIds: string[];
}

interface Peer extends Subscriber {
  readonly ws: WebSocket;
  send(user: string, text: string): void;
  readonly closed: Promise<number>;
}

/** Everything a test opened, closed after the file whatever happened. */
const opened = new Set<Subscriber>();
const servers = new Set<Launched>();
const databases: TestDatabase[] = [];

after(async () => {
  for (const subscriber of opened) subscriber.close();
  await Promise.all([...servers].map((server) => stopServer(server)));
  for (const database of databases) await database.drop();
});

async function testDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase("chat");
  databases.push(database);
  return database;
}

interface Served {
  readonly server: Launched;
  readonly url: string;
}

/** `brisk serve examples/chat/app.ts:app` on `database`, and the address it serves once it says so. */
async function serveChat(database: TestDatabase, port = 0, args: readonly string[] = []): Promise<Served> {
  const server = launch(
    ["serve", "examples/chat/app.ts:app", "--port", String(port), "--no-access-log", ...args],
    undefined,
    { DATABASE_URL: database.url },
  );
  servers.add(server);
  const [, url] = await waitForStdout(server, /^brisk: serving \S+ at (http:\/\/\S+?)( with \d+ workers)?$/m);
  return { server, url: url! };
}

/** SIGTERM, and the exit code (null when it was gone already or had to be killed). */
async function stopServer(server: Launched): Promise<number | null> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.child.exitCode;
  server.child.kill("SIGTERM");
  return exitCode(server);
}

function freshRoom(label: string): string {
  return `${label}-${randomBytes(4).toString("hex")}`;
}

/** POSTs a message on a connection of its own (so that `--workers` may hand each to any worker). */
function post(base: string, room: string, user: string, text: string): Promise<StoredMessage> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ user, text });
    const request = httpRequest(
      `${base}/rooms/${room}/messages`,
      { method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (response) => {
        let answer = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (answer += chunk));
        response.on("end", () => {
          if (response.statusCode === 201) resolve(JSON.parse(answer) as StoredMessage);
          else reject(new Error(`POST ${base}/rooms/${room}/messages: ${response.statusCode} ${answer}`));
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** An EventSource on the room's stream (from its next message on), reconnecting 50 ms after it is cut. */
function openStream(base: string, room: string, label: string): Stream {
  const source = new EventSource(`${base}/rooms/${room}/events`, { node: { reconnectionTime: 50 } });
  const stream: Stream = { label, messages: [], eventIds: [], close: () => source.close() };
  source.addEventListener("message", (event) => {
    stream.eventIds.push(event.lastEventId);
    stream.messages.push(JSON.parse(event.data as string) as StoredMessage);
  });
  opened.add(stream);
  return stream;
}

/** A WebSocket in the room, once its handshake is done. */
async function openPeer(base: string, room: string, label: string): Promise<Peer> {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws/${room}`);
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  const peer: Peer = {
    label,
    ws,
    messages: [],
    closed,
    send: (user, text) => ws.send(JSON.stringify({ user, text })),
    close: () => ws.terminate(),
  };
  opened.add(peer);
  ws.on("message", (data) => peer.messages.push(JSON.parse(String(data)) as StoredMessage));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return peer;
}

/** A room's stream read with fetch, to send Last-Event-ID on the first request; its events as they come. */
interface RawStream {
  readonly head: Promise<Response>;
  readonly events: { id: string; data: StoredMessage }[];
}

function readStream(base: string, room: string, lastEventId: string): RawStream {
  const stream = readEventStream(`${base}/rooms/${room}/events`, { "last-event-id": lastEventId });
  opened.add({ label: `raw stream of ${room}`, messages: [], close: () => stream.abort.abort() });
  return {
    head: stream.head,
    get events() {
      return stream.events.flatMap(({ id, data }) =>
        id === undefined || data === undefined ? [] : [{ id, data: JSON.parse(data) as StoredMessage }],
      );
    },
  };
}

/** Waits until `stream` has `count` events, and returns them. */
function eventsOf(stream: RawStream, count: number, what: string): Promise<RawStream["events"]> {
  return waitFor(
    () => (stream.events.length >= count ? stream.events.slice(0, count) : undefined),
    () => `${what}: ${JSON.stringify(stream.events)}`,
  );
}

function describeAll(subscribers: readonly Subscriber[]): string {
  return subscribers
    .map((each) => `\n  ${each.label}: ${each.messages.map((message) => message.id).join(" ")}`)
    .join("");
}

/**
 * Makes sure every subscriber is in the room: markers are posted, to each server in turn, until every one has
 * received one; then one more. Every message after that one reaches every subscriber. Resolves with its id.
 */
async function inTheRoom(room: string, subscribers: readonly Subscriber[], bases: readonly string[]) {
  let polls = 0;
  let markers = 0;
  await waitFor(
    async () => {
      if (subscribers.every((each) => each.messages.length > 0)) return true;
      if (polls++ % 5 === 0) await post(bases[markers++ % bases.length]!, room, "sync", "are you there?");
      return undefined;
    },
    () => `every subscriber receives a marker:${describeAll(subscribers)}`,
  );
  const ready = await post(bases[0]!, room, "sync", "ready");
  await receivedUpTo(subscribers, ready.id);
  return ready.id;
}

/** Waits until every subscriber has received message `id`. */
function receivedUpTo(subscribers: readonly Subscriber[], id: number): Promise<true> {
  return waitFor(
    () =>
      subscribers.every((each) => each.messages.some((message) => message.id === id)) ? true : undefined,
    () => `every subscriber receives message ${id}:${describeAll(subscribers)}`,
  );
}

/** Waits until every subscriber has received `count` messages after `afterId`. */
function receivedCount(subscribers: readonly Subscriber[], afterId: number, count: number): Promise<true> {
  return waitFor(
    () =>
      subscribers.every((each) => each.messages.filter((message) => message.id > afterId).length >= count)
        ? true
        : undefined,
    () => `every subscriber receives ${count} messages after ${afterId}:${describeAll(subscribers)}`,
  );
}

/**
 * Every subscriber received the same messages after `afterId`, once each, in the order of their ids, which follow
 * one another; each stream's event ids are the messages' ids, increasing from its first event on. Returns them.
 */
function assertSameInOrder(subscribers: readonly Subscriber[], afterId: number): StoredMessage[] {
  const [first, ...others] = subscribers.map((each) =>
    each.messages.filter((message) => message.id > afterId),
  );
  assert.ok(first !== undefined);
  assert.deepEqual(
    first.map((message) => message.id),
    Array.from({ length: first.length }, (_, index) => afterId + 1 + index),
    `the messages after ${afterId} come in order, once each:${describeAll(subscribers)}`,
  );
  for (const [index, messages] of others.entries())
    assert.deepEqual(
      messages,
      first,
      `${subscribers[index + 1]!.label} received what ${subscribers[0]!.label} did`,
    );
  for (const stream of subscribers) {
    if (!("eventIds" in stream)) continue;
    const { eventIds, messages, label } = stream as Stream;
    assert.deepEqual(
      eventIds,
      messages.map((message) => String(message.id)),
      `${label}: each event's id is its message's`,
    );
    assert.ok(
      eventIds.every(
        (id, index) => /^[1-9]\d*$/.test(id) && (index === 0 || Number(id) > Number(eventIds[index - 1])),
      ),
      `${label}: event ids are numbers that increase: ${eventIds.join(" ")}`,
    );
  }
  return first;
}

/** The texts of `user`'s messages, in the order received. */
const textsOf = (messages: readonly StoredMessage[], user: string) =>
  messages.filter((message) => message.user === user).map((message) => message.text);

/** The connections of a database whose application_name is the chat's listener's. */
async function listeners(database: TestDatabase, terminate = false): Promise<number> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      `SELECT ${terminate ? "pg_terminate_backend(pid), " : ""}pid FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'chat listener'`,
    );
    return rows.length;
  } finally {
    await client.end();
  }
}

const ROUNDS = 10;

describe("two processes on one database", postgresOptions(), () => {
  let database: TestDatabase;
  let a: Served;
  let b: Served;

  before(async () => {
    database = await testDatabase();
    // At once: the first startup of both creates the tables.
    [a, b] = await Promise.all([serveChat(database), serveChat(database)]);
  });

  test("event streams and WebSockets on each receive, once each and in order, what is posted and sent to both", async () => {
    const room = freshRoom("both");
    const streams = [openStream(a.url, room, "stream on A"), openStream(b.url, room, "stream on B")];
    const peers = [await openPeer(a.url, room, "socket on A"), await openPeer(b.url, room, "socket on B")];
    const everyone = [...streams, ...peers];
    const ready = await inTheRoom(room, everyone, [a.url, b.url]);

    // All at once: two posters, one for each process, each posting one message after another, and each socket
    // sending all of its messages without waiting.
    const posted = new Map<string, StoredMessage[]>();
    const poster = async (base: string, user: string) => {
      const mine: StoredMessage[] = [];
      for (let round = 0; round < ROUNDS; round++) mine.push(await post(base, room, user, `#${round}`));
      posted.set(user, mine);
    };
    for (const [index, peer] of peers.entries())
      for (let round = 0; round < ROUNDS; round++) peer.send(`sent-to-${"ab"[index]}`, `#${round}`);
    await Promise.all([poster(a.url, "posted-to-a"), poster(b.url, "posted-to-b")]);
    await receivedCount(everyone, ready, 4 * ROUNDS);
    // A last message: anything received twice would come before it.
    const last = await post(b.url, room, "sync", "the end");
    await receivedUpTo(everyone, last.id);

    const messages = assertSameInOrder(everyone, ready);
    assert.equal(messages.length, 4 * ROUNDS + 1);
    assert.deepEqual(messages.at(-1), last);
    const rounds = Array.from({ length: ROUNDS }, (_, round) => `#${round}`);
    for (const user of ["posted-to-a", "posted-to-b", "sent-to-a", "sent-to-b"])
      assert.deepEqual(textsOf(messages, user), rounds, `${user}'s messages, in the order sent`);
    for (const [user, mine] of posted)
      for (const message of mine)
        assert.deepEqual(messages[message.id - ready - 1], message, `${user}'s POST`);
  });

  test("a NOTIFY on the chat's channel that is not one of its messages is dropped; the chat goes on", async () => {
    const room = freshRoom("stray");
    const stream = openStream(b.url, room, "stream on B");
    const ready = await inTheRoom(room, [stream], [b.url]);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      for (const payload of ["not json", "null", "[]", JSON.stringify({ room, id: "x" })])
        await client.query("SELECT pg_notify('chat_messages', $1)", [payload]);
    } finally {
      await client.end();
    }
    const after = await post(a.url, room, "ann", "still here");
    await receivedUpTo([stream], after.id);
    assert.deepEqual(assertSameInOrder([stream], ready), [after]);
  });

  test("an event stream that reconnects to B with Last-Event-ID gets what was posted to A meanwhile, once", async () => {
    const room = freshRoom("catch-up");
    const seen = await post(a.url, room, "ann", "seen");
    const missed = [
      await post(a.url, room, "ann", "missed one"),
      await post(b.url, room, "bob", "missed two"),
    ];
    const stream = readStream(b.url, room, String(seen.id));
    await eventsOf(stream, 2, "the stream on B replays the 2 messages missed");
    const live = await post(a.url, room, "ann", "live");
    const events = await eventsOf(stream, 3, "the stream on B receives the message posted to A");
    assert.deepEqual(
      events.map((event) => event.data),
      [...missed, live],
    );
    assert.deepEqual(
      events.map((event) => event.id),
      [...missed, live].map((message) => String(message.id)),
    );
  });

  test("a Last-Event-ID past PostgreSQL's integer range finds nothing missed, and the stream goes on", async () => {
    const room = freshRoom("far");
    await post(a.url, room, "ann", "before");
    const stream = readStream(b.url, room, String(Number.MAX_SAFE_INTEGER));
    assert.equal((await stream.head).status, 200);
    // Markers until one comes through: the stream is then subscribed.
    let polls = 0;
    await waitFor(
      async () => {
        if (stream.events.length > 0) return true;
        if (polls++ % 5 === 0) await post(a.url, room, "sync", "here?");
        return undefined;
      },
      () => `the stream on B delivers a message: ${JSON.stringify(stream.events)}`,
    );
    assert.ok(
      stream.events.every((event) => event.data.user === "sync"),
      JSON.stringify(stream.events),
    );
    assert.doesNotMatch(b.server.stderr(), /error/i, b.server.output());
  });

  test("text PostgreSQL cannot store (a NUL, a lone surrogate) is a 422, or closes a WebSocket with 1008", async () => {
    const room = freshRoom("unstorable");
    for (const [user, text, field] of [
      ["ann", "a\u0000b", "text"],
      ["ann", "half a pair: \ud83d", "text"],
      ["\udc00", "the user's", "user"],
    ] as const) {
      const response = await fetch(`${a.url}/rooms/${room}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user, text }),
      });
      const body = await response.text();
      assert.equal(response.status, 422, body);
      const { detail } = JSON.parse(body) as { detail: { loc: unknown[] }[] };
      assert.deepEqual(
        detail.map((issue) => issue.loc),
        [["body", field]],
        body,
      );
      const peer = await openPeer(b.url, room, "sender");
      peer.send(user, text);
      const code = await waitFor(
        () => (peer.ws.readyState === WebSocket.CLOSED ? peer.closed : undefined),
        () => `the socket that sent ${JSON.stringify(text)} is closed`,
      );
      assert.equal(code, 1008);
    }
    // Nothing was stored: the room's first message is 1.
    assert.equal((await post(a.url, room, "ann", "a whole \ud83d\ude00")).id, 1);
    for (const { server } of [a, b]) assert.doesNotMatch(server.stderr(), /error/i, server.output());
  });

  test("each process LISTENs on one connection, and closes its connections at SIGTERM, exiting 0", async () => {
    assert.equal(await listeners(database), 2);
    for (const { server } of [a, b]) {
      assert.equal(await stopServer(server), 0, server.output());
      assert.doesNotMatch(server.stderr(), /error|critical/i, server.output());
    }
    // The server notices a closed connection a moment after the client has gone.
    await waitFor(
      async () => ((await listeners(database)) === 0 ? true : undefined),
      () => "the listeners' connections close",
    );
  });
});

describe("brisk serve --workers 2", postgresOptions(), () => {
  let database: TestDatabase;
  let served: Served;

  before(async () => {
    database = await testDatabase();
    // A port of its own: with --port 0, workers started once none is left would listen on another one.
    served = await serveChat(database, await freePort(), ["--workers", "2"]);
    // The first worker to listen announces the address; both are ready once both LISTEN.
    await waitFor(
      async () => ((await listeners(database)) === 2 ? true : undefined),
      () => `both workers LISTEN\n${served.server.output()}`,
    );
  });

  // Which worker takes a connection is the kernel's choice: with several of each, both workers have some.
  test("serve one chat on one port; a worker that loses its LISTEN connection exits 1 and its replacement carries on", async () => {
    const room = freshRoom("workers");
    const streams = Array.from({ length: 4 }, (_, index) => openStream(served.url, room, `stream ${index}`));
    const peers = await Promise.all(
      Array.from({ length: 4 }, (_, index) => openPeer(served.url, room, `socket ${index}`)),
    );
    const everyone = [...streams, ...peers];
    const ready = await inTheRoom(room, everyone, [served.url]);
    for (const [index, peer] of peers.entries())
      for (let round = 0; round < ROUNDS; round++) peer.send(`socket-${index}`, `#${round}`);
    await Promise.all(
      Array.from({ length: 4 }, async (_, index) => {
        for (let round = 0; round < ROUNDS; round++)
          await post(served.url, room, `poster-${index}`, `#${round}`);
      }),
    );
    await receivedCount(everyone, ready, 8 * ROUNDS);
    const last = await post(served.url, room, "sync", "the end");
    await receivedUpTo(everyone, last.id);
    const messages = assertSameInOrder(everyone, ready);
    assert.equal(messages.length, 8 * ROUNDS + 1);
    const rounds = Array.from({ length: ROUNDS }, (_, round) => `#${round}`);
    for (let index = 0; index < 4; index++) {
      assert.deepEqual(textsOf(messages, `socket-${index}`), rounds);
      assert.deepEqual(textsOf(messages, `poster-${index}`), rounds);
    }

    // Both workers' LISTEN connections are cut: both exit with 1, and the primary starts two more.
    assert.equal(await listeners(database, true), 2);
    await waitFor(
      () =>
        served.server.stderr().match(/exited \(code 1\); starting another/g)?.length === 2 ? true : undefined,
      () => `both workers exit with 1\n${served.server.output()}`,
    );
    assert.match(served.server.stderr(), /the chat lost its PostgreSQL connection that LISTENs for messages/);
    for (const peer of peers) {
      const code = await waitFor(
        () => (peer.ws.readyState === WebSocket.CLOSED ? peer.closed : undefined),
        () => `${peer.label} is closed as its worker exits`,
      );
      assert.ok([1001, 1006].includes(code), `${peer.label} closed with ${code}`);
    }
    await waitFor(
      async () => ((await listeners(database)) === 2 ? true : undefined),
      () => `two new workers LISTEN\n${served.server.output()}`,
    );
    // The event streams reconnect to the new workers with Last-Event-ID, and go on where they were, once each.
    const meanwhile = await post(served.url, room, "after", "the new workers");
    await receivedUpTo(streams, meanwhile.id);
    assert.deepEqual(assertSameInOrder(streams, ready).slice(messages.length), [meanwhile]);
    assert.equal(served.server.child.exitCode, null, served.server.output());
  });
});

describe("a process whose LISTEN connection is cut", postgresOptions(), () => {
  test("stops serving, and exits with 1 saying why", async () => {
    const database = await testDatabase();
    const { server, url } = await serveChat(database);
    const room = freshRoom("cut");
    const stream = openStream(url, room, "stream");
    await inTheRoom(room, [stream], [url]);
    assert.equal(await listeners(database, true), 1);
    assert.equal(await exitCode(server), 1, server.output());
    assert.match(server.stderr(), /the chat lost its PostgreSQL connection that LISTENs for messages/);
  });
});
