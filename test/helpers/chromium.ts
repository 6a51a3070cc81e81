import { existsSync } from "node:fs";
import { type BrowserContext, chromium, type Page, type Request } from "playwright-core";
import { STEP_MS } from "./processes.ts";

/** Debian's chromium, driven by playwright-core: no browser is ever downloaded. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Why a browser test must skip, or undefined if it can run: chromium and the `others` it needs (file → the apt
 * package that installs it) that are not installed, and the command that installs them all.
 */
export function skipReason(others: Readonly<Record<string, string>> = {}): string | undefined {
  const needs: Record<string, string> = { [CHROMIUM]: "chromium", ...others };
  const missing = Object.keys(needs).filter((file) => !existsSync(file));
  return missing.length === 0
    ? undefined
    : `${missing.join(" and ")} not installed (apt-get install ${Object.values(needs).join(" ")})`;
}

/**
 * Launches headless chromium with a fresh profile in `profileDir` (a temp dir the test removes), with nothing
 * that reaches out on its own (no sync, updates or background networking) and STEP_MS for every step.
 */
export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(profileDir, {
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
  return context;
}

/** What a page did, for assertions and failure messages. */
export interface Journal {
  readonly requests: Request[];
  readonly lines: string[];
}

/** Records every request a page makes, and its answer or failure, its console errors and uncaught exceptions. */
export function record(page: Page): Journal {
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

/** The journal as a failure message's tail, so a failed step shows what the page did up to then. */
export function describeJournal(journal: Journal): string {
  return `\n--- what the page did:\n${journal.lines.join("\n")}`;
}
