// examples/auth's docs in a real browser: `brisk serve` runs the example, and Debian's chromium (driven by
// playwright-core; no browser is ever downloaded) signs in through Swagger UI's OAuth2 password dialog, then runs
// "Try it out" on GET /users/me with the token it got. Every request the page makes must stay on the server's
// origin. `brisk serve` runs dist/: run `npm run build` first (`npm test` does).
import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page, type Request } from "playwright-core";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(REPO, "bin", "brisk.mjs");
const CHROMIUM = "/usr/bin/chromium";
/** The longest one step may take: starting a process, loading a page, rendering, a response. The machine is slow. */
const STEP_MS = 60_000;
const TEST_MS = 5 * STEP_MS;

const missingReason = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} not installed (apt-get install chromium)`;

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** A child process in its own process group, with everything it wrote so far. */
interface Spawned {
  readonly child: Child;
  readonly output: () => string;
}

function start(command: string, args: readonly string[]): Spawned {
  const child = spawn(command, args, {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.on("error", (error) => (output += `\n[spawn error: ${error.message}]`));
  return { child, output: () => `--- ${command} ${args.join(" ")}\n${output}` };
}

function isRunning({ child }: Spawned): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Stops a process group: SIGTERM, then SIGKILL if it is still there after a few seconds. */
async function stop(spawned: Spawned | undefined): Promise<void> {
  const pid = spawned?.child.pid;
  if (spawned === undefined || pid === undefined || !isRunning(spawned)) return;
  const exited = new Promise<void>((resolve) => spawned.child.once("exit", () => resolve()));
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    return; // The group is gone already.
  }
  await Promise.race([exited, sleep(5_000)]);
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // It exited on SIGTERM.
  }
}

/** Polls `probe` every 100 ms until it returns a value; fails with `explain()` if `alive()` turns false or after `ms`. */
async function waitFor<T>(
  probe: () => T | undefined,
  explain: () => string,
  alive: () => boolean,
  ms: number = STEP_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (!alive()) assert.fail(`exited early: ${explain()}`);
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${explain()}`);
    await sleep(100);
  }
}

/** What a page did, for assertions and failure messages. */
interface Journal {
  readonly requests: Request[];
  readonly lines: string[];
}

/** Records every request a page makes, and its answer or failure, its console errors and uncaught exceptions. */
function record(page: Page): Journal {
  const journal: Journal = { requests: [], lines: [] };
  page.on("request", (request) => {
    journal.requests.push(request);
    journal.lines.push(`-> ${request.method()} ${request.url()}`);
  });
  page.on("response", (response) =>
    journal.lines.push(`<- ${response.status()} ${response.request().method()} ${response.url()}`),
  );
  page.on("requestfailed", (request) =>
    journal.lines.push(
      `!! ${request.method()} ${request.url()}: ${request.failure()?.errorText ?? "failed"}`,
    ),
  );
  page.on("console", (message) => {
    if (message.type() === "error") journal.lines.push(`console.error: ${message.text()}`);
  });
  page.on("pageerror", (error) => journal.lines.push(`page error: ${error.message}`));
  return journal;
}

function describeJournal(journal: Journal): string {
  return `\n--- what the page did:\n${journal.lines.join("\n")}`;
}

