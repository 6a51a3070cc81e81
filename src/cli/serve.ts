import { listen, type ProxyOptions } from "../adapters/node.ts";
import type { App } from "../app.ts";
import { loadEntrypoint } from "./entrypoint.ts";

/** Options of `brisk serve`. */
export interface ServeOptions extends ProxyOptions {
  readonly entrypoint: string;
  readonly host: string;
  readonly port: number;
  /**
   * How long in-flight requests may take to finish after SIGTERM before their connections are closed.
   * @default 25000
   */
  readonly drainMs?: number;
  /** Answered 200 by the server itself, 503 while draining (see `listen`'s `healthPath`). */
  readonly healthPath?: string;
  /** An access log entry per request (see `listen`'s `accessLog`). */
  readonly accessLog?: boolean;
  /** Answer plain HTTP/1.1 requests in the fast lane (see `listen`'s `fastLane`). */
  readonly fastLane?: boolean;
  /**
   * A worker of `--workers`: it prints nothing of its own (the primary announces the address), and leaves
   * SIGINT to the primary, which forwards one SIGTERM to every worker.
   */
  readonly worker?: boolean;
}

/**
 * Loads the app and serves it until SIGINT or SIGTERM: then it stops accepting, lets in-flight requests finish
 * and exits 0. A second signal exits at once.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const app = await loadEntrypoint(options.entrypoint);
  const server = await listen(app, options);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`brisk: ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    if (options.worker !== true) console.error(`brisk: ${signal} received, finishing in-flight requests`);
    server.close().then(
      () => {
        if (options.worker !== true) console.error("brisk: stopped");
        process.exit(0);
      },
      (error: unknown) => {
        console.error("brisk: the app's shutdown failed:");
        console.error(error);
        process.exit(1);
      },
    );
  };
  // Installed before the address is printed: whoever waits for that line may signal at once.
  process.on("SIGINT", options.worker === true ? () => {} : stop);
  process.on("SIGTERM", stop);
  if (options.worker === true) return;

  console.log(`brisk: serving ${options.entrypoint} at ${server.url}`);
  announceDocs(app.settings, server.url);
}

/** The docs line printed after the address, when the app serves docs. */
export function announceDocs(settings: App["settings"], url: string): void {
  if (settings.openapiUrl !== null && settings.docsUrl !== null)
    console.log(`brisk: docs at ${url}${settings.docsUrl ?? "/docs"}`);
}
