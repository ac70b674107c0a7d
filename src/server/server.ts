import { Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { authInterceptor } from "../auth/interceptor.js";
import { WorkspaceRegistry } from "../auth/registry.js";
import type { GatewayConfig } from "../config/config.js";
import { restartRequired } from "../config/reload.js";
import { AppModes } from "../dify/app-mode.js";
import { DifyClient } from "../dify/client.js";
import { createHandlers } from "../invoke/handlers.js";
import { INTERFACES } from "../invoke/interfaces.js";
import { addReflection } from "./reflection.js";

export interface Gateway {
  readonly port: number;
  readonly health: HealthImplementation;
  /**
   * Applies a new config to the next calls; calls in flight keep the workspace
   * they started with. Returns the changed fields that only a restart applies.
   */
  reload(next: GatewayConfig): string[];
  close(graceMs?: number): Promise<void>;
}

const HEALTH_SERVICE = "grpc.health.v1.Health";

/** Builds the gRPC server: auth interceptor in front, the three interfaces, health and reflection. */
export async function startGateway(config: GatewayConfig, log: Logger): Promise<Gateway> {
  let registry = new WorkspaceRegistry(config);
  const server = new Server({
    interceptors: [authInterceptor(() => registry, log)],
    "grpc.max_receive_message_length": config.server.maxReceiveMessageBytes,
  });
  const client = new DifyClient({ connectTimeoutMs: config.upstream.connectTimeoutMs });
  const deps = { client, modes: new AppModes(client, config.upstream.connectTimeoutMs), settings: config.upstream, log };
  for (const spec of INTERFACES) server.addService(spec.service, createHandlers(spec, deps));

  const health = new HealthImplementation({ "": "SERVING", ...Object.fromEntries(INTERFACES.map((s) => [s.serviceName, "SERVING" as const])) });
  health.addToServer(server);
  addReflection(server, [...INTERFACES.map((s) => s.serviceName), HEALTH_SERVICE]);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(config.server.listen, serverCredentials(config), (err, p) => (err ? reject(err) : resolve(p))),
  );
  log.info({ listen: config.server.listen, port, tls: tlsMode(config), workspaces: config.workspaces.length }, "gateway listening");

  return {
    port,
    health,
    reload(next) {
      // Compared with the startup config: that is what the socket and the pool were built with.
      const ignored = restartRequired(config, next);
      registry = new WorkspaceRegistry(next);
      deps.settings = next.upstream;
      log.level = next.log.level;
      return ignored;
    },
    async close(graceMs = 5_000) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        // tryShutdown waits for open streams forever; the timer backs it (grpc-node#1458).
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await client.close();
    },
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
