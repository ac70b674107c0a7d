import { status } from "@grpc/grpc-js";
import type { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CoreDeps, createInvoke } from "../../src/core/invoke.js";
import { RUN_SUMMARY } from "../../src/core/run-summary.js";
import { AppInfos } from "../../src/dify/app-info.js";
import { AppModes } from "../../src/dify/app-mode.js";
import { DifyClient } from "../../src/dify/client.js";
import { CallAborted } from "../../src/grpc/call-scope.js";
import { GatewayError } from "../../src/grpc/gateway-error.js";
import { CHAT, WORKFLOW } from "../../src/invoke/interfaces.js";
import type { InvokeRequest } from "../../src/invoke/request.js";
import { APP_KEY, app, DIFY_ORIGIN, fakeContext, mockDify, sse, workspace } from "./fakes.js";

const WF = "wf-app";
const CHAT_APP = "chat-app";
const ws = workspace([app(WF, "workflow"), app(CHAT_APP, "chat")]);
const request = (over: Partial<InvokeRequest> = {}): InvokeRequest => ({ appId: WF, inputs: {}, files: [], user: "", ...over });

const STARTED = { event: "workflow_started", task_id: "task-1", workflow_run_id: "run-1", data: { id: "run-1", workflow_id: "wf-1" } };
const NODE = { event: "node_started", task_id: "task-1", workflow_run_id: "run-1", data: { id: "n-1" } };
const FINISHED = {
  event: "workflow_finished",
  task_id: "task-1",
  workflow_run_id: "run-1",
  data: { id: "run-1", status: "succeeded", outputs: { a: 1 } },
};

let agent: MockAgent;
let stops: unknown[];
let deps: CoreDeps;

beforeEach(() => {
  agent = mockDify();
  stops = [];
  const client = new DifyClient({ connectTimeoutMs: 1_000, dispatcher: agent });
  deps = {
    client,
    modes: new AppModes(new AppInfos(client, 1_000)),
    settings: { idleTimeoutMs: 5_000, maxEventBytes: 1 << 20, stopTimeoutMs: 1_000, maxAnswerBytes: 1 << 20 },
    onStop: () => {},
    onHandOff: () => {},
  };
  agent
    .get(DIFY_ORIGIN)
    .intercept({ path: "/v1/workflows/tasks/task-1/stop", method: "POST" })
    .reply(200, (opts) => {
      stops.push(JSON.parse(String(opts.body)));
      return { result: "success" };
    })
    .persist();
});
afterEach(async () => {
  await agent.close();
});

function runReplies(body: string, statusCode = 200) {
  agent
    .get(DIFY_ORIGIN)
    .intercept({ path: "/v1/workflows/run", method: "POST" })
    .reply(statusCode, body, { headers: { "content-type": statusCode === 200 ? "text/event-stream" : "application/json" } });
}

async function drain<T, R>(gen: AsyncGenerator<readonly T[], R>): Promise<{ events: T[]; summary: R }> {
  const events: T[] = [];
  for (let next = await gen.next(); ; next = await gen.next()) {
    if (next.done) return { events, summary: next.value };
    events.push(...next.value);
  }
}

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call should have failed").toBeInstanceOf(Error);
  return err as GatewayError;
}

