/**
 * Runs after their first stream: re-attach (`GET /workflow/{id}/events`), run detail (`GET /workflows/run/{id}`) and
 * Human Input forms (`GET|POST /form/human_input/{token}`), as the Dify 1.16 docs describe them ([spec] guides
 * human-input-flow.mdx and streaming.mdx; docs/dify-upstream.md).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isWorkflowBased } from "./apps.js";
import { authenticate } from "./auth.js";
import type { Call, SimulatorContext } from "./context.js";
import { errors } from "./errors.js";
import { answerEvent, dataEvent, messageEndEvent, type SimEvent, workflowEvent } from "./events.js";
import { sendJson } from "./http-io.js";
import type { Run } from "./run.js";
import { streamSteps } from "./sse.js";
import { eventStep, PING, type Step } from "./steps.js";
import { isJsonObject, parseJsonBody } from "./validation.js";
import {
  humanInputNode,
  humanInputPause,
  NODES,
  type NodeTrace,
  renderSubmitted,
  traceOf,
  workflowFinishedEvent,
} from "./workflow-events.js";
import type { StoredForm, StoredRun } from "./workflow-runs.js";

/** `GET /v1/workflow/{workflow_run_id}/events?user=&include_state_snapshot=&continue_on_pause=`. */
export async function handleWorkflowEvents(call: Call, ctx: SimulatorContext): Promise<void> {
  const app = authenticate(call.req.headers.authorization, ctx.appsByKey);
  if (!isWorkflowBased(app.mode)) throw errors.notWorkflowApp();
  const user = call.url.searchParams.get("user");
  if (!user) throw errors.userRequired();
  const stored = ctx.workflowRuns.run(call.params["workflow_run_id"] ?? "", app.appId);
  // Another app's run, another user's run and no run at all look the same.
  if (!stored || stored.run.user !== user) throw errors.workflowRunNotFound();
  const snapshot = call.url.searchParams.get("include_state_snapshot") === "true";
  const continueOnPause = call.url.searchParams.get("continue_on_pause") === "true";
  await streamSteps(call.res, attachSteps(stored, snapshot, continueOnPause, call.signal), {
    pingIntervalMs: ctx.pingIntervalMs,
    signal: call.signal,
    connectionClose: ctx.connectionClose,
  });
}

async function* attachSteps(stored: StoredRun, snapshot: boolean, continueOnPause: boolean, signal: AbortSignal): AsyncGenerator<Step> {
  yield PING;
  if (stored.finished) {
    // A finished run answers with its last event only.
    const last = stored.events.findLast((e) => e.event === "workflow_finished");
    if (last) yield eventStep(last);
    return;
  }
  // The part since the last resumption (for a paused run, up to its form and pause), then what follows: a client
  // that re-attaches to a paused run learns which form it waits for.
  // A run that never paused publishes to whoever listens now: what it emitted before (its text chunks) is missing,
  // and only the snapshot tells which nodes ran (a re-attach after a drain hand-off).
  let cursor = stored.pauses === 0 ? stored.events.length : stored.segmentStart;
  if (snapshot) {
    for (const event of stored.events.slice(0, cursor)) if (SNAPSHOT_EVENTS.has(event.event)) yield eventStep(event);
  }
  for (;;) {
    while (cursor < stored.events.length) {
      const event = stored.events[cursor++] as SimEvent;
      yield eventStep(event);
      if (event.event === "workflow_finished" || event.event === "error") return;
      if (event.event === "workflow_paused" && !continueOnPause) return;
    }
    await stored.changed(signal);
    if (signal.aborted) return;
  }
}

/** What `include_state_snapshot` replays: the run's start and the nodes it executed. */
const SNAPSHOT_EVENTS = new Set(["workflow_started", "node_started", "node_finished"]);

/** `GET /v1/workflows/run/{workflow_run_id}`: any user of the app may read it. */
export function handleRunDetail(call: Call, ctx: SimulatorContext): void {
  const app = authenticate(call.req.headers.authorization, ctx.appsByKey);
  if (!isWorkflowBased(app.mode)) throw errors.notWorkflowApp();
  const stored = ctx.workflowRuns.run(call.params["workflow_run_id"] ?? "", app.appId);
  if (!stored) throw errors.workflowRunDetailNotFound();
  const { run, lastData: data } = stored;
  const finished = stored.finished;
  sendJson(call.res, 200, {
    id: run.workflowRunId,
    workflow_id: run.workflowId,
    status: stored.status,
    inputs: JSON.stringify(run.inputs),
    outputs: finished ? (data["outputs"] ?? {}) : {},
    error: finished ? (data["error"] ?? null) : null,
    total_steps: Number(data["total_steps"] ?? 0),
    total_tokens: Number(data["total_tokens"] ?? 0),
    created_at: run.createdAt,
    finished_at: finished ? (data["finished_at"] ?? null) : null,
    elapsed_time: data["elapsed_time"] ?? null,
  });
}

/** `GET /v1/form/human_input/{form_token}`. */
export function handleGetForm(call: Call, ctx: SimulatorContext): void {
  const form = openFormOf(call, ctx);
  sendJson(call.res, 200, {
    form_content: form.formContent,
    inputs: form.inputs,
    resolved_default_values: form.resolvedDefaultValues,
    user_actions: form.actions,
    expiration_time: form.expirationTime,
  });
}

/**
 * `POST /v1/form/human_input/{form_token}` `{inputs, action, user}` → `{}`. A rejected submit leaves the form open;
 * an accepted one is final and resumes the run in the background, as Dify's worker does.
 */
