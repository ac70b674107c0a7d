import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import type { Secret } from "../config/secret.js";
import { redactStrings, redactText } from "../util/redact.js";
import { DifyHttpError, DifyStreamError, DifyUnreachableError } from "./errors.js";
import {
  backoffMs,
  httpRetryReason,
  isConnectFailure,
  RetryableFailure,
  RetryBudget,
  type RetryDenial,
  type RetryReason,
  type RetrySettings,
  retryAfterMs,
} from "./retry.js";
import { difyConnector, SOCKET_READ_SIZE } from "./socket.js";
import { type ResponseHead, StreamedResponse } from "./sse-body.js";
import { Agent, request, errors as undiciErrors } from "./undici.js";

/** One app of one workspace, as the client needs it: where, and with which key. */
export interface AppTarget {
  readonly baseUrl: string;
  readonly key: Secret;
  /** Per-call headers, such as the trace context. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The caller's bearer token: never sent to Dify, but a caller may put it in inputs, and Dify echo it back. */
  readonly bearer?: Secret | undefined;
  /** Sees each request made for this call (OpenTelemetry client spans), when telemetry is on. */
  readonly observer?: RequestObserver;
}

/** A hook around every request to Dify: the run, `/info`, the stop call. */
export interface RequestObserver {
  /** A request starts; `route` is its path with ids as `{name}`, fit for a span name. */
  start(method: "GET" | "POST", url: string, route: string): ObservedRequest;
}

/**
 * A request's path as a span names it: ids and tokens as `{name}`, the query left out, so spans of one kind share a
 * name and carry no run id or form token.
 */
export function spanRoute(path: string): string {
  const query = path.indexOf("?");
  const bare = query === -1 ? path : path.slice(0, query);
  // The run requests (/chat-messages, /workflows/run, ...) carry no id: no pattern to try.
  if (bare.lastIndexOf("/") === 0 || bare === "/workflows/run") return bare;
  for (const [pattern, route] of ROUTE_TEMPLATES) if (pattern.test(bare)) return route(bare);
  return bare;
}

const ROUTE_TEMPLATES: readonly (readonly [RegExp, (path: string) => string])[] = [
  [/^\/(chat-messages|completion-messages)\/[^/]+\/stop$/, (p) => p.replace(/^\/([^/]+)\/[^/]+/, "/$1/{task_id}")],
  [/^\/workflows\/tasks\/[^/]+\/stop$/, () => "/workflows/tasks/{task_id}/stop"],
  [/^\/workflows\/run\/[^/]+$/, () => "/workflows/run/{workflow_run_id}"],
  [/^\/workflows\/[^/]+\/run$/, () => "/workflows/{workflow_id}/run"],
  [/^\/workflow\/[^/]+\/events$/, () => "/workflow/{workflow_run_id}/events"],
  [/^\/form\/human_input\/[^/]+$/, () => "/form/human_input/{form_token}"],
];

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
  /** Retries of requests Dify cannot have acted on (see retry.ts); without it every request is tried once. */
  retry?: RetryHooks;
}

export interface RetryHooks {
  /** Read per request, so a reload applies. */
  settings(): RetrySettings;
  /** A retry is about to be sent. */
  onRetry?(reason: RetryReason): void;
  /** A retryable failure was not retried. */
  onDenied?(cause: RetryDenial, reason: RetryReason): void;
}

/** Per request: how far retries may go, and who hears of each attempt. */
export interface AttemptOptions {
  /** The call's deadline (epoch ms): no retry is started whose wait would end after it. */
  readonly deadline?: number | undefined;
  /**
   * No new attempt once this aborts (the caller left); unlike `signal`, it never aborts the attempt in flight. Read
   * only after an attempt failed: its `signal` (which cuts a retry's wait short) may be made on demand.
   */
  readonly giveUpOn?: { readonly aborted: boolean; readonly signal: AbortSignal };
  /** Each attempt as it starts: 1 for the first. */
  onAttempt?(attempt: number): void;
}

const MAX_ERROR_BODY = 64 * 1024;
/**
 * How much SSE body may wait unread (queued by `StreamedResponse`) before undici is paused and stops parsing;
 * the queue is resumed only once the reader has taken all of it. Why not less, and not per chunk: undici's
 * HTTP/1 parser, when resumed, takes everything its socket holds (which restarts the socket's reading), parses
 * until paused again and puts the rest back, so every pause and resume lets one more socket read in. With a
 * mark below a read, resumed per chunk, a caller reading 5 events a second let each stream's socket buffer grow
 * by the difference for as long as Dify wrote ahead: 1,000 such streams took the gateway past 1.5 GiB in 90 s
 * (docs/RELIABILITY.md, "Slow readers"). Parsing at least a socket read's worth per resume keeps that buffer from
 * growing, and `difyConnector` reads at most `SOCKET_READ_SIZE` and stops the socket while anything is put back,
 * so a paused stream holds at most this mark, one read in the queue and one put back. It was 96, then 64 KiB
 * with libuv's 64 KiB reads; with 8 KiB reads, 1,000 slow readers peaked at ~260 instead of ~390 MiB
 * (docs/PERFORMANCE.md, "Slow readers, small socket reads").
 */
