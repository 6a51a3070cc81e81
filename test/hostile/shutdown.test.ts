// Hostile input, class 7 of SECURITY.md §4 (the process half): SIGTERM under load, and a worker killed under load,
// against the real CLI (`node bin/brisk.mjs serve`, built in dist/) in a child process, driven over raw TCP by
// keep-alive connections that send requests back to back. Every request is recorded with the moment its bytes were
// handed to the kernel and what came back, so that the assertions can tell what was in flight when.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  EXIT_TIMEOUT_MS,
  exitCode,
  freePort,
  killGroup,
  type Launched,
  launch,
  REPO,
  tempDir,
  waitForStdout,
  writeAppModule,
} from "../helpers/cli.ts";
import {
  DEADLINE_MS,
  destroyAllSockets,
  type RawResponse,
  RawSocket,
  request,
  saysClose,
} from "./raw-socket.ts";

after(destroyAllSockets);

function isRunning(launched: Launched): boolean {
  return launched.child.exitCode === null && launched.child.signalCode === null;
}

/** Polls `probe` every 20 ms until it returns a value; fails with `explain()` after `ms`. */
async function waitFor<T>(probe: () => T | undefined, explain: () => string, ms = DEADLINE_MS): Promise<T> {
  const until = performance.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > until) assert.fail(`not within ${ms} ms: ${explain()}`);
    await sleep(20);
  }
}

/** One request sent by a load client. */
interface Sent {
  readonly client: number;
  /** The connection's number, across all clients. */
  readonly connection: number;
  readonly what: string;
  /** `performance.now()` once its bytes were handed to the kernel (the write callback). */
  writtenAt: number;
  response?: RawResponse;
  receivedAt?: number;
  error?: string;
}

