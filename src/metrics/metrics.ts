import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { RunUsage } from "../invoke/termination.js";
import { LOG_BUFFER_BYTES } from "../log/stdout.js";
import { VERSION } from "../version.js";

/** Where the A66 measurements of a call go besides Prometheus (OpenTelemetry). */
export interface A66Sink {
  started(grpcMethod: string): void;
  finished(grpcMethod: string, grpcStatus: string, seconds: number, sentBytes: number, receivedBytes: number): void;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const BYTES = [0, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/**
 * Every metric the gateway exports. Label values come from a closed set:
 * method names, gRPC codes, app modes, outcomes, workspace ids, token names and app ids
 * from the config (an app id is a label only once the config matched it),
 * and ISO currency codes as Dify reports them; never a token, key or
 * anything a caller typed.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** Receives every call's A66 measurements too, for OpenTelemetry export; set when telemetry is on. */
  a66: A66Sink | undefined;

  // gRFC A66 server metrics, in Prometheus naming.
  readonly callStarted = new Counter({
    name: "grpc_server_call_started_total",
    help: "Calls started, by method (gRFC A66 grpc.server.call.started).",
    labelNames: ["grpc_method"] as const,
    registers: [this.registry],
  });
  readonly callDuration = new Histogram({
    name: "grpc_server_call_duration_seconds",
    help: "Call duration from headers received to status sent (gRFC A66 grpc.server.call.duration).",
    labelNames: ["grpc_method", "grpc_status"] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly sentBytes = new Histogram({
    name: "grpc_server_call_sent_total_compressed_message_size_bytes",
    help: "Bytes of response messages per call; responses are not compressed (gRFC A66).",
    labelNames: ["grpc_method", "grpc_status"] as const,
    buckets: BYTES,
    registers: [this.registry],
  });
  readonly receivedBytes = new Histogram({
    name: "grpc_server_call_rcvd_total_compressed_message_size_bytes",
    help: "Bytes of request messages per call, after decompression (gRFC A66).",
    labelNames: ["grpc_method", "grpc_status"] as const,
    buckets: BYTES,
    registers: [this.registry],
  });

  readonly activeStreams = new Gauge({
    name: "dify_gateway_active_streams",
    help: "Server-streaming calls in flight.",
    labelNames: ["grpc_method"] as const,
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: "dify_gateway_upstream_request_duration_seconds",
    help: "Dify run duration, from request to the call's end, by app mode, workspace and outcome (gRPC code).",
    labelNames: ["mode", "workspace", "outcome"] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly upstreamFirstEvent = new Histogram({
    name: "dify_gateway_upstream_time_to_first_event_seconds",
    help: "Time from the call's start to Dify's first event, by app mode, workspace and outcome (gRPC code).",
    labelNames: ["mode", "workspace", "outcome"] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly cancellations = new Counter({
    name: "dify_gateway_cancellations_total",
    help: "Calls the client cancelled or whose deadline passed before they finished.",
    labelNames: ["grpc_method", "reason"] as const,
    registers: [this.registry],
  });
  readonly stopCalls = new Counter({
    name: "dify_gateway_stop_calls_total",
    help: "Stop calls sent to Dify for runs left unfinished, by interface and result.",
    labelNames: ["interface", "result"] as const,
    registers: [this.registry],
  });

  readonly handOffs = new Counter({
    name: "dify_gateway_runs_handed_off_total",
    help: "Unfinished workflow and Chatflow runs a drain left running on Dify for the caller to re-attach to (WatchRun) instead of stopping them, by interface.",
    labelNames: ["interface"] as const,
    registers: [this.registry],
  });
  readonly upstreamRetries = new Counter({
    name: "dify_gateway_upstream_retries_total",
    help: "Requests to Dify sent again because Dify cannot have acted on the failed one, by reason (connect_error, http_502, http_503, http_504, too_many_requests).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly upstreamRetriesDenied = new Counter({
    name: "dify_gateway_upstream_retries_denied_total",
    help: "Retryable failures not retried, by cause (max_attempts, budget, deadline, retry_after) and reason.",
    labelNames: ["cause", "reason"] as const,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: "dify_gateway_tokens_total",
    help: "Tokens Dify reported for runs, by workspace, app, app mode and type: input and output where Dify splits them (chat, completion), total (Dify's total_tokens) for every run that reported usage. Do not sum across types.",
    labelNames: ["workspace", "app", "mode", "type"] as const,
    registers: [this.registry],
  });
  readonly price = new Counter({
    name: "dify_gateway_price_total",
    help: "Price Dify reported for runs (its total_price), by workspace, app, app mode and currency.",
    labelNames: ["workspace", "app", "mode", "currency"] as const,
    registers: [this.registry],
  });

  /** Workspace id → calls in flight, as the limiter last reported it (`setCallsInFlight`); a workspace once seen stays, at 0. */
  readonly #callsInFlight = new Map<string, number>();
  readonly workspaceCallsInFlight = new Gauge({
    name: "dify_gateway_workspace_calls_in_flight",
    help: "Invoke calls (unary and streaming) in flight per workspace, the count limits.maxConcurrentCallsPerWorkspace caps.",
    labelNames: ["workspace"] as const,
    registers: [this.registry],
    // Copied in when the gauge is read (a scrape), not set per call: see `setCallsInFlight`.
    collect: () => {
      for (const [workspace, n] of this.#callsInFlight) this.workspaceCallsInFlight.set({ workspace }, n);
    },
  });
  readonly concurrencyRejections = new Counter({
    name: "dify_gateway_concurrency_rejections_total",
    help: "Calls refused with RESOURCE_EXHAUSTED because their workspace was at its concurrency limit.",
    labelNames: ["workspace"] as const,
    registers: [this.registry],
  });

  readonly tokenCalls = new Counter({
    name: "dify_gateway_token_calls_total",
    help: "Calls made with a bearer token, by workspace, token (its configured name, else sha256:<12 hex>) and outcome (gRPC code).",
    labelNames: ["workspace", "token", "outcome"] as const,
    registers: [this.registry],
  });
  readonly limitRejections = new Counter({
    name: "dify_gateway_limit_rejections_total",
    help: "Calls refused before reaching Dify, by workspace and limit: concurrency, workspace_rate, token_rate, token_budget, unavailable (Redis down, fail mode closed).",
    labelNames: ["workspace", "limit"] as const,
    registers: [this.registry],
  });
  readonly limiterRedisUp = new Gauge({
    name: "dify_gateway_limiter_redis_up",
    help: "1 while the shared limiter's Redis answers, 0 while it does not (limits.redis set).",
    // Registered only with limits.redis: without it an unlabelled gauge would read 0, "Redis down", to any alert.
    registers: [],
  });
  readonly limiterRedisUnavailable = new Counter({
    name: "dify_gateway_limiter_redis_unavailable_total",
    help: "Calls that met an unreachable Redis: mode open admitted them with in-process limits, closed refused them.",
    labelNames: ["mode"] as const,
    registers: [this.registry],
  });

  readonly buildInfo = new Gauge({
    name: "dify_gateway_build_info",
    help: "Always 1; its labels say which gateway version runs on which Node.js.",
    labelNames: ["version", "node"] as const,
    registers: [this.registry],
  });
  readonly configReloads = new Counter({
    name: "dify_gateway_config_reloads_total",
    help: "Config reloads (SIGHUP) that applied a new config.",
    registers: [this.registry],
  });
  readonly configReloadFailures = new Counter({
    name: "dify_gateway_config_reload_failures_total",
    help: "Config reloads (SIGHUP) rejected; the running config stayed in force. Alert on any increase.",
    registers: [this.registry],
  });
  readonly logLinesDropped = new Counter({
    name: "dify_gateway_log_lines_dropped_total",
    help: `Log lines dropped because stdout's reader fell ${LOG_BUFFER_BYTES / 1024 / 1024} MiB behind (a stalled log shipper). Alert on any increase.`,
    registers: [this.registry],
  });

  /**
   * A workspace's calls in flight changed (twice per call: taken, given back). A Map entry, copied into the gauge at
   * scrape time: prom-client's `Gauge.set` (label validation, label hash, a new entry object) took ~1.7 µs a time
   * (docs/PERFORMANCE.md, "Unary CPU, seventh pass"). The exposition is the same: a workspace appears once it had a
   * call, and stays, at 0 when it has none.
   */
  setCallsInFlight(workspace: string, n: number): void {
    this.#callsInFlight.set(workspace, n);
  }

  constructor() {
    this.buildInfo.set({ version: VERSION, node: process.version }, 1);
    // Present from the start, so that rate() and increase() see the first failure.
    this.configReloads.inc(0);
    this.configReloadFailures.inc(0);
    this.logLinesDropped.inc(0);
  }

  /** Adds what one run reported it used to the token and price counters. */
  recordUsage({ workspace, app, mode }: { workspace: string; app: string; mode: string }, usage: RunUsage): void {
    // Label objects written out, not spread from one: prom-client took ~4x the CPU per inc with spread ones
    // (4.4 vs 1.2 µs for the three token counts, in process; docs/PERFORMANCE.md, "Unary CPU, sixth pass").
    if (usage.inputTokens !== undefined) this.tokens.inc({ workspace, app, mode, type: "input" }, usage.inputTokens);
    if (usage.outputTokens !== undefined) this.tokens.inc({ workspace, app, mode, type: "output" }, usage.outputTokens);
    if (usage.totalTokens !== undefined) this.tokens.inc({ workspace, app, mode, type: "total" }, usage.totalTokens);
    const price = usage.totalPrice === undefined ? Number.NaN : Number(usage.totalPrice);
    if (usage.currency !== undefined && Number.isFinite(price)) this.price.inc({ workspace, app, mode, currency: usage.currency }, price);
  }

  /** Process metrics (CPU, memory, event loop lag, GC): the gateway turns them on once it serves. */
  collectDefaults(): void {
    collectDefaultMetrics({ register: this.registry });
  }
}
