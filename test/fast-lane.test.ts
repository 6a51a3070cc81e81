// The fast lane over real sockets (src/adapters/fast-lane.ts): requests it answers itself, the hand-off of a
// connection to Node's server in the middle of it, framing of what it writes, and the same answers with the lane
// off. The rest of the suite (test/hostile/ above all) runs through the lane too; this file is about the seams.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, describe, test } from "node:test";
import { App, redirect, stream } from "briskjs";
import { z } from "zod";
import { LANE_BODY_BYTES } from "../src/adapters/request-head.ts";
import {
  destroyAllSockets,
  type RawResponse,
  RawSocket,
  request,
  saysClose,
  serve,
} from "./hostile/raw-socket.ts";

function laneApp(): App {
  const Text = z.object({ text: z.string() });
  return new App({ title: "lane" })
    .get("/hello", {}, () => ({ hello: "world" }))
    .get("/dir", {}, () => ({ dir: true }))
    .get("/nothing", { status: 204 }, () => undefined)
    .post("/length", { body: Text, status: 201 }, ({ body }) => ({ length: body.text.length }))
    .get("/stream", {}, () => stream(["one,", "two,", "three"], "text/plain"));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A chunked POST /length of `text`, in two chunks. */
function chunkedPost(text: string): string {
  const body = JSON.stringify({ text });
  const half = Math.floor(body.length / 2);
  const [a, b] = [body.slice(0, half), body.slice(half)];
  return (
    "POST /length HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
    `${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`
  );
}

function assertJson(response: RawResponse, status: number, body: unknown): void {
  assert.equal(response.status, status, response.text);
  assert.deepEqual(JSON.parse(response.text), body);
}

describe("fast lane: one connection, the lane and Node's server in turn", async () => {
  const server = await serve(laneApp());

  test("a plain GET, then a chunked POST (Node's after the hand-off), then a plain GET: each answered, in order", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/hello"));
    assertJson(await socket.response(), 200, { hello: "world" });
    await socket.write(chunkedPost("chunked"));
    assertJson(await socket.response(), 201, { length: 7 });
    await socket.write(request("GET", "/hello"));
    assertJson(await socket.response(), 200, { hello: "world" });
    assert.equal(await socket.stillOpenAfter(50), true);
  });

  test("the same three pipelined in one write", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/hello") + chunkedPost("piped") + request("GET", "/hello"));
    assertJson(await socket.response(), 200, { hello: "world" });
    assertJson(await socket.response(), 201, { length: 5 });
    assertJson(await socket.response(), 200, { hello: "world" });
  });

  test("a head that arrives in two writes is read whole", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/hello"));
    assertJson(await socket.response(), 200, { hello: "world" });
    const bytes = request("GET", "/hello", { headers: ["X-Note: split"] });
    await socket.write(bytes.slice(0, 20));
    await pause(50);
    await socket.write(bytes.slice(20));
    assertJson(await socket.response(), 200, { hello: "world" });
  });

  test("a POST whose body arrives in two writes is read whole", async () => {
    const socket = await RawSocket.open(server.url);
    const bytes = request("POST", "/length", { json: { text: "abcdef" } });
    await socket.write(bytes.slice(0, bytes.length - 5));
    await pause(50);
    await socket.write(bytes.slice(bytes.length - 5));
    assertJson(await socket.response(), 201, { length: 6 });
  });

  for (const extra of [0, 1]) {
    test(`a body of ${extra === 0 ? "exactly" : "one byte over"} the lane's 64 KiB is read whole`, async () => {
      // {"text":"..."} is 11 bytes around the text.
      const text = "a".repeat(LANE_BODY_BYTES - 11 + extra);
      const socket = await RawSocket.open(server.url);
      await socket.write(request("POST", "/length", { json: { text } }) + request("GET", "/hello"));
      assertJson(await socket.response(), 201, { length: text.length });
      assertJson(await socket.response(), 200, { hello: "world" });
    });
  }
});

