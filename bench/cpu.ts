// Server CPU time per request, servers interleaved in one run: `npm run bench:cpu -- brisk,fastify /greetings/en`,
// or on the db apps: `npm run bench:cpu -- --db brisk,node /queries?queries=20` (PostgreSQL as for `--db` runs).
// On a noisy machine this is steadier than requests per second: it counts only what the server process spent.
import { execFileSync } from "node:child_process";
import { prepareWorld } from "./lib/database.ts";
import { cpuMicros, pinSelf, type Running, startServer } from "./lib/process.ts";
import { isServer, serversOf } from "./lib/servers.ts";

const db = process.argv.includes("--db");
const [list = "brisk,fastify", path = db ? "/db" : "/greetings/en", roundsText = "4"] = process.argv
  .slice(2)
  .filter((arg) => arg !== "--db");
const servers = list.split(",");
const unknown = servers.filter((name) => !isServer(name) || !serversOf(db ? "db" : "api").includes(name));
if (unknown.length > 0) throw new Error(`unknown servers: ${unknown.join(", ")}`);
pinSelf(1);

function load(url: string, seconds: number): number {
  const out = execFileSync("taskset", ["-c", "1", "wrk", "-t1", "-c64", `-d${seconds}s`, url], {
    encoding: "utf8",
  });
  return Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
}

const app = db ? { suite: "db" as const, env: (await prepareWorld()).env } : {};
const running = new Map<string, Running>();
const samples = new Map<string, number[]>();
try {
  for (const name of servers) {
    if (!isServer(name)) continue;
    const server = await startServer(name, 0, "node", app);
    await server.ready;
    running.set(name, server);
    samples.set(name, []);
  }
  for (let round = 0; round < Number(roundsText); round++) {
    for (const [name, server] of running) {
      load(`${server.url}${path}`, 1);
      const before = cpuMicros(server.pid);
      const requests = load(`${server.url}${path}`, 3);
      samples.get(name)!.push((cpuMicros(server.pid) - before) / requests);
    }
  }
  for (const [name, values] of samples) {
    const sorted = [...values].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `${name.padEnd(8)} ${median.toFixed(2)} µs/request (rounds: ${values.map((v) => v.toFixed(1)).join(" ")})`,
    );
  }
} finally {
  for (const server of running.values()) await server.stop();
}
