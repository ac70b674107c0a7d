import { EventEmitter } from "node:events";
import { Metadata, type MethodDefinition, type StatusObject, status } from "@grpc/grpc-js";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { bindWorkspace } from "../../src/auth/context.js";
import type { CallContext } from "../../src/core/context.js";
import { invalidArgument } from "../../src/grpc/gateway-error.js";
import { GatewayMetrics } from "../../src/metrics/metrics.js";
import { callLog } from "../../src/middleware/call-log.js";
import { shuttingDown } from "../../src/middleware/lifecycle.js";
import type { CallHandler } from "../../src/middleware/types.js";
import { serveRoutes } from "../../src/transport/grpc-adapter.js";
import { route } from "../../src/transport/route.js";
import { workspace } from "../core/fakes.js";

const json = (m: unknown) => Buffer.from(JSON.stringify(m));
function definition(path: string, responseStream: boolean): MethodDefinition<unknown, unknown> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: json,
    requestDeserialize: (b: Buffer) => JSON.parse(b.toString()),
    responseSerialize: json,
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString()),
  };
}

/** Serves one route on a fake server and returns its grpc-js handler, and the log lines written. */
function serve(responseStream: boolean, handler: CallHandler<unknown, unknown>) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const registered: { handler: (...args: unknown[]) => void; type: string }[] = [];
  const server = {
    register: (_path: string, h: (...args: unknown[]) => void, _s: unknown, _d: unknown, type: string) =>
      registered.push({ handler: h, type }) > 0,
  };
  const path = responseStream ? "/test.v1.T/Stream" : "/test.v1.T/Unary";
  serveRoutes(server as never, [route({ definition: definition(path, responseStream), handler })], log, callLog(new GatewayMetrics()));
  return { grpcHandler: registered[0]!.handler, type: registered[0]!.type, lines, path };
}

