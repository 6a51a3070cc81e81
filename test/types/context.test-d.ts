// Compile-only tests of the handler context's types, checked by `tsc --noEmit -p .`; never run.
// Each `@ts-expect-error` marks a line that must not compile, for the reason given above it.

import type { App, Context, PathParams } from "briskjs";
import { z } from "zod";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// biome-ignore lint/correctness/noUnusedVariables: the type argument is the assertion.
function expectType<T extends true>(): void {}
// biome-ignore lint/complexity/noBannedTypes: the type of a path without parameters, and of an empty spec.
type Empty = {};

const Greeting = z.object({ lang: z.string(), text: z.string() });
const Item = z.object({
  name: z.string().min(1),
  price: z.number().gt(0),
  tags: z.array(z.string()).default([]),
  description: z.string().optional(),
});

// Registrations are wrapped in a function that is never called, so that importing this file does nothing.
export function registrations(app: App): void {
  // Path parameters come from the template: `{name}` is a string.
  app.get("/greetings/{lang}", {}, ({ params, query, body }) => {
    expectType<Equal<typeof params, { lang: string }>>();
    expectType<Equal<typeof query, Empty>>();
    expectType<Equal<typeof body, undefined>>();
    // @ts-expect-error -- a route without a query spec has no query parameters to read
    query.limit;
    // @ts-expect-error -- a typo of a path parameter's name is an error
    params.lnag;
    // @ts-expect-error -- `lang` is a string, not a number
    const n: number = params.lang;
    return { lang: params.lang, n };
  });

  // `{id:int}` and `{x:float}` are numbers.
  app.get("/items/{id:int}/prices/{x:float}", {}, ({ params }) => {
    expectType<Equal<typeof params, { id: number; x: number }>>();
    return params.id + params.x;
  });

  // `:name` parameters are strings.
  app.get("/users/:user_id/posts/:post_id", {}, ({ params }) => {
    expectType<Equal<typeof params, { user_id: string; post_id: string }>>();
  });

  // `{a}` and `{b:path}` are both strings.
  app.get("/files/{a}/{b:path}", {}, ({ params }) => {
    expectType<Equal<typeof params, { a: string; b: string }>>();
  });

  // A path without parameters has none.
  app.get("/health", {}, ({ params }) => {
    expectType<Equal<typeof params, Empty>>();
    // @ts-expect-error -- there are no path parameters to read
    params.id;
  });

  // A query shape: each field typed by its schema's output, defaults included.
  app.get(
    "/items",
    { query: { limit: z.int().default(10), offset: z.int().min(0).default(0), q: z.string().optional() } },
    ({ query }) => {
      expectType<Equal<typeof query.limit, number>>();
      expectType<Equal<typeof query.offset, number>>();
      expectType<Equal<typeof query.q, string | undefined>>();
      // @ts-expect-error -- a typo of a query parameter's name is an error
      query.limt;
      return query.limit + query.offset;
    },
  );

  // A whole object schema for the query.
  app.get(
    "/search",
    { query: z.object({ q: z.string().optional(), page: z.coerce.number() }) },
    ({ query }) => {
      expectType<Equal<typeof query, { q?: string | undefined; page: number }>>();
      expectType<Equal<typeof query.q, string | undefined>>();
    },
  );

  // The body is the output of its schema.
  app.post("/items", { body: Item, status: 201 }, ({ body, params }) => {
    expectType<Equal<typeof body, z.output<typeof Item>>>();
    expectType<Equal<typeof body.tags, string[]>>();
    expectType<Equal<typeof body.description, string | undefined>>();
    expectType<Equal<typeof params, Empty>>();
    // @ts-expect-error -- a typo of a body field's name is an error
    body.nmae;
    return body;
  });

  // A `params` spec overrides the template's strings.
  app.get("/items/{item_id}", { params: { item_id: z.int() } }, ({ params }) => {
    expectType<Equal<typeof params, { item_id: number }>>();
    expectType<Equal<typeof params.item_id, number>>();
  });

  // Headers and cookies, as shapes and as object schemas.
  app.get(
    "/me",
    {
      headers: { user_agent: z.string(), x_count: z.coerce.number().optional() },
      cookies: z.object({ session: z.string(), theme: z.enum(["light", "dark"]).default("light") }),
    },
    ({ headers, cookies }) => {
      expectType<Equal<typeof headers, { user_agent: string; x_count?: number | undefined }>>();
      expectType<Equal<typeof cookies, { session: string; theme: "light" | "dark" }>>();
      // @ts-expect-error -- a header that is not declared
      headers.authorization;
      // @ts-expect-error -- a cookie that is not declared
      cookies.sesion;
    },
  );

  // The handler's return value is checked against the response schema's input.
  app.get("/greetings/{lang}/checked", { response: Greeting }, ({ params }) => ({
    lang: params.lang,
    text: "Hello",
  }));
  app.get("/greetings/{lang}/async", { response: Greeting }, async ({ params }) => ({
    lang: params.lang,
    text: "Hello",
  }));
  app.get("/greetings/{lang}/wrong", { response: Greeting }, () => ({
    // @ts-expect-error -- `lang` must be a string by the response schema
    lang: 1,
    text: "Hello",
  }));
  // @ts-expect-error -- the response schema requires `text`
  app.get("/greetings/{lang}/missing", { response: Greeting }, ({ params }) => ({ lang: params.lang }));
  // A `Response` is always a valid result.
  app.get("/greetings/{lang}/raw", { response: Greeting }, () => new Response("raw"));
  // Without a response schema anything goes.
  app.get("/anything", {}, () => ({ lang: 1 }));

  // The body must be a schema.
  app.post(
    "/not-a-schema",
    {
      // @ts-expect-error -- a shape of schemas is not a body schema
      body: { name: z.string() },
    },
    () => null,
  );
  app.post(
    "/not-a-schema-either",
    {
      // @ts-expect-error -- a string is not a schema
      body: "Item",
    },
    () => null,
  );
}

// The exported helper types agree with what handlers receive.
expectType<Equal<PathParams<"/a/{b}/{c:int}">, { b: string; c: number }>>();
expectType<Equal<PathParams<"/a/:b">, { b: string }>>();
expectType<Equal<Context<"/x/{id:int}", Empty>["params"], { id: number }>>();
expectType<Equal<Context<"/x", { body: typeof Item }>["body"], z.output<typeof Item>>>();
