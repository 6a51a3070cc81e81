import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import { App, form, multipart, upload } from "briskjs";
import { z } from "zod";
import { app as greetings } from "../examples/greetings/app.ts";
import { app as items } from "../examples/items/app.ts";
import { app as uploads } from "../examples/uploads/app.ts";

// The documents brisk generates are checked by tools that are not brisk: an OpenAPI 3.1 validator, and a client
// generator (openapi-typescript) whose output must type-check against code using the API as a client would.

const CLIENT_TOOLS = fileURLToPath(new URL("../tools/openapi-client/node_modules/.bin/", import.meta.url));

/** An app using what the examples do not: every parameter source, splits, recursion, nullable, extra responses. */
function featuresApp(): App {
  const Node: z.ZodType = z
    .object({
      name: z.string(),
      count: z.int().default(0),
      get children() {
        return z.array(Node);
      },
    })
    .meta({ id: "Node" });
  const Tree = z.object({
    value: z.int(),
    get children(): z.ZodArray<typeof Tree> {
      return z.array(Tree);
    },
  });
  const Message = z.object({ message: z.string() }).meta({ id: "Message", description: "An error message" });
  return new App({
    title: "Features",
    version: "1.2.3",
    summary: "Every feature of the document",
    description: "Long **Markdown** text.",
    termsOfService: "https://example.com/terms",
    contact: { name: "Support", url: "https://example.com", email: "support@example.com" },
    license: { name: "MIT", identifier: "MIT" },
    tags: [{ name: "nodes", description: "Nodes", externalDocs: { url: "https://example.com/nodes" } }],
    servers: [{ url: "https://api.example.com", description: "Production" }],
    rootPath: "/content/abc",
  })
    .post("/nodes", { body: Node, response: Node, status: 201, tags: ["nodes"] }, ({ body }) => body as never)
    .get(
      "/nodes/{node_id:int}/files/{rest:path}",
      {
        query: { q: z.string().describe("Search").optional(), size: z.int().min(1).default(10) },
        headers: { x_token: z.string().meta({ deprecated: true, examples: ["abc"] }) },
        cookies: { session: z.string().nullable().optional() },
        response: z.object({ tree: Tree, note: z.string().nullable() }),
        responses: { 404: { description: "No such node", schema: Message }, "5XX": {} },
        summary: "Read a file",
        description: "Reads one file of a node.",
        deprecated: true,
      },
      () => ({}) as never,
    )
    .delete("/nodes/{node_id}", { status: 204, operationId: "deleteNode" }, () => undefined)
    .route(["PUT", "PATCH"], "/trees", { body: Tree.optional(), responses: { default: {} } }, () => 1)
    .get("/hidden", { hidden: true }, () => 1);
}

/** Bodies and responses that are not JSON: forms, multipart with files and JSON, JSON Lines, Server-Sent Events. */
function mediaApp(): App {
  const Meta = z.object({ title: z.string(), tags: z.array(z.string()) }).meta({ id: "Meta" });
  const Event = z.object({ n: z.int() }).meta({ id: "Tick" });
  return new App({ title: "Media" })
    .post(
      "/login",
      { body: form(z.object({ username: z.string(), remember: z.boolean().default(false) })) },
      () => 1,
    )
    .post(
      "/photos",
      {
        body: multipart({
          photo: upload({ types: ["image/png", "image/jpeg"] }),
          extras: upload.many({ optional: true }),
          meta: Meta,
          note: z.string().optional(),
        }),
        status: 201,
      },
      () => 1,
    )
    .get("/ticks.jsonl", { stream: Event }, function* () {
      yield { n: 1 };
    })
    .get("/ticks", { sse: Event }, function* () {
      yield { n: 1 };
    });
}

async function assertValid(document: unknown): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(document as Record<string, unknown>);
  assert.ok(result.valid, `invalid OpenAPI document:\n${JSON.stringify(result.errors, null, 2)}`);
  assert.equal(validator.version, "3.1");
}

describe("the documents pass an independent OpenAPI 3.1 validator", () => {
  test("greetings example", async () => {
    await assertValid(greetings.openapi());
  });

  test("items example", async () => {
    await assertValid(items.openapi());
  });

  test("uploads example", async () => {
    await assertValid(uploads.openapi());
  });

  test("forms, multipart bodies with files and JSON, JSON Lines and Server-Sent Events", async () => {
    await assertValid(mediaApp().openapi());
  });

  test("an app using every documented feature, as served under a root path", async () => {
    const app = featuresApp();
    await assertValid(app.openapi());
    const response = await app.fetch(new Request("http://test/openapi.json"));
    const served = (await response.json()) as { servers: unknown };
    assert.deepEqual(served.servers, [
      { url: "/content/abc" },
      { url: "https://api.example.com", description: "Production" },
    ]);
    await assertValid(served);
  });
});

