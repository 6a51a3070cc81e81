// Compile-only tests of the types dependencies give, checked by `tsc --noEmit -p .`; never run.
// Each `@ts-expect-error` marks a line that must not compile, for the reason given above it.

import { type App, type Dependency, type DependencyValue, dependency } from "briskjs";
import { z } from "zod";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// biome-ignore lint/correctness/noUnusedVariables: the type argument is the assertion.
function expectType<T extends true>(): void {}
// biome-ignore lint/complexity/noBannedTypes: the type of a source a spec does not declare.
type Empty = {};

interface User {
  readonly id: number;
  readonly name: string;
}

// Definitions and registrations are wrapped in a function that is never called, so importing this file does nothing.
export function registrations(app: App): void {
  // What each kind of function provides: its value, what its promise resolves to, what its generator yields.
  const plain = dependency(() => 42);
  const promised = dependency(async () => "token");
  const session = dependency(function* () {
    yield { open: true };
  });
  const user = dependency(async function* (): AsyncGenerator<User, void> {
    yield { id: 1, name: "ada" };
  });
  expectType<Equal<typeof plain, Dependency<number>>>();
  expectType<Equal<DependencyValue<typeof promised>, string>>();
  expectType<Equal<DependencyValue<typeof session>, { open: boolean }>>();
  expectType<Equal<DependencyValue<typeof user>, User>>();

  // The handler's context has each `deps` value, by name, with the type its dependency provides.
  app.get(
    "/all",
    { deps: { plain, promised, session, user } },
    ({ plain, promised, session, user, query }) => {
      expectType<Equal<typeof plain, number>>();
      expectType<Equal<typeof promised, string>>();
      expectType<Equal<typeof session, { open: boolean }>>();
      expectType<Equal<typeof user, User>>();
      expectType<Equal<typeof query, Empty>>();
      // @ts-expect-error -- the value is the resolved string, not a promise
      promised.then;
      // @ts-expect-error -- the value is what the generator yields, not the generator
      user.next;
      // @ts-expect-error -- a number is not a string
      const text: string = plain;
      return text;
    },
  );

  // Deps and the route's own inputs are typed side by side.
  app.get(
    "/items/{item_id}",
    { query: { q: z.string().optional() }, deps: { current: user } },
    ({ params, query, current }) => {
      expectType<Equal<typeof params, { item_id: string }>>();
      expectType<Equal<typeof query.q, string | undefined>>();
      expectType<Equal<typeof current, User>>();
    },
  );

  // @ts-expect-error -- `missing` is not among the route's deps
  app.get("/missing", { deps: { plain } }, ({ missing }) => missing);

  // A dependency's context is typed from its own spec: its inputs, and its sub-dependencies by name.
  const pagination = dependency(
    {
      query: { limit: z.int().default(10), cursor: z.string().optional() },
      headers: { x_tenant: z.string() },
      body: z.object({ filter: z.string() }),
      deps: { user, plain },
    },
    ({ query, headers, cookies, body, user, plain, background, response }) => {
      expectType<Equal<typeof query, { limit: number; cursor?: string | undefined }>>();
      expectType<Equal<typeof headers, { x_tenant: string }>>();
      expectType<Equal<typeof cookies, Empty>>();
      expectType<Equal<typeof body, { filter: string }>>();
      expectType<Equal<typeof user, User>>();
      expectType<Equal<typeof plain, number>>();
      expectType<Equal<typeof background, (task: () => unknown) => void>>();
      response.headers.set("x-page", String(query.limit));
      // @ts-expect-error -- a query parameter the dependency does not declare
      query.offset;
      // @ts-expect-error -- `limit` is a number
      const limit: string = query.limit;
      return { limit, tenant: headers.x_tenant, owner: user.name };
    },
  );
  expectType<Equal<DependencyValue<typeof pagination>, { limit: string; tenant: string; owner: string }>>();

  // A dependency without a spec reads no inputs, and its params are the path's values as its convertors make them.
  dependency(({ query, params, body }) => {
    expectType<Equal<typeof query, Empty>>();
    expectType<Equal<typeof params, Readonly<Record<string, string | number>>>>();
    expectType<Equal<typeof body, undefined>>();
  });

  // @ts-expect-error -- `session` is not among this dependency's deps
  dependency({ deps: { user } }, ({ session }) => session);

  app.get("/page", { deps: { page: pagination } }, ({ page }) => {
    expectType<Equal<typeof page.owner, string>>();
    // @ts-expect-error -- the dependency's value has no `offset`
    page.offset;
  });

  // Effect dependencies add nothing to the context.
  app.get("/effects", { dependencies: [plain, user] }, (context) => {
    // @ts-expect-error -- an effect dependency's value is dropped
    context.plain;
  });

  // A function-scoped generator's value is what it yields, as for the default scope.
  const transaction = dependency({ scope: "function" }, async function* () {
    yield { commit: true };
  });
  expectType<Equal<DependencyValue<typeof transaction>, { commit: boolean }>>();
  // @ts-expect-error -- the scopes are "request" and "function"
  dependency({ scope: "session" }, () => 1);
}
