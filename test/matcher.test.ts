import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App } from "briskjs";

// The matcher groups parameterized routes by their first segment for speed; registration order must still decide
// between a route with a literal first segment and one whose first segment is a parameter.
async function which(app: App, path: string): Promise<unknown> {
  const response = await app.fetch(new Request(`http://test${path}`));
  return response.status === 200 ? response.json() : response.status;
}

describe("registration order across route groups", () => {
  test("a parameter-first route registered earlier wins over a literal-first one", async () => {
    const app = new App();
    app.get("/{kind}/{id}", {}, () => "generic");
    app.get("/items/{id}", {}, () => "items");
    assert.equal(await which(app, "/items/5"), "generic");
  });

  test("a literal-first route registered earlier wins over a parameter-first one", async () => {
    const app = new App();
    app.get("/items/{id}", {}, () => "items");
    app.get("/{kind}/{id}", {}, () => "generic");
    assert.equal(await which(app, "/items/5"), "items");
    assert.equal(await which(app, "/users/5"), "generic");
  });

  test("routes interleaved in both groups keep their order", async () => {
    const app = new App();
    app.get("/a/{x}/one", {}, () => 1);
    app.get("/{y}/b/two", {}, () => 2);
    app.get("/a/b/{z}", {}, () => 3);
    app.get("/{p:path}", {}, () => 4);
    assert.equal(await which(app, "/a/b/one"), 1);
    assert.equal(await which(app, "/a/b/two"), 2);
    assert.equal(await which(app, "/a/b/three"), 3);
    assert.equal(await which(app, "/c/d"), 4);
  });

  test("many routes: each request finds its own", async () => {
    const app = new App();
    for (let i = 0; i < 100; i++) {
      app.get(`/r${i}`, {}, () => `list ${i}`);
      app.get(`/r${i}/{id}`, {}, ({ params }) => `one ${i} ${params.id}`);
    }
    assert.equal(await which(app, "/r42"), "list 42");
    assert.equal(await which(app, "/r99/x"), "one 99 x");
    assert.equal(await which(app, "/r100/x"), 404);
  });

  test("405 lists methods of static and parameterized routes in registration order", async () => {
    const app = new App();
    app.post("/{thing}", {}, () => null);
    app.delete("/items", {}, () => null);
    app.put("/items", {}, () => null);
    const response = await app.fetch(new Request("http://test/items", { method: "PATCH" }));
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST, DELETE, PUT");
  });
});
