import { HTTPException } from "../errors.ts";
import type { Incoming } from "../exchange.ts";
import { AfterResponseQueue } from "../internal/after-response.ts";
import { splitTarget } from "../internal/target.ts";
import type { BodyInit, ReadResult } from "../internal/web-types.ts";

/** A web request body as it arrives, failing with 413 past `limit` bytes; a reader that stops early cancels it. */
export async function* streamWebBody(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
  declared: number = Number.NaN,
): AsyncGenerator<Uint8Array> {
  if (declared > limit) throw tooLarge(limit);
  if (stream === null) return;
  const reader = stream.getReader();
  let total = 0;
  let ended = false;
  try {
    for (;;) {
      let step: ReadResult;
      try {
        step = await reader.read();
      } catch {
        throw new HTTPException(400, "The request body was not received in full");
      }
      if (step.done) {
        ended = true;
        return;
      }
      total += step.value.byteLength;
      if (total > limit) throw tooLarge(limit);
      yield step.value;
    }
  } finally {
    if (!ended) await reader.cancel().catch(() => {});
  }
}

/** The 413 sent when a body exceeds its limit. */
export function tooLarge(limit: number): HTTPException {
  return new HTTPException(413, `Request body is larger than the limit of ${limit} bytes`);
}

/** Reads a web request's whole body, refusing a declared or received size over `limit` with 413. */
export function readRequestBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return collect(streamWebBody(request.body, limit));
}

/** A web request as the core sees it, and how its response is handed back once the route has answered. */
export interface WebIncoming extends Incoming {
  /**
   * The response to give the caller. Tasks waiting for the response to be sent run at once when brisk built the
   * body in memory (it is complete, whether or not the caller reads it), and once a streamed body has been read to
   * its end or cancelled.
   */
  settle(response: Response, streamed: boolean): Response;
}

/** Wraps a web `Request` for the core (the fetch adapter, used by `app.fetch`). */
export function fromWebRequest(request: Request): WebIncoming {
  const [path, search] = splitTarget(request.url);
  let received: Uint8Array | undefined;
  let rebuilt: Request | undefined;
  const tasks = new AfterResponseQueue();
  const runTasks = () => tasks.start();
  // The caller's signal, and the server's own (a handler past its deadline), as one.
  let aborts: AbortController | undefined;
  let signal: AbortSignal | undefined;
  return {
    afterResponse: (task) => tasks.add(task),
    settle: (response, streamed) => {
      if (tasks.size === 0) {
        // Nothing waits yet; what a late handler adds runs at once.
        runTasks();
        return response;
      }
      if (response.body === null || !streamed) {
        setImmediate(runTasks);
        return response;
      }
      return new Response(whenRead(response.body, runTasks), {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    },
    method: request.method,
    path,
    search,
    // A Request built in code carries no Host header (fetch adds it when sending): the URL's host stands in.
    header: (name) => request.headers.get(name) ?? (name === "host" ? new URL(request.url).host : undefined),
    headerNames: () => request.headers.keys(),
    readBody: (limit) => readRequestBody(request, limit).then((bytes) => (received = bytes)),
    readBodyStream: (limit) =>
      streamWebBody(request.body, limit, Number(request.headers.get("content-length") ?? Number.NaN)),
    get signal() {
      aborts ??= new AbortController();
      signal ??= AbortSignal.any([request.signal, aborts.signal]);
      return signal;
    },
    abort: () => {
      aborts ??= new AbortController();
      aborts.abort();
    },
    // Once brisk has read the body, the handler's Request carries the bytes it read.
    toRequest: () =>
      received === undefined
        ? request
        : (rebuilt ??= new Request(request.url, {
            method: request.method,
            headers: request.headers,
            // A Uint8Array is a valid body; lib.dom's typing wants one backed by a plain ArrayBuffer.
            body: received as BodyInit,
            signal: request.signal,
          })),
  };
}

/** The same stream, calling `done` once it has been read to its end, has failed, or was cancelled. */
function whenRead(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let called = false;
  const finish = () => {
    if (!called) {
      called = true;
      setImmediate(done);
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: ended, value } = await reader.read();
        if (ended) {
          controller.close();
          finish();
        } else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        finish();
      }
    },
    async cancel(reason) {
      // The source's own cancel (a generator's `finally`) runs before what waits for the response.
      await reader.cancel(reason).catch(() => {});
      finish();
    },
  });
}

/** A body's chunks in one piece. */
async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const all: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    all.push(chunk);
    total += chunk.byteLength;
  }
  return all.length === 1 ? all[0]! : Buffer.concat(all, total);
}
