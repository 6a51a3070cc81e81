import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isBriskError } from "../src/errors.ts";
import { type Forwarded, parseTrustedProxies, readForwarded } from "../src/internal/forwarded.ts";

const NONE: Forwarded = { proto: undefined, host: undefined, client: undefined, prefix: undefined };

// `peer` is not defaulted, so a test can pass undefined.
function read(headers: Record<string, string>, peer: string | undefined, list = "127.0.0.1"): Forwarded {
  return readForwarded((name) => headers[name], peer, parseTrustedProxies(list));
}

const client = (xff: string, list: string, peer = "10.0.0.1") =>
  read({ "x-forwarded-for": xff }, peer, list).client;
const proto = (value: string) => read({ "x-forwarded-proto": value }, "127.0.0.1").proto;
const host = (value: string) => read({ "x-forwarded-host": value }, "127.0.0.1").host;
const prefix = (value: string) => read({ "x-forwarded-prefix": value }, "127.0.0.1").prefix;

function assertTrust(list: string, trusted: (string | undefined)[], untrusted: (string | undefined)[]): void {
  const proxies = parseTrustedProxies(list);
  for (const address of trusted) assert.equal(proxies.trusts(address), true, `${list} trusts ${address}`);
  for (const address of untrusted)
    assert.equal(proxies.trusts(address), false, `${list} distrusts ${address}`);
}

describe("parseTrustedProxies", () => {
  it("trusts single IPv4 and IPv6 addresses, and nothing else", () => {
    assertTrust("127.0.0.1", ["127.0.0.1"], ["127.0.0.2", "10.0.0.1", "::1", "", "localhost", undefined]);
    assertTrust("::1", ["::1", "0:0:0:0:0:0:0:1", "[::1]"], ["::2", "127.0.0.1", undefined]);
    assertTrust("2001:DB8::1", ["2001:db8::1", "2001:0db8:0:0:0:0:0:1"], ["2001:db8::2"]);
  });

  it("matches CIDR networks at their edges", () => {
    assertTrust("10.0.0.0/8", ["10.0.0.0", "10.255.255.255", "10.1.2.3"], ["9.255.255.255", "11.0.0.0"]);
    assertTrust("192.168.1.7/32", ["192.168.1.7"], ["192.168.1.6", "192.168.1.8"]);
    assertTrust("0.0.0.0/0", ["0.0.0.0", "255.255.255.255", "8.8.8.8"], ["::1", "2001:db8::1"]);
    assertTrust(
      "fd00::/8",
      ["fd00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd12::1"],
      ["fc00::1", "fe00::"],
    );
    assertTrust("2001:db8::1/128", ["2001:db8::1"], ["2001:db8::", "2001:db8::2"]);
    assertTrust("::/0", ["::", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], ["unknown"]);
  });

  it("matches IPv4-mapped IPv6 peers against IPv4 entries, and the other way round", () => {
    assertTrust(
      "127.0.0.1,10.0.0.0/8",
      ["::ffff:127.0.0.1", "::FFFF:7f00:1", "[::ffff:127.0.0.1]", "::ffff:10.9.8.7"],
      ["::ffff:127.0.0.2", "::127.0.0.1", "::ffff:11.0.0.0"],
    );
    assertTrust("::ffff:127.0.0.1", ["127.0.0.1", "::ffff:127.0.0.1"], ["127.0.0.2"]);
    assertTrust("::ffff:10.0.0.0/104", ["10.1.2.3", "::ffff:10.1.2.3"], ["11.0.0.0"]);
  });

  it("reads addresses written with brackets, ports or zones", () => {
    assertTrust(
      "127.0.0.1,fe80::/10",
      ["127.0.0.1:8080", " 127.0.0.1 ", "fe80::1%eth0", "[fe80::1%eth0]:443", "[fe80::1]"],
      ["127.0.0.1:", "127.0.0.1:port", "[127.0.0.1]", "[fe80::1", "[fe80::1]x", "fe80::1%", "1.2.3.4%eth0"],
    );
  });

  it('trusts every peer, even an unknown one, for "*"', () => {
    assertTrust("*", ["1.2.3.4", "::1", "anything", undefined], []);
    assertTrust("127.0.0.1, *", ["8.8.8.8"], []);
  });

  it("ignores whitespace around entries and keeps the text as given", () => {
    const proxies = parseTrustedProxies(" 127.0.0.1 ,\t10.0.0.0/8 , ::1 ");
    assert.equal(proxies.text, " 127.0.0.1 ,\t10.0.0.0/8 , ::1 ");
    assert.equal(proxies.trusts("10.2.3.4"), true);
    assert.equal(proxies.trusts("::1"), true);
  });

  it("throws BRISK_INVALID_OPTION naming each bad entry", () => {
    const bad = [
      ["localhost", "localhost"],
      ["127.0.0.1,", ""],
      ["", ""],
      ["10.0.0.0/33", "10.0.0.0/33"],
      ["::/129", "::/129"],
      ["10.0.0.0/", "10.0.0.0/"],
      ["10.0.0.0/-1", "10.0.0.0/-1"],
      ["10.0.0.0/8/8", "10.0.0.0/8/8"],
      ["10.0.0.0/ 8", "10.0.0.0/ 8"],
      ["10.0.0.1/8", "10.0.0.1/8"],
      ["fd00::1/8", "fd00::1/8"],
      ["127.0.0.1, 300.1.1.1", "300.1.1.1"],
      ["01.2.3.4", "01.2.3.4"],
      ["[::1]", "[::1]"],
      ["fe80::1%eth0", "fe80::1%eth0"],
      ["127.0.0.1:80", "127.0.0.1:80"],
      ["**", "**"],
      ["*, nope", "nope"],
    ] as const;
    for (const [list, entry] of bad) {
      assert.throws(
        () => parseTrustedProxies(list),
        (error) =>
          isBriskError(error) &&
          error.code === "BRISK_INVALID_OPTION" &&
          error.message.includes(`"${entry}"`),
        list,
      );
    }
  });

  it("says why a network is refused", () => {
    assert.throws(() => parseTrustedProxies("10.0.0.0/33"), /prefix length outside 0-32/);
    assert.throws(() => parseTrustedProxies("::/200"), /prefix length outside 0-128/);
    assert.throws(() => parseTrustedProxies("10.0.0.1/8"), /host bits set/);
  });
});

