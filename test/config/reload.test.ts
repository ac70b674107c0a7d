import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { restartRequired } from "../../src/config/reload.js";

const doc = (over: Record<string, unknown> = {}) => ({
  workspaces: [
    { id: "acme", difyBaseUrl: "http://127.0.0.1:1/v1", tokens: [{ sha256: "a".repeat(64) }], apps: [{ appId: "a", key: { env: "K" } }] },
  ],
  ...over,
});
const parse = (d: unknown, key = "k") => parseConfig(d, "test", { K: key });

describe("restartRequired", () => {
  it("is empty when only reloadable settings change", () => {
    const next = parse(
      doc({
        log: { level: "debug" },
        upstream: { idleTimeoutMs: 5 },
        auth: { xfcc: { enabled: true } },
        limits: { maxConcurrentCallsPerWorkspace: 3 },
      }),
      "rotated-key",
    );
    expect(restartRequired(parse(doc()), next)).toEqual([]);
  });

  it("names the settings bound at start-up", () => {
    const next = parse(
      doc({ server: { listen: "127.0.0.1:1", maxReceiveMessageBytes: 10, maxMetadataBytes: 10 }, upstream: { connectTimeoutMs: 1 } }),
    );
    expect(restartRequired(parse(doc()), next)).toEqual([
      "server.listen",
      "server.maxReceiveMessageBytes",
      "server.maxMetadataBytes",
      "upstream.connectTimeoutMs",
    ]);
  });
});
