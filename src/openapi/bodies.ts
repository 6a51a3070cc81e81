// The media types of an operation's request body (JSON, URL-encoded form, multipart) and of its success response
// (JSON, JSON Lines, Server-Sent Events).

import { formSchemaOf } from "../form.ts";
import { type MultipartSpec, multipartSpecOf, type UploadSpec } from "../multipart.ts";
import type { RouteSpec } from "../route.ts";
import type { JsonSchema, StandardSchemaV1 } from "../schema/standard.ts";
import type { SchemaCollector } from "./schemas.ts";

const JSON_MEDIA = "application/json";
const FORM_MEDIA = "application/x-www-form-urlencoded";
const MULTIPART_MEDIA = "multipart/form-data";

/** True when the schema accepts a missing value, i.e. the parameter or body is optional. */
export function acceptsUndefined(schema: StandardSchemaV1): boolean {
  const result = schema["~standard"].validate(undefined);
  return !(result instanceof Promise) && result.issues === undefined;
}

/** A file in a multipart body, as OpenAPI 3.1 describes binary content. */
function fileSchema(upload: UploadSpec): JsonSchema {
  const file = { type: "string", contentMediaType: "application/octet-stream" };
  return upload.many ? { type: "array", items: file } : file;
}

/** Whether a field's schema is an object (or a list of objects): it travels as a JSON part. */
function isJsonField(schema: JsonSchema): boolean {
  const types = (node: JsonSchema | undefined): unknown[] =>
    node === undefined
      ? []
      : [node.type, ...((node.anyOf as JsonSchema[] | undefined) ?? []).map((branch) => branch.type)].flat();
  const own = types(schema);
  return (
    own.includes("object") || (own.includes("array") && types(schema.items as JsonSchema).includes("object"))
  );
}

/**
 * A multipart body: one property per field, files as binary strings, and an `encoding` naming each part's media
 * type where it is not plain text (JSON fields, files of declared types).
 */
function multipartContent(spec: MultipartSpec, collector: SchemaCollector, name: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const encoding: Record<string, JsonSchema> = {};
  for (const key of spec.order) {
    const upload = spec.uploads.get(key);
    if (upload !== undefined) {
      properties[key] = fileSchema(upload);
      if (!upload.optional) required.push(key);
      if (upload.types !== undefined) encoding[key] = { contentType: upload.types.join(", ") };
      continue;
    }
    const field = spec.fields[key]!;
    const schema = collector.add(field, "input", `${name}_${key}`);
    properties[key] = schema;
    if (!acceptsUndefined(field)) required.push(key);
    if (isJsonField(schema)) encoding[key] = { contentType: JSON_MEDIA };
  }
  const schema: JsonSchema = { type: "object", properties, required, title: name };
  if (required.length === 0) delete schema.required;
  return Object.keys(encoding).length === 0 ? { schema } : { schema, encoding };
}

/** The `requestBody` of an operation whose body is `body`. */
export function requestBodyObject(
  body: StandardSchemaV1,
  collector: SchemaCollector,
  operationId: string,
): JsonSchema {
  const name = `Body_${operationId}`;
  const multipart = multipartSpecOf(body);
  if (multipart !== undefined) {
    return { content: { [MULTIPART_MEDIA]: multipartContent(multipart, collector, name) }, required: true };
  }
  const formFields = formSchemaOf(body);
  const schema = formFields ?? body;
  const content = {
    [formFields === undefined ? JSON_MEDIA : FORM_MEDIA]: { schema: collector.add(schema, "input", name) },
  };
  return acceptsUndefined(schema) ? { content } : { content, required: true };
}

/**
 * The content of a route's success response: its `response` schema as JSON, each item of a `stream` route as a
 * JSON Lines document, or each event of an `sse` route (its data validated by the `sse` schema).
 */
export function successContent(spec: RouteSpec, collector: SchemaCollector, operationId: string): JsonSchema {
  if (spec.stream !== undefined) {
    return {
      "application/jsonl": {
        schema: collector.add(spec.stream, "output", `Stream_${operationId}`),
      },
    };
  }
  if (spec.sse !== undefined) {
    const data = collector.add(spec.sse, "output", `Event_${operationId}`);
    return {
      "text/event-stream": {
        schema: {
          type: "object",
          description: "A Server-Sent Event; its data is a JSON document.",
          properties: {
            data: data,
            event: { type: "string" },
            id: { type: "string" },
            retry: { type: "integer", minimum: 0 },
          },
        },
      },
    };
  }
  return {
    [JSON_MEDIA]: {
      schema:
        spec.response === undefined ? {} : collector.add(spec.response, "output", `Response_${operationId}`),
    },
  };
}
