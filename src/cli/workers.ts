// `brisk serve --workers N`: N processes serving one port through node:cluster. The primary only supervises: it
// restarts a worker that dies (waiting longer after each quick death), forwards SIGTERM and SIGINT, and exits
// once every worker has drained.

import cluster, { type Worker } from "node:cluster";
import { say } from "./say.ts";

/** A worker that lived this long was healthy: the next death restarts it at once again. */
const STABLE_MS = 10_000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;

/** Whether this process is a worker started by {@link superviseWorkers}. */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs `count` workers (each re-runs this command line, and `isWorker()` is then true in it) until SIGTERM or
 * SIGINT; `onListening` gets the address the first worker listens on. Resolves with the exit code: 0 when every
 * worker drained and exited cleanly.
 */
export function superviseWorkers(count: number, onListening: (address: string) => void): Promise<number> {
  let stopping = false;
  let announced = false;
  let quickDeaths = 0;
  const started = new Map<Worker, number>();
  const fork = () => started.set(cluster.fork(), Date.now());

  cluster.on("listening", (_worker, address) => {
    if (announced) return;
    announced = true;
    const host = address.address === null || address.address === undefined ? "127.0.0.1" : address.address;
    onListening(`http://${host.includes(":") ? `[${host}]` : host}:${address.port}`);
  });

  return new Promise((resolve) => {
    let failed = false;
    cluster.on("exit", (worker, code, signal) => {
      const lived = Date.now() - (started.get(worker) ?? Date.now());
      started.delete(worker);
      if (stopping) {
        if (code !== 0) failed = true;
        if (started.size === 0) resolve(failed ? 1 : 0);
        return;
      }
      if (!announced) {
        // A worker that cannot even start (a broken app, a port in use) would fail the same way forever.
        say("error", "a worker exited before serving; stopping");
        stopping = true;
        failed = true;
        if (started.size === 0) resolve(1);
        for (const other of started.keys()) other.process.kill("SIGTERM");
        return;
      }
      quickDeaths = lived >= STABLE_MS ? 0 : quickDeaths + 1;
      const delay = quickDeaths === 0 ? 0 : Math.min(FIRST_DELAY_MS * 2 ** (quickDeaths - 1), MAX_DELAY_MS);
      say(
        "warning",
        `worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another in ${delay} ms`,
      );
      // Not unref'd: when every worker has died at once, this timer is all that keeps the primary running.
      setTimeout(() => {
        if (!stopping) fork();
      }, delay);
    });

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        say("warning", `${signal} again, stopping the workers now`);
        for (const worker of started.keys()) worker.process.kill("SIGKILL");
        process.exit(1);
      }
      stopping = true;
      say("info", `${signal} received, the workers finish their in-flight requests`);
      if (started.size === 0) resolve(0);
      for (const worker of started.keys()) worker.process.kill("SIGTERM");
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    // The workers accept connections themselves. With Node's default round-robin the primary accepts and hands
    // each connection over, and one handed to a worker that dies in between is never answered nor closed.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    for (let index = 0; index < count; index++) fork();
  });
}
