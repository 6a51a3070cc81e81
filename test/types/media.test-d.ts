// Compile-only tests of the types of multipart bodies, streamed responses and WebSocket routes, checked by
// `tsc --noEmit -p .`; never run. Each `@ts-expect-error` marks a line that must not compile, for the reason above it.

import { type App, dependency, multipart, type UploadFile, upload } from "briskjs";
import { z } from "zod";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// biome-ignore lint/correctness/noUnusedVariables: the type argument is the assertion.
function expectType<T extends true>(): void {}

const Meta = z.object({ title: z.string(), tags: z.array(z.string()).default([]) });
const Item = z.object({ id: z.int(), name: z.string() });

// Registrations are wrapped in a function that is never called, so importing this file does nothing.
export function registrations(app: App): void {
  app.post(
    "/photos",
    {
      body: multipart({
        photo: upload({ types: ["image/*"] }),
        thumbnail: upload({ optional: true }),
        extras: upload.many(),
        meta: Meta,
        note: z.string().optional(),
        count: z.int().default(1),
      }),
    },
    ({ body }) => {
      expectType<Equal<typeof body.photo, UploadFile>>();
      expectType<Equal<typeof body.thumbnail, UploadFile | undefined>>();
      expectType<Equal<typeof body.extras, UploadFile[]>>();
      expectType<Equal<typeof body.meta, { title: string; tags: string[] }>>();
      expectType<Equal<typeof body.note, string | undefined>>();
      expectType<Equal<typeof body.count, number>>();
      return body.photo.filename;
    },
  );

  // A `stream` route returns an iterable of the item's input; `lastEventId` and `signal` are on every context.
  app.get("/items.jsonl", { stream: Item }, async function* ({ signal }) {
    expectType<Equal<typeof signal, AbortSignal>>();
    yield { id: 1, name: "a" };
  });
  app.get("/items-sync.jsonl", { stream: Item }, () => [{ id: 1, name: "a" }]);
  // @ts-expect-error the items of a stream route must match its schema
  app.get("/bad.jsonl", { stream: Item }, async function* () {
    yield { id: "1", name: "a" };
  });
  // @ts-expect-error a stream route returns an iterable, not one item
  app.get("/one.jsonl", { stream: Item }, () => ({ id: 1, name: "a" }));

  app.get("/items/events", { sse: Item }, async function* ({ lastEventId }) {
    expectType<Equal<typeof lastEventId, string | undefined>>();
    yield { id: 1, name: "a" };
    yield { data: { id: 2, name: "b" }, event: "item", id: "2", retry: 1000 };
    yield { comment: "keep-alive" };
  });
  // @ts-expect-error an event's data must match the sse schema
  app.get("/bad/events", { sse: Item }, async function* () {
    yield { data: { id: "x" }, event: "item" };
  });

  // WebSockets: typed params, messages in (the `message` schema's output) and out (the `send` schema's input).
  const user = dependency(() => ({ name: "ada" }));
  app.ws(
    "/rooms/{room}/{seat:int}",
    { message: z.object({ text: z.string() }), send: Item, deps: { user } },
    async ({ params, socket, user }) => {
      expectType<Equal<typeof params, { room: string; seat: number }>>();
      expectType<Equal<typeof user, { name: string }>>();
      for await (const message of socket) {
        expectType<Equal<typeof message, { text: string }>>();
        await socket.send({ id: params.seat, name: message.text });
        // @ts-expect-error what is sent must match the `send` schema
        await socket.send({ id: "1", name: message.text });
      }
    },
  );
  app.ws("/raw", {}, async ({ socket }) => {
    const message = await socket.receive();
    expectType<Equal<typeof message, string | Uint8Array | undefined>>();
    await socket.send("text");
  });
}
