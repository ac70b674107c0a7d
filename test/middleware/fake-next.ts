import type { CallContext } from "../../src/core/context.js";
import type { CallHandler, MethodInfo, ServerMiddleware } from "../../src/middleware/types.js";

export const UNARY: MethodInfo = { path: "/dify.app.v1.ChatService/ChatInvoke", responseStream: false };
export const STREAM: MethodInfo = { path: "/dify.app.v1.ChatService/ChatInvokeStream", responseStream: true };

/** A handler that records when it runs, yields `messages`, then returns `result` or throws `error`. */
export function fakeNext<Res>(opts: { messages?: Res[]; result?: Res; error?: unknown; during?: () => void } = {}) {
  const calls: { request: unknown; context: CallContext }[] = [];
  const next: CallHandler<unknown, Res> = async function* (request, context) {
    calls.push({ request, context });
    opts.during?.();
    for (const m of opts.messages ?? []) yield m;
    if (opts.error !== undefined) throw opts.error;
    return opts.result;
  };
  return { next, calls };
}

/** Runs a middleware over a fake handler to its end; the status is `error` (undefined for OK). */
export async function run<Res>(
  middleware: ServerMiddleware,
  method: MethodInfo,
  next: CallHandler<unknown, Res>,
  context: CallContext,
  request: unknown = { appId: "a" },
) {
  const messages: Res[] = [];
  const gen = middleware<unknown, Res>({ request, method, next }, context);
  try {
    for (let r = await gen.next(); ; r = await gen.next()) {
      if (r.done) return { messages, result: r.value, error: undefined };
      messages.push(r.value);
    }
  } catch (error) {
    return { messages, result: undefined, error };
  }
}