describe("core invoke", () => {
  it("yields the run's events in order and returns a summary with the task id, the mode and timings", async () => {
    runReplies(sse(STARTED, NODE, FINISHED));
    const { context } = fakeContext(ws);
    const { events, summary } = await drain(createInvoke(deps)(WORKFLOW, request(), context));
    expect(events.map((e) => e.event)).toEqual(["workflow_started", "node_started", "workflow_finished"]);
    expect(summary).toMatchObject({ kind: "workflow", mode: "workflow", taskId: "task-1", stopCalled: false });
    expect(summary.upstreamStartedAt).toBeGreaterThanOrEqual(context.startedAt);
    expect(summary.firstEventAt).toBeGreaterThanOrEqual(summary.upstreamStartedAt!);
    expect(context.values.get(RUN_SUMMARY)).toEqual(summary);
    expect(stops).toEqual([]);
  });

  it("maps a Dify error answer to its gRPC status, naming Dify's code", async () => {
    runReplies(JSON.stringify({ code: "app_unavailable", message: "App unavailable", status: 400 }), 400);
    const err = await failure(drain(createInvoke(deps)(WORKFLOW, request(), fakeContext(ws).context)));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toMatchObject({
      reason: "APP_UNAVAILABLE",
      domain: "dify",
      metadata: { upstreamStatus: "400", upstreamCode: "app_unavailable" },
    });
    expect(err.message).not.toContain(APP_KEY);
  });

  it("refuses an invalid request naming the field, before any upstream request", async () => {
    const err = await failure(drain(createInvoke(deps)(CHAT, { ...request({ appId: CHAT_APP }), query: " " }, fakeContext(ws).context)));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details.fieldViolations).toEqual([{ field: "query", description: "is required" }]);
  });

  it("answers an app of another workspace exactly like one that exists nowhere", async () => {
    const other = workspace([app("elsewhere", "workflow")], 10, "ws-other");
    const foreign = await failure(drain(createInvoke(deps)(WORKFLOW, request({ appId: "elsewhere" }), fakeContext(ws).context)));
    const unknown = await failure(drain(createInvoke(deps)(WORKFLOW, request({ appId: "elsewhere" }), fakeContext(workspace([])).context)));
    expect(other.apps.has("elsewhere")).toBe(true);
    expect(foreign.code).toBe(status.NOT_FOUND);
    expect(Buffer.from(foreign.toStatus().metadata.get("grpc-status-details-bin")[0] as Buffer)).toEqual(
      Buffer.from(unknown.toStatus().metadata.get("grpc-status-details-bin")[0] as Buffer),
    );
    expect(foreign.message).toBe(unknown.message);
  });

  it("a cancel before the first event ends the run with the cancel's status and stops nothing (no task id yet)", async () => {
    runReplies(sse(STARTED, FINISHED));
    const call = fakeContext(ws);
    const cancelled = new CallAborted(status.CANCELLED, "cancelled by the client", { reason: "CANCELLED" });
    call.leave(cancelled);
    const err = await failure(drain(createInvoke(deps)(WORKFLOW, request(), call.context)));
    expect(err).toBe(cancelled);
    expect(call.context.values.get(RUN_SUMMARY)).toMatchObject({ taskId: undefined, stopCalled: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(stops).toEqual([]);
  });

  it("a cancel mid-stream stops the run on Dify exactly once, as the run's user", async () => {
    // Dify has not sent the terminal event yet (a batch that holds it leaves a finished run: nothing to stop).
    runReplies(sse(STARTED, NODE));
    const call = fakeContext(ws);
    const stopped: string[] = [];
    deps.onStop = (kind, result) => stopped.push(`${kind}:${result}`);
    const run = createInvoke(deps)(WORKFLOW, request({ user: "alice" }), call.context);
    expect((await run.next()).value).toMatchObject([{ event: "workflow_started" }, { event: "node_started" }]);
    // What the adapter does when the client leaves while a message is being written: abort, then throw the reason in.
    const cancelled = new CallAborted(status.CANCELLED, "cancelled by the client", { reason: "CANCELLED" });
    call.leave(cancelled);
    const err = await failure(run.throw(cancelled));
    expect(err).toBe(cancelled);
    expect(call.context.values.get(RUN_SUMMARY)).toMatchObject({ taskId: "task-1", stopCalled: true });
    await expect.poll(() => stopped).toEqual(["workflow:ok"]);
    await new Promise((r) => setTimeout(r, 50));
    expect(stops).toEqual([{ user: "alice" }]);
  });
});
