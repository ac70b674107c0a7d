/**
 * The DIRECT stream server: grpc-js emitting the messages the gateway emits for a completion run of N
 * deltas (`inputs._sim.events`), with no upstream at all: the ceiling a relay can approach. Each message is
 * built per event, `raw` included, as the gateway builds it, and writes honour backpressure.
 * Prints {"port":N} once listening.
 */

import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { type CompletionInvokeStreamRequest, CompletionInvokeStreamResponse } from "../generated/dify/app/v1/completion.js";
import { serveCompletion } from "./serve.js";

function delta(ids: { task_id: string; message_id: string }, createdAt: number, i: number): CompletionInvokeStreamResponse {
  const raw = {
    event: "message",
    ...ids,
    created_at: createdAt,
    id: ids.message_id,
    answer: i === 1 ? "w1" : ` w${i}`,
    from_variable_selector: null,
  };
  const value = { taskId: ids.task_id, messageId: ids.message_id, conversationId: "", answer: raw.answer, createdAt };
  return { event: "message", raw, payload: { $case: "message", value } };
}

function end(ids: { task_id: string; message_id: string }, createdAt: number, events: number): CompletionInvokeStreamResponse {
  const usage = { prompt_tokens: 25, completion_tokens: events, total_tokens: 25 + events, currency: "USD", latency: 0.01 };
  const raw = {
    event: "message_end",
    ...ids,
    created_at: createdAt,
    id: ids.message_id,
    metadata: { retriever_resources: [], usage },
    files: null,
  };
  return CompletionInvokeStreamResponse.fromPartial({
    event: "message_end",
    raw,
    payload: {
      $case: "messageEnd",
      value: {
        taskId: ids.task_id,
        messageId: ids.message_id,
        conversationId: "",
        metadata: { usage: { promptTokens: 25, completionTokens: events, totalTokens: 25 + events } },
      },
    },
  });
}

async function invokeStream(call: ServerWritableStream<CompletionInvokeStreamRequest, CompletionInvokeStreamResponse>) {
  const abort = new AbortController();
  call.once("cancelled", () => abort.abort());
  const sim = (call.request.inputs?._sim ?? {}) as { events?: number };
  const events = sim.events ?? 18;
  const ids = { task_id: randomUUID(), message_id: randomUUID() };
  const createdAt = Math.floor(Date.now() / 1000);
  try {
    for (let i = 1; i <= events; i++) {
      if (!call.write(delta(ids, createdAt, i))) await once(call, "drain", { signal: abort.signal });
    }
    call.write(end(ids, createdAt, events));
    call.end();
  } catch {
    // cancelled by the client
  }
}

serveCompletion({
  completionInvoke: (_call: unknown, done: (err: Error) => void) => done(new Error("direct: streams only")),
  completionInvokeStream: invokeStream,
});