export function handleSubmitForm(call: Call, ctx: SimulatorContext): void {
  const body = parseJsonBody(call.rawBody, call.req.headers["content-type"]);
  const user = body["user"];
  if (typeof user !== "string" || user === "") throw errors.userRequired();
  // Any user of the app may answer: the first accepted submit wins ([spec] submitChatflowHumanInputForm 412).
  const form = openFormOf(call, ctx);
  const inputs = body["inputs"];
  if (!isJsonObject(inputs)) throw errors.invalidFormData("inputs must be an object");
  const action = form.actions.find((a) => a.id === body["action"]);
  if (!action) throw errors.invalidFormData(`Invalid action: ${String(body["action"])}`);
  const missing = form.inputs.map((i) => i.output_variable_name).filter((name) => typeof inputs[name] !== "string");
  if (missing.length > 0) throw errors.invalidFormData(`Missing required inputs: ${missing.join(", ")}`);
  form.state = "submitted";
  form.run.resume();
  void resume(form, action, inputs, ctx);
  sendJson(call.res, 200, {});
}

/** The app's form, while it still takes an answer: a submitted or expired form is 412 for reads and submits alike. */
function openFormOf(call: Call, ctx: SimulatorContext): StoredForm {
  const app = authenticate(call.req.headers.authorization, ctx.appsByKey);
  const form = ctx.workflowRuns.form(call.params["form_token"] ?? "", app.appId);
  if (!form) throw errors.formNotFound();
  // Past its deadline a form is expired even if the expiry (a timer, like Dify's periodic job) has not run yet.
  if (form.state === "open" && Date.now() >= form.expiresAtMs) expireForm(form, ctx);
  if (form.state === "submitted") throw errors.formSubmitted(form.formId);
  if (form.state === "expired") throw errors.formExpired(form.formId);
  return form;
}

/**
 * Nobody answered in time: the form closes and the run resumes along the node's timeout branch, as Dify's expiry job
 * resumes it: `human_input_form_timeout`, the node succeeds with an empty `__action_id`, and the run goes to its end.
 */
export function expireForm(form: StoredForm, ctx: SimulatorContext): void {
  if (form.state !== "open" || ctx.closing.aborted) return;
  form.state = "expired";
  form.run.resume();
  void continueRun(form, ctx, async (emit, trace, run) => {
    await emit(
      workflowEvent(run, "human_input_form_timeout", {
        node_id: form.nodeId,
        node_title: form.nodeTitle,
        expiration_time: form.expirationTime,
      }),
    );
    const node = trace.lastStarted;
    if (node) await emit(trace.finish(node, { status: "succeeded", outputs: { __action_id: "" } }));
    // The simulated timeout branch skips any later Human Input node and ends the run.
    await finishRun(emit, trace, run, form.nodeId, "No answer before the form expired.", TIMEOUT_BRANCH);
  });
}

/** The edge a timed-out Human Input node takes ([api] its `__timeout` source handle). */
const TIMEOUT_BRANCH = "__timeout";

type Emit = (event: SimEvent) => Promise<void>;

/** Runs `rest` against the resumed run, recording each event it emits, paced like generation. */
async function continueRun(form: StoredForm, ctx: SimulatorContext, rest: (emit: Emit, trace: NodeTrace, run: Run) => Promise<void>) {
  const stored = form.run;
  const emit: Emit = async (event) => {
    // Paced like generation, so a client attaching right after the submit sees the events arrive.
    if (ctx.tokenDelayMs > 0) await sleep(ctx.tokenDelayMs);
    ctx.workflowRuns.record(stored, event);
  };
  await rest(emit, traceOf(stored.run), stored.run);
}

/** The rest of a resumed run: the form's node finishes, then either the next pause or the end of the run. */
function resume(form: StoredForm, action: { id: string; title: string }, inputs: Record<string, unknown>, ctx: SimulatorContext) {
  return continueRun(form, ctx, async (emit, trace, run) => {
    const fields = form.inputs.map((i) => i.output_variable_name);
    const renderedContent = renderSubmitted(form.formContent, fields, inputs);
    await emit(
      workflowEvent(run, "human_input_form_filled", {
        node_id: form.nodeId,
        node_title: form.nodeTitle,
        rendered_content: renderedContent,
        action_id: action.id,
        action_text: action.title,
        submitted_data: inputs,
      }),
    );
    const node = trace.lastStarted;
    // The node's outputs: the submitted values, the chosen action and the filled-in body.
    const outputs = { ...inputs, __action_id: action.id, __rendered_content: renderedContent };
    if (node) await emit(trace.finish(node, { status: "succeeded", outputs }));
    const pauses = run.app.humanInput?.pauses ?? 1;
    if (form.run.pauses < pauses) {
      for (const event of humanInputPause(run, trace, 0, humanInputNode(form.run.pauses + 1))) await emit(event);
      return;
    }
    await finishRun(emit, trace, run, form.nodeId, `${action.title}: ${String(Object.values(inputs)[0] ?? "")}`, action.id);
  });
}

/** The run's last node (answer or end) and its end, with `text` as the answer. */
async function finishRun(emit: Emit, trace: NodeTrace, run: Run, fromNodeId: string, text: string, actionId: string) {
  const chatflow = run.app.mode === "advanced-chat";
  const output = chatflow ? { answer: text } : { text, action: actionId };
  if (chatflow) await emit(answerEvent(run, "message", text));
  else await emit(dataEvent(run, "text_chunk", { data: { text, from_variable_selector: [fromNodeId, "text"] } }));
  const { execution, event } = trace.start(chatflow ? NODES.answer : NODES.end, output);
  await emit(event);
  await emit(trace.finish(execution, { status: "succeeded", outputs: output }));
  if (chatflow) await emit(messageEndEvent(run, 0));
  await emit(workflowFinishedEvent(run, trace, { status: "succeeded", outputs: output, error: null, completionTokens: 0 }));
}
