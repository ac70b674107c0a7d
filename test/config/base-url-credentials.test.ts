import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.js";

const doc = (difyBaseUrl: string) => ({
  workspaces: [{ id: "acme", difyBaseUrl, tokens: [{ sha256: "a".repeat(64) }], apps: [{ appId: "app-1", key: { env: "APP1_KEY" } }] }],
});

function problems(url: string): string[] {
  try {
    parseConfig(doc(url), "test.yaml", { APP1_KEY: "k" });
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
}

describe("difyBaseUrl credentials (issue 12 item 16)", () => {
  it("rejects user:password@ in the URL, naming the field and what to do instead, without echoing the secret", () => {
    for (const url of [
      "https://admin:s3cret-pass@dify.example.com/v1",
      "https://token-only@dify.example.com/v1",
      "http://:s3cret-pass@dify.example.com/v1",
    ]) {
      const found = problems(url);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^workspaces\.0\.difyBaseUrl: must not contain a user or password .*apps\[\]\.key/);
      expect(found.join("\n")).not.toContain("s3cret-pass");
    }
  });

  it("rejects a query or fragment: paths are appended to the URL, and it would be printed with whatever it held", () => {
    for (const url of ["https://dify.example.com/v1?api_key=s3cret-pass", "https://dify.example.com/v1#s3cret-pass"]) {
      const found = problems(url);
      expect(found).toEqual([
        "workspaces.0.difyBaseUrl: must not contain a query (?…) or fragment (#…): it ends with Dify's API path, e.g. https://dify.example.com/v1",
      ]);
      expect(found.join("\n")).not.toContain("s3cret-pass");
    }
  });

  it("accepts a plain URL", () => {
    expect(problems("https://dify.example.com/v1")).toEqual([]);
  });

  it("a URL that does not parse is one problem naming the field, not a crash", () => {
    const found = problems("not a url");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^workspaces\.0\.difyBaseUrl: /);
  });
});
