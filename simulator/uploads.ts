/**
 * `POST /v1/files/upload` ([api] controllers/service_api/app/file.py, services/file_service.py), parsed as it
 * streams: the simulator counts a file's bytes and never keeps them. Checks in Dify's order once the form is
 * read (werkzeug reads the whole body first): no `file` part, more than one file, no content type, no file name,
 * a name with a path separator, then the size limit of the file's kind.
 */
import { Busboy } from "@fastify/busboy";
import { authenticate } from "./auth.js";
import type { Call, SimulatorContext } from "./context.js";
import { ApiError, errors } from "./errors.js";
import { sendJson } from "./http-io.js";
import { randomUUID, seededUuid, unixSeconds } from "./ids.js";
import type { SimulatorApp } from "./types.js";

const MB = 1024 * 1024;
/** Dify's defaults: UPLOAD_IMAGE_FILE_SIZE_LIMIT 10, _VIDEO_ 100, _AUDIO_ 50, UPLOAD_FILE_SIZE_LIMIT 15 (MB). */
const LIMITS = { image: 10 * MB, video: 100 * MB, audio: 50 * MB, document: 15 * MB };
const KINDS: Record<string, keyof typeof LIMITS> = {
  ...Object.fromEntries(["jpg", "jpeg", "png", "webp", "gif", "svg"].map((e) => [e, "image"])),
  ...Object.fromEntries(["mp4", "mov", "mpeg", "webm"].map((e) => [e, "video"])),
  ...Object.fromEntries(["mp3", "m4a", "wav", "amr", "mpga"].map((e) => [e, "audio"])),
};

/** An uploaded file as the simulator remembers it: never its content. */
export interface UploadedFile {
  id: string;
  appId: string;
  user: string;
  name: string;
  size: number;
  extension: string;
  mimeType: string;
}

/** What the request log shows of an upload, filled in while it streams. */
export interface RecordedUpload {
  user: string | null;
  files: { field: string; filename: string; mime_type: string; size: number }[];
  /** The body ended with its closing boundary. */
  complete: boolean;
  /** The connection closed before the body ended (the client aborted). */
  aborted: boolean;
}

const uploadErrors = {
  noFile: () => new ApiError(400, "no_file_uploaded", "Please upload your file."),
  tooMany: () => new ApiError(400, "too_many_files", "Only one file is allowed."),
  unsupported: () => new ApiError(415, "unsupported_file_type", "File type not allowed."),
  noFilename: () => new ApiError(400, "filename_not_exists_error", "The specified filename does not exist."),
  // Dify's message is empty (a known quirk, see the spec).
  tooLarge: () => new ApiError(413, "file_too_large", ""),
};

export async function handleUpload(call: Call, ctx: SimulatorContext): Promise<void> {
  let app: SimulatorApp;
  try {
    app = authenticate(call.req.headers.authorization, ctx.appsByKey);
  } catch (err) {
    // Read the body to its end first, as werkzeug does, so the client sees the answer rather than a reset.
    await drained(call);
    throw err;
  }
  const contentType = call.req.headers["content-type"] ?? "";
  const recorded: RecordedUpload = { user: null, files: [], complete: false, aborted: false };
  if (call.recorded) call.recorded.body = recorded;
  if (!/^multipart\/form-data/i.test(contentType)) {
    await drained(call);
    throw uploadErrors.noFile();
  }
  await parse(call, recorded);
  sendJson(call.res, 201, accept(app, recorded, ctx));
}

function drained(call: Call): Promise<void> {
  return new Promise((resolve) => {
    call.req.on("end", resolve).on("close", resolve).resume();
  });
}

function parse(call: Call, recorded: RecordedUpload): Promise<void> {
  return new Promise((resolve, reject) => {
    let parser: InstanceType<typeof Busboy>;
    try {
      parser = new Busboy({ headers: call.req.headers as never, limits: { fields: 16, fieldSize: 1024 * 1024, files: 16, parts: 32 } });
    } catch {
      call.req.resume();
      reject(uploadErrors.noFile());
      return;
    }
    parser.on("field", (name: string, value: string) => {
      if (name === "user") recorded.user = value;
    });
    parser.on("file", (field: string, stream: NodeJS.ReadableStream, filename: string, _encoding: string, mimeType: string) => {
      const file = { field, filename: filename ?? "", mime_type: mimeType ?? "", size: 0 };
      recorded.files.push(file);
      stream.on("data", (chunk: Buffer) => {
        file.size += chunk.length;
      });
    });
    parser.on("finish", () => {
      recorded.complete = true;
      resolve();
    });
    parser.on("error", () => reject(errors.badRequest("The browser (or proxy) sent a request that this server could not understand.")));
    call.req.on("aborted", () => {
      recorded.aborted = true;
      reject(errors.badRequest("client aborted"));
    });
    call.req.pipe(parser);
  });
}

function accept(app: SimulatorApp, upload: RecordedUpload, ctx: SimulatorContext): Record<string, unknown> {
  const files = upload.files.filter((f) => f.field === "file");
  if (files.length === 0) throw uploadErrors.noFile();
  if (upload.files.length > 1) throw uploadErrors.tooMany();
  const file = files[0]!;
  if (file.mime_type === "") throw uploadErrors.unsupported();
  if (file.filename === "") throw uploadErrors.noFilename();
  if (/[/\\]/.test(file.filename)) throw errors.invalidParam("Filename contains invalid characters");
  const dot = file.filename.lastIndexOf(".");
  const extension = dot < 0 ? "" : file.filename.slice(dot + 1).toLowerCase();
  if (file.size > LIMITS[KINDS[extension] ?? "document"]) throw uploadErrors.tooLarge();
  const user = upload.user || "DEFAULT-USER";
  const uploaded: UploadedFile = {
    id: randomUUID(),
    appId: app.appId,
    user,
    name: file.filename,
    size: file.size,
    extension,
    mimeType: file.mime_type,
  };
  ctx.uploads.set(uploaded.id, uploaded);
  return {
    id: uploaded.id,
    name: uploaded.name,
    size: uploaded.size,
    extension: uploaded.extension,
    mime_type: uploaded.mimeType,
    created_by: seededUuid(`end-user:${app.appId}:${user}`),
    created_at: unixSeconds(),
    preview_url: null,
    source_url: `https://files.simulator.invalid/files/${uploaded.id}/file-preview`,
    original_url: null,
    user_id: null,
    tenant_id: seededUuid("tenant:simulator"),
    conversation_id: null,
    file_key: null,
    reference: null,
  };
}
