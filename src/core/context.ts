import type { Logger } from "pino";
import type { TokenEntry, Workspace } from "../config/config.js";
import type { Secret } from "../config/secret.js";
import type { GatewayError } from "../grpc/gateway-error.js";
import type { TraceContext } from "../tracing/trace-context.js";

/**
 * Everything one call knows about itself, built once per call by the transport adapter.
 * Modelled on connect-es's `HandlerContext`; nothing here is tied to grpc-js.
 */
export interface CallContext {
  /** Aborts when the client cancels, its deadline passes, or a drain terminates the call; the reason is a GatewayError. */
  readonly signal: AbortSignal;
  /** The workspace the auth interceptor verified; undefined only if it was not wired in front. */
  readonly workspace: Workspace | undefined;
  /** The bearer token the auth interceptor verified (its apps, its name); undefined for a mesh identity alone. */
  readonly token: TokenEntry | undefined;
  /** The client's deadline (epoch ms, Date.now()'s clock); undefined when it set none. */
  readonly deadline: number | undefined;
  /**
   * Which credential of the workspace made the call, for per-token limits: a digest of the bearer token, or the
   * SPIFFE ID. Never the token itself; undefined when auth was not wired in front.
   */
  readonly caller: string | undefined;
  /** The bearer token the caller presented, to redact wherever Dify echoes it back; undefined for a mesh identity. */
  readonly bearer: Secret | undefined;
  readonly trace: TraceContext;
  /** The call's child logger, with traceId, method, workspace and appId bound. */
  readonly log: Logger;
  /** The full method path, e.g. `/dify.app.v1.ChatService/ChatInvoke`. */
  readonly method: string;
  /** performance.now() when the call reached the gateway's handler. */
  readonly startedAt: number;
  /** Per-call values middleware and handlers share, keyed by `ContextKey`s (connect-es's ContextValues). */
  readonly values: ContextValues;
  /** Ends the call from our side (a drain): the caller is still there and gets `reason` as its status. */
  terminate(reason: GatewayError): void;
  /** True once the caller left (cancel or deadline) before the call was answered. */
  clientLeft(): boolean;
  /**
   * Calls `cb` once, when the call is over for the transport: its answer delivered to the client, or the call torn
   * down. A handler that has returned may still have messages on their way to a slow reader.
   */
  onClosed(cb: () => void): void;
}

export interface ContextKey<T> {
  readonly id: symbol;
  readonly defaultValue: T;
}

export interface ContextValues {
  get<T>(key: ContextKey<T>): T;
  set<T>(key: ContextKey<T>, value: T): void;
}

export function createContextKey<T>(defaultValue: T, description: string): ContextKey<T> {
  return { id: Symbol(description), defaultValue };
}

export function createContextValues(): ContextValues {
  const values = new Map<symbol, unknown>();
  return {
    get: <T>(key: ContextKey<T>) => (values.has(key.id) ? (values.get(key.id) as T) : key.defaultValue),
    set: <T>(key: ContextKey<T>, value: T) => void values.set(key.id, value),
  };
}
