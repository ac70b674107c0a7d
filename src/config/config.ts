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

/** One bearer token of a workspace: its digest and what it may do. */
export interface TokenEntry {
  /** SHA-256 of the token. */
  readonly hash: Buffer;
  /**
   * How logs and metrics name the token: its configured `name`, else `sha256:` and the digest's first 12 hex
   * characters. Only ever a value from the config, never the token.
   */
  readonly label: string;
  /** The apps this token may call; undefined: every app of its workspace. */
  readonly apps: ReadonlySet<string> | undefined;
  /** When the token stops working (epoch ms); undefined: never. */
  readonly expiresAt: number | undefined;
}

export interface Workspace {
  readonly id: string;
  readonly difyBaseUrl: string;
  readonly defaultUser: string;
  /** The bearer tokens that identify callers of this workspace, by their SHA-256 digests. */
  readonly tokens: readonly TokenEntry[];
  /** Mesh identities (SPIFFE IDs) of this workspace's callers. */
  readonly spiffeIds: readonly string[];
  /** Calls this workspace may have in flight: its own `maxConcurrentCalls`, else `limits.maxConcurrentCallsPerWorkspace`. */
  readonly maxConcurrentCalls: number;
  /** Invoke calls this workspace may start per minute (undefined: unlimited). */
  readonly requestsPerMinute: number | undefined;
  /** Invoke calls each caller (token or SPIFFE ID) of this workspace may start per minute (undefined: unlimited). */
  readonly requestsPerMinutePerToken: number | undefined;
  /** Dify tokens this workspace may use per UTC day (undefined: unlimited). */
  readonly tokensPerDay: number | undefined;
  readonly apps: ReadonlyMap<string, AppEntry>;
}

/** Server TLS material, read from the files the config names. */
export interface ServerTls {
  readonly cert: Buffer;
  readonly key: Secret;
  /** mTLS: client certificates are required and verified against this CA. */
  readonly clientCa: Buffer | undefined;
}

/** The shared limiter's Redis, with its password read from where the config points. */
export type RedisSettings = Omit<NonNullable<ConfigFile["limits"]["redis"]>, "password"> & { readonly password: Secret | undefined };

/** The one typed configuration object the gateway runs on. */
export interface GatewayConfig {
  readonly server: Omit<ConfigFile["server"], "tls"> & { readonly tls: ServerTls | undefined };
  readonly upstream: ConfigFile["upstream"];
  readonly shutdown: ConfigFile["shutdown"];
  readonly limits: Omit<ConfigFile["limits"], "redis"> & { readonly redis: RedisSettings | undefined };
  readonly metrics: ConfigFile["metrics"];
  /** OpenTelemetry export; off unless configured (src/config/telemetry.ts). */
  readonly telemetry: TelemetryConfig;
  readonly auth: ConfigFile["auth"];
  readonly log: ConfigFile["log"];
  readonly workspaces: readonly Workspace[];
}
