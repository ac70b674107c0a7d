import type { AppServiceClient, DescribeAppResponse, ListAppsResponse } from "../../../generated/dify/app/v1/app.js";
import type { CallTiming, DifyDict } from "./app-client.js";
import { type CallControl, unary } from "./calls.js";
import { paramsObject, requiredString } from "./validate.js";

/** One app of the workspace. `mode` and `name` are empty when neither the gateway's config nor Dify told. */
export interface AppSummary {
  appId: string;
  /** chat | agent-chat | advanced-chat | agent | workflow | completion */
  mode: string;
  name: string;
}

/** What an app is and what its runs take. */
export interface AppDescription {
  appId: string;
  mode: string;
  /** Dify's `GET /info`, as returned. */
  info: DifyDict;
  /** Dify's `GET /parameters`, as returned (`user_input_form`, `file_upload`, …). */
  parameters: DifyDict;
  /** A JSON Schema (draft 2020-12) of the run's `inputs`, derived from `user_input_form`. */
  inputSchema: DifyDict;
}

export interface AppCatalog {
  /** The apps of the caller's workspace, and only those. */
  list(params?: CallTiming): Promise<AppSummary[]>;
  /** One app of the workspace. Another workspace's app, or an unknown one, rejects with `AppInvokeError` NOT_FOUND. */
  describe(appId: string, params?: CallTiming): Promise<AppDescription>;
}

export function appCatalog(client: AppServiceClient, control: (p: CallTiming) => CallControl): AppCatalog {
  return {
    async list(params = {}) {
      paramsObject(params, "apps.list()");
      const res = await unary<ListAppsResponse>((md, co, cb) => client.listApps({}, md, co, cb), control(params));
      return res.apps.map(({ appId, mode, name }) => ({ appId, mode, name }));
    },
    async describe(appId, params = {}) {
      requiredString(appId, "appId");
      paramsObject(params, "apps.describe()");
      const res = await unary<DescribeAppResponse>((md, co, cb) => client.describeApp({ appId }, md, co, cb), control(params));
      return {
        appId: res.appId,
        mode: res.mode,
        info: (res.info ?? {}) as DifyDict,
        parameters: (res.parameters ?? {}) as DifyDict,
        inputSchema: (res.inputSchema ?? {}) as DifyDict,
      };
    },
  };
}
