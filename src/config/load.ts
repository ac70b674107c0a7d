import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import type { AppEntry, GatewayConfig, Workspace } from "./config.js";
import { configSchema, type ConfigFile } from "./schema.js";
import { Secret } from "./secret.js";

/** Every problem in a config file, each naming the file and the field path. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid configuration ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export const CONFIG_ENV = "DIFY_GATEWAY_CONFIG";

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`]);
  }
  return parseConfig(doc, file, env);
}

/** Validates a parsed document and resolves its secret references. */
export function parseConfig(doc: unknown, source: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = configSchema.safeParse(doc ?? {});
  if (!parsed.success) throw new ConfigError(source, parsed.error.issues.map(describeIssue));
  const problems: string[] = [];
  const workspaces = parsed.data.workspaces.map((ws, i) => resolveWorkspace(ws, `workspaces.${i}`, env, problems));
  if (problems.length > 0) throw new ConfigError(source, problems);
  const { server, upstream, log } = parsed.data;
  return { server, upstream, log, workspaces };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.join(".") : "(root)";
  return `${path}: ${issue.message}`;
}

type WorkspaceFile = ConfigFile["workspaces"][number];

function resolveWorkspace(ws: WorkspaceFile, path: string, env: NodeJS.ProcessEnv, problems: string[]): Workspace {
  const apps = new Map<string, AppEntry>();
  ws.apps.forEach((app, j) => {
    const key = readSecret(app.key, `${path}.apps.${j}.key`, env, problems);
    if (key) apps.set(app.appId, { appId: app.appId, key, mode: app.mode });
  });
  return {
    id: ws.id,
    difyBaseUrl: ws.difyBaseUrl,
    defaultUser: ws.defaultUser,
    tokenHashes: ws.tokens.map((t) => Buffer.from(t.sha256, "hex")),
    apps,
  };
}

function readSecret(ref: { env: string } | { file: string }, path: string, env: NodeJS.ProcessEnv, problems: string[]): Secret | undefined {
  let value: string | undefined;
  if ("env" in ref) {
    value = env[ref.env];
    if (value === undefined) problems.push(`${path}.env: environment variable ${ref.env} is not set`);
  } else {
    try {
      value = readFileSync(ref.file, "utf8");
    } catch (err) {
      problems.push(`${path}.file: cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
  }
  value = value?.trim();
  if (value === "") {
    problems.push(`${path}: the referenced key is empty`);
    return undefined;
  }
  return value === undefined ? undefined : new Secret(value);
}
