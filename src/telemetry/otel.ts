import type { Attributes, Counter, Histogram, Span } from "@opentelemetry/api";
import type { IdGenerator, Sampler } from "@opentelemetry/sdk-trace-node";
import type { Logger } from "pino";
import type { TelemetryConfig } from "../config/telemetry.js";
import { warnDue } from "../log/warn-once.js";
import type { TraceContext } from "../tracing/trace-context.js";
import { VERSION } from "../version.js";

/*
 * The OpenTelemetry SDK, loaded only when telemetry is on: every @opentelemetry import below is dynamic (the
 * imports above are types, erased at build), so a gateway without an OTLP endpoint loads none of it
 * (test/e2e/telemetry-off.test.ts). Nothing is registered globally: the spans are parented explicitly,
 * so no context manager (AsyncLocalStorage) runs on the call path.
 */

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const BYTES = [0, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** GenAI semantic conventions' advice for gen_ai.client.token.usage. */
const TOKENS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** The instruments the gateway records; every attribute value comes from the config or a closed set. */
export interface Instruments {
  /** gRFC A66 server metrics. */
  readonly callStarted: Counter;
  readonly callDuration: Histogram;
  readonly sentBytes: Histogram;
  readonly receivedBytes: Histogram;
  /** GenAI semantic conventions (client side: the gateway is Dify's client). */
  readonly tokenUsage: Histogram;
  readonly operationDuration: Histogram;
  readonly timeToFirstChunk: Histogram;
}

export interface Telemetry {
  /** Spans, unless OTEL_TRACES_EXPORTER is "none". */
  readonly tracing: Tracing | undefined;
  /** OTLP metrics, unless OTEL_METRICS_EXPORTER is "none". */
  readonly instruments: Instruments | undefined;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

export interface Tracing {
  /** A call's server span, with the trace and span ids its logs carry (`trace`), continuing the caller's trace. */
  serverSpan(name: string, trace: TraceContext, attributes: Attributes, startTime: number): Span;
  /** A client span under `parent`, for one request to Dify. */
  clientSpan(parent: Span, name: string, attributes: Attributes): Span;
  /** The W3C `traceparent` that names `span` as the parent of what the receiver does. */
  traceparent(span: Span): string;
}

/**
 * The server span must have the ids the call already has (its log lines carry them, and with telemetry off they are
 * what goes to Dify), and the SDK takes ids only from its IdGenerator. So the generator hands out the call's ids for
 * the one synchronous startSpan that asks, and random ids otherwise.
 */
class CallIds implements IdGenerator {
  next: { traceId: string; spanId: string } | undefined;

  constructor(private readonly random: IdGenerator) {}

  generateTraceId(): string {
    return this.next?.traceId ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    return this.next?.spanId ?? this.random.generateSpanId();
  }
}

export async function startTelemetry(config: TelemetryConfig, log: Logger): Promise<Telemetry> {
  const [api, resources] = await Promise.all([import("@opentelemetry/api"), import("@opentelemetry/resources")]);
  // Export failures (collector down, refused) are the SDK's diagnostics: warnings in our log, not silence.
  api.diag.setLogger(
    {
      // One line a minute per kind of failure: a collector that is down fails every export (src/log/warn-once.ts).
      error: (message) => diagnose(log, message),
      warn: (message) => diagnose(log, message),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    api.DiagLogLevel.WARN,
  );

  const resource = resources.resourceFromAttributes({ "service.version": VERSION, ...config.resource });
  const [traces, metrics] = await Promise.all([
    config.traces ? startTracing(api, config, resource) : undefined,
    config.metrics ? startMetrics(config, resource) : undefined,
  ]);
  return {
    tracing: traces?.tracing,
    instruments: metrics?.instruments,
    async shutdown() {
      await Promise.allSettled([traces?.provider.shutdown(), metrics?.provider.shutdown()]);
    },
  };
}

function diagnose(log: Logger, message: string): void {
  const line = diagnosticLine(message);
  if (warnDue(`otel\0${line}`)) log.warn({ otel: true }, `OpenTelemetry: ${line}`);
}

/** Longest diagnostic shown: one line, whatever the collector answered. */
const MAX_DIAGNOSTIC_CHARS = 300;

/**
 * One bounded line of an SDK diagnostic. An export failure arrives as the exporter's error serialised whole: its
 * stack, and `data`, the collector's answer body, which may echo the request's headers (the collector's
 * credentials from OTEL_EXPORTER_OTLP_HEADERS). Only the error's name, message and code are kept.
 */
export function diagnosticLine(message: string): string {
  const start = message.indexOf("{");
  const end = message.lastIndexOf("}");
  if (start >= 0 && end > start) {
    let err: { name?: unknown; message?: unknown; code?: unknown } | undefined;
    try {
      err = JSON.parse(message.slice(start, end + 1)) as typeof err;
    } catch {
      // Not an error object.
    }
    const code = typeof err?.code === "string" || typeof err?.code === "number" ? ` (code ${err.code})` : "";
    // With a status code, the message is the HTTP reason phrase: the collector's to choose, so not shown.
    const text = [err?.name, code === "" ? err?.message : undefined].filter((v) => typeof v === "string" && v !== "").join(": ");
    // Whatever the braces held is left out: it may be the collector's answer.
    return bounded(`${message.slice(0, start).trim()} ${text || "(details not shown)"}${code}`.trim());
  }
  return bounded(message.split("\n", 1)[0] ?? "");
}

function bounded(line: string): string {
  return line.length > MAX_DIAGNOSTIC_CHARS ? `${line.slice(0, MAX_DIAGNOSTIC_CHARS)}…` : line;
}

type Api = typeof import("@opentelemetry/api");
type Resource = import("@opentelemetry/resources").Resource;

async function startTracing(api: Api, config: TelemetryConfig, resource: Resource) {
  const [traceSdk, exporters] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    config.protocol === "http/json"
      ? import("@opentelemetry/exporter-trace-otlp-http")
      : import("@opentelemetry/exporter-trace-otlp-proto"),
  ]);
  const ids = new CallIds(new traceSdk.RandomIdGenerator());
  const provider = new traceSdk.NodeTracerProvider({
    resource,
    idGenerator: ids,
    sampler: sampler(traceSdk, config),
    spanProcessors: [new traceSdk.BatchSpanProcessor(new exporters.OTLPTraceExporter({ url: `${config.endpoint}/v1/traces` }))],
  });
  const tracer = provider.getTracer("dify-grpc-gateway", VERSION);
  const tracing: Tracing = {
    serverSpan(name, trace, attributes, startTime) {
      const parent =
        trace.parentSpanId === undefined
          ? api.ROOT_CONTEXT
          : api.trace.setSpanContext(api.ROOT_CONTEXT, {
              traceId: trace.traceId,
              spanId: trace.parentSpanId,
              traceFlags: trace.sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
              isRemote: true,
              // Exported with our spans as their trace_state, as the caller's vendors expect.
              ...(trace.traceState === undefined ? {} : { traceState: api.createTraceState(trace.traceState) }),
            });
      ids.next = trace;
      try {
        return tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes, startTime }, parent);
      } finally {
        ids.next = undefined;
      }
    },
    clientSpan(parent, name, attributes) {
      return tracer.startSpan(name, { kind: api.SpanKind.CLIENT, attributes }, api.trace.setSpan(api.ROOT_CONTEXT, parent));
    },
    traceparent(span) {
      const c = span.spanContext();
      return `00-${c.traceId}-${c.spanId}-0${c.traceFlags & api.TraceFlags.SAMPLED}`;
    },
  };
  return { tracing, provider };
}

