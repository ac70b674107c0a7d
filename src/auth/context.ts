import type { Metadata } from "@grpc/grpc-js";
import type { Workspace } from "../config/config.js";

/**
 * The verified workspace of a call, keyed by the call's Metadata object.
 * grpc-js hands the handler the very object the interceptor passed on, and
 * nothing a client sends can create an entry here, unlike a metadata header.
 */
const verified = new WeakMap<Metadata, { workspace: Workspace; caller: string }>();

/** `caller` names the credential (a token digest or a SPIFFE ID), never the token itself. */
export function bindWorkspace(metadata: Metadata, workspace: Workspace, caller: string): void {
  verified.set(metadata, { workspace, caller });
}

export function workspaceOf(metadata: Metadata): Workspace | undefined {
  return verified.get(metadata)?.workspace;
}

export function callerOf(metadata: Metadata): string | undefined {
  return verified.get(metadata)?.caller;
}
