import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchRunRequest, WatchRunResponse } from "../../generated/dify/app/v1/run.js";
import { DEMO_APPS } from "../../simulator/index.js";
import { collect, details, unary } from "../helpers/grpc.js";
import { type InProcessStack, startInProcessStack } from "../helpers/in-process.js";

/*
 * Human input, re-attach and run status through the gateway, against the simulator's Human Input apps
 * (docs/dify-upstream.md, "Human input and re-attach").
 */

let s: InProcessStack;
beforeAll(async () => {
  s = await startInProcessStack();
});
afterAll(async () => {
  await s?.stop();
});

const app = (name: string) => DEMO_APPS.find((a) => a.name === name)!.appId;
const APPROVAL = app("Demo Approval Workflow");
const TWO_STEP = app("Demo Two-Step Approval");
const APPROVAL_CHAT = app("Demo Approval Chatflow");
const REASONING = app("Demo Reasoning Chatflow");

const failure = (p: Promise<unknown>): Promise<ServiceError> =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: ServiceError) => err,
  );

function startPaused(appId: string, user = "reviewer") {
  return unary(s.c.workflow.workflowInvoke, s.c.workflow, { appId, inputs: { query: "draft" }, files: [], user }, s.md());
}

const watch = (req: Partial<WatchRunRequest> & { appId: string; workflowRunId: string }) =>
  s.c.run.watchRun({ user: "reviewer", includeStateSnapshot: false, continueOnPause: false, ...req }, s.md());

const getForm = (appId: string, formToken: string) => unary(s.c.run.getHumanInputForm, s.c.run, { appId, formToken }, s.md());

const submit = (appId: string, formToken: string, action: string, inputs: Record<string, unknown>, user = "reviewer") =>
  unary(s.c.run.submitHumanInputForm, s.c.run, { appId, formToken, inputs, action, user }, s.md());

const getRun = (appId: string, workflowRunId: string) => unary(s.c.run.getWorkflowRun, s.c.run, { appId, workflowRunId }, s.md());

describe("a unary call whose run pauses", () => {
  it("WorkflowInvoke answers OK with pause set and the blocking dict's paused status", async () => {
    const res = await startPaused(APPROVAL);
    expect(res.data?.status).toBe("paused");
    expect(res.raw).toMatchObject({ data: { status: "paused" } });
    expect(res.pause?.workflowRunId).toBe(res.workflowRunId);
    expect(res.pause?.forms).toHaveLength(1);
    const form = res.pause!.forms[0]!;
    expect(form.formToken).toMatch(/^tok_[0-9a-f]{32}$/);
    expect(form).toMatchObject({ nodeId: "human_input", nodeTitle: "Human Input" });
    expect(form.actions.map((a) => a.id)).toEqual(["approve", "reject"]);
    expect(form.expirationTime).toBeGreaterThan(1_600_000_000);
  });

  it("ChatInvoke on a Chatflow answers OK with pause set and raw.event workflow_paused", async () => {
    const res = await unary(
      s.c.chat.chatInvoke,
      s.c.chat,
      { appId: APPROVAL_CHAT, query: "draft", inputs: {}, files: [], user: "reviewer", conversationId: "" },
      s.md(),
    );
    expect(res.raw?.event).toBe("workflow_paused");
    expect(res.pause?.workflowRunId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.pause?.forms[0]?.formToken).toMatch(/^tok_/);
  });

  it("a run that did not pause has no pause", async () => {
    const res = await unary(
      s.c.workflow.workflowInvoke,
      s.c.workflow,
      { appId: s.appId("workflow"), inputs: {}, files: [], user: "u" },
      s.md(),
    );
    expect(res.pause).toBeUndefined();
  });
});

