import type { Invoke } from "../core/invoke.js";
import type { UploadLimits } from "../files/upload-limits.js";
import { CHAT, COMPLETION, WORKFLOW } from "../invoke/interfaces.js";
import { type AppDeps, describeApp, listApps } from "../rpc/apps.js";
import { uploadFile } from "../rpc/files.js";
import { type CallLimits, invokeStream, invokeUnary } from "../rpc/invoke.js";
import { getHumanInputForm, getWorkflowRun, RUN_SERVICE, type RunServiceDeps, submitHumanInputForm, watchRun } from "../rpc/run.js";
import type { Route } from "../transport/route.js";

export interface RouteDeps extends AppDeps {
  readonly invoke: Invoke;
  /** Read per call, so a reloaded config applies to the next call. */
  limits(): CallLimits;
  uploadLimits(): UploadLimits;
  /** RunService: re-attach, run status, human-input forms. */
  readonly runs: RunServiceDeps;
}

/** Every RPC the gateway serves, one line each: adding an RPC is a handler in src/rpc/ and a line here. */
export function routes(deps: RouteDeps): Route[] {
  const { invoke, limits } = deps;
  return [
    invokeUnary(CHAT, invoke, limits),
    invokeStream(CHAT, invoke, limits),
    invokeUnary(WORKFLOW, invoke, limits),
    invokeStream(WORKFLOW, invoke, limits),
    invokeUnary(COMPLETION, invoke, limits),
    invokeStream(COMPLETION, invoke, limits),
    uploadFile(deps.client, deps.uploadLimits),
    listApps(deps),
    describeApp(deps),
    watchRun(deps.runs),
    getWorkflowRun(deps.runs),
    getHumanInputForm(deps.runs),
    submitHumanInputForm(deps.runs),
  ];
}

/** The services of the routes above that are not invoke interfaces, for health and reflection. */
export const OTHER_SERVICES = ["dify.app.v1.FileService", "dify.app.v1.AppService", RUN_SERVICE];