describe("a client generated by openapi-typescript type-checks", () => {
  const directory = mkdtempSync(join(tmpdir(), "brisk-openapi-client-"));
  after(() => rmSync(directory, { recursive: true, force: true }));

  /** Writes the document, generates `<name>.d.ts` from it, and type-checks `usage` (a module importing it). */
  function checkClient(name: string, document: unknown, usage: string): void {
    const documentFile = join(directory, `${name}.json`);
    writeFileSync(documentFile, JSON.stringify(document, null, 2));
    const generated = spawnSync(
      join(CLIENT_TOOLS, "openapi-typescript"),
      [documentFile, "--output", join(directory, `${name}.d.ts`)],
      { encoding: "utf8" },
    );
    assert.equal(generated.status, 0, `openapi-typescript failed:\n${generated.stdout}\n${generated.stderr}`);
    const usageFile = join(directory, `${name}-usage.ts`);
    writeFileSync(usageFile, usage);
    const checked = spawnSync(
      join(CLIENT_TOOLS, "tsc"),
      [
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "false",
        "--target",
        "ES2022",
        "--module",
        "ESNext",
        "--moduleResolution",
        "bundler",
        usageFile,
      ],
      { encoding: "utf8", cwd: directory },
    );
    assert.equal(
      checked.status,
      0,
      `the generated client does not type-check:\n${checked.stdout}\n${checked.stderr}`,
    );
  }

  const EQUAL = `type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;\n`;

  test("greetings example", () => {
    checkClient(
      "greetings",
      greetings.openapi(),
      `import type { components, paths } from "./greetings.js";
${EQUAL}
type Lang = paths["/greetings/{lang}"]["get"]["parameters"]["path"]["lang"];
export const langIsString: Equal<Lang, string> = true;
export const lang: Lang = "en";
// @ts-expect-error the language is a string
export const badLang: Lang = 1;

type List = paths["/greetings"]["get"]["responses"][200]["content"]["application/json"];
export const list: List = [{ lang: "en", text: "Hello" }];
type One = paths["/greetings/{lang}"]["get"]["responses"][200]["content"]["application/json"];
export const oneIsGreeting: Equal<One, components["schemas"]["Greeting"]> = true;
// @ts-expect-error a greeting has a text
export const noText: One = { lang: "en" };
type Invalid = paths["/greetings/{lang}"]["get"]["responses"][422]["content"]["application/json"];
export const invalid: Invalid = { detail: [{ loc: ["path", "lang"], msg: "Field required", type: "missing" }] };
`,
    );
  });

  test("items example", () => {
    checkClient(
      "items",
      items.openapi(),
      `import type { components, paths } from "./items.js";
${EQUAL}
type Item = components["schemas"]["Item"];
export const item: Item = { name: "Pen", price: 1.5, tags: ["office"] };
// @ts-expect-error the price is a number
export const badPrice: Item = { name: "Pen", price: "1.5", tags: [] };
type Sent = paths["/items"]["post"]["requestBody"]["content"]["application/json"];
export const sentIsItem: Equal<Sent, Item> = true;

type Created = paths["/items"]["post"]["responses"][201]["content"]["application/json"];
export const created: Created = { ...item, id: 1 };
export const idIsNumber: Equal<Created["id"], number> = true;
// @ts-expect-error the id is a number
export const badId: string = created.id;

type Page = paths["/items"]["get"]["responses"][200]["content"]["application/json"];
export const page: Page = { limit: 10, offset: 0, total: 1, items: [created] };
type Query = NonNullable<paths["/items"]["get"]["parameters"]["query"]>;
export const query: Query = { limit: 5 };
type ItemId = paths["/items/{item_id}"]["get"]["parameters"]["path"]["item_id"];
export const itemIdIsNumber: Equal<ItemId, number> = true;
`,
    );
  });

  test("forms, multipart bodies, JSON Lines and Server-Sent Events", () => {
    checkClient(
      "media",
      mediaApp().openapi(),
      `import type { components, paths } from "./media.js";
${EQUAL}
type Login = paths["/login"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"];
export const login: Login = { username: "ada" };
type Photos = paths["/photos"]["post"]["requestBody"]["content"]["multipart/form-data"];
export const metaIsMeta: Equal<Photos["meta"], components["schemas"]["Meta"]> = true;
export const photoIsText: Equal<Photos["photo"], string> = true;
// @ts-expect-error the photo is required
export const noPhoto: Photos = { meta: { title: "t", tags: [] } };
type Line = paths["/ticks.jsonl"]["get"]["responses"][200]["content"]["application/jsonl"];
export const lineIsTick: Equal<Line, components["schemas"]["Tick"]> = true;
type Event = paths["/ticks"]["get"]["responses"][200]["content"]["text/event-stream"];
export const data: Event["data"] = { n: 1 };
`,
    );
  });

  test("an app using every documented feature: split, recursive and nullable schemas", () => {
    checkClient(
      "features",
      featuresApp().openapi(),
      `import type { components, paths } from "./features.js";
${EQUAL}
type Sent = paths["/nodes"]["post"]["requestBody"]["content"]["application/json"];
type Returned = paths["/nodes"]["post"]["responses"][201]["content"]["application/json"];
export const sentIsInput: Equal<Sent, components["schemas"]["Node-Input"]> = true;
export const returnedIsOutput: Equal<Returned, components["schemas"]["Node-Output"]> = true;
export const sent: Sent = { name: "root", count: 0, children: [{ name: "leaf", count: 1, children: [] }] };
export const returned: Returned = { name: "root", count: 0, children: [] };
// @ts-expect-error a returned node always has its count
export const noCount: Returned = { name: "root", children: [] };

type Read = paths["/nodes/{node_id}/files/{rest}"]["get"];
export const nodeIdIsNumber: Equal<Read["parameters"]["path"]["node_id"], number> = true;
export const restIsString: Equal<Read["parameters"]["path"]["rest"], string> = true;
type File = Read["responses"][200]["content"]["application/json"];
export const file: File = { tree: { value: 1, children: [{ value: 2, children: [] }] }, note: null };
export const notFound: Read["responses"][404]["content"]["application/json"] = { message: "gone" };
export const header: Read["parameters"]["header"]["x-token"] = "abc";
type Deleted = paths["/nodes/{node_id}"]["delete"]["responses"][204];
export const deletedHasNoContent: Equal<Deleted["content"], undefined> = true;
`,
    );
  });
});
