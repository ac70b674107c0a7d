#!/usr/bin/env node
// Issue 18: what a stream holds, by constructor. Compares two heap snapshots (e.g. keep-probe.mjs --snapshot with 1
// stream and with N) and prints, per kind of node (type and constructor or function name), the count and self size
// of the difference divided by N; the largest first.
//   node --max-old-space-size=4096 scripts/experiments/snapshot-diff.mjs A.heapsnapshot B.heapsnapshot N [top]
import { readFileSync } from "node:fs";

function tally(file) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const {
    node_fields: fields,
    node_types: [types],
  } = snap.snapshot.meta;
  const width = fields.length;
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const out = new Map();
  const { nodes, strings, edges, locations } = snap;
  const edgeFields = snap.snapshot.meta.edge_fields;
  const edgeTypes = snap.snapshot.meta.edge_types[0];
  const ew = edgeFields.length;
  const [eType, eName] = ["type", "name_or_index"].map((f) => edgeFields.indexOf(f));
  const iEdges = fields.indexOf("edge_count");
  // A closure's source position (script id, line, column), from the snapshot's locations.
  const where = new Map();
  const lw = snap.snapshot.meta.location_fields.length;
  for (let i = 0; i < locations.length; i += lw) where.set(locations[i], `${locations[i + 1]}:${locations[i + 2] + 1}:${locations[i + 3]}`);
  let edge = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    const edgeCount = nodes[i + iEdges];
    // Strings and code are grouped by type only: their names are their contents.
    let name =
      type === "object" || type === "closure" || type === "native" || type === "array" || type === "hidden"
        ? strings[nodes[i + iName]]
        : "";
    if (type === "closure") name = `${name}@${where.get(i) ?? "?"}`;
    if (type === "object" && name === "Object" && DETAIL) {
      // A plain object by its first property names: what it is for.
      const props = [];
      for (let e = edge; e < edge + edgeCount * ew && props.length < 4; e += ew)
        if (edgeTypes[edges[e + eType]] === "property") props.push(strings[edges[e + eName]]);
      name = `Object{${props.join(",")}}`;
    }
    edge += edgeCount * ew;
    const key = `${type}:${name.slice(0, 80)}`;
    const row = out.get(key) ?? { count: 0, size: 0 };
    row.count++;
    row.size += nodes[i + iSize];
    out.set(key, row);
  }
  return out;
}

const DETAIL = true; // plain objects named by their first properties
const [a, b, n, top = "40"] = process.argv.slice(2);
const before = tally(a);
const after = tally(b);
const per = Number(n);
const rows = [...after].map(([key, r]) => {
  const base = before.get(key) ?? { count: 0, size: 0 };
  return { key, count: (r.count - base.count) / per, bytes: (r.size - base.size) / per };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((s, r) => s + r.bytes, 0);
console.log(`total self size per stream: ${(total / 1024).toFixed(1)} KiB`);
for (const r of rows.slice(0, Number(top))) console.log(`${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(1).padStart(7)}  ${r.key}`);
