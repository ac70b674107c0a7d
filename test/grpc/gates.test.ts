import { Metadata, type ServerInterceptingCallInterface, type ServerMethodDefinition, status } from "@grpc/grpc-js";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bindWorkspace } from "../../src/auth/context.js";
import type { Workspace } from "../../src/config/config.js";
import { type Gate, type GateFactory, gated } from "../../src/grpc/gates.js";
import { GatewayError } from "../../src/grpc/gateway-error.js";
import { awaitingMessageLimitGate } from "../../src/limits/awaiting-message.js";
import { requestGuardGate } from "../../src/limits/request-guard.js";

type Listener = Parameters<ServerInterceptingCallInterface["start"]>[0];
type SentStatus = Parameters<ServerInterceptingCallInterface["sendStatus"]>[0];

const METHOD = { path: "/dify.app.v1.App/Run" } as ServerMethodDefinition<unknown, unknown>;
const silent = pino({ level: "silent" });

/** The transport underneath the gates: what grpc-js would hand the interceptor. */
class FakeTransport {
  listener: Listener | undefined;
  readonly statuses: SentStatus[] = [];
  readonly sent: unknown[] = [];
  headersSent = 0;
  readonly call = {
    start: (listener: Listener) => {
      this.listener = listener;
    },
    sendMetadata: () => void this.headersSent++,
    sendMessage: (message: unknown, callback: () => void) => {
      this.sent.push(message);
      callback();
    },
    sendStatus: (st: SentStatus) => void this.statuses.push(st),
    startRead: () => {},
    getPeer: () => "127.0.0.1:5000",
    getDeadline: () => Number.POSITIVE_INFINITY,
    getHost: () => "localhost",
    getAuthContext: () => ({}),
    getConnectionInfo: () => ({}),
    getMetricsRecorder: () => undefined,
  } as unknown as ServerInterceptingCallInterface;
}

/** Starts a call through `gates` with a handler that records what reaches it. */
function open(factories: GateFactory[]) {
  const transport = new FakeTransport();
  const handler: string[] = [];
  const call = gated(factories)(METHOD, transport.call);
  call.start({
    onReceiveMetadata: () => void handler.push("metadata"),
    onReceiveMessage: (m: unknown) => void handler.push(`message ${String(m)}`),
    onReceiveHalfClose: () => void handler.push("halfClose"),
    onCancel: () => void handler.push("cancel"),
  });
  const listener = transport.listener as Listener;
  return { transport, handler, call, listener };
}

/** A gate that records its hooks as "name hook", and rejects in onMetadata when given an error. */
function recording(name: string, log: string[], reject?: GatewayError): GateFactory {
  const gate: Gate = {
    onMetadata: () => {
      log.push(`${name} metadata`);
      return reject;
    },
    onMessage: () => void log.push(`${name} message`),
    onHalfClose: () => void log.push(`${name} halfClose`),
    onCancel: () => void log.push(`${name} cancel`),
    onSendMessage: () => void log.push(`${name} sendMessage`),
    onSendStatus: (st) => void log.push(`${name} sendStatus ${status[st.code]}`),
  };
  return () => gate;
}

const refused = () => new GatewayError(status.RESOURCE_EXHAUSTED, "no", { reason: "TEST_REFUSAL" });

afterEach(() => {
  vi.useRealTimers();
});