export const STREAM_BODY_HIGH_WATER_MARK = SOCKET_READ_SIZE;
/** Lets Dify operators tell gateway traffic apart in their access logs. */
const USER_AGENT = "dify-grpc-gateway/0.1";

/**
 * The HTTP side of Dify's App API. undici, not global fetch: fetch measured
 * ~7x more CPU per request on this stack (docs/dify-upstream.md, "gRPC side").
 */
export class DifyClient {
  readonly #dispatcher: Dispatcher;
  readonly #retry: RetryHooks | undefined;
  /** Per process: retries across all workspaces draw from it. */
  readonly #budget = new RetryBudget();

  constructor(opts: DifyClientOptions) {
    this.#retry = opts.retry;
    this.#dispatcher =
      opts.dispatcher ??
      new Agent({
        connect: difyConnector({ timeout: opts.connectTimeoutMs }),
        keepAliveTimeout: 30_000,
        // SSE streams are long and idle in between; our own idle timer decides when one is dead.
        bodyTimeout: 0,
        headersTimeout: 0,
      });
  }

  /**
   * POSTs a run in streaming mode (or, with no body, GETs an event stream: a run's re-attach); resolves with the SSE
   * body once Dify answers 200. Retried only while Dify cannot have started the run (see retry.ts); never once a
   * 200's headers arrived.
   */
  async openStream(
    target: AppTarget,
    path: string,
    body: object | undefined,
    signal: AbortSignal,
    attempts: AttemptOptions = {},
  ): Promise<AsyncIterable<Buffer>> {
    const method = body === undefined ? "GET" : "POST";
    return this.#withRetries(signal, attempts, async () => {
      const url = target.baseUrl + path;
      const observed = target.observer?.start(method, url, spanRoute(path));
      const response = new StreamedResponse(STREAM_BODY_HIGH_WATER_MARK, signal, (err) => streamFailure(err, signal));
      let head: ResponseHead;
      try {
        const { origin, pathname, search } = new URL(url);
        this.#dispatcher.dispatch(
          {
            origin,
            path: pathname + search,
            method,
            headers: this.#headers(target, observed, "text/event-stream", body === undefined ? undefined : "application/json"),
            body: body === undefined ? undefined : JSON.stringify(body),
          },
          response,
        );
        head = await response.head;
      } catch (err) {
        throw this.#sendFailure(err, target, signal, observed);
      }
      let failure: Error | undefined;
      if (head.statusCode !== 200) failure = retryableHttpError(head, await readLimited(response, MAX_ERROR_BODY), target);
      // Dify has answered a streaming request with its JSON error envelope and HTTP 200: it is an error like any other.
      else if (isJson(head.headers["content-type"])) failure = jsonInsteadOfStream(await readLimited(response, MAX_ERROR_BODY), target);
      // An HTML page (a web UI or a proxy's login page at the configured URL) would read as a stream cut short.
      else if (isHtml(head.headers["content-type"])) {
        await response.return();
        failure = new DifyStreamError(
          "malformed",
          "Dify answered a streaming request with an HTML page: is difyBaseUrl Dify's App API (…/v1)?",
        );
      }
      if (failure) {
        observed?.end(head.statusCode, failure instanceof RetryableFailure ? failure.error : failure);
        throw failure;
      }
      if (!observed) return response;
      const ended = () => observed.end(200);
      signal.addEventListener("abort", ended, { once: true });
      response.onEnd = (err) => {
        signal.removeEventListener("abort", ended);
        observed.end(200, err);
      };
      return response;
    });
  }

  /** `maxBytes` bounds the answer's body (undefined: unbounded, for answers Dify keeps small, such as a stop's). */
  async postJson(
    target: AppTarget,
    path: string,
    body: object,
    signal: AbortSignal,
    attempts: AttemptOptions = {},
    maxBytes?: number,
  ): Promise<unknown> {
    return this.#withRetries(signal, attempts, () => this.#json(target, "POST", path, body, signal, maxBytes));
  }

  async getJson(target: AppTarget, path: string, signal: AbortSignal, attempts: AttemptOptions = {}, maxBytes?: number): Promise<unknown> {
    return this.#withRetries(signal, attempts, () => this.#json(target, "GET", path, undefined, signal, maxBytes));
  }

  /**
   * POSTs a streamed body (a multipart upload) and reads Dify's JSON answer. undici pulls the body only as
   * fast as the socket drains, so a slow Dify slows the producer instead of filling memory.
   */
  async postStream(
    target: AppTarget,
    path: string,
    body: { contentType: string; chunks: AsyncIterable<Uint8Array> },
    signal: AbortSignal,
  ): Promise<unknown> {
    try {
      return await this.#json(target, "POST", path, body, signal);
    } catch (err) {
      // Never retried: the body was consumed as it was sent and cannot be replayed.
      throw err instanceof RetryableFailure ? err.error : err;
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  /** Runs `attempt` until it succeeds, fails for good, or a retry is not allowed; throws what the last attempt failed with. */
  async #withRetries<T>(signal: AbortSignal, opts: AttemptOptions, attempt: () => Promise<T>): Promise<T> {
    this.#budget.recordRequest();
    for (let n = 1; ; n++) {
      opts.onAttempt?.(n);
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof RetryableFailure)) throw err;
        const delay = this.#retryDelay(err, n, opts);
        if (delay === undefined) throw err.error;
        const stop = opts.giveUpOn ? AbortSignal.any([signal, opts.giveUpOn.signal]) : signal;
        try {
          await sleep(delay, undefined, { signal: stop });
        } catch {
          throw signal.aborted ? (signal.reason ?? err.error) : err.error;
        }
        this.#retry?.onRetry?.(err.reason);
      }
    }
  }

  /** How long to wait before the next attempt, or undefined when there is to be none. */
  #retryDelay(failure: RetryableFailure, attempt: number, opts: AttemptOptions): number | undefined {
    const hooks = this.#retry;
    if (!hooks || opts.giveUpOn?.aborted) return undefined;
    const settings = hooks.settings();
    if (settings.maxAttempts <= 1) return undefined;
    const deny = (cause: RetryDenial) => {
      hooks.onDenied?.(cause, failure.reason);
      return undefined;
    };
    if (attempt >= settings.maxAttempts) return deny("max_attempts");
    if (failure.retryAfterMs !== undefined && failure.retryAfterMs > settings.maxRetryAfterMs) return deny("retry_after");
    // Dify's own wait when it named one (its 429 clears no sooner), else backoff.
    const delay = failure.retryAfterMs ?? backoffMs(attempt, settings);
    if (opts.deadline !== undefined && Date.now() + delay >= opts.deadline) return deny("deadline");
    if (!this.#budget.tryRetry(settings.budgetRatio)) return deny("budget");
    return delay;
  }

  async #json(
    target: AppTarget,
    method: "GET" | "POST",
    path: string,
    body: object | StreamedBody | undefined,
    signal: AbortSignal,
    maxBytes?: number,
  ) {
    const { res, observed } = await this.#send(target, method, path, body, "application/json", signal);
    let failure: unknown;
    try {
      if (res.statusCode < 200 || res.statusCode >= 300)
        throw (failure = retryableHttpError(res, await readLimited(res.body, MAX_ERROR_BODY), target));
      try {
        const text = maxBytes === undefined ? await res.body.text() : await readBounded(res.body, maxBytes);
        return scrubJson(text, secretsOf(target));
      } catch (err) {
        if (err instanceof DifyStreamError || signal.aborted) throw (failure = signal.aborted ? (signal.reason ?? err) : err);
        throw (failure = new DifyUnreachableError("Dify sent a response that is not JSON", err));
      }
    } finally {
      observed?.end(res.statusCode, failure instanceof RetryableFailure ? failure.error : failure);
    }
  }

  async #send(
    target: AppTarget,
    method: "GET" | "POST",
    path: string,
    body: object | StreamedBody | undefined,
    accept: string,
    signal: AbortSignal,
  ): Promise<{ res: Dispatcher.ResponseData; observed: ObservedRequest | undefined }> {
    const streamed = isStreamed(body) ? body : undefined;
    const url = target.baseUrl + path;
    const observed = target.observer?.start(method, url, spanRoute(path));
    try {
      const contentType = body === undefined ? undefined : streamed ? streamed.contentType : "application/json";
      const res = await request(url, {
        method,
        dispatcher: this.#dispatcher,
        signal,
        headers: this.#headers(target, observed, accept, contentType),
        // undici sends an async iterable as it is pulled (documented for request bodies; its types list only Readable).
        body: streamed ? (streamed.chunks as unknown as Readable) : body === undefined ? undefined : JSON.stringify(body),
      });
      return { res, observed };
    } catch (err) {
      throw this.#sendFailure(err, target, signal, observed);
    }
  }

  #headers(
    target: AppTarget,
    observed: ObservedRequest | undefined,
    accept: string,
    contentType: string | undefined,
  ): Record<string, string> {
    // Assigned, not spread into a literal: the spread form took ~2.2 µs per request on Node 20, this ~0.05 µs
    // (in process; docs/PERFORMANCE.md, "Unary CPU, sixth pass"). Same keys, same order, later ones win.
    const headers: Record<string, string> = Object.assign({}, target.headers, observed?.headers);
    headers.accept = accept;
    headers["user-agent"] = USER_AGENT;
    headers.authorization = `Bearer ${target.key.reveal()}`;
    if (contentType !== undefined) headers["content-type"] = contentType;
    return headers;
  }

  /** A request that failed before its response's headers: what to throw, reported to the observer. */
  #sendFailure(err: unknown, target: AppTarget, signal: AbortSignal, observed: ObservedRequest | undefined): unknown {
    if (signal.aborted) {
      observed?.end(undefined, signal.reason ?? err);
      return signal.reason ?? err;
    }
    const failure = new DifyUnreachableError(describeNetworkError(err, target), err);
    observed?.end(undefined, failure);
    // Only a connection never made is safe to retry: the request was not written.
    return isConnectFailure(err) ? new RetryableFailure("connect_error", failure, undefined) : failure;
  }
}

