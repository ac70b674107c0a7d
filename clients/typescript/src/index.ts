/**
 * The TypeScript client of the gateway, published as `@dify-grpc-gateway/client` (clients/typescript/package.json):
 *
 *   const client = createAppClient({ address: "127.0.0.1:50051", token });
 *   const answer = await client.app.chat.invoke({ appId, query: "Hi", responseMode: "blocking" });
 *   for await (const event of client.app.chat.invoke({ appId, query: "Hi", responseMode: "streaming" })) { … }
 */

// Re-exported so that callers can compare codes without depending on @grpc/grpc-js themselves.
export { status } from "@grpc/grpc-js";
export type {
  AppClient,
  AppClientOptions,
  AppInterface,
  CallTiming,
  ChatParams,
  CompletionParams,
  DifyDict,
  DifyEventStream,
  GetFormParams,
  GetRunParams,
  InputFileParam,
  JsonValue,
  ResponseMode,
  ResumeParams,
  RunCalls,
  SubmitFormParams,
  TlsOptions,
  WatchRunParams,
  WorkflowParams,
} from "./app-client.js";
export { createAppClient } from "./app-client.js";
export type { AppCatalog, AppDescription, AppSummary } from "./apps.js";
export { AppInvokeError, type FieldViolation } from "./errors.js";
export type { Files, UploadedFile, UploadParams, UploadSource } from "./files.js";
export { REATTACHED_EVENT, RUN_CONFIRMED_EVENT } from "./reattach.js";
