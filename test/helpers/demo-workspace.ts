import { type AppMode, DEMO_APPS } from "../../simulator/index.js";
import { sha256 } from "../../src/auth/registry.js";

/** The one workspace token every test stack accepts. */
export const TOKEN = "test-token-4b1d9e";

export interface StackOptions {
  upstream?: Record<string, unknown>;
  server?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  logLevel?: string;
}

/**
 * The gateway config of a test stack, in process or as processes: every demo app in one workspace,
 * their keys read from the environment it returns, listening on a free port.
 */
export function demoWorkspaceConfig(difyBaseUrl: string, opts: StackOptions): { config: Record<string, unknown>; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  const apps = DEMO_APPS.map((a, i) => {
    env[`TEST_APP_KEY_${i}`] = a.key;
    return { appId: a.appId, key: { env: `TEST_APP_KEY_${i}` } };
  });
  const config = {
    server: { listen: "127.0.0.1:0", ...opts.server },
    upstream: opts.upstream ?? {},
    limits: opts.limits ?? {},
    log: { level: opts.logLevel ?? "info" },
    workspaces: [{ id: "ws-test", difyBaseUrl, defaultUser: "ws-default-user", tokens: [{ sha256: sha256(TOKEN).toString("hex") }], apps }],
  };
  return { config, env };
}

/** The demo app of a mode, by id. */
export function demoAppId(mode: AppMode): string {
  const app = DEMO_APPS.find((a) => a.mode === mode);
  if (!app) throw new Error(`no demo app of mode ${mode}`);
  return app.appId;
}

/**
 * A request that starts a run: a POST other than a stop call. GETs (the mode lookup, the start-up Dify check, which
 * may land after a test's reset) are not runs.
 */
export function isRunRequest(r: { method: string; path: string }): boolean {
  return r.method === "POST" && !r.path.endsWith("/stop");
}
