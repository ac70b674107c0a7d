import type { AppMode, ConfigFile } from "./schema.js";
import type { Secret } from "./secret.js";
import type { TelemetryConfig } from "./telemetry.js";

export interface AppEntry {
  readonly appId: string;
  readonly key: Secret;
  /** Where the key came from, e.g. `env ACME_CHAT_KEY`; safe to print. */
  readonly keySource: string;
  readonly mode: AppMode | undefined;
}

export interface Workspace {
  readonly id: string;
  readonly difyBaseUrl: string;
  readonly defaultUser: string;
  /** SHA-256 digests of the bearer tokens that identify callers of this workspace. */
  readonly tokenHashes: readonly Buffer[];
  /** Mesh identities (SPIFFE IDs) of this workspace's callers. */
  readonly spiffeIds: readonly string[];
  /** Calls this workspace may have in flight: its own `maxConcurrentCalls`, else `limits.maxConcurrentCallsPerWorkspace`. */
  readonly maxConcurrentCalls: number;
  readonly apps: ReadonlyMap<string, AppEntry>;
}

/** Server TLS material, read from the files the config names. */
export interface ServerTls {
  readonly cert: Buffer;
  readonly key: Secret;
  /** mTLS: client certificates are required and verified against this CA. */
  readonly clientCa: Buffer | undefined;
}

/** The one typed configuration object the gateway runs on. */
export interface GatewayConfig {
  readonly server: Omit<ConfigFile["server"], "tls"> & { readonly tls: ServerTls | undefined };
  readonly upstream: ConfigFile["upstream"];
  readonly shutdown: ConfigFile["shutdown"];
  readonly limits: ConfigFile["limits"];
  readonly metrics: ConfigFile["metrics"];
  /** OpenTelemetry export; off unless configured (src/config/telemetry.ts). */
  readonly telemetry: TelemetryConfig;
  readonly auth: ConfigFile["auth"];
  readonly log: ConfigFile["log"];
  readonly workspaces: readonly Workspace[];
}
