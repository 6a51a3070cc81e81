import { extname } from "node:path";

// The media types of the files an API or a small site serves most; anything else is sent as bytes. A short table
// rather than a dependency: a wrong guess is fixed by passing `type`.
const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html",
  ".htm": "text/html",
  ".css": "text/css",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".jsonl": "application/jsonl",
  ".map": "application/json",
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".xml": "application/xml",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".tar": "application/x-tar",
  ".wasm": "application/wasm",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
  ".wav": "audio/wav",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
};

/** The media type of a file name, with `charset=utf-8` for text; `application/octet-stream` when unknown. */
export function mediaTypeOf(name: string): string {
  const type = TYPES[extname(name).toLowerCase()];
  if (type === undefined) return "application/octet-stream";
  const textual = type.startsWith("text/") || type === "application/json" || type === "image/svg+xml";
  return textual ? `${type}; charset=utf-8` : type;
}
