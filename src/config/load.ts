import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { z } from "zod";
import type { AppEntry, GatewayConfig, ServerTls, Workspace } from "./config.js";
import { type ConfigFile, configSchema } from "./schema.js";
import { Secret } from "./secret.js";
import { resolveTelemetry } from "./telemetry.js";

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
    doc = parseDocument(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`]);
  }
  return parseConfig(doc, file, env, dirname(resolve(file)));
}

/**
 * JSON is YAML, but JSON.parse reads it without loading `yaml`, whose import cost 32 ms
 * of the cold start (measured); YAML, or JSON with errors, goes to `yaml` as before.
 */
function parseDocument(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const yaml = createRequire(import.meta.url)("yaml") as typeof import("yaml");
    return yaml.parse(text, { prettyErrors: true });
  }
}

/** Where secret references point: the environment, and files relative to the config file's folder. */
interface Sources {
  env: NodeJS.ProcessEnv;
  baseDir: string;
  problems: string[];
}

/** Validates a parsed document and resolves the files and variables it refers to. */
export function parseConfig(doc: unknown, source: string, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): GatewayConfig {
  // zod's "workspaces: expected array, received undefined" says little about a file with nothing in it.
  if (doc === null || doc === undefined)
    throw new ConfigError(source, ["the file holds no settings: it needs at least `workspaces` (README, Configuration)"]);
  const parsed = configSchema.safeParse(doc);
  const sources: Sources = { env, baseDir, problems: [] };
  if (!parsed.success) {
    // Report unresolvable key references too, so one run lists every problem.
    checkKeyRefs(doc, sources);
    // zod skips a schema's refinements once a field inside it failed; duplicates are found here instead,
    // and a Set drops those the refinements did report, so each problem is listed once.
    const problems = new Set([...parsed.error.issues.map(describeIssue), ...duplicates(doc), ...sources.problems]);
    throw new ConfigError(source, [...problems]);
  }
  const { server, upstream, shutdown, limits, metrics, auth, log } = parsed.data;
  const tls = server.tls && resolveTls(server.tls, sources);
  const telemetry = resolveTelemetry(parsed.data.telemetry, env, sources.problems);
  const workspaces = parsed.data.workspaces.map((ws, i) => resolveWorkspace(ws, `workspaces.${i}`, limits, sources));
  const redis = limits.redis && {
    ...limits.redis,
    password: limits.redis.password && readSecret(limits.redis.password, "limits.redis.password", sources),
  };
  if (sources.problems.length > 0) throw new ConfigError(source, sources.problems);
  return { server: { ...server, tls }, upstream, shutdown, limits: { ...limits, redis }, metrics, telemetry, auth, log, workspaces };
}

/** The app key references of a document the schema rejected, checked where their shape is right. */
function checkKeyRefs(doc: unknown, sources: Sources): void {
  const workspaces = (doc as { workspaces?: unknown } | null)?.workspaces;
  if (!Array.isArray(workspaces)) return;
  workspaces.forEach((ws: { apps?: unknown } | null, i) => {
    if (!Array.isArray(ws?.apps)) return;
    ws.apps.forEach((app: { key?: unknown } | null, j) => {
      const key = app?.key as { env?: unknown; file?: unknown } | undefined;
      if (typeof key?.env === "string" && key.file === undefined) readSecret({ env: key.env }, `workspaces.${i}.apps.${j}.key`, sources);
      else if (typeof key?.file === "string" && key.env === undefined)
        readSecret({ file: key.file }, `workspaces.${i}.apps.${j}.key`, sources);
    });
  });
}

/** Duplicate workspace ids and appIds of a document the schema rejected, worded as the schema's refinements word them. */
function duplicates(doc: unknown): string[] {
  const workspaces = (doc as { workspaces?: unknown } | null)?.workspaces;
  if (!Array.isArray(workspaces)) return [];
  const problems: string[] = [];
  const ids = new Set<unknown>();
  workspaces.forEach((ws: { id?: unknown; apps?: unknown } | null, i) => {
    if (typeof ws?.id === "string") {
      if (ids.has(ws.id)) problems.push(`workspaces.${i}.id: duplicate workspace id "${ws.id}"`);
      ids.add(ws.id);
    }
    if (!Array.isArray(ws?.apps)) return;
    const appIds = new Set<string>();
    ws.apps.forEach((app: { appId?: unknown } | null, j) => {
      if (typeof app?.appId !== "string") return;
      if (appIds.has(app.appId)) problems.push(`workspaces.${i}.apps.${j}.appId: duplicate appId "${app.appId}"`);
      appIds.add(app.appId);
    });
  });
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.map(shownKey).join(".") : "(root)";
  if (issue.code !== "unrecognized_keys") return `${path}: ${issue.message}`;
  const keys = issue.keys.map((key) => (shownKey(key) === key ? `"${key}"` : shownKey(key)));
  return `${path}: unrecognized ${keys.length === 1 ? "key" : "keys"} ${keys.join(", ")}`;
}

/**
 * A key of the config file as a problem may show it. Field names are identifiers; anything else may be a secret
 * pasted into the wrong place (an app key on a line of its own reads as a key named "app-..."), and problems go to
 * the terminal and, on a reload, to the log.
 */
function shownKey(key: PropertyKey): string {
  if (typeof key === "number") return String(key);
  return typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key) ? key : "(a key that is no field name, not shown)";
}

type WorkspaceFile = ConfigFile["workspaces"][number];

function resolveWorkspace(ws: WorkspaceFile, path: string, limits: ConfigFile["limits"], sources: Sources): Workspace {
  const apps = new Map<string, AppEntry>();
  ws.apps.forEach((app, j) => {
    const key = headerSafe(readSecret(app.key, `${path}.apps.${j}.key`, sources), `${path}.apps.${j}.key`, sources);
    const keySource = "env" in app.key ? `env ${app.key.env}` : `file ${resolve(sources.baseDir, app.key.file)}`;
    if (key) apps.set(app.appId, { appId: app.appId, key, keySource, mode: app.mode });
  });
  return {
    id: ws.id,
    difyBaseUrl: ws.difyBaseUrl,
    defaultUser: ws.defaultUser,
    tokens: ws.tokens.map((t) => ({
      hash: Buffer.from(t.sha256, "hex"),
      label: t.name ?? `sha256:${t.sha256.slice(0, 12)}`,
      apps: t.apps && new Set(t.apps),
      expiresAt: t.expiresAt === undefined ? undefined : Date.parse(t.expiresAt),
    })),
    spiffeIds: ws.spiffeIds,
    maxConcurrentCalls: ws.maxConcurrentCalls ?? limits.maxConcurrentCallsPerWorkspace,
    requestsPerMinute: ws.requestsPerMinute ?? limits.requestsPerMinutePerWorkspace,
    requestsPerMinutePerToken: ws.requestsPerMinutePerToken ?? limits.requestsPerMinutePerToken,
    tokensPerDay: ws.tokensPerDay ?? limits.tokensPerDayPerWorkspace,
    apps,
  };
}

function resolveTls(tls: NonNullable<ConfigFile["server"]["tls"]>, sources: Sources): ServerTls | undefined {
  const cert = readFile(tls.certFile, "server.tls.certFile", sources);
  const key = readFile(tls.keyFile, "server.tls.keyFile", sources);
  const clientCa = tls.clientCaFile === undefined ? undefined : readFile(tls.clientCaFile, "server.tls.clientCaFile", sources);
  if (!cert || !key || (tls.clientCaFile !== undefined && !clientCa)) return undefined;
  const problem = tlsProblem(cert, key, clientCa);
  if (problem) {
    sources.problems.push(problem);
    return undefined;
  }
  return { cert, key: new Secret(key.toString("utf8")), clientCa };
}

/**
 * What is wrong with the TLS files, checked as the server will load them, so `check-config` and a reload catch it
 * and a start says which file to fix instead of failing in the TLS stack with OpenSSL's trace.
 */
function tlsProblem(cert: Buffer, key: Buffer, clientCa: Buffer | undefined): string | undefined {
  const fails = (options: SecureContextOptions) => {
    try {
      createSecureContext(options);
      return undefined;
    } catch (err) {
      // OpenSSL's reason, e.g. "error:0480006C:PEM routines::no start line" → "no start line".
      return String((err as Error).message)
        .split("::")
        .at(-1);
    }
  };
  const certProblem = fails({ cert });
  if (certProblem) return `server.tls.certFile: not a usable PEM certificate (${certProblem})`;
  const keyProblem = fails({ key });
  if (keyProblem) return `server.tls.keyFile: not a usable PEM private key (${keyProblem})`;
  if (fails({ cert, key })) return "server.tls.keyFile: this key does not belong to the certificate in certFile";
  // The TLS stack serves an expired certificate without a word, and every client then fails its handshake.
  const certExpired = expiredOn(new X509Certificate(cert));
  if (certExpired) return `server.tls.certFile: the certificate expired on ${certExpired}: renew it`;
  if (clientCa) {
    // A CA file with no certificate in it is taken silently by the TLS stack, which then refuses every client.
    let ca: X509Certificate;
    try {
      ca = new X509Certificate(clientCa);
    } catch (err) {
      return `server.tls.clientCaFile: not a usable PEM certificate (${String((err as Error).message)
        .split("::")
        .at(-1)})`;
    }
    const caExpired = expiredOn(ca);
    if (caExpired)
      return `server.tls.clientCaFile: the CA certificate expired on ${caExpired}: no client certificate can verify against it`;
  }
  return undefined;
}

/** The date a certificate expired on, when it has (of the first certificate in a PEM bundle). */
function expiredOn(cert: X509Certificate): string | undefined {
  const validTo = Date.parse(cert.validTo);
  return Number.isFinite(validTo) && validTo < Date.now() ? new Date(validTo).toISOString() : undefined;
}

function readSecret(ref: { env: string } | { file: string }, path: string, sources: Sources): Secret | undefined {
  let value: string | undefined;
  if ("env" in ref) {
    value = sources.env[ref.env];
    if (value === undefined) sources.problems.push(`${path}.env: environment variable ${ref.env} is not set`);
  } else {
    value = readFile(ref.file, `${path}.file`, sources)?.toString("utf8");
  }
  value = value?.trim();
  if (value === "") {
    sources.problems.push(`${path}: the referenced key is empty`);
    return undefined;
  }
  return value === undefined ? undefined : new Secret(value);
}

/**
 * An app key travels as `Authorization: Bearer <key>`: a line break, a space, a control or non-ASCII character
 * (a second line in the file, a zero-width space pasted along) cannot, and every call then failed as "Dify
 * unreachable", which tells callers to retry. The key is not shown.
 */
function headerSafe(key: Secret | undefined, path: string, sources: Sources): Secret | undefined {
  if (key === undefined || /^[\x21-\x7e]+$/.test(key.reveal())) return key;
  sources.problems.push(
    `${path}: the key holds a character an HTTP header cannot carry (a line break, a space, a control or non-ASCII character): an app key is one line of printable ASCII`,
  );
  return undefined;
}

function readFile(file: string, path: string, sources: Sources): Buffer | undefined {
  const full = resolve(sources.baseDir, file);
  try {
    return readFileSync(full);
  } catch (err) {
    sources.problems.push(`${path}: cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    return undefined;
  }
}
