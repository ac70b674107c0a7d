import type { PeerCertificate } from "node:tls";
import { describe, expect, it } from "vitest";
import { type Credentials, sha256, WorkspaceRegistry } from "../../src/auth/registry.js";
import { parseConfig } from "../../src/config/load.js";

const ws = (id: string, tokens: string[], spiffeIds: string[] = []) => ({
  id,
  difyBaseUrl: "http://127.0.0.1:1/v1",
  tokens: tokens.map((t) => ({ sha256: sha256(t).toString("hex") })),
  spiffeIds,
  apps: [{ appId: "a", key: { env: "K" } }],
});

const { workspaces } = parseConfig(
  {
    auth: { xfcc: { enabled: true } },
    workspaces: [ws("one", ["t1", "t1-rotated"], ["spiffe://td/one"]), ws("two", ["t2"]), ws("mesh", [], ["spiffe://td/mesh"])],
  },
  "test",
  { K: "k" },
);
/** With XFCC off, mesh identities come from client certificates (an mTLS deployment). */
const registryOf = (xfcc: boolean) => new WorkspaceRegistry({ workspaces, auth: { xfcc: { enabled: xfcc } } });

const creds = (c: Partial<Credentials>): Credentials => ({ authorization: [], xfcc: undefined, peerCertificate: undefined, ...c });
const cert = (uri: string) => ({ subjectaltname: `URI:${uri}` }) as PeerCertificate;

describe("WorkspaceRegistry.authenticate", () => {
  const registry = registryOf(false);

  it("resolves each token to its one workspace", () => {
    expect(registry.authenticate("t1")?.id).toBe("one");
    expect(registry.authenticate("t1-rotated")?.id).toBe("one");
    expect(registry.authenticate("t2")?.id).toBe("two");
  });

  it("knows no other token, prefix or variant", () => {
    for (const t of ["", "t", "t1 ", "T1", "t3", sha256("t1").toString("hex")]) expect(registry.authenticate(t)).toBeUndefined();
  });
});

describe("WorkspaceRegistry.authenticate with many workspaces", () => {
  const many = Array.from({ length: 300 }, (_, i) => ws(`ws-${i}`, [`token-${i}-a`, `token-${i}-b`]));
  const big = new WorkspaceRegistry({
    workspaces: parseConfig({ workspaces: many }, "test", { K: "k" }).workspaces,
    auth: { xfcc: { enabled: false } },
  });

  it("finds every token's own workspace, never a neighbour's", () => {
    for (const i of [0, 1, 150, 298, 299]) {
      expect(big.authenticate(`token-${i}-a`)?.id).toBe(`ws-${i}`);
      expect(big.authenticate(`token-${i}-b`)?.id).toBe(`ws-${i}`);
    }
  });

  it("rejects tokens that are not configured, including a configured token's digest", () => {
    for (const t of ["token-300-a", "token-1-c", "token-1-", sha256("token-1-a").toString("hex"), ""])
      expect(big.authenticate(t)).toBeUndefined();
  });
});

