// What the in-process tests share: sending a request through `app.fetch`, checking a JSON answer, and a logger
// that keeps what brisk reports.
import assert from "node:assert/strict";
import type { App, Logger, State } from "briskjs";

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

/**
 * A test's own state as a lifespan yields it. `State` is what the applications compiled with the tests make it
 * (an example augments it), while a test yields state of its own.
 */
export function asState(state: Record<string, unknown>): Partial<State> {
  return state as Partial<State>;
}

/** The state as a plain record, for a test that reads the state it yielded with {@link asState}. */
export function stateRecord(state: State): Record<string, unknown> {
  return state as unknown as Record<string, unknown>;
}
