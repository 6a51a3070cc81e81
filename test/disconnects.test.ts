// Issue 16, "No client can take a brisk server down": every example that holds connections, served by a real
// `brisk serve` child through both request paths (the fast lane, and Node's parser alone with --no-fast-lane), meets
// hundreds of clients that vanish at chosen points (mid-handshake, mid-frame, mid-body, mid-stream, after sending
// and before reading), by FIN, by RST or by half-closing. Afterwards the same server must answer normal requests
// correctly, have its open file descriptors back to where they were (and no file handle left for the garbage
// collector to close), no temporary upload file left, nothing critical and no stack trace on its standard error,
// and still be running. The issue's own reproduction (20 WebSockets, half sending, all destroyed at once, then a
// message posted to the room delivered over SSE) comes first.
//
// The choices are seeded (BRISK_DISCONNECTS_SEED replays a run; BRISK_DISCONNECTS_ONLY=point,point narrows it to some
// vanishing points); every failure message says the seed and how many clients ran each point.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { exitCode, INDEX, tempDir, writeAppModule } from "./helpers/cli.ts";
import { Random } from "./helpers/random.ts";
import {
  assertAlive,
  assertCleanStderr,
  assertFdsBack,
  assertLoop,
  assertTmpClean,
  call,
  callJson,
  clientRandom,
  describeServer,
  describeServerSoon,
  dropLeftovers,
  isAlive,
  openLeftovers,
  runClients,
  SEED,
  type Served,
  settleBaseline,
  startServer,
  stopServer,
  until,
  type Vanish,
  vanish,
  writeWithin,
} from "./helpers/vanishing.ts";
import { clientFrame, closeFrame, frameHeadLength, OPCODE, upgradeRequest } from "./helpers/ws-frames.ts";
import { DEADLINE_MS, RawSocket, request } from "./hostile/raw-socket.ts";

/** Clients per protocol, per example and request path. */
const CLIENTS = 240;
/** How many of them are connected at once. */
const CONCURRENCY = 20;
const ROOM = "r1";

const LANES = [
  { fastLane: true, name: "fast lane" },
  { fastLane: false, name: "--no-fast-lane" },
] as const;

const HOW: readonly Vanish[] = ["destroy", "reset", "half-close", "half-close-left"];
/** For a client that would still be reading an endless stream: a half-closed one is taken away after a moment. */
const HOW_ENDLESS: readonly Vanish[] = ["destroy", "reset", "half-close"];

/** A moment to wait before vanishing, often none: the server is caught at different places. */
async function moment(random: Random): Promise<void> {
  const choice = random.int(0, 3);
  if (choice === 1) await new Promise((resolve) => setImmediate(resolve));
  else if (choice >= 2) await sleep(random.int(1, 30));
}

/** The post-loop checks every protocol shares, in order, each failing with the server's state and the seed. */
async function afterLoop(server: Served, normalRequests: (server: Served) => Promise<void>): Promise<void> {
  try {
    assertAlive(server);
    await normalRequests(server);
    try {
      await assertFdsBack(server);
    } catch (error) {
      const left = openLeftovers();
      if (left === 0) throw error;
      throw new Error(
        `${(error as Error).message}\n(${left} half-closed clients were never closed by the server)`,
      );
    }
    assertTmpClean(server);
    assertCleanStderr(server);
    assertAlive(server);
  } finally {
    await dropLeftovers();
  }
}

/**
 * {@link CLIENTS} clients running `client` at the vanishing points, {@link CONCURRENCY} at a time (with messages
 * posted to the chat room all along when `posting`), then the checks of {@link afterLoop}.
 */
async function hostileLoop(
  server: Served,
  label: string,
  points: readonly string[],
  client: (server: Served, index: number, point: string) => Promise<void>,
  normalRequests: (server: Served) => Promise<void>,
  posting = false,
): Promise<void> {
  const stopPoster = posting ? startPoster(server, clientRandom(`${label}-poster`, 0)) : undefined;
  const report = await runClients(
    server,
    { count: CLIENTS, concurrency: CONCURRENCY, points },
    (index, point) => client(server, index, point),
  );
  const postFailures = (await stopPoster?.()) ?? [];
  assertLoop(server, report);
  assert.deepEqual(
    postFailures.slice(0, 5),
    [],
    `posting to the room as the clients vanished (seed ${SEED})`,
  );
  await afterLoop(server, normalRequests);
}

/**
 * Runs each test of one describe against its server: started (warmed up, its baseline taken) by the first test,
 * and started again for the next one if a test failed, so that each protocol is judged on its own.
 */
/** The chat's rooms in memory, whatever DATABASE_URL says (test/chat-postgres.test.ts covers PostgreSQL). */
const IN_MEMORY = () => ({ DATABASE_URL: "" });

