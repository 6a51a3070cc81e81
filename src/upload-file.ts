import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, type FileHandle, open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";

/**
 * A file received in a multipart body. Small files are held in memory; past the route's memory threshold the
 * bytes go to a temporary file instead, written as they arrive. Temporary files are removed once the response
 * has been sent (after background tasks), unless {@link UploadFile.saveTo} moved them.
 */
export class UploadFile {
  /** The multipart field it came in. */
  readonly field: string;
  /** The name the client gave, without any directory part; empty when it gave none. */
  readonly filename: string;
  /** The media type the client declared (`application/octet-stream` when it declared none). */
  readonly type: string;
  #size = 0;
  #chunks: Buffer[] | undefined = [];
  #path: string | undefined;
  #temporary = false;

  constructor(field: string, filename: string, type: string) {
    this.field = field;
    this.filename = filename;
    this.type = type;
  }

  /** Its size in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Whether it was spilled to disk (rather than held in memory). */
  get onDisk(): boolean {
    return this.#path !== undefined;
  }

  /** Its content as a web stream, read from memory or disk as the reader asks. */
  stream(): ReadableStream<Uint8Array> {
    if (this.#path !== undefined) {
      return Readable.toWeb(
        createReadStream(this.#path, { highWaterMark: 64 * 1024 }),
      ) as ReadableStream<Uint8Array>;
    }
    const chunks = [...(this.#chunks ?? [])];
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
  }

  /** Its whole content. Reads a spilled file back into memory: prefer `stream()` or `saveTo()` for big files. */
  async bytes(): Promise<Uint8Array> {
    if (this.#path === undefined) return Buffer.concat(this.#chunks ?? [], this.#size);
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.stream() as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** Its content decoded as UTF-8. */
  async text(): Promise<string> {
    return Buffer.from(await this.bytes()).toString("utf8");
  }

  /**
   * Stores it at `path` (overwriting a file there). A spilled file is moved rather than copied, and is then no
   * longer temporary; the upload keeps reading from its new place.
   */
  async saveTo(path: string): Promise<void> {
    if (this.#path === undefined) {
      await writeFile(path, Buffer.concat(this.#chunks ?? [], this.#size));
      return;
    }
    if (!this.#temporary) {
      await copyFile(this.#path, path);
      return;
    }
    try {
      await rename(this.#path, path);
    } catch (error) {
      // Another file system: copied, then the temporary file removed.
      if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
      await copyFile(this.#path, path);
      await rm(this.#path, { force: true });
    }
    this.#path = path;
    this.#temporary = false;
  }

  /** Removes its temporary file, if it still has one. Safe to call more than once. */
  async dispose(): Promise<void> {
    this.#chunks = undefined;
    if (this.#path !== undefined && this.#temporary) {
      const path = this.#path;
      this.#temporary = false;
      await rm(path, { force: true });
    }
  }

  /** Receives its content as it arrives; see {@link UploadWriter}. */
  static writer(file: UploadFile, memoryLimit: number, tempDir: string): UploadWriter {
    return new UploadWriter(file, memoryLimit, tempDir, {
      grow: (bytes) => {
        file.#size += bytes;
      },
      keep: (chunk) => file.#chunks?.push(chunk),
      spill: (path) => {
        file.#path = path;
        file.#temporary = true;
        const held = file.#chunks ?? [];
        file.#chunks = undefined;
        return held;
      },
    });
  }
}

interface UploadSlots {
  grow(bytes: number): void;
  keep(chunk: Buffer): void;
  /** Records the temporary file and hands over the chunks held so far. */
  spill(path: string): Buffer[];
}

/**
 * Fills an {@link UploadFile}: in memory up to `memoryLimit` bytes, then in a temporary file (mode 0600, a random
 * name in `tempDir`). Each write is awaited, so a slow disk slows the reading of the request instead of filling
 * memory.
 */
export class UploadWriter {
  readonly #file: UploadFile;
  readonly #memoryLimit: number;
  readonly #tempDir: string;
  readonly #slots: UploadSlots;
  #handle: FileHandle | undefined;

  constructor(file: UploadFile, memoryLimit: number, tempDir: string, slots: UploadSlots) {
    this.#file = file;
    this.#memoryLimit = memoryLimit;
    this.#tempDir = tempDir;
    this.#slots = slots;
  }

  async write(chunk: Buffer): Promise<void> {
    this.#slots.grow(chunk.byteLength);
    if (this.#handle === undefined && this.#file.size <= this.#memoryLimit) {
      this.#slots.keep(chunk);
      return;
    }
    if (this.#handle === undefined) {
      const path = join(this.#tempDir, `brisk-upload-${randomUUID()}`);
      this.#handle = await open(path, "wx", 0o600);
      const held = this.#slots.spill(path);
      for (const each of held) await writeAll(this.#handle, each);
    }
    await writeAll(this.#handle, chunk);
  }

  /** Closes the temporary file, if one was opened. */
  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.byteLength; ) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}
