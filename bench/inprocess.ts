// In-process cost of brisk's request path per workload, without sockets: `npm run bench:inprocess [workload]`.

// The bench's brisk app; with the brisk-source condition (the npm script sets it) it runs brisk's sources.
import { app } from "./apps/brisk-app.ts";

const VALID = Buffer.from(
  '{"name":"Widget","price":9.99,"tags":["tools","sale"],"description":"A small widget"}',
);
const INVALID = Buffer.from('{"name":"","price":0}');
/** A request as an adapter would hand it to brisk (see src/exchange.ts), with the body already received. */
class Fake {
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly body: Uint8Array | undefined;
  constructor(method: string, path: string, search: string, body?: Uint8Array) {
    this.method = method;
    this.path = path;
    this.search = search;
    this.body = body;
  }
  header(n: string) {
    return n === "content-type" ? "application/json" : n === "host" ? "x" : undefined;
  }
  headerNames() {
    return ["host", "content-type"];
  }
  readBody() {
    return Promise.resolve(this.body!);
  }
  async *readBodyStream(): AsyncIterable<Uint8Array> {
    if (this.body !== undefined) yield this.body;
  }
  get signal(): AbortSignal {
    return new AbortController().signal;
  }
  abort(): void {}
  toRequest(): Request {
    throw new Error("no");
  }
  afterResponse(task: () => void): void {
    setImmediate(task);
  }
}
for (let i = 0; i < 20; i++) await app.handle(new Fake("POST", "/items", "", VALID));
const loads: [string, () => Fake][] = [
  ["greetings-list", () => new Fake("GET", "/greetings", "")],
  ["greeting-one", () => new Fake("GET", "/greetings/en", "")],
  ["items-create", () => new Fake("POST", "/items", "", VALID)],
  ["items-invalid", () => new Fake("POST", "/items", "", INVALID)],
  ["items-page", () => new Fake("GET", "/items", "limit=10&offset=0")],
];
const only = process.argv[2];
for (const [name, make] of loads) {
  if (only && name !== only) continue;
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const o = app.handle(make() as never);
      if (o instanceof Promise) await o;
    }
  };
  await run(20000);
  const best = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    await run(50000);
    best.push(Number(process.hrtime.bigint() - t) / 50000);
  }
  best.sort((a, b) => a - b);
  console.log(name.padEnd(15), (best[2]! / 1000).toFixed(2).padStart(7), "µs/req");
}