describe("fast lane: framing of what it writes", async () => {
  const server = await serve(laneApp());

  test("HEAD has the GET's Content-Length and no body; the next answer follows it", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("HEAD", "/hello") + request("GET", "/hello"));
    const head = await socket.response({ head: true });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String('{"hello":"world"}'.length));
    assert.equal(head.body.length, 0);
    assertJson(await socket.response(), 200, { hello: "world" });
  });

  test("204 has neither Content-Length nor a body; the next answer follows it", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/nothing") + request("GET", "/hello"));
    const empty = await socket.response();
    assert.equal(empty.status, 204);
    assert.equal(empty.headers.get("content-length"), undefined);
    assert.equal(empty.headers.get("transfer-encoding"), undefined);
    assertJson(await socket.response(), 200, { hello: "world" });
  });

  test("an answer without a body (the trailing-slash redirect) says Content-Length: 0", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/dir/") + request("GET", "/hello"));
    const redirect = await socket.response();
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.get("location"), "/dir");
    assert.equal(redirect.headers.get("content-length"), "0");
    assertJson(await socket.response(), 200, { hello: "world" });
  });

  test("a streamed answer is chunked and complete, and the connection serves the next request", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/stream") + request("GET", "/hello"));
    const streamed = await socket.response();
    assert.equal(streamed.status, 200);
    assert.equal(streamed.framing, "chunked");
    assert.equal(streamed.text, "one,two,three");
    assertJson(await socket.response(), 200, { hello: "world" });
  });

  test("every answer has a Date and says keep-alive with the keep-alive timeout", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/hello"));
    const response = await socket.response();
    assert.ok(!Number.isNaN(Date.parse(response.headers.get("date") ?? "")), response.headers.get("date"));
    assert.equal(response.headers.get("connection"), "keep-alive");
    assert.equal(response.headers.get("keep-alive"), "timeout=72");
  });
});

describe("fast lane: the end of a connection", async () => {
  const server = await serve(laneApp());

  test("Connection: close is answered with Connection: close, and a request pipelined after it is not", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(
      request("GET", "/hello", { headers: ["Connection: close"] }) + request("GET", "/hello"),
    );
    const responses = await socket.untilClosed();
    assert.equal(responses.length, 1);
    assertJson(responses[0]!, 200, { hello: "world" });
    assert.ok(saysClose(responses[0]!));
  });

  test("a client that half-closes after its requests gets their answers, then the connection closes", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/hello") + request("POST", "/length", { json: { text: "abc" } }));
    socket.end();
    const responses = await socket.untilClosed();
    assert.equal(responses.length, 2);
    assertJson(responses[0]!, 200, { hello: "world" });
    assertJson(responses[1]!, 201, { length: 3 });
  });
});

