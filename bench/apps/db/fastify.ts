// Fastify on the db workloads: logger off, the pool closed by an onClose hook, and response schemas compiled to
// fast-json-stringify serializers. `?queries=` has no schema: JSON Schema cannot say TechEmpower's clamping, so the
// handler applies it, as Fastify's TechEmpower entry does.
import Fastify from "fastify";
import { HOST, port, ready } from "../common.ts";
import { createPool, queryCount, randomWorld, randomWorlds } from "./world.ts";

const WorldSchema = {
  type: "object",
  properties: { id: { type: "integer" }, randomNumber: { type: "integer" } },
  required: ["id", "randomNumber"],
} as const;

const db = createPool();
const app = Fastify({ logger: false });
app.addHook("onClose", () => db.end());

app.get("/db", { schema: { response: { 200: WorldSchema } } }, () => randomWorld(db));

app.get<{ Querystring: { queries?: string } }>(
  "/queries",
  { schema: { response: { 200: { type: "array", items: WorldSchema } } } },
  (request) => randomWorlds(db, queryCount(request.query.queries)),
);

await app.listen({ host: HOST, port: port() });
ready();
