import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { traceFrom, traceHeaders } from "../../src/tracing/trace-context.js";

const md = (traceparent?: string) => {
  const m = new Metadata();
  if (traceparent !== undefined) m.set("traceparent", traceparent);
  return m;
};
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";

describe("W3C trace context", () => {
  it("continues the caller's trace with a new span of our own", () => {
    const t = traceFrom(md(`00-${TRACE}-${PARENT}-01`));
    expect(t).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, sampled: true });
    expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(t.spanId).not.toBe(PARENT);
    expect(traceHeaders(t)).toEqual({ traceparent: `00-${TRACE}-${t.spanId}-01`, "x-trace-id": TRACE });
  });

  it("keeps the sampled flag off when the caller did not sample", () => {
    expect(traceHeaders(traceFrom(md(`00-${TRACE}-${PARENT}-00`))).traceparent).toMatch(/-00$/);
  });

  it("accepts a future version with extra fields, as the spec asks", () => {
    expect(traceFrom(md(`01-${TRACE}-${PARENT}-01-whatever`)).traceId).toBe(TRACE);
  });

  it("starts a new trace when the header is missing or invalid", () => {
    const invalid = [
      undefined,
      "",
      "garbage",
      `ff-${TRACE}-${PARENT}-01`,
      `00-${"0".repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${"0".repeat(16)}-01`,
      `00-${TRACE}-${PARENT}-01-extra`,
      `00-${TRACE.slice(1)}-${PARENT}-01`,
      // Ids are lowercase hex: an uppercase one is invalid (W3C Trace Context §3.2.2.3).
      `00-${TRACE.toUpperCase()}-${PARENT}-01`,
      `00-${TRACE}-${PARENT.toUpperCase()}-01`,
    ];
    const ids = new Set<string>();
    for (const h of invalid) {
      const t = traceFrom(md(h));
      expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(t.traceId).not.toBe(TRACE);
      expect(t.parentSpanId).toBeUndefined();
      ids.add(t.traceId);
    }
    expect(ids.size).toBe(invalid.length);
  });

  describe("tracestate", () => {
    const withState = (traceparent: string, ...states: string[]) => {
      const m = md(traceparent);
      for (const st of states) m.add("tracestate", st);
      return traceFrom(m);
    };
    const valid = `00-${TRACE}-${PARENT}-01`;

    it("is passed on to Dify as the caller sent it, several header lines joined, with no entry of ours", () => {
      const t = withState(valid, "congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7, tenant@vendor=a b");
      expect(t.traceState).toBe("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,tenant@vendor=a b");
      expect(traceHeaders(t).tracestate).toBe(t.traceState);
    });

    it("is dropped with an invalid traceparent, and when it does not parse, as the spec says", () => {
      expect(withState(`00-${TRACE.toUpperCase()}-${PARENT}-01`, "congo=1").traceState).toBeUndefined();
      const unusable = [
        "",
        "Congo=1", // keys are lowercase
        "congo", // no value
        "congo=", // an empty value
        "congo=a,congo=b", // a key twice
        "congo=a=b",
        Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","), // more than 32 members
        `congo=${"x".repeat(257)}`, // a value over 256 characters
        Array.from({ length: 20 }, (_, i) => `key${i}=${"v".repeat(22)}`).join(","), // over 512 characters
      ];
      for (const state of unusable) {
        const t = withState(valid, state);
        expect(t.traceState, state).toBeUndefined();
        expect(traceHeaders(t)).not.toHaveProperty("tracestate");
      }
    });
  });
});
