/** Shared helpers for the simulator tests: start it in-process, call it with undici, read its SSE byte-exactly. */

import type { Readable } from "node:stream";
import { request } from "undici";
import {
  type AppMode,
  DEMO_APPS,
  type Simulator,
  type SimulatorApp,
  type SimulatorOptions,
  startSimulator,
} from "../../simulator/index.js";

export type Json = Record<string, unknown>;

export const ALL_MODES: readonly AppMode[] = ["chat", "agent-chat", "advanced-chat", "workflow", "completion", "agent"];

export function appOf(mode: AppMode): SimulatorApp {
  const app = DEMO_APPS.find((a) => a.mode === mode);
  if (!app) throw new Error(`no demo app for ${mode}`);
  return app;
}

export const GENERATION_PATH: Record<AppMode, string> = {
  chat: "/chat-messages",
  "agent-chat": "/chat-messages",
  "advanced-chat": "/chat-messages",
  agent: "/chat-messages",
  completion: "/completion-messages",
  workflow: "/workflows/run",
};

export const STOP_PATH: Record<AppMode, (taskId: string) => string> = {
  chat: (id) => `/chat-messages/${id}/stop`,
  "agent-chat": (id) => `/chat-messages/${id}/stop`,
  "advanced-chat": (id) => `/chat-messages/${id}/stop`,
  agent: (id) => `/chat-messages/${id}/stop`,
  completion: (id) => `/completion-messages/${id}/stop`,
  workflow: (id) => `/workflows/tasks/${id}/stop`,
};

/** A minimal valid body for the mode's generation endpoint. */
export function bodyFor(mode: AppMode, extra: Json = {}): Json {
  const base: Json = mode === "workflow" || mode === "completion" ? { inputs: { query: "hello" } } : { inputs: {}, query: "hello" };
  return { ...base, user: "tester", ...extra };
}

export async function withSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ host: "127.0.0.1", port: 0, ...options });
}

export interface CallOptions {
  method?: string;
  key?: string | null;
  authorization?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function call(sim: Simulator, path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.authorization !== undefined) headers["authorization"] = options.authorization;
  else if (options.key) headers["authorization"] = `Bearer ${options.key}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  return request(`${sim.url}${path}`, { method: (options.method ?? (body === undefined ? "GET" : "POST")) as "GET", headers, body });
}

/** POST a generation request and parse the JSON answer. */
export async function generateJson(sim: Simulator, mode: AppMode, body: Json, key = appOf(mode).key) {
  const res = await call(sim, GENERATION_PATH[mode], { key, body });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Json };
}

export interface SseFrame {
  /** The frame's text without its terminating blank line. */
  text: string;
  /** Parsed JSON for `data: ` frames. */
  event?: Json;
}

/** Splits raw SSE text into frames (separated by a blank line) and parses `data:` frames. */
export function parseFrames(raw: string): SseFrame[] {
  const frames = raw.split("\n\n");
  frames.pop(); // text after the last separator (normally empty)
  return frames.map((text) => {
    if (!text.startsWith("data: ")) return { text };
    try {
      return { text, event: JSON.parse(text.slice("data: ".length)) as Json };
    } catch {
      return { text };
    }
  });
}

export interface StreamResult {
  status: number;
  headers: Record<string, unknown>;
  raw: string;
  frames: SseFrame[];
  events: Json[];
  /** How the body ended: `end` (clean), `error` (reset), `cut` (we stopped reading). */
  ending: "end" | "error" | "cut";
}

/**
 * Reads a whole streaming response as UTF-8 text (a streaming decoder, so characters split across chunks are fine).
 * `until` lets the caller stop reading (and close the connection) once it has seen enough; `forMs` stops after a while.
 */
export async function readStream(body: Readable, options: ReadOptions = {}): Promise<{ raw: string; ending: StreamResult["ending"] }> {
  const { until, onChunk, forMs } = options;
  const decoder = new TextDecoder();
  let raw = "";
  let ending: StreamResult["ending"] = "end";
  let cut = false;
  const timer = forMs === undefined ? undefined : setTimeout(() => ((cut = true), body.destroy()), forMs);
  try {
    for await (const chunk of body) {
      raw += decoder.decode(chunk as Buffer, { stream: true });
      onChunk?.(raw);
      if (until?.(raw)) {
        ending = "cut";
        body.destroy();
        break;
      }
    }
  } catch {
    ending = cut ? "cut" : "error";
  } finally {
    clearTimeout(timer);
  }
  if (cut) ending = "cut";
  return { raw: raw + decoder.decode(), ending };
}

export interface ReadOptions {
  until?: (raw: string) => boolean;
  onChunk?: (raw: string) => void;
  forMs?: number;
}

export async function stream(
  sim: Simulator,
  mode: AppMode,
  body: Json,
  options: ReadOptions & { key?: string } = {},
): Promise<StreamResult> {
  const res = await call(sim, GENERATION_PATH[mode], {
    key: options.key ?? appOf(mode).key,
    body: { ...body, response_mode: "streaming" },
  });
  const { raw, ending } = await readStream(res.body, options);
  const frames = parseFrames(raw);
  return {
    status: res.statusCode,
    headers: res.headers,
    raw,
    frames,
    events: frames.flatMap((f) => (f.event ? [f.event] : [])),
    ending,
  };
}

export function eventNames(events: Json[]): string[] {
  return events.map((e) => String(e["event"]));
}

export function dataOf(event: Json | undefined): Json {
  return (event?.["data"] ?? {}) as Json;
}

/** Joins the answer deltas of a chat-like, completion or workflow stream. */
export function streamedAnswer(events: Json[]): string {
  return events
    .map((e) =>
      e["event"] === "message" || e["event"] === "agent_message"
        ? String(e["answer"])
        : e["event"] === "text_chunk"
          ? String(dataOf(e)["text"])
          : "",
    )
    .join("");
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface StoppedStream extends StreamResult {
  stopStatus: number;
  stopBody: Json;
}

/**
 * Streams a request and, once `afterDeltas` delta events have arrived, calls the mode's stop endpoint for the
 * stream's task as `stopUser`. Give the run enough events and a delay (via `_sim`) that it is still going then.
 */
export async function streamWithStop(
  sim: Simulator,
  mode: AppMode,
  body: Json,
  options: { afterDeltas: number; stopUser: string; key?: string },
): Promise<StoppedStream> {
  const key = options.key ?? appOf(mode).key;
  let stopping: Promise<{ status: number; body: Json }> | undefined;
  const result = await stream(sim, mode, body, {
    key,
    onChunk: (raw) => {
      if (stopping) return;
      const events = parseFrames(raw).flatMap((f) => (f.event ? [f.event] : []));
      const deltas = events.filter((e) => ["message", "agent_message", "text_chunk"].includes(String(e["event"])));
      const taskId = events.find((e) => typeof e["task_id"] === "string")?.["task_id"];
      if (deltas.length < options.afterDeltas || typeof taskId !== "string") return;
      stopping = call(sim, STOP_PATH[mode](taskId), { key, body: { user: options.stopUser } }).then(async (res) => ({
        status: res.statusCode,
        body: (await res.body.json()) as Json,
      }));
    },
  });
  if (!stopping) throw new Error("the stream ended before the stop was sent");
  const stop = await stopping;
  return { ...result, stopStatus: stop.status, stopBody: stop.body };
}

/** `_sim` settings that keep a run going long enough to act on it mid-stream. */
export const SLOW_RUN = { events: 400, delay_ms: 5 };
