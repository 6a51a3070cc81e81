// An event stream read with fetch rather than EventSource, so that the first request can carry headers
// (Last-Event-ID) and the test sees the events exactly as the server framed them.

/** One event as it is on the wire: its fields, with `data` lines joined by newlines. */
export interface WireEvent {
  event?: string;
  id?: string;
  data?: string;
}

export interface RawEventStream {
  /** Resolves once the head has arrived (which may only come with the first event). */
  readonly head: Promise<Response>;
  /** The events so far, in order; comments (keep-alive pings) are not events. */
  readonly events: WireEvent[];
  readonly abort: AbortController;
}

/** Opens the stream at `url` without waiting for its head, and parses its events as they come. */
export function readEventStream(url: string, headers: Record<string, string> = {}): RawEventStream {
  const abort = new AbortController();
  const events: WireEvent[] = [];
  const head = fetch(url, { headers, signal: abort.signal });
  head.then(
    async (response) => {
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
            const event = parseEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (Object.keys(event).length > 0) events.push(event);
          }
        }
      } catch {
        // Aborted by the test.
      }
    },
    () => {},
  );
  return { head, events, abort };
}

function parseEvent(block: string): WireEvent {
  const event: WireEvent = {};
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    if (colon === 0) continue; // A comment (the keep-alive ping).
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, "");
    if (field === "event" || field === "id") event[field] = value;
    if (field === "data") event.data = event.data === undefined ? value : `${event.data}\n${value}`;
  }
  return event;
}
