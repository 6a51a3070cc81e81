// The brisk bench app, declared exactly like examples/: Zod schemas for input and `response` schemas for output.
// Served by brisk.ts; bench/inprocess.ts drives it without sockets.
import { App, HTTPException } from "briskjs";
import { z } from "zod";
import { greetingList, greetings, ItemStore } from "./common.ts";

const Greeting = z.object({ lang: z.string(), text: z.string() }).meta({ id: "Greeting" });

const Item = z
  .object({
    name: z.string().min(1).max(100),
    price: z.number().gt(0),
    tags: z.array(z.string()).max(10).default([]),
    description: z.string().optional(),
  })
  .meta({ id: "Item" });

const StoredItem = Item.extend({ id: z.int() }).meta({ id: "StoredItem" });

const store = new ItemStore();
export const app: App = new App({ title: "bench" });

app.get("/greetings", { response: z.array(Greeting) }, () => greetingList);

app.get("/greetings/{lang}", { response: Greeting }, ({ params }) => {
  const text = greetings.get(params.lang);
  if (text === undefined) throw new HTTPException(404, `No greeting for '${params.lang}'`);
  return { lang: params.lang, text };
});

app.post("/items", { body: Item, response: StoredItem, status: 201 }, ({ body }) => store.add(body));

app.get(
  "/items",
  {
    query: { limit: z.int().min(1).max(100).default(10), offset: z.int().min(0).default(0) },
    response: z.object({ limit: z.int(), offset: z.int(), total: z.int(), items: z.array(StoredItem) }),
  },
  ({ query }) => store.page(query.limit, query.offset),
);
