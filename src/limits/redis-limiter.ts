import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { RedisSettings, Workspace } from "../config/config.js";
import { within } from "../util/within.js";
import type { Admission, CallLimiter, LimitKind, Refusal } from "./limiter.js";
import type { LocalLimiter } from "./local-limiter.js";
import { ADMIT, IN_FLIGHT, RELEASE, RENEW } from "./redis-scripts.js";
import { TurnBatches } from "./turn-batches.js";

/** At most one warn line per this long while Redis stays unreachable: a log line per call would flood the logs. */
const WARN_EVERY_MS = 30_000;
/** Reconnect attempts back off to this; a call meanwhile fails at once (no offline queue) and takes the fail mode. */
const MAX_RECONNECT_DELAY_MS = 2_000;
const CODES: readonly (LimitKind | undefined)[] = [undefined, "concurrency", "workspace_rate", "token_rate", "token_budget"];
/** Calls per script call at most: a Lua script blocks the Redis server (every replica) while it runs. */
const MAX_BATCH = 128;

export interface RedisLimiterEvents {
  /** A call took the fail mode because Redis did not answer. */
  onUnavailable(mode: "open" | "closed"): void;
  /** Redis answered after failing, or failed after answering. */
  onReachable(up: boolean): void;
}

type Client = Redis | Cluster;
type Scripted = Client & {
  /** numberOfKeys first: the scripts take a key per call. */
  limitAdmit(...args: (string | number)[]): Promise<number[]>;
  limitRelease(...args: (string | number)[]): Promise<number>;
  limitRenew(...args: (string | number)[]): Promise<number>;
  limitInFlight(key: string): Promise<number>;
};

/** A call waiting for its batch's ADMIT. */
interface Asking {
  readonly workspace: Workspace;
  readonly caller: string;
  readonly lease: string;
}

/** A call that ended, for its batch's RELEASE. */
interface Ending {
  readonly lease: string;
  readonly tokens: number;
}

/**
 * Limits shared by every replica that uses the same Redis: one script call when calls start (concurrency,
 * both rates and the budget checked and charged together) and one when they end (leases freed, tokens counted),
 * each for all of a workspace's calls that started or ended in the same turn of the event loop.
 * A call's concurrency slot is a lease in a sorted set scored by its expiry; a heartbeat renews this
 * replica's leases every third of a lease, so a replica that dies leaves slots that free themselves within
 * one lease. While Redis does not answer, `open` admits through the in-process limiter and `closed` refuses.
 */
export class RedisLimiter implements CallLimiter {
  readonly #redis: Scripted;
  /** Lease id → workspace id, of this replica's calls in flight: what the heartbeat renews. */
  readonly #leases = new Map<string, string>();
  readonly #replica = randomBytes(6).toString("hex");
  #seq = 0;
  readonly #heartbeat: NodeJS.Timeout;
  #up = true;
  #warnedAt = Number.NEGATIVE_INFINITY;
  readonly #admits = new TurnBatches<Asking, readonly [number, number]>((_, calls) => this.#admitBatch(calls), MAX_BATCH);
  readonly #releases = new TurnBatches<Ending, void>((workspace, calls) => this.#releaseBatch(workspace, calls), MAX_BATCH);

  constructor(
    private readonly settings: RedisSettings,
    private readonly local: LocalLimiter,
    private readonly log: Logger,
    private readonly events: RedisLimiterEvents,
  ) {
    this.#redis = connect(settings) as Scripted;
    this.#redis.defineCommand("limitAdmit", { lua: ADMIT });
    this.#redis.defineCommand("limitRelease", { numberOfKeys: 2, lua: RELEASE });
    this.#redis.defineCommand("limitRenew", { numberOfKeys: 1, lua: RENEW });
    this.#redis.defineCommand("limitInFlight", { numberOfKeys: 1, lua: IN_FLIGHT });
    // ioredis reports connection errors as events; without a listener Node would end the process.
    this.#redis.on("error", (err: Error) => this.#failed(err));
    this.#heartbeat = setInterval(() => void this.#renew(), Math.floor(settings.leaseMs / 3));
    this.#heartbeat.unref();
  }

