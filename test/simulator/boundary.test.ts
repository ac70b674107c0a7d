/** The simulator is a dev tool beside the gateway: no gateway source may import it, so no gateway build can contain it. */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name));
}

/** Every module specifier in a file: static imports and exports, and import() with a string literal. */
function specifiers(source: string): string[] {
  const found = [...source.matchAll(/\bfrom\s+["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|\bimport\s+["']([^"']+)["']/g)];
  return found.map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

it("no file under src/ imports the simulator", () => {
  const files = sourcesUnder(join(ROOT, "src"));
  expect(files.length).toBeGreaterThan(20);
  const offenders = files.flatMap((file) =>
    specifiers(readFileSync(file, "utf8"))
      .filter((s) => /(^|\/)simulator(\/|$)/.test(s))
      .map((s) => `${relative(ROOT, file)}: ${s}`),
  );
  expect(offenders).toEqual([]);
});

it("the scan sees a simulator import when there is one", () => {
  expect(specifiers(`import { DEMO_APPS } from "../../simulator/index.js";`)).toEqual(["../../simulator/index.js"]);
  expect(specifiers(`const m = await import("../simulator/server.js");`)).toEqual(["../simulator/server.js"]);
});
