// A namespace import, not `import { z }`: esbuild then keeps only the members used, where the `z` object kept all
// of zod in the bundle, its 64 locales and JSON-schema code included (zod 794 -> 194 KB of the bundle's source;
// idle RSS -1.6 MiB, docs/PERFORMANCE.md, "Idle RSS, fifth pass"). Same API: zod's index exports `z`'s members.
import * as z from "zod";

/** Node's timers fire at once for a delay past this (2^31 - 1 ms, ~24.8 days), so no duration may be longer. */
export const MAX_DURATION_MS = 2_147_483_647;

/** A duration in milliseconds a timer will wait: an integer from `min` up to MAX_DURATION_MS. */
function durationMs(min = 1) {
  return z
    .number()
    .int()
    .min(min)
    .max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} ms (~24.8 days): Node's timers fire at once past that`);
}

/** Dify app modes, as `GET /v1/info` reports them. */
export const APP_MODES = ["chat", "agent-chat", "advanced-chat", "agent", "workflow", "completion"] as const;
export type AppMode = (typeof APP_MODES)[number];

const sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256 digest (64 characters); create one with `hash-token`");

/** Where an app key lives. Never inline: config files end up in repos and tickets. */
const secretRef = z.union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })], {
  // zod's own "Invalid input" said nothing of what to write; the value itself is never echoed (it may be the key).
  error: (issue) =>
    typeof issue.input === "string"
      ? "an app key is never written inline (config files end up in repos and tickets): write { env: VARIABLE } or { file: path/to/key }"
      : "must be { env: VARIABLE } or { file: path/to/key } (one of the two, nothing else)",
});

/**
 * Longer app ids are refused in requests (INVALID_ARGUMENT), so a config must not hold one no call could reach.
 * Echoing a very long id in NOT_FOUND made a status too big to deliver.
 */
export const MAX_APP_ID_LENGTH = 256;

const MIB = 1024 * 1024;

/** A default gRPC client's receive limit (grpc-js, grpc-core, grpc-java, grpc-go): what any caller can read. */
export const DEFAULT_CLIENT_RECEIVE_BYTES = 4 * 1024 * 1024;
/** See `upstream.maxAnswerBytes`. */
export const DEFAULT_MAX_ANSWER_BYTES = (DEFAULT_CLIENT_RECEIVE_BYTES - 64 * 1024) / 2;
/** See `upstream.maxEventBytes`: the same reasoning, an event travels twice in its stream message. */
export const DEFAULT_MAX_EVENT_BYTES = (DEFAULT_CLIENT_RECEIVE_BYTES - 64 * 1024) / 2;

const app = z.strictObject({
  appId: z.string().min(1).max(MAX_APP_ID_LENGTH),
  key: secretRef,
  /** Expected mode; when absent the gateway asks Dify's /info once. */
  mode: z.enum(APP_MODES).optional(),
});

/** A name for logs and metric labels: a closed set, chosen by the operator. */
const tokenName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be 1-63 letters, digits, '_', '.' or '-'");

/**
 * A bearer token, kept as its digest, with what it may do. `apps` makes a least-privilege token for one plugin;
 * `expiresAt` revokes it on every replica at the same moment, without a reload.
 */
const token = z.strictObject({
  sha256: sha256Hex,
  /** Shown in logs and metrics instead of the digest. */
  name: tokenName.optional(),
  /** The app ids of this workspace the token may call; others get the same NOT_FOUND as apps that exist nowhere. */
  apps: z.array(z.string().min(1)).min(1, "must list at least one app id (leave `apps` out for every app)").optional(),
  /** ISO 8601 with a time zone, e.g. 2026-01-31T00:00:00Z. From then on the token gets UNAUTHENTICATED TOKEN_EXPIRED. */
  expiresAt: z.iso
    .datetime({ offset: true, error: "must be an ISO 8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z" })
    .optional(),
});

/** A SPIFFE ID as Istio, Linkerd and SPIRE issue them: spiffe://<trust domain>/<path>. */
const spiffeId = z
  .string()
  .regex(
    /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/,
    "must be a SPIFFE ID, e.g. spiffe://cluster.local/ns/plugins/sa/acme",
  );

