import { createHash } from "node:crypto";
import type { TokenEntry, Workspace } from "../config/config.js";

/** Dify's app ids are UUIDs. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const APP_ID_NOT_SHOWN = "(not shown: neither an app of this workspace nor a UUID)";

/**
 * The request's app_id as statuses and log lines may show it. A caller may put anything there, a bearer token or a
 * Dify app key pasted into the wrong field among it, and the call's log line and its NOT_FOUND would carry it to
 * the operator's logs. So an id is shown only when it is an app the caller's token may call, or has the shape of a
 * Dify app id (a UUID) and is none of the workspace's tokens. Apps the caller may not call are shown by that same
 * rule, so "not found", "another workspace's app" and "outside the token's apps" stay one answer.
 */
export function shownAppId(appId: string, workspace: Workspace | undefined, token: TokenEntry | undefined): string {
  if (workspace?.apps.has(appId) && (token?.apps === undefined || token.apps.has(appId))) return appId;
  if (!UUID.test(appId)) return APP_ID_NOT_SHOWN;
  if (workspace && workspace.tokens.length > 0) {
    const digest = createHash("sha256").update(appId, "utf8").digest();
    if (workspace.tokens.some((t) => t.hash.equals(digest))) return APP_ID_NOT_SHOWN;
  }
  return appId;
}
