import { Server, ServerCredentials, type ServerInterceptor, type ServerOptions } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { authGate } from "../auth/gate.js";
import { WorkspaceRegistry } from "../auth/registry.js";
import type { GatewayConfig } from "../config/config.js";
import { restartRequired } from "../config/reload.js";
import { type CoreDeps, createInvoke } from "../core/invoke.js";
import { AppInfos } from "../dify/app-info.js";
import { AppModes } from "../dify/app-mode.js";
import { DifyClient } from "../dify/client.js";
import { warnAboutDify } from "../doctor/startup.js";
import type { UploadLimits } from "../files/upload-limits.js";
import { gated } from "../grpc/gates.js";
import { INTERFACES } from "../invoke/interfaces.js";
import { awaitingMessageLimitGate } from "../limits/awaiting-message.js";
import type { CallLimiter } from "../limits/limiter.js";
import { LocalLimiter } from "../limits/local-limiter.js";
import { metadataLimitGate } from "../limits/metadata-size.js";
import { RedisLimiter } from "../limits/redis-limiter.js";
import { requestGuardGate } from "../limits/request-guard.js";
import { metricsGate } from "../metrics/gate.js";
import { serveMetrics } from "../metrics/http.js";
import { GatewayMetrics } from "../metrics/metrics.js";
import { activeStreams } from "../middleware/active-streams.js";
import { callLog } from "../middleware/call-log.js";
import { drain } from "../middleware/drain.js";
import { Lifecycle } from "../middleware/lifecycle.js";
import { workspaceLimits } from "../middleware/limits.js";
import { telemetry } from "../middleware/telemetry.js";
import { composeAll } from "../middleware/types.js";
import { type Listener, listen } from "../net/listener.js";
import type { CallLimits } from "../rpc/invoke.js";
import { a66Sink } from "../telemetry/a66.js";
import { serveRoutes } from "../transport/grpc-adapter.js";
import { within } from "../util/within.js";
import { HealthService } from "./health.js";
import { addReflection } from "./reflection.js";
import { OTHER_SERVICES, routes } from "./routes.js";

export interface Gateway {
  readonly port: number;
  /** The metrics HTTP port, when metrics are enabled. */
  readonly metricsPort: number | undefined;
  readonly health: HealthService;
  readonly metrics: GatewayMetrics;
  /**
   * Applies a new config to the next calls; calls in flight keep the workspace
   * they started with. Returns the changed fields that only a restart applies.
   */
  reload(next: GatewayConfig): string[];
  /** The start-up check of every app's key, base URL and mode (`probeDify`), for tests to wait on. */
  readonly difyChecked: Promise<void>;
  /** Graceful shutdown: NOT_SERVING, refuse new calls, let calls in flight finish within the grace, end the rest. */
  close(graceMs?: number): Promise<void>;
}

const HEALTH_SERVICE = "grpc.health.v1.Health";
/** Stays SERVING until the process exits, for liveness probes: a draining gateway is alive, and Dify's health is not ours. */
export const LIVENESS_SERVICE = "liveness";
/** After the grace, how long terminated calls get to send their UNAVAILABLE and stop their Dify runs. */
const SETTLE_MS = 1_500;
/** How long start-up waits for the shared limiter's Redis before serving without it (the fail mode). */
const REDIS_STARTUP_WAIT_MS = 3_000;

export interface StartOptions {
  /** Ask Dify's /info for every app in the background and log each problem as a warning (the CLI does). */
  probeDify?: boolean;
}

