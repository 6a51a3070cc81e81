// A room's audience in this process: its WebSockets and its event streams. Wherever the room's messages are kept,
// the audience hands each one, as it is delivered, to every one of them.
import { WebSocketGroup } from "briskjs";
import type { StoredMessage } from "./rooms.ts";

export class Audience {
  /** The open WebSockets: a socket whose client has gone leaves the group by itself. */
  readonly sockets: WebSocketGroup<StoredMessage> = new WebSocketGroup();
  readonly #streams = new Set<(message: StoredMessage) => void>();

  /** Sends a message to every socket and stream here. Messages are delivered in the order of their ids. */
  deliver(message: StoredMessage): void {
    // Not awaited: the poster does not wait for the slowest reader, and a send never fails.
    void this.sockets.send(message);
    for (const stream of this.#streams) stream(message);
  }

  /**
   * The messages `missed()` returns, then every message delivered from now on, each once and in order, until
   * `signal` aborts (the subscriber went away). `missed` is called once the stream is in the audience, so that no
   * message falls between the two; one that is in both comes once.
   */
  async *stream(
    missed: () => readonly StoredMessage[] | Promise<readonly StoredMessage[]>,
    signal: AbortSignal,
  ): AsyncGenerator<StoredMessage> {
    const pending: StoredMessage[] = [];
    let wake: (() => void) | undefined;
    const stream = (message: StoredMessage) => {
      pending.push(message);
      wake?.();
    };
    const stop = () => wake?.();
    this.#streams.add(stream);
    signal.addEventListener("abort", stop);
    try {
      pending.unshift(...(await missed()));
      let lastId = 0;
      while (!signal.aborted) {
        const next = pending.shift();
        if (next !== undefined) {
          if (next.id <= lastId) continue;
          lastId = next.id;
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.#streams.delete(stream);
      signal.removeEventListener("abort", stop);
    }
  }
}
