/**
 * Per-request test directives, sent as `inputs._sim`. They shape the generated run (length, pace) or inject one
 * fault. `_sim` is removed from the inputs before they are echoed anywhere.
 */

import { isWorkflowBased } from "./apps.js";
import { defaultCodeFor, errors } from "./errors.js";
import type { AppMode } from "./types.js";
import { isJsonObject, type JsonObject } from "./validation.js";

/** Faults that fire once `after` delta events have been sent (a larger `after` fires after the last delta). */
export type MidStreamFault =
  | { kind: "error_event"; after: number; code: string | null; status: number; message: string; holdMs: number }
  | { kind: "silent"; after: number }
  | { kind: "no_terminal"; after: number }
  | { kind: "reset"; after: number }
  | { kind: "message_replace"; after: number; answer: string; reason: string }
  | { kind: "workflow_failed"; after: number; error: string }
  | { kind: "workflow_stopped"; after: number }
  | { kind: "workflow_paused"; after: number }
  | { kind: "malformed_json"; after: number }
  | { kind: "no_data_prefix"; after: number };

export type Fault =
  | MidStreamFault
  | {
      kind: "http_error";
      status: number;
      code: string;
      message: string;
      bodyText: string | null;
      contentType: string;
      headers: Record<string, string>;
    }
  /** `reset` with `after: -1`: the socket is destroyed before any response byte. */
  | { kind: "reset_before_headers" }
  /** `pings`: how many pings before the stream goes silent; null = pings forever. */
  | { kind: "pings_only"; pingEveryMs: number; pings: number | null }
  | { kind: "drop_message_end" }
  | { kind: "big_event"; bytes: number }
  | { kind: "stop_fails" }
  | { kind: "first_ping" };

export interface SimDirectives {
  /** Number of delta events (filler tokens `w1 w2 …`); null = the natural answer. */
  events: number | null;
  /** Per-request override of the simulator's tokenDelayMs. */
  delayMs: number | null;
  fault: Fault | null;
  /**
   * `times: N`: the fault fires on the first N requests carrying this very `_sim` object, later ones run
   * normally (a retry meeting a passing fault). null: every time.
   */
  times: number | null;
  /** What identifies "this very `_sim`": its JSON text (give each call its own `key` to keep them apart). */
  identity: string;
  /** `connection: "close" | "keep-alive"`: how this run's SSE response ends its connection; null = the server's default. */
  connectionClose: boolean | null;
  /**
   * `producer: "preencoded"` (with `events`): deltas are one frame encoded once and written from a timer
   * shared by every such run, so one process can feed thousands of streams (the bench's slow readers).
   */
  preencoded: boolean;
  /** `answer_bytes: N` (with `producer: "preencoded"`): each delta's answer is N bytes long. */
  answerBytes: number | null;
  /**
   * `detached: true` (workflow and Chatflow apps, streaming, no fault): the run goes on after its stream's client
   * leaves, as a Dify 1.13+ worker runs it, until it finishes or the stop API stops it; a re-attach sees the rest.
   */
  detached: boolean;
  /**
   * `form_ttl_ms: N` (workflow and Chatflow apps): each Human Input form of the run expires N ms after it is
   * issued, instead of a day later; the run then resumes along the node's timeout branch (`human_input_form_timeout`).
   */
  formTtlMs: number | null;
}

export const NO_DIRECTIVES: SimDirectives = Object.freeze({
  events: null,
  delayMs: null,
  fault: null,
  times: null,
  identity: "",
  connectionClose: null,
  preencoded: false,
  answerBytes: null,
  detached: false,
  formTtlMs: null,
});

export const DIRECTIVES_KEY = "_sim";

export function withoutDirectives(inputs: JsonObject): JsonObject {
  const { [DIRECTIVES_KEY]: _ignored, ...rest } = inputs;
  return rest;
}

function invalid(message: string): Error {
  return errors.invalidParam(`${DIRECTIVES_KEY}: ${message}`);
}

class Fields {
  constructor(private readonly source: JsonObject) {}

  integer(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.source[name];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw invalid(`${name} must be an integer between ${min} and ${max}`);
    }
    return value;
  }

  optionalInteger(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | null {
    return this.source[name] === undefined ? null : this.integer(name, 0, min, max);
  }

  string(name: string, fallback: string): string {
    return this.optionalString(name) ?? fallback;
  }

  optionalString(name: string): string | null {
    const value = this.source[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== "string") throw invalid(`${name} must be a string`);
    return value;
  }

  stringMap(name: string): Record<string, string> {
    const value = this.source[name];
    if (value === undefined) return {};
    if (!isJsonObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
      throw invalid(`${name} must be an object of strings`);
    }
    return value as Record<string, string>;
  }
}

const MAX_EVENTS = 1_000_000;
const MAX_BIG_EVENT_BYTES = 64 * 1024 * 1024;
const MAX_DELAY_MS = 600_000;
const MAX_ANSWER_BYTES = 64 * 1024;
/** Modes whose run is deltas then message_end, nothing else: what the pre-encoded producer writes. */
const PREENCODED_MODES: ReadonlySet<AppMode> = new Set(["chat", "completion"]);

