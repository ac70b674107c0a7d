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

/** inputs for a run; `events` asks the simulator for exactly that many deltas, `delayMs` apart. */
export function inputs(events?: number, delayMs?: number): Record<string, unknown> {
  if (events === undefined) return { query: "How fast is the gateway?" };
  return { query: "bench", _sim: delayMs === undefined ? { events } : { events, delay_ms: delayMs } };
}

export function request(events?: number, delayMs?: number): CompletionInvokeRequest {
  return CompletionInvokeRequest.fromPartial({ appId: APP_ID, inputs: inputs(events, delayMs), user: USER });
}

/** A gRPC message on the wire: 1 byte "not compressed", 4 bytes big-endian length, the protobuf. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export function unaryRequestFrame(): Buffer {
  return grpcFrame(CompletionInvokeRequest.encode(request()).finish());
}
