import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema } from "../../src/config/schema.js";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("the README's complete config example", () => {
  it("is valid against the schema the gateway uses", () => {
    const block = /### A complete example\s+```yaml\n([\s\S]*?)```/.exec(README)?.[1];
    expect(block).toBeDefined();
    const parsed = configSchema.safeParse(parse(block!));
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    expect(parsed.data?.workspaces.map((w) => w.id)).toEqual(["acme", "globex"]);
  });
});
