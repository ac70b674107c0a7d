import { ApiError, errors } from "./errors.js";
import type { SimulatorApp } from "./types.js";

/**
 * Mirrors [api] controllers/service_api/wraps.py `validate_and_get_api_token`: the header must contain a space,
 * is split Python-style (`split(None, 1)`), the scheme is compared case-insensitively, then the token is looked up.
 */
export function authenticate(header: string | undefined, apps: ReadonlyMap<string, SimulatorApp>): SimulatorApp {
  if (header === undefined || !header.includes(" ")) {
    throw errors.unauthorized("Authorization header must be provided and start with 'Bearer'");
  }
  const parts = /^\s*(\S+)\s+(\S[\s\S]*)$/.exec(header);
  if (!parts) {
    // Python raises on `auth_scheme, auth_token = header.split(None, 1)`; Dify maps that ValueError to invalid_param.
    throw new ApiError(400, "invalid_param", "not enough values to unpack (expected 2, got 1)");
  }
  const [, scheme = "", token = ""] = parts;
  if (scheme.toLowerCase() !== "bearer") throw errors.unauthorized("Authorization scheme must be 'Bearer'");
  const app = apps.get(token);
  if (!app) throw errors.unauthorized("Access token is invalid");
  return app;
}

/** The app a request's key names, or null; used for recording, where no error may be raised. */
export function appIdOf(header: string | undefined, apps: ReadonlyMap<string, SimulatorApp>): string | null {
  try {
    return authenticate(header, apps).appId;
  } catch {
    return null;
  }
}
