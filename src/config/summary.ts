import type { GatewayConfig } from "./config.js";

/** What `check-config` prints: every setting that matters, and where each secret comes from, never a secret. */
export function summarize(config: GatewayConfig, file: string): string {
  const { server, upstream, limits, auth, log } = config;
  const tls = !server.tls ? "off (plaintext h2c)" : server.tls.clientCa ? "mTLS (client certificates required)" : "TLS";
  const lines = [
    `${file}: valid`,
    `server: listen ${server.listen}, tls ${tls}, maxReceiveMessageBytes ${server.maxReceiveMessageBytes}, maxMetadataBytes ${server.maxMetadataBytes}`,
    `upstream: ${Object.entries(upstream)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `limits: maxConcurrentCallsPerWorkspace ${limits.maxConcurrentCallsPerWorkspace}${optionalLimits(limits)}`,
    `auth: x-forwarded-client-cert ${auth.xfcc.enabled ? "trusted" : "ignored"}`,
    `log: level ${log.level}`,
    `workspaces: ${config.workspaces.length}`,
  ];
  for (const ws of config.workspaces) {
    lines.push(
      `  ${ws.id}: dify ${ws.difyBaseUrl}, default user ${JSON.stringify(ws.defaultUser)}, ${plural(ws.tokenHashes.length, "token")}, at most ${ws.maxConcurrentCalls} concurrent calls`,
    );
    for (const id of ws.spiffeIds) lines.push(`    identity ${id}`);
    for (const app of ws.apps.values())
      lines.push(`    app ${app.appId}: mode ${app.mode ?? "(asked from Dify)"}, key from ${app.keySource}`);
  }
  return `${lines.join("\n")}\n`;
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

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
