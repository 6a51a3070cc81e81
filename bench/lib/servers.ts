// The servers under test, each an app in bench/apps/ started the same way.
import { fileURLToPath } from "node:url";

export const SERVERS = ["brisk", "fastify", "hono", "h3", "express", "node"] as const;
export type Server = (typeof SERVERS)[number];

/**
 * Which API an app serves: `api`, the greetings and items of apps/<server>.ts (no database); `db`, TechEmpower's
 * database tests of apps/db/<server>.ts, which need PostgreSQL and exist for brisk, Fastify and plain node only.
 */
export type Suite = "api" | "db";

export const DB_SERVERS: readonly Server[] = ["brisk", "fastify", "node"];

/** The servers that implement a suite. */
export function serversOf(suite: Suite): readonly Server[] {
  return suite === "api" ? SERVERS : DB_SERVERS;
}

/** The GET polled until a fresh server first answers 200: its startup time. */
export function probePath(suite: Suite): string {
  return suite === "api" ? "/greetings" : "/db";
}

/** The repository root: apps are started from it so that `--import tsx` finds the root's tsx. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

export function appFile(server: Server, suite: Suite = "api"): string {
  const file = suite === "api" ? `../apps/${server}.ts` : `../apps/db/${server}.ts`;
  return fileURLToPath(new URL(file, import.meta.url));
}

/** The packages whose versions the report names, read from bench/node_modules. */
export const PACKAGES: Record<Suite, readonly string[]> = {
  api: ["fastify", "hono", "@hono/node-server", "@hono/zod-openapi", "h3", "express", "zod"],
  db: ["fastify", "pg", "zod"],
};

export function isServer(name: string): name is Server {
  return (SERVERS as readonly string[]).includes(name);
}
