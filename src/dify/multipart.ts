import { randomBytes } from "node:crypto";

/**
 * A multipart/form-data body streamed from its parts, never held whole. Hand-written (~20 lines) because the
 * stock encoders need the file whole or its size up front: undici's FormData takes only real Blob objects
 * (in memory, or a file on disk with `fs.openAsBlob`), and form-data-encoder encodes a FormData whose file
 * entries are Blob-likes with a known `size`. An upload arriving over gRPC is neither.
 */
export interface MultipartBody {
  readonly contentType: string;
  readonly body: AsyncGenerator<Uint8Array, void, undefined>;
}

export function multipartBody(
  fields: Readonly<Record<string, string>>,
  file: { readonly field: string; readonly filename: string; readonly mimeType: string },
  content: AsyncIterable<Uint8Array>,
): MultipartBody {
  const boundary = `----DifyGrpcGateway${randomBytes(16).toString("hex")}`;
  async function* body(): AsyncGenerator<Uint8Array, void, undefined> {
    let head = "";
    for (const [name, value] of Object.entries(fields))
      head += `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value}\r\n`;
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(file.field)}"; filename="${escapeName(file.filename)}"\r\n`;
    head += `Content-Type: ${file.mimeType}\r\n\r\n`;
    yield Buffer.from(head, "utf8");
    yield* content;
    yield Buffer.from(`\r\n--${boundary}--\r\n`, "utf8");
  }
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: body() };
}

/** The HTML standard's escaping of names in a multipart header: `"`, CR and LF percent-encoded. */
function escapeName(name: string): string {
  return name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
