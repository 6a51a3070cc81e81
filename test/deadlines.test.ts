// The handler deadlines' queue (src/internal/deadlines.ts), directly: work that settles in time keeps its outcome
// and leaves the queue at once; work still pending at its deadline gets the expiry's answer, in the order added.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Deadlines } from "../src/internal/deadlines.ts";

/** A promise and the functions that settle it. */
function pending<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((done, fail) => {
    resolve = done;
    reject = fail;
  });
  return { promise, resolve, reject };
}

test("work that settles before its deadline keeps its value or error, whatever the order it settles in", async () => {
  const deadlines = new Deadlines(10_000, 5);
  const works = [pending<string>(), pending<string>(), pending<string>()];
  const watched = works.map((work) => deadlines.watch(work.promise, () => "expired"));
  works[1]!.resolve("middle");
  works[2]!.reject(new Error("last failed"));
  works[0]!.resolve("first");
  assert.deepEqual(await Promise.allSettled(watched), [
    { status: "fulfilled", value: "first" },
    { status: "fulfilled", value: "middle" },
    { status: "rejected", reason: new Error("last failed") },
  ]);
});

test("work still pending at its deadline gets the expiry's answer; work settled around it is unaffected", async () => {
  const deadlines = new Deadlines(30, 5);
  const fired: string[] = [];
  const slow = [pending<string>(), pending<string>(), pending<string>()];
  const watched = slow.map((work, index) =>
    deadlines.watch(work.promise, () => {
      fired.push(`#${index}`);
      return `expired #${index}`;
    }),
  );
  slow[1]!.resolve("in time");
  assert.deepEqual(await Promise.all(watched), ["expired #0", "in time", "expired #2"]);
  assert.deepEqual(fired, ["#0", "#2"]);
  // An outcome that comes after the deadline changes nothing.
  slow[0]!.resolve("too late");
  await sleep(10);
  assert.deepEqual(fired, ["#0", "#2"]);
});

test("an expiry that throws rejects the watched work; the queue goes on", async () => {
  const deadlines = new Deadlines(20, 5);
  const failing = deadlines.watch(pending<string>().promise, () => {
    throw new Error("expiry failed");
  });
  const next = deadlines.watch(pending<string>().promise, () => "expired");
  await assert.rejects(failing, /expiry failed/);
  assert.equal(await next, "expired");
});

test("with nothing left to watch the timer stops, so the process can exit; a new watch starts it again", async () => {
  const deadlines = new Deadlines(10_000, 5);
  const work = pending<number>();
  const watched = deadlines.watch(work.promise, () => -1);
  work.resolve(1);
  assert.equal(await watched, 1);
  // A running interval would keep this test's process alive past its end; node:test would report it.
  assert.equal(process.getActiveResourcesInfo().filter((name) => name === "Timeout").length, 0);
  const again = pending<number>();
  const second = deadlines.watch(again.promise, () => -1);
  assert.ok(process.getActiveResourcesInfo().includes("Timeout"));
  again.resolve(2);
  assert.equal(await second, 2);
});
