import type { IncomingHttpHeaders } from "node:http";
import type { RecordedRequest } from "./types.js";

/** Keeps what clients sent so tests can assert on it; never keeps the API key. */
export class RequestRecorder {
  private recorded: RecordedRequest[] = [];

  record(entry: { method: string; url: URL; appId: string | null; headers: IncomingHttpHeaders; rawBody: Buffer }): RecordedRequest {
    const request: RecordedRequest = {
      method: entry.method,
      path: entry.url.pathname,
      query: Object.fromEntries(entry.url.searchParams),
      appId: entry.appId,
      headers: headersWithoutAuthorization(entry.headers),
      body: decodeBody(entry.rawBody),
      at: Date.now(),
    };
    this.recorded.push(request);
    return request;
  }

  list(): RecordedRequest[] {
    return structuredClone(this.recorded);
  }

  reset(): void {
    this.recorded = [];
  }
}

function headersWithoutAuthorization(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === "authorization" || value === undefined) continue;
    result[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return result;
}

function decodeBody(raw: Buffer): unknown {
  if (raw.length === 0) return null;
  const text = raw.toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
