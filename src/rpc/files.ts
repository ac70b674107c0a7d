import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { status } from "@grpc/grpc-js";
import { FileServiceService, type UploadFileHeader, UploadFileRequest, UploadFileResponse } from "../../generated/dify/app/v1/file.js";
import { MAX_APP_ID_LENGTH } from "../config/schema.js";
import { appScope } from "../core/app-scope.js";
import type { DifyClient } from "../dify/client.js";
import { multipartBody } from "../dify/multipart.js";
import { type UploadLimits, uploadLimitFor } from "../files/upload-limits.js";
import { GatewayError, invalidArgument } from "../grpc/gateway-error.js";
import { clientStreamRoute, type Route } from "../transport/route.js";

/** `bytes chunk = 2` of UploadFileRequest (dify/app/v1/file.proto). */
const CHUNK_FIELD = 2;

/** Longest file name taken: what common file systems store, and what Dify's upload_files.name column holds. */
const MAX_FILENAME_LENGTH = 255;
/** `type/subtype` with RFC 6838 token characters, optional parameters without line breaks or quotes trouble. */
const MIME_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]+=[A-Za-z0-9!#$&^_.+-]+)*$/;
const MAX_USER_LENGTH = 256;
/**
 * For a name whose extension has no registered type. Never an empty Content-Type: Dify's werkzeug would then refuse
 * the upload (unsupported_file_type).
 */
const DEFAULT_MIME_TYPE = "application/octet-stream";

/**
 * `FileService.UploadFile`: the header, then the file's bytes streamed to Dify's `POST /files/upload` as
 * multipart/form-data (`file`, `user`) while they arrive. The call holds at most about one request message and
 * undici's socket buffer: undici pulls the next chunk only when the socket drained, and the adapter asks the
 * client for its next message only when this handler pulls. A caller that leaves aborts the request to Dify.
 */
export function uploadFile(client: DifyClient, limits: () => UploadLimits): Route {
  return clientStreamRoute<UploadFileRequest, UploadFileResponse>({
    definition: { ...FileServiceService.uploadFile, requestDeserialize: decodeUploadRequest },
    appIdOf: (first) => (first.part?.$case === "header" ? first.part.value.appId : undefined),
    async *handler(messages, ctx) {
      const bounds = limits();
      const incoming = withTimeouts(messages[Symbol.asyncIterator](), bounds.idleTimeoutMs, bounds.maxDurationMs);
      const first = await incoming.next();
      const header = checkHeader(first.done ? undefined : first.value);
      const scope = appScope(ctx, header.appId);
      const { kind, maxBytes } = uploadLimitFor(header.filename, bounds);
      if (header.size !== undefined && header.size > maxBytes) throw uploadTooLarge(kind, maxBytes, "declared");

      // Our own refusals mid-upload abort the request to Dify with the refusal as the reason, which is then the call's error.
      const refusal = new AbortController();
      const fail = (error: GatewayError): never => {
        refusal.abort(error);
        throw error;
      };
      async function* content(): AsyncGenerator<Uint8Array, void, undefined> {
        let received = 0;
        for (;;) {
          let next: IteratorResult<UploadFileRequest>;
          try {
            next = await incoming.next();
          } catch (err) {
            return fail(
              err instanceof GatewayError ? err : new GatewayError(status.CANCELLED, "the upload stream broke", { reason: "CANCELLED" }),
            );
          }
          if (next.done) break;
          const part = next.value.part;
          if (part?.$case === "header") fail(invalidArgument("header", "must be sent once, in the first message"));
          if (part?.$case !== "chunk") return fail(invalidArgument("chunk", "every message after the header must carry a chunk"));
          received += part.value.length;
          if (received > maxBytes) fail(uploadTooLarge(kind, maxBytes, "received"));
          yield part.value;
        }
        // Before the closing boundary: a short or long file must not become a file on Dify.
        if (header.size !== undefined && received !== header.size)
          fail(invalidArgument("header.size", `declared ${header.size} bytes, but ${received} arrived`));
      }

      const multipart = multipartBody(
        { user: scope.user(header.user) },
        { field: "file", filename: header.filename, mimeType: header.mimeType || (await mimeTypeOf(header.filename)) },
        content(),
      );
      const raw = (await client.postStream(
        scope.target,
        "/files/upload",
        { contentType: multipart.contentType, chunks: multipart.body },
        AbortSignal.any([ctx.signal, refusal.signal]),
      )) as Record<string, unknown>;
      return { ...UploadFileResponse.fromJSON(raw), raw };
    },
  });
}

/**
 * The generated decoder, except that a chunk is a view of the received message rather than a copy: grpc-js hands
 * each message over in a buffer of its own, and a 50 MiB upload made ~50 MiB more garbage with the copy.
 */
function decodeUploadRequest(bytes: Buffer): UploadFileRequest {
  const reader = new BinaryReader(bytes);
  let request: UploadFileRequest = { part: undefined };
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [field, wire] = reader.tag();
    if (field === CHUNK_FIELD && wire === WireType.LengthDelimited) {
      const length = reader.uint32();
      request = { part: { $case: "chunk", value: bytes.subarray(reader.pos, reader.pos + length) } };
      reader.pos += length;
    } else {
      reader.skip(wire, field);
      // The last oneof member on the wire wins, as protobuf merges.
      const other = UploadFileRequest.decode(bytes.subarray(start, reader.pos));
      if (other.part) request = other;
    }
  }
  if (reader.pos > reader.len) throw new Error("truncated UploadFileRequest");
  return request;
}