  async admit(workspace: Workspace, caller: string): Promise<Admission | Refusal> {
    const lease = `${this.#replica}:${++this.#seq}`;
    let answer: readonly [number, number];
    try {
      answer = await this.#admits.add(workspace.id, { workspace, caller, lease });
    } catch (err) {
      this.#failed(err as Error);
      // A stalled Redis runs the admit when it wakes up, after we gave up on it: its lease would hold a slot nobody
      // renews or releases, for a whole lease (a workspace refused ~15 s after Redis came back). The release goes
      // after it on the same connection, so Redis runs it after; with Redis gone, both fail and nothing was held.
      this.#releases.post(workspace.id, { lease, tokens: 0 });
      this.events.onUnavailable(this.settings.onUnavailable);
      if (this.settings.onUnavailable === "closed") return { refused: "unavailable", retryAfterMs: 1_000 };
      return this.local.admit(workspace, caller);
    }
    this.#reachable();
    const refused = CODES[answer[0]];
    if (refused) return { refused, retryAfterMs: answer[1] };
    // Counted in this process too: its gauge, and the in-process limits if Redis goes away while the call runs.
    const held = this.local.hold(workspace);
    this.#leases.set(lease, workspace.id);
    return {
      release: (tokensUsed) => {
        if (!this.#leases.delete(lease)) return;
        held.release(tokensUsed);
        this.#releases.post(workspace.id, { lease, tokens: Math.max(0, Math.floor(tokensUsed) || 0) });
      },
    };
  }

  /** One workspace's calls of one turn (the batch's key is the workspace id; all share its limits). */
  async #admitBatch(calls: readonly Asking[]): Promise<(readonly [number, number])[]> {
    const { workspace } = calls[0]!;
    const keys = this.#keys(workspace.id);
    const answers = await this.#redis.limitAdmit(
      3 + calls.length,
      keys.leases,
      keys.workspaceRate,
      keys.usage,
      ...calls.map((c) => `${keys.callerRatePrefix}${c.caller}`),
      this.settings.leaseMs,
      workspace.maxConcurrentCalls,
      workspace.requestsPerMinute ?? 0,
      workspace.requestsPerMinutePerToken ?? 0,
      workspace.tokensPerDay ?? 0,
      ...calls.map((c) => c.lease),
    );
    return calls.map((_, i) => [answers[2 * i]!, answers[2 * i + 1]!] as const);
  }

  async #releaseBatch(workspace: string, calls: readonly Ending[]): Promise<void[]> {
    const keys = this.#keys(workspace);
    try {
      await this.#redis.limitRelease(keys.leases, keys.usage, ...calls.flatMap((c) => [c.lease, c.tokens]));
    } catch (err) {
      // The leases expire on their own within leaseMs; the runs' tokens are counted in this process only.
      this.#failed(err as Error);
    }
    return [];
  }

  /**
   * Resolves once Redis answers, or after `waitMs` (then the fail mode applies until it does). Without the
   * offline queue, a call before the connection is up would take the fail mode, so start-up waits for it.
   */
  ready(waitMs: number): Promise<boolean> {
    if (this.#redis.status === "ready") return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#redis.off("ready", onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), waitMs);
      this.#redis.once("ready", onReady);
    });
  }

  /** Slots of `workspace` held across every replica. */
  inFlight(workspace: string): Promise<number> {
    return this.#redis.limitInFlight(this.#keys(workspace).leases);
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    // Releases of the last turn go out before the connection closes (quit sends after what is queued).
    this.#releases.flush();
    // Frees what is still held (a drain normally ended every call first); anything left expires within a lease.
    await within(this.#redis.quit(), this.settings.commandTimeoutMs);
    this.#redis.disconnect();
  }

  #keys(workspace: string) {
    const base = `${this.settings.keyPrefix}{${workspace}}:`;
    return { leases: `${base}leases`, workspaceRate: `${base}rate`, callerRatePrefix: `${base}rate:`, usage: `${base}usage` };
  }

  async #renew(): Promise<void> {
    if (this.#leases.size === 0) return;
    const byWorkspace = new Map<string, string[]>();
    for (const [lease, workspace] of this.#leases) {
      const list = byWorkspace.get(workspace);
      if (list) list.push(lease);
      else byWorkspace.set(workspace, [lease]);
    }
    await Promise.all(
      [...byWorkspace].map(([workspace, leases]) =>
        this.#redis.limitRenew(this.#keys(workspace).leases, this.settings.leaseMs, ...leases).catch((err: Error) => this.#failed(err)),
      ),
    );
  }

  #failed(err: Error): void {
    if (this.#up) {
      this.#up = false;
      this.events.onReachable(false);
    }
    const now = performance.now();
    if (now - this.#warnedAt < WARN_EVERY_MS) return;
    this.#warnedAt = now;
    const mode = this.settings.onUnavailable;
    // Redis answering "who are you" is the operator's to fix, not an outage to wait out.
    const refused = /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(err.message);
    const what = refused
      ? "Redis (limits.redis) refused the gateway: check limits.redis.password, the URL's user and its ACL (evalsha, zadd, zrem…)"
      : "Redis (limits.redis) unreachable";
    this.log.warn(
      { err: { message: err.message }, onUnavailable: mode },
      mode === "open"
        ? `${what}: limits are per process until it answers again (onUnavailable open)`
        : `${what}: calls are refused with UNAVAILABLE until it answers again (onUnavailable closed)`,
    );
  }

  #reachable(): void {
    if (this.#up) return;
    this.#up = true;
    this.#warnedAt = Number.NEGATIVE_INFINITY;
    this.events.onReachable(true);
    this.log.info("Redis (limits.redis) answers again: limits are shared across replicas again");
  }
}

/**
 * ioredis, bounded: no offline queue (a call while disconnected fails at once instead of waiting in an
 * unbounded queue), one retry per command, and a command timeout. Cluster and Sentinel use ioredis's own support.
 */
function connect(settings: RedisSettings): Client {
  // Required here, from node_modules, as pino-pretty is (src/log/logger.ts): esbuild cannot see this require, so
  // ioredis is neither in the bundle every start reads (~290 KB of source) nor evaluated (~1.6 MiB of heap) unless
  // limits.redis is set (docs/PERFORMANCE.md, "Idle RSS", fourth and fifth passes).
  const { Cluster, Redis } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
  const url = new URL(settings.url);
  const options: RedisOptions = {
    password: settings.password?.reveal(),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url.protocol === "rediss:" ? {} : undefined,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: Math.max(1_000, settings.commandTimeoutMs * 4),
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    lazyConnect: false,
  };
  const host = url.hostname.replace(/^\[|\]$/g, ""); // an IPv6 address without its URL brackets
  if (settings.cluster) {
    return new Cluster([{ host, port: Number(url.port || 6379) }], {
      redisOptions: options,
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    });
  }
  if (settings.sentinel) {
    const sentinels = settings.sentinel.nodes.map((node) => {
      const at = node.lastIndexOf(":");
      return { host: node.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(node.slice(at + 1)) };
    });
    // rediss:// means the master too: ioredis uses `tls` for the sentinels, and for the master only with this.
    return new Redis({ ...options, sentinels, name: settings.sentinel.name, enableTLSForSentinelMode: url.protocol === "rediss:" });
  }
  return new Redis({ ...options, host, port: Number(url.port || 6379) });
}
