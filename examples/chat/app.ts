// A chat: rooms of messages sent over a WebSocket or posted as JSON, and read as they come over Server-Sent Events.
// GET / is a page that uses both. Rooms live in memory, or with DATABASE_URL in PostgreSQL, where any number of
// processes serve one chat. See "Example: chat" in the README.
import { readFileSync } from "node:fs";
import { App, HTTPException, html } from "briskjs";
import { z } from "zod";
import { MAX_ROOMS, MemoryRooms, type Room, type Rooms } from "./rooms.ts";

const Message = z
  .object({ user: z.string().min(1).max(32), text: z.string().min(1).max(500) })
  .meta({ id: "Message" });
const StoredMessage = Message.extend({ id: z.int() }).meta({ id: "StoredMessage" });
const RoomName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "Room names are 1 to 32 letters, digits, - or _");

const page = readFileSync(new URL("./index.html", import.meta.url), "utf8");

/** The rooms, open from the app's startup to its shutdown: in memory, or in PostgreSQL with DATABASE_URL. */
let rooms: Rooms | undefined;

function room(name: string): Room {
  if (rooms === undefined) throw new Error("The app has not started: its rooms are not open");
  const found = rooms.room(name);
  if (found === undefined) throw new HTTPException(429, `There are already ${MAX_ROOMS} rooms`);
  return found;
}

export const app: App = new App({
  title: "Chat",
  async *lifespan() {
    const url = process.env.DATABASE_URL || undefined;
    // Imported only when needed: the chat in memory does without the `pg` package.
    rooms =
      url === undefined
        ? new MemoryRooms()
        : await (await import("./postgres-rooms.ts")).PostgresRooms.open(url, app.logger);
    yield;
    await rooms.close();
    rooms = undefined;
  },
});

app.get("/", { hidden: true }, () => html(page));

app.ws(
  "/ws/{room}",
  { params: { room: RoomName }, message: Message, send: StoredMessage },
  async ({ params, socket }) => {
    const chat = room(params.room);
    // Everything posted to the room from now on is sent to this socket, whoever posted it, until it closes.
    chat.sockets.add(socket);
    // One at a time, so that the socket's messages are stored in the order it sent them.
    for await (const message of socket) await chat.post(message.user, message.text);
  },
);

app.get(
  "/rooms/{room}/events",
  { params: { room: RoomName }, sse: StoredMessage, summary: "The room's messages as they are posted" },
  async function* ({ params, lastEventId, signal }) {
    const chat = room(params.room);
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
  ({ params, body }) => room(params.room).post(body.user, body.text),
);
