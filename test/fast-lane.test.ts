// The fast lane over real sockets (src/adapters/fast-lane.ts): requests it answers itself, the hand-off of a
// connection to Node's server in the middle of it, framing of what it writes, and the same answers with the lane
// off. The rest of the suite (test/hostile/ above all) runs through the lane too; this file is about the seams.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, stream } from "brisk";
import { z } from "zod";
import { LANE_BODY_BYTES } from "../src/adapters/request-head.ts";
import { type RawResponse, RawSocket, request, saysClose, serve } from "./hostile/raw-socket.ts";

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
