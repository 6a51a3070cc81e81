// Plain node:http on the db workloads, hand-written: the ceiling the frameworks are measured against. The same pool
// and queries as the others, and JSON.stringify.
import { createServer, type ServerResponse } from "node:http";
import { HOST, port, ready, sendJson as send } from "../common.ts";
import { createPool, queryCount, randomWorld, randomWorlds } from "./world.ts";

const db = createPool();

async function answer(res: ServerResponse, rows: Promise<unknown>): Promise<void> {
  try {
    send(res, 200, await rows);
  } catch {
    send(res, 500, { detail: "Internal Server Error" });
  }
}

const server = createServer((req, res) => {
  const url = req.url ?? "/";
  const question = url.indexOf("?");
  const path = question === -1 ? url : url.slice(0, question);
  if (path !== "/db" && path !== "/queries") return send(res, 404, { detail: "Not Found" });
  if (req.method !== "GET") return send(res, 405, { detail: "Method Not Allowed" });
  if (path === "/db") return void answer(res, randomWorld(db));
  const count = queryCount(
    new URLSearchParams(question === -1 ? "" : url.slice(question + 1)).get("queries"),
  );
  return void answer(res, randomWorlds(db, count));
});

server.listen(port(), HOST, () => ready());
