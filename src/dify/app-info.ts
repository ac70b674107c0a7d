import type { AppEntry } from "../config/config.js";
import type { AppTarget, DifyClient } from "./client.js";
import { DifyUnreachableError } from "./errors.js";

/**
 * Each app's Dify `GET /info` (`{name, description, tags, mode, author_name}`), asked once per app and remembered
 * (failures are not); AppModes reads the mode from it. Keyed by the config entry, so a reloaded config asks afresh.
 */
export class AppInfos {
  readonly #cache = new WeakMap<AppEntry, Promise<Record<string, unknown>>>();

  constructor(
    private readonly client: DifyClient,
    private readonly timeoutMs: number,
  ) {}

  get(app: AppEntry, target: AppTarget): Promise<Record<string, unknown>> {
    let pending = this.#cache.get(app);
    if (!pending) {
      // Not tied to the asking call: a cancel by one caller must not fail the others waiting.
      pending = this.#fetch(target);
      this.#cache.set(app, pending);
      pending.catch(() => this.#cache.delete(app));
    }
    return pending;
  }

  async #fetch(target: AppTarget): Promise<Record<string, unknown>> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const info = await this.client.getJson(target, "/info", timeout, { deadline: Date.now() + this.timeoutMs });
      if (typeof info !== "object" || info === null || Array.isArray(info))
        throw new DifyUnreachableError("Dify's /info is not an object", undefined);
      return info as Record<string, unknown>;
    } catch (err) {
      // Our own timeout, not a bug: the caller gets UNAVAILABLE like any unreachable Dify, not INTERNAL.
      if (timeout.aborted) throw new DifyUnreachableError(`Dify did not answer GET /info within ${this.timeoutMs} ms`, err);
      throw err;
    }
  }
}