describe("WorkspaceRegistry.resolve", () => {
  const trusting = registryOf(true);
  const ignoring = registryOf(false);

  it("accepts one well-formed bearer token", () => {
    expect(trusting.resolve(creds({ authorization: ["Bearer t2"] }))?.caller?.workspace.id).toBe("two");
    expect(trusting.resolve(creds({ authorization: ["bearer   t2 "] }))?.caller?.workspace.id).toBe("two");
  });

  it("rejects missing, malformed, unknown and repeated tokens", () => {
    for (const authorization of [[], ["t2"], ["Basic t2"], ["Bearer"], ["Bearer t2 extra"], ["Bearer nope"], ["Bearer t1", "Bearer t1"]])
      expect(trusting.resolve(creds({ authorization }))).toBeUndefined();
  });

  it("maps an XFCC SPIFFE ID only when XFCC is trusted", () => {
    const xfcc = "By=spiffe://td/gw;URI=spiffe://td/mesh";
    expect(trusting.resolve(creds({ xfcc }))?.caller?.workspace.id).toBe("mesh");
    expect(ignoring.resolve(creds({ xfcc }))).toBeUndefined();
  });

  it("maps a verified client certificate whatever the XFCC setting", () => {
    expect(ignoring.resolve(creds({ peerCertificate: cert("spiffe://td/mesh") }))?.caller?.workspace.id).toBe("mesh");
  });

  it("lets an unmapped mesh identity fall back to the token", () => {
    expect(trusting.resolve(creds({ authorization: ["Bearer t2"], xfcc: "URI=spiffe://td/unknown" }))?.caller?.workspace.id).toBe("two");
    expect(trusting.resolve(creds({ xfcc: "URI=spiffe://td/unknown" }))).toBeUndefined();
  });

  it("rejects credentials that name two different workspaces", () => {
    expect(trusting.resolve(creds({ authorization: ["Bearer t2"], xfcc: "URI=spiffe://td/mesh" }))).toBeUndefined();
    expect(trusting.resolve(creds({ peerCertificate: cert("spiffe://td/one"), xfcc: "URI=spiffe://td/mesh" }))).toBeUndefined();
    expect(trusting.resolve(creds({ authorization: ["Bearer t1"], xfcc: "URI=spiffe://td/one" }))?.caller?.workspace.id).toBe("one");
  });

  it("never lets a bad token through because a mesh identity is valid", () => {
    expect(trusting.resolve(creds({ authorization: ["Bearer wrong"], xfcc: "URI=spiffe://td/mesh" }))).toBeUndefined();
  });
});

describe("token scope and expiry", () => {
  const { workspaces: scoped } = parseConfig(
    {
      workspaces: [
        {
          id: "s",
          difyBaseUrl: "http://127.0.0.1:1/v1",
          tokens: [
            { sha256: sha256("valid").toString("hex"), name: "valid", apps: ["a"] },
            { sha256: sha256("expiring").toString("hex"), expiresAt: "2030-01-01T00:00:00Z" },
          ],
          apps: [{ appId: "a", key: { env: "K" } }],
        },
      ],
    },
    "test",
    { K: "k" },
  );
  const registry = new WorkspaceRegistry({ workspaces: scoped, auth: { xfcc: { enabled: false } } });
  const expiry = Date.parse("2030-01-01T00:00:00Z");

  it("hands the verified token, with its apps, to the call", () => {
    const caller = registry.resolve(creds({ authorization: ["Bearer valid"] }))?.caller;
    expect(caller?.token?.label).toBe("valid");
    expect([...caller!.token!.apps!]).toEqual(["a"]);
  });

  it("a token works until the millisecond before its expiresAt, and is expired from then on", () => {
    const bearerExpiring = creds({ authorization: ["Bearer expiring"] });
    expect(registry.resolve(bearerExpiring, expiry - 1)?.caller?.workspace.id).toBe("s");
    expect(registry.resolve(bearerExpiring, expiry)?.expired?.token.label).toMatch(/^sha256:/);
    expect(registry.resolve(bearerExpiring, expiry)?.caller).toBeUndefined();
    expect(registry.authenticate("expiring", expiry)).toBeUndefined();
  });
});

describe("WorkspaceRegistry caller ids", () => {
  const registry = registryOf(true);

  it("names each token apart by its digest, never by the token, for per-token limits", () => {
    const a = registry.resolve(creds({ authorization: ["Bearer t1"] }));
    const b = registry.resolve(creds({ authorization: ["Bearer t1-rotated"] }));
    expect(a?.caller?.workspace.id).toBe("one");
    expect(a?.caller?.id).toBe(`token:${sha256("t1").toString("hex", 0, 8)}`);
    expect(b?.caller?.id).not.toBe(a?.caller?.id);
    expect(a?.caller?.id).not.toContain("t1-");
  });

  it("names a mesh caller by its SPIFFE ID, and a bearer token first when both agree", () => {
    expect(registry.resolve(creds({ xfcc: "URI=spiffe://td/mesh" }))?.caller?.id).toBe("spiffe://td/mesh");
    expect(registry.resolve(creds({ authorization: ["Bearer t1"], xfcc: "URI=spiffe://td/one" }))?.caller?.id).toBe(
      `token:${sha256("t1").toString("hex", 0, 8)}`,
    );
    expect(registry.resolve(creds({ authorization: ["Bearer t2"], xfcc: "URI=spiffe://td/one" }))).toBeUndefined();
  });
});