describe("a form nobody answers in time", () => {
  it("WatchRun carries human_input_form_timeout and the run's end; the form is then FAILED_PRECONDITION expired", async () => {
    const paused = await unary(
      s.c.workflow.workflowInvoke,
      s.c.workflow,
      { appId: APPROVAL, inputs: { query: "draft", _sim: { form_ttl_ms: 300 } }, files: [], user: "reviewer" },
      s.md(),
    );
    const form = paused.pause!.forms[0]!;
    const { messages, error } = await collect<WatchRunResponse>(
      watch({ appId: APPROVAL, workflowRunId: paused.workflowRunId, continueOnPause: true }),
    );
    expect(error).toBeUndefined();
    const events = messages.map((m) => m.event);
    expect(events).not.toContain("human_input_form_filled");
    expect(events.at(-1)).toBe("workflow_finished");
    const timeout = messages.find((m) => m.event === "human_input_form_timeout")?.payload;
    expect(timeout?.$case === "humanInputFormTimeout" && timeout.value.data).toEqual({
      nodeId: form.nodeId,
      nodeTitle: form.nodeTitle,
      expirationTime: form.expirationTime,
    });
    for (const call of [getForm(APPROVAL, form.formToken), submit(APPROVAL, form.formToken, "approve", { comment: "late" })]) {
      const err = await failure(call);
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(details(err).errorInfo?.reason).toBe("HUMAN_INPUT_FORM_EXPIRED");
    }
    expect(await getRun(APPROVAL, paused.workflowRunId)).toMatchObject({ status: "succeeded", outputs: { action: "__timeout" } });
  });
});

