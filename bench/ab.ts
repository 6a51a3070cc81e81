// An A/B of server variants on one workload: each round starts every variant in a fresh process, in turn, and
// measures its CPU time per request under wrk. Per-process results show what a median hides, such as the GET
// "slow state" of docs/performance.md.
//
//   npx tsx bench/ab.ts apps/brisk.ts,apps/node.ts --rounds 8 --workload greetings-list --seed
//
// Files are bench app modules (relative to bench/) that print "ready" once listening on $PORT.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { checkResponses, seedItems } from "./lib/check.ts";
import { cpuMicros, freePort, pinSelf } from "./lib/process.ts";
import { WORKLOADS } from "./lib/workloads.ts";
import { runWrk } from "./lib/wrk.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "8" },
    workload: { type: "string", default: "greetings-list" },
    // Seed the items and call every workload once first, as `npm run bench` does.
    seed: { type: "boolean", default: false },
  },
});
const files = (positionals[0] ?? "").split(",").filter((file) => file !== "");
const workload = WORKLOADS.find((each) => each.name === values.workload);
if (files.length === 0 || workload === undefined) {
  console.error(
    `usage: tsx bench/ab.ts app.ts[,app.ts...] [--rounds n] [--workload ${WORKLOADS.map((each) => each.name).join("|")}] [--seed]`,
  );
  process.exit(1);
}
const cwd = new URL(".", import.meta.url);

// The server on core 0, wrk and this runner on core 1, as in `npm run bench`.
pinSelf(1);
const results = new Map<string, number[]>(files.map((file) => [file, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const file of files) {
    const port = await freePort();
    const child = spawn("taskset", ["-c", "0", process.execPath, "--import", "tsx", file], {
      cwd,
      env: { ...process.env, PORT: String(port), NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => {
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk;
        if (/^ready$/m.test(output)) resolve();
      });
    });
    const url = `http://127.0.0.1:${port}`;
    if (values.seed) {
      await seedItems(url);
      await checkResponses(url, WORKLOADS);
    } else await checkResponses(url, [workload]);
    await runWrk({ url, workload, seconds: 1, connections: 64, cpu: 1 });
    const before = cpuMicros(child.pid!);
    const measured = await runWrk({ url, workload, seconds: 3, connections: 64, cpu: 1 });
    results.get(file)!.push((cpuMicros(child.pid!) - before) / measured.requests);
    child.kill("SIGKILL");
    await sleep(200);
  }
}
const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`CPU µs per request on ${workload.name}, per process:`);
for (const [file, values] of results) {
  console.log(
    `${file.padEnd(28)} median ${median(values).toFixed(1)}   ${values.map((x) => x.toFixed(1)).join(" ")}`,
  );
}