/** Builds the gRPC server: the transport's gates in front (metrics, limits, auth), the middleware, the routes, health and reflection. */
export async function startGateway(config: GatewayConfig, log: Logger, opts: StartOptions = {}): Promise<Gateway> {
  let registry = new WorkspaceRegistry(config);
  let shutdown = config.shutdown;
  const metrics = new GatewayMetrics();
  const lifecycle = new Lifecycle();
  const server = new Server({ interceptors: [transportGates(config, () => registry, metrics, log)], ...serverOptions(config) });
  let retry = config.upstream.retry;
  const client = new DifyClient({
    connectTimeoutMs: config.upstream.connectTimeoutMs,
    retry: {
      settings: () => retry,
      onRetry: (reason) => metrics.upstreamRetries.inc({ reason }),
      onDenied: (cause, reason) => metrics.upstreamRetriesDenied.inc({ cause, reason }),
    },
  });
  const limiter = await callLimiter(config, metrics, log);
  // Stop calls still going out for runs whose call already ended (e.g. one named only after the drain cut it).
  const stopWork = new Set<Promise<void>>();
  const abandonStops = new AbortController();
  const infos = new AppInfos(client, config.upstream.connectTimeoutMs);
  const deps: CoreDeps = {
    client,
    modes: new AppModes(infos),
    settings: config.upstream,
    onStop: (kind, result) => metrics.stopCalls.inc({ interface: kind, result }),
    onHandOff: (kind) => metrics.handOffs.inc({ interface: kind }),
    track: (work) => {
      stopWork.add(work);
      void work.finally(() => stopWork.delete(work));
    },
    abandonStops: abandonStops.signal,
  };
  // Loaded only when on: a gateway without an OTLP endpoint loads no OpenTelemetry SDK module.
  const otel = config.telemetry.enabled ? await (await import("../telemetry/otel.js")).startTelemetry(config.telemetry, log) : undefined;
  if (otel?.instruments) metrics.a66 = a66Sink(otel.instruments);
  // Outermost first: the call log also sees the calls the others refuse. A new concern is one more line.
  const middleware = composeAll([
    callLog(metrics),
    ...(otel ? [telemetry(otel)] : []),
    drain(lifecycle),
    activeStreams(metrics),
    workspaceLimits(limiter, metrics),
  ]);
  let limits = callLimits(config);
  let uploadLimits = uploadLimitsOf(config);
  serveRoutes(
    server,
    routes({
      invoke: createInvoke(deps),
      limits: () => limits,
      uploadLimits: () => uploadLimits,
      client,
      infos,
      runs: { client, settings: () => deps.settings, inputs: () => limits.inputs },
    }),
    log,
    middleware,
    config.server.maxSendMessageBytes,
  );

  const readiness = ["", ...INTERFACES.map((s) => s.serviceName), ...OTHER_SERVICES];
  const health = new HealthService(Object.fromEntries([...readiness, LIVENESS_SERVICE].map((name) => [name, "SERVING" as const])));
  health.addToServer(server);
  addReflection(server, [...INTERFACES.map((s) => s.serviceName), ...OTHER_SERVICES, HEALTH_SERVICE]);

  const listener = await bind(server, config, log);
  const port = listener.port;
  if (config.server.keepaliveTimeMs < config.server.maxConnectionAgeGraceMs)
    log.warn(
      { keepaliveTimeMs: config.server.keepaliveTimeMs, maxConnectionAgeGraceMs: config.server.maxConnectionAgeGraceMs },
      "grpc-js cuts streams on an aged connection at its next keepalive PING: streams get at most keepaliveTimeMs after the max-age GOAWAY",
    );
  // After the bind, so that start-up reaches SERVING first (~30 ms, measured); the metrics port is not open yet.
  metrics.collectDefaults();
  const metricsServer = config.metrics.enabled ? await serveMetrics(metrics.registry, config.metrics.listen) : undefined;
  log.info(
    { listen: config.server.listen, port, metricsPort: metricsServer?.port, tls: tlsMode(config), workspaces: config.workspaces.length },
    "gateway listening",
  );

  let closing: Promise<void> | undefined;
  // After the log line above: nothing waits on it, SERVING came first.
  const stopChecking = new AbortController();
  const difyChecked = opts.probeDify ? warnAboutDify(config, client, log, stopChecking.signal) : Promise.resolve();
  return {
    port,
    difyChecked,
    metricsPort: metricsServer?.port,
    health,
    metrics,
    reload(next) {
      // Compared with the startup config: that is what the socket and the pool were built with.
      const ignored = restartRequired(config, next);
      registry = new WorkspaceRegistry(next);
      deps.settings = next.upstream;
      retry = next.upstream.retry;
      limits = callLimits(next);
      uploadLimits = uploadLimitsOf(next);
      shutdown = next.shutdown;
      log.level = next.log.level;
      return ignored;
    },
    close(graceMs = shutdown.graceMs) {
      closing ??= (async () => {
        const started = performance.now();
        stopChecking.abort();
        for (const name of readiness) health.setStatus(name, "NOT_SERVING");
        listener.drain(graceMs + SETTLE_MS + 1_000);
        log.info({ graceMs, inFlight: lifecycle.active }, "draining: NOT_SERVING, refusing new calls");
        // Everything after the grace shares one budget, so the process exits within grace + 2 s.
        const left = () => Math.max(0, started + graceMs + SETTLE_MS - performance.now());
        const { terminated } = await lifecycle.drain(graceMs, SETTLE_MS / 2);
        // The terminated runs' stop calls go out while the server closes its connections, which can take the whole
        // half of the budget (tryShutdown waits for clients that keep theirs open): both share what is left.
        await Promise.all([
          shutDown(server, Math.min(left(), SETTLE_MS / 2)).then(() => listener.close()),
          within(allSettled(stopWork), Math.max(0, left() - ABANDON_MS)),
        ]);
        // A stop still unanswered gives up now and logs so, before the last line; none is left to outlive it.
        abandonStops.abort();
        await within(allSettled(stopWork), ABANDON_MS);
        // A stop sent after the Dify client closed would fail: the client closes only now, within the budget.
        await within(client.close(), left());
        await metricsServer?.close();
        // Exports the last spans and metrics, within what is left of the budget (at least 250 ms). With the log's last
        // flush (LOG_FLUSH_MS, 250 ms, src/log/stdout.ts), the process exits within grace + 2 s.
        if (otel) await within(otel.shutdown(), Math.max(left(), 250));
        await limiter.close();
        log.info({ terminated, ms: Math.round(performance.now() - started) }, "shut down");
      })();
      return closing;
    },
  };
}