describe("forms: get, a rejected then an accepted submit, then re-attach", () => {
  it("walks pause → form → submit → WatchRun to the run's end", async () => {
    const paused = await startPaused(APPROVAL);
    const token = paused.pause!.forms[0]!.formToken;
    const runId = paused.workflowRunId;

    const form = await getForm(APPROVAL, token);
    expect(form.formContent).toBe("Please review the draft answer before it is sent.\n\nReviewer comment: {{#$output.comment#}}");
    expect(form.userActions.map((a) => a.id)).toEqual(["approve", "reject"]);
    expect(form.raw).toMatchObject({ inputs: [{ output_variable_name: "comment" }] });

    const paused2 = await getRun(APPROVAL, runId);
    expect(paused2).toMatchObject({ id: runId, status: "paused", outputs: {} });

    // Rejected: a bad action, then a missing input. Each leaves the form open.
    const badAction = await failure(submit(APPROVAL, token, "maybe", { comment: "ok" }));
    expect(badAction.code).toBe(status.INVALID_ARGUMENT);
    expect(details(badAction).errorInfo?.reason).toBe("INVALID_FORM_DATA");
    const missing = await failure(submit(APPROVAL, token, "approve", {}));
    expect(missing.code).toBe(status.INVALID_ARGUMENT);
    expect(missing.details).toContain("Missing required inputs: comment");
    expect((await getForm(APPROVAL, token)).formContent).not.toBe("");

    // Watching a paused run first replays the part that led to the pause, then waits; the submit resumes it.
    let accepted: Promise<unknown> | undefined;
    const { messages, error } = await collect<WatchRunResponse>(
      watch({ appId: APPROVAL, workflowRunId: runId, continueOnPause: true }),
      (m) => {
        if (m.event === "workflow_paused") accepted = submit(APPROVAL, token, "approve", { comment: "ship it" });
      },
    );
    expect(error).toBeUndefined();
    expect(await accepted).toMatchObject({ raw: {} });
    // A second submit is refused: an accepted submit is final.
    const again = await failure(submit(APPROVAL, token, "approve", { comment: "twice" }));
    expect(again.code).toBe(status.FAILED_PRECONDITION);
    expect(details(again).errorInfo?.reason).toBe("HUMAN_INPUT_FORM_SUBMITTED");

    const events = messages.map((m) => m.event);
    const filledAt = events.indexOf("human_input_form_filled");
    expect(events.slice(filledAt - 2, filledAt)).toEqual(["human_input_required", "workflow_paused"]);
    expect(events.at(-1)).toBe("workflow_finished");
    const filled = messages[filledAt]!.payload;
    expect(filled?.$case === "humanInputFormFilled" && filled.value.data).toMatchObject({
      actionId: "approve",
      submittedData: { comment: "ship it" },
      renderedContent: "Please review the draft answer before it is sent.\n\nReviewer comment: ship it",
    });
    const finished = messages.at(-1)!.payload;
    expect(finished?.$case === "workflowFinished" && finished.value.data?.status).toBe("succeeded");

    const done = await getRun(APPROVAL, runId);
    expect(done).toMatchObject({ status: "succeeded", outputs: { text: "Approve: ship it", action: "approve" } });
    expect(JSON.parse(done.inputs)).toEqual({ query: "draft" });

    // Re-attaching to a finished run: its workflow_finished only.
    const late = await collect<WatchRunResponse>(watch({ appId: APPROVAL, workflowRunId: runId }));
    expect(late.messages.map((m) => m.event)).toEqual(["workflow_finished"]);
  });

  it("include_state_snapshot first replays the nodes the run already executed", async () => {
    const paused = await startPaused(TWO_STEP);
    await submit(TWO_STEP, paused.pause!.forms[0]!.formToken, "reject", { comment: "no" });
    // The run goes on to its second form: the snapshot, then the part since the submit, to that pause.
    const { messages } = await collect<WatchRunResponse>(
      watch({ appId: TWO_STEP, workflowRunId: paused.workflowRunId, includeStateSnapshot: true }),
    );
    const events = messages.map((m) => m.event);
    const filledAt = events.indexOf("human_input_form_filled");
    expect(filledAt).toBeGreaterThan(0);
    expect(events[0]).toBe("workflow_started");
    const replayed = messages
      .slice(0, filledAt)
      .filter((m) => m.event === "node_finished")
      .map((m) => m.raw?.data as { node_id: string });
    expect(replayed.map((d) => d.node_id)).toEqual(["start", "llm"]);
    expect(events.at(-1)).toBe("workflow_paused");
  });

  it("a two-pause workflow is resumed twice on one WatchRun with continue_on_pause", async () => {
    const paused = await startPaused(TWO_STEP);
    await submit(TWO_STEP, paused.pause!.forms[0]!.formToken, "approve", { comment: "step one" });
    const submitted: string[] = [];
    const { messages, error } = await collect<WatchRunResponse>(
      watch({ appId: TWO_STEP, workflowRunId: paused.workflowRunId, continueOnPause: true }),
      (m) => {
        // The second form arrives on the same stream; answering it resumes the run, and the stream goes on.
        if (m.payload?.$case === "humanInputRequired") {
          const token = m.payload.value.data?.formToken ?? "";
          submitted.push(token);
          void submit(TWO_STEP, token, "approve", { comment: "step two" });
        }
      },
    );
    expect(error).toBeUndefined();
    expect(submitted).toHaveLength(1);
    const events = messages.map((m) => m.event);
    expect(events.filter((e) => e === "human_input_form_filled")).toHaveLength(2);
    expect(events.filter((e) => e === "workflow_paused")).toHaveLength(1);
    expect(events.at(-1)).toBe("workflow_finished");
    expect((await getRun(TWO_STEP, paused.workflowRunId)).status).toBe("succeeded");
  });

  it("without continue_on_pause the stream ends at the next pause", async () => {
    const paused = await startPaused(TWO_STEP);
    await submit(TWO_STEP, paused.pause!.forms[0]!.formToken, "approve", { comment: "one" });
    const { messages, error } = await collect<WatchRunResponse>(watch({ appId: TWO_STEP, workflowRunId: paused.workflowRunId }));
    expect(error).toBeUndefined();
    expect(messages.at(-1)?.event).toBe("workflow_paused");
    expect((await getRun(TWO_STEP, paused.workflowRunId)).status).toBe("paused");
  });
});

