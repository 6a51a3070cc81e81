// `brisk serve --workers N`: the real CLI in a child process (a primary and its node:cluster workers), spoken to
// over real sockets. The fixture app answers with the pid of the process that served the request.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  EXIT_TIMEOUT_MS,
  exitCode,
  freePort,
  killGroup,
  type Launched,
  launch,
  tempDir,
  writeAppModule,
} from "./helpers/cli.ts";
import { STEP_MS, waitFor } from "./helpers/processes.ts";

const APP = "test/fixtures/workers-app.ts:app";
/** A request that gets no answer in this long has failed. */
const REQUEST_MS = 15_000;
const SERVING = /^brisk: serving (\S+) at (http:\/\/\S+?) with (\d+) workers\r?$/m;

/** A running `brisk serve --workers ...`: the primary. */
interface Primary extends Launched {
  readonly url: string;
  readonly pid: number;
}

/** Starts `brisk serve ...args` and resolves once the primary announces the address. */
async function startPrimary(args: readonly string[]): Promise<Primary> {
  const launched = launch(["serve", ...args]);
  const match = await waitFor(
    () => launched.stdout().match(SERVING) ?? undefined,
    () => `the serving line\n${launched.output()}`,
    () => launched.child.exitCode === null && launched.child.signalCode === null,
  );
  const pid = launched.child.pid;
  assert.ok(pid !== undefined);
  return { ...launched, url: match[2]!, pid };
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** GET on a fresh connection (no agent: `Connection: close`), so that every request is a new connection. */
function get(url: string, ms: number = REQUEST_MS): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on("error", reject);
    });
    req.setTimeout(ms, () => req.destroy(new Error(`no answer to GET ${url} within ${ms} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** GET of a route answering `{pid}`: the pid of the process that answered. */
async function pidOf(url: string, ms?: number): Promise<number> {
  const answer = await get(url, ms);
  assert.equal(answer.status, 200, `GET ${url}: ${answer.text}`);
  const body = JSON.parse(answer.text) as { pid?: unknown };
  assert.equal(typeof body.pid, "number", answer.text);
  return body.pid as number;
}

/** Sends GET /pid on fresh connections until `count` distinct pids have answered; returns them. */
async function distinctPids(
  primary: Primary,
  count: number,
  exclude: readonly number[] = [],
): Promise<number[]> {
  const seen = new Set<number>();
  await waitFor(
    async () => {
      const pid = await pidOf(`${primary.url}/pid`).catch(() => undefined);
      if (pid !== undefined && !exclude.includes(pid)) seen.add(pid);
      return seen.size >= count ? true : undefined;
    },
    () => `${count} distinct worker pids (seen: ${[...seen].join(", ")})\n${primary.output()}`,
    () => isRunning(primary),
  );
  return [...seen];
}

function isRunning(launched: Launched): boolean {
  return launched.child.exitCode === null && launched.child.signalCode === null;
}

/** Whether a process is running: it exists and is not a zombie waiting to be reaped by whoever inherited it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false; // Gone between the two looks (or no /proc: then kill(0) succeeding meant alive).
  }
}

/** Waits until none of `pids` is running. */
async function allGone(pids: readonly number[], explain: () => string): Promise<void> {
  await waitFor(
    () => (pids.some(isAlive) ? undefined : true),
    () => `the processes ${pids.filter(isAlive).join(", ")} are still running\n${explain()}`,
  );
}

/** Waits until `pattern` matches the primary's stderr. */
function waitForStderr(primary: Launched, pattern: RegExp): Promise<RegExpMatchArray> {
  return waitFor(
    () => primary.stderr().match(pattern) ?? undefined,
    () => `${pattern} on stderr\n${primary.output()}`,
  );
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line !== "");
}

describe("brisk serve --workers 2", () => {
  test("requests on fresh connections are answered by two worker processes; the primary prints one line", async () => {
    const primary = await startPrimary([APP, "--port", "0", "--workers", "2"]);
    try {
      assert.match(primary.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(primary.stdout().match(SERVING)?.[1], APP, primary.output());
      assert.equal(primary.stdout().match(SERVING)?.[3], "2", primary.output());
      const pids = await distinctPids(primary, 2);
      assert.ok(!pids.includes(primary.pid), `the primary serves nothing itself\n${primary.output()}`);
      // More requests: still only those two processes.
      const more = new Set<number>();
      for (let index = 0; index < 6; index++) more.add(await pidOf(`${primary.url}/pid`));
      assert.deepEqual(
        [...more].filter((pid) => !pids.includes(pid)),
        [],
        `only two workers answer\n${primary.output()}`,
      );
      // Both workers listen by now; neither announced itself.
      assert.deepEqual(
        lines(primary.stdout()).filter((line) => line.startsWith("brisk:")),
        [`brisk: serving ${APP} at ${primary.url} with 2 workers`],
        primary.output(),
      );
      // Standard error has the workers' access log, one line per request, and nothing else.
      assert.deepEqual(
        lines(primary.stderr()).filter(
          (line) => !/^127\.0\.0\.1:\d+ - "GET \/pid HTTP\/1\.1" 200 /.test(line),
        ),
        [],
        primary.output(),
      );
    } finally {
      killGroup(primary.child);
    }
  });

  test("--health-path /healthz is answered 200 by the workers", async () => {
    const primary = await startPrimary([APP, "--port", "0", "--workers", "2", "--health-path", "/healthz"]);
    try {
      await distinctPids(primary, 2);
      for (let index = 0; index < 4; index++) {
        const answer = await get(`${primary.url}/healthz`);
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.headers["content-type"], "application/json");
        assert.deepEqual(JSON.parse(answer.text), { status: "ok" });
      }
      // The rest still goes to the app.
      assert.equal((await get(`${primary.url}/healthz/`)).status, 404);
    } finally {
      killGroup(primary.child);
    }
  });

  test("a worker that exits on its own is replaced, and the primary logs it", async () => {
    const primary = await startPrimary([APP, "--port", "0", "--workers", "2"]);
    try {
      const pids = await distinctPids(primary, 2);
      const crashed = await pidOf(`${primary.url}/crash`);
      assert.ok(pids.includes(crashed), `a worker answered /crash\n${primary.output()}`);
      await waitForStderr(primary, new RegExp(`^brisk: worker ${crashed} exited \\(code 3\\)`, "m"));
      await allGone([crashed], primary.output);
      // Two workers again: the one left and a new one.
      const now = await distinctPids(primary, 2, [crashed]);
      assert.ok(
        now.some((pid) => !pids.includes(pid) && pid !== primary.pid),
        `a new worker answers\n${primary.output()}`,
      );
      assert.ok(isRunning(primary), primary.output());
    } finally {
      killGroup(primary.child);
    }
  });

  test("workers that all die at once are replaced: the primary waits for them, it does not exit", async () => {
    // A port of its own: with --port 0, workers started once none is left would listen on another one.
    const primary = await startPrimary([APP, "--port", String(await freePort()), "--workers", "2"]);
    try {
      const pids = await distinctPids(primary, 2);
      for (const pid of pids) process.kill(pid, "SIGKILL");
      await allGone(pids, primary.output);
      // With no worker left, only the timer of the next start keeps the primary going.
      const now = await distinctPids(primary, 2, pids);
      assert.equal(now.length, 2, primary.output());
      assert.equal(
        primary.stderr().match(/^brisk: worker \d+ exited \(SIGKILL\)/gm)?.length,
        2,
        primary.output(),
      );
    } finally {
      killGroup(primary.child);
    }
  });
});

describe("brisk serve --workers 2: a worker killed (SIGKILL) under load", () => {
  /** Clients sending GET /pid in a loop, each on a fresh connection: at most this many requests are in flight. */
  const CLIENTS = 4;

  interface Outcome {
    readonly client: number;
    /** The request's number among all started: those below `killedAfter` were started before the kill. */
    readonly started: number;
    readonly pid?: number;
    readonly error?: string;
  }

  interface Scenario {
    readonly primary: Primary;
    readonly victim: number;
    readonly survivor: number;
    readonly outcomes: readonly Outcome[];
    readonly killedAfter: number;
    readonly explain: () => string;
  }

  let primary: Primary | undefined;
  let scenario: Scenario | undefined;

  before(async () => {
    primary = await startPrimary([APP, "--port", "0", "--workers", "2"]);
    const served = primary;
    const [victim, survivor] = await distinctPids(served, 2);
    assert.ok(victim !== undefined && survivor !== undefined);
    const outcomes: Outcome[] = [];
    let startedCount = 0;
    let killedAfter: number | undefined;
    let running = true;
    const client = async (index: number) => {
      while (running) {
        const started = startedCount++;
        try {
          outcomes.push({ client: index, started, pid: await pidOf(`${served.url}/pid`) });
        } catch (error) {
          outcomes.push({ client: index, started, error: (error as Error).message });
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, index) => client(index));
    const explain = () =>
      `${outcomes.length} requests, the kill after #${killedAfter}; failures: ${JSON.stringify(
        outcomes.filter((outcome) => outcome.error !== undefined),
      )}\n${served.output()}`;
    try {
      // Both workers are busy answering before one of them is killed.
      await waitFor(
        () =>
          outcomes.filter((outcome) => outcome.pid === victim).length >= 10 &&
          outcomes.filter((outcome) => outcome.pid === survivor).length >= 10
            ? true
            : undefined,
        explain,
      );
      killedAfter = startedCount;
      process.kill(victim, "SIGKILL");
      const isNew = (pid: number | undefined) =>
        pid !== undefined && pid !== victim && pid !== survivor && pid !== served.pid;
      // A new worker answers, and a few more requests go through after that.
      await waitFor(() => (outcomes.some((outcome) => isNew(outcome.pid)) ? true : undefined), explain);
      const settled = outcomes.length;
      await waitFor(() => (outcomes.length >= settled + 20 ? true : undefined), explain);
    } finally {
      running = false;
      // Every client finishes its last request: answered, failed, or timed out after REQUEST_MS.
      await Promise.all(clients);
    }
    scenario = { primary: served, victim, survivor, outcomes, killedAfter, explain };
  });
  after(() => {
    if (primary !== undefined) killGroup(primary.child);
  });

  test("only requests in flight at the kill fail, the other worker keeps answering, a new worker comes", async () => {
    assert.ok(scenario !== undefined);
    const { primary, victim, survivor, outcomes, killedAfter, explain } = scenario;
    assert.ok(
      outcomes.some((outcome) => outcome.pid === victim && outcome.started < killedAfter),
      `the killed worker was serving: ${explain()}`,
    );
    const failures = outcomes.filter((outcome) => outcome.error !== undefined);
    assert.ok(failures.length <= CLIENTS, `at most one request per client fails: ${explain()}`);
    for (const failure of failures) {
      assert.ok(failure.started < killedAfter, `a request started after the kill failed: ${explain()}`);
    }
    const afterKill = outcomes.filter((outcome) => outcome.started >= killedAfter);
    assert.ok(
      afterKill.some((outcome) => outcome.pid === survivor),
      `the surviving worker keeps answering: ${explain()}`,
    );
    assert.ok(
      !afterKill.some((outcome) => outcome.pid === victim),
      `the killed worker answers nothing started after the kill: ${explain()}`,
    );
    assert.ok(
      afterKill.some(
        (outcome) =>
          outcome.pid !== undefined &&
          outcome.pid !== victim &&
          outcome.pid !== survivor &&
          outcome.pid !== primary.pid,
      ),
      `a new worker answers: ${explain()}`,
    );
    await waitForStderr(
      primary,
      new RegExp(`^brisk: worker ${victim} exited \\(SIGKILL\\); starting another`, "m"),
    );
    assert.ok(!isAlive(victim), explain());
    assert.ok(isRunning(primary), explain());
  });

  test("a request in flight at the kill fails with its connection closed: it is not left hanging", () => {
    assert.ok(scenario !== undefined);
    const { outcomes, explain } = scenario;
    // REQUEST_MS without an answer, while the other worker answers hundreds of requests: the connection hangs.
    const hung = outcomes.filter((outcome) => outcome.error?.startsWith("no answer") === true);
    assert.deepEqual(hung, [], `connections left open with nobody to answer them: ${explain()}`);
  });
});

describe("stopping brisk serve --workers 2", () => {
  /** Starts a primary, finds both workers, and starts a GET /slow?ms= that a worker is answering. */
  async function withSlowRequest(ms: number) {
    const primary = await startPrimary([APP, "--port", "0", "--workers", "2"]);
    const workers = await distinctPids(primary, 2);
    const slow = get(`${primary.url}/slow?ms=${ms}`, ms + REQUEST_MS).then(
      (answer) => ({ answer, at: primary.stderr() }),
      (error: Error) => ({ error }),
    );
    await waitFor(
      () => primary.stdout().match(/^slow started (\d+)$/m) ?? undefined,
      () => `the slow request to start\n${primary.output()}`,
    );
    return { primary, workers, slow };
  }

  test("SIGTERM lets the in-flight request finish, exits 0, and leaves no worker behind", async () => {
    // Long enough that the request is surely still in flight when the workers get the signal.
    const { primary, workers, slow } = await withSlowRequest(8_000);
    try {
      primary.child.kill("SIGTERM");
      await waitForStderr(primary, /^brisk: SIGTERM received/m);
      const result = await slow;
      assert.ok("answer" in result, `the slow request failed: ${"error" in result ? result.error : ""}`);
      assert.equal(result.answer.status, 200, result.answer.text);
      assert.ok(workers.includes((JSON.parse(result.answer.text) as { pid: number }).pid));
      assert.match(result.at, /SIGTERM received/, "the answer came while draining");
      assert.equal(await exitCode(primary), 0, primary.output());
      assert.match(primary.stderr(), /^brisk: stopped$/m, primary.output());
      await allGone(workers, primary.output);
    } finally {
      killGroup(primary.child);
    }
  });

  test("SIGINT to the whole process group (Ctrl-C) drains once: the in-flight request finishes, exit 0", async () => {
    const { primary, workers, slow } = await withSlowRequest(8_000);
    try {
      process.kill(-primary.pid, "SIGINT");
      await waitForStderr(primary, /^brisk: SIGINT received/m);
      const result = await slow;
      assert.ok("answer" in result, `the slow request failed: ${"error" in result ? result.error : ""}`);
      assert.equal(result.answer.status, 200, result.answer.text);
      assert.equal(await exitCode(primary), 0, primary.output());
      assert.doesNotMatch(primary.stderr(), /again/, primary.output());
      await allGone(workers, primary.output);
    } finally {
      killGroup(primary.child);
    }
  });

  for (const [first, second] of [
    ["SIGTERM", "SIGINT"],
    ["SIGINT", "SIGTERM"],
    ["SIGTERM", "SIGTERM"],
  ] as const) {
    test(`${second} during the drain after ${first}: exits at once, non-zero, and kills the workers`, async () => {
      // Far longer than the wait for the exit below: a primary that waited for the drain would not make it.
      const { primary, workers, slow } = await withSlowRequest(EXIT_TIMEOUT_MS + 20_000);
      try {
        primary.child.kill(first);
        await waitForStderr(primary, new RegExp(`^brisk: ${first} received`, "m"));
        await sleep(200);
        primary.child.kill(second);
        const code = await exitCode(primary);
        assert.ok(code !== 0 && code !== null, `exit code ${code}\n${primary.output()}`);
        // The primary's own word: it killed the workers rather than signalling them again.
        assert.match(
          primary.stderr(),
          new RegExp(`^brisk: ${second} again, stopping the workers now$`, "m"),
          primary.output(),
        );
        await allGone(workers, primary.output);
        // The request in flight was cut, not answered.
        const result = await slow;
        assert.ok("error" in result, `the slow request was answered: ${JSON.stringify(result)}`);
      } finally {
        killGroup(primary.child);
      }
    });
  }
});

describe("brisk serve --workers: mistakes", () => {
  test("an entrypoint that fails to load exits 1 at once instead of restarting workers forever", async () => {
    const dir = tempDir();
    writeAppModule(dir, "broken.ts", `throw new Error("broken at import");\nexport const app = new App();`);
    const launched = launch(["serve", "broken.ts:app", "--port", "0", "--workers", "2"], dir);
    try {
      assert.equal(await exitCode(launched, STEP_MS), 1, launched.output());
      assert.doesNotMatch(launched.stdout(), /serving/, launched.output());
      assert.match(
        launched.stderr(),
        /^brisk: a worker exited before serving; stopping$/m,
        launched.output(),
      );
      // Each of the two workers tried once; none was started again.
      const attempts = launched.stderr().match(/^brisk: could not start "broken\.ts:app"/gm) ?? [];
      assert.ok(attempts.length >= 1 && attempts.length <= 2, launched.output());
      assert.doesNotMatch(launched.stderr(), /starting another/, launched.output());
      const pid = launched.child.pid;
      assert.ok(pid !== undefined);
      // Nothing of the group is left running.
      await waitFor(
        () => {
          try {
            process.kill(-pid, 0);
          } catch {
            return true;
          }
          return undefined;
        },
        () => `processes of the group are left\n${launched.output()}`,
      );
    } finally {
      killGroup(launched.child);
    }
  });

  test("a missing module with --workers 2 exits 1 too", async () => {
    const launched = launch(["serve", "test/fixtures/nope.ts:app", "--port", "0", "--workers", "2"]);
    try {
      assert.equal(await exitCode(launched, STEP_MS), 1, launched.output());
      assert.match(launched.stderr(), /Could not find module "test\/fixtures\/nope\.ts"/, launched.output());
      assert.doesNotMatch(launched.stderr(), /starting another/, launched.output());
    } finally {
      killGroup(launched.child);
    }
  });

  for (const [args, pattern] of [
    [["--workers", "0"], /--workers must be a number from 1 to 256, got "0"/],
    [["--workers", "x"], /--workers must be a number from 1 to 256, got "x"/],
    [["--workers", "257"], /--workers must be a number from 1 to 256, got "257"/],
    [["--workers", "1.5"], /--workers must be a number from 1 to 256, got "1\.5"/],
    [["--reload", "--workers", "2"], /--reload and --workers cannot be combined/],
  ] as const) {
    test(`${args.join(" ")}: exit 1 and one line`, async () => {
      const launched = launch(["serve", APP, "--port", "0", ...args]);
      try {
        assert.equal(await exitCode(launched), 1, launched.output());
        assert.equal(launched.stdout(), "", launched.output());
        const stderr = lines(launched.stderr());
        assert.equal(stderr.length, 1, launched.output());
        assert.match(stderr[0]!, /^brisk: /, launched.output());
        assert.match(stderr[0]!, pattern, launched.output());
      } finally {
        killGroup(launched.child);
      }
    });
  }
});
