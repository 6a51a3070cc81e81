// examples/chat's page in a real browser: `brisk serve` runs the example, and Debian's chromium (driven by
// playwright-core; no browser is ever downloaded) opens GET /, joins the room, and sends a message over its
// WebSocket. The page lists messages only as they come back through the room's event stream, so a message it sent
// showing in the list, a message POSTed by the test showing in it, and the page's message reaching a `ws` client of
// the test prove both paths. Every request the page makes must stay on the server's origin. `brisk serve` runs
// dist/: run `npm run build` first (`npm test` does).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import WebSocket from "ws";
import { describeJournal, type Journal, launchChromium, record, skipReason } from "./helpers/chromium.ts";
import { killOnExit, type Spawned, STEP_MS, serveExample, stop, waitFor } from "./helpers/processes.ts";

const TEST_MS = 5 * STEP_MS;

interface StoredMessage {
  id: number;
  user: string;
  text: string;
}

const missingReason = skipReason();

describe("the chat example's page, in chromium", { skip: missingReason ?? false }, () => {
  let dir = "";
  let brisk: Spawned | undefined;
  let context: BrowserContext | undefined;
  /** The server's origin, e.g. http://127.0.0.1:41234. */
  let origin = "";
  const clients: WebSocket[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "brisk-browser-chat-test-"));
    // In memory, whatever DATABASE_URL says: the page's room is "lobby", which must start empty.
    const served = await serveExample("examples/chat/app.ts:app", { DATABASE_URL: "" });
    brisk = served.server;
    origin = served.origin;

    context = await launchChromium(join(dir, "chromium-profile"));
  });

  after(async () => {
    for (const client of clients) client.terminate();
    await context?.close().catch(() => {});
    await stop(brisk);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });
  // A last resort if the runner is interrupted: never leave the server behind.
  killOnExit(() => [brisk]);

  /** Every http(s) request went to the server's origin; data: and blob: URLs are local. */
  function assertAllOnOrigin(journal: Journal, sockets: readonly string[]): void {
    const strays = journal.requests
      .map((request) => request.url())
      .filter((url) => {
        const { protocol, origin: requestOrigin } = new URL(url);
        return protocol !== "data:" && protocol !== "blob:" && requestOrigin !== origin;
      });
    assert.deepEqual(strays, [], `requests outside ${origin}${describeJournal(journal)}`);
    const { host } = new URL(origin);
    const straySockets = sockets.filter((url) => {
      const parsed = new URL(url);
      return parsed.protocol !== "ws:" || parsed.host !== host;
    });
    assert.deepEqual(straySockets, [], `WebSockets outside ${origin}${describeJournal(journal)}`);
  }

  /** A `ws` client of the test in `room`, and the messages it receives. */
  async function joinRoom(room: string): Promise<{ ws: WebSocket; received: StoredMessage[] }> {
    const ws = new WebSocket(`${origin.replace(/^http/, "ws")}/ws/${room}`);
    clients.push(ws);
    const received: StoredMessage[] = [];
    ws.on("message", (data) => received.push(JSON.parse(String(data)) as StoredMessage));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_request, response) =>
        reject(new Error(`the handshake was refused with ${response.statusCode}`)),
      );
    });
    return { ws, received };
  }

  /** The messages the page lists: id (data-id), user (the bold part) and text. */
  function listed(page: Page): Promise<StoredMessage[]> {
    return page.locator("#messages li").evaluateAll((items) =>
      items.map((item) => {
        const user = item.querySelector("b")?.textContent ?? "";
        return {
          id: Number((item as HTMLElement).dataset.id),
          user,
          text: (item.textContent ?? "").slice(user.length),
        };
      }),
    );
  }

  it("sends over the WebSocket and shows what comes back through the event stream, all on the origin", {
    timeout: TEST_MS,
  }, async () => {
    assert.ok(context !== undefined);
    const page = await context.newPage();
    const journal = record(page);
    const sockets: string[] = [];
    page.on("websocket", (socket) => {
      sockets.push(socket.url());
      journal.lines.push(`ws ${socket.url()}`);
      socket.on("close", () => journal.lines.push(`ws closed ${socket.url()}`));
    });
    const fail = (step: string) => (error: Error) =>
      assert.fail(`${step}: ${error.message}${describeJournal(journal)}`);
    try {
      const loaded = await page.goto(`${origin}/`);
      assert.equal(loaded?.status(), 200, `GET /${describeJournal(journal)}`);
      assert.equal(await page.title(), "Chat");

      // The page joins "lobby" at once; it says so once both its WebSocket and its event stream are open.
      await page
        .locator("#status")
        .filter({ hasText: /^in lobby$/ })
        .waitFor()
        .catch(async (error: Error) =>
          fail(
            `the status says "in lobby" (it says ${JSON.stringify(await page.locator("#status").textContent())})`,
          )(error),
        );
      const send = page.locator("#send button");
      assert.equal(await send.isEnabled(), true, "the Send button is enabled once in the room");

      const listener = await joinRoom("lobby");

      // The page sends a message: it shows in the list, which only the event stream fills.
      await page.locator("#user").fill("ann");
      await page.locator("#text").fill("hello from the page");
      await send.click();
      await page
        .locator("#messages li")
        .filter({ hasText: "hello from the page" })
        .waitFor()
        .catch(fail("the page's own message shows in the list"));
      assert.equal(await page.locator("#text").inputValue(), "", "the text box is emptied after sending");

      // It went over the WebSocket: the test's client in the room received it.
      const [fromPage] = await waitFor(
        () => (listener.received.length >= 1 ? listener.received : undefined),
        () => `the test's WebSocket client receives the page's message${describeJournal(journal)}`,
      );
      assert.deepEqual(fromPage, { id: 1, user: "ann", text: "hello from the page" });

      // A message POSTed by the test reaches the page through the event stream too.
      const response = await fetch(`${origin}/rooms/lobby/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "tester", text: "posted by the test" }),
      });
      assert.equal(response.status, 201);
      const posted = (await response.json()) as StoredMessage;
      await page
        .locator("#messages li")
        .filter({ hasText: "posted by the test" })
        .waitFor()
        .catch(fail("the POSTed message shows in the list"));

      // And one the test's client sends.
      listener.ws.send(JSON.stringify({ user: "bob", text: "sent by the test's socket" }));
      await page
        .locator("#messages li")
        .filter({ hasText: "sent by the test's socket" })
        .waitFor()
        .catch(fail("the message of the test's socket shows in the list"));

      const expected = [
        fromPage,
        posted,
        { id: posted.id + 1, user: "bob", text: "sent by the test's socket" },
      ];
      assert.deepEqual(await listed(page), expected, describeJournal(journal));
      assert.deepEqual(listener.received, expected);

      // The page's own requests: the page, its event stream and its WebSocket, relative to the page.
      const paths = journal.requests.map(
        (request) => `${request.method()} ${new URL(request.url()).pathname}`,
      );
      assert.ok(paths.includes("GET /"), describeJournal(journal));
      assert.ok(paths.includes("GET /rooms/lobby/events"), describeJournal(journal));
      assert.deepEqual(sockets, [`${origin.replace(/^http/, "ws")}/ws/lobby`], describeJournal(journal));
      assertAllOnOrigin(journal, sockets);
      const errors = journal.lines.filter((line) => line.startsWith("page error:"));
      assert.deepEqual(errors, [], describeJournal(journal));
    } finally {
      await page.close();
    }
  });
});

if (missingReason !== undefined && process.env.CI) {
  describe("the chat example's page, in chromium", () => {
    it("has chromium to run with (required when CI is set)", () => assert.fail(missingReason));
  });
}
