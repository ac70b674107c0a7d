import type { GatewayConfig } from "./config.js";

/**
 * Settings a running process cannot change: the listening socket and its TLS,
 * and what the upstream connection pool was built with. A reload keeps the old
 * values and names these fields so the operator knows a restart is due.
 */
export function restartRequired(running: GatewayConfig, next: GatewayConfig): string[] {
  const changed: string[] = [];
  const check = (path: string, same: boolean) => {
    if (!same) changed.push(path);
  };
  check("server.listen", running.server.listen === next.server.listen);
  check("server.maxReceiveMessageBytes", running.server.maxReceiveMessageBytes === next.server.maxReceiveMessageBytes);
  check("server.maxMetadataBytes", running.server.maxMetadataBytes === next.server.maxMetadataBytes);
  check("server.tls", sameTls(running.server.tls, next.server.tls));
  for (const key of [
    "keepaliveTimeMs",
    "keepaliveTimeoutMs",
    "maxConnectionAgeMs",
    "maxConnectionAgeGraceMs",
    "maxConnectionIdleMs",
    "maxConcurrentStreams",
    "maxSendMessageBytes",
    "maxConnections",
    "prefaceTimeoutMs",
    "firstMessageTimeoutMs",
  ] as const)
    check(`server.${key}`, running.server[key] === next.server[key]);
  check("upstream.connectTimeoutMs", running.upstream.connectTimeoutMs === next.upstream.connectTimeoutMs);
  // The Redis connection is built once; the limits themselves (numbers) apply on reload.
  check(
    "limits.redis",
    JSON.stringify(running.limits.redis) === JSON.stringify(next.limits.redis) &&
      running.limits.redis?.password?.reveal() === next.limits.redis?.password?.reveal(),
  );
  check("log.format", running.log.format === next.log.format);
  check("metrics", running.metrics.enabled === next.metrics.enabled && running.metrics.listen === next.metrics.listen);
  check("telemetry", JSON.stringify(running.telemetry) === JSON.stringify(next.telemetry));
  return changed;
}

function sameTls(a: GatewayConfig["server"]["tls"], b: GatewayConfig["server"]["tls"]): boolean {
  if (!a || !b) return a === b;
  const sameCa = a.clientCa && b.clientCa ? a.clientCa.equals(b.clientCa) : a.clientCa === b.clientCa;
  return a.cert.equals(b.cert) && a.key.reveal() === b.key.reveal() && sameCa;
}
