import { describe, expect, it } from "vitest";
import { sha256, WorkspaceRegistry } from "../../src/auth/registry.js";
import { parseConfig } from "../../src/config/load.js";

const ws = (id: string, tokens: string[]) => ({
  id,
  difyBaseUrl: "http://127.0.0.1:1/v1",
  tokens: tokens.map((t) => ({ sha256: sha256(t).toString("hex") })),
  apps: [{ appId: "a", key: { env: "K" } }],
});

describe("WorkspaceRegistry", () => {
  const registry = new WorkspaceRegistry(parseConfig({ workspaces: [ws("one", ["t1", "t1-rotated"]), ws("two", ["t2"])] }, "test", { K: "k" }));

  it("resolves each token to its one workspace", () => {
    expect(registry.authenticate("t1")?.id).toBe("one");
    expect(registry.authenticate("t1-rotated")?.id).toBe("one");
    expect(registry.authenticate("t2")?.id).toBe("two");
  });

  it("knows no other token, prefix or variant", () => {
    for (const t of ["", "t", "t1 ", "T1", "t3", sha256("t1").toString("hex")]) expect(registry.authenticate(t)).toBeUndefined();
  });
});
