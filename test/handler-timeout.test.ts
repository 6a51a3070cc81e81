// `limits.handlerTimeout`: a handler that has not answered in time gets the client a 503 and sees its signal abort;
// what it does afterwards (a late result, a failure, dependency cleanup) is dealt with, never lost or sent.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, dependency, stream } from "briskjs";
import { z } from "zod";
import { call } from "./helpers/app.ts";

const TIMEOUT = 150;
/**
 * How long a "late" handler takes: well past the deadline, which fires up to one check interval (here the
 * deadline's own length) after it, and more on a busy machine.
 */
const LATE = TIMEOUT * 8;
/** How long any expected event may take on a busy machine. */
const DEADLINE = 10_000;

function quietApp(options: { handlerTimeout?: number } = {}) {
  const warnings: string[] = [];
  const errors: string[] = [];
  const app = new App({
    limits: { handlerTimeout: options.handlerTimeout ?? TIMEOUT },
    logger: {
      info: () => {},
      warn: (message) => warnings.push(message),
      error: (message) => errors.push(message),
    },
  });
  return { app, warnings, errors };
}

/** Resolves once `check` holds, or fails after the deadline. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const until = Date.now() + DEADLINE;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("handler deadline", () => {
  test("a handler that never answers: 503 after the deadline, its signal aborted, a warning logged", async () => {
    const { app, warnings } = quietApp();
    let aborted: Promise<void> | undefined;
    app.get("/hang", {}, ({ signal }) => {
      aborted = new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
      return new Promise(() => {});
    });
    const started = performance.now();
    const response = await call(app, "/hang");
    const elapsed = performance.now() - started;
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), {
      detail: `Service Unavailable: no response within ${TIMEOUT} ms`,
    });
    assert.ok(elapsed >= TIMEOUT - 5, `answered after ${elapsed} ms, not before the deadline`);
    await aborted;
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /GET \/hang: no response within 150 ms; answered 503/);
  });

  test("a handler that answers in time is not affected", async () => {
    const { app } = quietApp();
    app.get("/quick", {}, async () => {
      await sleep(5);
      return { ok: true };
    });
    const response = await call(app, "/quick");
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true });
  });

  test("a late result is dropped, and a late failure is logged", async () => {
    const { app, errors } = quietApp();
    let finished = false;
    app.get("/late", {}, async () => {
      await sleep(LATE);
      finished = true;
      return { late: true };
    });
    app.get("/late-failure", {}, async () => {
      await sleep(LATE);
      throw new Error("broke after the deadline");
    });
    const response = await call(app, "/late");
    assert.equal(response.status, 503);
    await eventually(() => finished, "the late handler");
    const failed = await call(app, "/late-failure");
    assert.equal(failed.status, 503);
    await eventually(() => errors.length > 0, "the late failure to be logged");
    assert.match(errors[0]!, /\/late-failure: failed after its deadline/);
  });

  test("a late handler's dependency cleanup still runs, once it has finished", async () => {
    const { app } = quietApp();
    const events: string[] = [];
    const session = dependency(async function* () {
      events.push("open");
      try {
        yield "session";
      } finally {
        events.push("close");
      }
    });
    app.get("/slow", { deps: { session } }, async ({ signal }) => {
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      await sleep(20);
      events.push("handler done");
      return { ok: true };
    });
    const response = await call(app, "/slow");
    assert.equal(response.status, 503);
    await response.arrayBuffer();
    await eventually(() => events.includes("close"), "the cleanup");
    assert.deepEqual(events, ["open", "handler done", "close"]);
  });

  test("a late streamed response is cancelled, not left open", async () => {
    const { app } = quietApp();
    let cancelled = false;
    app.get("/late-stream", {}, async () => {
      await sleep(LATE);
      // An endless source that records being told to stop (its `return`).
      const endless: AsyncIterableIterator<string> = {
        next: async () => ({ done: false, value: "chunk\n" }),
        return: async () => {
          cancelled = true;
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      return stream(endless, "text/plain");
    });
    const response = await call(app, "/late-stream");
    assert.equal(response.status, 503);
    await eventually(() => cancelled, "the late stream to be cancelled");
  });

  test("reading the body does not count: a slow upload within the request deadline is answered", async () => {
    const { app } = quietApp();
    app.post("/echo", { body: z.object({ text: z.string() }) }, async ({ body }) => body);
    const encoder = new TextEncoder();
    const parts = ['{"text":', '"slowly', ' sent"}'];
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(TIMEOUT);
        const part = parts.shift();
        if (part === undefined) controller.close();
        else controller.enqueue(encoder.encode(part));
      },
    });
    const response = await call(app, "/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { text: "slowly sent" });
  });

  test("a stream that began in time is not cut by the deadline", async () => {
    const { app } = quietApp();
    app.get("/long-stream", {}, () =>
      stream(
        (async function* () {
          for (let index = 0; index < 4; index++) {
            await sleep(TIMEOUT / 2);
            yield `${index}\n`;
          }
        })(),
        "text/plain",
      ),
    );
    const response = await call(app, "/long-stream");
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "0\n1\n2\n3\n");
  });

  test("the limit must be a positive whole number", () => {
    assert.throws(() => new App({ limits: { handlerTimeout: 0 } }), /handlerTimeout/);
  });
});