function parseFault(name: string, f: Fields): Fault {
  const after = () => f.integer("after", 0);
  switch (name) {
    case "http_error": {
      const status = f.integer("status", 500, 400, 599);
      return {
        kind: "http_error",
        status,
        code: f.string("code", defaultCodeFor(status)),
        message: f.string("message", `Simulated HTTP ${status} error.`),
        bodyText: f.optionalString("body_text"),
        contentType: f.string("content_type", "text/html; charset=utf-8"),
        headers: f.stringMap("headers"),
      };
    }
    case "error_event":
      return {
        kind: "error_event",
        after: after(),
        code: f.optionalString("code"),
        status: f.integer("status", 500, 100, 599),
        message: f.string("message", "Internal Server Error, please contact support."),
        holdMs: f.integer("hold_ms", 0, 0, MAX_DELAY_MS),
      };
    case "reset": {
      const at = f.integer("after", 0, -1);
      return at === -1 ? { kind: "reset_before_headers" } : { kind: "reset", after: at };
    }
    case "silent":
    case "no_terminal":
    case "workflow_stopped":
    case "malformed_json":
    case "no_data_prefix":
      return { kind: name, after: after() };
    case "workflow_paused":
      // Pausing at a human-input node after the LLM node is the natural place, hence "after everything" by default.
      return { kind: "workflow_paused", after: f.integer("after", Number.MAX_SAFE_INTEGER) };
    case "message_replace":
      return {
        kind: "message_replace",
        after: after(),
        answer: f.string("answer", "This answer was replaced by output moderation."),
        reason: f.string("reason", "output_moderation"),
      };
    case "workflow_failed":
      return { kind: "workflow_failed", after: after(), error: f.string("error", "Simulated LLM node failure.") };
    case "pings_only":
      return {
        kind: "pings_only",
        pingEveryMs: f.integer("ping_every_ms", 50, 1, MAX_DELAY_MS),
        pings: f.optionalInteger("pings", 0, MAX_EVENTS),
      };
    case "big_event":
      return { kind: "big_event", bytes: f.integer("bytes", 1024 * 1024, 1, MAX_BIG_EVENT_BYTES) };
    case "drop_message_end":
    case "stop_fails":
    case "first_ping":
      return { kind: name };
    default:
      throw invalid(`unknown fault "${name}"`);
  }
}

/** Rejecting a fault the mode cannot show keeps a mistaken test from passing silently. */
function checkApplicable(fault: Fault, mode: AppMode): void {
  const workflowOnly = fault.kind === "workflow_failed" || fault.kind === "workflow_stopped" || fault.kind === "workflow_paused";
  const messageOnly = fault.kind === "message_replace" || fault.kind === "drop_message_end";
  if ((workflowOnly && !isWorkflowBased(mode)) || (messageOnly && mode === "workflow")) {
    throw invalid(`fault "${fault.kind}" does not apply to ${mode} apps`);
  }
}

export function parseDirectives(inputs: JsonObject, mode: AppMode): SimDirectives {
  const raw = inputs[DIRECTIVES_KEY];
  if (raw === undefined) return NO_DIRECTIVES;
  if (!isJsonObject(raw)) throw invalid("must be an object");
  const f = new Fields(raw);
  const faultName = f.optionalString("fault");
  const fault = faultName === null ? null : parseFault(faultName, f);
  if (fault) checkApplicable(fault, mode);
  f.optionalString("key");
  const times = f.optionalInteger("times", 1, MAX_EVENTS);
  if (times !== null && fault === null) throw invalid("times needs a fault");
  const connection = f.optionalString("connection");
  if (connection !== null && connection !== "close" && connection !== "keep-alive")
    throw invalid(`connection must be "close" or "keep-alive"`);
  const producer = f.optionalString("producer");
  if (producer !== null && producer !== "preencoded") throw invalid(`producer must be "preencoded"`);
  const events = f.optionalInteger("events", 0, MAX_EVENTS);
  if (producer !== null && (events === null || fault !== null || !PREENCODED_MODES.has(mode)))
    throw invalid(`producer "preencoded" needs events, no fault, and a chat or completion app`);
  return {
    events,
    delayMs: f.optionalInteger("delay_ms", 0, MAX_DELAY_MS),
    fault,
    times,
    identity: JSON.stringify(raw),
    connectionClose: connection === null ? null : connection === "close",
    preencoded: producer !== null,
    answerBytes: f.optionalInteger("answer_bytes", 1, MAX_ANSWER_BYTES),
    detached: parseDetached(raw, mode, fault),
    formTtlMs: parseFormTtl(f, mode),
  };
}

function parseFormTtl(f: Fields, mode: AppMode): number | null {
  const ttl = f.optionalInteger("form_ttl_ms", 1, MAX_DELAY_MS);
  if (ttl !== null && !isWorkflowBased(mode)) throw invalid("form_ttl_ms needs a workflow or Chatflow app");
  return ttl;
}

function parseDetached(raw: JsonObject, mode: AppMode, fault: Fault | null): boolean {
  const value = raw["detached"];
  if (value === undefined || value === false) return false;
  if (value !== true) throw invalid("detached must be a boolean");
  if (!isWorkflowBased(mode) || fault !== null) throw invalid("detached needs a workflow or Chatflow app and no fault");
  return true;
}

/**
 * The directives of one request given how many earlier requests carried the same `_sim`: past `times`, without
 * their fault. `seen` counts per identity; it grows by one entry per distinct `_sim` with `times`, a test's own.
 */
export function countedDirectives(directives: SimDirectives, seen: Map<string, number>): SimDirectives {
  if (directives.times === null) return directives;
  const count = seen.get(directives.identity) ?? 0;
  seen.set(directives.identity, count + 1);
  return count < directives.times ? directives : { ...directives, fault: null };
}
