import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { workspaceOf } from "../auth/context.js";
import { MAX_APP_ID_LENGTH, type AppMode } from "../config/schema.js";
import type { AppModes } from "../dify/app-mode.js";
import type { DifyClient } from "../dify/client.js";
import { CallScope } from "../grpc/call-scope.js";
import { appNotFound, GatewayError } from "../grpc/gateway-error.js";
import { writeMessage } from "../grpc/writer.js";
import { workspaceConcurrencyLimit, type ConcurrencyLimiter, type Release } from "../limits/concurrency.js";
import { encoder } from "../metrics/interceptor.js";
import type { GatewayMetrics } from "../metrics/metrics.js";
import { shuttingDown, type Lifecycle } from "../server/lifecycle.js";
import { traceFrom, traceHeaders } from "../tracing/trace-context.js";
import { toGatewayError } from "../translate/errors.js";
import { toStreamMessage } from "../translate/events.js";
import { reportCall } from "./call-report.js";
import { deliverable } from "./response-size.js";
import type { InterfaceSpec } from "./interfaces.js";
import { validateCommon, type InvokeRequest } from "./request.js";
import { UpstreamRun, type RunSettings } from "./upstream-run.js";

export interface HandlerDeps {
  client: DifyClient;
  modes: AppModes;
  settings: RunSettings;
  log: Logger;
  lifecycle: Lifecycle;
  metrics: GatewayMetrics;
  limiter: ConcurrencyLimiter;
}

type Encode = (message: object) => Buffer;

/** The unary and the streaming handler of one interface, both driven by its spec. Responses leave encoded (see `measured`). */
export function createHandlers(spec: InterfaceSpec, deps: HandlerDeps): UntypedServiceImplementation {
  const encodeUnary = encoder(spec.service, spec.unaryMethod);
  const encodeStream = encoder(spec.service, spec.streamMethod);
  return {
    [spec.unaryMethod]: (call: ServerUnaryCall<InvokeRequest, Buffer>, callback: sendUnaryData<Buffer>) => {
      void new Invocation(spec, deps, call).unary(callback, encodeUnary);
    },
    [spec.streamMethod]: (call: ServerWritableStream<InvokeRequest, Buffer>) => {
      void new Invocation(spec, deps, call).stream(call, encodeStream);
    },
  };
}

/** One call: auth context → request checks → Dify run → translation → gRPC answer → one log line and its metrics. */
class Invocation {
  readonly #scope: CallScope;
  readonly #started = performance.now();
  readonly #trace;
  #run: UpstreamRun | undefined;
  /** The workspace's concurrency slot, from before the first upstream request until the call is answered. */
  #release: Release | undefined;
  #mode: AppMode | undefined;
  #log: Logger;

