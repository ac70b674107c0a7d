import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { workspaceOf } from "../auth/context.js";
import type { Gate, GateCall, GateFactory } from "../grpc/gates.js";
import type { GatewayError } from "../grpc/gateway-error.js";
import { ConcurrencyLimiter, type Release, workspaceConcurrencyLimit } from "./concurrency.js";

/**
 * Authenticated calls whose request message has not arrived yet, per workspace,
 * at most the workspace's own concurrency limit. The handlers count a call only
 * once its message is decoded, so without this a token holder could keep
 * maxConnections × maxConcurrentStreams message-less calls open (each one ends
 * after firstMessageTimeoutMs, but more can follow). Runs after the auth
 * gate, which binds the workspace; open services (health, reflection) pass.
 * A refusal is the workspace's WORKSPACE_CONCURRENCY_LIMIT, counted in the same
 * metric: to the caller a call waiting for its message is a call in flight, and
 * a burst of calls over the limit (all headers first, then the messages) gets the
 * same answer as before this pool existed.
 */
export function awaitingMessageLimitGate(log: Logger, onRefused: (workspace: string) => void): GateFactory {
  const awaiting = new ConcurrencyLimiter();
  // Until the handler runs: at the first message of a client stream, else at half-close (see request-guard.ts).
  return (method) => new AwaitingMessage(awaiting, log, onRefused, method.requestStream);
}

class AwaitingMessage implements Gate {
  private release: Release | undefined;

  constructor(
    private readonly awaiting: ConcurrencyLimiter,
    private readonly log: Logger,
    private readonly onRefused: (workspace: string) => void,
    private readonly requestStream: boolean,
  ) {}

  onMetadata(metadata: Metadata, call: GateCall): GatewayError | undefined {
    const workspace = workspaceOf(metadata);
    if (!workspace) return undefined;
    this.release = this.awaiting.tryAcquire(workspace.id, workspace.maxConcurrentCalls);
    if (this.release) return undefined;
    this.onRefused(workspace.id);
    this.log.info(
      {
        method: call.path,
        peer: call.getPeer(),
        workspace: workspace.id,
        grpcCode: "RESOURCE_EXHAUSTED",
        limit: workspace.maxConcurrentCalls,
      },
      "call rejected: too many calls waiting for their request message",
    );
    return workspaceConcurrencyLimit(workspace.id, workspace.maxConcurrentCalls);
  }

  onMessage(): void {
    if (this.requestStream) this.done();
  }

  onHalfClose(): void {
    this.done();
  }

  onCancel(): void {
    this.done();
  }

  onSendStatus(): void {
    this.done();
  }

  private done(): void {
    this.release?.();
    this.release = undefined;
  }
}
