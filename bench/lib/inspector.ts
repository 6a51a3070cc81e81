// A small client for a Node process's inspector (the Chrome DevTools Protocol over a WebSocket): the soak asks the
// server for full garbage collections, its memory figures, and heap snapshots through it.
import { createWriteStream } from "node:fs";
import WebSocket from "ws";

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** The inspector URL a process started with `--inspect=…` prints on stderr, once `output` holds that line. */
export function inspectorUrl(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}

export class Inspector {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #events = new Map<string, (params: Record<string, unknown>) => void>();
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as {
        id?: number;
        method?: string;
        params?: Record<string, unknown>;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id === undefined) {
        if (message.method !== undefined) this.#events.get(message.method)?.(message.params ?? {});
        return;
      }
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(`inspector: ${message.error.message}`));
      else pending?.resolve(message.result);
    });
    socket.on("close", () => {
      for (const pending of this.#pending.values())
        pending.reject(new Error("inspector: the connection closed"));
      this.#pending.clear();
    });
  }

  static connect(url: string): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      // The inspector's messages can be large (a heap snapshot comes in chunks, but an evaluation's value does not).
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.once("open", () => resolve(new Inspector(socket)));
      socket.once("error", reject);
    });
  }

  call<Result>(method: string, params: Record<string, unknown> = {}): Promise<Result> {
    const id = this.#nextId++;
    return new Promise<Result>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates an expression in the process's main context and returns its value (JSON-serializable). */
  async evaluate<Value>(expression: string): Promise<Value> {
    const reply = await this.call<{ result: { value: Value }; exceptionDetails?: { text: string } }>(
      "Runtime.evaluate",
      { expression, returnByValue: true },
    );
    if (reply.exceptionDetails !== undefined) throw new Error(`inspector: ${reply.exceptionDetails.text}`);
    return reply.result.value;
  }

  /** Writes a heap snapshot of the process to `file` (the snapshot itself runs a full collection first). */
  async writeHeapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.#events.set("HeapProfiler.addHeapSnapshotChunk", (params) => out.write(params.chunk as string));
    try {
      await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    } finally {
      this.#events.delete("HeapProfiler.addHeapSnapshotChunk");
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
    }
  }

  close(): void {
    this.#socket.close();
  }
}