function serverFor(
  entrypoint: string,
  lane: (typeof LANES)[number],
  warmUp: (server: Served) => Promise<void>,
  env: () => NodeJS.ProcessEnv = () => ({}),
): (check: (server: Served) => Promise<void>) => Promise<void> {
  let server: Served | undefined;
  let spoiled = false;
  after(() => stopServer(server));
  return async (check) => {
    if (server === undefined || spoiled || !isAlive(server)) {
      stopServer(server);
      server = await startServer(entrypoint, { fastLane: lane.fastLane, env: env() });
      spoiled = false;
      await warmUp(server);
      await settleBaseline(server);
    }
    try {
      await check(server);
    } catch (error) {
      spoiled = true;
      throw error;
    }
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Chat: WebSockets and Server-Sent Events.

interface Peer {
  readonly ws: WebSocket;
  readonly texts: string[];
}

/** A `ws` client on `path`, once open; it records the `text` of every message it receives. */
function openPeer(server: Served, path: string): Promise<Peer> {
  const ws = new WebSocket(`${server.origin.replace(/^http/, "ws")}${path}`);
  const texts: string[] = [];
  ws.on("message", (data) => {
    const message = JSON.parse(String(data)) as { text?: unknown };
    if (typeof message.text === "string") texts.push(message.text);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(
        new Error(`the WebSocket ${path} did not open within ${DEADLINE_MS} ms: ${describeServer(server)}`),
      );
    }, DEADLINE_MS);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve({ ws, texts });
    });
    ws.once("unexpected-response", (_request, response) => {
      clearTimeout(timer);
      reject(new Error(`the handshake of ${path} was refused with ${response.statusCode}`));
    });
    ws.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Closes a `ws` client with 1000 and waits for the server's answer (terminating it if none comes). */
async function closePeer(peer: Peer): Promise<void> {
  const closed = new Promise<void>((resolve) => peer.ws.once("close", () => resolve()));
  peer.ws.close(1000);
  await Promise.race([closed, sleep(DEADLINE_MS)]);
  peer.ws.terminate();
}

async function waitForText(peer: Peer, text: string, what: string, server: Served): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!peer.texts.includes(text) && Date.now() < deadline && peer.ws.readyState === WebSocket.OPEN) {
    await sleep(20);
  }
  assert.ok(peer.texts.includes(text), `${what}: ${describeServer(server)}`);
}

/** GET /rooms/{room}/events on a raw socket, once its 200 head has arrived. */
async function openEventStream(server: Served, room: string): Promise<RawSocket> {
  const raw = await RawSocket.open(server.origin);
  await raw.write(request("GET", `/rooms/${room}/events`, { headers: ["Accept: text/event-stream"] }));
  assert.ok(
    await until(raw, () => raw.pending.includes("\r\n\r\n")),
    `the event stream's head: ${describeServer(server)}`,
  );
  assert.match(raw.pending.toString("latin1"), /^HTTP\/1\.1 200 /, "the event stream is answered 200");
  return raw;
}

async function assertDelivered(stream: RawSocket, text: string, what: string, server: Served): Promise<void> {
  assert.ok(
    await until(stream, () => stream.pending.toString("utf8").includes(text)),
    `${what}: ${describeServer(server)}`,
  );
}

let uniqueCount = 0;
/** A message text no other message has (letters and digits only, so that it appears verbatim in an event). */
function unique(label: string): string {
  return `${label}${++uniqueCount}x${Date.now().toString(36)}`;
}

/**
 * The chat's normal requests: a WebSocket round trip (a message sent comes back to its sender and reaches the
 * event stream) and a message posted over HTTP delivered to both.
 */
async function chatWorks(server: Served): Promise<void> {
  const stream = await openEventStream(server, ROOM);
  const peer = await openPeer(server, `/ws/${ROOM}`);
  try {
    const sent = unique("ws");
    peer.ws.send(JSON.stringify({ user: "checker", text: sent }));
    await waitForText(peer, sent, "a message sent over the WebSocket comes back to it", server);
    await assertDelivered(stream, sent, "the event stream delivers a message sent over a WebSocket", server);
    const posted = unique("post");
    const stored = (await callJson(
      server,
      "POST",
      `/rooms/${ROOM}/messages`,
      { user: "checker", text: posted },
      201,
    )) as {
      id: number;
      text: string;
    };
    assert.equal(stored.text, posted);
    assert.ok(Number.isSafeInteger(stored.id) && stored.id > 0, `a stored message has an id: ${stored.id}`);
    await assertDelivered(stream, posted, "the event stream delivers a posted message", server);
    await waitForText(peer, posted, "a WebSocket receives a posted message", server);
  } finally {
    await closePeer(peer);
    await stream.destroy();
  }
}

/** Posts to the room every few milliseconds until stopped, so that broadcasts flow while clients vanish. */
function startPoster(server: Served, random: Random): () => Promise<string[]> {
  let stopped = false;
  const failures: string[] = [];
  const running = (async () => {
    while (!stopped && isAlive(server)) {
      try {
        const answer = await call(server, "POST", `/rooms/${ROOM}/messages`, {
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ user: "poster", text: random.text(random.int(1, 500)) }),
        });
        if (answer.status !== 201)
          failures.push(`POST answered ${answer.status}: ${answer.body.toString("utf8")}`);
      } catch (error) {
        if (isAlive(server)) failures.push(`POST failed: ${(error as Error).message}`);
      }
      await sleep(random.int(2, 20));
    }
  })();
  return async () => {
    stopped = true;
    await running;
    return failures;
  };
}

/** A chat message's JSON: valid, or (when `valid` is false) refused by the route's schema. */
function chatMessage(random: Random, valid = true): string {
  return valid
    ? JSON.stringify({ user: `u${random.int(0, 999)}`, text: random.text(random.int(1, 500)) })
    : JSON.stringify({ user: "", text: random.text(random.int(501, 600)) });
}

const WS_POINTS = [
  "mid-handshake", // a prefix of the upgrade request
  "handshake-unread", // the whole upgrade request, gone before the 101 is read
  "after-101", // gone as soon as the 101 arrives
  "mid-frame-header", // part of a frame's header or masking key
  "mid-frame", // a frame declaring more bytes than are sent
  "mid-fragments", // the first fragments of a message, never the last
  "after-send", // whole messages sent, gone without reading anything
  "sent-then-paused", // messages sent, nothing read while broadcasts pile up, then gone
  "mid-broadcast", // gone after reading part of the broadcasts
  "invalid-message", // a message the schema refuses (the server closes 1008), gone before the close is read
  "protocol-error", // an unmasked frame or a reserved opcode (the server closes 1002), gone at once
  "close-frame", // a close frame, gone before the server answers it
  "ping-unread", // a ping, gone before the pong
] as const;

