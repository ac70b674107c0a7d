import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../src/auth/registry.js";
import { demoAppId, demoWorkspaceConfig, TOKEN } from "../helpers/demo-workspace.js";
import { bearer, clients, collect, details, type StreamResult, unary } from "../helpers/grpc.js";
import { type InProcessGateway, type InProcessSimulator, startInProcessGateway, startInProcessSimulator } from "../helpers/in-process.js";

/*
 * The drain hand-off: when the grace runs out, a workflow or Chatflow run that an event has named goes on on Dify and
 * its caller is told where to re-attach; every other run is stopped, exactly once. Each test drains its own gateway
 * in front of one shared simulator; a second gateway (`other`) plays the replica the caller re-attaches to.
 */

let sim: InProcessSimulator;
let other: InProcessGateway;
beforeAll(async () => {
  sim = await startInProcessSimulator();
  other = await gateway();
});
afterAll(async () => {
  await other?.close();
  await sim?.close();
});

function gateway(): Promise<InProcessGateway> {
  const { config, env } = demoWorkspaceConfig(sim.url, {});
  return startInProcessGateway(config, env);
}

/** A run of about `events` × 40 ms that goes on after its stream is cut, as on Dify 1.13+. */
const slow = (events = 60) => ({ _sim: { events, delay_ms: 40, detached: true } });

interface Message {
  event: string;
  raw?: Record<string, unknown> | undefined;
}

/** Starts a stream on `gw`, waits for `after` messages, drains `gw` with a short grace, and returns what the caller saw. */
async function drainedStream(gw: InProcessGateway, start: (c: ReturnType<typeof clients>) => unknown, after = 4) {
  const c = clients(gw.address);
  let reached!: () => void;
  const enough = new Promise<void>((r) => (reached = r));
  const result = collect(start(c) as Parameters<typeof collect<Message>>[0], (_m, all) => all.length === after && reached());
  await enough;
  await gw.gateway.close(50);
  const out = await result;
  c.close();
  return out;
}

const stopsOf = async () => (await sim.requests()).filter((r) => r.path.endsWith("/stop"));
const handOffs = async (gw: InProcessGateway) => (await gw.gateway.metrics.handOffs.get()).values.reduce((n, v) => n + v.value, 0);
const runIdOf = (messages: Message[]) => messages.map((m) => m.raw?.workflow_run_id).find((id) => typeof id === "string") as string;

function expectHandedOff(out: StreamResult<Message>, appId: string, runId: string) {
  expect(out.error?.code).toBe(status.UNAVAILABLE);
  const d = details(out.error!);
  expect(d.errorInfo?.reason).toBe("SHUTTING_DOWN");
  expect(d.errorInfo?.metadata).toEqual({ workflowRunId: runId, appId });
  expect(d.retryInfo?.retryDelay).toBeDefined();
}

/** Re-attaches on the other replica and reads the run to its end. */
async function reattach(appId: string, workflowRunId: string) {
  const c = clients(other.address);
  const out = await collect<Message>(
    c.run.watchRun({ appId, workflowRunId, user: "handoff-user", includeStateSnapshot: true, continueOnPause: false }, bearer(TOKEN)),
  );
  c.close();
  return out;
}