describe("readForwarded", () => {
  const all = {
    "x-forwarded-proto": "https",
    "x-forwarded-host": "example.com",
    "x-forwarded-for": "203.0.113.9",
    "x-forwarded-prefix": "/content/abc",
  };

  it("reads every header from a trusted peer", () => {
    assert.deepEqual(read(all, "127.0.0.1"), {
      proto: "https",
      host: "example.com",
      client: "203.0.113.9",
      prefix: "/content/abc",
    });
  });

  it("ignores every header from an untrusted or unknown peer", () => {
    assert.deepEqual(read(all, "10.0.0.1"), NONE);
    assert.deepEqual(read(all, "garbage"), NONE);
    assert.deepEqual(read(all, undefined), NONE);
    assert.deepEqual(read(all, "::ffff:127.0.0.2"), NONE);
  });

  it("reads the headers from a mapped peer and, with *, from an unknown peer", () => {
    assert.equal(read(all, "::ffff:127.0.0.1").client, "203.0.113.9");
    assert.equal(read(all, undefined, "*").client, "203.0.113.9");
  });

  it("is all undefined when no header is sent", () => {
    assert.deepEqual(read({}, "127.0.0.1"), NONE);
  });

  it("asks only for lower-case X-Forwarded-* names", () => {
    const asked: string[] = [];
    readForwarded((name) => void asked.push(name), "127.0.0.1", parseTrustedProxies("127.0.0.1"));
    assert.deepEqual(asked.sort(), [
      "x-forwarded-for",
      "x-forwarded-host",
      "x-forwarded-prefix",
      "x-forwarded-proto",
    ]);
    assert.equal(
      readForwarded(
        () => assert.fail("untrusted peers are not read"),
        "8.8.8.8",
        parseTrustedProxies("127.0.0.1"),
      ).host,
      undefined,
    );
  });
});

describe("X-Forwarded-For", () => {
  it("skips trusted proxies from the right; the first untrusted entry is the client", () => {
    const list = "10.0.0.0/8";
    assert.equal(client("203.0.113.9", list), "203.0.113.9");
    assert.equal(client("203.0.113.9, 10.0.0.2", list), "203.0.113.9");
    assert.equal(client("203.0.113.9,10.0.0.3, 10.0.0.2", list), "203.0.113.9");
    assert.equal(client("198.51.100.1, 203.0.113.9, 10.0.0.3, 10.0.0.2", list), "203.0.113.9");
  });

  it("never lets a client choose itself by prepending entries", () => {
    // The client sent "X-Forwarded-For: 10.0.0.5, 1.1.1.1" itself; the trusted proxy appended its peer.
    assert.equal(client("10.0.0.5, 1.1.1.1, 203.0.113.9", "10.0.0.0/8"), "203.0.113.9");
    assert.equal(client("127.0.0.1, 203.0.113.9", "127.0.0.1", "127.0.0.1"), "203.0.113.9");
  });

  it("uses the leftmost entry when every entry is trusted, or for *", () => {
    assert.equal(client("10.0.0.9, 10.0.0.3, 10.0.0.2", "10.0.0.0/8"), "10.0.0.9");
    assert.equal(client("198.51.100.1, 203.0.113.9, 10.0.0.2", "*"), "198.51.100.1");
  });

  it("matches entries in any spelling and returns the address without brackets or port", () => {
    assert.equal(client("2001:db8::7, ::ffff:10.0.0.2", "10.0.0.0/8"), "2001:db8::7");
    assert.equal(client("[2001:db8::7]:4711, [fd00::1]:80", "fd00::/8", "fd00::2"), "2001:db8::7");
    assert.equal(client(" 203.0.113.9:5555 , 10.0.0.2:80", "10.0.0.0/8"), "203.0.113.9");
    assert.equal(client("fe80::1%eth0", "10.0.0.0/8"), "fe80::1%eth0");
  });

  it("is undefined when the chosen entry is not an address, without looking further left", () => {
    assert.equal(client("203.0.113.9, unknown, 10.0.0.2", "10.0.0.0/8"), undefined);
    assert.equal(client("203.0.113.9, , 10.0.0.2", "10.0.0.0/8"), undefined);
    assert.equal(client("", "10.0.0.0/8"), undefined);
    assert.equal(client("<script>", "*"), undefined);
    assert.equal(client("[::1", "*"), undefined);
    assert.equal(client("1.2.3.4:99999999", "*"), undefined);
  });
});