async function webSocketClient(server: Served, index: number, point: string): Promise<void> {
  const random = clientRandom("websocket", index);
  const how = random.pick(HOW);
  const linger = random.int(0, 200);
  const raw = await RawSocket.open(server.origin);
  const upgrade = upgradeRequest(`/ws/${ROOM}`, random);
  if (point === "mid-handshake") {
    await raw.write(upgrade.slice(0, random.int(1, upgrade.length - 1)));
    await moment(random);
    return vanish(raw, how, linger);
  }
  await raw.write(upgrade);
  if (point === "handshake-unread") {
    await moment(random);
    return vanish(raw, how, linger);
  }
  let status: number;
  try {
    status = (await raw.response()).status;
  } catch (error) {
    await raw.destroy();
    throw new Error(`the handshake was not answered: ${(error as Error).message}`);
  }
  if (status !== 101) {
    await raw.destroy();
    throw new Error(`the handshake was answered ${status}`);
  }
  const message = () => clientFrame(OPCODE.text, chatMessage(random), random);
  switch (point) {
    case "after-101":
      break;
    case "mid-frame-header": {
      const length = random.pick([10, 200, 70_000]);
      const frame = clientFrame(OPCODE.text, random.text(length), random);
      await raw.write(frame.subarray(0, random.int(1, frameHeadLength(length) - 1)));
      break;
    }
    case "mid-frame": {
      const declared = random.pick([
        random.int(2, 125),
        random.int(126, 65_535),
        random.int(65_536, 2_000_000),
        2 ** 40,
      ]);
      const sent = random.int(0, Math.min(declared - 1, 100_000));
      await writeWithin(raw, clientFrame(OPCODE.text, Buffer.from(random.text(sent)), random, { declared }));
      break;
    }
    case "mid-fragments": {
      const text = chatMessage(random);
      const cut = random.int(1, text.length - 1);
      await raw.write(clientFrame(OPCODE.text, text.slice(0, cut), random, { fin: false }));
      if (random.chance(0.5)) await raw.write(clientFrame(OPCODE.ping, "", random));
      if (random.chance(0.5)) {
        await raw.write(clientFrame(OPCODE.continuation, text.slice(cut, cut + 1), random, { fin: false }));
      }
      break;
    }
    case "after-send":
      for (let i = random.int(1, 3); i > 0; i--) await raw.write(message());
      break;
    case "sent-then-paused":
      raw.pause();
      for (let i = random.int(1, 5); i > 0; i--) await raw.write(message());
      await sleep(random.int(50, 300));
      break;
    case "mid-broadcast": {
      const start = raw.bytesReceived;
      const wanted = random.int(1, 3000);
      if (!(await until(raw, () => raw.bytesReceived >= start + wanted))) {
        const closed = raw.isClosed;
        await raw.destroy();
        if (!closed) throw new Error(`no broadcast reached the WebSocket within ${DEADLINE_MS} ms`);
        return;
      }
      break;
    }
    case "invalid-message":
      await raw.write(clientFrame(OPCODE.text, chatMessage(random, false), random));
      break;
    case "protocol-error":
      await raw.write(
        random.chance(0.5)
          ? clientFrame(OPCODE.text, chatMessage(random), random, { masked: false })
          : clientFrame(random.pick([3, 4, 11]), "x", random),
      );
      break;
    case "close-frame":
      await raw.write(closeFrame(random.pick([1000, 1001, 4000]), random));
      break;
    case "ping-unread":
      await raw.write(clientFrame(OPCODE.ping, random.text(random.int(0, 125)), random));
      break;
    default:
      throw new Error(`unknown point ${point}`);
  }
  await moment(random);
  await vanish(raw, how, linger);
}

const SSE_POINTS = [
  "mid-head", // a prefix of the GET
  "head-unread", // the whole GET, gone before the answer
  "after-headers", // gone once the response head has arrived
  "mid-stream", // gone after part of the events
  "paused", // reads nothing while messages are posted, then gone
  "backlog", // Last-Event-ID: 0, so the kept messages come at once; gone in the middle of them
  "pipelined-behind", // a second request pipelined behind the endless stream, gone
] as const;

async function eventStreamClient(server: Served, index: number, point: string): Promise<void> {
  const random = clientRandom("sse", index);
  const how = random.pick(HOW_ENDLESS);
  const linger = random.int(0, 200);
  const paused = point === "paused";
  const raw = await RawSocket.open(server.origin, { paused });
  const headers = ["Accept: text/event-stream", ...(point === "backlog" ? ["Last-Event-ID: 0"] : [])];
  const get = request("GET", `/rooms/${ROOM}/events`, { headers });
  switch (point) {
    case "mid-head":
      await raw.write(get.slice(0, random.int(1, get.length - 1)));
      break;
    case "head-unread":
      await raw.write(get);
      break;
    case "paused":
      await raw.write(get);
      await sleep(random.int(50, 400));
      break;
    case "pipelined-behind":
      await raw.write(get + request("GET", `/rooms/${ROOM}/events`, { headers }));
      await until(raw, () => raw.pending.includes("\r\n\r\n"));
      break;
    case "after-headers":
    case "mid-stream":
    case "backlog": {
      await raw.write(get);
      const headed = await until(raw, () => raw.pending.includes("\r\n\r\n"));
      if (!headed) {
        const closed = raw.isClosed;
        await raw.destroy();
        throw new Error(
          closed ? "the stream closed before its head" : "no response head within the deadline",
        );
      }
      const head = raw.pending.toString("latin1");
      if (!head.startsWith("HTTP/1.1 200 ")) {
        await raw.destroy();
        throw new Error(`the event stream was answered ${head.slice(0, 40)}`);
      }
      if (point !== "after-headers") {
        const start = raw.pending.indexOf("\r\n\r\n") + 4;
        const wanted = random.int(1, point === "backlog" ? 20_000 : 3000);
        if (!(await until(raw, () => raw.bytesReceived >= start + wanted))) {
          const closed = raw.isClosed;
          await raw.destroy();
          if (!closed) throw new Error(`fewer than ${wanted} bytes of events within ${DEADLINE_MS} ms`);
          return;
        }
      }
      break;
    }
    default:
      throw new Error(`unknown point ${point}`);
  }
  await moment(random);
  await vanish(raw, how, linger);
}

