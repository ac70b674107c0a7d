import type { Logger } from "pino";
import type { GatewayConfig } from "../config/config.js";
import type { DifyClient } from "../dify/client.js";
import { probeConfig } from "./probe.js";

/**
 * The doctor's checks at start-up, in the background: each problem is one `warn` line naming the fix.
 * Never fails start-up nor delays SERVING, because Dify may well be down during a deploy and come back.
 * Resolves when every app was checked (tests wait on it); never rejects.
 */
export async function warnAboutDify(config: GatewayConfig, client: DifyClient, log: Logger, shutdown?: AbortSignal): Promise<void> {
  try {
    const probes = await probeConfig(config, client, config.upstream.connectTimeoutMs, shutdown);
    // A shutdown cancels the probes: those failures are ours, not the operator's.
    if (shutdown?.aborted) return;
    let problems = 0;
    for (const p of probes) {
      if (p.problem === undefined) continue;
      problems++;
      log.warn({ workspace: p.workspace, appId: p.appId }, `Dify check: ${p.problem}`);
    }
    log.info({ apps: probes.length, problems }, "Dify check done");
  } catch (err) {
    log.warn({ err }, "Dify check at start-up failed");
  }
}
