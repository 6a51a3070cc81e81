// Fastify in its fastest setup: logger off, JSON Schema validation through ajv (its default) and response
// schemas compiled to fast-json-stringify serializers.
import Fastify from "fastify";
import { greetingList, greetings, HOST, type Item, ItemStore, port, ready } from "./common.ts";

const GreetingSchema = {
  type: "object",
  properties: { lang: { type: "string" }, text: { type: "string" } },
  required: ["lang", "text"],
} as const;

const DetailSchema = {
  type: "object",
  properties: { detail: { type: "string" } },
  required: ["detail"],
} as const;

const itemProperties = {
  name: { type: "string", minLength: 1, maxLength: 100 },
  price: { type: "number", exclusiveMinimum: 0 },
  tags: { type: "array", items: { type: "string" }, maxItems: 10, default: [] },
  description: { type: "string" },
} as const;

// additionalProperties: false with Fastify's removeAdditional drops unknown keys, as Zod's object does.
const ItemSchema = {
  type: "object",
  properties: itemProperties,
  required: ["name", "price"],
  additionalProperties: false,
} as const;

const StoredItemSchema = {
  type: "object",
  properties: { id: { type: "integer" }, ...itemProperties },
  required: ["id", "name", "price", "tags"],
} as const;

const PageSchema = {
  type: "object",
  properties: {
    limit: { type: "integer" },
    offset: { type: "integer" },
    total: { type: "integer" },
    items: { type: "array", items: StoredItemSchema },
  },
  required: ["limit", "offset", "total", "items"],
} as const;

const store = new ItemStore();
const app = Fastify({ logger: false });

app.get(
  "/greetings",
  { schema: { response: { 200: { type: "array", items: GreetingSchema } } } },
  () => greetingList,
);

app.get<{ Params: { lang: string } }>(
  "/greetings/:lang",
  {
    schema: {
      params: { type: "object", properties: { lang: { type: "string" } }, required: ["lang"] },
      response: { 200: GreetingSchema, 404: DetailSchema },
    },
  },
  (request, reply) => {
    const { lang } = request.params;
    const text = greetings.get(lang);
    if (text === undefined) return reply.code(404).send({ detail: `No greeting for '${lang}'` });
    return { lang, text };
  },
);

app.post<{ Body: Item }>(
  "/items",
  { schema: { body: ItemSchema, response: { 201: StoredItemSchema } } },
  (request, reply) => reply.code(201).send(store.add(request.body)),
);

app.get<{ Querystring: { limit: number; offset: number } }>(
  "/items",
  {
    schema: {
      querystring: {
        type: "object",
        properties: {
          limit: { type: "integer", minimum: 1, maximum: 100, default: 10 },
          offset: { type: "integer", minimum: 0, default: 0 },
        },
      },
      response: { 200: PageSchema },
    },
  },
  (request) => store.page(request.query.limit, request.query.offset),
);

await app.listen({ host: HOST, port: port() });
ready();
