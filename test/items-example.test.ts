// examples/items through app.fetch: an item created can be deleted, after which it is gone (the soak deletes every
// item it creates, so that the store stays the same size through a long run). test/hostile/ covers its validation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "../examples/items/app.ts";

const call = (method: string, path: string, body?: unknown) =>
  app.fetch(
    new Request(`http://localhost${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    }),
  );

const total = async () => ((await (await call("GET", "/items")).json()) as { total: number }).total;

test("DELETE /items/{item_id} removes the item: 204 with no body, then 404 for it", async () => {
  const created = await call("POST", "/items", { name: "gone soon", price: 3 });
  assert.equal(created.status, 201);
  const { id } = (await created.json()) as { id: number };
  const before = await total();

  const deleted = await call("DELETE", `/items/${id}`);
  assert.equal(deleted.status, 204);
  assert.equal(await deleted.text(), "");
  assert.equal(await total(), before - 1);
  assert.equal((await call("GET", `/items/${id}`)).status, 404);

  const again = await call("DELETE", `/items/${id}`);
  assert.equal(again.status, 404);
  assert.deepEqual(await again.json(), { detail: `Item ${id} not found` });
  assert.equal((await call("DELETE", "/items/abc")).status, 422);
});