async function startMetrics(config: TelemetryConfig, resource: Resource) {
  const [metricsSdk, exporters] = await Promise.all([
    import("@opentelemetry/sdk-metrics"),
    config.protocol === "http/json"
      ? import("@opentelemetry/exporter-metrics-otlp-http")
      : import("@opentelemetry/exporter-metrics-otlp-proto"),
  ]);
  const interval = config.metricExportIntervalMs;
  const provider = new metricsSdk.MeterProvider({
    resource,
    readers: [
      new metricsSdk.PeriodicExportingMetricReader({
        exporter: new exporters.OTLPMetricExporter({ url: `${config.endpoint}/v1/metrics` }),
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(interval, 30_000),
      }),
    ],
  });
  const meter = provider.getMeter("dify-grpc-gateway", VERSION);
  const histogram = (name: string, unit: string, description: string, boundaries: number[]) =>
    meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: boundaries } });
  const instruments: Instruments = {
    callStarted: meter.createCounter("grpc.server.call.started", { unit: "{call}", description: "Calls started (gRFC A66)." }),
    callDuration: histogram("grpc.server.call.duration", "s", "Call duration, headers received to status sent (gRFC A66).", SECONDS),
    sentBytes: histogram("grpc.server.call.sent_total_compressed_message_size", "By", "Response bytes per call (gRFC A66).", BYTES),
    receivedBytes: histogram("grpc.server.call.rcvd_total_compressed_message_size", "By", "Request bytes per call (gRFC A66).", BYTES),
    tokenUsage: histogram("gen_ai.client.token.usage", "{token}", "Tokens Dify reported per run, by token type.", TOKENS),
    operationDuration: histogram("gen_ai.client.operation.duration", "s", "Dify run duration, request to the call's end.", SECONDS),
    timeToFirstChunk: histogram(
      "gen_ai.client.operation.time_to_first_chunk",
      "s",
      "Time from the run request to Dify's first event.",
      SECONDS,
    ),
  };
  return { instruments, provider };
}

type TraceSdk = typeof import("@opentelemetry/sdk-trace-node");

/** OTEL_TRACES_SAMPLER, as the spec defines it; the default follows the caller's decision and samples new traces. */
function sampler(sdk: TraceSdk, config: TelemetryConfig): Sampler {
  const ratio = new sdk.TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case "always_on":
      return new sdk.AlwaysOnSampler();
    case "always_off":
      return new sdk.AlwaysOffSampler();
    case "traceidratio":
      return ratio;
    case "parentbased_always_off":
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new sdk.ParentBasedSampler({ root: ratio });
    default:
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}
