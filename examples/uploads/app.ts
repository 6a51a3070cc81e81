// File uploads and downloads: POST a file (streamed to disk, never held whole in memory), list what is stored,
// download one with byte ranges and conditional requests, and a static page with an upload form.
// Files are kept in UPLOADS_DIR (a fresh temporary directory by default). See "Example: uploads" in the README.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync } from "node:fs";
import { open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, file, multipart, staticFiles, type UploadFile, upload } from "briskjs";
import { z } from "zod";

const directory = process.env.UPLOADS_DIR ?? mkdtempSync(join(tmpdir(), "brisk-uploads-"));
// What the client said about each file (its hash, its note) sits next to the files, in a hidden directory.
const metadata = join(directory, ".meta");
mkdirSync(metadata, { recursive: true });

const StoredFile = z
  .object({ name: z.string(), size: z.int(), sha256: z.string(), note: z.string().optional() })
  .meta({ id: "StoredFile" });
type StoredFile = z.infer<typeof StoredFile>;

/** A stored name is a plain file name: no directories, no leading dot, nothing a shell or URL would trip on. */
const FileName = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/, "Not a stored file name");

function safeName(filename: string): string {
  const cleaned = filename
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^[.]+/, "")
    .slice(-100);
  return cleaned === "" ? "upload" : cleaned;
}

/** Claims a free name for a new file (`report.pdf`, then `report-1.pdf`, ...) by creating it exclusively. */
async function claimName(filename: string): Promise<string> {
  const wanted = safeName(filename);
  // A long "extension" is just part of the name.
  const extension = extname(wanted).length <= 10 ? extname(wanted) : "";
  const stem = wanted.slice(0, wanted.length - extension.length);
  for (let attempt = 0; ; attempt++) {
    const suffix = attempt === 0 ? "" : `-${attempt}`;
    // The suffix must not push the name past the 100 characters a stored name may have.
    const name = `${stem.slice(0, 100 - suffix.length - extension.length)}${suffix}${extension}`;
    try {
      await (await open(join(directory, name), "wx")).close();
      return name;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

async function sha256(upload: UploadFile): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of upload.stream() as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest("hex");
}

export const app: App = new App({ title: "Uploads" });

app.post(
  "/files",
  {
    body: multipart({
      file: upload({ maxSize: 1024 * 1024 * 1024 }),
      note: z.string().max(500).optional(),
    }),
    response: StoredFile,
    status: 201,
    summary: "Store a file",
  },
  async ({ body }) => {
    const name = await claimName(body.file.filename);
    const stored: StoredFile = {
      name,
      size: body.file.size,
      sha256: await sha256(body.file),
      ...(body.note === undefined ? {} : { note: body.note }),
    };
    await body.file.saveTo(join(directory, name));
    await writeFile(join(metadata, `${name}.json`), JSON.stringify(stored));
    return stored;
  },
);

app.get("/files", { response: z.array(StoredFile), summary: "The stored files" }, async () => {
  const names = (await readdir(directory)).filter((name) => FileName.safeParse(name).success).sort();
  const files: StoredFile[] = [];
  for (const name of names) {
    const described = await readFile(join(metadata, `${name}.json`), "utf8").catch(() => undefined);
    // A name claimed by an upload still being written has no description yet.
    if (described !== undefined)
      files.push({ ...JSON.parse(described), size: (await stat(join(directory, name))).size });
  }
  return files;
});

app.get(
  "/files/{name}",
  {
    params: { name: FileName },
    summary: "Download a stored file",
    description: "Supports byte ranges (`Range`, `If-Range`) and conditional requests (`If-None-Match`).",
  },
  ({ params }) => file(join(directory, params.name), { filename: params.name }),
);

app.mount("/static", staticFiles(fileURLToPath(new URL("./public", import.meta.url)), { html: true }));
