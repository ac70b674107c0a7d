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
  readonly #tokens: { hash: Buffer; workspace: Workspace }[];
  readonly #spiffe: ReadonlyMap<string, Workspace>;
  readonly #trustXfcc: boolean;

  constructor(config: Pick<GatewayConfig, "workspaces" | "auth">) {
    this.#tokens = config.workspaces.flatMap((workspace) => workspace.tokenHashes.map((hash) => ({ hash, workspace })));
    this.#spiffe = new Map(config.workspaces.flatMap((workspace) => workspace.spiffeIds.map((id) => [id, workspace] as const)));
    this.#trustXfcc = config.auth.xfcc.enabled;
  }

  /**
   * A bearer token, when sent, must be valid. Mesh identities that map to a
   * workspace add a claim; identities we do not know add none, because a
   * sidecar attaches one to every call. All claims must agree, and there must be one.
   */
  resolve(creds: Credentials): Workspace | undefined {
    const claims: Workspace[] = [];
    if (creds.authorization.length > 1) return undefined;
    if (creds.authorization.length === 1) {
      const token = BEARER.exec(creds.authorization[0]!)?.[1];
      const workspace = token === undefined ? undefined : this.authenticate(token);
      if (!workspace) return undefined;
      claims.push(workspace);
    }
    const ids = [...certSpiffeIds(creds.peerCertificate), ...(this.#trustXfcc && creds.xfcc ? xfccSpiffeIds(creds.xfcc) : [])];
    for (const id of ids) {
      const workspace = this.#spiffe.get(id);
      if (workspace) claims.push(workspace);
    }
    const [first] = claims;
    return first && claims.every((w) => w === first) ? first : undefined;
  }

  /**
   * Compares the token's digest with every configured digest, in constant
   * time and without stopping at a match, so timing tells nothing about
   * which tokens exist.
   */
  authenticate(token: string): Workspace | undefined {
    const digest = sha256(token);
    let found: Workspace | undefined;
    for (const entry of this.#tokens) {
      if (timingSafeEqual(digest, entry.hash) && found === undefined) found = entry.workspace;
    }
    return found;
  }
}