describe("gated: the gates of a call in one interceptor", () => {
  it("runs incoming events first gate to last, then the handler; outgoing ones last gate to first, then the transport", () => {
    const log: string[] = [];
    const { transport, handler, call, listener } = open([recording("a", log), recording("b", log), recording("c", log)]);
    listener.onReceiveMetadata(new Metadata());
    listener.onReceiveMessage("m1");
    listener.onReceiveHalfClose();
    call.sendMessage("r1", () => {});
    call.sendStatus({ code: status.OK, details: "OK", metadata: null });
    listener.onCancel();
    expect(log).toEqual([
      "a metadata",
      "b metadata",
      "c metadata",
      "a message",
      "b message",
      "c message",
      "a halfClose",
      "b halfClose",
      "c halfClose",
      "c sendMessage",
      "b sendMessage",
      "a sendMessage",
      "c sendStatus OK",
      "b sendStatus OK",
      "a sendStatus OK",
      "a cancel",
      "b cancel",
      "c cancel",
    ]);
    expect(handler).toEqual(["metadata", "message m1", "halfClose", "cancel"]);
    // Response headers go out before the first message, as with ServerInterceptingCall.
    expect(transport.headersSent).toBe(1);
    expect(transport.sent).toEqual(["r1"]);
    expect(transport.statuses.map((s) => s.code)).toEqual([status.OK]);
  });

  it("a gate's rejection in onMetadata stops the later gates and the handler; the earlier ones see the status and every gate the cancel", () => {
    const log: string[] = [];
    const { transport, handler, listener } = open([recording("a", log), recording("b", log, refused()), recording("c", log)]);
    listener.onReceiveMetadata(new Metadata());
    expect(log).toEqual(["a metadata", "b metadata", "a sendStatus RESOURCE_EXHAUSTED"]);
    expect(transport.statuses).toHaveLength(1);
    const sent = transport.statuses[0] as SentStatus;
    expect(sent.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(sent.details).toBe("no");
    expect(sent.metadata?.get("grpc-status-details-bin")).toHaveLength(1);
    listener.onCancel();
    expect(log.slice(3)).toEqual(["a cancel", "b cancel", "c cancel"]);
    expect(handler).toEqual(["cancel"]);
  });

  it("leaves out a gate whose factory returns undefined for the call", () => {
    const log: string[] = [];
    const { handler, listener } = open([recording("a", log), () => undefined, recording("c", log)]);
    listener.onReceiveMetadata(new Metadata());
    listener.onCancel();
    expect(log).toEqual(["a metadata", "c metadata", "a cancel", "c cancel"]);
    expect(handler).toEqual(["metadata", "cancel"]);
  });

  it("a rejection after the request guard and the awaiting pool stops the guard's timer and frees the pool's slot", () => {
    vi.useFakeTimers();
    const { log, guard, bind, pool } = guardBindAndPool();
    const first = open([recording("metrics", log), guard, bind, pool, recording("inner", log, refused())]);
    first.listener.onReceiveMetadata(new Metadata());
    expect(log).toEqual(["metrics metadata", "inner metadata", "metrics sendStatus RESOURCE_EXHAUSTED"]);
    // The guard saw that status: its timer sends nothing more.
    vi.advanceTimersByTime(5_000);
    expect(first.transport.statuses).toHaveLength(1);
    // The pool's slot (limit 1) is free again, before the cancel.
    const second = open([guard, bind, pool]);
    second.listener.onReceiveMetadata(new Metadata());
    expect(second.handler).toEqual(["metadata"]);
    expect(log).not.toContain("refused");
  });

  it("the pool's own refusal and the guard's timeout are seen by the gates before them only", () => {
    vi.useFakeTimers();
    const { log, guard, bind, pool } = guardBindAndPool();
    const gates = [recording("metrics", log), guard, bind, pool, recording("inner", log)];
    const holder = open(gates);
    holder.listener.onReceiveMetadata(new Metadata());
    const over = open(gates);
    over.listener.onReceiveMetadata(new Metadata());
    expect(over.handler).toEqual([]);
    expect(over.transport.statuses.map((s) => s.code)).toEqual([status.RESOURCE_EXHAUSTED]);
    expect(log).toEqual(["metrics metadata", "inner metadata", "metrics metadata", "refused", "metrics sendStatus RESOURCE_EXHAUSTED"]);
    log.length = 0;
    // The holder's message never comes: the guard ends it, past the gates inside the guard.
    vi.advanceTimersByTime(1_000);
    expect(holder.transport.statuses.map((s) => s.code)).toEqual([status.DEADLINE_EXCEEDED]);
    expect(log).toEqual(["metrics sendStatus DEADLINE_EXCEEDED"]);
    // The pool's slot is held until the transport reports the end (as with one interceptor per concern).
    const early = open(gates);
    early.listener.onReceiveMetadata(new Metadata());
    expect(early.transport.statuses.map((s) => s.code)).toEqual([status.RESOURCE_EXHAUSTED]);
    holder.listener.onCancel();
    const next = open(gates);
    next.listener.onReceiveMetadata(new Metadata());
    expect(next.handler).toEqual(["metadata"]);
  });
});

/** The request guard (1 s), a gate binding workspace "ws" (limit 1), and the awaiting pool, which logs "refused". */
function guardBindAndPool(): { log: string[]; guard: GateFactory; bind: GateFactory; pool: GateFactory } {
  const workspace = { id: "ws", maxConcurrentCalls: 1 } as Workspace;
  const bind: GateFactory = () => ({
    onMetadata: (metadata) => {
      bindWorkspace(metadata, workspace);
      return undefined;
    },
  });
  const log: string[] = [];
  const guard = requestGuardGate(() => ({ firstMessageTimeoutMs: 1_000 }), silent);
  const pool = awaitingMessageLimitGate(silent, () => log.push("refused"));
  return { log, guard, bind, pool };
}
