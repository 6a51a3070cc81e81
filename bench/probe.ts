// Server CPU per request on GET /greetings, with and without the harness's extras (startup polled with fetch,
// seeded items, status checks, wrk --latency, the RSS sampler) and with or without every workload warmed first:
// `npx tsx bench/probe.ts brisk,fastify`.
// It exists to find what makes a server slower inside `npm run bench` than on its own.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkResponses, seedItems, startupMs } from "./lib/check.ts";
import { cpuMicros, pinSelf, sampleRss, startServer } from "./lib/process.ts";
import { isServer } from "./lib/servers.ts";
import { INVALID_ITEM, VALID_ITEM, WORKLOADS } from "./lib/workloads.ts";

pinSelf(1);
const dir = mkdtempSync(join(tmpdir(), "brisk-probe-"));
const post = (name: string, body: string) => {
  const file = join(dir, `${name}.lua`);
  writeFileSync(
    file,
    `wrk.method="POST"\nwrk.headers["content-type"]="application/json"\nwrk.body='${body}'\n`,
  );
  return file;
};
const valid = post("valid", VALID_ITEM);
const invalid = post("invalid", INVALID_ITEM);

function wrk(url: string, seconds: number, options: { script?: string; latency?: boolean } = {}): number {
  const args = ["-c", "1", "wrk", "-t1", "-c64", `-d${seconds}s`];
  if (options.latency) args.push("--latency");
  if (options.script !== undefined) args.push("-s", options.script);
  const out = execFileSync("taskset", [...args, url], { encoding: "utf8" });
  return Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
}

for (const server of (process.argv[2] ?? "brisk,fastify").split(",")) {
  if (!isServer(server)) throw new Error(`unknown server ${server}`);
  for (const warmAll of [false, true]) {
    for (const extras of [false, true]) {
      const running = await startServer(server, 0);
      // With the extras, the server also gets what the harness sends first: startup polled with fetch until the
      // first 200, seeded items, one request per workload.
      if (extras) {
        await startupMs(running);
        await seedItems(running.url);
        await checkResponses(running.url, WORKLOADS);
      } else {
        await running.ready;
      }
      if (warmAll) {
        wrk(`${running.url}/items`, 1, { script: valid });
        wrk(`${running.url}/items`, 1, { script: invalid });
        wrk(`${running.url}/items?limit=10&offset=0`, 1);
        wrk(`${running.url}/greetings/en`, 1);
      }
      wrk(`${running.url}/greetings`, 1);
      const sampler = extras ? sampleRss(running.pid) : undefined;
      const before = cpuMicros(running.pid);
      const requests = wrk(`${running.url}/greetings`, 3, { latency: extras });
      const used = cpuMicros(running.pid) - before;
      sampler?.stop();
      const label = `${warmAll ? "all workloads warmed" : "greetings only"}, ${extras ? "harness extras" : "plain"}`;
      console.log(`${server.padEnd(8)} ${label.padEnd(42)} ${(used / requests).toFixed(1)} µs/request`);
      await running.stop();
    }
  }
}
