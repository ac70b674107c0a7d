import { type ServiceDefinition, status } from "@grpc/grpc-js";
import {
  type GetHumanInputFormRequest,
  GetHumanInputFormResponse,
  type GetWorkflowRunRequest,
  GetWorkflowRunResponse,
  RunServiceService,
  type SubmitHumanInputFormRequest,
  type WatchRunRequest,
} from "../../generated/dify/app/v1/run.js";
import { MAX_APP_ID_LENGTH } from "../config/schema.js";
import { type AppScope, appScope } from "../core/app-scope.js";
import type { CallContext } from "../core/context.js";
import { REATTACHABLE_RUN } from "../core/hand-off.js";
import { RUN_SUMMARY } from "../core/run-summary.js";
import type { DifyClient } from "../dify/client.js";
import { DifyHttpError, DifyStreamError } from "../dify/errors.js";
import { GatewayError, invalidArgument } from "../grpc/gateway-error.js";
import { withInputsDecoder } from "../invoke/decode.js";
import { type InputsLimits, validateInputs } from "../invoke/inputs.js";
import type { InvokeRequest } from "../invoke/request.js";
import { UUID } from "../invoke/request.js";
import { type RunSettings, UpstreamRun } from "../invoke/upstream-run.js";
import { GRAPH_EVENTS_1_16, type StreamMessage, type TypedEventName, toStreamMessage } from "../translate/events.js";
import { type Route, route, type StreamRoute, streamRoute } from "../transport/route.js";
import { untilAborted } from "../util/until-aborted.js";

export const RUN_SERVICE = "dify.app.v1.RunService";
/** Untyped, as the adapter takes it: handlers answer with `raw` as a plain dict, which the generated codec encodes. */
const SERVICE: ServiceDefinition = RunServiceService;

/** What the RunService handlers need; `settings` is read per call, so a reloaded config applies to the next call. */
export interface RunServiceDeps {
  readonly client: DifyClient;
  readonly settings: () => RunSettings;
  readonly inputs: () => InputsLimits;
}

/** The events a re-attached stream can carry: a workflow's or a Chatflow's. */
export const WATCH_EVENTS: ReadonlySet<TypedEventName> = new Set<TypedEventName>([
  "message",
  "message_end",
  "tts_message",
  "tts_message_end",
  "workflow_started",
  "node_started",
  "node_finished",
  "workflow_finished",
  "workflow_paused",
  "error",
  "text_chunk",
  ...GRAPH_EVENTS_1_16,
]);

/** Longest form token accepted; Dify's are far shorter, and the token becomes a path segment. */
export const MAX_FORM_TOKEN_LENGTH = 256;
/** What a form token may hold: URL-safe characters, so nothing needs guessing about how Dify decodes the path. */
const FORM_TOKEN = /^[A-Za-z0-9._~-]+$/;
/** Dify's action ids (its OpenAPI spec: `^[A-Za-z_][A-Za-z0-9_]*$`, at most 20 characters). */
const ACTION_ID = /^[A-Za-z_][A-Za-z0-9_]{0,19}$/;
/** Longest `user` accepted: it travels in a query string and a JSON body. */
const MAX_USER_LENGTH = 256;

/** `WatchRun`: re-attaches to a workflow or Chatflow run and forwards its events, one message each. */
export function watchRun(deps: RunServiceDeps): Route {
  return streamRoute<WatchRunRequest, StreamMessage>({
    definition: SERVICE.watchRun as StreamRoute<WatchRunRequest, StreamMessage>["definition"],
    checkRequest: (req, ctx) => void checkWatch(req, ctx),
    async *handler(req, ctx) {
      const scope = checkWatch(req, ctx);
      const user = scope.user(req.user);
      const query = new URLSearchParams({
        user,
        include_state_snapshot: String(req.includeStateSnapshot),
        continue_on_pause: String(req.continueOnPause),
      });
      // Not stopped when the caller leaves (stopPath undefined): this call did not start the run, and whoever did
      // (a paused run's submitter, a caller re-attaching after a drain) still owns it. A second WatchRun can follow.
      const run = new UpstreamRun(
        {
          kind: "workflow",
          target: scope.target,
          runPath: `/workflow/${encodeURIComponent(req.workflowRunId)}/events?${query}`,
          stopPath: undefined,
          body: undefined,
          user,
          continueOnPause: req.continueOnPause,
          deadline: ctx.deadline,
        },
        deps.client,
        deps.settings(),
        ctx.log,
      );
      // A drain names the run in its status, so the watcher re-attaches elsewhere (the run was never ours to stop).
      ctx.values.set(REATTACHABLE_RUN, () => ({ appId: req.appId, workflowRunId: req.workflowRunId }));
      try {
        for await (const batch of run.batches(ctx.signal)) yield batch.map((ev) => toStreamMessage(ev, WATCH_EVENTS));
        const failure = run.tracker.failure();
        if (failure) throw failure;
      } catch (err) {
        throw notFoundAs(err, () => runNotFound(req.workflowRunId));
      } finally {
        ctx.values.set(RUN_SUMMARY, {
          kind: "workflow",
          appId: req.appId,
          mode: undefined,
          taskId: run.tracker.taskId,
          conversationId: run.tracker.conversationId,
          workflowRunId: run.tracker.workflowRunId ?? req.workflowRunId,
          // The run's usage is the call's that started it: Dify replays `workflow_finished` to every watcher, and
          // counting it here charged the tokens (metrics, budget) once more per watch. A run whose own call was cut
          // by a drain and that finished while only watched goes uncounted: it is a run, not new usage.
          usage: undefined,
          stopCalled: false,
          handedOff: false,
          attempts: run.attempts,
          upstreamStartedAt: run.startedAt,
          firstEventAt: run.firstEventAt,
          pausedAt: run.pausedAt,
        });
      }
    },
  });
}

