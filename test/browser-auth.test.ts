// examples/auth's docs in a real browser: `brisk serve` runs the example, and Debian's chromium (driven by
// playwright-core; no browser is ever downloaded) signs in through Swagger UI's OAuth2 password dialog, then runs
// "Try it out" on GET /users/me with the token it got. Every request the page makes must stay on the server's
// origin. `brisk serve` runs dist/: run `npm run build` first (`npm test` does).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BrowserContext } from "playwright-core";
import { describeJournal, type Journal, launchChromium, record, skipReason } from "./helpers/chromium.ts";
import { killOnExit, type Spawned, STEP_MS, serveExample, stop } from "./helpers/processes.ts";

const TEST_MS = 5 * STEP_MS;

const missingReason = skipReason();

describe("the auth example's docs, in chromium", { skip: missingReason ?? false }, () => {
  let dir = "";
  let brisk: Spawned | undefined;
  let context: BrowserContext | undefined;
  /** The server's origin, e.g. http://127.0.0.1:41234. */
  let origin = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "brisk-browser-auth-test-"));
    const served = await serveExample("examples/auth/app.ts:app");
    brisk = served.server;
    origin = served.origin;

    context = await launchChromium(join(dir, "chromium-profile"));
  });

  after(async () => {
    await context?.close().catch(() => {});
    await stop(brisk);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });
  // A last resort if the runner is interrupted: never leave the server behind.
  killOnExit(() => [brisk]);

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
