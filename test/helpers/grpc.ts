import {
  type CallOptions,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { AppServiceClient } from "../../generated/dify/app/v1/app.js";
import { ChatServiceClient } from "../../generated/dify/app/v1/chat.js";
import { CompletionServiceClient } from "../../generated/dify/app/v1/completion.js";
import {
  FileServiceClient,
  type UploadFileHeader,
  type UploadFileRequest,
  type UploadFileResponse,
} from "../../generated/dify/app/v1/file.js";
import { RunServiceClient } from "../../generated/dify/app/v1/run.js";
import { WorkflowServiceClient } from "../../generated/dify/app/v1/workflow.js";
import { BadRequest, ErrorInfo, QuotaFailure, RetryInfo } from "../../generated/google/rpc/error_details.js";
import { Status } from "../../generated/google/rpc/status.js";

export function clients(address: string, creds = credentials.createInsecure()) {
  return {
    chat: new ChatServiceClient(address, creds),
    workflow: new WorkflowServiceClient(address, creds),
    completion: new CompletionServiceClient(address, creds),
    files: new FileServiceClient(address, creds),
    apps: new AppServiceClient(address, creds),
    run: new RunServiceClient(address, creds),
    close() {
      this.run.close();
      this.chat.close();
      this.workflow.close();
      this.completion.close();
      this.files.close();
      this.apps.close();
    },
  };
}

export function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set("authorization", `Bearer ${token}`);
  return md;
}

type UnaryFn<Req, Res> = (
  req: Req,
  md: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

export function unary<Req, Res>(
  fn: UnaryFn<Req, Res>,
  self: object,
  req: Req,
  md: Metadata,
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => fn.call(self, req, md, options, (err, res) => (err ? reject(err) : resolve(res))));
}

export interface StreamResult<T> {
  messages: T[];
  error: ServiceError | undefined;
}

/** Reads a server stream to its end; the status is `error` (undefined for OK). */
export function collect<T>(stream: ClientReadableStream<T>, onMessage?: (m: T, all: T[]) => void): Promise<StreamResult<T>> {
  const messages: T[] = [];
  return new Promise((resolve) => {
    stream.on("data", (m: T) => {
      messages.push(m);
      onMessage?.(m, messages);
    });
    stream.on("error", (error: ServiceError) => resolve({ messages, error }));
    stream.on("end", () => setImmediate(() => resolve({ messages, error: undefined })));
  });
}

/** The google.rpc details of a failed call. */
export function details(err: ServiceError) {
  const bin = err.metadata?.get("grpc-status-details-bin")[0];
  if (!bin) return { status: undefined, errorInfo: undefined, retryInfo: undefined, badRequest: undefined, quotaFailure: undefined };
  const status = Status.decode(bin as Buffer);
  const find = (name: string) => status.details.find((d) => d.typeUrl === `type.googleapis.com/google.rpc.${name}`)?.value;
  const decode = <T>(name: string, dec: { decode(b: Uint8Array): T }) => {
    const v = find(name);
    return v ? dec.decode(v) : undefined;
  };
  return {
    status,
    errorInfo: decode("ErrorInfo", ErrorInfo),
    retryInfo: decode("RetryInfo", RetryInfo),
    badRequest: decode("BadRequest", BadRequest),
    quotaFailure: decode("QuotaFailure", QuotaFailure),
  };
}

const HealthClient = makeGenericClientConstructor(healthService, "Health");

/** grpc.health.v1.Health/Check, with no credentials, as a kubelet probe sends it. */
export function healthCheck(address: string, service = ""): Promise<string> {
  const client = new HealthClient(address, credentials.createInsecure()) as unknown as {
    check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
    close(): void;
  };
  return new Promise<string>((resolve, reject) =>
    client.check({ service }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

/** One UploadFile call: the header, then each chunk, written as fast as the call takes them (honouring backpressure). */
export function upload(
  client: InstanceType<typeof FileServiceClient>,
  md: Metadata,
  messages: AsyncIterable<UploadFileRequest> | Iterable<UploadFileRequest>,
  options: Partial<CallOptions> = {},
): { response: Promise<UploadFileResponse>; call: ClientWritableStream<UploadFileRequest> } {
  let call!: ClientWritableStream<UploadFileRequest>;
  const response = new Promise<UploadFileResponse>((resolve, reject) => {
    call = client.uploadFile(md, options, (err, res) => (err ? reject(err) : resolve(res)));
  });
  void (async () => {
    try {
      for await (const message of messages) {
        if (!call.write(message)) await new Promise((r) => call.once("drain", r));
      }
      call.end();
    } catch {
      call.cancel();
    }
  })();
  return { response, call };
}

export const header = (h: Partial<UploadFileHeader> & { appId: string }): UploadFileRequest => ({
  part: { $case: "header", value: { user: "", filename: "f.txt", mimeType: "text/plain", ...h } },
});
export const chunk = (bytes: Buffer): UploadFileRequest => ({ part: { $case: "chunk", value: bytes } });
