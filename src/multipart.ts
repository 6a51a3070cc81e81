// `body: multipart({...})`: a multipart/form-data body of text fields (coerced like query parameters, JSON for
// object fields) and uploaded files (`upload()`, `upload.many()`), with limits on by default.

import type { StandardSchemaV1 } from "./schema/standard.ts";
import { UploadFile } from "./upload-file.ts";

const UPLOAD: unique symbol = Symbol.for("brisk.upload");
const MULTIPART: unique symbol = Symbol.for("brisk.multipart");

/** Options of {@link upload}. */
export interface UploadOptions {
  /**
   * Largest accepted file, in bytes; a bigger one is refused with 413 as soon as it passes the limit.
   * @default the multipart body's `limits.fileSize`
   */
  readonly maxSize?: number;
  /** Accepted media types, exact (`image/png`) or by type (`image/*`); others are a 422. */
  readonly types?: readonly string[];
  /** Whether the field may be left out. @default false */
  readonly optional?: boolean;
}

/** Options of {@link upload.many}. */
export interface UploadManyOptions extends UploadOptions {
  /** Most files the field takes; more are a 422. */
  readonly maxCount?: number;
}

/** How a file field is checked; read by the multipart parser and the OpenAPI document. */
export interface UploadSpec {
  readonly many: boolean;
  readonly maxSize: number | undefined;
  readonly types: readonly string[] | undefined;
  readonly optional: boolean;
  readonly maxCount: number | undefined;
}

/** A file field of a {@link multipart} body. */
export interface UploadSchema<Output> extends StandardSchemaV1<Output, Output> {
  readonly [UPLOAD]: UploadSpec;
}

function invalid(message: string): StandardSchemaV1.FailureResult {
  return { issues: [{ message }] };
}

function uploadSchema<Output>(spec: UploadSpec): UploadSchema<Output> {
  const check = (value: unknown): StandardSchemaV1.Result<Output> => {
    if (value === undefined) {
      return spec.optional ? { value: (spec.many ? [] : undefined) as Output } : invalid("Field required");
    }
    const files = spec.many ? value : [value];
    if (!Array.isArray(files) || !files.every((each) => each instanceof UploadFile)) {
      return invalid(spec.many ? "Expected a list of files" : "Expected a file");
    }
    return { value: value as Output };
  };
  return { "~standard": { version: 1, vendor: "brisk", validate: check }, [UPLOAD]: spec };
}

