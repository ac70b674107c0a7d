/** The kinds Dify sizes uploads by, decided by extension alone ([api] constants: IMAGE/VIDEO/AUDIO_EXTENSIONS). */
export type UploadKind = "image" | "document" | "audio" | "video";

const KIND_BY_EXTENSION: ReadonlyMap<string, UploadKind> = new Map([
  ...["jpg", "jpeg", "png", "webp", "gif", "svg"].map((e) => [e, "image"] as const),
  ...["mp4", "mov", "mpeg", "webm"].map((e) => [e, "video"] as const),
  ...["mp3", "m4a", "wav", "amr", "mpga"].map((e) => [e, "audio"] as const),
]);

export interface UploadLimits {
  readonly maxBytes: number;
  readonly kindMaxBytes: Readonly<Record<UploadKind, number>>;
  readonly idleTimeoutMs: number;
  readonly maxDurationMs: number;
}

/** The extension Dify reads from a file name: what follows the last dot, lower-cased ("" without one). */
export function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf(".");
  return dot < 0 ? "" : filename.slice(dot + 1).toLowerCase();
}

export function uploadKind(filename: string): UploadKind {
  return KIND_BY_EXTENSION.get(extensionOf(filename)) ?? "document";
}

/** The most bytes a file of this name may have: its kind's limit, capped by the overall one. */
export function uploadLimitFor(filename: string, limits: UploadLimits): { kind: UploadKind; maxBytes: number } {
  const kind = uploadKind(filename);
  return { kind, maxBytes: Math.min(limits.maxBytes, limits.kindMaxBytes[kind]) };
}
