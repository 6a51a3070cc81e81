// Chat rooms held in memory: each keeps its recent messages and hands every new one to its WebSockets and its
// event-stream subscribers.
import { WebSocketGroup } from "briskjs";

/** A message as stored and sent: its id increases within the room. */
export interface StoredMessage {
  readonly id: number;
  readonly user: string;
  readonly text: string;
}

/** How many messages a room keeps for subscribers that reconnect. */
const KEPT = 100;

class Room {
  /** The room's open WebSockets: a socket whose client has gone leaves the group by itself. */
  readonly sockets: WebSocketGroup<StoredMessage> = new WebSocketGroup();
  readonly #messages: StoredMessage[] = [];
  readonly #subscribers = new Set<(message: StoredMessage) => void>();
  #nextId = 1;

  /** The id of the last message posted; 0 before the first. */
  get lastId(): number {
    return this.#nextId - 1;
  }

  post(user: string, text: string): StoredMessage {
    const message = { id: this.#nextId++, user, text };
    this.#messages.push(message);
    if (this.#messages.length > KEPT) this.#messages.shift();
    // Not awaited: the poster does not wait for the slowest reader, and a send never fails.
    void this.sockets.send(message);
    for (const subscriber of this.#subscribers) subscriber(message);
    return message;
  }

  /**
   * The messages after `afterId` that the room still has, then every new one as it is posted, until `signal`
   * aborts (the subscriber went away).
   */
  async *subscribe(afterId: number, signal: AbortSignal): AsyncGenerator<StoredMessage> {
    const pending: StoredMessage[] = this.#messages.filter((message) => message.id > afterId);
    let wake: (() => void) | undefined;
    const subscriber = (message: StoredMessage) => {
      pending.push(message);
      wake?.();
    };
    const stop = () => wake?.();
    this.#subscribers.add(subscriber);
    signal.addEventListener("abort", stop);
    try {
      while (!signal.aborted) {
        const next = pending.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.#subscribers.delete(subscriber);
      signal.removeEventListener("abort", stop);
    }
  }
}

const rooms = new Map<string, Room>();

/** Rooms are created by naming them: a bound keeps a client from filling memory with rooms. */
export const MAX_ROOMS = 1000;

/** The room of that name, created on first use; undefined when there are too many rooms to make another. */
export function room(name: string): Room | undefined {
  let found = rooms.get(name);
  if (found === undefined && rooms.size < MAX_ROOMS) {
    found = new Room();
    rooms.set(name, found);
  }
  return found;
}
