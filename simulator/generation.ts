/**
 * `POST /v1/chat-messages`, `/v1/completion-messages`, `/v1/workflows/run`: checks in Dify's order (auth wrapper:
 * token, JSON, user; controller: route mode, payload; app generate service: rate limit (here: `_sim` http_error);
 * generator: response mode, query, conversation), then run the app's script in streaming or blocking mode.
 */
import type { ServerResponse } from "node:http";
import { type ApiInterface, assertServedBy, isChatLike, isWorkflowBased, userInputForm } from "./apps.js";
import { authenticate } from "./auth.js";
import { type BlockingOutcome, collectBlocking } from "./blocking.js";
import type { Call, SimulatorContext } from "./context.js";
import { countedDirectives, parseDirectives, type SimDirectives } from "./directives.js";
import { errors } from "./errors.js";
import type { SimEvent } from "./events.js";
import { JSON_TYPE, JSON_UTF8_TYPE, sendError, sendJson, whenAborted } from "./http-io.js";
import { seededUuid } from "./ids.js";
import { validateInputsAgainstForm } from "./input-form.js";
import { streamPreencoded } from "./preencoded.js";
import { createRun, type Run } from "./run.js";
import { RunControl } from "./run-control.js";
import { runSteps } from "./scripts.js";
import { streamSteps } from "./sse.js";
import type { Step } from "./steps.js";
import type { AppMode, SimulatorApp } from "./types.js";
import {
  type GenerationPayload,
  parseChatPayload,
  parseCompletionPayload,
  parseJsonBody,
  parseWorkflowPayload,
  type ResponseMode,
  requireUserArg,
} from "./validation.js";

const PAYLOAD_PARSERS: Record<ApiInterface, (body: Record<string, unknown>) => GenerationPayload> = {
  chat: parseChatPayload,
  completion: parseCompletionPayload,
  workflow: parseWorkflowPayload,
};

export async function handleGeneration(call: Call, ctx: SimulatorContext, api: ApiInterface): Promise<void> {
  const app = authenticate(call.req.headers.authorization, ctx.appsByKey);
  const body = parseJsonBody(call.rawBody, call.req.headers["content-type"]);
  requireUserArg(body);
  assertServedBy(app, api);
  const payload = PAYLOAD_PARSERS[api](body);
  const directives = countedDirectives(parseDirectives(payload.inputs, app.mode), ctx.faultCounts);
  if (answeredByFault(call.res, directives)) return;
  if (api === "chat" && payload.query === "") throw errors.invalidParam("query is required");
  validateInputsAgainstForm(userInputForm(app), payload.inputs);
  const conversation = isChatLike(app.mode) ? ctx.conversations.beginTurn(app.appId, payload.user, payload.conversationId) : null;

  const workflowId = pinnedWorkflow(app, api === "chat" ? body["workflow_id"] : call.params["workflow_id"]);
  const streaming = isStreaming(app.mode, payload.responseMode);
  // A detached run ends only when it finishes, is stopped, or the simulator closes: not with its stream.
  const detached = directives.detached && streaming;
  const control = new RunControl(detached ? ctx.closing : call.signal);
  const run = createRun({
    workflowId,
    app,
    user: payload.user,
    inputs: payload.inputs,
    query: payload.query,
    conversation,
    directives,
    defaultDelayMs: ctx.tokenDelayMs,
    control,
  });
  const unregister = ctx.tasks.add({
    taskId: run.taskId,
    appId: app.appId,
    mode: app.mode,
    user: run.user,
    stopFails: directives.fault?.kind === "stop_fails",
    control,
  });
  // Workflow-based runs are kept (and their events) for re-attach, run detail and Human Input forms.
  const stored = isWorkflowBased(app.mode) ? ctx.workflowRuns.track(run) : undefined;
  const steps = stored ? tee(runSteps(run), (event) => ctx.workflowRuns.record(stored, event)) : runSteps(run);
  if (detached) {
    await streamDetached(call, steps, ctx, directives, eventCounter(call)).finally(unregister);
    return;
  }
  try {
    if (streaming) {
      const onEvent = eventCounter(call);
      const connectionClose = directives.connectionClose ?? ctx.connectionClose;
      // The pre-encoded producer (a load-test directive) bypasses the steps, so its runs are not kept.
      if (directives.preencoded) await streamPreencoded(call.res, run, { signal: call.signal, connectionClose, onEvent });
      else await streamSteps(call.res, steps, { pingIntervalMs: ctx.pingIntervalMs, signal: call.signal, connectionClose, onEvent });
    } else await answerBlocking(call, run, steps);
  } finally {
    unregister();
  }
}

