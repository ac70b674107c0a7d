import type { AppEntry } from "../config/config.js";
import { APP_MODES, type AppMode } from "../config/schema.js";
import type { AppInfos } from "./app-info.js";
import type { AppTarget } from "./client.js";

/**
 * An app's mode, from the config when it says, otherwise from Dify's `GET /info`, through the same per-app cache
 * ListApps and DescribeApp use: one `/info` request per app, whoever asks first.
 */
export class AppModes {
  constructor(private readonly infos: AppInfos) {}

  async resolve(app: AppEntry, target: AppTarget): Promise<AppMode> {
    if (app.mode) return app.mode;
    const mode = (await this.infos.get(app, target)).mode;
    // A chat-like mode this version does not know behaves like chat for aggregation.
    return APP_MODES.includes(mode as AppMode) ? (mode as AppMode) : "chat";
  }
}
