import { ResponderBuilder, ServerInterceptingCall, type ServerInterceptor, ServerListenerBuilder } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { workspaceOf } from "../auth/context.js";
import { rejectCall } from "../grpc/reject.js";
import { ConcurrencyLimiter, type Release, workspaceConcurrencyLimit } from "./concurrency.js";

/**
 * Authenticated calls whose request message has not arrived yet, per workspace,
 * at most the workspace's own concurrency limit. The handlers count a call only
 * once its message is decoded, so without this a token holder could keep
 * maxConnections × maxConcurrentStreams message-less calls open (each one ends
 * after firstMessageTimeoutMs, but more can follow). Runs after the auth
 * interceptor, which binds the workspace; open services (health, reflection) pass.
 * A refusal is the workspace's WORKSPACE_CONCURRENCY_LIMIT, counted in the same
 * metric: to the caller a call waiting for its message is a call in flight, and
 * a burst of calls over the limit (all headers first, then the messages) gets the
 * same answer as before this pool existed.
 */
export function awaitingMessageLimitInterceptor(log: Logger, onRefused: (workspace: string) => void): ServerInterceptor {
  const awaiting = new ConcurrencyLimiter();
  return (method, call) => {
    let release: Release | undefined;
    const done = () => {
      release?.();
      release = undefined;
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const workspace = workspaceOf(metadata);
        if (!workspace) return next(metadata);
        release = awaiting.tryAcquire(workspace.id, workspace.maxConcurrentCalls);
        if (release) return next(metadata);
        onRefused(workspace.id);
        log.info(
          {
            method: method.path,
            peer: call.getPeer(),
            workspace: workspace.id,
            grpcCode: "RESOURCE_EXHAUSTED",
            limit: workspace.maxConcurrentCalls,
          },
          "call rejected: too many calls waiting for their request message",
        );
        rejectCall(call, workspaceConcurrencyLimit(workspace.id, workspace.maxConcurrentCalls));
      })
      .withOnReceiveMessage((message, next) => {
        done();
        next(message);
      })
      .withOnReceiveHalfClose((next) => {
        done();
        next();
      })
      .withOnCancel(() => {
        done();
      })
      .build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((st, next) => {
        done();
        next(st);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}
