import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { workspaceOf } from "../auth/context.js";
import type { AppModes } from "../dify/app-mode.js";
import type { DifyClient } from "../dify/client.js";
import { CallScope } from "../grpc/call-scope.js";
import { appNotFound, GatewayError } from "../grpc/gateway-error.js";
import { writeMessage } from "../grpc/writer.js";
import { toGatewayError } from "../translate/errors.js";
import { toStreamMessage } from "../translate/events.js";
import type { InterfaceSpec } from "./interfaces.js";
import { validateCommon, type InvokeRequest } from "./request.js";
import { UpstreamRun, type RunSettings } from "./upstream-run.js";

export interface HandlerDeps {
  client: DifyClient;
  modes: AppModes;
  settings: RunSettings;
  log: Logger;
}

/** The unary and the streaming handler of one interface, both driven by its spec. */
export function createHandlers(spec: InterfaceSpec, deps: HandlerDeps): UntypedServiceImplementation {
  return {
    [spec.unaryMethod]: (call: ServerUnaryCall<InvokeRequest, object>, callback: sendUnaryData<object>) => {
      void new Invocation(spec, deps, call).unary(callback);
    },
    [spec.streamMethod]: (call: ServerWritableStream<InvokeRequest, object>) => {
      void new Invocation(spec, deps, call).stream(call);
    },
  };
}

/** One call: auth context → request checks → Dify run → translation → gRPC answer → one log line. */
class Invocation {
  readonly #scope: CallScope;
  readonly #started = performance.now();
  #run: UpstreamRun | undefined;
  #log: Logger;

  constructor(
    private readonly spec: InterfaceSpec,
    private readonly deps: HandlerDeps,
    private readonly call: ServerUnaryCall<InvokeRequest, object> | ServerWritableStream<InvokeRequest, object>,
  ) {
    this.#scope = new CallScope(call);
    this.#log = deps.log;
  }

  async unary(callback: sendUnaryData<object>): Promise<void> {
    try {
      const { run, mode } = await this.#prepare();
      const aggregate = this.spec.aggregator(mode);
      for await (const ev of run.events(this.#scope.signal)) aggregate.add(ev);
      const failure = run.tracker.failure();
      if (failure) throw failure;
      const response = this.spec.unaryResponse(aggregate.result());
      this.#settle(undefined, () => callback(null, response));
    } catch (err) {
      const error = this.#errorOf(err);
      this.#settle(error, () => callback(error.toStatus()));
    }
  }

  async stream(call: ServerWritableStream<InvokeRequest, object>): Promise<void> {
    try {
      const { run } = await this.#prepare();
      for await (const ev of run.events(this.#scope.signal)) {
        await writeMessage(call, toStreamMessage(ev, this.spec.typedEvents), this.#scope.signal);
      }
      const failure = run.tracker.failure();
      if (failure) throw failure;
      this.#settle(undefined, () => call.end());
    } catch (err) {
      const error = this.#errorOf(err);
      this.#settle(error, () => call.emit("error", error.toStatus()));
    }
  }

  /** Answers the call unless the client already left, then writes the call's one log line. */
  #settle(error: GatewayError | undefined, answer: () => void): void {
    if (this.#scope.finish()) {
      answer();
      this.#done(error);
    } else {
      this.#done(this.#scope.signal.reason as GatewayError);
    }
  }

  async #prepare() {
    const req = this.call.request;
    const workspace = workspaceOf(this.call.metadata);
    // The auth interceptor runs before every handler; reaching here without it is a wiring bug.
    if (!workspace) throw new GatewayError(status.UNAUTHENTICATED, "unauthenticated", { reason: "UNAUTHENTICATED" });
    this.#log = this.deps.log.child({ method: this.call.getPath(), workspace: workspace.id, appId: req.appId });
    validateCommon(req);
    this.spec.validate(req);
    const app = workspace.apps.get(req.appId);
    if (!app) throw appNotFound(req.appId);
    const target = { baseUrl: workspace.difyBaseUrl, key: app.key };
    const user = req.user !== "" ? req.user : workspace.defaultUser;
    const mode = this.spec.mode ?? (await this.deps.modes.resolve(app, target));
    const run = new UpstreamRun(
      { kind: this.spec.kind, target, runPath: this.spec.runPath, stopPath: this.spec.stopPath, body: this.spec.body(req, user), user },
      this.deps.client,
      this.deps.settings,
      this.#log,
    );
    this.#run = run;
    return { run, mode };
  }

  #errorOf(err: unknown): GatewayError {
    const error = toGatewayError(this.#scope.signal.aborted ? this.#scope.signal.reason : err);
    if (error.details.reason === "INTERNAL" && !(err instanceof GatewayError)) this.#log.error({ err }, "unexpected failure while serving a call");
    return error;
  }

  /** The one log line of a finished call. */
  #done(error?: GatewayError): void {
    const run = this.#run;
    const code = error?.code ?? status.OK;
    this.#log.info(
      {
        grpcCode: status[code],
        durationMs: round(performance.now() - this.#started),
        ttfeMs: run?.firstEventAt !== undefined ? round(run.firstEventAt - this.#started) : undefined,
        taskId: run?.tracker.taskId,
        stopCalled: run?.stopCalled || undefined,
        reason: error?.details.reason,
        upstreamStatus: error?.details.metadata?.upstreamStatus,
        upstreamCode: error?.details.metadata?.upstreamCode || undefined,
      },
      error ? `call failed: ${error.message}` : "call finished",
    );
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
