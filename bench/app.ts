/**
 * What every bench process agrees on: the app, the token and the request. The completion interface is the
 * simplest data path (no conversation), so the numbers show the gateway's tax, not app logic.
 */
import { CompletionInvokeRequest } from "../generated/dify/app/v1/completion.js";
import { DEMO_APPS } from "../simulator/index.js";

const app = DEMO_APPS.find((a) => a.mode === "completion");
if (!app) throw new Error("the simulator has no completion demo app");

export const APP_ID = app.appId;
export const APP_KEY = app.key;
/** A workspace token as an operator would create one (`openssl rand -base64 32`); the gateway only sees its sha256. */
export const TOKEN = "bench-token-Jx8fQ2nV7rT4kLp9wZ3mC6yB";
export const USER = "bench-user";
export const UNARY_PATH = "/dify.app.v1.CompletionService/CompletionInvoke";
export const STREAM_PATH = "/dify.app.v1.CompletionService/CompletionInvokeStream";

/** More `_sim` directives (simulator/README.md): the pre-encoded producer, how a response treats its connection. */
export interface SimExtras {
  producer?: "preencoded";
  answer_bytes?: number;
  connection?: "close" | "keep-alive";
}

/** inputs for a run; `events` asks the simulator for exactly that many deltas, `delayMs` apart. */
export function inputs(events?: number, delayMs?: number, extras: SimExtras = {}): Record<string, unknown> {
  if (events === undefined)
    return Object.keys(extras).length === 0 ? { query: "How fast is the gateway?" } : { query: "How fast is the gateway?", _sim: extras };
  return { query: "bench", _sim: { events, ...(delayMs === undefined ? {} : { delay_ms: delayMs }), ...extras } };
}

export function request(events?: number, delayMs?: number, extras?: SimExtras): CompletionInvokeRequest {
  return CompletionInvokeRequest.fromPartial({ appId: APP_ID, inputs: inputs(events, delayMs, extras), user: USER });
}

/** A gRPC message on the wire: 1 byte "not compressed", 4 bytes big-endian length, the protobuf. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export function unaryRequestFrame(extras?: SimExtras): Buffer {
  return grpcFrame(CompletionInvokeRequest.encode(request(undefined, undefined, extras)).finish());
}