describe("fast lane: the same answers with the lane off", async () => {
  const lane = await serve(laneApp());
  const node = await serve(laneApp(), { fastLane: false });
  const requests = [
    request("GET", "/hello"),
    request("HEAD", "/hello"),
    request("GET", "/nothing"),
    request("GET", "/dir/"),
    request("GET", "/missing"),
    request("DELETE", "/hello"),
    request("POST", "/length", { json: { text: "same" } }),
    request("POST", "/length", { json: { text: 5 } }),
    request("POST", "/length", { body: "{not json", headers: ["Content-Type: application/json"] }),
    request("GET", "/stream"),
  ];

  test("statuses, bodies and the headers a client reads agree request by request", async () => {
    for (const bytes of requests) {
      const head = bytes.startsWith("HEAD");
      const answers: RawResponse[] = [];
      for (const server of [lane, node]) {
        const socket = await RawSocket.open(server.url);
        await socket.write(bytes);
        answers.push(await socket.response({ head }));
        await socket.destroy();
      }
      const [fromLane, fromNode] = answers as [RawResponse, RawResponse];
      const what = bytes.split("\r\n")[0];
      assert.equal(fromLane.status, fromNode.status, what);
      assert.equal(fromLane.text, fromNode.text, what);
      for (const name of ["content-type", "location", "allow"]) {
        assert.equal(fromLane.headers.get(name), fromNode.headers.get(name), `${what}: ${name}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The seams in more detail: which side answered (Node's server emits "request" only for what it reads itself),
// bytes put back at a hand-off, asynchronous answers, bodies past ASCII, empty and streamed answers, and response
// headers the lane must frame or refuse exactly as Node does.

const Item = z.object({ name: z.string().min(1), price: z.number() });
const Tick = z.object({ n: z.int() });

/** What the handlers of {@link seamApp} saw. */
interface Seen {
  /** `GET /hit/{tag}`'s tags, in the order the handler ran. */
  readonly hits: string[];
  readonly errors: string[];
}

function seamApp(seen: Seen): App {
  const logger = {
    info: () => {},
    warn: () => {},
    error: (message: string) => void seen.errors.push(message),
  };
  return new App({ title: "seams", logger })
    .get("/hello", {}, () => ({ hello: "world" }))
    .get("/slow", {}, async () => {
      await pause(5);
      return { slow: true };
    })
    .get("/hit/{tag}", {}, ({ params }) => {
      seen.hits.push(params.tag);
      return { tag: params.tag };
    })
    .post("/items", { body: Item, status: 201 }, ({ body }) => ({ id: 1, ...body }))
    .post("/raw", {}, async ({ request }) => {
      const bytes = Buffer.from(await request.arrayBuffer());
      return { length: bytes.length, sha256: sha256(bytes) };
    })
    .get("/latin1", {}, ({ response }) => {
      response.headers.set("x-place", "Zürich café ±");
      return { city: "Zürich ✓" };
    })
    .get("/echo-header", { query: { v: z.string() } }, ({ query, response }) => {
      response.headers.set("x-echo", query.v);
      return { ok: true };
    })
    .get("/stream-header", { query: { v: z.string() } }, ({ query }) =>
      stream(["never ", "sent"], "text/plain", { headers: { "x-echo": query.v } }),
    )
    .get("/null-body", {}, () => new Response(null, { status: 200, headers: { "x-empty": "yes" } }))
    .get(
      "/empty-stream",
      {},
      () => new Response(new ReadableStream({ start: (controller) => controller.close() }), { status: 200 }),
    )
    .get("/lines", { stream: Tick }, async function* () {
      for (let n = 1; n <= 3; n++) {
        await pause(1);
        yield { n };
      }
    })
    .get("/moved", {}, () => redirect("/hello", 302));
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A chunked POST /raw of `bytes`, in two chunks. */
function chunkedRaw(bytes: Buffer, target = "/raw"): Buffer {
  const half = Math.floor(bytes.length / 2);
  const chunk = (part: Buffer) => [Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")];
  return Buffer.concat([
    Buffer.from(`POST ${target} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n`),
    ...chunk(bytes.subarray(0, half)),
    ...chunk(bytes.subarray(half)),
    Buffer.from("0\r\n\r\n"),
  ]);
}

/** A POST /raw of `bytes` with its Content-Length. */
function rawPost(bytes: Buffer, target = "/raw"): Buffer {
  const head = `POST ${target} HTTP/1.1\r\nHost: test\r\nContent-Length: ${bytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), bytes]);
}

/** Bytes past ASCII and not UTF-8 as well: the body must arrive as sent, byte for byte. */
const ODD_BYTES = Buffer.concat([Buffer.from("Grüße ✓ "), Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x0d, 0x0a])]);

/** Serves a fresh {@link seamApp}; `node` lists the targets Node's own server read, in order. */
async function serveSeams(options: { fastLane?: boolean; healthPath?: string } = {}) {
  const seen: Seen = { hits: [], errors: [] };
  const server = await serve(seamApp(seen), options);
  const node: string[] = [];
  server.server.on("request", (req: { url?: string }) => void node.push(req.url ?? ""));
  return { server, seen, node };
}

after(destroyAllSockets);

describe("fast lane: which side answers, and the bytes put back at a hand-off", async () => {
  const { server, node } = await serveSeams();

  test("requests that arrive whole, pipelined, are all the lane's: Node's server reads none of them", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(
      Buffer.concat([
        Buffer.from(request("GET", "/hello?t=whole-1")),
        rawPost(ODD_BYTES, "/raw?t=whole-2"),
        Buffer.from(request("HEAD", "/hello?t=whole-3")),
        Buffer.from(request("GET", "/slow?t=whole-4")),
        Buffer.from(request("GET", "/hello?t=whole-5")),
      ]),
    );
    assertJson(await socket.response(), 200, { hello: "world" });
    assertJson(await socket.response(), 200, { length: ODD_BYTES.length, sha256: sha256(ODD_BYTES) });
    const head = await socket.response({ head: true });
    assert.equal(head.status, 200);
    assertJson(await socket.response(), 200, { slow: true });
    assertJson(await socket.response(), 200, { hello: "world" });
    assert.deepEqual(
      node.filter((url) => url.includes("t=whole")),
      [],
    );
  });

  test("after a chunked POST hands the connection off, Node's server reads every later request on it", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/hello?t=after-1"));
    assertJson(await socket.response(), 200, { hello: "world" });
    await socket.write(chunkedRaw(ODD_BYTES, "/raw?t=after-2"));
    assertJson(await socket.response(), 200, { length: ODD_BYTES.length, sha256: sha256(ODD_BYTES) });
    await socket.write(request("GET", "/hello?t=after-3"));
    assertJson(await socket.response(), 200, { hello: "world" });
    assert.deepEqual(
      node.filter((url) => url.includes("t=after")),
      ["/raw?t=after-2", "/hello?t=after-3"],
    );
  });

  test("a whole request and the start of the next: the lane answers the first, Node the next from the bytes put back and the rest", async () => {
    const socket = await RawSocket.open(server.url);
    const second = rawPost(ODD_BYTES, "/raw?t=rest-2");
    // The first write ends inside the second request's head; the second brings the rest of it and its body.
    await socket.write(
      Buffer.concat([Buffer.from(request("GET", "/hello?t=rest-1")), second.subarray(0, 30)]),
    );
    assertJson(await socket.response(), 200, { hello: "world" });
    await pause(20);
    await socket.write(Buffer.concat([second.subarray(30), Buffer.from(request("GET", "/hello?t=rest-3"))]));
    assertJson(await socket.response(), 200, { length: ODD_BYTES.length, sha256: sha256(ODD_BYTES) });
    assertJson(await socket.response(), 200, { hello: "world" });
    assert.deepEqual(
      node.filter((url) => url.includes("t=rest")),
      ["/raw?t=rest-2", "/hello?t=rest-3"],
    );
  });

  test("a whole request whose body is cut between two writes: Node reads the body from the bytes put back and the rest", async () => {
    const socket = await RawSocket.open(server.url);
    const bytes = rawPost(ODD_BYTES, "/raw?t=body-1");
    await socket.write(bytes.subarray(0, bytes.length - 4));
    await pause(20);
    await socket.write(bytes.subarray(bytes.length - 4));
    assertJson(await socket.response(), 200, { length: ODD_BYTES.length, sha256: sha256(ODD_BYTES) });
  });

  test("a hand-off behind an answer still being computed keeps the order of the answers", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(
      Buffer.concat([
        Buffer.from(request("GET", "/slow?t=busy-1")),
        chunkedRaw(ODD_BYTES, "/raw?t=busy-2"),
        Buffer.from(request("GET", "/hit/busy-3?t=busy-3")),
      ]),
    );
    assertJson(await socket.response(), 200, { slow: true });
    assertJson(await socket.response(), 200, { length: ODD_BYTES.length, sha256: sha256(ODD_BYTES) });
    assertJson(await socket.response(), 200, { tag: "busy-3" });
    assert.deepEqual(
      node.filter((url) => url.includes("t=busy")),
      ["/raw?t=busy-2", "/hit/busy-3?t=busy-3"],
    );
  });

  test("a body one byte over 64 KiB is Node's, and arrives byte for byte", async () => {
    const body = Buffer.alloc(LANE_BODY_BYTES + 1);
    for (let index = 0; index < body.length; index++) body[index] = (index * 7) & 0xff;
    const socket = await RawSocket.open(server.url);
    await socket.write(Buffer.concat([rawPost(body, "/raw?t=big-1"), Buffer.from(request("GET", "/hello"))]));
    assertJson(await socket.response(), 200, { length: body.length, sha256: sha256(body) });
    assertJson(await socket.response(), 200, { hello: "world" });
    assert.deepEqual(
      node.filter((url) => url.includes("t=big")),
      ["/raw?t=big-1"],
    );
  });

  test("a JSON body past ASCII is validated and echoed exactly by the lane", async () => {
    const json = Buffer.from(JSON.stringify({ name: "Grüße ✓ 𝄞", price: 2.5 }));
    const head = `POST /items?t=json-1 HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`;
    const socket = await RawSocket.open(server.url);
    await socket.write(Buffer.concat([Buffer.from(head), json]));
    const response = await socket.response();
    assertJson(response, 201, { id: 1, name: "Grüße ✓ 𝄞", price: 2.5 });
    assert.equal(response.headers.get("content-length"), String(response.body.length));
    assert.deepEqual(
      node.filter((url) => url.includes("t=json")),
      [],
    );
  });
});