const workspace = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be 1-63 letters, digits, '_', '.' or '-'"),
    /**
     * No user:password@: the gateway authenticates to Dify with each app's key (an Authorization header, which
     * would also replace any basic auth), and a URL is printed by check-config and logged where a secret must not be.
     */
    difyBaseUrl: z
      .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL ending in Dify's /v1, e.g. https://dify.example.com/v1" })
      .refine(
        withoutCredentials,
        "must not contain a user or password (user:password@host): Dify authenticates with each app's key, set it in apps[].key",
      )
      // Paths are appended to it (…/v1 + /chat-messages): a query or fragment would send every request elsewhere,
      // and whatever it held (an api_key=…) would be printed and logged with the URL.
      .refine((u) => !URL.canParse(u) || /^[^?#]*$/.test(u), {
        message: "must not contain a query (?…) or fragment (#…): it ends with Dify's API path, e.g. https://dify.example.com/v1",
      })
      .transform((u) => u.replace(/\/+$/, "")),
    /** Sent to Dify as `user` when a request leaves it empty. */
    defaultUser: z.string().min(1).default("dify-grpc-gateway"),
    tokens: z.array(token).default([]),
    /** Mesh identities of this workspace's callers; see `auth.xfcc` and `server.tls.clientCaFile`. */
    spiffeIds: z.array(spiffeId).default([]),
    /** This workspace's own cap on calls in flight; `limits.maxConcurrentCallsPerWorkspace` when absent. */
    maxConcurrentCalls: z.number().int().positive().optional(),
    /** This workspace's own request rate; `limits.requestsPerMinutePerWorkspace` when absent. */
    requestsPerMinute: z.number().int().positive().optional(),
    /** Each of this workspace's tokens' request rate; `limits.requestsPerMinutePerToken` when absent. */
    requestsPerMinutePerToken: z.number().int().positive().optional(),
    /** This workspace's token budget per UTC day; `limits.tokensPerDayPerWorkspace` when absent. */
    tokensPerDay: z.number().int().positive().optional(),
    apps: z.array(app).min(1),
  })
  .superRefine((ws, ctx) => {
    if (ws.tokens.length === 0 && ws.spiffeIds.length === 0)
      ctx.addIssue({ code: "custom", path: ["tokens"], message: "no caller can reach this workspace: give it tokens or spiffeIds" });
    const seen = new Set<string>();
    ws.apps.forEach((a, i) => {
      if (seen.has(a.appId)) ctx.addIssue({ code: "custom", path: ["apps", i, "appId"], message: `duplicate appId "${a.appId}"` });
      seen.add(a.appId);
    });
    const names = new Set<string>();
    ws.tokens.forEach((t, i) => {
      if (t.name !== undefined && names.has(t.name))
        ctx.addIssue({ code: "custom", path: ["tokens", i, "name"], message: `duplicate token name "${t.name}" in this workspace` });
      if (t.name !== undefined) names.add(t.name);
      t.apps?.forEach((appId, j) => {
        if (!seen.has(appId))
          ctx.addIssue({
            code: "custom",
            path: ["tokens", i, "apps", j],
            // Named, to spot a typo, unless it looks like a Dify app key (app- and 16+ letters or digits) pasted here.
            message: `unknown app ${/^app-[A-Za-z0-9]{16,}$/.test(appId) ? "(not shown: it looks like an app key)" : `"${appId}"`}: list only appIds of this workspace's apps`,
          });
      });
    });
  });

function withoutCredentials(url: string): boolean {
  // zod runs this refinement even when the URL check failed: that failure is reported already, and a throw
  // here was a stack trace instead of the list of problems.
  if (!URL.canParse(url)) return true;
  const parsed = new URL(url);
  return parsed.username === "" && parsed.password === "";
}

/** OTLP over HTTP only: the gRPC exporter would load a second gRPC stack for what HTTP does as well. */
export const TELEMETRY_PROTOCOLS = ["http/protobuf", "http/json"] as const;
/** OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER values the gateway supports (the spec's others are console and prometheus). */
export const TELEMETRY_EXPORTERS = ["otlp", "none"] as const;

