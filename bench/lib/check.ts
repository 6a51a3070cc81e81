// Before a server is loaded: when it first answers, and whether it answers every workload as it should.
import { setTimeout as sleep } from "node:timers/promises";
import type { Running } from "./process.ts";
import { statusMatches, VALID_ITEM, type Workload } from "./workloads.ts";

async function status(url: string, workload: Pick<Workload, "method" | "path" | "body">): Promise<number> {
  const response = await fetch(`${url}${workload.path}`, {
    method: workload.method,
    ...(workload.body === undefined
      ? {}
      : { body: workload.body, headers: { "content-type": "application/json" } }),
    signal: AbortSignal.timeout(5000),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Milliseconds from the spawn to the first 200 on GET /greetings, polling every 10 ms. */
export async function startupMs(running: Running, timeoutMs = 20_000): Promise<number> {
  let exited = false;
  running.child.once("exit", () => (exited = true));
  while (!exited && performance.now() - running.spawnedAt < timeoutMs) {
    try {
      if ((await status(running.url, { method: "GET", path: "/greetings" })) === 200) {
        return performance.now() - running.spawnedAt;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(10);
  }
  throw new Error(
    `${running.server} did not answer GET /greetings with 200 within ${timeoutMs} ms: ${running.stderr().trim()}`,
  );
}

/** Ten items first, so that items-page returns a full page whatever workloads run. */
export async function seedItems(url: string, count = 10): Promise<void> {
  for (let i = 0; i < count; i++) await status(url, { method: "POST", path: "/items", body: VALID_ITEM });
}

/** One request per workload; a message for each that got the wrong status (or none). */
export async function checkStatuses(
  url: string,
  workloads: readonly Workload[],
): Promise<Map<string, string>> {
  const wrong = new Map<string, string>();
  for (const workload of workloads) {
    try {
      const got = await status(url, workload);
      if (!statusMatches(workload.expect, got)) {
        wrong.set(
          workload.name,
          `${workload.method} ${workload.path} answered ${got}, expected ${workload.expect}`,
        );
      }
    } catch (error) {
      wrong.set(workload.name, `${workload.method} ${workload.path} failed: ${(error as Error).message}`);
    }
  }
  return wrong;
}