function summary(sent: readonly Sent[]): string {
  const statuses = new Map<string, number>();
  for (const each of sent) {
    const key = each.response === undefined ? `error ${each.error}` : String(each.response.status);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  return `${sent.length} requests: ${JSON.stringify(Object.fromEntries(statuses))}`;
}

// ---------------------------------------------------------------------------------------------------------------

describe("SIGTERM under load: brisk serve <items app>", () => {
  const CLIENTS = 32;
  const SLOW_MS = 2_500;

  interface Scenario {
    readonly served: Launched;
    readonly sent: readonly Sent[];
    readonly sockets: readonly RawSocket[];
    readonly refused: readonly { readonly client: number; readonly code: string }[];
    readonly signalAt: number;
    /** When the test saw "SIGTERM received" on stderr: the server was draining by then. */
    readonly drainingSeenAt: number;
    readonly slowWrittenAt: number;
    readonly slowAnswer: RawResponse | Error;
    /** The answer to a request written on the slow request's (busy) connection once the drain was seen. */
    readonly lateAnswer: RawResponse | Error;
    readonly probeError: { readonly code?: string } | undefined;
    /** What each attempt to connect after the drain began got. */
    readonly probes: readonly string[];
    readonly aliveAtProbe: boolean;
    readonly code: number | null;
    readonly explain: () => string;
  }
  let scenario: Scenario | undefined;
  let served: Launched | undefined;

  before(async () => {
    // The items example, with one slow route to keep the drain going while new connections are tried.
    const dir = tempDir();
    writeFileSync(
      join(dir, "items-app.ts"),
      `import { app } from ${JSON.stringify(join(REPO, "examples", "items", "app.ts"))};\n` +
        `app.get("/slow", {}, () => new Promise((resolve) => setTimeout(() => resolve({ slow: true }), ${SLOW_MS})));\n` +
        "export { app };\n",
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const launched = launch(["serve", "items-app.ts:app", "--port", String(port), "--no-access-log"], dir);
    served = launched;
    await waitForStdout(launched, /^brisk: serving \S+ at http:\/\/127\.0\.0\.1:\d+\r?$/m);

    const sent: Sent[] = [];
    const refused: { client: number; code: string }[] = [];
    const sockets: RawSocket[] = [];
    let connections = 0;
    let running = true;
    let signalAt = Number.POSITIVE_INFINITY;
    const explain = () =>
      `${summary(sent)}; refused ${refused.length}; signal at ${signalAt.toFixed(0)}\n${launched.output()}`;

    const client = async (index: number) => {
      let socket = await RawSocket.open(url);
      sockets.push(socket);
      let connection = connections++;
      for (let seq = 0; running; seq++) {
        if (socket.isClosed) {
          try {
            socket = await RawSocket.open(url);
            sockets.push(socket);
            connection = connections++;
          } catch (error) {
            refused.push({ client: index, code: (error as { code?: string }).code ?? String(error) });
            return;
          }
        }
        const post = (seq + index) % 2 === 0;
        const bytes = post
          ? request("POST", "/items", { json: { name: `c${index}-${seq}`, price: 1 + seq } })
          : request("GET", "/items?limit=2");
        const record: Sent = { client: index, connection, what: post ? "POST" : "GET", writtenAt: 0 };
        await socket.write(bytes);
        record.writtenAt = performance.now();
        sent.push(record);
        try {
          record.response = await socket.response();
          record.receivedAt = performance.now();
        } catch (error) {
          record.error = (error as Error).message.slice(0, 200);
          continue;
        }
        if (saysClose(record.response)) await socket.closedWithin().catch(() => {});
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, index) => client(index));
    try {
      // Load first: every client has been answered a few times.
      await waitFor(
        () => (sent.filter((each) => each.response !== undefined).length >= CLIENTS * 4 ? true : undefined),
        explain,
      );
      // A slow request, written in full before the signal.
      const slow = await RawSocket.open(url);
      await slow.write(request("GET", "/slow"));
      const slowWrittenAt = performance.now();
      const slowResponse = slow.response({ timeoutMs: SLOW_MS + DEADLINE_MS }).catch((error: Error) => error);
      await sleep(200);

      signalAt = performance.now();
      launched.child.kill("SIGTERM");
      await waitFor(() => (/^brisk: SIGTERM received/m.test(launched.stderr()) ? true : undefined), explain);
      const drainingSeenAt = performance.now();

      // The listener is closed while the slow request is still being answered: a new connection is refused.
      // The listener is closed right after that line is written; a connection racing the close may still be
      // taken into the backlog and then reset, so new connections are tried until one is refused outright.
      let probeError: { code?: string } | undefined;
      const probes: string[] = [];
      const probeUntil = performance.now() + 5_000;
      while (probeError?.code !== "ECONNREFUSED" && performance.now() < probeUntil) {
        try {
          const probe = await RawSocket.open(url);
          probes.push("connected");
          await probe.destroy();
          await sleep(20);
        } catch (error) {
          probeError = error as { code?: string };
          probes.push(probeError.code ?? String(error));
        }
      }
      const aliveAtProbe = isRunning(launched);
      // A request pipelined on the busy connection while draining: answered, with Connection: close.
      await slow.write(request("GET", "/items?limit=1"));
      const slowAnswer = await slowResponse;
      const lateAnswer = await slow.response().catch((error: Error) => error);
      await slow.closedWithin().catch(() => {});

      const code = await exitCode(launched, EXIT_TIMEOUT_MS);
      running = false;
      await Promise.all(clients);
      scenario = {
        served: launched,
        sent,
        sockets,
        refused,
        signalAt,
        drainingSeenAt,
        slowWrittenAt,
        slowAnswer,
        lateAnswer,
        probeError,
        probes,
        aliveAtProbe,
        code,
        explain,
      };
    } finally {
      running = false;
    }
  });
  after(async () => {
    if (served !== undefined) killGroup(served.child);
    await destroyAllSockets();
  });

  test("the process drains and exits 0", () => {
    assert.ok(scenario !== undefined);
    assert.equal(scenario.code, 0, scenario.explain());
    assert.match(scenario.served.stderr(), /^brisk: stopped$/m, scenario.explain());
  });

  test("0 unanswered: every request written before the signal got a complete response, with its status", (t) => {
    assert.ok(scenario !== undefined);
    const { sent, signalAt, explain } = scenario;
    const before = sent.filter((each) => each.writtenAt < signalAt);
    t.diagnostic(`${before.length} requests written before the signal; all: ${summary(sent)}`);
    assert.ok(before.length >= CLIENTS * 4, explain());
    const unanswered = before.filter((each) => each.response === undefined);
    assert.deepEqual(unanswered, [], `requests written before the signal without an answer: ${explain()}`);
    for (const each of sent) {
      if (each.response === undefined) continue;
      assert.equal(each.response.status, each.what === "POST" ? 201 : 200, each.response.text);
    }
  });

  test("the request in flight at the signal (a slow one) is answered in full", () => {
    assert.ok(scenario !== undefined);
    const { slowAnswer, slowWrittenAt, signalAt } = scenario;
    assert.ok(slowWrittenAt < signalAt);
    assert.ok(!(slowAnswer instanceof Error), String(slowAnswer));
    assert.equal(slowAnswer.status, 200, slowAnswer.text);
    assert.deepEqual(JSON.parse(slowAnswer.text), { slow: true });
  });

  test("a request pipelined on a busy connection while draining is answered, with Connection: close", async () => {
    assert.ok(scenario !== undefined);
    const { slowAnswer, lateAnswer, explain } = scenario;
    assert.ok(!(slowAnswer instanceof Error), String(slowAnswer));
    // The answer before it keeps the connection open for it; this one closes it.
    assert.ok(!(lateAnswer instanceof Error), `${String(lateAnswer)}\n${explain()}`);
    assert.equal(lateAnswer.status, 200, lateAnswer.text);
    assert.ok(saysClose(lateAnswer), "Connection: close");
  });

  test("load requests answered while draining say Connection: close, and every connection is closed", async () => {
    assert.ok(scenario !== undefined);
    const { sent, drainingSeenAt, sockets, explain } = scenario;
    const drained = sent.filter((each) => each.writtenAt > drainingSeenAt && each.response !== undefined);
    for (const each of drained)
      assert.ok(saysClose(each.response!), `a keep-alive answer while draining: ${explain()}`);
    await Promise.all(sockets.map((socket) => socket.closedWithin()));
  });

  test("answers finished after the drain began say Connection: close, also those already in flight", (t) => {
    assert.ok(scenario !== undefined);
    const { sent, drainingSeenAt, slowAnswer, lateAnswer, explain } = scenario;
    const late = sent.filter(
      (each) => (each.receivedAt ?? 0) > drainingSeenAt && each.response !== undefined,
    );
    const keptAlive = late.filter((each) => !saysClose(each.response!));
    t.diagnostic(
      `${late.length} answers arrived after the drain was seen, ${keptAlive.length} of them keep-alive`,
    );
    assert.deepEqual(keptAlive, [], explain());
    // The slow answer says Connection: close, unless the request pipelined behind it was taken: then that one
    // is answered and says it (the last answer on every connection says it).
    assert.ok(!(slowAnswer instanceof Error), String(slowAnswer));
    const last = lateAnswer instanceof Error ? slowAnswer : lateAnswer;
    assert.ok(saysClose(last), "the last answer on the slow connection says Connection: close");
  });

  test("new connections are refused once the listener is closed, while the drain goes on", () => {
    assert.ok(scenario !== undefined);
    const { probeError, probes, aliveAtProbe, refused, explain } = scenario;
    assert.equal(probeError?.code, "ECONNREFUSED", `new connections while draining: ${probes.join(", ")}`);
    assert.ok(aliveAtProbe, "the process was still draining when the connection was refused");
    // A client reconnecting as the listener closes is refused, or reset if the kernel had queued it.
    for (const each of refused) assert.match(each.code, /^(ECONNREFUSED|ECONNRESET)$/, explain());
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("brisk serve --workers 2: a worker SIGKILLed under load", () => {
  /** Keep-alive connections per worker, held by the load clients. */
  const PER_WORKER = 6;

  interface Request {
    readonly connection: number;
    /** The pid that answered earlier on this connection, if any. */
    readonly connectionPid: number | undefined;
    readonly connectionOpenedAt: number;
    readonly startedAt: number;
    pid?: number;
    error?: string;
  }
  interface Scenario {
    readonly primary: Launched;
    readonly victim: number;
    readonly survivor: number;
    readonly fresh: number;
    readonly requests: readonly Request[];
    readonly killAt: number;
    readonly sigtermAt: number;
    readonly code: number | null;
    readonly explain: () => string;
  }
  let scenario: Scenario | undefined;
  let primary: Launched | undefined;

  before(async () => {
    const dir = tempDir();
    writeAppModule(
      dir,
      "pid-app.ts",
      "export const app = new App().get('/pid', {}, () => ({ pid: process.pid }));",
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const launched = launch(
      ["serve", "pid-app.ts:app", "--port", String(port), "--workers", "2", "--no-access-log"],
      dir,
    );
    primary = launched;
    await waitForStdout(launched, /^brisk: serving \S+ at http:\/\/\S+ with 2 workers\r?$/m);
    const primaryPid = launched.child.pid!;
    const workers = await waitFor(() => {
      const pids = childPids(primaryPid);
      return pids.length === 2 ? pids : undefined;
    }, launched.output);

    const requests: Request[] = [];
    let connections = 0;
    let running = true;
    let killAt = Number.POSITIVE_INFINITY;
    let sigtermAt = Number.POSITIVE_INFINITY;
    const explain = () => {
      const byPid = new Map<string, number>();
      for (const each of requests) {
        const key = each.pid === undefined ? `error: ${each.error}` : String(each.pid);
        byPid.set(key, (byPid.get(key) ?? 0) + 1);
      }
      return `workers ${workers.join(", ")}; ${requests.length} requests ${JSON.stringify(Object.fromEntries(byPid))}\n${launched.output()}`;
    };

    /** Sends GET /pid on `socket`, recorded; the pid, or undefined when it failed. */
    const ask = async (socket: RawSocket, record: Request): Promise<number | undefined> => {
      requests.push(record);
      await socket.write(request("GET", "/pid"));
      try {
        const response = await socket.response();
        assert.equal(response.status, 200, response.text);
        record.pid = (JSON.parse(response.text) as { pid: number }).pid;
        return record.pid;
      } catch (error) {
        record.error = (error as Error).message.slice(0, 200);
        return undefined;
      }
    };

    // Keep-alive connections to both workers: the kernel spreads new connections over the workers unevenly, so
    // connections are opened until each worker holds PER_WORKER of them.
    const pool: { socket: RawSocket; connection: number; openedAt: number; pid: number }[] = [];
    const poolDeadline = performance.now() + 2 * DEADLINE_MS;
    while (!workers.every((pid) => pool.filter((each) => each.pid === pid).length >= PER_WORKER)) {
      if (performance.now() > poolDeadline) assert.fail(`connections to both workers: ${explain()}`);
      const openedAt = performance.now();
      const socket = await RawSocket.open(url);
      const connection = connections++;
      const pid = await ask(socket, {
        connection,
        connectionPid: undefined,
        connectionOpenedAt: openedAt,
        startedAt: openedAt,
      });
      if (pid !== undefined && pool.filter((each) => each.pid === pid).length < PER_WORKER) {
        pool.push({ socket, connection, openedAt, pid });
      } else await socket.destroy();
    }

    const client = async (start: (typeof pool)[number]) => {
      let { socket, connection, openedAt } = start;
      let connectionPid: number | undefined = start.pid;
      while (running) {
        if (socket.isClosed) {
          openedAt = performance.now();
          connection = connections++;
          connectionPid = undefined;
          try {
            socket = await RawSocket.open(url);
          } catch (error) {
            requests.push({
              connection,
              connectionPid,
              connectionOpenedAt: openedAt,
              startedAt: openedAt,
              error: `connect: ${(error as Error).message}`,
            });
            await sleep(50);
            continue;
          }
        }
        const record: Request = {
          connection,
          connectionPid,
          connectionOpenedAt: openedAt,
          startedAt: performance.now(),
        };
        const pid = await ask(socket, record);
        if (pid === undefined) await socket.destroy();
        else connectionPid = pid;
        // A little room for the workers being started on this two-core machine.
        await sleep(1);
      }
      await socket.destroy();
    };
    const clients = pool.map((each) => client(each));
    try {
      const victim = workers[0]!;
      const survivor = workers[1]!;
      const served = requests.length;
      await waitFor(() => (requests.length >= served + 200 ? true : undefined), explain);
      killAt = performance.now();
      process.kill(victim, "SIGKILL");

      // A new worker is started; fresh connections find it.
      const fresh = await waitFor(
        () => {
          const pids = childPids(primaryPid).filter((pid) => !workers.includes(pid));
          return pids.length === 1 ? pids[0] : undefined;
        },
        explain,
        2 * DEADLINE_MS,
      );
      await findPid(url, fresh, explain);
      const settled = requests.length;
      await waitFor(() => (requests.length >= settled + 100 ? true : undefined), explain);

      sigtermAt = performance.now();
      launched.child.kill("SIGTERM");
      running = false;
      const code = await exitCode(launched, EXIT_TIMEOUT_MS);
      scenario = { primary: launched, victim, survivor, fresh, requests, killAt, sigtermAt, code, explain };
    } finally {
      running = false;
      await destroyAllSockets();
      await Promise.all(clients);
    }
  });
  after(async () => {
    if (primary !== undefined) killGroup(primary.child);
    await destroyAllSockets();
  });

  test("only requests on the killed worker's connections fail", (t) => {
    assert.ok(scenario !== undefined);
    const { requests, victim, killAt, sigtermAt, explain } = scenario;
    const failed = requests.filter((each) => each.startedAt < sigtermAt && each.error !== undefined);
    t.diagnostic(
      `${requests.length} requests, ${failed.length} failed before SIGTERM, all on the killed worker's connections`,
    );
    const allowed = (each: Request) =>
      each.connectionPid === victim || (each.connectionPid === undefined && each.connectionOpenedAt < killAt);
    assert.deepEqual(
      failed.filter((each) => !allowed(each)),
      [],
      `requests that failed though not on the killed worker: ${explain()}`,
    );
    assert.ok(failed.length <= PER_WORKER, `at most one failure per connection of the victim: ${explain()}`);
  });

  test("the other worker keeps answering, the killed one answers nothing more, and the primary logs the death", () => {
    assert.ok(scenario !== undefined);
    const { requests, victim, survivor, killAt, sigtermAt, primary, explain } = scenario;
    const afterKill = requests.filter((each) => each.startedAt > killAt && each.startedAt < sigtermAt);
    assert.ok(
      afterKill.filter((each) => each.pid === survivor).length >= 10,
      `the survivor answers: ${explain()}`,
    );
    assert.ok(!afterKill.some((each) => each.pid === victim), explain());
    assert.match(
      primary.stderr(),
      new RegExp(`^brisk: worker ${victim} exited \\(SIGKILL\\); starting another`, "m"),
      explain(),
    );
  });

  test("a new worker comes back and answers", () => {
    assert.ok(scenario !== undefined);
    const { fresh, victim, survivor } = scenario;
    assert.ok(fresh !== victim && fresh !== survivor);
  });

  test("SIGTERM to the primary exits 0 and leaves no worker", async () => {
    assert.ok(scenario !== undefined);
    assert.equal(scenario.code, 0, scenario.explain());
    const pid = scenario.primary.child.pid!;
    await waitFor(() => (childPids(pid).length === 0 ? true : undefined), scenario.explain);
  });
});

/** The pids of a process's children (`pgrep -P`). */
function childPids(parent: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(parent)], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line !== "")
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none.
  }
}

/** GET /pid on fresh connections until `pid` answers. */
async function findPid(url: string, pid: number, explain: () => string): Promise<number> {
  const until = performance.now() + 2 * DEADLINE_MS;
  for (;;) {
    const socket = await RawSocket.open(url);
    try {
      await socket.write(request("GET", "/pid", { headers: ["Connection: close"] }));
      const response = await socket.response();
      if ((JSON.parse(response.text) as { pid: number }).pid === pid) return pid;
    } catch {
      // A connection to a worker being started: try again.
    } finally {
      await socket.destroy();
    }
    if (performance.now() > until) assert.fail(`worker ${pid} never answered: ${explain()}`);
  }
}