describe("X-Forwarded-Proto", () => {
  it("reads http and https in any case, and ws/wss as http/https", () => {
    assert.equal(proto("https"), "https");
    assert.equal(proto("http"), "http");
    assert.equal(proto(" HTTPS "), "https");
    assert.equal(proto("Http"), "http");
    assert.equal(proto("wss"), "https");
    assert.equal(proto("ws"), "http");
  });

  it("ignores anything else, including lists", () => {
    for (const value of ["", "ftp", "https:", "https://", "httpss", "h ttps", "https, http", "javascript"]) {
      assert.equal(proto(value), undefined, value);
    }
  });
});

describe("X-Forwarded-Host", () => {
  it("reads a host with an optional port, taking the first entry of a list", () => {
    assert.equal(host("example.com"), "example.com");
    assert.equal(host(" api.example.com:8443 "), "api.example.com:8443");
    assert.equal(host("203.0.113.9:80"), "203.0.113.9:80");
    assert.equal(host("[2001:db8::1]:8080"), "[2001:db8::1]:8080");
    assert.equal(host("[::1]"), "[::1]");
    assert.equal(host("localhost"), "localhost");
    assert.equal(host("example.com."), "example.com.");
    assert.equal(host("a.example, b.example"), "a.example");
  });

  it("ignores anything that is not a plain host[:port]", () => {
    const bad = [
      "",
      " ",
      ", example.com",
      "evil.com/path",
      "a b",
      "evil.com?x",
      "evil.com#x",
      "user@evil.com",
      "evil.com:",
      "evil.com:http",
      "evil.com:65536",
      "evil.com:1:2",
      "http://evil.com",
      "a..b",
      ".example.com",
      "[nope]",
      "[1.2.3.4]",
      "::1",
      "evil\\com",
      "évil.com",
      "evil.com\r\nx: y",
      `${"a".repeat(256)}`,
    ];
    for (const value of bad) assert.equal(host(value), undefined, JSON.stringify(value));
  });
});

describe("X-Forwarded-Prefix", () => {
  it("reads a path prefix without its trailing slashes, keeping percent-escapes", () => {
    assert.equal(prefix("/content/abc"), "/content/abc");
    assert.equal(prefix("/content/abc/"), "/content/abc");
    assert.equal(prefix("/api//"), "/api");
    assert.equal(prefix(" /api "), "/api");
    assert.equal(prefix("/caf%C3%A9/a%2Fb"), "/caf%C3%A9/a%2Fb");
    assert.equal(prefix("/v1.0/...x/.well-known"), "/v1.0/...x/.well-known");
    assert.equal(prefix("/a, /b"), "/a");
  });

  it("treats a bare slash as no prefix", () => {
    assert.equal(prefix("/"), undefined);
    assert.equal(prefix("///"), undefined);
  });

  it("ignores anything that is not a safe absolute path", () => {
    const bad = [
      "",
      "api",
      "//evil.com",
      "//evil.com/x/",
      "/a/../b",
      "/a/..",
      "/../a",
      "/a/./b",
      "/a/%2e%2E/b",
      "/a/.%2e",
      "/a?b=1",
      "/a#b",
      "/a b",
      "/a\tb",
      "/a\u0000b",
      "/a\u007fb",
      "/a\\b",
      "/é",
      "/a%zz",
      "/a%2",
      "http://evil.com/a",
      `/${"a".repeat(1024)}`,
    ];
    for (const value of bad) assert.equal(prefix(value), undefined, JSON.stringify(value));
  });
});
