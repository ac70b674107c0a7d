import type { RequestObserver } from "../dify/client.js";
import { createContextKey } from "./context.js";

/** Set by the telemetry middleware: what sees each of the call's requests to Dify (its client spans). */
export const UPSTREAM_OBSERVER = createContextKey<RequestObserver | undefined>(undefined, "upstream request observer");