/** A request body produced while it is sent, e.g. a multipart upload. */
interface StreamedBody {
  contentType: string;
  chunks: AsyncIterable<Uint8Array>;
}

function isStreamed(body: object | undefined): body is StreamedBody {
  return body !== undefined && Symbol.asyncIterator in ((body as Partial<StreamedBody>).chunks ?? {});
}

/**
 * What a broken SSE body reports: a connection that breaks mid-stream (reset, proxy cut, truncated chunk) is an
 * incomplete stream, the run's terminal event never came. An abort is ours, and its reason is what the caller reports.
 */
function streamFailure(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return err;
  const code = (err as { code?: string }).code ?? (err as Error).name;
  return new DifyStreamError("incomplete", `the connection to Dify broke before the run's terminal event (${code})`);
}

function isHtml(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value !== undefined && /^\s*text\/html\b/i.test(value);
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

/** An HTTP error status, wrapped as retryable when Dify cannot have started anything (retry.ts). */
function retryableHttpError(res: ResponseHead, text: string, target: AppTarget): DifyHttpError | RetryableFailure {
  // Not Dify's envelope (a proxy's HTML page, say): keep the generic message.
  const envelope = parseEnvelope(text);
  const waitMs = retryAfterMs(res.headers["retry-after"]);
  const message = envelope?.message ?? `Dify answered HTTP ${res.statusCode}`;
  const error = new DifyHttpError(
    res.statusCode,
    scrub(envelope?.code ?? "", target),
    scrub(message, target),
    waitMs === undefined ? undefined : Math.ceil(waitMs / 1000),
  );
  const reason = httpRetryReason(res.statusCode, envelope?.code ?? "");
  return reason ? new RetryableFailure(reason, error, waitMs) : error;
}

/** A 200 with JSON where the event stream should be: an error envelope maps by its own `status`. */
function jsonInsteadOfStream(text: string, target: AppTarget): DifyHttpError | DifyStreamError {
  const envelope = parseEnvelope(text);
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

/** The whole body as text, or an error once it grows past `maxBytes` (the rest is not read). */
async function readBounded(body: Dispatcher.ResponseData["body"], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      throw new DifyStreamError("event_too_large", `Dify's answer exceeds ${maxBytes} bytes (upstream.maxEventBytes)`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function readLimited(body: Dispatcher.ResponseData["body"] | StreamedResponse, limit: number): Promise<string> {
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
  if (body instanceof StreamedResponse) await body.return();
  else body.destroy();
  return Buffer.concat(chunks).subarray(0, limit).toString("utf8");
}

function describeNetworkError(err: unknown, target: AppTarget): string {
  const code = (err as { code?: string }).code;
  const detail = err instanceof undiciErrors.ConnectTimeoutError ? "connect timeout" : (code ?? (err as Error).message ?? "network error");
  return scrub(`Dify is unreachable: ${detail}`, target);
}

/**
 * A JSON answer parsed with the secrets taken out: from the text, and from the decoded strings when the text has
 * \u escapes, which could spell a secret the text does not show (Dify's answers carry what apps were configured with:
 * a name or an opening statement that quotes a key reaches the caller).
 */
function scrubJson(text: string, secrets: readonly string[]): unknown {
  const value: unknown = JSON.parse(redactText(text, secrets));
  return text.includes("\\u") ? redactStrings(value, secrets) : value;
}

/** What must not leave the gateway in anything Dify sends back: the app key, and the caller's own token. */
export function secretsOf(target: AppTarget): string[] {
  const bearer = target.bearer?.reveal();
  return bearer ? [target.key.reveal(), bearer] : [target.key.reveal()];
}

/** Defence in depth: no message that leaves the gateway may carry the app key or the caller's token. */
export function scrub(message: string, target: AppTarget): string {
  return redactText(message, secretsOf(target));
}
