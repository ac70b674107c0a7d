import { status } from "@grpc/grpc-js";
import type { Workspace } from "../config/config.js";
import { GatewayError } from "../grpc/gateway-error.js";
import { workspaceConcurrencyLimit } from "./concurrency.js";
import type { Refusal } from "./limiter.js";

/** How long a caller should wait when the limiter itself cannot answer (Redis down, fail mode closed). */
const UNAVAILABLE_RETRY_MS = 1_000;

/** The status a refused call gets: every limit its own reason, RetryInfo when a retry can succeed, QuotaFailure for quotas. */
export function refusalError(refusal: Refusal, workspace: Workspace, caller: string): GatewayError {
  const retryDelayMs = Math.max(1, Math.ceil(refusal.retryAfterMs));
  const ws = JSON.stringify(workspace.id);
  switch (refusal.refused) {
    case "concurrency":
      return workspaceConcurrencyLimit(workspace.id, workspace.maxConcurrentCalls);
    case "workspace_rate": {
      const limit = workspace.requestsPerMinute ?? 0;
      return new GatewayError(status.RESOURCE_EXHAUSTED, `workspace ${ws} is over its rate of ${limit} calls per minute; retry later`, {
        reason: "WORKSPACE_RATE_LIMIT",
        metadata: { workspace: workspace.id, limit: String(limit) },
        retryDelayMs,
        quotaViolation: { subject: `workspace:${workspace.id}`, description: `at most ${limit} calls per minute` },
      });
    }
    case "token_rate": {
      const limit = workspace.requestsPerMinutePerToken ?? 0;
      return new GatewayError(status.RESOURCE_EXHAUSTED, `this caller is over its rate of ${limit} calls per minute; retry later`, {
        reason: "TOKEN_RATE_LIMIT",
        metadata: { workspace: workspace.id, limit: String(limit) },
        retryDelayMs,
        // The caller's own credential, named by digest or SPIFFE ID: never the token.
        quotaViolation: { subject: caller, description: `at most ${limit} calls per minute per token` },
      });
    }
    case "token_budget": {
      const limit = workspace.tokensPerDay ?? 0;
      return new GatewayError(
        status.RESOURCE_EXHAUSTED,
        `workspace ${ws} has used its budget of ${limit} Dify tokens for today (UTC); it renews at midnight UTC`,
        {
          reason: "WORKSPACE_TOKEN_BUDGET",
          metadata: { workspace: workspace.id, limit: String(limit) },
          retryDelayMs,
          quotaViolation: { subject: `workspace:${workspace.id}`, description: `at most ${limit} Dify tokens per UTC day` },
        },
      );
    }
    case "unavailable":
      return new GatewayError(
        status.UNAVAILABLE,
        "the shared limiter (Redis) is unreachable and limits.redis.onUnavailable is closed; retry later",
        {
          reason: "LIMITER_UNAVAILABLE",
          retryDelayMs: UNAVAILABLE_RETRY_MS,
        },
      );
  }
}
