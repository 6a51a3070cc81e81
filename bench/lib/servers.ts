// The servers under test, each an app in bench/apps/ started the same way.
import { fileURLToPath } from "node:url";

export const SERVERS = ["brisk", "fastify", "hono", "h3", "express", "node"] as const;
export type Server = (typeof SERVERS)[number];

/** The repository root: apps are started from it so that `--import tsx` finds the root's tsx. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

export function appFile(server: Server): string {
  return fileURLToPath(new URL(`../apps/${server}.ts`, import.meta.url));
}

/** The packages whose versions the report names, read from bench/node_modules. */
export const PACKAGES = [
  "fastify",
  "hono",
  "@hono/node-server",
  "@hono/zod-openapi",
  "h3",
  "express",
  "zod",
] as const;

export function isServer(name: string): name is Server {
  return (SERVERS as readonly string[]).includes(name);
}
