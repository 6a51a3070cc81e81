import { listen, type ProxyOptions } from "../adapters/node.ts";
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
    console.error(`brisk: ${signal} received, finishing in-flight requests`);
    const deadline = setTimeout(() => {
      console.error("brisk: drain deadline passed, closing remaining connections");
      server.server.closeAllConnections();
    }, options.drainMs ?? 25_000);
    deadline.unref();
    server.close().then(
      () => {
        console.error("brisk: stopped");
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
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  console.log(`brisk: serving ${options.entrypoint} at ${server.url}`);
  const { openapiUrl, docsUrl } = app.settings;
  if (openapiUrl !== null && docsUrl !== null)
    console.log(`brisk: docs at ${server.url}${docsUrl ?? "/docs"}`);
}