describe("re-attach leaks nothing and stops nothing", () => {
  it("another user gets the same NOT_FOUND as a run that does not exist", async () => {
    const paused = await startPaused(APPROVAL, "owner");
    const other = await collect(watch({ appId: APPROVAL, workflowRunId: paused.workflowRunId, user: "intruder" }));
    const none = await collect(watch({ appId: APPROVAL, workflowRunId: "00000000-0000-4000-8000-000000000000", user: "owner" }));
    for (const r of [other, none]) {
      expect(r.messages).toEqual([]);
      expect(r.error?.code).toBe(status.NOT_FOUND);
      expect(details(r.error!).errorInfo?.reason).toBe("WORKFLOW_RUN_NOT_FOUND");
    }
    expect(other.error?.details.replace(paused.workflowRunId, "<id>")).toBe(
      none.error?.details.replace("00000000-0000-4000-8000-000000000000", "<id>"),
    );
  });

  it("a run or form token of another app of the workspace is NOT_FOUND", async () => {
    const paused = await startPaused(APPROVAL);
    const token = paused.pause!.forms[0]!.formToken;
    const run = await failure(getRun(TWO_STEP, paused.workflowRunId));
    expect(details(run).errorInfo?.reason).toBe("WORKFLOW_RUN_NOT_FOUND");
    for (const err of [await failure(getForm(TWO_STEP, token)), await failure(submit(TWO_STEP, token, "approve", { comment: "x" }))]) {
      expect(err.code).toBe(status.NOT_FOUND);
      expect(details(err).errorInfo?.reason).toBe("HUMAN_INPUT_FORM_NOT_FOUND");
      // The token is a credential for the form: it is not echoed.
      expect(`${err.details} ${JSON.stringify(details(err))}`).not.toContain(token);
    }
    // The form is still open for its own app.
    expect((await getForm(APPROVAL, token)).userActions).toHaveLength(2);
  });

  it("a caller that leaves a WatchRun does not stop the run", async () => {
    const paused = await startPaused(APPROVAL);
    await s.sim.reset();
    const call = watch({ appId: APPROVAL, workflowRunId: paused.workflowRunId, continueOnPause: true });
    const left = collect(call);
    await new Promise((r) => setTimeout(r, 200));
    call.cancel();
    expect((await left).error?.code).toBe(status.CANCELLED);
    await new Promise((r) => setTimeout(r, 200));
    expect((await s.sim.requests()).filter((r) => r.path.endsWith("/stop"))).toEqual([]);
    // The run still waits for its form, and finishes when it is answered.
    await submit(APPROVAL, paused.pause!.forms[0]!.formToken, "approve", { comment: "later" });
    await expect.poll(async () => (await getRun(APPROVAL, paused.workflowRunId)).status).toBe("succeeded");
  });
});

describe("requests are checked before anything reaches Dify", () => {
  it.each([
    ["workflow_run_id", () => getRun(APPROVAL, "not-a-uuid")],
    ["form_token", () => getForm(APPROVAL, "../../files/upload")],
    ["form_token", () => getForm(APPROVAL, "")],
    ["action", () => submit(APPROVAL, "tok_1", "", { comment: "x" })],
    ["action", () => submit(APPROVAL, "tok_1", "a/b", { comment: "x" })],
    ["user", () => submit(APPROVAL, "tok_1", "approve", {}, "u".repeat(257))],
  ] as const)("%s", async (field, call) => {
    await s.sim.reset();
    const err = await failure(call());
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(details(err).badRequest?.fieldViolations[0]?.field).toBe(field);
    expect(await s.sim.requests()).toEqual([]);
  });

  it("WatchRun names a bad workflow_run_id", async () => {
    const { error } = await collect(watch({ appId: APPROVAL, workflowRunId: "x" }));
    expect(details(error!).badRequest?.fieldViolations[0]?.field).toBe("workflow_run_id");
  });
});