describe("fast lane: empty, streamed and HEAD answers are delimited", async () => {
  const { server, node } = await serveSeams();

  test("a web Response with a null body says Content-Length: 0, and the next answer follows it", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/null-body?t=null") + request("GET", "/hello"));
    const empty = await socket.response();
    assert.equal(empty.status, 200);
    assert.equal(empty.headers.get("x-empty"), "yes");
    assert.equal(empty.headers.get("content-length"), "0");
    assert.equal(empty.body.length, 0);
    assertJson(await socket.response(), 200, { hello: "world" });
    assert.deepEqual(
      node.filter((url) => url.includes("t=null")),
      [],
    );
  });

  test("a redirect has Content-Length: 0 and no body, and the next answer follows it", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/moved") + request("GET", "/hello"));
    const moved = await socket.response();
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.get("location"), "/hello");
    assert.equal(moved.headers.get("content-length"), "0");
    assertJson(await socket.response(), 200, { hello: "world" });
  });

  test("a stream that ends at once is a complete empty answer, and the next answer follows it", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/empty-stream") + request("GET", "/hello"));
    const empty = await socket.response();
    assert.equal(empty.status, 200);
    assert.notEqual(empty.framing, "close", "an empty streamed answer must be delimited");
    assert.equal(empty.body.length, 0);
    assertJson(await socket.response(), 200, { hello: "world" });
  });

  test("a JSON Lines stream from an async generator arrives chunked and whole; the next request is answered", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/lines?t=lines") + request("GET", "/hit/after-lines"));
    const lines = await socket.response();
    assert.equal(lines.status, 200);
    assert.equal(lines.headers.get("content-type"), "application/jsonl");
    assert.equal(lines.framing, "chunked");
    assert.equal(lines.text, '{"n":1}\n{"n":2}\n{"n":3}\n');
    assertJson(await socket.response(), 200, { tag: "after-lines" });
    await socket.write(request("GET", "/hello"));
    assertJson(await socket.response(), 200, { hello: "world" });
    assert.deepEqual(
      node.filter((url) => url.includes("t=lines")),
      [],
    );
  });

  test("HEAD of a streamed route has no body, and the next answer follows it", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("HEAD", "/lines") + request("GET", "/hello"));
    const head = await socket.response({ head: true });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-type"), "application/jsonl");
    assertJson(await socket.response(), 200, { hello: "world" });
  });
});