/**
 * Streams the run while its client stays, then lets it run to its end unobserved (recorded for re-attach), as
 * Dify's worker does: the stream is one subscriber of the run, not its owner.
 */
async function streamDetached(
  call: Call,
  steps: AsyncIterable<Step>,
  ctx: SimulatorContext,
  directives: SimDirectives,
  onEvent: (() => void) | undefined,
): Promise<void> {
  const it = steps[Symbol.asyncIterator]();
  // The stream's early return must not end the run: only this function's loop below finishes it.
  const subscriber: AsyncIterable<Step> = { [Symbol.asyncIterator]: () => ({ next: () => it.next() }) };
  const connectionClose = directives.connectionClose ?? ctx.connectionClose;
  await streamSteps(call.res, subscriber, { pingIntervalMs: ctx.pingIntervalMs, signal: call.signal, connectionClose, onEvent });
  while (!(await it.next()).done) {
    // unobserved: `tee` records each event for WatchRun and the run detail
  }
}

/** Counts the events sent on the request's log entry (`eventsSent`), for tests to follow a stream's progress. */
function eventCounter(call: Call): (() => void) | undefined {
  const recorded = call.recorded;
  if (!recorded) return undefined;
  recorded.eventsSent = 0;
  return () => void (recorded.eventsSent = (recorded.eventsSent ?? 0) + 1);
}

/** Each event of the run handed to `onEvent` as it passes. */
async function* tee(steps: AsyncIterable<Step>, onEvent: (event: SimEvent) => void): AsyncGenerator<Step, void> {
  for await (const step of steps) {
    if (step.kind === "event") onEvent(step.event);
    yield step;
  }
}

/**
 * The published versions of an app's workflow: its current one and one older version. `workflow_id` in the path
 * (workflow) or body (advanced-chat) picks one; an id of no published version is 404, like Dify's.
 */
export function publishedWorkflows(app: SimulatorApp): string[] {
  return [seededUuid(`workflow:${app.appId}`), seededUuid(`workflow:${app.appId}:v1`)];
}

function pinnedWorkflow(app: SimulatorApp, requested: unknown): string | undefined {
  if (requested === undefined || requested === null || requested === "") return undefined;
  if (app.mode === "chat" || app.mode === "agent-chat" || app.mode === "agent") return undefined;
  const id = typeof requested === "string" ? requested.toLowerCase() : "";
  if (!publishedWorkflows(app).includes(id)) throw errors.workflowNotFound();
  return id;
}

/** Faults that replace the whole response happen before any generation, like a rate limiter or a proxy would. */
function answeredByFault(res: ServerResponse, directives: SimDirectives): boolean {
  const fault = directives.fault;
  if (fault?.kind === "reset_before_headers") {
    res.destroy();
    return true;
  }
  if (fault?.kind !== "http_error") return false;
  if (fault.bodyText === null) {
    const body = { code: fault.code, message: fault.message, status: fault.status };
    sendJson(res, fault.status, body, JSON_TYPE, fault.headers);
  } else {
    const payload = Buffer.from(fault.bodyText, "utf8");
    res.writeHead(fault.status, { ...fault.headers, "Content-Type": fault.contentType, "Content-Length": payload.length });
    res.end(payload);
  }
  return true;
}

/** Omitted means blocking, except for New Agent; agent-chat cannot block and New Agent only streams. */
function isStreaming(mode: AppMode, requested: ResponseMode | null): boolean {
  if (mode === "agent") {
    if (requested === "blocking") throw errors.badRequest("Agent App only supports streaming response mode.");
    return true;
  }
  if (requested === "streaming") return true;
  if (mode === "agent-chat") throw errors.invalidParam("Agent Chat App does not support blocking mode");
  return false;
}

async function answerBlocking(call: Call, run: Run, steps: AsyncIterable<Step>): Promise<void> {
  const outcome: BlockingOutcome = await collectBlocking(run, steps);
  const { res } = call;
  switch (outcome.kind) {
    case "json":
      sendJson(res, 200, outcome.body, JSON_UTF8_TYPE);
      return;
    case "error":
      sendError(res, outcome.error);
      return;
    case "hang":
      await whenAborted(call.signal);
      return;
    case "end":
      res.socket?.end();
      return;
    case "reset":
      res.destroy();
      return;
  }
}