/** In process, or shared through Redis when `limits.redis` is set (its connection is made once: a reload keeps it). */
async function callLimiter(config: GatewayConfig, metrics: GatewayMetrics, log: Logger): Promise<CallLimiter> {
  const local = new LocalLimiter((workspace, n) => metrics.setCallsInFlight(workspace, n));
  const redis = config.limits.redis;
  if (!redis) return local;
  metrics.registry.registerMetric(metrics.limiterRedisUp);
  metrics.limiterRedisUp.set(1);
  metrics.limiterRedisUnavailable.inc({ mode: redis.onUnavailable }, 0);
  const limiter = new RedisLimiter(redis, local, log, {
    onUnavailable: (mode) => metrics.limiterRedisUnavailable.inc({ mode }),
    onReachable: (up) => metrics.limiterRedisUp.set(up ? 1 : 0),
  });
  // Bounded: a Redis that is down at start-up must not keep the gateway from serving (the fail mode covers it).
  if (!(await limiter.ready(REDIS_STARTUP_WAIT_MS))) {
    metrics.limiterRedisUp.set(0);
    log.warn(
      { onUnavailable: redis.onUnavailable },
      "Redis (limits.redis) did not answer at start-up; serving with the fail mode until it does",
    );
  }
  return limiter;
}

/**
 * Our own listener hands connections to grpc-js (see listener.ts). Its drain
 * sends GOAWAY on every connection, so clients open new ones, which the mesh
 * or Service sends to other replicas; calls in flight go on. The socket stays
 * open so probes still see NOT_SERVING.
 */
function bind(server: Server, config: GatewayConfig, log: Logger): Promise<Listener> {
  const { prefaceTimeoutMs, maxConnections } = config.server;
  return listen(server, config.server.listen, serverCredentials(config), { prefaceTimeoutMs, maxConnections }, log);
}

/** How long stop calls get to log their abort once the shutdown gave them up (an abort settles them at once). */
const ABANDON_MS = 100;

/** Settles once every promise in `set` has, including those added while it waits. */
async function allSettled(set: Set<Promise<void>>): Promise<void> {
  while (set.size > 0) await Promise.allSettled([...set]);
}

/**
 * Closes the connections once their last statuses are flushed. tryShutdown
 * alone waits forever on open streams such as health Watch (grpc-node#1458),
 * so a timer backs it with forceShutdown.
 */
function shutDown(server: Server, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, ms);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * One grpc-js interceptor running the transport's gates, outermost first. The
 * request guard sits inside metrics and outside the rest, so every status they
 * send passes through it; the awaiting-message limit needs the workspace that
 * auth binds.
 */
function transportGates(config: GatewayConfig, registry: () => WorkspaceRegistry, metrics: GatewayMetrics, log: Logger): ServerInterceptor {
  return gated([
    metricsGate(metrics),
    requestGuardGate(() => config.server, log),
    metadataLimitGate(config.server.maxMetadataBytes, log),
    authGate(registry, log, (workspace, token) =>
      metrics.tokenCalls.inc({ workspace: workspace.id, token: token.label, outcome: "UNAUTHENTICATED" }),
    ),
    awaitingMessageLimitGate(log, (workspace) => metrics.concurrencyRejections.inc({ workspace })),
  ]);
}

/** The per-call bounds the handlers read, reloadable: the unary answer and the request's inputs. */
function callLimits(config: GatewayConfig): CallLimits {
  return {
    maxAnswerBytes: config.upstream.maxAnswerBytes,
    inputs: { maxBytes: config.limits.maxInputsBytes, maxKeys: config.limits.maxInputsKeys },
  };
}

function uploadLimitsOf(config: GatewayConfig): UploadLimits {
  return {
    maxBytes: config.limits.maxUploadBytes,
    kindMaxBytes: config.limits.uploadKindMaxBytes,
    idleTimeoutMs: config.limits.uploadIdleTimeoutMs,
    maxDurationMs: config.limits.uploadMaxDurationMs,
  };
}

function serverOptions(config: GatewayConfig): ServerOptions {
  const s = config.server;
  return {
    "grpc.max_receive_message_length": s.maxReceiveMessageBytes,
    "grpc.keepalive_time_ms": s.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": s.keepaliveTimeoutMs,
    "grpc.max_connection_age_ms": s.maxConnectionAgeMs,
    "grpc.max_connection_age_grace_ms": s.maxConnectionAgeGraceMs,
    "grpc.max_connection_idle_ms": s.maxConnectionIdleMs,
    "grpc.max_concurrent_streams": s.maxConcurrentStreams,
  };
}

function serverCredentials(config: GatewayConfig): ServerCredentials {
  const tls = config.server.tls;
  if (!tls) return ServerCredentials.createInsecure();
  const pair = { cert_chain: tls.cert, private_key: Buffer.from(tls.key.reveal()) };
  return ServerCredentials.createSsl(tls.clientCa ?? null, [pair], tls.clientCa !== undefined);
}

function tlsMode(config: GatewayConfig): "off" | "tls" | "mtls" {
  if (!config.server.tls) return "off";
  return config.server.tls.clientCa ? "mtls" : "tls";
}
