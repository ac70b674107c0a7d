/** URL routing. Like Flask, an unknown URL is 404 and a known URL with another method is 405, before any auth. */
import { appInfo, appParameters } from "./apps.js";
import { authenticate } from "./auth.js";
import type { Call, SimulatorContext } from "./context.js";
import { errors } from "./errors.js";
import { handleGeneration } from "./generation.js";
import { sendJson } from "./http-io.js";
import { handleGetForm, handleRunDetail, handleSubmitForm, handleWorkflowEvents } from "./human-input.js";
import { handleStop } from "./stop.js";
import { handleUpload } from "./uploads.js";

type Handler = (call: Call, ctx: SimulatorContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const UPLOAD_PATH = /^\/v1\/files\/upload$/;

/** Requests whose handler reads the body itself, as it streams. */
export function streamsItsBody(method: string | undefined, pathname: string): boolean {
  return method === "POST" && UPLOAD_PATH.test(pathname);
}

/** The Dify version the simulator imitates. */
const SERVER_VERSION = "1.14.2";

const ROUTES: readonly Route[] = [
  {
    method: "GET",
    pattern: /^\/v1\/?$/,
    handler: ({ res }) => sendJson(res, 200, { welcome: "Dify OpenAPI", api_version: "v1", server_version: SERVER_VERSION }),
  },
  {
    method: "GET",
    pattern: /^\/v1\/info$/,
    handler: ({ req, res }, ctx) => sendJson(res, 200, appInfo(authenticate(req.headers.authorization, ctx.appsByKey))),
  },
  {
    method: "GET",
    pattern: /^\/v1\/parameters$/,
    handler: ({ req, res }, ctx) => sendJson(res, 200, appParameters(authenticate(req.headers.authorization, ctx.appsByKey))),
  },
  { method: "POST", pattern: UPLOAD_PATH, handler: (call, ctx) => handleUpload(call, ctx) },
  { method: "POST", pattern: /^\/v1\/chat-messages$/, handler: (call, ctx) => handleGeneration(call, ctx, "chat") },
  { method: "POST", pattern: /^\/v1\/completion-messages$/, handler: (call, ctx) => handleGeneration(call, ctx, "completion") },
  { method: "POST", pattern: /^\/v1\/workflows\/run$/, handler: (call, ctx) => handleGeneration(call, ctx, "workflow") },
  // Dify 1.13-1.16: a pinned workflow version, run detail, re-attach, Human Input forms.
  {
    method: "POST",
    pattern: /^\/v1\/workflows\/(?<workflow_id>[^/]+)\/run$/,
    handler: (call, ctx) => handleGeneration(call, ctx, "workflow"),
  },
  { method: "GET", pattern: /^\/v1\/workflows\/run\/(?<workflow_run_id>[^/]+)$/, handler: handleRunDetail },
  { method: "GET", pattern: /^\/v1\/workflow\/(?<workflow_run_id>[^/]+)\/events$/, handler: handleWorkflowEvents },
  { method: "GET", pattern: /^\/v1\/form\/human_input\/(?<form_token>[^/]+)$/, handler: handleGetForm },
  { method: "POST", pattern: /^\/v1\/form\/human_input\/(?<form_token>[^/]+)$/, handler: handleSubmitForm },
  { method: "POST", pattern: /^\/v1\/chat-messages\/(?<task_id>[^/]+)\/stop$/, handler: (call, ctx) => handleStop(call, ctx, "chat") },
  {
    method: "POST",
    pattern: /^\/v1\/completion-messages\/(?<task_id>[^/]+)\/stop$/,
    handler: (call, ctx) => handleStop(call, ctx, "completion"),
  },
  {
    method: "POST",
    pattern: /^\/v1\/workflows\/tasks\/(?<task_id>[^/]+)\/stop$/,
    handler: (call, ctx) => handleStop(call, ctx, "workflow"),
  },
];

export async function dispatch(call: Omit<Call, "params">, ctx: SimulatorContext): Promise<void> {
  const matching = ROUTES.map((route) => ({ route, match: route.pattern.exec(call.url.pathname) })).filter((m) => m.match);
  if (matching.length === 0) throw errors.urlNotFound();
  const chosen = matching.find((m) => m.route.method === call.req.method);
  if (!chosen) {
    const allowed = [...new Set(matching.map((m) => m.route.method))].join(", ");
    throw errors.methodNotAllowed(allowed);
  }
  await chosen.route.handler({ ...call, params: { ...chosen.match?.groups } }, ctx);
}

/** Test-control endpoints, outside `/v1` and never recorded. */
export const CONTROL_PATH = "/__sim/requests";

export function handleControl(call: Omit<Call, "params">, ctx: SimulatorContext): void {
  switch (call.req.method) {
    case "GET":
      sendJson(call.res, 200, ctx.recorder.list());
      return;
    case "DELETE":
      ctx.recorder.reset();
      sendJson(call.res, 200, { result: "success" });
      return;
    default:
      throw errors.methodNotAllowed("GET, DELETE");
  }
}
