/**
 * The stop endpoints always answer `{"result":"success"}`. Like Dify, chat and completion tasks stop only for
 * their own user (a mismatch is silently ignored); workflow and advanced-chat tasks stop for anyone
 * ([api] base_app_queue_manager.py `set_stop_flag`, services/app_task_service.py).
 */
import { type ApiInterface, assertServedBy, isWorkflowBased } from "./apps.js";
import { authenticate } from "./auth.js";
import type { Call, SimulatorContext } from "./context.js";
import { errors } from "./errors.js";
import { sendJson } from "./http-io.js";
import { parseJsonBody, parseStopPayload, requireUserArg } from "./validation.js";

export function handleStop(call: Call, ctx: SimulatorContext, api: ApiInterface): void {
  const app = authenticate(call.req.headers.authorization, ctx.appsByKey);
  const body = parseJsonBody(call.rawBody, call.req.headers["content-type"]);
  requireUserArg(body);
  assertServedBy(app, api);
  const user = parseStopPayload(body);
  const taskId = call.params["task_id"] ?? "";
  if (ctx.tasks.stopFails(taskId, app.appId)) throw errors.internal();
  const task = ctx.tasks.get(taskId);
  if (task && task.appId === app.appId) {
    if (isWorkflowBased(task.mode) || task.user === user) task.control.requestStop();
  }
  sendJson(call.res, 200, { result: "success" });
}