describe("the auth example's docs, in chromium", { skip: missingReason ?? false }, () => {
  let dir = "";
  let brisk: Spawned | undefined;
  let context: BrowserContext | undefined;
  /** The server's origin, e.g. http://127.0.0.1:41234. */
  let origin = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "brisk-browser-auth-test-"));
    const server = start(process.execPath, [CLI, "serve", "examples/auth/app.ts:app", "--port", "0"]);
    brisk = server;
    const address = await waitFor(
      () => /^brisk: serving \S+ at (http:\/\/\S+?)\r?$/m.exec(server.output())?.[1],
      () => `brisk prints the address it serves\n${server.output()}`,
      () => isRunning(server),
    );
    origin = new URL(address).origin;

    context = await chromium.launchPersistentContext(join(dir, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      timeout: STEP_MS,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
  });

  after(async () => {
    await context?.close().catch(() => {});
    await stop(brisk);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });
  // A last resort if the runner is interrupted: never leave the server behind.
  process.on("exit", () => {
    try {
      if (brisk?.child.pid !== undefined) process.kill(-brisk.child.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  });

  /** Every http(s) request went to the server's origin; data: and blob: URLs are local. */
  function assertAllOnOrigin(journal: Journal): void {
    const strays = journal.requests
      .map((request) => request.url())
      .filter((url) => {
        const { protocol, origin: requestOrigin } = new URL(url);
        return protocol !== "data:" && protocol !== "blob:" && requestOrigin !== origin;
      });
    assert.deepEqual(strays, [], `requests outside ${origin}${describeJournal(journal)}`);
  }

  it("signs in through the Authorize dialog, then GET /users/me answers alice", {
    timeout: TEST_MS,
  }, async () => {
    assert.ok(context !== undefined);
    const page = await context.newPage();
    const journal = record(page);
    const fail = (step: string) => (error: Error) =>
      assert.fail(`${step}: ${error.message}${describeJournal(journal)}`);
    try {
      const loaded = await page.goto(`${origin}/docs`);
      assert.equal(loaded?.status(), 200, `GET /docs${describeJournal(journal)}`);

      await page
        .locator(".auth-wrapper button.authorize")
        .click()
        .catch(fail("the Authorize button renders"));
      const dialog = page.locator(".modal-ux");
      // The dialog lists both schemes: the OAuth2 one's form, not the API key's.
      const oauth2 = dialog.locator(".auth-container").filter({ hasText: "OAuth2PasswordBearer" });
      await oauth2.locator("#oauth_username").fill("alice").catch(fail("the password flow's form shows"));
      await oauth2.locator("#oauth_password").fill("wonderland");
      const [sent] = await Promise.all([
        page.waitForRequest((request) => new URL(request.url()).pathname === "/token"),
        oauth2.locator("button.modal-btn.authorize").click(),
      ]).catch(fail("the dialog posts the form to the token URL"));
      // The relative tokenUrl "token", resolved against the document's URL.
      assert.equal(sent.url(), `${origin}/token`, describeJournal(journal));
      assert.equal(sent.method(), "POST");
      const form = new URLSearchParams(sent.postData() ?? "");
      assert.equal(form.get("username"), "alice");
      assert.equal(form.get("password"), "wonderland");
      assert.equal((await sent.response())?.status(), 200, describeJournal(journal));
      // Signed in, the dialog offers to log out instead.
      await oauth2
        .getByRole("button", { name: "Remove authorization" })
        .waitFor()
        .catch(fail("the dialog shows alice signed in"));
      await oauth2.locator("button.btn-done").click();
      await dialog.waitFor({ state: "detached" });

      const operation = page
        .locator(".opblock.opblock-get")
        .filter({ has: page.locator('.opblock-summary-path[data-path="/users/me"]') });
      await operation.locator(".opblock-summary-control").click().catch(fail("GET /users/me renders"));
      await operation.locator("button.try-out__btn").click();
      const [me] = await Promise.all([
        page.waitForRequest((request) => new URL(request.url()).pathname === "/users/me"),
        operation.locator("button.execute").click(),
      ]).catch(fail("Execute sends GET /users/me"));
      assert.match((await me.allHeaders()).authorization ?? "", /^Bearer [\w-]+\.[\w-]+$/);

      const status = operation.locator(".live-responses-table .response .response-col_status");
      await status
        .filter({ hasText: /^\s*200\s*$/ })
        .waitFor()
        .catch(async (error: Error) =>
          assert.fail(
            `the live response shows 200 (it shows ${JSON.stringify(await status.allTextContents())}): ` +
              `${error.message}${describeJournal(journal)}`,
          ),
        );
      const body =
        (await operation
          .locator(".live-responses-table .response-col_description pre")
          .first()
          .textContent()) ?? "";
      assert.match(body, /"username": "alice"/, describeJournal(journal));
      assert.deepEqual(JSON.parse(body), {
        username: "alice",
        full_name: "Alice Liddell",
        email: "alice@example.com",
      });
      assertAllOnOrigin(journal);
    } finally {
      await page.close();
    }
  });
});

if (missingReason !== undefined && process.env.CI) {
  describe("the auth example's docs, in chromium", () => {
    it("has chromium to run with (required when CI is set)", () => assert.fail(missingReason));
  });
}
