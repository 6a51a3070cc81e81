// The matcher against find-my-way on 205 routes: `npm run bench:router`. Nanoseconds per lookup; compare within one run.
import FindMyWay from "find-my-way";
import { Matcher } from "../src/matcher.ts";
import { compilePath } from "../src/path.ts";

// The bench's routes plus a realistic spread: 50 resources with list/one/sub routes.
const routes: [string, string][] = [
  ["GET", "/greetings"],
  ["GET", "/greetings/{lang}"],
  ["POST", "/items"],
  ["GET", "/items"],
  ["GET", "/items/{item_id}"],
];
for (let i = 0; i < 50; i++)
  routes.push(
    ["GET", `/r${i}`],
    ["GET", `/r${i}/{id}`],
    ["POST", `/r${i}`],
    ["GET", `/r${i}/{id}/sub/{sub_id}`],
  );
const ours = new Matcher<number>();
const fmw = FindMyWay();
routes.forEach(([method, path], index) => {
  ours.add([method], compilePath(path), index);
  fmw.on(method as "GET", path.replace(/\{(\w+)\}/g, ":$1"), () => index);
});
const lookups: [string, string][] = [
  ["GET", "/greetings"],
  ["GET", "/greetings/en"],
  ["GET", "/items"],
  ["GET", "/r25/42"],
  ["GET", "/r49/7/sub/9"],
  ["GET", "/nope/x"],
];
function time(name: string, fn: (m: string, p: string) => unknown) {
  for (let i = 0; i < 200000; i++) for (const [m, p] of lookups) fn(m, p);
  const t = process.hrtime.bigint();
  for (let i = 0; i < 500000; i++) for (const [m, p] of lookups) fn(m, p);
  console.log(
    name.padEnd(12),
    (Number(process.hrtime.bigint() - t) / 500000 / lookups.length).toFixed(1),
    "ns per lookup",
  );
}
for (let r = 0; r < 2; r++) {
  time("brisk", (m, p) => ours.match(m, p));
  time("find-my-way", (m, p) => fmw.find(m as "GET", p));
}
for (const [m, p] of lookups) {
  const a = ours.match(m, p);
  const b = fmw.find(m as "GET", p);
  console.log(m, p, a.kind === "found" ? a.value : a.kind, b ? (b.handler as () => number)() : null);
}
