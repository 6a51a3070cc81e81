// The docs pages in a real browser behind a real proxy: nginx runs the README's ```nginx block in front of
// `brisk serve`, and Debian's chromium (driven by playwright-core; no browser is ever downloaded) opens Swagger UI
// and ReDoc under /content/abc/, runs "Try it out", and checks that every request the pages make stays on nginx's
// origin, under the prefix: no CDN, no other host, nothing that escapes the proxy.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { describeJournal, type Journal, launchChromium, record, skipReason } from "./helpers/chromium.ts";
import { freePort } from "./helpers/cli.ts";
import { isRunning, killOnExit, type Spawned, STEP_MS, start, stop, waitFor } from "./helpers/processes.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(REPO, "bin", "brisk.mjs");
const NGINX = "/usr/sbin/nginx";
/** The prefix of the README's `location`. */
const PREFIX = "/content/abc";
/** The upstream the README's block proxies to; the test puts the real one in its place. */
const README_UPSTREAM = "127.0.0.1:8000";
const TEST_MS = 5 * STEP_MS;

const missingReason = skipReason({ [NGINX]: "nginx-light" });

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** README.md's only ```nginx block, proxying to `upstream` (host:port) instead of the README's 127.0.0.1:8000. */
function readmeNginxBlock(upstream: string): string {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```nginx\r?\n([\s\S]*?)^```\s*$/gm)].map((match) => match[1]!);
  assert.equal(blocks.length, 1, "README.md has exactly one ```nginx block");
  const block = blocks[0]!;
  assert.ok(
    block.includes(README_UPSTREAM),
    `the README's nginx block proxies to ${README_UPSTREAM}:\n${block}`,
  );
  return block.replaceAll(README_UPSTREAM, upstream);
}

/** A self-contained nginx configuration: everything it writes goes to `dir`, and it serves `body` on `port`. */
function nginxConfig(dir: string, port: number, body: string): string {
  const temp = (name: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    return join(dir, name);
  };
  return `daemon off;
master_process off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} info;
events {
  worker_connections 256;
}
http {
  access_log ${join(dir, "access.log")};
  client_body_temp_path ${temp("client_body")};
  proxy_temp_path ${temp("proxy")};
  fastcgi_temp_path ${temp("fastcgi")};
  uwsgi_temp_path ${temp("uwsgi")};
  scgi_temp_path ${temp("scgi")};
  server {
    listen 127.0.0.1:${port};
${body.replace(/^(?=.)/gm, "    ")}
  }
}
`;
}