describe("reasoning and workflow_id", () => {
  it("ChatInvoke joins the reasoning_chunk texts into reasoning; the stream types them", async () => {
    const req = { appId: REASONING, query: "Why?", inputs: {}, files: [], user: "u", conversationId: "" };
    const res = await unary(s.c.chat.chatInvoke, s.c.chat, req, s.md());
    const streamed = await collect(s.c.chat.chatInvokeStream(req, s.md()));
    const chunks = streamed.messages.filter((m) => m.event === "reasoning_chunk");
    expect(chunks.length).toBeGreaterThan(1);
    const texts = chunks.map((m) => (m.payload?.$case === "reasoningChunk" ? m.payload.value.data?.reasoning : undefined));
    expect(res.reasoning).toBe(texts.join(""));
    expect(res.reasoning).toContain("Why?");
    const last = chunks.at(-1)?.payload;
    expect(last?.$case === "reasoningChunk" && last.value.data?.isFinal).toBe(true);
  });

  it("a workflow pinned to a version runs POST /workflows/{workflow_id}/run", async () => {
    const current = await unary(s.c.workflow.workflowInvoke, s.c.workflow, { appId: APPROVAL, inputs: {}, files: [], user: "u" }, s.md());
    const latest = current.data!.workflowId;
    await s.sim.reset();
    const res = await unary(
      s.c.workflow.workflowInvoke,
      s.c.workflow,
      { appId: APPROVAL, inputs: {}, files: [], user: "u", workflowId: latest },
      s.md(),
    );
    expect(res.data?.workflowId).toBe(latest);
    expect((await s.sim.runs()).map((r) => r.path)).toEqual([`/v1/workflows/${latest}/run`]);
  });

  it("an advanced-chat run pinned to a version sends workflow_id in the body", async () => {
    await s.sim.reset();
    const workflowId = "0f0f0f0f-0000-4000-8000-000000000000";
    const err = await failure(
      unary(
        s.c.chat.chatInvoke,
        s.c.chat,
        { appId: APPROVAL_CHAT, query: "q", inputs: {}, files: [], user: "u", conversationId: "", workflowId },
        s.md(),
      ),
    );
    // No such published version: Dify's 404, and the request carried the id.
    expect(err.code).toBe(status.NOT_FOUND);
    const runs = await s.sim.runs();
    expect(runs.map((r) => [r.path, (r.body as { workflow_id?: string }).workflow_id])).toEqual([["/v1/chat-messages", workflowId]]);
  });

  it("a workflow_id that is not a UUID is INVALID_ARGUMENT, with no upstream request", async () => {
    await s.sim.reset();
    const err = await failure(
      unary(s.c.workflow.workflowInvoke, s.c.workflow, { appId: APPROVAL, inputs: {}, files: [], user: "u", workflowId: "../run" }, s.md()),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(details(err).badRequest?.fieldViolations[0]?.field).toBe("workflow_id");
    expect(await s.sim.requests()).toEqual([]);
  });
});

describe("a drain ends a WatchRun without stopping its run", () => {
  it("UNAVAILABLE SHUTTING_DOWN to the watcher; the run still waits for its form", async () => {
    const own = await startInProcessStack();
    try {
      const res = await unary(
        own.c.workflow.workflowInvoke,
        own.c.workflow,
        { appId: APPROVAL, inputs: {}, files: [], user: "reviewer" },
        own.md(),
      );
      const runId = res.workflowRunId;
      const watching = collect(
        own.c.run.watchRun(
          { appId: APPROVAL, workflowRunId: runId, user: "reviewer", includeStateSnapshot: false, continueOnPause: true },
          own.md(),
        ),
      );
      // The watch is attached once Dify (the simulator) got its request.
      await expect.poll(async () => (await own.sim.requests()).some((r) => r.path.endsWith("/events"))).toBe(true);
      await own.gw.gateway.close(100);
      const { error } = await watching;
      expect(error?.code).toBe(status.UNAVAILABLE);
      expect(details(error!).errorInfo?.reason).toBe("SHUTTING_DOWN");
      expect((await own.sim.requests()).filter((r) => r.path.endsWith("/stop"))).toEqual([]);
      // Dify still has the run paused, its form open.
      const detail = await fetch(`${own.sim.url}/workflows/run/${runId}`, {
        headers: { authorization: `Bearer ${DEMO_APPS.find((a) => a.appId === APPROVAL)!.key}` },
      });
      expect(((await detail.json()) as { status: string }).status).toBe("paused");
    } finally {
      await own.stop();
    }
  });
});
