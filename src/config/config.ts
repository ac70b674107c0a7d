import type { AppMode, ConfigFile } from "./schema.js";
import type { Secret } from "./secret.js";

export interface AppEntry {
  readonly appId: string;
  readonly key: Secret;
  readonly mode: AppMode | undefined;
}

export interface Workspace {
  readonly id: string;
  readonly difyBaseUrl: string;
  readonly defaultUser: string;
  /** SHA-256 digests of the bearer tokens that identify callers of this workspace. */
  readonly tokenHashes: readonly Buffer[];
  readonly apps: ReadonlyMap<string, AppEntry>;
}

/** The one typed configuration object the gateway runs on. */
export interface GatewayConfig {
  readonly server: ConfigFile["server"];
  readonly upstream: ConfigFile["upstream"];
  readonly log: ConfigFile["log"];
  readonly workspaces: readonly Workspace[];
}