describe("drain hand-off", () => {
  it("a workflow stream: UNAVAILABLE SHUTTING_DOWN naming the run, no stop call, and the run finishes for a re-attach", async () => {
    const gw = await gateway();
    const appId = demoAppId("workflow");
    const stopsBefore = (await stopsOf()).length;
    const out = await drainedStream(gw, (c) =>
      c.workflow.workflowInvokeStream({ appId, inputs: slow(), files: [], user: "handoff-user" }, bearer(TOKEN)),
    );
    const runId = runIdOf(out.messages);
    expectHandedOff(out, appId, runId);
    // The one log line that says so, with the ids; and the metric.
    const handed = gw.logs().filter((l) => String(l.msg).startsWith("handed off"));
    expect(handed).toEqual([expect.objectContaining({ workflowRunId: runId, appId })]);
    expect(gw.logs().find((l) => l.grpcCode === "UNAVAILABLE")).toMatchObject({ handedOff: true, workflowRunId: runId });
    expect(await handOffs(gw)).toBe(1);

    const rest = await reattach(appId, runId);
    expect(rest.error).toBeUndefined();
    expect(rest.messages.at(-1)?.raw).toMatchObject({ event: "workflow_finished", data: { status: "succeeded" } });
    expect((await stopsOf()).length).toBe(stopsBefore);
  });

  it("a Chatflow stream is handed off the same way", async () => {
    const gw = await gateway();
    const appId = demoAppId("advanced-chat");
    const stopsBefore = (await stopsOf()).length;
    const out = await drainedStream(gw, (c) =>
      c.chat.chatInvokeStream(
        { appId, query: "hand me off", inputs: slow(), files: [], user: "handoff-user", conversationId: "" },
        bearer(TOKEN),
      ),
    );
    const runId = runIdOf(out.messages);
    expectHandedOff(out, appId, runId);
    expect(await handOffs(gw)).toBe(1);
    const rest = await reattach(appId, runId);
    expect(rest.messages.at(-1)?.raw).toMatchObject({ event: "workflow_finished", data: { status: "succeeded" } });
    expect((await stopsOf()).length).toBe(stopsBefore);
  });

  it("a unary workflow call cut by the drain carries the run's id; the run is not stopped", async () => {
    const gw = await gateway();
    const appId = demoAppId("workflow");
    await sim.reset();
    const c = clients(gw.address);
    const call = unary(
      c.workflow.workflowInvoke,
      c.workflow,
      { appId, inputs: slow(), files: [], user: "handoff-user" },
      bearer(TOKEN),
    ).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    // The run is named once the simulator has sent its first events.
    await expect.poll(() => sim.sim.requests().some((r) => (r.eventsSent ?? 0) > 2 && r.path.endsWith("/workflows/run"))).toBe(true);
    await gw.gateway.close(50);
    const err = await call;
    c.close();
    const info = details(err!).errorInfo;
    expect(err?.code).toBe(status.UNAVAILABLE);
    expect(info?.reason).toBe("SHUTTING_DOWN");
    expect(info?.metadata.appId).toBe(appId);
    const rest = await reattach(appId, info!.metadata.workflowRunId!);
    expect(rest.messages.at(-1)?.raw).toMatchObject({ event: "workflow_finished", data: { status: "succeeded" } });
    expect(await stopsOf()).toEqual([]);
  });

  it.each([
    [
      "chat",
      (c: ReturnType<typeof clients>, appId: string) =>
        c.chat.chatInvokeStream(
          { appId, query: "q", inputs: { _sim: { events: 200, delay_ms: 40 } }, files: [], user: "u", conversationId: "" },
          bearer(TOKEN),
        ),
    ],
    [
      "completion",
      (c: ReturnType<typeof clients>, appId: string) =>
        c.completion.completionInvokeStream(
          { appId, inputs: { _sim: { events: 200, delay_ms: 40 } }, files: [], user: "u" },
          bearer(TOKEN),
        ),
    ],
  ] as const)("a %s stream, which Dify cannot re-attach, is stopped exactly once and names no run", async (mode, start) => {
    const gw = await gateway();
    const appId = demoAppId(mode);
    const stopsBefore = (await stopsOf()).length;
    const out = await drainedStream(gw, (c) => start(c, appId));
    expect(out.error?.code).toBe(status.UNAVAILABLE);
    expect(details(out.error!).errorInfo).toMatchObject({ reason: "SHUTTING_DOWN", metadata: {} });
    const taskId = out.messages.map((m) => m.raw?.task_id).find((t) => typeof t === "string");
    await expect.poll(async () => (await stopsOf()).length, { timeout: 5_000 }).toBe(stopsBefore + 1);
    expect((await stopsOf()).at(-1)?.path).toContain(String(taskId));
    expect(await handOffs(gw)).toBe(0);
  });
});

describe("a workflow run no event has named when the grace ends", () => {
  /** A Dify that accepts the run and sends its first event only when told; records stop calls. */
  const held: ServerResponse[] = [];
  const stops: string[] = [];
  const dify = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.endsWith("/stop")) {
      stops.push(req.url);
      res.writeHead(200, { "content-type": "application/json" }).end('{"result":"success"}');
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.flushHeaders();
    held.push(res);
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    await new Promise((r) => dify.close(r));
  });

  it("is stopped as before, once its first event names it: the caller gets no run id", async () => {
    await new Promise<void>((r) => dify.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(dify.address() as { port: number }).port}/v1`;
    const gw = await startInProcessGateway(
      {
        server: { listen: "127.0.0.1:0" },
        workspaces: [
          {
            id: "ws-held",
            difyBaseUrl: url,
            tokens: [{ sha256: sha256(TOKEN).toString("hex") }],
            apps: [{ appId: "held-workflow", mode: "workflow", key: { env: "K" } }],
          },
        ],
      },
      { K: "app-held-key-0123456789" },
    );
    const c = clients(gw.address);
    const out = collect<Message>(
      c.workflow.workflowInvokeStream({ appId: "held-workflow", inputs: {}, files: [], user: "u" }, bearer(TOKEN)),
    );
    await expect.poll(() => held.length).toBe(1);
    const closed = gw.gateway.close(50);
    const { error } = await out;
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(details(error!).errorInfo).toMatchObject({ reason: "SHUTTING_DOWN", metadata: {} });
    // Dify names the run only now: the gateway, still reading on for it, stops it.
    held[0]!.write(
      `data: ${JSON.stringify({ event: "workflow_started", task_id: "task-held", workflow_run_id: "run-held", data: {} })}\n\n`,
    );
    await closed;
    expect(stops).toEqual(["/v1/workflows/tasks/task-held/stop"]);
    expect(await handOffs(gw)).toBe(0);
    c.close();
  });
});
