import { createHash, timingSafeEqual } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import type { GatewayConfig, TokenEntry, Workspace } from "../config/config.js";
import { Secret } from "../config/secret.js";
import type { Caller } from "./context.js";
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

/** What the credentials came to: a caller, a known token past its `expiresAt`, or nothing valid. */
export type Resolution =
  | { readonly caller: Caller; readonly expired?: undefined }
  | { readonly caller?: undefined; readonly expired: { readonly workspace: Workspace; readonly token: TokenEntry } }
  | undefined;

/** Resolves a caller's credentials to exactly one workspace. Built once per config; a reload builds a new one. */
export class WorkspaceRegistry {
  /** Keyed by the digest's hex: one hash and one lookup per call, whatever the number of tokens. */
  readonly #tokens: ReadonlyMap<string, { token: TokenEntry; workspace: Workspace }>;
  readonly #spiffe: ReadonlyMap<string, Workspace>;
  readonly #trustXfcc: boolean;

  constructor(config: Pick<GatewayConfig, "workspaces" | "auth">) {
    this.#tokens = new Map(
      config.workspaces.flatMap((workspace) =>
        workspace.tokens.map((token) => [token.hash.toString("hex"), { token, workspace }] as const),
      ),
    );
    this.#spiffe = new Map(config.workspaces.flatMap((workspace) => workspace.spiffeIds.map((id) => [id, workspace] as const)));
    this.#trustXfcc = config.auth.xfcc.enabled;
  }

  /**
   * A bearer token, when sent, must be valid and unexpired. Mesh identities that map to a
   * workspace add a claim; identities we do not know add none, because a
   * sidecar attaches one to every call. All claims must agree, and there must be one.
   * `now` (epoch ms) decides expiry; a token expires at its `expiresAt` on every replica alike.
   */
  resolve(creds: Credentials, now = Date.now()): Resolution {
    const claims: Workspace[] = [];
    let token: TokenEntry | undefined;
    let id: string | undefined;
    let bearer: Secret | undefined;
    if (creds.authorization.length > 1) return undefined;
    if (creds.authorization.length === 1) {
      const presented = BEARER.exec(creds.authorization[0]!)?.[1];
      const entry = presented === undefined ? undefined : this.#lookup(presented);
      if (!entry) return undefined;
      if (entry.token.expiresAt !== undefined && now >= entry.token.expiresAt) return { expired: entry };
      token = entry.token;
      claims.push(entry.workspace);
      id = `token:${entry.token.hash.toString("hex", 0, 8)}`;
      bearer = new Secret(presented!);
    }
    const ids = [...certSpiffeIds(creds.peerCertificate), ...(this.#trustXfcc && creds.xfcc ? xfccSpiffeIds(creds.xfcc) : [])];
    for (const spiffeId of ids) {
      const workspace = this.#spiffe.get(spiffeId);
      if (!workspace) continue;
      claims.push(workspace);
      id ??= spiffeId;
    }
    const [first] = claims;
    return first && id && claims.every((w) => w === first) ? { caller: { workspace: first, token, id, bearer } } : undefined;
  }

  /** The workspace of a valid, unexpired token. */
  authenticate(token: string, now = Date.now()): Workspace | undefined {
    const entry = this.#lookup(token);
    return entry && (entry.token.expiresAt === undefined || now < entry.token.expiresAt) ? entry.workspace : undefined;
  }

  /**
   * Looks the token's SHA-256 up by value. Timing can depend only on the
   * digest of what the caller sent, which says nothing about the configured
   * tokens (finding one needs a SHA-256 preimage); the final compare is
   * constant-time anyway. A linear scan of constant-time compares, as before,
   * cost 3.8 µs per call at 3 tokens and 76 µs at 1,000.
   */
  #lookup(token: string): { token: TokenEntry; workspace: Workspace } | undefined {
    const digest = sha256(token);
    const entry = this.#tokens.get(digest.toString("hex"));
    return entry && timingSafeEqual(digest, entry.token.hash) ? entry : undefined;
  }
}