  constructor(
    private readonly spec: InterfaceSpec,
    private readonly deps: HandlerDeps,
    private readonly call: ServerUnaryCall<InvokeRequest, Buffer> | ServerWritableStream<InvokeRequest, Buffer>,
  ) {
    this.#scope = new CallScope(call);
    this.#trace = traceFrom(call.metadata);
    // One child per call, with everything known up front: pino's child-of-a-child measured ~20 µs per call more.
    this.#log = deps.log.child({ traceId: this.#trace.traceId, method: call.getPath(), workspace: workspaceOf(call.metadata)?.id, appId: loggable(call.request?.appId) });
    deps.lifecycle.enter(this.#scope);
  }

  async unary(callback: sendUnaryData<Buffer>, encode: Encode): Promise<void> {
    try {
      const { run, mode } = await this.#prepare();
      const aggregate = this.spec.aggregator(mode, this.deps.settings.maxAnswerBytes);
      for await (const ev of run.events(this.#scope.signal)) aggregate.add(ev);
      const failure = run.tracker.failure();
      if (failure) throw failure;
      const response = deliverable(encode(this.spec.unaryResponse(aggregate.result())));
      this.#settle(undefined, () => callback(null, response));
    } catch (err) {
      const error = this.#errorOf(err);
      this.#settle(error, () => callback(error.toStatus()));
    }
  }

  async stream(call: ServerWritableStream<InvokeRequest, Buffer>, encode: Encode): Promise<void> {
    const active = this.deps.metrics.activeStreams.labels({ grpc_method: this.call.getPath().slice(1) });
    active.inc();
    try {
      const { run } = await this.#prepare();
      for await (const ev of run.events(this.#scope.signal)) {
        await writeMessage(call, deliverable(encode(toStreamMessage(ev, this.spec.typedEvents))), this.#scope.signal);
      }
      const failure = run.tracker.failure();
      if (failure) throw failure;
      this.#settle(undefined, () => call.end());
    } catch (err) {
      const error = this.#errorOf(err);
      this.#settle(error, () => call.emit("error", error.toStatus()));
    } finally {
      active.dec();
    }
  }

  /** Answers the call unless the client already left, then reports it once. */
  #settle(error: GatewayError | undefined, answer: () => void): void {
    const answered = this.#scope.finish();
    if (answered) answer();
    this.#release?.();
    this.deps.lifecycle.leave(this.#scope);
    reportCall(
      {
        method: this.call.getPath(),
        interface: this.spec.kind,
        mode: this.#mode,
        workspace: workspaceOf(this.call.metadata)?.id,
        error: answered ? error : (this.#scope.signal.reason as GatewayError),
        clientLeft: !answered,
        durationMs: performance.now() - this.#started,
        ttfeMs: this.#run?.firstEventAt !== undefined ? this.#run.firstEventAt - this.#started : undefined,
        run: this.#run,
      },
      this.#log,
      this.deps.metrics,
    );
  }

  async #prepare() {
    if (this.deps.lifecycle.draining) throw shuttingDown();
    const req = this.call.request;
    const workspace = workspaceOf(this.call.metadata);
    // The auth interceptor runs before every handler; reaching here without it is a wiring bug.
    if (!workspace) throw new GatewayError(status.UNAUTHENTICATED, "unauthenticated", { reason: "UNAUTHENTICATED" });
    validateCommon(req);
    this.spec.validate(req);
    const app = workspace.apps.get(req.appId);
    if (!app) throw appNotFound(req.appId);
    this.#release = this.deps.limiter.tryAcquire(workspace.id, workspace.maxConcurrentCalls);
    if (!this.#release) {
      this.deps.metrics.concurrencyRejections.inc({ workspace: workspace.id });
      throw workspaceConcurrencyLimit(workspace.id, workspace.maxConcurrentCalls);
    }
    const target = { baseUrl: workspace.difyBaseUrl, key: app.key, headers: traceHeaders(this.#trace) };
    const user = req.user !== "" ? req.user : workspace.defaultUser;
    // The lookup is shared by the app's callers and bounded only by its timeout: this call stops waiting when it ends.
    const mode = this.spec.mode ?? (await untilAborted(this.deps.modes.resolve(app, target), this.#scope.signal));
    this.#mode = mode;
    const run = new UpstreamRun(
      { kind: this.spec.kind, target, runPath: this.spec.runPath, stopPath: this.spec.stopPath, body: this.spec.body(req, user), user },
      this.deps.client,
      this.deps.settings,
      this.#log,
      (result) => this.deps.metrics.stopCalls.inc({ interface: this.spec.kind, result }),
    );
    this.#run = run;
    return { run, mode };
  }

  #errorOf(err: unknown): GatewayError {
    const error = toGatewayError(this.#scope.signal.aborted ? this.#scope.signal.reason : err);
    if (error.details.reason === "INTERNAL" && !(err instanceof GatewayError)) this.#log.error({ err }, "unexpected failure while serving a call");
    return error;
  }
}

/** An app_id as the log line shows it: validation rejects long ones, but their line is written too. */
function loggable(appId: string): string {
  return appId.length > MAX_APP_ID_LENGTH ? `${appId.slice(0, MAX_APP_ID_LENGTH)}…` : appId;
}

/** `pending`, or the signal's reason as soon as it aborts (a cancel, a deadline, a drain's termination). */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err as Error);
      },
    );
  });
}
