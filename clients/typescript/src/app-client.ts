import {
  type CallOptions,
  Channel,
  ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials as grpcCredentials,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { AppServiceClient } from "../../../generated/dify/app/v1/app.js";
import { ChatServiceClient } from "../../../generated/dify/app/v1/chat.js";
import type { InputFile, RunPause } from "../../../generated/dify/app/v1/common.js";
import { CompletionServiceClient } from "../../../generated/dify/app/v1/completion.js";
import { FileServiceClient } from "../../../generated/dify/app/v1/file.js";
import { RunServiceClient } from "../../../generated/dify/app/v1/run.js";
import { WorkflowServiceClient } from "../../../generated/dify/app/v1/workflow.js";
import { type AppCatalog, appCatalog } from "./apps.js";
import { ActiveCalls, type CallControl, streamEvents, unaryResult } from "./calls.js";
import { type Files, files } from "./files.js";
import { reattaching } from "./reattach.js";
import { describe, optionalDeadline, optionalSignal, optionalString, optionalTimeoutMs, paramsObject, requiredString } from "./validate.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A dict exactly as Dify's App API returns it: the blocking-mode answer, or one stream event. */
export type DifyDict = { [key: string]: JsonValue };
export type ResponseMode = "blocking" | "streaming";
/** Dify's event dicts, in order. Breaking out of `for await`, or `return()`, cancels the call. */
export type DifyEventStream = AsyncGenerator<DifyDict, void, undefined>;

/** PEM buffers for TLS; omitted roots mean the system's. privateKey with certChain: mutual TLS. */
export interface TlsOptions {
  rootCerts?: Buffer | null;
  privateKey?: Buffer | null;
  certChain?: Buffer | null;
}

export interface AppClientOptions {
  /** host:port of the gateway. */
  address: string;
  /** The workspace token, sent as `authorization: Bearer …` on every call. */
  token: string;
  /** Omitted or false: plaintext (h2c). true: TLS with the system roots. Or TLS options, or ready-made credentials. */
  tls?: boolean | TlsOptions | ChannelCredentials;
  /**
   * Default time limit of each call, in ms; for a stream, of the whole stream. A limit more than about 24 days
   * ahead is no limit (grpc-js cannot keep a timer that long).
   */
  timeoutMs?: number;
  /**
   * How many times a workflow or Chatflow stream re-attaches by itself after a gateway handed its run off during a
   * drain (UNAVAILABLE SHUTTING_DOWN naming the run); default 3, 0 to get the error instead. See `reattaching`.
   */
  maxReattaches?: number;
  channelOptions?: ChannelOptions;
}

export interface InputFileParam {
  /** image | document | audio | video | custom */
  type: string;
  /** remote_url | local_file */
  transferMethod: string;
  url?: string;
  uploadFileId?: string;
}

interface CommonParams {
  appId: string;
  /** A JSON object: it reaches Dify as JSON.stringify would write it (undefined members dropped, Dates as strings). */
  inputs?: Record<string, unknown>;
  files?: InputFileParam[];
  /** Dify's end-user id; omitted, the workspace's default user. */
  user?: string;
  /** Aborting cancels the call: the promise rejects, or the iteration throws, with `signal.reason`. */
  signal?: AbortSignal;
  /** Absolute deadline. */
  deadline?: Date;
  /** Time limit in ms (a finite number, 0 or more), instead of the client's. The earlier of `deadline` and this wins. */
  timeoutMs?: number;
}

/** The cancellation and time limits every call takes. */
export type CallTiming = Pick<CommonParams, "signal" | "deadline" | "timeoutMs">;

export interface ChatParams extends CommonParams {
  query: string;
  /** Omitted for a new conversation; else the `conversation_id` of an earlier answer. */
  conversationId?: string;
  /** A Chatflow's published workflow version to run; omitted, its current one. */
  workflowId?: string;
}
export interface WorkflowParams extends CommonParams {
  /** The published workflow version to run; omitted, the app's current one. */
  workflowId?: string;
}

/** Call options shared by the RunService calls. */
interface RunCallParams extends CallTiming {
  appId: string;
}
export interface WatchRunParams extends RunCallParams {
  workflowRunId: string;
  /** The run's user; omitted, the workspace's default user. */
  user?: string;
  /** First replay the nodes the run already executed. */
  includeStateSnapshot?: boolean;
  /** Keep the stream open across pauses (several Human Input nodes in a row). */
  continueOnPause?: boolean;
}
export interface GetRunParams extends RunCallParams {
  workflowRunId: string;
}
export interface GetFormParams extends RunCallParams {
  formToken: string;
}
export interface SubmitFormParams extends RunCallParams {
  formToken: string;
  /** Values keyed by the form inputs' `output_variable_name`. */
  inputs?: Record<string, unknown>;
  /** The id of one of the form's `user_actions`. */
  action: string;
  /** The run's user; omitted, the workspace's default user. */
  user?: string;
}
export interface ResumeParams extends SubmitFormParams, Omit<WatchRunParams, keyof SubmitFormParams> {}

/**
 * Runs that outlive their first call (workflow and Chatflow apps): re-attach, status, and the forms of Human Input
 * nodes. A paused unary answer names the run in `pause.workflow_run_id` and its forms in `pause.forms`.
 */
export interface RunCalls {
  /** Re-attaches to a run: its events, as `invoke`'s stream yields them. Leaving it never stops the run. */
  watchRun(params: WatchRunParams): DifyEventStream;
  /** Dify's run detail: `status`, `outputs` (`{}` while paused), `inputs` (a JSON string), … */
  getRun(params: GetRunParams): Promise<DifyDict>;
  /** A paused run's form: `form_content`, `inputs`, `user_actions`, `expiration_time`. */
  getForm(params: GetFormParams): Promise<DifyDict>;
  /** Answers a form; resolves to Dify's `{}`. A rejected submit (AppInvokeError, INVALID_ARGUMENT) leaves it open. */
  submitForm(params: SubmitFormParams): Promise<DifyDict>;
  /**
   * Submits the form, then follows the resumed run to its end (or its next pause, unless `continueOnPause`).
   * Events the run emitted before the stream attached can be missing: confirm the outcome with `getRun`.
   */
  resume(params: ResumeParams): DifyEventStream;
}
export type CompletionParams = CommonParams;

/** One interface of `client.app`, typed so that the result follows `responseMode`. */
export interface AppInterface<P> {
  invoke(params: P & { responseMode: "blocking" }): Promise<DifyDict>;
  invoke(params: P & { responseMode: "streaming" }): DifyEventStream;
  invoke(params: P & { responseMode: ResponseMode }): Promise<DifyDict> | DifyEventStream;
}

export interface AppClient {
  /** As `session.app` in a Dify plugin. */
  readonly app: {
    /**
     * Chatbot (chat), Agent (agent-chat), Chatflow (advanced-chat) and New Agent apps. A Chatflow run that paused
     * for human input resolves with `pause` (see RunCalls); separated reasoning comes joined in `reasoning`.
     */
    readonly chat: AppInterface<ChatParams> & RunCalls;
    /**
     * Workflow apps. A run ending failed, stopped or paused is a result (`data.status`), not an error; a paused one
     * also carries `pause`: `{workflow_run_id, forms: [{form_token, node_id, node_title, form_content, actions,
     * expiration_time}]}`.
     */
    readonly workflow: AppInterface<WorkflowParams> & RunCalls;
    /** Completion (text generator) apps. */
    readonly completion: AppInterface<CompletionParams>;
  };
  /** Uploads files to Dify for later runs (`FileService`). */
  readonly files: Files;
  /** The workspace's apps and what their runs take (`AppService`). */
  readonly apps: AppCatalog;
  /**
   * Cancels the calls still running (they reject, or their iteration throws, `AppInvokeError` CANCELLED, and the
   * gateway stops their Dify runs), then closes the channel. A call started afterwards throws.
   */
  close(): void;
}

const USER_AGENT = "dify-app-client-node/0.1.0";
const DEFAULT_MAX_REATTACHES = 3;

/** A client in the call shape of Dify's plugin SDK: `client.app.chat.invoke({ appId, query, responseMode })`. */
export function createAppClient(options: AppClientOptions): AppClient {
  paramsObject(options, "createAppClient()");
  requiredString(options.address, "address");
  requiredString(options.token, "token");
  optionalTimeoutMs(options.timeoutMs, "timeoutMs");
  if (options.maxReattaches !== undefined && !(Number.isSafeInteger(options.maxReattaches) && options.maxReattaches >= 0)) {
    throw new TypeError(`maxReattaches must be a whole number, 0 or more, not ${describe(options.maxReattaches)}`);
  }
  const channelOptions = { "grpc.primary_user_agent": USER_AGENT, ...options.channelOptions };
  // One channel (one HTTP/2 connection) for all services.
  const channel = new Channel(options.address, channelCredentials(options.tls), channelOptions);
  const clientOptions = { channelOverride: channel };
  const chat = new ChatServiceClient(options.address, grpcCredentials.createInsecure(), clientOptions);
  const workflow = new WorkflowServiceClient(options.address, grpcCredentials.createInsecure(), clientOptions);
  const completion = new CompletionServiceClient(options.address, grpcCredentials.createInsecure(), clientOptions);
  const runs = new RunServiceClient(options.address, grpcCredentials.createInsecure(), clientOptions);
  const calls = new ActiveCalls();

  /** Checks the timing parameters: all of a call's arguments are checked before it starts. */
  const control = (p: CallTiming): CallControl => {
    const signal = optionalSignal(p.signal);
    // Metadata, not call credentials: grpc-js refuses those on plaintext channels (a mesh sidecar hop).
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${options.token}`);
    return { metadata, callOptions: callOptions(p, options.timeoutMs), signal, calls };
  };
  /** The control of a call bounded by an earlier one's deadline (a re-attach), not by a fresh timeout. */
  const controlUntil = (deadline: number | undefined, signal: AbortSignal | undefined): CallControl => ({
    ...control({ signal }),
    callOptions: deadline === undefined ? {} : { deadline },
  });
  const common = (p: CommonParams) => ({
    appId: requiredString(p.appId, "appId"),
    inputs: jsonObject(p.inputs),
    files: inputFiles(p.files),
    user: optionalString(p.user, "user") ?? "",
  });

  const watchRunRequest = (p: WatchRunParams) => ({
    appId: requiredString(p.appId, "appId"),
    workflowRunId: requiredString(p.workflowRunId, "workflowRunId"),
    user: optionalString(p.user, "user") ?? "",
    includeStateSnapshot: p.includeStateSnapshot ?? false,
    continueOnPause: p.continueOnPause ?? false,
  });
  const watchRun = (p: WatchRunParams) => {
    paramsObject(p, "watchRun()");
    const req = watchRunRequest(p);
    return streamEvents((md, co) => runs.watchRun(req, md, co), control(p));
  };
  const submitFormRequest = (p: SubmitFormParams) => ({
    appId: requiredString(p.appId, "appId"),
    formToken: requiredString(p.formToken, "formToken"),
    inputs: jsonObject(p.inputs),
    action: requiredString(p.action, "action"),
    user: optionalString(p.user, "user") ?? "",
  });
  const submitForm = (p: SubmitFormParams) => {
    paramsObject(p, "submitForm()");
    const req = submitFormRequest(p);
    return unaryResult((md, co, cb) => runs.submitHumanInputForm(req, md, co, cb), control(p));
  };
  /**
   * A workflow or Chatflow stream that follows its run through a drain hand-off: WatchRun with the state snapshot and
   * the stream's own user, within the stream's deadline (not a fresh timeout each), then the run's detail
   * (GetWorkflowRun).
   */
  const followed = (p: CommonParams, first: DifyEventStream): DifyEventStream => {
    const deadline = deadlineOf(p, options.timeoutMs);
    const signal = optionalSignal(p.signal);
    const user = optionalString(p.user, "user") ?? "";
    return reattaching(first, {
      watch: (workflowRunId) =>
        streamEvents(
          (md, co) => runs.watchRun({ appId: p.appId, workflowRunId, user, includeStateSnapshot: true, continueOnPause: false }, md, co),
          controlUntil(deadline, signal),
        ),
      getRun: (workflowRunId) =>
        unaryResult((md, co, cb) => runs.getWorkflowRun({ appId: p.appId, workflowRunId }, md, co, cb), controlUntil(deadline, signal)),
      maxReattaches: options.maxReattaches ?? DEFAULT_MAX_REATTACHES,
      signal,
    });
  };
  const runCalls: RunCalls = {
    watchRun,
    getRun: (p) => {
      paramsObject(p, "getRun()");
      const req = { appId: requiredString(p.appId, "appId"), workflowRunId: requiredString(p.workflowRunId, "workflowRunId") };
      return unaryResult((md, co, cb) => runs.getWorkflowRun(req, md, co, cb), control(p));
    },
    getForm: (p) => {
      paramsObject(p, "getForm()");
      const req = { appId: requiredString(p.appId, "appId"), formToken: requiredString(p.formToken, "formToken") };
      return unaryResult((md, co, cb) => runs.getHumanInputForm(req, md, co, cb), control(p));
    },
    submitForm,
    resume(p) {
      // Everything checked now, before the submit: a mistake must not leave the form answered and the run unfollowed.
      paramsObject(p, "resume()");
      submitFormRequest(p);
      watchRunRequest(p);
      control(p);
      return (async function* () {
        await submitForm(p);
        yield* watchRun(p);
      })();
    },
  };

  return {
    app: {
      chat: Object.assign(
        anInterface<ChatParams>((p) => {
          const req = {
            ...common(p),
            query: requiredString(p.query, "query"),
            conversationId: optionalString(p.conversationId, "conversationId") ?? "",
            workflowId: optionalString(p.workflowId, "workflowId"),
          };
          return {
            blocking: () => unaryResult((md, co, cb) => chat.chatInvoke(req, md, co, cb), control(p)),
            streaming: () =>
              followed(
                p,
                streamEvents((md, co) => chat.chatInvokeStream(req, md, co), control(p)),
              ),
          };
        }),
        runCalls,
      ),
      workflow: Object.assign(
        anInterface<WorkflowParams>((p) => {
          const req = { ...common(p), workflowId: optionalString(p.workflowId, "workflowId") };
          return {
            blocking: () => unaryResult((md, co, cb) => workflow.workflowInvoke(req, md, co, cb), control(p)),
            streaming: () =>
              followed(
                p,
                streamEvents((md, co) => workflow.workflowInvokeStream(req, md, co), control(p)),
              ),
          };
        }),
        runCalls,
      ),
      completion: anInterface<CompletionParams>((p) => {
        const req = common(p);
        return {
          blocking: () => unaryResult((md, co, cb) => completion.completionInvoke(req, md, co, cb), control(p)),
          streaming: () => streamEvents((md, co) => completion.completionInvokeStream(req, md, co), control(p)),
        };
      }),
    },
    files: files(new FileServiceClient(options.address, grpcCredentials.createInsecure(), clientOptions), control),
    apps: appCatalog(new AppServiceClient(options.address, grpcCredentials.createInsecure(), clientOptions), control),
    close() {
      // grpc-js's Channel.close() lets calls in flight run on: cancel them first.
      calls.close();
      channel.close();
    },
  };
}

/** What calls.ts reads from a unary response: `raw`, and the typed extras of a paused or reasoning run. */
export interface UnaryResponse {
  raw?: DifyDict | undefined;
  pause?: RunPause | undefined;
  reasoning?: string;
}

// Both call shapes grpc-js generates, for calls.ts.
export type UnaryStarter = (
  md: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: UnaryResponse) => void,
) => ClientUnaryCall;
export type StreamStarter = (md: Metadata, options: Partial<CallOptions>) => ClientReadableStream<{ raw?: DifyDict | undefined }>;

function anInterface<P extends CommonParams>(
  prepare: (p: P) => { blocking: () => Promise<DifyDict>; streaming: () => DifyEventStream },
): AppInterface<P> {
  function invoke(params: P & { responseMode: "blocking" }): Promise<DifyDict>;
  function invoke(params: P & { responseMode: "streaming" }): DifyEventStream;
  function invoke(params: P & { responseMode: ResponseMode }): Promise<DifyDict> | DifyEventStream;
  function invoke(params: P & { responseMode: ResponseMode }): Promise<DifyDict> | DifyEventStream {
    // Checked here, not by the types alone: plugin code is often plain JavaScript.
    paramsObject(params, "invoke()");
    if (params.responseMode !== "blocking" && params.responseMode !== "streaming") {
      throw new TypeError(`responseMode must be "blocking" or "streaming", not ${JSON.stringify(params.responseMode)}`);
    }
    const call = prepare(params);
    return params.responseMode === "blocking" ? call.blocking() : call.streaming();
  }
  return { invoke };
}

function channelCredentials(tls: AppClientOptions["tls"]): ChannelCredentials {
  if (tls === undefined || tls === false) return grpcCredentials.createInsecure();
  if (tls === true) return grpcCredentials.createSsl();
  if (tls instanceof ChannelCredentials) return tls;
  return grpcCredentials.createSsl(tls.rootCerts ?? null, tls.privateKey ?? null, tls.certChain ?? null);
}

/**
 * The furthest deadline a call gets, in ms from now: grpc-js cannot set a timer further ahead (2^31 - 1 ms, about 24.8
 * days; its getRelativeTimeout treats a later deadline as none), and its server side reads a longer grpc-timeout as a
 * 32-bit number of ms, which wraps. A second short of it, for the header's rounding up to whole seconds.
 */
export const MAX_DEADLINE_MS = 2_147_483_647 - 1_000;

/** The call's deadline: the earlier of `deadline` and `timeoutMs` (else the client's); none when beyond MAX_DEADLINE_MS. */
function deadlineOf(p: CallTiming, clientTimeoutMs: number | undefined): number | undefined {
  const timeoutMs = optionalTimeoutMs(p.timeoutMs, "timeoutMs") ?? clientTimeoutMs;
  const now = Date.now();
  const candidates = [optionalDeadline(p.deadline)?.getTime(), timeoutMs === undefined ? undefined : now + timeoutMs].filter(
    (d): d is number => d !== undefined,
  );
  if (!candidates.length) return undefined;
  const deadline = Math.min(...candidates);
  return deadline - now > MAX_DEADLINE_MS ? undefined : deadline;
}

function callOptions(p: CallTiming, clientTimeoutMs: number | undefined): Partial<CallOptions> {
  const deadline = deadlineOf(p, clientTimeoutMs);
  return deadline === undefined ? {} : { deadline };
}

/** What Dify would get from a JSON body, so that Struct never sees undefined, Dates or class instances. */
function jsonObject(inputs: Record<string, unknown> | undefined): DifyDict {
  if (inputs === undefined) return {};
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) throw new TypeError("inputs must be a plain object");
  return JSON.parse(JSON.stringify(inputs)) as DifyDict;
}

function inputFiles(files: InputFileParam[] | undefined): InputFile[] {
  if (files === undefined || files === null) return [];
  if (!Array.isArray(files)) throw new TypeError(`files must be an array of file objects, not ${describe(files)}`);
  return files.map(inputFile);
}

function inputFile(f: InputFileParam, i: number): InputFile {
  if (typeof f !== "object" || f === null || Array.isArray(f)) throw new TypeError(`files[${i}] must be an object, not ${describe(f)}`);
  const known = new Set(["type", "transferMethod", "url", "uploadFileId"]);
  const unknown = Object.keys(f).filter((k) => !known.has(k));
  // Dropping them silently would send a different file than the caller meant (e.g. snake_case keys).
  if (unknown.length)
    throw new TypeError(`files[${i}] has unknown keys ${unknown.join(", ")}; expected type, transferMethod, url, uploadFileId`);
  return {
    type: requiredString(f.type, `files[${i}].type`),
    transferMethod: requiredString(f.transferMethod, `files[${i}].transferMethod`),
    url: optionalString(f.url, `files[${i}].url`) ?? "",
    uploadFileId: optionalString(f.uploadFileId, `files[${i}].uploadFileId`) ?? "",
  };
}