/** The first message: a header naming an app, a user and a file Dify can take. */
function checkHeader(first: UploadFileRequest | undefined): UploadFileHeader {
  if (first?.part?.$case !== "header") throw invalidArgument("header", "the first message must be the header");
  const header = first.part.value;
  if (header.appId.trim() === "") throw invalidArgument("header.app_id", "is required");
  if (header.appId.length > MAX_APP_ID_LENGTH) throw invalidArgument("header.app_id", `must be at most ${MAX_APP_ID_LENGTH} characters`);
  if (header.user.length > MAX_USER_LENGTH) throw invalidArgument("header.user", `must be at most ${MAX_USER_LENGTH} characters`);
  const name = header.filename;
  if (name.trim() === "") throw invalidArgument("header.filename", "is required");
  if (name.length > MAX_FILENAME_LENGTH) throw invalidArgument("header.filename", `must be at most ${MAX_FILENAME_LENGTH} characters`);
  // Dify refuses '/' and '\'; control characters would break the multipart header the name travels in.
  if (/[/\\]/.test(name)) throw invalidArgument("header.filename", "must not contain '/' or '\\'");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalidArgument("header.filename", "must not contain control characters");
  if (header.mimeType !== "" && !MIME_TYPE.test(header.mimeType))
    throw invalidArgument("header.mime_type", "must be empty or a media type such as image/png");
  return header;
}

/**
 * The proto's promise for an empty `mime_type`: derived from the extension. Dify stores it as the file's
 * `mime_type` and builds an image's base64 data URL for the model from it, so octet-stream would break vision.
 */
async function mimeTypeOf(filename: string): Promise<string> {
  // The full table (vendor types: .docx, .xlsx, .msg, which Dify takes as documents), loaded at the first upload
  // that needs it rather than at every start.
  const { default: mime } = await import("mime");
  return mime.getType(filename) ?? DEFAULT_MIME_TYPE;
}

export function uploadTooLarge(kind: string, maxBytes: number, how: "declared" | "received"): GatewayError {
  const message =
    how === "declared"
      ? `the file is larger than the ${maxBytes} bytes allowed for a ${kind} upload`
      : `the upload passed the ${maxBytes} bytes allowed for a ${kind} upload`;
  return new GatewayError(status.RESOURCE_EXHAUSTED, message, {
    reason: "UPLOAD_TOO_LARGE",
    metadata: { kind, maxBytes: String(maxBytes) },
  });
}

export function uploadIdle(timeoutMs: number): GatewayError {
  return new GatewayError(status.DEADLINE_EXCEEDED, `no upload bytes arrived for ${timeoutMs} ms`, {
    reason: "UPLOAD_IDLE_TIMEOUT",
    metadata: { uploadIdleTimeoutMs: String(timeoutMs) },
  });
}

export function uploadTooSlow(maxMs: number): GatewayError {
  return new GatewayError(status.DEADLINE_EXCEEDED, `the upload did not end within ${maxMs} ms`, {
    reason: "UPLOAD_TIMEOUT",
    metadata: { uploadMaxDurationMs: String(maxMs) },
  });
}

/**
 * Each `next()` must bring progress (the header, or a chunk with bytes) within `idleMs` of the last progress, and
 * the whole upload must end within `maxMs` of the call's start. Empty chunks do not reset the idle clock: a client
 * sending them every few seconds would otherwise hold the call, its slot and a Dify request open forever.
 */
function withTimeouts(it: AsyncIterator<UploadFileRequest>, idleMs: number, maxMs: number): AsyncIterator<UploadFileRequest> {
  const endBy = performance.now() + maxMs;
  let lastProgress = performance.now();
  return {
    next: async () => {
      for (;;) {
        const now = performance.now();
        const idleLeft = lastProgress + idleMs - now;
        const totalLeft = endBy - now;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(idleLeft <= totalLeft ? uploadIdle(idleMs) : uploadTooSlow(maxMs)),
            Math.max(0, Math.min(idleLeft, totalLeft)),
          );
        });
        const next = await Promise.race([it.next(), timeout]).finally(() => clearTimeout(timer));
        const part = next.done ? undefined : next.value.part;
        if (next.done || part?.$case !== "chunk" || part.value.length > 0) {
          lastProgress = performance.now();
          return next;
        }
      }
    },
  };
}
