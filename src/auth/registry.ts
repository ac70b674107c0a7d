import { createHash, timingSafeEqual } from "node:crypto";
import type { GatewayConfig, Workspace } from "../config/config.js";

export function sha256(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Resolves a bearer token to the one workspace it belongs to. */
export class WorkspaceRegistry {
  readonly #entries: { hash: Buffer; workspace: Workspace }[];

  constructor(config: GatewayConfig) {
    this.#entries = config.workspaces.flatMap((workspace) => workspace.tokenHashes.map((hash) => ({ hash, workspace })));
  }

  /**
   * Compares the token's digest with every configured digest, in constant
   * time and without stopping at a match, so timing tells nothing about
   * which tokens exist.
   */
  authenticate(token: string): Workspace | undefined {
    const digest = sha256(token);
    let found: Workspace | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(digest, entry.hash) && found === undefined) found = entry.workspace;
    }
    return found;
  }
}
