import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.js";

/* What an operator reads when a config is wrong: the field, and what to write instead, all in one pass. */

const HASH = "a".repeat(64);
const INLINE_KEY = "app-inline-secret-9f8e7d";

function problems(doc: unknown, env: NodeJS.ProcessEnv = { KEY: "app-from-env" }): string[] {
  try {
    parseConfig(doc, "test.yaml", env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error("expected the config to be refused");
}

const ws = (apps: unknown[], extra: Record<string, unknown> = {}) => ({
  id: "acme",
  difyBaseUrl: "http://dify.internal/v1",
  tokens: [{ sha256: HASH }],
  apps,
  ...extra,
});

describe("config messages", () => {
  it("an inline app key names the field and what to write instead, and never echoes the key", () => {
    const out = problems({ workspaces: [ws([{ appId: "a", key: INLINE_KEY }])] });
    expect(out).toEqual([
      "workspaces.0.apps.0.key: an app key is never written inline (config files end up in repos and tickets): write { env: VARIABLE } or { file: path/to/key }",
    ]);
    expect(out.join("\n")).not.toContain(INLINE_KEY);
  });

  it("an unknown field is named; a key that is no field name (a secret on a line of its own) is not echoed", () => {
    const token = { sha256: HASH, [INLINE_KEY]: null, nmae: "x" };
    const out = problems({ workspaces: [ws([{ appId: "a", key: { env: "KEY" } }], { tokens: [token] })] });
    expect(out).toEqual(['workspaces.0.tokens.0: unrecognized keys (a key that is no field name, not shown), "nmae"']);
    expect(out.join("\n")).not.toContain(INLINE_KEY);
  });

  it("a key object of another shape names the two shapes", () => {
    const out = problems({ workspaces: [ws([{ appId: "a", key: { value: INLINE_KEY } }])] });
    expect(out).toEqual(["workspaces.0.apps.0.key: must be { env: VARIABLE } or { file: path/to/key } (one of the two, nothing else)"]);
  });

  it("a duplicate appId is reported together with the other errors of the same workspace", () => {
    const out = problems({
      workspaces: [
        ws([
          { appId: "a", key: { env: "KEY" } },
          { appId: "a", key: INLINE_KEY },
        ]),
      ],
    });
    expect(out).toContain('workspaces.0.apps.1.appId: duplicate appId "a"');
    expect(out.some((p) => p.startsWith("workspaces.0.apps.1.key: an app key is never written inline"))).toBe(true);
  });

  it("a duplicate appId and a duplicate workspace id come with errors elsewhere in the file, each once", () => {
    const out = problems({
      server: { listen: 50051 },
      workspaces: [
        ws([
          { appId: "a", key: { env: "KEY" } },
          { appId: "a", key: { env: "KEY" } },
        ]),
        ws([{ appId: "b", key: { env: "KEY" } }]),
      ],
    });
    expect(out.filter((p) => p.startsWith("server.listen: "))).toHaveLength(1);
    expect(out.filter((p) => p === 'workspaces.0.apps.1.appId: duplicate appId "a"')).toHaveLength(1);
    expect(out.filter((p) => p === 'workspaces.1.id: duplicate workspace id "acme"')).toHaveLength(1);
  });

  it("a difyBaseUrl that is not a URL is one problem among the others, not a crash", () => {
    const out = problems({ workspaces: [ws([], { difyBaseUrl: "not-a-url" })] });
    expect(out.some((p) => p.startsWith("workspaces.0.difyBaseUrl: "))).toBe(true);
    expect(out.some((p) => p.startsWith("workspaces.0.apps: "))).toBe(true);
  });

  it("a valid config still loads", () => {
    expect(parseConfig({ workspaces: [ws([{ appId: "a", key: { env: "KEY" } }])] }, "t", { KEY: "k" }).workspaces[0]?.apps.size).toBe(1);
  });
});

describe("scoped tokens", () => {
  const app = { appId: "a", key: { env: "KEY" } };
  const withToken = (token: Record<string, unknown>) => ({
    workspaces: [ws([app], { tokens: [{ sha256: HASH }, { sha256: "b".repeat(64), ...token }] })],
  });

  it("an app id in a token's `apps` that the workspace does not have is named with its field", () => {
    expect(problems(withToken({ apps: ["a", "typo"] }))).toEqual([
      'workspaces.0.tokens.1.apps.1: unknown app "typo": list only appIds of this workspace\'s apps',
    ]);
  });

  it("an app key pasted into a token's `apps` is not echoed", () => {
    const key = "app-Pasted9KeyAbCdEf0123456";
    const out = problems(withToken({ apps: ["a", key] }));
    expect(out).toEqual([
      "workspaces.0.tokens.1.apps.1: unknown app (not shown: it looks like an app key): list only appIds of this workspace's apps",
    ]);
  });

  it("an empty `apps` would lock the token out: refused, with what to write instead", () => {
    expect(problems(withToken({ apps: [] }))).toEqual([
      "workspaces.0.tokens.1.apps: must list at least one app id (leave `apps` out for every app)",
    ]);
  });

  it("expiresAt must be an ISO 8601 date-time with a zone", () => {
    for (const expiresAt of ["2026-01-31", "2026-01-31T00:00:00", "tomorrow"])
      expect(problems(withToken({ expiresAt }))).toEqual([
        "workspaces.0.tokens.1.expiresAt: must be an ISO 8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z",
      ]);
  });

  it("two tokens of one workspace may not share a name (metrics could not tell them apart)", () => {
    const doc = {
      workspaces: [
        ws([app], {
          tokens: [
            { sha256: HASH, name: "plugin" },
            { sha256: "b".repeat(64), name: "plugin" },
          ],
        }),
      ],
    };
    expect(problems(doc)).toEqual(['workspaces.0.tokens.1.name: duplicate token name "plugin" in this workspace']);
  });

  it("a token hash listed twice in one workspace is refused: the last entry would widen a scoped token unseen", () => {
    const doc = {
      workspaces: [
        ws([app], {
          tokens: [
            { sha256: HASH, name: "scoped", apps: ["a"] },
            { sha256: HASH, name: "legacy" },
          ],
        }),
      ],
    };
    expect(problems(doc)).toEqual([
      "workspaces.0.tokens.1.sha256: the same token hash is listed twice in this workspace: keep one entry per token",
    ]);
  });

  it("a duration past what Node's timers can wait is refused, naming the field (it would fire at once)", () => {
    const doc = { upstream: { idleTimeoutMs: 2_592_000_000 }, shutdown: { graceMs: 2_147_483_647 }, workspaces: [ws([app])] };
    expect(problems(doc)).toEqual([
      "upstream.idleTimeoutMs: must be at most 2147483647 ms (~24.8 days): Node's timers fire at once past that",
    ]);
  });

  it("metrics on server.listen's port is refused before either binds", () => {
    const doc = { server: { listen: "0.0.0.0:50051" }, metrics: { listen: "127.0.0.1:50051" }, workspaces: [ws([app])] };
    expect(problems(doc)).toEqual(["metrics.listen: port 50051 is server.listen's too: give metrics a port of its own (default 9464)"]);
  });

  it("an empty file and a URL without its scheme each get one line saying what to write", () => {
    expect(problems(null)).toEqual(["the file holds no settings: it needs at least `workspaces` (README, Configuration)"]);
    expect(problems({ workspaces: [{ ...ws([app]), difyBaseUrl: "dify.example.com/v1" }] })).toEqual([
      "workspaces.0.difyBaseUrl: must be an http:// or https:// URL ending in Dify's /v1, e.g. https://dify.example.com/v1",
    ]);
  });

  it("a valid scoped token loads with its apps, expiry and name", () => {
    const cfg = parseConfig(withToken({ name: "plugin-a", apps: ["a"], expiresAt: "2030-01-01T00:00:00+01:00" }), "t", { KEY: "k" });
    const token = cfg.workspaces[0]!.tokens[1]!;
    expect(token).toMatchObject({ label: "plugin-a", expiresAt: Date.parse("2029-12-31T23:00:00Z") });
    expect([...token.apps!]).toEqual(["a"]);
    expect(cfg.workspaces[0]!.tokens[0]).toMatchObject({ label: `sha256:${HASH.slice(0, 12)}`, apps: undefined, expiresAt: undefined });
  });
});