function fakeCall(path: string, request: unknown, opts: { writable?: boolean } = {}) {
  const metadata = new Metadata();
  metadata.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  bindWorkspace(metadata, workspace([], 5, "ws-adapter"), "token:test");
  const written: Buffer[] = [];
  const statuses: Partial<StatusObject>[] = [];
  let ended = false;
  const call = Object.assign(new EventEmitter(), {
    request,
    metadata,
    getPath: () => path,
    getDeadline: () => Infinity,
    write: (b: Buffer) => (written.push(b), opts.writable ?? true),
    end: () => void (ended = true),
  });
  call.on("error", (s: Partial<StatusObject>) => statuses.push(s));
  return { call, written, statuses, ended: () => ended };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe("grpc-js adapter", () => {
  it("builds each call's context from the call: workspace from the auth binding, trace from traceparent, a child logger with the app", async () => {
    let seen: CallContext | undefined;
    const { grpcHandler, type, lines, path } = serve(false, async function* (_req, ctx) {
      seen = ctx;
      ctx.log.info("inside");
      return { ok: true };
    });
    const { call } = fakeCall(path, { appId: "a1b2c3d4-0000-4000-8000-000000000007" });
    const answers: unknown[][] = [];
    grpcHandler(call, (...args: unknown[]) => answers.push(args));
    await tick();
    expect(type).toBe("unary");
    expect(seen).toMatchObject({
      workspace: { id: "ws-adapter" },
      method: path,
      trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentSpanId: "00f067aa0ba902b7" },
    });
    expect(lines.find((l) => l.msg === "inside")).toMatchObject({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      workspace: "ws-adapter",
      appId: "a1b2c3d4-0000-4000-8000-000000000007",
      method: path,
    });
    expect(answers).toEqual([[null, json({ ok: true })]]);
  });

  it("answers a failed unary call with the error's status and its google.rpc details", async () => {
    const { grpcHandler, path } = serve(false, async function* () {
      throw invalidArgument("query", "is required");
    });
    const answers: unknown[][] = [];
    grpcHandler(fakeCall(path, { appId: "a" }).call, (...args: unknown[]) => answers.push(args));
    await tick();
    const sent = answers[0]![0] as StatusObject;
    expect(sent).toMatchObject({ code: status.INVALID_ARGUMENT, details: "query: is required" });
    expect(sent.metadata.get("grpc-status-details-bin")).toHaveLength(1);
  });

  it("writes each batch a stream yields, message by message and encoded, then ends it", async () => {
    const { grpcHandler, type, path } = serve(true, async function* () {
      yield [{ n: 1 }, { n: 2 }];
      yield [{ n: 3 }];
    });
    const c = fakeCall(path, { appId: "a" });
    grpcHandler(c.call);
    await tick();
    expect(type).toBe("serverStream");
    expect(c.written).toEqual([json({ n: 1 }), json({ n: 2 }), json({ n: 3 })]);
    expect(c.ended()).toBe(true);
    expect(c.statuses).toEqual([]);
  });

  it("empties each batch once its messages are written, so what still refers to it holds no events", async () => {
    const first = [{ n: 1 }, { n: 2 }];
    let seenAtNext: number | undefined;
    const { grpcHandler, path } = serve(true, async function* () {
      yield first;
      seenAtNext = first.length;
      yield [{ n: 3 }];
    });
    const c = fakeCall(path, { appId: "a" });
    grpcHandler(c.call);
    await tick();
    expect(c.written).toEqual([json({ n: 1 }), json({ n: 2 }), json({ n: 3 })]);
    expect(seenAtNext).toBe(0);
  });

  it("throws a write the client abandoned into the handler, which sees the cancel, and logs the call once; nothing is sent", async () => {
    const inHandler: unknown[] = [];
    const { grpcHandler, lines, path } = serve(true, async function* () {
      try {
        yield [{ n: 1 }, { n: 2 }];
        yield [{ n: 3 }];
      } catch (err) {
        inHandler.push(err);
        throw err;
      }
    });
    // grpc-js's buffer is full after the first message, and it never drains: the reader is gone.
    const c = fakeCall(path, { appId: "a" }, { writable: false });
    grpcHandler(c.call);
    await tick();
    expect(c.written).toHaveLength(1);
    c.call.emit("cancelled", "cancelled");
    await tick();
    expect(inHandler).toMatchObject([{ code: status.CANCELLED }]);
    expect(lines.filter((l) => String(l.msg).startsWith("call"))).toMatchObject([{ grpcCode: "CANCELLED" }]);
    expect(c.written).toHaveLength(1);
    expect(c.ended()).toBe(false);
    expect(c.statuses).toEqual([]);
  });

  describe("a drain that ends a stream while grpc-js holds messages for a slow reader", () => {
    function drained(batches: unknown[][]) {
      let ctx!: CallContext;
      const seen: unknown[] = [];
      const { grpcHandler, lines, path } = serve(true, async function* (_req, c) {
        ctx = c;
        try {
          for (const batch of batches) yield batch;
          seen.push("went on");
        } catch (err) {
          seen.push(err);
          throw err;
        }
      });
      // grpc-js takes each message but asks to wait for 'drain', which a slow reader delays past the grace.
      const c = fakeCall(path, { appId: "a" }, { writable: false });
      grpcHandler(c.call);
      return { c, seen, lines, terminate: () => ctx.terminate(shuttingDown()) };
    }

    it("once the whole batch is handed over, does not fail it: those messages will arrive, and a handler that returns ends the call OK", async () => {
      const { c, seen, lines, terminate } = drained([[{ n: 1 }]]);
      await tick();
      terminate();
      await tick();
      expect(seen).toEqual(["went on"]);
      expect(c.written).toHaveLength(1);
      expect(c.ended()).toBe(true);
      expect(c.statuses).toEqual([]);
      expect(lines.filter((l) => String(l.msg).startsWith("call"))).toMatchObject([{ grpcCode: "OK" }]);
    });

    it("with messages of the batch not yet handed over, throws the drain into the handler: the call ends with its status", async () => {
      const { c, seen, terminate } = drained([[{ n: 1 }, { n: 2 }]]);
      await tick();
      terminate();
      await tick();
      expect(seen).toMatchObject([{ code: status.UNAVAILABLE, details: { reason: "SHUTTING_DOWN" } }]);
      expect(c.written).toHaveLength(1);
      expect(c.statuses).toMatchObject([{ code: status.UNAVAILABLE }]);
    });
  });
});
