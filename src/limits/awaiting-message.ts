import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, status, type ServerInterceptor } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { workspaceOf } from "../auth/context.js";
import { GatewayError } from "../grpc/gateway-error.js";
import { ConcurrencyLimiter, type Release } from "./concurrency.js";

/** How long a refused caller should wait: the same hint as the workspace's concurrency limit. */
const RETRY_AFTER_MS = 1_000;

/**
 * Authenticated calls whose request message has not arrived yet, per workspace,
 * at most the workspace's own concurrency limit. The handlers count a call only
 * once its message is decoded, so without this a token holder could keep
 * maxConnections × maxConcurrentStreams message-less calls open (each one ends
 * after firstMessageTimeoutMs, but more can follow). Runs after the auth
 * interceptor, which binds the workspace; open services (health, reflection) pass.
 */
export function awaitingMessageLimitInterceptor(log: Logger): ServerInterceptor {
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
        log.info({ method: method.path, peer: call.getPeer(), workspace: workspace.id, grpcCode: "RESOURCE_EXHAUSTED", limit: workspace.maxConcurrentCalls }, "call rejected: too many calls waiting for their request message");
        call.sendStatus(tooManyAwaiting(workspace.id, workspace.maxConcurrentCalls).toStatus());
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

function tooManyAwaiting(workspace: string, limit: number): GatewayError {
  return new GatewayError(status.RESOURCE_EXHAUSTED, `workspace ${JSON.stringify(workspace)} already has ${limit} calls waiting for their request message, its limit; send each call's message promptly`, {
    reason: "WORKSPACE_AWAITING_MESSAGE_LIMIT",
    metadata: { workspace, limit: String(limit) },
    retryDelayMs: RETRY_AFTER_MS,
    quotaViolation: { subject: `workspace:${workspace}`, description: `at most ${limit} calls waiting for their request message` },
  });
}
