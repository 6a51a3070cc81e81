// Source generators for the type-check benchmark: the same N routes written for brisk and for Hono zod-openapi.
// Every route gets its own field names, so the checker cannot reuse one route's types for the next.

/**
 * The shapes of route i, as Zod source: a query of 2 fields, a body on even routes, a response. Query integers are
 * each framework's idiom: brisk coerces query text itself, Hono's validator needs `z.coerce`.
 */
function shapes(i: number, coerce: boolean): { query: string; body: string | undefined; response: string } {
  const integer = coerce ? "z.coerce.number().int()" : "z.int()";
  return {
    query: `{ page_${i}: ${integer}.min(1).default(1), q_${i}: z.string().optional() }`,
    body:
      i % 2 === 0
        ? `z.object({ name_${i}: z.string().min(1), count_${i}: z.int(), tags_${i}: z.array(z.string()) })`
        : undefined,
    response: `z.object({ id_${i}: z.string(), label_${i}: z.string(), page_${i}: z.int(), size_${i}: z.int() })`,
  };
}

export function briskApp(routes: number): string {
  const lines = [
    'import { App } from "briskjs";',
    'import { z } from "zod";',
    "",
    'export const app: App = new App({ title: "types" });',
    "",
  ];
  for (let i = 0; i < routes; i++) {
    const { query, body, response } = shapes(i, false);
    if (body === undefined) {
      lines.push(
        `app.get("/r${i}/{id}", { query: ${query}, response: ${response} }, ({ params, query }) => ({`,
        `  id_${i}: params.id, label_${i}: query.q_${i} ?? "", page_${i}: query.page_${i}, size_${i}: 0,`,
        "}));",
      );
    } else {
      lines.push(
        `app.post("/r${i}/{id}", { query: ${query}, body: ${body}, response: ${response} }, ({ params, query, body }) => ({`,
        `  id_${i}: params.id, label_${i}: body.name_${i}, page_${i}: query.page_${i}, size_${i}: body.count_${i} + body.tags_${i}.length,`,
        "}));",
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

export function honoApp(routes: number): string {
  const lines = [
    'import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";',
    "",
    "export const app = new OpenAPIHono();",
    "",
  ];
  for (let i = 0; i < routes; i++) {
    const { query, body, response } = shapes(i, true);
    const request = [
      "params: z.object({ id: z.string() })",
      `query: z.object(${query})`,
      ...(body === undefined
        ? []
        : [`body: { content: { "application/json": { schema: ${body} } }, required: true }`]),
    ];
    lines.push(
      "app.openapi(",
      "  createRoute({",
      `    method: "${body === undefined ? "get" : "post"}",`,
      `    path: "/r${i}/{id}",`,
      `    request: { ${request.join(", ")} },`,
      `    responses: { 200: { content: { "application/json": { schema: ${response} } }, description: "ok" } },`,
      "  }),",
      "  (c) => {",
      '    const { id } = c.req.valid("param");',
      '    const query = c.req.valid("query");',
    );
    if (body === undefined) {
      lines.push(
        `    return c.json({ id_${i}: id, label_${i}: query.q_${i} ?? "", page_${i}: query.page_${i}, size_${i}: 0 }, 200);`,
      );
    } else {
      lines.push(
        '    const body = c.req.valid("json");',
        `    return c.json({ id_${i}: id, label_${i}: body.name_${i}, page_${i}: query.page_${i}, size_${i}: body.count_${i} + body.tags_${i}.length }, 200);`,
      );
    }
    lines.push("  },", ");");
  }
  return `${lines.join("\n")}\n`;
}

/** The same options for every generated app; allowImportingTsExtensions because brisk ships .ts sources. */
export const TSCONFIG: string = `${JSON.stringify(
  {
    compilerOptions: {
      target: "es2022",
      lib: ["es2023", "dom"],
      module: "nodenext",
      moduleResolution: "nodenext",
      types: ["node"],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      allowImportingTsExtensions: true,
    },
    files: ["app.ts"],
  },
  null,
  2,
)}\n`;