describe("the docs behind nginx, in chromium", { skip: missingReason ?? false }, () => {
  let dir = "";
  let brisk: Spawned | undefined;
  let nginx: Spawned | undefined;
  let context: BrowserContext | undefined;
  /** nginx's origin, e.g. http://127.0.0.1:41234. */
  let origin = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "brisk-browser-test-"));

    const server = start(process.execPath, [CLI, "serve", "examples/items/app.ts:app", "--port", "0"]);
    brisk = server;
    const upstream = await waitFor(
      () => /^brisk: serving \S+ at http:\/\/(\S+?)\r?$/m.exec(server.output())?.[1],
      () => `brisk prints the address it serves\n${server.output()}`,
      () => isRunning(server),
    );

    const port = await freePort();
    const config = join(dir, "nginx.conf");
    writeFileSync(config, nginxConfig(dir, port, readmeNginxBlock(upstream)));
    // -e: errors before the configuration is read go to the temp dir too, not to /var/log/nginx.
    const proxy = start(NGINX, ["-p", dir, "-c", config, "-e", join(dir, "error.log")]);
    nginx = proxy;
    const errorLog = () => {
      const file = join(dir, "error.log");
      return existsSync(file) ? readFileSync(file, "utf8") : "";
    };
    await waitFor(
      async () => ((await accepts(port)) ? true : undefined),
      () => `nginx listens on ${port}\n${proxy.output()}\n--- error.log:\n${errorLog()}`,
      () => isRunning(proxy),
    );
    origin = `http://127.0.0.1:${port}`;

    context = await launchChromium(join(dir, "chromium-profile"));
  });

  after(async () => {
    await context?.close().catch(() => {});
    await stop(nginx);
    await stop(brisk);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });
  // A last resort if the runner is interrupted: never leave nginx or a server behind.
  killOnExit(() => [nginx, brisk]);

  /** Opens `path` (under nginx's origin) in a new page that records what it does. */
  async function open(path: string): Promise<{ page: Page; journal: Journal }> {
    assert.ok(context !== undefined);
    const page = await context.newPage();
    const journal = record(page);
    const response = await page.goto(`${origin}${path}`);
    assert.equal(response?.status(), 200, `GET ${path} through nginx${describeJournal(journal)}`);
    // The page's scripts and stylesheet have loaded: a wrong URL among them fails here, not as a render timeout.
    assertAllUnderPrefix(journal);
    return { page, journal };
  }

  /** Every http(s) request went to nginx's origin, under the prefix; data: and blob: URLs are local. */
  function assertAllUnderPrefix(journal: Journal): void {
    const strays = journal.requests
      .map((request) => request.url())
      .filter((url) => {
        const { protocol, origin: requestOrigin, pathname } = new URL(url);
        if (protocol === "data:" || protocol === "blob:") return false;
        return requestOrigin !== origin || !pathname.startsWith(`${PREFIX}/`);
      });
    assert.deepEqual(strays, [], `requests outside ${origin}${PREFIX}/${describeJournal(journal)}`);
    // The pages are served with a Content-Security-Policy; nothing they do may run into it.
    const refused = journal.lines.filter((line) => /Content Security Policy|Refused to/i.test(line));
    assert.deepEqual(refused, [], `the page ran into its Content-Security-Policy${describeJournal(journal)}`);
  }

  it("nginx runs the README's location and proxies it to brisk", { timeout: TEST_MS }, async () => {
    const response = await fetch(`${origin}${PREFIX}/items?limit=1`, {
      signal: AbortSignal.timeout(STEP_MS),
    });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    assert.deepEqual(JSON.parse(text), { limit: 1, offset: 0, total: 0, items: [] });
  });

  it("/openapi.json through nginx names the prefix as its first server", { timeout: TEST_MS }, async () => {
    const response = await fetch(`${origin}${PREFIX}/openapi.json`, { signal: AbortSignal.timeout(STEP_MS) });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    const document = JSON.parse(text) as { servers?: unknown[] };
    assert.deepEqual(document.servers?.[0], { url: PREFIX }, text);
  });

  it("Swagger UI lists the operations, loading everything through the prefix", {
    timeout: TEST_MS,
  }, async () => {
    const { page, journal } = await open(`${PREFIX}/docs`);
    try {
      await page
        .locator(".opblock")
        .nth(3)
        .waitFor()
        .catch((error: Error) =>
          assert.fail(`four operations render: ${error.message}${describeJournal(journal)}`),
        );
      const operations = await page
        .locator(".opblock .opblock-summary")
        .evaluateAll((summaries) =>
          summaries.map(
            (summary) =>
              `${summary.querySelector(".opblock-summary-method")?.textContent} ${summary.querySelector(".opblock-summary-path")?.getAttribute("data-path")}`,
          ),
        );
      assert.deepEqual(
        operations.sort(),
        ["DELETE /items/{item_id}", "GET /items", "GET /items/{item_id}", "POST /items"],
        describeJournal(journal),
      );
      assertAllUnderPrefix(journal);
    } finally {
      await page.close();
    }
  });

  it('Swagger UI\'s "Try it out" on POST /items goes through the prefix and answers 201', {
    timeout: TEST_MS,
  }, async () => {
    const { page, journal } = await open(`${PREFIX}/docs`);
    try {
      const operation = page
        .locator(".opblock.opblock-post")
        .filter({ has: page.locator('.opblock-summary-path[data-path="/items"]') });
      await operation
        .locator(".opblock-summary-control")
        .click()
        .catch((error: Error) =>
          assert.fail(`POST /items renders: ${error.message}${describeJournal(journal)}`),
        );
      await operation.locator("button.try-out__btn").click();
      const item = { name: "apple", price: 1.5, tags: ["fruit"] };
      await operation.locator("textarea.body-param__text").fill(JSON.stringify(item));

      const sent = page.waitForRequest((request) => request.method() === "POST");
      await operation.locator("button.execute").click();
      const request = await sent;
      assert.equal(request.url(), `${origin}${PREFIX}/items`, describeJournal(journal));
      assert.deepEqual(request.postDataJSON(), item);

      const status = operation.locator(".live-responses-table .response .response-col_status");
      await status
        .filter({ hasText: /^\s*201\s*$/ })
        .waitFor()
        .catch(async (error: Error) =>
          assert.fail(
            `the live response shows 201 (it shows ${JSON.stringify(await status.allTextContents())}): ` +
              `${error.message}${describeJournal(journal)}`,
          ),
        );
      const body = await operation
        .locator(".live-responses-table .response-col_description pre")
        .first()
        .textContent();
      const { id, ...stored } = JSON.parse(body ?? "") as { id: unknown };
      assert.equal(typeof id, "number", body ?? "");
      assert.deepEqual(stored, item, describeJournal(journal));
      assertAllUnderPrefix(journal);
    } finally {
      await page.close();
    }
  });

  it("ReDoc renders the operations, loading everything through the prefix", {
    timeout: TEST_MS,
  }, async () => {
    const { page, journal } = await open(`${PREFIX}/redoc`);
    try {
      const sections = page.locator('[data-section-id*="operation/"]');
      await sections
        .nth(3)
        .waitFor()
        .catch((error: Error) =>
          assert.fail(`four operations render: ${error.message}${describeJournal(journal)}`),
        );
      assert.equal(await sections.count(), 4, describeJournal(journal));
      const text = (await page.locator("#redoc").textContent()) ?? "";
      for (const path of ["/items", "/items/{item_id}"]) {
        assert.ok(text.includes(path), `ReDoc shows ${path}${describeJournal(journal)}`);
      }
      assertAllUnderPrefix(journal);
    } finally {
      await page.close();
    }
  });
});

if (missingReason !== undefined && process.env.CI) {
  describe("the docs behind nginx, in chromium", () => {
    it("has chromium and nginx to run with (required when CI is set)", () => assert.fail(missingReason));
  });
}
