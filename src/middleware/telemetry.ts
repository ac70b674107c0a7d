import { status } from "@grpc/grpc-js";
import type { Attributes, Span } from "@opentelemetry/api";
import type { Workspace } from "../config/config.js";
import { callError } from "../core/call-error.js";
import type { CallContext } from "../core/context.js";
import { RUN_SUMMARY, type RunSummary } from "../core/run-summary.js";
import { UPSTREAM_OBSERVER } from "../core/upstream-observer.js";
import type { ObservedRequest, RequestObserver } from "../dify/client.js";
import type { GatewayError } from "../grpc/gateway-error.js";
import type { Instruments, Telemetry, Tracing } from "../telemetry/otel.js";
import { validSessionId } from "../tracing/trace-context.js";
import type { ServerMiddleware } from "./types.js";

/*
 * OpenTelemetry for a call: its server span, a client span per request to Dify (through the upstream
 * client's RequestObserver), and the GenAI metrics. In the list only when telemetry is on, so a gateway
 * without it pays nothing per call. Attribute values are ids, counts and closed sets: no prompt, input or
 * answer, no key or token (the request's fields are never read here).
 */

/** gRPC codes that mark a server span as an error (OpenTelemetry semantic conventions for gRPC, server side). */
const SERVER_ERRORS = new Set([
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.UNIMPLEMENTED,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);
const SPAN_STATUS_ERROR = 2;

export function telemetry(t: Telemetry): ServerMiddleware {
  return async function* telemetryMiddleware(call, context) {
    const rpc = rpcOf(call.method.path);
    const span = t.tracing?.serverSpan(
      rpc.name,
      context.trace,
      {
        "rpc.system": "grpc",
        "rpc.service": rpc.service,
        "rpc.method": rpc.method,
        "dify.workspace.id": context.workspace?.id,
        // Only one the gateway accepts: an invalid one fails the call (app-scope.ts) and must not reach the collector.
        "session.id": validSessionId(context.trace.sessionId),
      },
      context.startedAt,
    );
    if (t.tracing && span) context.values.set(UPSTREAM_OBSERVER, upstreamObserver(t.tracing, span));
    let error: GatewayError | undefined;
    let completed = false;
    try {
      const result = yield* call.next(call.request, context);
      completed = true;
      return result;
    } catch (err) {
      error = callError(err, context.signal);
      throw err;
    } finally {
      if (!completed && !error) error = callError(undefined, context.signal);
      finish(t, span, context, error, context.values.get(RUN_SUMMARY));
    }
  };
}

/** Span name, service and method by path; middleware runs only for registered methods, so the map is bounded. */
const rpcs = new Map<string, { name: string; service: string; method: string }>();

function rpcOf(path: string): { name: string; service: string; method: string } {
  let rpc = rpcs.get(path);
  if (!rpc) {
    const slash = path.lastIndexOf("/");
    rpc = { name: path.slice(1), service: path.slice(1, slash), method: path.slice(slash + 1) };
    rpcs.set(path, rpc);
  }
  return rpc;
}

function finish(
  t: Telemetry,
  span: Span | undefined,
  context: CallContext,
  error: GatewayError | undefined,
  run: RunSummary | undefined,
): void {
  const code = error?.code ?? status.OK;
  const series = run && context.workspace ? seriesOf(context.workspace, run) : undefined;
  if (span) endServerSpan(span, code, error, run, series);
  if (t.instruments && run && series) recordMetrics(t.instruments, series, run, code);
}

function endServerSpan(
  span: Span,
  code: status,
  error: GatewayError | undefined,
  run: RunSummary | undefined,
  series: Series | undefined,
): void {
  if (SERVER_ERRORS.has(code)) span.setStatus({ code: SPAN_STATUS_ERROR, message: error?.details.reason });
  // Attributes set one by one, skipping undefined: building and spreading attribute objects here cost ~12 µs a
  // call in a profile of 20,000 traced calls, the largest single item of the telemetry's cost.
  span.setAttribute("rpc.grpc.status_code", code);
  setDefined(span, "error.type", error?.details.reason);
  if (run && series) {
    span.setAttributes(series.base);
    setDefined(span, "gen_ai.conversation.id", run.conversationId);
    setDefined(span, "gen_ai.usage.input_tokens", run.usage?.inputTokens);
    setDefined(span, "gen_ai.usage.output_tokens", run.usage?.outputTokens);
    setDefined(span, "dify.usage.total_tokens", run.usage?.totalTokens);
    setDefined(span, "dify.task_id", run.taskId);
    setDefined(span, "dify.workflow_run_id", run.workflowRunId);
    span.setAttribute("dify.stop_called", run.stopCalled);
    if (run.firstEventAt !== undefined) span.addEvent("gen_ai.first_chunk", run.firstEventAt);
    if (run.pausedAt !== undefined) span.addEvent("dify.workflow.paused", run.pausedAt);
  }
  span.end();
}

function setDefined(span: Span, key: string, value: string | number | undefined): void {
  if (value !== undefined) span.setAttribute(key, value);
}

const PROVIDER = "dify";

/** GenAI `gen_ai.operation.name`: the well-known value where one fits a Dify app, else the semconv's workflow value. */
function operationName(run: RunSummary): string {
  if (run.kind === "workflow") return "invoke_workflow";
  if (run.kind === "completion") return "text_completion";
  return run.mode === "agent-chat" || run.mode === "agent" ? "invoke_agent" : "chat";
}

/** The metric attributes of one series (workspace, app, mode), built once: the metrics SDK reads, never keeps, them. */
interface Series {
  readonly mode: string;
  /** Workspace, app, mode, operation and provider: the metrics' attributes, and the server span's too. */
  readonly base: Attributes;
  readonly input: Attributes;
  readonly output: Attributes;
  /** `base` with `error.type`, by gRPC status name. */
  readonly failed: Map<string, Attributes>;
}

/**
 * Series by workspace and app (an app's mode is fixed). Bounded: the apps are the workspace's in the config
 * (`appScope` refused any other before a run could start), and a reload's new workspace objects start afresh.
 */
const seriesCache = new WeakMap<Workspace, Map<string, Series>>();

function seriesOf(ws: Workspace, run: RunSummary): Series {
  const mode = run.mode ?? run.kind;
  let apps = seriesCache.get(ws);
  if (!apps) seriesCache.set(ws, (apps = new Map()));
  let series = apps.get(run.appId);
  if (series?.mode !== mode) {
    const base: Attributes = {
      "dify.workspace.id": ws.id,
      "dify.app.id": run.appId,
      "dify.app.mode": mode,
      "gen_ai.operation.name": operationName(run),
      "gen_ai.provider.name": PROVIDER,
    };
    series = {
      mode,
      base,
      input: { ...base, "gen_ai.token.type": "input" },
      output: { ...base, "gen_ai.token.type": "output" },
      failed: new Map(),
    };
    apps.set(run.appId, series);
  }
  return series;
}

function recordMetrics(instruments: Instruments, series: Series, run: RunSummary, code: status): void {
  const { tokenUsage, operationDuration, timeToFirstChunk } = instruments;
  if (run.usage?.inputTokens !== undefined) tokenUsage.record(run.usage.inputTokens, series.input);
  if (run.usage?.outputTokens !== undefined) tokenUsage.record(run.usage.outputTokens, series.output);
  if (run.upstreamStartedAt === undefined) return;
  operationDuration.record((performance.now() - run.upstreamStartedAt) / 1000, code === status.OK ? series.base : failedOf(series, code));
  if (run.firstEventAt !== undefined) timeToFirstChunk.record((run.firstEventAt - run.upstreamStartedAt) / 1000, series.base);
}

function failedOf(series: Series, code: status): Attributes {
  const type = status[code] ?? String(code);
  let attributes = series.failed.get(type);
  if (!attributes) {
    attributes = { ...series.base, "error.type": type };
    series.failed.set(type, attributes);
  }
  return attributes;
}

/** A client span per request to Dify, under the call's span; the request's `traceparent` names it. */
function upstreamObserver(t: Tracing, parent: Span): RequestObserver {
  return {
    start(method, url, route): ObservedRequest {
      const span = t.clientSpan(parent, `${method} ${route}`, { "http.request.method": method, "url.template": route, ...server(url) });
      let ended = false;
      return {
        headers: { traceparent: t.traceparent(span) },
        end(statusCode, error) {
          if (ended) return;
          ended = true;
          if (statusCode !== undefined) span.setAttribute("http.response.status_code", statusCode);
          if (error !== undefined || (statusCode !== undefined && statusCode >= 400)) {
            span.setStatus({ code: SPAN_STATUS_ERROR });
            span.setAttribute("error.type", statusCode !== undefined && statusCode >= 400 ? String(statusCode) : errorType(error));
          }
          span.end();
        },
      };
    },
  };
}

/** `server.address` and `server.port` per Dify origin; the origins are the config's, so the cache is bounded. */
const servers = new Map<string, Attributes>();

function server(url: string): Attributes {
  const pathAt = url.indexOf("/", url.indexOf("//") + 2);
  const origin = pathAt === -1 ? url : url.slice(0, pathAt);
  let attributes = servers.get(origin);
  if (!attributes) {
    const { hostname, port, protocol } = new URL(url);
    attributes = { "server.address": hostname, "server.port": Number(port) || (protocol === "https:" ? 443 : 80) };
    servers.set(origin, attributes);
  }
  return attributes;
}

function errorType(error: unknown): string {
  return (error as { details?: { reason?: string } } | undefined)?.details?.reason ?? (error as Error | undefined)?.name ?? "Error";
}
