// Waiting for a slow reader, shared by both ways brisk writes to a connection (Node's responses and the fast lane).

/** What can be waited on: a Node response or a socket. */
interface Drainable {
  readonly destroyed: boolean;
  destroy(): void;
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * Resolves once `stream` takes more (drain), the client has left (close, or `gone` aborted: a Node response queued
 * behind a pipelined one hears nothing when its connection closes), or a client that reads nothing has been cut
 * off after `sendTimeout` milliseconds.
 */
export function drained(stream: Drainable, sendTimeout: number, gone?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stream.destroyed || gone?.aborted === true) return resolve();
    const timer = setTimeout(() => stream.destroy(), sendTimeout);
    const done = () => {
      clearTimeout(timer);
      stream.off("drain", done);
      stream.off("close", done);
      gone?.removeEventListener("abort", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
    gone?.addEventListener("abort", done);
  });
}
