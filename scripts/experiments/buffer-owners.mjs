#!/usr/bin/env node
// Who holds the ArrayBuffer memory in a heap snapshot (issue 18, slow readers). Not part of npm test.
//   node scripts/experiments/buffer-owners.mjs Heap.x.heapsnapshot [streams] [depth]
// Every backing store ("system / JSArrayBufferData" node) is attributed to the chain of object constructors that
// retains it (shortest retainer path from the GC roots, weak edges ignored), cut at `depth` objects; the
// chains are grouped and printed with their total bytes, count, and bytes per stream.
import { readFileSync } from "node:fs";

const [file, streamsArg, depthArg] = process.argv.slice(2);
const streams = Number(streamsArg ?? 1);
const depth = Number(depthArg ?? 6);
const snap = JSON.parse(readFileSync(file, "utf8"));
const m = snap.snapshot.meta;
const nf = m.node_fields.length;
const ef = m.edge_fields.length;
const nodeTypes = m.node_types[0];
const edgeTypes = m.edge_types[0];
const { nodes, edges, strings } = snap;
const N = nodes.length / nf;
const iType = m.node_fields.indexOf("type");
const iName = m.node_fields.indexOf("name");
const iSize = m.node_fields.indexOf("self_size");
const iEdges = m.node_fields.indexOf("edge_count");
const eType = m.edge_fields.indexOf("type");
const eName = m.edge_fields.indexOf("name_or_index");
const eTo = m.edge_fields.indexOf("to_node");

// BFS from the root (node 0) over non-weak edges: each node's parent on a shortest path.
const firstEdge = new Uint32Array(N + 1);
for (let i = 0, e = 0; i < N; i++) {
  firstEdge[i] = e;
  e += nodes[i * nf + iEdges];
}
firstEdge[N] = edges.length / ef;
const parent = new Int32Array(N).fill(-1);
const parentEdge = new Int32Array(N).fill(-1);
parent[0] = 0;
const queue = new Int32Array(N);
let head = 0;
let tail = 0;
queue[tail++] = 0;
while (head < tail) {
  const n = queue[head++];
  for (let e = firstEdge[n]; e < firstEdge[n + 1]; e++) {
    const t = edgeTypes[edges[e * ef + eType]];
    if (t === "weak" || t === "shortcut") continue;
    const to = edges[e * ef + eTo] / nf;
    if (parent[to] !== -1) continue;
    parent[to] = n;
    parentEdge[to] = e;
    queue[tail++] = to;
  }
}

const nameOf = (n) => strings[nodes[n * nf + iName]];
const typeOf = (n) => nodeTypes[nodes[n * nf + iType]];
const groups = new Map();
let total = 0;
for (let n = 0; n < N; n++) {
  if (typeOf(n) !== "native" || !nameOf(n).includes("JSArrayBufferData")) continue;
  const size = nodes[n * nf + iSize];
  total += size;
  const chain = [];
  let c = n;
  let steps = 0;
  while (c > 0 && chain.length < depth && steps++ < 60) {
    const p = parent[c];
    if (p === -1) {
      chain.push("(unreachable)");
      break;
    }
    if (typeOf(p) === "object" || typeOf(p) === "closure") {
      const e = parentEdge[c];
      const en = edgeTypes[edges[e * ef + eType]] === "element" ? "[]" : strings[edges[e * ef + eName]];
      const label = `${nameOf(p)}.${en}`;
      if (chain.at(-1) !== label) chain.push(label);
    }
    c = p;
  }
  const key = chain.join(" < ");
  const g = groups.get(key) ?? { bytes: 0, count: 0 };
  g.bytes += size;
  g.count++;
  groups.set(key, g);
}
console.log(`backing stores: ${(total / 2 ** 20).toFixed(1)} MiB, ${(total / streams / 1024).toFixed(1)} KiB per stream`);
for (const [key, g] of [...groups].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, 25))
  console.log(
    `${(g.bytes / 2 ** 20).toFixed(2).padStart(7)} MiB ${String(g.count).padStart(6)} ${(g.bytes / streams / 1024).toFixed(1).padStart(6)} KiB/stream  ${key}`,
  );
