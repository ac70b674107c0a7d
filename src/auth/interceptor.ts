import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, status, type ServerInterceptor } from "@grpc/grpc-js";
import { bindWorkspace } from "./context.js";
import type { WorkspaceRegistry } from "./registry.js";

/** Kubernetes probes and grpcurl carry no credentials. */
const OPEN_PREFIXES = ["/grpc.health.v1.", "/grpc.reflection."];

/** One message for every failure, so it never tells whether a token exists. */
const REJECTION = "missing or invalid credentials: send 'authorization: Bearer <workspace token>'";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Decides who the caller is: exactly one workspace, or UNAUTHENTICATED.
 * `registry` is read per call so a reloaded config applies to the next call.
 */
export function authInterceptor(registry: () => WorkspaceRegistry): ServerInterceptor {
  return (method, call) => {
    if (OPEN_PREFIXES.some((p) => method.path.startsWith(p))) return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const values = metadata.get("authorization");
        const match = values.length === 1 && typeof values[0] === "string" ? BEARER.exec(values[0]) : null;
        const workspace = match?.[1] ? registry().authenticate(match[1]) : undefined;
        if (!workspace) {
          call.sendStatus({ code: status.UNAUTHENTICATED, details: REJECTION });
          return;
        }
        // Handlers never need the credential; keep it out of their reach.
        metadata.remove("authorization");
        bindWorkspace(metadata, workspace);
        next(metadata);
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}
