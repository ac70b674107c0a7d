/**
 * Event payloads and the per-mode envelope Dify's response converters add ([api] core/app/apps/<mode>/
 * generate_response_converter.py). Keys are inserted in Dify's order so the wire JSON looks like the real one.
 */
import { isChatLike } from "./apps.js";
import { unixSeconds } from "./ids.js";
import type { Run } from "./run.js";

export type SimEvent = { event: string } & Record<string, unknown>;

/** The keys the mode's response converter puts first on every event, `error` included. */
function envelope(run: Run, event: string): SimEvent {
  const { mode } = run.app;
  if (mode === "workflow") return { event, workflow_run_id: run.workflowRunId };
  if (mode === "completion") return { event, message_id: run.messageId, created_at: run.createdAt };
  return { event, conversation_id: run.conversationId, message_id: run.messageId, created_at: run.createdAt };
}

/** An event model's fields (which start with `task_id`) in the mode's envelope. */
export function dataEvent(run: Run, event: string, fields: Record<string, unknown>): SimEvent {
  return { ...envelope(run, event), task_id: run.taskId, ...fields };
}

/** Error events have the envelope but no `task_id`; worker-level errors have no `code` either. */
export function errorEvent(run: Run, error: { code: string | null; status: number; message: string }): SimEvent {
  const code = error.code === null ? {} : { code: error.code };
  return { ...envelope(run, "error"), ...code, status: error.status, message: error.message };
}

/** Workflow and node events put their payload under `data`; in advanced-chat they also name the run. */
export function workflowEvent(run: Run, event: string, data: Record<string, unknown>): SimEvent {
  return dataEvent(run, event, isChatLike(run.app.mode) ? { workflow_run_id: run.workflowRunId, data } : { data });
}

/** A streamed piece of the answer as `message` (or `agent_message`) carries it. */
export function answerEvent(run: Run, event: "message" | "agent_message", answer: string): SimEvent {
  if (event === "agent_message") return dataEvent(run, event, { id: run.messageId, answer });
  const selector = run.app.mode === "advanced-chat" ? ["llm", "text"] : null;
  return dataEvent(run, event, { id: run.messageId, answer, from_variable_selector: selector });
}

export function messageReplaceEvent(run: Run, answer: string, reason: string): SimEvent {
  return dataEvent(run, "message_replace", { answer, reason });
}

export function messageEndEvent(run: Run, completionTokens: number): SimEvent {
  return dataEvent(run, "message_end", { id: run.messageId, metadata: messageMetadata(run, completionTokens), files: null });
}

/** Float seconds since a performance.now() mark; never exactly 0, so it never serialises like an integer. */
export function secondsSince(mark: number): number {
  return Math.max(Number(((performance.now() - mark) / 1000).toFixed(6)), 0.000001);
}

export function elapsedSeconds(run: Run): number {
  return secondsSince(run.startedAt);
}

const PROMPT_UNIT_PRICE = 0.001;
const COMPLETION_UNIT_PRICE = 0.002;
const PRICE_UNIT = 0.001;

function price(value: number): string {
  return value.toFixed(7);
}

/** LLMUsage: prices are decimal strings, latency float seconds. */
export function usage(run: Run, completionTokens: number): Record<string, unknown> {
  const promptPrice = run.promptTokens * PROMPT_UNIT_PRICE * PRICE_UNIT;
  const completionPrice = completionTokens * COMPLETION_UNIT_PRICE * PRICE_UNIT;
  return {
    prompt_tokens: run.promptTokens,
    prompt_unit_price: String(PROMPT_UNIT_PRICE),
    prompt_price_unit: String(PRICE_UNIT),
    prompt_price: price(promptPrice),
    completion_tokens: completionTokens,
    completion_unit_price: String(COMPLETION_UNIT_PRICE),
    completion_price_unit: String(PRICE_UNIT),
    completion_price: price(completionPrice),
    total_tokens: run.promptTokens + completionTokens,
    total_price: price(promptPrice + completionPrice),
    currency: "USD",
    latency: elapsedSeconds(run),
  };
}

export function totalPrice(run: Run, completionTokens: number): number {
  return run.promptTokens * PROMPT_UNIT_PRICE * PRICE_UNIT + completionTokens * COMPLETION_UNIT_PRICE * PRICE_UNIT;
}

/** New Agent never reports retriever resources; the chat demo cites one knowledge-base segment. */
function messageMetadata(run: Run, completionTokens: number): Record<string, unknown> {
  if (run.app.mode === "agent") return { usage: usage(run, completionTokens) };
  const resources = run.app.mode === "chat" ? [knowledgeResource(run)] : [];
  return { retriever_resources: resources, usage: usage(run, completionTokens) };
}

function knowledgeResource(_run: Run): Record<string, unknown> {
  return {
    position: 1,
    dataset_id: "d5e7a000-0000-4000-8000-00000000000a",
    dataset_name: "Simulator Handbook",
    document_id: "d5e7a000-0000-4000-8000-00000000000b",
    document_name: "simulator-handbook.md",
    data_source_type: "upload_file",
    segment_id: "d5e7a000-0000-4000-8000-00000000000c",
    score: 0.8731,
    hit_count: 3,
    word_count: 24,
    segment_position: 1,
    index_node_hash: "4b2e6fb1a0c84d3e9f5a7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f",
    content: "The simulator echoes the question, adds a fixed sentence and streams it word by word.",
    summary: null,
    created_at: unixSeconds(Date.UTC(2025, 0, 1)),
  };
}