describe("fast lane: the end of a connection, with answers still being computed", async () => {
  const { server, seen, node } = await serveSeams();

  test("Connection: close on an answer computed asynchronously: it says close, and the request behind it never runs", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(
      request("GET", "/slow", { headers: ["Connection: close"] }) + request("GET", "/hit/behind-close"),
    );
    const responses = await socket.untilClosed();
    assert.equal(responses.length, 1);
    assertJson(responses[0]!, 200, { slow: true });
    assert.ok(saysClose(responses[0]!));
    assert.ok(!seen.hits.includes("behind-close"), "the request after Connection: close was processed");
  });

  test("Connection: close on a POST with a body: answered, then closed", async () => {
    const socket = await RawSocket.open(server.url);
    const bytes = rawPost(ODD_BYTES);
    const withClose = Buffer.from(
      bytes.toString("latin1").replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"),
      "latin1",
    );
    await socket.write(Buffer.concat([withClose, Buffer.from(request("GET", "/hit/behind-post"))]));
    const responses = await socket.untilClosed();
    assert.equal(responses.length, 1);
    assertJson(responses[0]!, 200, { length: ODD_BYTES.length, sha256: sha256(ODD_BYTES) });
    assert.ok(saysClose(responses[0]!));
    assert.ok(!seen.hits.includes("behind-post"));
  });

  for (const fastLane of [true, false]) {
    for (const [header, tag] of [
      ["Proxy-Connection: close", "proxy"],
      ["Proxy-Connection: keep-alive\r\nConnection: close", "both"],
    ] as const) {
      test(`${header.replace("\r\n", " + ")} closes the connection after its answer, and the request pipelined behind it never runs (lane ${fastLane ? "on" : "off"})`, async () => {
        // Node's parser reads Proxy-Connection as Connection; the lane must not keep open what Node would close.
        const seams = fastLane ? { server, seen } : await serveSeams({ fastLane: false });
        const behind = `behind-${tag}-${fastLane}`;
        const socket = await RawSocket.open(seams.server.url);
        await socket.write(
          request("GET", "/hello", { headers: [header] }) +
            request("GET", `/hit/${behind}`, { headers: [header] }),
        );
        const responses = await socket.untilClosed();
        assert.equal(responses.length, 1);
        assertJson(responses[0]!, 200, { hello: "world" });
        assert.ok(saysClose(responses[0]!));
        await pause(50);
        assert.ok(!seams.seen.hits.includes(behind), "the request behind Proxy-Connection: close was run");
        if (!fastLane) await seams.server.close();
      });
    }
  }

  test("Proxy-Connection: keep-alive keeps the connection open, as Connection: keep-alive does", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(
      request("GET", "/hello", { headers: ["Proxy-Connection: keep-alive"] }) +
        request("GET", "/hit/after-proxy-keep"),
    );
    assertJson(await socket.response(), 200, { hello: "world" });
    assertJson(await socket.response(), 200, { tag: "after-proxy-keep" });
    assert.equal(await socket.stillOpenAfter(50), true);
  });

  test("a client that half-closes while its answer is being computed still gets it, then the server closes", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/slow") + request("GET", "/hit/half-closed"));
    socket.end();
    const responses = await socket.untilClosed();
    assert.equal(responses.length, 2);
    assertJson(responses[0]!, 200, { slow: true });
    assertJson(responses[1]!, 200, { tag: "half-closed" });
  });

  test("a client that half-closes while its answer is being computed, with a chunked request behind it (Node's): the first is answered, the second never runs, and the server closes", async () => {
    // Node's server cannot be given a connection whose client has ended, and with the lane off it answers neither:
    // the lane answers what it can, and closes rather than half-reading what it cannot.
    const before = node.length;
    const socket = await RawSocket.open(server.url);
    await socket.write(Buffer.concat([Buffer.from(request("GET", "/slow")), chunkedRaw(ODD_BYTES)]));
    socket.end();
    const responses = await socket.untilClosed();
    assert.equal(responses.length, 1);
    assertJson(responses[0]!, 200, { slow: true });
    assert.equal(node.length, before, "Node's server saw a request");
  });

  test("a client that half-closes after one request gets its answer, then the server closes", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/hello"));
    socket.end();
    const responses = await socket.untilClosed();
    assert.equal(responses.length, 1);
    assertJson(responses[0]!, 200, { hello: "world" });
  });
});