for (const lane of LANES) {
  describe(`the issue's reproduction, chat (${lane.name})`, () => {
    const chat = serverFor("examples/chat/app.ts:app", lane, chatWorks, IN_MEMORY);

    test("20 WebSockets to /ws/r1, half of them sending, all destroyed at once: a message posted next is still delivered over SSE", () =>
      chat(async (server) => {
        const stream = await openEventStream(server, ROOM);
        try {
          const peers = await Promise.all(Array.from({ length: 20 }, () => openPeer(server, `/ws/${ROOM}`)));
          for (const [i, peer] of peers.slice(0, 10).entries()) {
            peer.ws.send(JSON.stringify({ user: `sender${i}`, text: `message ${i}` }));
          }
          for (const peer of peers) peer.ws.terminate(); // destroys the socket, at once, with no close frame
          for (const label of ["first", "second"]) {
            const text = unique(label);
            let posted: unknown;
            try {
              posted = await callJson(
                server,
                "POST",
                `/rooms/${ROOM}/messages`,
                { user: "poster", text },
                201,
              );
            } catch (error) {
              assert.fail(
                `POST /rooms/${ROOM}/messages failed (${(error as Error).message}): ${await describeServerSoon(server)}`,
              );
            }
            assert.equal((posted as { text: string }).text, text);
            await assertDelivered(
              stream,
              text,
              `the ${label} message posted after the clients left reaches the event stream`,
              server,
            );
          }
        } finally {
          await stream.destroy();
        }
        assertAlive(server);
        assertCleanStderr(server);
        await assertFdsBack(server);
        await chatWorks(server);
      }));
  });

  describe(`chat: clients vanishing (${lane.name})`, () => {
    const chat = serverFor("examples/chat/app.ts:app", lane, chatWorks, IN_MEMORY);

    test(`${CLIENTS} WebSocket clients vanish at ${WS_POINTS.length} points while messages flow (seed ${SEED})`, () =>
      chat((server) => hostileLoop(server, "websocket", WS_POINTS, webSocketClient, chatWorks, true)));

    test(`${CLIENTS} event-stream clients vanish at ${SSE_POINTS.length} points while messages flow (seed ${SEED})`, () =>
      chat((server) => hostileLoop(server, "sse", SSE_POINTS, eventStreamClient, chatWorks, true)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Uploads: multipart bodies cut anywhere, downloads with and without ranges.

/** Seeded bytes that uploads are cut from (past 1 MiB some spool to a temporary file). */
const POOL = (() => {
  const random = new Random(SEED);
  const pool = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < pool.byteLength; i += 4) pool.writeUInt32LE(Math.floor(random.float() * 2 ** 32), i);
  return pool;
})();
const MiB = 1024 * 1024;
/** The file every download reads: a few MiB, stored by the warm-up. */
const BIG_SIZE = 3 * MiB + 12_345;

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

interface Multipart {
  readonly contentType: string;
  readonly body: Buffer;
  /** Where each piece of the body starts and ends, to cut it there. */
  readonly marks: {
    readonly fileHeaders: readonly [number, number];
    readonly content: readonly [number, number];
    readonly noteHeaders: readonly [number, number];
    readonly closing: number;
  };
}

/** A browser-like form: a `file` part, then a `note` part, then the closing boundary. */
function multipartBody(random: Random, filename: string, content: Buffer, note: string): Multipart {
  const boundary = `----brisk${random.int(0, 2 ** 30).toString(16)}`;
  const fileHeaders =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
    "Content-Type: application/octet-stream\r\n\r\n";
  const noteHeaders = `\r\n--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n`;
  const closing = `\r\n--${boundary}--\r\n`;
  const body = Buffer.concat([
    Buffer.from(fileHeaders),
    content,
    Buffer.from(noteHeaders),
    Buffer.from(note),
    Buffer.from(closing),
  ]);
  const contentStart = fileHeaders.length;
  const contentEnd = contentStart + content.byteLength;
  const noteStart = contentEnd + noteHeaders.length;
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body,
    marks: {
      fileHeaders: [0, contentStart],
      content: [contentStart, contentEnd],
      noteHeaders: [contentEnd, noteStart],
      closing: noteStart + note.length,
    },
  };
}

/** The request's head, for a body of `length` bytes (or chunked). */
function uploadHead(contentType: string, length: number | "chunked", extra: readonly string[] = []): string {
  const framing = length === "chunked" ? "Transfer-Encoding: chunked" : `Content-Length: ${length}`;
  return `${["POST /files HTTP/1.1", "Host: test", `Content-Type: ${contentType}`, framing, ...extra].join("\r\n")}\r\n\r\n`;
}

/** `body` in chunked framing, in chunks of random sizes. */
function chunkedBody(random: Random, body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < body.byteLength; ) {
    const size = Math.min(random.int(1, 64 * 1024), body.byteLength - offset);
    parts.push(
      Buffer.from(`${size.toString(16)}\r\n`),
      body.subarray(offset, offset + size),
      Buffer.from("\r\n"),
    );
    offset += size;
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

interface StoredFile {
  name: string;
  size: number;
  sha256: string;
  note?: string;
}

/** Uploads a file and checks the 201 and its description. */
async function storeFile(
  server: Served,
  filename: string,
  content: Buffer,
  note: string,
): Promise<StoredFile> {
  const form = multipartBody(new Random(content.byteLength), filename, content, note);
  const answer = await call(server, "POST", "/files", {
    headers: { "content-type": form.contentType },
    body: form.body,
  });
  const text = answer.body.toString("utf8");
  assert.equal(answer.status, 201, `POST /files: ${text}`);
  const stored = JSON.parse(text) as StoredFile;
  assert.deepEqual(stored, { name: stored.name, size: content.byteLength, sha256: sha256(content), note });
  return stored;
}

/** A range of a stored file, checked against the bytes it was stored from. */
async function assertRange(
  server: Served,
  name: string,
  content: Buffer,
  start: number,
  end: number,
): Promise<void> {
  const answer = await call(server, "GET", `/files/${name}`, { headers: { range: `bytes=${start}-${end}` } });
  assert.equal(
    answer.status,
    206,
    `GET /files/${name} with a range: ${answer.body.toString("utf8").slice(0, 200)}`,
  );
  assert.equal(answer.headers["content-range"], `bytes ${start}-${end}/${content.byteLength}`);
  assert.ok(answer.body.equals(content.subarray(start, end + 1)), `the bytes ${start}-${end} of ${name}`);
}

let bigName = "";
let bigEtag = "";

/**
 * The uploads example's normal requests: a file past 1 MiB (so spooled) stored, listed with its description, read
 * back by range; the big file read by range; and on disk, every stored file described and of its described size.
 */
async function uploadsWork(server: Served): Promise<void> {
  const random = new Random(SEED ^ uniqueCount);
  const from = random.int(0, MiB);
  const content = POOL.subarray(from, from + MiB + random.int(1, 500_000));
  const note = unique("note");
  const stored = await storeFile(server, `${note}.bin`, Buffer.from(content), note);
  const list = await call(server, "GET", "/files");
  assert.equal(list.status, 200);
  const listed = JSON.parse(list.body.toString("utf8")) as StoredFile[];
  assert.deepEqual(
    listed.find((each) => each.name === stored.name),
    stored,
    "GET /files lists the file just stored",
  );
  const start = random.int(0, content.byteLength - 2);
  await assertRange(
    server,
    stored.name,
    Buffer.from(content),
    start,
    random.int(start, content.byteLength - 1),
  );
  if (bigName !== "") await assertRange(server, bigName, POOL.subarray(0, BIG_SIZE), 1, BIG_SIZE - 2);
  // Every stored file is described and whole: a client that left mid-upload leaves nothing behind.
  const dir = server.env.UPLOADS_DIR!;
  for (const name of readdirSync(dir).filter((each) => !each.startsWith("."))) {
    let described: StoredFile;
    try {
      described = JSON.parse(readFileSync(join(dir, ".meta", `${name}.json`), "utf8")) as StoredFile;
    } catch {
      assert.fail(`${name} is stored without its description: ${describeServer(server)}`);
    }
    assert.equal(statSync(join(dir, name)).size, described.size, `${name} is stored whole`);
  }
}

async function uploadsWarmUp(server: Served): Promise<void> {
  // The big file for downloads, a small one, and a page: the modules and files of each path are loaded.
  const big = await storeFile(server, "big.bin", POOL.subarray(0, BIG_SIZE), "big");
  bigName = big.name;
  const full = await call(server, "GET", `/files/${bigName}`);
  assert.equal(full.status, 200);
  assert.equal(sha256(full.body), big.sha256);
  bigEtag = String(full.headers.etag);
  await storeFile(server, "small.txt", Buffer.from("small"), "small");
  assert.equal((await call(server, "GET", "/static/index.html")).status, 200);
  await uploadsWork(server);
}

const UPLOAD_POINTS = [
  "mid-head", // the request head cut
  "head-only", // the whole head, no body
  "mid-part-headers", // cut inside the file part's headers
  "mid-file", // cut inside a file held in memory (under 1 MiB)
  "mid-file-spooled", // cut past 1 MiB of a file, so inside its temporary file
  "before-closing-boundary", // everything but the closing boundary
  "mid-note-headers", // the file whole, cut inside the next part's headers
  "body-unread", // the whole body, gone before the answer (the file is stored)
  "chunked-mid-chunk", // a chunked body cut inside a chunk
  "paused-after-body", // the whole body, reading nothing, then gone
  "expect-continue", // Expect: 100-continue, gone after part of the body
] as const;

async function uploadClient(server: Served, index: number, point: string): Promise<void> {
  const random = clientRandom("upload", index);
  const how = random.pick(HOW);
  const linger = random.int(0, 200);
  const spooled = point === "mid-file-spooled" || (point !== "mid-file" && random.chance(0.3));
  const size = spooled
    ? random.int(MiB + 1, 3 * MiB)
    : random.int(1, point === "mid-file" ? 900 * 1024 : 64 * 1024);
  const offset = random.int(0, POOL.byteLength - size);
  const form = multipartBody(
    random,
    `upload-${index}.bin`,
    POOL.subarray(offset, offset + size),
    `client ${index}`,
  );
  const chunked = point === "chunked-mid-chunk";
  const head = uploadHead(
    form.contentType,
    chunked ? "chunked" : form.body.byteLength,
    point === "expect-continue" ? ["Expect: 100-continue"] : [],
  );
  const raw = await RawSocket.open(server.origin, { paused: point === "paused-after-body" });
  const { marks } = form;
  const between = (from: number, to: number) => random.int(from, Math.max(from, to));
  let cut: number;
  switch (point) {
    case "mid-head":
      await raw.write(head.slice(0, random.int(1, head.length - 1)));
      await moment(random);
      return vanish(raw, how, linger);
    case "head-only":
      cut = 0;
      break;
    case "mid-part-headers":
      cut = between(1, marks.fileHeaders[1] - 1);
      break;
    case "mid-file":
      cut = between(marks.content[0], marks.content[1] - 1);
      break;
    case "mid-file-spooled":
      cut = between(marks.content[0] + MiB + 1, marks.content[1] - 1);
      break;
    case "before-closing-boundary":
      cut = between(marks.closing, form.body.byteLength - 1);
      break;
    case "mid-note-headers":
      cut = between(marks.noteHeaders[0] + 1, marks.noteHeaders[1] - 1);
      break;
    case "body-unread":
    case "paused-after-body":
      cut = form.body.byteLength;
      break;
    case "chunked-mid-chunk": {
      const framed = chunkedBody(random, form.body);
      await writeWithin(raw, head);
      await writeWithin(raw, framed.subarray(0, random.int(1, framed.byteLength - 6)));
      await moment(random);
      return vanish(raw, how, linger);
    }
    case "expect-continue":
      await raw.write(head);
      await until(raw, () => raw.pending.includes("\r\n\r\n"), random.int(0, 1) === 0 ? 0 : 2000);
      cut = between(0, form.body.byteLength - 1);
      break;
    default:
      throw new Error(`unknown point ${point}`);
  }
  if (point !== "expect-continue") await writeWithin(raw, head);
  if (cut > 0) await writeWithin(raw, form.body.subarray(0, cut));
  if (point === "paused-after-body") await sleep(random.int(50, 300));
  else await moment(random);
  await vanish(raw, how, linger);
}

const DOWNLOAD_POINTS = [
  "mid-head", // a prefix of the GET
  "unread", // the whole GET, gone before anything is read
  "split-head-unread", // the GET in two pieces (a slow client, which the fast lane hands to Node), then gone
  "after-headers", // gone once the head has arrived
  "mid-body", // gone after part of the file
  "range-mid", // one range, gone after part of it
  "ranges-mid", // several ranges (multipart/byteranges), gone after part of them
  "if-range-mid", // If-Range with the current ETag and a range, gone after part of it
  "paused", // reads nothing (the server's writes back up), then gone
  "paused-range", // the same with a range of most of the file
  "pipelined-unread", // several GETs and HEADs at once, gone before reading
  "head-unread", // a HEAD, gone before the answer
  "static-mid", // a static page, gone after part of it
] as const;

function randomRange(random: Random, size: number): string {
  const start = random.int(0, size - 1);
  return random.pick([`${start}-${random.int(start, size - 1)}`, `${start}-`, `-${random.int(1, size)}`]);
}

async function downloadClient(server: Served, index: number, point: string): Promise<void> {
  const random = clientRandom("download", index);
  const how = random.pick(point.startsWith("paused") ? HOW_ENDLESS : HOW);
  const linger = random.int(0, 200);
  const paused = point.startsWith("paused");
  const raw = await RawSocket.open(server.origin, { paused });
  const target = `/files/${bigName}`;
  const headers: string[] = [];
  if (point === "range-mid" || point === "paused-range" || point === "if-range-mid") {
    headers.push(`Range: bytes=${randomRange(random, BIG_SIZE)}`);
  }
  if (point === "if-range-mid") headers.push(`If-Range: ${bigEtag}`);
  if (point === "ranges-mid") {
    const count = random.int(2, 6);
    headers.push(
      `Range: bytes=${Array.from({ length: count }, () => randomRange(random, BIG_SIZE)).join(", ")}`,
    );
  }
  let get = request("GET", target, { headers });
  if (point === "static-mid")
    get = request("GET", random.pick(["/static/index.html", "/static/style.css", "/static/"]));
  if (point === "head-unread") get = request("HEAD", target);
  switch (point) {
    case "mid-head":
      await raw.write(get.slice(0, random.int(1, get.length - 1)));
      break;
    case "unread":
    case "head-unread":
      await raw.write(get);
      break;
    case "split-head-unread": {
      const cut = random.int(1, get.length - 1);
      await raw.write(get.slice(0, cut));
      await sleep(random.int(20, 60));
      await raw.write(get.slice(cut));
      break;
    }
    case "paused":
    case "paused-range":
      await raw.write(get);
      await sleep(random.int(50, 400));
      break;
    case "pipelined-unread": {
      const requests = Array.from({ length: random.int(2, 5) }, () =>
        random.chance(0.25)
          ? request("HEAD", target)
          : request(
              "GET",
              target,
              random.chance(0.5) ? { headers: [`Range: bytes=${randomRange(random, BIG_SIZE)}`] } : {},
            ),
      );
      await raw.write(requests.join(""));
      break;
    }
    case "after-headers":
    case "mid-body":
    case "range-mid":
    case "ranges-mid":
    case "if-range-mid":
    case "static-mid": {
      await raw.write(get);
      if (!(await until(raw, () => raw.pending.includes("\r\n\r\n")))) {
        const closed = raw.isClosed;
        await raw.destroy();
        throw new Error(
          closed ? "the download closed before its head" : "no response head within the deadline",
        );
      }
      const head = raw.pending.toString("latin1", 0, raw.pending.indexOf("\r\n\r\n") + 4);
      if (!/^HTTP\/1\.1 (200|206) /.test(head)) {
        await raw.destroy();
        throw new Error(`the download was answered ${JSON.stringify(head.slice(0, 40))}`);
      }
      if (point !== "after-headers") {
        // Part of the body: never all of it, or the client would be one that read its answer.
        const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? 1);
        const wanted =
          head.length +
          random.int(0, Math.max(0, Math.min(length - 1, random.pick([4096, 300_000, 2 * MiB]))));
        if (!(await until(raw, () => raw.bytesReceived >= wanted)) && !raw.isClosed) {
          await raw.destroy();
          throw new Error(`fewer than ${wanted} bytes of ${point} within ${DEADLINE_MS} ms`);
        }
      }
      break;
    }
    default:
      throw new Error(`unknown point ${point}`);
  }
  await moment(random);
  await vanish(raw, how, linger);
}

for (const lane of LANES) {
  describe(`uploads: clients vanishing (${lane.name})`, () => {
    const uploads = serverFor("examples/uploads/app.ts:app", lane, uploadsWarmUp, () => ({
      UPLOADS_DIR: tempDir({ esm: false }),
    }));

    test(`${CLIENTS} uploads cut at ${UPLOAD_POINTS.length} points, in memory and spooled (seed ${SEED})`, () =>
      uploads((server) => hostileLoop(server, "upload", UPLOAD_POINTS, uploadClient, uploadsWork)));

    test(`${CLIENTS} downloads, with and without ranges, left at ${DOWNLOAD_POINTS.length} points (seed ${SEED})`, () =>
      uploads((server) => hostileLoop(server, "download", DOWNLOAD_POINTS, downloadClient, uploadsWork)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Items: pipelined requests, partial heads and bodies.

/** One whole request the items example answers (201, 200, 404, 405 or 422), keeping the connection open. */
function itemRequest(random: Random): string {
  switch (random.int(0, 7)) {
    case 0:
    case 1:
      return request("POST", "/items", {
        json: { name: `item ${random.int(0, 999)}`, price: random.int(1, 999) / 10 },
      });
    case 2:
      return request("POST", "/items", { json: { name: "", price: -1 } });
    case 3:
      return request("POST", "/items", {
        body: '{"name": "x", ',
        headers: ["Content-Type: application/json"],
      });
    case 4:
      return request("GET", `/items?limit=${random.int(1, 100)}&offset=${random.int(0, 5)}`);
    case 5:
      return request("GET", `/items/${random.int(1, 50)}`);
    case 6:
      return request("GET", "/items/999999999");
    default:
      return request("DELETE", "/items");
  }
}

const ITEMS_POINTS = [
  "pipelined-unread", // several whole requests at once, gone before reading
  "pipelined-some-read", // the same, gone after reading some of the answers
  "pipelined-paused", // many at once, reading nothing, then gone
  "mid-head", // a request head cut
  "mid-body", // a body shorter than its Content-Length
  "chunked-mid-chunk", // a chunked body cut inside a chunk
  "pipelined-then-partial", // whole requests then a partial one
  "expect-continue", // Expect: 100-continue, gone before the body
] as const;

async function itemsClient(server: Served, index: number, point: string): Promise<void> {
  const random = clientRandom("items", index);
  const how = random.pick(point === "pipelined-paused" ? HOW_ENDLESS : HOW);
  const linger = random.int(0, 200);
  const raw = await RawSocket.open(server.origin, { paused: point === "pipelined-paused" });
  const body = JSON.stringify({ name: "cut", price: 1, description: random.text(random.int(10, 2000)) });
  switch (point) {
    case "pipelined-unread":
      await raw.write(Array.from({ length: random.int(2, 12) }, () => itemRequest(random)).join(""));
      break;
    case "pipelined-some-read": {
      const count = random.int(2, 12);
      await raw.write(Array.from({ length: count }, () => itemRequest(random)).join(""));
      for (let read = random.int(1, count - 1); read > 0; read--) {
        try {
          await raw.response();
        } catch (error) {
          await raw.destroy();
          throw new Error(`a pipelined request was not answered: ${(error as Error).message}`);
        }
      }
      break;
    }
    case "pipelined-paused":
      await writeWithin(
        raw,
        Array.from({ length: random.int(20, 100) }, () =>
          random.chance(0.5) ? request("GET", "/items?limit=100") : itemRequest(random),
        ).join(""),
      );
      await sleep(random.int(50, 300));
      break;
    case "mid-head": {
      const whole = itemRequest(random);
      const end = whole.indexOf("\r\n\r\n") + 3;
      await raw.write(whole.slice(0, random.int(1, end)));
      break;
    }
    case "mid-body": {
      const whole = request("POST", "/items", { body, headers: ["Content-Type: application/json"] });
      await raw.write(whole.slice(0, random.int(whole.indexOf("\r\n\r\n") + 4, whole.length - 1)));
      break;
    }
    case "chunked-mid-chunk": {
      const framed = chunkedBody(random, Buffer.from(body)).toString("latin1");
      const whole = request("POST", "/items", {
        headers: ["Content-Type: application/json", "Transfer-Encoding: chunked"],
      }).replace(/\r\n\r\n$/, `\r\n\r\n${framed}`);
      await raw.write(whole.slice(0, random.int(whole.indexOf("\r\n\r\n") + 4, whole.length - 6)));
      break;
    }
    case "pipelined-then-partial": {
      const partial = itemRequest(random);
      await raw.write(
        Array.from({ length: random.int(1, 5) }, () => itemRequest(random)).join("") +
          partial.slice(0, random.int(1, partial.length - 1)),
      );
      break;
    }
    case "expect-continue": {
      const head = request("POST", "/items", {
        headers: ["Content-Type: application/json", `Content-Length: ${body.length}`, "Expect: 100-continue"],
      });
      await raw.write(head);
      if (random.chance(0.5)) await until(raw, () => raw.pending.includes("\r\n\r\n"), 2000);
      break;
    }
    default:
      throw new Error(`unknown point ${point}`);
  }
  await moment(random);
  await vanish(raw, how, linger);
}

/** The items example's normal requests: an item created, then fetched, then listed. */
async function itemsWork(server: Served): Promise<void> {
  const name = unique("item");
  const created = (await callJson(server, "POST", "/items", { name, price: 2.5, tags: ["a"] }, 201)) as {
    id: number;
  };
  assert.deepEqual(created, { id: created.id, name, price: 2.5, tags: ["a"] });
  const fetched = await call(server, "GET", `/items/${created.id}`);
  assert.equal(fetched.status, 200);
  assert.deepEqual(JSON.parse(fetched.body.toString("utf8")), created);
  const list = await call(server, "GET", "/items?limit=1");
  assert.equal(list.status, 200);
  assert.ok((JSON.parse(list.body.toString("utf8")) as { total: number }).total >= created.id);
  const invalid = await callJson(server, "POST", "/items", { name: "", price: 1 }, 422);
  assert.equal((invalid as { detail: { loc: unknown[] }[] }).detail[0]?.loc.join("."), "body.name");
}

for (const lane of LANES) {
  describe(`items: clients vanishing (${lane.name})`, () => {
    const items = serverFor("examples/items/app.ts:app", lane, itemsWork);

    test(`${CLIENTS} clients with pipelined, partial and unread requests vanish at ${ITEMS_POINTS.length} points (seed ${SEED})`, () =>
      items((server) => hostileLoop(server, "items", ITEMS_POINTS, itemsClient, itemsWork)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Shutting down while clients vanish: SIGTERM arrives as half the clients go.

/** An app with what a shutdown must end: a lifespan, WebSockets in a group, event streams, slow requests. */
function shutdownApp(): string {
  const dir = tempDir();
  writeAppModule(
    dir,
    "app.ts",
    [
      `import { WebSocketGroup } from ${JSON.stringify(INDEX)};`,
      "const room = new WebSocketGroup();",
      "export const app = new App({",
      "  lifespan: async function* () {",
      "    yield {};",
      "    // Still running what a shutdown owes: the sockets dying around it must not stop it.",
      "    await new Promise((resolve) => setTimeout(resolve, 50));",
      `    console.log("lifespan: shut down");`,
      "  },",
      "});",
      `app.ws("/ws", {}, async ({ socket }) => {`,
      "  room.add(socket);",
      "  for await (const message of socket) void room.send(message);",
      "});",
      "// Any value: a Standard Schema that takes everything, so the module needs no schema library.",
      `const anything = { "~standard": { version: 1, vendor: "test", validate: (value) => ({ value }) } };`,
      `app.get("/events", { sse: anything }, async function* ({ signal }) {`,
      "  for (let n = 0; !signal.aborted; n++) {",
      "    yield { data: n };",
      "    await new Promise((resolve) => setTimeout(resolve, 20));",
      "  }",
      "});",
      `app.get("/slow", {}, async () => {`,
      "  await new Promise((resolve) => setTimeout(resolve, 300));",
      "  return { slow: true };",
      "});",
    ].join("\n"),
  );
  return join(dir, "app.ts");
}

for (const lane of LANES) {
  describe(`shutdown while clients vanish (${lane.name})`, () => {
    let server: Served | undefined;
    after(() => stopServer(server));

    test("SIGTERM as half the WebSockets and event streams vanish: the rest are ended, the requests in flight answered, the lifespan shut down, exit 0, nothing critical", async () => {
      server = await startServer(`${shutdownApp()}:app`, { fastLane: lane.fastLane });
      const served = server;
      const random = clientRandom(`shutdown-${lane.name}`, 0);
      const peers = await Promise.all(Array.from({ length: 40 }, () => openPeer(served, "/ws")));
      const closes = peers.map(
        (peer) => new Promise<number>((resolve) => peer.ws.once("close", (code) => resolve(code))),
      );
      const streams = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const raw = await RawSocket.open(served.origin);
          await raw.write(request("GET", "/events"));
          return raw;
        }),
      );
      const slow = Array.from({ length: 10 }, () => call(served, "GET", "/slow"));
      for (const [index, peer] of peers.entries())
        if (index % 2 === 0) peer.ws.send(JSON.stringify({ text: `hello ${index}` }));
      await sleep(100);
      served.process.child.kill("SIGTERM");
      await Promise.all([
        ...peers.filter((_, index) => index % 2 === 1).map(async (peer) => peer.ws.terminate()),
        ...streams
          .filter((_, index) => index % 2 === 1)
          .map((raw) => vanish(raw, random.pick(HOW_ENDLESS), 50)),
      ]);
      for (const answer of await Promise.all(slow)) {
        assert.equal(answer.status, 200, `a request in flight is answered: ${describeServer(served)}`);
      }
      const codes = await Promise.all(closes);
      for (const [index, code] of codes.entries()) {
        if (index % 2 === 0) assert.equal(code, 1001, `a WebSocket left open is closed with 1001`);
      }
      for (const [index, raw] of streams.entries()) {
        if (index % 2 === 0) {
          assert.ok(await until(raw, () => raw.isClosed), `an event stream left open is ended`);
        }
      }
      assert.equal(await exitCode(served.process), 0, describeServer(served));
      assert.match(served.process.stdout(), /^lifespan: shut down$/m, describeServer(served));
      assertCleanStderr(served);
    });
  });
}
