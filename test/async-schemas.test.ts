import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App } from "briskjs";
import { z } from "zod";

// Schemas with async refinements or transforms cannot be validated synchronously; brisk runs them asynchronously
// and reports their failures like any other.
const taken = new Set(["admin"]);
const Signup = z.object({
  name: z.string().refine(async (name) => !taken.has(name), { message: "name is taken" }),
  age: z.int().gte(0),
});

function post(app: App, body: unknown) {
  return app.fetch(
    new Request("http://test/signup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

describe("async schemas", () => {
  const app = new App();
  app.post("/signup", { body: Signup, status: 201 }, ({ body }) => body);
  app.get(
    "/slow",
    {
      query: { n: z.string().transform(async (text) => text.length) },
      response: z.object({ n: z.number() }),
    },
    ({ query }) => ({ n: query.n }),
  );

  test("a valid body passes an async refinement", async () => {
    const response = await post(app, { name: "ada", age: 36 });
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { name: "ada", age: 36 });
  });

  test("a failed async refinement is a 422 value_error, with the other errors of the request", async () => {
    const response = await post(app, { name: "admin", age: -1 });
    assert.equal(response.status, 422);
    // Zod settles async checks after the synchronous ones, so the refinement's error comes last.
    assert.deepEqual(await response.json(), {
      detail: [
        {
          type: "greater_than_equal",
          loc: ["body", "age"],
          msg: "Input should be greater than or equal to 0",
          input: -1,
          ctx: { ge: 0 },
        },
        {
          type: "value_error",
          loc: ["body", "name"],
          msg: "Value error, name is taken",
          input: "admin",
          ctx: { error: "name is taken" },
        },
      ],
    });
  });

  test("an async transform in a query schema reaches the handler", async () => {
    const response = await app.fetch(new Request("http://test/slow?n=hello"));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { n: 5 });
  });
});
