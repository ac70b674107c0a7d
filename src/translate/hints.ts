import type { Logger } from "pino";
import type { AppEntry, Workspace } from "../config/config.js";
import type { AppMode } from "../config/schema.js";
import { DifyHttpError } from "../dify/errors.js";
import { GatewayError } from "../grpc/gateway-error.js";
import { warnDue } from "../log/warn-once.js";

/** Dify's answers to a run sent to the route of another app mode (docs/dify-upstream.md). */
const WRONG_ROUTE_CODES = new Set(["not_chat_app", "not_workflow_app", "not_completion_app", "app_unavailable"]);
/** werkzeug's text for a URL with no route: the base path is wrong, not the caller's conversation or file. */
const NO_SUCH_ROUTE = /^The requested URL was not found/;

export interface HintContext {
  /** The interface called (its InterfaceSpec; only these fields, so translate/ does not depend on invoke/). */
  readonly spec: { readonly serviceName: string; readonly runPath: string };
  readonly workspace: Workspace;
  readonly app: AppEntry;
  /** The app's mode, from the config or Dify's /info; undefined when it cannot be known now. */
  resolveMode(): Promise<AppMode | undefined>;
  readonly log: Logger;
}

/**
 * Failures that are the operator's (a refused app key, a base URL off Dify's /v1) are logged at `warn` with
 * the fix; a call on the wrong service for the app's mode gets the service to call. The gRPC code and the
 * google.rpc details stay what the error table says: only the message changes. Anything else is returned as is.
 */
export async function withOperatorHint(error: GatewayError, cause: unknown, ctx: HintContext): Promise<GatewayError> {
  if (!(cause instanceof DifyHttpError)) return error;
  // `ctx.log` is the call's, which already carries `workspace` and `appId`: lines name them again only in words
  // (a second `workspace` key in one JSON line is what some log collectors refuse).
  const where = { workspace: ctx.workspace.id, appId: ctx.app.appId };
  const label = cause.difyCode || `HTTP ${cause.httpStatus}`;
  // One warn line per mistake a minute (src/log/warn-once.ts); the caller's message carries the hint every time.
  const due = (kind: string) => warnDue(`${kind}\0${where.workspace}\0${where.appId}\0${ctx.spec.serviceName}`);
  if (cause.httpStatus === 401) {
    if (due("key refused"))
      ctx.log.warn(
        `Dify refused the app key of ${where.workspace}/${where.appId} (${ctx.app.keySource}): put the app's current API key there; check-config --probe checks every key`,
      );
    return rewrite(error, `${error.message} (the gateway's key for app ${where.appId} was refused: the gateway's operator must fix it)`);
  }
  if (cause.httpStatus === 404 && (cause.difyCode === "" || NO_SUCH_ROUTE.test(cause.message))) {
    if (due("no route"))
      ctx.log.warn(`Dify has no route ${ctx.spec.runPath} under ${ctx.workspace.difyBaseUrl}: difyBaseUrl should end with /v1`);
    return rewrite(error, `${error.message} (the gateway's Dify URL for this workspace is wrong: the gateway's operator must fix it)`);
  }
  if (WRONG_ROUTE_CODES.has(cause.difyCode)) {
    const mode = await ctx.resolveMode().catch(() => undefined);
    const right = mode === undefined ? undefined : serviceFor(mode);
    const called = shortName(ctx.spec.serviceName);
    // The configured mode sent the call here and Dify says the app is not of it: the config is wrong, not the caller.
    // (app_unavailable also means a broken app, so only the not_*_app codes say so.)
    if (ctx.app.mode !== undefined && right?.service === called && cause.difyCode !== "app_unavailable") {
      if (due("wrong mode"))
        ctx.log.warn(
          { configuredMode: ctx.app.mode },
          `the config says app ${where.appId} of ${where.workspace} is a ${ctx.app.mode} app, and Dify answered ${label}: set its mode to the app's own (check-config --probe reports it) or remove it`,
        );
      return rewrite(
        error,
        `${error.message} (the gateway's config gives app ${where.appId} the wrong mode: the gateway's operator must fix it)`,
      );
    }
    // app_unavailable also means a broken app: only a mode that belongs elsewhere is the caller's wrong turn.
    if (!right || right.service === called) return error;
    if (due("wrong service"))
      ctx.log.warn(
        { mode },
        `app ${where.appId} is a ${mode} app, called on ${called}: its callers should call ${right.service}/${right.method}`,
      );
    return rewrite(error, `Dify ${label}: app ${where.appId} is a ${mode} app: call ${right.service}/${right.method}`);
  }
  return error;
}

function serviceFor(mode: AppMode): { service: string; method: string } {
  if (mode === "workflow") return { service: "WorkflowService", method: "WorkflowInvoke" };
  if (mode === "completion") return { service: "CompletionService", method: "CompletionInvoke" };
  return { service: "ChatService", method: "ChatInvoke" };
}

function shortName(serviceName: string): string {
  return serviceName.slice(serviceName.lastIndexOf(".") + 1);
}

function rewrite(error: GatewayError, message: string): GatewayError {
  return new GatewayError(error.code, message, error.details);
}
