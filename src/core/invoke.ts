import type { AppMode } from "../config/schema.js";
import type { AppModes } from "../dify/app-mode.js";
import type { DifyClient } from "../dify/client.js";
import { unauthenticated } from "../grpc/gateway-error.js";
import type { InterfaceSpec } from "../invoke/interfaces.js";
import { type InvokeRequest, validateCommon } from "../invoke/request.js";
import type { RunKind } from "../invoke/termination.js";
import { type RunSettings, TAIL_MS, UpstreamRun } from "../invoke/upstream-run.js";
import type { DifyEvent } from "../sse/decoder.js";
import { withOperatorHint } from "../translate/hints.js";
import { untilAborted } from "../util/until-aborted.js";
import { type AppScope, appScope } from "./app-scope.js";
import { callError, isUnexpected } from "./call-error.js";
import { type CallContext, createContextKey } from "./context.js";
import { REATTACHABLE_RUN } from "./hand-off.js";
import { RUN_SUMMARY, type RunSummary, UNNAMED_RUN } from "./run-summary.js";

export interface CoreDeps {
  readonly client: DifyClient;
  readonly modes: AppModes;
  /** Read per call, so a reloaded config applies to the next call. */
  settings: RunSettings;
  /** Each stop call sent to Dify for a run left unfinished, with its outcome. */
  onStop(kind: RunKind, result: "ok" | "failed"): void;
  /** Each unfinished run a drain handed off (left running on Dify for a re-attach) instead of stopping it. */
  onHandOff(kind: RunKind): void;
  /** Stop work still going on after its call ended: a shutdown lets it finish before closing the Dify client. */
  track?(work: Promise<void>): void;
  /** Aborted when a shutdown stops waiting for stop calls: those still waiting give up and log it (`RunHooks`). */
  abandonStops?: AbortSignal;
}

/** One call's Dify run: validates, picks the app, resolves its mode and yields the run's events, in batches (`UpstreamRun.batches`). */
export type Invoke = (
  spec: InterfaceSpec,
  req: InvokeRequest,
  ctx: CallContext,
  options?: InvokeOptions,
) => AsyncGenerator<readonly DifyEvent[], RunSummary, undefined>;

export interface InvokeOptions {
  /** Streams: forward what Dify sends after the terminal event (`TAIL_MS`). */
  readonly tail?: boolean;
}

export function createInvoke(deps: CoreDeps): Invoke {
  return async function* invoke(spec, req, ctx, options = {}) {
    const { workspace, app, target, user: userOf } = checkRequest(spec, req, ctx);
    const user = userOf(req.user);
    let mode: AppMode | undefined;
    let run: UpstreamRun | undefined;
    try {
      // The lookup is shared by the app's callers and bounded only by its timeout: this call stops waiting when it ends.
      mode = spec.mode ?? (await untilAborted(deps.modes.resolve(app, target), ctx.signal));
      ctx.values.set(APP_MODE, mode);
      run = new UpstreamRun(
        {
          kind: spec.kind,
          target,
          runPath: spec.runPathFor(req),
          stopPath: spec.stopPath,
          body: spec.body(req, user),
          user,
          deadline: ctx.deadline,
          tailMs: options.tail ? TAIL_MS : undefined,
        },
        deps.client,
        deps.settings,
        ctx.log,
        {
          onStop: (result) => deps.onStop(spec.kind, result),
          onHandOff: () => deps.onHandOff(spec.kind),
          track: deps.track,
          abandonStops: deps.abandonStops,
        },
      );
      const started = run;
      // Once an event names a workflow run, a drain can hand it off (src/middleware/drain.ts) instead of stopping it.
      ctx.values.set(REATTACHABLE_RUN, () => {
        const workflowRunId = started.tracker.workflowRunId;
        return workflowRunId === undefined ? undefined : { appId: req.appId, workflowRunId };
      });
      yield* run.batches(ctx.signal);
      const failure = run.tracker.failure();
      if (failure) throw failure;
    } catch (err) {
      // Callers get the status the client will see: Dify's failures mapped, an abort's reason as the truth.
      const error = callError(err, ctx.signal);
      if (isUnexpected(err, error)) ctx.log.error({ err }, "unexpected failure while serving a call");
      if (ctx.signal.aborted) throw error;
      // The mode is asked only when Dify said the route is wrong; the lookup is cached and ends with the call.
      // `mode` is the app's own only when the interface did not imply one.
      const resolveMode = async () =>
        spec.mode === undefined && mode !== undefined ? mode : await untilAborted(deps.modes.resolve(app, target), ctx.signal);
      throw await withOperatorHint(error, err, { spec, workspace, app, resolveMode, log: ctx.log });
    } finally {
      // After run.events' own finally, so a stop it sent is counted.
      ctx.values.set(RUN_SUMMARY, summarize(spec.kind, app.appId, mode, run));
      ctx.values.set(UNNAMED_RUN, run?.unnamedRun);
    }
    return ctx.values.get(RUN_SUMMARY) as RunSummary;
  };
}

/** The app's mode, set before the run's first event: a unary call's aggregator depends on it. */
export const APP_MODE = createContextKey<AppMode | undefined>(undefined, "app mode");

interface CheckedRequest extends AppScope {
  readonly request: InvokeRequest;
}

const CHECKED = createContextKey<CheckedRequest | undefined>(undefined, "checked request");

/**
 * Refuses what the gateway must not send on (the field named), and finds the app in the caller's workspace.
 * An app of another workspace is answered exactly like one that exists nowhere. Remembered per call, so
 * middleware that must refuse bad requests first (the concurrency limit) does not make it run twice.
 */
export function checkRequest(spec: InterfaceSpec, req: InvokeRequest, ctx: CallContext): CheckedRequest {
  const checked = ctx.values.get(CHECKED);
  if (checked?.request === req) return checked;
  // The auth interceptor runs before every handler; reaching here without it is a wiring bug.
  if (!ctx.workspace) throw unauthenticated("unauthenticated");
  validateCommon(req);
  spec.validate(req);
  const result = { request: req, ...appScope(ctx, req.appId) };
  ctx.values.set(CHECKED, result);
  return result;
}

function summarize(kind: RunKind, appId: string, mode: AppMode | undefined, run: UpstreamRun | undefined): RunSummary {
  return {
    kind,
    appId,
    mode,
    conversationId: run?.tracker.conversationId,
    taskId: run?.tracker.taskId,
    workflowRunId: run?.tracker.workflowRunId,
    usage: run?.tracker.usage,
    stopCalled: run?.stopCalled ?? false,
    handedOff: run?.handedOff ?? false,
    attempts: run?.attempts ?? 0,
    upstreamStartedAt: run?.startedAt,
    firstEventAt: run?.firstEventAt,
    pausedAt: run?.pausedAt,
  };
}
