import type { Logger } from "pino";
import type { TokenEntry, Workspace } from "../config/config.js";
import type { Gate, GateFactory } from "../grpc/gates.js";
import { tokenExpired, unauthenticated } from "../grpc/gateway-error.js";
import { callerTraceId } from "../tracing/trace-context.js";
import { bindCaller } from "./context.js";
import type { Resolution, WorkspaceRegistry } from "./registry.js";

/** Kubernetes probes and grpcurl carry no credentials. */
const OPEN_PREFIXES = ["/grpc.health.v1.", "/grpc.reflection."];

/** Health and reflection: open to anyone, without credentials. */
export function isOpenService(path: string): boolean {
  return OPEN_PREFIXES.some((p) => path.startsWith(p));
}

/** One message for every failure, so it never tells whether a token exists. */
const REJECTION = "missing or invalid credentials: send 'authorization: Bearer <workspace token>'";

/** Credential headers; handlers never need them once the workspace is known. */
const CREDENTIAL_HEADERS = ["authorization", "x-forwarded-client-cert"];

/**
 * Decides who the caller is: exactly one workspace (and the token it presented), or UNAUTHENTICATED.
 * `registry` is read per call so a reloaded config applies to the next call. `onExpired` counts each
 * call refused for an expired token. Open services (health, reflection) are left out of this gate.
 * No per-call state: one gate serves every call.
 */
export function authGate(
  registry: () => WorkspaceRegistry,
  log: Logger,
  onExpired: (workspace: Workspace, token: TokenEntry) => void = () => {},
): GateFactory {
  // Outlives reloads, so an expired token is announced once per process, not once per reload.
  const announced = new Set<string>();
  const gate: Gate = {
    onMetadata(metadata, call) {
      const authorization = metadata.get("authorization").filter((v): v is string => typeof v === "string");
      const xfccValues = metadata.get("x-forwarded-client-cert");
      let resolution: Resolution;
      try {
        resolution = registry().resolve({
          authorization,
          xfcc: xfccValues.length > 0 ? xfccValues.join(",") : undefined,
          peerCertificate: call.getAuthContext().sslPeerCertificate,
        });
      } catch (err) {
        // grpc-js does not catch what an interceptor (and so a gate) throws: it would take the process down.
        log.error({ err, method: call.path }, "credential check failed");
      }
      if (resolution?.expired) {
        // Only the token's holder learns that it expired: telling them why saves a support ticket.
        const { workspace, token } = resolution.expired;
        onExpired(workspace, token);
        const key = `${token.hash.toString("hex")}@${token.expiresAt}`;
        const fields = { workspace: workspace.id, tokenName: token.label, expiresAt: new Date(token.expiresAt ?? 0).toISOString() };
        if (!announced.has(key)) {
          announced.add(key);
          log.warn(fields, "a token past its expiresAt was presented: issue a new one and remove this entry");
        }
        log.info(
          { method: call.path, peer: call.getPeer(), traceId: callerTraceId(metadata), grpcCode: "UNAUTHENTICATED", ...fields },
          "call rejected: token expired",
        );
        return tokenExpired();
      }
      if (!resolution?.caller) {
        // Which credential kinds arrived, never their values.
        log.info(
          {
            method: call.path,
            peer: call.getPeer(),
            traceId: callerTraceId(metadata),
            grpcCode: "UNAUTHENTICATED",
            presented: { bearer: authorization.length, xfcc: xfccValues.length > 0 },
          },
          "call rejected: unauthenticated",
        );
        return unauthenticated(REJECTION);
      }
      for (const header of CREDENTIAL_HEADERS) metadata.remove(header);
      bindCaller(metadata, resolution.caller);
      return undefined;
    },
  };
  return (method) => (isOpenService(method.path) ? undefined : gate);
}
