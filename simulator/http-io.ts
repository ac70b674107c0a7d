import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApiError, errors } from "./errors.js";

/** Larger bodies get 413; generous because tests send big inputs on purpose. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw errors.payloadTooLarge();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Flask-restx answers `application/json`; the generation endpoints' blocking bodies add a charset. */
export const JSON_TYPE = "application/json";
export const JSON_UTF8_TYPE = "application/json; charset=utf-8";

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType: string = JSON_TYPE,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  // Dify serialises with orjson: compact separators, non-ASCII kept as raw UTF-8, which is what JSON.stringify does.
  const payload = Buffer.from(JSON.stringify(body), "utf8");
  res.writeHead(status, { ...headers, "Content-Type": contentType, "Content-Length": payload.length });
  res.end(payload);
}

export function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, error.body(), JSON_TYPE, error.headers);
}

/** An AbortSignal that fires once the response's connection is gone (client left, reset, or server closing). */
export function signalOnClose(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => controller.abort());
  return controller.signal;
}

export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
