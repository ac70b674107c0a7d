import {
  AppServiceService,
  type AppSummary,
  type DescribeAppRequest,
  type DescribeAppResponse,
  type ListAppsRequest,
  type ListAppsResponse,
} from "../../generated/dify/app/v1/app.js";
import { inputSchema } from "../apps/input-schema.js";
import { MAX_APP_ID_LENGTH } from "../config/schema.js";
import { appScope } from "../core/app-scope.js";
import type { AppInfos } from "../dify/app-info.js";
import type { DifyClient } from "../dify/client.js";
import { DifyUnreachableError } from "../dify/errors.js";
import { invalidArgument, unauthenticated } from "../grpc/gateway-error.js";
import { warnDue } from "../log/warn-once.js";
import { type Route, route } from "../transport/route.js";
import { untilAborted } from "../util/until-aborted.js";

/** /info lookups one ListApps call runs at once: a workspace of many apps must not open a connection per app. */
export const LIST_APPS_CONCURRENCY = 4;

export interface AppDeps {
  readonly client: DifyClient;
  readonly infos: AppInfos;
}

/** `AppService.ListApps`: the caller's workspace's apps, named and typed by Dify's /info where it answers. */
export function listApps(deps: AppDeps): Route {
  return route<ListAppsRequest, ListAppsResponse>({
    definition: AppServiceService.listApps,
    async *handler(_req, ctx) {
      const workspace = ctx.workspace;
      if (!workspace) throw unauthenticated("unauthenticated");
      const entries = [...workspace.apps.values()];
      const apps: AppSummary[] = entries.map((app) => ({ appId: app.appId, mode: app.mode ?? "", name: "" }));
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < entries.length; i = next++) {
          const { app, target } = appScope(ctx, entries[i]!.appId);
          try {
            const info = await untilAborted(deps.infos.get(app, target), ctx.signal);
            apps[i] = { appId: app.appId, mode: app.mode ?? stringOf(info.mode), name: stringOf(info.name) };
          } catch (err) {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            // Listed with what the config knows; the operator learns why from the log.
            if (warnDue(`list info\0${ctx.workspace?.id}\0${app.appId}`))
              ctx.log.warn({ appId: app.appId, err: (err as Error).message }, "ListApps: Dify's /info failed for this app");
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(LIST_APPS_CONCURRENCY, entries.length) }, worker));
      return { apps };
    },
  });
}

/** `AppService.DescribeApp`: Dify's /info and /parameters for one app, and a JSON Schema of its run's inputs. */
export function describeApp(deps: AppDeps): Route {
  const check = (req: DescribeAppRequest, ctx: Parameters<typeof appScope>[0]) => {
    if (req.appId.trim() === "") throw invalidArgument("app_id", "is required");
    if (req.appId.length > MAX_APP_ID_LENGTH) throw invalidArgument("app_id", `must be at most ${MAX_APP_ID_LENGTH} characters`);
    return appScope(ctx, req.appId);
  };
  return route<DescribeAppRequest, DescribeAppResponse>({
    definition: AppServiceService.describeApp,
    checkRequest: (req, ctx) => void check(req, ctx),
    async *handler(req, ctx) {
      const { app, target } = check(req, ctx);
      const [info, parameters] = await Promise.all([
        untilAborted(deps.infos.get(app, target), ctx.signal),
        deps.client.getJson(target, "/parameters", ctx.signal).then(jsonObject),
      ]);
      return {
        appId: app.appId,
        mode: app.mode ?? stringOf(info.mode),
        info,
        parameters,
        inputSchema: inputSchema(parameters?.user_input_form),
      };
    },
  });
}

function jsonObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new DifyUnreachableError("Dify's /parameters is not an object", undefined);
  return value as Record<string, unknown>;
}

function stringOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}
