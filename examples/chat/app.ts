// A chat: rooms of messages sent over a WebSocket or posted as JSON, and read as they come over Server-Sent Events.
// GET / is a page that uses both. Rooms live in memory. See "Example: chat" in the README.
import { readFileSync } from "node:fs";
import { App, HTTPException, html } from "briskjs";
import { z } from "zod";
import { room as findRoom, MAX_ROOMS } from "./rooms.ts";

const Message = z
  .object({ user: z.string().min(1).max(32), text: z.string().min(1).max(500) })
  .meta({ id: "Message" });
const StoredMessage = Message.extend({ id: z.int() }).meta({ id: "StoredMessage" });
const RoomName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "Room names are 1 to 32 letters, digits, - or _");

const page = readFileSync(new URL("./index.html", import.meta.url), "utf8");

function room(name: string) {
  const found = findRoom(name);
  if (found === undefined) throw new HTTPException(429, `There are already ${MAX_ROOMS} rooms`);
  return found;
}

export const app: App = new App({ title: "Chat" });

app.get("/", { hidden: true }, () => html(page));

app.ws(
  "/ws/{room}",
  { params: { room: RoomName }, message: Message, send: StoredMessage },
  async ({ params, socket }) => {
    const chat = room(params.room);
    // Everything posted to the room from now on is sent to this socket, whoever posted it, until it closes.
    chat.sockets.add(socket);
    for await (const message of socket) chat.post(message.user, message.text);
  },
);

app.get(
  "/rooms/{room}/events",
  { params: { room: RoomName }, sse: StoredMessage, summary: "The room's messages as they are posted" },
  async function* ({ params, lastEventId, signal }) {
    const chat = room(params.room);
    // A reconnecting EventSource says which message it saw last: it gets what it missed first.
    const after = Number.parseInt(lastEventId ?? "", 10);
    const from = Number.isSafeInteger(after) && after >= 0 ? after : chat.lastId;
    for await (const message of chat.subscribe(from, signal)) {
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
