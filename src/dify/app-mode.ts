import type { AppEntry } from "../config/config.js";
import { APP_MODES, type AppMode } from "../config/schema.js";
import type { AppTarget, DifyClient } from "./client.js";
import { DifyUnreachableError } from "./errors.js";

/**
 * An app's mode, from the config when it says, otherwise from Dify's
 * `GET /info`, asked once per app and remembered (failures are not).
 */
export class AppModes {
  // Keyed by the entry object, so a reloaded config starts afresh and old entries can be collected.
  readonly #cache = new WeakMap<AppEntry, Promise<AppMode>>();

  constructor(
    private readonly client: DifyClient,
    private readonly timeoutMs: number,
  ) {}

  resolve(app: AppEntry, target: AppTarget): Promise<AppMode> {
    if (app.mode) return Promise.resolve(app.mode);
    let pending = this.#cache.get(app);
    if (!pending) {
      // Not tied to the asking call: a cancel by one caller must not fail the others waiting.
      pending = this.#fetch(target);
      this.#cache.set(app, pending);
      pending.catch(() => this.#cache.delete(app));
    }
    return pending;
  }

  async #fetch(target: AppTarget): Promise<AppMode> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let info: { mode?: unknown };
    try {
      info = (await this.client.getJson(target, "/info", timeout, { deadline: Date.now() + this.timeoutMs })) as { mode?: unknown };
    } catch (err) {
      // Our own timeout, not a bug: the caller gets UNAVAILABLE like any unreachable Dify, not INTERNAL.
      if (timeout.aborted) throw new DifyUnreachableError(`Dify did not answer GET /info within ${this.timeoutMs} ms`, err);
      throw err;
    }
    const mode = info?.mode;
    // A chat-like mode this version does not know behaves like chat for aggregation.
    return APP_MODES.includes(mode as AppMode) ? (mode as AppMode) : "chat";
  }
}
