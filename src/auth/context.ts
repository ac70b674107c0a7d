import type { Metadata } from "@grpc/grpc-js";
import type { Workspace } from "../config/config.js";

/**
 * The verified workspace of a call, keyed by the call's Metadata object.
 * grpc-js hands the handler the very object the interceptor passed on, and
 * nothing a client sends can create an entry here, unlike a metadata header.
 */
const verified = new WeakMap<Metadata, Workspace>();

export function bindWorkspace(metadata: Metadata, workspace: Workspace): void {
  verified.set(metadata, workspace);
}

export function workspaceOf(metadata: Metadata): Workspace | undefined {
  return verified.get(metadata);
}
