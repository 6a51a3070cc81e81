/** One answered request, as the access log records it. */
export interface AccessEntry {
  /** The client's address and port; `-` when the connection was gone before they were read. */
  readonly client: string;
  readonly method: string;
  /** The request target as received (path and query), still percent-encoded. */
  readonly target: string;
  readonly httpVersion: string;
  /** The status sent; 0 when the client went away before any was. */
  readonly status: number;
  /** Bytes written for this response, head and body. */
  readonly bytes: number;
  /** Milliseconds from the request's arrival to the end of its response. */
  readonly durationMs: number;
}

/** Where brisk writes what happens: errors with their stacks, and the server's own messages. */
export interface Logger {
  /** What is normal but may help to diagnose (a client that left mid-response); a logger without it drops them. */
  debug?(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
  /**
   * A failure outside any request that the process may not survive (an unhandled rejection or uncaught exception
   * that reached `brisk serve`'s last line of defence); a logger without it gets an `error` entry.
   */
  critical?(message: string, error?: unknown): void;
  /** One access log entry; a logger without it gets the entry as an `info` line. */
  access?(entry: AccessEntry): void;
}

/** A logger as brisk calls it: every level there, and nothing it does can throw (see {@link guardLogger}). */
export interface AppLogger extends Logger {
  debug(message: string): void;
  critical(message: string, error?: unknown): void;
}

export type LogLevel = "debug" | "info" | "warning" | "error" | "critical";
export type LogFormat = "text" | "json";

const LEVELS: Readonly<Record<LogLevel, number>> = {
  debug: 10,
  info: 20,
  warning: 30,
  error: 40,
  critical: 50,
};

/** The error entries the default logger writes per second at most; the rest are counted, then reported. */
const ERRORS_PER_SECOND = 20;

const settings = {
  level: LEVELS.info,
  format: "text" as LogFormat,
  write: (line: string): void => void process.stderr.write(`${line}\n`),
};

/** Sets the default logger's level and format (what `brisk serve --log-level --log-format` do). */
export function configureLogging(options: {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  readonly write?: (line: string) => void;
}): void {
  if (options.level !== undefined) settings.level = LEVELS[options.level];
  if (options.format !== undefined) settings.format = options.format;
  if (options.write !== undefined) settings.write = options.write;
}

/** The default logger's format, which the `brisk` command's own lines follow too (src/cli/say.ts). */
export function logFormat(): LogFormat {
  return settings.format;
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVELS, value);
}

// C0 controls, DEL and C1 controls (0x9b is a terminal's CSI): a request's path must not drive the terminal that
// shows the log, nor forge a line of its own.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text with control characters written as `\xNN` escapes (and `\` doubled, so an escape cannot be forged). */
export function escapeControls(text: string): string {
  const escaped = text.includes("\\") ? text.replaceAll("\\", "\\\\") : text;
  return escaped.replace(CONTROL, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

/** A JSON line; JSON escapes C0 controls itself, and C1 controls are escaped here too. */
export function jsonLine(fields: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date().toISOString(), ...fields }).replace(
    /[\u007f-\u009f]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function emit(level: LogLevel, message: string, error?: unknown): void {
  if (LEVELS[level] < settings.level) return;
  if (settings.format === "json") {
    settings.write(jsonLine({ level, message, ...(error === undefined ? {} : { error: stackOf(error) }) }));
    return;
  }
  const prefix = level === "info" ? "" : `${level}: `;
  // A stack keeps its lines; within them, and in the message, control characters are escaped.
  const stack = error === undefined ? "" : `\n${stackOf(error).split("\n").map(escapeControls).join("\n")}`;
  settings.write(`${prefix}${escapeControls(message)}${stack}`);
}

/** Error entries of the current second, and those not written. */
let errorWindow = 0;
let errorsInWindow = 0;
let suppressed = 0;

/**
 * Errors (and critical entries) past {@link ERRORS_PER_SECOND} are counted, not written: a flood of failing requests
 * cannot flood the log.
 */
function emitError(message: string, error?: unknown, level: "error" | "critical" = "error"): void {
  const second = Math.floor(Date.now() / 1000);
  if (second !== errorWindow) {
    if (suppressed > 0)
      emit(
        "warning",
        `${suppressed} more error entries were not logged (at most ${ERRORS_PER_SECOND} a second)`,
      );
    errorWindow = second;
    errorsInWindow = 0;
    suppressed = 0;
  }
  if (++errorsInWindow > ERRORS_PER_SECOND) {
    suppressed++;
    return;
  }
  emit(level, message, error);
}

/** The `client` of an access entry: a socket's peer, as `address:port`. */
export function clientAddress(socket: {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}): string {
  // A socket reset by its peer forgets the address.
  return socket.remoteAddress === undefined ? "-" : `${socket.remoteAddress}:${socket.remotePort}`;
}

/** An access entry as a line of text: `client - "GET /path HTTP/1.1" 200 512 B 1.2 ms`. */
export function formatAccess(entry: AccessEntry): string {
  const request = escapeControls(`${entry.method} ${entry.target} HTTP/${entry.httpVersion}`).replaceAll(
    '"',
    "\\x22",
  );
  return `${entry.client} - "${request}" ${entry.status} ${entry.bytes} B ${entry.durationMs.toFixed(1)} ms`;
}

/**
 * The default logger: standard error, one entry per call, stacks included; text, or JSON lines. Its level and
 * format are set with {@link configureLogging}; error entries are rate-limited.
 */
export const consoleLogger: AppLogger = {
  debug: (message) => emit("debug", message),
  info: (message) => emit("info", message),
  warn: (message) => emit("warning", message),
  error: (message, error) => emitError(message, error),
  critical: (message, error) => emitError(message, error, "critical"),
  access: (entry) => {
    if (LEVELS.info < settings.level) return;
    if (settings.format === "json") {
      settings.write(
        jsonLine({
          level: "info",
          message: "request",
          client: entry.client,
          method: entry.method,
          target: entry.target,
          http: entry.httpVersion,
          status: entry.status,
          bytes: entry.bytes,
          duration_ms: Math.round(entry.durationMs * 1000) / 1000,
        }),
      );
    } else settings.write(formatAccess(entry));
  },
};

/**
 * A logger whose failures are swallowed (a broken logger must not turn a logged error into a crash), with the
 * levels it lacks filled in: no `debug` drops those entries, no `critical` writes them as errors.
 */
export function guardLogger(logger: Logger): AppLogger {
  if (logger === consoleLogger) return consoleLogger;
  const guarded = (call: () => void) => {
    try {
      call();
    } catch {
      // Nowhere left to report it.
    }
  };
  const access = logger.access;
  return {
    debug: (message) => guarded(() => logger.debug?.(message)),
    info: (message) => guarded(() => logger.info(message)),
    warn: (message) => guarded(() => logger.warn(message)),
    error: (message, error) => guarded(() => logger.error(message, error)),
    critical: (message, error) =>
      guarded(() =>
        logger.critical !== undefined ? logger.critical(message, error) : logger.error(message, error),
      ),
    ...(access === undefined
      ? {}
      : { access: (entry: AccessEntry) => guarded(() => access.call(logger, entry)) }),
  };
}
