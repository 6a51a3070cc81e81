// Waiting for a slow reader, shared by both ways brisk writes to a connection (Node's responses and the fast lane).

/** What can be waited on: a Node response or a socket. */
interface Drainable {
  readonly destroyed: boolean;
  destroy(): void;
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * Resolves once `stream` takes more (drain) or the client has left (close); a client that reads nothing for
 * `sendTimeout` milliseconds is cut off.
 */
export function drained(stream: Drainable, sendTimeout: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stream.destroyed) return resolve();
    const timer = setTimeout(() => stream.destroy(), sendTimeout);
    const done = () => {
      clearTimeout(timer);
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
