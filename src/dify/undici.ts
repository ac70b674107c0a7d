/*
 * The parts of undici the gateway uses: `Agent`, the `request` API and the error classes, required from the files
 * undici's own index requires them from. Why not `import { Agent, request, errors } from "undici"`: the index
 * requires all of undici (fetch, WebSocket, EventSource, cache storage, mocks, interceptors: 110 files, ~1 MB of the
 * bundle's source) at start, where these parts are 31 files; an idle gateway kept the rest in its heap
 * (docs/PERFORMANCE.md, "Idle RSS, fifth pass"). The package has no `exports` map, so these paths resolve as
 * they are; test/dify/undici-parts.test.ts checks they are the very objects undici's index exports, so that an
 * undici upgrade that moves them fails a test, not a start.
 */
import type { Dispatcher } from "undici";
import apiRequest from "undici/lib/api/api-request.js";
import connectModule from "undici/lib/core/connect.js";
import errorsModule from "undici/lib/core/errors.js";
import AgentClass from "undici/lib/dispatcher/agent.js";

export const Agent = AgentClass;
export const errors = errorsModule;
export const buildConnector = connectModule;

/**
 * undici's `request(url, options)` for absolute URLs with `options.dispatcher` set, as undici's index builds it
 * (`makeDispatcher(api.request)`): the URL becomes the dispatcher's origin and path.
 */
export function request(
  url: string,
  options: Omit<Dispatcher.RequestOptions, "origin" | "path" | "method"> & { method: Dispatcher.HttpMethod; dispatcher: Dispatcher },
): Promise<Dispatcher.ResponseData> {
  const u = new URL(url);
  return apiRequest.call(options.dispatcher, { ...options, origin: u.origin, path: u.search ? `${u.pathname}${u.search}` : u.pathname });
}
