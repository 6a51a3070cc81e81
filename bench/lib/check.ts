// Before a server is loaded: when it first answers, and whether it answers every workload as it should.
import { setTimeout as sleep } from "node:timers/promises";
import type { Running } from "./process.ts";
import { probePath } from "./servers.ts";
import { statusMatches, VALID_ITEM, type Workload } from "./workloads.ts";

async function send(
  url: string,
  workload: Pick<Workload, "method" | "path" | "body">,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}${workload.path}`, {
    method: workload.method,
    ...(workload.body === undefined
      ? {}
      : { body: workload.body, headers: { "content-type": "application/json" } }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, text: await response.text() };
}

async function status(url: string, workload: Pick<Workload, "method" | "path" | "body">): Promise<number> {
  return (await send(url, workload)).status;
}

/** Milliseconds from the spawn to the first 200 on the suite's probe (GET /greetings or /db), polling every 10 ms. */
export async function startupMs(running: Running, timeoutMs = 20_000): Promise<number> {
  let exited = false;
  const path = probePath(running.suite);
  running.child.once("exit", () => (exited = true));
  while (!exited && performance.now() - running.spawnedAt < timeoutMs) {
    try {
      if ((await status(running.url, { method: "GET", path })) === 200) {
        return performance.now() - running.spawnedAt;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(10);
  }
  throw new Error(
    `${running.server} did not answer GET ${path} with 200 within ${timeoutMs} ms: ${running.stderr().trim()}`,
  );
}

/** Ten items first, so that items-page returns a full page whatever workloads run. */
export async function seedItems(url: string, count = 10): Promise<void> {
  for (let i = 0; i < count; i++) await status(url, { method: "POST", path: "/items", body: VALID_ITEM });
}

/**
 * One request per workload; a message for each that got the wrong status (or none), or, for a workload that says
 * what its body must be (the db ones), a body of the wrong shape.
 */
export async function checkResponses(
  url: string,
  workloads: readonly Workload[],
): Promise<Map<string, string>> {
  const wrong = new Map<string, string>();
  for (const workload of workloads) {
    const request = `${workload.method} ${workload.path}`;
    try {
      const got = await send(url, workload);
      if (!statusMatches(workload.expect, got.status)) {
        wrong.set(workload.name, `${request} answered ${got.status}, expected ${workload.expect}`);
        continue;
      }
      const problem = workload.checkBody?.(JSON.parse(got.text));
      if (problem !== undefined) wrong.set(workload.name, `${request}: ${problem}`);
    } catch (error) {
      wrong.set(workload.name, `${request} failed: ${(error as Error).message}`);
    }
  }
  return wrong;
}
