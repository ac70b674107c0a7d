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
    `limits: maxConcurrentCallsPerWorkspace ${limits.maxConcurrentCallsPerWorkspace}`,
    `auth: x-forwarded-client-cert ${auth.xfcc.enabled ? "trusted" : "ignored"}`,
    `log: level ${log.level}`,
    `telemetry: ${telemetryLine(config.telemetry)}`,
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

function telemetryLine(t: GatewayConfig["telemetry"]): string {
  if (!t.enabled) return "off (no OTLP endpoint)";
  // The endpoint's query string could carry a collector credential; the headers (OTEL_EXPORTER_OTLP_HEADERS) are never printed.
  const url = new URL(t.endpoint);
  return `OTLP ${t.protocol} to ${url.origin}${url.pathname.replace(/\/$/, "")}, sampler ${t.sampler}, metrics every ${t.metricExportIntervalMs} ms, service ${t.resource["service.name"]}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
