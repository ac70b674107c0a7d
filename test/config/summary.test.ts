import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { parseConfig } from "../../src/config/load.js";
import { summarize } from "../../src/config/summary.js";

describe("summarize (check-config)", () => {
  const token = "tok-summary-3c2b1a0f9e8d7c6b";
  const key = "app-summary-key-1a2b3c";
  const config = parseConfig(
    {
      auth: { xfcc: { enabled: true } },
      workspaces: [
        {
          id: "acme",
          difyBaseUrl: "https://dify.example.com/v1",
          tokens: [
            { sha256: sha256(token).toString("hex") },
            { sha256: sha256("scoped").toString("hex"), name: "plugin-a", apps: ["app-1"], expiresAt: "2030-01-01T00:00:00Z" },
          ],
          spiffeIds: ["spiffe://cluster.local/ns/plugins/sa/acme"],
          maxConcurrentCalls: 7,
          apps: [{ appId: "app-1", key: { env: "ACME_KEY" }, mode: "workflow" }],
        },
      ],
    },
    "gw.yaml",
    { ACME_KEY: key },
  );
  const text = summarize(config, "gw.yaml");

  it("shows the settings, identities and where each key comes from", () => {
    expect(text).toContain("gw.yaml: valid");
    expect(text).toContain("listen 0.0.0.0:50051, tls off");
    expect(text).toContain("x-forwarded-client-cert trusted");
    expect(text).toContain("acme: dify https://dify.example.com/v1");
    expect(text).toContain("2 tokens, at most 7 concurrent calls");
    expect(text).toContain("token plugin-a: apps app-1, expires 2030-01-01T00:00:00.000Z");
    expect(text).toContain("upstream.retry: maxAttempts 3, initialBackoffMs 100, maxBackoffMs 1000, budgetRatio 0.1, maxRetryAfterMs 2000");
    expect(text).toContain("limits: maxConcurrentCallsPerWorkspace 100");
    expect(text).toContain("maxMetadataBytes 8192");
    expect(text).toContain("identity spiffe://cluster.local/ns/plugins/sa/acme");
    expect(text).toContain("app app-1: mode workflow, key from env ACME_KEY");
  });

  it("flags a token already past its expiresAt, with what to do", () => {
    const later = summarize(config, "gw.yaml", Date.parse("2030-01-01T00:00:00Z"));
    expect(later).toContain(
      "token plugin-a: apps app-1, EXPIRED 2030-01-01T00:00:00.000Z: its callers are refused; issue a new token and remove this entry",
    );
  });

  it("shows no secret, not even the token's hash", () => {
    expect(text).not.toContain(key);
    expect(text).not.toContain(token);
    expect(text).not.toContain(sha256(token).toString("hex"));
  });
});
