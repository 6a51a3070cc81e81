import { inspect } from "node:util";
import { escapeControls, jsonLine, type LogLevel, logFormat, stackOf } from "../logger.ts";

/** What a line of the command's own may carry besides its message. */
export interface SayOptions {
  /** An error whose stack follows the message (an app that failed to start, a shutdown that failed). */
  readonly error?: unknown;
  /** Written to standard output rather than standard error: the address and docs lines, which tools wait for. */
  readonly stdout?: boolean;
  /** Extra fields of the JSON entry (the served `url`); text shows only the message. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/**
 * A line of the `brisk` command's own (serving, signals, restarts, stopping, failing to start), in the format the
 * app's log has: `brisk: <message>` as text, or a JSON entry with `"logger": "brisk"` under `--log-format json`,
 * so that a log shipper reading the process's output meets nothing but JSON lines. Not filtered by level: these
 * say what the process is doing, whatever the app's log shows.
 */
export function say(level: LogLevel, message: string, options: SayOptions = {}): void {
  const { error, stdout = false, fields } = options;
  let line: string;
  if (logFormat() === "json") {
    line = jsonLine({
      level,
      logger: "brisk",
      message,
      ...fields,
      ...(error === undefined ? {} : { error: stackOf(error) }),
    });
  } else {
    const stack = error === undefined ? "" : `\n${inspect(error)}`;
    line = `brisk: ${escapeControls(message)}${stack}`;
  }
  (stdout ? process.stdout : process.stderr).write(`${line}\n`);
}
