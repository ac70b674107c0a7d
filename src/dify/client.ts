import { Agent, type Dispatcher, request, errors as undiciErrors } from "undici";
import type { Secret } from "../config/secret.js";
import { DifyHttpError, DifyStreamError, DifyUnreachableError } from "./errors.js";

/** One app of one workspace, as the client needs it: where, and with which key. */
export interface AppTarget {
  readonly baseUrl: string;
  readonly key: Secret;
  /** Per-call headers, such as the trace context. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sees each request made for this call (OpenTelemetry client spans), when telemetry is on. */
  readonly observer?: RequestObserver;
}

/** A hook around every request to Dify: the run, `/info`, the stop call. */
export interface RequestObserver {
  /** A request starts; `route` is its path with ids as `{name}`, fit for a span name. */
  start(method: "GET" | "POST", url: string, route: string): ObservedRequest;
}

export interface ObservedRequest {
  /** Headers this request carries, such as a `traceparent` that names its span. */
  readonly headers: Readonly<Record<string, string>>;
  /** Once, when the response is over (a stream: its body ended or was abandoned), with its status or failure. */
  end(statusCode: number | undefined, error?: unknown): void;
}

export interface DifyClientOptions {
  connectTimeoutMs: number;
  /** Injected in tests; production uses one keep-alive Agent for all upstreams. */
  dispatcher?: Dispatcher;
}

const MAX_ERROR_BODY = 64 * 1024;
/**
 * How much SSE body undici may buffer ahead of us before it stops reading the
 * socket (its default is 64 KiB). A slow gRPC reader stops our reads, so this
 * is part of what each stream holds. Each buffered chunk is a slice pinning the
 * whole socket read it came from (up to 64 KiB), so the real cost is larger:
 * heap snapshots of 100 stalled streams showed ~270 KiB of ArrayBuffers per
 * stream with the default and ~200 KiB with 16 KiB, the rest being the socket
 * reads themselves (scripts/experiments/README.md). No CPU cost per event measured.
 */
export const STREAM_BODY_HIGH_WATER_MARK = 16 * 1024;
/** Lets Dify operators tell gateway traffic apart in their access logs. */
const USER_AGENT = "dify-grpc-gateway/0.1";

/**
 * The HTTP side of Dify's App API. undici, not global fetch: fetch measured
 * ~7x more CPU per request on this stack (docs/dify-upstream.md, "gRPC side").
 */
export class DifyClient {
  readonly #dispatcher: Dispatcher;

  constructor(opts: DifyClientOptions) {
    this.#dispatcher =
      opts.dispatcher ??
      new Agent({
        connect: { timeout: opts.connectTimeoutMs },
        keepAliveTimeout: 30_000,
        // SSE streams are long and idle in between; our own idle timer decides when one is dead.
        bodyTimeout: 0,
        headersTimeout: 0,
      });
  }

  /** POSTs a run in streaming mode; resolves with the SSE body once Dify answers 200. */
  async openStream(target: AppTarget, path: string, body: object, signal: AbortSignal): Promise<AsyncIterable<Buffer>> {
    const { res, observed } = await this.#send(target, "POST", path, path, body, "text/event-stream", signal, STREAM_BODY_HIGH_WATER_MARK);
    let failure: Error | undefined;
    if (res.statusCode !== 200) failure = await httpError(res, target);
    // Dify has answered a streaming request with its JSON error envelope and HTTP 200: it is an error like any other.
    else if (isJson(res.headers["content-type"])) failure = await jsonInsteadOfStream(res, target);
    if (failure) {
      observed?.end(res.statusCode, failure);
      throw failure;
    }
    if (!observed) return streamBody(res.body, signal);
    const ended = () => observed.end(200);
    signal.addEventListener("abort", ended, { once: true });
    return streamBody(res.body, signal, (err) => {
      signal.removeEventListener("abort", ended);
      observed.end(200, err);
    });
  }

  /** `route`: the path with its ids as `{name}` (see RequestObserver); the path itself when it has none. */
  async postJson(target: AppTarget, path: string, body: object, signal: AbortSignal, route = path): Promise<unknown> {
    return this.#json(target, "POST", path, route, body, signal);
  }

  async getJson(target: AppTarget, path: string, signal: AbortSignal): Promise<unknown> {
    return this.#json(target, "GET", path, path, undefined, signal);
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  async #json(target: AppTarget, method: "GET" | "POST", path: string, route: string, body: object | undefined, signal: AbortSignal) {
    const { res, observed } = await this.#send(target, method, path, route, body, "application/json", signal);
    let failure: Error | undefined;
    try {
      if (res.statusCode < 200 || res.statusCode >= 300) throw (failure = await httpError(res, target));
      try {
        return await res.body.json();
      } catch (err) {
        throw (failure = new DifyUnreachableError("Dify sent a response that is not JSON", err));
      }
    } finally {
      observed?.end(res.statusCode, failure);
    }
  }

