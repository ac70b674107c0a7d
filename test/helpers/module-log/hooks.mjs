// The resolve hook of preload.mjs: one line per ES module (or import of a CommonJS one) resolved.
import { appendFileSync } from "node:fs";

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(file, `esm ${resolved.url}\n`);
  return resolved;
}
