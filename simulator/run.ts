import { isChatLike } from "./apps.js";
import type { ConversationTurn } from "./conversations.js";
import { type SimDirectives, withoutDirectives } from "./directives.js";
import { randomUUID, seededUuid, unixSeconds } from "./ids.js";
import type { RunControl } from "./run-control.js";
import { answerFor, bigToken, fillerTokens, promptTokenCount, tokenize } from "./text.js";
import type { AppMode, SimulatorApp } from "./types.js";
import type { JsonObject } from "./validation.js";

/** Everything one generation (one task) needs; built by the route once the request is accepted. */
export interface Run {
  readonly app: SimulatorApp;
  readonly user: string;
  readonly taskId: string;
  /** Chat-like and completion modes. */
  readonly messageId: string;
  /** Chat-like modes only. */
  readonly conversationId: string | null;
  /** Workflow-based modes only (advanced-chat and workflow). */
  readonly workflowRunId: string;
  readonly workflowId: string;
  readonly endUserId: string;
  /** Unix seconds. */
  readonly createdAt: number;
  /** performance.now() at the start, for latency and elapsed_time. */
  readonly startedAt: number;
  /** The request's inputs without `_sim`. */
  readonly inputs: JsonObject;
  /** Chat query ('' for other modes). */
  readonly query: string;
  /** What the simulated LLM answers to (query, `query` input, or the inputs). */
  readonly prompt: string;
  readonly turn: number;
  /** The generated answer split into delta events. */
  readonly tokens: readonly string[];
  readonly promptTokens: number;
  readonly directives: SimDirectives;
  readonly delayMs: number;
  readonly control: RunControl;
}

export interface RunRequest {
  app: SimulatorApp;
  user: string;
  inputs: JsonObject;
  /** Chat query, or completion's legacy query. */
  query: string | undefined;
  conversation: ConversationTurn | null;
  directives: SimDirectives;
  defaultDelayMs: number;
  control: RunControl;
  /** A pinned published workflow version; undefined runs the current one. */
  workflowId?: string | undefined;
}

export function createRun(request: RunRequest): Run {
  const { app, user, directives } = request;
  const inputs = withoutDirectives(request.inputs);
  const prompt = promptOf(app.mode, inputs, request.query ?? "");
  const turn = request.conversation?.turn ?? 1;
  return {
    app,
    user,
    taskId: randomUUID(),
    messageId: randomUUID(),
    conversationId: request.conversation?.conversationId ?? null,
    workflowRunId: randomUUID(),
    workflowId: request.workflowId ?? seededUuid(`workflow:${app.appId}`),
    endUserId: seededUuid(`end-user:${app.appId}:${user}`),
    createdAt: unixSeconds(),
    startedAt: performance.now(),
    inputs,
    query: isChatLike(app.mode) ? (request.query ?? "") : "",
    prompt,
    turn,
    tokens: tokensFor(directives, answerFor(app.name, prompt, turn)),
    promptTokens: promptTokenCount(prompt),
    directives,
    delayMs: directives.delayMs ?? request.defaultDelayMs,
    control: request.control,
  };
}

/** What the simulated model answers to: the chat query, completion's `query` input, or the workflow inputs. */
function promptOf(mode: AppMode, inputs: JsonObject, query: string): string {
  if (isChatLike(mode)) return query;
  const queryInput = inputs["query"];
  if (typeof queryInput === "string") return queryInput;
  if (mode === "completion" && query) return query;
  const entries = Object.entries(inputs).map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return entries.length > 0 ? entries.join(", ") : "(no inputs)";
}

function tokensFor(directives: SimDirectives, answer: string): string[] {
  if (directives.fault?.kind === "big_event") return [bigToken(directives.fault.bytes)];
  // Its deltas are one frame written `events` times (preencoded.ts): a million-token array per run would not be cheap.
  if (directives.preencoded) return [];
  if (directives.events !== null) return fillerTokens(directives.events);
  return tokenize(answer);
}
