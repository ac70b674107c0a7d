import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfigFile, parseConfig } from "../../src/config/load.js";

const HASH = "a".repeat(64);
const valid = () => ({
  workspaces: [{ id: "acme", difyBaseUrl: "https://dify.example.com/v1/", tokens: [{ sha256: HASH }], apps: [{ appId: "app-1", key: { env: "APP1_KEY" } }] }],
});

function problems(doc: unknown, env: NodeJS.ProcessEnv = { APP1_KEY: "app-secret" }): string[] {
  try {
    parseConfig(doc, "test.yaml", env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error("expected the config to be rejected");
}

describe("config", () => {
  it("parses a minimal file into one typed object with defaults", () => {
    const cfg = parseConfig(valid(), "test.yaml", { APP1_KEY: " app-secret\n" });
    expect(cfg.server.listen).toBe("0.0.0.0:50051");
    expect(cfg.upstream.idleTimeoutMs).toBe(60_000);
    const ws = cfg.workspaces[0]!;
    expect(ws.difyBaseUrl).toBe("https://dify.example.com/v1");
    expect(ws.defaultUser).toBe("dify-grpc-gateway");
    expect(ws.apps.get("app-1")?.key.reveal()).toBe("app-secret");
  });

  it("never shows an app key when the config is logged or inspected", () => {
    const cfg = parseConfig(valid(), "test.yaml", { APP1_KEY: "app-secret" });
    expect(JSON.stringify(cfg.workspaces[0]!.apps.get("app-1"))).not.toContain("app-secret");
    expect(inspect(cfg, { depth: 10 })).not.toContain("app-secret");
  });

  it("names the field path of every problem at once", () => {
    const doc = {
      server: { listen: "nope" },
      workspaces: [{ id: "bad id!", difyBaseUrl: "ftp://x", tokens: [{ sha256: "plaintext-token" }], apps: [{ appId: "a", key: "inline-key" }], extra: 1 }],
    };
    const found = problems(doc);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.listen: /),
        expect.stringMatching(/^workspaces\.0\.id: /),
        expect.stringMatching(/^workspaces\.0\.difyBaseUrl: /),
        expect.stringMatching(/^workspaces\.0\.tokens\.0\.sha256: .*hash-token/),
        expect.stringMatching(/^workspaces\.0\.apps\.0\.key: /),
        expect.stringMatching(/extra/),
      ]),
    );
    expect(found.join("\n")).not.toContain("plaintext-token");
  });

  it("reports a missing key variable by its path", () => {
    expect(problems(valid(), {})).toEqual(["workspaces.0.apps.0.key.env: environment variable APP1_KEY is not set"]);
  });

  it("rejects duplicate workspaces, apps and a token shared by two workspaces", () => {
    const ws = valid().workspaces[0]!;
    const doc = { workspaces: [{ ...ws, apps: [ws.apps[0], ws.apps[0]] }, { ...ws }] };
    expect(problems(doc)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^workspaces\.0\.apps\.1\.appId: duplicate/),
        expect.stringMatching(/^workspaces\.1\.id: duplicate/),
        expect.stringMatching(/^workspaces\.1\.tokens\.0\.sha256: /),
      ]),
    );
  });

  it("names the file when it cannot be read or parsed", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    expect(() => loadConfigFile(join(dir, "missing.yaml"))).toThrow(/missing\.yaml[\s\S]*ENOENT/);
    writeFileSync(join(dir, "bad.yaml"), "workspaces: [unclosed");
    expect(() => loadConfigFile(join(dir, "bad.yaml"))).toThrow(/bad\.yaml[\s\S]*not valid YAML/);
  });
});
