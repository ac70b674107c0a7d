import type { AppEntry, GatewayConfig, Workspace } from "../config/config.js";
import type { DifyClient } from "../dify/client.js";
import { DifyHttpError, DifyUnreachableError } from "../dify/errors.js";

/** The outcome of asking Dify about one configured app. `problem` says what the operator should fix. */
export interface AppProbe {
  readonly workspace: string;
  readonly appId: string;
  /** The mode Dify reported, when /info answered. */
  readonly mode?: string;
  readonly problem?: string;
}

/** Where a Dify App API lives: the API server's `/v1`, which is where `/info` and the run routes are. */
const V1_HINT = "difyBaseUrl should end with /v1";

/**
 * Asks Dify's `GET /info` with each app's key: the key is accepted, the base URL is Dify's App API,
 * and the mode is the one configured. One request per app, all at once, each bounded by `timeoutMs`.
 */
export function probeConfig(config: GatewayConfig, client: DifyClient, timeoutMs: number, cancel?: AbortSignal): Promise<AppProbe[]> {
  return Promise.all(
    config.workspaces.flatMap((ws, i) =>
      [...ws.apps.values()].map((app, j) => probeApp(ws, app, `workspaces[${i}].apps[${j}]`, client, timeoutMs, cancel)),
    ),
  );
}

async function probeApp(
  ws: Workspace,
  app: AppEntry,
  path: string,
  client: DifyClient,
  timeoutMs: number,
  cancel: AbortSignal | undefined,
): Promise<AppProbe> {
  const name = { workspace: ws.id, appId: app.appId };
  const baseUrl = ws.difyBaseUrl;
  const timeout = AbortSignal.timeout(timeoutMs);
  let info: { mode?: unknown } | null;
  try {
    const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
    info = (await client.getJson({ baseUrl, key: app.key }, "/info", signal)) as { mode?: unknown } | null;
  } catch (err) {
    return { ...name, problem: describeFailure(err, ws, app, path, timeout.aborted, timeoutMs) };
  }
  const mode = typeof info?.mode === "string" ? info.mode : undefined;
  if (mode === undefined)
    return {
      ...name,
      problem: `GET ${baseUrl}/info answered without an app mode: is difyBaseUrl Dify's App API? ${hintFor(baseUrl)}`.trim(),
    };
  if (app.mode !== undefined && app.mode !== mode)
    return {
      ...name,
      mode,
      problem: `Dify says the app is a ${mode} app, the config says ${app.mode}: set ${path}.mode to ${mode} (or remove it)`,
    };
  return { ...name, mode };
}

function describeFailure(err: unknown, ws: Workspace, app: AppEntry, path: string, timedOut: boolean, timeoutMs: number): string {
  const baseUrl = ws.difyBaseUrl;
  if (timedOut) return `cannot reach Dify at ${baseUrl}: no answer within ${timeoutMs} ms (upstream.connectTimeoutMs)`;
  // An answer that is not JSON (a web UI's or a proxy's page) is the other face of a base URL off /v1.
  if (err instanceof DifyUnreachableError)
    return `cannot reach Dify at ${baseUrl}: ${err.message.replace(/^Dify is unreachable: /, "")} ${hintFor(baseUrl)}`.trim();
  if (err instanceof DifyHttpError) {
    if (err.httpStatus === 401) return `the app key of ${ws.id}/${app.appId} was refused by Dify: check ${path}.key`;
    if (err.httpStatus === 404 || err.httpStatus === 405) return `GET ${baseUrl}/info answered HTTP ${err.httpStatus}: ${V1_HINT}`;
    return `GET ${baseUrl}/info answered HTTP ${err.httpStatus}${err.difyCode ? ` ${err.difyCode}` : ""}: ${err.message} ${hintFor(baseUrl)}`.trim();
  }
  return `GET ${baseUrl}/info failed: ${(err as Error).message}`;
}

/** A base URL without `/v1` is the most common mistake; say so next to any other failure. */
function hintFor(baseUrl: string): string {
  return /\/v1$/.test(baseUrl) ? "" : `(${V1_HINT})`;
}

/** `ok    workspace/appId (mode)` or `FAIL  workspace/appId: what to fix`. Never holds a key. */
export function formatProbe(p: AppProbe): string {
  return p.problem === undefined ? `ok    ${p.workspace}/${p.appId} (${p.mode})` : `FAIL  ${p.workspace}/${p.appId}: ${p.problem}`;
}
