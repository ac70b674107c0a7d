import { status } from "@grpc/grpc-js";
import type { Attributes, Span } from "@opentelemetry/api";
import { callError } from "../core/call-error.js";
import type { CallContext } from "../core/context.js";
import { RUN_SUMMARY, type RunSummary } from "../core/run-summary.js";
import { UPSTREAM_OBSERVER } from "../core/upstream-observer.js";
import type { ObservedRequest, RequestObserver } from "../dify/client.js";
import type { GatewayError } from "../grpc/gateway-error.js";
import type { Telemetry } from "../telemetry/otel.js";
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
    const path = call.method.path;
    const slash = path.lastIndexOf("/");
    const span = t.serverSpan(
      path.slice(1),
      context.trace,
      {
        "rpc.system": "grpc",
        "rpc.service": path.slice(1, slash),
        "rpc.method": path.slice(slash + 1),
        "dify.workspace.id": context.workspace?.id,
        "session.id": context.trace.sessionId,
      },
      context.startedAt,
    );
    context.values.set(UPSTREAM_OBSERVER, upstreamObserver(t, span));
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

function finish(t: Telemetry, span: Span, context: CallContext, error: GatewayError | undefined, run: RunSummary | undefined): void {
  const code = error?.code ?? status.OK;
  if (SERVER_ERRORS.has(code)) span.setStatus({ code: SPAN_STATUS_ERROR, message: error?.details.reason });
  if (run && context.workspace) {
    const attributes = runMetricAttributes(context.workspace.id, run);
    // One setAttributes per call: each call into the span costs a check and a copy.
    span.setAttributes({ ...runSpanAttributes(run), ...attributes, "rpc.grpc.status_code": code, "error.type": error?.details.reason });
    if (run.firstEventAt !== undefined) span.addEvent("gen_ai.first_chunk", run.firstEventAt);
    if (run.pausedAt !== undefined) span.addEvent("dify.workflow.paused", run.pausedAt);
    recordMetrics(t, attributes, run, code);
  } else span.setAttributes({ "rpc.grpc.status_code": code, "error.type": error?.details.reason });
  span.end();
}

/** GenAI `gen_ai.operation.name`: the well-known value where one fits a Dify app, else the semconv's workflow value. */
function operationName(run: RunSummary): string {
  if (run.kind === "workflow") return "invoke_workflow";
  if (run.kind === "completion") return "text_completion";
  return run.mode === "agent-chat" || run.mode === "agent" ? "invoke_agent" : "chat";
}

/** What the span and the metrics share: where the run ran, and the GenAI operation. */
function runMetricAttributes(workspace: string, run: RunSummary): Attributes {
  return {
    "dify.workspace.id": workspace,
    "dify.app.id": run.appId,
    "dify.app.mode": run.mode ?? run.kind,
    "gen_ai.operation.name": operationName(run),
    "gen_ai.provider.name": "dify",
  };
}

function runSpanAttributes(run: RunSummary): Attributes {
  return {
    "gen_ai.conversation.id": run.conversationId,
    "gen_ai.usage.input_tokens": run.usage?.inputTokens,
    "gen_ai.usage.output_tokens": run.usage?.outputTokens,
    "dify.usage.total_tokens": run.usage?.totalTokens,
    "dify.task_id": run.taskId,
    "dify.workflow_run_id": run.workflowRunId,
    "dify.stop_called": run.stopCalled,
  };
}

function recordMetrics(t: Telemetry, attributes: Attributes, run: RunSummary, code: status): void {
  const { tokenUsage, operationDuration, timeToFirstChunk } = t.instruments;
  if (run.usage?.inputTokens !== undefined) tokenUsage.record(run.usage.inputTokens, { ...attributes, "gen_ai.token.type": "input" });
  if (run.usage?.outputTokens !== undefined) tokenUsage.record(run.usage.outputTokens, { ...attributes, "gen_ai.token.type": "output" });
  if (run.upstreamStartedAt === undefined) return;
  const outcome = code === status.OK ? attributes : { ...attributes, "error.type": status[code] ?? String(code) };
  operationDuration.record((performance.now() - run.upstreamStartedAt) / 1000, outcome);
  if (run.firstEventAt !== undefined) timeToFirstChunk.record((run.firstEventAt - run.upstreamStartedAt) / 1000, attributes);
}

/** A client span per request to Dify, under the call's span; the request's `traceparent` names it. */
function upstreamObserver(t: Telemetry, parent: Span): RequestObserver {
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