/** `GetWorkflowRun`: `GET /workflows/run/{id}`, `raw` plus its typed fields. */
export function getWorkflowRun(deps: RunServiceDeps): Route {
  return route<GetWorkflowRunRequest, object>({
    definition: SERVICE.getWorkflowRun!,
    checkRequest: (req, ctx) => void checkRun(req, ctx),
    async *handler(req, ctx) {
      const scope = checkRun(req, ctx);
      const raw = await getJson(deps, scope, ctx, `/workflows/run/${encodeURIComponent(req.workflowRunId)}`, () =>
        runNotFound(req.workflowRunId),
      );
      // Dify sends `inputs` as a JSON string; a version that sends the object still fills the typed field.
      const inputs = typeof raw.inputs === "string" ? raw.inputs : raw.inputs == null ? "" : JSON.stringify(raw.inputs);
      return { ...GetWorkflowRunResponse.fromJSON({ ...raw, inputs }), raw };
    },
  });
}

/** `GetHumanInputForm`: `GET /form/human_input/{token}`. */
export function getHumanInputForm(deps: RunServiceDeps): Route {
  return route<GetHumanInputFormRequest, object>({
    definition: SERVICE.getHumanInputForm!,
    checkRequest: (req, ctx) => void checkForm(req, ctx),
    async *handler(req, ctx) {
      const scope = checkForm(req, ctx);
      const raw = await getJson(deps, scope, ctx, `/form/human_input/${encodeURIComponent(req.formToken)}`, formNotFound);
      return { ...GetHumanInputFormResponse.fromJSON(raw), raw };
    },
  });
}

/** `SubmitHumanInputForm`: `POST /form/human_input/{token}` with `{inputs, action, user}`. */
export function submitHumanInputForm(deps: RunServiceDeps): Route {
  return route<SubmitHumanInputFormRequest, object>({
    definition: withInputsDecoder(SERVICE, deps.inputs).submitHumanInputForm!,
    checkRequest: (req, ctx) => void checkSubmit(req, ctx),
    async *handler(req, ctx) {
      const scope = checkSubmit(req, ctx);
      const body = { inputs: req.inputs ?? {}, action: req.action, user: scope.user(req.user) };
      const path = `/form/human_input/${encodeURIComponent(req.formToken)}`;
      const raw = await upstreamJson(deps, ctx, formNotFound, (signal, maxBytes) =>
        // Retried only where Dify cannot have taken the submit (retry.ts), so a retry cannot answer a form twice.
        deps.client.postJson(scope.target, path, body, signal, { deadline: ctx.deadline }, maxBytes),
      );
      return { raw };
    },
  });
}

function getJson(
  deps: RunServiceDeps,
  scope: AppScope,
  ctx: CallContext,
  path: string,
  notFound: () => GatewayError,
): Promise<Record<string, unknown>> {
  return upstreamJson(deps, ctx, notFound, (signal, maxBytes) =>
    deps.client.getJson(scope.target, path, signal, { deadline: ctx.deadline }, maxBytes),
  );
}

/**
 * One JSON request to Dify for this call. It ends with the call, and at the latest after `upstream.idleTimeoutMs`
 * without an answer (Dify answers these at once): UNAVAILABLE UPSTREAM_IDLE_TIMEOUT. The answer is read up to
 * `upstream.maxEventBytes`, like one event: the same outputs arrive in a `workflow_finished` event.
 */
