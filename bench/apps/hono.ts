// Hono with @hono/zod-openapi routes (request and response schemas), served by @hono/node-server.
import { serve } from "@hono/node-server";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { greetingList, greetings, HOST, ItemStore, port, ready } from "./common.ts";

const Greeting = z.object({ lang: z.string(), text: z.string() }).openapi("Greeting");
const Detail = z.object({ detail: z.string() }).openapi("Detail");

const Item = z
  .object({
    name: z.string().min(1).max(100),
    price: z.number().gt(0),
    tags: z.array(z.string()).max(10).default([]),
    description: z.string().optional(),
  })
  .openapi("Item");

const StoredItem = Item.extend({ id: z.int() }).openapi("StoredItem");

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

const store = new ItemStore();
const app = new OpenAPIHono();

app.openapi(
  createRoute({ method: "get", path: "/greetings", responses: { 200: json(z.array(Greeting), "All") } }),
  (c) => c.json(greetingList, 200),
);

app.openapi(
  createRoute({
    method: "get",
    path: "/greetings/{lang}",
    request: { params: z.object({ lang: z.string() }) },
    responses: { 200: json(Greeting, "One"), 404: json(Detail, "Unknown language") },
  }),
  (c) => {
    const { lang } = c.req.valid("param");
    const text = greetings.get(lang);
    if (text === undefined) return c.json({ detail: `No greeting for '${lang}'` }, 404);
    return c.json({ lang, text }, 200);
  },
);

app.openapi(
  createRoute({
    method: "post",
    path: "/items",
    request: { body: { content: { "application/json": { schema: Item } }, required: true } },
    responses: { 201: json(StoredItem, "Created") },
  }),
  (c) => c.json(store.add(c.req.valid("json")), 201),
);

app.openapi(
  createRoute({
    method: "get",
    path: "/items",
    request: {
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(10),
        offset: z.coerce.number().int().min(0).default(0),
      }),
    },
    responses: {
      200: json(
        z.object({ limit: z.int(), offset: z.int(), total: z.int(), items: z.array(StoredItem) }),
        "A page",
      ),
    },
  }),
  (c) => {
    const { limit, offset } = c.req.valid("query");
    return c.json(store.page(limit, offset), 200);
  },
);

serve({ fetch: app.fetch, hostname: HOST, port: port() }, () => ready());