const hostPortPattern = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/;
/** Why `value` is not a host:port to listen on or connect to, or undefined when it is one. */
export function hostPortProblem(value: string): string | undefined {
  const match = hostPortPattern.exec(value);
  if (!match) return "must be host:port, e.g. 0.0.0.0:50051";
  return Number(match[2]) > 65_535 ? "the port must be 0-65535" : undefined;
}
const hostPortWith = (example: string) =>
  z.string().check((ctx) => {
    const problem = hostPortProblem(ctx.value);
    if (problem) ctx.issues.push({ code: "custom", message: problem.replace("0.0.0.0:50051", example), input: ctx.value });
  });
const hostPort = hostPortWith("0.0.0.0:50051");

/** Where the shared limits live. See README "Running several replicas". */
const redisSettings = z.strictObject({
  /**
   * redis://host:port/db or rediss:// (TLS). An ACL user may be in the URL, a password may not (config files end
   * up in repos and tickets): set `password`. With `cluster`, the URL names one seed node.
   */
  url: z
    .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL, e.g. redis://redis:6379/0" })
    .refine((u) => !URL.canParse(u) || new URL(u).password === "", "must not contain a password: set limits.redis.password")
    // ioredis would ignore a query (a ?password=… silently) while check-config printed it; the db is a number.
    .refine(
      (u) => !URL.canParse(u) || new URL(u).search === "",
      "must not contain a query (?…): set limits.redis.password, tls via rediss://",
    )
    .refine(
      (u) => !URL.canParse(u) || /^\/?(\d+)?$/.test(new URL(u).pathname),
      "the path must be a database number, e.g. redis://redis:6379/0",
    ),
  password: secretRef.optional(),
  /** Redis Cluster: ioredis discovers the other nodes from the URL's node. Keys of one workspace share a hash slot. */
  cluster: z.boolean().default(false),
  /** Redis Sentinel: ioredis asks these sentinels for the master named `name`; the URL's host is then ignored. */
  sentinel: z.strictObject({ name: z.string().min(1), nodes: z.array(hostPortWith("redis-0:6379")).min(1) }).optional(),
  /** `open`: while Redis is unreachable, each replica limits alone (in process), with a warn line and a metric. `closed`: refuse calls with UNAVAILABLE. */
  onUnavailable: z.enum(["open", "closed"]).default("open"),
  /**
   * A call's concurrency slot is a lease this long, renewed every third of it while the call runs; the slots of a
   * replica that died free themselves within one lease.
   */
  leaseMs: durationMs(3_000).default(15_000),
  /** Every Redis command (one per call start, one per call end) gives up after this; the call then takes the fail mode. */
  commandTimeoutMs: durationMs().default(500),
  /** Prefix of every key, so several gateways (or other users) can share one Redis. */
  keyPrefix: z.string().min(1).max(64).default("dify-gw:"),
});

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        listen: hostPort.default("0.0.0.0:50051"),
        /** Largest request a caller may send. */
        maxReceiveMessageBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /**
         * Largest response message the gateway sends. A larger one fails the call (RESOURCE_EXHAUSTED
         * RESPONSE_TOO_LARGE) rather than being logged OK and then refused by the client: 4 MiB is what
         * default gRPC clients receive. Raise it only with your clients' receive limit.
         */
        maxSendMessageBytes: z.number().int().positive().default(DEFAULT_CLIENT_RECEIVE_BYTES),
        /**
         * Largest request metadata (headers), counted as gRPC does: name + value + 32 per entry.
         * 8 KiB is gRPC core's and grpc-java's default. Below this, Node's HTTP/2 layer itself
         * refuses one header over 64 KiB and more than 128 headers.
         */
        maxMetadataBytes: z
          .number()
          .int()
          .positive()
          .default(8 * 1024),
        /**
         * HTTP/2 PING to each client this often, to find dead peers. Off in effect by default (gRPC's
         * 2 h): grpc-js 1.14 destroys a connection whose max-age GOAWAY is out when the next PING
         * fires, cutting its streams before maxConnectionAgeGraceMs (same family as grpc-node#3068).
         */
        keepaliveTimeMs: durationMs().default(2 * 60 * 60_000),
        /** A client that does not answer a PING within this is considered gone. */
        keepaliveTimeoutMs: durationMs().default(20_000),
        /** GOAWAY after this long (±10 % jitter), so clients reconnect and spread over new replicas. */
        maxConnectionAgeMs: durationMs().default(30 * 60_000),
        /** How long calls may run on after that GOAWAY: cover the longest expected stream. */
        maxConnectionAgeGraceMs: durationMs().default(10 * 60_000),
        /** Close connections without calls for this long. */
        maxConnectionIdleMs: durationMs().default(15 * 60_000),
        /**
         * Concurrent calls per connection; more wait in the client until one ends. With maxConnections,
         * it bounds the streams anyone can hold open, including unauthenticated health Watch streams:
         * 200 × 100 = 20,000 streams × ~9.4 KB of heap each (measured) ≈ 188 MB, half the shipped
         * 384 MB heap. The former 1,000 allowed 10× that. See docs/RELIABILITY.md "Memory budget per call".
         */
        maxConcurrentStreams: z.number().int().positive().default(100),
        /**
         * Connections open at once; more are closed as soon as they are accepted. A mesh sidecar or a
         * plugin daemon needs a handful each; 200 leaves room for many while keeping the bound above.
         */
        maxConnections: z.number().int().positive().default(200),
        /**
         * A connection that has not sent the HTTP/2 preface and SETTINGS within this is closed. Before,
         * a socket that sent nothing held ~31 KB and a file descriptor forever (idle timeouts start later).
         */
        prefaceTimeoutMs: durationMs().default(5_000),
        /**
         * A call whose request message has not arrived this long after its headers ends with
         * DEADLINE_EXCEEDED REQUEST_MESSAGE_TIMEOUT. Until then it counts against its workspace's
         * concurrency limit, in a pool of its own.
         */
        firstMessageTimeoutMs: durationMs().default(10_000),
        /** Serve TLS instead of plaintext h2c. In a mesh, leave this out and let the sidecar do mTLS. */
        tls: z
          .strictObject({
            certFile: z.string().min(1),
            keyFile: z.string().min(1),
            /**
             * mTLS: every client must present a certificate this CA signed, and its URI SANs
             * identify the caller (`spiffeIds`). grpc-js can request a client certificate
             * only when it also requires one, outside its experimental provider API.
             */
            clientCaFile: z.string().min(1).optional(),
          })
          .optional(),
      })
      .prefault({}),
    shutdown: z
      .strictObject({
        /** On SIGTERM, calls in flight get this long to finish before they end with UNAVAILABLE. Keep it below Kubernetes' terminationGracePeriodSeconds. */
        graceMs: durationMs(0).default(25_000),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Prometheus text at http://<listen>/metrics, on its own port so it never needs gRPC credentials. */
        listen: hostPort.default("0.0.0.0:9464"),
      })
      .prefault({}),
    auth: z
      .strictObject({
        /**
         * Trust the SPIFFE ID in Envoy's x-forwarded-client-cert header. Safe only when
         * every connection reaches the gateway through its own sidecar, which overwrites the header.
         */
        xfcc: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
      })
      .prefault({}),
    upstream: z
      .strictObject({
        /**
         * Ends an upstream stream that sends nothing at all (not even pings) for this long. Also how long a run whose
         * caller left before its first event is read on until an event names it, so it can be stopped: Dify sends a
         * chat run's headers only with its first token (or its 10 s ping).
         */
        idleTimeoutMs: durationMs().default(60_000),
        connectTimeoutMs: durationMs().default(10_000),
        /**
         * A single upstream event larger than this ends the call with RESOURCE_EXHAUSTED. An event becomes a
         * stream message of up to ~2× its size (`raw` plus the typed view), which must stay under a default
         * client's 4 MiB receive limit: events of 2-4 MiB made ~6 MB messages no default client could read.
         */
        maxEventBytes: z.number().int().positive().default(DEFAULT_MAX_EVENT_BYTES),
        /** Budget for the stop call after a caller left (see `idleTimeoutMs` for runs not yet named). */
        stopTimeoutMs: durationMs().default(5_000),
        /**
         * Largest answer (UTF-8 bytes) a unary call aggregates; more ends the call with RESOURCE_EXHAUSTED
         * ANSWER_TOO_LARGE and stops the run. The unary response carries the answer twice (`answer` and
         * `raw.answer`), so the default is half of a default client's 4 MiB receive limit, less 64 KiB for
         * the rest of the response. Streams are not aggregated and not bound by this.
         */
        maxAnswerBytes: z.number().int().positive().default(DEFAULT_MAX_ANSWER_BYTES),
        /**
         * Retries of requests Dify cannot have acted on: connect errors, 502/503/504, 429 too_many_requests.
         * Never after a 200's headers or any event: runs are not idempotent. Small numbers by default.
         */
        retry: z
          .strictObject({
            /** Attempts in all, the first included; 1 turns retries off. */
            maxAttempts: z.number().int().min(1).max(10).default(3),
            initialBackoffMs: durationMs().default(100),
            maxBackoffMs: durationMs().default(1_000),
            /** Retries add at most this share of the requests of the last 10 s (plus 3), per process. */
            budgetRatio: z.number().min(0).max(1).default(0.1),
            /** A longer Retry-After is not waited for: the caller gets the 429 with its RetryInfo. */
            maxRetryAfterMs: durationMs(0).default(2_000),
          })
          .refine((r) => r.maxBackoffMs >= r.initialBackoffMs, {
            path: ["maxBackoffMs"],
            message: "must be at least initialBackoffMs",
          })
          .prefault({}),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /**
         * Calls (unary and streaming) one workspace may have in flight; more get RESOURCE_EXHAUSTED
         * before reaching Dify, so one workspace cannot take the gateway's or Dify's capacity from the others.
         */
        maxConcurrentCallsPerWorkspace: z.number().int().positive().default(100),
        /**
         * A request's `inputs`, bounded apart from the message: its encoded size, and its keys and list items
         * at all levels. Checked while decoding and stopping early, so one workspace's legal 4 MiB requests
         * cannot hold the event loop for hundreds of milliseconds (269k keys took 665 ms before).
         */
        maxInputsBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
        maxInputsKeys: z.number().int().positive().default(10_000),
        /** Invoke calls one workspace may start per minute (GCRA: a burst of this many, then one every 60 s / N). Unlimited when absent. */
        requestsPerMinutePerWorkspace: z.number().int().positive().optional(),
        /** Invoke calls one caller (one token, or one SPIFFE ID) may start per minute. Unlimited when absent. */
        requestsPerMinutePerToken: z.number().int().positive().optional(),
        /**
         * Dify tokens (`usage.total_tokens` of each finished run) one workspace may use per UTC day; once reached,
         * calls get RESOURCE_EXHAUSTED before any upstream request until the day rolls. Unlimited when absent.
         */
        tokensPerDayPerWorkspace: z.number().int().positive().optional(),
        /** Share the limits above across every replica that names the same Redis. Without it, each process limits alone. */
        redis: redisSettings.optional(),
        /**
         * Largest file FileService.UploadFile accepts, whatever its kind; default Dify's largest default (video,
         * 100 MB as Dify counts: MiB). Bytes past it end the call with RESOURCE_EXHAUSTED UPLOAD_TOO_LARGE and abort
         * the upload to Dify; a header that declares a larger `size` is refused before anything is sent.
         */
        maxUploadBytes: z
          .number()
          .int()
          .positive()
          .default(100 * MIB),
        /**
         * Per kind, by extension as Dify decides it (images, audio, video; everything else is a document):
         * Dify's default upload limits. Each is capped by maxUploadBytes. Raise them with your Dify's
         * UPLOAD_*_FILE_SIZE_LIMIT settings.
         */
        uploadKindMaxBytes: z
          .strictObject({
            image: z
              .number()
              .int()
              .positive()
              .default(10 * MIB),
            document: z
              .number()
              .int()
              .positive()
              .default(15 * MIB),
            audio: z
              .number()
              .int()
              .positive()
              .default(50 * MIB),
            video: z
              .number()
              .int()
              .positive()
              .default(100 * MIB),
          })
          .prefault({}),
        /** An upload that gets no bytes for this long (empty chunks do not count) ends with DEADLINE_EXCEEDED UPLOAD_IDLE_TIMEOUT. */
        uploadIdleTimeoutMs: durationMs().default(30_000),
        /** An upload not over this long after its call started ends with DEADLINE_EXCEEDED UPLOAD_TIMEOUT: 100 MiB at ~115 KB/s. */
        uploadMaxDurationMs: durationMs().default(900_000),
      })
      .prefault({}),
    /**
     * OpenTelemetry traces and metrics over OTLP/HTTP. Each field falls back to its standard OTEL_* variable
     * (src/config/telemetry.ts); with neither, telemetry is off and no OpenTelemetry SDK module is loaded.
     */
    telemetry: z
      .strictObject({
        /** Absent: on exactly when an endpoint is set (here or in OTEL_EXPORTER_OTLP_ENDPOINT) and OTEL_SDK_DISABLED is not true. */
        enabled: z.boolean().optional(),
        /** The collector's OTLP/HTTP base URL; traces go to <endpoint>/v1/traces, metrics to <endpoint>/v1/metrics. */
        endpoint: z
          .url({ protocol: /^https?$/ })
          .refine(withoutCredentials, "must not contain a user or password: set OTEL_EXPORTER_OTLP_HEADERS for the collector's credentials")
          .optional(),
        protocol: z.enum(TELEMETRY_PROTOCOLS).optional(),
        serviceName: z.string().min(1).optional(),
        metricExportIntervalMs: durationMs().optional(),
        /** Which signals go to the collector; "none" turns one off (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER). */
        tracesExporter: z.enum(TELEMETRY_EXPORTERS).optional(),
        metricsExporter: z.enum(TELEMETRY_EXPORTERS).optional(),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
        /** auto: human-readable on a terminal, JSON lines otherwise (log collectors). */
        format: z.enum(["auto", "json", "pretty"]).default("auto"),
      })
      .prefault({}),
    workspaces: z.array(workspace).min(1),
  })
  .superRefine((cfg, ctx) => {
    // Both bind at start-up; the second failed with a bare EADDRINUSE.
    const port = (listen: string) => Number(hostPortPattern.exec(listen)?.[2]);
    if (cfg.metrics.enabled && port(cfg.metrics.listen) !== 0 && port(cfg.metrics.listen) === port(cfg.server.listen))
      ctx.addIssue({
        code: "custom",
        path: ["metrics", "listen"],
        message: `port ${port(cfg.metrics.listen)} is server.listen's too: give metrics a port of its own (default 9464)`,
      });
    const ids = new Set<string>();
    const tokens = new Map<string, number>();
    const spiffeIds = new Map<string, number>();
    const meshIdentity = cfg.auth.xfcc.enabled || cfg.server.tls?.clientCaFile !== undefined;
    cfg.workspaces.forEach((ws, i) => {
      if (ids.has(ws.id)) ctx.addIssue({ code: "custom", path: ["workspaces", i, "id"], message: `duplicate workspace id "${ws.id}"` });
      ids.add(ws.id);
      ws.tokens.forEach((t, j) => {
        const owner = tokens.get(t.sha256);
        if (owner !== undefined)
          ctx.addIssue({
            code: "custom",
            path: ["workspaces", i, "tokens", j, "sha256"],
            // Within one workspace the last entry would win unseen, and with it its scope (apps) and expiry.
            message:
              owner === i
                ? "the same token hash is listed twice in this workspace: keep one entry per token"
                : "the same token hash is configured for two workspaces",
          });
        tokens.set(t.sha256, i);
      });
      if (ws.spiffeIds.length > 0 && !meshIdentity)
        ctx.addIssue({
          code: "custom",
          path: ["workspaces", i, "spiffeIds"],
          message: "nothing verifies mesh identities: set auth.xfcc.enabled or server.tls.clientCaFile",
        });
      ws.spiffeIds.forEach((id, j) => {
        const owner = spiffeIds.get(id);
        if (owner !== undefined && owner !== i)
          ctx.addIssue({ code: "custom", path: ["workspaces", i, "spiffeIds", j], message: `"${id}" is configured for two workspaces` });
        spiffeIds.set(id, i);
      });
    });
  });

export type ConfigFile = z.infer<typeof configSchema>;
