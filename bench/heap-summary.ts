// Heap snapshots side by side, by group of objects: `npx tsx bench/heap-summary.ts a.heapsnapshot b.heapsnapshot …`
// (e.g. those `npm run soak -- --heap-snapshots 60,300,880` writes). A group is a constructor's name, or the kind of
// the object where it has none: "(array)" for V8's internal arrays (a Map's table, an object's properties),
// "(string)", "(code)", "(closure)". Each gets its count, the bytes of its objects themselves, and the bytes they
// retain, those freed if the group's objects went away (from the dominator tree, as DevTools' Summary view; weak
// edges do not retain). The groups print ordered by the change of retained size from the first snapshot to the
// last, then the largest single retainers of the last one: a leak is a group that grows, and what holds it.
import { readFileSync } from "node:fs";

const files = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const top = Number(
  /^--top=(\d+)$/.exec(process.argv.find((arg) => arg.startsWith("--top=")) ?? "")?.[1] ?? 25,
);
if (files.length === 0) {
  console.error("usage: npx tsx bench/heap-summary.ts a.heapsnapshot [b.heapsnapshot …] [--top=25]");
  process.exit(2);
}

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Group {
  count: number;
  self: number;
  retained: number;
}

interface Summary {
  readonly file: string;
  /** Bytes of every object reachable from the root: the heap used just after a full collection. */
  readonly reachable: number;
  readonly groups: Map<string, Group>;
  readonly largest: { readonly name: string; readonly retained: number }[];
}

function summarize(file: string): Summary {
  const { snapshot, nodes, edges, strings } = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const { meta } = snapshot;
  const nodeWidth = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const typeField = meta.node_fields.indexOf("type");
  const nameField = meta.node_fields.indexOf("name");
  const selfField = meta.node_fields.indexOf("self_size");
  const edgeCountField = meta.node_fields.indexOf("edge_count");
  const edgeTypeField = meta.edge_fields.indexOf("type");
  const toField = meta.edge_fields.indexOf("to_node");
  const weak = meta.edge_types[0].indexOf("weak");
  const shortcut = meta.edge_types[0].indexOf("shortcut");
  const count = nodes.length / nodeWidth;

  const firstEdge = new Uint32Array(count + 1);
  for (let node = 0, edge = 0; node < count; node++) {
    firstEdge[node] = edge;
    edge += nodes[node * nodeWidth + edgeCountField]! * edgeWidth;
  }
  firstEdge[count] = edges.length;
  /** Calls `visit` with the target of each edge of `node` that retains (weak and shortcut edges do not). */
  const eachTarget = (node: number, visit: (target: number) => void) => {
    for (let edge = firstEdge[node]!; edge < firstEdge[node + 1]!; edge += edgeWidth) {
      const type = edges[edge + edgeTypeField];
      if (type !== weak && type !== shortcut) visit(edges[edge + toField]! / nodeWidth);
    }
  };

  // Depth-first preorder from the root (node 0). Nodes are numbered in that order from here on, so that a node's
  // dominators all have smaller numbers than it.
  const order = new Int32Array(count).fill(-1);
  const nodeAt: number[] = [];
  const parent: number[] = [];
  {
    const stack: number[] = [0];
    const parents: number[] = [-1];
    while (stack.length > 0) {
      const node = stack.pop()!;
      const from = parents.pop()!;
      if (order[node] !== -1) continue;
      order[node] = nodeAt.length;
      nodeAt.push(node);
      parent.push(from);
      eachTarget(node, (target) => {
        if (order[target] === -1) {
          stack.push(target);
          parents.push(order[node]!);
        }
      });
    }
  }
  const reached = nodeAt.length;
  const predecessors: number[][] = Array.from({ length: reached }, () => []);
  for (let at = 0; at < reached; at++)
    eachTarget(nodeAt[at]!, (target) => predecessors[order[target]!]!.push(at));

  // Immediate dominators by Cooper, Harvey and Kennedy's iteration, from the spanning tree's parents.
  const dominator = Int32Array.from(parent);
  dominator[0] = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (let at = 1; at < reached; at++) {
      let best = -1;
      for (const from of predecessors[at]!) {
        if (best === -1) {
          best = from;
          continue;
        }
        let a = best;
        let b = from;
        while (a !== b) {
          while (a > b) a = dominator[a]!;
          while (b > a) b = dominator[b]!;
        }
        best = a;
      }
      if (best !== -1 && dominator[at] !== best) {
        dominator[at] = best;
        changed = true;
      }
    }
  }
  const selfOf = (at: number) => nodes[nodeAt[at]! * nodeWidth + selfField]!;
  const retained = new Float64Array(reached);
  for (let at = 0; at < reached; at++) retained[at] = selfOf(at);
  for (let at = reached - 1; at > 0; at--) retained[dominator[at]!]! += retained[at]!;

  const typeOf = (at: number) => meta.node_types[0][nodes[nodeAt[at]! * nodeWidth + typeField]!]!;
  const nameOf = (at: number) => strings[nodes[nodeAt[at]! * nodeWidth + nameField]!]!;
  const groupOf = (at: number) => {
    const type = typeOf(at);
    if (type === "object" || type === "native") return nameOf(at);
    if (type === "concatenated string" || type === "sliced string") return "(string)";
    return `(${type})`;
  };
  // A group retains what its objects dominate, each counted once: an object under another of its group is not
  // counted again (a walk down the dominator tree keeps how many of each group are open above).
  const groups = new Map<string, Group>();
  const children: number[][] = Array.from({ length: reached }, () => []);
  for (let at = 1; at < reached; at++) children[dominator[at]!]!.push(at);
  const open = new Map<string, number>();
  const walk: { at: number; leaving: boolean }[] = [{ at: 0, leaving: false }];
  while (walk.length > 0) {
    const { at, leaving } = walk.pop()!;
    const name = groupOf(at);
    if (leaving) {
      open.set(name, open.get(name)! - 1);
      continue;
    }
    let group = groups.get(name);
    if (group === undefined) groups.set(name, (group = { count: 0, self: 0, retained: 0 }));
    group.count++;
    group.self += selfOf(at);
    const above = open.get(name) ?? 0;
    if (above === 0) group.retained += retained[at]!;
    open.set(name, above + 1);
    walk.push({ at, leaving: true });
    for (const child of children[at]!) walk.push({ at: child, leaving: false });
  }

  // The objects that retain the most, each named with the edge its dominator holds it by (a variable's name in a
  // scope, a property's name, an element's index).
  const edgeNames = meta.edge_types[0];
  const edgeNameField = meta.edge_fields.indexOf("name_or_index");
  const heldAs = (at: number) => {
    const holder = nodeAt[dominator[at]!]!;
    for (let edge = firstEdge[holder]!; edge < firstEdge[holder + 1]!; edge += edgeWidth) {
      if (edges[edge + toField]! / nodeWidth !== nodeAt[at]) continue;
      const type = edgeNames[edges[edge + edgeTypeField]!];
      const name = edges[edge + edgeNameField]!;
      return type === "element" || type === "hidden" ? `[${name}]` : `"${strings[name]}"`;
    }
    return "?";
  };
  const candidates: number[] = [];
  for (let at = 1; at < reached; at++)
    if (["object", "closure", "native"].includes(typeOf(at))) candidates.push(at);
  candidates.sort((a, b) => retained[b]! - retained[a]!);
  const largest = candidates.slice(0, 8).map((at) => {
    const group = groupOf(at) === "(closure)" ? `${nameOf(at) || "anonymous"}()` : groupOf(at);
    const holder = groupOf(dominator[at]!);
    return {
      name:
        holder === "(synthetic)"
          ? `${group}, held from the roots`
          : `${group}, held as ${heldAs(at)} by ${holder}`,
      retained: retained[at]!,
    };
  });
  return { file, reachable: retained[0]!, groups, largest };
}

