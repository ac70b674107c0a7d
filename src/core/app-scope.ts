import type { AppEntry, Workspace } from "../config/config.js";
import type { AppTarget } from "../dify/client.js";
import { appNotFound, invalidArgument, unauthenticated } from "../grpc/gateway-error.js";
import { SESSION_METADATA, sessionIdProblem, traceHeaders } from "../tracing/trace-context.js";
import type { CallContext } from "./context.js";
import { shownAppId } from "./shown-app-id.js";
import { UPSTREAM_OBSERVER } from "./upstream-observer.js";

/** An app of the caller's workspace, and how to reach it on Dify with that app's key. */
export interface AppScope {
  readonly workspace: Workspace;
  readonly app: AppEntry;
  readonly target: AppTarget;
  /** The Dify end user: the request's own, or the workspace's default when the request left it empty. */
  user(requested: string): string;
}

/**
 * Finds `appId` in the caller's workspace, among the apps its token may call. An app of another workspace, or one
 * the token's `apps` leave out, is answered exactly like one that exists nowhere (the same NOT_FOUND), and nothing
 * is sent to Dify. Every app-scoped RPC starts here.
 */
export function appScope(ctx: CallContext, appId: string): AppScope {
  const workspace = ctx.workspace;
  // The auth interceptor runs before every handler; reaching here without it is a wiring bug.
  if (!workspace) throw unauthenticated("unauthenticated");
  const app = workspace.apps.get(appId);
  // A scoped token's other apps do not exist for it either: the same answer, and nothing sent to Dify.
  if (!app || (ctx.token?.apps !== undefined && !ctx.token.apps.has(appId))) throw appNotFound(shownAppId(appId, workspace, ctx.token));
  const sessionProblem = ctx.trace.sessionId === undefined ? undefined : sessionIdProblem(ctx.trace.sessionId);
  if (sessionProblem) throw invalidArgument(SESSION_METADATA, sessionProblem);
  return {
    workspace,
    app,
    target: {
      baseUrl: workspace.difyBaseUrl,
      key: app.key,
      bearer: ctx.bearer,
      headers: traceHeaders(ctx.trace),
      observer: ctx.values.get(UPSTREAM_OBSERVER),
    },
    user: (requested) => (requested !== "" ? requested : workspace.defaultUser),
  };
}
