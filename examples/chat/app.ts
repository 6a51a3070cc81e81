// A chat: rooms of messages sent over a WebSocket or posted as JSON, and read as they come over Server-Sent Events.
// GET / is a page that uses both. Rooms live in memory, or with DATABASE_URL in PostgreSQL, where any number of
// processes serve one chat. See "Example: chat" in the README.
import { readFileSync } from "node:fs";
import { App, HTTPException, html } from "briskjs";
import { z } from "zod";
import { MAX_ROOMS, MemoryRooms, type Room, type Rooms } from "./rooms.ts";

declare module "briskjs" {
  interface State {
    rooms: Rooms;
  }
}

/**
 * Text PostgreSQL stores as sent: no NUL character (the server refuses it) and no half of a surrogate pair (UTF-8
 * has no encoding for it; the driver would store U+FFFD). Both are 422s, in memory too: one API in both modes.
 */
const storable = (text: z.ZodString) =>
  text
    .refine((value) => !value.includes("\0"), "Text cannot contain NUL")
    .refine((value) => !LONE_SURROGATE.test(value), "Text cannot contain a lone surrogate");

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const Message = z
  .object({ user: storable(z.string().min(1).max(32)), text: storable(z.string().min(1).max(500)) })
  .meta({ id: "Message" });
const StoredMessage = Message.extend({ id: z.int() }).meta({ id: "StoredMessage" });
const RoomName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "Room names are 1 to 32 letters, digits, - or _");

const page = readFileSync(new URL("./index.html", import.meta.url), "utf8");

function room(rooms: Rooms, name: string): Room {
  const found = rooms.room(name);
  if (found === undefined) throw new HTTPException(429, `There are already ${MAX_ROOMS} rooms`);
  return found;
}

export const app: App = new App({
  title: "Chat",
  async *lifespan(app) {
    const url = process.env.DATABASE_URL || undefined;
    // Imported only when needed: the chat in memory does without the `pg` package.
    const rooms =
      url === undefined
        ? new MemoryRooms()
        : await (await import("./postgres-rooms.ts")).PostgresRooms.open(url, app.logger);
    try {
      yield { rooms };
    } finally {
      await rooms.close();
    }
  },
});

app.get("/", { hidden: true }, () => html(page));

app.ws(
  "/ws/{room}",
  { params: { room: RoomName }, message: Message, send: StoredMessage },
  async ({ params, socket, state }) => {
    const chat = room(state.rooms, params.room);
    // Everything posted to the room from now on is sent to this socket, whoever posted it, until it closes.
    chat.sockets.add(socket);
    // One at a time, so that the socket's messages are stored in the order it sent them.
    for await (const message of socket) await chat.post(message.user, message.text);
  },
);

app.get(
  "/rooms/{room}/events",
  { params: { room: RoomName }, sse: StoredMessage, summary: "The room's messages as they are posted" },
  async function* ({ params, lastEventId, signal, state }) {
    const chat = room(state.rooms, params.room);
    // A reconnecting EventSource says which message it saw last: it gets what it missed first. Without one, the
    // stream starts with the next message.
    const after = Number.parseInt(lastEventId ?? "", 10);
    const missedAfter = Number.isSafeInteger(after) && after >= 0 ? after : undefined;
    for await (const message of chat.subscribe(missedAfter, signal)) {
      yield { event: "message", id: String(message.id), data: message };
    }
  },
);

app.post(
  "/rooms/{room}/messages",
  {
    params: { room: RoomName },
    body: Message,
    response: StoredMessage,
    status: 201,
    summary: "Post a message",
  },
  ({ params, body, state }) => room(state.rooms, params.room).post(body.user, body.text),
);
