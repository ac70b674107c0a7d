/**
 * Request-body validation in Dify's order and wording: JSON parsing and `user` come from the auth wrapper
 * ([api] service_api/wraps.py); field checks mimic the pydantic payload models, whose `ValidationError` Dify
 * turns into 400 `invalid_param` with `str(error)` as the message.
 */
import { errors } from "./errors.js";
import { isUuid } from "./ids.js";

export type JsonObject = Record<string, unknown>;
export type ResponseMode = "streaming" | "blocking";

export interface GenerationPayload {
  user: string;
  inputs: JsonObject;
  /** Chat: the required query. Completion: the legacy optional query. Workflow: undefined. */
  query: string | undefined;
  /** null when omitted: blocking for most modes, streaming for New Agent. */
  responseMode: ResponseMode | null;
  /** null for a new conversation ("" and null both mean new). */
  conversationId: string | null;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Flask's `get_json()` with Dify's error hook: wrong content type, empty or broken JSON all give the same 400. */
export function parseJsonBody(raw: Buffer, contentType: string | undefined): JsonObject {
  const mediaType = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json" || raw.length === 0) throw errors.invalidJson();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw errors.invalidJson();
  }
  if (!isJsonObject(parsed)) throw errors.invalidJson();
  return parsed;
}

/** `FetchUserArg(JSON, required=True)` in the auth wrapper: any falsy `user` counts as not provided. */
export function requireUserArg(body: JsonObject): void {
  const user = body["user"];
  if (user === undefined || user === null || user === "" || user === false || user === 0) throw errors.userRequired();
}

/** The payload model's `user: str`, checked after the wrapper let a truthy value through. */
function userField(body: JsonObject, model: string): string {
  requireUserArg(body);
  const user = body["user"];
  if (typeof user !== "string") throw pydanticError(model, "user", "Input should be a valid string", "string_type");
  return user;
}

/** The stop endpoints' body: just `user`. */
export function parseStopPayload(body: JsonObject): string {
  return userField(body, "StopRequestPayload");
}

function pydanticError(model: string, field: string, message: string, type: string) {
  return errors.invalidParam(`1 validation error for ${model}\n${field}\n  ${message} [type=${type}]`);
}

function requireInputs(body: JsonObject, model: string): JsonObject {
  const inputs = body["inputs"];
  if (inputs === undefined) throw pydanticError(model, "inputs", "Field required", "missing");
  if (!isJsonObject(inputs)) throw pydanticError(model, "inputs", "Input should be a valid dictionary", "dict_type");
  return inputs;
}

function optionalString(body: JsonObject, field: string, model: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw pydanticError(model, field, "Input should be a valid string", "string_type");
  return value;
}

function responseModeOf(body: JsonObject, model: string): ResponseMode | null {
  const mode = body["response_mode"];
  if (mode === undefined || mode === null) return null;
  if (mode !== "streaming" && mode !== "blocking") {
    throw pydanticError(model, "response_mode", "Input should be 'blocking' or 'streaming'", "literal_error");
  }
  return mode;
}

function conversationIdOf(body: JsonObject, model: string): string | null {
  const id = optionalString(body, "conversation_id", model);
  if (id === undefined || id.trim() === "") return null;
  if (!isUuid(id)) throw errors.invalidParam("conversation_id must be a valid UUID");
  return id.toLowerCase();
}

const FILE_TYPES = new Set(["image", "document", "audio", "video", "custom"]);
/** Transfer methods the file factory knows, with the field each one needs. */
const FILE_REFERENCE_FIELD: Readonly<Record<string, string>> = {
  remote_url: "url",
  local_file: "upload_file_id",
  tool_file: "tool_file_id",
  datasource_file: "datasource_file_id",
};

/** [api] factories/file_factory: each problem is a ValueError, hence 400 invalid_param. */
function validateFiles(body: JsonObject, model: string): void {
  const files = body["files"];
  if (files === undefined || files === null) return;
  if (!Array.isArray(files)) throw pydanticError(model, "files", "Input should be a valid list", "list_type");
  files.forEach((file: unknown, index) => {
    if (!isJsonObject(file)) {
      throw pydanticError(model, `files.${index}`, "Input should be a valid dictionary", "dict_type");
    }
    const type = file["type"];
    if (typeof type !== "string" || !FILE_TYPES.has(type)) {
      throw errors.invalidParam(`No matching enum found for value '${String(type)}'`);
    }
    const method = file["transfer_method"];
    const referenceField = typeof method === "string" ? FILE_REFERENCE_FIELD[method] : undefined;
    if (referenceField === undefined) throw errors.invalidParam(`No matching enum found for value '${String(method)}'`);
    const reference = file[referenceField] ?? (method === "remote_url" ? file["remote_url"] : undefined);
    if (method === "remote_url") {
      if (typeof reference !== "string" || !/^https?:\/\/\S+$/i.test(reference)) throw errors.invalidParam("Invalid file url");
    } else if (typeof reference !== "string" || !isUuid(reference)) {
      // The simulator stores no uploads; any well-formed id counts as an existing file.
      throw errors.invalidParam(`Invalid ${referenceField.replace(/_id$/, "").replace(/_/g, " ")} id`);
    }
  });
}

export function parseChatPayload(body: JsonObject): GenerationPayload {
  const model = "ChatRequestPayload";
  const user = userField(body, model);
  const inputs = requireInputs(body, model);
  const query = body["query"];
  if (query === undefined) throw pydanticError(model, "query", "Field required", "missing");
  if (typeof query !== "string") throw pydanticError(model, "query", "Input should be a valid string", "string_type");
  const responseMode = responseModeOf(body, model);
  const conversationId = conversationIdOf(body, model);
  validateFiles(body, model);
  return { user, inputs, query, responseMode, conversationId };
}

export function parseCompletionPayload(body: JsonObject): GenerationPayload {
  const model = "CompletionRequestPayload";
  const user = userField(body, model);
  const inputs = requireInputs(body, model);
  const query = optionalString(body, "query", model) ?? "";
  const responseMode = responseModeOf(body, model);
  validateFiles(body, model);
  return { user, inputs, query, responseMode, conversationId: null };
}

export function parseWorkflowPayload(body: JsonObject): GenerationPayload {
  const model = "WorkflowRunPayload";
  const user = userField(body, model);
  const inputs = requireInputs(body, model);
  const responseMode = responseModeOf(body, model);
  validateFiles(body, model);
  return { user, inputs, query: undefined, responseMode, conversationId: null };
}
