// What the in-process tests share: sending a request through `app.fetch`, checking a JSON answer, and a logger
// that keeps what brisk reports.
import assert from "node:assert/strict";
import type { App, Logger } from "briskjs";

/** Sends a request to the app in-process, as every other runtime would; `target` is a path or a whole URL. */
export function call(app: App, target: string, init?: RequestInit): Promise<Response> {
  return app.fetch(new Request(target.startsWith("http") ? target : `http://test${target}`, init));
}

/** Asserts a JSON response: status, media type, and the whole parsed body. */
export async function expectJson(response: Response, status: number, body: unknown): Promise<void> {
  const raw = await response.text();
  assert.equal(response.status, status, `status (body: ${raw})`);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.deepEqual(JSON.parse(raw), body);
}

/** A logger that keeps what brisk reports, so that a test can tell a quiet server from one that hit a bug. */
export function recordingLogger(): Logger & { readonly errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    info: () => {},
    warn: () => {},
    error: (message, error) => {
      errors.push(error instanceof Error ? `${message}: ${error.message}` : message);
    },
  };
}
