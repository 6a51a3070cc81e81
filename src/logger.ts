/** Where brisk writes what happens: errors with their stacks, and the server's own messages. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/** The default logger: standard error, one entry per call, stacks included. */
export const consoleLogger: Logger = {
  info: (message) => console.error(message),
  warn: (message) => console.error(`warning: ${message}`),
  error: (message, error) => console.error(error === undefined ? message : `${message}\n${stackOf(error)}`),
};

function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}
