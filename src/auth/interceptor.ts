import { ResponderBuilder, ServerInterceptingCall, type ServerInterceptor, ServerListenerBuilder } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Workspace } from "../config/config.js";
import { unauthenticated } from "../grpc/gateway-error.js";
import { rejectCall } from "../grpc/reject.js";
import { bindWorkspace } from "./context.js";
import type { WorkspaceRegistry } from "./registry.js";

/** Kubernetes probes and grpcurl carry no credentials. */
const OPEN_PREFIXES = ["/grpc.health.v1.", "/grpc.reflection."];

/** One message for every failure, so it never tells whether a token exists. */
const REJECTION = "missing or invalid credentials: send 'authorization: Bearer <workspace token>'";

/** Credential headers; handlers never need them once the workspace is known. */
const CREDENTIAL_HEADERS = ["authorization", "x-forwarded-client-cert"];

/**
 * Decides who the caller is: exactly one workspace, or UNAUTHENTICATED.
 * `registry` is read per call so a reloaded config applies to the next call.
 */
export function authInterceptor(registry: () => WorkspaceRegistry, log: Logger): ServerInterceptor {
  return (method, call) => {
    if (OPEN_PREFIXES.some((p) => method.path.startsWith(p))) return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const authorization = metadata.get("authorization").filter((v): v is string => typeof v === "string");
        const xfccValues = metadata.get("x-forwarded-client-cert");
        let resolved: { workspace: Workspace; caller: string } | undefined;
        try {
          resolved = registry().resolveCaller({
            authorization,
            xfcc: xfccValues.length > 0 ? xfccValues.join(",") : undefined,
            peerCertificate: call.getAuthContext().sslPeerCertificate,
          });
        } catch (err) {
          // grpc-js does not catch what an interceptor throws: it would take the process down.
          log.error({ err, method: method.path }, "credential check failed");
        }
        if (!resolved) {
          // Which credential kinds arrived, never their values.
          log.info(
            {
              method: method.path,
              peer: call.getPeer(),
              grpcCode: "UNAUTHENTICATED",
              presented: { bearer: authorization.length, xfcc: xfccValues.length > 0 },
            },
            "call rejected: unauthenticated",
          );
          rejectCall(call, unauthenticated(REJECTION));
          return;
        }
        for (const header of CREDENTIAL_HEADERS) metadata.remove(header);
        bindWorkspace(metadata, resolved.workspace, resolved.caller);
        next(metadata);
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}
