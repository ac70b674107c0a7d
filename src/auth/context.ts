import type { Metadata } from "@grpc/grpc-js";
import type { TokenEntry, Workspace } from "../config/config.js";
import type { Secret } from "../config/secret.js";

/** Who a call is: its workspace, and the bearer token it presented (none for a mesh identity alone). */
export interface Caller {
  readonly workspace: Workspace;
  readonly token: TokenEntry | undefined;
  /**
   * Which credential made the call, for per-token limits: `token:` and 16 hex digits of the token's digest (not
   * secret: the config holds it), else the SPIFFE ID that matched. Never the token itself.
   */
  readonly id: string;
  /** The bearer token itself, to redact wherever Dify echoes it back (a Secret: it prints as [redacted]). */
  readonly bearer?: Secret | undefined;
}

/**
 * The verified caller of a call, keyed by the call's Metadata object.
 * grpc-js hands the handler the very object the interceptor passed on, and
 * nothing a client sends can create an entry here, unlike a metadata header.
 */
const verified = new WeakMap<Metadata, Caller>();

export function bindCaller(metadata: Metadata, caller: Caller): void {
  verified.set(metadata, caller);
}

/** For callers known only by their workspace (tests, mesh identities). */
export function bindWorkspace(metadata: Metadata, workspace: Workspace, id = "unnamed"): void {
  verified.set(metadata, { workspace, token: undefined, id });
}

export function callerOf(metadata: Metadata): Caller | undefined {
  return verified.get(metadata);
}

export function workspaceOf(metadata: Metadata): Workspace | undefined {
  return verified.get(metadata)?.workspace;
}
