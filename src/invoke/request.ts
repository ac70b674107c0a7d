import type { InputFile } from "../../generated/dify/app/v1/common.js";
import { MAX_APP_ID_LENGTH } from "../config/schema.js";
import { invalidArgument } from "../grpc/gateway-error.js";
import { type InputsRejected, validateInputs } from "./inputs.js";

/** The fields all six request messages share; chat adds query and conversation_id. */
export interface InvokeRequest {
  appId: string;
  inputs?: { [key: string]: unknown } | undefined;
  files: InputFile[];
  user: string;
  query?: string;
  conversationId?: string;
  /** Chat and workflow: the published workflow version to run; empty runs the app's current one. */
  workflowId?: string;
  /** Set by the request decoder when `inputs` could not be taken as sent (see decode.ts). */
  inputsRejected?: InputsRejected;
}

const FILE_TYPES = ["image", "document", "audio", "video", "custom"];
const TRANSFER_METHODS = ["remote_url", "local_file"];
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks what Dify would reject anyway, so the caller learns the field name from us. */
export function validateCommon(req: InvokeRequest): void {
  if (req.appId.trim() === "") throw invalidArgument("app_id", "is required");
  if (req.appId.length > MAX_APP_ID_LENGTH) throw invalidArgument("app_id", `must be at most ${MAX_APP_ID_LENGTH} characters`);
  if (req.inputsRejected) throw invalidArgument(req.inputsRejected.field, req.inputsRejected.description);
  validateInputs(req.inputs);
  req.files.forEach((f, i) => {
    const at = `files[${i}]`;
    if (!FILE_TYPES.includes(f.type)) throw invalidArgument(`${at}.type`, `must be one of ${FILE_TYPES.join(", ")}`);
    if (!TRANSFER_METHODS.includes(f.transferMethod))
      throw invalidArgument(`${at}.transfer_method`, `must be one of ${TRANSFER_METHODS.join(", ")}`);
    if (f.transferMethod === "remote_url" && f.url === "")
      throw invalidArgument(`${at}.url`, "is required when transfer_method is remote_url");
    if (f.transferMethod === "local_file" && f.uploadFileId === "")
      throw invalidArgument(`${at}.upload_file_id`, "is required when transfer_method is local_file");
  });
}

export function validateChat(req: InvokeRequest): void {
  if ((req.query ?? "").trim() === "") throw invalidArgument("query", "is required");
  const conversationId = req.conversationId ?? "";
  if (conversationId !== "" && !UUID.test(conversationId)) throw invalidArgument("conversation_id", "must be empty or a UUID");
  validateWorkflowId(req);
}

/** Dify's workflow versions are UUIDs; anything else would only become a path segment or body field Dify refuses. */
export function validateWorkflowId(req: InvokeRequest): void {
  const workflowId = req.workflowId ?? "";
  if (workflowId !== "" && !UUID.test(workflowId)) throw invalidArgument("workflow_id", "must be empty or a UUID");
}

/** The body fields every run endpoint takes. `inputs` is always sent, even empty: Dify requires it. */
export function commonBody(req: InvokeRequest, user: string): Record<string, unknown> {
  const body: Record<string, unknown> = { inputs: req.inputs ?? {}, response_mode: "streaming", user };
  if (req.files.length > 0) {
    body.files = req.files.map((f) =>
      f.transferMethod === "remote_url"
        ? { type: f.type, transfer_method: f.transferMethod, url: f.url }
        : { type: f.type, transfer_method: f.transferMethod, upload_file_id: f.uploadFileId },
    );
  }
  return body;
}