  async #send(
    target: AppTarget,
    method: "GET" | "POST",
    path: string,
    route: string,
    body: object | undefined,
    accept: string,
    signal: AbortSignal,
    highWaterMark?: number,
  ): Promise<{ res: Dispatcher.ResponseData; observed: ObservedRequest | undefined }> {
    const url = target.baseUrl + path;
    const observed = target.observer?.start(method, url, route);
    try {
      const res = await request(url, {
        method,
        dispatcher: this.#dispatcher,
        signal,
        headers: {
          ...target.headers,
          ...observed?.headers,
          accept,
          "user-agent": USER_AGENT,
          authorization: `Bearer ${target.key.reveal()}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        ...(highWaterMark === undefined ? {} : { highWaterMark }),
      });
      return { res, observed };
    } catch (err) {
      const failure = signal.aborted ? (signal.reason ?? err) : new DifyUnreachableError(describeNetworkError(err, target), err);
      observed?.end(undefined, failure);
      throw failure;
    }
  }
}

/**
 * The SSE body, with a connection that breaks mid-stream (reset, proxy cut,
 * truncated chunk) reported as an incomplete stream: the run's terminal event
 * never came. An abort is ours, and its reason is what the caller reports.
 */
async function* streamBody(body: AsyncIterable<Buffer>, signal: AbortSignal, onEnd?: (err?: unknown) => void): AsyncGenerator<Buffer> {
  let failure: unknown;
  try {
    yield* body;
  } catch (err) {
    if (signal.aborted) throw (failure = err);
    const code = (err as { code?: string }).code ?? (err as Error).name;
    throw (failure = new DifyStreamError("incomplete", `the connection to Dify broke before the run's terminal event (${code})`));
  } finally {
    onEnd?.(failure);
  }
}

function isJson(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value !== undefined && /^\s*application\/(?:[\w.+-]+\+)?json\b/i.test(value);
}

/** Dify's error envelope: `{code, message, status}`. */
interface Envelope {
  code: string;
  message: string | undefined;
  status: number | undefined;
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown; status?: unknown } | null;
    if (typeof parsed !== "object" || parsed === null) return undefined;
    return {
      code: typeof parsed.code === "string" ? parsed.code : "",
      message: typeof parsed.message === "string" && parsed.message !== "" ? parsed.message : undefined,
      status: typeof parsed.status === "number" && Number.isInteger(parsed.status) ? parsed.status : undefined,
    };
  } catch {
    return undefined;
  }
}

async function httpError(res: Dispatcher.ResponseData, target: AppTarget): Promise<DifyHttpError> {
  // Not Dify's envelope (a proxy's HTML page, say): keep the generic message.
  const envelope = parseEnvelope(await readLimited(res.body, MAX_ERROR_BODY));
  const retryAfter = Number(res.headers["retry-after"]);
  const message = envelope?.message ?? `Dify answered HTTP ${res.statusCode}`;
  return new DifyHttpError(
    res.statusCode,
    scrub(envelope?.code ?? "", target),
    scrub(message, target),
    Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
  );
}

/** A 200 with JSON where the event stream should be: an error envelope maps by its own `status`. */
async function jsonInsteadOfStream(res: Dispatcher.ResponseData, target: AppTarget): Promise<DifyHttpError | DifyStreamError> {
  const envelope = parseEnvelope(await readLimited(res.body, MAX_ERROR_BODY));
  if (!envelope || (envelope.code === "" && envelope.status === undefined))
    return new DifyStreamError("malformed", "Dify answered a streaming request with JSON that is not an error");
  const httpStatus = envelope.status !== undefined && envelope.status >= 400 && envelope.status <= 599 ? envelope.status : 500;
  return new DifyHttpError(
    httpStatus,
    scrub(envelope.code, target),
    scrub(envelope.message ?? `Dify answered HTTP ${httpStatus}`, target),
    undefined,
  );
}

async function readLimited(body: Dispatcher.ResponseData["body"], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= limit) break;
    }
  } catch {
    // A body cut short still tells us what it had.
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, limit).toString("utf8");
}

function describeNetworkError(err: unknown, target: AppTarget): string {
  const code = (err as { code?: string }).code;
  const detail = err instanceof undiciErrors.ConnectTimeoutError ? "connect timeout" : (code ?? (err as Error).message ?? "network error");
  return scrub(`Dify is unreachable: ${detail}`, target);
}

/** Defence in depth: no message that leaves the gateway may carry the app key. */
export function scrub(message: string, target: AppTarget): string {
  const key = target.key.reveal();
  return key && message.includes(key) ? message.split(key).join("[redacted]") : message;
}
