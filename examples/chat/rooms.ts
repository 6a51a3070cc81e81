// Chat rooms as the app uses them, and rooms held in memory: each keeps its recent messages and hands every new one
// to its WebSockets and its event-stream subscribers. They serve one process; with DATABASE_URL the app uses
// PostgreSQL's rooms instead (postgres-rooms.ts), which serve any number.
import type { WebSocketGroup } from "briskjs";
import { Audience } from "./audience.ts";

/** A message as stored and sent: its id increases within the room. */
export interface StoredMessage {
  readonly id: number;
  readonly user: string;
  readonly text: string;
}

export interface Room {
  /** The room's WebSockets in this process: each is sent every message posted to the room, whoever posted it. */
  readonly sockets: WebSocketGroup<StoredMessage>;
  /** Stores a message with the room's next id, sends it to everyone in the room, and resolves with it. */
  post(user: string, text: string): Promise<StoredMessage>;
  /**
   * The messages after `afterId` that the room still has (none when it is undefined), then every new one as it is
   * posted, until `signal` aborts (the subscriber went away).
   */
  subscribe(afterId: number | undefined, signal: AbortSignal): AsyncGenerator<StoredMessage>;
}

export interface Rooms {
  /** The room of that name, created on first use; undefined when there are too many rooms to make another. */
  room(name: string): Room | undefined;
  /** Lets go of what the rooms hold (at shutdown). */
  close(): Promise<void>;
}

/** How many messages a room keeps for subscribers that reconnect. */
export const KEPT = 100;

/** Rooms are created by naming them: a bound keeps a client from filling memory with rooms. */
export const MAX_ROOMS = 1000;

/** The room of that name in `rooms`, made with `create` if there is none yet and fewer than MAX_ROOMS. */
export function roomNamed<R>(rooms: Map<string, R>, name: string, create: () => R): R | undefined {
  let found = rooms.get(name);
  if (found === undefined && rooms.size < MAX_ROOMS) {
    found = create();
    rooms.set(name, found);
  }
  return found;
}

class MemoryRoom implements Room {
  readonly #audience = new Audience();
  readonly sockets: WebSocketGroup<StoredMessage> = this.#audience.sockets;
  readonly #messages: StoredMessage[] = [];
  #lastId = 0;

  async post(user: string, text: string): Promise<StoredMessage> {
    const message = { id: ++this.#lastId, user, text };
    this.#messages.push(message);
    if (this.#messages.length > KEPT) this.#messages.shift();
    this.#audience.deliver(message);
    return message;
  }

  subscribe(afterId: number | undefined, signal: AbortSignal): AsyncGenerator<StoredMessage> {
    const missed = () =>
      afterId === undefined ? [] : this.#messages.filter((message) => message.id > afterId);
    return this.#audience.stream(missed, signal);
  }
}

export class MemoryRooms implements Rooms {
  readonly #rooms = new Map<string, MemoryRoom>();

  room(name: string): Room | undefined {
    return roomNamed(this.#rooms, name, () => new MemoryRoom());
  }

  async close(): Promise<void> {
    this.#rooms.clear();
  }
}
