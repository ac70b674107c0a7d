import { EventEmitter } from "node:events";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CallScope, DEADLINE_SKEW_MS } from "../../src/grpc/call-scope.js";

function fakeCall(deadline: number | Date = Infinity) {
  const call = Object.assign(new EventEmitter(), { getDeadline: () => deadline });
  return { call, scope: new CallScope(call as never) };
}

describe("CallScope", () => {
  it("turns a cancel before the answer into an aborted signal with CANCELLED", () => {
    const { call, scope } = fakeCall();
    call.emit("cancelled", "cancelled");
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason.code).toBe(status.CANCELLED);
    expect(scope.finish()).toBe(false);
  });

  it("reports an expired deadline as DEADLINE_EXCEEDED", () => {
    const { call, scope } = fakeCall(Date.now() - 1);
    call.emit("cancelled", "cancelled");
    expect(scope.signal.reason.code).toBe(status.DEADLINE_EXCEEDED);
  });

  it("reports a cancel that arrives just before the server's deadline as DEADLINE_EXCEEDED (the client's clock started first)", () => {
    const { call, scope } = fakeCall(Date.now() + DEADLINE_SKEW_MS / 2);
    call.emit("cancelled", "cancelled");
    expect(scope.signal.reason.code).toBe(status.DEADLINE_EXCEEDED);
  });

  it("reports a cancel well before the deadline as CANCELLED", () => {
    const { call, scope } = fakeCall(Date.now() + 10 * DEADLINE_SKEW_MS);
    call.emit("cancelled", "cancelled");
    expect(scope.signal.reason.code).toBe(status.CANCELLED);
  });

  it("ignores the 'cancelled' grpc-js emits after a call completed normally", () => {
    const { call, scope } = fakeCall();
    expect(scope.finish()).toBe(true);
    call.emit("cancelled", "cancelled");
    expect(scope.signal.aborted).toBe(false);
    expect(scope.finish()).toBe(false);
  });
});