describe("fast lane: response headers set by a handler", async () => {
  const { server, seen, node } = await serveSeams();

  test("a header value past ASCII (latin1) arrives byte for byte, with the UTF-8 body intact", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(request("GET", "/latin1?t=latin1") + request("GET", "/hello"));
    const response = await socket.response();
    assertJson(response, 200, { city: "Zürich ✓" });
    // The raw parser reads the head as latin1: one byte per character, so UTF-8 would show as "ZÃ¼rich".
    assert.equal(response.headers.get("x-place"), "Zürich café ±");
    assert.equal(response.headers.get("content-length"), String(Buffer.byteLength('{"city":"Zürich ✓"}')));
    assertJson(await socket.response(), 200, { hello: "world" });
    assert.deepEqual(
      node.filter((url) => url.includes("t=latin1")),
      [],
    );
  });

  test("a header value with CR LF never splits the answer: 500, and the next request on the connection is answered", async () => {
    const socket = await RawSocket.open(server.url);
    await socket.write(
      request("GET", "/echo-header?v=a%0D%0ASet-Cookie:%20evil=1") + request("GET", "/hello"),
    );
    const failed = await socket.response();
    assert.equal(failed.status, 500, failed.text);
    assert.equal(failed.headers.get("set-cookie"), undefined);
    assert.ok(
      !failed.rawHeaders.some(([, value]) => /[\r\n]/.test(value)),
      JSON.stringify(failed.rawHeaders),
    );
    assertJson(await socket.response(), 200, { hello: "world" });
    seen.errors.splice(0);
  });

  for (const [route, what] of [
    ["/echo-header", "a plain answer"],
    ["/stream-header", "a streamed answer"],
  ] as const) {
    test(`${what} with a header value HTTP refuses but Headers allows (0x01): 500, and the value is never sent`, async () => {
      const socket = await RawSocket.open(server.url);
      await socket.write(request("GET", `${route}?v=a%01b`) + request("GET", "/hello"));
      const failed = await socket.response();
      assert.equal(failed.status, 500, failed.text);
      assert.equal(failed.headers.get("x-echo"), undefined);
      assert.ok(!failed.text.includes("never"), "nothing of the failed body is sent");
      assertJson(await socket.response(), 200, { hello: "world" });
      assert.ok(seen.errors.length > 0, "the failure is logged");
      seen.errors.splice(0);
    });
  }
});

