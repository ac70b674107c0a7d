import { createHash, timingSafeEqual } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import type { GatewayConfig, Workspace } from "../config/config.js";
import { certSpiffeIds, xfccSpiffeIds } from "./identity.js";

export function sha256(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** What a call presents to prove who it is. */
export interface Credentials {
  /** Every `authorization` metadata value. */
  readonly authorization: readonly string[];
  /** The x-forwarded-client-cert header, if any. */
  readonly xfcc: string | undefined;
  /** The client certificate, present only when the TLS layer verified it against the configured CA. */
  readonly peerCertificate: PeerCertificate | undefined;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Resolves a caller's credentials to exactly one workspace. Built once per config; a reload builds a new one. */
export class WorkspaceRegistry {
  /** Keyed by the digest's hex: one hash and one lookup per call, whatever the number of tokens. */
  readonly #tokens: ReadonlyMap<string, { hash: Buffer; workspace: Workspace }>;
  readonly #spiffe: ReadonlyMap<string, Workspace>;
  readonly #trustXfcc: boolean;

  constructor(config: Pick<GatewayConfig, "workspaces" | "auth">) {
    this.#tokens = new Map(
      config.workspaces.flatMap((workspace) => workspace.tokenHashes.map((hash) => [hash.toString("hex"), { hash, workspace }] as const)),
    );
    this.#spiffe = new Map(config.workspaces.flatMap((workspace) => workspace.spiffeIds.map((id) => [id, workspace] as const)));
    this.#trustXfcc = config.auth.xfcc.enabled;
  }

  /**
   * A bearer token, when sent, must be valid. Mesh identities that map to a
   * workspace add a claim; identities we do not know add none, because a
   * sidecar attaches one to every call. All claims must agree, and there must be one.
   */
  resolve(creds: Credentials): Workspace | undefined {
    return this.resolveCaller(creds)?.workspace;
  }

  /**
   * `resolve`, also naming the credential that made the call, for per-token limits: the token's digest (hex,
   * not secret: the config holds it) when a bearer token was sent, else the first SPIFFE ID that matched.
   */
  resolveCaller(creds: Credentials): { workspace: Workspace; caller: string } | undefined {
    const claims: Workspace[] = [];
    let caller: string | undefined;
    if (creds.authorization.length > 1) return undefined;
    if (creds.authorization.length === 1) {
      const token = BEARER.exec(creds.authorization[0]!)?.[1];
      const entry = token === undefined ? undefined : this.#lookup(token);
      if (!entry) return undefined;
      claims.push(entry.workspace);
      caller = `token:${entry.hash.toString("hex", 0, 8)}`;
    }
    const ids = [...certSpiffeIds(creds.peerCertificate), ...(this.#trustXfcc && creds.xfcc ? xfccSpiffeIds(creds.xfcc) : [])];
    for (const id of ids) {
      const workspace = this.#spiffe.get(id);
      if (!workspace) continue;
      claims.push(workspace);
      caller ??= id;
    }
    const [first] = claims;
    return first && caller && claims.every((w) => w === first) ? { workspace: first, caller } : undefined;
  }

  /**
   * Looks the token's SHA-256 up by value. Timing can depend only on the
   * digest of what the caller sent, which says nothing about the configured
   * tokens (finding one needs a SHA-256 preimage); the final compare is
   * constant-time anyway. A linear scan of constant-time compares, as before,
   * cost 3.8 µs per call at 3 tokens and 76 µs at 1,000.
   */
  authenticate(token: string): Workspace | undefined {
    return this.#lookup(token)?.workspace;
  }

  #lookup(token: string): { hash: Buffer; workspace: Workspace } | undefined {
    const digest = sha256(token);
    const entry = this.#tokens.get(digest.toString("hex"));
    return entry && timingSafeEqual(digest, entry.hash) ? entry : undefined;
  }
}
