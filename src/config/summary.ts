import type { GatewayConfig, TokenEntry } from "./config.js";

/** What `check-config` prints: every setting that matters, and where each secret comes from, never a secret. */
export function summarize(config: GatewayConfig, file: string, now = Date.now()): string {
  const { server, upstream, limits, auth, log } = config;
  const tls = !server.tls ? "off (plaintext h2c)" : server.tls.clientCa ? "mTLS (client certificates required)" : "TLS";
  const lines = [
    `${file}: valid`,
    `server: listen ${server.listen}, tls ${tls}, maxReceiveMessageBytes ${server.maxReceiveMessageBytes}, maxMetadataBytes ${server.maxMetadataBytes}`,
    `upstream: ${Object.entries(upstream)
      .filter(([k]) => k !== "retry")
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `upstream.retry: ${Object.entries(upstream.retry)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `limits: maxConcurrentCallsPerWorkspace ${limits.maxConcurrentCallsPerWorkspace}${optionalLimits(limits)}`,
    `auth: x-forwarded-client-cert ${auth.xfcc.enabled ? "trusted" : "ignored"}`,
    `log: level ${log.level}`,
    `telemetry: ${telemetryLine(config.telemetry)}`,
    `workspaces: ${config.workspaces.length}`,
  ];
  for (const ws of config.workspaces) {
    lines.push(
      `  ${ws.id}: dify ${ws.difyBaseUrl}, default user ${JSON.stringify(ws.defaultUser)}, ${plural(ws.tokens.length, "token")}, at most ${ws.maxConcurrentCalls} concurrent calls`,
    );
    for (const t of ws.tokens) if (t.apps || t.expiresAt !== undefined) lines.push(`    token ${t.label}: ${tokenScope(t, now)}`);
    for (const id of ws.spiffeIds) lines.push(`    identity ${id}`);
    for (const app of ws.apps.values())
      lines.push(`    app ${app.appId}: mode ${app.mode ?? "(asked from Dify)"}, key from ${app.keySource}`);
  }
  return `${lines.join("\n")}\n`;
}

function tokenScope(t: TokenEntry, now: number): string {
  const apps = t.apps ? `apps ${[...t.apps].join(", ")}` : "every app";
  if (t.expiresAt === undefined) return apps;
  const at = new Date(t.expiresAt).toISOString();
  // Valid config, but a mistake worth a look: its holder is refused (UNAUTHENTICATED TOKEN_EXPIRED).
  return t.expiresAt <= now
    ? `${apps}, EXPIRED ${at}: its callers are refused; issue a new token and remove this entry`
    : `${apps}, expires ${at}`;
}

/** Rate, budget and Redis, only when set: a config without them prints as before. */
function optionalLimits(limits: GatewayConfig["limits"]): string {
  const parts: string[] = [];
  if (limits.requestsPerMinutePerWorkspace) parts.push(`requestsPerMinutePerWorkspace ${limits.requestsPerMinutePerWorkspace}`);
  if (limits.requestsPerMinutePerToken) parts.push(`requestsPerMinutePerToken ${limits.requestsPerMinutePerToken}`);
  if (limits.tokensPerDayPerWorkspace) parts.push(`tokensPerDayPerWorkspace ${limits.tokensPerDayPerWorkspace}`);
  const redis = limits.redis;
  if (redis) {
    // The URL holds no password (the schema refuses one); the password's source is named, never its value.
    const topology = redis.sentinel ? `sentinel ${redis.sentinel.name}` : redis.cluster ? "cluster" : "single node";
    parts.push(
      `shared in Redis ${redis.url} (${topology}, password ${redis.password ? "set" : "none"}, onUnavailable ${redis.onUnavailable}, lease ${redis.leaseMs} ms)`,
    );
  } else if (parts.length > 0) parts.push("per process (no limits.redis)");
  return parts.length > 0 ? `, ${parts.join(", ")}` : "";
}

function telemetryLine(t: GatewayConfig["telemetry"]): string {
  if (!t.enabled) return "off (no OTLP endpoint, or both signals set to none)";
  // The endpoint's query string could carry a collector credential; the headers (OTEL_EXPORTER_OTLP_HEADERS) are never printed.
  const url = new URL(t.endpoint);
  const traces = t.traces ? `, sampler ${t.sampler}` : ", no traces";
  const metrics = t.metrics ? `, metrics every ${t.metricExportIntervalMs} ms` : ", no metrics";
  return `OTLP ${t.protocol} to ${url.origin}${url.pathname.replace(/\/$/, "")}${traces}${metrics}, service ${t.resource["service.name"]}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