describe("fast lane: the same answers with the lane off, on one connection", async () => {
  const lane = await serveSeams({ healthPath: "/healthz" });
  const off = await serveSeams({ fastLane: false, healthPath: "/healthz" });
  const exchanges: readonly (readonly [what: string, bytes: Buffer, head: boolean])[] = [
    ["GET /hello", Buffer.from(request("GET", "/hello")), false],
    ["HEAD /hello", Buffer.from(request("HEAD", "/hello")), true],
    ["GET /healthz", Buffer.from(request("GET", "/healthz")), false],
    ["POST /items", Buffer.from(request("POST", "/items", { json: { name: "n", price: 1 } })), false],
    [
      "POST /items invalid",
      Buffer.from(request("POST", "/items", { json: { name: "", price: "x" } })),
      false,
    ],
    ["POST /raw odd bytes", rawPost(ODD_BYTES), false],
    ["POST /raw chunked", chunkedRaw(ODD_BYTES), false],
    ["GET /missing", Buffer.from(request("GET", "/missing")), false],
    ["DELETE /hello", Buffer.from(request("DELETE", "/hello")), false],
    ["GET /latin1", Buffer.from(request("GET", "/latin1")), false],
    ["GET /null-body", Buffer.from(request("GET", "/null-body")), false],
    ["GET /empty-stream", Buffer.from(request("GET", "/empty-stream")), false],
    ["GET /lines", Buffer.from(request("GET", "/lines")), false],
    ["HEAD /lines", Buffer.from(request("HEAD", "/lines")), true],
    ["GET /moved", Buffer.from(request("GET", "/moved")), false],
    ["GET /echo-header CR LF", Buffer.from(request("GET", "/echo-header?v=a%0D%0Ab")), false],
    ["GET /echo-header 0x01", Buffer.from(request("GET", "/echo-header?v=a%01b")), false],
    ["GET /stream-header 0x01", Buffer.from(request("GET", "/stream-header?v=a%01b")), false],
  ];

  /** What a client reads of each answer, every exchange in turn on one connection. */
  async function answers(url: string): Promise<unknown[]> {
    const socket = await RawSocket.open(url);
    const read: unknown[] = [];
    for (const [what, bytes, head] of exchanges) {
      await socket.write(bytes);
      const response = await socket.response({ head });
      read.push({
        what,
        status: response.status,
        body: response.body.toString("latin1"),
        delimited: response.framing !== "close",
        ...Object.fromEntries(
          ["content-type", "location", "allow", "x-place", "x-empty", "x-echo", "cache-control"].map(
            (name) => [name, response.headers.get(name)],
          ),
        ),
      });
    }
    await socket.destroy();
    return read;
  }

  test("statuses, bodies and headers agree, exchange by exchange", async () => {
    const fromLane = await answers(lane.server.url);
    const fromNode = await answers(off.server.url);
    for (let index = 0; index < exchanges.length; index++) assert.deepEqual(fromLane[index], fromNode[index]);
    assert.equal(off.node.length, exchanges.length, "with the lane off, Node's server reads every request");
    assert.ok(
      lane.node.length < exchanges.length,
      "with the lane on, it answers the requests that arrive whole before the chunked one",
    );
  });
});