async function upstreamJson(
  deps: RunServiceDeps,
  ctx: CallContext,
  notFound: () => GatewayError,
  send: (signal: AbortSignal, maxBytes: number) => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const { idleTimeoutMs, maxEventBytes } = deps.settings();
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new DifyStreamError("idle_timeout", `Dify sent nothing for ${idleTimeoutMs} ms`)),
    idleTimeoutMs,
  );
  try {
    const answer = send(AbortSignal.any([ctx.signal, timeout.signal]), maxEventBytes).catch((err: unknown) => {
      throw notFoundAs(err, notFound);
    });
    return asDict(await untilAborted(answer, ctx.signal));
  } finally {
    clearTimeout(timer);
  }
}

function asDict(raw: unknown): Record<string, unknown> {
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) return raw as Record<string, unknown>;
  throw new GatewayError(status.INTERNAL, "Dify answered with JSON that is not an object", {
    reason: "UPSTREAM_MALFORMED_RESPONSE",
    domain: "dify",
  });
}

/**
 * Dify's 404 for a run or form: the same answer whether it belongs to another app, another user or nobody (Dify
 * answers each app's key only about that app's runs), and Dify's own message is not passed on, so nothing about
 * the id is revealed beyond "not here".
 */
function notFoundAs(err: unknown, notFound: () => GatewayError): unknown {
  return err instanceof DifyHttpError && err.httpStatus === 404 ? notFound() : err;
}

export function runNotFound(workflowRunId: string): GatewayError {
  return new GatewayError(status.NOT_FOUND, `workflow run ${JSON.stringify(workflowRunId)} not found`, {
    reason: "WORKFLOW_RUN_NOT_FOUND",
    metadata: { workflowRunId },
  });
}

/** The token is a credential for the form: it is never echoed. */
export function formNotFound(): GatewayError {
  return new GatewayError(status.NOT_FOUND, "human input form not found", { reason: "HUMAN_INPUT_FORM_NOT_FOUND" });
}

function checkAppId(appId: string): void {
  if (appId.trim() === "") throw invalidArgument("app_id", "is required");
  if (appId.length > MAX_APP_ID_LENGTH) throw invalidArgument("app_id", `must be at most ${MAX_APP_ID_LENGTH} characters`);
}

function checkRunId(workflowRunId: string): void {
  if (workflowRunId === "") throw invalidArgument("workflow_run_id", "is required");
  if (!UUID.test(workflowRunId)) throw invalidArgument("workflow_run_id", "must be a UUID");
}

function checkUser(user: string): void {
  if (user.length > MAX_USER_LENGTH) throw invalidArgument("user", `must be at most ${MAX_USER_LENGTH} characters`);
}

function checkFormToken(formToken: string): void {
  if (formToken === "") throw invalidArgument("form_token", "is required");
  if (formToken.length > MAX_FORM_TOKEN_LENGTH) throw invalidArgument("form_token", `must be at most ${MAX_FORM_TOKEN_LENGTH} characters`);
  if (!FORM_TOKEN.test(formToken)) throw invalidArgument("form_token", "may hold only letters, digits and . _ ~ -");
}

/** Each check validates every field first, then finds the app: a bad request is refused as such, with no Dify call. */
function checkWatch(req: WatchRunRequest, ctx: CallContext): AppScope {
  checkAppId(req.appId);
  checkRunId(req.workflowRunId);
  checkUser(req.user);
  return appScope(ctx, req.appId);
}

export function checkRun(req: GetWorkflowRunRequest, ctx: CallContext): AppScope {
  checkAppId(req.appId);
  checkRunId(req.workflowRunId);
  return appScope(ctx, req.appId);
}

export function checkForm(req: GetHumanInputFormRequest, ctx: CallContext): AppScope {
  checkAppId(req.appId);
  checkFormToken(req.formToken);
  return appScope(ctx, req.appId);
}

export function checkSubmit(req: SubmitHumanInputFormRequest, ctx: CallContext): AppScope {
  checkAppId(req.appId);
  checkFormToken(req.formToken);
  const rejected = (req as unknown as InvokeRequest).inputsRejected;
  if (rejected) throw invalidArgument(rejected.field, rejected.description);
  validateInputs(req.inputs);
  if (req.action === "") throw invalidArgument("action", "is required");
  if (!ACTION_ID.test(req.action))
    throw invalidArgument("action", "must be an action id of the form (a letter or _, then letters, digits or _; at most 20)");
  checkUser(req.user);
  return appScope(ctx, req.appId);
}