const kib = (bytes: number) => (bytes / 1024).toFixed(0);
const summaries = files.map(summarize);
summaries.forEach((summary, index) => {
  console.log(`${index + 1}: ${summary.file}, ${(summary.reachable / 2 ** 20).toFixed(2)} MiB reachable`);
});
const none: Group = { count: 0, self: 0, retained: 0 };
const rows = [...new Set(summaries.flatMap((summary) => [...summary.groups.keys()]))].map((name) => ({
  name,
  groups: summaries.map((summary) => summary.groups.get(name) ?? none),
}));
const change = (row: (typeof rows)[number]) => row.groups.at(-1)!.retained - row.groups[0]!.retained;
rows.sort(
  (a, b) => Math.abs(change(b)) - Math.abs(change(a)) || b.groups[0]!.retained - a.groups[0]!.retained,
);
const columns = (index: number) =>
  `${`count ${index}`.padStart(10)}${`self ${index}`.padStart(9)}${`retained ${index}`.padStart(12)}`;
console.log(
  `\n${"group".padEnd(28)}${summaries.map((_, index) => columns(index + 1)).join("")}  (sizes in KiB)`,
);
for (const row of rows.slice(0, top)) {
  const cells = row.groups.map(
    (group) =>
      `${String(group.count).padStart(10)}${kib(group.self).padStart(9)}${kib(group.retained).padStart(12)}`,
  );
  console.log(`${row.name.slice(0, 27).padEnd(28)}${cells.join("")}`);
}
console.log(`\nlargest retainers in ${summaries.length}, KiB:`);
for (const { name, retained } of summaries.at(-1)!.largest)
  console.log(`${kib(retained).padStart(10)}  ${name}`);
