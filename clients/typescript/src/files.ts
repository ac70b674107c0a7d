import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClientWritableStream } from "@grpc/grpc-js";
import type { FileServiceClient, UploadFileHeader, UploadFileRequest, UploadFileResponse } from "../../../generated/dify/app/v1/file.js";
import type { CallTiming, DifyDict } from "./app-client.js";
import { type CallControl, toError } from "./calls.js";
import { describe, optionalString, paramsObject, requiredString } from "./validate.js";

/** 64 KiB per message: well under the gateway's message limit, large enough that per-message overhead does not matter. */
export const UPLOAD_CHUNK_BYTES = 64 * 1024;

/** A file path (string or file: URL), the bytes themselves, or a stream of them (a Node Readable, a web ReadableStream, any async iterable). */
export type UploadSource = string | URL | Uint8Array | AsyncIterable<Uint8Array>;

export interface UploadParams extends CallTiming {
  appId: string;
  /** The name Dify stores, with its extension (Dify types the file by it). Default: the path's base name; required for bytes and most streams. */
  filename?: string;
  /** e.g. `image/png`. Omitted, the gateway derives it from the filename's extension. */
  mimeType?: string;
  /** Dify's end-user id the file belongs to; use the same for the runs that reference it. Omitted, the workspace's default user. */
  user?: string;
  /** The file's size in bytes, for a stream (paths and bytes declare theirs): a file over the limit is then refused before any byte is sent. */
  size?: number;
}

/** Dify's upload dict, with the fields a later run needs always present: `id` is the `upload_file_id`. */
export type UploadedFile = DifyDict & { id: string; name: string; size: number; extension: string; mime_type: string };

export interface Files {
  /**
   * Streams the file to Dify (`FileService.UploadFile`) in 64 KiB messages with backpressure: the source is read
   * only as fast as the gateway takes it, so memory stays at a few messages whatever the file's size. Rejects
   * with `AppInvokeError` (e.g. `RESOURCE_EXHAUSTED`, reason `UPLOAD_TOO_LARGE`), or with the source's own error.
   */
  upload(source: UploadSource, params: UploadParams): Promise<UploadedFile>;
}

export function files(client: FileServiceClient, control: (p: CallTiming) => CallControl): Files {
  return {
    // Async, so that a wrong argument rejects like any other failure of the upload.
    upload: async (source, params) => {
      paramsObject(params, "files.upload(source, params)");
      return upload(client, source, params, control(params));
    },
  };
}

async function upload(client: FileServiceClient, source: UploadSource, params: UploadParams, control: CallControl): Promise<UploadedFile> {
  const { metadata, callOptions, signal, calls } = control;
  const appId = requiredString(params.appId, "appId");
  const user = optionalString(params.user, "user");
  const mimeType = optionalString(params.mimeType, "mimeType");
  optionalString(params.filename, "filename");
  if (params.size !== undefined && params.size !== null && !(Number.isSafeInteger(params.size) && params.size >= 0)) {
    throw new TypeError(`size must be a whole number of bytes, 0 or more, not ${describe(params.size)}`);
  }
  if (signal?.aborted) throw signal.reason;
  calls.checkOpen();
  const file = await openSource(source, params);
  if (signal?.aborted) throw signal.reason;
  calls.checkOpen();
  const header: UploadFileHeader = {
    appId,
    user: user ?? "",
    filename: file.filename,
    mimeType: mimeType ?? "",
    size: params.size ?? file.size,
  };

  let call!: ClientWritableStream<UploadFileRequest>;
  let ended = false;
  let onEnd!: () => void;
  const end = new Promise<void>((resolve) => {
    onEnd = resolve;
  });
  let untrack: () => void = () => {};
  const response = new Promise<UploadFileResponse>((resolve, reject) => {
    call = client.uploadFile(metadata, callOptions, (err, res) => {
      // Settles the promise and nothing else: a throw here would be outside any caller's try/catch.
      ended = true;
      untrack();
      onEnd();
      if (err) reject(toError(err, signal));
      else resolve(res);
    });
  });
  untrack = calls.add(call);
  // The answer can settle while the source is still being read (a refusal, an abort): awaited below, not lost.
  response.catch(() => {});
  const onAbort = () => call.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // The gateway's answer can come before the source is fully sent (a refusal mid-stream): then stop reading.
    const send = async (message: UploadFileRequest): Promise<void> => {
      if (call.write(message)) return;
      let onDrain!: () => void;
      await Promise.race([new Promise<void>((resolve) => call.once("drain", (onDrain = resolve))), end]);
      call.removeListener("drain", onDrain);
    };
    try {
      await send({ part: { $case: "header", value: header } });
      read: for await (const piece of file.chunks) {
        if (!(piece instanceof Uint8Array)) throw new TypeError("the upload source must yield bytes (Uint8Array or Buffer), not strings");
        for (let at = 0; at < piece.byteLength; at += UPLOAD_CHUNK_BYTES) {
          if (ended) break read;
          const chunk = Buffer.from(piece.buffer, piece.byteOffset + at, Math.min(UPLOAD_CHUNK_BYTES, piece.byteLength - at));
          await send({ part: { $case: "chunk", value: chunk } });
        }
      }
      if (!ended) call.end();
    } catch (err) {
      // The source failed (or yielded text): the call must not end as if the file were whole.
      call.cancel();
      throw err;
    }
    const res = await response;
    const raw = (res.raw ?? {}) as DifyDict;
    return { ...raw, id: res.id, name: res.name, size: res.size, extension: res.extension, mime_type: res.mimeType };
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

interface OpenedSource {
  filename: string;
  size: number | undefined;
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

async function openSource(source: UploadSource, params: UploadParams): Promise<OpenedSource> {
  if (typeof source === "string" || source instanceof URL) {
    const path = source instanceof URL ? fileURLToPath(source) : source;
    const { size } = await stat(path);
    // highWaterMark: reads of one message each, pulled only when the previous one was taken.
    return { filename: params.filename ?? basename(path), size, chunks: createReadStream(path, { highWaterMark: UPLOAD_CHUNK_BYTES }) };
  }
  const isBytes = source instanceof Uint8Array;
  if (!isBytes && !(source && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function")) {
    throw new TypeError(`source must be a path, a file: URL, a Uint8Array or an async iterable of Uint8Array, not ${describe(source)}`);
  }
  // fs.ReadStream knows its path; other streams have no name to offer.
  const streamPath = (source as { path?: unknown }).path;
  const filename = params.filename ?? (typeof streamPath === "string" ? basename(streamPath) : undefined);
  if (!filename) throw new TypeError("filename is required when uploading bytes or a stream");
  if (isBytes) return { filename, size: source.byteLength, chunks: [source] };
  return { filename, size: undefined, chunks: source };
}
