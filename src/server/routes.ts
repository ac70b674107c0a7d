import type { Invoke } from "../core/invoke.js";
import { CHAT, COMPLETION, WORKFLOW } from "../invoke/interfaces.js";
import { type CallLimits, invokeStream, invokeUnary } from "../rpc/invoke.js";
import { getHumanInputForm, getWorkflowRun, type RunServiceDeps, submitHumanInputForm, watchRun } from "../rpc/run.js";
import type { Route } from "../transport/route.js";

/** Every RPC the gateway serves, one line each: adding an RPC is a handler in src/rpc/ and a line here. */
export function routes(invoke: Invoke, limits: () => CallLimits, runs: RunServiceDeps): Route[] {
  return [
    invokeUnary(CHAT, invoke, limits),
    invokeStream(CHAT, invoke, limits),
    invokeUnary(WORKFLOW, invoke, limits),
    invokeStream(WORKFLOW, invoke, limits),
    invokeUnary(COMPLETION, invoke, limits),
    invokeStream(COMPLETION, invoke, limits),
    watchRun(runs),
    getWorkflowRun(runs),
    getHumanInputForm(runs),
    submitHumanInputForm(runs),
  ];
}
