// Sending one message to many WebSockets (a chat room, the subscribers of a topic), where any of them may have gone
// at any moment: the group forgets a socket when its connection closes, and a send reaches those still open.

import type { CloseInfo } from "./websocket.ts";

/** What a group needs of a socket: a {@link WebSocketConnection} is one. */
export interface GroupMember<Send> {
  readonly open: boolean;
  readonly closed: Promise<CloseInfo>;
  /** Resolves whether the message was sent; never rejects. */
  send(message: Send): Promise<boolean>;
}

/**
 * A set of WebSockets that receive the same messages. A socket leaves the group by itself when its connection
 * closes, so the app keeps no dead sockets and writes no try/catch around a broadcast.
 *
 * @example
 * const lobby = new WebSocketGroup<Message>();
 * app.ws("/lobby", { message: Message, send: Message }, async ({ socket }) => {
 *   lobby.add(socket);
 *   for await (const message of socket) void lobby.send(message);
 * });
 */
export class WebSocketGroup<Send = unknown> implements Iterable<GroupMember<Send>> {
  readonly #members = new Set<GroupMember<Send>>();

  /** Adds a socket until its connection closes; one already closed is not added. */
  add(socket: GroupMember<Send>): this {
    if (!socket.open || this.#members.has(socket)) return this;
    this.#members.add(socket);
    void socket.closed.then(() => this.#members.delete(socket));
    return this;
  }

  /** Removes a socket before its connection closes; whether it was a member. */
  delete(socket: GroupMember<Send>): boolean {
    return this.#members.delete(socket);
  }

  has(socket: GroupMember<Send>): boolean {
    return this.#members.has(socket);
  }

  /** The sockets in the group (those whose connection has just closed may still be among them). */
  get size(): number {
    return this.#members.size;
  }

  [Symbol.iterator](): Iterator<GroupMember<Send>> {
    return this.#members.values();
  }

  /**
   * Sends a message to every socket in the group at once, and resolves with how many took it. A socket whose peer
   * has gone is dropped from the group. Never rejects (see {@link WebSocketConnection.send}), so it may be called
   * without waiting for it.
   */
  async send(message: Send): Promise<number> {
    const sends: Promise<boolean>[] = [];
    for (const member of this.#members) {
      if (member.open) sends.push(member.send(message));
      else this.#members.delete(member);
    }
    let delivered = 0;
    for (const sent of await Promise.all(sends)) if (sent) delivered++;
    return delivered;
  }
}