function checkSize(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError(`upload(): ${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function uploadSpec(options: UploadManyOptions, many: boolean): UploadSpec {
  return {
    many,
    maxSize: checkSize("maxSize", options.maxSize),
    types: options.types?.map((type) => type.toLowerCase()),
    optional: options.optional ?? false,
    maxCount: checkSize("maxCount", options.maxCount),
  };
}

type UploadOutput<Options> = Options extends { readonly optional: true }
  ? UploadFile | undefined
  : UploadFile;

function single<const Options extends UploadOptions = Record<never, never>>(
  options?: Options,
): UploadSchema<UploadOutput<Options>> {
  return uploadSchema(uploadSpec(options ?? {}, false));
}

function many(options: UploadManyOptions = {}): UploadSchema<UploadFile[]> {
  return uploadSchema(uploadSpec(options, true));
}

/**
 * A file field of a {@link multipart} body: the handler receives an {@link UploadFile}. `upload.many()` takes the
 * repeated parts of one name as an array (of at least one file, unless optional).
 *
 * @example
 * body: multipart({ avatar: upload({ maxSize: 2 * 1024 * 1024, types: ["image/png", "image/jpeg"] }) })
 */
export const upload: typeof single & { readonly many: typeof many } = Object.assign(single, { many });

/** The upload spec of a schema, or undefined for a text field. */
export function uploadSpecOf(schema: StandardSchemaV1): UploadSpec | undefined {
  return UPLOAD in schema ? (schema as UploadSchema<unknown>)[UPLOAD] : undefined;
}

/** Limits of a multipart body; exceeding one refuses the request (400 for counts, 413 for sizes). */
export interface MultipartLimits {
  /** Parts of any kind. @default 1000 */
  readonly parts?: number;
  /** Text fields. @default 1000 */
  readonly fields?: number;
  /** Files. @default 1000 */
  readonly files?: number;
  /** Bytes of one text field. @default 1048576 (1 MiB) */
  readonly fieldSize?: number;
  /** Bytes of one file, unless its `upload()` sets `maxSize`. @default 104857600 (100 MiB) */
  readonly fileSize?: number;
  /** Bytes of the whole body, unless the route sets `bodyLimit`. @default 1073741824 (1 GiB) */
  readonly totalSize?: number;
  /** Bytes of a file held in memory; past that it goes to a temporary file. @default 1048576 (1 MiB) */
  readonly memory?: number;
}

/** Options of {@link multipart}. */
export interface MultipartOptions {
  readonly limits?: MultipartLimits;
  /** Where files too big for memory are written while the request lasts. @default os.tmpdir() */
  readonly tempDir?: string;
}

/** The fields of a multipart body: text fields' schemas and file fields (`upload()`). */
export type MultipartShape = { readonly [name: string]: StandardSchemaV1 };

type Out<Schema> = Schema extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<Schema> : never;

type ShapeOutput<Shape extends MultipartShape> = {
  -readonly [K in keyof Shape as undefined extends Out<Shape[K]> ? never : K]: Out<Shape[K]>;
} & {
  -readonly [K in keyof Shape as undefined extends Out<Shape[K]> ? K : never]?: Out<Shape[K]>;
};

/** What a multipart declaration holds for the request path. */
export interface MultipartSpec {
  /** Every field's name, in the declared order (the order of their errors). */
  readonly order: readonly string[];
  /** The text fields. */
  readonly fields: MultipartShape;
  readonly uploads: ReadonlyMap<string, UploadSpec>;
  readonly options: MultipartOptions;
}

/** A body declared with {@link multipart}. */
export interface MultipartSchema<Shape extends MultipartShape = MultipartShape>
  extends StandardSchemaV1<
    { [K in keyof ShapeOutput<Shape>]: ShapeOutput<Shape>[K] },
    { [K in keyof ShapeOutput<Shape>]: ShapeOutput<Shape>[K] }
  > {
  readonly [MULTIPART]: MultipartSpec;
}

/**
 * Declares a `multipart/form-data` body. Text fields arrive as text and are coerced like query parameters (an
 * empty value counts as missing, as in HTML forms); a field whose schema is an object (or a list of objects) is
 * read as JSON, so a JSON document and files travel in one request. Files are streamed: held in memory up to
 * `limits.memory`, then written to a temporary file, removed once the response is sent. Errors are located at
 * `["body", field]`.
 *
 * @example
 * app.post("/files", {
 *   body: multipart({ file: upload({ maxSize: 50 * 1024 * 1024 }), note: z.string().optional() }),
 *   status: 201,
 * }, async ({ body }) => { await body.file.saveTo(`./data/${body.file.filename}`); ... });
 */
export function multipart<const Shape extends MultipartShape>(
  shape: Shape,
  options: MultipartOptions = {},
): MultipartSchema<Shape> {
  const fields: Record<string, StandardSchemaV1> = {};
  const uploads = new Map<string, UploadSpec>();
  for (const [name, schema] of Object.entries(shape)) {
    const spec = uploadSpecOf(schema);
    if (spec === undefined) fields[name] = schema;
    else uploads.set(name, spec);
  }
  const validate = async (value: unknown): Promise<StandardSchemaV1.Result<unknown>> => {
    if (typeof value !== "object" || value === null) return invalid("Expected an object");
    const output: Record<string, unknown> = {};
    const issues: StandardSchemaV1.Issue[] = [];
    for (const [name, schema] of Object.entries(shape)) {
      const result = await schema["~standard"].validate((value as Record<string, unknown>)[name]);
      if (result.issues === undefined) {
        if (result.value !== undefined) output[name] = result.value;
      } else
        issues.push(...result.issues.map((issue) => ({ ...issue, path: [name, ...(issue.path ?? [])] })));
    }
    return issues.length === 0 ? { value: output } : { issues };
  };
  return {
    "~standard": { version: 1, vendor: "brisk", validate },
    [MULTIPART]: { order: Object.keys(shape), fields, uploads, options },
  } as unknown as MultipartSchema<Shape>;
}

/** The multipart declaration inside a body schema, or undefined for other bodies. */
export function multipartSpecOf(schema: StandardSchemaV1 | undefined): MultipartSpec | undefined {
  return schema !== undefined && MULTIPART in schema ? (schema as MultipartSchema)[MULTIPART] : undefined;
}
