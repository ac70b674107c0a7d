import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfigFile, parseConfig } from "../../src/config/load.js";
import { TestCa } from "../helpers/certs.js";

const HASH = "a".repeat(64);
const valid = () => ({
  workspaces: [
    {
      id: "acme",
      difyBaseUrl: "https://dify.example.com/v1/",
      tokens: [{ sha256: HASH }],
      apps: [{ appId: "app-1", key: { env: "APP1_KEY" } }],
    },
  ],
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
      workspaces: [
        {
          id: "bad id!",
          difyBaseUrl: "ftp://x",
          tokens: [{ sha256: "plaintext-token" }],
          apps: [{ appId: "a", key: "inline-key" }],
          extra: 1,
        },
      ],
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

  it("refuses an app key an HTTP header cannot carry, without showing it (every call failed as 'Dify unreachable')", () => {
    for (const key of ["app-first-line\nsecond-line", "app-zero\u200bwidth", "app with space"]) {
      const found = problems(valid(), { APP1_KEY: key });
      expect(found).toEqual([expect.stringMatching(/^workspaces\.0\.apps\.0\.key: the key holds a character an HTTP header cannot carry/)]);
      expect(found.join("\n")).not.toContain("app-");
    }
    // The file's final newline is trimmed, as before.
    expect(parseConfig(valid(), "t", { APP1_KEY: "app-secret\n" }).workspaces[0]!.apps.get("app-1")!.key.reveal()).toBe("app-secret");
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

  it("reports each kind of problem with its field path", () => {
    const ws = valid().workspaces[0]!;
    const cases: [unknown, RegExp][] = [
      [{}, /^workspaces: /],
      [{ workspaces: [] }, /^workspaces: /],
      [{ workspaces: [{ ...ws, apps: [] }] }, /^workspaces\.0\.apps: /],
      [{ workspaces: [{ ...ws, tokens: [] }] }, /^workspaces\.0\.tokens: no caller can reach this workspace/],
      [{ workspaces: [{ ...ws, spiffeIds: ["spiffe://td/a"] }] }, /^workspaces\.0\.spiffeIds: nothing verifies mesh identities/],
      [
        { auth: { xfcc: { enabled: true } }, workspaces: [{ ...ws, spiffeIds: ["https://not-spiffe"] }] },
        /^workspaces\.0\.spiffeIds\.0: must be a SPIFFE ID/,
      ],
      [{ workspaces: [{ ...ws, apps: [{ appId: "a", key: { env: "K" }, mode: "chatbot" }] }] }, /^workspaces\.0\.apps\.0\.mode: /],
      [{ workspaces: [{ ...ws, apps: [{ appId: "a", key: { env: "K", file: "f" } }] }] }, /^workspaces\.0\.apps\.0\.key: /],
      // Requests may not carry a longer app_id, so such an app could never be called.
      [{ workspaces: [{ ...ws, apps: [{ appId: "a".repeat(257), key: { env: "K" } }] }] }, /^workspaces\.0\.apps\.0\.appId: /],
      [{ workspaces: [ws], upstream: { idleTimeoutMs: 0 } }, /^upstream\.idleTimeoutMs: /],
      [{ workspaces: [ws], upstream: { idleTimeout: 5 } }, /^upstream: .*idleTimeout/],
      [{ workspaces: [ws], log: { level: "verbose" } }, /^log\.level: /],
      [{ workspaces: [ws], server: { tls: { certFile: "c.pem" } } }, /^server\.tls\.keyFile: /],
      [{ workspaces: [ws], server: { listen: "0.0.0.0" } }, /^server\.listen: must be host:port/],
    ];
    for (const [doc, expected] of cases) expect(problems(doc)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it("gives each workspace its own concurrency limit, or the global one", () => {
    const ws = valid().workspaces[0]!;
    const doc = {
      limits: { maxConcurrentCallsPerWorkspace: 5 },
      workspaces: [ws, { ...ws, id: "big", tokens: [{ sha256: "b".repeat(64) }], maxConcurrentCalls: 50 }],
    };
    expect(parseConfig(doc, "test.yaml", { APP1_KEY: "k" }).workspaces.map((w) => [w.id, w.maxConcurrentCalls])).toEqual([
      ["acme", 5],
      ["big", 50],
    ]);
    const defaults = parseConfig(valid(), "test.yaml", { APP1_KEY: "k" });
    expect(defaults.limits.maxConcurrentCallsPerWorkspace).toBe(100);
    expect(defaults.workspaces[0]!.maxConcurrentCalls).toBe(100);
    expect(defaults.server.maxMetadataBytes).toBe(8192);
    expect(problems({ ...valid(), limits: { maxConcurrentCallsPerWorkspace: 0 } })).toEqual([
      expect.stringMatching(/^limits\.maxConcurrentCallsPerWorkspace: /),
    ]);
    expect(problems({ workspaces: [{ ...ws, maxConcurrentCalls: 1.5 }] })).toEqual([
      expect.stringMatching(/^workspaces\.0\.maxConcurrentCalls: /),
    ]);
    expect(problems({ ...valid(), server: { maxMetadataBytes: 0 } })).toEqual([expect.stringMatching(/^server\.maxMetadataBytes: /)]);
  });

  it("gives each workspace its rates and token budget, or the global ones, and leaves them unlimited by default", () => {
    const ws = valid().workspaces[0]!;
    const doc = {
      limits: { requestsPerMinutePerWorkspace: 60, requestsPerMinutePerToken: 10, tokensPerDayPerWorkspace: 1_000_000 },
      workspaces: [
        ws,
        { ...ws, id: "big", tokens: [{ sha256: "b".repeat(64) }], requestsPerMinute: 600, requestsPerMinutePerToken: 100, tokensPerDay: 5 },
      ],
    };
    const limits = (w: { requestsPerMinute?: number; requestsPerMinutePerToken?: number; tokensPerDay?: number }) => [
      w.requestsPerMinute,
      w.requestsPerMinutePerToken,
      w.tokensPerDay,
    ];
    expect(parseConfig(doc, "test.yaml", { APP1_KEY: "k" }).workspaces.map(limits)).toEqual([
      [60, 10, 1_000_000],
      [600, 100, 5],
    ]);
    const defaults = parseConfig(valid(), "test.yaml", { APP1_KEY: "k" });
    expect(limits(defaults.workspaces[0]!)).toEqual([undefined, undefined, undefined]);
    expect(defaults.limits.redis).toBeUndefined();
    expect(problems({ ...valid(), limits: { tokensPerDayPerWorkspace: 0 } })).toEqual([
      expect.stringMatching(/^limits\.tokensPerDayPerWorkspace: /),
    ]);
  });

  it("reads limits.redis with its defaults and its password from a reference, never from the URL", () => {
    const redis = (settings: Record<string, unknown>) => ({ ...valid(), limits: { redis: settings } });
    const parsed = parseConfig(redis({ url: "rediss://limiter@redis.example:6380/2", password: { env: "REDIS_PASSWORD" } }), "t", {
      APP1_KEY: "k",
      REDIS_PASSWORD: "redis-secret-5d4c",
    }).limits.redis!;
    expect(parsed).toMatchObject({ onUnavailable: "open", leaseMs: 15_000, commandTimeoutMs: 500, keyPrefix: "dify-gw:", cluster: false });
    expect(parsed.password?.reveal()).toBe("redis-secret-5d4c");
    expect(inspect(parsed)).not.toContain("redis-secret-5d4c");
    expect(problems(redis({ url: "redis://:inline-secret@redis:6379" }))).toEqual([
      "limits.redis.url: must not contain a password: set limits.redis.password",
    ]);
    // ioredis ignores a query, so a ?password=… would be silently unused and printed by check-config.
    expect(problems(redis({ url: "redis://redis:6379/0?password=inline-secret" }))).toEqual([
      "limits.redis.url: must not contain a query (?…): set limits.redis.password, tls via rediss://",
    ]);
    expect(problems(redis({ url: "redis://redis:6379/abc" }))).toEqual([
      "limits.redis.url: the path must be a database number, e.g. redis://redis:6379/0",
    ]);
    expect(problems(redis({ url: "http://redis:6379" }))).toEqual([
      expect.stringMatching(/^limits\.redis\.url: must be a redis:\/\/ or rediss:\/\//),
    ]);
    expect(problems(redis({ url: "redis://redis:6379", password: { env: "MISSING" } }))).toEqual([
      "limits.redis.password.env: environment variable MISSING is not set",
    ]);
    expect(problems(redis({ url: "redis://redis:6379", onUnavailable: "maybe", leaseMs: 100 }))).toEqual([
      expect.stringMatching(/^limits\.redis\.onUnavailable: /),
      expect.stringMatching(/^limits\.redis\.leaseMs: /),
    ]);
  });

  it("rejects a SPIFFE ID mapped to two workspaces", () => {
    const ws = valid().workspaces[0]!;
    const doc = {
      auth: { xfcc: { enabled: true } },
      workspaces: [
        { ...ws, spiffeIds: ["spiffe://td/a"] },
        { ...ws, id: "other", tokens: [], spiffeIds: ["spiffe://td/a"] },
      ],
    };
    expect(problems(doc)).toEqual(['workspaces.1.spiffeIds.0: "spiffe://td/a" is configured for two workspaces']);
  });

  it("names the TLS file to fix when it is no PEM, or the key is not the certificate's", () => {
    const ca = new TestCa();
    const server = ca.server();
    writeFileSync(join(ca.dir, "junk.pem"), "not a pem\n");
    const tlsProblems = (tls: Record<string, string>) => {
      try {
        const file = join(ca.dir, "gateway.json");
        writeFileSync(file, JSON.stringify({ ...valid(), server: { tls } }));
        loadConfigFile(file, { APP1_KEY: "app-k" });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(tlsProblems({ certFile: server.certFile, keyFile: server.keyFile })).toEqual([]);
    // Served without a word by the TLS stack, and then every client's handshake fails.
    const expired = ca.expiredServer();
    expect(tlsProblems({ certFile: expired.certFile, keyFile: expired.keyFile })).toEqual([
      "server.tls.certFile: the certificate expired on 2001-01-01T00:00:00.000Z: renew it",
    ]);
    expect(tlsProblems({ certFile: server.certFile, keyFile: ca.ca.keyFile })).toEqual([
      "server.tls.keyFile: this key does not belong to the certificate in certFile",
    ]);
    expect(tlsProblems({ certFile: join(ca.dir, "junk.pem"), keyFile: server.keyFile })).toEqual([
      "server.tls.certFile: not a usable PEM certificate (no start line)",
    ]);
    expect(tlsProblems({ certFile: server.certFile, keyFile: join(ca.dir, "junk.pem") })).toEqual([
      // OpenSSL's reason varies with its version ("unsupported" on OpenSSL 3's decoder).
      expect.stringMatching(/^server\.tls\.keyFile: not a usable PEM private key \(.+\)$/),
    ]);
    expect(tlsProblems({ certFile: server.certFile, keyFile: server.keyFile, clientCaFile: join(ca.dir, "junk.pem") })).toEqual([
      "server.tls.clientCaFile: not a usable PEM certificate (no start line)",
    ]);
  });

  it("reads key and TLS files relative to the config file, naming each one it cannot read", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    writeFileSync(join(dir, "chat.key"), "app-from-file\n");
    const doc = {
      server: { tls: { certFile: "tls/cert.pem", keyFile: "tls/key.pem" } },
      workspaces: [
        {
          ...valid().workspaces[0]!,
          apps: [
            { appId: "a", key: { file: "chat.key" } },
            { appId: "b", key: { file: "gone.key" } },
          ],
        },
      ],
    };
    writeFileSync(join(dir, "gateway.json"), JSON.stringify(doc));
    try {
      loadConfigFile(join(dir, "gateway.json"), {});
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        `server.tls.certFile: cannot read ${join(dir, "tls/cert.pem")}: ENOENT`,
        `server.tls.keyFile: cannot read ${join(dir, "tls/key.pem")}: ENOENT`,
        `workspaces.0.apps.1.key.file: cannot read ${join(dir, "gone.key")}: ENOENT`,
      ]);
    }
    delete (doc.server as { tls?: unknown }).tls;
    doc.workspaces[0]!.apps.pop();
    writeFileSync(join(dir, "gateway.json"), JSON.stringify(doc));
    const app = loadConfigFile(join(dir, "gateway.json"), {}).workspaces[0]!.apps.get("a")!;
    expect(app.key.reveal()).toBe("app-from-file");
    expect(app.keySource).toBe(`file ${join(dir, "chat.key")}`);
  });

  it("never echoes a secret pasted where a reference belongs", () => {
    const ws = valid().workspaces[0]!;
    const doc = {
      workspaces: [{ ...ws, tokens: [{ sha256: "tok-pasted-in-clear-9f8e" }], apps: [{ appId: "a", key: "app-pasted-inline-7d6c" }] }],
    };
    const text = problems(doc).join("\n");
    expect(text).toMatch(/tokens\.0\.sha256/);
    expect(text).toMatch(/apps\.0\.key/);
    expect(text).not.toContain("tok-pasted-in-clear-9f8e");
    expect(text).not.toContain("app-pasted-inline-7d6c");
  });
});
