import { type Listening, listen, type ProxyOptions } from "../adapters/node.ts";
import type { App } from "../app.ts";
import { type AppLogger, consoleLogger } from "../logger.ts";
import { loadEntrypoint } from "./entrypoint.ts";
import { say } from "./say.ts";

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
 * and exits 0. A second signal exits at once. An error that escapes every handler is logged at `critical` (see
 * {@link guardProcess}).
 */
export async function serve(options: ServeOptions): Promise<void> {
  let app: App | undefined;
  let server: Listening | undefined;
  let stopping = false;
  let exitCode = 0;
  /**
   * Stops accepting, lets in-flight requests finish (at most the drain time), runs the shutdown, then exits with
   * the worst code asked for.
   */
  const stop = (code: number, announce: boolean) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    if (server === undefined) process.exit(exitCode);
    server.close().then(
      () => {
        if (announce && exitCode === 0) say("info", "stopped");
        process.exit(exitCode);
      },
      (error: unknown) => {
        say("critical", "the app's shutdown failed:", { error });
        process.exit(1);
      },
    );
  };
  guardProcess(
    () => app?.logger ?? consoleLogger,
    () => stop(1, false),
  );
  app = await loadEntrypoint(options.entrypoint);
  server = await listen(app, options);

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      say("warning", `${signal} again, exiting now`);
      process.exit(1);
    }
    if (options.worker !== true) say("info", `${signal} received, finishing in-flight requests`);
    stop(0, options.worker !== true);
  };
  // Installed before the address is printed: whoever waits for that line may signal at once.
  process.on("SIGINT", options.worker === true ? () => {} : onSignal);
  process.on("SIGTERM", onSignal);
  if (options.worker === true) return;

  say("info", `serving ${options.entrypoint} at ${server.url}`, {
    stdout: true,
    fields: { url: server.url },
  });
  announceDocs(app.settings, server.url);
}

/**
 * The last line of defence, for an error that escaped every handler brisk has (a promise an app let go of, a
 * throw in a timer callback). Both are bugs, and both are logged at `critical` with their stack: never silenced.
 *
 * - An unhandled rejection leaves Node's state sound (nothing was unwound half-way): the process goes on serving.
 * - An uncaught exception may have stopped any code half-way through, leaving state no one can vouch for: the
 *   process stops accepting, lets in-flight requests finish, and exits 1, so that the primary of `--workers` or
 *   the supervisor starts a fresh one. A second one while draining exits at once.
 */
function guardProcess(logger: () => AppLogger, drainAndExit: () => void): void {
  process.on("unhandledRejection", (reason) => {
    logger().critical("an unhandled promise rejection reached the process (serving goes on)", reason);
  });
  let failed = false;
  process.on("uncaughtException", (error) => {
    logger().critical(
      failed
        ? "another uncaught exception reached the process while it drained: exiting now"
        : "an uncaught exception reached the process: it stops accepting, finishes in-flight requests and exits with 1",
      error,
    );
    if (failed) process.exit(1);
    failed = true;
    drainAndExit();
  });
}

/** The docs line printed after the address, when the app serves docs. */
export function announceDocs(settings: App["settings"], url: string): void {
  if (settings.openapiUrl !== null && settings.docsUrl !== null)
    say("info", `docs at ${url}${settings.docsUrl ?? "/docs"}`, {
      stdout: true,
      fields: { url: `${url}${settings.docsUrl ?? "/docs"}` },
    });
}
