// A validated in-memory API: create items, page through them, fetch one by id, delete one.
import { App, HTTPException } from "briskjs";
import { z } from "zod";

const Item = z
  .object({
    name: z.string().min(1).max(100),
    price: z.number().gt(0),
    tags: z.array(z.string()).max(10).default([]),
    description: z.string().optional(),
  })
  .meta({ id: "Item" });

const StoredItem = Item.extend({ id: z.int() }).meta({ id: "StoredItem" });
type StoredItem = z.infer<typeof StoredItem>;

const items = new Map<number, StoredItem>();
let nextId = 1;

export const app: App = new App({ title: "Items" });

app.post("/items", { body: Item, response: StoredItem, status: 201 }, ({ body }) => {
  const item = { id: nextId++, ...body };
  items.set(item.id, item);
  return item;
});

app.get(
  "/items",
  {
    query: { limit: z.int().min(1).max(100).default(10), offset: z.int().min(0).default(0) },
    response: z.object({ limit: z.int(), offset: z.int(), total: z.int(), items: z.array(StoredItem) }),
  },
  ({ query }) => ({
    limit: query.limit,
    offset: query.offset,
    total: items.size,
    items: [...items.values()].slice(query.offset, query.offset + query.limit),
  }),
);

app.get("/items/{item_id}", { params: { item_id: z.int() }, response: StoredItem }, ({ params }) => {
  const item = items.get(params.item_id);
  if (item === undefined) throw new HTTPException(404, `Item ${params.item_id} not found`);
  return item;
});

app.delete("/items/{item_id}", { params: { item_id: z.int() }, status: 204 }, ({ params }) => {
  if (!items.delete(params.item_id)) throw new HTTPException(404, `Item ${params.item_id} not found`);
});
